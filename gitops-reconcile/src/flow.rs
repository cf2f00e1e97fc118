//! The run skeleton Flux's controllers share (`github.com/fluxcd/pkg/runtime/reconcile`):
//! progressive status at the start, the result finalizer at the end, and
//! the events that compare the old and new `Ready` conditions.

use std::time::Duration;

use gitops_core::flux::Condition;

use crate::conditions::{
    self as c, PROGRESSING, PROGRESSING_WITH_RETRY, READY, RECONCILING, STALLED,
};
use crate::outcome::{Event, Requeue, Run};

/// How a run ended, before finalizing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Done; run again after this (`None`: only on change).
    Success(Option<Duration>),
    /// Failed with an error to retry with backoff (`retry` is the wait).
    Error { message: String, retry: Duration },
    /// Not done, no error: run again after this (a dependency not ready).
    Retry(Duration),
    /// `Stalled` was marked: wait for a change of the object.
    Stalled,
}

/// The conditions being built in one run.
pub(crate) struct Flow<'r> {
    pub conditions: Vec<Condition>,
    pub run: &'r Run,
    pub now: String,
}

impl<'r> Flow<'r> {
    pub fn new(run: &'r Run, previous: &[Condition]) -> Flow<'r> {
        Flow {
            conditions: previous.to_vec(),
            run,
            now: run.now_rfc3339(),
        }
    }

    pub fn mark_true(&mut self, t: &str, reason: &str, message: &str) {
        c::mark_true(
            &mut self.conditions,
            self.run.generation,
            &self.now,
            t,
            reason,
            message,
        );
    }

    pub fn mark_false(&mut self, t: &str, reason: &str, message: &str) {
        c::mark_false(
            &mut self.conditions,
            self.run.generation,
            &self.now,
            t,
            reason,
            message,
        );
    }

    pub fn mark_unknown(&mut self, t: &str, reason: &str, message: &str) {
        c::mark_unknown(
            &mut self.conditions,
            self.run.generation,
            &self.now,
            t,
            reason,
            message,
        );
    }

    pub fn mark_stalled(&mut self, reason: &str, message: &str) {
        c::mark_stalled(
            &mut self.conditions,
            self.run.generation,
            &self.now,
            reason,
            message,
        );
    }

    pub fn delete(&mut self, t: &str) {
        c::delete(&mut self.conditions, t);
    }

    pub fn is_true(&self, t: &str) -> bool {
        c::is_true(&self.conditions, t)
    }

    fn is_unknown(&self, t: &str) -> bool {
        c::get(&self.conditions, t).is_none_or(|x| x.status == "Unknown")
    }

    /// `ProgressiveStatus`: `Reconciling=True`, and `Ready=Unknown` with the
    /// same reason when Ready is absent or unknown (or `drift`).
    pub fn progressive(&mut self, drift: bool, message: &str) {
        c::mark_reconciling(
            &mut self.conditions,
            self.run.generation,
            &self.now,
            PROGRESSING,
            message,
        );
        if drift || self.is_unknown(READY) {
            self.mark_unknown(READY, PROGRESSING, message);
        }
    }

    /// The result finalizer for controllers whose success requeues at an
    /// interval, then `Reconciling`'s reason becomes `ProgressingWithRetry`
    /// when the run did not succeed. Returns the requeue and whether the
    /// status's `observedGeneration` advances (Ready or Stalled).
    pub fn finalize(&mut self, ending: &Ending, ready_message: &str) -> (Requeue, bool) {
        let success = matches!(ending, Ending::Success(_));
        let error = matches!(ending, Ending::Error { .. });
        if error {
            self.delete(STALLED);
        }
        if !success {
            if matches!(ending, Ending::Retry(_)) {
                self.delete(STALLED);
            }
            let overwrite = self.is_unknown(READY) || self.is_true(READY);
            if self.is_true(STALLED) && overwrite {
                let s = c::get(&self.conditions, STALLED)
                    .cloned()
                    .expect("stalled is set");
                let (r, m) = (s.reason.unwrap_or_default(), s.message.unwrap_or_default());
                self.mark_false(READY, &r, &m);
            }
        }
        if success || self.is_true(STALLED) {
            self.delete(RECONCILING);
        }
        if let Ending::Error { message, .. } = ending
            && (self.is_unknown(READY) || self.is_true(READY))
        {
            self.mark_false(READY, c::FAILED, message);
        }
        if success && self.is_unknown(READY) && !self.is_true(RECONCILING) && !self.is_true(STALLED)
        {
            self.mark_true(READY, c::SUCCEEDED, ready_message);
        }
        if let Some(r) = c::get(&self.conditions, RECONCILING).cloned() {
            let mut r = r;
            r.reason = Some(PROGRESSING_WITH_RETRY.to_owned());
            c::set(&mut self.conditions, self.run.generation, &self.now, r);
        }
        let requeue = match ending {
            Ending::Success(Some(d)) | Ending::Retry(d) => Requeue::After(*d),
            Ending::Error { retry, .. } => Requeue::After(*retry),
            Ending::Success(None) | Ending::Stalled => Requeue::Never,
        };
        let observed = self.is_ready() || self.is_true(STALLED);
        (requeue, observed)
    }

    /// `IsReady`: Ready True, neither Stalled nor Reconciling.
    pub fn is_ready(&self) -> bool {
        is_ready(&self.conditions)
    }
}

pub(crate) fn is_ready(list: &[Condition]) -> bool {
    c::is_true(list, READY) && !c::is_true(list, STALLED) && !c::is_true(list, RECONCILING)
}

/// The events Flux's controllers record from the old and new Ready
/// conditions: a recovery or a changed ready message is `Normal`, a
/// not-ready result `Warning`; an unchanged success records nothing
/// (Flux sends it only to notification-controller as a trace).
pub(crate) fn ready_events(old: &[Condition], new: &[Condition]) -> Vec<Event> {
    let Some(ready) = c::get(new, READY) else {
        return Vec::new();
    };
    let reason = ready.reason.clone().unwrap_or_default();
    let message = ready.message.clone().unwrap_or_default();
    let (was, is) = (is_ready(old), is_ready(new));
    if was && is {
        let old_msg = c::get(old, READY)
            .and_then(|r| r.message.clone())
            .unwrap_or_default();
        if old_msg != message {
            return vec![Event::normal(&reason, message)];
        }
        return Vec::new();
    }
    if is {
        return vec![Event::normal(&reason, message)];
    }
    vec![Event::warning(&reason, message)]
}

/// Serde helper: skip a zero generation.
pub(crate) fn is_zero(n: &i64) -> bool {
    *n == 0
}
