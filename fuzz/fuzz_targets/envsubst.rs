//! Flux envsubst never panics; `$$` escapes round-trip; text without `$`
//! is returned unchanged; a successful expansion in lax mode also succeeds
//! when every variable is defined.
#![no_main]

use gitops_render::flux::envsubst::eval;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = |k: &str| (k.len() % 2 == 0).then(|| format!("v{k}"));
    let lax = |_: &str| Some("x".to_owned());
    let _ = eval(text, &strict);
    let _ = eval(text, &lax);
    if !text.contains('\0') {
        let escaped = text.replace('$', "$$");
        assert_eq!(eval(&escaped, &lax).as_deref(), Ok(text));
        if !text.contains('$') {
            assert_eq!(eval(text, &strict).as_deref(), Ok(text));
        }
    }
});
