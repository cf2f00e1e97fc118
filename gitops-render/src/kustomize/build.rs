//! The build: [`build`], [`render`] and [`write_yaml`], and the builder
//! that loads each kustomization file, accumulates its resources, bases and
//! components, and runs its generators, patches, transformers, plugins and
//! validators in kustomize's order, then fixes name references, resolves
//! vars and sorts the output.

use std::sync::Arc;

use gitops_core::fs::{EntryKind, FileTree, RelPath};
use gitops_core::yaml::{DuplicateKeys, ReadOptions};

use crate::budget::parse_documents_opts;

use crate::Error;
use crate::kustomize::buildmeta::{BuildMetadata, Origin};
use crate::kustomize::crds::config_from_crds;
use crate::kustomize::kustomization::{FILE_NAMES, Kustomization};
use crate::kustomize::loader::{
    IdIndex, Source, append_all, display, is_remote, is_within, kind_followed, read_in_root,
    read_text_beneath, resolve, resources_from_text,
};
use crate::kustomize::openapi::{Current, OpenApi};
use crate::kustomize::options::{Options, PluginExecutor};
use crate::kustomize::plugins::PluginHost;
use crate::kustomize::transformer_config::TransformerConfig;
use crate::kustomize::types::Var;
use crate::kustomize::{generate, nameref, order, patch, plugins, transform};
use crate::resource::Resource;
use crate::value::Value;

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
        openapi: OpenApi::default(),
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
    let var_specs = crate::kustomize::vars::var_reference_specs(&b.result_config.var_reference)?;
    crate::kustomize::vars::resolve_vars(&mut resources, &b.vars, &var_specs)?;
    resources.retain(|r| !is_local_config(r));
    order::sort(
        &mut resources,
        options.reorder,
        kust.sort_options.as_ref(),
        dir,
    )?;
    crate::kustomize::buildmeta::finish(&mut resources, meta);
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

/// The resources of one file, or why it could not be read as such.
type Parsed = Result<Vec<Resource>, Error>;

/// A kustomization's `resources:` files read and parsed before they are
/// accumulated, on the available cores when there is enough text: parsing
/// is most of the reading time of a large build and each file parses on
/// its own. One result per entry, in order; `None` for an entry that is not
/// a readable local file inside `dir` (it takes the sequential path, which
/// reports its error in order). Every stream still counts against the
/// run's budget (which file hits an exhausted budget first may differ).
fn parse_ahead(src: &Source<'_>, dir: &RelPath, entries: &[String]) -> Vec<Option<Parsed>> {
    /// Fewer entries than this are read one at a time, as they come.
    const MIN_ENTRIES: usize = 8;
    let mut out: Vec<Option<Parsed>> = entries.iter().map(|_| None).collect();
    if entries.len() < MIN_ENTRIES {
        return out;
    }
    let tree = src.tree();
    let mut texts: Vec<(usize, String, String)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if is_remote(entry) {
            continue;
        }
        let Ok(path) = resolve(dir, entry) else {
            continue;
        };
        if !matches!(kind_followed(tree, &path), Ok((_, Some(EntryKind::File))))
            || !is_within(&path, dir)
        {
            continue;
        }
        if let Ok(text) = read_text_beneath(tree, dir, &path) {
            texts.push((i, display(&path), text));
        }
    }
    let sources: Vec<(&str, &str)> = texts
        .iter()
        .map(|(_, origin, text)| (origin.as_str(), text.as_str()))
        .collect();
    for ((i, _, _), parsed) in texts.iter().zip(parse_texts(&sources)) {
        out[*i] = Some(parsed);
    }
    out
}

/// Parse `(origin, text)` pairs into resources, results in order: on the
/// available cores from 256 KiB of text, each thread under the caller's
/// YAML budget; a parse that panicked is redone on the calling thread.
pub(crate) fn parse_texts(texts: &[(&str, &str)]) -> Vec<Parsed> {
    /// Less text than this is parsed on the calling thread.
    const PARALLEL_BYTES: usize = 256 << 10;
    let total: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(texts.len());
    if threads < 2 || total < PARALLEL_BYTES {
        return texts
            .iter()
            .map(|(origin, text)| resources_from_text(text, origin))
            .collect();
    }
    let budget = crate::budget::current();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parse = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((origin, text)) = texts.get(k) else {
                return done;
            };
            let parsed = match &budget {
                Some(b) => crate::budget::scope(b, || resources_from_text(text, origin)),
                None => resources_from_text(text, origin),
            };
            done.push((k, parsed));
        }
    };
    let results: Vec<Vec<(usize, Parsed)>> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("kustomize-parse".into())
                    .stack_size(8 << 20)
                    .spawn_scoped(s, parse)
                    .ok()
            })
            .collect();
        let mut all = vec![parse()];
        for h in helpers {
            all.extend(h.join().ok());
        }
        all
    });
    let mut out: Vec<Option<Parsed>> = texts.iter().map(|_| None).collect();
    for (k, parsed) in results.into_iter().flatten() {
        out[k] = Some(parsed);
    }
    out.into_iter()
        .zip(texts)
        .map(|(p, (origin, text))| p.unwrap_or_else(|| resources_from_text(text, origin)))
        .collect()
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

/// The state of one build, carried down through bases and components.
struct Builder<'o, 'f> {
    options: &'o Options<'f>,
    stack: Vec<RelPath>,
    /// Transformer configs of the kustomizations being built, innermost last.
    configs: Vec<TransformerConfig>,
    /// The accumulated config of the top kustomization.
    result_config: TransformerConfig,
    /// The schema strategic merge uses (`openapi` field).
    openapi: OpenApi,
    /// Every var declared so far (kustomize's accumulated var set).
    vars: Vec<Var>,
    /// Origin of the kustomization being run, when `buildMetadata` asks
    /// for origin tracking.
    origin: Option<Origin>,
}

/// kustomize's prefix for errors inside a resources entry.
fn accumulating(entry: &str, source: Error) -> Error {
    Error::Accumulate {
        entry: entry.to_owned(),
        source: Box::new(source),
    }
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

    /// Merge a kustomization's own config (defaults, `configurations`,
    /// `crds`) into the accumulated config of the kustomization being built.
    fn merge_own_config(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        kust: &Kustomization,
    ) -> Result<(), Error> {
        static DEFAULTS: std::sync::OnceLock<TransformerConfig> = std::sync::OnceLock::new();
        static ACCUMULATED_DEFAULTS: std::sync::OnceLock<TransformerConfig> =
            std::sync::OnceLock::new();
        let defaults = DEFAULTS.get_or_init(TransformerConfig::defaults);
        let top = self.configs.last().cloned().unwrap_or_default();
        let merged = if kust.configurations.is_empty() && kust.crds.is_empty() {
            // Fast path: a config that already holds the defaults is left
            // unchanged by merging them again.
            if top == TransformerConfig::default() {
                ACCUMULATED_DEFAULTS
                    .get_or_init(|| {
                        TransformerConfig::default()
                            .merge(defaults)
                            .unwrap_or_else(|_| defaults.clone())
                    })
                    .clone()
            } else {
                top
            }
        } else {
            let mut own = defaults.clone();
            if !kust.configurations.is_empty() {
                let mut loaded = TransformerConfig::default();
                for file in &kust.configurations {
                    let (path, text) = read_in_root(src.tree(), dir, file)?;
                    loaded = loaded.merge(&TransformerConfig::parse(&text, &display(&path))?)?;
                }
                own = own.merge(&loaded)?;
            }
            let crds = config_from_crds(src.tree(), dir, &kust.crds)?;
            top.merge(&own)?.merge(&crds)?
        };
        match self.configs.last_mut() {
            Some(t) => *t = merged,
            None => self.configs.push(merged),
        }
        Ok(())
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
        self.openapi.set_schema(src.tree(), dir, kust)?;
        let mut index = IdIndex::new(ra);
        let mut ahead = parse_ahead(src, dir, &kust.resources).into_iter();
        for entry in &kust.resources {
            let parsed = ahead.next().flatten();
            let more = self.accumulate_resource(src, dir, entry, parsed)?;
            index.append(ra, more)?;
        }
        drop(index);
        self.merge_own_config(src, dir, kust)?;
        generate::run_generators(src.tree(), dir, kust, ra, self.origin.as_ref())?;
        plugins::run_generator_plugins(self, src, dir, kust, ra)?;
        for entry in &kust.components {
            self.accumulate_component(src, dir, entry, ra)?;
        }
        let cfg = self.configs.last().cloned().unwrap_or_default();
        let schemas = self.openapi.current_schemas();
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
        crate::kustomize::replacements::run(src.tree(), dir, &kust.replacements, ra)?;
        if let Some(o) = &self.origin {
            let kinds = crate::kustomize::buildmeta::builtin_transformer_kinds(kust);
            crate::kustomize::buildmeta::annotate_transformers(ra, o, &kust.file_name, &kinds)?;
        }
        plugins::run_transformer_plugins(self, src, dir, kust, ra)?;
        plugins::run_validators(self, src, dir, kust, ra)?;
        crate::kustomize::vars::merge_vars(&kust.vars, ra, &mut self.vars)?;
        Ok(())
    }

    /// Accumulate one `resources:` entry; `parsed` is the entry's file
    /// already read and parsed by [`parse_ahead`], when it was.
    fn accumulate_resource(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        entry: &str,
        parsed: Option<Parsed>,
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
                let mut resources = match parsed {
                    Some(parsed) => parsed?,
                    None => {
                        let text = read_text_beneath(tree, dir, &path)?;
                        resources_from_text(&text, &display(&path))?
                    }
                };
                self.openapi.note_loaded(&resources);
                if let Some(o) = &self.origin {
                    crate::kustomize::buildmeta::annotate_origin(&mut resources, &o.append(entry));
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

impl PluginHost for Builder<'_, '_> {
    fn executor(&self) -> Option<&dyn PluginExecutor> {
        self.options.executor
    }

    fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    fn current_schemas(&mut self) -> Current {
        self.openapi.current_schemas()
    }

    fn accumulate_configs(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        entries: &[&String],
        out: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        self.configs.push(TransformerConfig::default());
        let result = entries.iter().try_for_each(|p| {
            let more = self.accumulate_resource(src, dir, p, None)?;
            append_all(out, more)
        });
        self.configs.pop();
        result
    }
}

#[cfg(test)]
mod tests {
    use gitops_core::fs::{MemTree, RelPath};

    use super::render;
    use crate::Options;

    /// A ConfigMap file of about `pad` bytes.
    fn config_map(i: usize, pad: usize) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:02}\ndata:\n  blob: {}\n",
            "x".repeat(pad)
        )
    }

    fn kustomization(files: &[String]) -> String {
        let mut k = String::from("namePrefix: p-\nresources:\n");
        for f in files {
            k.push_str(&format!("- {f}\n"));
        }
        k
    }

    /// Many large files are parsed on several threads; the result is the
    /// one of reading them one at a time (the same files in groups below
    /// the read-ahead threshold).
    #[test]
    fn files_parsed_ahead_build_as_read_in_order() {
        let mut tree = MemTree::new();
        let names: Vec<String> = (0..12).map(|i| format!("f{i:02}.yaml")).collect();
        for (i, n) in names.iter().enumerate() {
            tree.insert(&format!("all/{n}"), config_map(i, 40_000))
                .unwrap();
            tree.insert(&format!("groups/g{}/{n}", i / 4), config_map(i, 40_000))
                .unwrap();
        }
        tree.insert("all/kustomization.yaml", kustomization(&names))
            .unwrap();
        for g in 0..3 {
            tree.insert(
                &format!("groups/g{g}/kustomization.yaml"),
                kustomization(&names[g * 4..g * 4 + 4]),
            )
            .unwrap();
        }
        let groups: Vec<String> = (0..3).map(|g| format!("g{g}")).collect();
        tree.insert("groups/kustomization.yaml", kustomization(&groups))
            .unwrap();
        let ahead = render(&tree, &RelPath::new("all").unwrap(), &Options::default()).unwrap();
        let grouped = render(&tree, &RelPath::new("groups").unwrap(), &Options::default()).unwrap();
        let prefixed = grouped.replace("name: p-p-", "name: p-");
        assert_eq!(ahead, prefixed);
        assert_eq!(ahead.matches("kind: ConfigMap").count(), 12);
    }

    /// Errors of files read ahead are reported in the order of the entries:
    /// a missing file before a later file with a syntax error, and the
    /// syntax error when it comes first.
    #[test]
    fn errors_of_files_parsed_ahead_come_in_entry_order() {
        let names: Vec<String> = (0..10).map(|i| format!("f{i}.yaml")).collect();
        let build = |missing: usize, broken: usize| {
            let mut tree = MemTree::new();
            for (i, n) in names.iter().enumerate() {
                let text = if i == broken {
                    "kind: [unclosed\n".to_owned()
                } else {
                    config_map(i, 40_000)
                };
                if i != missing {
                    tree.insert(n, &text).unwrap();
                }
            }
            tree.insert("kustomization.yaml", kustomization(&names))
                .unwrap();
            let e = render(&tree, &RelPath::root(), &Options::default()).unwrap_err();
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        };
        let e = build(3, 7);
        assert!(e.contains("f3.yaml") && !e.contains("f7.yaml"), "{e}");
        let e = build(7, 3);
        assert!(e.contains("f3.yaml") && !e.contains("f7.yaml"), "{e}");
    }
}
