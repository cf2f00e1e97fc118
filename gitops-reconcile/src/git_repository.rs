//! GitRepository, as source-controller reconciles it: the caller fetches
//! the reference (gitops-source's Git client) and packs the artifact
//! (gitops-source's archive); [`reconcile`] turns the answer into the
//! status (`artifact` with its revision `<branch>@sha1:<hex>` and digest,
//! `ArtifactInStorage`/`FetchFailed`/`Ready`), the `NewArtifact` event and
//! the requeue at `spec.interval`.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::GitRepository;
//! use gitops_reconcile::git_repository;
//! use gitops_reconcile::source::{Artifact, Fetch};
//! use gitops_reconcile::Run;
//!
//! let repo: GitRepository = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
//!     "metadata": {"name": "app", "namespace": "flux-system"},
//!     "spec": {"url": "https://github.com/org/app", "interval": "1m", "ref": {"branch": "main"}}
//! }))?;
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let artifact = Artifact::new("source-controller", "gitrepository/flux-system/app/abc.tar.gz",
//!     "main@sha1:0123abcd", "sha256:feed", "2023-11-14T22:13:20Z");
//! let out = git_repository::reconcile(&repo, &run, Fetch::Stored { artifact, message: Some("add app".into()) });
//! assert_eq!(out.events[0].reason, "NewArtifact");
//! assert_eq!(out.events[0].message, "stored artifact for commit 'add app'");
//! let status = out.status.unwrap();
//! assert_eq!(status.artifact.unwrap().revision, "main@sha1:0123abcd");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use gitops_core::flux::{Condition, GitRepository};
use serde::{Deserialize, Serialize};

use crate::flow::{self, Flow};
use crate::outcome::{Reconciled, Run, parse_interval};
use crate::source::{self, Artifact, Fetch, Kind};

/// `GitOperationFailed`.
pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";

/// `GitRepository.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GitRepositoryStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifact in storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// `spec.ignore` of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// `spec.recurseSubmodules` of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl GitRepositoryStatus {
    /// The typed status of `obj`.
    #[must_use]
    pub fn of(obj: &GitRepository) -> GitRepositoryStatus {
        crate::typed_status(obj.status.as_ref())
    }
}

/// Reconcile `obj` given the fetch answer.
#[must_use]
pub fn reconcile(obj: &GitRepository, run: &Run, fetch: Fetch) -> Reconciled<GitRepositoryStatus> {
    if obj.spec.suspend == Some(true) {
        return Reconciled::suspended();
    }
    let old = GitRepositoryStatus::of(obj);
    let mut status = old.clone();
    let interval = parse_interval("spec.interval", &obj.spec.interval)
        .unwrap_or(std::time::Duration::from_secs(60));
    let stored_fetch = matches!(fetch, Fetch::Stored { .. });
    let mut f = Flow::new(run, &old.conditions);
    let kind = Kind {
        group: "source.toolkit.fluxcd.io",
        stored_message: &|a| format!("stored artifact for revision '{}'", a.revision),
        event_message: &|a, m| format!("stored artifact for commit '{}'", m.unwrap_or(&a.revision)),
    };
    let s = source::run(&mut f, old.artifact.as_ref(), fetch, interval, &kind);
    status.conditions = s.conditions;
    status.artifact = s.artifact;
    if stored_fetch {
        status.observed_ignore = obj.spec.ignore.clone();
        status.observed_recurse_submodules = obj.spec.recurse_submodules;
    }
    if let Some(at) = run.requested_at() {
        status.last_handled_reconcile_at = Some(at.to_owned());
    }
    if s.observed {
        status.observed_generation = run.generation;
    }
    Reconciled {
        status: Some(status),
        events: s.events,
        requeue: s.requeue,
    }
}
