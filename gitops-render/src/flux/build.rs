//! A Flux Kustomization build: what kustomize-controller does around
//! `kustomize build` (fluxcd/pkg `kustomize` generator).
//!
//! 1. In `spec.path` of the source, find `kustomization.yaml`,
//!    `kustomization.yml` or `Kustomization`; without one, generate a
//!    kustomization listing every `.yaml`/`.yml` file below the path (in
//!    lexical walk order) and every subdirectory that has its own
//!    kustomization (included whole, not descended into). A file that does
//!    not decode as Kubernetes objects fails the build, naming it.
//! 2. Write the spec into that kustomization: `targetNamespace`
//!    (`namespace`), `namePrefix`, `nameSuffix` overwrite; `patches` and
//!    `components` are appended (a component must be a local relative path;
//!    a missing one is an error unless `ignoreMissingComponents`); `images`
//!    merge by name (`newName` when set; `newTag`/`digest` together).
//! 3. `kustomize build` of the result (the crate's engine, [`crate::build`]).
//! 4. `postBuild` substitution on each object ([`super::postbuild`]).
//! 5. `commonMetadata` labels and annotations set on every object (Flux does
//!    this at apply time, after substitution).
//!
//! ```
//! use gitops_core::flux::Kustomization;
//! use gitops_core::fs::MemTree;
//! use gitops_render::flux::{Resources, build::{BuildOptions, flux_build}};
//!
//! let mut src = MemTree::new();
//! src.insert("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  env: ${ENV}\n")?;
//! let ks: Kustomization = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
//!     "metadata": {"name": "apps", "namespace": "flux-system"},
//!     "spec": {"interval": "5m", "prune": true, "path": "./apps",
//!              "sourceRef": {"kind": "GitRepository", "name": "repo"},
//!              "targetNamespace": "prod", "namePrefix": "p-",
//!              "postBuild": {"substitute": {"ENV": "production"}}}}))?;
//! let out = flux_build(&src, &ks, &Resources::new(), &BuildOptions::default())?;
//! assert_eq!(out.objects[0]["metadata"]["name"], "p-cfg");
//! assert_eq!(out.objects[0]["metadata"]["namespace"], "prod");
//! assert_eq!(out.objects[0]["data"]["env"], "production");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Flux sets `buildMetadata: [originAnnotations]` on a found kustomization
//!   without `resources`; the engine does not support `buildMetadata`, so we
//!   leave it out (objects lack the `config.kubernetes.io/origin` annotation).
//! - `.sourceignore` filtering of the generated resource list and SOPS
//!   decryption are not done here.
//! - Symlinked files are not listed in a generated kustomization.

use std::collections::BTreeMap;

use crate::budget::parse_documents;
use gitops_core::flux::{Kustomization, KustomizationSpec};
use gitops_core::fs::{DirEntry, EntryKind, FileTree, RelPath};
use gitops_core::yaml::{NodeKind, Schema};
use serde_json::{Map, Value, json};

use super::postbuild;
use super::resources::Resources;

/// Names kustomize recognises for a kustomization file, in lookup order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why a Flux build failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `spec.path` or a file below it could not be read.
    #[error("{}: cannot read", gitops_core::quote::truncated(path))]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: gitops_core::fs::Error,
    },
    /// A YAML file found while generating the kustomization is not Kubernetes objects.
    #[error("failed to decode Kubernetes YAML from {path}: {message}")]
    Decode {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The existing kustomization file is not a YAML map.
    #[error("{file}: a kustomization must be a YAML map")]
    NotAMap {
        /// The file.
        file: String,
    },
    /// A `spec.components` entry is not usable.
    #[error("component path '{component}' {reason}")]
    Component {
        /// The entry.
        component: String,
        /// Why.
        reason: &'static str,
    },
    /// `kustomize build` failed.
    #[error("kustomize build failed")]
    Kustomize(#[source] crate::Error),
    /// A built resource could not be converted.
    #[error("kustomize build produced an unreadable object: {0}")]
    Object(String),
    /// `postBuild` failed.
    #[error(transparent)]
    PostBuild(#[from] postbuild::Error),
}

/// Options of [`flux_build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Strict postBuild substitution (on by default, as in kustomize-controller ≥ v1.9).
    pub strict_substitute: bool,
    /// Output order of the kustomize build (a kustomization's
    /// `sortOptions` win over it).
    pub reorder: crate::Reorder,
    /// Label every object `kustomize.toolkit.fluxcd.io/name: <name>` and
    /// `kustomize.toolkit.fluxcd.io/namespace: <namespace>` of the
    /// Kustomization, as `flux build kustomization` and kustomize-controller
    /// do (off by default: the objects as kustomize builds them).
    pub owner_labels: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            strict_substitute: true,
            reorder: crate::Reorder::Legacy,
            owner_labels: false,
        }
    }
}

/// The owner labels of [`BuildOptions::owner_labels`].
pub const OWNER_LABEL_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
/// See [`OWNER_LABEL_NAME`].
pub const OWNER_LABEL_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// The kustomization Flux builds, before `kustomize build`.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Path of the kustomization file in the source tree.
    pub file: RelPath,
    /// True when Flux generated it (no kustomization existed).
    pub generated: bool,
    /// The kustomization with the spec merged in.
    pub document: Value,
}

/// The result of a Flux build.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxBuild {
    /// The kustomization that was built.
    pub kustomization: Generated,
    /// The objects, in `kustomize build` output order, after postBuild and commonMetadata.
    pub objects: Vec<Value>,
}

fn read_err(path: &RelPath) -> impl FnOnce(gitops_core::fs::Error) -> Error + '_ {
    move |source| Error::Read {
        path: path.to_string(),
        source,
    }
}

fn kustomization_file(tree: &dyn FileTree, dir: &RelPath) -> Result<Option<RelPath>, Error> {
    for name in KUSTOMIZATION_FILES {
        let p = dir.join(name).map_err(read_err(dir))?;
        if tree.kind(&p).map_err(read_err(&p))? == Some(EntryKind::File) {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Check that a YAML file holds Kubernetes objects (maps; empty documents allowed).
fn check_objects(text: &str, path: &RelPath) -> Result<(), Error> {
    let decode = |message: String| Error::Decode {
        path: path.to_string(),
        message,
    };
    let docs = parse_documents(text, path.as_str()).map_err(|e| decode(e.to_string()))?;
    for (i, doc) in docs.iter().enumerate() {
        if doc.is_empty() {
            continue;
        }
        if !matches!(doc.root.kind, NodeKind::Map(_)) {
            return Err(decode(format!(
                "document {} (line {}) is not a mapping",
                i + 1,
                doc.root.line
            )));
        }
    }
    Ok(())
}

fn scan(
    tree: &dyn FileTree,
    base: &RelPath,
    dir: &RelPath,
    out: &mut Vec<String>,
    check: bool,
) -> Result<(), Error> {
    let entries: Vec<DirEntry> = tree.list(dir).map_err(read_err(dir))?;
    for e in entries {
        let rel = e
            .path
            .as_str()
            .strip_prefix(base.as_str())
            .unwrap_or(e.path.as_str())
            .trim_start_matches('/');
        match e.kind {
            EntryKind::Dir => {
                if kustomization_file(tree, &e.path)?.is_some() {
                    out.push(format!("./{rel}"));
                } else {
                    scan(tree, base, &e.path, out, check)?;
                }
            }
            EntryKind::File => {
                let name = e.path.file_name();
                if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                    continue;
                }
                let text = tree.read_to_string(&e.path).map_err(read_err(&e.path))?;
                if check {
                    check_objects(&text, &e.path)?;
                }
                out.push(format!("./{rel}"));
            }
            EntryKind::Symlink => {}
        }
    }
    Ok(())
}

/// Set `key` in `doc`, removing keys that differ from it only in case
/// (kustomize matches kustomization fields case-insensitively).
fn take_field(doc: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let found: Vec<String> = doc
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut value = None;
    for k in found {
        let v = doc.shift_remove(&k);
        if k == key || value.is_none() {
            value = v;
        }
    }
    value
}

fn is_local_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains("://")
        && !p.starts_with("github.com/")
        && !p.starts_with("git::")
}

/// Find or generate the kustomization in `spec.path` and merge the spec in.
pub fn generate(tree: &dyn FileTree, spec: &KustomizationSpec) -> Result<Generated, Error> {
    generate_checked(tree, spec, true)
}

/// [`generate`], checking (or not) that the files of a generated
/// kustomization hold Kubernetes objects.
fn generate_checked(
    tree: &dyn FileTree,
    spec: &KustomizationSpec,
    check: bool,
) -> Result<Generated, Error> {
    let path = spec.path.as_deref().unwrap_or("./");
    let dir = RelPath::new(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if tree.kind(&dir).map_err(read_err(&dir))? != Some(EntryKind::Dir) {
        return Err(Error::Read {
            path: dir.to_string(),
            source: gitops_core::fs::Error::NotFound { path: dir.clone() },
        });
    }
    let (file, generated, mut doc) = match kustomization_file(tree, &dir)? {
        Some(file) => {
            let text = tree.read_to_string(&file).map_err(read_err(&file))?;
            let docs = parse_documents(&text, file.as_str()).map_err(|e| Error::Decode {
                path: file.to_string(),
                message: e.to_string(),
            })?;
            let doc = match docs.first().map(|d| d.root.to_json(Schema::Core)) {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m,
                Some(_) => {
                    return Err(Error::NotAMap {
                        file: file.to_string(),
                    });
                }
            };
            (file, false, doc)
        }
        None => {
            let mut resources = Vec::new();
            scan(tree, &dir, &dir, &mut resources, check)?;
            let mut doc = Map::new();
            doc.insert(
                "apiVersion".into(),
                json!("kustomize.config.k8s.io/v1beta1"),
            );
            doc.insert("kind".into(), json!("Kustomization"));
            if resources.is_empty() {
                doc.insert("namespace".into(), json!("_placeholder"));
            } else {
                doc.insert("resources".into(), json!(resources));
            }
            let file = dir.join("kustomization.yaml").map_err(read_err(&dir))?;
            (file, true, doc)
        }
    };
    for (field, value) in [
        ("namespace", &spec.target_namespace),
        ("namePrefix", &spec.name_prefix),
        ("nameSuffix", &spec.name_suffix),
    ] {
        if let Some(v) = value {
            take_field(&mut doc, field);
            doc.insert(field.to_owned(), json!(v));
        }
    }
    if let Some(patches) = spec.patches.as_ref().filter(|p| !p.is_empty()) {
        let mut list = take_field(&mut doc, "patches")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        for p in patches {
            let mut entry = json!({"patch": p.patch});
            if let Some(t) = &p.target {
                entry["target"] = serde_json::to_value(t).unwrap_or(Value::Null);
            }
            list.push(entry);
        }
        doc.insert("patches".into(), Value::Array(list));
    }
    if let Some(components) = spec.components.as_ref().filter(|c| !c.is_empty()) {
        let mut list = take_field(&mut doc, "components")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let ignore = spec.ignore_missing_components.unwrap_or(false);
        for c in components {
            if !is_local_relative(c) {
                return Err(Error::Component {
                    component: c.clone(),
                    reason: "must be local and relative",
                });
            }
            let exists = match dir.join(c) {
                Ok(p) => tree.kind(&p).ok().flatten().is_some(),
                Err(_) => {
                    return Err(Error::Component {
                        component: c.clone(),
                        reason: "must be local and relative",
                    });
                }
            };
            if !exists {
                if ignore {
                    continue;
                }
                return Err(Error::Component {
                    component: c.clone(),
                    reason: "not found (set spec.ignoreMissingComponents to skip it)",
                });
            }
            list.push(json!(c));
        }
        if !list.is_empty() {
            doc.insert("components".into(), Value::Array(list));
        }
    }
    if let Some(images) = spec.images.as_ref().filter(|i| !i.is_empty()) {
        let mut list = take_field(&mut doc, "images")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        for img in images {
            let existing = list
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(img.name.as_str()));
            let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
            match existing {
                Some(e) => {
                    if let Some(n) = nonempty(&img.new_name) {
                        e["newName"] = json!(n);
                    }
                    let tag = nonempty(&img.new_tag);
                    let digest = nonempty(&img.digest);
                    if (tag.is_some() || digest.is_some())
                        && let Some(m) = e.as_object_mut()
                    {
                        m.shift_remove("newTag");
                        m.shift_remove("digest");
                        if let Some(t) = tag {
                            m.insert("newTag".into(), json!(t));
                        }
                        if let Some(d) = digest {
                            m.insert("digest".into(), json!(d));
                        }
                    }
                }
                None => {
                    let mut e = Map::new();
                    e.insert("name".into(), json!(img.name));
                    for (k, v) in [
                        ("newName", &img.new_name),
                        ("newTag", &img.new_tag),
                        ("digest", &img.digest),
                    ] {
                        if let Some(v) = nonempty(v) {
                            e.insert(k.into(), json!(v));
                        }
                    }
                    list.push(Value::Object(e));
                }
            }
        }
        doc.insert("images".into(), Value::Array(list));
    }
    Ok(Generated {
        file,
        generated,
        document: Value::Object(doc),
    })
}

/// A tree that serves one rewritten file over a base tree.
struct Overlay<'a> {
    base: &'a dyn FileTree,
    file: RelPath,
    contents: Vec<u8>,
}

impl FileTree for Overlay<'_> {
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, gitops_core::fs::Error> {
        if *path == self.file {
            return Ok(self.contents.clone());
        }
        self.base.read(path)
    }
    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, gitops_core::fs::Error> {
        let mut entries = self.base.list(dir)?;
        if self.file.parent() == *dir && !entries.iter().any(|e| e.path == self.file) {
            entries.push(DirEntry {
                path: self.file.clone(),
                kind: EntryKind::File,
            });
            entries.sort_by(|a, b| a.path.cmp(&b.path));
        }
        Ok(entries)
    }
    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, gitops_core::fs::Error> {
        if *path == self.file {
            return Ok(Some(EntryKind::File));
        }
        self.base.kind(path)
    }
    fn real_path(&self, path: &RelPath) -> Result<RelPath, gitops_core::fs::Error> {
        if *path == self.file {
            return Ok(path.clone());
        }
        self.base.real_path(path)
    }
    fn read_beneath(
        &self,
        base: &RelPath,
        path: &RelPath,
    ) -> Result<Vec<u8>, gitops_core::fs::Error> {
        if *path == self.file {
            gitops_core::fs::check_beneath(base, path)?;
            return Ok(self.contents.clone());
        }
        self.base.read_beneath(base, path)
    }
}

/// Build a Flux Kustomization from `source` (the artifact's root).
pub fn flux_build(
    source: &dyn FileTree,
    kustomization: &Kustomization,
    resources: &Resources,
    options: &BuildOptions,
) -> Result<FluxBuild, Error> {
    // The files of a generated kustomization are checked for Kubernetes
    // objects only when the build fails: kustomize reads them all anyway,
    // and the check's error (the one Flux gives) comes first as it would.
    let generated = generate_checked(source, &kustomization.spec, false)?;
    let overlay = Overlay {
        base: source,
        file: generated.file.clone(),
        contents: generated.document.to_string().into_bytes(),
    };
    let build_options = crate::Options {
        reorder: options.reorder,
        ..crate::Options::default()
    };
    let built = match crate::build(&overlay, &generated.file.parent(), &build_options) {
        Ok(b) => b,
        Err(e) => {
            if generated.generated {
                generate_checked(source, &kustomization.spec, true)?;
            }
            return Err(Error::Kustomize(e));
        }
    };
    let vars = postbuild::variables(kustomization, resources)?;
    let post = postbuild::Options {
        strict: options.strict_substitute,
        always: postbuild::always(kustomization),
    };
    let mut objects = Vec::with_capacity(built.len());
    for r in &built {
        let obj: Value = serde_json::from_str(&r.value().to_go_json())
            .map_err(|e| Error::Object(format!("{}: {e}", r.name())))?;
        let mut obj = if kustomization.spec.post_build.is_some() {
            postbuild::substitute_text(&obj, &r.to_yaml(), &vars, post)?
        } else {
            obj
        };
        if options.owner_labels {
            set_owner_labels(
                &mut obj,
                kustomization.metadata.name.as_deref().unwrap_or_default(),
                kustomization
                    .metadata
                    .namespace
                    .as_deref()
                    .unwrap_or_default(),
            );
        }
        objects.push(obj);
    }
    if let Some(cm) = &kustomization.spec.common_metadata {
        for obj in &mut objects {
            set_metadata(obj, "labels", cm.labels.as_ref());
            set_metadata(obj, "annotations", cm.annotations.as_ref());
        }
    }
    Ok(FluxBuild {
        kustomization: generated,
        objects,
    })
}

/// Label `obj` with its Kustomization's name and namespace
/// ([`OWNER_LABEL_NAME`], [`OWNER_LABEL_NAMESPACE`]), as
/// kustomize-controller does ([`BuildOptions::owner_labels`]).
pub fn set_owner_labels(obj: &mut Value, name: &str, namespace: &str) {
    let owner = BTreeMap::from([
        (OWNER_LABEL_NAME.to_owned(), name.to_owned()),
        (OWNER_LABEL_NAMESPACE.to_owned(), namespace.to_owned()),
    ]);
    set_metadata(obj, "labels", Some(&owner));
}

fn set_metadata(obj: &mut Value, field: &str, values: Option<&BTreeMap<String, String>>) {
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return;
    };
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let target = meta
        .entry(field.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(m) = target.as_object_mut() {
        for (k, v) in values {
            m.insert(k.clone(), json!(v));
        }
    }
}
