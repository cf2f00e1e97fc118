//! The dynamic value a template works on, shaped like the data Helm hands
//! to `text/template`: `nil`, `bool`, `int`, `float64`, `string`,
//! `[]interface{}`, `map[string]interface{}` (iterated in key order), and an
//! [`Object`] extension for Go values with fields and methods (Helm's
//! `.Chart`, `.Capabilities`, `.Files`).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How deep maps and lists may nest when a value is printed, encoded,
/// compared or deep-copied; a map that contains itself fails with an error
/// instead of recursing without end.
pub const MAX_NESTING: usize = 256;

/// A template value.
///
/// Lists and maps are reference-counted, so cloning a value is cheap. A map
/// is a reference, as a Go map is: clones share one map, and Sprig's `set`,
/// `unset` and `merge` change it for every holder (see [`MapRef`]).
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
    Map(MapRef),
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
    /// The entries `range` iterates over when the object stands for a Go
    /// map (`range $k, $v := .Files.Glob "*"`): key and element pairs in
    /// key order. `None`, the default, makes `range` fail with `range
    /// can't iterate over …` as for any other non-iterable value.
    fn range_entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// The value as [`Any`](std::any::Any), for functions that take values
    /// of this type back (Sprig's `time.Time`, `*semver.Version` and
    /// certificates); `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

impl Value {
    /// Builds a map value from key/value pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(MapRef::new(
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

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A copy sharing no map with this value (Sprig's `deepCopy`). Fails on
    /// a map that contains itself and beyond [`MAX_NESTING`] levels.
    pub fn deep_copy(&self) -> Result<Value, String> {
        self.deep_copy_in(&mut Vec::new())
    }

    fn deep_copy_in(&self, seen: &mut Vec<*const ()>) -> Result<Value, String> {
        Ok(match self {
            Value::List(l) => {
                nesting(seen.len())?;
                seen.push(std::ptr::null());
                let out: Result<Vec<_>, String> = l.iter().map(|e| e.deep_copy_in(seen)).collect();
                seen.pop();
                Value::List(Arc::new(out?))
            }
            Value::Map(m) => {
                nesting(seen.len())?;
                if seen.contains(&m.as_ptr()) {
                    return Err(format!("encountered a cycle via {}", self.type_name()));
                }
                seen.push(m.as_ptr());
                let out = m
                    .entries()
                    .into_iter()
                    .map(|(k, v)| Ok((k, v.deep_copy_in(seen)?)))
                    .collect::<Result<BTreeMap<_, _>, String>>();
                seen.pop();
                Value::Map(MapRef::new(out?))
            }
            other => other.clone(),
        })
    }

    /// Checks that the value can be printed: no map contains itself and
    /// nesting stays within [`MAX_NESTING`].
    pub fn check_nesting(&self) -> Result<(), String> {
        fn walk(v: &Value, seen: &mut Vec<*const ()>) -> Result<(), String> {
            match v {
                Value::List(l) => {
                    nesting(seen.len())?;
                    seen.push(std::ptr::null());
                    let r = l.iter().try_for_each(|e| walk(e, seen));
                    seen.pop();
                    r
                }
                Value::Map(m) => {
                    nesting(seen.len())?;
                    if seen.contains(&m.as_ptr()) {
                        return Err(format!(
                            "value contains itself (a cycle via {})",
                            v.type_name()
                        ));
                    }
                    seen.push(m.as_ptr());
                    let r = m.values().iter().try_for_each(|e| walk(e, seen));
                    seen.pop();
                    r
                }
                _ => Ok(()),
            }
        }
        walk(self, &mut Vec::new())
    }
}

/// The error for a value nested deeper than [`MAX_NESTING`].
pub(crate) fn nesting(depth: usize) -> Result<(), String> {
    if depth >= MAX_NESTING {
        Err(format!("value nested deeper than {MAX_NESTING} levels"))
    } else {
        Ok(())
    }
}

/// A shared, mutable `map[string]interface{}`: clones refer to the same map,
/// as copies of a Go map do.
///
/// Reads return copies of the entries (cheap: values are reference-counted),
/// so no lock is held while a template runs.
///
/// ```
/// use gitops_gotemplate::{MapRef, Value};
///
/// let m = MapRef::default();
/// let v = Value::Map(m.clone());
/// m.insert("a", Value::from(1));
/// assert_eq!(v.to_string(), "map[a:1]");
/// ```
///
/// A map can be frozen for a time with a [`Freeze`]; writes to it are then
/// refused.
#[derive(Clone, Default)]
pub struct MapRef(Arc<RwLock<Entries>>);

/// A map's entries, and the freeze that holds it read-only, if any.
#[derive(Default)]
struct Entries {
    map: BTreeMap<String, Value>,
    frozen: Option<Arc<FreezeState>>,
}

/// What a [`Freeze`] shares with the maps it holds.
#[derive(Debug, Default)]
struct FreezeState {
    refused: AtomicBool,
}

thread_local! {
    /// Writes refused on this thread, by any freeze.
    static REFUSED: Cell<u64> = const { Cell::new(0) };
}

/// Maps held read-only for a time, so that templates which share them can
/// run side by side with the same results as one after the other.
///
/// While a `Freeze` lives, [`MapRef::insert`] and [`MapRef::remove`] on a
/// map it holds change nothing and return `None` (Sprig's `set`, `unset`
/// and `merge` then have no effect): the write is *refused*, and the
/// refusal is counted, for the freeze ([`Freeze::any_refused`]) and for
/// the thread that tried it ([`Freeze::refused_on_this_thread`]). A run
/// in which nothing was refused read only what it would have read alone;
/// a run with a refusal must be done again after the freeze ends. Dropping
/// the `Freeze` makes its maps writable again.
///
/// ```
/// use gitops_gotemplate::{Freeze, Value};
///
/// let values = Value::map([("a", Value::map([("b", Value::from(1))]))]);
/// let inner = values.as_map().unwrap().get("a").unwrap();
/// let mut freeze = Freeze::new();
/// freeze.add(&values);
/// let before = Freeze::refused_on_this_thread();
/// inner.as_map().unwrap().insert("c", Value::from(2));
/// assert_eq!(inner.to_string(), "map[b:1]");
/// assert!(freeze.any_refused());
/// assert_eq!(Freeze::refused_on_this_thread(), before + 1);
/// drop(freeze);
/// inner.as_map().unwrap().insert("c", Value::from(2));
/// assert_eq!(inner.to_string(), "map[b:1 c:2]");
/// ```
#[derive(Debug, Default)]
pub struct Freeze {
    state: Arc<FreezeState>,
    maps: Vec<MapRef>,
}

impl Freeze {
    /// A freeze holding no map yet.
    pub fn new() -> Freeze {
        Freeze::default()
    }

    /// Holds every map reachable from `value` (through maps and lists; the
    /// values behind an [`Object`] are not reached). A map another freeze
    /// holds is left to that one.
    pub fn add(&mut self, value: &Value) {
        let mut lists_seen = std::collections::HashSet::new();
        let mut stack = vec![value.clone()];
        while let Some(v) = stack.pop() {
            match v {
                Value::Map(m) => {
                    let mut e = m.write();
                    if e.frozen.is_some() {
                        continue;
                    }
                    e.frozen = Some(self.state.clone());
                    stack.extend(
                        e.map
                            .values()
                            .filter(|v| matches!(v, Value::Map(_) | Value::List(_)))
                            .cloned(),
                    );
                    drop(e);
                    self.maps.push(m);
                }
                Value::List(l) if lists_seen.insert(Arc::as_ptr(&l)) => {
                    stack.extend(
                        l.iter()
                            .filter(|v| matches!(v, Value::Map(_) | Value::List(_)))
                            .cloned(),
                    );
                }
                _ => {}
            }
        }
    }

    /// Whether a write to a map of this freeze was refused.
    pub fn any_refused(&self) -> bool {
        self.state.refused.load(Ordering::Relaxed)
    }

    /// How many writes were refused on the calling thread so far, by any
    /// freeze: compare the counts before and after a run.
    pub fn refused_on_this_thread() -> u64 {
        REFUSED.with(Cell::get)
    }
}

impl Drop for Freeze {
    fn drop(&mut self) {
        for m in &self.maps {
            let mut e = m.write();
            if e.frozen
                .as_ref()
                .is_some_and(|f| Arc::ptr_eq(f, &self.state))
            {
                e.frozen = None;
            }
        }
    }
}

thread_local! {
    /// The maps being printed by `Debug` on this thread.
    static DEBUG_SEEN: RefCell<Vec<*const ()>> = const { RefCell::new(Vec::new()) };
}

impl MapRef {
    /// A new map holding the entries.
    pub fn new(entries: BTreeMap<String, Value>) -> MapRef {
        MapRef(Arc::new(RwLock::new(Entries {
            map: entries,
            frozen: None,
        })))
    }

    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entries to change, or `None` when a freeze holds the map (the
    /// refusal is counted).
    fn change(&self) -> Option<RwLockWriteGuard<'_, Entries>> {
        let e = self.write();
        if let Some(f) = &e.frozen {
            f.refused.store(true, Ordering::Relaxed);
            REFUSED.with(|r| r.set(r.get() + 1));
            return None;
        }
        Some(e)
    }

    pub(crate) fn as_ptr(&self) -> *const () {
        Arc::as_ptr(&self.0).cast()
    }

    /// Whether both refer to the same map.
    pub fn ptr_eq(a: &MapRef, b: &MapRef) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// The value at a key.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().map.get(key).cloned()
    }

    /// Whether the key is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.read().map.contains_key(key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.read().map.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().map.is_empty()
    }

    /// Sets a key, returning the value it replaced; refused (no change,
    /// `None`) while a [`Freeze`] holds the map.
    pub fn insert(&self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.change()?.map.insert(key.into(), value)
    }

    /// Removes a key, returning its value; refused (no change, `None`)
    /// while a [`Freeze`] holds the map.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.change()?.map.remove(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.read().map.keys().cloned().collect()
    }

    /// The values, in key order.
    pub fn values(&self) -> Vec<Value> {
        self.read().map.values().cloned().collect()
    }

    /// A snapshot of the entries, in key order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.read()
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A shallow copy of the entries as a new `BTreeMap`.
    pub fn to_btree_map(&self) -> BTreeMap<String, Value> {
        self.read().map.clone()
    }
}

impl Debug for MapRef {
    /// The entries; a map inside itself, or beyond [`MAX_NESTING`], prints
    /// as `{..}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ptr = self.as_ptr();
        let enter = DEBUG_SEEN.with(|s| {
            let mut s = s.borrow_mut();
            let ok = s.len() < MAX_NESTING && !s.contains(&ptr);
            if ok {
                s.push(ptr);
            }
            ok
        });
        if !enter {
            return f.write_str("{..}");
        }
        let entries = self.entries();
        let r = f
            .debug_map()
            .entries(entries.iter().map(|(k, v)| (k, v)))
            .finish();
        DEBUG_SEEN.with(|s| s.borrow_mut().pop());
        r
    }
}

impl PartialEq for MapRef {
    /// Same entries (or the same map); maps nested deeper than
    /// [`MAX_NESTING`] compare unequal.
    fn eq(&self, other: &Self) -> bool {
        eq_in(&Value::Map(self.clone()), &Value::Map(other.clone()), 0)
    }
}

fn eq_in(a: &Value, b: &Value, depth: usize) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            Arc::ptr_eq(a, b)
                || (depth < MAX_NESTING
                    && a.len() == b.len()
                    && a.iter().zip(b.iter()).all(|(x, y)| eq_in(x, y, depth + 1)))
        }
        (Value::Map(a), Value::Map(b)) => {
            if MapRef::ptr_eq(a, b) {
                return true;
            }
            if depth >= MAX_NESTING {
                return false;
            }
            let (a, b) = (a.entries(), b.entries());
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && eq_in(va, vb, depth + 1))
        }
        (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

impl std::fmt::Display for Value {
    /// Prints as Go's `fmt.Sprint` (`%v`) does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::fmt::sprint(std::slice::from_ref(self)))
    }
}

impl PartialEq for Value {
    /// Deep equality; maps nested deeper than [`MAX_NESTING`] compare
    /// unequal.
    fn eq(&self, other: &Self) -> bool {
        eq_in(self, other, 0)
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
        Value::Map(MapRef::new(v))
    }
}
impl From<MapRef> for Value {
    fn from(v: MapRef) -> Self {
        Value::Map(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freeze reaches maps inside lists and maps, leaves a map another
    /// freeze holds to that one, and counts refusals per thread.
    #[test]
    fn freeze_reaches_nested_maps_and_leaves_others_alone() {
        let deep = MapRef::default();
        let shared = MapRef::default();
        let values = Value::map([
            (
                "list",
                Value::list([Value::list([Value::Map(deep.clone())])]),
            ),
            ("shared", Value::Map(shared.clone())),
        ]);
        let mut first = Freeze::new();
        first.add(&Value::Map(shared.clone()));
        let mut second = Freeze::new();
        second.add(&values);
        let on_this_thread = Freeze::refused_on_this_thread();
        assert_eq!(deep.insert("a", Value::from(1)), None);
        assert!(deep.is_empty());
        assert!(second.any_refused() && !first.any_refused());
        shared.insert("b", Value::from(2));
        assert!(first.any_refused());
        assert_eq!(Freeze::refused_on_this_thread(), on_this_thread + 2);
        // Another thread's refusals are its own.
        let elsewhere = std::thread::scope(|s| {
            s.spawn(|| {
                deep.remove("a");
                Freeze::refused_on_this_thread()
            })
            .join()
            .unwrap()
        });
        assert_eq!(elsewhere, 1);
        assert_eq!(Freeze::refused_on_this_thread(), on_this_thread + 2);
        // The second freeze ends: `shared` stays with the first.
        drop(second);
        deep.insert("a", Value::from(1));
        assert_eq!(deep.len(), 1);
        shared.insert("b", Value::from(2));
        assert!(shared.is_empty());
        drop(first);
        shared.insert("b", Value::from(2));
        assert_eq!(shared.len(), 1);
    }
}
