//! What GitRepository and OCIRepository share: the artifact in the status,
//! the fetch answer, and source-controller's Ready summary (a true
//! `FetchFailed` makes Ready false with its reason; otherwise Ready mirrors
//! `ArtifactInStorage`).

use std::collections::BTreeMap;

use gitops_core::flux::Condition;
use serde::{Deserialize, Serialize};

use crate::conditions::{self as c, READY, RECONCILING, STALLED, SUCCEEDED};
use crate::flow::{self, Flow};
use crate::outcome::{Event, Requeue};

/// `ArtifactInStorage`.
pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
/// `ArtifactOutdated`.
pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
/// `FetchFailed`.
pub const FETCH_FAILED: &str = "FetchFailed";
/// `URLInvalid`.
pub const URL_INVALID: &str = "URLInvalid";
/// `AuthenticationFailed`.
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
/// `NewArtifact` (event reason).
pub const NEW_ARTIFACT: &str = "NewArtifact";

/// `status.artifact`: the packed source in storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Artifact {
    /// Path in storage, e.g. `gitrepository/flux-system/app/<digest>.tar.gz`.
    pub path: String,
    /// Where clients download it.
    pub url: String,
    /// The source revision (`main@sha1:<hex>`, `latest@sha256:<hex>`).
    pub revision: String,
    /// `sha256:<hex>` of the tarball.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// When it was stored (RFC 3339).
    pub last_update_time: String,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Metadata (OCI annotations).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Artifact {
    /// An artifact at `path` (URL `http://<host>/<path>`) with `revision`,
    /// `digest` and store time `last_update_time`.
    #[must_use]
    pub fn new(
        host: &str,
        path: &str,
        revision: &str,
        digest: &str,
        last_update_time: &str,
    ) -> Artifact {
        Artifact {
            path: path.to_owned(),
            url: format!("http://{host}/{path}"),
            revision: revision.to_owned(),
            digest: digest.to_owned(),
            last_update_time: last_update_time.to_owned(),
            size: None,
            metadata: BTreeMap::new(),
        }
    }
}

/// What fetching the source gave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetch {
    /// The artifact now in storage (new or the same as before).
    Stored {
        /// The artifact.
        artifact: Artifact,
        /// The commit's subject line (Git), for the event.
        message: Option<String>,
    },
    /// The remote is still at the stored artifact's revision; nothing was
    /// rebuilt.
    Unchanged,
    /// Fetching failed with this reason (`GitOperationFailed`,
    /// `AuthenticationFailed`, `OCIPullFailed`…) and message.
    Failed {
        /// Flux's reason.
        reason: String,
        /// The message.
        message: String,
    },
    /// `spec.url` is not valid: the object stalls until it changes.
    InvalidUrl(String),
}

/// Shared status fields after one run.
pub(crate) struct Summary {
    pub conditions: Vec<Condition>,
    pub artifact: Option<Artifact>,
    pub events: Vec<Event>,
    pub requeue: Requeue,
    pub observed: bool,
}

pub(crate) struct Kind<'a> {
    pub group: &'static str,
    pub stored_message: &'a dyn Fn(&Artifact) -> String,
    pub event_message: &'a dyn Fn(&Artifact, Option<&str>) -> String,
}

pub(crate) fn run(
    f: &mut Flow<'_>,
    old_artifact: Option<&Artifact>,
    fetch: Fetch,
    interval: std::time::Duration,
    kind: &Kind<'_>,
) -> Summary {
    let old_conditions = f.conditions.clone();
    f.progressive(false, "reconciliation in progress");
    let mut artifact = old_artifact.cloned();
    let mut commit_message = None;
    let mut stalled = false;
    match fetch {
        Fetch::InvalidUrl(m) => {
            f.mark_true(FETCH_FAILED, URL_INVALID, &m);
            f.mark_stalled(URL_INVALID, &m);
            stalled = true;
        }
        Fetch::Failed { reason, message } => {
            f.mark_true(FETCH_FAILED, &reason, &message);
        }
        Fetch::Unchanged => {
            f.delete(FETCH_FAILED);
            if let Some(a) = &artifact {
                f.mark_true(ARTIFACT_IN_STORAGE, SUCCEEDED, &(kind.stored_message)(a));
            }
        }
        Fetch::Stored {
            artifact: a,
            message,
        } => {
            f.delete(FETCH_FAILED);
            f.delete(ARTIFACT_OUTDATED);
            f.mark_true(ARTIFACT_IN_STORAGE, SUCCEEDED, &(kind.stored_message)(&a));
            artifact = Some(a);
            commit_message = message;
        }
    }
    if !stalled {
        f.delete(STALLED);
    }
    let failed = c::is_true(&f.conditions, FETCH_FAILED);
    if !failed {
        f.delete(RECONCILING);
    }
    // Ready summary.
    if failed {
        let ff = c::get(&f.conditions, FETCH_FAILED)
            .cloned()
            .expect("set above");
        f.mark_false(
            READY,
            ff.reason.as_deref().unwrap_or_default(),
            ff.message.as_deref().unwrap_or_default(),
        );
        if let Some(mut r) = c::get(&f.conditions, RECONCILING).cloned() {
            r.reason = Some(c::PROGRESSING_WITH_RETRY.to_owned());
            c::set(&mut f.conditions, f.run.generation, &f.now.clone(), r);
        }
    } else if let Some(a) = c::get(&f.conditions, ARTIFACT_IN_STORAGE).cloned() {
        f.mark_true(READY, SUCCEEDED, a.message.as_deref().unwrap_or_default());
    }
    let mut events = Vec::new();
    if failed {
        let ff = c::get(&f.conditions, FETCH_FAILED)
            .cloned()
            .expect("set above");
        events.push(Event::warning(
            ff.reason.as_deref().unwrap_or_default(),
            ff.message.unwrap_or_default(),
        ));
    } else if let Some(a) = &artifact {
        let msg = (kind.event_message)(a, commit_message.as_deref());
        let annotate = |e: Event| {
            e.with(&format!("{}/revision", kind.group), a.revision.clone())
                .with(&format!("{}/digest", kind.group), a.digest.clone())
        };
        if old_artifact.map(|o| o.digest.as_str()) != Some(a.digest.as_str()) {
            events.push(annotate(Event::normal(NEW_ARTIFACT, msg)));
        } else if !flow::is_ready(&old_conditions) && c::get(&old_conditions, READY).is_some() {
            events.push(annotate(Event::normal(SUCCEEDED, msg)));
        }
    }
    let requeue = if stalled {
        Requeue::Never
    } else {
        Requeue::After(interval)
    };
    let observed = !failed || stalled;
    Summary {
        conditions: std::mem::take(&mut f.conditions),
        artifact,
        events,
        requeue,
        observed,
    }
}
