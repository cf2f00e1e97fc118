//! This crate's own kustomize cases (`tests/render/cases/`): minimal
//! reproductions of differences found by comparing builds of public
//! repositories with `kubectl kustomize`, each with the bytes kubectl
//! v1.35.2 (kustomize v5.7.1) printed. They use the conformance corpus's
//! layout (`input/`, `meta.json`, `expected.yaml`) and its runner;
//! `cases/README.md` says how to regenerate them.

use std::path::PathBuf;

use crate::conformance::{Outcome, run_case};

/// The directory of the cases.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render/cases"))
}

/// The case names (subdirectories with a `meta.json`), sorted.
pub fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("list tests/render/cases")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("meta.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn own_cases() {
    let names = case_names();
    assert!(!names.is_empty(), "no cases in {}", cases_dir().display());
    let (mut passed, mut failed) = (0, 0);
    for name in &names {
        match run_case(&cases_dir().join(name)).0 {
            Outcome::Pass => passed += 1,
            Outcome::Fail(reason) => {
                failed += 1;
                eprintln!("FAIL {name}: {reason}");
            }
        }
    }
    println!("cases: {passed} passed, {failed} failed");
    assert_eq!(
        failed,
        0,
        "{failed} of {} cases differ from kubectl",
        names.len()
    );
}
