//! Flux v1 `.flux.yaml` parsing never panics on arbitrary text, and a
//! config that parses parses the same way again.
#![no_main]

use gitops_automate::flux_yaml::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mode) = parse(text, ".flux.yaml") {
        assert_eq!(parse(text, ".flux.yaml").ok(), Some(mode));
    }
});
