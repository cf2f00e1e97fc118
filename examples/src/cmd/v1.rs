//! `gitops v1`: Flux v1 (`fluxctl`) operations as plain Git edits.
//!
//! ```text
//! gitops v1 workloads DIR                      # fluxctl list-workloads
//! gitops v1 images DIR [--tags IMAGE=FILE…|--registry]   # fluxctl list-images
//! gitops v1 automate|deautomate|lock|unlock WORKLOAD DIR [--message M] [--user U]
//! gitops v1 policy WORKLOAD DIR [--tag C=PATTERN…] [--tag-all PATTERN] [--automate…]
//! gitops v1 release DIR --workload W… --update-image IMAGE:TAG [--force]
//! gitops v1 release DIR --all --update-all-images --tags IMAGE=FILE…
//! gitops v1 gc --rendered F --cluster F --sync-set NAME [--dry-run]
//! gitops v1 mark --rendered F --sync-set NAME
//! ```
//!
//! Edits go to DIR atomically, or with `--repo URL` into a commit pushed
//! (without force) to the branch, with fluxd's commit message; `--dry-run`
//! prints the diff and writes nothing (exit 2 when something would change).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gitops_automate::writeback::{self, Change, Outcome};
use gitops_core::fs::{MemTree, OsTree, RelPath};
use gitops_core::git::{GitTransport, Signature};
use gitops_core::registry::TagLister;
use gitops_core::{ImageRef, Tag};
use gitops_image::v1::{TagInfo, TagPattern};
use gitops_render::flux::v1gc;
use gitops_setters::v1::TagChooser;
use gitops_setters::v1ops::policy::{self, FilterCheck, PolicyUpdate};
use gitops_setters::v1ops::release::{self, ImageSpec, ReleaseSpec, TagFilter, Workloads};
use gitops_setters::v1ops::{FileEdit, Repository, WorkloadId};
use gitops_source::git::{Auth, Client as GitClient};
use gitops_source::registry::Keychain;

use super::automate::{Registries, repo_url};
use super::setters::{TagFiles, load_tags};
use crate::output::OutputFormat;

/// Flux v1 operations on a config repository.
#[derive(Debug, clap::Subcommand)]
pub enum V1Cmd {
    /// List the workloads fluxd would see, with containers, images and policies.
    Workloads(ListArgs),
    /// List each container's available images, newest first, the current one marked.
    Images(ImagesArgs),
    /// Annotate a workload `automated` (fluxctl automate).
    Automate(PolicyArgs),
    /// Remove a workload's `automated` annotation (fluxctl deautomate).
    Deautomate(PolicyArgs),
    /// Lock a workload against releases and automation (fluxctl lock).
    Lock(PolicyArgs),
    /// Unlock a workload (fluxctl unlock).
    Unlock(PolicyArgs),
    /// Change a workload's policies: tag filters, automation, lock (fluxctl policy).
    Policy(PolicyArgs),
    /// Release an image to workloads (fluxctl release).
    Release(ReleaseArgs),
    /// Flux v1 sync garbage collection: which cluster objects would be deleted.
    Gc(GcArgs),
    /// Print a rendered set as fluxd applies it (sync-gc-mark and sync-checksum added).
    Mark(MarkArgs),
    /// Print the deploy key (SSH public key) of a Git Secret, like fluxctl identity.
    Identity(crate::cmd::v1_identity::IdentityArgs),
}

/// Flags of `gitops v1 workloads`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The directory of the config repository (symlinks are not followed).
    pub dir: PathBuf,
    /// Namespace of workloads that name none.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Only workloads with a container of this name.
    #[arg(long)]
    pub container: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Flags of `gitops v1 images`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// The directory of the config repository.
    pub dir: PathBuf,
    /// Only this workload (`namespace:kind/name` or `kind/name`).
    #[arg(long, short = 'w')]
    pub workload: Option<String>,
    /// Namespace of workloads that name none.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Number of images to show per container (0 for all).
    #[arg(long, short = 'l', default_value_t = 10)]
    pub limit: usize,
    #[command(flatten)]
    pub tags: TagSource,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Where available tags come from.
#[derive(Debug, clap::Args)]
pub struct TagSource {
    /// Tags of an image, `IMAGE=FILE` (repeatable); each line `TAG [CREATED]`.
    #[arg(long = "tags", value_name = "IMAGE=FILE")]
    pub tags: Vec<String>,
    /// Ask the image registries (credentials from the Docker config).
    #[arg(long, conflicts_with = "tags")]
    pub registry: bool,
    /// Docker config.json with registry credentials.
    #[arg(long = "docker-config", value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Allow plain HTTP to this registry host (repeatable).
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
}

/// Where an edit goes and how it is committed.
#[derive(Debug, clap::Args)]
pub struct EditTarget {
    /// The directory to edit; with --repo, the path inside the repository
    /// (default: its root).
    pub dir: Option<PathBuf>,
    /// Commit and push the change to this Git repository (URL or local
    /// bare repository) instead of editing DIR.
    #[arg(long, value_name = "URL|DIR")]
    pub repo: Option<String>,
    /// Branch to commit to (default: main, else master).
    #[arg(long)]
    pub branch: Option<String>,
    /// User name for Git HTTP auth; the password or token is read from
    /// GITOPS_GIT_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub git_username: Option<String>,
    /// Print the diff; write and push nothing (exit 2 when something would change).
    #[arg(long)]
    pub dry_run: bool,
    /// The reason: heads the commit message (and is the lock message).
    #[arg(long, short = 'm')]
    pub message: Option<String>,
    /// Who: the commit author (`Name <email>` or a name) and, for lock, `locked_user`.
    #[arg(long)]
    pub user: Option<String>,
    /// Namespace of workloads that name none.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Flags of the policy commands.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// The workload, as fluxctl names it: `namespace:kind/name` or `kind/name`.
    pub workload: String,
    #[command(flatten)]
    pub target: EditTarget,
    /// A tag filter for a container, `CONTAINER=PATTERN` (`*` removes it; repeatable).
    #[arg(long = "tag", value_name = "CONTAINER=PATTERN")]
    pub tags: Vec<String>,
    /// A tag filter for every container not named by --tag (`*` removes them).
    #[arg(long, value_name = "PATTERN")]
    pub tag_all: Option<String>,
    /// (policy) Automate the workload.
    #[arg(long, conflicts_with = "deautomate")]
    pub automate: bool,
    /// (policy) Deautomate the workload.
    #[arg(long)]
    pub deautomate: bool,
    /// (policy) Lock the workload.
    #[arg(long, conflicts_with = "unlock")]
    pub lock: bool,
    /// (policy) Unlock the workload.
    #[arg(long)]
    pub unlock: bool,
}

/// Flags of `gitops v1 release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// A workload to release to (repeatable).
    #[arg(long = "workload", short = 'w', required_unless_present = "all")]
    pub workloads: Vec<String>,
    /// Release to every workload (locked and ignored ones are skipped).
    #[arg(long, conflicts_with = "workloads")]
    pub all: bool,
    /// The image to release, `IMAGE:TAG`.
    #[arg(long, short = 'i', required_unless_present = "update_all_images")]
    pub update_image: Option<String>,
    /// Move every container to the newest tag its filter allows.
    #[arg(long, conflicts_with = "update_image")]
    pub update_all_images: bool,
    /// A workload to leave alone (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Release named locked workloads and ignore container filters.
    #[arg(long, short = 'f')]
    pub force: bool,
    #[command(flatten)]
    pub tags: TagSource,
}

/// The sync set: a name, or what fluxd derives it from.
#[derive(Debug, clap::Args)]
pub struct SyncSetArgs {
    /// The sync set name (fluxd derives it from URL, branch and paths).
    #[arg(long, required_unless_present = "git_url")]
    pub sync_set: Option<String>,
    /// fluxd's --git-url (the sync set name is derived from it).
    #[arg(long, conflicts_with = "sync_set")]
    pub git_url: Option<String>,
    /// fluxd's --git-branch.
    #[arg(long, default_value = "master")]
    pub git_branch: String,
    /// fluxd's --git-path (repeatable).
    #[arg(long)]
    pub git_path: Vec<String>,
    /// Namespace of rendered objects that name none.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// A cluster-scoped kind besides Kubernetes' own (repeatable).
    #[arg(long, value_name = "KIND")]
    pub cluster_scoped: Vec<String>,
}

impl SyncSetArgs {
    fn name(&self) -> String {
        match (&self.sync_set, &self.git_url) {
            (Some(s), _) => s.clone(),
            (None, Some(url)) => {
                let paths: Vec<&str> = self.git_path.iter().map(String::as_str).collect();
                v1gc::sync_set_name(&v1gc::safe_url(url), &self.git_branch, &paths)
            }
            (None, None) => String::new(),
        }
    }

    fn rendered(&self, path: &Path) -> anyhow::Result<Vec<v1gc::SyncResource>> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let extra: Vec<&str> = self.cluster_scoped.iter().map(String::as_str).collect();
        Ok(v1gc::rendered_set_with(
            &text,
            &path.display().to_string(),
            &self.namespace,
            &extra,
        )?)
    }
}

/// Flags of `gitops v1 gc`.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// The rendered set (what the sync applies), multi-document YAML.
    #[arg(long)]
    pub rendered: PathBuf,
    /// The cluster's objects, e.g. `kubectl get all,cm,secret -A -o yaml`.
    #[arg(long)]
    pub cluster: PathBuf,
    #[command(flatten)]
    pub set: SyncSetArgs,
    /// Only report; without it the objects to delete are printed as
    /// `kubectl delete -f -` input after the report.
    #[arg(long)]
    pub dry_run: bool,
    /// Also print the Flux v2 inventory of the rendered set (for a migration).
    #[arg(long)]
    pub inventory: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Flags of `gitops v1 mark`.
#[derive(Debug, clap::Args)]
pub struct MarkArgs {
    /// The rendered set, multi-document YAML.
    #[arg(long)]
    pub rendered: PathBuf,
    #[command(flatten)]
    pub set: SyncSetArgs,
}

/// Run a `v1` subcommand.
pub fn run(cmd: V1Cmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        V1Cmd::Workloads(a) => workloads(&a, out),
        V1Cmd::Images(a) => images(&a, out),
        V1Cmd::Automate(a) => policy_cmd(&a, Some(PolicyUpdate::automate()), out),
        V1Cmd::Deautomate(a) => policy_cmd(&a, Some(PolicyUpdate::deautomate()), out),
        V1Cmd::Lock(a) => {
            let u = PolicyUpdate::lock(a.target.user.as_deref(), a.target.message.as_deref());
            policy_cmd(&a, Some(u), out)
        }
        V1Cmd::Unlock(a) => policy_cmd(&a, Some(PolicyUpdate::unlock()), out),
        V1Cmd::Policy(a) => policy_cmd(&a, None, out),
        V1Cmd::Release(a) => release_cmd(&a, out),
        V1Cmd::Gc(a) => gc(&a, out),
        V1Cmd::Mark(a) => mark(&a, out),
        V1Cmd::Identity(a) => crate::cmd::v1_identity::run(&a, out),
    }
}

fn load(dir: &Path, namespace: &str) -> anyhow::Result<Repository> {
    let tree = OsTree::new(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let repo = Repository::load_in(&tree, &RelPath::root(), namespace)?;
    for w in repo.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(repo)
}

/// Rows of cells printed like Go's tabwriter (padding 2).
fn table(out: &mut dyn Write, rows: &[Vec<String>]) -> anyhow::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn workloads(a: &ListArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let repo = load(&a.dir, &a.namespace)?;
    let list: Vec<_> = repo
        .workloads()
        .into_iter()
        .filter(|w| {
            a.container
                .as_ref()
                .is_none_or(|c| w.containers.iter().any(|x| &x.name == c))
        })
        .collect();
    if a.output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "WORKLOAD".to_owned(),
        "CONTAINER".into(),
        "IMAGE".into(),
        "POLICY".into(),
    ]];
    for w in list {
        let policy = w.policy.summary();
        match w.containers.split_first() {
            None => rows.push(vec![w.id.to_string(), String::new(), String::new(), policy]),
            Some((first, rest)) => {
                rows.push(vec![
                    w.id.to_string(),
                    first.name.clone(),
                    first.image.to_string(),
                    policy,
                ]);
                for c in rest {
                    rows.push(vec![String::new(), c.name.clone(), c.image.to_string()]);
                }
            }
        }
    }
    table(out, &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// Available tags of an image with their creation times.
trait Available {
    fn available(
        &self,
        image: &ImageRef,
        timed: bool,
    ) -> anyhow::Result<Vec<(String, Option<SystemTime>)>>;
}

impl Available for TagFiles {
    fn available(
        &self,
        image: &ImageRef,
        _timed: bool,
    ) -> anyhow::Result<Vec<(String, Option<SystemTime>)>> {
        Ok(self.tags_of(image))
    }
}

impl Available for Registries {
    fn available(
        &self,
        image: &ImageRef,
        timed: bool,
    ) -> anyhow::Result<Vec<(String, Option<SystemTime>)>> {
        let tags = self
            .list_tags(image)
            .with_context(|| format!("listing the tags of {}", image.name()))?;
        Ok(tags
            .into_iter()
            .map(|t| {
                let created = if timed {
                    self.tag_info(image, &t)
                        .ok()
                        .and_then(|i| i.created)
                        .and_then(|s| u64::try_from(s).ok())
                        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
                } else {
                    None
                };
                (t, created)
            })
            .collect())
    }
}

fn registries(t: &TagSource) -> anyhow::Result<Registries> {
    let keychain = match &t.docker_config {
        Some(p) => Keychain::from_docker_config_file(p)?,
        None => Keychain::from_default_docker_config()?,
    };
    Registries::new(
        keychain,
        Duration::from_secs(60),
        t.insecure_registry.clone(),
    )
}

/// `02 Jan 06 15:04 UTC` (Go's RFC822 in UTC).
fn rfc822(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{d:02} {} {:02} {:02}:{:02} UTC",
        MONTHS[(m - 1) as usize],
        y % 100,
        rem / 3600,
        rem % 3600 / 60
    )
}

fn images(a: &ImagesArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let repo = load(&a.dir, &a.namespace)?;
    let only = match &a.workload {
        Some(w) => Some(WorkloadId::parse_in(w, &a.namespace)?),
        None => None,
    };
    if let Some(id) = &only {
        repo.workload(id)?;
    }
    let source: Box<dyn Available> = if a.tags.registry {
        Box::new(registries(&a.tags)?)
    } else {
        Box::new(load_tags(&a.tags.tags)?)
    };
    let mut json = Vec::new();
    let mut rows = vec![vec![
        "WORKLOAD".to_owned(),
        "CONTAINER".into(),
        "IMAGE".into(),
        "CREATED".into(),
    ]];
    for w in repo.workloads() {
        if only.as_ref().is_some_and(|id| id != &w.id) {
            continue;
        }
        let mut containers = Vec::new();
        let mut first = true;
        for c in &w.containers {
            let pattern = TagPattern::parse(&c.filter)
                .with_context(|| format!("{}: container {}", w.id, c.name))?;
            let (list, error) = match source.available(&c.image, pattern.requires_timestamp()) {
                Ok(l) => (l, None),
                Err(e) => (Vec::new(), Some(format!("{e:#}"))),
            };
            let mut infos: Vec<TagInfo<'_>> =
                list.iter().map(|(t, c)| TagInfo::new(t, *c)).collect();
            // fluxctl lists every image, sorted by the container's pattern.
            infos.sort_by(|x, y| {
                if pattern.newer(x, y) {
                    std::cmp::Ordering::Less
                } else if pattern.newer(y, x) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            });
            let current = c.image.tag().map(Tag::as_str).unwrap_or("");
            let latest = pattern.latest(&infos).ok().map(|i| i.tag.to_owned());
            containers.push(serde_json::json!({
                "name": c.name,
                "current": c.image.to_string(),
                "filter": c.filter,
                "latest_filtered": latest,
                "available": infos.iter().map(|i| serde_json::json!({
                    "tag": i.tag,
                    "created": i.created.map(rfc822),
                })).collect::<Vec<_>>(),
                "error": error,
            }));
            let id = if first {
                w.id.to_string()
            } else {
                String::new()
            };
            first = false;
            let image = c.image.name().to_owned();
            match &error {
                Some(e) => rows.push(vec![id, c.name.clone(), image, e.clone()]),
                None if infos.is_empty() => rows.push(vec![
                    id,
                    c.name.clone(),
                    image,
                    "image data not available".to_owned(),
                ]),
                None => rows.push(vec![id, c.name.clone(), image, String::new()]),
            }
            let mut found = false;
            for (n, i) in infos.iter().enumerate() {
                let marker = if i.tag == current {
                    found = true;
                    "'->"
                } else if found {
                    "   "
                } else {
                    "|  "
                };
                let shown = a.limit == 0 || n < a.limit;
                if shown || i.tag == current {
                    if !shown && n > a.limit {
                        rows.push(vec![
                            String::new(),
                            String::new(),
                            format!(": ({} image(s) omitted)", n - a.limit),
                        ]);
                    }
                    rows.push(vec![
                        String::new(),
                        String::new(),
                        format!("{marker} {}", i.tag),
                        i.created.map(rfc822).unwrap_or_default(),
                    ]);
                }
            }
            if !found {
                let tag = if current.is_empty() {
                    "(untagged)"
                } else {
                    current
                };
                rows.push(vec![
                    String::new(),
                    String::new(),
                    format!("'-> {tag}"),
                    "?".to_owned(),
                ]);
            }
        }
        json.push(serde_json::json!({"id": w.id, "containers": containers}));
    }
    if a.output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &json)?;
        writeln!(out)?;
    } else {
        table(out, &rows)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks and matches tag patterns with gitops-image's Flux v1 engine.
struct Patterns;

impl FilterCheck for Patterns {
    type Error = gitops_image::v1::Error;
    fn check(&self, pattern: &str) -> Result<(), Self::Error> {
        TagPattern::parse(pattern).map(|_| ())
    }
}

impl TagFilter for Patterns {
    type Error = gitops_image::v1::Error;
    fn matches(&self, filter: &str, tag: &str) -> Result<bool, Self::Error> {
        Ok(TagPattern::parse(filter)?.matches(tag))
    }
}

/// fluxd's default committer (`--git-user`, `--git-email`).
const FLUXD_USER: &str = "Weave Flux";
const FLUXD_EMAIL: &str = "support@weave.works";

fn author(user: Option<&str>) -> Signature {
    match user.map(str::trim).filter(|u| !u.is_empty()) {
        None => Signature {
            name: FLUXD_USER.to_owned(),
            email: FLUXD_EMAIL.to_owned(),
        },
        Some(u) => match u.split_once('<') {
            Some((name, email)) => Signature {
                name: name.trim().to_owned(),
                email: email.trim_end_matches('>').trim().to_owned(),
            },
            None => Signature {
                name: u.to_owned(),
                email: FLUXD_EMAIL.to_owned(),
            },
        },
    }
}

/// The outcome of an edit: files and commit message.
struct Edit {
    files: Vec<FileEdit>,
    message: String,
    report: serde_json::Value,
    text: Vec<String>,
}

fn diff(path: &RelPath, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Compute an edit on DIR (written atomically) or on the `--repo`
/// branch (committed and pushed), and print it.
fn run_edit(
    t: &EditTarget,
    compute: &dyn Fn(&Repository) -> anyhow::Result<Edit>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (edit, pushed) = match &t.repo {
        None => {
            let dir = t.dir.as_ref().context("DIR is required without --repo")?;
            let repo = load(dir, &t.namespace)?;
            let edit = compute(&repo)?;
            if !t.dry_run && !edit.files.is_empty() {
                let mut w = gitops_core::fs::atomic::Writer::new(dir)
                    .with_context(|| format!("cannot write under {}", dir.display()))?;
                for f in &edit.files {
                    w.stage(&f.path, f.new.as_bytes())?;
                }
                w.commit()?;
            }
            (edit, None)
        }
        Some(r) => {
            let url = repo_url(r)?;
            let mut git = GitClient::new();
            if let Some(user) = &t.git_username {
                let password = std::env::var("GITOPS_GIT_PASSWORD")
                    .context("--git-username needs the password in GITOPS_GIT_PASSWORD")?;
                git = git.with_auth(Auth::Basic {
                    username: user.clone(),
                    password,
                });
            }
            let branch = match &t.branch {
                Some(b) => b.clone(),
                None => ["main", "master"]
                    .into_iter()
                    .find(|b| matches!(git.resolve_branch(&url, b), Ok(Some(_))))
                    .context("neither branch main nor master exists; give --branch")?
                    .to_owned(),
            };
            let sub = match &t.dir {
                Some(d) => RelPath::new(d.to_string_lossy().trim_matches('/'))
                    .with_context(|| format!("invalid path {}", d.display()))?,
                None => RelPath::root(),
            };
            let on = |tree: &MemTree| -> anyhow::Result<Edit> {
                let repo = Repository::load_in(tree, &sub, &t.namespace)?;
                compute(&repo)
            };
            if t.dry_run {
                let head = git
                    .resolve_branch(&url, &branch)?
                    .with_context(|| format!("branch {branch} not found"))?;
                (on(&git.fetch_tree(&url, &head)?)?, None)
            } else {
                let opts = writeback::Options::new(&branch, author(t.user.as_deref()));
                let mut last = None;
                let outcome = writeback::commit_and_push(&git, &url, &opts, |tree: &MemTree| {
                    let e = on(tree).map_err(EditError)?;
                    let change = Change {
                        files: e
                            .files
                            .iter()
                            .map(|f| (f.path.clone(), f.new.clone().into_bytes()))
                            .collect(),
                        message: e.message.clone(),
                    };
                    last = Some(e);
                    Ok::<_, EditError>(change)
                })
                .map_err(|e| {
                    anyhow::anyhow!("{}", crate::output::error_chain(&anyhow::Error::new(e)))
                })?;
                let edit = last.context("the change was never computed")?;
                (edit, Some(outcome))
            }
        }
    };
    let diffs: Vec<String> = edit
        .files
        .iter()
        .map(|f| diff(&f.path, &f.old, &f.new))
        .collect();
    if t.output == OutputFormat::Json {
        let pushed = pushed.as_ref().map(|o| match o {
            Outcome::Pushed { commit, branch, .. } => {
                serde_json::json!({"commit": commit, "branch": branch})
            }
            _ => serde_json::Value::Null,
        });
        let v = serde_json::json!({
            "dry_run": t.dry_run,
            "result": edit.report,
            "files": edit.files.iter().map(|f| f.path.to_string()).collect::<Vec<_>>(),
            "message": edit.message,
            "diff": diffs.concat(),
            "pushed": pushed,
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        for l in &edit.text {
            writeln!(out, "{l}")?;
        }
        if t.dry_run {
            for d in &diffs {
                out.write_all(d.as_bytes())?;
            }
        } else if edit.files.is_empty() {
            writeln!(out, "nothing to change")?;
        } else {
            match &pushed {
                Some(Outcome::Pushed { commit, branch, .. }) => {
                    writeln!(out, "pushed commit {commit} to branch {branch}")?;
                }
                Some(_) => writeln!(out, "up to date: nothing to commit")?,
                None => {
                    let files: Vec<String> =
                        edit.files.iter().map(|f| f.path.to_string()).collect();
                    writeln!(out, "updated {}", files.join(", "))?;
                }
            }
            for l in edit.message.lines() {
                writeln!(out, "{}", format!("    {l}").trim_end())?;
            }
        }
    }
    Ok(if t.dry_run && !edit.files.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// An edit that failed inside the push loop.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::output::error_chain(.0))]
struct EditError(anyhow::Error);

fn policy_cmd(
    a: &PolicyArgs,
    base: Option<PolicyUpdate>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let id = WorkloadId::parse_in(&a.workload, &a.target.namespace)?;
    let mut u = base.unwrap_or_default();
    if a.automate {
        u = u.merge(PolicyUpdate::automate());
    }
    if a.deautomate {
        u = u.merge(PolicyUpdate::deautomate());
    }
    if a.lock {
        u = u.merge(PolicyUpdate::lock(
            a.target.user.as_deref(),
            a.target.message.as_deref(),
        ));
    }
    if a.unlock {
        u = u.merge(PolicyUpdate::unlock());
    }
    for t in &a.tags {
        let Some((c, p)) = t.split_once('=').filter(|(c, _)| !c.is_empty()) else {
            bail!("invalid --tag {t:?}: expected CONTAINER=PATTERN");
        };
        u = u.tag(c, p);
    }
    if let Some(p) = &a.tag_all {
        u = u.tag_all(p);
    }
    let message = a.target.message.clone();
    let compute = |repo: &Repository| -> anyhow::Result<Edit> {
        let e = policy::update_with_message(repo, &id, &u, &Patterns, message.as_deref())?;
        let text = e
            .changes
            .iter()
            .map(|c| match (&c.old, &c.new) {
                (None, Some(n)) => format!("{}: add {}: {n:?}", e.workload, c.key),
                (Some(o), Some(n)) => format!("{}: set {}: {o:?} -> {n:?}", e.workload, c.key),
                (_, None) => format!("{}: remove {}", e.workload, c.key),
            })
            .collect();
        Ok(Edit {
            report: serde_json::to_value(&e)?,
            files: e.files,
            message: e.message,
            text,
        })
    };
    run_edit(&a.target, &compute, out)
}

/// The tag chooser of `--update-all-images`.
enum Chooser {
    Table(TagFiles),
    Registry(Box<Registries>),
}

impl TagChooser for Chooser {
    type Error = ChooserError;
    fn choose(&self, image: &ImageRef, filter: &str) -> Result<Option<Tag>, ChooserError> {
        match self {
            Chooser::Table(t) => t
                .chooser()
                .choose(image, filter)
                .map_err(|e| ChooserError(format!("{:#}", anyhow::Error::new(e)))),
            Chooser::Registry(r) => gitops_automate::RegistryChooser::new(r.as_ref())
                .choose(image, filter)
                .map_err(|e| ChooserError(format!("{:#}", anyhow::Error::new(e)))),
        }
    }
}

/// Why no tag was chosen.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ChooserError(String);

fn release_cmd(a: &ReleaseArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let ns = &a.target.namespace;
    let ids = a
        .workloads
        .iter()
        .map(|w| WorkloadId::parse_in(w, ns))
        .collect::<Result<Vec<_>, _>>()?;
    let excludes = a
        .exclude
        .iter()
        .map(|w| WorkloadId::parse_in(w, ns))
        .collect::<Result<Vec<_>, _>>()?;
    let image = match &a.update_image {
        Some(i) => ImageSpec::parse(i)?,
        None => ImageSpec::AllLatest,
    };
    if a.force && a.update_all_images {
        eprintln!(
            "warning: --force will not ignore container image tags when used with --update-all-images"
        );
    }
    let spec = ReleaseSpec {
        workloads: if a.all {
            Workloads::All
        } else {
            Workloads::Ids(ids)
        },
        image,
        excludes,
        force: a.force,
    };
    let chooser = if a.tags.registry {
        Chooser::Registry(Box::new(registries(&a.tags)?))
    } else {
        Chooser::Table(load_tags(&a.tags.tags)?)
    };
    let message = a.target.message.clone();
    let compute = |repo: &Repository| -> anyhow::Result<Edit> {
        let r = release::release(repo, &spec, &Patterns, &chooser, message.as_deref())?;
        let mut text = Vec::new();
        let mut rows = vec![vec![
            "WORKLOAD".to_owned(),
            "STATUS".into(),
            "UPDATES".into(),
        ]];
        for w in &r.results {
            let status = w.status.as_str();
            if w.containers.is_empty() {
                rows.push(vec![
                    w.workload.to_string(),
                    status.to_owned(),
                    format!("({})", w.reason.as_deref().unwrap_or("")),
                ]);
            }
            for (i, c) in w.containers.iter().enumerate() {
                let target_tag = c.target.rsplit_once(':').map_or(c.target.as_str(), |x| x.1);
                rows.push(vec![
                    if i == 0 {
                        w.workload.to_string()
                    } else {
                        String::new()
                    },
                    if i == 0 {
                        status.to_owned()
                    } else {
                        String::new()
                    },
                    format!("{}: {} -> {target_tag}", c.container, c.current),
                ]);
            }
        }
        let mut buf = Vec::new();
        table(&mut buf, &rows)?;
        text.extend(String::from_utf8_lossy(&buf).lines().map(str::to_owned));
        Ok(Edit {
            report: serde_json::to_value(&r)?,
            files: r.files,
            message: r.message,
            text,
        })
    };
    run_edit(&a.target, &compute, out)
}

fn gc(a: &GcArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let set = a.set.name();
    let rendered = a.set.rendered(&a.rendered)?;
    let text = std::fs::read_to_string(&a.cluster)
        .with_context(|| format!("reading {}", a.cluster.display()))?;
    let cluster = v1gc::cluster_objects(&text, &a.cluster.display().to_string())?;
    let decisions = v1gc::prune(&rendered, &cluster, &set);
    let by_id: BTreeMap<&str, &v1gc::ClusterObject> =
        cluster.iter().map(|o| (o.id.as_str(), o)).collect();
    let inventory = if a.inventory {
        Some(v1gc::to_inventory(&rendered)?)
    } else {
        None
    };
    if a.output == OutputFormat::Json {
        let v = serde_json::json!({
            "sync_set": set,
            "dry_run": a.dry_run,
            "decisions": decisions.iter().map(|d| serde_json::json!({
                "id": d.id,
                "apiVersion": d.api_version,
                "kind": d.kind,
                "action": d.action.as_str(),
                "reason": d.reason.code(),
            })).collect::<Vec<_>>(),
            "inventory": inventory.as_ref().map(|i| i.to_json()),
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = |w: &mut dyn Write| -> anyhow::Result<()> {
        writeln!(w, "sync set {set}")?;
        for d in &decisions {
            writeln!(
                w,
                "{} {} ({})",
                d.action.as_str(),
                d.id,
                d.reason.describe()
            )?;
        }
        if let Some(inv) = &inventory {
            writeln!(w, "inventory:")?;
            for e in &inv.entries {
                writeln!(w, "  {} {}", e.id, e.version)?;
            }
        }
        Ok(())
    };
    if a.dry_run {
        report(out)?;
    } else {
        let mut err = std::io::stderr();
        report(&mut err)?;
        for d in decisions
            .iter()
            .filter(|d| d.action == v1gc::Action::Delete)
        {
            let o = by_id.get(d.id.as_str());
            let doc = d.identifying_yaml(
                o.and_then(|o| o.namespace.as_deref()),
                o.map_or("", |o| o.name.as_str()),
            );
            write!(out, "---{doc}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mark(a: &MarkArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let set = a.set.name();
    for r in a.set.rendered(&a.rendered)? {
        write!(out, "---\n{}", r.marked(&set))?;
    }
    Ok(ExitCode::SUCCESS)
}
