//! Flux v1 `.flux.yaml` `patchUpdated` patch files, as pure text
//! operations (fluxd `pkg/manifests`).
//!
//! A `patchUpdated` config generates manifests, merges a patch file into
//! them, and records every image update **in the patch file**. This module
//! holds the two steps that need no command and no kustomize build:
//!
//! - [`decide_updates`]: the image updates a [`TagChooser`] wants for the
//!   Flux v1 automated workloads of the (patched) manifests;
//! - [`write_patch`]: the patch file with those updates written in, in place
//!   (byte-preserving) when the patch already sets that container's image,
//!   else as a new patch document appended for the workload, as fluxd adds
//!   one.
//!
//! Reading `.flux.yaml`, running the generators and merging the patch are
//! gitops-automate's `flux_yaml` module.
//!
//! ```
//! use gitops_core::{ImageRef, Tag};
//! use gitops_setters::flux_patch::{decide_updates, write_patch};
//! use gitops_setters::v1::TagChooser;
//!
//! struct To(&'static str);
//! impl TagChooser for To {
//!     type Error = std::convert::Infallible;
//!     fn choose(&self, _: &ImageRef, _: &str) -> Result<Option<Tag>, Self::Error> {
//!         Ok(Some(Tag::parse(self.0).expect("valid tag")))
//!     }
//! }
//!
//! let manifests = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  annotations:\n    fluxcd.io/automated: \"true\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/org/app:1.0.0\n";
//! let (updates, warnings) = decide_updates(manifests, &To("1.1.0"));
//! assert!(warnings.is_empty());
//! assert_eq!(updates[0].id, "default:deployment/app");
//! let patch = write_patch("", "flux-patch.yaml", manifests, &updates)?;
//! assert!(patch.unwrap().contains("- image: ghcr.io/org/app:1.1.0\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviations
//! - fluxd rewrites the whole patch file from a two-way strategic merge
//!   diff; here only the image scalars change (or a document is appended),
//!   so comments and layout survive. When a patch document for the workload
//!   exists but does not set that container's image, the update is refused
//!   with [`Error::PatchHasNoImage`] rather than rewriting the document.
//! - Only `Deployment`, `DaemonSet`, `StatefulSet`, `ReplicaSet`, `Job`,
//!   `Pod` and `CronJob` workloads can be patched; Flux v1 `HelmRelease`s
//!   are [`Error::UnsupportedWorkload`].

use gitops_core::fs::RelPath;
use gitops_core::yaml::{Node, NodeKind, parse_documents};
use gitops_core::{ImageRef, Tag};
use serde::Serialize;

use crate::apply::{self, Edit};
use crate::scan::ObjectRef;
use crate::syntax::{Kind, Tree};
use crate::v1::{self, TagChooser};

/// Why the updates cannot be written into the patch file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The patch file is not valid YAML.
    #[error("{patch}:{line}: cannot parse the patch file")]
    PatchSyntax {
        /// The patch file.
        patch: String,
        /// 1-based line.
        line: usize,
    },
    /// The workload kind cannot be patched here.
    #[error(
        "{workload}: container {container:?}: {kind} workloads cannot be updated through patchUpdated"
    )]
    UnsupportedWorkload {
        /// The workload id.
        workload: String,
        /// The container.
        container: String,
        /// Its kind.
        kind: String,
    },
    /// A patch document for the workload exists but does not set the
    /// container's image; it is not rewritten.
    #[error(
        "{patch}: the patch for {workload} does not set the image of container {container:?}; add `image:` for it to the patch by hand"
    )]
    PatchHasNoImage {
        /// The patch file.
        patch: String,
        /// The workload id.
        workload: String,
        /// The container.
        container: String,
    },
}

/// One image update decided for a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The workload.
    pub workload: ObjectRef,
    /// fluxd's id of it: `namespace:kind/name` (kind lower-cased).
    pub id: String,
    /// The container.
    pub container: String,
    /// The image it runs now.
    #[serde(serialize_with = "ser_image")]
    pub old_image: ImageRef,
    /// The image it moves to.
    #[serde(serialize_with = "ser_image")]
    pub new_image: ImageRef,
}

fn ser_image<S: serde::Serializer>(i: &ImageRef, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(i)
}

fn workload_id(o: &ObjectRef) -> String {
    let ns = if o.namespace.is_empty() {
        "default"
    } else {
        &o.namespace
    };
    format!("{ns}:{}/{}", o.kind.to_lowercase(), o.name)
}

/// The updates `chooser` wants for the automated workloads in `manifests`;
/// choice errors are returned as warnings (text).
pub fn decide_updates<C: TagChooser + ?Sized>(
    manifests: &str,
    chooser: &C,
) -> (Vec<Update>, Vec<String>) {
    let path = RelPath::new("generated.yaml").unwrap_or_else(|_| RelPath::root());
    let (workloads, warnings) = v1::discover_str(&path, manifests);
    let mut notes: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    let mut updates = Vec::new();
    for w in workloads {
        if !w.automation.enabled() {
            continue;
        }
        for c in &w.containers {
            let tag: Tag = match chooser.choose(&c.image, &c.filter) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    notes.push(format!(
                        "{}: container {:?}: cannot choose a tag: {e}",
                        w.object, c.name
                    ));
                    continue;
                }
            };
            if c.image.tag() == Some(&tag) {
                continue;
            }
            updates.push(Update {
                id: workload_id(&w.object),
                workload: w.object.clone(),
                container: c.name.clone(),
                old_image: c.image.clone(),
                new_image: c.image.clone().without_tag_and_digest().with_tag(tag),
            });
        }
    }
    (updates, notes)
}

/// The path from a workload's root to its pod spec, for the kinds a patch
/// can update.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            Some(&["spec", "template", "spec"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Pod" => Some(&["spec"]),
        _ => None,
    }
}

/// `containers` or `initContainers`: where the patched manifests hold
/// `container` of the object.
fn container_list(manifests: &str, u: &Update) -> &'static str {
    let Ok(docs) = parse_documents(manifests, "generated") else {
        return "containers";
    };
    let Some(path) = pod_spec_path(&u.workload.kind) else {
        return "containers";
    };
    for d in &docs {
        let r = &d.root;
        let same = r.get("kind").and_then(Node::as_str) == Some(u.workload.kind.as_str())
            && r.get_path(&["metadata", "name"]).and_then(Node::as_str)
                == Some(u.workload.name.as_str())
            && r.get_path(&["metadata", "namespace"])
                .and_then(Node::as_str)
                .unwrap_or("")
                == u.workload.namespace;
        if !same {
            continue;
        }
        if let Some(NodeKind::Seq(items)) = r
            .get_path(path)
            .and_then(|p| p.get("initContainers"))
            .map(|n| &n.kind)
            && items
                .iter()
                .any(|c| c.get("name").and_then(Node::as_str) == Some(u.container.as_str()))
        {
            return "initContainers";
        }
    }
    "containers"
}

fn yaml_scalar(v: &str) -> String {
    crate::quote::render(v, crate::scan::ScalarStyle::Plain, false).unwrap_or_else(|| v.to_owned())
}

/// A container for an appended patch document: list, name, image.
type NewContainer = (&'static str, String, String);

/// The patch text with `updates` written in: image scalars edited in place,
/// new documents appended for workloads the patch does not mention; `None`
/// when the text does not change. `patch_name` names the file in errors;
/// `manifests` (the patched manifests) tell `containers` from
/// `initContainers` for new documents.
pub fn write_patch(
    src: &str,
    patch_name: &str,
    manifests: &str,
    updates: &[Update],
) -> Result<Option<String>, Error> {
    if updates.is_empty() {
        return Ok(None);
    }
    let tree = Tree::parse(src).map_err(|e| Error::PatchSyntax {
        patch: patch_name.to_owned(),
        line: e.line,
    })?;
    let mut edits: Vec<Edit> = Vec::new();
    // Updates for workloads without a patch document, grouped.
    let mut new_docs: Vec<(ObjectRef, Vec<NewContainer>)> = Vec::new();
    for u in updates {
        let Some(pod_path) = pod_spec_path(&u.workload.kind) else {
            return Err(Error::UnsupportedWorkload {
                workload: u.id.clone(),
                container: u.container.clone(),
                kind: u.workload.kind.clone(),
            });
        };
        let doc_root = tree.docs.iter().filter_map(|d| d.root).find(|&r| {
            let s = |p: &[&str]| tree.get_path(r, p).and_then(|n| tree.str(n)).unwrap_or("");
            s(&["kind"]) == u.workload.kind
                && s(&["metadata", "name"]) == u.workload.name
                && s(&["metadata", "namespace"]) == u.workload.namespace
        });
        let new = u.new_image.to_string();
        match doc_root {
            Some(root) => {
                let image = tree.get_path(root, pod_path).and_then(|spec| {
                    ["containers", "initContainers"].iter().find_map(|list| {
                        let l = tree.get(spec, list)?;
                        if !matches!(tree.nodes[l].kind, Kind::Seq(_)) {
                            return None;
                        }
                        tree.items(l).iter().find_map(|&item| {
                            let name = tree.get(item, "name").and_then(|n| tree.str(n))?;
                            (name == u.container)
                                .then(|| tree.get(item, "image"))
                                .flatten()
                        })
                    })
                });
                let Some(node) = image.filter(|&n| tree.nodes[n].scalar().is_some()) else {
                    return Err(Error::PatchHasNoImage {
                        patch: patch_name.to_owned(),
                        workload: u.id.clone(),
                        container: u.container.clone(),
                    });
                };
                if let Some(e) = apply::edit_scalar(&tree, node, &new) {
                    edits.push(e);
                }
            }
            None => {
                let list = container_list(manifests, u);
                match new_docs.iter_mut().find(|(o, _)| *o == u.workload) {
                    Some((_, cs)) => cs.push((list, u.container.clone(), new)),
                    None => {
                        new_docs.push((u.workload.clone(), vec![(list, u.container.clone(), new)]))
                    }
                }
            }
        }
    }
    edits.sort_by_key(|e| e.range.start);
    let mut out = apply::splice(src, &edits);
    for (o, containers) in &new_docs {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.trim().is_empty() {
            out.push_str("---\n");
        }
        out.push_str(&format!(
            "apiVersion: {}\nkind: {}\nmetadata:\n  name: {}\n",
            yaml_scalar(&o.api_version),
            yaml_scalar(&o.kind),
            yaml_scalar(&o.name)
        ));
        if !o.namespace.is_empty() {
            out.push_str(&format!("  namespace: {}\n", yaml_scalar(&o.namespace)));
        }
        let path = pod_spec_path(&o.kind).unwrap_or(&["spec"]);
        let mut indent = 0;
        for key in path {
            out.push_str(&" ".repeat(indent));
            out.push_str(key);
            out.push_str(":\n");
            indent += 2;
        }
        for list in ["containers", "initContainers"] {
            let items: Vec<_> = containers.iter().filter(|(l, _, _)| *l == list).collect();
            if items.is_empty() {
                continue;
            }
            out.push_str(&" ".repeat(indent));
            out.push_str(list);
            out.push_str(":\n");
            for (_, name, image) in items {
                out.push_str(&format!(
                    "{pad}- image: {}\n{pad}  name: {}\n",
                    yaml_scalar(image),
                    yaml_scalar(name),
                    pad = " ".repeat(indent)
                ));
            }
        }
    }
    Ok((out != src).then_some(out))
}
