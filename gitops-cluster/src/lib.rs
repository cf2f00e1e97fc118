//! The whole cluster of a Flux repository, offline.
//!
//! From a cluster's path in a Git repository (`clusters/production`),
//! [`render_cluster`] finds every Flux object, follows each Kustomization
//! (whose output may define more Kustomizations and HelmReleases) from its
//! source in `dependsOn` order, substitutes postBuild variables from the
//! ConfigMaps and Secrets found in the rendered cluster, and renders each
//! HelmRelease from its chart with its composed values — what
//! kustomize-controller and helm-controller would apply, built on
//! gitops-render. Failures are per object: one broken Kustomization or an
//! unavailable chart never stops the rest.
//!
//! * [`artifact`]: the ExternalArtifacts of ArtifactGenerators, built from
//!   their sources as source-watcher copies them.
//! * [`diff`]: a Kubernetes-aware diff of two rendered clusters (objects
//!   matched by kind, namespace and name; list items by their merge key),
//!   as unified text, GitHub markdown or JSON.
//! * [`changed`]: changed-only mode — given the tree before and after a
//!   change, render only the Kustomizations and HelmReleases whose inputs
//!   changed.
//! * [`images`]: the container images of rendered objects.
//! * [`report`]: PASS/FAIL/SKIP per object and JUnit XML.
//!
//! The crate does no I/O of its own: the repository is a
//! [`FileTree`](gitops_core::fs::FileTree) and other sources (Git
//! repositories, OCI artifacts, Helm repositories) come through the
//! [`Sources`] trait; [`Offline`] skips whatever needs one.

mod discover;
mod sources;

pub mod artifact;
pub mod changed;
pub mod diff;
pub mod images;
pub mod report;

pub use discover::{
    Cluster, HelmReleaseEntry, KustomizationEntry, Options, Outcome, render_cluster,
};
pub use sources::{ChartRequest, Offline, SourceRef, Sources, Unavailable};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
