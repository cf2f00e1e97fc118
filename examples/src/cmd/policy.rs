//! `gitops policy`: select image tags with Flux ImagePolicy rules.
//!
//! ```text
//! gitops policy select  --semver '>=1.0.0 <2' --tags-file tags.txt
//! gitops policy select  --numerical asc --filter '^main-[a-f0-9]+-(?P<ts>\d+)' --extract '$ts' --tags-file -
//! gitops policy explain --policy imagepolicy.yaml --tags-file tags.txt -o json
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
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
    let tags = tags_of(&text, &args.tags_file)?;
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
    let tags = tags_of(&text, &args.tags_file)?;
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

/// The tags file (or stdin) as bytes, read in one piece.
fn read_tags(path: &Path) -> anyhow::Result<Vec<u8>> {
    if is_stdin(path) {
        let mut text = Vec::new();
        std::io::stdin()
            .read_to_end(&mut text)
            .context("cannot read tags from stdin")?;
        Ok(text)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read tags from {}", path.display()))
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The tags of `text`, borrowed from it: one per line, trimmed, empty
/// lines skipped; the text must be UTF-8.
fn tags_of<'t>(text: &'t [u8], path: &Path) -> anyhow::Result<Vec<&'t str>> {
    split_tags(text).with_context(|| {
        if is_stdin(path) {
            "cannot read tags from stdin".to_owned()
        } else {
            format!("cannot read tags from {}", path.display())
        }
    })
}

/// Texts at least this long are checked and split on all cores.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// One tag per line (`\n`; a `\r` before it is trimmed with the other
/// white space), trimmed, empty lines skipped. Large texts are cut at line
/// ends into one slice per core, each checked as UTF-8 and split on its
/// own thread, and the tags joined in order.
fn split_tags(text: &[u8]) -> Result<Vec<&str>, std::str::Utf8Error> {
    let parts = if text.len() >= PARALLEL_MIN_BYTES {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        1
    };
    let mut cuts = vec![0];
    for k in 1..parts {
        let from = (text.len() / parts * k).max(cuts[cuts.len() - 1]);
        let at = text[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(text.len(), |p| from + p + 1);
        cuts.push(at);
    }
    cuts.push(text.len());
    let slices: Vec<&[u8]> = cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect();
    if slices.len() == 1 {
        return split_lines(text);
    }
    let mut split = std::thread::scope(|s| {
        let rest: Vec<_> = slices[1..]
            .iter()
            .map(|&c| s.spawn(move || split_lines(c)))
            .collect();
        let mut out = vec![split_lines(slices[0])];
        for h in rest {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
    .into_iter();
    let mut tags = split.next().unwrap_or(Ok(Vec::new()))?;
    for more in split {
        tags.extend_from_slice(&more?);
    }
    Ok(tags)
}

/// [`split_tags`] on one slice that ends at a line end (or the text end).
fn split_lines<'c>(chunk: &'c [u8]) -> Result<Vec<&'c str>, std::str::Utf8Error> {
    let text = std::str::from_utf8(chunk)?;
    // Tags are rarely shorter than 7 bytes; unused capacity is never touched.
    let mut tags = Vec::with_capacity(chunk.len() / 8 + 1);
    let mut push = |line: &'c str| {
        let b = line.as_bytes();
        match (b.first(), b.last()) {
            // Printable ASCII at both ends: nothing to trim.
            (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => tags.push(line),
            _ => {
                let t = line.trim();
                if !t.is_empty() {
                    tags.push(t);
                }
            }
        }
    };
    let b = text.as_bytes();
    let mut start = 0;
    let mut base = 0;
    // Newlines found 16 bytes at a time as a bit mask.
    for block in b.chunks_exact(16) {
        let mut mask: u32 = 0;
        for (j, &c) in block.iter().enumerate() {
            mask |= u32::from(c == b'\n') << j;
        }
        while mask != 0 {
            let end = base + mask.trailing_zeros() as usize;
            push(&text[start..end]);
            start = end + 1;
            mask &= mask - 1;
        }
        base += 16;
    }
    for (j, &c) in b[base..].iter().enumerate() {
        if c == b'\n' {
            push(&text[start..base + j]);
            start = base + j + 1;
        }
    }
    push(&text[start..]);
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::{PARALLEL_MIN_BYTES, split_tags};

    /// What `split_tags` must return: `str::lines`, trimmed, no empties.
    fn reference(text: &str) -> Vec<&str> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Lines with every kind of edge: CR LF, Unicode and ASCII white space
    /// at either end, white-space-only lines, non-ASCII tags, lines longer
    /// than a block, and with and without a final newline; small texts and
    /// texts long enough to be split over threads.
    #[test]
    fn split_tags_is_lines_trimmed_without_empties() {
        let pieces = [
            "v1.2.3",
            "",
            " ",
            "\t1.0.0 ",
            "\r",
            "é-1",
            "a\u{a0}",
            "\u{2003}b",
            "x\r",
            "\u{1c}c",
            "0123456789abcdef0123",
            "main-20240101T000000-abcdef0",
            "\u{b}",
            "z\u{85}",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut text = String::new();
        let mut checked = 0;
        while text.len() < PARALLEL_MIN_BYTES * 3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(pieces[(x % pieces.len() as u64) as usize]);
            text.push_str(if x.is_multiple_of(11) { "\r\n" } else { "\n" });
            if text.len() < 3000 || x.is_multiple_of(200_000) {
                for t in [&text[..], &text[..text.len() - 1]] {
                    assert_eq!(split_tags(t.as_bytes()).unwrap(), reference(t));
                    checked += 1;
                }
            }
        }
        assert!(checked > 100);
        assert_eq!(split_tags(text.as_bytes()).unwrap(), reference(&text));
        text.push_str("last");
        assert_eq!(split_tags(text.as_bytes()).unwrap(), reference(&text));
        assert_eq!(split_tags(b"").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn split_tags_rejects_invalid_utf8_in_any_slice() {
        let mut text = "1.0.0\n".repeat(PARALLEL_MIN_BYTES / 2);
        text.push_str("tail\n");
        let mut bytes = text.into_bytes();
        let n = bytes.len();
        bytes[n - 3] = 0xff;
        assert!(split_tags(&bytes).is_err());
        bytes[n - 3] = b'i';
        bytes[1] = 0xc3;
        assert!(split_tags(&bytes).is_err());
    }
}
