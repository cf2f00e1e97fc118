//! Integration tests of gitops-setters (one binary, one module per concern).

mod apply;
mod fast_yaml;
mod flux;
mod message;
mod property;
mod scan;
mod v1;
mod v1ops;
mod write;

use std::path::{Path, PathBuf};

use gitops_core::ImageRef;
use gitops_core::fs::{FileTree, MemTree, OsTree, RelPath, walk_files};
use gitops_setters::Policies;
use gitops_setters::marker::PolicyId;

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Load a fixture directory into memory.
pub fn mem_tree(dir: &Path) -> MemTree {
    let os = OsTree::new(dir).expect("fixture dir");
    let mut mem = MemTree::new();
    for p in walk_files(&os, &RelPath::root()).expect("walk") {
        mem.insert(p.as_str(), os.read(&p).expect("read"))
            .expect("insert");
    }
    mem
}

/// Policies from `ns:name=image` pairs.
pub fn policies(pairs: &[(&str, &str)]) -> Policies {
    pairs
        .iter()
        .map(|(id, image)| {
            (
                id.parse::<PolicyId>().expect("policy id"),
                ImageRef::parse(image).expect("image"),
            )
        })
        .collect()
}

/// `RelPath::new` that panics.
pub fn rel(p: &str) -> RelPath {
    RelPath::new(p).expect("valid path")
}
