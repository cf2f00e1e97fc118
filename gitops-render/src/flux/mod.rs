//! Flux kustomize-controller semantics around `kustomize build`.
//!
//! - [`envsubst`]: Flux's bash-style `${var}` expansion.
//! - [`postbuild`]: `spec.postBuild` substitution on built objects.
//! - [`create`]: Flux objects as `flux create … --export` and `flux bootstrap` write them.
//! - [`build`]: generate/merge the kustomization, build, substitute,
//!   `commonMetadata`.
//! - [`plan`]: apply order and stages, inventory, prune set, diff.
//! - [`v1gc`]: Flux v1 sync garbage collection (`sync-gc-mark`,
//!   `sync-checksum`, the prune decision, a v2 inventory for migrations).
//! - [`Resources`]: the ConfigMaps/Secrets `substituteFrom` and HelmRelease
//!   `valuesFrom` read, supplied by the caller.

pub mod build;
pub mod create;
pub mod envsubst;
pub mod plan;
pub mod postbuild;
pub mod resources;
pub mod v1gc;
pub(crate) mod yaml_text;

pub use resources::Resources;
