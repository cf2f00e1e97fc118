//! The source-side parsers: Helm repository `index.yaml`, Docker
//! `config.json` and `.sourceignore` patterns never panic on arbitrary bytes.
#![no_main]

use gitops_source::helm::Index;
use gitops_source::registry::Keychain;
use gitops_source::sourceignore::Filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Index::parse(data, "index.yaml");
    if let Ok(keychain) = Keychain::from_docker_config(data, "config.json") {
        // Lookups are pure (helpers are never run by `get`).
        let _ = keychain.get("ghcr.io");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(filter) = Filter::from_patterns(Some(text))
    {
        for (path, dir) in [("a/b.yaml", false), (".git", true), ("x/y", true)] {
            let _ = filter.is_ignored(path, dir);
        }
    }
});
