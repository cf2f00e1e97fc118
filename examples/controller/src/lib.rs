//! `gitops-controller`: an example controller on kube-runtime running
//! gitops-reconcile's pure image reconcilers and, with
//! `--enable-kustomizations`, its Kustomization reconciler.
//!
//! The binary (`src/main.rs`) only parses flags and calls into this
//! library, so the tests drive the same code against a mocked API server:
//!
//! | module | what |
//! |---|---|
//! | [`run`] | watchers (namespace, `--watch-label-selector`), the controllers, metrics around reconciles, graceful shutdown |
//! | [`image_repository`], [`image_policy`] | one reconcile: read, call the registry, run the pure reconciler, patch the status, record events |
//! | [`kustomization`] | one Kustomization reconcile: source, dependencies, artifact, build, server-side apply, prune, status, events |
//! | [`artifact`] | download a source artifact, check its digest, unpack it safely |
//! | [`status`] | the status merge patch, events, requeue |
//! | [`context`] | shared state: client, registry, tag store, recorders, artifact fetcher, clock |
//! | [`registry`] | the registry trait (gitops-source's async client, or fixed tags) |
//! | [`leader`] | leader election on a `coordination.k8s.io/v1` Lease |
//! | [`metrics`] | Prometheus metrics and their HTTP endpoint |
//! | [`manifests`] | RBAC, Deployment and CRD manifests |
//! | [`crds`] | our CRDs against Flux's, field by field |
//!
//! See `docs/controller.md` for running it against a cluster.

pub mod artifact;
pub mod cli;
pub mod context;
pub mod crds;
pub mod image_policy;
pub mod image_repository;
pub mod kustomization;
pub mod leader;
pub mod log;
pub mod manifests;
pub mod metrics;
pub mod registry;
pub mod run;
pub mod status;

pub use context::{Context, Error, TagStore};
