//! `gitops automate`: run Flux's image update automation once, from the
//! command line, against a Git repository and real registries.
//!
//! ```text
//! gitops automate --repo https://github.com/org/fleet.git --dry-run
//! gitops automate --repo git://127.0.0.1:9418/fleet.git --branch main --docker-config ~/.docker/config.json
//! gitops automate --repo ./fleet.git --automation automation.yaml -o json
//! gitops automate --repo … --notify https://hooks.example/flux --hmac-key-file key.txt
//! ```
//!
//! Exit codes: 0 = up to date or pushed, 1 = error (including a policy that
//! could not select a tag), 2 = changes found with `--dry-run`.
//!
//! Git credentials: user info in the URL (`https://user:token@host/…`) or
//! `--git-username` with the password/token in `GITOPS_GIT_PASSWORD`. They
//! are never printed: URLs are shown without user info and error texts are
//! scrubbed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use gitops_automate::notify::{self, Webhook};
use gitops_automate::{self as automate, Options, Outcome, Report};
use gitops_core::ImageRef;
use gitops_core::flux::Object;
use gitops_core::registry::{TagInfo, TagLister};
use gitops_source::git::{Auth, Client as GitClient};
use gitops_source::registry::{self, Client as RegistryClient, Keychain};

use crate::output::OutputFormat;

/// Flags of `gitops automate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Git repository: a URL (https://, git://, ssh://, file://) or a
    /// local directory (a bare repository, or one whose checked-out branch
    /// is not the one pushed to).
    #[arg(long, value_name = "URL|DIR")]
    pub repo: String,
    /// Branch to check out (default: the automation's, else main or master).
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// A YAML file with the ImageUpdateAutomation (and optionally its
    /// ImagePolicies, ImageRepositories and GitRepository); replaces
    /// same-named objects found in the repository.
    #[arg(long, value_name = "FILE")]
    pub automation: Option<PathBuf>,
    /// Which automation to run when there are several: NAMESPACE/NAME.
    #[arg(long, value_name = "NS/NAME")]
    pub automation_name: Option<String>,
    /// Docker config.json with registry credentials (default:
    /// $DOCKER_CONFIG/config.json or ~/.docker/config.json).
    #[arg(
        long = "docker-config",
        visible_alias = "registry-config",
        value_name = "FILE"
    )]
    pub registry_config: Option<PathBuf>,
    /// Allow plain HTTP to this registry host (repeatable); loopback
    /// registries always use plain HTTP.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Compute the change and print the diff; push nothing (exit 2 when
    /// there are changes).
    #[arg(long)]
    pub dry_run: bool,
    /// Do not update Flux v1 annotated workloads.
    #[arg(long)]
    pub no_flux_v1: bool,
    /// Push attempts when the branch moves under us.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_attempts: u32,
    /// User name for Git HTTP auth; the password or token is read from
    /// GITOPS_GIT_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub git_username: Option<String>,
    /// A Secret manifest with the Git credentials (`gitops create secret
    /// git`): `identity` + `known_hosts`, `username` + `password`, or
    /// `bearerToken`.
    #[arg(long = "git-secret-file", value_name = "FILE", conflicts_with_all = ["git_identity", "git_username"])]
    pub git_secret_file: Option<PathBuf>,
    /// SSH private key file for the Git repository (mode 0600 or
    /// stricter), with --git-known-hosts.
    #[arg(long, value_name = "FILE", requires = "git_known_hosts")]
    pub git_identity: Option<PathBuf>,
    /// known_hosts file for --git-identity; other host keys are refused.
    #[arg(long, value_name = "FILE", requires = "git_identity")]
    pub git_known_hosts: Option<PathBuf>,
    /// Registry request timeout, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
    /// Post a Flux event to this generic webhook when a commit is pushed or
    /// the run fails.
    #[arg(long, value_name = "URL")]
    pub notify: Option<String>,
    /// Sign events (generic-hmac provider): HMAC-SHA256 key file, sent as
    /// `X-Signature: sha256=<hex>`.
    #[arg(long, value_name = "FILE", requires = "notify")]
    pub hmac_key_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Registry clients: plain HTTP only for the hosts given as insecure.
pub struct Registries {
    secure: RegistryClient,
    insecure: Option<RegistryClient>,
    insecure_hosts: Vec<String>,
}

impl Registries {
    /// Build the clients.
    pub fn new(
        keychain: Keychain,
        timeout: Duration,
        insecure_hosts: Vec<String>,
    ) -> anyhow::Result<Registries> {
        let opts = registry::Options::default().with_timeout(timeout);
        let insecure = if insecure_hosts.is_empty() {
            None
        } else {
            Some(RegistryClient::new(
                keychain.clone(),
                opts.clone().with_insecure(true),
            )?)
        };
        Ok(Registries {
            secure: RegistryClient::new(keychain, opts)?,
            insecure,
            insecure_hosts,
        })
    }

    fn pick(&self, image: &ImageRef) -> &RegistryClient {
        let host = image.registry().unwrap_or("docker.io");
        match &self.insecure {
            Some(c) if self.insecure_hosts.iter().any(|h| h == host) => c,
            _ => &self.secure,
        }
    }
}

impl TagLister for Registries {
    type Error = registry::Error;

    fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, registry::Error> {
        self.pick(image).list_tags(image)
    }

    fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, registry::Error> {
        TagLister::tag_info(self.pick(image), image, tag)
    }
}

/// Progress on stderr: a spinner/bar on a terminal, plain lines otherwise.
pub struct ProgressUi {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressUi {
    /// A bar when stderr is a terminal, else log lines.
    pub fn new() -> ProgressUi {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        ProgressUi { bar }
    }

    /// Show one step.
    pub fn step(&mut self, p: automate::Progress) {
        let line = match &p {
            automate::Progress::Fetching { branch } => format!("fetching branch {branch}"),
            automate::Progress::Fetched {
                branch,
                commit,
                files,
            } => format!(
                "fetched {branch} at {} ({files} files)",
                commit.get(..12).unwrap_or(commit)
            ),
            automate::Progress::Automation { name, policies } => {
                format!("automation {name}: {policies} image policies")
            }
            automate::Progress::Scanning {
                image,
                index,
                total,
            } => format!("[{index}/{total}] listing tags of {image}"),
            automate::Progress::Selected { policy, image } => {
                format!("policy {policy} selected {image}")
            }
            automate::Progress::Updating { path } => format!(
                "updating files under {}",
                if path.is_empty() { "." } else { path }
            ),
            automate::Progress::Pushing { branch } => format!("pushing to {branch}"),
            _ => return,
        };
        match &self.bar {
            Some(b) => {
                if let automate::Progress::Scanning {
                    image,
                    index,
                    total,
                } = &p
                {
                    b.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    b.set_length(*total as u64);
                    b.set_position(*index as u64);
                    b.set_message(format!("listing tags of {image}"));
                } else {
                    b.set_style(indicatif::ProgressStyle::default_spinner());
                    b.set_message(line);
                }
            }
            None => eprintln!("gitops: {line}"),
        }
    }

    /// Clear the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Default for ProgressUi {
    fn default() -> Self {
        ProgressUi::new()
    }
}

/// `--repo`: a local directory becomes a `file://` URL.
pub fn repo_url(repo: &str) -> anyhow::Result<String> {
    if repo.contains("://") {
        return Ok(repo.to_owned());
    }
    let p = Path::new(repo);
    if p.is_dir() {
        let abs = p
            .canonicalize()
            .with_context(|| format!("cannot resolve {repo}"))?;
        return Ok(format!("file://{}", abs.display()));
    }
    bail!("--repo {repo:?}: not a URL and not a directory")
}

/// Read the objects of an `--automation` file.
pub fn read_objects_file(path: &Path) -> anyhow::Result<Vec<Object>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let origin = path.display().to_string();
    let mut warnings = Vec::new();
    let objects = automate::parse_objects(&text, &origin, &mut warnings);
    if let Some(w) = warnings.first() {
        bail!("{w}");
    }
    if !objects
        .iter()
        .any(|o| matches!(o, Object::ImageUpdateAutomation(_)))
    {
        bail!("{origin}: no image.toolkit.fluxcd.io ImageUpdateAutomation found");
    }
    Ok(objects)
}

/// Print a report.
pub fn print_report(
    out: &mut dyn Write,
    format: OutputFormat,
    report: &Report,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "automation {} on {} branch {} ({})",
        report.automation,
        report.url,
        report.checkout_branch,
        report
            .checkout_commit
            .get(..12)
            .unwrap_or(&report.checkout_commit)
    )?;
    for p in &report.policies {
        match (&p.error, &p.tag) {
            (Some(e), _) => writeln!(out, "policy {}: error: {e}", p.policy)?,
            (None, Some(tag)) if p.changes.is_empty() => writeln!(
                out,
                "policy {}: {} (no change)",
                p.policy,
                p.latest.as_deref().unwrap_or(tag)
            )?,
            (None, Some(tag)) => writeln!(
                out,
                "policy {}: {} -> {tag} ({})",
                p.policy,
                if p.previous.is_empty() {
                    "?".to_owned()
                } else {
                    p.previous.join(", ")
                },
                p.files.join(", ")
            )?,
            (None, None) => writeln!(out, "policy {}: no image", p.policy)?,
        }
    }
    for w in &report.workloads {
        writeln!(
            out,
            "workload {} container {}: {} -> {} ({}:{})",
            w.object, w.container, w.old, w.new, w.file, w.line
        )?;
    }
    for w in &report.warnings {
        writeln!(out, "warning: {w}")?;
    }
    match &report.outcome {
        Outcome::UpToDate { head } => writeln!(
            out,
            "up to date at {}: nothing to commit",
            head.get(..12).unwrap_or(head)
        )?,
        Outcome::Suspended => writeln!(out, "suspended (spec.suspend: true): nothing done")?,
        Outcome::Pushed {
            commit,
            branch,
            attempts,
        } => {
            writeln!(
                out,
                "pushed commit {commit} to branch {branch}{}",
                if *attempts > 1 {
                    format!(" after {attempts} attempts")
                } else {
                    String::new()
                }
            )?;
            if let Some(m) = &report.message {
                for l in m.lines() {
                    writeln!(out, "{}", format!("    {l}").trim_end())?;
                }
            }
        }
        Outcome::WouldPush { branch, .. } => {
            writeln!(
                out,
                "dry run: would push {} file(s) to branch {branch}",
                report.files_changed.len()
            )?;
            if let Some(m) = &report.message {
                for l in m.lines() {
                    writeln!(out, "{}", format!("    {l}").trim_end())?;
                }
            }
            if let Some(d) = &report.diff {
                write!(out, "{d}")?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Run `gitops automate`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let url = repo_url(&args.repo)?;
    let mut git = GitClient::new();
    if let Some(auth) = crate::cmd::source::auth_from_files(
        args.git_secret_file.as_deref(),
        args.git_identity.as_deref(),
        args.git_known_hosts.as_deref(),
    )? {
        git = git.with_auth(auth);
    } else if let Some(user) = &args.git_username {
        let password = std::env::var("GITOPS_GIT_PASSWORD")
            .context("--git-username needs the password in GITOPS_GIT_PASSWORD")?;
        git = git.with_auth(Auth::Basic {
            username: user.clone(),
            password,
        });
    }
    let keychain = match &args.registry_config {
        Some(p) => Keychain::from_docker_config_file(p)?,
        None => Keychain::from_default_docker_config()?,
    };
    let registries = Registries::new(
        keychain,
        Duration::from_secs(args.timeout),
        args.insecure_registry.clone(),
    )?;
    let mut opts = Options::new(&url);
    opts.branch = args.branch.clone();
    opts.automation = args.automation_name.clone();
    opts.dry_run = args.dry_run;
    opts.max_attempts = args.max_attempts;
    opts.flux_v1 = !args.no_flux_v1;
    if let Some(f) = &args.automation {
        opts.objects = read_objects_file(f)?;
    }
    let webhook = match (&args.notify, &args.hmac_key_file) {
        (Some(addr), Some(key)) => {
            let bytes = std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
            let trimmed = String::from_utf8_lossy(&bytes)
                .trim_end()
                .as_bytes()
                .to_vec();
            Some(Webhook::generic_hmac(addr, &trimmed))
        }
        (Some(addr), None) => Some(Webhook::generic(addr)),
        _ => None,
    };
    let mut ui = ProgressUi::new();
    let result = automate::run(&git, &registries, &opts, &mut |p| ui.step(p));
    ui.finish();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(w) = &webhook {
                let who = e
                    .automation()
                    .map(str::to_owned)
                    .or_else(|| opts.automation.clone())
                    .or_else(|| automation_name(&opts.objects))
                    .unwrap_or_else(|| "default/unknown".to_owned());
                if let Err(ne) = w.post(&notify::for_error(&who, &e, SystemTime::now())) {
                    eprintln!("error: {:#}", anyhow::Error::new(ne));
                }
            }
            return Err(anyhow::Error::new(e).context("image update automation failed"));
        }
    };
    print_report(out, args.output, &report)?;
    let mut failed = false;
    if let Some(w) = &webhook
        && let Some(event) = notify::for_report(&report, SystemTime::now())
        && let Err(e) = w.post(&event)
    {
        eprintln!("error: {:#}", anyhow::Error::new(e));
        failed = true;
    }
    let bad = report.policies.iter().filter(|p| p.error.is_some()).count();
    if bad > 0 {
        eprintln!(
            "error: {bad} image polic{} could not select a tag",
            if bad == 1 { "y" } else { "ies" }
        );
        failed = true;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else if args.dry_run && report.changed() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn automation_name(objects: &[Object]) -> Option<String> {
    objects.iter().find_map(|o| match o {
        Object::ImageUpdateAutomation(a) => Some(format!(
            "{}/{}",
            a.metadata.namespace.as_deref().unwrap_or("default"),
            a.metadata.name.as_deref().unwrap_or("")
        )),
        _ => None,
    })
}
