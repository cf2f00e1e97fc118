//! `gitops build DIR`: a kustomize build like `kubectl kustomize`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gitops_core::fs::{OsTree, RelPath};
use gitops_render::{Options, Reorder};

use crate::cmd::yaml_budget::{BudgetArgs, hint};

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
    /// The directory no file of the build may come from outside of (bases
    /// included). Default: the Git work tree DIR is in, else the filesystem
    /// root. Each kustomization's files must in any case lie, symlinks
    /// resolved, in or below its own directory (kustomize's rootOnly).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write the manifests to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Build a Flux Kustomization instead (`--flux KS.yaml --source DIR`).
    #[command(flatten)]
    flux: crate::cmd::flux_build::FluxArgs,
    /// The YAML budget of the build (one for the whole kustomization tree).
    #[command(flatten)]
    yaml: BudgetArgs,
}

/// Build and print (or write) the manifests.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let budget = args.yaml.budget();
    gitops_render::budget::scope(&budget, || build(args, out)).map_err(|e| hint(e, &budget))
}

fn build(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let reorder = match args.reorder {
        ReorderArg::Legacy => Reorder::Legacy,
        ReorderArg::None => Reorder::None,
    };
    let Some(arg_dir) = args.dir.as_ref().filter(|_| args.flux.flux.is_none()) else {
        return crate::cmd::flux_build::run_flux(&args.flux, reorder, out);
    };
    let dir = std::fs::canonicalize(arg_dir)
        .with_context(|| format!("{}: cannot open directory", arg_dir.display()))?;
    let root = match &args.root {
        Some(r) => std::fs::canonicalize(r)
            .with_context(|| format!("{}: cannot open --root", r.display()))?,
        None => default_root(&dir),
    };
    let rel = dir.strip_prefix(&root).map_err(|_| {
        anyhow::anyhow!(
            "{} is not inside the root {}",
            dir.display(),
            root.display()
        )
    })?;
    let rel = RelPath::new(&rel.to_string_lossy().replace('\\', "/"))
        .with_context(|| format!("{}: not a usable path", dir.display()))?;
    let tree = OsTree::new(&root).with_context(|| format!("{}: cannot open", root.display()))?;
    let options = Options {
        reorder,
        ..Options::default()
    };
    let resources = gitops_render::build(&tree, &rel, &options).with_context(|| {
        format!(
            "building {} (nothing outside {} is read; --root sets that directory)",
            arg_dir.display(),
            root.display()
        )
    })?;
    // The documents are streamed out one by one (never one string of the
    // whole output); the file is created only once the build succeeded.
    match &args.output {
        Some(path) => {
            let write = || -> std::io::Result<()> {
                let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
                gitops_render::write_yaml(resources, &mut file)?;
                file.flush()
            };
            write().with_context(|| format!("{}: cannot write", path.display()))?
        }
        None => gitops_render::write_yaml(resources, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The top of the Git work tree `dir` is in (the nearest ancestor holding
/// `.git`), else the filesystem root: bases may live anywhere above a
/// kustomization (`../base`), as with `kubectl kustomize`, but a repository
/// is the natural fence.
fn default_root(dir: &std::path::Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .or_else(|| dir.ancestors().last())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}
