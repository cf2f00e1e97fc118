//! Helm strvals never panics, and a failed apply leaves the values unchanged.
#![no_main]

use gitops_render::helm::strvals::{SetKind, apply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [
        SetKind::Set,
        SetKind::String,
        SetKind::Literal,
        SetKind::Json,
    ] {
        let mut values = serde_json::Map::new();
        values.insert(
            "a".into(),
            serde_json::json!({"b": [1, {"c": "d"}], "e": "f"}),
        );
        let before = values.clone();
        if apply(kind, text, &mut values).is_err() {
            assert_eq!(values, before);
        }
    }
});
