//! `helm template` conformance: every case of the shared corpus
//! `conformance/helm-charts` (real-world and Helm test charts rendered by
//! Helm v4.1.4) rendered with [`render_chart`] and compared with Helm's
//! output, plus a differential test against the real `helm` on generated
//! charts (`differential.rs`).
//!
//! A case passes when the exit status matches and either the output is
//! byte-identical (line by line outside `varying_lines` for cases that use
//! random functions) or, for a case Helm rejects, the error text equals
//! Helm's error line (without `Error: `). The run prints
//! `helm charts: N passed, M failed`, a table per chart feature and one line
//! per failing case. It fails when fewer than [`PASS_THRESHOLD`] cases pass,
//! and when a case Helm rejects renders without error.
//!
//! A chart whose vendored subcharts the corpus leaves out of its `charts/`
//! (kube-prometheus-stack) is rendered from a temporary copy completed with
//! the corpus's standalone charts of the same name and version
//! (`vendored.rs`).
//!
//! `GITOPS_HELM_CASE=<substring>` runs only the cases whose id contains it
//! (the threshold is then not checked).

mod differential;
mod vendored;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::helm::chart::{self, RenderOptions, render_chart};
use gitops_render::helm::values;
use serde_json::{Map, Value};
use vendored::VendoredCharts;

/// Cases that must pass: the count that passed when this was last raised.
/// Raise it when the engine improves; a run below it is a regression.
const PASS_THRESHOLD: usize = 167;

/// Cases Helm rejects that currently render without error (engine bugs
/// being worked on). Any other expected failure that renders is a failure
/// of this test.
const KNOWN_WRONG_SUCCESS: &[&str] = &[];

/// The outcome of one case.
struct Outcome {
    id: String,
    passed: bool,
    /// For a case Helm rejects: our error is of the same kind as Helm's.
    kind_matched: bool,
    /// For a case Helm rejects: our whole message equals Helm's stderr.
    stderr_exact: bool,
    /// Helm rejects the case but we rendered it.
    wrong_success: bool,
    /// Where our whole message first differs from Helm's stderr.
    stderr_note: Option<String>,
    reason: String,
    elapsed: Duration,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Helm's `loader.LoadValues` + `MergeMaps` over the case's values files.
pub fn load_values_files(base: &Path, files: &[Value]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for f in files {
        let rel = f.as_str().ok_or("values entry is not a string")?;
        let text = read(&base.join(rel));
        let docs = gitops_core::yaml::parse_documents(&text, rel).map_err(|e| e.to_string())?;
        for d in docs {
            match d.root.to_json(gitops_core::yaml::Schema::Yaml11) {
                Value::Object(m) => out = values::merge_maps(&out, &m),
                Value::Null => {}
                other => return Err(format!("{rel}: not a map: {other}")),
            }
        }
    }
    Ok(out)
}

/// The kind of an error message (Helm's or ours), for the "kind matched" count.
fn kind_of_text(msg: &str) -> &'static str {
    if msg.starts_with("values don't meet the specifications") {
        "schema"
    } else if msg.starts_with("YAML parse error") {
        "yaml"
    } else if msg.starts_with("an error occurred while checking for chart dependencies") {
        "dependencies"
    } else if msg.ends_with("charts are not installable") {
        "not-installable"
    } else if msg.starts_with("execution error at")
        || msg.contains("/templates/")
        || msg.starts_with("template:")
        || msg.starts_with("parse error")
    {
        "template"
    } else {
        "load"
    }
}

fn kind_of_error(e: &chart::Error) -> &'static str {
    match e {
        chart::Error::Schema(_) => "schema",
        chart::Error::Yaml(_) => "yaml",
        chart::Error::MissingDependencies(_) => "dependencies",
        chart::Error::NotInstallable(_) => "not-installable",
        chart::Error::Template(_) => "template",
        chart::Error::Load(_) => "load",
        _ => "other",
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Compare rendered output with Helm's; `None` when equal.
fn compare_output(got: &str, want: &str, varying: &[usize]) -> Option<String> {
    if varying.is_empty() {
        if got == want {
            return None;
        }
    } else {
        let g: Vec<&str> = got.split('\n').collect();
        let w: Vec<&str> = want.split('\n').collect();
        if g.len() == w.len()
            && g.iter()
                .zip(&w)
                .enumerate()
                .all(|(i, (a, b))| a == b || varying.contains(&(i + 1)))
        {
            return None;
        }
    }
    let g: Vec<&str> = got.split('\n').collect();
    let w: Vec<&str> = want.split('\n').collect();
    for i in 0..g.len().max(w.len()) {
        let (a, b) = (g.get(i), w.get(i));
        if a != b && !varying.contains(&(i + 1)) {
            return Some(format!(
                "output differs at line {}: got {:?}, want {:?} ({} vs {} lines)",
                i + 1,
                cut(a.unwrap_or(&"<end>")),
                cut(b.unwrap_or(&"<end>")),
                g.len(),
                w.len()
            ));
        }
    }
    Some(format!("output differs ({} vs {} lines)", g.len(), w.len()))
}

fn first_line_diff(got: &str, want: &str) -> String {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.split('\n').collect(), want.split('\n').collect());
    for i in 0..g.len().max(w.len()) {
        if g.get(i) != w.get(i) {
            return format!(
                "line {}: got {:?}, want {:?}",
                i + 1,
                cut(g.get(i).unwrap_or(&"<end>")),
                cut(w.get(i).unwrap_or(&"<end>"))
            );
        }
    }
    "same lines".into()
}

fn run_case(base: &Path, charts: &mut VendoredCharts<'_>, case: &Value) -> Outcome {
    let id = case["id"].as_str().unwrap_or_default().to_owned();
    let dir = base.join("cases").join(&id);
    let args = read_json(&dir.join("args.json"));
    let want_rc = read(&dir.join("expected.rc"))
        .trim()
        .parse::<i32>()
        .unwrap_or(-1);
    let varying: Vec<usize> = case["varying_lines"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as usize)
                .collect()
        })
        .unwrap_or_default();
    let mut outcome = Outcome {
        id: id.clone(),
        passed: false,
        kind_matched: false,
        stderr_exact: false,
        wrong_success: false,
        stderr_note: None,
        reason: String::new(),
        elapsed: Duration::ZERO,
    };
    let user = match load_values_files(
        base,
        args["values"].as_array().map_or(&[][..], Vec::as_slice),
    ) {
        Ok(v) => v,
        Err(e) => {
            outcome.reason = format!("values file: {e}");
            return outcome;
        }
    };
    let s = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
    let mut opts = RenderOptions::new(&s("release"), &s("namespace"))
        .with_include_crds(args["include_crds"].as_bool().unwrap_or(false));
    if let Some(v) = args["kube_version"].as_str() {
        opts = opts.with_kube_version(v.to_owned());
    }
    let chart_dir = match charts.chart_dir(&s("chart")) {
        Ok(d) => d,
        Err(e) => {
            outcome.reason = format!("assembling the chart: {e}");
            return outcome;
        }
    };
    let start = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let tree = OsTree::new(&chart_dir).map_err(|e| format!("open chart: {e}"))?;
        Ok::<_, String>(render_chart(&tree, &RelPath::root(), &user, &opts))
    }));
    outcome.elapsed = start.elapsed();
    let result = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            outcome.reason = e;
            return outcome;
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            outcome.reason = format!("panicked: {}", cut(&msg));
            return outcome;
        }
    };
    match (want_rc, result) {
        (0, Ok(m)) => {
            let got = m.to_helm_template(&opts);
            let want = read(&dir.join("expected.yaml"));
            match compare_output(&got, &want, &varying) {
                None => outcome.passed = true,
                Some(r) => outcome.reason = r,
            }
        }
        (0, Err(e)) => {
            outcome.reason = format!("helm renders it; we fail: {}", cut(&e.first_line()))
        }
        (_, Ok(_)) => {
            outcome.wrong_success = true;
            outcome.reason = format!(
                "helm fails ({}); we render it",
                cut(read(&dir.join("expected.err")).trim())
            );
        }
        (_, Err(e)) => {
            let want_line = read(&dir.join("expected.err"));
            let want_line = want_line.trim_end_matches('\n');
            let want_line = want_line.strip_prefix("Error: ").unwrap_or(want_line);
            let got_line = e.first_line();
            outcome.kind_matched = kind_of_error(&e) == kind_of_text(want_line);
            let stderr_path = dir.join("expected.stderr");
            if stderr_path.is_file() {
                let want = read(&stderr_path);
                let got = format!("Error: {e}\n");
                outcome.stderr_exact = want == got;
                if !outcome.stderr_exact {
                    outcome.stderr_note = Some(first_line_diff(&got, &want));
                }
            }
            if got_line == want_line {
                outcome.passed = true;
            } else {
                outcome.reason = format!(
                    "error differs{}: got {:?}, want {:?}",
                    if outcome.kind_matched {
                        " (kind matched)"
                    } else {
                        ""
                    },
                    cut(&got_line),
                    cut(want_line)
                );
            }
        }
    }
    outcome
}

/// Feature names of each chart (`index.json` `charts[].features`: true or a
/// positive count).
fn chart_features(index: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for c in index["charts"].as_array().map_or(&[][..], Vec::as_slice) {
        let dir = c["dir"].as_str().unwrap_or_default().to_owned();
        let mut feats = Vec::new();
        if let Some(m) = c["features"].as_object() {
            for (k, v) in m {
                let on = v.as_bool().unwrap_or(false) || v.as_u64().is_some_and(|n| n > 0);
                if on {
                    feats.push(k.clone());
                }
            }
        }
        out.insert(dir, feats);
    }
    out
}

#[test]
fn helm_charts_conformance() {
    let Some(conf) = gitops_test_support::conformance_dir("helm charts", "helm-charts") else {
        return;
    };
    let base = conf.join("helm-charts");
    let index = read_json(&base.join("index.json"));
    let features = chart_features(&index);
    let filter = std::env::var("GITOPS_HELM_CASE").ok();
    let cases: Vec<&Value> = index["cases"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|c| {
            filter
                .as_deref()
                .is_none_or(|f| c["id"].as_str().unwrap_or_default().contains(f))
        })
        .collect();
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let mut by_feature: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut charts = VendoredCharts::new(&base, &index);
    for c in &cases {
        let o = run_case(&base, &mut charts, c);
        let chart = c["chart"].as_str().unwrap_or_default();
        for f in features.get(chart).map_or(&[][..], Vec::as_slice) {
            let e = by_feature.entry(f.clone()).or_default();
            e.1 += 1;
            if o.passed {
                e.0 += 1;
            }
        }
        outcomes.push(o);
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed;
    let expected_failures: Vec<&Value> = cases
        .iter()
        .copied()
        .filter(|c| c["rc"].as_i64() != Some(0))
        .collect();
    let exact_errors = outcomes
        .iter()
        .filter(|o| {
            o.passed
                && expected_failures
                    .iter()
                    .any(|c| c["id"].as_str() == Some(&o.id))
        })
        .count();
    let kind_errors = outcomes.iter().filter(|o| o.kind_matched).count();
    let stderr_exact = outcomes.iter().filter(|o| o.stderr_exact).count();
    println!("\nfeature                passed/cases");
    for (f, (p, t)) in &by_feature {
        println!("  {f:<20} {p:>4}/{t:<4}");
    }
    println!(
        "expected failures: {} exact error line, {} kind matched, {} whole stderr exact, of {}",
        exact_errors,
        kind_errors,
        stderr_exact,
        expected_failures.len()
    );
    let mut slow: Vec<&Outcome> = outcomes.iter().collect();
    slow.sort_by_key(|o| std::cmp::Reverse(o.elapsed));
    println!(
        "time: {:.1}s in all; slowest: {}",
        started.elapsed().as_secs_f64(),
        slow.iter()
            .take(3)
            .map(|o| format!("{} {:.2}s", o.id, o.elapsed.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for o in outcomes.iter().filter(|o| !o.passed) {
        println!("FAIL {}: {}", o.id, o.reason);
    }
    for o in &outcomes {
        if let Some(n) = &o.stderr_note {
            println!("NOTE {}: whole stderr differs: {n}", o.id);
        }
    }
    println!("helm charts: {passed} passed, {failed} failed");
    let wrong: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.wrong_success && !KNOWN_WRONG_SUCCESS.contains(&o.id.as_str()))
        .map(|o| o.id.as_str())
        .collect();
    assert!(
        wrong.is_empty(),
        "cases helm rejects rendered without error: {wrong:?}"
    );
    if filter.is_none() {
        assert!(
            passed >= PASS_THRESHOLD,
            "helm charts: {passed} passed, below the threshold of {PASS_THRESHOLD}"
        );
    }
}
