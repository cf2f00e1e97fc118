//! Benches of gitops-render: a full kustomize build of the overlays that
//! `tools/gen_overlay.py` generates (100, 1,000 and 10,000 resources, and
//! 100,000 with `GITOPS_BENCH_100K=1`: about a minute), in memory, and one
//! side-by-side timing against `kubectl kustomize` when it is installed.
//!
//! Inputs: `GITOPS_RENDER_OVERLAYS=DIR` with pre-generated `DIR/100`,
//! `DIR/1000` and `DIR/10000` trees, or else `gen_overlay.py` from `GITOPS_TOOLS` (default
//! `../../shared/tools`) run with `python3`. Without either, nothing runs.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_core::fs::{FileTree, MemTree, OsTree, RelPath, walk_files};
use gitops_core::yaml::{Budget, BudgetLimits};
use gitops_render::{Options, render};

/// Overlay sizes and criterion sample counts (fewer for the big ones).
const SIZES: [(usize, usize); 4] = [(100, 50), (1000, 20), (10000, 10), (100000, 10)];

fn overlay_root(size: usize) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GITOPS_RENDER_OVERLAYS") {
        let p = PathBuf::from(dir).join(size.to_string());
        return p.is_dir().then_some(p);
    }
    let tools = std::env::var_os("GITOPS_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/tools"))
        });
    let script = tools.join("gen_overlay.py");
    if !script.is_file() {
        return None;
    }
    let out =
        std::env::temp_dir().join(format!("gitops-render-bench-{}-{size}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let ok = Command::new("python3")
        .arg(&script)
        .arg(size.to_string())
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(out)
}

fn load(root: &Path) -> MemTree {
    let os = OsTree::new(root).expect("open overlay tree");
    let mut mem = MemTree::new();
    for f in walk_files(&os, &RelPath::root()).expect("walk overlay tree") {
        let bytes = os.read(&f).expect("read overlay file");
        mem.insert(f.as_str(), bytes).expect("insert");
    }
    mem
}

fn kubectl() -> Option<PathBuf> {
    let dir = std::env::var_os("GITOPS_ORACLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gitops-oracles"))
        })?;
    let k = dir.join("kubectl");
    k.is_file().then_some(k)
}

fn render_overlays(c: &mut Criterion) {
    let dir = RelPath::new("overlays/prod").expect("relpath");
    // 100,000 resources hold about 6.5 million YAML nodes, above the
    // default per-run budget (as `gitops build --max-yaml-nodes 8000000`);
    // a budget counts one run, so each build gets a fresh one.
    let build = |tree: &MemTree, size: usize| {
        let large = Budget::new(BudgetLimits {
            max_nodes: 8_000_000,
            ..BudgetLimits::default()
        });
        let options = Options {
            budget: (size > 10000).then_some(&large),
            ..Options::default()
        };
        render(tree, &dir, &options)
    };
    for (size, samples) in SIZES {
        if size > 10000 && std::env::var_os("GITOPS_BENCH_100K").is_none() {
            continue;
        }
        let Some(root) = overlay_root(size) else {
            eprintln!("render bench did not run: no gen_overlay.py and no GITOPS_RENDER_OVERLAYS");
            return;
        };
        let tree = load(&root);
        // Side by side, once: our build vs `kubectl kustomize` (which also reads disk).
        let t = Instant::now();
        let ours = build(&tree, size).expect("render overlay");
        let ours_time = t.elapsed();
        // kubectl is quadratic (about 13 s CPU at 1,000 resources): compare
        // up to 1,000 only.
        if let Some(k) = kubectl().filter(|_| size <= 1000) {
            let t = Instant::now();
            let out = Command::new(&k)
                .arg("kustomize")
                .arg(root.join("overlays/prod"))
                .output();
            let theirs_time = t.elapsed();
            let same = out.as_ref().is_ok_and(|o| o.stdout == ours.as_bytes());
            eprintln!(
                "render/overlay_{size}: gitops-render {ours_time:?}, kubectl kustomize {theirs_time:?} (identical output: {same})"
            );
        }
        let mut group = c.benchmark_group("render");
        group.sample_size(samples);
        group.bench_function(format!("overlay_{size}"), |b| {
            b.iter(|| black_box(build(&tree, size).map(|s| s.len()).ok()))
        });
        group.finish();
        if std::env::var_os("GITOPS_RENDER_OVERLAYS").is_none() {
            let _ = std::fs::remove_dir_all(&root);
        }
    }
}

criterion_group!(benches, render_overlays);
criterion_main!(benches);
