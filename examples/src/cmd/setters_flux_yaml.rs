//! `gitops setters flux-yaml DIR`: Flux v1 `.flux.yaml` manifest generation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gitops_automate::flux_yaml::{self, Mode, Runner, Shell};
use gitops_core::fs::{FileTree as _, OsTree, RelPath, atomic};

use super::setters::load_tags;
use crate::output::OutputFormat;

/// Arguments of `gitops setters flux-yaml`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Generators `kustomize build .` and `kubectl kustomize .` are served \
by gitops' own kustomize build; any other command (and every commandUpdated updater) runs \
with `/bin/sh -c` only when --allow-commands is given."
)]
pub struct FluxYamlArgs {
    /// The directory holding `.flux.yaml` (the generators' working directory).
    pub dir: PathBuf,
    /// The repository root; paths (kustomize bases, the patch file) must stay
    /// inside it. Defaults to DIR.
    #[arg(long, value_name = "ROOT")]
    pub root: Option<PathBuf>,
    /// Tags available for an image, `IMAGE=FILE` (repeatable), as for
    /// `gitops setters v1`.
    #[arg(long = "tags", value_name = "IMAGE=FILE")]
    pub tags: Vec<String>,
    /// Allow running the commands of `.flux.yaml` (they come from the repository).
    #[arg(long)]
    pub allow_commands: bool,
    /// Show what would change (patch diff, or the updates); write and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Run `gitops setters flux-yaml`.
pub fn run(a: &FluxYamlArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let tags = load_tags(&a.tags)?;
    let table = tags.chooser();
    let root = a.root.clone().unwrap_or_else(|| a.dir.clone());
    let tree = OsTree::new(&root).with_context(|| format!("opening {}", root.display()))?;
    let dir = relative_dir(tree.root(), &a.dir)?;
    let shell = Shell {
        root: tree.root().to_path_buf(),
    };
    let runner: Option<&dyn Runner> = if a.allow_commands { Some(&shell) } else { None };
    match flux_yaml::read_config(&tree, &dir)? {
        Mode::PatchUpdated { .. } => {
            let plan = flux_yaml::plan_patch_updated(&tree, &dir, &table, runner)?;
            for w in &plan.warnings {
                eprintln!("warning: {w}");
            }
            let mut diff = String::new();
            if let Some(new) = &plan.new_patch {
                let old = tree
                    .read(&plan.patch_file)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if a.dry_run {
                    diff = similar::TextDiff::from_lines(&old, new)
                        .unified_diff()
                        .header(plan.patch_file.as_str(), plan.patch_file.as_str())
                        .to_string();
                } else {
                    atomic::write_beneath(tree.root(), &plan.patch_file, new.as_bytes())
                        .with_context(|| format!("writing {}", plan.patch_file))?;
                }
            }
            match a.output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&plan)?)?,
                OutputFormat::Text => {
                    for u in &plan.updates {
                        writeln!(
                            out,
                            "{} {}: {} -> {}",
                            u.id, u.container, u.old_image, u.new_image
                        )?;
                    }
                    if plan.new_patch.is_some() {
                        let verb = if a.dry_run { "would update" } else { "updated" };
                        writeln!(out, "{verb} {}", plan.patch_file.as_str())?;
                    } else {
                        writeln!(out, "up to date")?;
                    }
                    out.write_all(diff.as_bytes())?;
                }
            }
        }
        Mode::CommandUpdated { .. } => {
            if !a.allow_commands {
                bail!(
                    "{}: commandUpdated runs commands from the repository; pass --allow-commands",
                    dir_config(&dir)
                );
            }
            let report = flux_yaml::run_command_updated(&tree, &dir, &table, &shell, a.dry_run)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            match a.output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&report)?)?,
                OutputFormat::Text => {
                    for u in &report.updates {
                        writeln!(
                            out,
                            "{} {}: {} -> {}",
                            u.id, u.container, u.old_image, u.new_image
                        )?;
                    }
                    if report.updates.is_empty() {
                        writeln!(out, "up to date")?;
                    }
                }
            }
        }
        Mode::ScanForFiles => {
            bail!(
                "{}: scanForFiles: the directory holds plain manifests; use `gitops setters v1`",
                dir_config(&dir)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dir_config(dir: &RelPath) -> String {
    if dir.is_root() {
        flux_yaml::CONFIG_FILE.to_owned()
    } else {
        format!("{}/{}", dir.as_str(), flux_yaml::CONFIG_FILE)
    }
}

/// DIR relative to the (canonical) root; refused when outside it.
fn relative_dir(root: &Path, dir: &Path) -> anyhow::Result<RelPath> {
    let real = dir
        .canonicalize()
        .with_context(|| format!("opening {}", dir.display()))?;
    let rel = real
        .strip_prefix(root)
        .with_context(|| format!("{} is not inside {}", dir.display(), root.display()))?;
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        Ok(RelPath::root())
    } else {
        Ok(RelPath::new(&s)?)
    }
}
