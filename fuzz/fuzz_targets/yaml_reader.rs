//! The YAML reader never panics, stays within its limits, and every node it
//! returns lies within the input's line range.
#![no_main]

use gitops_core::yaml::{Limits, Node, NodeKind, parse_documents_with};
use libfuzzer_sys::fuzz_target;

fn check(node: &Node, lines: usize, depth: usize, limits: &Limits) {
    assert!(node.line >= 1 && node.line <= lines + 1, "line {} of {lines}", node.line);
    assert!(depth <= limits.max_depth + 1);
    match &node.kind {
        NodeKind::Scalar(_) => {}
        NodeKind::Seq(items) => items.iter().for_each(|n| check(n, lines, depth + 1, limits)),
        NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            check(k, lines, depth + 1, limits);
            check(v, lines, depth + 1, limits);
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits { max_nodes: 10_000, max_depth: 32 };
    if let Ok(docs) = parse_documents_with(text, "fuzz.yaml", limits) {
        // YAML line breaks: CR LF, CR or LF (a lone CR counts, unlike `str::lines`).
        let lines = text.replace("\r\n", "\n").matches(['\r', '\n']).count() + 1;
        for doc in &docs {
            check(&doc.root, lines, 0, &limits);
        }
    }
});
