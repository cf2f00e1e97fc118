//! `gitops setters`: find and rewrite Flux image setter markers.
//!
//! - `gitops setters scan DIR` lists the `$imagepolicy` markers (and warnings).
//! - `gitops setters apply DIR --policy ns:name=IMAGE:TAG[@DIGEST]…` rewrites
//!   the marked scalars atomically; `--dry-run` prints a unified diff instead.
//! - `gitops setters v1 DIR --tags IMAGE=tags.txt…` runs Flux v1 workload
//!   automation (`fluxcd.io/automated`) with tag lists from files.
//!
//! Warnings go to stderr as `warning: file:line: message`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gitops_core::fs::{OsTree, RelPath};
use gitops_core::{ImageRef, Tag};
use gitops_image::v1::{TagInfo, TagPattern};
use gitops_setters::message::{self, AutomationObject, TemplateData};
use gitops_setters::v1::{self, TagChooser};
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

/// Tags of each image, read from `--tags IMAGE=FILE`.
#[derive(Debug, Default)]
pub(crate) struct TagTable {
    /// Image name (as written and normalised) → (tag, created).
    images: HashMap<String, Vec<(String, Option<SystemTime>)>>,
}

impl TagTable {
    /// The `(tag, created)` list given for `image`, by name as written or
    /// normalised.
    pub(crate) fn tags_of(&self, image: &ImageRef) -> Option<&[(String, Option<SystemTime>)]> {
        self.images
            .get(image.name())
            .or_else(|| self.images.get(&image.normalized_name()))
            .map(Vec::as_slice)
    }
}

/// Why no tag could be chosen for a container.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChooseError {
    #[error("no --tags list for image {0}")]
    NoTags(String),
    #[error(
        "the current image {0} has no creation time in its tag list, so a time-ordered filter cannot compare it"
    )]
    CurrentUndated(String),
    #[error(transparent)]
    Pattern(#[from] gitops_image::v1::Error),
    #[error(transparent)]
    Tag(#[from] gitops_core::image_ref::Error),
}

impl TagChooser for TagTable {
    type Error = ChooseError;

    fn choose(&self, image: &ImageRef, filter: &str) -> Result<Option<Tag>, ChooseError> {
        let list = self
            .images
            .get(image.name())
            .or_else(|| self.images.get(&image.normalized_name()))
            .ok_or_else(|| ChooseError::NoTags(image.name().to_owned()))?;
        let pattern = TagPattern::parse(filter)?;
        let infos: Vec<TagInfo<'_>> = list
            .iter()
            .map(|(t, c)| TagInfo::new(t.as_str(), *c))
            .collect();
        let latest = pattern.latest(&infos)?;
        let current = image.tag().map(Tag::as_str);
        if current == Some(latest.tag) {
            return Ok(None);
        }
        if pattern.requires_timestamp() {
            let current_created = list
                .iter()
                .find(|(t, _)| Some(t.as_str()) == current)
                .and_then(|(_, c)| *c);
            if current_created.is_none() {
                return Err(ChooseError::CurrentUndated(image.to_string()));
            }
        }
        Ok(Some(Tag::parse(latest.tag)?))
    }
}

/// Parse `2024-05-01T10:00:00Z` / `2024-05-01T10:00:00.5+02:00` or Unix seconds.
fn parse_time(s: &str) -> Option<SystemTime> {
    if let Ok(secs) = s.parse::<u64>() {
        return Some(UNIX_EPOCH + Duration::from_secs(secs));
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (
                rest.get(1..3)?.parse::<i64>().ok()?,
                rest.get(4..6)?.parse::<i64>().ok()?,
            );
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

pub(crate) fn load_tags(specs: &[String]) -> anyhow::Result<TagTable> {
    let mut table = TagTable::default();
    for spec in specs {
        let (image, file) = spec
            .split_once('=')
            .with_context(|| format!("invalid --tags {spec:?}: expected IMAGE=FILE"))?;
        let name = ImageRef::from_name(image)
            .with_context(|| format!("invalid --tags {spec:?}: bad image name"))?;
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read tag list {file}"))?;
        let mut tags = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let tag = parts.next().unwrap_or_default().to_owned();
            let created = match parts.next() {
                None => None,
                Some(t) => Some(parse_time(t).with_context(|| {
                    format!(
                        "{file}:{}: invalid creation time {t:?}: expected RFC 3339 or Unix seconds",
                        i + 1
                    )
                })?),
            };
            tags.push((tag, created));
        }
        table
            .images
            .entry(name.normalized_name())
            .or_default()
            .extend(tags.iter().cloned());
        table
            .images
            .entry(name.name().to_owned())
            .or_default()
            .extend(tags);
    }
    Ok(table)
}

fn v1_cmd(a: &V1Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let table = load_tags(&a.tags)?;
    let (report, diffs) = run_update(&a.dir, a.dry_run, !a.no_fsync, &mut |tree, on_change| {
        v1::update_tree(tree, &RelPath::root(), &table, on_change)
    })?;
    print_report(out, a.output, &report, &diffs, None, a.dry_run)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = |s| {
            parse_time(s)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        assert_eq!(t("0"), Some(0));
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(t("2024-05-01T10:00:00Z"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01T12:00:00.123+02:00"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01"), None);
        assert_eq!(t("yesterday"), None);
    }
}
