//! Following a cluster's Kustomizations from its path and rendering them
//! and its HelmReleases.

use std::collections::HashMap;
use std::sync::Arc;

use gitops_core::flux::{HelmRelease, Kustomization};
use gitops_core::fs::{FileTree, RelPath};
use gitops_core::quote::truncated;
use gitops_render::flux::Resources;
use gitops_render::flux::build::{BuildOptions, flux_build, set_owner_labels};
use gitops_render::helm::chart::{self, Chart};
use gitops_render::helm::release::{self, Action, ReleaseOptions};
use gitops_render::helm::values::compose_release;
use serde_json::{Value, json};

use crate::sources::{ChartRequest, SourceRef, Sources, Unavailable};

/// How a cluster is rendered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Strict postBuild substitution (kustomize-controller's default).
    pub strict_substitute: bool,
    /// The cluster's Kubernetes version for Helm charts (Helm's default
    /// when `None`).
    pub kube_version: Option<String>,
    /// Extra API versions for Helm's `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
    /// Render HelmReleases (on by default).
    pub helm: bool,
    /// Render only these HelmReleases (`name` or `namespace/name`); the
    /// others are listed, skipped as not selected.
    pub only_helm_releases: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strict_substitute: true,
            kube_version: None,
            api_versions: Vec::new(),
            helm: true,
            only_helm_releases: None,
        }
    }
}

impl Options {
    /// The default options.
    pub fn new() -> Options {
        Options::default()
    }
    /// Strict (or lenient) postBuild substitution.
    #[must_use]
    pub fn with_strict_substitute(mut self, strict: bool) -> Options {
        self.strict_substitute = strict;
        self
    }
    /// The Kubernetes version charts see.
    #[must_use]
    pub fn with_kube_version(mut self, v: impl Into<String>) -> Options {
        self.kube_version = Some(v.into());
        self
    }
    /// Extra API versions charts see.
    #[must_use]
    pub fn with_api_versions(mut self, v: impl IntoIterator<Item = String>) -> Options {
        self.api_versions.extend(v);
        self
    }
    /// Render HelmReleases or not.
    #[must_use]
    pub fn with_helm(mut self, helm: bool) -> Options {
        self.helm = helm;
        self
    }
    /// Render only the HelmReleases named (`name` or `namespace/name`).
    #[must_use]
    pub fn with_only_helm_releases(mut self, names: impl IntoIterator<Item = String>) -> Options {
        self.only_helm_releases = Some(names.into_iter().collect());
        self
    }
}

/// What became of one Kustomization or HelmRelease.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Rendered: the objects kustomize-controller or helm-controller would
    /// apply, in their order.
    Rendered(Vec<Value>),
    /// Rendering failed; the message names the file where one is known.
    Failed(String),
    /// Not rendered, with the reason (a source not available offline, an
    /// unchanged object in changed-only mode).
    Skipped(String),
}

impl Outcome {
    /// The objects when rendered, else none.
    pub fn objects(&self) -> &[Value] {
        match self {
            Outcome::Rendered(o) => o,
            _ => &[],
        }
    }
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Rendered(_) => "PASS",
            Outcome::Failed(_) => "FAIL",
            Outcome::Skipped(_) => "SKIP",
        }
    }
}

/// One Flux Kustomization of the cluster.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KustomizationEntry {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The object as its parent renders it (`None` for the cluster path
    /// itself when no Kustomization of the cluster points at it).
    pub object: Option<Value>,
    /// `spec.path` as written.
    pub path: String,
    /// Its source.
    pub source: SourceRef,
    /// `namespace/name` of the Kustomization whose output defines it.
    pub parent: Option<String>,
    /// `spec.dependsOn` as `namespace/name`.
    pub depends_on: Vec<String>,
    /// What rendering it gave.
    pub outcome: Outcome,
}

impl KustomizationEntry {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
    /// Whether `wanted` (`name` or `namespace/name`) names it.
    pub fn is_named(&self, wanted: &str) -> bool {
        matches_name(&self.namespace, &self.name, wanted)
    }
}

/// One HelmRelease of the cluster.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HelmReleaseEntry {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The object as its Kustomization renders it.
    pub object: Value,
    /// The chart name (or the `chartRef` for charts of OCIRepositories and
    /// HelmCharts).
    pub chart: String,
    /// The chart version or range (empty when the source decides).
    pub version: String,
    /// Where the chart comes from.
    pub source: Option<SourceRef>,
    /// `namespace/name` of the Kustomization whose output defines it.
    pub parent: String,
    /// `spec.dependsOn` as `namespace/name`.
    pub depends_on: Vec<String>,
    /// What rendering it gave.
    pub outcome: Outcome,
}

impl HelmReleaseEntry {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
    /// Whether `wanted` (`name` or `namespace/name`) names it.
    pub fn is_named(&self, wanted: &str) -> bool {
        matches_name(&self.namespace, &self.name, wanted)
    }
}

/// The rendered cluster.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Cluster {
    /// Kustomizations in the order they were found (the cluster path first).
    pub kustomizations: Vec<KustomizationEntry>,
    /// HelmReleases in the order they were found.
    pub helm_releases: Vec<HelmReleaseEntry>,
}

impl Cluster {
    /// True when a Kustomization or HelmRelease failed.
    pub fn any_failed(&self) -> bool {
        self.kustomizations
            .iter()
            .map(|k| &k.outcome)
            .chain(self.helm_releases.iter().map(|h| &h.outcome))
            .any(|o| matches!(o, Outcome::Failed(_)))
    }

    /// The Kustomization `name` (`name` or `namespace/name`).
    pub fn kustomization(&self, name: &str) -> Option<&KustomizationEntry> {
        self.kustomizations.iter().find(|k| k.is_named(name))
    }

    /// The HelmRelease `name` (`name` or `namespace/name`).
    pub fn helm_release(&self, name: &str) -> Option<&HelmReleaseEntry> {
        self.helm_releases.iter().find(|h| h.is_named(name))
    }
}

/// `name` or `namespace/name` against an object's.
fn matches_name(namespace: &str, name: &str, wanted: &str) -> bool {
    match wanted.split_once('/') {
        Some((ns, n)) => ns == namespace && n == name,
        None => wanted == name,
    }
}

/// Render the cluster whose Flux objects live under `path` of `repo` (the
/// repository's root directory, what the bootstrap GitRepository holds).
///
/// `path` is built as kustomize-controller builds a Kustomization's path
/// (its `kustomization.yaml`, or every manifest below it); every
/// Kustomization found in the output is built in turn from its source, in
/// `dependsOn` order, with postBuild substitution from the ConfigMaps and
/// Secrets found so far; then every HelmRelease is rendered from its chart
/// with its composed values. Failures are per object: the result always
/// holds every Kustomization and HelmRelease found.
///
/// ```
/// use gitops_cluster::{Offline, Options, Outcome, render_cluster};
/// use gitops_core::fs::{MemTree, RelPath};
///
/// let mut repo = MemTree::new();
/// repo.insert("clusters/dev/apps.yaml", "\
/// apiVersion: kustomize.toolkit.fluxcd.io/v1
/// kind: Kustomization
/// metadata: {name: apps, namespace: flux-system}
/// spec:
///   interval: 10m
///   prune: true
///   path: ./apps
///   sourceRef: {kind: GitRepository, name: flux-system}
/// ")?;
/// repo.insert("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n")?;
/// let cluster = render_cluster(&repo, &RelPath::new("clusters/dev")?, &Offline, &Options::default());
/// let apps = cluster.kustomization("apps").unwrap();
/// assert_eq!(apps.outcome.objects()[0]["metadata"]["name"], "app");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_cluster(
    repo: &dyn FileTree,
    path: &RelPath,
    sources: &dyn Sources,
    options: &Options,
) -> Cluster {
    let mut engine = Engine::new(repo, path, sources, options);
    engine.run(&NoGate);
    engine.render_helm_releases(&|_, _| true);
    engine.finish()
}

/// Decides, in changed-only mode, which Kustomizations wait.
pub(crate) trait Gate {
    /// Leave Kustomization `ks` unrendered for now.
    fn defer(&self, engine: &Engine<'_>, ks: usize) -> bool;
    /// Whether deferred Kustomization `ks` may define the ConfigMap or
    /// Secret `name` some other Kustomization needs.
    fn may_define(&self, engine: &Engine<'_>, ks: usize, name: &str) -> bool;
    /// The output of Kustomization `ks` when it is known to equal one
    /// already built (the same inputs on the other side of a change).
    fn reuse(&self, _engine: &Engine<'_>, _ks: usize) -> Option<Vec<Value>> {
        None
    }
}

struct NoGate;

impl Gate for NoGate {
    fn defer(&self, _: &Engine<'_>, _: usize) -> bool {
        false
    }
    fn may_define(&self, _: &Engine<'_>, _: usize, _: &str) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Deferred,
    Done,
}

/// A Kustomization while the cluster is walked.
pub(crate) struct Ks {
    pub entry: KustomizationEntry,
    pub typed: Option<Kustomization>,
    pub state: State,
}

/// A HelmRelease while the cluster is walked.
pub(crate) struct Hr {
    pub entry: HelmReleaseEntry,
    pub typed: Option<HelmRelease>,
}

type Tree = Arc<dyn FileTree>;

/// The walk over one side of a cluster.
pub(crate) struct Engine<'a> {
    pub repo: &'a dyn FileTree,
    pub root_path: RelPath,
    sources: &'a dyn Sources,
    options: &'a Options,
    /// The GitRepository holding the viewed repository.
    bootstrap: Option<SourceRef>,
    trees: HashMap<SourceRef, Result<Tree, Unavailable>>,
    charts: HashMap<String, Result<Arc<Chart>, Outcome>>,
    pub resources: Resources,
    /// Source objects found in the rendered output (first definition wins).
    pub source_objects: HashMap<SourceRef, Value>,
    pub ks: Vec<Ks>,
    ks_index: HashMap<(String, String), usize>,
    pub hrs: Vec<Hr>,
    hr_index: HashMap<(String, String), usize>,
}

/// Kubernetes' longest object name (a DNS subdomain) and namespace (a
/// DNS label).
const MAX_NAME: usize = 253;
const MAX_NAMESPACE: usize = 63;
const TOO_LONG: &str =
    "metadata.name is longer than 253 characters or metadata.namespace longer than 63";

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

pub(crate) use gitops_core::error::chain;

fn api_group(obj: &Value) -> &str {
    str_at(obj, &["apiVersion"])
        .and_then(|a| a.split_once('/'))
        .map_or("", |(g, _)| g)
}

fn deps(list: Option<&Vec<gitops_core::flux::NamespacedObjectReference>>, ns: &str) -> Vec<String> {
    list.map(|l| {
        l.iter()
            .map(|d| format!("{}/{}", d.namespace.as_deref().unwrap_or(ns), d.name))
            .collect()
    })
    .unwrap_or_default()
}

/// `spec.path` as a directory of the source (`./x` and `x` alike).
pub(crate) fn spec_dir(path: &str) -> Result<RelPath, String> {
    RelPath::new(path.trim_start_matches('/')).map_err(|e| format!("spec.path {path:?}: {e}"))
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        repo: &'a dyn FileTree,
        path: &RelPath,
        sources: &'a dyn Sources,
        options: &'a Options,
    ) -> Engine<'a> {
        let root = KustomizationEntry {
            namespace: "flux-system".to_owned(),
            name: "flux-system".to_owned(),
            object: None,
            path: format!("./{}", path.as_str()),
            source: SourceRef::new("GitRepository", "flux-system", "flux-system"),
            parent: None,
            depends_on: Vec::new(),
            outcome: Outcome::Skipped("not rendered yet".to_owned()),
        };
        let mut e = Engine {
            repo,
            root_path: path.clone(),
            sources,
            options,
            bootstrap: None,
            trees: HashMap::new(),
            charts: HashMap::new(),
            resources: Resources::new(),
            source_objects: HashMap::new(),
            ks: Vec::new(),
            ks_index: HashMap::new(),
            hrs: Vec::new(),
            hr_index: HashMap::new(),
        };
        e.ks_index
            .insert((root.namespace.clone(), root.name.clone()), 0);
        e.ks.push(Ks {
            entry: root,
            typed: None,
            state: State::Pending,
        });
        e
    }

    /// Render the root and every Kustomization found, in dependency order.
    pub(crate) fn run(&mut self, gate: &dyn Gate) {
        let mut relaxed = false;
        loop {
            let mut next = None;
            for i in 0..self.ks.len() {
                if self.ks[i].state != State::Pending {
                    continue;
                }
                if i > 0 && gate.defer(self, i) {
                    self.ks[i].state = State::Deferred;
                    continue;
                }
                if relaxed || (self.deps_done(i) && self.missing_vars(i).is_empty()) {
                    next = Some(i);
                    break;
                }
            }
            if let Some(i) = next {
                relaxed = false;
                match gate.reuse(self, i) {
                    Some(objects) => self.take_output(i, Outcome::Rendered(objects)),
                    None => self.render_ks(i),
                }
                continue;
            }
            // Nothing is ready: wake deferred Kustomizations that may
            // define what a pending one misses, else take the first
            // pending one as it is (a dependency cycle, a missing
            // ConfigMap: its own render reports it).
            let missing: Vec<String> = (0..self.ks.len())
                .filter(|&i| self.ks[i].state == State::Pending)
                .flat_map(|i| self.missing_vars(i))
                .collect();
            let mut woke = false;
            for i in 0..self.ks.len() {
                if self.ks[i].state == State::Deferred
                    && missing.iter().any(|m| gate.may_define(self, i, m))
                {
                    self.render_ks(i);
                    woke = true;
                }
            }
            if woke {
                continue;
            }
            if self.ks.iter().any(|k| k.state == State::Pending) && !relaxed {
                relaxed = true;
                continue;
            }
            break;
        }
    }

    fn deps_done(&self, i: usize) -> bool {
        self.ks[i].entry.depends_on.iter().all(|d| {
            let Some((ns, n)) = d.split_once('/') else {
                return true;
            };
            match self.ks_index.get(&(ns.to_owned(), n.to_owned())) {
                Some(&j) => j == i || self.ks[j].state != State::Pending,
                None => true,
            }
        })
    }

    /// Names of the non-optional substituteFrom objects not found yet.
    fn missing_vars(&self, i: usize) -> Vec<String> {
        let Some(ks) = &self.ks[i].typed else {
            return Vec::new();
        };
        let ns = &self.ks[i].entry.namespace;
        let Some(pb) = &ks.spec.post_build else {
            return Vec::new();
        };
        pb.substitute_from
            .iter()
            .flatten()
            .filter(|r| !r.optional.unwrap_or(false))
            .filter(|r| self.resources.get(&r.kind, ns, &r.name).is_none())
            .map(|r| r.name.clone())
            .collect()
    }

    /// The tree of a source other than the viewed repository (callers
    /// check [`Engine::is_bootstrap`] first): an ArtifactGenerator's
    /// artifact, else what [`Sources`] gives, once per source.
    pub(crate) fn tree_of(&mut self, source: &SourceRef) -> Result<Tree, Unavailable> {
        if let Some(t) = self.trees.get(source) {
            return t.clone();
        }
        if source.kind == "ExternalArtifact"
            && let Some(t) = self.generated_artifact(source)
        {
            self.trees.insert(source.clone(), t.clone());
            return t;
        }
        let object = self.source_objects.get(source);
        let t = self.sources.tree(source, object);
        self.trees.insert(source.clone(), t.clone());
        t
    }

    /// The ExternalArtifact an ArtifactGenerator of the cluster produces,
    /// built from its sources; `None` when no generator makes it.
    fn generated_artifact(&mut self, source: &SourceRef) -> Option<Result<Tree, Unavailable>> {
        let generator = self
            .source_objects
            .iter()
            .filter(|(r, g)| {
                r.kind == "ArtifactGenerator"
                    && r.namespace == source.namespace
                    && crate::artifact::produces(g, &source.name)
            })
            .map(|(r, g)| (r.clone(), g.clone()))
            .min_by(|a, b| a.0.cmp(&b.0))?;
        let (gen_ref, generator) = generator;
        let mut held: Vec<(String, Option<Tree>)> = Vec::new();
        for (alias, kind, namespace, name) in crate::artifact::sources_of(&generator) {
            let r = SourceRef::new(kind, namespace, name);
            if self.is_bootstrap(&r) {
                held.push((alias, None));
                continue;
            }
            match self.tree_of(&r) {
                Ok(t) => held.push((alias, Some(t))),
                Err(Unavailable::Skipped(m)) => {
                    return Some(Err(Unavailable::Skipped(format!("{gen_ref}: {m}"))));
                }
                Err(Unavailable::Failed(m)) => {
                    return Some(Err(Unavailable::Failed(format!(
                        "{gen_ref}: source {r}: {m}"
                    ))));
                }
            }
        }
        let trees: Vec<(String, &dyn FileTree)> = held
            .iter()
            .map(|(a, t)| (a.clone(), t.as_deref().unwrap_or(self.repo)))
            .collect();
        Some(
            crate::artifact::build(&generator, &source.name, &trees)
                .map(|t| Arc::new(t) as Tree)
                .map_err(|e| Unavailable::Failed(e.to_string())),
        )
    }

    /// Whether `source` is the viewed repository: the GitRepository the
    /// cluster path's own Kustomization uses (by default
    /// `flux-system/flux-system`), or one with the same URL.
    pub(crate) fn is_bootstrap(&self, source: &SourceRef) -> bool {
        if source.kind != "GitRepository" {
            return false;
        }
        let boot = self
            .bootstrap
            .clone()
            .unwrap_or_else(|| SourceRef::new("GitRepository", "flux-system", "flux-system"));
        if *source == boot {
            return true;
        }
        let url = |s: &SourceRef| {
            self.source_objects
                .get(s)
                .and_then(|o| str_at(o, &["spec", "url"]))
                .map(|u| u.trim_end_matches('/').trim_end_matches(".git").to_owned())
        };
        matches!((url(source), url(&boot)), (Some(a), Some(b)) if a == b)
    }

    /// Render Kustomization `i` and take in what its output defines.
    pub(crate) fn render_ks(&mut self, i: usize) {
        let mut outcome = self.build_ks(i);
        // The cluster path is built as kustomize-controller builds its own
        // Kustomization: once that object is found in the output, the
        // build is that Kustomization's (its postBuild, patches, owner
        // labels…).
        if i == 0
            && self.ks[0].typed.is_none()
            && let Outcome::Rendered(objects) = &mut outcome
            && let Some(own) = objects.iter().find_map(|o| self.own_kustomization(o))
        {
            let rebuild = changes_build(&own);
            let owner = (
                own.metadata.name.clone().unwrap_or_default(),
                own.metadata.namespace.clone().unwrap_or_default(),
            );
            self.ks[0].typed = Some(own);
            if rebuild {
                outcome = self.build_ks(0);
            } else {
                // Nothing but the owner labels differs from the build
                // done: set them as the Flux build does.
                for obj in objects.iter_mut() {
                    set_owner_labels(obj, &owner.0, &owner.1);
                }
            }
        }
        self.take_output(i, outcome);
    }

    /// `obj` as the Kustomization that applies the cluster path itself.
    fn own_kustomization(&self, obj: &Value) -> Option<Kustomization> {
        if api_group(obj) != "kustomize.toolkit.fluxcd.io"
            || str_at(obj, &["kind"]) != Some("Kustomization")
        {
            return None;
        }
        // The path and source first: a cluster path lists many
        // Kustomizations, one of them its own.
        let path = str_at(obj, &["spec", "path"]).unwrap_or("./");
        if str_at(obj, &["spec", "sourceRef", "kind"]) != Some("GitRepository")
            || spec_dir(path).ok().as_ref() != Some(&self.root_path)
        {
            return None;
        }
        serde_json::from_value(obj.clone()).ok()
    }

    /// Record what Kustomization `i` rendered to, taking in its objects.
    fn take_output(&mut self, i: usize, outcome: Outcome) {
        self.ks[i].state = State::Done;
        if let Outcome::Rendered(objects) = &outcome {
            let owner = self.ks[i].entry.id();
            for obj in objects.clone() {
                self.take(&owner, obj);
            }
        }
        self.ks[i].entry.outcome = outcome;
    }

    fn build_ks(&mut self, i: usize) -> Outcome {
        let id = self.ks[i].entry.id();
        let ks = match &self.ks[i].typed {
            Some(k) => k.clone(),
            None if i == 0 => root_kustomization(&self.ks[0].entry.path),
            None => {
                // Not parsed: the failure was recorded when it was found.
                return self.ks[i].entry.outcome.clone();
            }
        };
        let source = self.ks[i].entry.source.clone();
        let tree: Tree;
        let repo: &dyn FileTree = if i == 0 || self.is_bootstrap(&source) {
            self.repo
        } else {
            match self.tree_of(&source) {
                Ok(t) => {
                    tree = t;
                    &*tree
                }
                Err(Unavailable::Skipped(r)) => return Outcome::Skipped(r),
                Err(Unavailable::Failed(m)) => {
                    return Outcome::Failed(format!("Kustomization {id}: source {source}: {m}"));
                }
            }
        };
        let options = BuildOptions {
            strict_substitute: self.options.strict_substitute,
            owner_labels: i != 0 || self.ks[0].typed.is_some(),
            ..BuildOptions::default()
        };
        match flux_build(repo, &ks, &self.resources, &options) {
            Ok(b) => Outcome::Rendered(b.objects),
            Err(e) => Outcome::Failed(format!(
                "Kustomization {id} (path {}): {}",
                truncated(&self.ks[i].entry.path),
                chain(&e)
            )),
        }
    }

    /// Take in one rendered object: Flux objects join the walk, ConfigMaps
    /// and Secrets the substitution store.
    fn take(&mut self, owner: &str, obj: Value) {
        let kind = str_at(&obj, &["kind"]).unwrap_or_default().to_owned();
        let group = api_group(&obj).to_owned();
        let name = str_at(&obj, &["metadata", "name"])
            .unwrap_or_default()
            .to_owned();
        let namespace = str_at(&obj, &["metadata", "namespace"])
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_owned();
        // Names longer than Kubernetes allows are cut for the messages
        // that quote them (the object is refused when it is a Flux one).
        let too_long = name.len() > MAX_NAME || namespace.len() > MAX_NAMESPACE;
        let (name, namespace) = (
            truncated(&name).into_owned(),
            truncated(&namespace).into_owned(),
        );
        match (group.as_str(), kind.as_str()) {
            ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
                self.take_ks(owner, namespace, name, obj, too_long);
            }
            ("helm.toolkit.fluxcd.io", "HelmRelease") => {
                self.take_hr(owner, namespace, name, obj, too_long);
            }
            ("source.toolkit.fluxcd.io", _) | ("source.extensions.fluxcd.io", _) => {
                self.source_objects
                    .entry(SourceRef::new(kind, namespace, name))
                    .or_insert(obj);
            }
            ("", "ConfigMap" | "Secret") => {
                // Data that does not decode leaves the object out: a
                // substituteFrom or valuesFrom naming it then says so.
                let _ = self.resources.add_json(&obj, owner);
            }
            _ => {}
        }
    }

    fn take_ks(
        &mut self,
        owner: &str,
        namespace: String,
        name: String,
        obj: Value,
        too_long: bool,
    ) {
        let typed = serde_json::from_value::<Kustomization>(obj.clone()).and_then(|k| {
            if too_long {
                return Err(serde::de::Error::custom(TOO_LONG));
            }
            Ok(k)
        });
        let (path, source, depends_on) = match &typed {
            Ok(k) => (
                k.spec.path.clone().unwrap_or_else(|| "./".to_owned()),
                SourceRef::new(
                    k.spec.source_ref.kind.clone(),
                    k.spec
                        .source_ref
                        .namespace
                        .clone()
                        .unwrap_or_else(|| namespace.clone()),
                    k.spec.source_ref.name.clone(),
                ),
                deps(k.spec.depends_on.as_ref(), &namespace),
            ),
            Err(_) => (
                str_at(&obj, &["spec", "path"])
                    .unwrap_or_default()
                    .to_owned(),
                SourceRef::new("", "", ""),
                Vec::new(),
            ),
        };
        // The Kustomization that applies the cluster path itself.
        let is_root = self.ks[0].entry.object.is_none()
            && source.kind == "GitRepository"
            && spec_dir(&path).ok().as_ref() == Some(&self.root_path);
        if is_root {
            self.bootstrap = Some(source.clone());
            let old = (
                self.ks[0].entry.namespace.clone(),
                self.ks[0].entry.name.clone(),
            );
            self.ks_index.remove(&old);
            self.ks_index.insert((namespace.clone(), name.clone()), 0);
            let root = &mut self.ks[0];
            root.entry.namespace = namespace;
            root.entry.name = name;
            root.entry.path = path;
            root.entry.source = source;
            root.entry.depends_on = depends_on;
            root.entry.object = Some(obj);
            // The output was built with this object already (render_ks).
            root.typed = typed.ok();
            return;
        }
        let key = (namespace.clone(), name.clone());
        let (state, outcome, typed) = match typed {
            Ok(k) => (
                State::Pending,
                Outcome::Skipped("not rendered".to_owned()),
                Some(k),
            ),
            Err(e) => (
                State::Done,
                Outcome::Failed(format!(
                    "Kustomization {namespace}/{name} (defined by Kustomization {owner}): invalid: {e}"
                )),
                None,
            ),
        };
        let (state, outcome) = match self.ks_index.get(&key) {
            Some(&j) => (
                State::Done,
                Outcome::Failed(format!(
                    "Kustomization {namespace}/{name} is defined twice: by Kustomization {owner} and by {}",
                    self.ks[j]
                        .entry
                        .parent
                        .as_deref()
                        .unwrap_or("the cluster path")
                )),
            ),
            None => (state, outcome),
        };
        if !self.ks_index.contains_key(&key) {
            self.ks_index.insert(key, self.ks.len());
        }
        self.ks.push(Ks {
            entry: KustomizationEntry {
                namespace,
                name,
                object: Some(obj),
                path,
                source,
                parent: Some(owner.to_owned()),
                depends_on,
                outcome,
            },
            typed,
            state,
        });
    }

    fn take_hr(
        &mut self,
        owner: &str,
        namespace: String,
        name: String,
        obj: Value,
        too_long: bool,
    ) {
        let typed = serde_json::from_value::<HelmRelease>(obj.clone()).and_then(|h| {
            if too_long {
                return Err(serde::de::Error::custom(TOO_LONG));
            }
            Ok(h)
        });
        let (chart, version, source, depends_on) = match &typed {
            Ok(h) => {
                let deps = deps(h.spec.depends_on.as_ref(), &namespace);
                if let Some(r) = &h.spec.chart_ref {
                    let src = SourceRef::new(
                        r.kind.clone(),
                        r.namespace.clone().unwrap_or_else(|| namespace.clone()),
                        r.name.clone(),
                    );
                    (
                        format!("{}/{}", r.kind, r.name),
                        String::new(),
                        Some(src),
                        deps,
                    )
                } else if let Some(c) = &h.spec.chart {
                    let s = &c.spec;
                    let src = SourceRef::new(
                        s.source_ref.kind.clone(),
                        s.source_ref
                            .namespace
                            .clone()
                            .unwrap_or_else(|| namespace.clone()),
                        s.source_ref.name.clone(),
                    );
                    (
                        s.chart.clone(),
                        s.version.clone().unwrap_or_default(),
                        Some(src),
                        deps,
                    )
                } else {
                    (String::new(), String::new(), None, deps)
                }
            }
            Err(_) => (String::new(), String::new(), None, Vec::new()),
        };
        let key = (namespace.clone(), name.clone());
        let mut outcome = match &typed {
            Ok(_) if source.is_none() => Outcome::Failed(format!(
                "HelmRelease {namespace}/{name} (defined by Kustomization {owner}): neither spec.chart nor spec.chartRef is set"
            )),
            Ok(_) => Outcome::Skipped("not rendered".to_owned()),
            Err(e) => Outcome::Failed(format!(
                "HelmRelease {namespace}/{name} (defined by Kustomization {owner}): invalid: {e}"
            )),
        };
        if let Some(&j) = self.hr_index.get(&key) {
            outcome = Outcome::Failed(format!(
                "HelmRelease {namespace}/{name} is defined twice: by Kustomization {owner} and by Kustomization {}",
                self.hrs[j].entry.parent
            ));
        } else {
            self.hr_index.insert(key, self.hrs.len());
        }
        self.hrs.push(Hr {
            entry: HelmReleaseEntry {
                namespace,
                name,
                object: obj,
                chart,
                version,
                source,
                parent: owner.to_owned(),
                depends_on,
                outcome,
            },
            typed: typed.ok(),
        });
    }

    /// Render the HelmReleases `which` selects.
    pub(crate) fn render_helm_releases(&mut self, which: &dyn Fn(&Engine<'_>, usize) -> bool) {
        // Charts are loaded and values composed in order (they read the
        // sources and the ConfigMaps found); the releases then render on
        // the available cores.
        let mut jobs: Vec<(usize, Job)> = Vec::new();
        for i in 0..self.hrs.len() {
            if self.hrs[i].typed.is_none()
                || !matches!(&self.hrs[i].entry.outcome, Outcome::Skipped(r) if r == "not rendered")
            {
                continue;
            }
            if !self.options.helm {
                self.hrs[i].entry.outcome =
                    Outcome::Skipped("HelmRelease rendering is off".to_owned());
                continue;
            }
            if let Some(only) = &self.options.only_helm_releases {
                let e = &self.hrs[i].entry;
                if !only.iter().any(|n| matches_name(&e.namespace, &e.name, n)) {
                    self.hrs[i].entry.outcome = Outcome::Skipped("not selected".to_owned());
                    continue;
                }
            }
            if !which(self, i) {
                continue;
            }
            match self.prepare_hr(i) {
                Ok(job) => jobs.push((i, job)),
                Err(o) => self.hrs[i].entry.outcome = o,
            }
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(jobs.len());
        let results: Vec<(usize, Outcome)> = if workers <= 1 {
            jobs.iter().map(|(i, j)| (*i, j.run())).collect()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let out = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
            std::thread::scope(|s| {
                for _ in 0..workers {
                    s.spawn(|| {
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((i, job)) = jobs.get(k) else { break };
                            let o = job.run();
                            if let Ok(mut v) = out.lock() {
                                v.push((*i, o));
                            }
                        }
                    });
                }
            });
            out.into_inner().unwrap_or_default()
        };
        for (i, o) in results {
            self.hrs[i].entry.outcome = o;
        }
    }

    /// The chart, values and options of HelmRelease `i`.
    fn prepare_hr(&mut self, i: usize) -> Result<Job, Outcome> {
        let id = self.hrs[i].entry.id();
        let Some(hr) = self.hrs[i].typed.clone() else {
            return Err(self.hrs[i].entry.outcome.clone());
        };
        let chart = match self.load_chart(&hr, &self.hrs[i].entry.clone()) {
            Ok(c) => c,
            Err(Outcome::Failed(m)) => {
                return Err(Outcome::Failed(format!("HelmRelease {id}: {m}")));
            }
            Err(o) => return Err(o),
        };
        let values = compose_release(&hr, &self.resources)
            .map_err(|e| Outcome::Failed(format!("HelmRelease {id}: values: {}", chain(&e))))?;
        let strategy = str_at(&self.hrs[i].entry.object, &["spec", "postRenderStrategy"])
            .unwrap_or_default()
            .to_owned();
        let mut options = ReleaseOptions::new(Action::Install)
            .with_api_versions(self.options.api_versions.iter().cloned())
            .with_post_render_strategy(strategy)
            .with_objects_only(true);
        if let Some(v) = &self.options.kube_version {
            options = options.with_kube_version(v.clone());
        }
        Ok(Job {
            id,
            chart_name: self.hrs[i].entry.chart.clone(),
            release: hr,
            chart,
            values,
            options,
        })
    }

    /// Load (once per chart and version) the chart of a HelmRelease.
    fn load_chart(
        &mut self,
        hr: &HelmRelease,
        entry: &HelmReleaseEntry,
    ) -> Result<Arc<Chart>, Outcome> {
        let Some(source) = entry.source.clone() else {
            return Err(Outcome::Failed("no chart source".to_owned()));
        };
        // A HelmChart object stands for its own chart template.
        let (source, chart_name, version) = if source.kind == "HelmChart" {
            let Some(obj) = self.source_objects.get(&source) else {
                return Err(Outcome::Failed(format!(
                    "{source} is not defined in the cluster"
                )));
            };
            let ns = source.namespace.clone();
            let kind = str_at(obj, &["spec", "sourceRef", "kind"]).unwrap_or_default();
            let name = str_at(obj, &["spec", "sourceRef", "name"]).unwrap_or_default();
            (
                SourceRef::new(kind, ns, name),
                str_at(obj, &["spec", "chart"])
                    .unwrap_or_default()
                    .to_owned(),
                str_at(obj, &["spec", "version"])
                    .unwrap_or_default()
                    .to_owned(),
            )
        } else {
            (source, entry.chart.clone(), entry.version.clone())
        };
        let key = format!("{source}|{chart_name}|{version}");
        if let Some(c) = self.charts.get(&key) {
            return c.clone();
        }
        let loaded = self
            .fetch_chart(&source, &chart_name, &version)
            .map(Arc::new);
        self.charts.insert(key, loaded.clone());
        let chart = loaded?;
        // `spec.chart.spec.valuesFiles` replace the chart's values.yaml,
        // merged in order (source-controller packages them so).
        let files = hr
            .spec
            .chart
            .as_ref()
            .and_then(|c| c.spec.values_files.clone())
            .unwrap_or_default();
        if files.is_empty() {
            return Ok(chart);
        }
        let mut c = (*chart).clone();
        c.values = values_files(&chart, &files)
            .map_err(|e| Outcome::Failed(format!("spec.chart.spec.valuesFiles: {e}")))?;
        Ok(Arc::new(c))
    }

    fn fetch_chart(
        &mut self,
        source: &SourceRef,
        chart_name: &str,
        version: &str,
    ) -> Result<Chart, Outcome> {
        let unavailable = |u: Unavailable| match u {
            Unavailable::Skipped(r) => Outcome::Skipped(r),
            Unavailable::Failed(m) => Outcome::Failed(format!("{source}: {m}")),
        };
        match source.kind.as_str() {
            "HelmRepository" => {
                let Some(obj) = self.source_objects.get(source) else {
                    return Err(Outcome::Failed(format!(
                        "{source} is not defined in the cluster"
                    )));
                };
                let mut url = str_at(obj, &["spec", "url"]).unwrap_or_default().to_owned();
                if str_at(obj, &["spec", "type"]) == Some("oci") && !url.starts_with("oci://") {
                    url = format!("oci://{url}");
                }
                let version = if version.is_empty() { "*" } else { version };
                let bytes = self
                    .sources
                    .chart(&ChartRequest::Repository {
                        repository: source,
                        url: &url,
                        chart: chart_name,
                        version,
                    })
                    .map_err(unavailable)?;
                chart::load_archive(&bytes)
                    .map_err(|e| Outcome::Failed(format!("chart {chart_name} from {url}: {e}")))
            }
            "OCIRepository" => {
                let empty = json!({});
                let object = self.source_objects.get(source).unwrap_or(&empty).clone();
                let bytes = self
                    .sources
                    .chart(&ChartRequest::Oci {
                        repository: source,
                        object: &object,
                    })
                    .map_err(unavailable)?;
                chart::load_archive(&bytes)
                    .map_err(|e| Outcome::Failed(format!("chart of {source}: {e}")))
            }
            "GitRepository" | "Bucket" | "ExternalArtifact" => {
                let dir = spec_dir(chart_name).map_err(Outcome::Failed)?;
                let load = |t: &dyn FileTree| {
                    chart::load(t, &dir).map_err(|e| {
                        Outcome::Failed(format!("chart {chart_name} of {source}: {e}"))
                    })
                };
                if self.is_bootstrap(source) {
                    load(self.repo)
                } else {
                    let t = self.tree_of(source).map_err(unavailable)?;
                    load(&*t)
                }
            }
            other => Err(Outcome::Failed(format!(
                "chart source kind {other:?} (expected HelmRepository, GitRepository, Bucket, OCIRepository or HelmChart)"
            ))),
        }
    }

    pub(crate) fn finish(self) -> Cluster {
        Cluster {
            kustomizations: self
                .ks
                .into_iter()
                .map(|k| {
                    let Ks {
                        mut entry, state, ..
                    } = k;
                    if state == State::Deferred {
                        entry.outcome = Outcome::Skipped("unchanged".to_owned());
                    }
                    entry
                })
                .collect(),
            helm_releases: self.hrs.into_iter().map(|h| h.entry).collect(),
        }
    }
}

/// The chart's values as source-controller packages them for
/// `valuesFiles`: the listed files of the chart merged in order.
fn values_files(chart: &Chart, files: &[String]) -> Result<serde_json::Map<String, Value>, String> {
    let mut merged = serde_json::Map::new();
    for name in files {
        let name = name.trim_start_matches("./");
        let next = if name == "values.yaml" {
            chart.values.clone()
        } else {
            let f = chart
                .files
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("no file {name:?} in chart {}", chart.name()))?;
            let text = String::from_utf8_lossy(&f.data);
            chart::load_values(&text).map_err(|e| format!("{name}: {e}"))?
        };
        merged = gitops_render::helm::values::merge_maps(&merged, &next);
    }
    Ok(merged)
}

/// Whether a Kustomization's spec changes what its path builds to beyond
/// the owner labels.
fn changes_build(k: &Kustomization) -> bool {
    let s = &k.spec;
    let set = |o: &Option<String>| o.as_deref().is_some_and(|v| !v.is_empty());
    s.post_build.is_some()
        || s.patches.as_ref().is_some_and(|p| !p.is_empty())
        || s.images.as_ref().is_some_and(|p| !p.is_empty())
        || s.components.as_ref().is_some_and(|p| !p.is_empty())
        || s.common_metadata.is_some()
        || set(&s.target_namespace)
        || set(&s.name_prefix)
        || set(&s.name_suffix)
        || !s.extra.is_empty()
}

/// A HelmRelease ready to render.
struct Job {
    id: String,
    chart_name: String,
    release: HelmRelease,
    chart: Arc<Chart>,
    values: serde_json::Map<String, Value>,
    options: ReleaseOptions,
}

impl Job {
    fn run(&self) -> Outcome {
        let id = &self.id;
        let rendered = match release::render_loaded_release(
            &self.release,
            &self.chart,
            &self.values,
            &self.options,
        ) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Failed(format!(
                    "HelmRelease {id}: chart {}: {}",
                    self.chart_name,
                    chain(&e)
                ));
            }
        };
        match rendered.objects() {
            Ok(objects) => Outcome::Rendered(objects),
            Err(e) => Outcome::Failed(format!("HelmRelease {id}: rendered manifest: {e}")),
        }
    }
}

/// The Kustomization kustomize-controller would run for the cluster path.
fn root_kustomization(path: &str) -> Kustomization {
    let v = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {
            "interval": "10m",
            "prune": true,
            "path": path,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
    });
    serde_json::from_value(v).unwrap_or_else(|_| Kustomization {
        api_version: "kustomize.toolkit.fluxcd.io/v1".to_owned(),
        kind: "Kustomization".to_owned(),
        metadata: Default::default(),
        spec: Default::default(),
        status: None,
    })
}
