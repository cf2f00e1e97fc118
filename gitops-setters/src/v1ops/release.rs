//! `fluxctl release` as a Git edit: move workloads to a given image
//! (`--update-image IMAGE:TAG`) or to the newest tag each container's
//! filter allows (`--update-all-images`), with fluxd's rules
//! (`pkg/update/release_image.go`, `filter.go`):
//!
//! - only workloads that use the image (same repository, registry
//!   normalised) are released; the others are *ignored* ("a different
//!   image");
//! - a locked workload is refused unless it is named and `force` is set;
//!   with `--all` locked and ignored workloads are *skipped*;
//! - a workload annotated `ignore: "true"` is skipped (unless named and
//!   forced, as in fluxd);
//! - a container's tag filter must allow the tag, unless forced (`force`
//!   has no effect on `--update-all-images`);
//! - only the scalars holding the image change, in the form the manifest
//!   writes them (registry and name as written, new tag).
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_core::ImageRef;
//! use gitops_setters::v1ops::Repository;
//! use gitops_setters::v1ops::policy::AnyFilter;
//! use gitops_setters::v1ops::release::{self, ImageSpec, ReleaseSpec};
//!
//! let src = "kind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: \"nginx:1.25\" # pinned\n";
//! let mut tree = MemTree::new();
//! tree.insert("web.yaml", src)?;
//! let repo = Repository::load(&tree, &RelPath::root())?;
//! let spec = ReleaseSpec::workloads(vec!["prod:deployment/web".parse()?], ImageSpec::Image(ImageRef::parse("nginx:1.27")?));
//! let out = release::release(&repo, &spec, &AnyFilter, &release::NoRegistry, None)?;
//! assert_eq!(out.files[0].new, src.replace("nginx:1.25", "nginx:1.27"));
//! assert_eq!(out.message, "Release nginx:1.27 to prod:deployment/web");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - fluxd checked with the registry that `IMAGE:TAG` exists before a
//!   release; offline, the tag is written as given.
//! - A named workload that does not exist is an error (fluxd reported it
//!   as skipped, "not found in repository"), and so is a named locked
//!   workload without `force` (fluxd: skipped, "locked"), so that a
//!   release that cannot happen changes nothing and says why.

use std::collections::BTreeMap;

use gitops_core::ImageRef;
use gitops_core::fs::RelPath;
use serde::Serialize;

use super::{Error, FileEdit, Repository, WorkloadId, WorkloadInfo};
use crate::apply::{self, Edit};
use crate::v1::{self, TagChooser};

/// Which workloads to release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workloads {
    /// `--all`.
    All,
    /// `--workload …` (at least one).
    Ids(Vec<WorkloadId>),
}

/// Which image to release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    /// `--update-image IMAGE:TAG`.
    Image(ImageRef),
    /// `--update-all-images`: the newest tag each container's filter allows.
    AllLatest,
}

impl ImageSpec {
    /// Parse `--update-image`: a reference with a tag.
    pub fn parse(s: &str) -> Result<ImageSpec, Error> {
        let bad = |reason: String| Error::InvalidImage {
            input: s.to_owned(),
            reason,
        };
        let image = ImageRef::parse(s).map_err(|e| bad(e.to_string()))?;
        if image.tag().is_none() {
            return Err(bad(
                "blank tag (if you want latest, explicitly state the tag :latest)".to_owned(),
            ));
        }
        Ok(ImageSpec::Image(image))
    }
}

/// A release, as `fluxctl release` sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSpec {
    /// The workloads.
    pub workloads: Workloads,
    /// The image.
    pub image: ImageSpec,
    /// `--exclude`.
    pub excludes: Vec<WorkloadId>,
    /// `--force`: release named locked workloads and ignore container
    /// filters (not with `--update-all-images`).
    pub force: bool,
}

impl ReleaseSpec {
    /// Release `image` to the workloads `ids`.
    pub fn workloads(ids: Vec<WorkloadId>, image: ImageSpec) -> ReleaseSpec {
        ReleaseSpec {
            workloads: Workloads::Ids(ids),
            image,
            excludes: Vec::new(),
            force: false,
        }
    }
}

/// Tells whether a tag passes a container's filter.
pub trait TagFilter {
    /// Why the filter cannot be used.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Whether `tag` passes `filter` (`glob:…`, `regexp:…`, `semver:…`;
    /// the rule that `latest` passes only `glob:latest` included).
    fn matches(&self, filter: &str, tag: &str) -> Result<bool, Self::Error>;
}

impl TagFilter for super::policy::AnyFilter {
    type Error = std::convert::Infallible;
    /// Every tag passes.
    fn matches(&self, _filter: &str, _tag: &str) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A [`TagChooser`] with no registry: `--update-all-images` chooses nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRegistry;

impl TagChooser for NoRegistry {
    type Error = std::convert::Infallible;
    fn choose(
        &self,
        _image: &ImageRef,
        _filter: &str,
    ) -> Result<Option<gitops_core::Tag>, Self::Error> {
        Ok(None)
    }
}

/// fluxd's release status of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Released.
    Success,
    /// Considered and left alone (locked, ignored, up to date, no image).
    Skipped,
    /// Not concerned (a different image, excluded).
    Ignored,
}

impl Status {
    /// fluxd's name of the status: `success`, `skipped`, `ignored`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Skipped => "skipped",
            Status::Ignored => "ignored",
        }
    }
}

/// One container moved to a new image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerUpdate {
    /// The container.
    pub container: String,
    /// Its image before.
    pub current: String,
    /// Its image after.
    pub target: String,
}

/// What happened to one workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadResult {
    /// The workload.
    pub workload: WorkloadId,
    /// Its status.
    pub status: Status,
    /// Why it was skipped or ignored (fluxd's wording).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The containers updated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerUpdate>,
}

/// The result of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Every workload considered, by id.
    pub results: Vec<WorkloadResult>,
    /// The files rewritten.
    pub files: Vec<FileEdit>,
    /// fluxd's commit message.
    pub message: String,
}

impl Release {
    /// The images released, sorted and deduplicated (fluxd `ChangedImages`).
    pub fn changed_images(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .results
            .iter()
            .flat_map(|r| r.containers.iter().map(|c| c.target.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Compute a release on `repo`. Pure: returns the new file texts; nothing
/// is written. `filters` decides whether a tag passes a container's filter,
/// `chooser` picks tags for [`ImageSpec::AllLatest`].
pub fn release<F: TagFilter, C: TagChooser + ?Sized>(
    repo: &Repository,
    spec: &ReleaseSpec,
    filters: &F,
    chooser: &C,
    message: Option<&str>,
) -> Result<Release, Error> {
    let named = matches!(spec.workloads, Workloads::Ids(_));
    let selected: Vec<&WorkloadInfo> = match &spec.workloads {
        Workloads::All => repo.workloads(),
        Workloads::Ids(ids) => ids
            .iter()
            .map(|id| repo.workload(id))
            .collect::<Result<_, _>>()?,
    };
    let mut results = Vec::new();
    let mut edits: BTreeMap<RelPath, Vec<Edit>> = BTreeMap::new();
    for w in selected {
        let result = |status, reason: &str| WorkloadResult {
            workload: w.id.clone(),
            status,
            reason: Some(reason.to_owned()),
            containers: Vec::new(),
        };
        if spec.excludes.contains(&w.id) {
            results.push(result(Status::Ignored, "excluded"));
            continue;
        }
        if let ImageSpec::Image(target) = &spec.image {
            let name = target.normalized_name();
            if !w
                .containers
                .iter()
                .any(|c| c.image.normalized_name() == name)
            {
                results.push(result(Status::Ignored, "a different image"));
                continue;
            }
        }
        if !(named && spec.force) {
            if w.policy.locked {
                if named {
                    return Err(Error::Locked {
                        id: Box::new(w.id.clone()),
                        file: w.file.clone(),
                        line: w.line,
                        user: w.policy.locked_user.clone(),
                        message: w.policy.locked_msg.clone(),
                    });
                }
                results.push(result(Status::Skipped, "locked"));
                continue;
            }
            if w.policy.ignored() {
                results.push(result(Status::Skipped, "ignore"));
                continue;
            }
        }
        let mut updates: Vec<(String, ImageRef)> = Vec::new();
        let mut why = "does not use image(s)".to_owned();
        for c in &w.containers {
            let filter = if spec.force && matches!(spec.image, ImageSpec::Image(_)) {
                "glob:*"
            } else {
                c.filter.as_str()
            };
            let tag = match &spec.image {
                ImageSpec::Image(target) => {
                    if c.image.normalized_name() != target.normalized_name() {
                        continue;
                    }
                    let tag = target.tag().expect("ImageSpec::parse requires a tag");
                    let ok = filters.matches(filter, tag.as_str()).map_err(|e| {
                        Error::InvalidPattern {
                            id: Box::new(w.id.clone()),
                            container: c.name.clone(),
                            pattern: filter.to_owned(),
                            source: Box::new(e),
                        }
                    })?;
                    if !ok {
                        why = format!(
                            "tag {} does not match the filter {filter} of container {}",
                            tag.as_str(),
                            c.name
                        );
                        continue;
                    }
                    tag.clone()
                }
                ImageSpec::AllLatest => match chooser.choose(&c.image, filter) {
                    Ok(Some(t)) => t,
                    Ok(None) => {
                        why = "image(s) up to date".to_owned();
                        continue;
                    }
                    Err(e) => {
                        why = format!("cannot find one or more images: {e}");
                        continue;
                    }
                },
            };
            if c.image.tag() == Some(&tag) && c.image.digest().is_none() {
                why = "image(s) up to date".to_owned();
                continue;
            }
            let new = c.image.clone().without_tag_and_digest().with_tag(tag);
            updates.push((c.name.clone(), new));
        }
        if updates.is_empty() {
            let status = if why == "does not use image(s)" {
                Status::Ignored
            } else {
                Status::Skipped
            };
            results.push(result(status, &why));
            continue;
        }
        let file_edits = repo.with_workload(&w.id, |_, tree, found| {
            let mut out = Vec::new();
            for (name, new) in &updates {
                let Some(f) = found.containers.iter().find(|f| &f.container.name == name) else {
                    continue;
                };
                for (node, value, _) in v1::targets(&f.shape, new) {
                    if let Some(e) = apply::edit_scalar(tree, node, &value) {
                        out.push(e);
                    }
                }
            }
            Ok(out)
        })?;
        let list = edits.entry(w.file.clone()).or_default();
        for e in file_edits {
            if !list.iter().any(|x| x.range == e.range) {
                list.push(e);
            }
        }
        results.push(WorkloadResult {
            workload: w.id.clone(),
            status: Status::Success,
            reason: None,
            containers: updates
                .into_iter()
                .map(|(container, new)| {
                    let current = w
                        .containers
                        .iter()
                        .find(|c| c.name == container)
                        .map(|c| c.image.to_string())
                        .unwrap_or_default();
                    ContainerUpdate {
                        container,
                        current,
                        target: new.to_string(),
                    }
                })
                .collect(),
        });
    }
    results.sort_by(|a, b| a.workload.cmp(&b.workload));
    let mut files = Vec::new();
    for (path, mut list) in edits {
        if list.is_empty() {
            continue;
        }
        list.sort_by_key(|e| e.range.start);
        let old = repo
            .files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let new = apply::splice(&old, &list);
        files.push(FileEdit { path, old, new });
    }
    let message = match message.filter(|m| !m.is_empty()) {
        Some(m) => m.to_owned(),
        None => {
            let image = match &spec.image {
                ImageSpec::Image(i) => i.to_string(),
                ImageSpec::AllLatest => "all latest".to_owned(),
            };
            let workloads = match &spec.workloads {
                Workloads::All => "all".to_owned(),
                Workloads::Ids(ids) => ids
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            format!("Release {image} to {workloads}")
        }
    };
    Ok(Release {
        results,
        files,
        message,
    })
}
