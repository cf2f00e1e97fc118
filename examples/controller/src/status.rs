//! Status writes and events, shared by the reconcilers.
//!
//! The status goes to the status subresource as a JSON merge patch
//! (`application/merge-patch+json`) of `{"status": …}`: the reconcilers
//! return the whole new status, and fields the old status had but the new
//! one lacks are sent as `null` so the patch replaces the status. Nothing is
//! written when the status did not change (a run that only re-checked).

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::context::{Context, Error};

/// The merge patch turning `old` into `new` (both `status` objects):
/// `{"status": new}` plus `null` for each top-level field only `old` has;
/// `None` when they are equal.
#[must_use]
pub fn status_patch(old: Option<&Value>, new: &Value) -> Option<Value> {
    let empty = Value::Object(Map::new());
    let old = old.unwrap_or(&empty);
    if old == new {
        return None;
    }
    let mut body = new.as_object().cloned().unwrap_or_default();
    if let Some(o) = old.as_object() {
        for k in o.keys() {
            if !body.contains_key(k) {
                body.insert(k.clone(), Value::Null);
            }
        }
    }
    let mut root = Map::new();
    root.insert("status".to_owned(), Value::Object(body));
    Some(Value::Object(root))
}

/// Patch `name`'s status subresource to `new` when it differs from `old`.
/// Returns whether a patch was sent.
///
/// # Errors
/// The API's answer.
pub async fn patch_status<K, S>(
    api: &Api<K>,
    name: &str,
    old: Option<&impl Serialize>,
    new: &S,
) -> Result<bool, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let old = old.and_then(|o| serde_json::to_value(o).ok());
    let new = serde_json::to_value(new).map_err(|source| Error::Decode {
        kind: "status",
        source,
    })?;
    let Some(patch) = status_patch(old.as_ref(), &new) else {
        return Ok(false);
    };
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(true)
}

/// Publish the reconciler's events on `reference` (action `Reconcile`)
/// with the image controllers' recorder. A failed publish is logged, not an
/// error: the status already says it.
pub async fn publish(
    ctx: &Context,
    reference: &ObjectReference,
    events: &[gitops_reconcile::Event],
) {
    publish_with(&ctx.recorder, reference, events).await;
}

/// [`publish`] with another recorder (another reporting controller).
pub async fn publish_with(
    recorder: &Recorder,
    reference: &ObjectReference,
    events: &[gitops_reconcile::Event],
) {
    for e in events {
        let ev = KubeEvent {
            type_: match e.r#type {
                gitops_reconcile::EventType::Normal => KubeEventType::Normal,
                gitops_reconcile::EventType::Warning => KubeEventType::Warning,
            },
            reason: e.reason.clone(),
            note: Some(e.message.clone()),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(err) = recorder.publish(&ev, reference).await {
            crate::log::warn(&format!("event {} not recorded: {err}", e.reason));
        }
    }
}

/// kube-runtime's action for a reconciler's requeue.
#[must_use]
pub fn action(requeue: gitops_reconcile::Requeue) -> Action {
    match requeue {
        gitops_reconcile::Requeue::After(d) => Action::requeue(d),
        _ => Action::await_change(),
    }
}

/// Decode a kube resource into gitops-core's plain type (same JSON).
///
/// # Errors
/// [`Error::Decode`].
pub fn plain<R: Serialize, T: DeserializeOwned>(kind: &'static str, obj: &R) -> Result<T, Error> {
    serde_json::to_value(obj)
        .and_then(serde_json::from_value)
        .map_err(|source| Error::Decode { kind, source })
}
