//! `gitops source oci` and `gitops source helm`: Flux OCI artifacts and Helm
//! repositories.
//!
//! ```text
//! gitops source oci push ./deploy oci://localhost:5000/manifests/app:v1.0.0 --source https://git.example/org/repo --revision main@sha1:0123…
//! gitops source oci pull oci://localhost:5000/manifests/app --semver '>=1.0.0' --dest ./out
//! gitops source oci pull oci://localhost:5000/manifests/app --digest sha256:0123… --copy --dest ./out
//! gitops source helm index https://stefanprodan.github.io/podinfo --chart podinfo --version '6.x' --download podinfo.tgz
//! gitops source helm index oci://ghcr.io/stefanprodan/charts --chart podinfo --version '*'
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use gitops_core::Digest;
use gitops_source::helm;
use gitops_source::oci::{self, LayerSelector, Metadata, OciRef, Operation, PullSpec, Reference};
use gitops_source::registry::{Client, Options};

use crate::cmd::image::keychain;
use crate::output::OutputFormat;

/// `gitops source oci` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OciCmd {
    /// Pack a directory and push it as a Flux OCI artifact.
    Push(PushArgs),
    /// Pull a Flux OCI artifact by tag, SemVer range or digest.
    Pull(PullArgs),
}

/// `gitops source helm` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HelmCmd {
    /// Read a repository index (or OCI tags), select a chart version and
    /// optionally download and verify the chart.
    // `--version` is the chart version (helm's flag), not gitops's own.
    #[command(disable_version_flag = true)]
    Index(IndexArgs),
}

/// Registry access flags shared by the commands.
#[derive(Debug, clap::Args)]
pub struct AccessArgs {
    /// Docker config.json with registry credentials.
    #[arg(long, visible_alias = "registry-config", value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// User name for basic auth; the password is read from GITOPS_REGISTRY_PASSWORD.
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Allow plain HTTP to non-loopback hosts.
    #[arg(long)]
    insecure: bool,
    /// Timeout per request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
}

impl AccessArgs {
    fn client(&self, host: Option<&str>) -> anyhow::Result<Client> {
        let keychain = keychain(
            self.docker_config.as_deref(),
            self.username.as_deref(),
            host,
        )?;
        let options = Options::default()
            .with_insecure(self.insecure)
            .with_timeout(Duration::from_secs(self.timeout));
        Ok(Client::new(keychain, options)?)
    }
}

/// Flags of `gitops source oci push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Directory to pack.
    dir: PathBuf,
    /// Target, oci://HOST/REPO:TAG.
    url: String,
    /// org.opencontainers.image.source annotation.
    #[arg(long, value_name = "URL", default_value = "")]
    source: String,
    /// org.opencontainers.image.revision annotation.
    #[arg(long, value_name = "REV", default_value = "")]
    revision: String,
    /// Extra .sourceignore pattern (repeatable).
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    ignore: Vec<String>,
    #[command(flatten)]
    access: AccessArgs,
}

/// Flags of `gitops source oci pull`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("ref").args(["tag", "semver", "digest"])))]
pub struct PullArgs {
    /// Source, oci://HOST/REPO (a :TAG suffix is used when no --tag/--semver/--digest).
    url: String,
    /// Tag to pull (default latest).
    #[arg(long, value_name = "T")]
    tag: Option<String>,
    /// Highest tag in a Masterminds SemVer range.
    #[arg(long, value_name = "R")]
    semver: Option<String>,
    /// Regex that tags must match before the SemVer range (semverFilter).
    #[arg(
        long,
        value_name = "RE",
        requires = "semver",
        allow_hyphen_values = true
    )]
    semver_filter: Option<String>,
    /// Manifest digest, `sha256:<hex>`.
    #[arg(long, value_name = "D")]
    digest: Option<String>,
    /// Layer media type to select (default: the first layer).
    #[arg(long, value_name = "TYPE")]
    media_type: Option<String>,
    /// Keep the layer as is instead of extracting it.
    #[arg(long)]
    copy: bool,
    /// Destination directory (extract) or file (copy).
    #[arg(long, value_name = "PATH")]
    dest: PathBuf,
    #[command(flatten)]
    access: AccessArgs,
}

/// Flags of `gitops source helm index`.
#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Repository URL (https://…, http://… or oci://HOST/PATH).
    url: String,
    /// Chart name.
    #[arg(long, value_name = "NAME")]
    chart: String,
    /// Version or Masterminds range (default '*', which excludes prereleases).
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "*",
        allow_hyphen_values = true
    )]
    version: String,
    /// Download the chart (digest verified) to this file.
    #[arg(long, value_name = "FILE")]
    download: Option<PathBuf>,
    /// Send the credentials to chart hosts other than the repository's (passCredentials).
    #[arg(long)]
    pass_credentials: bool,
    #[command(flatten)]
    access: AccessArgs,
}

/// Run a `gitops source oci` subcommand.
pub fn run_oci(cmd: OciCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        OciCmd::Push(args) => push(&args, out),
        OciCmd::Pull(args) => pull(&args, out),
    }
}

/// Run a `gitops source helm` subcommand.
pub fn run_helm(cmd: HelmCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        HelmCmd::Index(args) => index(&args, out),
    }
}

fn push(args: &PushArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target = OciRef::parse(&args.url)?;
    let client = args.access.client(target.image().registry())?;
    let mut meta = Metadata::new(&args.source, &args.revision, SystemTime::now());
    if !args.ignore.is_empty() {
        meta.ignore = Some(args.ignore.join("\n"));
    }
    let pushed = oci::push(&client, &args.dir, &target, &meta)
        .with_context(|| format!("cannot push {} to {}", args.dir.display(), args.url))?;
    match args.access.output_format {
        OutputFormat::Text => writeln!(out, "{}", pushed.revision)?,
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "revision": pushed.revision.to_string(),
                "digest": pushed.digest.to_string(),
                "layerDigest": pushed.layer_digest.to_string(),
                "layerSize": pushed.layer_size,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pull(args: &PullArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let url = OciRef::parse(&args.url)?;
    let reference = if let Some(d) = &args.digest {
        Reference::Digest(Digest::parse(d)?)
    } else if let Some(range) = &args.semver {
        Reference::Semver {
            range: range.clone(),
            filter: args.semver_filter.clone(),
        }
    } else if let Some(t) = &args.tag {
        Reference::Tag(t.clone())
    } else {
        Reference::Tag(
            url.image()
                .tag()
                .map_or_else(|| "latest".to_owned(), |t| t.as_str().to_owned()),
        )
    };
    let client = args.access.client(url.image().registry())?;
    let spec = PullSpec {
        url,
        reference,
        layer_selector: LayerSelector {
            media_type: args.media_type.clone(),
            operation: if args.copy {
                Operation::Copy
            } else {
                Operation::Extract
            },
        },
        ignore: None,
    };
    let pulled = oci::pull(&client, &spec, &args.dest)
        .with_context(|| format!("cannot pull {}", args.url))?;
    if args.copy
        && let gitops_core::artifact::Content::Bytes(bytes) = &pulled.artifact.content
    {
        write_file(&args.dest, bytes)?;
    }
    match args.access.output_format {
        OutputFormat::Text => writeln!(out, "{}", pulled.revision)?,
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "revision": pulled.revision.to_string(),
                "digest": pulled.digest.to_string(),
                "layerMediaType": pulled.layer_media_type,
                "layerDigest": pulled.layer_digest.to_string(),
                "artifactDigest": pulled.artifact.digest.to_string(),
                "annotations": pulled.annotations,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn index(args: &IndexArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let host = if let Some(rest) = args.url.strip_prefix("oci://") {
        rest.split('/').next().map(str::to_owned)
    } else {
        reqwest_host(&args.url)
    };
    let host = if args.pass_credentials { None } else { host };
    let client = args.access.client(host.as_deref())?;
    let chart = if args.download.is_some() || args.url.starts_with("oci://") {
        helm::fetch_chart(&client, &args.url, &args.chart, &args.version)
            .with_context(|| format!("cannot fetch chart {} from {}", args.chart, args.url))?
    } else {
        let index = helm::fetch_index(&client, &args.url)
            .with_context(|| format!("cannot read the index of {}", args.url))?;
        let cv = index.get(&args.chart, &args.version)?;
        let url = cv
            .urls
            .first()
            .map(|u| helm::resolve_chart_url(&args.url, u))
            .transpose()?
            .unwrap_or_default();
        print_chart(
            out,
            args.access.output_format,
            &cv.name,
            &cv.version,
            &url,
            cv.digest.as_deref().map(|d| format!("sha256:{d}")),
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(path) = &args.download {
        write_file(path, &chart.bytes)?;
    }
    print_chart(
        out,
        args.access.output_format,
        &chart.name,
        &chart.version,
        &chart.url,
        Some(chart.digest.to_string()),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `host[:port]` of an http(s) URL.
fn reqwest_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    Some(authority.rsplit('@').next().unwrap_or(authority).to_owned())
}

fn print_chart(
    out: &mut dyn Write,
    format: OutputFormat,
    name: &str,
    version: &str,
    url: &str,
    digest: Option<String>,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Text => {
            writeln!(
                out,
                "{name} {version} {url} {}",
                digest.as_deref().unwrap_or("-")
            )?;
        }
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "name": name, "version": version, "url": url, "digest": digest,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(())
}
