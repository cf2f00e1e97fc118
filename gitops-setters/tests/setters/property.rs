//! Property: applying setters changes only the bytes of marked scalars.
//!
//! Random YAML (block and flow collections, all scalar styles, comments,
//! block scalars, several documents, LF or CRLF) with random line and head
//! markers; random policies. After `apply_str`:
//! - re-scanning finds the same markers, and every byte outside the marked
//!   scalars is identical (the gaps between marker spans are equal);
//! - each marked scalar holds the value its policy asks for (or its old value);
//! - applying again changes nothing.

use gitops_core::ImageRef;
use gitops_core::yaml::{Scalar as CoreScalar, Schema};
use gitops_setters::apply::{Policies, apply_str, value_for};
use gitops_setters::marker::PolicyId;
use gitops_setters::scan::{ScalarStyle, scan_str};
use proptest::prelude::*;

use crate::rel;

#[derive(Debug, Clone)]
enum Scalar {
    Plain(String),
    Single(String),
    Double(String),
}

impl Scalar {
    fn render(&self) -> String {
        match self {
            Scalar::Plain(s) => s.clone(),
            Scalar::Single(s) => format!("'{}'", s.replace('\'', "''")),
            Scalar::Double(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        }
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        "[a-z][a-z0-9./:_-]{0,15}[a-z0-9]".prop_map(Scalar::Plain),
        "[ -~]{0,12}".prop_map(Scalar::Single),
        "[ -~é☺]{0,12}".prop_map(Scalar::Double),
    ]
}

fn marker() -> impl Strategy<Value = String> {
    (
        0..4u8,
        prop::sample::select(vec!["", ":tag", ":name", ":digest"]),
    )
        .prop_map(|(p, s)| format!("# {{\"$imagepolicy\": \"ns:p{p}{s}\"}}"))
}

#[derive(Debug, Clone)]
enum Entry {
    LineMarked(Scalar, String),
    HeadMarked(Scalar, String),
    SeqMarked(Vec<(Scalar, Option<String>)>),
    Nested(Scalar, String),
    Flow(Vec<Scalar>),
    Block(String),
    Comment(String),
    Blank,
    DocStart,
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        (scalar(), marker()).prop_map(|(s, m)| Entry::LineMarked(s, m)),
        (scalar(), marker()).prop_map(|(s, m)| Entry::HeadMarked(s, m)),
        prop::collection::vec((scalar(), prop::option::of(marker())), 1..4)
            .prop_map(Entry::SeqMarked),
        (scalar(), marker()).prop_map(|(s, m)| Entry::Nested(s, m)),
        prop::collection::vec(scalar(), 0..4).prop_map(Entry::Flow),
        (marker()).prop_map(|m| Entry::Block(format!("text {m} in a block"))),
        "[ -~]{0,20}".prop_map(Entry::Comment),
        Just(Entry::Blank),
        Just(Entry::DocStart),
    ]
}

/// Render entries; returns the text and the number of markers.
fn render(entries: &[Entry], nl: &str) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for (i, e) in entries.iter().enumerate() {
        let key = format!("k{i}");
        match e {
            Entry::LineMarked(s, m) => {
                out += &format!("{key}: {} {m}{nl}", s.render());
                n += 1;
            }
            Entry::HeadMarked(s, m) => {
                out += &format!("{m}{nl}{key}: {}{nl}", s.render());
                n += 1;
            }
            Entry::SeqMarked(items) => {
                out += &format!("{key}:{nl}");
                for (s, m) in items {
                    match m {
                        Some(m) => {
                            out += &format!("  - {} {m}{nl}", s.render());
                            n += 1;
                        }
                        None => out += &format!("  - {}{nl}", s.render()),
                    }
                }
            }
            Entry::Nested(s, m) => {
                out += &format!(
                    "{key}:{nl}  inner:{nl}    {m}{nl}    leaf: {}{nl}",
                    s.render()
                );
                n += 1;
            }
            Entry::Flow(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|s| match s {
                        Scalar::Plain(p) => format!("'{p}'"),
                        other => other.render(),
                    })
                    .collect();
                out += &format!("{key}: {{a: [{}], b: x}}{nl}", parts.join(", "));
            }
            Entry::Block(text) => out += &format!("{key}: |{nl}  {text}{nl}"),
            Entry::Comment(c) => out += &format!("# {c}{nl}"),
            Entry::Blank => out += nl,
            Entry::DocStart => out += &format!("---{nl}"),
        }
    }
    (out, n)
}

fn image() -> impl Strategy<Value = ImageRef> {
    (
        prop::sample::select(vec!["app", "ghcr.io/org/app", "localhost:5000/a/b"]),
        prop::option::of(prop::sample::select(vec![
            "1.10",
            "v2",
            "1.2.3",
            "true",
            "2024-01-02",
            "latest",
        ])),
        prop::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(name, tag, digest)| {
            let mut s = name.to_owned();
            if let Some(t) = tag {
                s = format!("{s}:{t}");
            }
            if let Some(d) = digest {
                s = format!("{s}@sha256:{d}");
            }
            ImageRef::parse(&s).expect("generated image is valid")
        })
}

fn policies() -> impl Strategy<Value = Policies> {
    prop::collection::vec(prop::option::of(image()), 4).prop_map(|imgs| {
        imgs.into_iter()
            .enumerate()
            .filter_map(|(i, img)| Some((PolicyId::new("ns", format!("p{i}")), img?)))
            .collect()
    })
}

/// The text between marker spans.
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn only_marked_scalars_change(
        entries in prop::collection::vec(entry(), 1..16),
        crlf in any::<bool>(),
        policies in policies(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let (src, expected_markers) = render(&entries, nl);
        let path = rel("gen.yaml");
        let before = scan_str(&path, &src);
        prop_assert!(before.warnings.is_empty(), "{:?}\n{}", before.warnings, src);
        prop_assert_eq!(before.markers.len(), expected_markers, "{}", src);

        let out = apply_str(&path, &src, &policies);
        let new = out.contents.clone().unwrap_or_else(|| src.clone());
        let after = scan_str(&path, &new);
        prop_assert!(after.warnings.is_empty(), "{:?}\n{}", after.warnings, new);
        prop_assert_eq!(after.markers.len(), before.markers.len());

        let spans_before: Vec<_> = before.markers.iter().map(|m| m.span.clone()).collect();
        let spans_after: Vec<_> = after.markers.iter().map(|m| m.span.clone()).collect();
        prop_assert_eq!(gaps(&src, &spans_before), gaps(&new, &spans_after));

        for (b, a) in before.markers.iter().zip(&after.markers) {
            let want = match policies.get(&b.setter.policy) {
                Some(img) => value_for(b.setter.field, img).unwrap_or_else(|_| b.value.clone()),
                None => b.value.clone(),
            };
            prop_assert_eq!(&a.value, &want);
            if a.value == b.value {
                prop_assert_eq!(&src[b.span.clone()], &new[a.span.clone()]);
            }
            prop_assert_eq!(a.line, b.line);
            if a.value != b.value && a.style == ScalarStyle::Plain {
                // A plain scalar must still read back as a string.
                for schema in [Schema::Core, Schema::Yaml11] {
                    prop_assert!(!CoreScalar::plain_would_change_type(&a.value, schema), "{}", a.value);
                }
            }
            if b.style != ScalarStyle::Plain {
                prop_assert_eq!(a.style, b.style, "quoted scalars keep their quotes");
            }
        }
        prop_assert_eq!(out.changes.len(), before.markers.iter().zip(&after.markers).filter(|(b, a)| a.value != b.value).count());

        let again = apply_str(&path, &new, &policies);
        prop_assert_eq!(again.contents, None);
    }
}
