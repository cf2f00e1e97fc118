//! `gitops setters`: find and rewrite Flux image setter markers.
//!
//! - `gitops setters scan DIR` lists the `$imagepolicy` markers (and warnings).
//! - `gitops setters apply DIR --policy ns:name=IMAGE:TAG[@DIGEST]…` rewrites
//!   the marked scalars atomically; `--dry-run` prints a unified diff instead.
//! - `gitops setters v1 DIR --tags IMAGE=tags.txt…` runs Flux v1 workload
//!   automation (`fluxcd.io/automated`) with tag lists from files.
//!
//! Warnings go to stderr as `warning: file:line: message`.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gitops_automate::RegistryChooser;
use gitops_core::ImageRef;
use gitops_core::fs::{OsTree, RelPath};
use gitops_core::registry::{MemRegistry, TagInfo, TagLister};
use gitops_setters::message::{self, AutomationObject, TemplateData};
use gitops_setters::v1;
use gitops_setters::{Policies, Report, Warning, apply};

use crate::cmd::yaml_budget::{BudgetArgs, hint_in_chain};
use crate::output::OutputFormat;

/// Find and rewrite Flux image setter markers.
#[derive(Debug, clap::Subcommand)]
pub enum SettersCmd {
    /// List the setter markers under DIR.
    Scan(ScanArgs),
    /// Rewrite marked scalars with the latest image of each policy.
    Apply(ApplyArgs),
    /// Flux v1: update workloads annotated `fluxcd.io/automated: "true"`.
    V1(V1Args),
    /// Flux v1 `.flux.yaml`: generate, patch and write image updates into
    /// the patch file (`patchUpdated`), or run updater commands
    /// (`commandUpdated`, only with --allow-commands).
    #[command(name = "flux-yaml")]
    FluxYaml(super::setters_flux_yaml::FluxYamlArgs),
}

/// Arguments of `gitops setters scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The directory to scan (symlinks are not followed).
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
    /// The YAML budget of each file (the scan keeps nothing of a file but
    /// its markers, so each file is bounded on its own).
    #[command(flatten)]
    pub yaml: BudgetArgs,
}

/// Arguments of `gitops setters apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The directory to update (symlinks are not followed; writes are atomic).
    pub dir: PathBuf,
    /// The latest image of a policy, `NAMESPACE:NAME=IMAGE[:TAG][@DIGEST]` (repeatable).
    #[arg(
        long = "policy",
        value_name = "NS:NAME=IMAGE:TAG[@DIGEST]",
        required = true
    )]
    pub policies: Vec<String>,
    /// Print a unified diff of what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not flush the rewritten files to disk before returning (by
    /// default: one `syncfs` before the renames and one after; without it
    /// the kernel writes them later, as after `sed -i`; not durable across
    /// a crash).
    #[arg(long)]
    pub no_fsync: bool,
    /// Print a commit message rendered from this MiniJinja template (`-` for
    /// Flux's default message).
    #[arg(long, value_name = "TEMPLATE", allow_hyphen_values = true)]
    pub message: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
    /// The YAML budget of each file (bounded on its own, as for `scan`).
    #[command(flatten)]
    pub yaml: BudgetArgs,
}

/// Arguments of `gitops setters v1`.
#[derive(Debug, clap::Args)]
pub struct V1Args {
    /// The directory to update.
    pub dir: PathBuf,
    /// Tags available for an image, `IMAGE=FILE` (repeatable). Each line of
    /// FILE is `TAG [CREATED]`, CREATED in RFC 3339 (`2024-05-01T10:00:00Z`)
    /// or Unix seconds; `#` starts a comment.
    #[arg(long = "tags", value_name = "IMAGE=FILE")]
    pub tags: Vec<String>,
    /// Print a unified diff of what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip `fsync` of each rewritten file (faster for large rewrites; not
    /// durable across a crash).
    #[arg(long)]
    pub no_fsync: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Run a `setters` subcommand, writing its result to `out`.
pub fn run(cmd: SettersCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        SettersCmd::Scan(a) => scan(&a, out),
        SettersCmd::Apply(a) => apply_cmd(&a, out),
        SettersCmd::V1(a) => v1_cmd(&a, out),
        SettersCmd::FluxYaml(a) => super::setters_flux_yaml::run(&a, out),
    }
}

fn open(dir: &Path) -> anyhow::Result<OsTree> {
    OsTree::new(dir).with_context(|| format!("cannot open {}", dir.display()))
}

fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn scan(a: &ScanArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let tree = open(&a.dir)?;
    let budget = a.yaml.per_file();
    let found = gitops_setters::scan_run(&tree, &RelPath::root(), &budget)
        .with_context(|| format!("cannot scan {}", a.dir.display()))
        .map_err(hint_in_chain)?;
    match a.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &found)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            print_warnings(&found.warnings);
            let rows: Vec<[String; 4]> = found
                .markers
                .iter()
                .map(|m| {
                    [
                        format!("{}:{}", m.file, m.line),
                        m.setter.to_string(),
                        m.value.clone(),
                        m.object.to_string(),
                    ]
                })
                .collect();
            table(out, ["LOCATION", "SETTER", "VALUE", "OBJECT"], &rows)?;
            writeln!(
                out,
                "{} markers in {} of {} files",
                found.markers.len(),
                found.files_parsed,
                found.files_scanned
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Print rows as aligned columns.
fn table<const N: usize>(
    out: &mut dyn Write,
    head: [&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut width = head.map(str::len);
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                let _ = write!(s, "{c:<w$}  ");
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(head))?;
    for r in rows {
        writeln!(out, "{}", line(std::array::from_fn(|i| r[i].as_str())))?;
    }
    Ok(())
}

/// Unified diff of one file, `a/…` → `b/…`.
fn diff(path: &RelPath, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Receives `(path, old, new)` for each changed file.
type OnChange<'a> =
    dyn FnMut(&RelPath, &str, &str) -> Result<(), gitops_core::fs::atomic::Error> + 'a;

/// Runs the library's tree update with an [`OnChange`] sink.
type Update<'a> = dyn FnMut(&OsTree, &mut OnChange<'_>) -> Result<Report, apply::Error> + 'a;

/// Run an update over the tree: dry-run collects diffs, otherwise writes atomically.
fn run_update(
    dir: &Path,
    dry_run: bool,
    fsync: bool,
    update: &mut Update<'_>,
) -> anyhow::Result<(Report, Vec<String>)> {
    let tree = open(dir)?;
    let mut diffs = Vec::new();
    let report = if dry_run {
        update(&tree, &mut |p, old, new| {
            diffs.push(diff(p, old, new));
            Ok(())
        })?
    } else {
        let ops = Box::new(gitops_core::fs::atomic::OsOps { fsync });
        let mut writer = gitops_core::fs::atomic::Writer::with_ops(tree.root(), ops)
            .with_context(|| format!("cannot write under {}", dir.display()))?;
        let report = update(&tree, &mut |p, _, new| writer.stage(p, new.as_bytes()))?;
        writer.commit()?;
        report
    };
    Ok((report, diffs))
}

fn print_report(
    out: &mut dyn Write,
    format: OutputFormat,
    report: &Report,
    diffs: &[String],
    message: Option<String>,
    dry_run: bool,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "dry_run": dry_run,
                "report": report,
                "diff": diffs.concat(),
                "message": message,
            });
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            print_warnings(&report.warnings);
            if dry_run {
                for d in diffs {
                    out.write_all(d.as_bytes())?;
                }
            } else {
                for c in &report.changes {
                    writeln!(
                        out,
                        "{}:{}: {} -> {} ({}, {})",
                        c.file, c.line, c.old_value, c.new_value, c.setter, c.object
                    )?;
                }
                writeln!(
                    out,
                    "{} changes in {} files ({} markers in {} files)",
                    report.changes.len(),
                    report.files_changed.len(),
                    report.markers,
                    report.files_parsed
                )?;
            }
            if let Some(m) = message {
                writeln!(out, "{m}")?;
            }
        }
    }
    Ok(())
}

fn apply_cmd(a: &ApplyArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut policies = Policies::new();
    for p in &a.policies {
        let (id, image) = Policies::parse_assignment(p)?;
        if let Some(prev) = policies.insert(id.clone(), image) {
            bail!("policy {id} is given twice (first as {prev})");
        }
    }
    let budget = a.yaml.per_file();
    let (report, diffs) = run_update(&a.dir, a.dry_run, !a.no_fsync, &mut |tree, on_change| {
        apply::apply_tree_run(tree, &RelPath::root(), &policies, &budget, on_change)
    })
    .map_err(hint_in_chain)?;
    let message = match a.message.as_deref() {
        None => None,
        Some(t) => {
            let data = TemplateData::new(&report, AutomationObject::default());
            Some(message::render(Some(t).filter(|t| *t != "-"), &data)?)
        }
    };
    print_report(out, a.output, &report, &diffs, message, a.dry_run)?;
    Ok(ExitCode::SUCCESS)
}

/// Tags of each image, read from `--tags IMAGE=FILE`: an in-memory registry
/// that a [`RegistryChooser`] asks, as it asks a real one.
#[derive(Debug, Default)]
pub(crate) struct TagFiles {
    /// Filed under the image name as given and as normalised.
    registry: MemRegistry,
}

/// A `--tags` lookup failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TagFilesError {
    #[error("no --tags list for image {0}")]
    NoTags(String),
    #[error("{0}")]
    Registry(#[from] gitops_core::registry::Error),
}

impl TagFiles {
    /// A Flux v1 tag chooser over these lists.
    pub(crate) fn chooser(&self) -> RegistryChooser<'_, TagFiles> {
        RegistryChooser::new(self)
    }

    /// `image` under the spelling its list is filed under.
    fn filed(&self, image: &ImageRef) -> Result<ImageRef, TagFilesError> {
        if self.registry.list_tags(image).is_ok() {
            return Ok(image.clone());
        }
        ImageRef::from_name(&image.normalized_name())
            .ok()
            .filter(|n| self.registry.list_tags(n).is_ok())
            .ok_or_else(|| TagFilesError::NoTags(image.name().to_owned()))
    }

    /// The `(tag, created)` list given for `image`, by name as written or
    /// normalised.
    pub(crate) fn tags_of(&self, image: &ImageRef) -> Vec<(String, Option<SystemTime>)> {
        let Ok(filed) = self.filed(image) else {
            return Vec::new();
        };
        self.registry
            .list_tags(&filed)
            .unwrap_or_default()
            .into_iter()
            .map(|tag| {
                let created = self
                    .registry
                    .tag_info(&filed, &tag)
                    .ok()
                    .and_then(|i| i.created)
                    .and_then(|secs| u64::try_from(secs).ok())
                    .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
                (tag, created)
            })
            .collect()
    }
}

impl TagLister for TagFiles {
    type Error = TagFilesError;

    fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, TagFilesError> {
        Ok(self.registry.list_tags(&self.filed(image)?)?)
    }

    fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, TagFilesError> {
        Ok(self.registry.tag_info(&self.filed(image)?, tag)?)
    }
}

/// `2024-05-01T10:00:00Z` / `2024-05-01T10:00:00.5+02:00` or Unix seconds.
fn parse_time(s: &str) -> Option<i64> {
    match s.parse::<u64>() {
        Ok(secs) => i64::try_from(secs).ok(),
        Err(_) => gitops_core::time::parse_rfc3339(s).filter(|secs| *secs >= 0),
    }
}

pub(crate) fn load_tags(specs: &[String]) -> anyhow::Result<TagFiles> {
    let mut files = TagFiles::default();
    for spec in specs {
        let (image, file) = spec
            .split_once('=')
            .with_context(|| format!("invalid --tags {spec:?}: expected IMAGE=FILE"))?;
        let name = ImageRef::from_name(image)
            .with_context(|| format!("invalid --tags {spec:?}: bad image name"))?;
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read tag list {file}"))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let tag = parts.next().unwrap_or_default();
            let created = match parts.next() {
                None => None,
                Some(t) => Some(parse_time(t).with_context(|| {
                    format!(
                        "{file}:{}: invalid creation time {t:?}: expected RFC 3339 or Unix seconds",
                        i + 1
                    )
                })?),
            };
            let normalized = name.normalized_name();
            files.registry.add(&normalized, tag, created);
            if name.name() != normalized {
                files.registry.add(name.name(), tag, created);
            }
        }
    }
    Ok(files)
}

fn v1_cmd(a: &V1Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let tags = load_tags(&a.tags)?;
    let chooser = tags.chooser();
    let (report, diffs) = run_update(&a.dir, a.dry_run, !a.no_fsync, &mut |tree, on_change| {
        v1::update_tree(tree, &RelPath::root(), &chooser, on_change)
    })?;
    print_report(out, a.output, &report, &diffs, None, a.dry_run)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = parse_time;
        assert_eq!(t("0"), Some(0));
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(t("2024-05-01T10:00:00Z"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01T12:00:00.123+02:00"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01"), None);
        assert_eq!(t("yesterday"), None);
    }
}
