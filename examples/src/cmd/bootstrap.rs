//! `gitops bootstrap`: write the `flux-system/` sync manifests the way
//! `flux bootstrap git` does (`gotk-sync.yaml` and `kustomization.yaml`),
//! commit them, and push when the repository is a URL.
//!
//! `gotk-components.yaml` (the Flux controllers) is out of scope: it is not
//! written and not listed in `kustomization.yaml`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use gitops_automate::writeback::{self, Change, Outcome};
use gitops_core::duration::GoDuration;
use gitops_core::fs::{FileTree, OsTree, RelPath, atomic};
use gitops_core::git::Signature;
use gitops_core::url::redact;
use gitops_render::flux::create::bootstrap::{self, Manifest, SyncOptions};
use gitops_render::flux::create::{safe_relative_path, split_list};
use gitops_source::git::Client;

use crate::output::OutputFormat;

const COMPONENTS_NOTE: &str = "gotk-components.yaml (the Flux controllers' \
manifests) is out of scope: it is neither written nor listed in \
kustomization.yaml; install the controllers with `flux install --export` \
and add the file yourself. No cluster is touched.";

fn duration(v: &str) -> Result<GoDuration, String> {
    v.parse::<GoDuration>().map_err(|e| e.to_string())
}

/// Flags of `gitops bootstrap`.
#[derive(Debug, clap::Args)]
#[command(after_help = COMPONENTS_NOTE)]
pub struct Args {
    /// Path in the repository the cluster syncs, e.g. `clusters/dev`.
    #[arg(long, default_value = "")]
    pub path: String,
    /// Git repository URL to clone, commit to and push (git://, file://,
    /// http(s)://, ssh://).
    #[arg(long, conflicts_with = "repo", required_unless_present = "repo")]
    pub url: Option<String>,
    /// Local Git work tree to write and commit to (no push).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Git branch.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Namespace (and name) of the Flux objects.
    #[arg(long, short = 'n', default_value = "flux-system")]
    pub namespace: String,
    /// Sync interval of the GitRepository.
    #[arg(long, default_value = "1m0s", value_parser = duration)]
    pub interval: GoDuration,
    /// Name of the secret with the sync credentials.
    #[arg(
        long = "secret-name",
        alias = "secret-ref",
        default_value = "flux-system"
    )]
    pub secret_name: String,
    /// URL the cluster fetches from (default: --url, or the origin remote of --repo).
    #[arg(long = "sync-url")]
    pub sync_url: Option<String>,
    /// Include Git submodules in the GitRepository.
    #[arg(long = "recurse-submodules")]
    pub recurse_submodules: bool,
    /// Sparse checkout paths of the GitRepository.
    #[arg(long = "sparse-checkout", value_delimiter = ',')]
    pub sparse_checkout: Vec<String>,
    /// Commit author name.
    #[arg(long = "author-name", default_value = "Flux")]
    pub author_name: String,
    /// Commit author email.
    #[arg(long = "author-email", default_value = "")]
    pub author_email: String,
    /// Text appended to the commit message, e.g. `[ci skip]`.
    #[arg(long = "commit-message-appendix", default_value = "")]
    pub commit_message_appendix: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Run `gitops bootstrap`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target_path = if args.path.is_empty() {
        String::new()
    } else {
        safe_relative_path(&args.path)
    };
    let sync_url = match (&args.sync_url, &args.url, &args.repo) {
        (Some(u), _, _) => u.clone(),
        (None, Some(u), _) => redact(u),
        (None, None, Some(dir)) => origin_url(dir)?,
        (None, None, None) => bail!("one of --url or --repo is required"),
    };
    let mut opts = SyncOptions::new(&sync_url);
    opts.interval = args.interval;
    opts.name = args.namespace.clone();
    opts.namespace = args.namespace.clone();
    opts.branch = args.branch.clone();
    opts.secret = args.secret_name.clone();
    opts.target_path = target_path;
    opts.recurse_submodules = args.recurse_submodules;
    opts.sparse_checkout = split_list(&args.sparse_checkout);

    let mut message = bootstrap::SYNC_COMMIT_MESSAGE.to_owned();
    if !args.commit_message_appendix.is_empty() {
        message = format!("{message}\n\n{}", args.commit_message_appendix);
    }
    let author = Signature {
        name: args.author_name.clone(),
        email: args.author_email.clone(),
    };
    eprintln!("note: {COMPONENTS_NOTE}");

    let result = match (&args.url, &args.repo) {
        (Some(url), _) => push_to_url(url, &args.branch, &author, &opts, &message)?,
        (None, Some(dir)) => commit_in_dir(dir, &args.branch, &author, &opts, &message)?,
        (None, None) => bail!("one of --url or --repo is required"),
    };
    report(out, args.output, &result, &args.branch)?;
    Ok(ExitCode::SUCCESS)
}

/// What happened.
struct Done {
    /// The new commit, or `None` when everything was up to date.
    commit: Option<String>,
    /// Files written by the commit.
    files: Vec<String>,
}

fn report(
    out: &mut dyn Write,
    format: OutputFormat,
    done: &Done,
    branch: &str,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "status": if done.commit.is_some() { "committed" } else { "up-to-date" },
                "commit": done.commit,
                "branch": branch,
                "files": done.files,
            });
            writeln!(out, "{v}")?;
        }
        OutputFormat::Text => match &done.commit {
            Some(c) => {
                writeln!(out, "committed sync manifests to {branch:?} ({c})")?;
                for f in &done.files {
                    writeln!(out, "  {f}")?;
                }
            }
            None => writeln!(out, "sync manifests are up to date")?,
        },
    }
    Ok(())
}

fn push_to_url(
    url: &str,
    branch: &str,
    author: &Signature,
    opts: &SyncOptions,
    message: &str,
) -> anyhow::Result<Done> {
    let client = Client::new();
    let wb = writeback::Options::new(branch, author.clone());
    let mut written = Vec::new();
    let outcome = writeback::commit_and_push(&client, url, &wb, |tree| {
        let manifests = bootstrap::plan(tree, opts)?;
        let mut files = Vec::new();
        written.clear();
        for m in manifests {
            let path = RelPath::new(&m.path)?;
            if tree.read(&path).ok().as_deref() != Some(m.content.as_bytes()) {
                written.push(m.path.clone());
            }
            files.push((path, m.content.into_bytes()));
        }
        Ok::<_, gitops_core::fs::Error>(Change {
            files,
            message: message.to_owned(),
        })
    })
    .with_context(|| format!("bootstrapping {}", redact(url)))?;
    Ok(match outcome {
        Outcome::Pushed { commit, .. } => Done {
            commit: Some(commit),
            files: written,
        },
        _ => Done {
            commit: None,
            files: Vec::new(),
        },
    })
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn origin_url(dir: &Path) -> anyhow::Result<String> {
    git(dir, &["remote", "get-url", "origin"])
        .map(|u| redact(&u))
        .context("--sync-url is required when the repository has no origin remote")
}

fn commit_in_dir(
    dir: &Path,
    branch: &str,
    author: &Signature,
    opts: &SyncOptions,
    message: &str,
) -> anyhow::Result<Done> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .with_context(|| format!("{} is not a Git work tree", dir.display()))?;
    let top = PathBuf::from(top);
    let current = git(&top, &["symbolic-ref", "--short", "HEAD"])?;
    if current != branch {
        bail!(
            "{} has branch {current:?} checked out, not {branch:?} (--branch)",
            top.display()
        );
    }
    let tree = OsTree::new(&top)?;
    let manifests: Vec<Manifest> = bootstrap::plan(&tree, opts)?;
    let mut changed = Vec::new();
    for m in &manifests {
        let rel = RelPath::new(&m.path)?;
        if tree.read(&rel).ok().as_deref() != Some(m.content.as_bytes()) {
            changed.push(m);
        }
    }
    if changed.is_empty() {
        return Ok(Done {
            commit: None,
            files: Vec::new(),
        });
    }
    for m in &changed {
        atomic::write_beneath(tree.root(), &RelPath::new(&m.path)?, m.content.as_bytes())?;
    }
    let mut add = vec!["add", "--"];
    add.extend(changed.iter().map(|m| m.path.as_str()));
    git(&top, &add)?;
    let name = format!("user.name={}", author.name);
    let email = format!("user.email={}", author.email);
    let who = format!("{} <{}>", author.name, author.email);
    let mut commit = vec![
        "-c", &name, "-c", &email, "commit", "-q", "--author", &who, "-m", message, "--",
    ];
    commit.extend(changed.iter().map(|m| m.path.as_str()));
    git(&top, &commit)?;
    let head = git(&top, &["rev-parse", "HEAD"])?;
    Ok(Done {
        commit: Some(head),
        files: changed.iter().map(|m| m.path.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped() {
        assert_eq!(redact("https://u:p@h/r.git"), "https://h/r.git");
        assert_eq!(redact("ssh://git@h/r"), "ssh://git@h/r");
        assert_eq!(redact("git://h/r.git"), "git://h/r.git");
    }
}
