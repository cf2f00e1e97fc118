//! Flux v1 workload automation, with the byte-preserving rewrite.
//!
//! Flux v1 (fluxcd/flux) updated images of workloads annotated
//! `fluxcd.io/automated: "true"` (or the legacy `flux.weave.works/automated`).
//! This module finds those workloads, maps their containers to the YAML
//! scalars that hold the image, asks a [`TagChooser`] for the tag each
//! container should run, and rewrites only the scalars that hold the tag.
//!
//! Workloads and their containers, as Flux v1 reads them:
//!
//! - `Deployment`, `DaemonSet`, `StatefulSet`: `spec.template.spec.containers`
//!   then `initContainers`, by `name`, image in `image`;
//! - `CronJob`: the same under `spec.jobTemplate.spec.template.spec`;
//! - `Job`: the same as a Deployment (see the deviation below);
//! - `HelmRelease` (`helm.fluxcd.io/v1`, or the legacy `flux.weave.works`
//!   group): in `spec.values`, a top-level `image` is the container
//!   `chart-image`, and every `values.<key>` mapping with an `image` is the
//!   container `<key>`. `image` is either a string (with optional sibling
//!   `registry` and `tag` strings) or a mapping with `repository` (and
//!   optional `registry`, `tag`). The annotations
//!   `repository.fluxcd.io/<c>`, `registry.fluxcd.io/<c>` and
//!   `tag.fluxcd.io/<c>` name dot-separated paths under `spec.values` and
//!   override what was found for container `<c>`;
//! - items of a `*List` kind are read as objects.
//!
//! Policies (annotations, `fluxcd.io/` or `flux.weave.works/` prefix):
//! `automated: "true"` enables automation, `locked: "true"` or
//! `ignore: "true"` disables it; `tag.<container>` (or
//! `filter.fluxcd.io/<container>`) is the tag filter, `glob:*` when absent.
//! When several spellings are present, `fluxcd.io/tag.<c>` wins over
//! `flux.weave.works/tag.<c>`, which wins over `filter.fluxcd.io/<c>`.
//!
//! ```
//! use gitops_core::{ImageRef, Tag};
//! use gitops_core::fs::RelPath;
//! use gitops_setters::v1::{update_str, TagChooser};
//!
//! /// Always moves to `1.1.0`.
//! struct Fixed;
//! impl TagChooser for Fixed {
//!     type Error = std::convert::Infallible;
//!     fn choose(&self, _image: &ImageRef, _filter: &str) -> Result<Option<Tag>, Self::Error> {
//!         Ok(Some(Tag::parse("1.1.0").expect("valid tag")))
//!     }
//! }
//!
//! let src = "apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: web\n  annotations:\n    fluxcd.io/automated: \"true\"\nspec:\n  values:\n    image:\n      repository: ghcr.io/org/web\n      tag: 1.0.0\n";
//! let out = update_str(&RelPath::new("web.yaml")?, src, &Fixed);
//! assert_eq!(out.contents.unwrap(), src.replace("tag: 1.0.0", "tag: 1.1.0"));
//! assert_eq!(out.changes[0].setter.to_string(), "chart-image:tag");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Names are kept exactly as written (Flux v1 normalised some, e.g. when
//!   it split `registry`); only the scalars holding the tag change.
//! - A digest pinned in a whole-image value is dropped when the tag moves (the
//!   old digest belongs to the old tag).
//! - Containers whose image does not parse are reported as warnings (Flux v1
//!   kept them with an empty image).
//! - Only `HelmRelease`s of the Flux v1 Helm operator groups are read.
//! - `Job`s are workloads (Flux v1 reads Deployments, DaemonSets,
//!   StatefulSets, CronJobs and HelmReleases only), so an annotated Job is
//!   listed, can be released and is automated like a Deployment.

use std::collections::BTreeMap;

use gitops_core::fs::atomic::{self, FileOps, Writer};
use gitops_core::fs::{self, FileTree, OsTree, RelPath};
use gitops_core::{ImageRef, Tag};
use serde::Serialize;

use crate::apply::{self, Edit, FileApply};
use crate::quote;
use crate::report::{ChangeSource, Report};
use crate::scan::{self, ObjectRef, Warning, WarningKind};
use crate::syntax::{Kind, NodeId, Tree};
use crate::walk::{self, Outcome};

/// The container name Flux v1 gives a HelmRelease's top-level `values.image`.
pub const CHART_IMAGE: &str = "chart-image";

/// Chooses the tag a container should run.
pub trait TagChooser {
    /// Why a choice could not be made (reported as a warning).
    type Error: std::error::Error;

    /// The tag `image` should move to under `filter` (the annotation value:
    /// `glob:<pattern>`, `regexp:<re>`, `regex:<re>`, `semver:<range>`, or a
    /// bare glob), or `None` to leave it as it is.
    fn choose(&self, image: &ImageRef, filter: &str) -> Result<Option<Tag>, Self::Error>;
}

/// The automation policy of a workload, from its annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Automation {
    /// `automated: "true"`.
    pub automated: bool,
    /// `locked: "true"`.
    pub locked: bool,
    /// `ignore: "true"`.
    pub ignored: bool,
}

impl Automation {
    /// True when Flux v1 would update this workload.
    pub fn enabled(&self) -> bool {
        self.automated && !self.locked && !self.ignored
    }
}

/// A container and where its image lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// The container name (`chart-image` or the values key for HelmReleases).
    pub name: String,
    /// The current image.
    #[serde(serialize_with = "ser_image")]
    pub image: ImageRef,
    /// The tag filter (`glob:*` when not annotated).
    pub filter: String,
    /// 1-based line of the image value (of its first part when split).
    pub line: usize,
    /// The YAML fields holding the image, e.g. `["image"]` or
    /// `["image.repository", "image.tag"]` (paths relative to the container
    /// or to `spec.values`).
    pub fields: Vec<String>,
}

fn ser_image<S: serde::Serializer>(i: &ImageRef, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(i)
}

/// A workload found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// The file.
    #[serde(serialize_with = "crate::report::ser_path")]
    pub file: RelPath,
    /// 1-based line where its document (or list item) starts.
    pub line: usize,
    /// The object.
    pub object: ObjectRef,
    /// Its automation policy.
    pub automation: Automation,
    /// Its containers, in Flux v1 order.
    pub containers: Vec<Container>,
}

/// How the image of one container is laid out in YAML.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// One scalar holds the whole reference.
    Whole(NodeId),
    /// `registry`, `image`/`repository` (path only) and `tag`.
    RegistryPathTag {
        registry: NodeId,
        path: NodeId,
        tag: NodeId,
    },
    /// `registry` and `image`/`repository` holding `path:tag`.
    RegistryPath { registry: NodeId, path: NodeId },
    /// `image`/`repository` holding the name and `tag`.
    NameTag { name: NodeId, tag: NodeId },
}

pub(crate) struct Found {
    pub(crate) container: Container,
    pub(crate) shape: Shape,
}

pub(crate) struct FoundWorkload {
    pub(crate) workload: Workload,
    pub(crate) containers: Vec<Found>,
    /// The object's mapping node (for annotation edits).
    pub(crate) node: NodeId,
}

/// True when `bytes` may hold an automated workload (the screening step).
pub fn mentions_automation(bytes: &[u8]) -> bool {
    const KEY: &str = "/automated";
    match std::str::from_utf8(bytes) {
        Ok(text) => text.contains(KEY),
        Err(_) => bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
    }
}

/// Find the workloads of one file (automated or not) with their containers.
///
/// ```
/// use gitops_core::fs::RelPath;
/// use gitops_setters::v1::discover_str;
///
/// let src = "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n    fluxcd.io/automated: 'true'\n    filter.fluxcd.io/app: semver:~1.2\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.2.0\n";
/// let (workloads, warnings) = discover_str(&RelPath::new("web.yaml")?, src);
/// assert!(warnings.is_empty());
/// let c = &workloads[0].containers[0];
/// assert_eq!((c.name.as_str(), c.image.to_string(), c.filter.as_str()), ("app", "nginx:1.2.0".to_owned(), "semver:~1.2"));
/// assert!(workloads[0].automation.enabled());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn discover_str(path: &RelPath, src: &str) -> (Vec<Workload>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let Some(tree) = scan::parse(path, src, &mut warnings) else {
        return (Vec::new(), warnings);
    };
    let found = discover(&tree, path, &mut warnings);
    (found.into_iter().map(|f| f.workload).collect(), warnings)
}

pub(crate) fn discover(
    tree: &Tree<'_>,
    path: &RelPath,
    warnings: &mut Vec<Warning>,
) -> Vec<FoundWorkload> {
    let mut out = Vec::new();
    for doc in &tree.docs {
        if let Some(root) = doc.root {
            object(tree, root, path, warnings, &mut out);
        }
    }
    out
}

fn object(
    tree: &Tree<'_>,
    node: NodeId,
    path: &RelPath,
    warnings: &mut Vec<Warning>,
    out: &mut Vec<FoundWorkload>,
) {
    let s = |p: &[&str]| {
        tree.get_path(node, p)
            .and_then(|n| tree.str(n))
            .unwrap_or("")
            .to_owned()
    };
    let obj = ObjectRef {
        api_version: s(&["apiVersion"]),
        kind: s(&["kind"]),
        namespace: s(&["metadata", "namespace"]),
        name: s(&["metadata", "name"]),
    };
    if obj.kind.ends_with("List") {
        if let Some(items) = tree.get(node, "items") {
            for &item in tree.items(items) {
                object(tree, item, path, warnings, out);
            }
        }
        return;
    }
    let annotations = annotations(tree, node);
    let automation = automation(&annotations);
    let line = tree.nodes[node].line;
    let mut warn = |line: usize, msg: String| {
        warnings.push(Warning {
            file: path.clone(),
            line,
            kind: WarningKind::V1(msg),
        });
    };
    let mut containers = Vec::new();
    match obj.kind.as_str() {
        "Deployment" | "DaemonSet" | "StatefulSet" | "CronJob" | "Job" => {
            let pod: &[&str] = if obj.kind == "CronJob" {
                &["spec", "jobTemplate", "spec", "template", "spec"]
            } else {
                &["spec", "template", "spec"]
            };
            let Some(pod) = tree.get_path(node, pod) else {
                return;
            };
            for list in ["containers", "initContainers"] {
                let Some(seq) = tree.get(pod, list) else {
                    continue;
                };
                for &c in tree.items(seq) {
                    let Some(name) = tree.get(c, "name").and_then(|n| string(tree, n)) else {
                        continue;
                    };
                    let Some(img) = tree.get(c, "image") else {
                        continue;
                    };
                    let Some(text) = string(tree, img) else {
                        warn(
                            tree.nodes[img].line,
                            format!("{obj}: container {name:?}: image is not a string"),
                        );
                        continue;
                    };
                    match ImageRef::parse(text) {
                        Ok(image) => containers.push(Found {
                            container: Container {
                                name: name.to_owned(),
                                image,
                                filter: String::new(),
                                line: tree.nodes[img].line,
                                fields: vec!["image".to_owned()],
                            },
                            shape: Shape::Whole(img),
                        }),
                        Err(e) => warn(
                            tree.nodes[img].line,
                            format!("{obj}: container {name:?}: {e}"),
                        ),
                    }
                }
            }
        }
        "HelmRelease"
            if obj.api_version.starts_with("helm.fluxcd.io/")
                || obj.api_version.starts_with("flux.weave.works/") =>
        {
            if let Some(values) = tree.get_path(node, &["spec", "values"]) {
                containers = helm_containers(tree, values, &annotations);
            }
        }
        _ => {
            if automation.automated {
                warn(
                    line,
                    format!(
                        "{obj}: automated, but Flux v1 automates only Deployment, DaemonSet, StatefulSet, CronJob and HelmRelease"
                    ),
                );
            }
            return;
        }
    }
    for f in &mut containers {
        f.container.filter = tag_filter(&annotations, &f.container.name);
    }
    out.push(FoundWorkload {
        workload: Workload {
            file: path.clone(),
            line,
            object: obj,
            automation,
            containers: containers.iter().map(|f| f.container.clone()).collect(),
        },
        containers,
        node,
    });
}

/// The value of a scalar that reads as a string (Flux v1 decodes values with
/// yaml.v2, so a plain `1.0` is a float, not a string).
fn string<'t>(tree: &'t Tree<'_>, node: NodeId) -> Option<&'t str> {
    let (v, style) = tree.nodes.get(node)?.scalar()?;
    if style == scan::ScalarStyle::Plain && quote::changes_type(v) {
        return None;
    }
    Some(v)
}

pub(crate) fn annotations(tree: &Tree<'_>, node: NodeId) -> BTreeMap<String, String> {
    let Some(a) = tree.get_path(node, &["metadata", "annotations"]) else {
        return BTreeMap::new();
    };
    tree.pairs(a)
        .iter()
        .filter_map(|&(k, v)| Some((tree.str(k)?.to_owned(), tree.str(v)?.to_owned())))
        .collect()
}

const PREFIXES: [&str; 2] = ["fluxcd.io/", "flux.weave.works/"];

fn policy<'a>(annotations: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    PREFIXES
        .iter()
        .find_map(|p| annotations.get(&format!("{p}{name}")))
        .map(String::as_str)
}

fn automation(annotations: &BTreeMap<String, String>) -> Automation {
    let on = |name| policy(annotations, name) == Some("true");
    Automation {
        automated: on("automated"),
        locked: on("locked"),
        ignored: on("ignore"),
    }
}

fn tag_filter(annotations: &BTreeMap<String, String>, container: &str) -> String {
    policy(annotations, &format!("tag.{container}"))
        .or_else(|| {
            annotations
                .get(&format!("filter.fluxcd.io/{container}"))
                .map(String::as_str)
        })
        .unwrap_or("glob:*")
        .to_owned()
}

/// Containers of a HelmRelease's `spec.values`, in Flux v1 order.
fn helm_containers(
    tree: &Tree<'_>,
    values: NodeId,
    annotations: &BTreeMap<String, String>,
) -> Vec<Found> {
    let mut by_name: BTreeMap<String, (Shape, ImageRef, Vec<String>)> = BTreeMap::new();
    if let Some((shape, image, fields)) = as_container(tree, values, "") {
        by_name.insert(CHART_IMAGE.to_owned(), (shape, image, fields));
    }
    for &(k, v) in tree.pairs(values) {
        let Some(key) = tree.str(k) else { continue };
        if matches!(tree.nodes[v].kind, Kind::Map(_))
            && let Some(found) = as_container(tree, v, &format!("{key}."))
        {
            by_name.insert(key.to_owned(), found);
        }
    }
    // User mappings from annotations override what was found.
    let mut maps: BTreeMap<&str, [Option<&str>; 3]> = BTreeMap::new();
    for (k, v) in annotations {
        for (i, prefix) in [
            "registry.fluxcd.io/",
            "repository.fluxcd.io/",
            "tag.fluxcd.io/",
        ]
        .iter()
        .enumerate()
        {
            if let Some(c) = k.strip_prefix(prefix) {
                maps.entry(c).or_default()[i] = Some(v.as_str());
            }
        }
    }
    for (c, [reg, repo, tag]) in maps {
        if let Some(found) = mapped(tree, values, reg, repo, tag) {
            by_name.insert(c.to_owned(), found);
        }
    }
    let mut names: Vec<&String> = by_name.keys().collect();
    names.sort_by_key(|n| (n.as_str() != CHART_IMAGE, n.as_str()));
    let names: Vec<String> = names.into_iter().cloned().collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (shape, image, fields) = by_name.remove(&name)?;
            let line = tree.nodes[first_node(&shape)].line;
            Some(Found {
                container: Container {
                    name,
                    image,
                    filter: String::new(),
                    line,
                    fields,
                },
                shape,
            })
        })
        .collect()
}

fn first_node(shape: &Shape) -> NodeId {
    match *shape {
        Shape::Whole(n) => n,
        Shape::RegistryPathTag { registry, .. } | Shape::RegistryPath { registry, .. } => registry,
        Shape::NameTag { name, .. } => name,
    }
}

/// Build a shape from optional registry, name/path and tag nodes.
fn shape_of(
    tree: &Tree<'_>,
    registry: Option<NodeId>,
    name: NodeId,
    tag: Option<NodeId>,
) -> Option<(Shape, ImageRef)> {
    let reg = registry.and_then(|r| string(tree, r).map(|s| (r, s)));
    let tag = tag.and_then(|t| string(tree, t).map(|s| (t, s)));
    let name_text = string(tree, name)?;
    let mut full = String::new();
    if let Some((_, r)) = reg {
        full.push_str(r);
        full.push('/');
    }
    full.push_str(name_text);
    if let Some((_, t)) = tag {
        full.push(':');
        full.push_str(t);
    }
    let image = ImageRef::parse(&full).ok()?;
    let shape = match (reg, tag) {
        (Some((r, _)), Some((t, _))) => Shape::RegistryPathTag {
            registry: r,
            path: name,
            tag: t,
        },
        (Some((r, _)), None) => Shape::RegistryPath {
            registry: r,
            path: name,
        },
        (None, Some((t, _))) => Shape::NameTag { name, tag: t },
        (None, None) => Shape::Whole(name),
    };
    Some((shape, image))
}

fn fields_of(shape: &Shape, prefix: &str, name_key: &str) -> Vec<String> {
    let f = |k: &str| format!("{prefix}{k}");
    match shape {
        Shape::Whole(_) => vec![f(name_key)],
        Shape::RegistryPathTag { .. } => {
            vec![
                f(&registry_key(name_key)),
                f(name_key),
                f(&tag_key(name_key)),
            ]
        }
        Shape::RegistryPath { .. } => vec![f(&registry_key(name_key)), f(name_key)],
        Shape::NameTag { .. } => vec![f(name_key), f(&tag_key(name_key))],
    }
}

fn registry_key(name_key: &str) -> String {
    match name_key.rsplit_once('.') {
        Some((p, _)) => format!("{p}.registry"),
        None => "registry".to_owned(),
    }
}

fn tag_key(name_key: &str) -> String {
    match name_key.rsplit_once('.') {
        Some((p, _)) => format!("{p}.tag"),
        None => "tag".to_owned(),
    }
}

/// Flux v1 `interpretAsContainer`: a mapping with an `image` string (and
/// optional `registry`, `tag` siblings) or an `image` mapping with `repository`.
fn as_container(
    tree: &Tree<'_>,
    m: NodeId,
    prefix: &str,
) -> Option<(Shape, ImageRef, Vec<String>)> {
    let image = tree.get(m, "image")?;
    match &tree.nodes[image].kind {
        Kind::Scalar { .. } => {
            let (shape, r) = shape_of(tree, tree.get(m, "registry"), image, tree.get(m, "tag"))?;
            let fields = fields_of(&shape, prefix, "image");
            Some((shape, r, fields))
        }
        Kind::Map(_) => {
            let repo = tree.get(image, "repository")?;
            let (shape, r) = shape_of(
                tree,
                tree.get(image, "registry"),
                repo,
                tree.get(image, "tag"),
            )?;
            let fields = fields_of(&shape, prefix, "image.repository");
            Some((shape, r, fields))
        }
        _ => None,
    }
}

/// Flux v1 `interpretMappedContainerImage`: annotation paths under `spec.values`.
fn mapped(
    tree: &Tree<'_>,
    values: NodeId,
    registry: Option<&str>,
    repository: Option<&str>,
    tag: Option<&str>,
) -> Option<(Shape, ImageRef, Vec<String>)> {
    let at = |p: &str| {
        let parts: Vec<&str> = p.split('.').collect();
        tree.get_path(values, &parts)
    };
    let repo_path = repository?;
    let repo = at(repo_path)?;
    string(tree, repo)?;
    let reg = registry.map(|p| at(p).map(|n| (n, p)));
    let tg = tag.map(|p| at(p).map(|n| (n, p)));
    // Every annotated path must exist (Flux: the mapping does not resolve otherwise).
    let reg = match reg {
        Some(None) => return None,
        Some(Some(x)) => Some(x),
        None => None,
    };
    let tg = match tg {
        Some(None) => return None,
        Some(Some(x)) => Some(x),
        None => None,
    };
    if reg.is_some_and(|(n, _)| string(tree, n).is_none())
        || tg.is_some_and(|(n, _)| string(tree, n).is_none())
    {
        return None;
    }
    let (shape, image) = shape_of(tree, reg.map(|x| x.0), repo, tg.map(|x| x.0))?;
    let mut fields = Vec::new();
    if let Some((_, p)) = reg {
        fields.push(p.to_owned());
    }
    fields.push(repo_path.to_owned());
    if let Some((_, p)) = tg {
        fields.push(p.to_owned());
    }
    Some((shape, image, fields))
}

/// `(node, new value, part)` for each scalar of `shape` when the image becomes `new`.
pub(crate) fn targets(
    shape: &Shape,
    new: &ImageRef,
) -> Vec<(NodeId, String, Option<&'static str>)> {
    let tag = new.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
    let path = new.repository().to_owned();
    let registry = new.registry().unwrap_or("").to_owned();
    match *shape {
        Shape::Whole(n) => vec![(n, new.to_string(), None)],
        Shape::RegistryPathTag {
            registry: r,
            path: p,
            tag: t,
        } => vec![
            (r, registry, Some("registry")),
            (p, path, Some("repository")),
            (t, tag, Some("tag")),
        ],
        Shape::RegistryPath {
            registry: r,
            path: p,
        } => vec![
            (r, registry, Some("registry")),
            (p, format!("{path}:{tag}"), Some("repository")),
        ],
        Shape::NameTag { name, tag: t } => vec![
            (name, new.name().to_owned(), Some("repository")),
            (t, tag, Some("tag")),
        ],
    }
}

/// Update the automated workloads of one file. Pure: no I/O besides what the
/// chooser does.
pub fn update_str<C: TagChooser + ?Sized>(path: &RelPath, src: &str, chooser: &C) -> FileApply {
    let mut out = FileApply::default();
    let Some(tree) = scan::parse(path, src, &mut out.warnings) else {
        return out;
    };
    let found = discover(&tree, path, &mut out.warnings);
    let mut edits: Vec<Edit> = Vec::new();
    for w in found {
        if !w.workload.automation.enabled() {
            continue;
        }
        for f in w.containers {
            out.markers += 1;
            let c = &f.container;
            let tag = match chooser.choose(&c.image, &c.filter) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    out.warnings.push(Warning {
                        file: path.clone(),
                        line: c.line,
                        kind: WarningKind::V1(format!(
                            "{}: container {:?}: cannot choose a tag: {}",
                            w.workload.object,
                            c.name,
                            with_causes(&e)
                        )),
                    });
                    continue;
                }
            };
            if c.image.tag() == Some(&tag) {
                continue;
            }
            let new = c.image.clone().without_tag_and_digest().with_tag(tag);
            for (node, value, part) in targets(&f.shape, &new) {
                if edits.iter().any(|e| e.range == tree.nodes[node].range) {
                    continue;
                }
                if let Some(edit) = apply::edit_scalar(&tree, node, &value) {
                    let source = ChangeSource::Container {
                        container: c.name.clone(),
                        part,
                    };
                    let object = w.workload.object.clone();
                    let change = apply::change(path, &tree, node, &value, source, object);
                    out.changes.push(change);
                    edits.push(edit);
                }
            }
        }
    }
    if !edits.is_empty() {
        edits.sort_by_key(|e| e.range.start);
        out.changes.sort_by_key(|c| c.line);
        out.contents = Some(apply::splice(src, &edits));
    }
    out
}

/// Find every workload under `dir` of `tree` (files mentioning `/automated`
/// only), for listing.
pub fn discover_tree(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
) -> Result<(Vec<Workload>, Vec<Warning>), scan::Error> {
    let files: Vec<RelPath> = fs::walk_files(tree, dir)
        .map_err(scan::Error::Walk)?
        .into_iter()
        .filter(scan::is_candidate)
        .collect();
    let mut workloads = Vec::new();
    let mut warnings = Vec::new();
    let work = |p: &RelPath, bytes: Vec<u8>| match std::str::from_utf8(&bytes) {
        Ok(src) => discover_str(p, src),
        Err(_) => (Vec::new(), vec![not_utf8(p)]),
    };
    walk::run(tree, &files, mentions_automation, &work, &mut |path, r| {
        let r = r.map_err(|source| scan::Error::Read {
            path: path.clone(),
            source,
        })?;
        if let Outcome::Done((w, ws)) = r {
            workloads.extend(w);
            warnings.extend(ws);
        }
        Ok(())
    })?;
    Ok((workloads, warnings))
}

pub(crate) fn not_utf8(path: &RelPath) -> Warning {
    Warning {
        file: path.clone(),
        line: 0,
        kind: WarningKind::NotUtf8,
    }
}

/// Update every automated workload under `dir` of `tree`, calling
/// `on_change(path, old, new)` for each file that changes. Files are
/// processed on all cores, so the chooser must be `Sync`.
pub fn update_tree<C: TagChooser + Sync + ?Sized>(
    tree: &(dyn FileTree + Sync),
    dir: &RelPath,
    chooser: &C,
    on_change: &mut dyn FnMut(&RelPath, &str, &str) -> Result<(), atomic::Error>,
) -> Result<Report, apply::Error> {
    let files: Vec<RelPath> = fs::walk_files(tree, dir)
        .map_err(|e| apply::Error::Scan(scan::Error::Walk(e)))?
        .into_iter()
        .filter(scan::is_candidate)
        .collect();
    let mut report = Report {
        files_scanned: files.len(),
        ..Report::default()
    };
    let work = |p: &RelPath, bytes: Vec<u8>| match std::str::from_utf8(&bytes) {
        Ok(src) => {
            let one = update_str(p, src, chooser);
            let old = one.contents.is_some().then_some(bytes);
            (one, old)
        }
        Err(_) => (
            FileApply {
                warnings: vec![not_utf8(p)],
                ..FileApply::default()
            },
            None,
        ),
    };
    walk::run(tree, &files, mentions_automation, &work, &mut |path, r| {
        let r = r.map_err(|source| scan::Error::Read {
            path: path.clone(),
            source,
        })?;
        let Outcome::Done((one, old)) = r else {
            return Ok(());
        };
        report.files_parsed += 1;
        report.markers += one.markers;
        report.warnings.extend(one.warnings);
        if let (Some(new), Some(old)) = (one.contents, old) {
            let old = std::str::from_utf8(&old).unwrap_or_default();
            on_change(path, old, &new)?;
            report.files_changed.push(path.clone());
            report.changes.extend(one.changes);
        }
        Ok::<(), apply::Error>(())
    })?;
    Ok(report)
}

/// Update every automated workload of `tree`, a directory on disk,
/// atomically, through gitops-core's [`Writer`] over the file-system
/// operations `ops` (see [`atomic`]).
pub fn update_dir<C: TagChooser + Sync + ?Sized>(
    tree: &OsTree,
    chooser: &C,
    ops: Box<dyn FileOps>,
) -> Result<Report, apply::Error> {
    let mut writer = Writer::with_ops(tree.root(), ops)?;
    let report = update_tree(tree, &RelPath::root(), chooser, &mut |path, _, new| {
        writer.stage(path, new.as_bytes())
    })?;
    writer.commit()?;
    Ok(report)
}

/// An error and its causes, `outer: inner: …` (a cause its parent already
/// ends with is not repeated).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}
