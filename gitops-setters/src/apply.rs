//! Rewrite marked scalars with the latest images, byte for byte.
//!
//! For each marker whose policy is known, the new value is computed from the
//! policy's [`ImageRef`]:
//!
//! | marker suffix | new value                                   |
//! |---------------|---------------------------------------------|
//! | (none)        | `name:tag`, or `name:tag@digest` with a digest |
//! | `:tag`        | `tag`                                       |
//! | `:name`       | `name` (registry and repository as written)  |
//! | `:digest`     | `digest` (none known: unchanged + warning)  |
//!
//! Only the bytes of the scalar change: its quotes are kept (plain stays
//! plain unless the new value would read back as a non-string, e.g. `1.10`,
//! then it is double-quoted). Markers naming an unknown policy are ignored,
//! as in Flux; values that are already right are not reported.
//!
//! ```
//! use gitops_core::ImageRef;
//! use gitops_core::fs::RelPath;
//! use gitops_setters::apply::{apply_str, Policies};
//! use gitops_setters::marker::PolicyId;
//!
//! let mut policies = Policies::new();
//! policies.insert(PolicyId::new("flux-system", "app"), ImageRef::parse("ghcr.io/org/app:1.10")?);
//!
//! let src = "images:\r\n  - name: app # keep me\r\n    newTag: 1.9 # {\"$imagepolicy\": \"flux-system:app:tag\"}\r\n";
//! let out = apply_str(&RelPath::new("kustomization.yaml")?, src, &policies);
//! assert_eq!(
//!     out.contents.as_deref(),
//!     Some("images:\r\n  - name: app # keep me\r\n    newTag: \"1.10\" # {\"$imagepolicy\": \"flux-system:app:tag\"}\r\n"),
//! );
//! assert_eq!(out.changes[0].old_value, "1.9");
//! assert_eq!(out.changes[0].new_value, "1.10");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;

use gitops_core::ImageRef;
use gitops_core::fs::atomic::{self, FileOps, Writer};
use gitops_core::fs::{self, FileTree, OsTree, RelPath};
use gitops_core::yaml::{self, Budget};

use crate::scan::RunBudget;
use serde::Serialize;

use crate::marker::{Field, PolicyId};
use crate::quote;
use crate::report::{Change, ChangeSource, Report};
use crate::scan::{self, ObjectRef, Warning, WarningKind};
use crate::syntax::Tree;
use crate::walk::{self, Outcome};

/// Why applying policies to a tree failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Listing or reading the tree failed.
    #[error("cannot read the tree")]
    Scan(#[from] scan::Error),
    /// Opening the root failed.
    #[error("cannot open the tree")]
    Open(#[source] fs::Error),
    /// Staging or committing a file failed (every file was left as it was).
    #[error("cannot write the changes")]
    Write(#[from] atomic::Error),
    /// A `--policy` style assignment is malformed.
    #[error(
        "invalid policy assignment {input:?}: expected <namespace>:<name>=<image>[:<tag>][@<digest>]"
    )]
    Assignment {
        /// The text given.
        input: String,
        /// What was wrong with the image, when that was the problem.
        #[source]
        source: Option<gitops_core::image_ref::Error>,
    },
}

/// The latest image of each policy: `policy id → ImageRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    map: HashMap<PolicyId, ImageRef>,
}

impl Policies {
    /// No policies.
    pub fn new() -> Policies {
        Policies::default()
    }

    /// Set the image of a policy; returns the previous one.
    pub fn insert(&mut self, policy: PolicyId, image: ImageRef) -> Option<ImageRef> {
        self.map.insert(policy, image)
    }

    /// The image of a policy.
    pub fn get(&self, policy: &PolicyId) -> Option<&ImageRef> {
        self.map.get(policy)
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Parse `<ns>:<name>=<image>[:<tag>][@<digest>]` (the CLI's `--policy`).
    ///
    /// ```
    /// use gitops_setters::apply::Policies;
    ///
    /// let (id, image) = Policies::parse_assignment("flux-system:app=ghcr.io/org/app:v2")?;
    /// assert_eq!(id.to_string(), "flux-system:app");
    /// assert_eq!(image.to_string(), "ghcr.io/org/app:v2");
    /// assert!(Policies::parse_assignment("app=nginx:1").is_err());
    /// # Ok::<(), gitops_setters::apply::Error>(())
    /// ```
    pub fn parse_assignment(s: &str) -> Result<(PolicyId, ImageRef), Error> {
        let bad = |source| Error::Assignment {
            input: s.to_owned(),
            source,
        };
        let (id, image) = s.split_once('=').ok_or_else(|| bad(None))?;
        let id: PolicyId = id.parse().map_err(|_| bad(None))?;
        let image = ImageRef::parse(image).map_err(|e| bad(Some(e)))?;
        Ok((id, image))
    }
}

impl FromIterator<(PolicyId, ImageRef)> for Policies {
    fn from_iter<I: IntoIterator<Item = (PolicyId, ImageRef)>>(iter: I) -> Self {
        Policies {
            map: iter.into_iter().collect(),
        }
    }
}

/// The value a marker asks for, or the missing part (`"tag"`, `"digest"`).
pub fn value_for(field: Field, image: &ImageRef) -> Result<String, &'static str> {
    match field {
        Field::Image => Ok(image.to_string()),
        Field::Name => Ok(image.name().to_owned()),
        Field::Tag => image.tag().map(|t| t.as_str().to_owned()).ok_or("tag"),
        Field::Digest => image
            .digest()
            .map(|d| d.as_str().to_owned())
            .ok_or("digest"),
    }
}

/// The outcome of applying policies to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileApply {
    /// The new file content, when something changed.
    pub contents: Option<String>,
    /// The changes, in source order.
    pub changes: Vec<Change>,
    /// Warnings (malformed or unattached markers, missing digests, syntax errors).
    pub warnings: Vec<Warning>,
    /// Number of markers found (changed or not).
    pub markers: usize,
}

/// One replacement: byte range and new text.
pub(crate) struct Edit {
    pub range: std::ops::Range<usize>,
    pub text: String,
}

/// Apply `edits` (sorted, non-overlapping) to `src`.
pub(crate) fn splice(src: &str, edits: &[Edit]) -> String {
    let extra: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(src.len() + extra);
    let mut at = 0;
    for e in edits {
        out.push_str(&src[at..e.range.start]);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&src[at..]);
    out
}

/// Apply `policies` to one file's bytes (not UTF-8: a warning, no change).
pub fn apply_bytes(path: &RelPath, bytes: &[u8], policies: &Policies) -> FileApply {
    match std::str::from_utf8(bytes) {
        Ok(src) => apply_str(path, src, policies),
        Err(_) => FileApply {
            warnings: vec![Warning {
                file: path.clone(),
                line: 0,
                kind: WarningKind::NotUtf8,
            }],
            ..FileApply::default()
        },
    }
}

/// Apply `policies` to one file's text. Pure: no I/O.
pub fn apply_str(path: &RelPath, src: &str, policies: &Policies) -> FileApply {
    apply_in(path, src, policies, &Budget::default())
        .unwrap_or_else(|e| scan::budget_skipped(path, e))
}

impl scan::HasWarnings for FileApply {
    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }
}

/// [`apply_str`] against the run's `budget`.
fn apply_in(
    path: &RelPath,
    src: &str,
    policies: &Policies,
    budget: &Budget,
) -> Result<FileApply, yaml::Error> {
    let mut out = FileApply::default();
    let Some(tree) = scan::parse_in(path, src, &mut out.warnings, budget)? else {
        return Ok(out);
    };
    let located = scan::locate(&tree, path, &mut out.warnings);
    out.markers = located.len();
    let mut objects: Vec<Option<ObjectRef>> = Vec::new();
    objects.resize_with(tree.docs.len(), || None);
    let mut edits = Vec::new();
    for l in located {
        let Some(image) = policies.get(&l.setter.policy) else {
            continue; // unknown policy: ignored, as in Flux
        };
        match value_for(l.setter.field, image) {
            Ok(new) => {
                if let Some(edit) = edit_scalar(&tree, l.target, &new) {
                    let node = &tree.nodes[l.target];
                    let object = scan::object_of(&tree, &mut objects, node.doc);
                    out.changes.push(change(
                        path,
                        &tree,
                        l.target,
                        &new,
                        ChangeSource::Marker(l.setter),
                        object,
                    ));
                    edits.push(edit);
                }
            }
            Err(part) => out.warnings.push(Warning {
                file: path.clone(),
                line: l.comment_line,
                kind: WarningKind::MissingPart {
                    setter: l.setter,
                    part,
                },
            }),
        }
    }
    if !edits.is_empty() {
        edits.sort_by_key(|e| e.range.start);
        out.contents = Some(splice(src, &edits));
    }
    Ok(out)
}

/// The edit that writes `new` into scalar `node`, or `None` when it already
/// holds that value (or is a block scalar).
pub(crate) fn edit_scalar(tree: &Tree<'_>, node: usize, new: &str) -> Option<Edit> {
    let n = &tree.nodes[node];
    let (old, style) = n.scalar()?;
    if old == new {
        return None;
    }
    // Only splice on a range that is a valid slice of the source.
    tree.src.get(n.range.clone())?;
    let text = quote::render(new, style, n.flow)?;
    Some(Edit {
        range: n.range.clone(),
        text,
    })
}

pub(crate) fn change(
    path: &RelPath,
    tree: &Tree<'_>,
    node: usize,
    new: &str,
    setter: ChangeSource,
    object: ObjectRef,
) -> Change {
    let n = &tree.nodes[node];
    Change {
        file: path.clone(),
        line: n.line,
        old_value: n.scalar().map(|(v, _)| v.to_owned()).unwrap_or_default(),
        new_value: new.to_owned(),
        setter,
        object,
    }
}

/// Apply `policies` to every candidate file under `dir` of `tree`, calling
/// `on_change(path, old, new)` for each file that changes. Files are read and
/// rewritten one at a time.
///
/// ```
/// use gitops_core::ImageRef;
/// use gitops_core::fs::{MemTree, RelPath};
/// use gitops_setters::apply::{apply_tree, Policies};
/// use gitops_setters::marker::PolicyId;
///
/// let mut tree = MemTree::new();
/// tree.insert("a.yaml", "image: app:1 # {\"$imagepolicy\": \"ns:app\"}\n")?;
/// tree.insert("b.yaml", "image: app:1 # {\"$imagepolicy\": \"ns:other\"}\n")?;
/// let policies: Policies = [(PolicyId::new("ns", "app"), ImageRef::parse("app:2")?)].into_iter().collect();
///
/// let mut written = Vec::new();
/// let report = apply_tree(&tree, &RelPath::root(), &policies, &mut |path, _old, new| {
///     written.push((path.to_string(), new.to_owned()));
///     Ok(())
/// })?;
/// assert_eq!(written, [("a.yaml".to_owned(), "image: app:2 # {\"$imagepolicy\": \"ns:app\"}\n".to_owned())]);
/// assert_eq!(report.changes.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply_tree(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    policies: &Policies,
    on_change: &mut dyn FnMut(&RelPath, &str, &str) -> Result<(), atomic::Error>,
) -> Result<Report, Error> {
    apply_tree_run(
        tree,
        dir,
        policies,
        &RunBudget::PerFile(gitops_core::yaml::BudgetLimits::default()),
        on_change,
    )
}

/// [`apply_tree`], counting every parsed file against the run's YAML
/// `budget` (nodes, documents and bytes; see [`Budget`]).
pub fn apply_tree_with(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    policies: &Policies,
    budget: &Budget,
    on_change: &mut dyn FnMut(&RelPath, &str, &str) -> Result<(), atomic::Error>,
) -> Result<Report, Error> {
    apply_tree_run(
        tree,
        dir,
        policies,
        &RunBudget::Shared(budget.clone()),
        on_change,
    )
}

/// [`apply_tree`] with the YAML bounded as `budget` says ([`apply_tree`]
/// gives each file a budget of its own with the default limits).
pub fn apply_tree_run(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    policies: &Policies,
    budget: &RunBudget,
    on_change: &mut dyn FnMut(&RelPath, &str, &str) -> Result<(), atomic::Error>,
) -> Result<Report, Error> {
    let files: Vec<RelPath> = fs::walk_files(tree, dir)
        .map_err(|e| Error::Scan(scan::Error::Walk(e)))?
        .into_iter()
        .filter(scan::is_candidate)
        .collect();
    let mut report = Report {
        files_scanned: files.len(),
        ..Report::default()
    };
    let work = |p: &RelPath, bytes: Vec<u8>| {
        let one = match std::str::from_utf8(&bytes) {
            Ok(src) => apply_in(p, src, policies, &budget.for_file())?,
            Err(_) => apply_bytes(p, &bytes, policies),
        };
        let old = one.contents.is_some().then_some(bytes);
        Ok((one, old))
    };
    walk::run(
        tree,
        &files,
        scan::mentions_marker,
        &work,
        &mut |path, r| {
            let r = r.map_err(|source| scan::Error::Read {
                path: path.clone(),
                source,
            })?;
            let Outcome::Done(done) = r else {
                return Ok(());
            };
            let (one, old) = done.map_err(scan::Error::Budget)?;
            report.files_parsed += 1;
            report.markers += one.markers;
            report.warnings.extend(one.warnings);
            if let (Some(new), Some(old)) = (one.contents, old) {
                let old = std::str::from_utf8(&old).unwrap_or_default();
                on_change(path, old, &new)?;
                report.files_changed.push(path.clone());
                report.changes.extend(one.changes);
            }
            Ok::<(), Error>(())
        },
    )?;
    Ok(report)
}

/// Apply `policies` to `tree`, a directory on disk, atomically: either every
/// changed file is replaced or none is. The files are written by
/// gitops-core's [`Writer`] (see [`atomic`]) over the file-system
/// operations `ops` ([`atomic::OsOps`] for the real ones). Symlinks are
/// never followed and nothing outside the tree's root is read or written.
///
/// ```no_run
/// use gitops_core::ImageRef;
/// use gitops_core::fs::OsTree;
/// use gitops_core::fs::atomic::OsOps;
/// use gitops_setters::apply::{apply_dir, Policies};
/// use gitops_setters::marker::PolicyId;
///
/// let policies: Policies =
///     [(PolicyId::new("flux-system", "podinfo"), ImageRef::parse("ghcr.io/stefanprodan/podinfo:6.5.1")?)]
///         .into_iter()
///         .collect();
/// let tree = OsTree::new("./clusters/prod")?;
/// let report = apply_dir(&tree, &policies, Box::new(OsOps::default()))?;
/// for change in &report.changes {
///     println!("{}:{}: {} -> {}", change.file, change.line, change.old_value, change.new_value);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply_dir(
    tree: &OsTree,
    policies: &Policies,
    ops: Box<dyn FileOps>,
) -> Result<Report, Error> {
    let mut writer = Writer::with_ops(tree.root(), ops)?;
    let report = apply_tree(tree, &RelPath::root(), policies, &mut |path, _, new| {
        writer.stage(path, new.as_bytes())
    })?;
    writer.commit()?;
    Ok(report)
}
