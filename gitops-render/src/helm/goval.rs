//! Values with Go's sharing semantics.
//!
//! Helm's `strvals` parser and Flux's `ChartValuesFromReferences` work on Go
//! `map[string]any` and `[]any`: maps are references, and a slice write below
//! its length lands in the shared backing array. Flux's documented result for
//! a `targetPath` into a list that the inline values also hold depends on
//! that sharing, so this module models it: maps and lists are reference
//! counted cells, copied only where Go copies them.

use std::cell::RefCell;
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};

/// A Go map, shared by reference.
pub(crate) type GoMap = Rc<RefCell<IndexMap<String, GoVal>>>;
/// A Go slice: shared backing array whose length is the vector's length.
pub(crate) type GoList = Rc<RefCell<Vec<GoVal>>>;

/// A Go `any` holding YAML/JSON data.
#[derive(Debug, Clone)]
pub(crate) enum GoVal {
    /// `nil`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int64` or `float64`.
    Num(Number),
    /// `string`.
    Str(String),
    /// `[]any`.
    List(GoList),
    /// `map[string]any`.
    Map(GoMap),
}

impl GoVal {
    /// Go's name of the dynamic type, as a failed type assertion prints it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            GoVal::Null => "nil",
            GoVal::Bool(_) => "bool",
            GoVal::Num(n) if n.is_f64() => "float64",
            GoVal::Num(_) => "int64",
            GoVal::Str(_) => "string",
            GoVal::List(_) => "[]interface {}",
            GoVal::Map(_) => "map[string]interface {}",
        }
    }

    /// A fresh map value.
    pub(crate) fn new_map() -> GoMap {
        Rc::new(RefCell::new(IndexMap::new()))
    }

    /// Deep conversion from JSON (every container is new).
    pub(crate) fn from_json(v: &Value) -> GoVal {
        match v {
            Value::Null => GoVal::Null,
            Value::Bool(b) => GoVal::Bool(*b),
            Value::Number(n) => GoVal::Num(n.clone()),
            Value::String(s) => GoVal::Str(s.clone()),
            Value::Array(items) => GoVal::List(Rc::new(RefCell::new(
                items.iter().map(GoVal::from_json).collect(),
            ))),
            Value::Object(m) => GoVal::Map(map_from_json(m)),
        }
    }

    /// Deep conversion to JSON.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            GoVal::Null => Value::Null,
            GoVal::Bool(b) => Value::Bool(*b),
            GoVal::Num(n) => Value::Number(n.clone()),
            GoVal::Str(s) => Value::String(s.clone()),
            GoVal::List(l) => Value::Array(l.borrow().iter().map(GoVal::to_json).collect()),
            GoVal::Map(m) => Value::Object(map_to_json(m)),
        }
    }
}

/// Deep conversion of a JSON object.
pub(crate) fn map_from_json(m: &Map<String, Value>) -> GoMap {
    Rc::new(RefCell::new(
        m.iter()
            .map(|(k, v)| (k.clone(), GoVal::from_json(v)))
            .collect(),
    ))
}

/// Deep conversion to a JSON object.
pub(crate) fn map_to_json(m: &GoMap) -> Map<String, Value> {
    m.borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect()
}

/// Flux `chartutil.MergeMaps` (and Helm's CLI `mergeMaps`): a new top-level
/// map; nested maps present on both sides are merged into new maps; every
/// other value of `b` is shared, not copied.
pub(crate) fn merge_maps(a: &GoMap, b: &GoMap) -> GoMap {
    let mut out: IndexMap<String, GoVal> = a.borrow().clone();
    for (k, v) in b.borrow().iter() {
        if let GoVal::Map(vm) = v
            && let Some(GoVal::Map(am)) = out.get(k)
        {
            let merged = merge_maps(am, vm);
            out.insert(k.clone(), GoVal::Map(merged));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    Rc::new(RefCell::new(out))
}
