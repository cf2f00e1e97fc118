//! helm-controller v2's atomic release: the loop that determines the
//! release state, picks the next action, has it performed and records the
//! outcome, until the release is done, a remediation ran or an action
//! type would run twice.
//!
//! The loop is pure: the caller implements [`HelmActions`] with any Helm
//! implementation (reading storage, installing, upgrading, testing, rolling
//! back, uninstalling, unlocking, correcting drift) and [`reconcile`]
//! drives it, updating [`HelmReleaseStatus`] exactly as helm-controller's
//! `AtomicRelease.Reconcile` does.
//!
//! ```
//! use gitops_reconcile::helm::atomic::{reconcile, HelmActions, Request};
//! use gitops_reconcile::helm::lifecycle::{Desired, HelmReleaseStatus, Options, Outcome, Storage};
//!
//! /// A Helm whose storage stays empty and whose install fails.
//! struct Broken;
//! impl HelmActions for Broken {
//!     fn storage(&mut self) -> Result<Storage, String> { Ok(Storage::default()) }
//!     fn install(&mut self) -> Outcome { Outcome::failed("cluster unreachable", vec![]) }
//!     fn upgrade(&mut self) -> Outcome { unreachable!() }
//!     fn test(&mut self) -> Outcome { unreachable!() }
//!     fn rollback(&mut self, _: i64) -> Outcome { unreachable!() }
//!     fn uninstall(&mut self) -> Outcome { unreachable!() }
//!     fn unlock(&mut self) -> Outcome { unreachable!() }
//! }
//!
//! let options = Options::default();
//! let desired = Desired::new("podinfo", "6.5.0", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
//!     .with_release("default", "podinfo");
//! let mut status = HelmReleaseStatus::default();
//! let run = reconcile(&Request::new(&options, &desired, "2026-01-01T00:00:00Z"), &mut status, &mut Broken);
//! assert_eq!(run.actions.len(), 1);
//! assert_eq!(run.result.unwrap_err().to_string(), "cluster unreachable");
//! assert_eq!(status.failures, 1);
//! ```
//!
//! # Deviation
//!
//! - helm-controller patches the object between steps and checks its
//!   context for cancellation; [`HelmActions::patch`] is called at the same
//!   points, cancellation is the caller's.
//! - Storage read errors are the caller's string ([`AtomicError::Storage`]).

use std::time::Duration;

use super::lifecycle::{
    Action, Desired, DriftedObject, HelmReleaseStatus, Input, NextError, Options, Outcome,
    RETRIES_EXCEEDED, Storage, action_for_state, determine_state, record_outcome, stalled_for,
    summarize,
};
use crate::conditions::{self, READY, RECONCILING};
use crate::outcome::Event;

/// The Helm operations the atomic release needs, implemented by the caller.
pub trait HelmActions {
    /// Every stored revision of the release (read before each step).
    ///
    /// # Errors
    /// The storage could not be read.
    fn storage(&mut self) -> Result<Storage, String>;
    /// The cluster diff of the current release (asked for when drift
    /// detection is on); empty: no drift.
    fn drift(&mut self, _storage: &Storage) -> Vec<DriftedObject> {
        Vec::new()
    }
    /// `helm install`.
    fn install(&mut self) -> Outcome;
    /// `helm upgrade`.
    fn upgrade(&mut self) -> Outcome;
    /// `helm test` of the current release.
    fn test(&mut self) -> Outcome;
    /// `helm rollback` to `version`.
    fn rollback(&mut self, version: i64) -> Outcome;
    /// `helm uninstall` to remediate a failure.
    fn uninstall(&mut self) -> Outcome;
    /// Mark the pending latest release failed.
    fn unlock(&mut self) -> Outcome;
    /// Re-apply the drifted objects.
    fn correct_drift(&mut self, _diff: &[DriftedObject]) -> Outcome {
        Outcome::default()
    }
    /// Persist the status (helm-controller patches the object before each
    /// action and after each step).
    fn patch(&mut self, _status: &HelmReleaseStatus) {}
}

/// What the atomic release works towards.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The lifecycle settings.
    pub options: &'a Options,
    /// The chart and values asked for.
    pub desired: &'a Desired,
    /// `metadata.generation`.
    pub generation: i64,
    /// A force request is being handled.
    pub force: bool,
    /// The time conditions are stamped with (RFC 3339).
    pub now: &'a str,
}

impl<'a> Request<'a> {
    /// A request at generation 1 without force.
    #[must_use]
    pub fn new(options: &'a Options, desired: &'a Desired, now: &'a str) -> Request<'a> {
        Request {
            options,
            desired,
            generation: 1,
            force: false,
            now,
        }
    }
}

/// Why the atomic release did not finish (helm-controller's errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AtomicError {
    /// `RetryOnFailure`: reconcile again after this interval.
    #[error("retry after interval")]
    RetryAfterInterval(Duration),
    /// A remediation ran (or an action type would repeat) and retries are
    /// left: reconcile again now.
    #[error("must requeue")]
    MustRequeue,
    /// Retries are exhausted after a remediation (`Stalled`).
    #[error("exceeded maximum retries")]
    ExceededMaxRetries,
    /// No next action could be chosen (retries exhausted, no rollback
    /// target, …).
    #[error(transparent)]
    Next(#[from] NextError),
    /// The state could not be determined (`Ready=False`, `StateError`).
    #[error("cannot determine release state: {0}")]
    State(String),
    /// The storage could not be read.
    #[error("cannot determine release state: {0}")]
    Storage(String),
    /// An action reconciler returned this error.
    #[error("{0}")]
    Action(String),
}

impl AtomicError {
    /// Whether helm-controller would match this with
    /// `ErrExceededMaxRetries`.
    #[must_use]
    pub fn is_exceeded_max_retries(&self) -> bool {
        matches!(
            self,
            AtomicError::ExceededMaxRetries | AtomicError::Next(NextError::ExceededMaxRetries(_))
        )
    }
}

/// What one atomic release did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Run {
    /// The actions performed, in order.
    pub actions: Vec<Action>,
    /// Events recorded on the way.
    pub events: Vec<Event>,
    /// `Ok`: done (in sync, or stopped with nothing left to try).
    pub result: Result<(), AtomicError>,
}

fn perform<H: HelmActions + ?Sized>(
    helm: &mut H,
    action: &Action,
    diff: &[DriftedObject],
) -> Outcome {
    match action {
        Action::Install => helm.install(),
        Action::Upgrade => helm.upgrade(),
        Action::Test => helm.test(),
        Action::RollbackRemediation { version } => helm.rollback(*version),
        Action::UninstallRemediation | Action::Uninstall => helm.uninstall(),
        Action::Unlock => helm.unlock(),
        Action::CorrectClusterDrift => helm.correct_drift(diff),
    }
}

/// helm-controller's `AtomicRelease.Reconcile` over `helm`.
pub fn reconcile<H: HelmActions + ?Sized>(
    req: &Request<'_>,
    status: &mut HelmReleaseStatus,
    helm: &mut H,
) -> Run {
    let mut run = Run {
        actions: Vec::new(),
        events: Vec::new(),
        result: Ok(()),
    };
    run.result = run_loop(req, status, helm, &mut run.actions, &mut run.events);
    run
}

fn retrying(req: &Request<'_>, status: &mut HelmReleaseStatus, interval: Duration) -> AtomicError {
    let d =
        gitops_core::duration::GoDuration(i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX));
    conditions::mark_reconciling(
        &mut status.conditions,
        req.generation,
        req.now,
        conditions::PROGRESSING_WITH_RETRY,
        &format!("retrying after {d}"),
    );
    AtomicError::RetryAfterInterval(interval)
}

fn requeue(req: &Request<'_>, status: &mut HelmReleaseStatus) -> AtomicError {
    let msg = conditions::get(&status.conditions, READY)
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    conditions::mark_reconciling(
        &mut status.conditions,
        req.generation,
        req.now,
        conditions::PROGRESSING_WITH_RETRY,
        &msg,
    );
    AtomicError::MustRequeue
}

fn run_loop<H: HelmActions + ?Sized>(
    req: &Request<'_>,
    status: &mut HelmReleaseStatus,
    helm: &mut H,
    actions: &mut Vec<Action>,
    events: &mut Vec<Event>,
) -> Result<(), AtomicError> {
    let opts = req.options;
    let (generation, now) = (req.generation, req.now);
    let mut previous: Vec<&'static str> = Vec::new();
    loop {
        let storage = match helm.storage() {
            Ok(s) => s,
            Err(e) => {
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    READY,
                    "StateError",
                    &format!("Could not determine release state: {e}"),
                );
                return Err(AtomicError::Storage(e));
            }
        };
        let drift = if opts.drift.must_detect_changes() {
            helm.drift(&storage)
        } else {
            Vec::new()
        };
        let mut input = Input::new(opts, &storage, req.desired);
        input.generation = generation;
        input.force = req.force;
        input.drift = drift;
        let state = match determine_state(&input, status) {
            Ok(s) => s,
            Err(e) => {
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    READY,
                    "StateError",
                    &format!("Could not determine release state: {e}"),
                );
                return Err(AtomicError::State(e.to_string()));
            }
        };
        let next = match action_for_state(&input, status, &state, now) {
            Ok(n) => n,
            Err(e) => {
                if let Some((reason, msg)) = stalled_for(&e, opts, status) {
                    conditions::mark_stalled(&mut status.conditions, generation, now, reason, &msg);
                }
                return Err(e.into());
            }
        };
        events.extend(next.events);
        let Some(action) = next.action else {
            conditions::delete(&mut status.conditions, RECONCILING);
            summarize(opts, status, generation, now, req.desired);
            return Ok(());
        };
        let kind = action.reconciler_type();
        if previous.contains(&kind) {
            if let Some(interval) = opts.active_retry(status) {
                return Err(retrying(req, status, interval));
            }
            let exhausted = opts
                .active_remediation(status)
                .is_some_and(|r| r.retries_exhausted(status));
            if !exhausted {
                return Err(requeue(req, status));
            }
            conditions::delete(&mut status.conditions, RECONCILING);
            return Ok(());
        }
        let msg = format!(
            "Running '{}' action with timeout of {}",
            action.name(),
            opts.timeout_for(&action)
        );
        conditions::mark_reconciling(
            &mut status.conditions,
            generation,
            now,
            conditions::PROGRESSING,
            &msg,
        );
        if kind == "release" {
            conditions::mark_unknown(
                &mut status.conditions,
                generation,
                now,
                READY,
                conditions::PROGRESSING,
                &msg,
            );
        }
        helm.patch(status);
        let outcome = perform(helm, &action, &input.drift);
        actions.push(action.clone());
        let recorded = record_outcome(&input, status, &action, &outcome, now);
        events.extend(recorded.events);
        if let Some(e) = recorded.error {
            if let Some(interval) = opts.active_retry(status) {
                return Err(retrying(req, status, interval));
            }
            if conditions::is_true(&status.conditions, READY) {
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    READY,
                    "ReconcileError",
                    &e,
                );
            }
            return Err(AtomicError::Action(e));
        }
        if kind == "remediate" {
            if let Some(interval) = opts.active_retry(status) {
                return Err(retrying(req, status, interval));
            }
            let rem = opts.active_remediation(status);
            let go_on =
                rem.is_none_or(|r| !r.retries_exhausted(status) || r.is_uninstall_after_upgrade());
            if go_on {
                return Err(requeue(req, status));
            }
            let count = rem.map_or(0, |r| r.failure_count(status));
            let msg = format!(
                "Failed to {} after {count} attempt(s)",
                status.last_attempted_release_action
            );
            conditions::mark_stalled(
                &mut status.conditions,
                generation,
                now,
                RETRIES_EXCEEDED,
                &msg,
            );
            return Err(AtomicError::ExceededMaxRetries);
        }
        previous.push(kind);
        helm.patch(status);
    }
}
