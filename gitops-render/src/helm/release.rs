//! A HelmRelease rendered as helm-controller (API `helm.toolkit.fluxcd.io/v2`,
//! Helm v4) installs or upgrades it: the objects it would apply.
//!
//! [`render_release`] / [`render_loaded_release`] take the HelmRelease, the
//! chart and the composed values (see [`values::compose_release`](super::values::compose_release)) and:
//! - name the release as helm-controller does: `spec.releaseName`, else
//!   `[<spec.targetNamespace>-]<metadata.name>`, shortened to 53 characters
//!   with a hash ([`release_name`], [`shorten_name`]); the namespace is
//!   `spec.targetNamespace`, else the object's namespace;
//! - render the chart ([`chart::render_loaded`]) with the action's
//!   `disableHooks` and `disableSchemaValidation` (`spec.install`, or
//!   `spec.upgrade` for [`Action::Upgrade`], which also sets
//!   `.Release.IsUpgrade`);
//! - run helm-controller's post-renderers over the resources and hooks
//!   together (Helm v4's `combined` strategy), each document carrying
//!   Helm's `postrenderer.helm.sh/postrender-filename` annotation while it
//!   passes through: every `spec.postRenderers[].kustomize` (its `patches`
//!   with their `target` selectors, and `images`) as an in-memory
//!   kustomization over `helm-output.yaml`, built by this crate's kustomize
//!   engine; then `spec.commonMetadata` (labels on `metadata/labels`,
//!   annotations on `metadata/annotations`); then the origin labels
//!   `helm.toolkit.fluxcd.io/name` and `helm.toolkit.fluxcd.io/namespace`
//!   (the HelmRelease's own name and namespace). The documents are then
//!   grouped by that annotation (removed again) and sorted into resources
//!   and hooks in Helm's install order;
//! - add the chart's CRDs (`crds/`, only `CustomResourceDefinition`
//!   objects) with the origin labels unless the action's `crds` policy is
//!   `Skip` (the default, `Create`, and `CreateReplace` apply them).
//!
//! [`RenderedRelease::to_yaml`] prints the result as `helm template` prints
//! a chart: CRDs, resources, then hooks, each after `# Source: <template>`.
//! Hooks are left out when the action disables them, and test hooks unless
//! `spec.test.enable` is true (helm-controller runs them only then).
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_core::flux::{FluxObject, HelmRelease};
//! use gitops_core::yaml::parse_documents;
//! use gitops_render::helm::release::{ReleaseOptions, render_release};
//!
//! let mut tree = MemTree::new();
//! tree.insert("web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")?;
//! tree.insert(
//!     "web/templates/cm.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
//! )?;
//! let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  interval: 5m\n";
//! let node = &parse_documents(hr, "hr.yaml")?[0].root;
//! let release = HelmRelease::from_node(node, "hr.yaml")?;
//! let out = render_release(&release, &tree, &RelPath::new("web")?, &Default::default(), &ReleaseOptions::default())?;
//! assert_eq!(
//!     out.to_yaml(),
//!     "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    helm.toolkit.fluxcd.io/name: web\n    helm.toolkit.fluxcd.io/namespace: apps\n  name: web\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Helm re-reads the post-rendered stream with kyaml and prints it again
//!   (keeping each scalar's style, never folding long lines); here the
//!   documents are printed once, as kustomize prints them but unfolded.
//! - Helm hands each template file to the post-renderers whole; here a
//!   file is put together again from its documents, in install order.
//! - `spec.postRenderStrategy` other than `combined` (Helm 4.2's `nohooks`
//!   and `separate`) is an [`Error::Unsupported`].
//! - A `List` document is expanded before it is annotated (Helm annotates
//!   the list itself, so its items come back as
//!   `generated-by-postrender-N.yaml`).
//! - A HelmRelease without `metadata.namespace` is taken to be in `default`.

use serde_json::{Map as JsonMap, Value as Json};
use sha2::{Digest, Sha256};

use gitops_core::flux::HelmRelease;
use gitops_core::fs::{FileTree, MemTree, RelPath};

use crate::helm::chart::sorter;
use crate::helm::chart::{self, Chart, Manifest, RenderOptions, RenderedFile};
use crate::kustomize::loader::resources_from_text;
use crate::value::{Map, Value};
use crate::{Options, Reorder, Resource};

/// The annotation Helm puts on each document for the post-renderers.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// helm-controller's API group, the prefix of its origin labels.
const GROUP: &str = "helm.toolkit.fluxcd.io";

/// Which Helm action helm-controller runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Action {
    /// A first install: `spec.install` settings.
    #[default]
    Install,
    /// An upgrade of an existing release: `spec.upgrade` settings,
    /// `.Release.IsUpgrade` true.
    Upgrade,
}

/// How to render a release beyond what the HelmRelease says.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReleaseOptions {
    /// The action whose settings apply.
    pub action: Action,
    /// The cluster's Kubernetes version (Helm's default when `None`).
    pub kube_version: Option<String>,
    /// Extra API versions the cluster serves (`.Capabilities.APIVersions`).
    pub api_versions: Vec<String>,
    /// `spec.postRenderStrategy` (not part of the typed spec): empty or
    /// `combined` are supported.
    pub post_render_strategy: String,
    /// Leave the manifest's document texts empty (for callers that only
    /// take [`RenderedRelease::objects`]): [`RenderedRelease::to_yaml`]
    /// then prints nothing useful.
    pub objects_only: bool,
}

impl ReleaseOptions {
    /// Options for `action`, otherwise the defaults.
    pub fn new(action: Action) -> ReleaseOptions {
        ReleaseOptions {
            action,
            ..ReleaseOptions::default()
        }
    }
    /// The cluster's Kubernetes version.
    #[must_use]
    pub fn with_kube_version(mut self, v: impl Into<String>) -> ReleaseOptions {
        self.kube_version = Some(v.into());
        self
    }
    /// Extra API versions.
    #[must_use]
    pub fn with_api_versions(mut self, v: impl IntoIterator<Item = String>) -> ReleaseOptions {
        self.api_versions.extend(v);
        self
    }
    /// `spec.postRenderStrategy`.
    #[must_use]
    pub fn with_post_render_strategy(mut self, s: impl Into<String>) -> ReleaseOptions {
        self.post_render_strategy = s.into();
        self
    }
    /// Only [`RenderedRelease::objects`] is wanted: the document texts are
    /// not printed.
    #[must_use]
    pub fn with_objects_only(mut self, only: bool) -> ReleaseOptions {
        self.objects_only = only;
        self
    }
}

/// Why a release could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The chart could not be loaded or rendered (Helm's message).
    #[error(transparent)]
    Chart(#[from] chart::Error),
    /// A post-renderer failed (the kustomize build's message).
    #[error("error while running post render on files: {0}")]
    PostRender(#[source] crate::Error),
    /// The HelmRelease's spec is invalid for helm-controller.
    #[error("{0}")]
    Spec(String),
    /// A HelmRelease setting this renderer does not implement.
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// The objects helm-controller would apply for a release.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RenderedRelease {
    /// The Helm release name (shortened as helm-controller does).
    pub release_name: String,
    /// The release namespace.
    pub namespace: String,
    /// The post-rendered manifest: CRDs with the origin labels (empty when
    /// the policy is `Skip`), resources and hooks after the post-renderers.
    pub manifest: Manifest,
    /// The Helm options used; they also select what [`to_yaml`](Self::to_yaml) prints.
    pub options: RenderOptions,
    /// The documents of `manifest.crds`, `.resources` and `.hooks` as
    /// values, in the same order.
    values: [Vec<Value>; 3],
}

impl RenderedRelease {
    /// The objects as a YAML stream in `helm template`'s layout.
    pub fn to_yaml(&self) -> String {
        self.manifest.to_helm_template(&self.options)
    }

    /// The objects [`to_yaml`](Self::to_yaml) prints, in its order, as JSON
    /// values (the post-rendered documents, without printing and parsing
    /// them again).
    ///
    /// # Errors
    /// [`Error::Spec`] for a value JSON cannot hold (a NaN or infinite float).
    pub fn objects(&self) -> Result<Vec<Json>, Error> {
        let [crds, resources, hooks] = &self.values;
        let o = &self.options;
        let crds = crds.iter().filter(|_| o.include_crds);
        let hooks = self
            .manifest
            .hooks
            .iter()
            .zip(hooks)
            .filter(|(h, _)| !(o.disable_hooks || (o.skip_tests && h.is_test_hook())))
            .map(|(_, v)| v);
        crds.chain(resources)
            .chain(hooks)
            .map(|v| {
                v.to_json().ok_or_else(|| {
                    Error::Spec(
                        "a rendered value is a NaN or infinite float, which JSON cannot hold"
                            .into(),
                    )
                })
            })
            .collect()
    }
}

/// helm-controller's `release.ShortenName`: names over 53 characters become
/// their first 40 characters, `-`, and the first 12 hex digits of their SHA-256.
pub fn shorten_name(name: &str) -> String {
    const MAX: usize = 53;
    const HASH: usize = 12;
    if name.len() <= MAX {
        return name.to_owned();
    }
    let sum = Sha256::digest(name.as_bytes());
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    // Go slices bytes; a name is ASCII in practice, else cut at a boundary.
    let mut cut = MAX - (HASH + 1);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &name[..cut], &hex[..HASH])
}

/// The release name helm-controller uses: `ShortenName(GetReleaseName())`.
pub fn release_name(release: &HelmRelease) -> String {
    let spec = &release.spec;
    let name = release.metadata.name.as_deref().unwrap_or_default();
    let full = match (
        spec.release_name.as_deref(),
        spec.target_namespace.as_deref(),
    ) {
        (Some(r), _) if !r.is_empty() => r.to_owned(),
        (_, Some(t)) if !t.is_empty() => format!("{t}-{name}"),
        _ => name.to_owned(),
    };
    shorten_name(&full)
}

/// The release namespace: `spec.targetNamespace`, else the object's.
pub fn release_namespace(release: &HelmRelease) -> String {
    match release.spec.target_namespace.as_deref() {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => object_namespace(release),
    }
}

fn object_namespace(release: &HelmRelease) -> String {
    match release.metadata.namespace.as_deref() {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => "default".to_owned(),
    }
}

/// Load the chart at `chart_path` of `tree` (a directory or `.tgz`) and
/// render the release.
pub fn render_release<T: FileTree + ?Sized>(
    release: &HelmRelease,
    tree: &T,
    chart_path: &RelPath,
    values: &JsonMap<String, Json>,
    options: &ReleaseOptions,
) -> Result<RenderedRelease, Error> {
    let chart = chart::load(tree, chart_path)?;
    render_loaded_release(release, &chart, values, options)
}

/// Render the release from a loaded chart.
pub fn render_loaded_release(
    release: &HelmRelease,
    chart: &Chart,
    values: &JsonMap<String, Json>,
    options: &ReleaseOptions,
) -> Result<RenderedRelease, Error> {
    match options.post_render_strategy.as_str() {
        "" | "combined" => {}
        other => {
            return Err(Error::Unsupported(format!(
                "spec.postRenderStrategy {other:?} (only \"combined\", Helm 4's default)"
            )));
        }
    }
    let spec = &release.spec;
    let action = match options.action {
        Action::Install => ("spec.install", spec.install.as_ref()),
        Action::Upgrade => ("spec.upgrade", spec.upgrade.as_ref()),
    };
    let flag = |key: &str| -> Result<bool, Error> {
        match action.1.and_then(|a| a.get(key)) {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(Error::Spec(format!("{}.{key}: not a boolean", action.0))),
        }
    };
    let include_crds = match action.1.and_then(|a| a.get("crds")) {
        None | Some(Json::Null) => true,
        Some(Json::String(p)) => match p.as_str() {
            "" | "Create" | "CreateReplace" => true,
            "Skip" => false,
            other => {
                return Err(Error::Spec(format!(
                    "invalid CRD upgrade policy '{other}', valid values are 'Skip', 'Create' or 'CreateReplace'"
                )));
            }
        },
        Some(_) => return Err(Error::Spec(format!("{}.crds: not a string", action.0))),
    };
    let test_enabled = matches!(
        spec.test.as_ref().and_then(|t| t.get("enable")),
        Some(Json::Bool(true))
    );
    let name = release_name(release);
    let namespace = release_namespace(release);
    let mut opts = RenderOptions::new(&name, &namespace)
        .with_api_versions(options.api_versions.iter().cloned())
        .with_is_upgrade(options.action == Action::Upgrade)
        .with_skip_schema_validation(flag("disableSchemaValidation")?)
        .with_disable_hooks(flag("disableHooks")?)
        .with_skip_tests(!test_enabled)
        .with_include_crds(include_crds);
    if let Some(v) = &options.kube_version {
        opts = opts.with_kube_version(v.clone());
    }
    let rendered = chart::render_loaded(chart, values, &opts)?;
    let owner = (
        release.metadata.name.clone().unwrap_or_default(),
        object_namespace(release),
    );
    let stages = post_renderers(release, &owner)?;
    let mut docs: Vec<(String, String)> = rendered
        .resources
        .iter()
        .chain(&rendered.hooks)
        .map(|f| (f.path.clone(), f.content.clone()))
        .collect();
    // Helm's annotateAndMerge: files by name, documents in order.
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    let files = post_render(&docs, &stages)?;
    let (hooks, resources) = sort_manifests(files, !options.objects_only);
    let crds = if include_crds {
        labelled_crds(&rendered.crds, &owner)?
    } else {
        Vec::new()
    };
    let (crds, crd_values): (Vec<_>, Vec<_>) = crds.into_iter().unzip();
    let (resources, resource_values): (Vec<_>, Vec<_>) = resources.into_iter().unzip();
    let (hooks, hook_values): (Vec<_>, Vec<_>) = hooks.into_iter().unzip();
    Ok(RenderedRelease {
        release_name: name,
        namespace,
        manifest: Manifest {
            crds,
            resources,
            hooks,
            notes: rendered.notes,
            warnings: rendered.warnings,
        },
        options: opts,
        values: [crd_values, resource_values, hook_values],
    })
}

/// The kustomization of each post-render stage, in order.
fn post_renderers(release: &HelmRelease, owner: &(String, String)) -> Result<Vec<Json>, Error> {
    let mut stages = Vec::new();
    for (i, pr) in release.spec.post_renderers.iter().flatten().enumerate() {
        let at = format!("spec.postRenderers[{i}]");
        let Some(obj) = pr.as_object() else {
            return Err(Error::Spec(format!("{at}: not an object")));
        };
        for key in obj.keys() {
            if key != "kustomize" {
                return Err(Error::Unsupported(format!("{at}.{key}")));
            }
        }
        let Some(k) = obj.get("kustomize").filter(|k| !k.is_null()) else {
            continue;
        };
        stages.push(kustomize_stage(k, &format!("{at}.kustomize"))?);
    }
    if let Some(cm) = release
        .spec
        .common_metadata
        .as_ref()
        .filter(|c| !c.is_null())
    {
        let Some(cm) = cm.as_object() else {
            return Err(Error::Spec("spec.commonMetadata: not an object".into()));
        };
        let mut transformers = Vec::new();
        for (key, kind, field) in [
            ("labels", "LabelTransformer", "labels"),
            ("annotations", "AnnotationsTransformer", "annotations"),
        ] {
            match cm.get(key) {
                None | Some(Json::Null) => {}
                Some(Json::Object(m)) => transformers.push(meta_transformer(kind, field, m)),
                Some(_) => {
                    return Err(Error::Spec(format!(
                        "spec.commonMetadata.{key}: not a map of strings"
                    )));
                }
            }
        }
        if !transformers.is_empty() {
            stages.push(kustomization(JsonMap::from_iter([(
                "transformers".to_owned(),
                Json::Array(transformers),
            )])));
        }
    }
    let origin = JsonMap::from_iter([
        (format!("{GROUP}/name"), Json::String(owner.0.clone())),
        (format!("{GROUP}/namespace"), Json::String(owner.1.clone())),
    ]);
    stages.push(kustomization(JsonMap::from_iter([(
        "transformers".to_owned(),
        Json::Array(vec![meta_transformer(
            "LabelTransformer",
            "labels",
            &origin,
        )]),
    )])));
    Ok(stages)
}

/// A builtin label or annotation transformer on `metadata/<field>` only, as
/// helm-controller configures them.
fn meta_transformer(kind: &str, field: &str, pairs: &JsonMap<String, Json>) -> Json {
    let config = serde_json::json!({
        "apiVersion": "builtin",
        "kind": kind,
        "metadata": {"name": "helm-controller"},
        field: pairs,
        "fieldSpecs": [{"path": format!("metadata/{field}"), "create": true}],
    });
    Json::String(config.to_string())
}

fn kustomization(mut fields: JsonMap<String, Json>) -> Json {
    let mut k = JsonMap::new();
    k.insert(
        "apiVersion".into(),
        "kustomize.config.k8s.io/v1beta1".into(),
    );
    k.insert("kind".into(), "Kustomization".into());
    k.insert("resources".into(), serde_json::json!(["helm-output.yaml"]));
    k.append(&mut fields);
    Json::Object(k)
}

/// helm-controller's `Kustomize` post-renderer: `patches` and `images`.
fn kustomize_stage(k: &Json, at: &str) -> Result<Json, Error> {
    let Some(k) = k.as_object() else {
        return Err(Error::Spec(format!("{at}: not an object")));
    };
    let mut fields = JsonMap::new();
    for key in k.keys() {
        if key != "patches" && key != "images" {
            return Err(Error::Unsupported(format!(
                "{at}.{key} (the v2 API has only patches and images)"
            )));
        }
    }
    let list = |key: &str| -> Result<Vec<JsonMap<String, Json>>, Error> {
        match k.get(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(a)) => a
                .iter()
                .map(|e| {
                    e.as_object().cloned().ok_or_else(|| {
                        Error::Spec(format!("{at}.{key}: an entry is not an object"))
                    })
                })
                .collect(),
            Some(_) => Err(Error::Spec(format!("{at}.{key}: not a list"))),
        }
    };
    let mut images = Vec::new();
    for img in list("images")? {
        let mut out = JsonMap::new();
        for f in ["name", "newName", "newTag", "digest"] {
            if let Some(Json::String(s)) = img.get(f)
                && !s.is_empty()
            {
                out.insert(f.into(), Json::String(s.clone()));
            }
        }
        images.push(Json::Object(out));
    }
    let mut patches = Vec::new();
    for p in list("patches")? {
        let mut out = JsonMap::new();
        if let Some(Json::String(s)) = p.get("patch")
            && !s.is_empty()
        {
            out.insert("patch".into(), Json::String(s.clone()));
        }
        if let Some(Json::Object(t)) = p.get("target") {
            let mut sel = JsonMap::new();
            for f in [
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelSelector",
                "annotationSelector",
            ] {
                if let Some(Json::String(s)) = t.get(f)
                    && !s.is_empty()
                {
                    sel.insert(f.into(), Json::String(s.clone()));
                }
            }
            out.insert("target".into(), Json::Object(sel));
        }
        patches.push(Json::Object(out));
    }
    if !images.is_empty() {
        fields.insert("images".into(), Json::Array(images));
    }
    if !patches.is_empty() {
        fields.insert("patches".into(), Json::Array(patches));
    }
    Ok(kustomization(fields))
}

/// The origin-labels stage applied directly: every object gets the labels
/// (a missing or null `metadata.labels` created) and, as the annotate /
/// de-annotate round trip leaves them, a null, empty or non-map
/// `metadata.annotations` goes. `None` (the caller runs kustomize) when
/// kustomize would act otherwise: two objects with one id (an error), a
/// `local-config` object (dropped), labels that are not a map.
fn origin_labels_only(
    files: &[(&str, String)],
    stage: &Json,
) -> Result<Option<Vec<(String, Value)>>, Error> {
    let Some(labels) = stage
        .get("transformers")
        .and_then(Json::as_array)
        .filter(|t| t.len() == 1)
        .and_then(|t| t[0].as_str())
        .and_then(|t| serde_json::from_str::<Json>(t).ok())
        .and_then(|t| t.get("labels").and_then(Json::as_object).cloned())
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let texts: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let parsed = crate::kustomize::build::parse_texts(&texts);
    for ((path, _), resources) in files.iter().zip(parsed) {
        for mut r in resources.map_err(Error::PostRender)? {
            let local = r
                .value
                .get_path(&[
                    "metadata",
                    "annotations",
                    "config.kubernetes.io/local-config",
                ])
                .is_some();
            if local || !ids.insert(r.cur_id()) {
                return Ok(None);
            }
            let md = r.metadata_mut();
            if !matches!(md.get("annotations"), Some(Value::Map(a)) if !a.is_empty()) {
                md.remove("annotations");
            }
            let l = md.entry_or_insert_with("labels", || Value::Map(Map::new()));
            if matches!(l, Value::Null) {
                *l = Value::Map(Map::new());
            }
            let Value::Map(l) = l else {
                return Ok(None);
            };
            for (k, v) in &labels {
                l.insert(
                    k.as_str(),
                    Value::Str(v.as_str().unwrap_or_default().into()),
                );
            }
            out.push(((*path).to_owned(), r.value));
        }
    }
    Ok(Some(out))
}

/// Run the stages over the documents: Helm's annotateAndMerge, the
/// post-renderers, splitAndDeannotate. Returns (file, document) pairs.
fn post_render(docs: &[(String, String)], stages: &[Json]) -> Result<Vec<(String, Value)>, Error> {
    // The documents of each file again as one text (Helm hands the files
    // over whole; a document's final line break is part of its text).
    let mut files: Vec<(&str, String)> = Vec::new();
    for (path, content) in docs {
        match files.last_mut() {
            Some((p, text)) if *p == path.as_str() => {
                text.push_str("---\n");
                text.push_str(content);
                text.push('\n');
            }
            _ => files.push((path, format!("{content}\n"))),
        }
    }
    // Only the origin labels: the same as the kustomize stage below when
    // nothing makes kustomize refuse or drop an object, without printing
    // and parsing the documents again.
    if let [origin] = stages
        && let Some(out) = origin_labels_only(&files, origin)?
    {
        return Ok(out);
    }
    post_render_kustomize(&files, stages)
}

/// [`post_render`] through kustomize, stage by stage.
fn post_render_kustomize(
    files: &[(&str, String)],
    stages: &[Json],
) -> Result<Vec<(String, Value)>, Error> {
    let mut stream = String::new();
    for (path, content) in files {
        let resources = resources_from_text(content, path).map_err(Error::PostRender)?;
        for mut r in resources {
            let md = r.metadata_mut();
            let ann = md.entry_or_insert_with("annotations", || Value::Map(Map::new()));
            if !matches!(ann, Value::Map(_)) {
                *ann = Value::Map(Map::new());
            }
            if let Value::Map(a) = ann {
                a.insert(FILENAME_ANNOTATION, Value::Str((*path).into()));
            }
            if !stream.is_empty() {
                stream.push_str("---\n");
            }
            crate::emit::append_yaml(&r.value, &mut stream);
        }
    }
    let mut resources: Vec<Resource> = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        if i > 0 {
            stream.clear();
            for (j, r) in resources.iter().enumerate() {
                if j > 0 {
                    stream.push_str("---\n");
                }
                crate::emit::append_yaml(&r.value, &mut stream);
            }
        }
        let mut tree = MemTree::new();
        let insert = |tree: &mut MemTree, p: &str, t: &str| {
            tree.insert(p, t)
                .map_err(|e| Error::Spec(format!("post-render input: {e}")))
        };
        insert(&mut tree, "helm-output.yaml", &stream)?;
        insert(&mut tree, "kustomization.yaml", &stage.to_string())?;
        let options = Options {
            reorder: Reorder::None,
            ..Options::default()
        };
        resources = crate::build(&tree, &RelPath::root(), &options).map_err(Error::PostRender)?;
    }
    let mut out = Vec::with_capacity(resources.len());
    for (i, mut r) in resources.into_iter().enumerate() {
        let md = r.metadata_mut();
        let mut file = None;
        if let Some(Value::Map(a)) = md.get_mut("annotations") {
            if let Some(Value::Str(f)) = a.remove(FILENAME_ANNOTATION) {
                file = Some(f.to_string());
            }
            if a.is_empty() {
                md.remove("annotations");
            }
        }
        if md.is_empty()
            && let Value::Map(m) = &mut r.value
        {
            m.remove("metadata");
        }
        let file = file
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| format!("generated-by-postrender-{i}.yaml"));
        out.push((file, r.value));
    }
    Ok(out)
}

/// Rendered documents with their values.
type Documents = Vec<(RenderedFile, Value)>;

/// Helm's `SortManifests` over the post-rendered documents: files by name,
/// documents in order, split into hooks and resources, each stably sorted
/// by kind in install order. Documents with an unknown hook event are dropped.
fn sort_manifests(files: Vec<(String, Value)>, text: bool) -> (Documents, Documents) {
    let mut files = files;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, value) in files {
        let mut content = String::new();
        if text {
            crate::emit::append_yaml_unfolded(&value, &mut content);
        }
        let content = content.trim().to_owned();
        let kind = value.str_at(&["kind"]).unwrap_or_default().to_owned();
        let name = value
            .str_at(&["metadata", "name"])
            .unwrap_or_default()
            .to_owned();
        let ann = |k: &str| {
            value
                .get_path(&["metadata", "annotations", k])
                .and_then(Value::scalar_text)
        };
        let rf = RenderedFile {
            path,
            content,
            kind,
            name,
            hook: None,
        };
        match sorter::hook_of(
            ann("helm.sh/hook").as_deref(),
            ann("helm.sh/hook-weight").as_deref(),
        ) {
            Some(None) => generic.push((rf, value)),
            Some(hook @ Some(_)) => hooks.push((RenderedFile { hook, ..rf }, value)),
            None => {}
        }
    }
    hooks.sort_by(|a, b| sorter::install_order(&a.0.kind, &b.0.kind));
    generic.sort_by(|a, b| sorter::install_order(&a.0.kind, &b.0.kind));
    (hooks, generic)
}

/// The chart's CRDs as helm-controller applies them: only
/// `CustomResourceDefinition` objects, with the origin labels merged in.
fn labelled_crds(files: &[RenderedFile], owner: &(String, String)) -> Result<Documents, Error> {
    let mut out = Vec::new();
    for f in files {
        let resources = resources_from_text(&f.content, &f.path).map_err(|e| {
            Error::Chart(chart::Error::Load(format!(
                "failed to parse CustomResourceDefinitions from {}: {e}",
                f.path
            )))
        })?;
        for mut r in resources {
            let group = r.api_version().split('/').next().unwrap_or_default();
            if r.kind() != "CustomResourceDefinition" || group != "apiextensions.k8s.io" {
                continue;
            }
            let name = r.name().to_owned();
            let md = r.metadata_mut();
            let labels = md.entry_or_insert_with("labels", || Value::Map(Map::new()));
            if !matches!(labels, Value::Map(_)) {
                *labels = Value::Map(Map::new());
            }
            if let Value::Map(l) = labels {
                l.insert(format!("{GROUP}/name"), Value::Str(owner.0.as_str().into()));
                l.insert(
                    format!("{GROUP}/namespace"),
                    Value::Str(owner.1.as_str().into()),
                );
            }
            let mut content = String::new();
            crate::emit::append_yaml_unfolded(&r.value, &mut content);
            out.push((
                RenderedFile {
                    path: f.path.clone(),
                    content: content.trim().to_owned(),
                    kind: "CustomResourceDefinition".into(),
                    name,
                    hook: None,
                },
                r.value,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::flux::FluxObject;

    #[test]
    fn origin_labels_directly_as_through_kustomize() {
        let owner = ("app".to_owned(), "team".to_owned());
        let stage = kustomization(JsonMap::from_iter([(
            "transformers".to_owned(),
            Json::Array(vec![meta_transformer(
                "LabelTransformer",
                "labels",
                &JsonMap::from_iter([
                    (format!("{GROUP}/name"), Json::String(owner.0.clone())),
                    (format!("{GROUP}/namespace"), Json::String(owner.1.clone())),
                ]),
            )]),
        )]));
        let files: Vec<(&str, String)> = vec![
            (
                "c/templates/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: null\n  labels: null\ndata: {x: \"1\", f: 1.0, n: ~, e: }\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  annotations: {}\n  labels: {app: b}\n".to_owned(),
            ),
            (
                "c/templates/b.yaml",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, annotations: {helm.sh/hook: pre-install}}\n- kind: Pod\n  apiVersion: v1\n  metadata: {name: p, namespace: other, annotations: x}\n".to_owned(),
            ),
        ];
        let fast = origin_labels_only(&files, &stage)
            .unwrap()
            .expect("taken directly");
        let slow = post_render_kustomize(&files, std::slice::from_ref(&stage)).unwrap();
        let show = |v: &[(String, Value)]| -> Vec<(String, String)> {
            v.iter().map(|(f, d)| (f.clone(), d.to_go_json())).collect()
        };
        assert_eq!(show(&fast), show(&slow));
        // Left to kustomize: duplicate ids (its error), local-config objects.
        let dup = vec![(
            "t.yaml",
            "kind: A\nmetadata: {name: x}\n---\nkind: A\nmetadata: {name: x}\n".to_owned(),
        )];
        assert!(origin_labels_only(&dup, &stage).unwrap().is_none());
        assert!(post_render_kustomize(&dup, std::slice::from_ref(&stage)).is_err());
        let local = vec![("t.yaml", "kind: A\nmetadata: {name: x, annotations: {config.kubernetes.io/local-config: \"true\"}}\n".to_owned())];
        assert!(origin_labels_only(&local, &stage).unwrap().is_none());
    }
    use gitops_core::yaml::parse_documents;

    fn hr(text: &str) -> HelmRelease {
        let node = &parse_documents(text, "hr.yaml").unwrap()[0].root;
        HelmRelease::from_node(node, "hr.yaml").unwrap()
    }

    const HEAD: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  interval: 5m\n";

    fn chart() -> MemTree {
        let mut t = MemTree::new();
        t.insert(
            "web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        )
        .unwrap();
        t.insert("web/values.yaml", "image: nginx:1.0\n").unwrap();
        t.insert(
            "web/templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {{ .Values.image }}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n",
        )
        .unwrap();
        t.insert(
            "web/templates/hook.yaml",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    helm.sh/hook: test\n",
        )
        .unwrap();
        t.insert(
            "web/crds/crd.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n",
        )
        .unwrap();
        t
    }

    fn render(spec: &str, opts: &ReleaseOptions) -> Result<RenderedRelease, Error> {
        render_release(
            &hr(&format!("{HEAD}{spec}")),
            &chart(),
            &RelPath::new("web").unwrap(),
            &JsonMap::new(),
            opts,
        )
    }

    #[test]
    fn names_follow_helm_controller() {
        assert_eq!(release_name(&hr(HEAD)), "web");
        assert_eq!(
            release_name(&hr(&format!("{HEAD}  targetNamespace: prod\n"))),
            "prod-web"
        );
        assert_eq!(
            release_name(&hr(&format!(
                "{HEAD}  targetNamespace: prod\n  releaseName: r\n"
            ))),
            "r"
        );
        let long = "a".repeat(54);
        let s = shorten_name(&long);
        assert_eq!(s.len(), 53);
        assert_eq!(&s[..41], &format!("{}-", "a".repeat(40)));
        // sha256("a" * 54), first 12 hex digits.
        let hex: String = Sha256::digest(long.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&s[41..], &hex[..12]);
        assert_eq!(shorten_name(&"b".repeat(53)), "b".repeat(53));
        assert_eq!(release_namespace(&hr(HEAD)), "apps");
    }

    #[test]
    fn default_install_adds_origin_labels_crds_and_install_hooks() {
        let out = render("  targetNamespace: prod\n", &ReleaseOptions::default()).unwrap();
        assert_eq!(out.release_name, "prod-web");
        assert_eq!(out.namespace, "prod");
        let y = out.to_yaml();
        assert_eq!(
            y,
            "---
# Source: web/crds/crd.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: widgets.example.com
---
# Source: web/templates/deploy.yaml
apiVersion: v1
kind: Service
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: prod-web
spec:
  ports:
  - port: 80
---
# Source: web/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: prod-web
  namespace: prod
spec:
  template:
    spec:
      containers:
      - image: nginx:1.0
        name: app
---
# Source: web/templates/hook.yaml
apiVersion: batch/v1
kind: Job
metadata:
  annotations:
    helm.sh/hook: pre-install
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: migrate
spec: {}
"
        );
    }

    #[test]
    fn policies_and_hook_switches() {
        let out = render(
            "  install:\n    crds: Skip\n    disableHooks: true\n",
            &ReleaseOptions::default(),
        )
        .unwrap();
        let y = out.to_yaml();
        assert!(!y.contains("CustomResourceDefinition"), "{y}");
        assert!(!y.contains("kind: Job"), "{y}");
        // The upgrade action reads spec.upgrade: CRDs default to Create there too.
        let out = render(
            "  install:\n    crds: Skip\n  test:\n    enable: true\n",
            &ReleaseOptions::new(Action::Upgrade),
        )
        .unwrap();
        let y = out.to_yaml();
        assert!(y.contains("kind: CustomResourceDefinition"), "{y}");
        assert!(y.contains("helm.sh/hook: test"), "{y}");
        let err = render(
            "  upgrade:\n    crds: Always\n",
            &ReleaseOptions::new(Action::Upgrade),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid CRD upgrade policy 'Always'"),
            "{err}"
        );
    }

    #[test]
    fn kustomize_post_renderer_patches_images_and_common_metadata() {
        let spec = "  postRenderers:
  - kustomize:
      images:
      - name: nginx
        newTag: '2.0'
      patches:
      - target:
          kind: Deployment
        patch: |
          - op: add
            path: /spec/replicas
            value: 3
      - patch: |
          apiVersion: v1
          kind: Service
          metadata:
            name: web
            labels:
              patched: 'yes'
  commonMetadata:
    labels:
      team: a
      helm.toolkit.fluxcd.io/name: overridden
    annotations:
      owner: me
";
        let out = render(spec, &ReleaseOptions::default()).unwrap();
        let svc = &out.manifest.resources[0];
        assert_eq!(
            svc.content,
            "apiVersion: v1
kind: Service
metadata:
  annotations:
    owner: me
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
    patched: \"yes\"
    team: a
  name: web
spec:
  ports:
  - port: 80"
        );
        let dep = &out.manifest.resources[1];
        assert!(dep.content.contains("replicas: 3"), "{}", dep.content);
        assert!(dep.content.contains("image: nginx:2.0"), "{}", dep.content);
        // The filename annotation never shows.
        assert!(!out.to_yaml().contains(FILENAME_ANNOTATION));
    }

    #[test]
    fn unsupported_settings_are_named() {
        let err = render(
            "  postRenderers:\n  - other: {}\n",
            &ReleaseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "not supported: spec.postRenderers[0].other"
        );
        let err = render(
            "",
            &ReleaseOptions::default().with_post_render_strategy("separate"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("postRenderStrategy \"separate\""),
            "{err}"
        );
    }
}
