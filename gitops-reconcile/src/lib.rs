//! Flux's reconcilers as pure functions.
//!
//! Each reconciler takes the object, a [`Run`] (generation, annotations,
//! time) and what the world answered (a registry scan, a fetched artifact,
//! the cluster's objects), and returns a [`Reconciled`]: the new status with
//! Flux's conditions (`Ready`, `Reconciling`, `Stalled` and the kind's own,
//! with Flux's reasons), `observedGeneration`, `lastHandledReconcileAt`, the
//! events to record and when to run again. Nothing here does I/O or reads
//! the clock: a controller (the `gitops-controller` example on kube-runtime)
//! does the I/O and patches the status.
//!
//! | module | kind | input from the world |
//! |---|---|---|
//! | [`image_repository`] | ImageRepository | a tag scan |
//! | [`image_policy`] | ImagePolicy | the repository's tags |
//! | [`image_update_automation`] | ImageUpdateAutomation | the update run |
//! | [`git_repository`] | GitRepository | the fetched commit and artifact |
//! | [`oci_repository`] | OCIRepository | the pulled artifact |
//! | [`kustomization`] | Kustomization | the rendered objects and the cluster's |
//! | [`helm`] | HelmRelease | the release history; your Helm behind [`helm::atomic::HelmActions`] (the lifecycle and the atomic release loop, release records) |
//!
//! [`conditions`] holds Flux's condition rules, [`outcome`] the shared
//! input and output types.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conditions;
mod flow;
pub mod git_repository;
pub mod helm;
pub mod image_policy;
pub mod image_repository;
pub mod image_update_automation;
pub mod kustomization;
pub mod oci_repository;
pub mod outcome;
pub mod source;

pub use outcome::{Event, EventType, Reconciled, Requeue, Run};

/// Read a kind's typed status from the generic status the CRD types carry
/// (default when absent or not of that shape).
pub(crate) fn typed_status<T: serde::de::DeserializeOwned + Default>(
    status: Option<&gitops_core::flux::Status>,
) -> T {
    status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
