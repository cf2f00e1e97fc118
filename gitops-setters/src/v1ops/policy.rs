//! `fluxctl automate|deautomate|lock|unlock|policy` as byte-preserving
//! edits of a workload's annotations, and fluxd's commit message for them.
//!
//! A [`PolicyUpdate`] says which policies to add (with their value) and
//! which to remove, as `fluxctl` builds it; [`update`] expands `--tag-all`
//! over the workload's containers (fluxd `ChangesForPolicyUpdate`), checks
//! the tag patterns with a [`FilterCheck`], and edits the annotations:
//! an existing annotation gets its new value in its own quoting style, a
//! new one is a new line in the block's indentation, a removed one loses
//! its line. Every other byte of the file stays as it was.
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_setters::v1ops::Repository;
//! use gitops_setters::v1ops::policy::{self, AnyFilter, PolicyUpdate};
//!
//! let src = "kind: Deployment\nmetadata:\n    name: web\n    annotations:\n        flux.weave.works/automated: 'true' # on\nspec:\n    template:\n        spec:\n            containers:\n            -   name: app\n                image: nginx:1.25\n";
//! let mut tree = MemTree::new();
//! tree.insert("web.yaml", src)?;
//! let repo = Repository::load(&tree, &RelPath::root())?;
//! let id = "default:deployment/web".parse()?;
//!
//! let update = PolicyUpdate::lock(Some("jane"), Some("incident 42")).tag("app", "1.25.*");
//! let edit = policy::update(&repo, &id, &update, &AnyFilter)?;
//! assert_eq!(edit.files[0].new, src.replace(
//!     "'true' # on\n",
//!     "'true' # on\n        flux.weave.works/locked: 'true'\n        flux.weave.works/locked_msg: 'incident 42'\n        flux.weave.works/locked_user: 'jane'\n        flux.weave.works/tag.app: 'glob:1.25.*'\n",
//! ));
//! assert_eq!(
//!     edit.message,
//!     "Updated workload policies\n\n- Locked: default:deployment/web\n- Updated policies: default:deployment/web\n",
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - `lock` records `locked_user` and `locked_msg` when given (fluxctl set
//!   `locked_msg` only together with a user, and defaulted the user from
//!   its Git configuration).
//! - fluxd printed the lines of a multi-policy commit message in Go map
//!   order; here they are in a fixed order (automate, deautomate, lock,
//!   unlock, update policies).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Error, FILTER_PREFIX, FileEdit, PREFIXES, Repository, WorkloadId};
use crate::apply::{self, Edit};
use crate::quote;
use crate::scan::ScalarStyle;
use crate::syntax::{Kind, NodeId, Tree};

/// Checks a tag pattern (`glob:…`, `regexp:…`, `semver:…`) before it is
/// written.
pub trait FilterCheck {
    /// Why a pattern is invalid.
    type Error: std::error::Error + Send + Sync + 'static;
    /// `Ok` when `pattern` (prefixed) is valid.
    fn check(&self, pattern: &str) -> Result<(), Self::Error>;
}

/// Accepts every pattern (for callers that checked them already).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyFilter;

impl FilterCheck for AnyFilter {
    type Error = std::convert::Infallible;
    fn check(&self, _pattern: &str) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A pattern as fluxd stores it (`policy.NewPattern(p).String()`): no
/// prefix means `glob:`, and `regex:` is written `regexp:`.
///
/// ```
/// use gitops_setters::v1ops::policy::normalize_pattern;
///
/// assert_eq!(normalize_pattern("1.*"), "glob:1.*");
/// assert_eq!(normalize_pattern("regex:^v"), "regexp:^v");
/// assert_eq!(normalize_pattern("semver:~1.2"), "semver:~1.2");
/// ```
pub fn normalize_pattern(p: &str) -> String {
    if p.starts_with("semver:") || p.starts_with("regexp:") {
        p.to_owned()
    } else if let Some(body) = p.strip_prefix("regex:") {
        format!("regexp:{body}")
    } else {
        format!("glob:{}", p.strip_prefix("glob:").unwrap_or(p))
    }
}

/// Policies to add and remove, as `fluxctl` builds them. Policy names are
/// fluxd's: `automated`, `locked`, `locked_user`, `locked_msg`, `ignore`,
/// `tag.<container>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyUpdate {
    /// Policy → value (`"true"` for the boolean ones).
    pub add: BTreeMap<String, String>,
    /// Policies to remove.
    pub remove: BTreeSet<String>,
    /// `--tag-all`: a pattern for every container not named by a tag.
    pub tag_all: Option<String>,
}

impl PolicyUpdate {
    /// `fluxctl automate`.
    pub fn automate() -> PolicyUpdate {
        PolicyUpdate::default().with("automated", "true")
    }

    /// `fluxctl deautomate`.
    pub fn deautomate() -> PolicyUpdate {
        PolicyUpdate::default().without("automated")
    }

    /// `fluxctl lock`, recording who and why when given.
    pub fn lock(user: Option<&str>, message: Option<&str>) -> PolicyUpdate {
        let mut u = PolicyUpdate::default().with("locked", "true");
        if let Some(user) = user.filter(|s| !s.is_empty()) {
            u = u.with("locked_user", user);
        }
        if let Some(m) = message.filter(|s| !s.is_empty()) {
            u = u.with("locked_msg", m);
        }
        u
    }

    /// `fluxctl unlock` (also drops `locked_user` and `locked_msg`).
    pub fn unlock() -> PolicyUpdate {
        PolicyUpdate::default()
            .without("locked")
            .without("locked_msg")
            .without("locked_user")
    }

    /// Add (or change) a policy.
    pub fn with(mut self, policy: &str, value: &str) -> PolicyUpdate {
        self.remove.remove(policy);
        self.add.insert(policy.to_owned(), value.to_owned());
        self
    }

    /// Remove a policy.
    pub fn without(mut self, policy: &str) -> PolicyUpdate {
        self.add.remove(policy);
        self.remove.insert(policy.to_owned());
        self
    }

    /// `--tag container=pattern`: `*` removes the filter, anything else is
    /// stored normalised ([`normalize_pattern`]).
    pub fn tag(self, container: &str, pattern: &str) -> PolicyUpdate {
        let policy = format!("tag.{container}");
        if pattern == "*" {
            self.without(&policy)
        } else {
            self.with(&policy, &normalize_pattern(pattern))
        }
    }

    /// `--tag-all pattern`.
    pub fn tag_all(mut self, pattern: &str) -> PolicyUpdate {
        self.tag_all = Some(normalize_pattern(pattern));
        self
    }

    /// Both updates; `other` wins where they disagree.
    pub fn merge(mut self, other: PolicyUpdate) -> PolicyUpdate {
        for (k, v) in other.add {
            self = self.with(&k, &v);
        }
        for k in other.remove {
            self = self.without(&k);
        }
        if other.tag_all.is_some() {
            self.tag_all = other.tag_all;
        }
        self
    }

    /// True when it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty() && self.tag_all.is_none()
    }

    /// fluxd's event types for this update, deduplicated, in a fixed order.
    fn events(&self) -> Vec<&'static str> {
        let mut types = BTreeSet::new();
        for p in self.add.keys() {
            types.insert(match p.as_str() {
                "automated" => 0,
                "locked" => 2,
                _ => 4,
            });
        }
        if self.tag_all.is_some() {
            types.insert(4);
        }
        for p in &self.remove {
            types.insert(match p.as_str() {
                "automated" => 1,
                "locked" => 3,
                _ => 4,
            });
        }
        const NAMES: [&str; 5] = [
            "Automated",
            "Deautomated",
            "Locked",
            "Unlocked",
            "Updated policies",
        ];
        types.into_iter().map(|i| NAMES[i]).collect()
    }
}

/// fluxd's commit message for policy updates (`policyCommitMessage`): one
/// line per event type listing the workloads, under `message` when given
/// or under `Updated workload policies` when there are several lines.
///
/// ```
/// use gitops_setters::v1ops::policy::{commit_message, PolicyUpdate};
///
/// let id = "prod:deployment/web".parse()?;
/// assert_eq!(commit_message(&[(&id, &PolicyUpdate::deautomate())], None), "Deautomated: prod:deployment/web\n");
/// // `unlock` also removes `locked_msg` and `locked_user`: two events.
/// assert_eq!(
///     commit_message(&[(&id, &PolicyUpdate::unlock())], None),
///     "Updated workload policies\n\n- Unlocked: prod:deployment/web\n- Updated policies: prod:deployment/web\n",
/// );
/// assert_eq!(
///     commit_message(&[(&id, &PolicyUpdate::automate())], Some("go")),
///     "go\n\n- Automated: prod:deployment/web\n",
/// );
/// # Ok::<(), gitops_setters::v1ops::Error>(())
/// ```
pub fn commit_message(updates: &[(&WorkloadId, &PolicyUpdate)], message: Option<&str>) -> String {
    let mut events: BTreeMap<usize, (&str, BTreeSet<String>)> = BTreeMap::new();
    let order = [
        "Automated",
        "Deautomated",
        "Locked",
        "Unlocked",
        "Updated policies",
    ];
    for (id, u) in updates {
        for e in u.events() {
            let i = order.iter().position(|o| *o == e).unwrap_or(4);
            events
                .entry(i)
                .or_insert_with(|| (e, BTreeSet::new()))
                .1
                .insert(id.to_string());
        }
    }
    let mut out = String::new();
    let mut prefix = "- ";
    match message.filter(|m| !m.is_empty()) {
        Some(m) => out.push_str(&format!("{m}\n\n")),
        None if events.len() > 1 => out.push_str("Updated workload policies\n\n"),
        None => prefix = "",
    }
    for (name, ids) in events.values() {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        out.push_str(&format!("{prefix}{name}: {}\n", ids.join(", ")));
    }
    out
}

/// One annotation added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnnotationChange {
    /// The annotation key as written in the file.
    pub key: String,
    /// Its value before (`None`: it was not there).
    pub old: Option<String>,
    /// Its value after (`None`: removed).
    pub new: Option<String>,
    /// 1-based line of the annotation before the edit (of the workload
    /// for a new one).
    pub line: usize,
}

/// The result of a policy update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyEdit {
    /// The workload.
    pub workload: WorkloadId,
    /// The files rewritten (empty when the policies were already so).
    pub files: Vec<FileEdit>,
    /// The annotations changed.
    pub changes: Vec<AnnotationChange>,
    /// fluxd's commit message (see [`commit_message`]).
    pub message: String,
}

/// Apply `update` to the workload `id` of `repo`. Pure: returns the new
/// file text; nothing is written.
pub fn update<F: FilterCheck>(
    repo: &Repository,
    id: &WorkloadId,
    update: &PolicyUpdate,
    check: &F,
) -> Result<PolicyEdit, Error> {
    update_with_message(repo, id, update, check, None)
}

/// [`update`] with a commit message headed by `message` (`--message`).
pub fn update_with_message<F: FilterCheck>(
    repo: &Repository,
    id: &WorkloadId,
    update: &PolicyUpdate,
    check: &F,
    message: Option<&str>,
) -> Result<PolicyEdit, Error> {
    if update.is_empty() {
        return Err(Error::EmptyUpdate);
    }
    let info = repo.workload(id)?;
    let containers: Vec<String> = info.containers.iter().map(|c| c.name.clone()).collect();
    // fluxd's ChangesForPolicyUpdate: policy → Some(value) or None (remove).
    let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (p, v) in &update.add {
        changes.insert(p.clone(), Some(v.clone()));
    }
    for p in &update.remove {
        changes.insert(p.clone(), None);
    }
    for p in changes.keys() {
        if let Some(c) = p.strip_prefix("tag.")
            && !containers.iter().any(|n| n == c)
        {
            return Err(Error::UnknownContainer {
                id: Box::new(id.clone()),
                container: c.to_owned(),
                containers,
            });
        }
    }
    if let Some(all) = &update.tag_all {
        for c in &containers {
            let key = format!("tag.{c}");
            if changes.contains_key(&key) {
                continue; // named by --tag: its own pattern wins
            }
            let v = (all != "glob:*").then(|| all.clone());
            changes.insert(key, v);
        }
    }
    for (p, v) in &changes {
        if let (Some(c), Some(pattern)) = (p.strip_prefix("tag."), v) {
            check.check(pattern).map_err(|e| Error::InvalidPattern {
                id: Box::new(id.clone()),
                container: c.to_owned(),
                pattern: pattern.clone(),
                source: Box::new(e),
            })?;
        }
    }
    let (file, changes) = repo.with_workload(id, |file, tree, found| {
        let planned = plan(tree, found.node, &changes, id, &file.path)?;
        Ok((file.path.clone(), planned))
    })?;
    let (edits, report) = changes;
    let mut files = Vec::new();
    if !edits.is_empty() {
        let old = repo
            .files
            .iter()
            .find(|f| f.path == file)
            .map(|f| f.text.clone());
        let old = old.unwrap_or_default();
        let new = apply::splice(&old, &edits);
        files.push(FileEdit {
            path: file,
            old,
            new,
        });
    }
    Ok(PolicyEdit {
        workload: id.clone(),
        files,
        changes: report,
        message: commit_message(&[(id, update)], message),
    })
}

/// Annotation keys that spell `policy`, in fluxd's order of precedence.
fn spellings(policy: &str) -> Vec<String> {
    let mut keys: Vec<String> = PREFIXES.iter().map(|p| format!("{p}{policy}")).collect();
    if let Some(c) = policy.strip_prefix("tag.") {
        keys.push(format!("{FILTER_PREFIX}{c}"));
    }
    keys
}

struct Ctx<'t, 'a> {
    tree: &'t Tree<'a>,
    src: &'a str,
    id: &'t WorkloadId,
    file: &'t gitops_core::fs::RelPath,
}

impl Ctx<'_, '_> {
    fn malformed(&self, node: NodeId, problem: impl Into<String>) -> Error {
        Error::Malformed {
            id: Box::new(self.id.clone()),
            file: self.file.clone(),
            line: self.tree.nodes[node].line,
            problem: problem.into(),
        }
    }

    fn is_empty_scalar(&self, node: NodeId) -> bool {
        let n = &self.tree.nodes[node];
        matches!(n.kind, Kind::Scalar { .. }) && n.range.is_empty()
    }

    fn is_null(&self, node: NodeId) -> bool {
        self.tree.nodes[node].scalar().is_some_and(|(v, s)| {
            s == ScalarStyle::Plain && matches!(v, "" | "~" | "null" | "Null" | "NULL")
        })
    }

    /// The end of the last byte belonging to `node`.
    fn last_end(&self, node: NodeId) -> usize {
        let n = &self.tree.nodes[node];
        match &n.kind {
            Kind::Map(pairs) if !n.flow && !is_flow_open(self.src, n.range.start) => pairs
                .last()
                .map_or(n.range.end, |&(k, v)| self.pair_end(k, v)),
            Kind::Seq(items) if !is_flow_open(self.src, n.range.start) => {
                items.last().map_or(n.range.end, |&i| self.last_end(i))
            }
            _ => n.range.end,
        }
    }

    fn pair_end(&self, k: NodeId, v: NodeId) -> usize {
        if self.is_empty_scalar(v) {
            self.tree.nodes[k].range.end
        } else {
            self.last_end(v)
        }
    }

    /// Index after the line break ending the line that holds `pos - 1`.
    fn line_end(&self, pos: usize) -> usize {
        if pos > 0 && self.src.as_bytes()[pos - 1] == b'\n' {
            return pos;
        }
        self.src[pos..]
            .find('\n')
            .map_or(self.src.len(), |i| pos + i + 1)
    }

    fn line_start(&self, pos: usize) -> usize {
        self.src[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    fn indent_of(&self, map: NodeId) -> Option<usize> {
        self.tree
            .pairs(map)
            .first()
            .map(|&(k, _)| self.tree.nodes[k].column - 1)
    }

    fn newline(&self) -> &'static str {
        if self.src.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Insert `lines` (each without line break) at a line boundary `pos`.
    fn insert_lines(&self, pos: usize, lines: &[String]) -> Edit {
        let nl = self.newline();
        let mut text = String::new();
        let at_eof_without_break =
            pos == self.src.len() && !self.src.is_empty() && !self.src.ends_with('\n');
        for l in lines {
            if at_eof_without_break {
                text.push_str(nl);
                text.push_str(l);
            } else {
                text.push_str(l);
                text.push_str(nl);
            }
        }
        Edit {
            range: pos..pos,
            text,
        }
    }
}

fn is_flow_open(src: &str, start: usize) -> bool {
    matches!(src.as_bytes().get(start), Some(b'{' | b'['))
}

fn render_key(key: &str, flow: bool) -> String {
    if quote::plain_ok(key, flow) && !quote::changes_type(key) {
        key.to_owned()
    } else {
        quote::double_quoted(key)
    }
}

type Planned = (Vec<Edit>, Vec<AnnotationChange>);

/// The edits that make the annotations of `obj` match `changes`.
fn plan(
    tree: &Tree<'_>,
    obj: NodeId,
    changes: &BTreeMap<String, Option<String>>,
    id: &WorkloadId,
    file: &gitops_core::fs::RelPath,
) -> Result<Planned, Error> {
    let cx = Ctx {
        tree,
        src: tree.src,
        id,
        file,
    };
    let meta = tree
        .get(obj, "metadata")
        .filter(|&m| matches!(tree.nodes[m].kind, Kind::Map(_)))
        .ok_or_else(|| cx.malformed(obj, "metadata is missing or not a mapping"))?;
    let ann = tree.get(meta, "annotations");
    let pairs: Vec<(NodeId, NodeId)> = match ann {
        Some(a) if matches!(tree.nodes[a].kind, Kind::Map(_)) => tree.pairs(a).to_vec(),
        Some(a) if cx.is_null(a) => Vec::new(),
        Some(a) => return Err(cx.malformed(a, "metadata.annotations is not a mapping")),
        None => Vec::new(),
    };
    let key_of = |k: NodeId| tree.str(k).unwrap_or("").to_owned();
    // The prefix of new annotations: the legacy one when it is the only
    // one the workload uses.
    let keys: Vec<String> = pairs.iter().map(|&(k, _)| key_of(k)).collect();
    let legacy = keys.iter().any(|k| k.starts_with(PREFIXES[1]))
        && !keys.iter().any(|k| k.starts_with(PREFIXES[0]));
    let new_prefix = if legacy { PREFIXES[1] } else { PREFIXES[0] };
    // Quoting of new values: follow the existing annotations.
    let style = pairs
        .iter()
        .filter_map(|&(_, v)| tree.nodes[v].scalar().map(|(_, s)| s))
        .find(|s| matches!(s, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted))
        .unwrap_or(ScalarStyle::Plain);

    let mut set: Vec<(usize, String)> = Vec::new(); // pair index → value
    let mut removed: BTreeSet<usize> = BTreeSet::new();
    let mut added: Vec<(String, String)> = Vec::new();
    let mut report = Vec::new();
    let obj_line = tree.nodes[obj].line;
    for (policy, value) in changes {
        let present: Vec<usize> = spellings(policy)
            .iter()
            .filter_map(|s| keys.iter().position(|k| k == s))
            .collect();
        match value {
            Some(v) => match present.first() {
                Some(&i) => {
                    let (k, val) = pairs[i];
                    let current = tree.nodes[val].scalar().map(|(s, _)| s.to_owned());
                    if !matches!(tree.nodes[val].kind, Kind::Scalar { .. }) {
                        return Err(
                            cx.malformed(val, format!("annotation {} is not a string", keys[i]))
                        );
                    }
                    let is_string = tree.nodes[val]
                        .scalar()
                        .is_some_and(|(s, st)| st != ScalarStyle::Plain || !quote::changes_type(s));
                    if current.as_deref() != Some(v.as_str()) || !is_string {
                        report.push(AnnotationChange {
                            key: keys[i].clone(),
                            old: current,
                            new: Some(v.clone()),
                            line: tree.nodes[k].line,
                        });
                        set.push((i, v.clone()));
                    }
                }
                None => {
                    let key = match policy.strip_prefix("tag.") {
                        Some(c) => format!("{new_prefix}tag.{c}"),
                        None => format!("{new_prefix}{policy}"),
                    };
                    report.push(AnnotationChange {
                        key: key.clone(),
                        old: None,
                        new: Some(v.clone()),
                        line: obj_line,
                    });
                    added.push((key, v.clone()));
                }
            },
            None => {
                for &i in &present {
                    report.push(AnnotationChange {
                        key: keys[i].clone(),
                        old: tree.str(pairs[i].1).map(str::to_owned),
                        new: None,
                        line: tree.nodes[pairs[i].0].line,
                    });
                    removed.insert(i);
                }
            }
        }
    }
    if set.is_empty() && removed.is_empty() && added.is_empty() {
        return Ok((Vec::new(), report));
    }
    added.sort();
    let mut edits = Vec::new();
    let flow_entry = |k: &str, v: &str| {
        format!(
            "{}: {}",
            render_key(k, true),
            quote::render(v, style, true).unwrap_or_else(|| quote::double_quoted(v))
        )
    };
    let block_entry = |indent: usize, k: &str, v: &str| {
        format!(
            "{}{}: {}",
            " ".repeat(indent),
            render_key(k, false),
            quote::render(v, style, false).unwrap_or_else(|| quote::double_quoted(v))
        )
    };
    match ann {
        Some(a)
            if matches!(tree.nodes[a].kind, Kind::Map(_))
                && is_flow_open(cx.src, tree.nodes[a].range.start) =>
        {
            // A flow mapping: written again as one `{k: v, …}`.
            let mut parts = Vec::new();
            for (i, &(k, v)) in pairs.iter().enumerate() {
                if removed.contains(&i) {
                    continue;
                }
                match set.iter().find(|(j, _)| *j == i) {
                    Some((_, new)) => parts.push(flow_entry(&keys[i], new)),
                    None => {
                        let end = cx.pair_end(k, v);
                        parts.push(cx.src[tree.nodes[k].range.start..end].to_owned());
                    }
                }
            }
            parts.extend(added.iter().map(|(k, v)| flow_entry(k, v)));
            edits.push(Edit {
                range: tree.nodes[a].range.clone(),
                text: format!("{{{}}}", parts.join(", ")),
            });
        }
        Some(a) if matches!(tree.nodes[a].kind, Kind::Map(_)) => {
            for (i, v) in &set {
                let (k, val) = pairs[*i];
                let n = &tree.nodes[val];
                if cx.is_empty_scalar(val) {
                    let key_end = tree.nodes[k].range.end;
                    let colon = cx.src[key_end..]
                        .find(':')
                        .map_or(key_end, |c| key_end + c + 1);
                    let text = quote::render(v, ScalarStyle::Plain, false).unwrap_or_default();
                    edits.push(Edit {
                        range: colon..colon,
                        text: format!(" {text}"),
                    });
                } else if let Some(e) = apply::edit_scalar(tree, val, v) {
                    edits.push(e);
                } else if n.scalar().is_some_and(|(s, _)| s == v) {
                    // Same text, but not a string (`true` unquoted): quote it.
                    edits.push(Edit {
                        range: n.range.clone(),
                        text: quote::double_quoted(v),
                    });
                } else {
                    return Err(
                        cx.malformed(val, format!("annotation {} is a block scalar", keys[*i]))
                    );
                }
            }
            let all_gone = removed.len() == pairs.len() && added.is_empty();
            if all_gone {
                let akey = annotations_key(tree, meta);
                let start = cx.line_start(tree.nodes[akey].range.start);
                let end = cx.line_end(cx.last_end(a));
                edits.push(Edit {
                    range: start..end,
                    text: String::new(),
                });
            } else {
                for &i in &removed {
                    let (k, v) = pairs[i];
                    let start = cx.line_start(tree.nodes[k].range.start);
                    if cx.src[start..tree.nodes[k].range.start].trim() != "" {
                        return Err(cx.malformed(
                            k,
                            format!("annotation {} does not start its line", keys[i]),
                        ));
                    }
                    let end = cx.line_end(cx.pair_end(k, v));
                    edits.push(Edit {
                        range: start..end,
                        text: String::new(),
                    });
                }
                if !added.is_empty() {
                    let indent = cx.indent_of(a).unwrap_or(0);
                    let lines: Vec<String> = added
                        .iter()
                        .map(|(k, v)| block_entry(indent, k, v))
                        .collect();
                    edits.push(cx.insert_lines(cx.line_end(cx.last_end(a)), &lines));
                }
            }
        }
        _ if added.is_empty() => {}
        Some(a) if !cx.is_empty_scalar(a) => {
            // `annotations: null` or `~`.
            let parts: Vec<String> = added.iter().map(|(k, v)| flow_entry(k, v)).collect();
            edits.push(Edit {
                range: tree.nodes[a].range.clone(),
                text: format!("{{{}}}", parts.join(", ")),
            });
        }
        other => {
            let flow_meta = is_flow_open(cx.src, tree.nodes[meta].range.start);
            if flow_meta {
                let parts: Vec<String> = added.iter().map(|(k, v)| flow_entry(k, v)).collect();
                let entry = format!("annotations: {{{}}}", parts.join(", "));
                let edit = match tree.pairs(meta).last() {
                    Some(&(k, v)) => {
                        let end = cx.pair_end(k, v);
                        Edit {
                            range: end..end,
                            text: format!(", {entry}"),
                        }
                    }
                    None => {
                        let close = tree.nodes[meta].range.end.saturating_sub(1);
                        Edit {
                            range: close..close,
                            text: entry,
                        }
                    }
                };
                edits.push(edit);
            } else {
                let meta_indent = cx.indent_of(meta).unwrap_or(2);
                let obj_indent = cx.indent_of(obj).unwrap_or(0);
                let step = meta_indent.saturating_sub(obj_indent).max(1);
                let step = if meta_indent > obj_indent { step } else { 2 };
                let lines: Vec<String> = added
                    .iter()
                    .map(|(k, v)| block_entry(meta_indent + step, k, v))
                    .collect();
                match other {
                    Some(a) => {
                        // `annotations:` with nothing after it.
                        let akey = annotations_key(tree, meta);
                        let akey_indent = tree.nodes[akey].column - 1;
                        let lines: Vec<String> = added
                            .iter()
                            .map(|(k, v)| block_entry(akey_indent + step, k, v))
                            .collect();
                        let _ = a;
                        edits
                            .push(cx.insert_lines(cx.line_end(tree.nodes[akey].range.end), &lines));
                    }
                    None => {
                        let mut all = vec![format!("{}annotations:", " ".repeat(meta_indent))];
                        all.extend(lines);
                        edits.push(cx.insert_lines(cx.line_end(cx.last_end(meta)), &all));
                    }
                }
            }
        }
    }
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    report.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.key.cmp(&b.key)));
    Ok((edits, report))
}

/// The key node of `metadata.annotations`.
fn annotations_key(tree: &Tree<'_>, meta: NodeId) -> NodeId {
    tree.pairs(meta)
        .iter()
        .find(|&&(k, _)| tree.str(k) == Some("annotations"))
        .map(|&(k, _)| k)
        .expect("annotations exists when this is called")
}
