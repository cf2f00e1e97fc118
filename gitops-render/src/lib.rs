//! Render GitOps manifests: a `kubectl kustomize` (kustomize v5.7.1) build as a
//! pure library over a [`FileTree`](gitops_core::fs::FileTree).
//!
//! [`build`] loads a kustomization, runs its generators, transformers and
//! patches, fixes name references and returns the resources; [`render`] also
//! prints them exactly as `kubectl kustomize` does (same bytes), and
//! [`write_yaml`] writes those bytes to a stream, one document at a time.
//! Nothing is read outside the tree (kustomize's `rootOnly` load restrictor); remote
//! bases need a [`RemoteFetcher`] supplied by the caller. Cost is linear in
//! the number of resources: resources are indexed by id in hash maps.
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_render::{render, Options};
//!
//! let mut tree = MemTree::new();
//! tree.insert("app/kustomization.yaml", "namePrefix: dev-\nresources: [cm.yaml]\n")?;
//! tree.insert("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  on: 'yes'\n")?;
//! let out = render(&tree, &RelPath::new("app")?, &Options::default())?;
//! assert_eq!(out, "apiVersion: v1\ndata:\n  \"on\": \"yes\"\nkind: ConfigMap\nmetadata:\n  name: dev-cfg\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is implemented
//! Kustomization fields `resources`/`bases` (files, directories, nested
//! kustomizations), `components`, `namePrefix`, `nameSuffix`, `namespace`,
//! `commonLabels`, `labels`, `commonAnnotations`, `images`, `replicas`,
//! `patches`, `patchesStrategicMerge`, `patchesJson6902`,
//! `configMapGenerator`, `secretGenerator`, `generatorOptions`,
//! `sortOptions`, `configurations`, `crds`, `openapi`, `replacements`
//! (inline and `path:`), legacy `vars`, `buildMetadata`
//! (`originAnnotations`, `transformerAnnotations`, `managedByLabel`), and
//! `transformers`/`generators`/`validators` with kustomize's builtin plugin
//! configs (`apiVersion: builtin`, `ReplacementTransformer` included).
//! `helmCharts` whose chart is in the tree are rendered in-process as
//! `helm template` (Helm v4.1.4) renders them (`kustomize/helm_inflate.rs`).
//! Other plugins, and charts not in the tree, run through a caller-supplied
//! [`PluginExecutor`]. Any other field is a typed [`Error::Unsupported`]
//! naming it, never silently ignored. Kustomization files are read with
//! duplicate keys allowed, the last one winning, as kustomize reads them.
//!
//! Strategic merge patches use the Kubernetes v1.21 merge keys and patch
//! strategies that kustomize embeds. They live in a generated table
//! (`src/schema_table.rs`), produced by the `#[ignore]`d test
//! `generate_schema_table` from the OpenAPI JSON in the conformance corpus
//! (`GITOPS_CONFORMANCE_DIR/kustomize/openapi`); the table is committed so
//! users need no corpus.
//!
//! # Deviation
//! - `helmChartInflationGenerator` and origin tracking (`buildMetadata`)
//!   of remote resources are rejected with [`Error::Unsupported`].
//! - Name-reference rules keep kustomize's default rules in kustomize's
//!   sorted target order; `$ref` chains in `crds` files are followed at most
//!   64 deep (kustomize recurses without bound).
//! - kustomize logs vars that are defined but never used; a library has no
//!   log, so they are silently accepted.
//! - Env files whose lines name a variable without `=` read it from the
//!   process environment in kustomize; we use an empty value (pure library).
//! - Mapping keys longer than 128 bytes are printed as simple keys, where
//!   yaml.v2 switches to the `? key` form.
//!
//! The public interface is: [`build`], [`render`], [`write_yaml`], [`Options`], [`Reorder`],
//! [`RemoteFetcher`], [`PluginExecutor`], [`ExecutorError`], [`Resource`], [`ResId`], [`Gvk`], [`Value`], [`Map`],
//! [`Error`]. [`helm`] and [`flux`] work on `serde_json` values; that crate is
//! re-exported as [`serde_json`](mod@serde_json).
//!
//! # Source layout
//! Shared model, used by every part:
//! - `value.rs`, `emit.rs`: the typed document model and the byte-exact
//!   YAML printer; `resource.rs`: [`Resource`], [`ResId`], [`Gvk`];
//!   [`budget`]: the YAML budget of a run; `schema.rs` with the generated
//!   `schema_table.rs`: merge keys of the built-in Kubernetes schema.
//!
//! `kustomize/`: the `kubectl kustomize` engine, from the bottom up:
//! - `options.rs`: [`Options`], [`Reorder`], [`RemoteFetcher`], [`PluginExecutor`].
//! - `loader.rs`: reading files under the `rootOnly` restrictor, parsing
//!   resource files, appending resources with the duplicate-id check.
//! - `types.rs`: the data of kustomization entries (patches, selectors,
//!   field specs, generators, replacements, vars, …); `decode.rs`: the Go
//!   `encoding/json` style mapping reader; `kustomization.rs`: the
//!   kustomization file parser (parsing only).
//! - `gvk.rs`: kustomize's group/version/kind strings and kind order;
//!   `fieldspec.rs`: field specs, their built-in tables and the field walk;
//!   `nameref_rules.rs`: the default name-reference rules;
//!   `transformer_config.rs`: `TransformerConfig` (defaults, `configurations`
//!   files, merging); `crds.rs`: field specs from `crds` files.
//! - The steps: `generate.rs` (ConfigMap/Secret generators, name hashes),
//!   `patch.rs` with `smp.rs` (patches, strategic merge), `transform.rs`
//!   (builtin transformers), `replacements.rs`, `vars.rs`, `nameref.rs`
//!   (name references), `buildmeta.rs` (`buildMetadata` annotations),
//!   `openapi.rs` (the `openapi` field), `plugins.rs` (`transformers`,
//!   `generators`, `validators`, the executor hand-off), `helm_inflate.rs`
//!   (`helmCharts` with a chart in the tree), `order.rs` (output order).
//! - `build.rs`: [`build`], [`render`], [`write_yaml`] and the builder that
//!   runs the steps for each kustomization, top-down.
//!
//! [`flux`] (Flux semantics around a build, `flux create`, apply plans) and
//! [`helm`] (Helm values, charts, releases) sit beside it and use only the
//! shared model and [`build`]; `helm_inflate.rs` uses [`helm`]'s chart renderer.

pub mod budget;
mod emit;
pub mod flux;
pub mod helm;
mod kustomize;
mod resource;
mod schema;
#[rustfmt::skip]
mod schema_table;
mod value;

use std::sync::Arc;

pub use kustomize::build::{build, render, write_yaml};
pub use kustomize::options::{ExecutorError, Options, PluginExecutor, RemoteFetcher, Reorder};
pub use resource::{Gvk, ResId, Resource};
pub use value::{Map, Value};

// The `helm` and `flux` modules take and return `serde_json` values.
pub use serde_json;

/// Why a build failed. Every variant names the file, field or resource.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: cannot read")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: gitops_core::fs::Error,
    },
    /// A file is not valid YAML.
    #[error("invalid yaml")]
    Yaml(#[from] gitops_core::yaml::Error),
    /// A path leaves the kustomization root (load restrictor `rootOnly`).
    #[error("security; file '{path}' is not in or below '{root}'")]
    Security {
        /// The offending path as written.
        path: String,
        /// The kustomization root it must stay in.
        root: String,
    },
    /// A directory has no kustomization file.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir}'"
    )]
    NoKustomization {
        /// The directory.
        dir: String,
    },
    /// Neither a file nor a directory at that path.
    #[error("accumulating resources from '{path}': no such file or directory")]
    Missing {
        /// The path.
        path: String,
    },
    /// The kustomization file is malformed.
    #[error("{file}: {message}")]
    Kustomization {
        /// The kustomization file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A kustomization uses a field this crate does not implement.
    #[error("{file}: unsupported kustomization field \"{field}\" (not implemented yet)")]
    Unsupported {
        /// The kustomization file.
        file: String,
        /// The field name.
        field: String,
    },
    /// A remote resource was referenced but no [`RemoteFetcher`] was given.
    #[error("remote resources need a fetcher: {url}")]
    RemoteNeedsFetcher {
        /// The remote reference.
        url: String,
    },
    /// The [`RemoteFetcher`] failed.
    #[error("fetching remote resource {url}")]
    Fetch {
        /// The remote reference.
        url: String,
        /// The fetcher's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A kustomization includes itself or one of its ancestors.
    #[error("cycle detected: '{dir}' is included by itself or a directory below it")]
    Cycle {
        /// The directory.
        dir: String,
    },
    /// A resource file holds something that is not a resource.
    #[error("{file}: {message}")]
    Resource {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Two resources have the same id.
    #[error("may not add resource with an already registered id: {id}")]
    IdConflict {
        /// The id, in kustomize's notation.
        id: String,
    },
    /// A ConfigMap or Secret generator failed.
    #[error("generator {name:?}: {message}")]
    Generator {
        /// The generated object's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A patch could not be loaded or applied.
    #[error("patch: {message}")]
    Patch {
        /// What is wrong.
        message: String,
    },
    /// A transformer could not be applied.
    #[error("{message}")]
    Transform {
        /// What is wrong.
        message: String,
    },
    /// A plugin config (`transformers`/`generators`/`validators` entry) is
    /// malformed.
    #[error("{file}: plugin {id} fails configuration: {message}")]
    Plugin {
        /// The kustomization directory that lists the plugin.
        file: String,
        /// The config's id in kustomize's notation (`Kind.builtin.[noGrp]/name.[noNs]`).
        id: String,
        /// What is wrong.
        message: String,
    },
    /// A `resources` entry (a directory) failed to build.
    #[error("accumulating resources from '{entry}'")]
    Accumulate {
        /// The entry as written in the kustomization.
        entry: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A plugin is not builtin (exec, Go or KRM function plugin, Helm chart)
    /// and no [`PluginExecutor`] was given in [`Options::executor`].
    #[error(
        "{file}: plugin {kind} (apiVersion {api_version:?}) is not supported: needs an executor; external plugins disabled; unable to load external plugin '{kind}'"
    )]
    NeedsExecutor {
        /// The kustomization directory that lists the plugin.
        file: String,
        /// The plugin config's apiVersion.
        api_version: String,
        /// The plugin config's kind.
        kind: String,
    },
    /// The [`PluginExecutor`] failed.
    #[error("plugin {kind} failed in the executor")]
    Executor {
        /// The plugin config's kind.
        kind: String,
        /// The executor's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}
