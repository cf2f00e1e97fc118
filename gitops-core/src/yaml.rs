//! A bounded multi-document YAML reader.
//!
//! [`parse_documents`] turns a YAML stream into a list of [`Document`]s whose
//! [`Node`]s keep mapping key order, scalar style (plain, quoted, block) and
//! the 1-based line and column of every node. Scalars are kept as text; call
//! [`Scalar::resolve`] to type them under the YAML 1.2 core schema (Go
//! yaml.v3, kustomize) or the YAML 1.1 schema (Go yaml.v2, Helm values).
//!
//! The reader is bounded against hostile input: aliases are expanded, but the
//! number of nodes produced per stream (aliases included) is capped by
//! [`Limits::max_nodes`], and nesting by [`Limits::max_depth`]. Duplicate
//! mapping keys are an error, as in kyaml.
//!
//! ```
//! use gitops_core::yaml::{parse_documents, Resolved, Schema};
//!
//! let docs = parse_documents("a: 1\nb: [x, 'y']\n---\nkind: ConfigMap\n", "demo.yaml")?;
//! assert_eq!(docs.len(), 2);
//! let a = docs[0].root.get("a").unwrap();
//! assert_eq!(a.as_scalar().unwrap().resolve(Schema::Core), Resolved::Int(1));
//! assert_eq!(docs[1].root.get("kind").unwrap().as_str(), Some("ConfigMap"));
//! assert_eq!(docs[1].root.line, 4);
//!
//! let err = parse_documents("a: [1, 2\n", "bad.yaml").unwrap_err();
//! assert!(err.to_string().starts_with("bad.yaml:"));
//! # Ok::<(), gitops_core::yaml::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle as GStyle};

/// Resource limits of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of nodes in one stream, counting every alias expansion.
    pub max_nodes: usize,
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 1_000_000,
            max_depth: 256,
        }
    }
}

/// What the reader does with a mapping key that occurs twice in one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateKeys {
    /// Fail with [`Error::DuplicateKey`] (yaml.v3's behaviour; the default).
    #[default]
    Error,
    /// Keep the last value, at the position of the first key (yaml.v2 and
    /// `sigs.k8s.io/yaml` decoding into a map, as kustomize reads its
    /// kustomization files).
    LastWins,
}

/// Options of [`parse_documents_opts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Resource limits.
    pub limits: Limits,
    /// Duplicate mapping keys.
    pub duplicate_keys: DuplicateKeys,
}

/// Why a YAML stream could not be read. Every variant names the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid YAML.
    #[error("{origin}:{line}:{column}: yaml syntax error: {message}")]
    Syntax {
        /// File name or other origin given by the caller.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// A mapping has the same key twice.
    #[error("{origin}:{line}: mapping key {key:?} already defined at line {first_line}")]
    DuplicateKey {
        /// Origin.
        origin: String,
        /// Line of the second occurrence.
        line: usize,
        /// The key.
        key: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// Alias expansion (or the document itself) produced too many nodes.
    #[error("{origin}:{line}: document exceeds {limit} nodes (alias bomb?)")]
    TooManyNodes {
        /// Origin.
        origin: String,
        /// Line where the limit was hit.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// Collections are nested deeper than allowed.
    #[error("{origin}:{line}: nesting deeper than {limit} levels")]
    TooDeep {
        /// Origin.
        origin: String,
        /// Line where the limit was hit.
        line: usize,
        /// The limit.
        limit: usize,
    },
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarStyle {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// A scalar: its text after escape processing, its style and explicit tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scalar {
    /// The value after YAML escape processing.
    pub value: String,
    /// The source style.
    pub style: ScalarStyle,
    /// The explicit tag, e.g. `tag:yaml.org,2002:str` for `!!str`, when written.
    pub tag: Option<String>,
}

/// The YAML schema used to type plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2 core schema as Go's yaml.v3 applies it (kustomize, kyaml).
    Core,
    /// YAML 1.1 as Go's yaml.v2 applies it (`yes`/`on` are booleans; Helm values).
    Yaml11,
}

/// A typed scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved<'a> {
    /// `null`, `~` or empty.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'a str),
}

impl Scalar {
    /// Type the scalar: quoted and block scalars are strings; plain ones are
    /// resolved by `schema`; an explicit core tag (`!!str`, `!!int`…) wins.
    pub fn resolve(&self, schema: Schema) -> Resolved<'_> {
        let v = self.value.as_str();
        if let Some(tag) = &self.tag {
            return match tag.strip_prefix("tag:yaml.org,2002:") {
                Some("str") | Some("binary") | Some("timestamp") => Resolved::Str(v),
                Some("null") => Resolved::Null,
                Some("bool") => resolve_bool(v, schema).map_or(Resolved::Str(v), Resolved::Bool),
                Some("int") => resolve_int(v, schema).map_or(Resolved::Str(v), Resolved::Int),
                Some("float") => resolve_int(v, schema)
                    .map(|i| i as f64)
                    .or_else(|| resolve_float(v))
                    .map_or(Resolved::Str(v), Resolved::Float),
                _ => Resolved::Str(v),
            };
        }
        if self.style != ScalarStyle::Plain {
            return Resolved::Str(v);
        }
        resolve_plain(v, schema)
    }

    /// True when a plain scalar with this text would not read back as the same string.
    pub fn plain_would_change_type(text: &str, schema: Schema) -> bool {
        !matches!(resolve_plain(text, schema), Resolved::Str(_))
    }
}

/// Type a plain scalar's text under `schema`.
pub fn resolve_plain(v: &str, schema: Schema) -> Resolved<'_> {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        _ => {}
    }
    if let Some(b) = resolve_bool(v, schema) {
        return Resolved::Bool(b);
    }
    if let Some(i) = resolve_int(v, schema) {
        return Resolved::Int(i);
    }
    if let Some(f) = resolve_float(v) {
        return Resolved::Float(f);
    }
    Resolved::Str(v)
}

fn resolve_bool(v: &str, schema: Schema) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ if schema == Schema::Yaml11 => match v {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn resolve_int(v: &str, schema: Schema) -> Option<i64> {
    let (neg, body) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    if body.is_empty() {
        return None;
    }
    let cleaned;
    let body = if schema == Schema::Yaml11 && body.contains('_') {
        cleaned = body.replace('_', "");
        cleaned.as_str()
    } else {
        body
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = body.strip_prefix("0b") {
        (2, b)
    } else if schema == Schema::Yaml11 && body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

fn resolve_float(v: &str) -> Option<f64> {
    match v {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
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
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    v.parse().ok()
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence, in order.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// 1-based line of the node's first character.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Explicit tag on a collection, when written.
    pub tag: Option<String>,
}

impl Node {
    /// The scalar, when the node is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text, when the node is a scalar that reads as a string
    /// under the core schema (so `1` and `true` are not strings, `"1"` is).
    pub fn as_str(&self) -> Option<&str> {
        match self.as_scalar()?.resolve(Schema::Core) {
            Resolved::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping entries, when the node is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence items, when the node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Look a key up in a mapping (keys compared as scalar text).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar().is_some_and(|s| s.value == key))
            .map(|(_, v)| v)
    }

    /// Follow a path of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    /// True for a plain `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        self.as_scalar()
            .is_some_and(|s| s.resolve(Schema::Core) == Resolved::Null)
    }

    /// Convert to JSON, typing scalars by `schema` (mapping keys become strings).
    pub fn to_json(&self, schema: Schema) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar(s) => match s.resolve(schema) {
                Resolved::Null => Value::Null,
                Resolved::Bool(b) => Value::Bool(b),
                Resolved::Int(i) => Value::from(i),
                Resolved::Float(f) => serde_json::Number::from_f64(f)
                    .map_or_else(|| Value::String(s.value.clone()), Value::Number),
                Resolved::Str(t) => Value::String(t.to_owned()),
            },
            NodeKind::Seq(items) => Value::Array(items.iter().map(|n| n.to_json(schema)).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_json(schema)))
                    .collect(),
            ),
        }
    }
}

fn key_text(k: &Node) -> String {
    match &k.kind {
        NodeKind::Scalar(s) => s.value.clone(),
        _ => k.to_json(Schema::Core).to_string(),
    }
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root node (a null scalar for an empty document).
    pub root: Node,
    /// True when the document began with an explicit `---`.
    pub explicit_start: bool,
}

impl Document {
    /// True when the document holds nothing (only comments or `---`) or only `null`.
    pub fn is_empty(&self) -> bool {
        self.root.is_null()
    }
}

impl fmt::Display for ScalarStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScalarStyle::Plain => "plain",
            ScalarStyle::SingleQuoted => "single-quoted",
            ScalarStyle::DoubleQuoted => "double-quoted",
            ScalarStyle::Literal => "literal",
            ScalarStyle::Folded => "folded",
        })
    }
}

/// Read every document of `src` with the default [`Limits`].
/// `origin` (usually the file path) is used in error messages.
pub fn parse_documents(src: &str, origin: &str) -> Result<Vec<Document>, Error> {
    parse_documents_with(src, origin, Limits::default())
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>, KeyIndex),
}

/// Keys seen in one mapping (line of the key, index of the entry): a
/// short list scanned linearly, switching to a hash map for big mappings.
#[derive(Default)]
struct KeyIndex {
    small: Vec<(String, (usize, usize))>,
    big: Option<HashMap<String, (usize, usize)>>,
}

impl KeyIndex {
    const SMALL: usize = 16;

    fn get(&self, k: &str) -> Option<(usize, usize)> {
        match &self.big {
            Some(m) => m.get(k).copied(),
            None => self.small.iter().find(|(x, _)| x == k).map(|(_, v)| *v),
        }
    }

    fn insert(&mut self, k: String, v: (usize, usize)) {
        if let Some(m) = &mut self.big {
            m.insert(k, v);
            return;
        }
        self.small.push((k, v));
        if self.small.len() > Self::SMALL {
            self.big = Some(std::mem::take(&mut self.small).into_iter().collect());
        }
    }
}

/// Read every document of `src` within `limits`.
pub fn parse_documents_with(
    src: &str,
    origin: &str,
    limits: Limits,
) -> Result<Vec<Document>, Error> {
    parse_documents_opts(
        src,
        origin,
        ReadOptions {
            limits,
            ..ReadOptions::default()
        },
    )
}

/// Read every document of `src` with `options` (limits, duplicate keys).
///
/// ```
/// use gitops_core::yaml::{parse_documents_opts, DuplicateKeys, ReadOptions};
///
/// let opts = ReadOptions { duplicate_keys: DuplicateKeys::LastWins, ..ReadOptions::default() };
/// let docs = parse_documents_opts("a: x\nb: y\na: z\n", "k.yaml", opts)?;
/// assert_eq!(docs[0].root.get("a").unwrap().as_str(), Some("z"));
/// assert_eq!(docs[0].root.as_map().unwrap().len(), 2);
/// # Ok::<(), gitops_core::yaml::Error>(())
/// ```
pub fn parse_documents_opts(
    src: &str,
    origin: &str,
    options: ReadOptions,
) -> Result<Vec<Document>, Error> {
    let limits = options.limits;
    let duplicate_keys = options.duplicate_keys;
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut explicit_start = false;
    let mut root: Option<Node> = None;
    let origin_s = || origin.to_owned();

    let options = granit_parser::options! {
        flow_nesting_limit: limits.max_depth,
        block_nesting_limit: limits.max_depth,
    };
    for item in Parser::new_from_str_with_options(src, options) {
        let (event, span) = item.map_err(|e| match e.kind() {
            granit_parser::ErrorKind::RecursionLimitExceeded => Error::TooDeep {
                origin: origin_s(),
                line: e.marker().line(),
                limit: limits.max_depth,
            },
            kind => Error::Syntax {
                origin: origin_s(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: kind.to_string(),
            },
        })?;
        let line = span.start.line();
        let column = span.start.col() + 1;
        let mut complete: Option<(Node, usize, usize)> = None; // node, its size, anchor id
        let tag_is_seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::DocumentStart(explicit, _) => {
                explicit_start = explicit;
                root = None;
                anchors.clear();
            }
            Event::DocumentEnd => {
                let root = root.take().unwrap_or(Node {
                    kind: NodeKind::Scalar(Scalar {
                        value: String::new(),
                        style: ScalarStyle::Plain,
                        tag: None,
                    }),
                    line,
                    column,
                    tag: None,
                });
                docs.push(Document {
                    root,
                    explicit_start,
                });
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    GStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    GStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    GStyle::Literal => ScalarStyle::Literal,
                    GStyle::Folded => ScalarStyle::Folded,
                    _ => ScalarStyle::Plain,
                };
                let node = Node {
                    kind: NodeKind::Scalar(Scalar {
                        value: value.into_owned(),
                        style,
                        tag: tag.map(|t| t.to_string()),
                    }),
                    line,
                    column,
                    tag: None,
                };
                complete = Some((node, 1, anchor));
            }
            Event::SequenceStart(_, anchor, tag) | Event::MappingStart(_, anchor, tag) => {
                let is_seq = tag_is_seq;
                if stack.len() >= limits.max_depth {
                    return Err(Error::TooDeep {
                        origin: origin_s(),
                        line,
                        limit: limits.max_depth,
                    });
                }
                let node = Node {
                    kind: if is_seq {
                        NodeKind::Seq(Vec::new())
                    } else {
                        NodeKind::Map(Vec::new())
                    },
                    line,
                    column,
                    tag: tag.map(|t| t.to_string()),
                };
                stack.push(if is_seq {
                    Frame::Seq(node, anchor)
                } else {
                    Frame::Map(node, anchor, None, KeyIndex::default())
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq(n, a)) | Some(Frame::Map(n, a, _, _)) => (n, a),
                    None => continue,
                };
                complete = Some((node, 0, anchor));
            }
            Event::Alias(id) => {
                let (node, size) = anchors.get(&id).cloned().ok_or_else(|| Error::Syntax {
                    origin: origin_s(),
                    line,
                    column,
                    message: format!("unknown anchor id {id}"),
                })?;
                complete = Some((node, size, 0));
            }
            _ => {}
        }
        let Some((node, size, anchor)) = complete else {
            continue;
        };
        nodes = nodes.saturating_add(size.max(1));
        if nodes > limits.max_nodes {
            return Err(Error::TooManyNodes {
                origin: origin_s(),
                line,
                limit: limits.max_nodes,
            });
        }
        if anchor != 0 {
            let sz = count_nodes(&node);
            anchors.insert(anchor, (node.clone(), sz));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(parent, _)) => {
                if let NodeKind::Seq(items) = &mut parent.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(parent, _, pending, seen)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let k = key_text(&key);
                    if let NodeKind::Map(entries) = &mut parent.kind {
                        let first = if k == "<<" { None } else { seen.get(&k) };
                        match (first, duplicate_keys) {
                            (Some((first_line, _)), DuplicateKeys::Error) => {
                                return Err(Error::DuplicateKey {
                                    origin: origin_s(),
                                    line: key.line,
                                    key: k,
                                    first_line,
                                });
                            }
                            (Some((_, idx)), DuplicateKeys::LastWins) => {
                                if let Some(slot) = entries.get_mut(idx) {
                                    slot.1 = node;
                                }
                            }
                            (None, _) => {
                                if k != "<<" {
                                    seen.insert(k, (key.line, entries.len()));
                                }
                                entries.push((key, node));
                            }
                        }
                    }
                }
            },
        }
    }
    Ok(docs)
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        NodeKind::Scalar(_) => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_lines() {
        let docs = parse_documents("z: 1\na: 2\nm:\n  - x\n", "t.yaml").unwrap();
        let keys: Vec<_> = docs[0]
            .root
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(docs[0].root.get("m").unwrap().as_seq().unwrap()[0].line, 4);
    }

    #[test]
    fn multi_document_and_empty() {
        let docs = parse_documents("---\na: 1\n---\n# only a comment\n---\nb: 2\n", "t").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[1].is_empty());
        assert!(docs[0].explicit_start);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n", "apps/x.yaml").unwrap_err();
        match &err {
            Error::Syntax { origin, line, .. } => {
                assert_eq!(origin, "apps/x.yaml");
                assert!(*line >= 2, "{err}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_key_in_big_mapping() {
        let mut src = String::new();
        for i in 0..40 {
            src.push_str(&format!("k{i}: v\n"));
        }
        src.push_str("k33: again\n");
        let err = parse_documents(&src, "big.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.yaml:41: mapping key \"k33\" already defined at line 34"
        );
    }

    #[test]
    fn duplicate_key_last_wins() {
        let opts = ReadOptions {
            duplicate_keys: DuplicateKeys::LastWins,
            ..ReadOptions::default()
        };
        let docs = parse_documents_opts("a: x\nb: [x]\na: y\nb: {c: d}\n", "d.yaml", opts).unwrap();
        let m = docs[0].root.as_map().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0.as_str(), Some("a"));
        assert_eq!(m[0].1.as_str(), Some("y"));
        assert_eq!(
            docs[0].root.get_path(&["b", "c"]).unwrap().as_str(),
            Some("d")
        );
        // the default still refuses
        assert!(parse_documents("a: 1\na: 2\n", "d.yaml").is_err());
    }

    #[test]
    fn duplicate_key() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n", "d.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "d.yaml:3: mapping key \"a\" already defined at line 1"
        );
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_documents(&src, "bomb.yaml").unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooManyNodes {
                    limit: 1_000_000,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().starts_with("bomb.yaml:"), "{err}");
    }

    #[test]
    fn aliases_expand() {
        let docs = parse_documents("a: &x {k: v}\nb: *x\n", "t").unwrap();
        assert_eq!(
            docs[0].root.get_path(&["b", "k"]).unwrap().as_str(),
            Some("v")
        );
    }

    #[test]
    fn depth_is_bounded() {
        let src = "[".repeat(300) + &"]".repeat(300);
        let err = parse_documents(&src, "deep.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "deep.yaml:1: nesting deeper than 256 levels"
        );
    }

    #[test]
    fn scalar_typing() {
        let docs = parse_documents(
            "a: yes\nb: 010\nc: '1'\nd: 1.5\ne: ~\nf: !!str 3\ng: 0x1F\nh: 1e3\ni: .5\n",
            "t",
        )
        .unwrap();
        let r = |k: &str, s| docs[0].root.get(k).unwrap().as_scalar().unwrap().resolve(s);
        assert_eq!(r("a", Schema::Core), Resolved::Str("yes"));
        assert_eq!(r("a", Schema::Yaml11), Resolved::Bool(true));
        assert_eq!(r("b", Schema::Core), Resolved::Int(10));
        assert_eq!(r("b", Schema::Yaml11), Resolved::Int(8));
        assert_eq!(r("c", Schema::Core), Resolved::Str("1"));
        assert_eq!(r("d", Schema::Core), Resolved::Float(1.5));
        assert_eq!(r("e", Schema::Core), Resolved::Null);
        assert_eq!(r("f", Schema::Core), Resolved::Str("3"));
        assert_eq!(r("g", Schema::Core), Resolved::Int(31));
        assert_eq!(r("h", Schema::Core), Resolved::Float(1000.0));
        assert_eq!(r("i", Schema::Core), Resolved::Float(0.5));
        assert!(Scalar::plain_would_change_type("1.10", Schema::Core));
        assert!(!Scalar::plain_would_change_type("v1.10", Schema::Core));
    }
}
