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
use std::sync::{Arc, Mutex};

use gitops_core::fs::{EntryKind, FileTree, RelPath, walk_files};
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
/// bytes), as paths from the root; `.git` directories are not part of a
/// source and are left out.
///
/// # Errors
/// A tree that cannot be listed or read.
pub fn changed_files(
    old: &(dyn FileTree + Sync),
    new: &(dyn FileTree + Sync),
) -> Result<BTreeSet<RelPath>, gitops_core::fs::Error> {
    compare(&CachedTree::new(old), &CachedTree::new(new))
}

/// [`changed_files`] over cached trees, both read at once, one on each
/// core; their bytes stay in the caches.
fn compare(
    old: &CachedTree<'_>,
    new: &CachedTree<'_>,
) -> Result<BTreeSet<RelPath>, gitops_core::fs::Error> {
    std::thread::scope(|s| {
        s.spawn(|| old.read_ahead());
        new.read_ahead();
    });
    let a: BTreeSet<RelPath> = source_files(old)?.into_iter().collect();
    let b: BTreeSet<RelPath> = source_files(new)?.into_iter().collect();
    let mut out: BTreeSet<RelPath> = a.symmetric_difference(&b).cloned().collect();
    for p in a.intersection(&b) {
        if old.bytes(p)? != new.bytes(p)? {
            out.insert(p.clone());
        }
    }
    Ok(out)
}

/// Every regular file of the tree outside `.git` directories.
fn source_files(tree: &dyn FileTree) -> Result<Vec<RelPath>, gitops_core::fs::Error> {
    let mut out = Vec::new();
    let mut stack = vec![RelPath::root()];
    while let Some(d) = stack.pop() {
        for e in tree.list(&d)? {
            match e.kind {
                EntryKind::Dir if e.path.file_name() != ".git" => stack.push(e.path),
                EntryKind::File => out.push(e.path),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Render both sides of a change, leaving out what it cannot affect (see
/// the module documentation). `changed` are the files that differ (a
/// VCS's list), or `None` to compare the trees ([`changed_files`]).
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
/// // The changed files as a VCS lists them, or `None` to compare the trees.
/// let changed = BTreeSet::from([RelPath::new("apps/a/cm.yaml")?]);
/// let view = render_changed(&old, &new, &RelPath::new("clusters/dev")?, Some(&changed), &Offline, &Options::default())?;
/// assert!(matches!(view.new.kustomization("a").unwrap().outcome, Outcome::Rendered(_)));
/// assert_eq!(view.skipped, ["Kustomization flux-system/b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_changed(
    old_repo: &(dyn FileTree + Sync),
    new_repo: &(dyn FileTree + Sync),
    path: &RelPath,
    changed: Option<&BTreeSet<RelPath>>,
    sources: &dyn Sources,
    options: &Options,
) -> Result<ChangedView, gitops_core::fs::Error> {
    let old_repo = &CachedTree::new(old_repo);
    let new_repo = &CachedTree::new(new_repo);
    let compared;
    // A given list leaves the trees unread so far.
    let read_ahead = changed.is_some();
    let changed = match changed {
        Some(c) => c,
        None => {
            compared = compare(old_repo, new_repo)?;
            &compared
        }
    };
    let new_gate = ConeGate::new(changed, new_repo, None);
    let mut old_gate = ConeGate::new(changed, old_repo, Some(&new_gate));
    let mut new = Engine::new(new_repo, path, sources, options);
    // The cones read every file of the new tree: read them on another core
    // while the cluster path builds.
    std::thread::scope(|s| {
        if read_ahead {
            s.spawn(|| new_repo.read_ahead());
        }
        new.run(&new_gate);
    });
    // What the new side built from untouched files is what the old side
    // would build from them.
    for i in 0..new.ks.len() {
        let k = &new.ks[i];
        let Outcome::Rendered(objects) = &k.entry.outcome else {
            continue;
        };
        let cone = if i == 0 {
            Some(new_gate.cone(&new.root_path))
        } else {
            new_gate.ks_cone(&new, i)
        };
        if cone.is_some_and(|c| !c.touched(changed)) {
            let key = if i == 0 {
                None
            } else {
                Some((k.entry.namespace.clone(), k.entry.name.clone()))
            };
            old_gate.reusable.get_mut().insert(
                key,
                Reusable {
                    object: k.entry.object.clone(),
                    vars: substitution_data(&new, i),
                    objects: objects.clone(),
                },
            );
        }
    }
    let mut old = Engine::new(old_repo, path, sources, options);
    old.run(&old_gate);

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
    Ok(ChangedView { old, new, skipped })
}

const UNCHANGED: &str = "unchanged";

type Cache<K, V> = Mutex<HashMap<K, Result<V, gitops_core::fs::Error>>>;

/// A tree whose reads and listings are remembered: the comparison, the
/// cones and the builds read the same files.
struct CachedTree<'t> {
    tree: &'t (dyn FileTree + Sync),
    reads: Cache<RelPath, Arc<[u8]>>,
    lists: Cache<RelPath, Vec<gitops_core::fs::DirEntry>>,
    kinds: Cache<RelPath, Option<EntryKind>>,
}

impl<'t> CachedTree<'t> {
    fn new(tree: &'t (dyn FileTree + Sync)) -> CachedTree<'t> {
        CachedTree {
            tree,
            reads: Mutex::default(),
            lists: Mutex::default(),
            kinds: Mutex::default(),
        }
    }

    /// Read every file of the tree into the cache (on another core, while
    /// the caller works on what is read already).
    fn read_ahead(&self) {
        if let Ok(files) = source_files(self) {
            for f in files {
                let _ = self.bytes(&f);
            }
        }
    }

    /// The bytes of a file, shared with the cache.
    fn bytes(&self, path: &RelPath) -> Result<Arc<[u8]>, gitops_core::fs::Error> {
        cached(&self.reads, path, || self.tree.read(path).map(Arc::from))
    }
}

fn cached<V: Clone>(
    cache: &Cache<RelPath, V>,
    path: &RelPath,
    f: impl FnOnce() -> Result<V, gitops_core::fs::Error>,
) -> Result<V, gitops_core::fs::Error> {
    if let Some(r) = cache.lock().ok().and_then(|c| c.get(path).cloned()) {
        return r;
    }
    // Read without the lock: a file asked for by both threads at once is
    // read twice, never waited for.
    let r = f();
    if let Ok(mut c) = cache.lock() {
        c.insert(path.clone(), r.clone());
    }
    r
}

impl FileTree for CachedTree<'_> {
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, gitops_core::fs::Error> {
        self.bytes(path).map(|b| b.to_vec())
    }
    fn list(
        &self,
        dir: &RelPath,
    ) -> Result<Vec<gitops_core::fs::DirEntry>, gitops_core::fs::Error> {
        cached(&self.lists, dir, || self.tree.list(dir))
    }
    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, gitops_core::fs::Error> {
        cached(&self.kinds, path, || self.tree.kind(path))
    }
    fn real_path(&self, path: &RelPath) -> Result<RelPath, gitops_core::fs::Error> {
        self.tree.real_path(path)
    }
    fn read_beneath(
        &self,
        base: &RelPath,
        path: &RelPath,
    ) -> Result<Vec<u8>, gitops_core::fs::Error> {
        // Confinement is the underlying tree's to check, on every read.
        self.tree.read_beneath(base, path)
    }
}

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
/// The data of the ConfigMaps and Secrets an object reads, in reference
/// order (`None` for one not found).
type RefData = Vec<Option<gitops_render::flux::resources::Data>>;

/// The data of `(kind, name)` references from namespace `ns`.
fn ref_data<'r>(
    e: &Engine<'_>,
    ns: &str,
    refs: impl Iterator<Item = (&'r str, &'r str)>,
) -> RefData {
    refs.map(|(kind, name)| e.resources.get(kind, ns, name).cloned())
        .collect()
}

/// The data of a Kustomization's substituteFrom objects.
fn substitution_data(e: &Engine<'_>, i: usize) -> RefData {
    let refs = e.ks[i]
        .typed
        .iter()
        .flat_map(|k| k.spec.post_build.iter())
        .flat_map(|p| p.substitute_from.iter().flatten())
        .map(|r| (r.kind.as_str(), r.name.as_str()));
    ref_data(e, &e.ks[i].entry.namespace, refs)
}

/// The data of a HelmRelease's valuesFrom objects.
fn values_data(e: &Engine<'_>, i: usize) -> RefData {
    let refs = e.hrs[i]
        .typed
        .iter()
        .flat_map(|h| h.spec.values_from.iter().flatten())
        .map(|r| (r.kind.as_str(), r.name.as_str()));
    ref_data(e, &e.hrs[i].entry.namespace, refs)
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
    /// Its directories' contents, for [`Gate::may_define`] lookups.
    infos: Vec<std::rc::Rc<DirInfo>>,
}

impl Cone {
    fn mentions(&self, tree: &CachedTree<'_>, word: &str) -> bool {
        self.files
            .iter()
            .chain(self.infos.iter().flat_map(|i| &i.files))
            .any(|f| tree.bytes(f).is_ok_and(|b| contains(&b, word)))
    }
}

impl Cone {
    fn touched(&self, changed: &BTreeSet<RelPath>) -> bool {
        changed
            .iter()
            .any(|c| self.files.contains(c) || self.dirs.iter().any(|d| c.is_within(d)))
    }
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What one directory (with everything below it) holds and references.
#[derive(Debug, Default)]
struct DirInfo {
    /// Whether a file mentions a Flux API group.
    flux: bool,
    /// Its files.
    files: Vec<RelPath>,
    /// Paths its kustomization files reference, resolved.
    refs: Vec<RelPath>,
}

/// Whether `bytes` contain `word`.
fn contains(bytes: &[u8], word: &str) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.contains(word),
        Err(_) => String::from_utf8_lossy(bytes).contains(word),
    }
}

fn dir_info(tree: &CachedTree<'_>, dir: &RelPath) -> DirInfo {
    let mut info = DirInfo::default();
    let Ok(files) = walk_files(tree, dir) else {
        return info;
    };
    for f in files {
        let Ok(bytes) = tree.bytes(&f) else {
            continue;
        };
        info.flux |= contains(&bytes, "toolkit.fluxcd.io");
        let is_kustomization = KUSTOMIZATION_FILES.contains(&f.file_name());
        info.files.push(f);
        if !is_kustomization {
            continue;
        }
        let f = info.files.last().cloned().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        // Every reference that can leave the directory has a `/`; the
        // rest name files below it, already part of the cone. Taking every
        // such word of the file, whatever its field, can only widen the
        // cone, never miss a field.
        let kdir = f.parent();
        for word in text.split(|c: char| c.is_whitespace() || "[]{},\"'=#".contains(c)) {
            let Some((first, _)) = word.split_once('/') else {
                continue;
            };
            // API versions and remote URLs (`kustomize.config.k8s.io/v1`,
            // `github.com/org/repo`) are no paths.
            if word.contains("://") || (first.contains('.') && first != "." && first != "..") {
                continue;
            }
            if let Ok(p) = kdir.join(word.trim_end_matches(':')) {
                info.refs.push(p);
            }
        }
    }
    info
}

/// Defers Kustomizations of the repository whose cone is untouched and
/// defines no Flux objects.
struct ConeGate<'c> {
    changed: &'c BTreeSet<RelPath>,
    /// This side's repository.
    tree: &'c CachedTree<'c>,
    /// The other side's gate, whose untouched cones are this side's too.
    other: Option<&'c ConeGate<'c>>,
    /// Outputs of the other side, by Kustomization (`None`: the cluster
    /// path itself).
    reusable: RefCell<HashMap<Option<(String, String)>, Reusable>>,
    cones: RefCell<HashMap<RelPath, std::rc::Rc<Cone>>>,
    dirs: RefCell<HashMap<RelPath, std::rc::Rc<DirInfo>>>,
}

impl<'c> ConeGate<'c> {
    fn new(
        changed: &'c BTreeSet<RelPath>,
        tree: &'c CachedTree<'c>,
        other: Option<&'c ConeGate<'c>>,
    ) -> ConeGate<'c> {
        ConeGate {
            changed,
            tree,
            other,
            reusable: RefCell::new(HashMap::new()),
            cones: RefCell::new(HashMap::new()),
            dirs: RefCell::new(HashMap::new()),
        }
    }

    fn cone(&self, dir: &RelPath) -> std::rc::Rc<Cone> {
        if let Some(c) = self.cones.borrow().get(dir) {
            return c.clone();
        }
        // No file of an untouched cone changed: it is the same tree here.
        if let Some(c) = self
            .other
            .and_then(|o| o.cones.borrow().get(dir).cloned())
            .filter(|c| !c.touched(self.changed))
        {
            self.cones.borrow_mut().insert(dir.clone(), c.clone());
            return c;
        }
        let c = std::rc::Rc::new(self.cone_of(dir));
        self.cones.borrow_mut().insert(dir.clone(), c.clone());
        c
    }

    fn dir(&self, dir: &RelPath) -> std::rc::Rc<DirInfo> {
        if let Some(d) = self.dirs.borrow().get(dir) {
            return d.clone();
        }
        let d = std::rc::Rc::new(dir_info(self.tree, dir));
        self.dirs.borrow_mut().insert(dir.clone(), d.clone());
        d
    }

    /// The directories and files a build of `start` reads, followed
    /// through the references of its kustomization files.
    fn cone_of(&self, start: &RelPath) -> Cone {
        let tree = self.tree;
        let mut cone = Cone::default();
        let mut stack = vec![start.clone()];
        let mut seen: HashSet<RelPath> = HashSet::new();
        while let Some(dir) = stack.pop() {
            if !seen.insert(dir.clone()) || cone.dirs.iter().any(|d| dir.is_within(d)) {
                continue;
            }
            cone.dirs.push(dir.clone());
            let info = self.dir(&dir);
            cone.defines_flux |= info.flux;
            cone.infos.push(info.clone());
            for p in &info.refs {
                if cone.dirs.iter().any(|d| p.is_within(d)) {
                    continue;
                }
                match tree.kind(p) {
                    Ok(Some(EntryKind::Dir)) => stack.push(p.clone()),
                    _ => {
                        cone.files.insert(p.clone());
                    }
                }
            }
        }
        cone
    }

    /// The cone of Kustomization `i`, when its source is the repository.
    fn ks_cone(&self, e: &Engine<'_>, i: usize) -> Option<std::rc::Rc<Cone>> {
        let k = &e.ks[i];
        if k.typed.is_none() || !e.is_bootstrap(&k.entry.source) {
            return None;
        }
        let dir = spec_dir(&k.entry.path).ok()?;
        Some(self.cone(&dir))
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

/// A Kustomization built on the other side from untouched files.
struct Reusable {
    object: Option<Value>,
    vars: RefData,
    objects: Vec<Value>,
}

impl Gate for ConeGate<'_> {
    fn reuse(&self, e: &Engine<'_>, i: usize) -> Option<Vec<Value>> {
        let k = &e.ks[i];
        let key = (i > 0).then(|| (k.entry.namespace.clone(), k.entry.name.clone()));
        let same = {
            let reusable = self.reusable.borrow();
            let r = reusable.get(&key)?;
            if i == 0 {
                !self.cone(&e.root_path).touched(self.changed)
            } else {
                r.object == k.entry.object
                    && r.vars == substitution_data(e, i)
                    && self.ks_cone(e, i).is_some_and(|c| !c.touched(self.changed))
            }
        };
        // Each output is taken once.
        same.then(|| self.reusable.borrow_mut().remove(&key).map(|r| r.objects))
            .flatten()
    }

    fn defer(&self, e: &Engine<'_>, i: usize) -> bool {
        match self.ks_cone(e, i) {
            Some(c) => !c.defines_flux && !c.touched(self.changed),
            None => false,
        }
    }

    fn may_define(&self, e: &Engine<'_>, i: usize, name: &str) -> bool {
        self.ks_cone(e, i)
            .is_none_or(|c| c.mentions(self.tree, name))
    }
}
