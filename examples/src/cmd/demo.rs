//! `gitops demo`: the whole GitOps image-update loop on this machine, in
//! seconds, with no network.
//!
//! 1. writes a GitOps repository embedded in the binary
//!    (`examples/demo/repo/`: `clusters/dev/flux-system`, a Flux
//!    Kustomization with postBuild substitution, `apps/base` + `apps/dev`
//!    overlay, ImageRepository/ImagePolicy/ImageUpdateAutomation, a setter
//!    marker and a Flux v1 annotated workload) into a bare Git repository
//!    in a temporary directory (served as `file://`);
//! 2. takes image tags from a real `docker-registry` started on 127.0.0.1
//!    and seeded with our own OCI push when `/usr/bin/docker-registry`
//!    exists (`--no-registry` or `GITOPS_DEMO_NO_REGISTRY=1` to skip), else
//!    from the tag list embedded in the binary (`examples/demo/tags.txt`),
//!    labelled as such;
//! 3. runs the automation as a dry run (the diff), then for real (the
//!    commit), then again (a no-op);
//! 4. renders the cluster from the pushed commit with the Flux build
//!    (kustomize + postBuild) and prints the apply plan.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use gitops_automate::{self as automate, Options, Outcome, Report};
use gitops_core::registry::{MemRegistry, TagLister};
use gitops_source::git::reference::Reference;
use gitops_source::git::{CheckoutOptions, Client as GitClient};
use gitops_source::oci::{self, Metadata, OciRef};
use gitops_source::registry::{self, Client as RegistryClient, Keychain};

use crate::cmd::automate::{ProgressUi, print_report};
use crate::cmd::flux_build::{FluxArgs, run_flux};
use crate::output::OutputFormat;

/// The host name the embedded manifests use for the demo registry; replaced
/// by `127.0.0.1:<port>` when a real registry runs.
pub const DEMO_REGISTRY: &str = "registry.demo.local";

/// Where the default registry binary lives (Debian package `docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// The repository files embedded in the binary.
pub const REPO_FILES: &[(&str, &str)] = &[
    (
        "clusters/dev/flux-system/gotk-sync.yaml",
        include_str!("../../demo/repo/clusters/dev/flux-system/gotk-sync.yaml"),
    ),
    (
        "clusters/dev/flux-system/kustomization.yaml",
        include_str!("../../demo/repo/clusters/dev/flux-system/kustomization.yaml"),
    ),
    (
        "clusters/dev/apps.yaml",
        include_str!("../../demo/repo/clusters/dev/apps.yaml"),
    ),
    (
        "clusters/dev/cluster-vars.yaml",
        include_str!("../../demo/repo/clusters/dev/cluster-vars.yaml"),
    ),
    (
        "clusters/dev/image-automation.yaml",
        include_str!("../../demo/repo/clusters/dev/image-automation.yaml"),
    ),
    (
        "apps/base/kustomization.yaml",
        include_str!("../../demo/repo/apps/base/kustomization.yaml"),
    ),
    (
        "apps/base/podinfo-deployment.yaml",
        include_str!("../../demo/repo/apps/base/podinfo-deployment.yaml"),
    ),
    (
        "apps/base/podinfo-service.yaml",
        include_str!("../../demo/repo/apps/base/podinfo-service.yaml"),
    ),
    (
        "apps/base/web-deployment.yaml",
        include_str!("../../demo/repo/apps/base/web-deployment.yaml"),
    ),
    (
        "apps/dev/kustomization.yaml",
        include_str!("../../demo/repo/apps/dev/kustomization.yaml"),
    ),
    (
        "apps/dev/namespace.yaml",
        include_str!("../../demo/repo/apps/dev/namespace.yaml"),
    ),
    (
        "apps/dev/podinfo-replicas.yaml",
        include_str!("../../demo/repo/apps/dev/podinfo-replicas.yaml"),
    ),
];

/// The embedded tag list: `<repository> <tag>...` per line, `#` comments.
pub const TAGS: &str = include_str!("../../demo/tags.txt");

/// Flags of `gitops demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Use the embedded tag list even when docker-registry is installed
    /// (also: GITOPS_DEMO_NO_REGISTRY=1).
    #[arg(long)]
    pub no_registry: bool,
    /// Keep the temporary directory and print its path.
    #[arg(long)]
    pub keep: bool,
}

/// `(repository, tags)` of the embedded list.
pub fn parse_tags(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let repo = words.next()?.to_owned();
            Some((repo, words.map(str::to_owned).collect()))
        })
        .collect()
}

/// A `git` command with no user or system configuration.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "gitops demo")
        .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
        .env("GIT_COMMITTER_NAME", "gitops demo")
        .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
        .args(args)
        .output()
        .context("cannot run git (the demo needs the git binary)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A docker-registry on a loopback port, stopped on drop.
struct LocalRegistry {
    child: Child,
    host: String,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalRegistry {
    fn start(bin: &Path, dir: &Path) -> anyhow::Result<LocalRegistry> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("no free loopback port")?
            .port();
        let cfg = dir.join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                dir.join("registry-data").display()
            ),
        )?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let reg = LocalRegistry {
            child,
            host: format!("127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(&reg.host).is_err() {
            if start.elapsed() > Duration::from_secs(15) {
                bail!("docker-registry did not listen on {} within 15 s", reg.host);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(reg)
    }
}

fn heading(out: &mut dyn Write, n: usize, text: &str) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "== {n}. {text}")
}

/// Run the loop over either tag source.
fn automate_with<R: TagLister + Sync>(
    git: &GitClient,
    registry: &R,
    url: &str,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let mut opts = Options::new(url);
    opts.dry_run = dry_run;
    let mut ui = ProgressUi::new();
    let r = automate::run(git, registry, &opts, &mut |p| ui.step(p));
    ui.finish();
    Ok(r?)
}

/// Run `gitops demo`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("gitops-demo-").tempdir()?;
    let root = tmp.path().to_path_buf();
    writeln!(
        out,
        "gitops demo: the Flux image update loop, end to end, offline"
    )?;
    writeln!(out, "workspace: {}", root.display())?;

    // Tag source first: the manifests name the registry host.
    let no_registry = args.no_registry
        || std::env::var("GITOPS_DEMO_NO_REGISTRY").is_ok_and(|v| !v.is_empty() && v != "0");
    let bin = PathBuf::from(REGISTRY_BIN);
    let local = if !no_registry && bin.is_file() {
        Some(LocalRegistry::start(&bin, &root)?)
    } else {
        None
    };
    let host = local
        .as_ref()
        .map_or(DEMO_REGISTRY.to_owned(), |r| r.host.clone());

    heading(out, 1, "GitOps repository (embedded in the binary)")?;
    let work = root.join("work");
    let bare = root.join("fleet.git");
    std::fs::create_dir_all(&work)?;
    git(&root, &["init", "-q", "--bare", "-b", "main", "fleet.git"])?;
    git(&root, &["init", "-q", "-b", "main", "work"])?;
    for (path, text) in REPO_FILES {
        let p = work.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text.replace(DEMO_REGISTRY, &host))?;
        writeln!(out, "  {path}")?;
    }
    git(&work, &["add", "-A"])?;
    git(&work, &["commit", "-q", "-m", "Initial fleet repository"])?;
    let url = format!("file://{}", bare.display());
    git(&work, &["push", "-q", &url, "main"])?;
    let first = git(&work, &["rev-parse", "HEAD"])?;
    writeln!(
        out,
        "pushed {} files to {url} (branch main, commit {})",
        REPO_FILES.len(),
        first.get(..12).unwrap_or(&first)
    )?;

    heading(out, 2, "image tags")?;
    let tags = parse_tags(TAGS);
    let git_client = GitClient::new();
    let reports: [Report; 3] = match &local {
        Some(reg) => {
            let client = RegistryClient::new(Keychain::anonymous(), registry::Options::default())?;
            let layer = root.join("layer");
            std::fs::create_dir_all(&layer)?;
            let mut n = 0;
            for (repo, list) in &tags {
                for tag in list {
                    std::fs::write(layer.join("tag.txt"), format!("{repo}:{tag}\n"))?;
                    let target = OciRef::parse(&format!("oci://{}/{repo}:{tag}", reg.host))?;
                    let meta =
                        Metadata::new(&url, &format!("main@sha1:{first}"), SystemTime::now());
                    oci::push(&client, &layer, &target, &meta)
                        .with_context(|| format!("seeding {repo}:{tag}"))?;
                    n += 1;
                }
            }
            writeln!(
                out,
                "docker-registry on {} ({}), seeded with {n} tags by OCI push:",
                reg.host, REGISTRY_BIN
            )?;
            for (repo, list) in &tags {
                writeln!(out, "  {}/{repo}: {}", reg.host, list.join(" "))?;
            }
            [
                automate_with(&git_client, &client, &url, true)?,
                automate_with(&git_client, &client, &url, false)?,
                automate_with(&git_client, &client, &url, false)?,
            ]
        }
        None => {
            let mut mem = MemRegistry::new();
            for (repo, list) in &tags {
                for tag in list {
                    mem.add(&format!("{DEMO_REGISTRY}/{repo}"), tag, None);
                }
            }
            writeln!(out, "(embedded tag list, no registry)")?;
            for (repo, list) in &tags {
                writeln!(out, "  {DEMO_REGISTRY}/{repo}: {}", list.join(" "))?;
            }
            [
                automate_with(&git_client, &mem, &url, true)?,
                automate_with(&git_client, &mem, &url, false)?,
                automate_with(&git_client, &mem, &url, false)?,
            ]
        }
    };
    let [dry, real, again] = reports;

    heading(out, 3, "gitops automate --dry-run (the diff)")?;
    print_report(out, OutputFormat::Text, &dry)?;
    heading(out, 4, "gitops automate (commit and push)")?;
    print_report(out, OutputFormat::Text, &real)?;
    let Outcome::Pushed { commit, .. } = &real.outcome else {
        bail!("the demo expected the automation to push a commit");
    };
    writeln!(
        out,
        "{}",
        git(
            &bare,
            &[
                "log",
                "--stat",
                "--format=commit %H%nAuthor: %an <%ae>%n%n%w(0,4,4)%B",
                "-1",
                commit
            ]
        )?
    )?;
    heading(out, 5, "gitops automate again (idempotent)")?;
    print_report(out, OutputFormat::Text, &again)?;

    heading(
        out,
        6,
        "render clusters/dev/apps.yaml from the pushed commit: apply plan",
    )?;
    let checkout = root.join("checkout");
    git_client.checkout(
        &url,
        &CheckoutOptions::new(Reference::Branch("main".into())),
        &checkout,
    )?;
    let flux = FluxArgs {
        flux: Some(checkout.join("clusters/dev/apps.yaml")),
        source: Some(checkout.clone()),
        vars_from: vec![checkout.join("clusters/dev/cluster-vars.yaml")],
        ..FluxArgs::default()
    };
    let mut rendered = Vec::new();
    run_flux(&flux, gitops_render::Reorder::Legacy, &mut rendered)?;
    let rendered = String::from_utf8_lossy(&rendered);
    writeln!(out, "rendered images and postBuild-substituted values:")?;
    for l in rendered
        .lines()
        .filter(|l| l.contains("image:") || l.contains("value:"))
    {
        writeln!(out, "  {}", l.trim())?;
    }
    run_flux(
        &FluxArgs { plan: true, ..flux },
        gitops_render::Reorder::Legacy,
        out,
    )?;

    drop(local);
    writeln!(out)?;
    writeln!(out, "done in {:.1} s", started.elapsed().as_secs_f64())?;
    if args.keep {
        let kept = tmp.keep();
        writeln!(out, "kept {}", kept.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
