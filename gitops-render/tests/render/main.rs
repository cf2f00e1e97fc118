//! Integration tests of gitops-render: the kustomize conformance corpus,
//! this crate's own cases, the differential test against `kubectl
//! kustomize`, API behaviour and the schema table generator.

use std::path::PathBuf;

mod cases;
mod conformance;
mod helm_inflation;
mod oracle;
mod schema_gen;

/// The conformance corpus directory (`GITOPS_CONFORMANCE_DIR`), or `None`
/// (after printing one line) when it is absent outside CI.
pub fn conformance_dir() -> Option<PathBuf> {
    gitops_test_support::conformance_dir("kustomize conformance", "kustomize")
}
