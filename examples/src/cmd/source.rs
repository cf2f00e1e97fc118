//! `gitops source`: fetch Git sources into verified artifacts.
//!
//! ```text
//! gitops source git https://github.com/org/repo --semver '>=1.0.0 <2' -o artifact.tar.gz
//! gitops source git git://host/repo.git --branch main --ignore '*.md' -o artifact.tar.gz --output-format json
//! gitops source verify artifact.tar.gz sha256:0123…
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gitops_core::Digest;
use gitops_source::archive::{self, Options};
use gitops_source::git::reference::Reference;
use gitops_source::git::{Auth, CheckoutOptions, CheckoutOutcome, Client};

use crate::output::OutputFormat;

/// `gitops source` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SourceCmd {
    /// Fetch a Git reference and pack it into a reproducible tar.gz artifact.
    Git(GitArgs),
    /// Check that an artifact file has the expected digest.
    Verify(VerifyArgs),
    /// Push and pull Flux OCI artifacts.
    #[command(subcommand)]
    Oci(crate::cmd::source_oci::OciCmd),
    /// Read Helm repository indexes and fetch charts.
    #[command(subcommand)]
    Helm(crate::cmd::source_oci::HelmCmd),
}

/// Flags of `gitops source git`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("ref").required(true).args(["branch", "tag", "semver", "commit"])))]
pub struct GitArgs {
    /// Repository URL (https://, http://, git://, ssh://, file://).
    url: String,
    /// Branch to check out (may be combined with --commit).
    #[arg(long, value_name = "B")]
    branch: Option<String>,
    /// Tag to check out.
    #[arg(long, value_name = "T", conflicts_with_all = ["semver", "commit"])]
    tag: Option<String>,
    /// Highest tag in a Masterminds SemVer range, e.g. '>=1.0.0 <2'.
    #[arg(long, value_name = "R", conflicts_with = "commit")]
    semver: Option<String>,
    /// Full commit SHA-1.
    #[arg(long, value_name = "C")]
    commit: Option<String>,
    /// Extra .sourceignore pattern (repeatable), like spec.ignore.
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    ignore: Vec<String>,
    /// Check out submodules too.
    #[arg(long)]
    recurse_submodules: bool,
    /// History depth to fetch (0 = full history).
    #[arg(long, default_value_t = 1)]
    depth: u32,
    /// Where to write the artifact.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: PathBuf,
    /// HTTP basic-auth user name (the password is read from GITOPS_GIT_PASSWORD).
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    #[command(flatten)]
    creds: GitCredentials,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
}

/// Git credentials from files: a Flux Git Secret manifest, or an SSH key
/// and known-hosts file.
#[derive(Debug, clap::Args)]
pub struct GitCredentials {
    /// A Secret manifest with the Git credentials, as `gitops create secret
    /// git` (or `flux create secret git --export`) writes it and a
    /// GitRepository's `spec.secretRef` names: `identity` + `known_hosts`
    /// (SSH), `username` + `password`, or `bearerToken`.
    #[arg(long = "secret-file", value_name = "FILE", conflicts_with_all = ["identity", "username"])]
    pub secret_file: Option<PathBuf>,
    /// SSH private key file (mode 0600 or stricter), with --known-hosts.
    #[arg(long, value_name = "FILE", requires = "known_hosts")]
    pub identity: Option<PathBuf>,
    /// known_hosts file for --identity; other host keys are refused.
    #[arg(long = "known-hosts", value_name = "FILE", requires = "identity")]
    pub known_hosts: Option<PathBuf>,
}

impl GitCredentials {
    /// The credentials these flags give, if any.
    pub fn auth(&self) -> anyhow::Result<Option<Auth>> {
        auth_from_files(
            self.secret_file.as_deref(),
            self.identity.as_deref(),
            self.known_hosts.as_deref(),
        )
    }
}

/// Git credentials from a Secret manifest or an SSH key and known-hosts file.
pub fn auth_from_files(
    secret_file: Option<&std::path::Path>,
    identity: Option<&std::path::Path>,
    known_hosts: Option<&std::path::Path>,
) -> anyhow::Result<Option<Auth>> {
    if let Some(f) = secret_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        return Ok(Some(gitops_source::git::ssh::auth_from_secret(
            &text,
            &f.display().to_string(),
        )?));
    }
    match (identity, known_hosts) {
        (Some(i), Some(k)) => Ok(Some(Auth::Ssh {
            identity_file: i.to_path_buf(),
            known_hosts: k.to_path_buf(),
        })),
        _ => Ok(None),
    }
}

/// Flags of `gitops source verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The artifact file.
    artifact: PathBuf,
    /// The expected digest, `sha256:<hex>`.
    digest: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
}

/// Run a `gitops source` subcommand.
pub fn run(cmd: SourceCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        SourceCmd::Git(args) => git(args, out),
        SourceCmd::Verify(args) => verify(&args, out),
        SourceCmd::Oci(c) => crate::cmd::source_oci::run_oci(c, out),
        SourceCmd::Helm(c) => crate::cmd::source_oci::run_helm(c, out),
    }
}

fn git(args: GitArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let reference = if let Some(commit) = args.commit {
        Reference::Commit {
            commit,
            branch: args.branch,
        }
    } else if let Some(t) = args.tag {
        Reference::Tag(t)
    } else if let Some(s) = args.semver {
        Reference::Semver(s)
    } else if let Some(b) = args.branch {
        Reference::Branch(b)
    } else {
        bail!("one of --branch, --tag, --semver or --commit is required");
    };
    let mut client = Client::new().with_depth(args.depth);
    if let Some(auth) = args.creds.auth()? {
        client = client.with_auth(auth);
    } else if let Some(username) = args.username {
        let password = std::env::var("GITOPS_GIT_PASSWORD")
            .context("--username needs the password in GITOPS_GIT_PASSWORD")?;
        client = client.with_auth(Auth::Basic { username, password });
    } else if let Ok(token) = std::env::var("GITOPS_GIT_TOKEN") {
        client = client.with_auth(Auth::Bearer { token });
    }
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let checkout = work.path().join("checkout");
    let mut opts = CheckoutOptions::new(reference);
    opts.recurse_submodules = args.recurse_submodules;
    let outcome = client
        .checkout(&args.url, &opts, &checkout)
        .with_context(|| {
            format!(
                "cannot check out {}",
                gitops_source::git::redact_url(&args.url)
            )
        })?;
    let CheckoutOutcome::Checked { revision, .. } = outcome else {
        bail!("unexpected checkout outcome {outcome:?}");
    };
    let ignore = (!args.ignore.is_empty()).then(|| args.ignore.join("\n"));
    let pack = Options {
        ignore,
        ..Options::default()
    };
    let summary = archive::write_file(&checkout, &pack, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    match args.output_format {
        OutputFormat::Text => {
            writeln!(out, "revision: {revision}")?;
            writeln!(out, "digest: {}", summary.digest.as_str())?;
            writeln!(out, "size: {}", summary.size)?;
            writeln!(out, "files: {}", summary.files)?;
        }
        OutputFormat::Json => {
            let v = serde_json::json!({
                "revision": revision.to_string(),
                "digest": summary.digest.as_str(),
                "size": summary.size,
                "files": summary.files,
                "path": args.out.display().to_string(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let expected =
        Digest::parse(&args.digest).with_context(|| format!("invalid digest {:?}", args.digest))?;
    let file = std::fs::File::open(&args.artifact)
        .with_context(|| format!("cannot open {}", args.artifact.display()))?;
    let actual = archive::digest_of(std::io::BufReader::new(file))
        .with_context(|| format!("cannot read {}", args.artifact.display()))?;
    let ok = actual == expected;
    match args.output_format {
        OutputFormat::Text if ok => writeln!(out, "ok: {}", actual.as_str())?,
        OutputFormat::Text => writeln!(
            out,
            "mismatch: expected {}, got {}",
            expected.as_str(),
            actual.as_str()
        )?,
        OutputFormat::Json => {
            let v = serde_json::json!({
                "ok": ok,
                "expected": expected.as_str(),
                "actual": actual.as_str(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
