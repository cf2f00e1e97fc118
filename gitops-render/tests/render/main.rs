//! Integration tests of gitops-render: the kustomize conformance corpus,
//! this crate's own cases, the differential test against `kubectl
//! kustomize`, API behaviour and the schema table generator.

use std::path::PathBuf;

mod cases;
mod conformance;
mod oracle;
mod schema_gen;

/// The conformance corpus directory (`GITOPS_CONFORMANCE_DIR`), or `None`
/// (after printing one line) when it is absent outside CI.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GITOPS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/conformance"
            ))
        });
    if dir.join("kustomize").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("conformance data not found at {} (CI=true)", dir.display());
    }
    println!(
        "kustomize conformance suite did not run: no data at {}",
        dir.display()
    );
    None
}
