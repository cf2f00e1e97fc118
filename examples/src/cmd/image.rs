//! `gitops image scan`: list a registry repository's tags the way Flux's
//! ImageRepository does, then optionally select one with an ImagePolicy.
//!
//! ```text
//! gitops image scan ghcr.io/stefanprodan/podinfo
//! gitops image scan localhost:5000/team/app --exclude '^dev-' --semver '>=1.0.0 <2'
//! gitops image scan ghcr.io/org/app --policy imagepolicy.yaml --explain
//! gitops image scan ghcr.io/org/app --semver '~1.4' --digest -o json
//! ```
//!
//! Credentials come from Docker's config.json (`$DOCKER_CONFIG` or
//! `~/.docker/config.json`, or `--docker-config`), or `--username` with the
//! password in `GITOPS_REGISTRY_PASSWORD`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use gitops_core::ImageRef;
use gitops_image::{Exclusions, Policy};
use gitops_source::registry::{Client, Credentials, Keychain, Options};

use crate::output::OutputFormat;

/// `gitops image` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ImageCmd {
    /// List the tags of REGISTRY/REPO (all pages), apply the exclusion list,
    /// and with a policy print the selected tag.
    Scan(ScanArgs),
}

/// Flags of `gitops image scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Image repository, e.g. ghcr.io/org/app (a tag or digest is ignored).
    #[arg(value_name = "REGISTRY/REPO")]
    image: String,
    #[command(flatten)]
    rule: crate::cmd::policy::PolicyFlags,
    /// Show, tag by tag, why each tag was or was not selected.
    #[arg(long)]
    explain: bool,
    /// Also look up the digest of the selected tag (digestReflectionPolicy Always).
    #[arg(long)]
    digest: bool,
    /// Docker config.json with registry credentials.
    #[arg(long, visible_alias = "registry-config", value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// User name for basic auth; the password is read from GITOPS_REGISTRY_PASSWORD.
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Allow plain HTTP to a non-loopback registry.
    #[arg(long)]
    insecure: bool,
    /// Timeout per request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Run a `gitops image` subcommand.
pub fn run(cmd: ImageCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCmd::Scan(args) => scan(&args, out),
    }
}

/// The keychain from `--docker-config`/`--username` or Docker's defaults.
pub fn keychain(
    docker_config: Option<&Path>,
    username: Option<&str>,
    host: Option<&str>,
) -> anyhow::Result<Keychain> {
    let mut keychain = match docker_config {
        Some(p) => Keychain::from_docker_config_file(p)?,
        None => Keychain::from_default_docker_config()?,
    };
    if let Some(user) = username {
        let password = std::env::var("GITOPS_REGISTRY_PASSWORD")
            .context("--username needs the password in GITOPS_REGISTRY_PASSWORD")?;
        let creds = Credentials::basic(user, &password);
        keychain = match host {
            Some(h) => keychain.with(h, creds),
            None => Keychain::with_default(creds),
        };
    }
    Ok(keychain)
}

fn scan(args: &ScanArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let image = ImageRef::parse(&args.image)?.without_tag_and_digest();
    let (policy, exclusions) = build_policy(args)?;
    let host = image.registry().unwrap_or("docker.io").to_owned();
    let keychain = keychain(
        args.docker_config.as_deref(),
        args.username.as_deref(),
        Some(&host),
    )?;
    let options = Options::default()
        .with_insecure(args.insecure)
        .with_timeout(Duration::from_secs(args.timeout));
    let client = Client::new(keychain, options)?;
    let now = SystemTime::now();
    let result = client
        .scan_excluding(&image, &exclusions, now)
        .with_context(|| format!("cannot scan {}", image.name()))?;
    let scan_time = unix_seconds(now);
    let Some(policy) = policy else {
        match args.output {
            OutputFormat::Text => {
                for t in &result.tags {
                    writeln!(out, "{t}")?;
                }
            }
            OutputFormat::Json => {
                let doc = serde_json::json!({
                    "canonicalImageName": result.canonical_image_name,
                    "lastScanResult": {
                        "tagCount": result.tag_count,
                        "scanTime": scan_time,
                        "latestTags": result.latest_tags,
                    },
                    "excluded": result.excluded,
                    "tags": result.tags,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.explain {
        // The scan already dropped excluded tags; explain with no exclusions.
        let report = policy.explain(&result.tags, &Exclusions::none());
        match args.output {
            OutputFormat::Text => writeln!(out, "{report}")?,
            OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        }
        return Ok(if report.winner.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let tag = policy
        .select(&result.tags)
        .with_context(|| format!("no tag of {} selected by {policy}", image.name()))?;
    let digest = if args.digest {
        Some(client.manifest_digest(&image, tag)?)
    } else {
        None
    };
    match args.output {
        OutputFormat::Text => match &digest {
            Some(d) => writeln!(out, "{}:{tag}@{d}", image.name())?,
            None => writeln!(out, "{}:{tag}", image.name())?,
        },
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "canonicalImageName": result.canonical_image_name,
                "tagCount": result.tag_count,
                "scanTime": scan_time,
                "latestImage": format!("{}:{tag}", image.name()),
                "tag": tag,
                "digest": digest.map(|d| d.to_string()),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The policy from the flags (none: list tags only) and the exclusion list.
fn build_policy(args: &ScanArgs) -> anyhow::Result<(Option<Policy>, Exclusions)> {
    if args.explain && !args.rule.has_rule() {
        bail!("--explain needs a policy: --semver, --alphabetical, --numerical or --policy");
    }
    args.rule.build()
}
