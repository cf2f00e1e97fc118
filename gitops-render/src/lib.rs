//! Render GitOps manifests: kustomize build, Flux post-build substitution and
//! Helm values composition.
//!
//! This crate exposes nothing yet: the kustomize engine and the Flux/Helm
//! layers are tracked as their own issues and land here as whole capabilities.
