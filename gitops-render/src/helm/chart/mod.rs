//! Helm chart rendering, byte-identical to `helm template` of Helm v4.1.4.
//!
//! - [`load`] / [`load_archive`]: a chart directory (`.helmignore` honoured)
//!   or a `.tgz` archive, with its subcharts under `charts/` (directories
//!   and archives), validated as Helm's loader does.
//! - [`render_chart`] / [`render_loaded`]: dependency processing
//!   (conditions, tags, aliases, import-values), values coalescing, schema
//!   validation, the Go template engine with Sprig and Helm's functions,
//!   and Helm's manifest sorting into CRDs, resources (install order) and
//!   hooks: a [`Manifest`].
//! - [`Manifest::to_helm_template`]: exactly what `helm template` prints.
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_render::helm::chart::{RenderOptions, render_chart};
//!
//! let mut tree = MemTree::new();
//! tree.insert("web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")?;
//! tree.insert("web/values.yaml", "replicas: 2\n")?;
//! tree.insert(
//!     "web/templates/cm.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
//! )?;
//! let opts = RenderOptions::new("demo", "default");
//! let manifest = render_chart(&tree, &RelPath::new("web")?, &serde_json::Map::new(), &opts)?;
//! assert_eq!(
//!     manifest.to_helm_template(&opts),
//!     "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  replicas: \"2\"\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Integers from `--set` (JSON integers in the values, see
//!   [`load_values`]) are Go `int`s in templates, and so are `fromToml`'s;
//!   Helm has `int64`, which prints the same but shows in `%T`, `kindOf`
//!   and `typeOf` (`int64` there, `int` here). Numbers from values files
//!   are `float64` in both.
//! - `range` over `.Files` (or `.Files.Glob`) yields each path and the
//!   file's bytes as a Go `[]byte` that prints as Go prints one (`[104
//!   105]`); Sprig functions other than printing see an object, not bytes.
//! - Subcharts not listed as dependencies are ordered by name (Helm: Go map order).
//! - `toYamlPretty` is not provided (yaml.v3's encoder, whose styles differ
//!   from the yaml.v2 output of `toYaml`): calling it fails with an error
//!   naming it. `toToml` and `fromToml` have the deviations listed in
//!   their module (error texts of the TOML parser, date-times as strings).
//! - YAML syntax error texts are yaml.v2's for the common cases; others carry
//!   this reader's description after yaml.v2's `yaml: line N:` prefix.
//!
//! # Environment
//! Templates get a clock, entropy and time zones from
//! [`RenderOptions::environment`]: the operating system's with the
//! `helm-os-environment` feature (on by default), otherwise none unless
//! the caller passes one. Helm removes Sprig's `env` and `expandenv`, so
//! no environment variable is ever read. Loading reads only the chart's own
//! files through the [`FileTree`] it is given: symlinks are followed only
//! while they stay inside the chart directory (a link out of it, or a cycle,
//! is an error), archives with `..` or absolute entries are refused, and
//! files and charts are bounded in size (Helm's 5 MiB per file, 100 MiB per
//! chart) before they are inflated.
//!
//! # Performance
//! Every template is parsed once per render (a text that several subcharts
//! vendor, such as Bitnami's `common`, is lexed once and its trees shared),
//! parse trees point into the template text instead of copying it, `tpl`
//! parses its text into an overlay of the template set instead of a copy,
//! chart files are read straight into the buffers the chart keeps, and
//! rendered documents are read only as far as their kind, name and
//! annotations (by a line reader for documents in plain block style, the
//! YAML reader for the others). Values that a `values.schema.json` plainly
//! admits pass without compiling the schema. Work that does not depend on
//! the rest runs on threads of its own, where there is enough of it to pay
//! for a thread: a chart directory's values and schema files of 16 KiB and
//! more are read on a loading thread while the walk reads the other files
//! (the chart's own first), a large `values.yaml` of an archived chart
//! with subcharts parses while the subcharts load, templates parse on as
//! many threads as there are cores
//! ([`Template::parse_all`](gitops_gotemplate::Template::parse_all)) and
//! run side by side on as many (one per 64 KiB of templates at most; each
//! rendered file split and its heads read by the thread that rendered it), schemas are validated beside
//! rendering, and the CRD files are copied out on a thread of their own
//! while the templates parse. The parse trees and
//! the values, many small allocations, are freed on a thread that nothing
//! waits for. [`Manifest::write_helm_template`] writes the output without
//! building it in memory first.
//!
//! Helm runs templates one after the other over values they share, and a
//! template may change them for the ones after it (`set .Values …`). Run
//! side by side, templates see the shared maps frozen
//! ([`Freeze`](gitops_gotemplate::Freeze)) and each its own copy of its
//! chart's top-level data. When a template's write is refused, the
//! outputs before it stand (they read what they would have read in turn),
//! and that template and every one after it run again one after the other
//! over the unfrozen values, as Helm runs them. The first error in template
//! order is the one reported. [`RenderOptions::threads`] sets the number
//! of threads.

mod caps;
mod deps;
mod engine;
mod files;
mod head;
mod loader;
pub(crate) mod sorter;
#[cfg(test)]
mod tests;
mod toml;
mod yaml;

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use gitops_core::fs::{FileTree, RelPath};
use gitops_gotemplate::sprig::Environment;

pub use loader::{load, load_archive};

/// A file of a chart: its path inside the chart and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to the chart root (`templates/deployment.yaml`).
    pub name: String,
    /// Contents (a leading UTF-8 byte order mark removed).
    pub data: Arc<[u8]>,
}

/// One dependency entry of `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Dependency {
    /// `name`.
    pub name: String,
    /// `version` (a semver range).
    pub version: String,
    /// `repository`.
    pub repository: String,
    /// `condition`: comma-separated value paths.
    pub condition: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `enabled` (computed by dependency processing).
    pub enabled: bool,
    /// `import-values`, as written.
    pub import_values: Vec<Json>,
    /// `alias`.
    pub alias: String,
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Maintainer {
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
    /// `url`.
    pub url: String,
}

/// `Chart.yaml`: the fields of Helm's `chart.Metadata`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Metadata {
    /// `name`.
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version`.
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers`.
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` when absent).
    pub api_version: String,
    /// `condition`.
    pub condition: String,
    /// `tags`.
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`, sorted by key.
    pub annotations: std::collections::BTreeMap<String, String>,
    /// `kubeVersion`.
    pub kube_version: String,
    /// `dependencies` (from `requirements.yaml` for `apiVersion: v1`).
    pub dependencies: Vec<Dependency>,
    /// `type`: ``, `application` or `library`.
    pub chart_type: String,
}

/// A loaded chart with its subcharts.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `Chart.lock` / `requirements.lock`, as JSON.
    pub lock: Option<Json>,
    /// Files under `templates/`, in load order.
    pub templates: Vec<ChartFile>,
    /// `values.yaml` (every document merged).
    pub values: Map<String, Json>,
    /// `values.schema.json`, as bytes.
    pub schema: Option<Vec<u8>>,
    /// Every other file (what `.Files` sees), `crds/` included.
    pub files: Vec<ChartFile>,
    /// Subcharts (from `charts/`).
    pub dependencies: Vec<Chart>,
    /// `schema` read while the chart loaded, when it was.
    pub(crate) parsed_schema: ParsedSchema,
}

/// A chart's `values.schema.json` read on the loading thread, used by
/// validation while it is still the chart's schema (a caller may replace
/// [`Chart::schema`]).
#[derive(Clone, Default)]
pub(crate) struct ParsedSchema(Option<Arc<SchemaSlot>>);

pub(crate) struct SchemaSlot {
    source: Arc<[u8]>,
    state: std::sync::Mutex<SchemaState>,
}

enum SchemaState {
    Parsing(std::sync::mpsc::Receiver<Result<Json, String>>),
    Done(Arc<Result<Json, String>>),
}

impl std::fmt::Debug for ParsedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ParsedSchema(ahead)"
        } else {
            "ParsedSchema(none)"
        })
    }
}

impl ParsedSchema {
    /// The schema `source`, whose JSON arrives on `rx`.
    pub(crate) fn parsing(
        source: Arc<[u8]>,
        rx: std::sync::mpsc::Receiver<Result<Json, String>>,
    ) -> ParsedSchema {
        ParsedSchema(Some(Arc::new(SchemaSlot {
            source,
            state: std::sync::Mutex::new(SchemaState::Parsing(rx)),
        })))
    }

    /// [`crate::helm::schema::validate`] of `values` against `schema`, with
    /// the JSON read ahead when it is of `schema`.
    fn validate(&self, schema: &[u8], values: &Json) -> Result<(), String> {
        let Some(slot) = self.0.as_ref().filter(|s| *s.source == *schema) else {
            return crate::helm::schema::validate(schema, values);
        };
        let parsed = {
            let mut state = slot
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*state {
                SchemaState::Done(p) => p.clone(),
                SchemaState::Parsing(rx) => {
                    let p = Arc::new(
                        rx.recv()
                            .unwrap_or_else(|_| crate::helm::schema::parse(schema)),
                    );
                    *state = SchemaState::Done(p.clone());
                    p
                }
            }
        };
        match &*parsed {
            Ok(json) => crate::helm::schema::validate_parsed(json, values),
            Err(e) => Err(e.clone()),
        }
    }
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// Whether this chart or a subchart has a `values.schema.json`.
    fn has_schema(&self) -> bool {
        self.schema.is_some() || self.dependencies.iter().any(Chart::has_schema)
    }

    /// The bytes of the templates of this chart and its subcharts.
    fn template_bytes(&self) -> usize {
        self.templates.iter().map(|t| t.data.len()).sum::<usize>()
            + self
                .dependencies
                .iter()
                .map(Chart::template_bytes)
                .sum::<usize>()
    }

    /// CRD files of this chart (`crds/*.yaml|yml|json`), each with its path
    /// as `helm template` prints it, then those of the subcharts.
    fn crd_objects(&self, prefix: &str, out: &mut Vec<RenderedFile>) {
        let full = if prefix.is_empty() {
            self.name().to_string()
        } else {
            format!("{prefix}/charts/{}", self.name())
        };
        for f in &self.files {
            let ext_ok = [".yaml", ".yml", ".json"].iter().any(|e| {
                f.name
                    .rsplit('/')
                    .next()
                    .is_some_and(|b| b.contains('.') && b.ends_with(e))
            });
            if f.name.starts_with("crds/") && ext_ok {
                out.push(RenderedFile {
                    path: format!("{full}/{}", f.name),
                    content: utf8_text(&f.data).into_owned(),
                    kind: "CustomResourceDefinition".into(),
                    name: String::new(),
                    hook: None,
                });
            }
        }
        for d in &self.dependencies {
            d.crd_objects(&full, out);
        }
    }
}

/// How to render (the `helm template` flags).
#[derive(Clone)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Release name.
    pub release_name: String,
    /// Release namespace.
    pub namespace: String,
    /// `--kube-version` (Helm's default: `v1.35.0`, from its client-go).
    pub kube_version: Option<String>,
    /// `--api-versions`, added to Helm's default set.
    pub api_versions: Vec<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--no-hooks`.
    pub disable_hooks: bool,
    /// `--show-only` (template paths or globs relative to the chart's parent).
    pub show_only: Vec<String>,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// How deep `include`/`tpl` may recurse into one template name (Helm: 1000).
    pub max_include_depth: usize,
    /// The most bytes the templates may produce in total.
    pub max_output_bytes: usize,
    /// The most template steps one render may take.
    pub max_steps: u64,
    /// When rendering must stop (the caller reads its clock: this crate
    /// reads none).
    pub deadline: Option<std::time::Instant>,
    /// The clock, entropy and time zones of Sprig's `now`, `randAlphaNum`,
    /// `genCA`, `dateInZone`…: the operating system's
    /// ([`OsEnvironment`](gitops_gotemplate::sprig::OsEnvironment)) with
    /// the `helm-os-environment` feature (on by default), otherwise
    /// [`NoEnvironment`](gitops_gotemplate::sprig::NoEnvironment), whose
    /// functions fail. Helm removes `env` and `expandenv`, so the
    /// environment's variables are never read.
    pub environment: Arc<dyn Environment>,
    /// How many threads may parse and run the templates. `None` (the
    /// default): the machine's parallelism, used for charts with enough
    /// template text to pay for a thread. `Some(1)`: one thread. `Some(n)`:
    /// templates run on `n` threads whatever the chart's size. The output
    /// is the same in every case (see the module's Performance section
    /// on templates that change values they share).
    pub threads: Option<usize>,
}

impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("release_name", &self.release_name)
            .field("namespace", &self.namespace)
            .field("kube_version", &self.kube_version)
            .field("api_versions", &self.api_versions)
            .field("include_crds", &self.include_crds)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

impl RenderOptions {
    /// Options for release `release_name` in `namespace`, otherwise `helm
    /// template`'s defaults.
    pub fn new(release_name: &str, namespace: &str) -> RenderOptions {
        RenderOptions {
            release_name: release_name.to_string(),
            namespace: namespace.to_string(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            disable_hooks: false,
            show_only: Vec::new(),
            is_upgrade: false,
            skip_schema_validation: false,
            max_include_depth: 1000,
            max_output_bytes: 256 << 20,
            max_steps: 500_000_000,
            deadline: None,
            environment: default_environment(),
            threads: None,
        }
    }

    /// `--kube-version`.
    #[must_use]
    pub fn with_kube_version(mut self, v: impl Into<String>) -> RenderOptions {
        self.kube_version = Some(v.into());
        self
    }
    /// `--api-versions`.
    #[must_use]
    pub fn with_api_versions(mut self, v: impl IntoIterator<Item = String>) -> RenderOptions {
        self.api_versions.extend(v);
        self
    }
    /// `--include-crds`.
    #[must_use]
    pub fn with_include_crds(mut self, yes: bool) -> RenderOptions {
        self.include_crds = yes;
        self
    }
    /// `--skip-tests`.
    #[must_use]
    pub fn with_skip_tests(mut self, yes: bool) -> RenderOptions {
        self.skip_tests = yes;
        self
    }
    /// `--no-hooks`.
    #[must_use]
    pub fn with_disable_hooks(mut self, yes: bool) -> RenderOptions {
        self.disable_hooks = yes;
        self
    }
    /// `--show-only`.
    #[must_use]
    pub fn with_show_only(mut self, v: impl IntoIterator<Item = String>) -> RenderOptions {
        self.show_only.extend(v);
        self
    }
    /// `--is-upgrade`.
    #[must_use]
    pub fn with_is_upgrade(mut self, yes: bool) -> RenderOptions {
        self.is_upgrade = yes;
        self
    }
    /// `--skip-schema-validation`.
    #[must_use]
    pub fn with_skip_schema_validation(mut self, yes: bool) -> RenderOptions {
        self.skip_schema_validation = yes;
        self
    }
    /// Bound on `include`/`tpl` recursion per template name.
    #[must_use]
    pub fn with_max_include_depth(mut self, n: usize) -> RenderOptions {
        self.max_include_depth = n;
        self
    }
    /// Bound on the bytes produced.
    #[must_use]
    pub fn with_max_output_bytes(mut self, n: usize) -> RenderOptions {
        self.max_output_bytes = n;
        self
    }
    /// How many threads may parse and run templates (see
    /// [`RenderOptions::threads`]).
    #[must_use]
    pub fn with_threads(mut self, n: usize) -> RenderOptions {
        self.threads = Some(n.max(1));
        self
    }
    /// Bound on template steps.
    #[must_use]
    pub fn with_max_steps(mut self, n: u64) -> RenderOptions {
        self.max_steps = n;
        self
    }
    /// Bound on time: stop at `deadline`.
    #[must_use]
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> RenderOptions {
        self.deadline = Some(deadline);
        self
    }
    /// The clock, entropy and time zones templates see (see
    /// [`RenderOptions::environment`]).
    #[must_use]
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> RenderOptions {
        self.environment = env;
        self
    }
}

#[cfg(feature = "helm-os-environment")]
fn default_environment() -> Arc<dyn Environment> {
    Arc::new(gitops_gotemplate::sprig::OsEnvironment::new())
}

#[cfg(not(feature = "helm-os-environment"))]
fn default_environment() -> Arc<dyn Environment> {
    Arc::new(gitops_gotemplate::sprig::NoEnvironment)
}

/// Hook information of a rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hook {
    /// The events (`pre-install`, `test`…), lower-cased.
    pub events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not a number).
    pub weight: i64,
}

/// One document of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderedFile {
    /// The template it came from, e.g. `podinfo/templates/deployment.yaml`.
    pub path: String,
    /// The document text (trimmed, no `---`).
    pub content: String,
    /// Its `kind`.
    pub kind: String,
    /// Its `metadata.name`.
    pub name: String,
    /// Hook information when it is a hook.
    pub hook: Option<Hook>,
}

impl RenderedFile {
    pub(crate) fn is_test_hook(&self) -> bool {
        self.hook
            .as_ref()
            .is_some_and(|h| h.events.iter().any(|e| e == "test"))
    }
}

/// The result of rendering a chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Manifest {
    /// CRDs from `crds/` directories (chart, then subcharts).
    pub crds: Vec<RenderedFile>,
    /// Resources in Helm's install order.
    pub resources: Vec<RenderedFile>,
    /// Hooks, sorted by kind as Helm sorts them.
    pub hooks: Vec<RenderedFile>,
    /// The rendered `NOTES.txt` of the chart (not of subcharts).
    pub notes: Option<String>,
    /// What Helm logs as warnings (`this chart is deprecated`…).
    pub warnings: Vec<String>,
}

impl Manifest {
    /// Exactly `helm template`'s standard output.
    pub fn to_helm_template(&self, options: &RenderOptions) -> String {
        let crds: &[RenderedFile] = if options.include_crds {
            &self.crds
        } else {
            &[]
        };
        let hooks = self
            .hooks
            .iter()
            .filter(|h| !(options.disable_hooks || (options.skip_tests && h.is_test_hook())));
        let size = crds
            .iter()
            .chain(&self.resources)
            .chain(hooks.clone())
            .map(|f| f.path.len() + f.content.len() + "---\n# Source: \n\n".len())
            .sum::<usize>()
            + 1;
        let mut out = String::with_capacity(size);
        for c in crds.iter().chain(&self.resources) {
            push_doc(&mut out, &c.path, &c.content);
        }
        // The manifest trimmed of space (it starts with `---` when not
        // empty), then a newline, then the hooks.
        out.truncate(out.trim_end_matches(is_go_space).len());
        out.push('\n');
        for h in hooks {
            push_doc(&mut out, &h.path, &h.content);
        }
        if options.show_only.is_empty() {
            return out;
        }
        sorter::show_only(&out, &options.show_only).unwrap_or_default()
    }

    /// [`Manifest::to_helm_template`] written to `w` piece by piece, without
    /// building the whole text first (with `--show-only`, the selected
    /// documents are written).
    pub fn write_helm_template(
        &self,
        options: &RenderOptions,
        w: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if !options.show_only.is_empty() {
            return w.write_all(self.to_helm_template(options).as_bytes());
        }
        let crds: &[RenderedFile] = if options.include_crds {
            &self.crds
        } else {
            &[]
        };
        let mut docs = crds.iter().chain(&self.resources).peekable();
        while let Some(d) = docs.next() {
            if docs.peek().is_some() {
                for piece in ["---\n# Source: ", &d.path, "\n", &d.content, "\n"] {
                    w.write_all(piece.as_bytes())?;
                }
            } else {
                // The manifest ends trimmed of space: the last document
                // decides where.
                let mut last = String::new();
                push_doc(&mut last, &d.path, &d.content);
                w.write_all(last.trim_end_matches(is_go_space).as_bytes())?;
            }
        }
        w.write_all(b"\n")?;
        for h in &self.hooks {
            if options.disable_hooks || (options.skip_tests && h.is_test_hook()) {
                continue;
            }
            for piece in ["---\n# Source: ", &h.path, "\n", &h.content, "\n"] {
                w.write_all(piece.as_bytes())?;
            }
        }
        Ok(())
    }

    /// `--show-only` as Helm checks it: the error when a pattern matches no
    /// template (`could not find template X in chart`).
    pub fn check_show_only(&self, options: &RenderOptions) -> Result<(), Error> {
        if options.show_only.is_empty() {
            return Ok(());
        }
        let mut o = options.clone();
        o.show_only.clear();
        let all = self.to_helm_template(&o);
        sorter::show_only(&all, &options.show_only).map(|_| ())
    }
}

fn push_doc(out: &mut String, path: &str, content: &str) {
    out.push_str("---\n# Source: ");
    out.push_str(path);
    out.push('\n');
    out.push_str(content);
    out.push('\n');
}

/// Bytes as text, invalid UTF-8 replaced by U+FFFD (as
/// `String::from_utf8_lossy`, with the fast check for valid text first).
pub(crate) fn utf8_text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Why a chart could not be loaded or rendered. The text is Helm's error
/// message without its `Error: ` prefix.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The chart could not be loaded (missing or invalid `Chart.yaml`,
    /// unreadable files, a bad archive, validation).
    #[error("{0}")]
    Load(String),
    /// A dependency listed in `Chart.yaml` is not under `charts/`.
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        .0.join(", ")
    )]
    MissingDependencies(Vec<String>),
    /// `type: library` (or another non-installable type).
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    /// The chart's `kubeVersion` does not admit the Kubernetes version.
    #[error("chart requires kubeVersion: {range} which is incompatible with Kubernetes {version}")]
    KubeVersion {
        /// The chart's constraint.
        range: String,
        /// The Kubernetes version.
        version: String,
    },
    /// Values coalescing or dependency processing failed.
    #[error("{0}")]
    Values(String),
    /// The values do not satisfy a chart's `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// A template could not be parsed or executed (Helm's reformatted text).
    #[error("{0}\n\nUse --debug flag to render out invalid YAML")]
    Template(String),
    /// A rendered document is not valid YAML.
    #[error("{0}\n\nUse --debug flag to render out invalid YAML")]
    Yaml(String),
    /// A bound (output size, steps, time, include depth) was reached.
    #[error("{0}")]
    Limit(String),
    /// `--show-only` matched nothing.
    #[error("could not find template {0} in chart")]
    ShowOnly(String),
    /// A feature this implementation does not provide.
    #[error("not supported: {0}")]
    Unsupported(String),
}

impl Error {
    /// The first line of the message (what `helm` prints after `Error: `
    /// on its first line).
    pub fn first_line(&self) -> String {
        self.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// A values file as `helm template -f` reads it (Helm `loader.LoadValues`,
/// through `sigs.k8s.io/yaml`): every YAML document merged into one map,
/// every number a `float64` (held as a JSON float).
///
/// Numbers in the values passed to [`render_chart`] keep their JSON
/// representation: a float is Go's `float64` (values files, `--set-json`),
/// an integer Go's `int64` (`--set`, whose `strvals` parser gives
/// `int64`). They print the same except in `%T`, `kindOf`, `typeOf` and
/// from 1e21 up; read files with this function (or pass parsed JSON
/// through [`go_json_numbers`]) so that they get Helm's types.
///
/// ```
/// use gitops_render::helm::chart::load_values;
///
/// let v = load_values("a: 1\n---\nb: [2]\n")?;
/// assert!(v["a"].is_f64() && v["b"][0].is_f64());
/// # Ok::<(), gitops_render::helm::chart::Error>(())
/// ```
pub fn load_values(text: &str) -> Result<Map<String, Json>, Error> {
    let docs = yaml::parse_all(text).map_err(|e| {
        Error::Values(format!(
            "cannot unmarshal yaml document: error converting YAML to JSON: {e}"
        ))
    })?;
    let mut out = Map::new();
    for d in docs {
        match d {
            Json::Object(m) => out = crate::helm::values::merge_maps(&out, &m),
            Json::Null => {}
            other => {
                let t = match other {
                    Json::Bool(_) => "bool",
                    Json::Number(_) => "number",
                    Json::String(_) => "string",
                    _ => "array",
                };
                return Err(Error::Values(format!(
                    "cannot unmarshal yaml document: error unmarshaling JSON: json: cannot unmarshal {t} into Go value of type map[string]interface {{}}"
                )));
            }
        }
    }
    Ok(out)
}

/// Every number of `values` turned into a float, as Go's `encoding/json`
/// decodes numbers into `interface{}` (`float64`): for values parsed from
/// JSON or YAML by other means than [`load_values`] (`--set-json`).
pub fn go_json_numbers(values: &mut Map<String, Json>) {
    values.values_mut().for_each(yaml::floats_in_place);
}

/// The stack of a thread that renders templates: execution recurses on it,
/// with room for Helm's include depth.
pub(super) const RENDER_STACK: usize = 64 << 20;

/// Load the chart at `chart_path` (a directory or a `.tgz` file) and render it.
pub fn render_chart<T: FileTree + ?Sized>(
    tree: &T,
    chart_path: &RelPath,
    values: &Map<String, Json>,
    options: &RenderOptions,
) -> Result<Manifest, Error> {
    let chart = load(tree, chart_path)?;
    render_loaded(&chart, values, options)
}

/// Render a loaded chart with user-supplied `values` (already merged from
/// values files and `--set`), as `helm template` does.
pub fn render_loaded(
    chart: &Chart,
    values: &Map<String, Json>,
    options: &RenderOptions,
) -> Result<Manifest, Error> {
    // Template execution recurses on the native stack; run it on a thread
    // with room for Helm's include depth.
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("helm-render".into())
            .stack_size(RENDER_STACK)
            .spawn_scoped(s, || render_inner(chart, values, options))
            .map_err(|e| Error::Limit(format!("cannot start the render thread: {e}")))?;
        h.join()
            .unwrap_or_else(|_| Err(Error::Limit("rendering panicked".into())))
    })
}

fn render_inner(
    chart: &Chart,
    values: &Map<String, Json>,
    options: &RenderOptions,
) -> Result<Manifest, Error> {
    let mut warnings = Vec::new();
    // pkg/cmd/install.go runInstall
    match chart.metadata.chart_type.as_str() {
        "" | "application" => {}
        other => return Err(Error::NotInstallable(other.to_string())),
    }
    if chart.metadata.deprecated {
        warnings.push("this chart is deprecated".to_string());
    }
    if !chart.metadata.dependencies.is_empty() {
        let missing: Vec<String> = chart
            .metadata
            .dependencies
            .iter()
            .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
            .map(|r| r.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingDependencies(missing));
        }
    }
    // pkg/action/install.go RunWithContext
    // Dependency processing changes a copy of the chart; a chart without
    // dependencies anywhere in its tree is used as it is.
    let processed = if deps::has_dependencies(chart) {
        let mut copy = chart.clone();
        deps::process_dependencies(&mut copy, values, &mut warnings)?;
        Some(copy)
    } else {
        None
    };
    let chart = processed.as_ref().unwrap_or(chart);
    let caps = caps::Capabilities::new(options)?;
    let coalesced = deps::coalesce(chart, values)?;
    let kube_ok = chart.metadata.kube_version.is_empty()
        || caps::compatible(&chart.metadata.kube_version, &caps.normalized);
    // Schema validation runs beside rendering; its error, when there is
    // one, comes first as in Helm (then the Kubernetes version's, then the
    // templates').
    let validate = || {
        let mut sb = String::new();
        if !options.skip_schema_validation {
            validate_schemas(chart, &coalesced, &mut sb);
        }
        sb
    };
    let render = || kube_ok.then(|| render_sorted(chart, &coalesced, &caps, options));
    let (schema_errors, rendered) = std::thread::scope(|s| {
        // Without a schema, validation only checks the subcharts' values
        // types: not worth a thread.
        let beside = if options.skip_schema_validation || !chart.has_schema() {
            None
        } else {
            std::thread::Builder::new()
                .name("helm-schema".into())
                .spawn_scoped(s, validate)
                .ok()
        };
        match beside {
            Some(h) => {
                let rendered = render();
                (h.join().unwrap_or_else(|_| validate()), rendered)
            }
            None => {
                let sb = validate();
                let rendered = if sb.is_empty() { render() } else { None };
                (sb, rendered)
            }
        }
    });
    if !schema_errors.is_empty() {
        return Err(Error::Schema(schema_errors));
    }
    let Some(rendered) = rendered else {
        return Err(Error::KubeVersion {
            range: chart.metadata.kube_version.clone(),
            version: caps.version.clone(),
        });
    };
    let (
        Sorted {
            crds,
            hooks,
            resources,
            notes,
        },
        templates,
    ) = rendered?;
    // The parse trees and the values are many small allocations: freeing
    // them takes as long as rendering a large chart, and nothing waits for it.
    drop_later((templates, processed, coalesced));
    Ok(Manifest {
        crds,
        resources,
        hooks,
        notes,
        warnings,
    })
}

/// The rendered chart, sorted as Helm sorts it, and its CRD files.
struct Sorted {
    crds: Vec<RenderedFile>,
    hooks: Vec<RenderedFile>,
    resources: Vec<RenderedFile>,
    notes: Option<String>,
}

/// Below this many bytes of templates, the CRD files are copied out on the
/// rendering thread: a thread of its own costs more than it saves.
const CRD_THREAD_MIN_BYTES: usize = 64 << 10;

/// A rendered file, made ready for sorting where it was rendered.
enum Prepared {
    /// A `NOTES.txt` (not a manifest): its path and text.
    Notes(String, String),
    /// A manifest file split into documents, their heads read.
    Analyzed(sorter::Analyzed),
}

/// Render the templates and sort the output. Each rendered file is split
/// and its documents' heads read on the thread that rendered it (templates
/// run side by side on large charts), and the CRD files are copied out on a
/// thread of their own while the templates parse (for charts with
/// [`CRD_THREAD_MIN_BYTES`] of templates or more); a template error comes
/// before any YAML error, as in Helm, where sorting follows rendering.
fn render_sorted(
    chart: &Chart,
    values: &Map<String, Json>,
    caps: &caps::Capabilities,
    options: &RenderOptions,
) -> Result<(Sorted, gitops_gotemplate::Template), Error> {
    let notes_path = format!("{}/templates/NOTES.txt", chart.name());
    std::thread::scope(|s| {
        let crd_thread = (chart.template_bytes() >= CRD_THREAD_MIN_BYTES)
            .then(|| {
                std::thread::Builder::new()
                    .name("helm-crds".into())
                    .spawn_scoped(s, || {
                        let mut crds = Vec::new();
                        chart.crd_objects("", &mut crds);
                        crds
                    })
                    .ok()
            })
            .flatten();
        // NOTES files are not manifests; the chart's own is kept.
        let prepare = |path: String, content: String| {
            if path.ends_with("NOTES.txt") {
                Prepared::Notes(path, content)
            } else {
                Prepared::Analyzed(sorter::analyze(path, content))
            }
        };
        let mut notes = None;
        let mut analyzed = Vec::new();
        let emit = |p: Prepared| match p {
            Prepared::Notes(path, content) => {
                if path == notes_path {
                    notes = Some(content);
                }
            }
            Prepared::Analyzed(a) => analyzed.push(a),
        };
        let templates = engine::render(chart, values, caps, options, prepare, emit)?;
        let crds = match crd_thread.map(|h| h.join()) {
            Some(Ok(crds)) => crds,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {
                let mut crds = Vec::new();
                chart.crd_objects("", &mut crds);
                crds
            }
        };
        let (hooks, resources) = sorter::sort_analyzed(analyzed)?;
        Ok((
            Sorted {
                crds,
                hooks,
                resources,
                notes,
            },
            templates,
        ))
    })
}

/// Drop `garbage` on a thread of its own, which nothing waits for (inline
/// when no thread can be started).
fn drop_later<T: Send + 'static>(garbage: T) {
    // When the thread cannot start, the closure (and `garbage` in it) is
    // dropped here.
    let _ = std::thread::Builder::new()
        .name("helm-drop".into())
        .spawn(move || drop(garbage));
}

/// Helm's `ValidateAgainstSchema`: the chart's schema against its values,
/// then each subchart's against its table.
fn validate_schemas(chart: &Chart, values: &Map<String, Json>, sb: &mut String) {
    if let Some(schema) = &chart.schema
        && let Err(e) = chart
            .parsed_schema
            .validate(schema, &Json::Object(values.clone()))
    {
        sb.push_str(chart.name());
        sb.push_str(":\n");
        sb.push_str(&e);
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Json::Null) => {}
            Some(Json::Object(m)) => validate_schemas(sub, m, sb),
            Some(other) => {
                let t = match other {
                    Json::Bool(_) => "bool",
                    Json::Number(_) => "float64",
                    Json::String(_) => "string",
                    _ => "[]interface {}",
                };
                sb.push_str(&format!(
                    "{}:\ninvalid type for values: expected object (map), got {t}\n",
                    sub.name()
                ));
            }
        }
    }
}
