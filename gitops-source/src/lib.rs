//! Fetch GitOps sources (Git repositories, OCI artifacts, Helm repositories,
//! buckets) into verified [`gitops_core::Artifact`]s.
//!
//! This crate exposes nothing yet: the Git and OCI sources are tracked as their
//! own issues and land here as whole capabilities.
