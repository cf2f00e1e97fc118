//! The `kubectl kustomize` engine: options, file loading, the kustomization
//! file parser, the generators, patches, transformers and plugins, and the
//! build that runs them (the crate docs map each file).
//!
//! Files depend downwards only: `build` uses the steps, the steps use the
//! parser and data types, and those use the loader and the shared model.

pub(crate) mod build;
pub(crate) mod buildmeta;
pub(crate) mod crds;
pub(crate) mod decode;
pub(crate) mod fieldspec;
pub(crate) mod generate;
pub(crate) mod gvk;
pub(crate) mod helm_inflate;
pub(crate) mod kustomization;
pub(crate) mod loader;
pub(crate) mod nameref;
pub(crate) mod nameref_rules;
pub(crate) mod openapi;
pub(crate) mod options;
pub(crate) mod order;
pub(crate) mod patch;
pub(crate) mod plugins;
pub(crate) mod replacements;
pub(crate) mod smp;
pub(crate) mod transform;
pub(crate) mod transformer_config;
pub(crate) mod types;
pub(crate) mod vars;
