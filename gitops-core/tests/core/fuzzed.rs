//! The YAML reader never panics and stays bounded on hostile input; inputs the
//! fuzzer found interesting are kept in tests/fixtures/fuzzed and replayed here.

use std::time::{Duration, Instant};

use gitops_core::yaml::{Limits, parse_documents, parse_documents_with};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn yaml_reader_never_panics(s in "[\\-:\\[\\]{}&*!|>'\"#\n a-z0-9,?%@`]{0,200}") {
        let _ = parse_documents(&s, "fuzz.yaml");
    }
}

#[test]
fn replay_fuzzed_inputs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzzed");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let start = Instant::now();
        let _ = parse_documents(&text, "fuzzed.yaml");
        let _ = gitops_core::ImageRef::parse(&text);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{} took too long",
            path.display()
        );
        n += 1;
    }
    assert!(n > 0, "no fuzz regression inputs in {dir}");
}

#[test]
fn billion_laughs_is_rejected_quickly() {
    let mut src = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = "a".to_owned();
    for i in 0..9 {
        let name = format!("l{i}");
        let refs = vec![format!("*{prev}"); 9].join(",");
        src.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let start = Instant::now();
    let err = parse_documents_with(
        &src,
        "lol.yaml",
        Limits {
            max_nodes: 100_000,
            max_depth: 64,
        },
    )
    .unwrap_err();
    // The run's aliasing rule stops it before the stream's own limit.
    assert_eq!(
        err.to_string(),
        "lol.yaml:4: excessive aliasing: 2549 of 2568 YAML nodes in this run come from alias expansion (allowed: 99%)"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

/// Found by the `yaml_reader` fuzz target: a lone CR is a YAML line break,
/// so lines are counted as YAML counts them (CR LF, CR or LF).
#[test]
fn lone_carriage_returns_are_line_breaks() {
    let docs =
        gitops_core::yaml::parse_documents("a: 1\r\rb: 2\r\nc: 3\n", "cr.yaml").expect("parses");
    let root = &docs[0].root;
    let line = |k: &str| root.get(k).map(|n| n.line);
    assert_eq!(
        (line("a"), line("b"), line("c")),
        (Some(1), Some(3), Some(4))
    );
}
