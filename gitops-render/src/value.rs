//! The typed document model resources are rendered through.
//!
//! kustomize prints a resource by encoding it to JSON and re-reading that JSON
//! with Go's yaml.v2, so only the *typed* value of every scalar survives: the
//! source style, comments and key order are lost. [`Value`] is exactly that
//! typed view. Scalars are typed from YAML the way Go's yaml.v3 does it
//! (kustomize's reader), see [`Value::from_node`].

use std::cell::OnceCell;

use gitops_core::yaml::{Node, NodeKind, Scalar, ScalarStyle};

/// The string of a [`Value::Str`] and of a [`Map`] key: 16 bytes, up to 15
/// bytes held inline with no allocation of their own (most keys and many
/// scalars of Kubernetes objects), longer ones shared when cloned. It
/// dereferences to `str` and converts from `String` and `&str` with
/// `into()`.
pub type Str = ecow::EcoString;

/// The items of a [`Value::Seq`]: a vector held by one pointer (its length
/// and capacity live with the items), so a [`Value`] takes 24 bytes.
pub type Seq = thin_vec::ThinVec<Value>;

/// A typed YAML/JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float that is not an integer (integral floats become [`Value::Int`] on output).
    Float(f64),
    /// A string.
    Str(Str),
    /// A sequence.
    Seq(Seq),
    /// A mapping with string keys, in insertion order.
    Map(Map),
}

/// A mapping with string keys, kept in insertion order (output sorts them).
///
/// A null value remembers how it was written when that was not `null`
/// (empty, `~`, `Null`…), as kyaml's nodes do: kustomize prints an
/// annotation by that text, and its strategic merge drops a field written
/// with no value at all. Equality compares the entries only.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: thin_vec::ThinVec<(Str, Value)>,
    null_texts: Option<Box<NullTexts>>,
}

/// Keys of a [`Map`] whose null value was written other than `null`, with
/// that text (boxed: most maps have none).
#[derive(Debug, Clone, Default)]
struct NullTexts(Vec<(String, String)>);

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.entries == other.entries
    }
}

impl Map {
    /// An empty mapping.
    pub fn new() -> Map {
        Map::default()
    }

    /// An empty mapping with room for `n` entries.
    pub(crate) fn with_capacity(n: usize) -> Map {
        Map {
            entries: thin_vec::ThinVec::with_capacity(n),
            null_texts: None,
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Append an entry. Small maps grow by one slot at a time: most
    /// objects' maps are built at their final size and gain a key or two
    /// later (a namespace, a label), where doubling would leave most of the
    /// new room unused in every resource.
    fn push(&mut self, key: Str, value: Value) {
        if self.entries.len() == self.entries.capacity() && self.entries.len() < 16 {
            self.entries.reserve_exact(1);
        }
        self.entries.push((key, value));
    }

    /// Make room for exactly `n` more entries.
    pub(crate) fn reserve_exact(&mut self, n: usize) {
        self.entries.reserve_exact(n);
    }

    /// Set `key` (replacing in place, or appending).
    pub fn insert(&mut self, key: impl Into<Str>, value: Value) {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => {
                *slot = value;
                self.forget_null_text(&key);
            }
            None => self.push(key, value),
        }
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        self.forget_null_text(key);
        Some(self.entries.remove(i).1)
    }

    /// How the null under `key` was written: `null` unless recorded
    /// otherwise by [`Value::from_node`]; `None` when the value is not null.
    pub(crate) fn null_text(&self, key: &str) -> Option<&str> {
        if !self.get(key).is_some_and(Value::is_null) {
            return None;
        }
        let recorded = self.null_texts.iter().flat_map(|t| t.0.iter());
        Some(
            recorded
                .filter(|(k, _)| k == key)
                .map(|(_, t)| t.as_str())
                .next()
                .unwrap_or("null"),
        )
    }

    /// Remove the fields whose value was written empty (`key:`), as kyaml's
    /// merge walker does to every mapping it visits.
    pub(crate) fn remove_empty_nulls(&mut self) {
        let Some(texts) = self.null_texts.take() else {
            return;
        };
        let empty: Vec<String> = texts
            .0
            .iter()
            .filter(|(_, t)| t.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        self.null_texts = Some(texts);
        for key in empty {
            if self.get(&key).is_some_and(Value::is_null) {
                self.remove(&key);
            }
        }
    }

    fn set_null_text(&mut self, key: &str, text: &str) {
        self.forget_null_text(key);
        self.null_texts
            .get_or_insert_with(Box::default)
            .0
            .push((key.to_owned(), text.to_owned()));
    }

    fn forget_null_text(&mut self, key: &str) {
        if let Some(texts) = &mut self.null_texts {
            texts.0.retain(|(k, _)| k != key);
            if texts.0.is_empty() {
                self.null_texts = None;
            }
        }
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value under `key`, inserting `make()` first when absent.
    pub fn entry_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> Value) -> &mut Value {
        let i = match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.push(key.into(), make());
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Entries in insertion order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keep only the entries for which `f` holds.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| f(k, v));
        if let Some(texts) = &mut self.null_texts {
            let entries = &self.entries;
            texts.0.retain(|(k, _)| entries.iter().any(|(e, _)| e == k));
        }
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Map {
    fn from_iter<T: IntoIterator<Item = (K, Value)>>(iter: T) -> Self {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl IntoIterator for Map {
    type Item = (Str, Value);
    type IntoIter = thin_vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl Value {
    /// Convert a parsed YAML node, typing plain scalars like Go's yaml.v3
    /// (kustomize's reader) and applying `<<` merge keys.
    pub fn from_node(node: &Node) -> Value {
        convert(node, None)
    }

    /// [`Value::from_node`] for a node read from `src`, which tells a null
    /// written with no value (`key:`) from one written `~` (the reader
    /// gives both as `~`).
    ///
    /// The node is consumed: its strings move into the value (no copy).
    pub(crate) fn from_node_in(node: Node, src: &Source<'_>) -> Value {
        convert_owned(node, Some(src))
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping, when this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, mutably.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, when this is one.
    pub fn as_seq(&self) -> Option<&Seq> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The sequence, mutably.
    pub fn as_seq_mut(&mut self) -> Option<&mut Seq> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Look a key up when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// Follow a path of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    /// Follow a path of mapping keys, mutably.
    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Value> {
        let mut cur = self;
        for k in path {
            cur = cur.as_map_mut()?.get_mut(k)?;
        }
        Some(cur)
    }

    /// The string at a path of mapping keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path)?.as_str()
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The scalar as text the way kustomize reads a node's value
    /// (`yaml.Node.Value`): strings as is, numbers and booleans as written.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(crate::emit::format_float(*f)),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }

    /// The value as a JSON value, as [`to_go_json`](Self::to_go_json)'s
    /// text reads back (map keys sorted byte-wise, integral floats as
    /// integers), without the text. `None` for a NaN or infinite float,
    /// which JSON cannot hold.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        use serde_json::{Number, Value as Json};
        Some(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::Number(Number::from(*i)),
            Value::Float(f) if !f.is_finite() => return None,
            // Go prints integral floats below 1e21 without a fraction; a
            // JSON reader takes those within 64 bits as integers.
            Value::Float(f)
                if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(f) =>
            {
                Json::Number(Number::from(*f as u64))
            }
            Value::Float(f) if f.fract() == 0.0 && (-9.223_372_036_854_776e18..0.0).contains(f) => {
                Json::Number(Number::from(*f as i64))
            }
            Value::Float(f) => Json::Number(Number::from_f64(*f)?),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Seq(items) => {
                Json::Array(items.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Map(m) => {
                let mut entries: Vec<(&str, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    out.insert(k.to_owned(), v.to_json()?);
                }
                Json::Object(out)
            }
        })
    }

    /// Encode as JSON text the way Go's `encoding/json` does (map keys sorted
    /// byte-wise, `<`, `>` and `&` escaped).
    pub fn to_go_json(&self) -> String {
        let mut out = String::new();
        write_go_json(self, &mut out);
        out
    }
}

/// The text documents were read from, for [`Value::from_node_in`].
pub(crate) struct Source<'a> {
    text: &'a str,
    lines: OnceCell<Vec<&'a str>>,
}

impl<'a> Source<'a> {
    /// The source `text`.
    pub(crate) fn new(text: &'a str) -> Source<'a> {
        Source {
            text,
            lines: OnceCell::new(),
        }
    }

    /// The character at a 1-based line and column.
    fn char_at(&self, line: usize, column: usize) -> Option<char> {
        let lines = self.lines.get_or_init(|| self.text.split('\n').collect());
        lines
            .get(line.checked_sub(1)?)?
            .chars()
            .nth(column.checked_sub(1)?)
    }
}

/// How a null scalar was written: the reader gives an empty value as `~`
/// placed at the `:` or `-` before it, so a `~` is real only when the
/// source has one there.
fn null_text<'s>(s: &'s Scalar, node: &Node, src: Option<&Source<'_>>) -> &'s str {
    match (s.value.as_str(), s.style, src) {
        ("~", ScalarStyle::Plain, Some(src))
            if src.char_at(node.line, node.column) != Some('~') =>
        {
            ""
        }
        (text, ..) => text,
    }
}

fn convert(node: &Node, src: Option<&Source<'_>>) -> Value {
    match &node.kind {
        NodeKind::Scalar(s) => scalar_value(s),
        NodeKind::Seq(items) => Value::Seq(items.iter().map(|i| convert(i, src)).collect()),
        NodeKind::Map(entries) => {
            let mut map = Map::new();
            let mut merges = Vec::new();
            for (k, v) in entries {
                let key = match &k.kind {
                    NodeKind::Scalar(s) => s.value.clone(),
                    _ => continue,
                };
                if key == "<<" && k.as_scalar().is_some_and(|s| s.style == ScalarStyle::Plain) {
                    merges.push(v);
                    continue;
                }
                let value = convert(v, src);
                let odd_null = match (&value, &v.kind) {
                    (Value::Null, NodeKind::Scalar(s)) if s.value != "null" => {
                        Some(null_text(s, v, src))
                    }
                    _ => None,
                };
                if let Some(text) = odd_null {
                    map.insert(key.clone(), value);
                    map.set_null_text(&key, text);
                } else {
                    map.insert(key, value);
                }
            }
            for m in merges {
                let sources: Vec<&Node> = match &m.kind {
                    NodeKind::Seq(items) => items.iter().collect(),
                    _ => vec![m],
                };
                for m_src in sources {
                    if let Value::Map(sm) = convert(m_src, src) {
                        for (k, v) in sm {
                            if !map.contains_key(&k) {
                                map.insert(k, v);
                            }
                        }
                    }
                }
            }
            Value::Map(map)
        }
    }
}

/// [`convert`] of a node that is consumed: scalars and keys move their
/// strings into the value, and every collection is allocated at its final
/// size. Mappings with `<<` merge keys go through [`convert`].
fn convert_owned(node: Node, src: Option<&Source<'_>>) -> Value {
    match node.kind {
        NodeKind::Scalar(s) => scalar_value_owned(s),
        NodeKind::Seq(items) => {
            Value::Seq(items.into_iter().map(|i| convert_owned(i, src)).collect())
        }
        NodeKind::Map(entries) => {
            let has_merge = entries.iter().any(|(k, _)| {
                k.as_scalar()
                    .is_some_and(|s| s.value == "<<" && s.style == ScalarStyle::Plain)
            });
            if has_merge {
                let node = Node {
                    kind: NodeKind::Map(entries),
                    ..node
                };
                return convert(&node, src);
            }
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k.kind {
                    NodeKind::Scalar(s) => s.value,
                    _ => continue,
                };
                let odd_null = match &v.kind {
                    NodeKind::Scalar(s) if s.value != "null" => scalar_typed(s)
                        .is_some_and(|t| t.is_null())
                        .then(|| null_text(s, &v, src).to_owned()),
                    _ => None,
                };
                match odd_null {
                    Some(text) => {
                        map.insert(key.clone(), Value::Null);
                        map.set_null_text(&key, &text);
                    }
                    None => map.insert(key, convert_owned(v, src)),
                }
            }
            Value::Map(map)
        }
    }
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&crate::emit::format_float_json(*f)),
        Value::Str(s) => go_json_string(s, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let mut keys: Vec<&str> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                if let Some(v) = m.get(k) {
                    write_go_json(v, out);
                }
            }
            out.push('}');
        }
    }
}

/// Write `s` as a Go `encoding/json` string literal.
pub(crate) fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn scalar_value(s: &Scalar) -> Value {
    scalar_typed(s).unwrap_or_else(|| Value::Str(s.value.as_str().into()))
}

/// [`scalar_value`] of a scalar that is consumed (a string moves).
fn scalar_value_owned(s: Scalar) -> Value {
    scalar_typed(&s).unwrap_or(Value::Str(s.value.into()))
}

/// The typed value of a scalar, `None` when it is a string.
fn scalar_typed(s: &Scalar) -> Option<Value> {
    if let Some(tag) = &s.tag {
        let short = tag.strip_prefix("tag:yaml.org,2002:").unwrap_or(tag);
        return match short {
            "null" => Some(Value::Null),
            "bool" | "int" | "float" => plain_typed(&s.value).filter(|v| !v.is_null()),
            _ => None,
        };
    }
    if s.style != ScalarStyle::Plain {
        return None;
    }
    plain_typed(&s.value)
}

/// Type a plain scalar the way Go's yaml.v3 does when decoding into `interface{}`.
pub(crate) fn resolve_plain_v3(v: &str) -> Value {
    plain_typed(v).unwrap_or_else(|| Value::Str(v.into()))
}

/// [`resolve_plain_v3`], `None` for a string.
fn plain_typed(v: &str) -> Option<Value> {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    let first = v.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(v) {
                return Some(float_value(f));
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            // yaml.v3 keeps timestamps as strings when decoding into interface{}.
            let plain = if v.contains('_') {
                std::borrow::Cow::Owned(v.replace('_', ""))
            } else {
                std::borrow::Cow::Borrowed(v)
            };
            let plain = plain.as_ref();
            if let Some(i) = go_parse_int(plain) {
                return Some(Value::Int(i));
            }
            if is_yaml_style_float(plain)
                && let Some(f) = go_parse_float(plain)
            {
                return Some(float_value(f));
            }
            if let Some(b) = plain.strip_prefix("0b")
                && let Ok(i) = i64::from_str_radix(b, 2)
            {
                return Some(Value::Int(i));
            }
            if let Some(b) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(b, 2)
            {
                return Some(Value::Int(-i));
            }
            if let Some(o) = plain.strip_prefix("0o")
                && let Ok(i) = i64::from_str_radix(o, 8)
            {
                return Some(Value::Int(i));
            }
        }
        _ => {}
    }
    None
}

fn float_value(f: f64) -> Value {
    Value::Float(f)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, o)
    } else if let Some(b) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, b)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u128::from_str_radix(digits, radix).ok()?;
    let val = if neg { -(mag as i128) } else { mag as i128 };
    i64::try_from(val).ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_style_float(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - start;
    if int_digits == 0 {
        if i >= b.len() || b[i] != b'.' {
            return false;
        }
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    } else if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_start_matches(['+', '-']);
    if matches!(t, "inf" | "infinity" | "nan") {
        return None;
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::yaml::parse_documents;

    fn v(src: &str) -> Value {
        Value::from_node(&parse_documents(src, "t").unwrap()[0].root)
    }

    #[test]
    fn json_values_are_what_go_json_text_reads_back() {
        let doc = v(
            "z: 1\na: [1.0, -0.0, 2.5, 1e300, 1e19, -7.0, 3.0e5, null, true, 'x<&>'\n]\nm: {b: {d: 1, c: 2}, a: ~, e: ''}\nbig: 12345678901234567\n",
        );
        let through_text: serde_json::Value = serde_json::from_str(&doc.to_go_json()).unwrap();
        let direct = doc.to_json().unwrap();
        assert_eq!(direct, through_text);
        // Same key order too.
        assert_eq!(direct.to_string(), through_text.to_string());
        assert!(Value::Float(f64::NAN).to_json().is_none());
        assert!(
            Value::Seq([Value::Float(f64::INFINITY)].into_iter().collect())
                .to_json()
                .is_none()
        );
    }

    #[test]
    fn typing_follows_yaml_v3() {
        let doc = v("a: 010\nb: yes\nc: 1_000\nd: '1'\ne: 0x1F\nf: 1.5\ng: ~\nh: !!str 3\n");
        assert_eq!(doc.get("a"), Some(&Value::Int(8)));
        assert_eq!(doc.get("b"), Some(&Value::Str("yes".into())));
        assert_eq!(doc.get("c"), Some(&Value::Int(1000)));
        assert_eq!(doc.get("d"), Some(&Value::Str("1".into())));
        assert_eq!(doc.get("e"), Some(&Value::Int(31)));
        assert_eq!(doc.get("f"), Some(&Value::Float(1.5)));
        assert_eq!(doc.get("g"), Some(&Value::Null));
        assert_eq!(doc.get("h"), Some(&Value::Str("3".into())));
    }

    #[test]
    fn merge_keys_apply() {
        let doc = v("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n");
        assert_eq!(doc.get_path(&["d", "x"]), Some(&Value::Int(1)));
        assert_eq!(doc.get_path(&["d", "y"]), Some(&Value::Int(3)));
    }

    #[test]
    fn go_json_sorts_and_escapes() {
        let doc = v("b: '<x>'\na: [1, true, null]\n");
        assert_eq!(
            doc.to_go_json(),
            r#"{"a":[1,true,null],"b":"\u003cx\u003e"}"#
        );
    }
}
