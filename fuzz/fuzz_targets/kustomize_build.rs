//! `kustomize build` over arbitrary kustomization trees never panics, and
//! whatever it prints reads back as YAML.
//!
//! The input is split into files of an in-memory tree: the text before the
//! first `#### PATH` line is `kustomization.yaml`, and every `#### PATH`
//! line starts a file at PATH (e.g. `deploy.yaml`, `base/kustomization.yaml`,
//! `patch.yaml`). `fuzz/seed_kustomize_build.py` writes seeds in this form
//! from the conformance corpus.
#![no_main]

use gitops_core::fs::{MemTree, RelPath};
use gitops_core::yaml::parse_documents;
use gitops_render::{Options, Reorder, render};
use libfuzzer_sys::fuzz_target;

const MAX_INPUT: usize = 32 * 1024;
const MAX_FILES: usize = 12;

fn tree_from(text: &str) -> MemTree {
    let mut tree = MemTree::new();
    // A leading newline makes a header on the first line split like the others.
    let padded = format!("\n{text}");
    let mut parts = padded.split("\n#### ");
    let first = parts.next().unwrap_or_default();
    if !first.is_empty() {
        let _ = tree.insert("kustomization.yaml", &first[1..]);
    }
    for chunk in parts.take(MAX_FILES) {
        let (path, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        // Paths the tree refuses (absolute, `..`, empty) are just skipped.
        let _ = tree.insert(path.trim(), body);
    }
    tree
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tree = tree_from(text);
    for reorder in [Reorder::Legacy, Reorder::None] {
        let options = Options {
            reorder,
            ..Options::default()
        };
        if let Ok(out) = render(&tree, &RelPath::root(), &options) {
            if let Err(e) = parse_documents(&out, "output") {
                panic!("build output does not read back: {e}\n---\n{out}");
            }
        }
    }
});
