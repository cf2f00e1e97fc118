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
//! A [`Budget`] bounds a whole run (a kustomize build, a values composition,
//! a setters scan) across every stream it reads: nodes (documents, alias
//! expansions and the copies kept of anchored nodes included, each counted
//! before it is built), alias-expanded nodes as a share of all nodes, and
//! input bytes. Pass one to [`parse_documents_in`] for every file of the
//! run; the other entry points use a fresh [`Budget::default`] per call.
//!
//! ```
//! use gitops_core::yaml::{parse_documents_in, Budget, BudgetLimits, ReadOptions};
//!
//! let budget = Budget::new(BudgetLimits { max_nodes: 10, ..BudgetLimits::default() });
//! let opts = ReadOptions::default();
//! parse_documents_in("a: [1, 2]\n", "one.yaml", opts, &budget)?; // 5 nodes and 1 document
//! let err = parse_documents_in("b: [3, 4]\n", "two.yaml", opts, &budget).unwrap_err();
//! assert!(err.to_string().starts_with("two.yaml:1: more than 10 YAML nodes"), "{err}");
//! # Ok::<(), gitops_core::yaml::Error>(())
//! ```
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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
#[non_exhaustive]
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

/// The limits of a [`Budget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// Maximum number of nodes in the run: every node of every stream, each
    /// document, every node an alias expansion produces and every node of
    /// the copy kept of an anchored node.
    pub max_nodes: usize,
    /// Maximum number of input bytes in the run.
    pub max_bytes: usize,
}

impl BudgetLimits {
    /// The default node limit: a 10,000-resource kustomize overlay (about
    /// 650,000 nodes) builds within it, and the largest hostile input it
    /// admits stays below 200 MB of memory in `gitops build`.
    pub const DEFAULT_MAX_NODES: usize = 1_000_000;
    /// The default byte limit (64 MiB, the size of the largest file the
    /// file trees read).
    pub const DEFAULT_MAX_BYTES: usize = 64 << 20;
}

impl Default for BudgetLimits {
    fn default() -> Self {
        BudgetLimits {
            max_nodes: Self::DEFAULT_MAX_NODES,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// Which limit of a [`Budget`] ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Exhausted {
    /// More nodes than [`BudgetLimits::max_nodes`].
    #[error(
        "more than {limit} YAML nodes in this run (documents, alias expansions and anchor copies count; the node budget is exhausted)"
    )]
    Nodes {
        /// The limit.
        limit: usize,
    },
    /// More input than [`BudgetLimits::max_bytes`].
    #[error("more than {limit} bytes of YAML in this run (the byte budget is exhausted)")]
    Bytes {
        /// The limit.
        limit: usize,
    },
    /// Alias expansions produced too large a share of the nodes (see
    /// [`Budget`] for the rule).
    #[error(
        "excessive aliasing: {aliased} of {nodes} YAML nodes in this run come from alias expansion (allowed: {allowed_percent}%)"
    )]
    Aliasing {
        /// Nodes produced by alias expansion, this one included.
        aliased: usize,
        /// All nodes, this expansion included.
        nodes: usize,
        /// The share allowed at this size, in percent.
        allowed_percent: usize,
    },
}

/// The YAML resources of one run, shared by every stream the run reads.
///
/// Cloning is cheap and clones share the counters (an `Arc` of atomics), so
/// threads and async tasks of a run can read against one budget. A budget
/// counts:
///
/// - **nodes**: every node a stream produces, one per document, every node
///   of an alias expansion (counted from the anchor's size before the copy
///   is made) and every node of the copy kept of an anchored node, against
///   [`BudgetLimits::max_nodes`];
/// - **aliasing**: once more than 100 nodes came from alias expansion and
///   the run holds more than 1,000 nodes, at most 99% of the nodes may come
///   from alias expansion up to 400,000 nodes, falling linearly to 10% at
///   4,000,000 nodes (the rule of Go's yaml.v3, applied to the run rather
///   than to one document), so a billion-laughs document fails after a few
///   thousand nodes whatever the node limit;
/// - **bytes**: the length of every stream, against
///   [`BudgetLimits::max_bytes`], before it is parsed.
///
/// ```
/// use gitops_core::yaml::{parse_documents_in, Budget, Error, Exhausted, ReadOptions};
///
/// let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
/// for i in 1..10 {
///     let refs = vec![format!("*a{}", i - 1); 10].join(", ");
///     bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
/// }
/// let budget = Budget::default();
/// let err = parse_documents_in(&bomb, "bomb.yaml", ReadOptions::default(), &budget).unwrap_err();
/// assert!(matches!(err, Error::Budget { exhausted: Exhausted::Aliasing { .. }, .. }), "{err}");
/// assert!(budget.nodes() < 20_000);
/// assert!(budget.exhausted().is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Budget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug, Default)]
struct BudgetInner {
    limits: BudgetLimits,
    nodes: AtomicUsize,
    aliased: AtomicUsize,
    /// Nodes of the copies kept of anchored nodes (not in the aliasing share).
    copies: AtomicUsize,
    bytes: AtomicUsize,
    /// The first limit that ran out.
    exhausted: std::sync::OnceLock<Exhausted>,
}

/// Nodes a [`Meter`] counts locally before it adds them to its budget.
const METER_BATCH: usize = 1024;

impl Budget {
    /// A budget with `limits`.
    pub fn new(limits: BudgetLimits) -> Budget {
        Budget {
            inner: Arc::new(BudgetInner {
                limits,
                ..BudgetInner::default()
            }),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> BudgetLimits {
        self.inner.limits
    }

    /// Nodes counted so far.
    pub fn nodes(&self) -> usize {
        self.inner.nodes.load(Ordering::Relaxed)
    }

    /// Input bytes counted so far.
    pub fn bytes(&self) -> usize {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    /// The first limit that ran out, if one did.
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.inner.exhausted.get().copied()
    }

    /// Nodes left before [`BudgetLimits::max_nodes`] (a hint for
    /// reserving memory: other threads may take them first).
    pub fn remaining_nodes(&self) -> usize {
        self.inner.limits.max_nodes.saturating_sub(self.nodes())
    }

    /// A budget without limits (aliasing aside), for callers that bound
    /// their input by other means.
    pub fn unlimited() -> Budget {
        Budget::new(BudgetLimits {
            max_nodes: usize::MAX,
            max_bytes: usize::MAX,
        })
    }

    /// A meter for one stream (or one attempt at one).
    pub fn meter(&self) -> Meter {
        Meter {
            budget: self.clone(),
            pending: 0,
            charged: 0,
            bytes: 0,
            aliased: 0,
            copies: 0,
        }
    }

    fn fail(&self, e: Exhausted) -> Exhausted {
        let _ = self.inner.exhausted.set(e);
        e
    }
}

/// Counts one stream against a [`Budget`].
///
/// Nodes are added to the budget in batches (so threads sharing a budget do
/// not contend on every node); a check never lets the budget's total, this
/// meter's pending nodes included, pass the limit. [`Meter::refund`] takes
/// back what the meter counted, for a parse that is abandoned and retried.
#[derive(Debug)]
pub struct Meter {
    budget: Budget,
    /// Counted here, not yet added to the budget.
    pending: usize,
    /// Added to the budget by this meter.
    charged: usize,
    /// Bytes added to the budget by this meter.
    bytes: usize,
    /// Alias-expanded nodes added to the budget by this meter.
    aliased: usize,
    /// Anchor copies added to the budget by this meter.
    copies: usize,
}

impl Meter {
    /// Count `n` input bytes.
    pub fn bytes(&mut self, n: usize) -> Result<(), Exhausted> {
        let inner = &self.budget.inner;
        let total = inner
            .bytes
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        self.bytes = self.bytes.saturating_add(n);
        if total > inner.limits.max_bytes {
            return Err(self.budget.fail(Exhausted::Bytes {
                limit: inner.limits.max_bytes,
            }));
        }
        Ok(())
    }

    /// Count `n` nodes that are about to be built.
    #[inline]
    pub fn nodes(&mut self, n: usize) -> Result<(), Exhausted> {
        self.pending = self.pending.saturating_add(n);
        if self.pending >= METER_BATCH {
            self.flush().map(|_| ())
        } else {
            Ok(())
        }
    }

    /// Count the `n` nodes of a copy of an anchored node, about to be made
    /// (they count as nodes, not in the share of alias expansions).
    pub fn copies(&mut self, n: usize) -> Result<(), Exhausted> {
        self.budget.inner.copies.fetch_add(n, Ordering::Relaxed);
        self.copies = self.copies.saturating_add(n);
        self.nodes(n)
    }

    /// Count `n` nodes that an alias expansion is about to build.
    pub fn aliased(&mut self, n: usize) -> Result<(), Exhausted> {
        self.pending = self.pending.saturating_add(n);
        let total = self.flush()?;
        let inner = &self.budget.inner;
        let nodes = total.saturating_sub(inner.copies.load(Ordering::Relaxed));
        let aliased = inner
            .aliased
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        self.aliased = self.aliased.saturating_add(n);
        let allowed = allowed_alias_ratio(nodes);
        if aliased > 100 && nodes > 1000 && aliased as f64 > allowed * nodes as f64 {
            return Err(self.budget.fail(Exhausted::Aliasing {
                aliased,
                nodes,
                allowed_percent: (allowed * 100.0).round() as usize,
            }));
        }
        Ok(())
    }

    /// Add the pending nodes to the budget; returns its new total.
    fn flush(&mut self) -> Result<usize, Exhausted> {
        let n = std::mem::take(&mut self.pending);
        let inner = &self.budget.inner;
        let total = inner
            .nodes
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        self.charged = self.charged.saturating_add(n);
        if total > inner.limits.max_nodes {
            return Err(self.budget.fail(Exhausted::Nodes {
                limit: inner.limits.max_nodes,
            }));
        }
        Ok(total)
    }

    /// Add the pending nodes to the budget (the stream is complete).
    pub fn finish(mut self) -> Result<(), Exhausted> {
        self.flush().map(|_| ())
    }

    /// Take back every node and byte this meter counted.
    pub fn refund(self) {
        let inner = &self.budget.inner;
        inner.nodes.fetch_sub(self.charged, Ordering::Relaxed);
        inner.bytes.fetch_sub(self.bytes, Ordering::Relaxed);
        inner.aliased.fetch_sub(self.aliased, Ordering::Relaxed);
        inner.copies.fetch_sub(self.copies, Ordering::Relaxed);
    }
}

/// The share of nodes alias expansion may produce in a run of `nodes` nodes.
fn allowed_alias_ratio(nodes: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    match nodes {
        ..=LOW => 0.99,
        HIGH.. => 0.10,
        n => 0.99 - 0.89 * ((n - LOW) as f64 / (HIGH - LOW) as f64),
    }
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
    /// The run's [`Budget`] is exhausted (the file is the one being read
    /// when it ran out). Raise the budget's [`BudgetLimits`] for trusted input.
    #[error("{origin}:{line}: {exhausted}")]
    Budget {
        /// Origin.
        origin: String,
        /// Line where the budget ran out (1 when the file's size exceeds it).
        line: usize,
        /// Which limit.
        exhausted: Exhausted,
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
#[non_exhaustive]
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
    ///
    /// The JSON object keeps the document's key order when serde_json's
    /// `preserve_order` feature is on anywhere in the build (gitops-render
    /// and gitops-source turn it on); otherwise its keys are sorted. Only
    /// iteration and printing order differ, never the values.
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

/// An open collection: its node, anchor id and the stream's node count
/// when it started.
enum Frame {
    Seq(Node, usize, usize),
    Map(Node, usize, usize, Option<Node>, KeyIndex),
}

/// Keys seen in one mapping (line of the key, index of the entry): a
/// short list scanned linearly, switching for big mappings to a hash of
/// each key (randomly seeded, so collisions cannot be planned) pointing at
/// its entry, whose key is compared to confirm a match. Big mappings keep
/// no second copy of their keys.
#[derive(Default)]
struct KeyIndex {
    small: Vec<(String, (usize, usize))>,
    big: Option<BigKeys>,
}

struct BigKeys {
    seed: std::hash::RandomState,
    first: HashMap<u64, usize>,
    /// Two different keys hashed alike: lookups then also scan.
    collided: bool,
}

impl KeyIndex {
    const SMALL: usize = 16;

    fn get(&self, k: &str, entries: &[(Node, Node)]) -> Option<(usize, usize)> {
        let Some(big) = &self.big else {
            return self.small.iter().find(|(x, _)| x == k).map(|(_, v)| *v);
        };
        let found = |i: usize| {
            entries
                .get(i)
                .filter(|(key, _)| key_text(key) == k)
                .map(|(key, _)| (key.line, i))
        };
        let h = std::hash::BuildHasher::hash_one(&big.seed, k);
        if let Some(hit) = big.first.get(&h).and_then(|&i| found(i)) {
            return Some(hit);
        }
        if big.collided {
            return (0..entries.len()).find_map(found);
        }
        None
    }

    /// Record key `k` (not yet in the index) at entry `idx`.
    fn insert(&mut self, k: String, line: usize, idx: usize) {
        if let Some(big) = &mut self.big {
            let h = std::hash::BuildHasher::hash_one(&big.seed, &k);
            if big.first.insert(h, idx).is_some() {
                big.collided = true;
            }
            return;
        }
        self.small.push((k, (line, idx)));
        if self.small.len() > Self::SMALL {
            let seed = std::hash::RandomState::new();
            let mut big = BigKeys {
                first: HashMap::with_capacity(self.small.len() * 2),
                seed,
                collided: false,
            };
            for (k, (_, i)) in std::mem::take(&mut self.small) {
                let h = std::hash::BuildHasher::hash_one(&big.seed, &k);
                if big.first.insert(h, i).is_some() {
                    big.collided = true;
                }
            }
            self.big = Some(big);
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

/// Read every document of `src` with `options` (limits, duplicate keys)
/// and a fresh [`Budget::default`].
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
    parse_documents_in(src, origin, options, &Budget::default())
}

/// Read every document of `src` with `options`, counting it against the
/// run's `budget` (see [`Budget`]); every file of a run shares one budget.
pub fn parse_documents_in(
    src: &str,
    origin: &str,
    options: ReadOptions,
    budget: &Budget,
) -> Result<Vec<Document>, Error> {
    let mut meter = budget.meter();
    let over = |line: usize, exhausted: Exhausted| Error::Budget {
        origin: origin.to_owned(),
        line,
        exhausted,
    };
    meter.bytes(src.len()).map_err(|e| over(1, e))?;
    let docs = read_stream(src, origin, options, &mut meter)?;
    meter.finish().map_err(|e| over(src.lines().count(), e))?;
    Ok(docs)
}

fn read_stream(
    src: &str,
    origin: &str,
    options: ReadOptions,
    meter: &mut Meter,
) -> Result<Vec<Document>, Error> {
    let limits = options.limits;
    let duplicate_keys = options.duplicate_keys;
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Anchor id -> a copy of the anchored node and its size in nodes.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut explicit_start = false;
    let mut root: Option<Node> = None;
    let origin_s = || origin.to_owned();
    let over = |line: usize, exhausted: Exhausted| Error::Budget {
        origin: origin.to_owned(),
        line,
        exhausted,
    };
    let too_many = |line: usize| Error::TooManyNodes {
        origin: origin.to_owned(),
        line,
        limit: limits.max_nodes,
    };

    // A block scalar (`|`, `>`) that runs to the end of the text without a
    // final line break keeps its text as it is, as libyaml (Go's yaml.v2
    // and yaml.v3) reads it: kubectl prints such a value with `|-`.
    let options = granit_parser::options! {
        flow_nesting_limit: limits.max_depth,
        block_nesting_limit: limits.max_depth,
        block_scalar_eof_without_line_feed: true,
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
        // node, its size in nodes, anchor id
        let mut complete: Option<(Node, usize, usize)> = None;
        let tag_is_seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::DocumentStart(explicit, _) => {
                // A document counts as a node, whatever it holds.
                meter.nodes(1).map_err(|e| over(line, e))?;
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
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(too_many(line));
                }
                meter.nodes(1).map_err(|e| over(line, e))?;
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
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(too_many(line));
                }
                meter.nodes(1).map_err(|e| over(line, e))?;
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
                    Frame::Seq(node, anchor, nodes)
                } else {
                    Frame::Map(node, anchor, nodes, None, KeyIndex::default())
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (mut node, anchor, first) = match stack.pop() {
                    Some(Frame::Seq(n, a, f)) | Some(Frame::Map(n, a, f, _, _)) => (n, a, f),
                    None => continue,
                };
                // Most collections are small: give back what the growth
                // strategy reserved beyond their length.
                match &mut node.kind {
                    NodeKind::Seq(items) => items.shrink_to_fit(),
                    NodeKind::Map(entries) => entries.shrink_to_fit(),
                    NodeKind::Scalar(_) => {}
                }
                // The collection's own node and everything read since.
                complete = Some((node, nodes - first + 1, anchor));
            }
            Event::Alias(id) => {
                let Some((anchored, size)) = anchors.get(&id) else {
                    return Err(Error::Syntax {
                        origin: origin_s(),
                        line,
                        column,
                        message: format!("unknown anchor id {id}"),
                    });
                };
                let size = *size;
                // Counted before the copy is made.
                nodes = nodes.saturating_add(size);
                if nodes > limits.max_nodes {
                    return Err(too_many(line));
                }
                meter.aliased(size).map_err(|e| over(line, e))?;
                let node = anchored.clone();
                complete = Some((node, size, 0));
            }
            _ => {}
        }
        let Some((node, size, anchor)) = complete else {
            continue;
        };
        if anchor != 0 {
            // The copy kept for later aliases is as big as the node, and
            // its entry in the anchor table costs about one node more.
            meter.copies(size + 1).map_err(|e| over(line, e))?;
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(parent, ..)) => {
                if let NodeKind::Seq(items) = &mut parent.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(parent, _, _, pending, seen)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let k = key_text(&key);
                    if let NodeKind::Map(entries) = &mut parent.kind {
                        let first = if k == "<<" {
                            None
                        } else {
                            seen.get(&k, entries)
                        };
                        match (first, duplicate_keys) {
                            (Some((first_line, _)), DuplicateKeys::Error) => {
                                return Err(Error::DuplicateKey {
                                    origin: origin_s(),
                                    line: key.line,
                                    key: crate::quote::truncated(&k).into_owned(),
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
                                    seen.insert(k, key.line, entries.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_in_big_mappings() {
        let mut src: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        src.push_str("k57: again\n");
        let err = parse_documents(&src, "big.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.yaml:101: mapping key \"k57\" already defined at line 58"
        );
        let opts = ReadOptions {
            duplicate_keys: DuplicateKeys::LastWins,
            ..ReadOptions::default()
        };
        let docs = parse_documents_opts(&src, "big.yaml", opts).unwrap();
        let map = docs[0].root.as_map().unwrap();
        assert_eq!(map.len(), 100);
        assert_eq!(map[57].1.as_str(), Some("again"));
        // Keys that differ only after the first characters are distinct.
        let distinct: String = (0..50)
            .map(|i| format!("\"{}{i}\": x\n", "p".repeat(300)))
            .collect();
        assert_eq!(
            parse_documents(&distinct, "d.yaml").unwrap()[0]
                .root
                .as_map()
                .unwrap()
                .len(),
            50
        );
        // A long duplicate key is quoted truncated.
        let long = "q".repeat(5000);
        let err = parse_documents(&format!("{long}: 1\n{long}: 2\n"), "l.yaml");
        if let Err(e) = err {
            assert!(e.to_string().len() < 400, "{}", e.to_string().len());
        }
    }

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

    fn bomb(levels: usize) -> String {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..levels {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        src
    }

    fn huge() -> Budget {
        Budget::new(BudgetLimits {
            max_nodes: usize::MAX,
            max_bytes: usize::MAX,
        })
    }

    #[test]
    fn stream_limit_still_applies() {
        // The stream's own limit, when the run's budget would allow more.
        let src = format!("[{}]\n", vec!["x"; 2_000].join(", "));
        let limits = Limits {
            max_nodes: 1_000,
            ..Limits::default()
        };
        let err = parse_documents_with(&src, "big.yaml", limits).unwrap_err();
        assert_eq!(
            err,
            Error::TooManyNodes {
                origin: "big.yaml".into(),
                line: 1,
                limit: 1_000
            }
        );
        let opts = ReadOptions {
            limits,
            ..ReadOptions::default()
        };
        let err = parse_documents_in(&src, "big.yaml", opts, &huge()).unwrap_err();
        assert!(matches!(err, Error::TooManyNodes { .. }), "{err}");
    }

    #[test]
    fn alias_bomb_is_refused_before_it_is_built() {
        // 10^11 nodes if expanded; without limits of its own the stream is
        // stopped by the aliasing rule after a few thousand.
        let opts = ReadOptions {
            limits: Limits {
                max_nodes: usize::MAX,
                ..Limits::default()
            },
            ..ReadOptions::default()
        };
        let budget = Budget::new(BudgetLimits {
            max_nodes: usize::MAX,
            ..BudgetLimits::default()
        });
        let err = parse_documents_in(&bomb(12), "bomb.yaml", opts, &budget).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Budget {
                    line: 4,
                    exhausted: Exhausted::Aliasing { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(budget.nodes() < 5_000, "{}", budget.nodes());
        assert!(
            err.to_string()
                .starts_with("bomb.yaml:4: excessive aliasing: "),
            "{err}"
        );
        // The default budget stops it the same way.
        let err = parse_documents(&bomb(12), "bomb.yaml").unwrap_err();
        assert!(matches!(err, Error::Budget { .. }), "{err}");
    }

    #[test]
    fn alias_is_counted_before_the_copy() {
        // An anchor of 1,500 nodes fits a budget of 2,000; its alias does
        // not, and is refused at the alias (line 2), not after copying.
        let items = vec!["x"; 1_499].join(", ");
        let src = format!("a: &a [{items}]\nb: *a\n");
        let budget = Budget::new(BudgetLimits {
            max_nodes: 3_100,
            ..BudgetLimits::default()
        });
        // 1 document + 1 map + 1 key + 1,500 nodes + their anchor copy
        // (1,500) + 1 key = 3,004; the alias would add 1,500.
        let err = parse_documents_in(&src, "a.yaml", ReadOptions::default(), &budget).unwrap_err();
        assert_eq!(
            err,
            Error::Budget {
                origin: "a.yaml".into(),
                line: 2,
                exhausted: Exhausted::Nodes { limit: 3_100 },
            }
        );
        assert_eq!(budget.exhausted(), Some(Exhausted::Nodes { limit: 3_100 }));
        assert_eq!(
            err.to_string(),
            "a.yaml:2: more than 3100 YAML nodes in this run (documents, alias expansions and anchor copies count; the node budget is exhausted)"
        );
    }

    #[test]
    fn documents_count() {
        // Empty documents hold nothing but still cost a node each.
        let src = "---\n".repeat(20_000);
        let budget = Budget::new(BudgetLimits {
            max_nodes: 10_000,
            ..BudgetLimits::default()
        });
        let err = parse_documents_in(&src, "d.yaml", ReadOptions::default(), &budget).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Budget {
                    exhausted: Exhausted::Nodes { limit: 10_000 },
                    ..
                }
            ),
            "{err}"
        );
        // 2 per document: the document and its (empty) root.
        let budget = Budget::default();
        let docs = parse_documents_in(
            "---\n---\na: b\n",
            "d.yaml",
            ReadOptions::default(),
            &budget,
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(budget.nodes(), 1 + 1 + 1 + 3);
    }

    #[test]
    fn one_budget_across_streams_and_threads() {
        let budget = Budget::new(BudgetLimits {
            max_nodes: 100,
            max_bytes: 1_000,
        });
        let file = "k: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]\n";
        // 1 document + 1 map + 1 key + 1 sequence + 18 items = 22 nodes.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let budget = budget.clone();
                std::thread::spawn(move || {
                    parse_documents_in(file, "t.yaml", ReadOptions::default(), &budget)
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert_eq!(budget.nodes(), 88);
        assert_eq!(budget.bytes(), 4 * file.len());
        let err =
            parse_documents_in(file, "fifth.yaml", ReadOptions::default(), &budget).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("fifth.yaml:1: more than 100 YAML nodes in this run"),
            "{err}"
        );
        // Bytes: the file is refused before it is parsed.
        let budget = Budget::new(BudgetLimits {
            max_nodes: 100,
            max_bytes: 100,
        });
        parse_documents_in(file, "a.yaml", ReadOptions::default(), &budget).unwrap();
        let err = parse_documents_in(file, "b.yaml", ReadOptions::default(), &budget).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.yaml:1: more than 100 bytes of YAML in this run (the byte budget is exhausted)"
        );
        assert_eq!(budget.nodes(), 22);
    }

    #[test]
    fn refund_takes_back_a_meter() {
        let budget = Budget::default();
        let mut m = budget.meter();
        m.bytes(10).unwrap();
        m.nodes(5_000).unwrap();
        m.aliased(200).unwrap();
        assert_eq!(budget.nodes(), 5_200);
        m.refund();
        assert_eq!((budget.nodes(), budget.bytes()), (0, 0));
    }

    #[test]
    fn alias_ratio_follows_yaml_v3() {
        assert_eq!(allowed_alias_ratio(1_000), 0.99);
        assert_eq!(allowed_alias_ratio(400_000), 0.99);
        assert!((allowed_alias_ratio(2_200_000) - 0.545).abs() < 1e-9);
        assert_eq!(allowed_alias_ratio(4_000_000), 0.10);
        // Merge keys and shared blocks stay well below the limit.
        let src = "base: &b {a: 1, b: 2, c: 3}\n".to_owned()
            + &(0..300)
                .map(|i| format!("k{i}: {{<<: *b, d: {i}}}\n"))
                .collect::<String>();
        parse_documents(&src, "merge.yaml").unwrap();
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
