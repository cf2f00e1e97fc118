//! `gitops policy`: select image tags with Flux ImagePolicy rules.
//!
//! ```text
//! gitops policy select  --semver '>=1.0.0 <2' --tags-file tags.txt
//! gitops policy select  --numerical asc --filter '^main-[a-f0-9]+-(?P<ts>\d+)' --extract '$ts' --tags-file -
//! gitops policy explain --policy imagepolicy.yaml --tags-file tags.txt -o json
//! ```

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gitops_core::flux::Object;
use gitops_image::{Exclusions, Order, Policy};

use crate::output::OutputFormat;

/// `gitops policy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCmd {
    /// Print the tag the policy selects.
    Select(Args),
    /// Show, tag by tag, why each tag was or was not selected.
    Explain(Args),
}

/// Flags shared by `select` and `explain`.
/// The flags that choose a policy, shared by `gitops policy` and `gitops image scan`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("rule").args(["semver", "alphabetical", "numerical", "policy"])))]
pub struct PolicyFlags {
    /// SemVer policy: a Masterminds range such as '>=1.0.0 <2' or '~1.4'.
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    semver: Option<String>,
    /// Alphabetical policy: asc (greatest wins) or desc.
    #[arg(long, value_name = "ORDER", value_parser = parse_order)]
    alphabetical: Option<Order>,
    /// Numerical policy: asc (largest wins) or desc.
    #[arg(long, value_name = "ORDER", value_parser = parse_order)]
    numerical: Option<Order>,
    /// Read the policy from an ImagePolicy YAML file (an ImageRepository in the
    /// same file supplies the exclusion list unless --exclude is given).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["filter", "extract"])]
    policy: Option<PathBuf>,
    /// filterTags pattern (Go RE2 syntax, unanchored).
    #[arg(long, value_name = "RE", allow_hyphen_values = true)]
    filter: Option<String>,
    /// filterTags extract template, e.g. '$ts' or '${1}'.
    #[arg(
        long,
        value_name = "TEMPLATE",
        requires = "filter",
        allow_hyphen_values = true
    )]
    extract: Option<String>,
    /// Exclusion pattern (repeatable); replaces the default '^.*\.sig$'.
    #[arg(
        long,
        value_name = "RE",
        conflicts_with = "no_exclusions",
        allow_hyphen_values = true
    )]
    exclude: Vec<String>,
    /// Apply no exclusion list at all.
    #[arg(long)]
    no_exclusions: bool,
}

impl PolicyFlags {
    /// Whether a rule (--semver, --alphabetical, --numerical, --policy) was given.
    pub fn has_rule(&self) -> bool {
        self.semver.is_some()
            || self.alphabetical.is_some()
            || self.numerical.is_some()
            || self.policy.is_some()
    }

    /// The policy the flags describe (`None` without a rule) and the
    /// exclusion list: --exclude / --no-exclusions, else a policy file's
    /// ImageRepository, else the default.
    pub fn build(&self) -> anyhow::Result<(Option<Policy>, Exclusions)> {
        let mut exclusions = Exclusions::default();
        let policy = if let Some(range) = &self.semver {
            Some(Policy::semver(range)?)
        } else if let Some(order) = self.alphabetical {
            Some(Policy::alphabetical(order))
        } else if let Some(order) = self.numerical {
            Some(Policy::numerical(order))
        } else if let Some(path) = &self.policy {
            let (policy, from_file) = read_policy_file(path)?;
            if let Some(ex) = from_file {
                exclusions = ex;
            }
            Some(policy)
        } else {
            if self.filter.is_some() {
                bail!("--filter needs a policy: --semver, --alphabetical, --numerical or --policy");
            }
            None
        };
        let policy = match (policy, &self.filter) {
            (Some(p), Some(pattern)) => {
                Some(p.with_filter_tags(pattern, self.extract.as_deref().unwrap_or(""))?)
            }
            (p, _) => p,
        };
        if self.no_exclusions {
            exclusions = Exclusions::none();
        } else if !self.exclude.is_empty() {
            exclusions = Exclusions::new(&self.exclude)?;
        }
        Ok((policy, exclusions))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rule: PolicyFlags,
    /// File with one tag per line ('-' for stdin).
    #[arg(long, value_name = "FILE")]
    tags_file: PathBuf,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Parse `asc`/`desc` for clap.
pub(crate) fn parse_order(s: &str) -> Result<Order, String> {
    Order::parse(s).map_err(|e| e.to_string())
}

/// Run a `gitops policy` subcommand.
pub fn run(cmd: PolicyCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCmd::Select(args) => select(&args, out),
        PolicyCmd::Explain(args) => explain(&args, out),
    }
}

fn select(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (policy, exclusions) = build(args)?;
    let text = read_tags(&args.tags_file)?;
    let tags = split_tags(&text);
    let index = policy
        .select_index(&tags, &exclusions)
        .with_context(|| format!("no tag selected by {policy}"))?;
    match args.output {
        OutputFormat::Text => writeln!(out, "{}", tags[index])?,
        OutputFormat::Json => {
            let doc = serde_json::json!({ "tag": tags[index], "index": index });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (policy, exclusions) = build(args)?;
    let text = read_tags(&args.tags_file)?;
    let tags = split_tags(&text);
    let report = policy.explain(&tags, &exclusions);
    match args.output {
        OutputFormat::Text => writeln!(out, "{report}")?,
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(if report.winner.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn build(args: &Args) -> anyhow::Result<(Policy, Exclusions)> {
    match args.rule.build()? {
        (Some(policy), exclusions) => Ok((policy, exclusions)),
        (None, _) => bail!("give one of --semver, --alphabetical, --numerical, --policy"),
    }
}

/// The first ImagePolicy of a YAML file, and the exclusion list of an
/// ImageRepository in the same file, if any.
/// Read the first ImagePolicy (and ImageRepository, for its exclusion list) of a YAML file.
pub(crate) fn read_policy_file(
    path: &std::path::Path,
) -> anyhow::Result<(Policy, Option<Exclusions>)> {
    let origin = path.display().to_string();
    let src = std::fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
    let docs = gitops_core::yaml::parse_documents(&src, &origin)?;
    let mut policy = None;
    let mut exclusions = None;
    for doc in &docs {
        match Object::from_node(&doc.root, &origin)? {
            Some(Object::ImagePolicy(p)) if policy.is_none() => {
                let built = Policy::from_spec(&p.spec).with_context(|| {
                    format!(
                        "ImagePolicy {} in {origin}",
                        p.metadata.name.as_deref().unwrap_or("<unnamed>")
                    )
                })?;
                policy = Some(built);
            }
            Some(Object::ImageRepository(r)) if exclusions.is_none() => {
                exclusions = Some(Exclusions::from_spec(&r.spec)?);
            }
            _ => {}
        }
    }
    match policy {
        Some(p) => Ok((p, exclusions)),
        None => bail!("{origin} holds no image.toolkit.fluxcd.io ImagePolicy"),
    }
}

fn read_tags(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read tags from stdin")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read tags from {}", path.display()))?;
    }
    Ok(text)
}

/// One tag per line, trimmed; empty lines skipped.
fn split_tags(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}
