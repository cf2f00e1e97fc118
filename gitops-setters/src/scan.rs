//! Find setter markers in a tree of YAML files.
//!
//! Candidate files are `*.yaml`, `*.yml` and files named exactly
//! `Kustomization` (as in Flux); only candidates whose bytes contain
//! `$imagepolicy` are parsed. Markers are located by the YAML grammar
//! (`granit-parser` events with byte spans), never by regular expressions, so
//! a marker-like text inside a block scalar or a quoted string is not a marker.
//!
//! A marker is attached to a scalar in one of two ways:
//!
//! - **line comment**: the comment follows the scalar on the scalar's last line
//!   (`image: app:v1 # {"$imagepolicy": "ns:app"}`), in block or flow style;
//! - **head comment**: the comment is on the line(s) directly above a mapping
//!   entry whose value is a scalar, or above a scalar sequence item (no blank
//!   line in between).
//!
//! Anything else that mentions `$imagepolicy` (malformed JSON, a marker after
//! a mapping key, on a block scalar, above a nested mapping…) is reported as a
//! [`Warning`] with file and line, never silently ignored.
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_setters::scan;
//!
//! let mut tree = MemTree::new();
//! tree.insert(
//!     "apps/podinfo.yaml",
//!     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/stefanprodan/podinfo:6.5.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n",
//! )?;
//! let found = scan::scan(&tree, &RelPath::root())?;
//! assert_eq!(found.markers.len(), 1);
//! let m = &found.markers[0];
//! assert_eq!((m.file.as_str(), m.line), ("apps/podinfo.yaml", 10));
//! assert_eq!(m.value, "ghcr.io/stefanprodan/podinfo:6.5.0");
//! assert_eq!(m.setter.to_string(), "flux-system:podinfo");
//! assert_eq!(m.object.to_string(), "Deployment/podinfo");
//! assert!(found.warnings.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::ops::Range;

use gitops_core::ObjectId;
use gitops_core::fs::{self, FileTree, RelPath};
use gitops_core::yaml::{self, Budget, BudgetLimits, Exhausted};
use serde::Serialize;

use crate::marker::{self, MARKER_KEY, Setter};
use crate::syntax::{Kind, NodeId, ParseError, Role, SyntaxError, Tree};
use crate::walk::{self, Outcome};

/// Why a scan could not run.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Listing the tree failed.
    #[error("cannot list files")]
    Walk(#[source] fs::Error),
    /// Reading a candidate file failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: RelPath,
        /// The cause.
        #[source]
        source: fs::Error,
    },
    /// The run's YAML budget ran out (the source names the file, the line
    /// and the limit); raise the budget's limits for trusted input.
    #[error("the YAML budget of the run is exhausted")]
    Budget(#[source] yaml::Error),
}

/// How a scalar was written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalarStyle {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
}

impl ScalarStyle {
    /// True for `|` and `>` block scalars.
    pub fn is_block(self) -> bool {
        matches!(self, ScalarStyle::Literal | ScalarStyle::Folded)
    }
}

/// Where the marker comment sits relative to its scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Placement {
    /// At the end of the scalar's line (Flux's line comment).
    Line,
    /// On the line(s) above the mapping entry or sequence item.
    Head,
}

/// The Kubernetes object a marker belongs to: `apiVersion`, `kind`,
/// `metadata.namespace` and `metadata.name` of its YAML document. Fields the
/// document lacks are empty (a `kustomization.yaml` has no name), as in
/// Flux's `ObjectIdentifier`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The object id, when the document has an `apiVersion`, a `kind` and a name.
    pub fn object_id(&self) -> Option<ObjectId> {
        (!self.api_version.is_empty() && !self.kind.is_empty() && !self.name.is_empty()).then(
            || {
                ObjectId::new(
                    &self.api_version,
                    &self.kind,
                    Some(self.namespace.as_str()),
                    &self.name,
                )
            },
        )
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind/namespace/name`, leaving out empty parts (`Kustomization`,
    /// `Deployment/web`, `Deployment/prod/web`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [&self.kind, &self.namespace, &self.name];
        let mut first = true;
        for p in parts.into_iter().filter(|p| !p.is_empty()) {
            if !first {
                f.write_str("/")?;
            }
            f.write_str(p)?;
            first = false;
        }
        if first {
            f.write_str("<unknown object>")?;
        }
        Ok(())
    }
}

/// A setter marker attached to a scalar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// The file, relative to the scanned root.
    #[serde(serialize_with = "crate::report::ser_path")]
    pub file: RelPath,
    /// 1-based line of the scalar.
    pub line: usize,
    /// 1-based column (in characters) of the scalar.
    pub column: usize,
    /// Byte range of the scalar in the file, quotes included.
    pub span: Range<usize>,
    /// How the scalar is written.
    pub style: ScalarStyle,
    /// The scalar's current value (after unescaping).
    pub value: String,
    /// The policy and image part the marker names.
    pub setter: Setter,
    /// Where the marker comment is.
    pub placement: Placement,
    /// 1-based line of the marker comment.
    pub comment_line: usize,
    /// The object (YAML document) the scalar belongs to.
    pub object: ObjectRef,
}

/// Something that deserves the user's attention but does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file, relative to the scanned root.
    pub file: RelPath,
    /// 1-based line (0 when the whole file is concerned).
    pub line: usize,
    /// What happened.
    pub kind: WarningKind,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.kind)
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Warning", 4)?;
        st.serialize_field("file", self.file.as_str())?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("code", self.kind.code())?;
        st.serialize_field("message", &self.kind.to_string())?;
        st.end()
    }
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// The file mentions `$imagepolicy` but is not valid YAML; it is skipped.
    #[error("yaml syntax error at column {column}: {message}; file skipped")]
    Syntax {
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The file mentions `$imagepolicy` but is not UTF-8; it is skipped.
    #[error("file is not valid UTF-8; skipped")]
    NotUtf8,
    /// A comment mentions `$imagepolicy` but is not a valid marker.
    #[error("malformed setter marker: {0}")]
    Malformed(#[source] marker::Error),
    /// A valid marker that is not attached to a scalar value.
    #[error("setter marker {setter} is not attached to a scalar value: {reason}")]
    NotAttached {
        /// The marker.
        setter: Setter,
        /// Why (names what was found instead).
        reason: &'static str,
    },
    /// A marker on a `|`/`>` block scalar (not supported: image values are one line).
    #[error("setter marker {setter} is on a block scalar (| or >), which is not supported")]
    BlockScalar {
        /// The marker.
        setter: Setter,
    },
    /// A second marker for a scalar that already has one; the line comment wins.
    #[error("setter marker {setter} is ignored: the scalar already has marker {kept}")]
    Duplicate {
        /// The ignored marker.
        setter: Setter,
        /// The marker in effect.
        kept: Setter,
    },
    /// The policy has no value for the part the marker asks for; the scalar is left as it is.
    #[error("policy {setter} has no {part} to write; value left unchanged")]
    MissingPart {
        /// The marker.
        setter: Setter,
        /// `tag` or `digest`.
        part: &'static str,
    },
    /// A Flux v1 automation problem (workload, annotation or image value).
    #[error("{0}")]
    V1(String),
    /// The file alone exceeds a YAML budget (a per-file call has a budget of
    /// its own); it is skipped.
    #[error("{0}; file skipped")]
    Budget(Exhausted),
}

impl WarningKind {
    /// A short stable code for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            WarningKind::Syntax { .. } => "syntax",
            WarningKind::NotUtf8 => "not_utf8",
            WarningKind::Malformed(_) => "malformed_marker",
            WarningKind::NotAttached { .. } => "not_attached",
            WarningKind::BlockScalar { .. } => "block_scalar",
            WarningKind::Duplicate { .. } => "duplicate_marker",
            WarningKind::MissingPart { .. } => "missing_part",
            WarningKind::V1(_) => "v1",
            WarningKind::Budget(_) => "budget",
        }
    }
}

/// The markers and warnings of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileScan {
    /// Markers in source order.
    pub markers: Vec<Marker>,
    /// Warnings in source order.
    pub warnings: Vec<Warning>,
}

/// The result of scanning a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// Markers, by file (sorted) then position.
    pub markers: Vec<Marker>,
    /// Warnings, by file then line.
    pub warnings: Vec<Warning>,
    /// Number of candidate files (`*.yaml`, `*.yml`, `Kustomization`).
    pub files_scanned: usize,
    /// Number of candidates that mention `$imagepolicy` and were parsed.
    pub files_parsed: usize,
}

/// True for the files Flux looks at: `*.yaml`, `*.yml` and `Kustomization`.
pub fn is_candidate(path: &RelPath) -> bool {
    let name = path.file_name();
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

/// True when `bytes` mention `$imagepolicy` (the screening step: only these are parsed).
pub fn mentions_marker(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.contains(MARKER_KEY),
        Err(_) => {
            let key = MARKER_KEY.as_bytes();
            bytes.windows(key.len()).any(|w| w == key)
        }
    }
}

/// Scan every candidate file under `dir` of `tree`.
///
/// Files are read one at a time; memory stays proportional to the largest
/// file plus the markers found. Symlinks are never followed (the listing of a
/// [`FileTree`] reports them and they are skipped).
///
/// Each file is bounded by a YAML budget of its own with the default limits
/// ([`RunBudget::PerFile`]): nothing is kept from one file to the next.
pub fn scan(tree: &(dyn FileTree + Sync), dir: &RelPath) -> Result<Scan, Error> {
    scan_run(tree, dir, &RunBudget::PerFile(BudgetLimits::default()))
}

/// How the YAML of a scan or an apply is bounded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RunBudget {
    /// Every file counts against one budget: the run's total is bounded.
    Shared(Budget),
    /// Each file counts against a budget of its own with these limits. The
    /// setters keep nothing of a file once it is done (its markers aside),
    /// so this bounds memory per file, and the run by the tree's size.
    PerFile(BudgetLimits),
}

impl RunBudget {
    /// The budget the next file counts against.
    pub(crate) fn for_file(&self) -> Budget {
        match self {
            RunBudget::Shared(b) => b.clone(),
            RunBudget::PerFile(limits) => Budget::new(*limits),
        }
    }
}

/// [`scan`] with the YAML bounded as `budget` says.
pub fn scan_run(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    budget: &RunBudget,
) -> Result<Scan, Error> {
    scan_impl(tree, dir, budget)
}

/// [`scan`], counting every parsed file against the run's YAML `budget`
/// (nodes, documents and bytes; see [`Budget`]).
pub fn scan_with(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    budget: &Budget,
) -> Result<Scan, Error> {
    scan_impl(tree, dir, &RunBudget::Shared(budget.clone()))
}

fn scan_impl(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    budget: &RunBudget,
) -> Result<Scan, Error> {
    let files: Vec<RelPath> = fs::walk_files(tree, dir)
        .map_err(Error::Walk)?
        .into_iter()
        .filter(is_candidate)
        .collect();
    let mut out = Scan {
        files_scanned: files.len(),
        ..Scan::default()
    };
    walk::run(
        tree,
        &files,
        mentions_marker,
        &|p, bytes| scan_bytes_in(p, &bytes, &budget.for_file()),
        &mut |p, r| {
            let r = r.map_err(|source| Error::Read {
                path: p.clone(),
                source,
            })?;
            if let Outcome::Done(one) = r {
                let one = one.map_err(Error::Budget)?;
                out.files_parsed += 1;
                out.markers.extend(one.markers);
                out.warnings.extend(one.warnings);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn scan_bytes_in(path: &RelPath, bytes: &[u8], budget: &Budget) -> Result<FileScan, yaml::Error> {
    match std::str::from_utf8(bytes) {
        Ok(src) => scan_in(path, src, budget),
        Err(_) => Ok(scan_bytes(path, bytes)),
    }
}

/// Scan one file's bytes (no screening: the file is parsed whatever it holds).
pub fn scan_bytes(path: &RelPath, bytes: &[u8]) -> FileScan {
    match std::str::from_utf8(bytes) {
        Ok(src) => scan_str(path, src),
        Err(_) => FileScan {
            markers: Vec::new(),
            warnings: vec![Warning {
                file: path.clone(),
                line: 0,
                kind: WarningKind::NotUtf8,
            }],
        },
    }
}

/// Scan one file's text.
///
/// ```
/// use gitops_core::fs::RelPath;
/// use gitops_setters::scan::{scan_str, Placement};
///
/// let src = "images:\n- name: app\n  # {\"$imagepolicy\": \"ns:app:tag\"}\n  newTag: \"1.0\"\n";
/// let file = scan_str(&RelPath::new("kustomization.yaml")?, src);
/// let m = &file.markers[0];
/// assert_eq!((m.line, m.value.as_str(), m.placement), (4, "1.0", Placement::Head));
/// assert_eq!(&src[m.span.clone()], "\"1.0\"");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scan_str(path: &RelPath, src: &str) -> FileScan {
    scan_in(path, src, &Budget::default()).unwrap_or_else(|e| budget_skipped(path, e))
}

/// A file skipped because it alone exceeds a per-file budget.
pub(crate) fn budget_skipped<T: Default + HasWarnings>(path: &RelPath, e: yaml::Error) -> T {
    let mut out = T::default();
    if let yaml::Error::Budget {
        line, exhausted, ..
    } = e
    {
        out.warnings_mut().push(Warning {
            file: path.clone(),
            line,
            kind: WarningKind::Budget(exhausted),
        });
    }
    out
}

/// Per-file results that carry warnings.
pub(crate) trait HasWarnings {
    fn warnings_mut(&mut self) -> &mut Vec<Warning>;
}

impl HasWarnings for FileScan {
    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }
}

/// [`scan_str`] against the run's `budget`.
fn scan_in(path: &RelPath, src: &str, budget: &Budget) -> Result<FileScan, yaml::Error> {
    let mut warnings = Vec::new();
    let tree = match parse_in(path, src, &mut warnings, budget)? {
        Some(t) => t,
        None => {
            return Ok(FileScan {
                markers: Vec::new(),
                warnings,
            });
        }
    };
    let located = locate(&tree, path, &mut warnings);
    let mut objects: Vec<Option<ObjectRef>> = Vec::new();
    objects.resize_with(tree.docs.len(), || None);
    let markers = located
        .into_iter()
        .filter_map(|l| {
            let node = &tree.nodes[l.target];
            let (value, style) = node.scalar()?;
            let object = object_of(&tree, &mut objects, node.doc);
            Some(Marker {
                file: path.clone(),
                line: node.line,
                column: node.column,
                span: node.range.clone(),
                style,
                value: value.to_owned(),
                setter: l.setter,
                placement: l.placement,
                comment_line: l.comment_line,
                object,
            })
        })
        .collect();
    Ok(FileScan { markers, warnings })
}

/// Parse `src` with a budget of its own, turning a syntax error (and an
/// exhausted budget) into a warning.
pub(crate) fn parse<'a>(
    path: &RelPath,
    src: &'a str,
    warnings: &mut Vec<Warning>,
) -> Option<Tree<'a>> {
    match parse_in(path, src, warnings, &Budget::default()) {
        Ok(tree) => tree,
        Err(e) => {
            let skipped: FileScan = budget_skipped(path, e);
            warnings.extend(skipped.warnings);
            None
        }
    }
}

/// Parse `src` against the run's `budget`, turning a syntax error into a
/// warning; an exhausted budget is an error naming the file.
pub(crate) fn parse_in<'a>(
    path: &RelPath,
    src: &'a str,
    warnings: &mut Vec<Warning>,
    budget: &Budget,
) -> Result<Option<Tree<'a>>, yaml::Error> {
    match Tree::parse_in(src, budget) {
        Ok(t) => Ok(Some(t)),
        Err(ParseError::Syntax(SyntaxError {
            line,
            column,
            message,
        })) => {
            warnings.push(Warning {
                file: path.clone(),
                line,
                kind: WarningKind::Syntax { column, message },
            });
            Ok(None)
        }
        Err(ParseError::Budget { line, exhausted }) => Err(yaml::Error::Budget {
            origin: path.to_string(),
            line,
            exhausted,
        }),
    }
}

pub(crate) fn object_of(tree: &Tree<'_>, cache: &mut [Option<ObjectRef>], doc: usize) -> ObjectRef {
    if let Some(Some(o)) = cache.get(doc) {
        return o.clone();
    }
    let root = tree.docs.get(doc).and_then(|d| d.root);
    let field = |path: &[&str]| {
        root.and_then(|r| tree.get_path(r, path))
            .and_then(|n| tree.str(n))
            .unwrap_or("")
            .to_owned()
    };
    let o = ObjectRef {
        api_version: field(&["apiVersion"]),
        kind: field(&["kind"]),
        namespace: field(&["metadata", "namespace"]),
        name: field(&["metadata", "name"]),
    };
    if let Some(slot) = cache.get_mut(doc) {
        *slot = Some(o.clone());
    }
    o
}

/// A marker resolved to its target scalar.
#[derive(Debug)]
pub(crate) struct Located {
    pub setter: Setter,
    pub target: NodeId,
    pub placement: Placement,
    pub comment_line: usize,
}

/// Resolve every marker comment of `tree` to its scalar, in source order of
/// the scalars. Problems become warnings.
pub(crate) fn locate(tree: &Tree<'_>, path: &RelPath, warnings: &mut Vec<Warning>) -> Vec<Located> {
    let src = tree.src;
    let mut found: Vec<Located> = Vec::new();
    let mut warn = |line: usize, kind: WarningKind| {
        warnings.push(Warning {
            file: path.clone(),
            line,
            kind,
        });
    };
    for c in &tree.marker_comments {
        let setter = match Setter::from_comment(&c.text) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                warn(c.line, WarningKind::Malformed(e));
                continue;
            }
        };
        let before = src.get(..c.range.start).unwrap_or_default();
        let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let on_content_line = !before[line_start..].trim().is_empty();
        let (placement, result) = if on_content_line {
            (Placement::Line, line_target(tree, c.range.start))
        } else {
            (Placement::Head, head_target(tree, c.range.end))
        };
        match result {
            Ok(target) => found.push(Located {
                setter,
                target,
                placement,
                comment_line: c.line,
            }),
            Err(Miss::Block) => warn(c.line, WarningKind::BlockScalar { setter }),
            Err(Miss::Reason(reason)) => warn(c.line, WarningKind::NotAttached { setter, reason }),
        }
    }
    // Line comments win over head comments for the same scalar (kyaml reads
    // the line comment first).
    found.sort_by_key(|l| (l.target, l.placement != Placement::Line));
    let mut out: Vec<Located> = Vec::with_capacity(found.len());
    for l in found {
        match out.last() {
            Some(prev) if prev.target == l.target => {
                let kept = prev.setter.clone();
                warn(
                    l.comment_line,
                    WarningKind::Duplicate {
                        setter: l.setter,
                        kept,
                    },
                );
            }
            _ => out.push(l),
        }
    }
    warnings.sort_by_key(|w| w.line);
    out
}

enum Miss {
    Block,
    Reason(&'static str),
}

/// Check that `node` can carry a marker.
fn usable(tree: &Tree<'_>, node: NodeId) -> Result<NodeId, Miss> {
    let n = &tree.nodes[node];
    match &n.kind {
        Kind::Scalar { style, .. } if style.is_block() => Err(Miss::Block),
        Kind::Scalar { .. } if n.range.is_empty() => Err(Miss::Reason("the value is empty")),
        Kind::Scalar { .. } => Ok(node),
        Kind::Alias => Err(Miss::Reason("the value is an alias")),
        Kind::Map(_) => Err(Miss::Reason("the value is a mapping")),
        Kind::Seq(_) => Err(Miss::Reason("the value is a sequence")),
    }
}

/// The scalar a line comment starting at `at` belongs to: the last scalar that
/// ends before it on the same line, with only blanks (or a flow `,`) between.
fn line_target(tree: &Tree<'_>, at: usize) -> Result<NodeId, Miss> {
    let src = tree.src;
    let idx = tree
        .scalars
        .partition_point(|&s| tree.nodes[s].range.end <= at);
    let Some(&prev) = idx.checked_sub(1).and_then(|i| tree.scalars.get(i)) else {
        return Err(Miss::Reason("nothing precedes it on its line"));
    };
    let node = &tree.nodes[prev];
    // Spans come from the parser; never slice on a bad one.
    let Some(between) = src.get(node.range.end..at) else {
        return Err(Miss::Reason(
            "the node before it on its line is not a scalar",
        ));
    };
    if between.bytes().all(|b| matches!(b, b' ' | b'\t' | b',')) {
        if node.role == Role::Key {
            return Err(Miss::Reason("it follows a mapping key"));
        }
        return usable(tree, prev);
    }
    // `key: | # marker` — the comment is on a block scalar's header line.
    let next_is_block = tree
        .scalars
        .get(idx)
        .and_then(|&s| tree.nodes[s].scalar())
        .is_some_and(|(_, style)| style.is_block());
    let header = between.trim_end();
    if next_is_block
        && header.ends_with([
            '|', '>', '-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
        ])
        && header.contains(['|', '>'])
    {
        return Err(Miss::Block);
    }
    if between.trim_end().ends_with(':') {
        return Err(Miss::Reason(
            "it follows a mapping key without a value on that line",
        ));
    }
    Err(Miss::Reason(
        "the node before it on its line is not a scalar",
    ))
}

/// The scalar a head comment ending at `end` belongs to: the next line must
/// start (after sequence indicators, anchors and tags) a scalar sequence item,
/// a scalar value, or a mapping entry whose value is a scalar. Further comment
/// lines may follow; a blank line may not.
fn head_target(tree: &Tree<'_>, end: usize) -> Result<NodeId, Miss> {
    let src = tree.src;
    let b = src.as_bytes();
    // Skip the rest of the comment's line.
    let mut i = end;
    while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
        i += 1;
    }
    // Walk lines until one with content.
    let content = loop {
        // Consume one line break.
        if i >= b.len() {
            return Err(Miss::Reason("nothing follows it"));
        }
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            i += 2;
        } else {
            i += 1;
        }
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        match b.get(j) {
            None => return Err(Miss::Reason("nothing follows it")),
            Some(b'\n' | b'\r') => {
                return Err(Miss::Reason("a blank line separates it from the next node"));
            }
            Some(b'#') => {
                i = j;
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            Some(_) => break j,
        }
    };
    if src[content..].starts_with("---") || src[content..].starts_with("...") {
        return Err(Miss::Reason("a document marker follows it"));
    }
    // Skip `- ` indicators, anchors and tags.
    let mut p = content;
    loop {
        let rest = &b[p..];
        let is_blank_at =
            |k: usize| matches!(rest.get(k), None | Some(b' ' | b'\t' | b'\n' | b'\r'));
        if rest.first() == Some(&b'-') && is_blank_at(1) {
            p += 1;
        } else if matches!(rest.first(), Some(b'&' | b'!')) {
            while p < b.len() && !matches!(b[p], b' ' | b'\t' | b'\n' | b'\r') {
                p += 1;
            }
        } else {
            break;
        }
        while p < b.len() && matches!(b[p], b' ' | b'\t') {
            p += 1;
        }
    }
    let idx = tree
        .scalars
        .partition_point(|&s| tree.nodes[s].range.start < p);
    let target = tree
        .scalars
        .get(idx)
        .copied()
        .filter(|&s| tree.nodes[s].range.start == p && !tree.nodes[s].range.is_empty());
    let Some(s) = target else {
        return Err(Miss::Reason(
            "the next line does not start a scalar or a mapping entry",
        ));
    };
    let node = &tree.nodes[s];
    if node.role == Role::Key {
        return match node.value {
            Some(v) => usable(tree, v),
            None => Err(Miss::Reason("the mapping entry has no value")),
        };
    }
    usable(tree, s)
}
