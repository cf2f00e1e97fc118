//! `helm template` on the command line, for timing and memory comparisons
//! with Helm: `helm_template RELEASE CHART [--namespace NS] [-f VALUES]…
//! [--kube-version V] [--include-crds] [--repeat N]`, paths relative to the
//! working directory. Prints what `helm template` prints.

use std::io::Write;

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::helm::chart::{RenderOptions, load_values, render_chart};
use gitops_render::helm::values::merge_maps;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let (mut ns, mut kube, mut crds, mut repeat) = ("default".to_string(), None, false, 1usize);
    let mut files = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--namespace" | "-n" => {
                i += 1;
                ns = args[i].clone();
            }
            "-f" | "--values" => {
                i += 1;
                files.push(args[i].clone());
            }
            "--kube-version" => {
                i += 1;
                kube = Some(args[i].clone());
            }
            "--repeat" => {
                i += 1;
                repeat = args[i].parse()?;
            }
            "--include-crds" => crds = true,
            "template" => {}
            other => pos.push(other.to_string()),
        }
        i += 1;
    }
    let [release, chart] = pos.as_slice() else {
        return Err("usage: helm_template RELEASE CHART [flags]".into());
    };
    let tree = OsTree::new(std::env::current_dir()?)?;
    let mut out = String::new();
    for _ in 0..repeat {
        let mut values = serde_json::Map::new();
        for f in &files {
            let m = load_values(&std::fs::read_to_string(f)?)?;
            values = merge_maps(&values, &m);
        }
        let mut opts = RenderOptions::new(release, &ns).with_include_crds(crds);
        if let Some(k) = &kube {
            opts = opts.with_kube_version(k.as_str());
        }
        let manifest = render_chart(&tree, &RelPath::new(chart.as_str())?, &values, &opts)?;
        out = manifest.to_helm_template(&opts);
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
