//! Flux v1 workload discovery (annotations, containers, HelmRelease values)
//! never panics on arbitrary YAML, and every container it reports has a name.
#![no_main]

use gitops_core::fs::RelPath;
use gitops_setters::v1::discover_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = RelPath::new("fuzz.yaml").expect("valid path");
    let (workloads, _warnings) = discover_str(&path, text);
    for w in &workloads {
        for c in &w.containers {
            assert!(!c.name.is_empty());
        }
    }
});
