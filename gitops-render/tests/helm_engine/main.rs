//! Iteration runner for `helm::chart` over the Helm conformance corpus
//! (`$GITOPS_CONFORMANCE_DIR/helm-charts`, default `/work/shared/conformance`):
//! renders every case, prints pass/fail per case and a summary.
//! Run: `cargo test -p gitops-render --release --test helm_engine -- --ignored --nocapture`
//! (`HELM_CASE=substring` to select cases).

use std::path::PathBuf;
use std::time::Instant;

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::helm::chart::{RenderOptions, render_chart};

fn corpus() -> PathBuf {
    let base = std::env::var("GITOPS_CONFORMANCE_DIR")
        .unwrap_or_else(|_| "/work/shared/conformance".into());
    PathBuf::from(base).join("helm-charts")
}

#[test]
#[ignore]
fn helm_corpus() {
    let dir = corpus();
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let tree = OsTree::new(&dir).unwrap();
    let filter = std::env::var("HELM_CASE").unwrap_or_default();
    let (mut pass, mut total, mut err_ok, mut err_total) = (0, 0, 0, 0);
    let mut failed = Vec::new();
    for case in index["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        if !id.contains(&filter) {
            continue;
        }
        total += 1;
        let cdir = dir.join("cases").join(id);
        let args: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cdir.join("args.json")).unwrap())
                .unwrap();
        let mut values = serde_json::Map::new();
        for v in args["values"].as_array().unwrap() {
            let text = std::fs::read_to_string(dir.join(v.as_str().unwrap())).unwrap();
            let m = gitops_render::helm::chart::load_values(&text).unwrap();
            values = gitops_render::helm::values::merge_maps(&values, &m);
        }
        let mut opts = RenderOptions::new(
            args["release"].as_str().unwrap(),
            args["namespace"].as_str().unwrap(),
        )
        .with_include_crds(args["include_crds"].as_bool().unwrap_or(false));
        if let Some(k) = args["kube_version"].as_str() {
            opts = opts.with_kube_version(k);
        }
        let rc: i32 = std::fs::read_to_string(cdir.join("expected.rc"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let expected = std::fs::read_to_string(cdir.join("expected.yaml")).unwrap();
        let exp_err = std::fs::read_to_string(cdir.join("expected.err")).unwrap_or_default();
        let exp_err = exp_err
            .trim_end()
            .strip_prefix("Error: ")
            .unwrap_or(exp_err.trim_end())
            .to_string();
        let t0 = Instant::now();
        let chart = RelPath::new(args["chart"].as_str().unwrap()).unwrap();
        let res = render_chart(&tree, &chart, &values, &opts);
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let varying: Vec<usize> = case["varying_lines"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as usize)
                    .collect()
            })
            .unwrap_or_default();
        let verdict = match (&res, rc) {
            (Ok(m), 0) => {
                let got = m.to_helm_template(&opts);
                if got == expected
                    || (!varying.is_empty() && lines_match(&got, &expected, &varying))
                {
                    Ok(())
                } else {
                    Err(first_diff(&got, &expected))
                }
            }
            (Err(e), 1) => {
                err_total += 1;
                let line = e.first_line();
                if line == exp_err {
                    err_ok += 1;
                    Ok(())
                } else {
                    Err(format!(
                        "error text differs:\n   got: {line}\n  want: {exp_err}"
                    ))
                }
            }
            (Ok(_), _) => {
                err_total += 1;
                Err(format!("expected failure: {exp_err}"))
            }
            (Err(e), _) => Err(format!(
                "unexpected error: {}",
                e.to_string()
                    .lines()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join("\n    ")
            )),
        };
        match verdict {
            Ok(()) => {
                pass += 1;
                println!("PASS {id} ({ms:.1} ms)");
            }
            Err(why) => {
                println!("FAIL {id} ({ms:.1} ms): {why}");
                failed.push(id.to_string());
            }
        }
    }
    println!("\n{pass}/{total} cases pass; expected failures matched: {err_ok}/{err_total}");
    println!("failing: {failed:?}");
}

fn lines_match(got: &str, want: &str, varying: &[usize]) -> bool {
    let g: Vec<&str> = got.split('\n').collect();
    let w: Vec<&str> = want.split('\n').collect();
    g.len() == w.len()
        && g.iter()
            .zip(&w)
            .enumerate()
            .all(|(i, (a, b))| a == b || varying.contains(&(i + 1)))
}

fn first_diff(got: &str, want: &str) -> String {
    let g: Vec<&str> = got.split('\n').collect();
    let w: Vec<&str> = want.split('\n').collect();
    for i in 0..g.len().max(w.len()) {
        let a = g.get(i).copied().unwrap_or("<EOF>");
        let b = w.get(i).copied().unwrap_or("<EOF>");
        if a != b {
            return format!("line {}:\n   got: {a:?}\n  want: {b:?}", i + 1);
        }
    }
    "differs".into()
}
