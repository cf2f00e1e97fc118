//! The kustomize conformance corpus: every case built over an in-memory tree
//! rooted at its `input/`, compared byte for byte with kubectl's output.

use std::path::Path;

use gitops_core::fs::{MemTree, RelPath};
use gitops_render::{Options, Reorder, render};
use serde_json::Value;

use crate::conformance_dir;

/// Cases that pass today; the run fails when fewer pass (a regression).
const FLOOR: usize = 334;

fn load_tree(root: &Path) -> MemTree {
    let mut tree = MemTree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list input dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("below root");
                let rel = rel.to_string_lossy().replace('\\', "/");
                let bytes = std::fs::read(&path).expect("read input file");
                tree.insert(&rel, bytes).expect("insert into tree");
            }
        }
    }
    tree
}

/// Outcome of one case.
pub enum Outcome {
    /// Byte-identical output, or an expected failure.
    Pass,
    /// Anything else, with a short reason.
    Fail(String),
}

/// Build one case directory and compare.
pub fn run_case(case: &Path) -> (Outcome, bool, String) {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("meta.json")).expect("meta.json"))
            .expect("meta.json is JSON");
    let tree = load_tree(&case.join("input"));
    let build_dir = meta["build_dir"].as_str().unwrap_or(".");
    let dir = RelPath::new(build_dir).expect("build_dir is relative");
    let reorder = match meta["reorder"].as_str() {
        Some("legacy") => Reorder::Legacy,
        _ => Reorder::None,
    };
    let options = Options {
        reorder,
        ..Options::default()
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render(&tree, &dir, &options)
    }));
    let Ok(result) = result else {
        return (Outcome::Fail("panicked".into()), false, String::new());
    };
    if meta["expects_error"].as_bool() == Some(true) {
        return match result {
            Ok(_) => (
                Outcome::Fail("built, but kubectl fails".into()),
                false,
                String::new(),
            ),
            Err(e) => {
                let msg = error_chain(&e);
                let subs_ok = meta["error_substrings"].as_array().is_none_or(|subs| {
                    subs.iter()
                        .filter_map(Value::as_str)
                        .all(|s| msg.contains(s))
                });
                (Outcome::Pass, subs_ok, msg)
            }
        };
    }
    let expected = std::fs::read_to_string(case.join("expected.yaml")).expect("expected.yaml");
    match result {
        Ok(out) if out == expected => (Outcome::Pass, true, String::new()),
        Ok(out) => (
            Outcome::Fail(first_difference(&expected, &out)),
            false,
            String::new(),
        ),
        Err(e) => (
            Outcome::Fail(format!("error: {}", error_chain(&e))),
            false,
            String::new(),
        ),
    }
}

/// Case name → top-level kustomization fields and builtin plugin kinds it
/// uses, from the corpus `index.json`.
fn case_features(index: &Path) -> std::collections::HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(index).expect("read index.json");
    let v: Value = serde_json::from_str(&text).expect("index.json is JSON");
    let entries = v
        .as_array()
        .or_else(|| v["cases"].as_array())
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| {
            let name = e["name"].as_str()?.to_owned();
            let mut fs: Vec<String> = e["features"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            fs.extend(
                e["builtin_plugin_configs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(|s| format!("plugin {s}"))),
            );
            Some((name, fs))
        })
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}: expected {e:?}, got {a:?}", i + 1);
        }
    }
    format!(
        "length differs: expected {} lines, got {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[test]
fn kustomize_conformance() {
    let Some(dir) = conformance_dir() else {
        return;
    };
    let cases_dir = dir.join("kustomize/cases");
    let mut names: Vec<String> = std::fs::read_dir(&cases_dir)
        .expect("list cases")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let features = case_features(&dir.join("kustomize/index.json"));
    let mut by_feature: std::collections::BTreeMap<String, (usize, usize)> =
        std::collections::BTreeMap::new();
    let (mut passed, mut failed) = (0, 0);
    let (mut err_cases, mut err_msgs_match) = (0, 0);
    let mut report = String::new();
    for name in &names {
        let case = cases_dir.join(name);
        let is_err = case.join("kubectl_error.txt").exists();
        let (outcome, subs, msg) = run_case(&case);
        if is_err {
            err_cases += 1;
            err_msgs_match += usize::from(subs);
            if !subs && matches!(outcome, Outcome::Pass) {
                let msg: String = msg.replace('\n', "\\n").chars().take(300).collect();
                report.push_str(&format!("MESSAGE {name}: {msg}\n"));
            }
        }
        let ok = matches!(outcome, Outcome::Pass);
        for f in features.get(name).into_iter().flatten() {
            let e = by_feature.entry(f.clone()).or_default();
            e.0 += usize::from(ok);
            e.1 += 1;
        }
        match outcome {
            Outcome::Pass => passed += 1,
            Outcome::Fail(reason) => {
                failed += 1;
                let reason: String = reason.replace('\n', "\\n").chars().take(300).collect();
                report.push_str(&format!("FAIL {name}: {reason}\n"));
            }
        }
    }
    let report_path = std::env::var_os("GITOPS_CONFORMANCE_REPORT").map(std::path::PathBuf::from);
    if let Some(p) = &report_path {
        std::fs::write(p, &report).expect("write conformance report");
    } else {
        eprint!("{report}");
    }
    println!("kustomize: {passed} passed, {failed} failed");
    println!(
        "  ({err_msgs_match} of {err_cases} error cases also contain kubectl's error substrings)"
    );
    println!("  per feature (cases using the field: passed / total):");
    for (f, (p, t)) in &by_feature {
        println!("    {f:<46} {p:>4} / {t}");
    }
    assert!(
        passed >= FLOOR,
        "conformance regressed: {passed} passed, floor is {FLOOR}"
    );
}
