//! What every reconciler takes besides its object ([`Run`]) and gives back
//! ([`Reconciled`]): the new status, the events to record and when to run
//! again.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use gitops_core::duration::GoDuration;
use gitops_core::flux::ObjectMeta;

/// The annotation `flux reconcile` sets to ask for a run now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// One reconciliation's inputs that are not the object's spec: its
/// generation, annotations and the time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Run {
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The time of this run (the status's timestamps).
    pub now: SystemTime,
}

impl Run {
    /// A run of an object at `generation` at time `now`.
    #[must_use]
    pub fn new(generation: i64, now: SystemTime) -> Run {
        Run {
            generation,
            annotations: BTreeMap::new(),
            now,
        }
    }

    /// With the object's annotations.
    #[must_use]
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Run {
        self.annotations = annotations;
        self
    }

    /// With the annotations of `meta`.
    #[must_use]
    pub fn with_meta(self, meta: &ObjectMeta) -> Run {
        let a = meta.annotations.clone().unwrap_or_default();
        self.with_annotations(a)
    }

    /// `now` as RFC 3339 (seconds, UTC), as conditions record it.
    #[must_use]
    pub fn now_rfc3339(&self) -> String {
        gitops_core::time::format_system_time(self.now)
    }

    /// The `reconcile.fluxcd.io/requestedAt` value, if any: it becomes
    /// `status.lastHandledReconcileAt`.
    #[must_use]
    pub fn requested_at(&self) -> Option<&str> {
        self.annotations.get(REQUESTED_AT).map(String::as_str)
    }
}

/// `Normal` or `Warning`, as Kubernetes events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

impl EventType {
    /// The API spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event to record on the object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// `Normal` or `Warning`.
    pub r#type: EventType,
    /// The reason (Flux's condition reasons).
    pub reason: String,
    /// The message.
    pub message: String,
    /// Flux's event metadata (e.g. `revision`), sent as annotations
    /// prefixed with the controller's group.
    pub metadata: BTreeMap<String, String>,
}

impl Event {
    /// A `Normal` event.
    #[must_use]
    pub fn normal(reason: &str, message: impl Into<String>) -> Event {
        Event {
            r#type: EventType::Normal,
            reason: reason.to_owned(),
            message: message.into(),
            metadata: BTreeMap::new(),
        }
    }

    /// A `Warning` event.
    #[must_use]
    pub fn warning(reason: &str, message: impl Into<String>) -> Event {
        Event {
            r#type: EventType::Warning,
            ..Event::normal(reason, message)
        }
    }

    /// With one metadata entry.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

/// When to reconcile the object again.
///
/// After a failure the reconcilers answer the retry interval, as
/// kustomize-controller does (`spec.retryInterval`). Flux's image and
/// source controllers instead hand the error to controller-runtime, which
/// retries with exponential backoff (750 ms doubling up to 15 minutes,
/// their `--min-retry-delay`/`--max-retry-delay`); a controller wanting
/// that backoff applies it itself (kube-runtime's `error_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requeue {
    /// After this long (`spec.interval` on success, `retryInterval` or the
    /// interval on failure).
    After(Duration),
    /// Only when the object changes (suspended, or stalled on its spec).
    Never,
}

/// A reconciler's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reconciled<S> {
    /// The whole new status (patch it as `{"status": …}`); `None` when the
    /// status must not change (a suspended object).
    pub status: Option<S>,
    /// Events to record, in order.
    pub events: Vec<Event>,
    /// When to run again.
    pub requeue: Requeue,
}

impl<S> Reconciled<S> {
    /// A suspended object: no status change, no event, no requeue.
    #[must_use]
    pub fn suspended() -> Reconciled<S> {
        Reconciled {
            status: None,
            events: Vec::new(),
            requeue: Requeue::Never,
        }
    }
}

/// Errors of the reconcilers' inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A duration field is not a Go duration.
    #[error("invalid {field} {value:?}: {message}")]
    Duration {
        /// The field, e.g. `spec.interval`.
        field: &'static str,
        /// The text (truncated).
        value: String,
        /// Why.
        message: String,
    },
}

/// Parse a Flux duration field (`spec.interval` …) into a [`Duration`].
///
/// # Errors
/// [`SpecError::Duration`] when `value` is not a Go duration or is negative.
pub fn parse_interval(field: &'static str, value: &str) -> Result<Duration, SpecError> {
    let err = |message: String| SpecError::Duration {
        field,
        value: value.chars().take(64).collect(),
        message,
    };
    let d: GoDuration = value.parse().map_err(|e| err(format!("{e}")))?;
    u64::try_from(d.0)
        .map(Duration::from_nanos)
        .map_err(|_| err("negative duration".to_owned()))
}

/// Seconds of `t` since the Unix epoch (negative before it).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
