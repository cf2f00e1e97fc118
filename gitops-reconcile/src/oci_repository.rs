//! OCIRepository, as source-controller reconciles it: the caller pulls the
//! artifact (gitops-source's OCI client) and stores it; [`reconcile`]
//! records it (`artifact` with revision `<tag>@sha256:<digest>`, `url`,
//! conditions), the `NewArtifact` event (with the origin source and
//! revision when the artifact's annotations carry them) and the requeue.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::OCIRepository;
//! use gitops_reconcile::oci_repository;
//! use gitops_reconcile::source::{Artifact, Fetch};
//! use gitops_reconcile::Run;
//!
//! let repo: OCIRepository = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository",
//!     "metadata": {"name": "app", "namespace": "flux-system"},
//!     "spec": {"url": "oci://ghcr.io/org/manifests", "interval": "5m", "ref": {"tag": "latest"}}
//! }))?;
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let artifact = Artifact::new("source-controller", "ocirepository/flux-system/app/d.tar.gz",
//!     "latest@sha256:ab12", "sha256:cd34", "2023-11-14T22:13:20Z");
//! let out = oci_repository::reconcile(&repo, &run, Fetch::Stored { artifact, message: None });
//! assert_eq!(out.events[0].message, "stored artifact with revision 'latest@sha256:ab12' from 'oci://ghcr.io/org/manifests'");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use gitops_core::flux::{Condition, OCIRepository};
use serde::{Deserialize, Serialize};

use crate::flow::{self, Flow};
use crate::outcome::{Reconciled, Run, parse_interval};
use crate::source::{self, Artifact, Fetch, Kind};

/// `OCIPullFailed`.
pub const OCI_PULL_FAILED: &str = "OCIArtifactPullFailed";

/// `OCIRepository.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OCIRepositoryStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifact in storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The repository URL of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl OCIRepositoryStatus {
    /// The typed status of `obj`.
    #[must_use]
    pub fn of(obj: &OCIRepository) -> OCIRepositoryStatus {
        crate::typed_status(obj.status.as_ref())
    }
}

/// Reconcile `obj` given the pull answer.
#[must_use]
pub fn reconcile(obj: &OCIRepository, run: &Run, fetch: Fetch) -> Reconciled<OCIRepositoryStatus> {
    if obj.spec.suspend == Some(true) {
        return Reconciled::suspended();
    }
    let old = OCIRepositoryStatus::of(obj);
    let mut status = old.clone();
    let interval = parse_interval("spec.interval", &obj.spec.interval)
        .unwrap_or(std::time::Duration::from_secs(300));
    let url = obj.spec.url.clone();
    let event_message = |a: &Artifact, _: Option<&str>| {
        let mut m = format!(
            "stored artifact with revision '{}' from '{}'",
            a.revision, url
        );
        let source = a.metadata.get("org.opencontainers.image.source");
        let revision = a.metadata.get("org.opencontainers.image.revision");
        if let (Some(s), Some(r)) = (source, revision)
            && !s.is_empty()
            && !r.is_empty()
        {
            m.push_str(&format!(", origin source '{s}', origin revision '{r}'"));
        }
        m
    };
    let mut f = Flow::new(run, &old.conditions);
    let kind = Kind {
        group: "source.toolkit.fluxcd.io",
        stored_message: &|a| format!("stored artifact for digest '{}'", a.revision),
        event_message: &event_message,
    };
    let stored = matches!(fetch, Fetch::Stored { .. });
    let s = source::run(&mut f, old.artifact.as_ref(), fetch, interval, &kind);
    status.conditions = s.conditions;
    status.artifact = s.artifact;
    if stored {
        status.url = Some(obj.spec.url.clone());
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
