//! The function registry ([`Funcs`]) and Go's builtin functions.
//!
//! A registered function takes its arguments as [`Value`]s and returns a
//! value or an error message; the executor wraps the message as Go does
//! (`error calling NAME: MESSAGE`). A function may declare parameter types
//! ([`ArgType`]), and then gets Go's argument checks and messages
//! (`wrong number of args for NAME: want 2 got 1`, `wrong type for value;
//! expected string; got int`, `expected integer; found "x"`). A function
//! made with [`Func::with_context`] can execute templates of the set it runs
//! in, which is what Helm's `include` needs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::exec::{CallContext, Rv};
use crate::fmt::{sprint, sprintf, sprintln};
use crate::value::Value;

/// The Go type of a declared function parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgType {
    /// `interface{}`: any value, `nil` included.
    Any,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
}

/// Parameter kinds, including the `reflect.Value` parameters of builtins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Any,
    Reflect,
    String,
    Int,
    Float,
    Bool,
}

impl Kind {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Kind::Any => "interface {}",
            Kind::Reflect => "reflect.Value",
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Float => "float64",
            Kind::Bool => "bool",
        }
    }
}

impl From<ArgType> for Kind {
    fn from(t: ArgType) -> Kind {
        match t {
            ArgType::Any => Kind::Any,
            ArgType::String => Kind::String,
            ArgType::Int => Kind::Int,
            ArgType::Float => Kind::Float,
            ArgType::Bool => Kind::Bool,
        }
    }
}

/// The result type of registered functions: a value, or the error text.
pub type FuncResult = Result<Value, String>;

type PlainFn = dyn Fn(&[Value]) -> FuncResult + Send + Sync;
type CtxFn = dyn Fn(&mut CallContext<'_, '_>, &[Value]) -> FuncResult + Send + Sync;

#[derive(Clone)]
pub(crate) enum Body {
    Plain(Arc<PlainFn>),
    Context(Arc<CtxFn>),
    Builtin(Builtin),
}

/// A function callable from templates, with its parameter list.
#[derive(Clone)]
pub struct Func {
    pub(crate) params: Vec<Kind>,
    pub(crate) variadic: Option<Kind>,
    pub(crate) body: Body,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func")
            .field("params", &self.params)
            .field("variadic", &self.variadic)
            .finish()
    }
}

impl Func {
    /// A function taking any number of arguments of any type
    /// (Go's `func(...interface{})`).
    pub fn new(f: impl Fn(&[Value]) -> FuncResult + Send + Sync + 'static) -> Func {
        Func {
            params: Vec::new(),
            variadic: Some(Kind::Any),
            body: Body::Plain(Arc::new(f)),
        }
    }

    /// A function that can execute templates of the set it is called from
    /// (see [`CallContext`]).
    pub fn with_context(
        f: impl Fn(&mut CallContext<'_, '_>, &[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> Func {
        Func {
            params: Vec::new(),
            variadic: Some(Kind::Any),
            body: Body::Context(Arc::new(f)),
        }
    }

    /// Declares exactly these parameters (no variadic tail).
    #[must_use]
    pub fn params(mut self, params: impl IntoIterator<Item = ArgType>) -> Func {
        self.params = params.into_iter().map(Kind::from).collect();
        self.variadic = None;
        self
    }

    /// Adds a variadic tail of this type after the fixed parameters.
    #[must_use]
    pub fn variadic(mut self, tail: ArgType) -> Func {
        self.variadic = Some(tail.into());
        self
    }

    fn builtin(b: Builtin, params: &[Kind], variadic: Option<Kind>) -> Func {
        Func {
            params: params.to_vec(),
            variadic,
            body: Body::Builtin(b),
        }
    }
}

/// A registry of template functions, name to [`Func`].
///
/// Names registered here shadow Go's builtins of the same name (as a Go
/// `FuncMap` does); the `and`/`or` short-circuit applies to the builtins only.
///
/// ```
/// use gitops_gotemplate::{ArgType, Func, Funcs, Template, Value};
///
/// let mut funcs = Funcs::new();
/// funcs.insert("upper", Func::new(|args| {
///     Ok(Value::from(args[0].as_str().unwrap_or_default().to_uppercase()))
/// }).params([ArgType::String]));
/// let mut t = Template::with_funcs("gotpl", funcs);
/// t.parse("t", r#"{{ "hi" | upper }} {{ upper 3 }}"#)?;
/// let err = t.render("t", &Value::Nil).unwrap_err();
/// assert_eq!(err.to_string(), "template: t:1:28: executing \"t\" at <3>: expected string; found 3");
/// # Ok::<(), gitops_gotemplate::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Funcs {
    map: HashMap<String, Func>,
}

impl Funcs {
    /// An empty registry (the builtins are always available).
    pub fn new() -> Funcs {
        Funcs::default()
    }

    /// Registers (or replaces) a function.
    pub fn insert(&mut self, name: impl Into<String>, func: Func) -> &mut Funcs {
        self.map.insert(name.into(), func);
        self
    }

    /// Registers an untyped function (`func(...interface{})`).
    pub fn insert_fn(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> &mut Funcs {
        self.insert(name, Func::new(f))
    }

    /// Adds every function of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: Funcs) -> &mut Funcs {
        self.map.extend(other.map);
        self
    }

    /// Removes a function, returning it (Helm removes Sprig's `env` and
    /// `expandenv`).
    pub fn remove(&mut self, name: &str) -> Option<Func> {
        self.map.remove(name)
    }

    /// Whether a function of that name is registered (builtins excluded).
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }
}

/// Go's builtin functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Call,
    Html,
    Index,
    Slice,
    Js,
    Len,
    Not,
    Print,
    Printf,
    Println,
    UrlQuery,
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    Ne,
}

pub(crate) fn builtin(name: &str) -> Option<Func> {
    use Kind::{Any, Reflect, String as Str};
    let r1 = [Reflect];
    let r2 = [Reflect, Reflect];
    Some(match name {
        "and" => Func::builtin(Builtin::And, &r1, Some(Reflect)),
        "or" => Func::builtin(Builtin::Or, &r1, Some(Reflect)),
        "call" => Func::builtin(Builtin::Call, &r1, Some(Reflect)),
        "html" => Func::builtin(Builtin::Html, &[], Some(Any)),
        "index" => Func::builtin(Builtin::Index, &r1, Some(Reflect)),
        "slice" => Func::builtin(Builtin::Slice, &r1, Some(Reflect)),
        "js" => Func::builtin(Builtin::Js, &[], Some(Any)),
        "len" => Func::builtin(Builtin::Len, &r1, None),
        "not" => Func::builtin(Builtin::Not, &r1, None),
        "print" => Func::builtin(Builtin::Print, &[], Some(Any)),
        "printf" => Func::builtin(Builtin::Printf, &[Str], Some(Any)),
        "println" => Func::builtin(Builtin::Println, &[], Some(Any)),
        "urlquery" => Func::builtin(Builtin::UrlQuery, &[], Some(Any)),
        "eq" => Func::builtin(Builtin::Eq, &r1, Some(Reflect)),
        "ge" => Func::builtin(Builtin::Ge, &r2, None),
        "gt" => Func::builtin(Builtin::Gt, &r2, None),
        "le" => Func::builtin(Builtin::Le, &r2, None),
        "lt" => Func::builtin(Builtin::Lt, &r2, None),
        "ne" => Func::builtin(Builtin::Ne, &r2, None),
        _ => return None,
    })
}

/// Runs a builtin other than `and`, `or` and `call` (handled by the executor).
pub(crate) fn call_builtin(b: Builtin, args: &[Rv]) -> Result<Rv, String> {
    let values = || -> Result<Vec<Value>, String> {
        let v = args.iter().map(Rv::to_value).collect::<Vec<_>>();
        for x in &v {
            x.check_nesting()
                .map_err(|e| format!("can't print value: {e}"))?;
        }
        Ok(v)
    };
    Ok(match b {
        Builtin::Not => Rv::Val(Value::Bool(!args[0].truth())),
        Builtin::Len => Rv::Val(Value::Int(length(&args[0])?)),
        Builtin::Index => index(&args[0], &args[1..])?,
        Builtin::Slice => slice(&args[0], &args[1..])?,
        Builtin::Print => Rv::Val(Value::from(sprint(&values()?))),
        Builtin::Println => Rv::Val(Value::from(sprintln(&values()?))),
        Builtin::Printf => {
            let v = values()?;
            let format = v[0].as_str().unwrap_or_default().to_string();
            Rv::Val(Value::from(sprintf(&format, &v[1..])))
        }
        Builtin::Html => Rv::Val(Value::from(html_escape(&eval_args(args)))),
        Builtin::Js => Rv::Val(Value::from(js_escape(&eval_args(args)))),
        Builtin::UrlQuery => Rv::Val(Value::from(query_escape(&eval_args(args)))),
        Builtin::Eq => Rv::Val(Value::Bool(eq(&args[0], &args[1..])?)),
        Builtin::Ne => Rv::Val(Value::Bool(!eq(&args[0], &args[1..2])?)),
        Builtin::Lt => Rv::Val(Value::Bool(lt(&args[0], &args[1])?)),
        Builtin::Le => Rv::Val(Value::Bool(le(&args[0], &args[1])?)),
        Builtin::Gt => Rv::Val(Value::Bool(!le(&args[0], &args[1])?)),
        Builtin::Ge => Rv::Val(Value::Bool(!lt(&args[0], &args[1])?)),
        Builtin::And | Builtin::Or | Builtin::Call => unreachable_builtin(),
    })
}

fn unreachable_builtin() -> Rv {
    Rv::Invalid
}

fn length(item: &Rv) -> Result<i64, String> {
    let v = match item {
        Rv::Invalid => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Rv::Iface(Value::Nil) => return Err("len of nil pointer".into()),
        Rv::Iface(v) | Rv::Val(v) => v,
    };
    let n = match v {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn index_arg(index: &Rv, cap: usize) -> Result<usize, String> {
    let x = match index.indirect() {
        None => return Err("cannot index slice/array with nil".into()),
        Some(Value::Int(i)) => *i,
        Some(other) => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    match usize::try_from(x) {
        Ok(u) if u <= cap => Ok(u),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(item: &Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let Some(first) = item.indirect() else {
        return Err("index of untyped nil".into());
    };
    let mut cur = Rv::Val(first.clone());
    for idx in indexes {
        let v = match &cur {
            Rv::Iface(Value::Nil) | Rv::Invalid => return Err("index of nil pointer".into()),
            Rv::Iface(v) | Rv::Val(v) => v.clone(),
        };
        cur = match &v {
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                match l.get(x) {
                    Some(e) => Rv::Iface(e.clone()),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Rv::Val(Value::Int(i64::from(*b))),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => {
                let key = match idx.indirect() {
                    None => return Err("value is nil; should be of type string".into()),
                    Some(Value::String(k)) => k.clone(),
                    Some(other) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                Rv::Iface(m.get(&key).unwrap_or(Value::Nil))
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(cur)
}

fn slice(item: &Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let Some(v) = item.indirect() else {
        return Err("slice of untyped nil".into());
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match v {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(Rv::Val(match v {
        Value::String(s) => {
            let bytes = &s.as_bytes()[idx[0]..idx[1]];
            Value::from(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].iter().cloned()),
        _ => Value::Nil,
    }))
}

/// The builtin comparison kinds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Basic {
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: Option<&Value>) -> Option<Basic> {
    match v? {
        Value::Bool(_) => Some(Basic::Bool),
        Value::Int(_) => Some(Basic::Int),
        Value::Float(_) => Some(Basic::Float),
        Value::String(_) => Some(Basic::String),
        _ => None,
    }
}

fn kind_of(v: Option<&Value>) -> u8 {
    match v {
        None | Some(Value::Nil) => 0,
        Some(Value::Bool(_)) => 1,
        Some(Value::Int(_)) => 2,
        Some(Value::Float(_)) => 3,
        Some(Value::String(_)) => 4,
        Some(Value::List(_)) => 5,
        Some(Value::Map(_)) => 6,
        Some(Value::Object(_)) => 7,
    }
}

fn eq(arg1: &Rv, rest: &[Rv]) -> Result<bool, String> {
    let a1 = arg1.indirect();
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for arg in rest {
        let a = arg.indirect();
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            if let (Some(x), Some(y)) = (a1, a) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    x.type_name(),
                    y.type_name()
                ));
            }
            false
        } else {
            match (a1, a) {
                (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
                (Some(Value::Int(x)), Some(Value::Int(y))) => x == y,
                (Some(Value::Float(x)), Some(Value::Float(y))) => x == y,
                (Some(Value::String(x)), Some(Value::String(y))) => x == y,
                _ => {
                    if kind_of(a1) != kind_of(a) && a1.is_some() && a.is_some() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            show_s(a1),
                            type_of(a1),
                            type_of(a),
                            show_v(a)
                        ));
                    }
                    match (a1, a) {
                        (None, _) | (_, None) => a1.is_none() == a.is_none(),
                        (Some(Value::Object(x)), Some(Value::Object(y))) => Arc::ptr_eq(x, y),
                        (_, y) => {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                show_s(y),
                                type_of(y)
                            ));
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn show_s(v: Option<&Value>) -> String {
    v.map_or_else(
        || "<invalid reflect.Value>".to_string(),
        |v| sprintf("%s", std::slice::from_ref(v)),
    )
}

fn show_v(v: Option<&Value>) -> String {
    v.map_or_else(
        || "<invalid reflect.Value>".to_string(),
        ToString::to_string,
    )
}

fn type_of(v: Option<&Value>) -> String {
    v.map_or_else(|| "<nil>".to_string(), |v| v.type_name().to_string())
}

fn lt(arg1: &Rv, arg2: &Rv) -> Result<bool, String> {
    const BAD: &str = "invalid type for comparison";
    let (a1, a2) = (arg1.indirect(), arg2.indirect());
    let k1 = basic_kind(a1).ok_or(BAD)?;
    let k2 = basic_kind(a2).ok_or(BAD)?;
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            type_of(a1),
            type_of(a2)
        ));
    }
    Ok(match (a1, a2) {
        (Some(Value::Int(x)), Some(Value::Int(y))) => x < y,
        (Some(Value::Float(x)), Some(Value::Float(y))) => x < y,
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => return Err(BAD.into()),
    })
}

fn le(arg1: &Rv, arg2: &Rv) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `evalArgs`: one string argument as is, otherwise `fmt.Sprint` of
/// the arguments with `nil` shown as `<no value>`.
fn eval_args(args: &[Rv]) -> String {
    if let [Rv::Val(Value::String(s)) | Rv::Iface(Value::String(s))] = args {
        return s.to_string();
    }
    let values: Vec<Value> = args
        .iter()
        .map(|a| match a.to_value() {
            Value::Nil => Value::from("<no value>"),
            v => v,
        })
        .collect();
    sprint(&values)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => {
                let _ = write!(out, "\\u00{:02X}", c as u32);
            }
            c if c.is_ascii() => out.push(c),
            c if crate::fmt::is_print(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
