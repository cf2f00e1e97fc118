//! Benches of the Helm chart renderer (`gitops_render::helm::chart`): the
//! `default` cases of podinfo, cert-manager and kube-prometheus-stack from
//! the conformance corpus (`$GITOPS_CONFORMANCE_DIR/helm-charts`, default
//! `../shared/conformance/helm-charts`), each measured two ways:
//!
//! - `load+render`: chart files already in memory ([`MemTree`]), loaded,
//!   values coalesced, templates executed and printed as `helm template` does;
//! - `render`: the same from an already loaded chart.
//!
//! A chart whose vendored subcharts the corpus leaves out
//! (kube-prometheus-stack) is completed from the corpus's standalone charts
//! of the same name and version in a temporary copy (read into memory like
//! every chart, and removed when the bench ends). A case whose chart is
//! absent or does not render is skipped with a message; without the corpus
//! nothing runs. `tools/helm-vs-gitops.sh` times the `gitops helm template`
//! command against `helm template` on the same cases.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_core::fs::{FileTree, MemTree, OsTree, RelPath, walk_files};
use gitops_render::helm::chart::{self, RenderOptions, render_chart};
use gitops_render::helm::values;
use serde_json::{Map, Value};

#[path = "../../gitops-render/tests/helm_charts/vendored.rs"]
mod vendored;

use vendored::VendoredCharts;

const CASES: [&str; 3] = [
    "podinfo__podinfo__default",
    "cert-manager__cert-manager__default",
    "prometheus-community__kube-prometheus-stack__default",
];

fn corpus() -> Option<PathBuf> {
    let base = std::env::var_os("GITOPS_CONFORMANCE_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/conformance"
            ))
        },
        PathBuf::from,
    );
    let dir = base.join("helm-charts");
    dir.is_dir().then_some(dir)
}

/// A chart directory copied into memory.
fn load_tree(root: &Path) -> MemTree {
    let os = OsTree::new(root).expect("open chart");
    let mut mem = MemTree::new();
    for f in walk_files(&os, &RelPath::root()).expect("walk chart") {
        let bytes = os.read(&f).expect("read chart file");
        mem.insert(f.as_str(), bytes).expect("insert");
    }
    mem
}

/// The case's render options and merged values files.
fn case_inputs(base: &Path, id: &str) -> Option<(String, RenderOptions, Map<String, Value>)> {
    let text = std::fs::read_to_string(base.join("cases").join(id).join("args.json")).ok()?;
    let args: Value = serde_json::from_str(&text).ok()?;
    let s = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
    let mut opts = RenderOptions::new(&s("release"), &s("namespace"))
        .with_include_crds(args["include_crds"].as_bool().unwrap_or(false));
    if let Some(v) = args["kube_version"].as_str() {
        opts = opts.with_kube_version(v.to_owned());
    }
    let mut user = Map::new();
    for f in args["values"].as_array().map_or(&[][..], Vec::as_slice) {
        let text = std::fs::read_to_string(base.join(f.as_str()?)).ok()?;
        let m = values::read_values(&text, "values").ok()?;
        user = values::merge_maps(&user, &m);
    }
    Some((s("chart"), opts, user))
}

fn bench_helm(c: &mut Criterion) {
    let Some(base) = corpus() else {
        eprintln!(
            "helm bench: conformance corpus not found (set GITOPS_CONFORMANCE_DIR); nothing to run"
        );
        return;
    };
    let index: Value = match std::fs::read(base.join("index.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("helm bench: index.json: {e}; nothing to run");
            return;
        }
    };
    let mut charts = VendoredCharts::new(&base, &index);
    let mut group = c.benchmark_group("helm_template");
    group.sample_size(20);
    for id in CASES {
        let Some((chart, opts, user)) = case_inputs(&base, id) else {
            eprintln!("helm bench: {id}: case not found; skipped");
            continue;
        };
        let dir = match charts.chart_dir(&chart) {
            Ok(d) if d.is_dir() => d,
            Ok(d) => {
                eprintln!("helm bench: {id}: chart {} not found; skipped", d.display());
                continue;
            }
            Err(e) => {
                eprintln!("helm bench: {id}: assembling {chart}: {e}; skipped");
                continue;
            }
        };
        let tree = load_tree(&dir);
        let root = RelPath::root();
        match render_chart(&tree, &root, &user, &opts) {
            Ok(m) => eprintln!(
                "helm bench: {id}: {} bytes of output",
                m.to_helm_template(&opts).len()
            ),
            Err(e) => {
                eprintln!(
                    "helm bench: {id}: does not render ({}); skipped",
                    e.first_line()
                );
                continue;
            }
        }
        let short = id.split("__").nth(1).unwrap_or(id);
        group.bench_function(format!("{short}/load+render"), |b| {
            b.iter(|| {
                let m = render_chart(&tree, &root, &user, &opts).expect("render");
                black_box(m.to_helm_template(&opts))
            });
        });
        let loaded = chart::load(&tree, &root).expect("load");
        group.bench_function(format!("{short}/render"), |b| {
            b.iter(|| {
                let m = chart::render_loaded(&loaded, &user, &opts).expect("render");
                black_box(m.to_helm_template(&opts))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_helm);
criterion_main!(benches);
