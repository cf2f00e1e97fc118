//! Integration tests of gitops-image: conformance tables from Masterminds and
//! Flux, exact error texts, policies, Flux v1 filters and property tests.

mod conformance;
mod errors;
mod policies;
mod props;
mod v1;
