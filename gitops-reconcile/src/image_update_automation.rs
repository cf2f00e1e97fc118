//! ImageUpdateAutomation, as image-automation-controller reconciles it.
//!
//! The caller runs the update (gitops-automate's loop: check out, apply
//! the setters, commit, push) and passes what happened as an [`Update`];
//! [`reconcile`] returns the status (`lastAutomationRunTime`,
//! `lastPushCommit`, `lastPushTime`, `observedPolicies`,
//! `observedSourceRevision`, conditions), the events (`pushed commit
//! '<short>' to branch '<b>'` and the commit message) and the requeue at
//! `spec.interval`. [`sync_needed`] tells whether the policies changed
//! since the last run (a full checkout is needed even when the remote did
//! not move).
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::ImageUpdateAutomation;
//! use gitops_reconcile::image_policy::ImageRef;
//! use gitops_reconcile::image_update_automation::{self, Inputs, Update};
//! use gitops_reconcile::Run;
//!
//! let auto: ImageUpdateAutomation = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageUpdateAutomation",
//!     "metadata": {"name": "auto", "namespace": "flux-system"},
//!     "spec": {"interval": "30m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
//!              "git": {"commit": {"author": {"email": "fluxcdbot@users.noreply.github.com"}}},
//!              "update": {"path": "./clusters", "strategy": "Setters"}}
//! }))?;
//! let policies: BTreeMap<String, ImageRef> = serde_json::from_value(serde_json::json!({
//!     "podinfo": {"name": "ghcr.io/stefanprodan/podinfo", "tag": "6.5.0"}
//! }))?;
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! assert!(image_update_automation::sync_needed(&auto, &policies));
//! let pushed = Update::Pushed {
//!     commit: "0123456789abcdef0123456789abcdef01234567".into(),
//!     branch: "main".into(),
//!     refspecs: vec![],
//!     message: "Update podinfo to 6.5.0".into(),
//!     source_revision: "main@sha1:0123456789abcdef0123456789abcdef01234567".into(),
//! };
//! let out = image_update_automation::reconcile(&auto, &run, Inputs::new(policies, pushed));
//! assert_eq!(out.events[0].message, "pushed commit '0123456' to branch 'main'\nUpdate podinfo to 6.5.0");
//! let status = out.status.unwrap();
//! assert_eq!(status.last_push_commit.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
//! assert_eq!(status.last_automation_run_time.as_deref(), Some("2023-11-14T22:13:20Z"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use gitops_core::flux::{Condition, ImageUpdateAutomation};
use serde::{Deserialize, Serialize};

use crate::conditions::READY;
use crate::flow::{self, Ending, Flow};
use crate::image_policy::ImageRef;
use crate::outcome::{Event, Reconciled, Run, parse_interval};

/// `repository up-to-date`: the Ready message of a successful run.
pub const READY_MESSAGE: &str = "repository up-to-date";
/// `GitOperationFailed`.
pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
/// `UpdateFailed`.
pub const UPDATE_FAILED: &str = "UpdateFailed";
/// `InvalidPolicySelector`.
pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
/// `InvalidUpdateStrategy`.
pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
/// `InvalidSourceConfiguration`.
pub const INVALID_SOURCE_CONFIGURATION: &str = "InvalidSourceConfiguration";
/// `RemovedTemplateField`.
pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";

/// `ImageUpdateAutomation.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageUpdateAutomationStatus {
    /// When the last run started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<String>,
    /// The last commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When it was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<String>,
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The policies' latest images the last run used, by policy name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub observed_policies: BTreeMap<String, ImageRef>,
    /// The source revision the last run saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImageUpdateAutomationStatus {
    /// The typed status of `obj`.
    #[must_use]
    pub fn of(obj: &ImageUpdateAutomation) -> ImageUpdateAutomationStatus {
        crate::typed_status(obj.status.as_ref())
    }
}

/// What the update run did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// `spec.policySelector` is not a valid selector (stalls).
    InvalidPolicySelector(String),
    /// The source or `spec.git` is not usable (stalls).
    InvalidSource(String),
    /// `spec.update` names no supported strategy (stalls).
    InvalidUpdateStrategy(String),
    /// The commit template uses a removed field (stalls).
    RemovedTemplateField(String),
    /// Checkout failed.
    CheckoutFailed(String),
    /// Applying the policies to the files failed.
    UpdateFailed(String),
    /// Commit or push failed.
    PushFailed(String),
    /// The remote did not move and the policies did not change: nothing
    /// was checked out in full.
    Skipped,
    /// Nothing to change at this source revision.
    UpToDate {
        /// The revision checked (`main@sha1:<hex>`).
        source_revision: String,
    },
    /// A commit was pushed.
    Pushed {
        /// The commit's hash.
        commit: String,
        /// The branch pushed to.
        branch: String,
        /// Extra refspecs pushed.
        refspecs: Vec<String>,
        /// The commit message.
        message: String,
        /// The revision to record (`<push branch>@sha1:<commit>`, or the
        /// checkout branch's revision when pushing to another branch).
        source_revision: String,
    },
}

/// A run's inputs: the selected policies' latest images by name, and the
/// update's result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inputs {
    /// `status.latestRef` of every selected ImagePolicy, by name.
    pub policies: BTreeMap<String, ImageRef>,
    /// What the update did.
    pub update: Update,
}

impl Inputs {
    /// The inputs of one run.
    #[must_use]
    pub fn new(policies: BTreeMap<String, ImageRef>, update: Update) -> Inputs {
        Inputs { policies, update }
    }
}

/// Whether the selected policies differ from the last run's
/// (`status.observedPolicies`).
#[must_use]
pub fn sync_needed(obj: &ImageUpdateAutomation, policies: &BTreeMap<String, ImageRef>) -> bool {
    ImageUpdateAutomationStatus::of(obj).observed_policies != *policies
}

fn push_summary(commit: &str, branch: &str, refspecs: &[String], message: &str) -> String {
    let short: String = commit.chars().take(7).collect();
    let mut s = format!("pushed commit '{short}' to branch '{branch}'");
    if !refspecs.is_empty() {
        s.push_str(&format!(" and refspecs '{}'", refspecs.join("', '")));
    }
    if !message.is_empty() {
        s.push('\n');
        s.push_str(message);
    }
    s
}

/// Reconcile `obj` given the update's result.
#[must_use]
pub fn reconcile(
    obj: &ImageUpdateAutomation,
    run: &Run,
    inputs: Inputs,
) -> Reconciled<ImageUpdateAutomationStatus> {
    if obj.spec.suspend == Some(true) {
        return Reconciled::suspended();
    }
    let old = ImageUpdateAutomationStatus::of(obj);
    let mut status = old.clone();
    let interval =
        parse_interval("spec.interval", &obj.spec.interval).unwrap_or(Duration::from_secs(600));
    status.last_automation_run_time = Some(run.now_rfc3339());
    let mut f = Flow::new(run, &old.conditions);
    f.progressive(false, "reconciliation in progress");
    if old.observed_generation != run.generation {
        f.progressive(
            false,
            &format!(
                "processing object: new generation {} -> {}",
                old.observed_generation, run.generation
            ),
        );
    }
    let mut summary = None;
    let error = |f: &mut Flow<'_>, reason: &str, m: String| {
        f.mark_false(READY, reason, &m);
        Ending::Error {
            message: m,
            retry: interval,
        }
    };
    let ending = match inputs.update {
        Update::InvalidPolicySelector(m) => {
            f.mark_stalled(INVALID_POLICY_SELECTOR, &m);
            Ending::Stalled
        }
        Update::InvalidSource(m) => {
            f.mark_stalled(INVALID_SOURCE_CONFIGURATION, &m);
            Ending::Stalled
        }
        Update::InvalidUpdateStrategy(m) => {
            f.mark_stalled(INVALID_UPDATE_STRATEGY, &m);
            Ending::Stalled
        }
        Update::RemovedTemplateField(m) => {
            f.mark_stalled(REMOVED_TEMPLATE_FIELD, &m);
            Ending::Stalled
        }
        Update::CheckoutFailed(m) => error(
            &mut f,
            GIT_OPERATION_FAILED,
            format!("failed to checkout source: {m}"),
        ),
        Update::UpdateFailed(m) => error(
            &mut f,
            UPDATE_FAILED,
            format!("failed to apply policies: {m}"),
        ),
        Update::PushFailed(m) => error(
            &mut f,
            GIT_OPERATION_FAILED,
            format!("failed to update source: {m}"),
        ),
        Update::Skipped => {
            f.delete(READY);
            Ending::Success(Some(interval))
        }
        Update::UpToDate { source_revision } => {
            f.delete(READY);
            status.observed_source_revision = Some(source_revision);
            status.observed_policies = inputs.policies.clone();
            Ending::Success(Some(interval))
        }
        Update::Pushed {
            commit,
            branch,
            refspecs,
            message,
            source_revision,
        } => {
            summary = Some(push_summary(&commit, &branch, &refspecs, &message));
            status.observed_source_revision = Some(source_revision);
            status.observed_policies = inputs.policies.clone();
            status.last_push_commit = Some(commit);
            status.last_push_time = Some(run.now_rfc3339());
            f.delete(READY);
            Ending::Success(Some(interval))
        }
    };
    let (requeue, observed) = f.finalize(&ending, READY_MESSAGE);
    if let Some(at) = run.requested_at() {
        status.last_handled_reconcile_at = Some(at.to_owned());
    }
    if observed {
        status.observed_generation = run.generation;
    }
    // notify(): a push is always told; otherwise as the other controllers.
    let was = flow::is_ready(&old.conditions);
    let is = f.is_ready();
    let ready = crate::conditions::get(&f.conditions, READY).cloned();
    let mut events = Vec::new();
    if let Some(ready) = ready {
        let reason = ready.reason.clone().unwrap_or_default();
        let ready_msg = ready.message.clone().unwrap_or_default();
        if is && (summary.is_some() || !was) {
            events.push(Event::normal(&reason, summary.clone().unwrap_or(ready_msg)));
        } else if !is {
            events.push(Event::warning(&reason, ready_msg));
        }
    }
    status.conditions = f.conditions;
    Reconciled {
        status: Some(status),
        events,
        requeue,
    }
}
