//! Fuzz `Range::parse`: never panics; an accepted range prints in a form that
//! parses back to the same range; errors point inside the input; checks
//! against an arbitrary version never panic and agree with `validate`.
#![no_main]

use gitops_image::{Range, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Split the input: range text, then an optional version after a NUL.
    let (range_text, version_text) = text.split_once('\0').unwrap_or((text, "1.2.3"));
    match Range::parse(range_text) {
        Ok(range) => {
            let shown = range.to_string();
            let again = Range::parse(&shown).unwrap_or_else(|e| {
                panic!("display {shown:?} of {range_text:?} does not parse: {e}")
            });
            assert_eq!(again.to_string(), shown, "display is not a fixed point");
            assert_eq!(again, range, "round trip changed the range");
            if let Ok(v) = Version::parse(version_text) {
                let m = range.matches(v.as_ref());
                assert_eq!(
                    m,
                    range.validate(v.as_ref()).is_ok(),
                    "matches and validate disagree"
                );
                let incl = range.clone().with_include_prerelease(true);
                // Including prereleases can only widen the match.
                assert!(!m || incl.matches(v.as_ref()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            // Columns are 1-based and at most one past the end.
            if let Some(col) = msg
                .split("column ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|d| d.parse::<usize>().ok())
            {
                assert!(col >= 1 && col <= range_text.chars().count() + 1, "{msg}");
            }
        }
    }
});
