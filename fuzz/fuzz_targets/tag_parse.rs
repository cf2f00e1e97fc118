//! Fuzz the version/tag parsers: never panic; the parsers nest (strict ⊆
//! no-coerce ⊆ lenient, Flux tag ⊆ lenient); the canonical form re-parses
//! to an equal version; ordering is consistent; the Numerical parser and
//! the filters never panic.
#![no_main]

use std::cmp::Ordering;

use gitops_image::{Order, Policy, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lenient = Version::parse(text);
    let strict = Version::parse_strict(text);
    let no_coerce = Version::parse_no_coerce(text);
    let tag = Version::parse_tag(text);
    if let Ok(s) = &strict {
        assert_eq!(
            no_coerce.as_ref().ok(),
            Some(s),
            "strict accepted, no-coerce did not"
        );
    }
    if let Ok(n) = &no_coerce {
        assert_eq!(
            lenient.as_ref().ok(),
            Some(n),
            "no-coerce accepted, lenient did not"
        );
    }
    if let Ok(t) = &tag {
        assert_eq!(
            lenient.as_ref().ok(),
            Some(t),
            "tag accepted, lenient did not"
        );
        assert!(text.matches('.').count() >= 2);
    }
    if let Ok(v) = &lenient {
        assert_eq!(v.original(), text);
        let canonical = v.to_string();
        let again = Version::parse_strict(&canonical)
            .unwrap_or_else(|e| panic!("canonical {canonical:?} of {text:?} is not strict: {e}"));
        assert_eq!(again.cmp(v), Ordering::Equal);
        assert_eq!(again.to_string(), canonical);
        let bumped = v.inc_patch().ok();
        if let Some(b) = bumped {
            assert!(b >= *v);
        }
    }
    // Selection over a small list derived from the input never panics and
    // returns one of the inputs.
    let tags: Vec<&str> = text.split(['\n', ' ']).collect();
    for p in [
        Policy::semver(">=0.0.0-0").expect("range"),
        Policy::alphabetical(Order::Desc),
        Policy::numerical(Order::Asc),
    ] {
        if let Ok(t) = p.select(&tags) {
            assert!(tags.contains(&t));
        }
    }
});
