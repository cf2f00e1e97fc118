//! The image update loop of Flux's image-automation-controller (and of Flux
//! v1's fluxd), as one call over the core traits (feature `automate`).
//!
//! [`run`] takes a [`GitTransport`] (the real `git::Client` of feature
//! `git`, or [`gitops_core::git::MemRemote`]) and a [`TagLister`] (the real
//! `registry::Client` of feature `oci`, or
//! [`gitops_core::registry::MemRegistry`]) and:
//!
//! 1. fetches the Git source (a branch) and reads the `ImageUpdateAutomation`,
//!    `ImagePolicy`, `ImageRepository` and `GitRepository` objects kept in it
//!    (objects given in [`Options::objects`] replace same-named ones);
//! 2. checks out the automation's branch (`--branch`, else
//!    `spec.git.checkout.ref.branch`, else the `GitRepository`'s
//!    `spec.ref.branch`, else the branch the objects were read from);
//! 3. lists the tags of each `ImageRepository` (its `exclusionList` applied)
//!    and selects the latest per `ImagePolicy` (gitops-image), looking up the
//!    digest when `digestReflectionPolicy` asks for it;
//! 4. rewrites the setter markers under `spec.update.path` (gitops-setters,
//!    byte-preserving) and, with [`Options::flux_v1`], the Flux v1 annotated
//!    workloads (`fluxcd.io/automated`);
//! 5. renders the commit message template, commits as
//!    `spec.git.commit.author` and pushes to `spec.git.push.branch` (else the
//!    checkout branch) without force, re-applying on the new head when the
//!    push is rejected (bounded by [`Options::max_attempts`]);
//! 6. returns a [`Report`]: per policy the previous and new tags, files
//!    changed, commit id and branch. With [`Options::dry_run`] nothing is
//!    pushed and the report carries the unified diff instead.
//!
//! A second run over an updated repository is a no-op: no commit is made
//! ([`Outcome::UpToDate`]).
//!
//! ```
//! use gitops_core::fs::{FileTree, MemTree, RelPath};
//! use gitops_core::git::{GitTransport, MemRemote};
//! use gitops_core::registry::MemRegistry;
//! use gitops_source::automate::{self, Options, Outcome};
//!
//! let mut tree = MemTree::new();
//! tree.insert("flux/image.yaml", "\
//! apiVersion: image.toolkit.fluxcd.io/v1beta2
//! kind: ImageRepository
//! metadata: {name: app, namespace: flux-system}
//! spec: {image: ghcr.io/org/app, interval: 5m}
//! ---
//! apiVersion: image.toolkit.fluxcd.io/v1beta2
//! kind: ImagePolicy
//! metadata: {name: app, namespace: flux-system}
//! spec:
//!   imageRepositoryRef: {name: app}
//!   policy: {semver: {range: 1.x}}
//! ---
//! apiVersion: image.toolkit.fluxcd.io/v1beta2
//! kind: ImageUpdateAutomation
//! metadata: {name: apps, namespace: flux-system}
//! spec:
//!   interval: 5m
//!   sourceRef: {kind: GitRepository, name: flux-system}
//!   git:
//!     commit:
//!       author: {name: bot, email: bot@example.com}
//!       messageTemplate: 'Update {{ changed.changes | length }} image(s)'
//!   update: {path: ./apps}
//! ")?;
//! tree.insert("apps/app.yaml", "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n")?;
//! let remote = MemRemote::new();
//! remote.seed("mem://repo", "main", tree, "initial");
//! let mut registry = MemRegistry::new();
//! for tag in ["1.0.0", "1.2.0", "2.0.0"] {
//!     registry.add("ghcr.io/org/app", tag, None);
//! }
//!
//! let report = automate::run(&remote, &registry, &Options::new("mem://repo"), &mut |_| {})?;
//! let Outcome::Pushed { commit, branch, .. } = &report.outcome else { panic!("{report:?}") };
//! assert_eq!(branch, "main");
//! assert_eq!(report.policies[0].previous, ["1.0.0"]);
//! assert_eq!(report.policies[0].tag.as_deref(), Some("1.2.0"));
//! assert_eq!(report.message.as_deref(), Some("Update 1 image(s)"));
//! let pushed = remote.fetch_tree("mem://repo", commit)?;
//! assert_eq!(pushed.read_to_string(&RelPath::new("apps/app.yaml")?)?,
//!     "image: ghcr.io/org/app:1.2.0 # {\"$imagepolicy\": \"flux-system:app\"}\n");
//!
//! // Idempotent: nothing left to do, no commit.
//! let again = automate::run(&remote, &registry, &Options::new("mem://repo"), &mut |_| {})?;
//! assert!(matches!(again.outcome, Outcome::UpToDate { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Flux reads the automation objects from the cluster; here they come from
//!   the repository itself (every `*.yaml`/`*.yml` file mentioning
//!   `image.toolkit.fluxcd.io`) or from [`Options::objects`]. An
//!   `ImagePolicy`/`ImageRepository` without `metadata.namespace` is taken
//!   to be in the automation's namespace (where a Kustomization would apply
//!   it); an automation without one is in `default`.
//! - Tags are listed at run time through the [`TagLister`] (Flux reads the
//!   ImageRepository's last scan); `spec.insecure`, `secretRef`, `provider`
//!   of the ImageRepository are the caller's business (the lister's
//!   configuration).
//! - Only branch checkouts are written back; a `git.checkout.ref` with a
//!   tag, semver range, commit or ref name is refused with
//!   [`Error::UnsupportedCheckout`]. `push.refspec` and `push.options` are
//!   refused with [`Error::Unsupported`] rather than ignored.
//! - The push is never forced; an existing push branch is updated on top of
//!   its own head (see [`crate::writeback`]).
//! - A policy whose tags cannot be listed or selected is reported in its
//!   [`PolicyReport::error`] and left out (Flux ignores policies without a
//!   latest image); the other policies are still applied.
//! - Commit messages are MiniJinja templates, not Go templates (see
//!   [`gitops_setters::message`]); a Go template gives
//!   [`gitops_setters::message::Error::GoTemplate`] naming the construct.
//! - `digestReflectionPolicy: IfNotPresent` looks the digest up like
//!   `Always` (there is no recorded status to reuse).
//! - Flux v1 workloads (`fluxcd.io/automated`) are updated under the same
//!   `spec.update.path` as the setters (fluxd used its `--git-path`); their
//!   tags are listed without an exclusion list, as fluxd did.

mod chooser;
mod objects;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gitops_core::flux::{FluxObject, ImagePolicy, ImageRepository, ImageUpdateAutomation, Object};
use gitops_core::fs::{MemTree, RelPath};
use gitops_core::git::{GitTransport, Signature};
use gitops_core::registry::TagLister;
use gitops_core::{ImageRef, Tag};
use gitops_image::{Exclusions, Policy};
use gitops_setters::apply::{self, Policies};
use gitops_setters::marker::{Field, PolicyId};
use gitops_setters::message::{self, AutomationObject, TemplateData};
use gitops_setters::report::ChangeSource;
use serde::Serialize;

use crate::writeback;

pub use chooser::{ChooseError, RegistryChooser};
pub use objects::{Found, LabelSelector, parse_objects, parse_objects_in, read_objects};

/// A boxed error from a transport or registry implementation.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the loop stopped. Per-policy problems do not stop it: they are in
/// [`PolicyReport::error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to the Git remote failed.
    #[error("git operation on {url} failed")]
    Git {
        /// The remote, without user info.
        url: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// None of the branches exists on the remote.
    #[error("none of the branches {tried:?} exists in {url}")]
    BranchNotFound {
        /// The remote, without user info.
        url: String,
        /// The branches looked for.
        tried: Vec<String>,
    },
    /// The repository holds no ImageUpdateAutomation and none was given.
    #[error(
        "no ImageUpdateAutomation found in {url} (branch {branch:?}); give one with --automation FILE"
    )]
    NoAutomation {
        /// The remote.
        url: String,
        /// The branch read.
        branch: String,
    },
    /// Several automations and no name to choose one.
    #[error("several ImageUpdateAutomations found ({}); choose one by <namespace>/<name>", .names.join(", "))]
    AmbiguousAutomation {
        /// Their `namespace/name`s.
        names: Vec<String>,
    },
    /// The named automation is not there.
    #[error("ImageUpdateAutomation {name:?} not found (found: {})", .found.join(", "))]
    AutomationNotFound {
        /// The name asked for.
        name: String,
        /// What there is.
        found: Vec<String>,
    },
    /// The automation asks for something that cannot work.
    #[error("ImageUpdateAutomation {automation}: {field}: {reason}")]
    InvalidAutomation {
        /// `namespace/name`.
        automation: String,
        /// The field, e.g. `spec.sourceRef.kind`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The checkout ref is not a branch (only branches are written back).
    #[error(
        "ImageUpdateAutomation {automation}: checkout ref {reference} is not a branch; only branch checkouts can be updated"
    )]
    UnsupportedCheckout {
        /// `namespace/name`.
        automation: String,
        /// The ref, e.g. `tag v1.0.0`.
        reference: String,
    },
    /// A Flux feature this loop does not implement (refused, never ignored).
    #[error("ImageUpdateAutomation {automation}: {field} is not supported")]
    Unsupported {
        /// `namespace/name`.
        automation: String,
        /// The field.
        field: &'static str,
    },
    /// Rewriting the files failed.
    #[error("cannot update the files")]
    Apply(#[from] apply::Error),
    /// The commit message template failed.
    #[error("cannot render the commit message of {automation}")]
    Message {
        /// `namespace/name`.
        automation: String,
        /// The cause.
        #[source]
        source: message::Error,
    },
    /// Every push was rejected because the branch kept moving.
    #[error("push to {branch:?} of {url} rejected {attempts} times (the branch keeps moving)")]
    PushExhausted {
        /// The remote.
        url: String,
        /// The branch.
        branch: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl Error {
    /// The automation (`namespace/name`) the error is about, when known.
    pub fn automation(&self) -> Option<&str> {
        match self {
            Error::InvalidAutomation { automation, .. }
            | Error::UnsupportedCheckout { automation, .. }
            | Error::Unsupported { automation, .. }
            | Error::Message { automation, .. } => Some(automation),
            _ => None,
        }
    }

    /// The Flux condition reason for this failure (`GitOperationFailed`,
    /// `UpdateFailed`, `InvalidSourceConfiguration`, …), used in events.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Git { .. } | Error::BranchNotFound { .. } | Error::PushExhausted { .. } => {
                "GitOperationFailed"
            }
            Error::NoAutomation { .. }
            | Error::AmbiguousAutomation { .. }
            | Error::AutomationNotFound { .. }
            | Error::UnsupportedCheckout { .. }
            | Error::Unsupported { .. } => "InvalidSourceConfiguration",
            Error::InvalidAutomation { field, .. } => match *field {
                "spec.policySelector" => "InvalidPolicySelector",
                "spec.update" => "InvalidUpdateStrategy",
                _ => "InvalidSourceConfiguration",
            },
            Error::Apply(_) => "UpdateFailed",
            Error::Message { source, .. } => match source {
                message::Error::GoTemplate { .. } => "RemovedTemplateField",
                _ => "UpdateFailed",
            },
        }
    }
}

/// What [`run`] is told.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Git remote (any URL the transport understands).
    pub url: String,
    /// The branch to check out; overrides the automation's.
    pub branch: Option<String>,
    /// Which automation, as `namespace/name` (or `name`), when several exist.
    pub automation: Option<String>,
    /// Objects given by the caller; they replace objects of the same kind,
    /// namespace and name read from the repository.
    pub objects: Vec<Object>,
    /// Compute the change and its diff, push nothing.
    pub dry_run: bool,
    /// Push attempts before giving up (default [`writeback::DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// Also update Flux v1 annotated workloads (default on).
    pub flux_v1: bool,
}

impl Options {
    /// Defaults for `url`: objects from the repository, Flux v1 on, not a dry run.
    pub fn new(url: &str) -> Options {
        Options {
            url: url.to_owned(),
            branch: None,
            automation: None,
            objects: Vec::new(),
            dry_run: false,
            max_attempts: writeback::DEFAULT_MAX_ATTEMPTS,
            flux_v1: true,
        }
    }
}

/// A step of the loop, for progress reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Fetching `branch` of the remote.
    Fetching {
        /// The branch.
        branch: String,
    },
    /// The tree of `commit` was fetched.
    Fetched {
        /// The branch.
        branch: String,
        /// The commit.
        commit: String,
        /// Number of files.
        files: usize,
    },
    /// The automation and its policies were found.
    Automation {
        /// `namespace/name`.
        name: String,
        /// Number of policies selected.
        policies: usize,
    },
    /// Listing the tags of image repository `index` of `total`.
    Scanning {
        /// The image.
        image: String,
        /// 1-based index.
        index: usize,
        /// How many repositories in all.
        total: usize,
    },
    /// A policy selected its latest image.
    Selected {
        /// `namespace:name`.
        policy: String,
        /// The image.
        image: String,
    },
    /// Rewriting files under `path`.
    Updating {
        /// The update path (`""` = root).
        path: String,
    },
    /// Pushing to `branch`.
    Pushing {
        /// The branch.
        branch: String,
    },
}

/// A change of one scalar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeLine {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The value before.
    pub old: String,
    /// The value after.
    pub new: String,
}

/// What happened to one ImagePolicy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    /// `namespace:name`.
    pub policy: String,
    /// The ImageRepository's image.
    pub image: String,
    /// The latest image (`name:tag[@digest]`), when selected.
    pub latest: Option<String>,
    /// The selected tag.
    pub tag: Option<String>,
    /// The digest, when reflected.
    pub digest: Option<String>,
    /// Distinct tags the markers of this policy held before (only markers
    /// that changed; whole-image and `:tag` markers).
    pub previous: Vec<String>,
    /// Files changed for this policy.
    pub files: Vec<String>,
    /// The scalar changes.
    pub changes: Vec<ChangeLine>,
    /// Why no image was selected.
    pub error: Option<String>,
}

/// A Flux v1 workload container that moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadChange {
    /// `Kind/namespace/name`.
    pub object: String,
    /// The container (or `container:part`).
    pub container: String,
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The value before.
    pub old: String,
    /// The value after.
    pub new: String,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing to change; no commit was made.
    UpToDate {
        /// The head the check ran on.
        head: String,
    },
    /// A commit was pushed.
    Pushed {
        /// The new commit.
        commit: String,
        /// The branch it went to.
        branch: String,
        /// Push attempts (1 = no race).
        attempts: u32,
    },
    /// `spec.suspend: true`: nothing was scanned, changed or pushed.
    Suspended,
    /// Dry run: changes were found and not pushed (see [`Report::diff`]).
    WouldPush {
        /// The branch that would receive them.
        branch: String,
        /// The head they were computed on.
        head: String,
    },
}

/// The result of [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The automation, `namespace/name`.
    pub automation: String,
    /// The remote, without user info.
    pub url: String,
    /// The branch checked out.
    pub checkout_branch: String,
    /// Its head when read.
    pub checkout_commit: String,
    /// The branch pushed to.
    pub push_branch: String,
    /// How it ended.
    pub outcome: Outcome,
    /// One entry per ImagePolicy of the automation.
    pub policies: Vec<PolicyReport>,
    /// Flux v1 workload changes.
    pub workloads: Vec<WorkloadChange>,
    /// Files changed (or, in a dry run, that would change).
    pub files_changed: Vec<String>,
    /// The commit message (when something changed).
    pub message: Option<String>,
    /// Warnings with file and line (unparsable files, bad markers…).
    pub warnings: Vec<String>,
    /// Dry run: the unified diff of every changed file.
    pub diff: Option<String>,
}

impl Report {
    /// True when files changed (pushed, or would be in a dry run).
    pub fn changed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Pushed { .. } | Outcome::WouldPush { .. }
        )
    }

    /// True when a policy could not select an image.
    pub fn has_policy_errors(&self) -> bool {
        self.policies.iter().any(|p| p.error.is_some())
    }
}

pub use gitops_core::url::redact;

/// The user and password of `url`'s user info (raw and percent-decoded),
/// which must never be shown.
pub fn secrets_of(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let Some((userinfo, _)) = rest[..end].rsplit_once('@') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in userinfo.split(':').filter(|p| !p.is_empty()) {
        out.push(part.to_owned());
        let decoded = percent_decode(part);
        if decoded != part {
            out.push(decoded);
        }
    }
    // Longest first, so a secret containing another is removed whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every secret replaced by `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_owned();
    for s in secrets {
        t = t.replace(s.as_str(), "***");
    }
    t
}

/// A transport error whose text may hold the remote's credentials: it
/// displays its whole cause chain with them removed and exposes no further
/// source, so no reporter can print them. [`Scrubbed::inner`] keeps the
/// typed error for programs.
#[derive(Debug)]
pub struct Scrubbed {
    text: String,
    inner: BoxError,
}

impl Scrubbed {
    /// Wrap `e`, removing `secrets` from its text.
    pub fn new(e: BoxError, secrets: &[String]) -> Scrubbed {
        Scrubbed {
            text: scrub(&chain(e.as_ref()), secrets),
            inner: e,
        }
    }

    /// The original error (its text may contain credentials: do not print it).
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.inner.as_ref()
    }
}

impl std::fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Scrubbed {}

fn git_err<E: std::error::Error + Send + Sync + 'static>(url: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Git {
        url: redact(url),
        source: Box::new(Scrubbed::new(Box::new(e), &secrets_of(url))),
    }
}

fn fetch<G: GitTransport>(
    git: &G,
    url: &str,
    branches: &[String],
    progress: &mut dyn FnMut(Progress),
) -> Result<(String, String, MemTree), Error> {
    for b in branches {
        progress(Progress::Fetching { branch: b.clone() });
        if let Some(head) = git.resolve_branch(url, b).map_err(git_err(url))? {
            let tree = git.fetch_tree(url, &head).map_err(git_err(url))?;
            progress(Progress::Fetched {
                branch: b.clone(),
                commit: head.clone(),
                files: tree.len(),
            });
            return Ok((b.clone(), head, tree));
        }
    }
    Err(Error::BranchNotFound {
        url: redact(url),
        tried: branches.to_vec(),
    })
}

/// The policy ids and images selected, plus their reports.
struct Selection {
    policies: Policies,
    reports: Vec<(PolicyId, PolicyReport)>,
}

fn select<R: TagLister>(
    registry: &R,
    policies: &[&ImagePolicy],
    repositories: &[&ImageRepository],
    default_ns: &str,
    progress: &mut dyn FnMut(Progress),
) -> Selection {
    let ns_of = |m: &gitops_core::flux::ObjectMeta| {
        m.namespace.clone().unwrap_or_else(|| default_ns.to_owned())
    };
    // Images to scan, in policy order, each once.
    let mut wanted: Vec<(String, &ImageRepository)> = Vec::new();
    for p in policies {
        let repo_ns = p
            .spec
            .image_repository_ref
            .namespace
            .clone()
            .unwrap_or_else(|| ns_of(&p.metadata));
        let key = format!("{repo_ns}/{}", p.spec.image_repository_ref.name);
        if wanted.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if let Some(r) = repositories.iter().find(|r| {
            ns_of(&r.metadata) == repo_ns
                && r.metadata.name.as_deref() == Some(&p.spec.image_repository_ref.name)
        }) {
            wanted.push((key, r));
        }
    }
    let total = wanted.len();
    let mut scans: HashMap<String, Result<(ImageRef, Vec<String>), String>> = HashMap::new();
    for (i, (key, repo)) in wanted.iter().enumerate() {
        progress(Progress::Scanning {
            image: repo.spec.image.clone(),
            index: i + 1,
            total,
        });
        let result = (|| {
            let image = ImageRef::parse(&repo.spec.image)
                .map_err(|e| format!("invalid image {:?}: {e}", repo.spec.image))?
                .without_tag_and_digest();
            let exclusions = Exclusions::from_spec(&repo.spec)
                .map_err(|e| format!("invalid exclusionList: {}", chain(&e)))?;
            let tags = registry
                .list_tags(&image)
                .map_err(|e| format!("cannot list tags of {}: {}", image.name(), chain(&e)))?;
            let kept = tags
                .into_iter()
                .filter(|t| !exclusions.is_excluded(t))
                .collect();
            Ok((image, kept))
        })();
        scans.insert(key.clone(), result);
    }
    let mut out = Selection {
        policies: Policies::new(),
        reports: Vec::new(),
    };
    for p in policies {
        let ns = ns_of(&p.metadata);
        let name = p.metadata.name.clone().unwrap_or_default();
        let id = PolicyId::new(ns.clone(), name);
        let repo_ns = p
            .spec
            .image_repository_ref
            .namespace
            .clone()
            .unwrap_or_else(|| ns.clone());
        let key = format!("{repo_ns}/{}", p.spec.image_repository_ref.name);
        let mut report = PolicyReport {
            policy: id.to_string(),
            image: String::new(),
            latest: None,
            tag: None,
            digest: None,
            previous: Vec::new(),
            files: Vec::new(),
            changes: Vec::new(),
            error: None,
        };
        let picked = (|| {
            let (image, tags) = match scans.get(&key) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return Err(e.clone()),
                None => return Err(format!("ImageRepository {key} not found")),
            };
            report.image = image.name().to_owned();
            let policy =
                Policy::from_spec(&p.spec).map_err(|e| format!("invalid policy: {}", chain(&e)))?;
            let tag = policy
                .select(tags)
                .map_err(|e| format!("no tag selected by {policy}: {}", chain(&e)))?;
            let tag = Tag::parse(tag).map_err(|e| format!("invalid tag {tag:?}: {e}"))?;
            let mut latest = image.clone().with_tag(tag.clone());
            let reflect = p
                .spec
                .digest_reflection_policy
                .as_deref()
                .unwrap_or("Never");
            match reflect {
                "" | "Never" => {}
                "IfNotPresent" | "Always" => {
                    let info = registry.tag_info(image, tag.as_str()).map_err(|e| {
                        format!("cannot look up the digest of {latest}: {}", chain(&e))
                    })?;
                    if let Some(d) = info.digest {
                        latest = latest.with_digest(d);
                    }
                }
                other => {
                    return Err(format!(
                        "invalid digestReflectionPolicy {other:?}, must be one of: Never, IfNotPresent, Always"
                    ));
                }
            }
            Ok((tag, latest))
        })();
        match picked {
            Ok((tag, latest)) => {
                progress(Progress::Selected {
                    policy: id.to_string(),
                    image: latest.to_string(),
                });
                report.tag = Some(tag.as_str().to_owned());
                report.digest = latest.digest().map(|d| d.to_string());
                report.latest = Some(latest.to_string());
                out.policies.insert(id.clone(), latest);
            }
            Err(e) => report.error = Some(e),
        }
        out.reports.push((id, report));
    }
    out
}

/// `e` and its sources, joined with `: `.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The files an update changes: path → (old text, new text).
type Edits = BTreeMap<RelPath, (String, String)>;

/// Run the setters and the v1 engine over `tree` under `dir`, in memory.
fn update<C: gitops_setters::v1::TagChooser + Sync>(
    tree: &MemTree,
    dir: &RelPath,
    policies: &Policies,
    chooser: Option<&C>,
) -> Result<(Edits, gitops_setters::Report), Error> {
    let mut edits: Edits = BTreeMap::new();
    let mut report = apply::apply_tree(tree, dir, policies, &mut |p, old, new| {
        edits.insert(p.clone(), (old.to_owned(), new.to_owned()));
        Ok(())
    })?;
    if let Some(chooser) = chooser {
        let mut next = tree.clone();
        for (p, (_, new)) in &edits {
            // A RelPath from the tree is never the root.
            let _ = next.insert(p.as_str(), new);
        }
        let v1 = gitops_setters::v1::update_tree(&next, dir, chooser, &mut |p, old, new| {
            edits
                .entry(p.clone())
                .and_modify(|e| e.1 = new.to_owned())
                .or_insert_with(|| (old.to_owned(), new.to_owned()));
            Ok(())
        })?;
        report.changes.extend(v1.changes);
        report.warnings.extend(v1.warnings);
        report.markers += v1.markers;
    }
    report.files_changed = edits.keys().cloned().collect();
    Ok((edits, report))
}

fn unified_diff(edits: &Edits) -> String {
    let mut out = String::new();
    for (p, (old, new)) in edits {
        out.push_str(
            &similar::TextDiff::from_lines(old.as_str(), new.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{p}"), &format!("b/{p}"))
                .to_string(),
        );
    }
    out
}

fn name_of<T: FluxObject>(o: &T, default_ns: &str) -> String {
    let m = o.metadata();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(default_ns),
        m.name.as_deref().unwrap_or("")
    )
}

/// Kubernetes' namespace for objects that do not say.
pub const DEFAULT_NAMESPACE: &str = "default";

fn pick_automation(found: &Found, want: Option<&str>) -> Result<ImageUpdateAutomation, Error> {
    let names: Vec<String> = found
        .automations
        .iter()
        .map(|a| name_of(a, DEFAULT_NAMESPACE))
        .collect();
    match want {
        Some(w) => {
            let full = if w.contains('/') {
                w.to_owned()
            } else {
                String::new()
            };
            found
                .automations
                .iter()
                .zip(&names)
                .find(|(a, n)| {
                    **n == full || (full.is_empty() && a.metadata.name.as_deref() == Some(w))
                })
                .map(|(a, _)| a.clone())
                .ok_or_else(|| Error::AutomationNotFound {
                    name: w.to_owned(),
                    found: names.clone(),
                })
        }
        None => match found.automations.as_slice() {
            [one] => Ok(one.clone()),
            [] => unreachable_none(),
            _ => Err(Error::AmbiguousAutomation { names }),
        },
    }
}

/// Callers check for an empty list first; keep the match total without panicking.
fn unreachable_none() -> Result<ImageUpdateAutomation, Error> {
    Err(Error::AmbiguousAutomation { names: Vec::new() })
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// The loop. See the [module docs](self).
///
/// # Errors
/// [`Error`]; per-policy failures are in the report instead.
pub fn run<G, R>(
    git: &G,
    registry: &R,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, Error>
where
    G: GitTransport,
    R: TagLister + Sync,
{
    let url = opts.url.as_str();
    let first: Vec<String> = match &opts.branch {
        Some(b) => vec![b.clone()],
        None => vec!["main".to_owned(), "master".to_owned()],
    };
    let (mut branch, mut head, mut tree) = fetch(git, url, &first, progress)?;
    let mut found = read_objects(&tree);
    found.merge(opts.objects.iter().cloned());
    if found.automations.is_empty() {
        return Err(Error::NoAutomation {
            url: redact(url),
            branch,
        });
    }
    let auto = pick_automation(&found, opts.automation.as_deref())?;
    let auto_ns = auto
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let auto_name = name_of(&auto, DEFAULT_NAMESPACE);
    if auto.spec.suspend == Some(true) {
        return Ok(Report {
            automation: auto_name,
            url: redact(url),
            checkout_branch: branch,
            checkout_commit: head,
            push_branch: String::new(),
            outcome: Outcome::Suspended,
            policies: Vec::new(),
            workloads: Vec::new(),
            files_changed: Vec::new(),
            message: None,
            warnings: found.warnings,
            diff: None,
        });
    }
    let invalid = |field: &'static str, reason: String| Error::InvalidAutomation {
        automation: auto_name.clone(),
        field,
        reason,
    };
    if auto.spec.source_ref.kind != "GitRepository" {
        return Err(invalid(
            "spec.sourceRef.kind",
            format!(
                "source kind {:?} is not supported, only GitRepository",
                auto.spec.source_ref.kind
            ),
        ));
    }
    let Some(git_spec) = &auto.spec.git else {
        return Err(invalid(
            "spec.git",
            "a GitRepository source needs spec.git".to_owned(),
        ));
    };
    message::check(git_spec.commit.message_template.as_deref()).map_err(|source| {
        Error::Message {
            automation: auto_name.clone(),
            source,
        }
    })?;
    if let Some(push) = &git_spec.push {
        if push.refspec.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(Error::Unsupported {
                automation: auto_name.clone(),
                field: "spec.git.push.refspec",
            });
        }
        if push.options.as_ref().is_some_and(|o| !o.is_empty()) {
            return Err(Error::Unsupported {
                automation: auto_name.clone(),
                field: "spec.git.push.options",
            });
        }
    }
    if let Some(strategy) = auto
        .spec
        .update
        .as_ref()
        .and_then(|u| u.strategy.as_deref())
        && !strategy.is_empty()
        && strategy != "Setters"
    {
        return Err(invalid(
            "spec.update",
            format!("update strategy {strategy:?} is not supported, only Setters"),
        ));
    }
    let update_path = auto
        .spec
        .update
        .as_ref()
        .and_then(|u| u.path.as_deref())
        .unwrap_or("");
    let dir = RelPath::new(update_path).map_err(|e| invalid("spec.update.path", e.to_string()))?;
    let selector = LabelSelector::from_json(auto.spec.policy_selector.as_ref())
        .map_err(|e| invalid("spec.policySelector", e))?;

    // Which branch to update.
    let checkout_ref = match &git_spec.checkout {
        Some(c) => Some(c.r#ref.clone()),
        None => found
            .git_repository(&auto.spec.source_ref, &auto_ns)
            .and_then(|g| g.spec.r#ref.clone()),
    };
    let wanted = match (&opts.branch, &checkout_ref) {
        (Some(b), _) => b.clone(),
        (None, Some(r)) => {
            if let Some((what, v)) = [
                ("commit", &r.commit),
                ("name", &r.name),
                ("tag", &r.tag),
                ("semver", &r.semver),
            ]
            .into_iter()
            .find_map(|(w, v)| non_empty(v).map(|v| (w, v)))
            {
                return Err(Error::UnsupportedCheckout {
                    automation: auto_name.clone(),
                    reference: format!("{what} {v}"),
                });
            }
            non_empty(&r.branch)
                .map(str::to_owned)
                .unwrap_or_else(|| branch.clone())
        }
        (None, None) => branch.clone(),
    };
    if wanted != branch {
        (branch, head, tree) = fetch(git, url, std::slice::from_ref(&wanted), progress)?;
    }
    let push_branch = git_spec
        .push
        .as_ref()
        .and_then(|p| p.branch.clone())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| branch.clone());

    // Policies of the automation's namespace that the selector matches.
    let policies: Vec<&ImagePolicy> = found
        .policies
        .iter()
        .filter(|p| p.metadata.namespace.as_deref().unwrap_or(&auto_ns) == auto_ns)
        .filter(|p| selector.matches(p.metadata.labels.as_ref()))
        .collect();
    progress(Progress::Automation {
        name: auto_name.clone(),
        policies: policies.len(),
    });
    let repositories: Vec<&ImageRepository> = found.repositories.iter().collect();
    let selection = select(registry, &policies, &repositories, &auto_ns, progress);
    let chooser = opts.flux_v1.then(|| RegistryChooser::new(registry));

    let commit = &git_spec.commit;
    let author = Signature {
        name: commit
            .author
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| commit.author.email.clone()),
        email: commit.author.email.clone(),
    };
    let values = commit.message_template_values.clone().unwrap_or_default();
    let automation_object = AutomationObject::new(
        auto_ns.clone(),
        auto.metadata.name.clone().unwrap_or_default(),
    );
    let render = |r: &gitops_setters::Report| {
        let mut data = TemplateData::new(r, automation_object.clone());
        data.values = values.clone();
        message::render(commit.message_template.as_deref(), &data).map_err(|source| {
            Error::Message {
                automation: auto_name.clone(),
                source,
            }
        })
    };

    progress(Progress::Updating {
        path: dir.to_string(),
    });
    let mut last: Option<(Edits, gitops_setters::Report, String)> = None;
    let outcome = if opts.dry_run {
        // Compute on what the push would build on: the push branch when it
        // exists, else the checkout branch.
        let (base_head, base_tree) = if push_branch != branch {
            match git
                .resolve_branch(url, &push_branch)
                .map_err(git_err(url))?
            {
                Some(h) => {
                    let t = git.fetch_tree(url, &h).map_err(git_err(url))?;
                    (h, t)
                }
                None => (head.clone(), tree.clone()),
            }
        } else {
            (head.clone(), tree.clone())
        };
        let (edits, report) = update(&base_tree, &dir, &selection.policies, chooser.as_ref())?;
        if edits.is_empty() {
            last = Some((edits, report, String::new()));
            Outcome::UpToDate { head: base_head }
        } else {
            let msg = render(&report)?;
            last = Some((edits, report, msg));
            Outcome::WouldPush {
                branch: push_branch.clone(),
                head: base_head,
            }
        }
    } else {
        let mut wopts = writeback::Options::new(&branch, author);
        wopts.push_branch = (push_branch != branch).then(|| push_branch.clone());
        wopts.max_attempts = opts.max_attempts.max(1);
        let result = writeback::commit_and_push(git, url, &wopts, |t: &MemTree| {
            let (edits, report) = update(t, &dir, &selection.policies, chooser.as_ref())?;
            let msg = if edits.is_empty() {
                String::new()
            } else {
                render(&report)?
            };
            let files = edits
                .iter()
                .map(|(p, (_, new))| (p.clone(), new.clone().into_bytes()))
                .collect();
            if !edits.is_empty() {
                progress(Progress::Pushing {
                    branch: push_branch.clone(),
                });
            }
            last = Some((edits, report, msg.clone()));
            Ok::<_, Error>(writeback::Change {
                files,
                message: msg,
            })
        });
        match result {
            Ok(writeback::Outcome::Pushed {
                commit,
                branch,
                attempts,
            }) => Outcome::Pushed {
                commit,
                branch,
                attempts,
            },
            Ok(writeback::Outcome::UpToDate { head }) => Outcome::UpToDate { head },
            Err(writeback::Error::Apply(e)) => return Err(e),
            Err(writeback::Error::Transport { source, .. }) => return Err(git_err(url)(source)),
            Err(writeback::Error::BranchNotFound { branch, .. }) => {
                return Err(Error::BranchNotFound {
                    url: redact(url),
                    tried: vec![branch],
                });
            }
            Err(writeback::Error::Exhausted {
                branch, attempts, ..
            }) => {
                return Err(Error::PushExhausted {
                    url: redact(url),
                    branch,
                    attempts,
                });
            }
        }
    };

    let (edits, setters_report, msg) = last.unwrap_or_default();
    let up_to_date = !matches!(outcome, Outcome::Pushed { .. } | Outcome::WouldPush { .. });
    let mut reports = selection.reports;
    let mut workloads = Vec::new();
    if !up_to_date {
        for c in &setters_report.changes {
            match &c.setter {
                ChangeSource::Marker(s) => {
                    let Some((_, r)) = reports.iter_mut().find(|(id, _)| *id == s.policy) else {
                        continue;
                    };
                    let prev = match s.field {
                        Field::Tag => Some(c.old_value.clone()),
                        Field::Image => ImageRef::parse(&c.old_value)
                            .ok()
                            .and_then(|i| i.tag().map(|t| t.as_str().to_owned())),
                        _ => None,
                    };
                    if let Some(p) = prev
                        && !r.previous.contains(&p)
                    {
                        r.previous.push(p);
                    }
                    let f = c.file.to_string();
                    if !r.files.contains(&f) {
                        r.files.push(f.clone());
                    }
                    r.changes.push(ChangeLine {
                        file: f,
                        line: c.line,
                        old: c.old_value.clone(),
                        new: c.new_value.clone(),
                    });
                }
                other => workloads.push(WorkloadChange {
                    object: c.object.to_string(),
                    container: other.to_string(),
                    file: c.file.to_string(),
                    line: c.line,
                    old: c.old_value.clone(),
                    new: c.new_value.clone(),
                }),
            }
        }
    }
    let mut warnings: BTreeSet<String> = found.warnings.iter().cloned().collect();
    warnings.extend(setters_report.warnings.iter().map(|w| w.to_string()));
    Ok(Report {
        automation: auto_name.clone(),
        url: redact(url),
        checkout_branch: branch,
        checkout_commit: head,
        push_branch,
        policies: reports.into_iter().map(|(_, r)| r).collect(),
        workloads,
        files_changed: if up_to_date {
            Vec::new()
        } else {
            edits.keys().map(|p| p.to_string()).collect()
        },
        message: (!up_to_date).then_some(msg),
        warnings: warnings.into_iter().collect(),
        diff: (opts.dry_run && !up_to_date).then(|| unified_diff(&edits)),
        outcome,
    })
}

#[cfg(test)]
mod tests;
