//! Fuzz the setters' YAML fast path against the full parser.
//!
//! Property: on any text, the fast path either declines it or builds exactly
//! the tree `granit-parser` builds (same nodes, spans, lines, columns, roles,
//! documents and marker comments), and it never accepts invalid YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(diff) = gitops_setters::fast_yaml_differential(src) {
        panic!("{diff}");
    }
});
