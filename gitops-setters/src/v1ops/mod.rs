//! Flux v1 operations as Git edits: what `fluxctl` asked fluxd to do,
//! done offline on the files of a config repository.
//!
//! - [`Repository`]: the YAML files of a tree, read once; lists every
//!   workload fluxd would see ([`Repository::workloads`], `fluxctl
//!   list-workloads` / `list-images`) with its containers, images and
//!   policy.
//! - [`policy`]: `automate`, `deautomate`, `lock`, `unlock` and `policy
//!   --tag`/`--tag-all` as byte-preserving edits of the workload's
//!   annotations, plus fluxd's commit message.
//! - [`release`]: `fluxctl release --update-image` / `--update-all-images`
//!   with fluxd's rules (locked workloads refused unless forced, ignored
//!   ones skipped, container filters honoured).
//!
//! Workloads are named as `fluxctl` names them, `namespace:kind/name` with
//! the kind in lower case ([`WorkloadId`]); a workload without
//! `metadata.namespace` is in the fallback namespace (`default`, as fluxd
//! without `--k8s-default-namespace`).
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_setters::v1ops::{Repository, WorkloadId};
//! use gitops_setters::v1ops::policy::{self, PolicyUpdate};
//!
//! let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the web tier\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/org/web:1.0.0\n";
//! let mut tree = MemTree::new();
//! tree.insert("web.yaml", src)?;
//! let repo = Repository::load(&tree, &RelPath::root())?;
//! let id: WorkloadId = "prod:deployment/web".parse()?;
//! assert_eq!(repo.workloads()[0].id, id);
//!
//! let edit = policy::update(&repo, &id, &PolicyUpdate::automate(), &policy::AnyFilter)?;
//! assert_eq!(
//!     edit.files[0].new,
//!     src.replace("namespace: prod\n", "namespace: prod\n  annotations:\n    fluxcd.io/automated: \"true\"\n"),
//! );
//! assert_eq!(edit.message, "Automated: prod:deployment/web\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Edits change only the bytes of the annotations they touch: a new
//!   annotation is a new line in the block's own indentation (an
//!   `annotations:` block is created at the end of `metadata` when
//!   missing), a removed one loses its line. fluxd rewrote the whole
//!   document with `kubeyaml`. A flow-style `annotations: {…}` mapping is
//!   rewritten as one `{k: v, …}` mapping (each kept entry as written).
//! - Removing a policy removes every spelling of it (`fluxcd.io/`,
//!   `flux.weave.works/`, and `filter.fluxcd.io/` for tag filters); fluxd
//!   removed only the first one found, so a second spelling stayed in
//!   force.
//! - A new annotation takes the prefix the workload already uses: the
//!   legacy `flux.weave.works/` when every policy annotation of the
//!   workload is written with it, `fluxcd.io/` otherwise (fluxd always
//!   wrote `fluxcd.io/`). An existing annotation keeps its key.
//! - `--tag` for a container the workload does not have is an error
//!   (fluxd wrote the annotation anyway).
//! - With both `--tag-all` and `--tag`, the containers named by `--tag`
//!   keep their own pattern, as `fluxctl policy --help` says (fluxd's code
//!   let `--tag-all` win).
//! - Two workloads with one id in the tree are an error naming both files,
//!   as in fluxd; a file that does not parse is a warning and its
//!   workloads are not seen (fluxd refused to sync).

pub mod policy;
pub mod release;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use gitops_core::fs::{self, FileTree, RelPath};
use serde::Serialize;

use crate::scan::{self, Warning};
use crate::syntax::{NodeId, Tree};
use crate::v1::{self, Container, FoundWorkload};
use crate::walk::{self, Outcome};

/// The namespace of a workload that names none (`kubectl`'s fallback).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Annotation prefixes of Flux v1 policies, current first.
pub const PREFIXES: [&str; 2] = ["fluxcd.io/", "flux.weave.works/"];

/// The other spelling of tag filters: `filter.fluxcd.io/<container>`.
pub const FILTER_PREFIX: &str = "filter.fluxcd.io/";

/// A workload id as fluxd writes it: `namespace:kind/name`, kind in lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId {
    /// The namespace.
    pub namespace: String,
    /// The kind, lower case (`deployment`, `helmrelease`).
    pub kind: String,
    /// The name.
    pub name: String,
}

impl WorkloadId {
    /// An id from its parts (the kind is lower-cased).
    pub fn new(namespace: &str, kind: &str, name: &str) -> WorkloadId {
        WorkloadId {
            namespace: namespace.to_owned(),
            kind: kind.to_ascii_lowercase(),
            name: name.to_owned(),
        }
    }

    /// Parse `namespace:kind/name`, or `kind/name` in `namespace` (fluxd's
    /// `ParseIDOptionalNamespace`; the kind is lower-cased).
    ///
    /// ```
    /// use gitops_setters::v1ops::WorkloadId;
    ///
    /// let id = WorkloadId::parse_in("Deployment/web", "prod")?;
    /// assert_eq!(id.to_string(), "prod:deployment/web");
    /// assert!(WorkloadId::parse_in("web", "prod").is_err());
    /// # Ok::<(), gitops_setters::v1ops::Error>(())
    /// ```
    pub fn parse_in(s: &str, namespace: &str) -> Result<WorkloadId, Error> {
        let word = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let name_ok = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        };
        let qualified = s.split_once(':').and_then(|(ns, rest)| {
            let (kind, name) = rest.split_once('/')?;
            ((word(ns) || ns == "<cluster>") && word(kind) && name_ok(name))
                .then(|| WorkloadId::new(ns, kind, name))
        });
        let unqualified = || {
            s.split_once('/').and_then(|(kind, name)| {
                (word(kind) && name_ok(name)).then(|| WorkloadId::new(namespace, kind, name))
            })
        };
        qualified
            .or_else(unqualified)
            .ok_or_else(|| Error::InvalidId {
                input: s.to_owned(),
            })
    }
}

impl FromStr for WorkloadId {
    type Err = Error;

    /// `namespace:kind/name`, or `kind/name` in [`DEFAULT_NAMESPACE`].
    fn from_str(s: &str) -> Result<WorkloadId, Error> {
        WorkloadId::parse_in(s, DEFAULT_NAMESPACE)
    }
}

impl fmt::Display for WorkloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.namespace, self.kind, self.name)
    }
}

impl Serialize for WorkloadId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A workload's policy, from its annotations (both prefixes read;
/// `fluxcd.io/` wins when both are written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// `automated: "true"`.
    pub automated: bool,
    /// `locked: "true"`.
    pub locked: bool,
    /// `locked_user`, who locked it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_user: Option<String>,
    /// `locked_msg`, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_msg: Option<String>,
    /// `ignore`: `"true"` (not synced, not released) or `"sync_only"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Tag filter per container (`tag.<container>` or
    /// `filter.fluxcd.io/<container>`), as written.
    pub tags: BTreeMap<String, String>,
}

impl Policy {
    /// True when `ignore` is `"true"`.
    pub fn ignored(&self) -> bool {
        self.ignore.as_deref() == Some("true")
    }

    /// The policy column of `fluxctl list-workloads`: `automated`,
    /// `ignore`, `locked`, sorted and comma-separated.
    pub fn summary(&self) -> String {
        let mut ps = Vec::new();
        if self.automated {
            ps.push("automated");
        }
        if self.ignored() {
            ps.push("ignore");
        }
        if self.locked {
            ps.push("locked");
        }
        ps.join(",")
    }

    fn from_annotations(a: &BTreeMap<String, String>) -> Policy {
        let get = |p: &str| {
            PREFIXES
                .iter()
                .find_map(|x| a.get(&format!("{x}{p}")).cloned())
        };
        let mut tags = BTreeMap::new();
        // Lowest precedence first, so that the winner is inserted last.
        for (k, v) in a {
            if let Some(c) = k.strip_prefix(FILTER_PREFIX) {
                tags.insert(c.to_owned(), v.clone());
            }
        }
        for prefix in PREFIXES.iter().rev() {
            for (k, v) in a {
                if let Some(c) = k.strip_prefix(prefix).and_then(|p| p.strip_prefix("tag.")) {
                    tags.insert(c.to_owned(), v.clone());
                }
            }
        }
        Policy {
            automated: get("automated").as_deref() == Some("true"),
            locked: get("locked").as_deref() == Some("true"),
            locked_user: get("locked_user"),
            locked_msg: get("locked_msg"),
            ignore: get("ignore"),
            tags,
        }
    }
}

/// One workload of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadInfo {
    /// Its id.
    pub id: WorkloadId,
    /// `apiVersion` as written.
    pub api_version: String,
    /// `kind` as written.
    pub kind: String,
    /// The file.
    #[serde(serialize_with = "crate::report::ser_path")]
    pub file: RelPath,
    /// 1-based line where the object starts.
    pub line: usize,
    /// Its policy.
    pub policy: Policy,
    /// Its containers in Flux v1 order, each with its tag filter.
    pub containers: Vec<Container>,
}

/// Why an operation failed. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Listing or reading the tree failed.
    #[error("cannot read the tree")]
    Read(#[from] scan::Error),
    /// A workload id that is not `namespace:kind/name`.
    #[error("invalid workload {input:?}: expected <namespace>:<kind>/<name> or <kind>/<name>")]
    InvalidId {
        /// The text given.
        input: String,
    },
    /// No workload with that id under the directory.
    #[error("workload {id} not found{}", hint(.similar))]
    UnknownWorkload {
        /// The id asked for.
        id: Box<WorkloadId>,
        /// Ids of workloads with the same name, to suggest.
        similar: Vec<WorkloadId>,
    },
    /// The id names an object that is not a workload.
    #[error("{file}:{line}: {id} is a {kind}, not a workload Flux v1 updates")]
    NotAWorkload {
        /// The id.
        id: Box<WorkloadId>,
        /// Its kind as written.
        kind: String,
        /// The file.
        file: RelPath,
        /// 1-based line.
        line: usize,
    },
    /// Two workloads share an id (fluxd refuses such a repository too).
    #[error("duplicate definition of {id} ({first}:{first_line} and {second}:{second_line})")]
    Duplicate {
        /// The id.
        id: Box<WorkloadId>,
        /// The first file.
        first: RelPath,
        /// Its line.
        first_line: usize,
        /// The second file.
        second: RelPath,
        /// Its line.
        second_line: usize,
    },
    /// The workload's metadata or annotations are not what the edit needs.
    #[error("{file}:{line}: {id}: {problem}")]
    Malformed {
        /// The workload.
        id: Box<WorkloadId>,
        /// The file.
        file: RelPath,
        /// 1-based line of the offending node.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A tag filter that does not parse.
    #[error("{id}: invalid tag pattern {pattern:?} for container {container:?}")]
    InvalidPattern {
        /// The workload.
        id: Box<WorkloadId>,
        /// The container.
        container: String,
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--tag` names a container the workload does not have.
    #[error("{id} has no container {container:?} (containers: {})", .containers.join(", "))]
    UnknownContainer {
        /// The workload.
        id: Box<WorkloadId>,
        /// The container asked for.
        container: String,
        /// The containers it has.
        containers: Vec<String>,
    },
    /// The release names a locked workload; `--force` releases it anyway.
    #[error(
        "{file}:{line}: {id} is locked{}; unlock it or release with --force",
        locked_by(.user, .message)
    )]
    Locked {
        /// The workload.
        id: Box<WorkloadId>,
        /// The file.
        file: RelPath,
        /// 1-based line.
        line: usize,
        /// `locked_user`.
        user: Option<String>,
        /// `locked_msg`.
        message: Option<String>,
    },
    /// A policy update with nothing to do.
    #[error("nothing to change: give a policy to add or remove")]
    EmptyUpdate,
    /// A release needs a tag for the image.
    #[error("invalid image {input:?}: {reason}")]
    InvalidImage {
        /// The text given.
        input: String,
        /// Why.
        reason: String,
    },
}

fn hint(similar: &[WorkloadId]) -> String {
    if similar.is_empty() {
        String::new()
    } else {
        let s: Vec<String> = similar.iter().map(ToString::to_string).collect();
        format!(" (did you mean {}?)", s.join(" or "))
    }
}

fn locked_by(user: &Option<String>, message: &Option<String>) -> String {
    let mut s = String::new();
    if let Some(u) = user.as_deref().filter(|u| !u.is_empty()) {
        s.push_str(&format!(" by {u}"));
    }
    if let Some(m) = message.as_deref().filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {m:?}"));
    }
    s
}

/// One YAML file of the repository.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub(crate) path: RelPath,
    pub(crate) text: String,
}

/// Where a workload lives: file index and its listing.
#[derive(Debug, Clone)]
struct Located {
    file: usize,
    info: WorkloadInfo,
}

/// The YAML files of a tree, read once, with the workloads they define.
#[derive(Debug, Clone)]
pub struct Repository {
    files: Vec<File>,
    workloads: Vec<Located>,
    /// Non-workload objects: id → (file, line, kind), for error messages.
    others: HashMap<WorkloadId, (usize, usize, String)>,
    warnings: Vec<Warning>,
}

impl Repository {
    /// Read every `*.yaml`/`*.yml` file under `dir` of `tree` (symlinks are
    /// not followed) and find the workloads, with ids in
    /// [`DEFAULT_NAMESPACE`] where no namespace is written.
    pub fn load(tree: &(dyn FileTree + Sync), dir: &RelPath) -> Result<Repository, Error> {
        Repository::load_in(tree, dir, DEFAULT_NAMESPACE)
    }

    /// [`Repository::load`] with another fallback namespace.
    pub fn load_in(
        tree: &(dyn FileTree + Sync),
        dir: &RelPath,
        namespace: &str,
    ) -> Result<Repository, Error> {
        let paths: Vec<RelPath> = fs::walk_files(tree, dir)
            .map_err(scan::Error::Walk)?
            .into_iter()
            .filter(scan::is_candidate)
            .collect();
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        let work = |_: &RelPath, bytes: Vec<u8>| String::from_utf8(bytes).ok();
        walk::run(tree, &paths, |_| true, &work, &mut |path, r| {
            let r = r.map_err(|source| scan::Error::Read {
                path: path.clone(),
                source,
            })?;
            match r {
                Outcome::Done(Some(text)) => files.push(File {
                    path: path.clone(),
                    text,
                }),
                Outcome::Done(None) => warnings.push(v1::not_utf8(path)),
                Outcome::Skipped => {}
            }
            Ok::<(), scan::Error>(())
        })?;
        Repository::from_files(files, namespace, warnings)
    }

    fn from_files(
        files: Vec<File>,
        namespace: &str,
        mut warnings: Vec<Warning>,
    ) -> Result<Repository, Error> {
        let mut workloads: Vec<Located> = Vec::new();
        let mut others = HashMap::new();
        let mut seen: HashMap<WorkloadId, usize> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            let Some(tree) = scan::parse(&f.path, &f.text, &mut warnings) else {
                continue;
            };
            for w in v1::discover(&tree, &f.path, &mut warnings) {
                let info = info_of(&tree, &w, namespace);
                if let Some(&j) = seen.get(&info.id) {
                    let first = &workloads[j].info;
                    return Err(Error::Duplicate {
                        id: Box::new(info.id),
                        first: first.file.clone(),
                        first_line: first.line,
                        second: info.file,
                        second_line: info.line,
                    });
                }
                seen.insert(info.id.clone(), workloads.len());
                workloads.push(Located { file: i, info });
            }
            for doc in &tree.docs {
                if let Some(root) = doc.root {
                    collect_objects(&tree, root, namespace, i, &mut others);
                }
            }
        }
        workloads.sort_by(|a, b| a.info.id.cmp(&b.info.id));
        Ok(Repository {
            files,
            workloads,
            others,
            warnings,
        })
    }

    /// The workloads, sorted by id (as `fluxctl list-workloads` prints them).
    pub fn workloads(&self) -> Vec<&WorkloadInfo> {
        self.workloads.iter().map(|l| &l.info).collect()
    }

    /// Files that could not be read or parsed, and containers whose image
    /// does not parse.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The workload with this id, or a clear error.
    pub fn workload(&self, id: &WorkloadId) -> Result<&WorkloadInfo, Error> {
        self.locate(id).map(|l| &l.info)
    }

    fn locate(&self, id: &WorkloadId) -> Result<&Located, Error> {
        if let Some(l) = self.workloads.iter().find(|l| &l.info.id == id) {
            return Ok(l);
        }
        if let Some((file, line, kind)) = self.others.get(id) {
            return Err(Error::NotAWorkload {
                id: Box::new(id.clone()),
                kind: kind.clone(),
                file: self.files[*file].path.clone(),
                line: *line,
            });
        }
        let similar = self
            .workloads
            .iter()
            .filter(|l| l.info.id.name == id.name)
            .map(|l| l.info.id.clone())
            .collect();
        Err(Error::UnknownWorkload {
            id: Box::new(id.clone()),
            similar,
        })
    }

    /// The text of the file a workload lives in, parsed, with the
    /// workload's discovery result (for edits).
    pub(crate) fn with_workload<T>(
        &self,
        id: &WorkloadId,
        f: impl FnOnce(&File, &Tree<'_>, &FoundWorkload) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let l = self.locate(id)?;
        let file = &self.files[l.file];
        let mut warnings = Vec::new();
        let tree = scan::parse(&file.path, &file.text, &mut warnings)
            .expect("the file parsed when the repository was loaded");
        let found = v1::discover(&tree, &file.path, &mut warnings)
            .into_iter()
            .find(|w| w.workload.line == l.info.line && w.workload.object.name == id.name)
            .expect("the workload was found when the repository was loaded");
        f(file, &tree, &found)
    }
}

fn collect_objects(
    tree: &Tree<'_>,
    node: NodeId,
    namespace: &str,
    file: usize,
    out: &mut HashMap<WorkloadId, (usize, usize, String)>,
) {
    let s = |p: &[&str]| {
        tree.get_path(node, p)
            .and_then(|n| tree.str(n))
            .unwrap_or("")
    };
    let kind = s(&["kind"]);
    if kind.ends_with("List") {
        if let Some(items) = tree.get(node, "items") {
            for &item in tree.items(items) {
                collect_objects(tree, item, namespace, file, out);
            }
        }
        return;
    }
    let name = s(&["metadata", "name"]);
    if kind.is_empty() || name.is_empty() {
        return;
    }
    let ns = Some(s(&["metadata", "namespace"]))
        .filter(|n| !n.is_empty())
        .unwrap_or(namespace);
    out.entry(WorkloadId::new(ns, kind, name)).or_insert((
        file,
        tree.nodes[node].line,
        kind.to_owned(),
    ));
}

fn info_of(tree: &Tree<'_>, w: &FoundWorkload, namespace: &str) -> WorkloadInfo {
    let o = &w.workload.object;
    let ns = if o.namespace.is_empty() {
        namespace
    } else {
        &o.namespace
    };
    let annotations = v1::annotations(tree, w.node);
    WorkloadInfo {
        id: WorkloadId::new(ns, &o.kind, &o.name),
        api_version: o.api_version.clone(),
        kind: o.kind.clone(),
        file: w.workload.file.clone(),
        line: w.workload.line,
        policy: Policy::from_annotations(&annotations),
        containers: w.workload.containers.clone(),
    }
}

/// One file rewritten by an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEdit {
    /// The file.
    #[serde(serialize_with = "crate::report::ser_path")]
    pub path: RelPath,
    /// Its text before.
    #[serde(skip)]
    pub old: String,
    /// Its text after.
    #[serde(skip)]
    pub new: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id: WorkloadId = "default:Deployment/web".parse().unwrap();
        assert_eq!(id, WorkloadId::new("default", "deployment", "web"));
        assert_eq!(
            WorkloadId::parse_in("helmrelease/a.b", "x")
                .unwrap()
                .to_string(),
            "x:helmrelease/a.b"
        );
        assert_eq!(
            "<cluster>:namespace/x"
                .parse::<WorkloadId>()
                .unwrap()
                .namespace,
            "<cluster>"
        );
        for bad in [
            "",
            "web",
            "a:b",
            "ns:/x",
            "ns:kind/",
            "a b:c/d",
            "ns:kind/x y",
        ] {
            assert!(bad.parse::<WorkloadId>().is_err(), "{bad}");
        }
        // Colons are allowed in names (RBAC objects).
        assert_eq!(
            "ns:role/system:x".parse::<WorkloadId>().unwrap().name,
            "system:x"
        );
        assert_eq!(
            "role/system:x".parse::<WorkloadId>().unwrap().to_string(),
            "default:role/system:x"
        );
    }

    #[test]
    fn policy_precedence() {
        let a: BTreeMap<String, String> = [
            ("flux.weave.works/automated", "true"),
            ("filter.fluxcd.io/app", "glob:a-*"),
            ("flux.weave.works/tag.app", "glob:b-*"),
            ("fluxcd.io/tag.db", "semver:~1"),
            ("flux.weave.works/tag.db", "glob:x"),
            ("fluxcd.io/locked", "true"),
            ("fluxcd.io/locked_msg", "hold"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = Policy::from_annotations(&a);
        assert!(p.automated && p.locked);
        assert_eq!(p.locked_msg.as_deref(), Some("hold"));
        assert_eq!(p.tags["app"], "glob:b-*");
        assert_eq!(p.tags["db"], "semver:~1");
        assert_eq!(p.summary(), "automated,locked");
    }
}
