//! The image update loop of Flux's image-automation-controller (and of Flux
//! v1's fluxd), as one call over the core traits.
//!
//! [`run`] takes a [`GitTransport`](gitops_core::git::GitTransport) (gitops-source's `git::Client`, or
//! [`gitops_core::git::MemRemote`]) and a [`TagLister`](gitops_core::registry::TagLister) (gitops-source's
//! `registry::Client`, or [`gitops_core::registry::MemRegistry`]) and:
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
//! use gitops_automate::{self as automate, Options, Outcome};
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
//! - Tags are listed at run time through the [`TagLister`](gitops_core::registry::TagLister) (Flux reads the
//!   ImageRepository's last scan); `spec.insecure`, `secretRef`, `provider`
//!   of the ImageRepository are the caller's business (the lister's
//!   configuration).
//! - Only branch checkouts are written back; a `git.checkout.ref` with a
//!   tag, semver range, commit or ref name is refused with
//!   [`Error::UnsupportedCheckout`]. `push.refspec` and `push.options` are
//!   refused with [`Error::Unsupported`] rather than ignored.
//! - The push is never forced; an existing push branch is updated on top of
//!   its own head (see [`writeback`]).
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

//!
//! # Modules
//! - [`writeback`]: commit and push without force over any
//!   [`GitTransport`](gitops_core::git::GitTransport), re-applying the change on the new head when another
//!   writer won the race.
//! - [`secrets`]: keeping a remote's credentials out of error texts.
//! - [`flux_yaml`]: Flux v1 `.flux.yaml` manifest generation
//!   (`patchUpdated`, `commandUpdated`), with commands run through a
//!   [`flux_yaml::Runner`] the caller passes.
//! - `notify` (feature `notify`): Flux events for the loop's outcomes,
//!   posted to `generic` / `generic-hmac` webhooks.
//!
//! # Crate features
//! - `notify` (off by default): the `notify` module (reqwest's blocking
//!   client over rustls (ring), ring's HMAC-SHA256).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod chooser;
pub mod flux_yaml;
#[cfg(feature = "notify")]
#[cfg_attr(docsrs, doc(cfg(feature = "notify")))]
pub mod notify;
mod objects;
mod run;
pub mod secrets;
pub mod writeback;

use gitops_core::flux::Object;
use gitops_setters::apply;
use gitops_setters::message;
use serde::Serialize;

pub use chooser::{ChooseError, RegistryChooser};
pub use objects::{Found, LabelSelector, parse_objects, parse_objects_in, read_objects};
pub use run::run;

// Foreign crates whose types appear in this crate's public API (error
// sources), so callers name the same versions.
#[cfg(feature = "notify")]
#[cfg_attr(docsrs, doc(cfg(feature = "notify")))]
pub use reqwest;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

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

/// What [`run`] is told: [`Options::new`], then set the fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

/// Kubernetes' namespace for objects that do not say.
pub const DEFAULT_NAMESPACE: &str = "default";

/// `e` and its sources, joined with `: `.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests;
