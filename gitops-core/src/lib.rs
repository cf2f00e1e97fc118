//! The shared vocabulary of gitops-rs.
//!
//! `gitops-core` holds the types that cross crate borders and the I/O traits
//! the capability crates are generic over. Its logic does no I/O: the only
//! real-world implementations here ([`fs::OsTree`]) are thin adapters kept next
//! to their in-memory twins ([`fs::MemTree`], [`registry::MemRegistry`],
//! [`git::MemRemote`]) so every crate can be tested without disk or network.
//!
//! - [`ObjectId`]: a Kubernetes object's group/version/kind, namespace and name,
//!   and Flux's inventory id `<ns>_<name>_<group>_<kind>`.
//! - [`ImageRef`], [`Tag`], [`Digest`]: Docker image references.
//! - [`Revision`]: Flux source revisions (`main@sha1:<hex>`, `sha256:<hex>`, …).
//! - [`Artifact`]: a fetched, verified source.
//! - [`yaml`]: a bounded multi-document YAML reader that keeps key order and
//!   reports file and line.
//! - [`flux`]: serde types of the Flux API objects people keep in Git.
//! - [`fs`], [`registry`], [`git`]: the I/O traits.
//! - [`quote`]: untrusted text quoted in errors, truncated.
//! - [`semver`]: Masterminds/semver v3 versions and ranges, and Flux's
//!   "highest version in range" rule, shared by image policies and source refs.
//! - [`goregex`]: Go RE2 regular expressions on the `regex` crate.
//! - [`strconv`]: numbers parsed as Go's `strconv` parses them.
//! - [`time`]: RFC 3339 timestamps.
//! - [`duration`]: Go durations (`1h30m`), as Flux's `interval` and `timeout` fields hold them.
//! - [`url`]: the one URL redaction rule (user info never printed).
//!
//! ```
//! use gitops_core::{ImageRef, Revision};
//!
//! let image = ImageRef::parse("ghcr.io/stefanprodan/podinfo:6.5.0")?;
//! assert_eq!(image.registry(), Some("ghcr.io"));
//! assert_eq!(image.repository(), "stefanprodan/podinfo");
//! assert_eq!(image.tag().map(|t| t.as_str()), Some("6.5.0"));
//!
//! let rev: Revision = "main@sha1:0123456789abcdef0123456789abcdef01234567".parse()?;
//! assert_eq!(rev.name(), Some("main"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//! - `kube` (off by default): derive `kube::CustomResource` and
//!   `schemars::JsonSchema` on the Flux API spec types, so a kube-rs
//!   controller can watch them. See [`flux`] for the generated names.
//!   This crate does not choose a Kubernetes version: as with kube-rs, the
//!   binary does, on its own k8s-openapi dependency (same version as
//!   gitops-core's), for example
//!   `k8s-openapi = { version = "0.29", features = ["latest"] }` or
//!   `features = ["v1_35"]`. Without one, k8s-openapi's build script stops
//!   with an error that says so.
//!
//! `serde_json` (the [`flux`] types keep version-dependent sub-objects as
//! [`serde_json::Value`]) is re-exported, and with `kube` so are `kube`,
//! `k8s_openapi` and `schemars`, so callers name the versions this crate
//! was built with.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod artifact;
pub mod duration;
pub mod error;
pub mod flux;
pub mod fs;
pub mod git;
pub mod goregex;
pub mod image_ref;
pub mod object_id;
pub mod quote;
pub mod registry;
pub mod revision;
pub mod semver;
pub mod strconv;
pub mod time;
pub mod url;
pub mod yaml;

pub use artifact::Artifact;
pub use image_ref::{Digest, ImageRef, Tag};
pub use object_id::ObjectId;
pub use revision::Revision;

#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub use k8s_openapi;
#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub use kube;
#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub use schemars;
pub use serde_json;
