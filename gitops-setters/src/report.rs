//! What a run changed: a flat list of [`Change`]s plus the groupings Flux's
//! commit templates use (by file and object, by object, unique changes).

use std::collections::BTreeMap;

use gitops_core::fs::RelPath;
use serde::Serialize;

use crate::marker::Setter;
use crate::scan::{ObjectRef, Warning};

pub(crate) fn ser_path<S: serde::Serializer>(p: &RelPath, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

fn ser_paths<S: serde::Serializer>(ps: &[RelPath], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(RelPath::as_str))
}

/// One rewritten scalar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The file, relative to the root.
    #[serde(serialize_with = "ser_path")]
    pub file: RelPath,
    /// 1-based line of the scalar.
    pub line: usize,
    /// The value before (unescaped).
    pub old_value: String,
    /// The value after (unescaped).
    pub new_value: String,
    /// What asked for it: a setter marker, or a Flux v1 automated container.
    pub setter: ChangeSource,
    /// The object the scalar belongs to.
    pub object: ObjectRef,
}

/// What asked for a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ChangeSource {
    /// A `$imagepolicy` marker; displays as `<ns>:<policy>[:tag|:name|:digest]`.
    Marker(Setter),
    /// A container of a Flux v1 automated workload; displays as
    /// `<container>` for the whole image, `<container>:<part>` for one field of
    /// a split HelmRelease image (`registry`, `repository`, `tag`).
    Container {
        /// The container name (for HelmRelease values: `chart-image` or the values key).
        container: String,
        /// The image part the scalar holds, when it holds only one.
        part: Option<&'static str>,
    },
}

impl std::fmt::Display for ChangeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeSource::Marker(s) => write!(f, "{s}"),
            ChangeSource::Container {
                container,
                part: None,
            } => f.write_str(container),
            ChangeSource::Container {
                container,
                part: Some(p),
            } => write!(f, "{container}:{p}"),
        }
    }
}

impl Serialize for ChangeSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A change without its position: Flux's `Change{OldValue, NewValue, Setter}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChangeSummary {
    /// The value before.
    pub old_value: String,
    /// The value after.
    pub new_value: String,
    /// The marker, `<ns>:<policy>[:suffix]`.
    pub setter: String,
}

/// The changes of one object (Flux's `ObjectChanges` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectChanges {
    /// `apiVersion` of the object.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace` (empty when unset).
    pub namespace: String,
    /// `metadata.name` (empty when unset).
    pub name: String,
    /// Its changes in file order.
    pub changes: Vec<ChangeSummary>,
}

/// The changes of one file, by object (Flux's `FileChanges[file]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChanges {
    /// The file, relative to the root.
    pub file: String,
    /// Objects of that file with their changes.
    pub objects: Vec<ObjectChanges>,
}

/// The result of an apply run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every change, by file then position.
    pub changes: Vec<Change>,
    /// Warnings, by file then line.
    pub warnings: Vec<Warning>,
    /// Files that were (or, in a dry run, would be) rewritten.
    #[serde(serialize_with = "ser_paths")]
    pub files_changed: Vec<RelPath>,
    /// Candidate files seen.
    pub files_scanned: usize,
    /// Candidate files parsed (those mentioning `$imagepolicy`).
    pub files_parsed: usize,
    /// Markers found, changed or not.
    pub markers: usize,
}

fn summary(c: &Change) -> ChangeSummary {
    ChangeSummary {
        old_value: c.old_value.clone(),
        new_value: c.new_value.clone(),
        setter: c.setter.to_string(),
    }
}

fn group_by_object<'a>(changes: impl Iterator<Item = &'a Change>) -> Vec<ObjectChanges> {
    let mut by: BTreeMap<&ObjectRef, Vec<ChangeSummary>> = BTreeMap::new();
    for c in changes {
        by.entry(&c.object).or_default().push(summary(c));
    }
    by.into_iter()
        .map(|(o, changes)| ObjectChanges {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
            changes,
        })
        .collect()
}

impl Report {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Changes grouped by file (sorted), then by object (sorted by apiVersion,
    /// kind, namespace, name).
    pub fn file_changes(&self) -> Vec<FileChanges> {
        let mut by: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for c in &self.changes {
            by.entry(c.file.as_str()).or_default().push(c);
        }
        by.into_iter()
            .map(|(file, cs)| FileChanges {
                file: file.to_owned(),
                objects: group_by_object(cs.into_iter()),
            })
            .collect()
    }

    /// Changes grouped by object, whatever file they are in.
    pub fn objects(&self) -> Vec<ObjectChanges> {
        group_by_object(self.changes.iter())
    }

    /// Distinct `(old, new, setter)` triples in first-seen order (Flux's
    /// `Result.Changes()`).
    pub fn unique_changes(&self) -> Vec<ChangeSummary> {
        let mut seen = std::collections::HashSet::new();
        self.changes
            .iter()
            .map(summary)
            .filter(|s| seen.insert(s.clone()))
            .collect()
    }
}
