//! The dynamic value a template works on, shaped like the data Helm hands
//! to `text/template`: `nil`, `bool`, `int`, `float64`, `string`,
//! `[]interface{}`, `map[string]interface{}` (iterated in key order), and an
//! [`Object`] extension for Go values with fields and methods (Helm's
//! `.Chart`, `.Capabilities`, `.Files`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// A template value.
///
/// Lists and maps are reference-counted, so cloning a value is cheap.
///
/// ```
/// use gitops_gotemplate::Value;
///
/// let v = Value::map([("b", Value::from(2)), ("a", Value::from(1.5))]);
/// assert_eq!(v.to_string(), "map[a:1.5 b:2]");
/// assert_eq!(Value::from(1_000_000.0).to_string(), "1e+06");
/// assert!(!Value::from("").is_true());
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Value {
    /// Go's `nil` (an unset `interface{}`).
    #[default]
    Nil,
    /// A `bool`.
    Bool(bool),
    /// An `int` (64 bits, as on the platforms Helm ships for).
    Int(i64),
    /// A `float64`; numbers read from YAML or JSON values are floats in Helm.
    Float(f64),
    /// A `string`.
    String(Arc<str>),
    /// A `[]interface{}`.
    List(Arc<Vec<Value>>),
    /// A `map[string]interface{}`; iteration and printing are in key order.
    Map(Arc<BTreeMap<String, Value>>),
    /// A Go value with fields and methods.
    Object(Arc<dyn Object>),
}

/// A Go value with named fields and methods, for data that is not a plain
/// map (Helm's `.Chart` metadata struct, `.Capabilities.APIVersions.Has`,
/// `.Files.Get`).
///
/// Fields are read with `.Name`; methods are called with `.Name arg…`.
pub trait Object: Debug + Send + Sync {
    /// The Go type name used in error messages, e.g. `*chart.Metadata`.
    fn type_name(&self) -> &str;
    /// The value of a field, or `None` if there is no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// Whether a method of that name exists.
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// Calls a method; the error text is wrapped as Go wraps a method's error.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!("no method {name}"))
    }
    /// The text `fmt.Sprint` prints for the value.
    fn format(&self) -> String;
}

impl Value {
    /// Builds a map value from key/value pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// Builds a list value.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// Go's truth (`if`, `with`, `and`, `or`, `not`): false, 0, nil, and
    /// empty strings, lists and maps are false; everything else is true.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl std::fmt::Display for Value {
    /// Prints as Go's `fmt.Sprint` (`%v`) does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::fmt::sprint(std::slice::from_ref(self)))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(Arc::from(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(Arc::from(v))
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(Arc::new(v))
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(v: BTreeMap<String, Value>) -> Self {
        Value::Map(Arc::new(v))
    }
}
