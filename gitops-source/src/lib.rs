//! Fetch GitOps sources (Git repositories, OCI artifacts, Helm repositories,
//! buckets) into verified [`gitops_core::Artifact`]s.
//!
//! Without features the crate packs and checks artifacts:
//!
//! - [`archive`]: deterministic tar.gz of a directory (source-controller's
//!   layout and modes, `sha256:<hex>` digest, byte-identical on any
//!   machine), digest verification, safe extraction, `include`.
//! - [`sourceignore`]: `.sourceignore` files + `spec.ignore` + Flux's
//!   default ignore set.
//!
//! The `git` feature adds the `git` module: a real Git client (gix fetch and
//! checkout over `file://`, `git://`, HTTP(S) with basic or bearer auth,
//! SSH; `git` binary push; GitRepository ref resolution and revisions).
//!
//! ```
//! use gitops_source::archive::{self, Options};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("app.yaml"), "kind: Deployment\n")?;
//! std::fs::write(dir.path().join("logo.png"), "ignored by default")?;
//! let mut a = Vec::new();
//! let mut b = Vec::new();
//! let first = archive::write(dir.path(), &Options::default(), &mut a)?;
//! let second = archive::write(dir.path(), &Options::default(), &mut b)?;
//! assert_eq!(a, b);
//! assert_eq!(first.digest, second.digest);
//! assert_eq!(first.files, 1);
//! archive::verify(&a[..], &first.digest)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Async and blocking
//! Every network client has an async form for code on a tokio runtime (a
//! Kubernetes controller under `#[tokio::main]`, multi-thread or
//! current-thread; the futures are `Send`) and a blocking form for plain
//! threads (a CLI, a CI job): `registry::AsyncClient` / `registry::Client`,
//! `oci::pull_async` / `oci::pull`, `helm::fetch_chart_async` /
//! `helm::fetch_chart`, `bucket::fetch_async` / `bucket::fetch`,
//! `git::AsyncClient` / `git::Client`. The blocking registry, OCI, Helm and
//! bucket forms refuse on a thread inside a tokio runtime's context with
//! an `InsideAsyncRuntime` error naming the async form to use, instead of
//! panicking; the Git client's async form runs the blocking one on tokio's
//! blocking pool. The `registry` module documentation has the details.
//!
//! # Crate features
//! - `git` (off by default): the `git` module — gix (blocking client, reqwest HTTP
//!   transport with rustls/ring); `semver` refs use gitops-core's
//!   Masterminds engine.
//! - `oci` (off by default): OCI, Helm repository and bucket sources.
//!
//! The image update loop that writes changes back (commit and push over
//! these clients) is the gitops-automate crate.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod archive;
#[cfg(feature = "git")]
#[cfg_attr(docsrs, doc(cfg(feature = "git")))]
pub mod git;
pub mod sourceignore;

#[cfg(feature = "git")]
mod credentials;

#[cfg(feature = "oci")]
mod blocking;

#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub mod bucket;
#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub mod helm;
#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub mod oci;
#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub mod registry;

// Foreign crates whose types appear in this crate's public API (error
// sources), so callers name the same versions.
#[cfg(feature = "git")]
#[cfg_attr(docsrs, doc(cfg(feature = "git")))]
pub use gix;
pub use ignore;
#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub use object_store;
#[cfg(feature = "oci")]
#[cfg_attr(docsrs, doc(cfg(feature = "oci")))]
pub use reqwest;
