//! Flux objects read from arbitrary YAML: the reader and the typed decoding of
//! every kind never panic, and decoding is deterministic.
#![no_main]

use gitops_core::flux::Object;
use gitops_core::yaml::{Limits, parse_documents_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits { max_nodes: 10_000, max_depth: 32 };
    let Ok(docs) = parse_documents_with(text, "fuzz.yaml", limits) else { return };
    for doc in &docs {
        if let Ok(Some(obj)) = Object::from_node(&doc.root, "fuzz.yaml") {
            let again = Object::from_node(&doc.root, "fuzz.yaml");
            assert_eq!(again, Ok(Some(obj)));
        }
    }
});
