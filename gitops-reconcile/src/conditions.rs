//! Flux's condition rules (`github.com/fluxcd/pkg/runtime/conditions`) over
//! a status's `conditions` list.
//!
//! - [`set`] keeps `lastTransitionTime` when type, status, reason and
//!   message are unchanged, always records the object's generation, trims
//!   messages to 32,768 bytes and sorts the list as Flux does: `Stalled`,
//!   `Reconciling`, `Ready` first, then the others by newest generation and
//!   type.
//! - [`mark_reconciling`] deletes `Stalled`; [`mark_stalled`] deletes
//!   `Reconciling`.
//!
//! ```
//! use gitops_reconcile::conditions::{self, READY, SUCCEEDED};
//!
//! let mut list = Vec::new();
//! conditions::mark_true(&mut list, 3, "2026-01-01T00:00:00Z", READY, SUCCEEDED, "done");
//! // The same state later keeps the first transition time.
//! conditions::mark_true(&mut list, 4, "2026-01-02T00:00:00Z", READY, SUCCEEDED, "done");
//! assert_eq!(list[0].last_transition_time.as_deref(), Some("2026-01-01T00:00:00Z"));
//! assert_eq!(list[0].observed_generation, Some(4));
//! assert!(conditions::is_true(&list, READY));
//! ```

use gitops_core::flux::Condition;

/// `Ready`.
pub const READY: &str = "Ready";
/// `Reconciling`.
pub const RECONCILING: &str = "Reconciling";
/// `Stalled`.
pub const STALLED: &str = "Stalled";
/// `Healthy`.
pub const HEALTHY: &str = "Healthy";

/// `Succeeded`.
pub const SUCCEEDED: &str = "Succeeded";
/// `Failed`.
pub const FAILED: &str = "Failed";
/// `Progressing`.
pub const PROGRESSING: &str = "Progressing";
/// `ProgressingWithRetry`.
pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
/// `Suspended`.
pub const SUSPENDED: &str = "Suspended";
/// `DependencyNotReady`.
pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
/// `ArtifactFailed`.
pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
/// `BuildFailed`.
pub const BUILD_FAILED: &str = "BuildFailed";
/// `PruneFailed`.
pub const PRUNE_FAILED: &str = "PruneFailed";
/// `HealthCheckFailed`.
pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
/// `ReconciliationSucceeded`.
pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
/// `ReconciliationFailed`.
pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
/// `InvalidURL`.
pub const INVALID_URL: &str = "InvalidURL";
/// `InvalidPath`.
pub const INVALID_PATH: &str = "InvalidPath";

/// Longest message kept; longer ones end in `...`.
pub const MAX_MESSAGE_LEN: usize = 32_768;

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`.
    Unknown,
}

impl State {
    /// The API spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            State::True => "True",
            State::False => "False",
            State::Unknown => "Unknown",
        }
    }
}

/// A new condition (no transition time or generation yet).
#[must_use]
pub fn new(r#type: &str, state: State, reason: &str, message: &str) -> Condition {
    let mut c: Condition = serde_json::from_value(serde_json::json!({
        "type": r#type,
        "status": state.as_str(),
    }))
    .expect("a condition with type and status decodes");
    c.reason = Some(reason.to_owned());
    c.message = Some(message.to_owned());
    c
}

/// The condition of `type`, if present.
#[must_use]
pub fn get<'a>(list: &'a [Condition], r#type: &str) -> Option<&'a Condition> {
    list.iter().find(|c| c.r#type == r#type)
}

/// Whether the condition of `type` is `True`.
#[must_use]
pub fn is_true(list: &[Condition], r#type: &str) -> bool {
    get(list, r#type).is_some_and(|c| c.status == "True")
}

/// Whether the condition of `type` is `False`.
#[must_use]
pub fn is_false(list: &[Condition], r#type: &str) -> bool {
    get(list, r#type).is_some_and(|c| c.status == "False")
}

/// The reason of the condition of `type` (empty when absent).
#[must_use]
pub fn reason<'a>(list: &'a [Condition], r#type: &str) -> &'a str {
    get(list, r#type)
        .and_then(|c| c.reason.as_deref())
        .unwrap_or("")
}

/// Remove the condition of `type`.
pub fn delete(list: &mut Vec<Condition>, r#type: &str) {
    list.retain(|c| c.r#type != r#type);
}

fn trim(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_LEN {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_LEN - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

fn weight(t: &str) -> Option<u8> {
    match t {
        STALLED => Some(0),
        RECONCILING => Some(1),
        READY => Some(2),
        _ => None,
    }
}

fn order(a: &Condition, b: &Condition) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (weight(&a.r#type), weight(&b.r#type)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => {
            let (ga, gb) = (
                a.observed_generation.unwrap_or(0),
                b.observed_generation.unwrap_or(0),
            );
            if ga == gb {
                a.r#type.cmp(&b.r#type)
            } else {
                gb.cmp(&ga)
            }
        }
    }
}

/// Set `condition` for an object of `generation` at time `now` (RFC 3339),
/// with Flux's transition-time, trimming and ordering rules.
pub fn set(list: &mut Vec<Condition>, generation: i64, now: &str, mut condition: Condition) {
    condition.observed_generation = Some(generation);
    if let Some(m) = &condition.message {
        condition.message = Some(trim(m));
    }
    let same = |a: &Condition, b: &Condition| {
        a.status == b.status && a.reason == b.reason && a.message == b.message
    };
    match list.iter_mut().find(|c| c.r#type == condition.r#type) {
        Some(existing) => {
            if same(existing, &condition) {
                condition.last_transition_time = existing.last_transition_time.clone();
            } else {
                condition.last_transition_time = Some(now.to_owned());
            }
            *existing = condition;
        }
        None => {
            if condition.last_transition_time.is_none() {
                condition.last_transition_time = Some(now.to_owned());
            }
            list.push(condition);
        }
    }
    list.sort_by(order);
}

/// Set `type` to `True`.
pub fn mark_true(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    r#type: &str,
    reason: &str,
    message: &str,
) {
    set(
        list,
        generation,
        now,
        new(r#type, State::True, reason, message),
    );
}

/// Set `type` to `False`.
pub fn mark_false(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    r#type: &str,
    reason: &str,
    message: &str,
) {
    set(
        list,
        generation,
        now,
        new(r#type, State::False, reason, message),
    );
}

/// Set `type` to `Unknown`.
pub fn mark_unknown(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    r#type: &str,
    reason: &str,
    message: &str,
) {
    set(
        list,
        generation,
        now,
        new(r#type, State::Unknown, reason, message),
    );
}

/// `Reconciling=True` and no `Stalled`: the start of a run.
pub fn mark_reconciling(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    reason: &str,
    message: &str,
) {
    delete(list, STALLED);
    mark_true(list, generation, now, RECONCILING, reason, message);
}

/// `Stalled=True` and no `Reconciling`: a failure retrying cannot fix.
pub fn mark_stalled(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    reason: &str,
    message: &str,
) {
    delete(list, RECONCILING);
    mark_true(list, generation, now, STALLED, reason, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_transitions() {
        let mut l = Vec::new();
        mark_true(&mut l, 1, "t1", "ArtifactInStorage", SUCCEEDED, "x");
        mark_true(&mut l, 1, "t1", READY, SUCCEEDED, "ok");
        mark_reconciling(&mut l, 1, "t1", PROGRESSING, "go");
        mark_stalled(&mut l, 1, "t2", FAILED, "bad");
        let types: Vec<_> = l.iter().map(|c| c.r#type.as_str()).collect();
        assert_eq!(types, ["Stalled", "Ready", "ArtifactInStorage"]);
        mark_false(&mut l, 2, "t3", READY, FAILED, "bad");
        assert_eq!(
            get(&l, READY).unwrap().last_transition_time.as_deref(),
            Some("t3")
        );
        mark_false(&mut l, 3, "t4", READY, FAILED, "bad");
        let r = get(&l, READY).unwrap();
        assert_eq!(r.last_transition_time.as_deref(), Some("t3"));
        assert_eq!(r.observed_generation, Some(3));
    }

    #[test]
    fn trims_long_messages() {
        let mut l = Vec::new();
        mark_true(
            &mut l,
            1,
            "t",
            READY,
            SUCCEEDED,
            &"é".repeat(MAX_MESSAGE_LEN),
        );
        let m = get(&l, READY).unwrap().message.as_deref().unwrap();
        assert!(m.len() <= MAX_MESSAGE_LEN && m.ends_with("..."));
    }
}
