//! Changed-only mode: render only what a change can affect.
//!
//! Given the repository before and after a change (a pull request's base
//! and head) and the files that differ, [`render_changed`] walks both
//! clusters but leaves a Kustomization unrendered when
//!
//! * its source is the viewed repository and none of its input files
//!   changed — the files below its `spec.path` plus every file and
//!   directory its kustomization files reference outside it (`resources`,
//!   `components`, patch and generator files…), followed recursively;
//! * those files define no Flux objects (so rendering it cannot reveal more
//!   Kustomizations or HelmReleases), and
//! * on both sides the Kustomization object (as its parent renders it, so a
//!   parent's patch counts) and the data of its `substituteFrom`
//!   ConfigMaps and Secrets are equal.
//!
//! A HelmRelease is rendered only when its object, its `valuesFrom` data,
//! its chart source object or — for a chart in the repository — the
//! chart's files changed. What is left out is reported as
//! [`Outcome::Skipped`] with the reason `unchanged`.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use gitops_core::fs::{EntryKind, FileTree, RelPath, walk_files};
use gitops_core::yaml::{Schema, parse_documents};
use serde_json::Value;

use crate::discover::{Engine, Gate, State, spec_dir};
use crate::{Cluster, Options, Outcome, Sources};

/// Both sides of a changed-only render.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangedView {
    /// The cluster before the change.
    pub old: Cluster,
    /// The cluster after the change.
    pub new: Cluster,
    /// `Kustomization ns/name` and `HelmRelease ns/name` of what was left
    /// unrendered because its inputs did not change.
    pub skipped: Vec<String>,
}

/// The files that differ between two trees (added, removed or with other
/// bytes), as paths from the root.
///
/// # Errors
/// A tree that cannot be listed or read.
pub fn changed_files(
    old: &dyn FileTree,
    new: &dyn FileTree,
) -> Result<BTreeSet<RelPath>, gitops_core::fs::Error> {
    let root = RelPath::root();
    let a: BTreeSet<RelPath> = walk_files(old, &root)?.into_iter().collect();
    let b: BTreeSet<RelPath> = walk_files(new, &root)?.into_iter().collect();
    let mut out: BTreeSet<RelPath> = a.symmetric_difference(&b).cloned().collect();
    for p in a.intersection(&b) {
        if old.read(p)? != new.read(p)? {
            out.insert(p.clone());
        }
    }
    Ok(out)
}

/// Render both sides of a change, leaving out what it cannot affect (see
/// the module documentation). `changed` are the files that differ
/// ([`changed_files`], or a VCS's list).
///
/// ```
/// use std::collections::BTreeSet;
/// use gitops_cluster::{Offline, Options, Outcome, changed::render_changed};
/// use gitops_core::fs::{MemTree, RelPath};
///
/// let ks = |name: &str| format!("\
/// apiVersion: kustomize.toolkit.fluxcd.io/v1
/// kind: Kustomization
/// metadata: {{name: {name}, namespace: flux-system}}
/// spec: {{interval: 10m, prune: true, path: ./apps/{name}, sourceRef: {{kind: GitRepository, name: flux-system}}}}
/// ");
/// let mut old = MemTree::new();
/// old.insert("clusters/dev/a.yaml", ks("a"))?;
/// old.insert("clusters/dev/b.yaml", ks("b"))?;
/// old.insert("apps/a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: '1'}\n")?;
/// old.insert("apps/b/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")?;
/// let mut new = old.clone();
/// new.insert("apps/a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: '2'}\n")?;
///
/// let changed = BTreeSet::from([RelPath::new("apps/a/cm.yaml")?]);
/// let view = render_changed(&old, &new, &RelPath::new("clusters/dev")?, &changed, &Offline, &Options::default());
/// assert!(matches!(view.new.kustomization("a").unwrap().outcome, Outcome::Rendered(_)));
/// assert_eq!(view.skipped, ["Kustomization flux-system/b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_changed(
    old_repo: &dyn FileTree,
    new_repo: &dyn FileTree,
    path: &RelPath,
    changed: &BTreeSet<RelPath>,
    sources: &dyn Sources,
    options: &Options,
) -> ChangedView {
    let old_gate = ConeGate::new(changed);
    let new_gate = ConeGate::new(changed);
    let mut old = Engine::new(old_repo, path, sources, options);
    let mut new = Engine::new(new_repo, path, sources, options);
    old.run(&old_gate);
    new.run(&new_gate);

    // Deferred Kustomizations whose object or substitution data differ
    // between the sides are rendered on both; rendering one can add the
    // ConfigMaps another compares, so repeat until nothing moves.
    loop {
        let mut moved = false;
        for i in 0..new.ks.len() {
            let key = (
                new.ks[i].entry.namespace.clone(),
                new.ks[i].entry.name.clone(),
            );
            let j = old.ks.iter().position(|k| {
                (k.entry.namespace.as_str(), k.entry.name.as_str()) == (&key.0, &key.1)
            });
            let new_deferred = new.ks[i].state == State::Deferred;
            let old_deferred = j.is_some_and(|j| old.ks[j].state == State::Deferred);
            if !new_deferred && !old_deferred {
                continue;
            }
            let same = match j {
                Some(j) => {
                    new_deferred
                        && old_deferred
                        && new.ks[i].entry.object == old.ks[j].entry.object
                        && substitution_data(&new, i) == substitution_data(&old, j)
                }
                None => false,
            };
            if same {
                continue;
            }
            if new_deferred {
                new.render_ks(i);
            }
            if let Some(j) = j.filter(|_| old_deferred) {
                old.render_ks(j);
            }
            moved = true;
        }
        // Kustomizations only in the old cluster.
        for j in 0..old.ks.len() {
            if old.ks[j].state == State::Deferred
                && !new.ks.iter().any(|k| {
                    k.entry.namespace == old.ks[j].entry.namespace
                        && k.entry.name == old.ks[j].entry.name
                })
            {
                old.render_ks(j);
                moved = true;
            }
        }
        if !moved {
            break;
        }
        old.run(&old_gate);
        new.run(&new_gate);
    }

    let mut hr_changed: HashSet<(String, String)> = HashSet::new();
    for i in 0..new.hrs.len() {
        let e = &new.hrs[i].entry;
        let key = (e.namespace.clone(), e.name.clone());
        let j = old
            .hrs
            .iter()
            .position(|h| h.entry.namespace == key.0 && h.entry.name == key.1);
        let differs = match j {
            None => true,
            Some(j) => {
                e.object != old.hrs[j].entry.object
                    || values_data(&new, i) != values_data(&old, j)
                    || chart_source(&new, i) != chart_source(&old, j)
                    || new_gate.chart_touched(&new, i)
                    || old_gate.chart_touched(&old, j)
            }
        };
        if differs {
            hr_changed.insert(key);
        }
    }
    for h in &old.hrs {
        let key = (h.entry.namespace.clone(), h.entry.name.clone());
        if !new
            .hrs
            .iter()
            .any(|n| n.entry.namespace == key.0 && n.entry.name == key.1)
        {
            hr_changed.insert(key);
        }
    }
    let pick = |e: &Engine<'_>, i: usize| {
        hr_changed.contains(&(
            e.hrs[i].entry.namespace.clone(),
            e.hrs[i].entry.name.clone(),
        ))
    };
    old.render_helm_releases(&pick);
    new.render_helm_releases(&pick);

    let old = finish(old);
    let new = finish(new);
    let mut skipped: Vec<String> = Vec::new();
    for k in &new.kustomizations {
        if matches!(&k.outcome, Outcome::Skipped(r) if r == UNCHANGED) {
            skipped.push(format!("Kustomization {}", k.id()));
        }
    }
    for h in &new.helm_releases {
        if matches!(&h.outcome, Outcome::Skipped(r) if r == UNCHANGED) {
            skipped.push(format!("HelmRelease {}", h.id()));
        }
    }
    ChangedView { old, new, skipped }
}

const UNCHANGED: &str = "unchanged";

fn finish(e: Engine<'_>) -> Cluster {
    let mut c = e.finish();
    for h in &mut c.helm_releases {
        if matches!(&h.outcome, Outcome::Skipped(r) if r == "not rendered") {
            h.outcome = Outcome::Skipped(UNCHANGED.to_owned());
        }
    }
    c
}

/// The data of a Kustomization's substituteFrom objects, and its inline
/// variables.
fn substitution_data(e: &Engine<'_>, i: usize) -> Vec<Option<Vec<(String, Vec<u8>)>>> {
    let Some(ks) = &e.ks[i].typed else {
        return Vec::new();
    };
    let ns = &e.ks[i].entry.namespace;
    let Some(pb) = &ks.spec.post_build else {
        return Vec::new();
    };
    pb.substitute_from
        .iter()
        .flatten()
        .map(|r| {
            e.resources
                .get(&r.kind, ns, &r.name)
                .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        })
        .collect()
}

/// The data of a HelmRelease's valuesFrom objects.
fn values_data(e: &Engine<'_>, i: usize) -> Vec<Option<Vec<(String, Vec<u8>)>>> {
    let Some(hr) = &e.hrs[i].typed else {
        return Vec::new();
    };
    let ns = &e.hrs[i].entry.namespace;
    hr.spec
        .values_from
        .iter()
        .flatten()
        .map(|r| {
            e.resources
                .get(&r.kind, ns, &r.name)
                .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        })
        .collect()
}

/// The chart's source object (and a HelmChart's own source object).
fn chart_source(e: &Engine<'_>, i: usize) -> Vec<Option<Value>> {
    let Some(src) = &e.hrs[i].entry.source else {
        return Vec::new();
    };
    let obj = e.source_objects.get(src).cloned();
    let inner = obj
        .as_ref()
        .filter(|_| src.kind == "HelmChart")
        .and_then(|o| {
            let kind = o.pointer("/spec/sourceRef/kind")?.as_str()?;
            let name = o.pointer("/spec/sourceRef/name")?.as_str()?;
            e.source_objects
                .get(&crate::SourceRef::new(kind, src.namespace.clone(), name))
                .cloned()
        });
    vec![obj, inner]
}

/// What a Kustomization (or a chart directory) reads from the repository.
#[derive(Debug, Default)]
struct Cone {
    /// Directories read as a whole.
    dirs: Vec<RelPath>,
    /// Single files outside those directories.
    files: BTreeSet<RelPath>,
    /// Whether any of its files mentions a Flux API group.
    defines_flux: bool,
    /// The text of its files, for [`Gate::may_define`] lookups.
    text: String,
}

impl Cone {
    fn touched(&self, changed: &BTreeSet<RelPath>) -> bool {
        changed
            .iter()
            .any(|c| self.files.contains(c) || self.dirs.iter().any(|d| c.is_within(d)))
    }
}

/// The fields of a kustomization that name files or directories.
const PATH_LISTS: [&str; 10] = [
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
    "openapi",
];

fn referenced(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str) {
            out.push(s.to_owned());
        }
    };
    for f in PATH_LISTS {
        match doc.get(f) {
            Some(Value::Array(items)) => items.iter().for_each(|i| push(Some(i))),
            Some(Value::Object(m)) => push(m.get("path")),
            _ => {}
        }
    }
    for f in ["patches", "patchesJson6902", "replacements"] {
        if let Some(Value::Array(items)) = doc.get(f) {
            items.iter().for_each(|i| push(i.get("path")));
        }
    }
    for f in ["configMapGenerator", "secretGenerator"] {
        if let Some(Value::Array(items)) = doc.get(f) {
            for g in items {
                for list in ["files", "envs"] {
                    if let Some(Value::Array(files)) = g.get(list) {
                        for file in files.iter().filter_map(Value::as_str) {
                            // `key=path` names the key.
                            let p = file.split_once('=').map_or(file, |(_, p)| p);
                            push(Some(&Value::String(p.to_owned())));
                        }
                    }
                }
                push(g.get("env"));
            }
        }
    }
    if let Some(h) = doc.get("helmGlobals") {
        push(h.get("chartHome"));
    }
    if doc.get("helmCharts").is_some() && doc.pointer("/helmGlobals/chartHome").is_none() {
        push(Some(&Value::String("charts".to_owned())));
    }
    out.retain(|s| {
        !s.contains("://")
            && !s.starts_with("github.com/")
            && !s.starts_with("git@")
            && !s.contains('\n')
    });
    out
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn cone_of(tree: &dyn FileTree, start: &RelPath) -> Cone {
    let mut cone = Cone::default();
    let mut stack = vec![start.clone()];
    let mut seen: HashSet<RelPath> = HashSet::new();
    while let Some(dir) = stack.pop() {
        if !seen.insert(dir.clone()) || cone.dirs.iter().any(|d| dir.is_within(d)) {
            continue;
        }
        cone.dirs.push(dir.clone());
        let Ok(files) = walk_files(tree, &dir) else {
            continue;
        };
        for f in files {
            let Ok(bytes) = tree.read(&f) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            if text.contains("toolkit.fluxcd.io") {
                cone.defines_flux = true;
            }
            cone.text.push_str(&text);
            if !KUSTOMIZATION_FILES.contains(&f.file_name()) {
                continue;
            }
            let Ok(docs) = parse_documents(&text, f.as_str()) else {
                continue;
            };
            let kdir = f.parent();
            for doc in &docs {
                for r in referenced(&doc.root.to_json(Schema::Core)) {
                    let Ok(p) = kdir.join(&r) else { continue };
                    if cone.dirs.iter().any(|d| p.is_within(d)) {
                        continue;
                    }
                    match tree.kind(&p) {
                        Ok(Some(EntryKind::Dir)) => stack.push(p),
                        _ => {
                            if let Ok(b) = tree.read(&p) {
                                cone.text.push_str(&String::from_utf8_lossy(&b));
                            }
                            cone.files.insert(p);
                        }
                    }
                }
            }
        }
    }
    cone
}

/// Defers Kustomizations of the repository whose cone is untouched and
/// defines no Flux objects.
struct ConeGate<'c> {
    changed: &'c BTreeSet<RelPath>,
    cones: RefCell<HashMap<RelPath, std::rc::Rc<Cone>>>,
}

impl<'c> ConeGate<'c> {
    fn new(changed: &'c BTreeSet<RelPath>) -> ConeGate<'c> {
        ConeGate {
            changed,
            cones: RefCell::new(HashMap::new()),
        }
    }

    fn cone(&self, tree: &dyn FileTree, dir: &RelPath) -> std::rc::Rc<Cone> {
        if let Some(c) = self.cones.borrow().get(dir) {
            return c.clone();
        }
        let c = std::rc::Rc::new(cone_of(tree, dir));
        self.cones.borrow_mut().insert(dir.clone(), c.clone());
        c
    }

    /// The cone of Kustomization `i`, when its source is the repository.
    fn ks_cone(&self, e: &Engine<'_>, i: usize) -> Option<std::rc::Rc<Cone>> {
        let k = &e.ks[i];
        if k.typed.is_none() || !e.is_bootstrap(&k.entry.source) {
            return None;
        }
        let dir = spec_dir(&k.entry.path).ok()?;
        Some(self.cone(e.repo, &dir))
    }

    /// Whether a HelmRelease's chart lives in the repository and changed.
    fn chart_touched(&self, e: &Engine<'_>, i: usize) -> bool {
        let entry = &e.hrs[i].entry;
        let Some(src) = &entry.source else {
            return false;
        };
        let (src, chart) = if src.kind == "HelmChart" {
            let Some(o) = e.source_objects.get(src) else {
                return false;
            };
            let kind = o
                .pointer("/spec/sourceRef/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = o
                .pointer("/spec/sourceRef/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let chart = o
                .pointer("/spec/chart")
                .and_then(Value::as_str)
                .unwrap_or("");
            (
                crate::SourceRef::new(kind, src.namespace.clone(), name),
                chart.to_owned(),
            )
        } else {
            (src.clone(), entry.chart.clone())
        };
        if !e.is_bootstrap(&src) {
            return false;
        }
        match spec_dir(&chart) {
            Ok(dir) => self.changed.iter().any(|c| c.is_within(&dir) || *c == dir),
            Err(_) => true,
        }
    }
}

impl Gate for ConeGate<'_> {
    fn defer(&self, e: &Engine<'_>, i: usize) -> bool {
        match self.ks_cone(e, i) {
            Some(c) => !c.defines_flux && !c.touched(self.changed),
            None => false,
        }
    }

    fn may_define(&self, e: &Engine<'_>, i: usize, name: &str) -> bool {
        self.ks_cone(e, i).is_none_or(|c| c.text.contains(name))
    }
}
