//! Differential test against the real `kubectl kustomize` on overlays made by
//! `tools/gen_overlay.py` (namePrefix, namespace, labels, annotations, images,
//! generators, strategic-merge and JSON 6902 patches, name references).

use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::{Options, Reorder, render};

use crate::conformance_dir;

/// The kubectl oracle; a missing one fails the test (never a silent skip).
fn kubectl() -> PathBuf {
    let dir = std::env::var_os("GITOPS_ORACLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/gitops-oracles")
        });
    let k = dir.join("kubectl");
    assert!(
        k.is_file(),
        "kubectl oracle not found at {}: run `bash tools/fetch-oracles.sh` (or set GITOPS_ORACLES)",
        k.display()
    );
    k
}

fn gen_overlay(tools: &Path, size: usize, seed: u64, out: &Path) {
    let status = Command::new("python3")
        .arg(tools.join("gen_overlay.py"))
        .arg(size.to_string())
        .arg(out)
        .arg("--seed")
        .arg(seed.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run python3 gen_overlay.py");
    assert!(status.success(), "gen_overlay.py failed");
}

fn ours(root: &Path, reorder: Reorder) -> String {
    let tree = OsTree::new(root).expect("open tree");
    let dir = RelPath::new("overlays/prod").expect("relpath");
    let options = Options {
        reorder,
        ..Options::default()
    };
    render(&tree, &dir, &options).unwrap_or_else(|e| panic!("our build failed: {e}"))
}

fn theirs(kubectl: &Path, root: &Path, reorder: &str) -> String {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg("--reorder")
        .arg(reorder)
        .arg(root.join("overlays/prod"))
        .output()
        .expect("run kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kubectl output is UTF-8")
}

#[test]
fn matches_kubectl_on_generated_overlays() {
    let kubectl = kubectl();
    let Some(data) = conformance_dir() else {
        return;
    };
    let tools = data.join("../tools");
    if !tools.join("gen_overlay.py").is_file() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("gen_overlay.py not found in {} (CI=true)", tools.display());
        }
        println!(
            "kubectl differential test did not run: no gen_overlay.py in {}",
            tools.display()
        );
        return;
    }
    let mut compared = 0;
    // R=50 and R=200 with gen_overlay.py's default seed and kubectl's default order
    // (the sizes the render issue names), plus other sizes, seeds and orders.
    for (size, seed, reorder) in [
        (50, 20240101, "legacy"),
        (200, 20240101, "legacy"),
        (7, 1, "legacy"),
        (40, 2, "none"),
        (120, 3, "legacy"),
        (250, 9, "none"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        gen_overlay(&tools, size, seed, tmp.path());
        let expected = theirs(&kubectl, tmp.path(), reorder);
        let r = if reorder == "none" {
            Reorder::None
        } else {
            Reorder::Legacy
        };
        let got = ours(tmp.path(), r);
        if got != expected {
            let line = expected
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1);
            panic!(
                "size {size} seed {seed} --reorder {reorder}: output differs from kubectl (first at line {line})"
            );
        }
        compared += 1;
    }
    println!("kubectl differential: {compared} overlays byte-identical");
}

/// Every case of `tests/render/cases` through the real kubectl: its output
/// must still be the recorded `expected.yaml`, and ours (over the real
/// directory) must be the same bytes. Every mismatch is listed.
#[test]
fn own_cases_match_kubectl() {
    let kubectl = kubectl();
    let names = crate::cases::case_names();
    let mut failures = Vec::new();
    for name in &names {
        if let Err(why) = own_case_against_kubectl(&kubectl, name) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!(
        "kubectl differential: {} own cases byte-identical",
        names.len()
    );
}

fn own_case_against_kubectl(kubectl: &Path, name: &str) -> Result<(), String> {
    let case = crate::cases::cases_dir().join(name);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("meta.json")).expect("meta.json"))
            .expect("meta.json is JSON");
    let reorder = meta["reorder"].as_str().unwrap_or("legacy");
    let build_dir = meta["build_dir"].as_str().unwrap_or(".");
    let input = case.join("input");
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg("--reorder")
        .arg(reorder)
        .arg(input.join(build_dir))
        .output()
        .expect("run kubectl kustomize");
    if !out.status.success() {
        return Err(format!(
            "kubectl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let theirs = String::from_utf8(out.stdout).expect("kubectl output is UTF-8");
    let expected = std::fs::read_to_string(case.join("expected.yaml")).expect("expected.yaml");
    if theirs != expected {
        return Err("kubectl no longer prints expected.yaml (regenerate.sh)".into());
    }
    let tree = OsTree::new(&input).expect("open case input");
    let options = Options {
        reorder: if reorder == "none" {
            Reorder::None
        } else {
            Reorder::Legacy
        },
        ..Options::default()
    };
    let ours = render(&tree, &RelPath::new(build_dir).expect("relpath"), &options)
        .map_err(|e| format!("our build failed: {e}"))?;
    if ours != theirs {
        let line = theirs
            .lines()
            .zip(ours.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        return Err(format!(
            "output differs from kubectl (first at line {line})"
        ));
    }
    Ok(())
}
