//! The YAML fast path against the full parser (`granit-parser`).
//!
//! The fast path must either decline a file or build exactly the tree the
//! full parser builds. Checked on every YAML file of the repository's
//! fixtures and of the conformance data, and on random line soup made from
//! the constructs manifests use plus the ones the fast path must decline.

use std::path::{Path, PathBuf};

use gitops_setters::fast_yaml_differential;
use proptest::prelude::*;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            yaml_files(&p, out);
        } else if ft.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

/// Returns (files, accepted by the fast path).
fn sweep(dirs: &[PathBuf]) -> (usize, usize) {
    let mut files = Vec::new();
    for d in dirs {
        yaml_files(d, &mut files);
    }
    let mut accepted = 0;
    let mut failures = Vec::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        match fast_yaml_differential(&src) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(diff) => failures.push(format!("{}: {diff}", f.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (files.len(), accepted)
}

#[test]
fn fixtures_and_conformance_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let local = [
        root.join("gitops-setters/tests/fixtures"),
        root.join("examples/demo"),
        root.join("gitops-render/tests"),
    ];
    let (n, a) = sweep(&local);
    println!("fast YAML path, repository fixtures: {n} files, {a} read by the fast path, 0 differ");
    assert!(
        n > 20 && a * 2 > n,
        "the fast path read only {a} of {n} fixture files"
    );
    let conf = std::env::var_os("GITOPS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/conformance"));
    if conf.is_dir() {
        let (n, a) = sweep(&[conf]);
        println!(
            "fast YAML path, conformance data: {n} files, {a} read by the fast path, 0 differ"
        );
    } else {
        println!(
            "fast YAML path: conformance data not found at {}; that sweep did not run",
            conf.display()
        );
    }
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "image",
        "k#x",
        "é",
        "1.10",
        "-1",
        "nginx:1.2",
        "a b",
        "~",
        "x:y",
        ":k",
        "?q",
        "-",
        "@x",
        "%p",
        "`b",
    ])
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        word().prop_map(str::to_owned),
        Just("'it''s'".to_owned()),
        Just("'unclosed".to_owned()),
        Just("\"dq\"".to_owned()),
        Just("\"e\\\"sc\"".to_owned()),
        Just("[a, b]".to_owned()),
        Just("[a, [b, {c: d}], \"e\", 'f']".to_owned()),
        Just("{a: b, c: [d]}".to_owned()),
        Just("{a: b, c}".to_owned()),
        Just("[a: b]".to_owned()),
        Just("[a, ]".to_owned()),
        Just("[-, a]".to_owned()),
        Just("[a,".to_owned()),
        Just("[]".to_owned()),
        Just("{ }".to_owned()),
        Just("|".to_owned()),
        Just("|-".to_owned()),
        Just("|+".to_owned()),
        Just(">".to_owned()),
        Just(">-".to_owned()),
        Just("|2".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        Just("!t x".to_owned()),
        Just("a: b".to_owned()),
        Just("- x".to_owned()),
        Just("x #".to_owned()),
        Just("\"a\"b".to_owned()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    let body = prop_oneof![
        (word(), value()).prop_map(|(k, v)| format!("{k}: {v}")),
        word().prop_map(|k| format!("{k}:")),
        (word(), value()).prop_map(|(k, v)| format!("'{k}': {v}")),
        value(),
        Just("# c".to_owned()),
        Just("---".to_owned()),
        Just("--- # c".to_owned()),
        Just("--- x".to_owned()),
        Just("...".to_owned()),
        Just(String::new()),
        Just("? x".to_owned()),
        Just("\tx: 1".to_owned()),
    ];
    let comment = prop::sample::select(vec![
        "",
        "",
        "",
        " # {\"$imagepolicy\": \"ns:p\"}",
        " # {\"$imagepolicy\": \"ns:p:tag\"}",
        " #c",
        "#c",
        "  ",
    ]);
    (
        0usize..7,
        prop::sample::select(vec!["", "", "- ", "-", "- - "]),
        body,
        comment,
    )
        .prop_map(|(indent, dash, body, comment)| {
            format!("{}{dash}{body}{comment}", " ".repeat(indent))
        })
}

fn soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..14),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, last_break)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut src = lines.join(eol);
            if last_break && !src.is_empty() {
                src.push_str(eol);
            }
            src
        })
}

/// Run `cases` random inputs through the differential check; returns how
/// many the fast path read. Fails on the first difference.
fn run(strategy: impl Strategy<Value = String>, cases: usize) -> usize {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config::default());
    let mut accepted = 0;
    for _ in 0..cases {
        let src = strategy.new_tree(&mut runner).expect("strategy").current();
        match fast_yaml_differential(&src) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(diff) => panic!("{diff}"),
        }
    }
    accepted
}

#[test]
fn line_soup() {
    let a = run(soup(), 4000);
    println!("line soup: 4000 inputs, {a} read by the fast path, 0 differ");
    assert!(a > 200, "the fast path read only {a} of 4000 inputs");
}

/// Indentation-shaped soup: nested keys and items at consistent columns, so
/// that a good share of inputs is valid and takes the fast path.
fn shaped() -> impl Strategy<Value = String> {
    let entry = (
        0usize..4,
        prop::sample::select(vec!["k: ", "- ", "- k: ", "k:", "-", "  "]),
        value(),
        any::<bool>(),
    )
        .prop_map(|(depth, lead, v, with_value)| {
            let v = if lead.ends_with(':') || lead == "-" || !with_value {
                String::new()
            } else {
                v
            };
            format!("{}{lead}{v}", "  ".repeat(depth))
        });
    prop::collection::vec(entry, 1..16).prop_map(|l| l.join("\n") + "\n")
}

#[test]
fn shaped_soup() {
    let a = run(shaped(), 4000);
    println!("shaped soup: 4000 inputs, {a} read by the fast path, 0 differ");
    assert!(a > 200, "the fast path read only {a} of 4000 inputs");
}
