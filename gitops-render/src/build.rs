//! Loading kustomizations and running a build.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use gitops_core::fs::{EntryKind, FileTree, RelPath};
use gitops_core::yaml::{Budget, DuplicateKeys, ReadOptions};

use crate::budget::{parse_documents, parse_documents_opts};

use crate::Error;
use crate::buildmeta::{BuildMetadata, Origin};
use crate::configurations::TransformerConfig;
use crate::kustomization::{FILE_NAMES, Kustomization};
use crate::plugins::PluginExecutor;
use crate::resource::Resource;
use crate::value::Value;
use crate::{generate, nameref, order, patch, transform};

/// Output order of the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// kustomize's legacy kind order (kubectl's default).
    #[default]
    Legacy,
    /// Keep the order in which resources were loaded (`--reorder none`).
    None,
}

/// Fetches remote bases (`https://…`, `github.com/…`, `git::…`).
///
/// A build never touches the network itself; callers that want remote
/// resources supply an implementation that returns the fetched directory as a
/// file tree whose root is the remote kustomization.
pub trait RemoteFetcher {
    /// Fetch `url` and return its content.
    fn fetch(
        &self,
        url: &str,
    ) -> Result<Box<dyn FileTree>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Build options.
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    /// Output order; a kustomization's `sortOptions` win over it.
    pub reorder: Reorder,
    /// Where remote resources come from; without one they are an error.
    pub fetcher: Option<&'a dyn RemoteFetcher>,
    /// Runs non-builtin plugins and Helm charts; without one they are an error.
    pub executor: Option<&'a dyn PluginExecutor>,
    /// The YAML budget of the whole build: every file of the kustomization
    /// tree counts against it. Without one, the build uses the budget of
    /// the enclosing [`budget::scope`](crate::budget::scope), else a fresh
    /// [`Budget::default`].
    pub budget: Option<&'a Budget>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("reorder", &self.reorder)
            .field("fetcher", &self.fetcher.is_some())
            .field("executor", &self.executor.is_some())
            .field("budget", &self.budget.map(Budget::limits))
            .finish()
    }
}

/// Build the kustomization in `dir` and return its resources in output order.
///
/// ```
/// use gitops_core::fs::{MemTree, RelPath};
/// use gitops_render::{build, Options};
///
/// let mut tree = MemTree::new();
/// tree.insert("kustomization.yaml", "namespace: prod\nresources: [svc.yaml]\n")?;
/// tree.insert("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n")?;
/// let resources = build(&tree, &RelPath::root(), &Options::default())?;
/// assert_eq!(resources[0].namespace(), "prod");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn build(
    tree: &dyn FileTree,
    dir: &RelPath,
    options: &Options<'_>,
) -> Result<Vec<Resource>, Error> {
    let budget = match options.budget {
        Some(b) => b.clone(),
        None => crate::budget::current().unwrap_or_default(),
    };
    crate::budget::scope(&budget, || build_in_scope(tree, dir, options))
}

fn build_in_scope(
    tree: &dyn FileTree,
    dir: &RelPath,
    options: &Options<'_>,
) -> Result<Vec<Resource>, Error> {
    let mut b = Builder {
        options,
        stack: Vec::new(),
        configs: Vec::new(),
        result_config: TransformerConfig::default(),
        openapi: crate::openapi::OpenApi::default(),
        vars: Vec::new(),
        origin: None,
    };
    let src = Source::Local(tree);
    let kust = b.load_kustomization(&src, dir)?;
    let meta = BuildMetadata::from_names(&kust.build_metadata);
    if meta.tracking {
        b.origin = Some(Origin::default());
    }
    let mut resources = b.accumulate_target(&src, dir, &kust)?;
    generate::add_hashes(&mut resources)?;
    nameref::fix_references(&mut resources, &b.result_config.name_reference)?;
    // Vars are resolved once the back references are fixed, then the
    // local-config resources dropped, as kustomize does.
    let var_specs = crate::vars::var_reference_specs(&b.result_config.var_reference)?;
    crate::vars::resolve_vars(&mut resources, &b.vars, &var_specs)?;
    resources.retain(|r| !is_local_config(r));
    order::sort(
        &mut resources,
        options.reorder,
        kust.sort_options.as_ref(),
        dir,
    )?;
    crate::buildmeta::finish(&mut resources, meta);
    Ok(resources)
}

/// Build and print like `kubectl kustomize`: documents joined by `---\n`.
///
/// The whole output is one string; [`build`] and [`write_yaml`] write it
/// to a stream instead, one document at a time.
pub fn render(tree: &dyn FileTree, dir: &RelPath, options: &Options<'_>) -> Result<String, Error> {
    let resources = build(tree, dir, options)?;
    let mut out = String::new();
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        crate::emit::append_yaml(&r.value, &mut out);
    }
    Ok(out)
}

/// Write `resources` as [`render`] prints them (documents joined by
/// `---\n`, the same bytes) to `out`, one document at a time; each
/// resource is dropped once written, so memory falls as the output grows.
/// `out` should be buffered.
///
/// ```
/// use gitops_core::fs::{MemTree, RelPath};
/// use gitops_render::{build, render, write_yaml, Options};
///
/// let mut tree = MemTree::new();
/// tree.insert("kustomization.yaml", "resources: [a.yaml]\n")?;
/// tree.insert("a.yaml", "kind: A\nmetadata: {name: x}\n---\nkind: B\nmetadata: {name: y}\n")?;
/// let mut out = Vec::new();
/// write_yaml(build(&tree, &RelPath::root(), &Options::default())?, &mut out)?;
/// assert_eq!(out, render(&tree, &RelPath::root(), &Options::default())?.as_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_yaml(resources: Vec<Resource>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // One reused buffer, written out whenever it passes FLUSH_AT.
    const FLUSH_AT: usize = 32 << 10;
    let mut buf = String::with_capacity(FLUSH_AT * 2);
    for (i, r) in resources.into_iter().enumerate() {
        if i > 0 {
            buf.push_str("---\n");
        }
        crate::emit::append_yaml(&r.value, &mut buf);
        drop(r);
        if buf.len() >= FLUSH_AT {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())
}

/// kustomize drops objects annotated `config.kubernetes.io/local-config`
/// (any value but `false`) from the output.
fn is_local_config(r: &Resource) -> bool {
    r.value
        .get_path(&[
            "metadata",
            "annotations",
            "config.kubernetes.io/local-config",
        ])
        .and_then(Value::scalar_text)
        .is_some_and(|v| v != "false")
}

/// Where files come from: the caller's tree or one a fetcher returned.
pub(crate) enum Source<'a> {
    Local(&'a dyn FileTree),
    Remote(Arc<dyn FileTree>),
}

impl Source<'_> {
    pub(crate) fn tree(&self) -> &dyn FileTree {
        match self {
            Source::Local(t) => *t,
            Source::Remote(t) => t.as_ref(),
        }
    }
}

pub(crate) struct Builder<'o, 'f> {
    pub(crate) options: &'o Options<'f>,
    stack: Vec<RelPath>,
    /// Transformer configs of the kustomizations being built, innermost last.
    pub(crate) configs: Vec<TransformerConfig>,
    /// The accumulated config of the top kustomization.
    result_config: TransformerConfig,
    /// The schema strategic merge uses (`openapi` field).
    pub(crate) openapi: crate::openapi::OpenApi,
    /// Every var declared so far (kustomize's accumulated var set).
    vars: Vec<crate::vars::Var>,
    /// Origin of the kustomization being run, when `buildMetadata` asks
    /// for origin tracking.
    pub(crate) origin: Option<Origin>,
}

/// Show a tree path the way kustomize's in-memory tests do (rooted at `/`).
pub(crate) fn display(p: &RelPath) -> String {
    format!("/{}", p.as_str())
}

fn is_remote(entry: &str) -> bool {
    entry.starts_with("https://")
        || entry.starts_with("http://")
        || entry.starts_with("git::")
        || entry.starts_with("git@")
        || entry.starts_with("ssh://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}

/// Read a file that must sit in or below `root` (kustomize's `rootOnly`).
pub(crate) fn read_in_root(
    tree: &dyn FileTree,
    root: &RelPath,
    rel: &str,
) -> Result<(RelPath, String), Error> {
    let (path, bytes) = read_bytes_in_root(tree, root, rel)?;
    let text = utf8_text(&path, bytes)?;
    Ok((path, text))
}

/// [`read_in_root`] without the UTF-8 requirement (generator files).
pub(crate) fn read_bytes_in_root(
    tree: &dyn FileTree,
    root: &RelPath,
    rel: &str,
) -> Result<(RelPath, Vec<u8>), Error> {
    let path = resolve(root, rel)?;
    if !is_within(&path, root) {
        return Err(Error::Security {
            path: display(&path),
            root: display(root),
        });
    }
    let bytes = read_bytes_beneath(tree, root, &path)?;
    Ok((path, bytes))
}

/// Read `path` as UTF-8, refusing it unless its real path (symlinks
/// resolved) lies in or below `root`'s: kustomize's `rootOnly` check, done
/// by the tree (on Linux, by the kernel) rather than on the text.
pub(crate) fn read_text_beneath(
    tree: &dyn FileTree,
    root: &RelPath,
    path: &RelPath,
) -> Result<String, Error> {
    utf8_text(path, read_bytes_beneath(tree, root, path)?)
}

/// The bytes of `path`, under the same `rootOnly` check as [`read_text_beneath`].
fn read_bytes_beneath(
    tree: &dyn FileTree,
    root: &RelPath,
    path: &RelPath,
) -> Result<Vec<u8>, Error> {
    tree.read_beneath(root, path).map_err(|source| Error::Read {
        path: display(path),
        source,
    })
}

fn utf8_text(path: &RelPath, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::Read {
        path: display(path),
        source: gitops_core::fs::Error::Io {
            path: path.clone(),
            source: Arc::new(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "file is not valid UTF-8",
            )),
        },
    })
}

/// What `path` is, following a symlink in its last component (a link is
/// what it points to, as kustomize sees it); a link that leads outside the
/// tree or nowhere is an error naming it.
pub(crate) fn kind_followed(
    tree: &dyn FileTree,
    path: &RelPath,
) -> Result<(RelPath, Option<EntryKind>), Error> {
    let read_err = |source| Error::Read {
        path: display(path),
        source,
    };
    match tree.kind(path) {
        Ok(Some(EntryKind::Symlink)) => {
            let real = tree.real_path(path).map_err(read_err)?;
            let kind = tree.kind(&real).map_err(read_err)?;
            Ok((real, kind))
        }
        Ok(kind) => Ok((path.clone(), kind)),
        Err(e) => Err(read_err(e)),
    }
}

pub(crate) fn resolve(root: &RelPath, rel: &str) -> Result<RelPath, Error> {
    root.join(rel).map_err(|_| Error::Security {
        path: rel.to_owned(),
        root: display(root),
    })
}

fn is_within(path: &RelPath, root: &RelPath) -> bool {
    path.is_within(root)
}

/// Parse every document of a resource file into resources.
pub(crate) fn resources_from_text(text: &str, origin: &str) -> Result<Vec<Resource>, Error> {
    let docs = parse_documents(text, origin)?;
    let src = crate::value::Source::new(text);
    let mut out = Vec::new();
    for doc in docs {
        if doc.is_empty() {
            continue;
        }
        let v = Value::from_node_in(doc.root, &src);
        push_resource(v, origin, &mut out)?;
    }
    Ok(out)
}

fn push_resource(v: Value, origin: &str, out: &mut Vec<Resource>) -> Result<(), Error> {
    let Value::Map(m) = &v else {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: "a document is not a mapping".into(),
        });
    };
    if m.is_empty() {
        return Ok(());
    }
    let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.ends_with("List")
        && let Some(Value::Seq(items)) = m.get("items")
    {
        for item in items.clone() {
            push_resource(item, origin, out)?;
        }
        return Ok(());
    }
    if kind.is_empty() {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: "missing kind in object".into(),
        });
    }
    if v.str_at(&["metadata", "name"]).is_none_or(str::is_empty)
        && v.str_at(&["metadata", "generateName"])
            .is_none_or(str::is_empty)
    {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: format!("missing metadata.name in object of kind {kind}"),
        });
    }
    // Labels and annotations keep their types and nulls here: kustomize
    // turns annotations into strings at the end of the build
    // (`buildmeta::finish`), labels only where it copies them.
    out.push(Resource::new(v));
    Ok(())
}

/// kustomize's prefix for errors inside a resources entry.
fn accumulating(entry: &str, source: Error) -> Error {
    Error::Accumulate {
        entry: entry.to_owned(),
        source: Box::new(source),
    }
}

/// Append `more` to `into`, failing on an id that is already there.
pub(crate) fn append_all(into: &mut Vec<Resource>, more: Vec<Resource>) -> Result<(), Error> {
    let mut index = IdIndex::new(into);
    index.append(into, more)
}

/// The ids of an accumulator's resources, kept while a kustomization
/// appends its `resources` one entry after the other (their ids do not
/// change in between), so each append costs what it adds, not the size of
/// the accumulator.
pub(crate) struct IdIndex {
    seen: HashSet<IdKey>,
}

/// Group, version, kind, name and effective namespace, each preceded by
/// its length (unambiguous; one allocation per resource).
type IdKey = String;

impl IdIndex {
    /// Index the resources of `ra`.
    pub(crate) fn new(ra: &[Resource]) -> IdIndex {
        IdIndex {
            seen: ra.iter().map(key).collect(),
        }
    }

    /// Append `more` to `into` (which must be the indexed list), failing on
    /// an id that is already there.
    pub(crate) fn append(
        &mut self,
        into: &mut Vec<Resource>,
        more: Vec<Resource>,
    ) -> Result<(), Error> {
        into.reserve(more.len());
        for r in more {
            if !self.seen.insert(key(&r)) {
                return Err(Error::IdConflict {
                    id: r.cur_id().to_string(),
                });
            }
            into.push(r);
        }
        Ok(())
    }
}

fn key(r: &Resource) -> IdKey {
    let id = r.id_ref();
    let ns = id.effective_namespace();
    let parts = [id.group, id.version, id.kind, id.name, ns];
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        // Writing to a String cannot fail.
        let _ = write!(key, "{}:{part}", part.len());
    }
    key
}

impl Builder<'_, '_> {
    fn load_kustomization(&self, src: &Source<'_>, dir: &RelPath) -> Result<Kustomization, Error> {
        let tree = src.tree();
        let mut found = Vec::new();
        for name in FILE_NAMES {
            let p = dir.join(name).map_err(|source| Error::Read {
                path: display(dir),
                source,
            })?;
            if matches!(kind_followed(tree, &p), Ok((_, Some(EntryKind::File)))) {
                found.push(p);
            }
        }
        let path = match found.len() {
            0 => {
                return Err(Error::NoKustomization { dir: display(dir) });
            }
            1 => found.remove(0),
            _ => {
                return Err(Error::Kustomization {
                    file: display(dir),
                    message: "found multiple kustomization files".into(),
                });
            }
        };
        let text = read_text_beneath(tree, dir, &path)?;
        let origin = display(&path);
        // kustomize decodes kustomization files with sigs.k8s.io/yaml: a
        // repeated key keeps its last value.
        let read = ReadOptions {
            duplicate_keys: DuplicateKeys::LastWins,
            ..ReadOptions::default()
        };
        let docs = parse_documents_opts(&text, &origin, read)?;
        let root = docs
            .into_iter()
            .find(|d| !d.is_empty())
            .map(|d| Value::from_node(&d.root))
            .unwrap_or(Value::Map(crate::value::Map::new()));
        let mut k = Kustomization::parse(&root, &origin)?;
        k.file_name = path
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(k)
    }

    /// Run one kustomization and return its resources.
    fn accumulate_target(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        kust: &Kustomization,
    ) -> Result<Vec<Resource>, Error> {
        let mut ra = Vec::new();
        self.configs.push(TransformerConfig::default());
        let result = self.run_kustomization(src, dir, kust, &mut ra);
        let cfg = self.configs.pop().unwrap_or_default();
        result?;
        match self.configs.last_mut() {
            Some(parent) => *parent = parent.merge(&cfg)?,
            None => self.result_config = cfg,
        }
        Ok(ra)
    }

    fn run_kustomization(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        kust: &Kustomization,
        ra: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(Error::Cycle { dir: display(dir) });
        }
        self.stack.push(dir.clone());
        let result = self.run_inner(src, dir, kust, ra);
        self.stack.pop();
        result
    }

    fn run_inner(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        kust: &Kustomization,
        ra: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        self.set_openapi(src, dir, kust)?;
        let mut index = IdIndex::new(ra);
        for entry in &kust.resources {
            let more = self.accumulate_resource(src, dir, entry)?;
            index.append(ra, more)?;
        }
        drop(index);
        self.merge_own_config(src, dir, kust)?;
        generate::run_generators(src.tree(), dir, kust, ra, self.origin.as_ref())?;
        self.run_generator_plugins(src, dir, kust, ra)?;
        for entry in &kust.components {
            self.accumulate_component(src, dir, entry, ra)?;
        }
        let cfg = self.configs.last().cloned().unwrap_or_default();
        let schemas = self.current_schemas();
        patch::apply_strategic_merge_patches(
            src.tree(),
            dir,
            &kust.patches_strategic_merge,
            ra,
            schemas.schemas(),
        )?;
        patch::apply_patches(src.tree(), dir, &kust.patches, ra, schemas.schemas())?;
        transform::run(kust, &cfg, ra)?;
        patch::apply_json6902_patches(src.tree(), dir, &kust.patches_json6902, ra)?;
        transform::run_late(kust, &cfg, ra)?;
        crate::replacements::run(src.tree(), dir, &kust.replacements, ra)?;
        if let Some(o) = &self.origin {
            let kinds = crate::buildmeta::builtin_transformer_kinds(kust);
            crate::buildmeta::annotate_transformers(ra, o, &kust.file_name, &kinds)?;
        }
        self.run_transformer_plugins(src, dir, kust, ra)?;
        self.run_validators(src, dir, kust, ra)?;
        crate::vars::merge_vars(&kust.vars, ra, &mut self.vars)?;
        Ok(())
    }

    pub(crate) fn accumulate_resource(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        entry: &str,
    ) -> Result<Vec<Resource>, Error> {
        if is_remote(entry) {
            let mut sub = Vec::new();
            self.accumulate_remote(entry, &mut sub, false)?;
            return Ok(sub);
        }
        let tree = src.tree();
        let path = resolve(dir, entry)?;
        // A symlinked directory is entered at its real path (kustomize
        // evaluates symlinks before it makes a directory the new root); a
        // symlinked file is read where it is written, beneath `dir`.
        let (real, kind) = kind_followed(tree, &path)?;
        match kind {
            Some(EntryKind::File) => {
                if !is_within(&path, dir) {
                    return Err(Error::Security {
                        path: display(&path),
                        root: display(dir),
                    });
                }
                let text = read_text_beneath(tree, dir, &path)?;
                let mut resources = resources_from_text(&text, &display(&path))?;
                self.note_loaded(&resources);
                if let Some(o) = &self.origin {
                    crate::buildmeta::annotate_origin(&mut resources, &o.append(entry));
                }
                Ok(resources)
            }
            Some(EntryKind::Dir) => {
                let path = real;
                if is_within(dir, &path) {
                    return Err(Error::Cycle {
                        dir: display(&path),
                    });
                }
                let kust = self
                    .load_kustomization(src, &path)
                    .map_err(|e| accumulating(entry, e))?;
                if kust.kind == "Component" {
                    return Err(Error::Kustomization {
                        file: display(&path),
                        message: format!(
                            "expected kind != 'Component' for path '{}'",
                            display(&path)
                        ),
                    });
                }
                let saved = self.origin.clone();
                self.origin = saved.as_ref().map(|o| o.append(entry));
                let sub = self
                    .accumulate_target(src, &path, &kust)
                    .map_err(|e| accumulating(entry, e));
                self.origin = saved;
                sub
            }
            _ => Err(Error::Missing {
                path: display(&path),
            }),
        }
    }

    fn accumulate_component(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        entry: &str,
        ra: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        if is_remote(entry) {
            return self.accumulate_remote(entry, ra, true);
        }
        let path = resolve(dir, entry)?;
        let (real, kind) = kind_followed(src.tree(), &path)?;
        let path = match kind {
            Some(EntryKind::Dir) => real,
            Some(EntryKind::File) => {
                return Err(Error::Kustomization {
                    file: display(&path),
                    message: "a component must be a directory".into(),
                });
            }
            _ => {
                return Err(Error::Missing {
                    path: display(&path),
                });
            }
        };
        let kust = self.load_kustomization(src, &path)?;
        if kust.kind != "Component" {
            return Err(Error::Kustomization {
                file: display(&path),
                message: format!(
                    "accumulating components: accumulateDirectory: \"expected kind 'Component' for path '{}' but got '{}'\"",
                    display(&path),
                    if kust.kind.is_empty() {
                        "Kustomization"
                    } else {
                        &kust.kind
                    }
                ),
            });
        }
        let saved = self.origin.clone();
        self.origin = saved.as_ref().map(|o| o.append(entry));
        let result = self.run_kustomization(src, &path, &kust, ra);
        self.origin = saved;
        result
    }

    fn accumulate_remote(
        &mut self,
        url: &str,
        ra: &mut Vec<Resource>,
        component: bool,
    ) -> Result<(), Error> {
        if self.origin.is_some() {
            return Err(Error::Unsupported {
                file: url.to_owned(),
                field: "buildMetadata (origin tracking of remote resources)".to_owned(),
            });
        }
        let Some(fetcher) = self.options.fetcher else {
            return Err(Error::RemoteNeedsFetcher {
                url: url.to_owned(),
            });
        };
        let tree: Arc<dyn FileTree> = Arc::from(fetcher.fetch(url).map_err(|e| Error::Fetch {
            url: url.to_owned(),
            source: Arc::from(e),
        })?);
        let src = Source::Remote(tree);
        let root = RelPath::root();
        let saved = std::mem::take(&mut self.stack);
        let result = (|| {
            let kust = self.load_kustomization(&src, &root)?;
            if component {
                self.run_kustomization(&src, &root, &kust, ra)
            } else {
                let sub = self.accumulate_target(&src, &root, &kust)?;
                append_all(ra, sub)
            }
        })();
        self.stack = saved;
        result
    }
}
