//! Fuzz the setters scanner and rewriter on arbitrary bytes.
//!
//! Properties:
//! - scanning never panics (bytes or text), and every marker span is a
//!   non-empty, in-bounds slice on character boundaries;
//! - applying with no known policy changes nothing;
//! - applying each policy's *current* value (when all of its markers hold
//!   the same full image reference) changes nothing;
//! - applying a fixed set of policies keeps every byte outside the marked
//!   scalars, keeps the number of markers, and is idempotent.
#![no_main]

use std::collections::BTreeMap;

use gitops_core::ImageRef;
use gitops_core::fs::RelPath;
use gitops_setters::apply::{Policies, apply_str};
use gitops_setters::marker::{Field, PolicyId};
use gitops_setters::scan::{scan_bytes, scan_str};
use libfuzzer_sys::fuzz_target;

fn gaps<'a>(src: &'a str, spans: &[std::ops::Range<usize>]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut at = 0;
    for s in spans {
        out.push(&src[at..s.start]);
        at = s.end;
    }
    out.push(&src[at..]);
    out
}

fuzz_target!(|data: &[u8]| {
    let path = RelPath::new("fuzz.yaml").expect("valid path");
    let _ = scan_bytes(&path, data);
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let found = scan_str(&path, src);
    for m in &found.markers {
        assert!(!m.span.is_empty());
        assert!(src.get(m.span.clone()).is_some(), "span on a char boundary");
        assert!(m.line >= 1 && m.column >= 1);
    }

    // Unknown policies: nothing changes.
    assert_eq!(apply_str(&path, src, &Policies::new()).contents, None);

    // Identity: each policy set to the value its markers already hold.
    let mut by_policy: BTreeMap<&PolicyId, Vec<(Field, &str)>> = BTreeMap::new();
    for m in &found.markers {
        by_policy
            .entry(&m.setter.policy)
            .or_default()
            .push((m.setter.field, m.value.as_str()));
    }
    let identity: Policies = by_policy
        .into_iter()
        .filter_map(|(p, uses)| {
            let (field, first) = uses[0];
            let same = uses.iter().all(|&(f, v)| f == Field::Image && v == first);
            let image = ImageRef::parse(first).ok()?;
            (field == Field::Image && same && image.to_string() == first)
                .then(|| (p.clone(), image))
        })
        .collect();
    assert_eq!(apply_str(&path, src, &identity).contents, None);

    // A real rewrite keeps all other bytes and is idempotent.
    let policies: Policies = found
        .markers
        .iter()
        .map(|m| {
            let image = ImageRef::parse("ghcr.io/org/app:1.10@sha256:0000000000000000000000000000000000000000000000000000000000000000")
                .expect("valid image");
            (m.setter.policy.clone(), image)
        })
        .collect();
    let out = apply_str(&path, src, &policies);
    if let Some(new) = &out.contents {
        let after = scan_str(&path, new);
        assert_eq!(after.markers.len(), found.markers.len());
        let before_spans: Vec<_> = found.markers.iter().map(|m| m.span.clone()).collect();
        let after_spans: Vec<_> = after.markers.iter().map(|m| m.span.clone()).collect();
        assert_eq!(gaps(src, &before_spans), gaps(new, &after_spans));
        assert_eq!(apply_str(&path, new, &policies).contents, None);
    }
});
