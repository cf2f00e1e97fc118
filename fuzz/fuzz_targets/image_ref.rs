//! ImageRef parsing never panics, and whatever parses formats back to the
//! same text and re-parses to the same value.
#![no_main]

use gitops_core::ImageRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = ImageRef::parse(text) {
        assert_eq!(r.to_string(), text);
        assert_eq!(ImageRef::parse(&r.to_string()).as_ref(), Ok(&r));
        assert!(r.name().len() <= gitops_core::image_ref::NAME_MAX_LEN);
        if let Some(reg) = r.registry() {
            assert!(r.name().starts_with(reg));
        }
    }
});
