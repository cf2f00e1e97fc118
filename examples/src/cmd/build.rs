//! `gitops build DIR`: a kustomize build like `kubectl kustomize`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gitops_core::fs::{OsTree, RelPath};
use gitops_render::{Options, Reorder};

/// Output order of `gitops build`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReorderArg {
    /// kustomize's legacy kind order (kubectl's default).
    #[default]
    Legacy,
    /// Keep the order resources were loaded in.
    None,
}

/// Flags of `gitops build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kustomization directory.
    #[arg(required_unless_present = "flux")]
    dir: Option<PathBuf>,
    /// Output order (a kustomization's `sortOptions` win).
    #[arg(long, value_enum, default_value_t)]
    reorder: ReorderArg,
    /// Write the manifests to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Build a Flux Kustomization instead (`--flux KS.yaml --source DIR`).
    #[command(flatten)]
    flux: crate::cmd::flux_build::FluxArgs,
}

/// Build and print (or write) the manifests.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let Some(arg_dir) = args.dir.as_ref().filter(|_| args.flux.flux.is_none()) else {
        return crate::cmd::flux_build::run_flux(&args.flux, out);
    };
    let dir = std::fs::canonicalize(arg_dir)
        .with_context(|| format!("{}: cannot open directory", arg_dir.display()))?;
    // Bases may live anywhere above the kustomization (`../base`), so the
    // tree is rooted at the filesystem root; files of each kustomization are
    // still confined to its own directory (kustomize's rootOnly restrictor).
    let root = dir
        .ancestors()
        .last()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    let rel = dir.strip_prefix(&root).unwrap_or(&dir);
    let rel = RelPath::new(&rel.to_string_lossy().replace('\\', "/"))
        .with_context(|| format!("{}: not a usable path", dir.display()))?;
    let tree = OsTree::new(&root).with_context(|| format!("{}: cannot open", root.display()))?;
    let options = Options {
        reorder: match args.reorder {
            ReorderArg::Legacy => Reorder::Legacy,
            ReorderArg::None => Reorder::None,
        },
        ..Options::default()
    };
    let yaml = gitops_render::render(&tree, &rel, &options)
        .with_context(|| format!("building {}", arg_dir.display()))?;
    match &args.output {
        Some(path) => std::fs::write(path, yaml)
            .with_context(|| format!("{}: cannot write", path.display()))?,
        None => out.write_all(yaml.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
