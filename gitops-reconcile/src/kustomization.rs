//! Kustomization, as kustomize-controller reconciles it.
//!
//! 1. [`plan`] builds the source artifact the way the controller does
//!    (gitops-render's Flux build with owner labels, `postBuild` from the
//!    given ConfigMaps/Secrets), orders the objects in server-side-apply
//!    stages (CRDs, Namespaces and ClusterRoles; `*Class` kinds; the rest),
//!    tells for each whether applying it creates, configures or leaves it
//!    unchanged against the live objects, and computes the new inventory and
//!    the prune set against `status.inventory`.
//! 2. The caller applies the plan (server-side apply, field manager
//!    `kustomize-controller`), deletes the prune set and runs health checks.
//! 3. [`reconcile`] takes the [`Outcome`] and returns the new status
//!    (`inventory`, `lastAppliedRevision`, `lastAttemptedRevision`,
//!    conditions with kustomize-controller's reasons), the events (the
//!    change set, like `Deployment/default/web created`) and the requeue
//!    (`spec.interval`, `spec.retryInterval` after a failure, the
//!    dependency interval while a source or dependency is not ready).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::Kustomization;
//! use gitops_core::fs::MemTree;
//! use gitops_reconcile::kustomization::{self, Action, Outcome};
//! use gitops_reconcile::{Requeue, Run};
//!
//! let ks: Kustomization = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
//!     "metadata": {"name": "apps", "namespace": "flux-system"},
//!     "spec": {"interval": "10m", "prune": true, "path": "./apps",
//!              "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
//! }))?;
//! let mut tree = MemTree::new();
//! tree.insert("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\ndata:\n  a: b\n")?;
//! let plan = kustomization::plan(&ks, &tree, "main@sha1:0123", &Default::default(), &[])?;
//! assert_eq!(plan.objects[0].action, Action::Created);
//! assert_eq!(plan.inventory.entries[0].id, "default_web__ConfigMap");
//!
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let out = kustomization::reconcile(&ks, &run, Outcome::applied(&plan));
//! let status = out.status.unwrap();
//! assert_eq!(status.last_applied_revision.as_deref(), Some("main@sha1:0123"));
//! assert_eq!(out.events[0].message, "ConfigMap/default/web created");
//! assert_eq!(out.requeue, Requeue::After(Duration::from_secs(600)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Whether an object would change is decided by comparing the desired
//!   object with the live one (every field the build sets must be equal in
//!   the live object), not by a server-side dry run: defaulted fields do
//!   not count as a change, but a field removed from the source is not seen
//!   as one either.
//! - `status.history` and the `Healthy` condition's timing are not kept;
//!   the success event says `Reconciliation finished, next run in …`
//!   without the elapsed time (the caller may add its own).

use gitops_core::error::chain;
use std::collections::HashMap;
use std::time::Duration;

use gitops_core::ObjectId;
use gitops_core::flux::{Condition, Kustomization};
use gitops_core::fs::FileTree;
use gitops_render::flux::Resources;
use gitops_render::flux::build::{BuildOptions, flux_build};
use gitops_render::flux::plan::{
    self as fplan, Inventory, Owner, Planned, PruneAction, PruneEntry,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conditions::{
    ARTIFACT_FAILED, BUILD_FAILED, DEPENDENCY_NOT_READY, HEALTH_CHECK_FAILED, PROGRESSING,
    PRUNE_FAILED, READY, RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED, RECONCILING,
};
use crate::flow::{self, Flow};
use crate::outcome::{Event, Reconciled, Requeue, Run, parse_interval};

/// kustomize-controller's default `--requeue-dependency`.
pub const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);

/// What applying an object does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The object does not exist yet.
    Created,
    /// It exists and some field the build sets differs.
    Configured,
    /// It exists with every field the build sets.
    Unchanged,
}

impl Action {
    /// Flux's word (`created`, `configured`, `unchanged`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One object of the plan.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlannedObject {
    /// The object, its id and stage.
    pub planned: Planned,
    /// What applying it does.
    pub action: Action,
}

/// What one run applies and prunes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// The source revision built.
    pub revision: String,
    /// Objects in apply order.
    pub objects: Vec<PlannedObject>,
    /// The inventory after applying.
    pub inventory: Inventory,
    /// Stale objects in deletion order (empty without `spec.prune`).
    pub prune: Vec<PruneEntry>,
}

/// `status.inventory` entries as the API stores them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InventoryStatus {
    /// The entries.
    #[serde(default)]
    pub entries: Vec<InventoryEntry>,
}

/// One `status.inventory.entries[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InventoryEntry {
    /// `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// API version.
    pub v: String,
}

impl InventoryStatus {
    fn from_inventory(inv: &Inventory) -> InventoryStatus {
        InventoryStatus {
            entries: inv
                .entries
                .iter()
                .map(|e| InventoryEntry {
                    id: e.id.clone(),
                    v: e.version.clone(),
                })
                .collect(),
        }
    }

    /// As gitops-render's [`Inventory`].
    #[must_use]
    pub fn to_inventory(&self) -> Inventory {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        Inventory::from_json(&v).unwrap_or_default()
    }
}

/// `Kustomization.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KustomizationStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last revision applied with success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Its origin revision (OCI artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,
    /// The last revision tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The applied objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventoryStatus>,
}

impl KustomizationStatus {
    /// The typed status of `obj`.
    #[must_use]
    pub fn of(obj: &Kustomization) -> KustomizationStatus {
        crate::typed_status(obj.status.as_ref())
    }
}

/// An object's identity apart from its API version: group, kind,
/// namespace, name.
type Key<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

fn key(id: &ObjectId) -> Key<'_> {
    (&id.group, &id.kind, id.namespace.as_deref(), &id.name)
}

/// Every field of `desired` is in `live` with the same value.
fn contained(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contained(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| contained(a, b))
        }
        (a, b) => a == b,
    }
}

fn action(p: &Planned, live: &HashMap<Key<'_>, &Value>) -> Action {
    match live.get(&key(&p.id)) {
        None => Action::Created,
        Some(l) if contained(&p.object, l) => Action::Unchanged,
        Some(_) => Action::Configured,
    }
}

fn owner(obj: &Kustomization) -> Owner {
    Owner {
        name: obj.metadata.name.clone().unwrap_or_default(),
        namespace: obj.metadata.namespace.clone().unwrap_or_default(),
    }
}

/// Build the artifact `source` at `revision` and plan the apply against
/// `live` (the cluster's current objects of the build and of the previous
/// inventory; objects missing from it count as absent).
///
/// # Errors
/// The build's error text (the `BuildFailed` message).
pub fn plan(
    obj: &Kustomization,
    source: &dyn FileTree,
    revision: &str,
    resources: &Resources,
    live: &[Value],
) -> Result<Plan, String> {
    let options = BuildOptions {
        owner_labels: true,
        ..BuildOptions::default()
    };
    let built = flux_build(source, obj, resources, &options).map_err(|e| chain(&e))?;
    let planned = fplan::apply_plan(&built.objects).map_err(|e| e.to_string())?;
    let inventory = Inventory::from_plan(&planned);
    let previous = KustomizationStatus::of(obj)
        .inventory
        .map(|i| i.to_inventory())
        .unwrap_or_default();
    let prune = if obj.spec.prune {
        fplan::prune_set(&previous, &inventory, live, Some(&owner(obj)))
    } else {
        Vec::new()
    };
    // The live objects by identity, read once (the first of duplicates wins).
    let live_ids: Vec<(ObjectId, &Value)> = live
        .iter()
        .filter_map(|l| fplan::object_id(l).map(|id| (id, l)))
        .collect();
    let mut by_id: HashMap<Key<'_>, &Value> = HashMap::with_capacity(live_ids.len());
    for (id, l) in &live_ids {
        by_id.entry(key(id)).or_insert(*l);
    }
    let objects = planned
        .into_iter()
        .map(|p| PlannedObject {
            action: action(&p, &by_id),
            planned: p,
        })
        .collect();
    Ok(Plan {
        revision: revision.to_owned(),
        objects,
        inventory,
        prune,
    })
}

/// `Kind/namespace/name` (or `Kind/name`), as Flux's change sets print.
#[must_use]
pub fn subject(id: &ObjectId) -> String {
    match &id.namespace {
        Some(ns) if !ns.is_empty() => format!("{}/{}/{}", id.kind, ns, id.name),
        _ => format!("{}/{}", id.kind, id.name),
    }
}

/// What the caller's work produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The `sourceRef` object does not exist.
    SourceNotFound,
    /// The source has no artifact yet.
    ArtifactMissing,
    /// A `dependsOn` Kustomization is not ready (the message says which).
    DependencyNotReady(String),
    /// The artifact at `revision` could not be fetched, verified or
    /// unpacked.
    ArtifactFailed {
        /// The revision being fetched.
        revision: String,
        /// Why.
        message: String,
    },
    /// [`plan`] failed at `revision`.
    BuildFailed {
        /// The revision tried.
        revision: String,
        /// The build error.
        message: String,
    },
    /// The plan was applied (fully or up to an error).
    Applied {
        /// The plan.
        plan: &'a Plan,
        /// The apply error, if applying failed.
        apply_error: Option<String>,
        /// The prune error, if deleting failed.
        prune_error: Option<String>,
        /// The health check error, if checks failed.
        health_error: Option<String>,
    },
}

impl<'a> Outcome<'a> {
    /// A plan applied, pruned and healthy.
    #[must_use]
    pub fn applied(plan: &'a Plan) -> Outcome<'a> {
        Outcome::Applied {
            plan,
            apply_error: None,
            prune_error: None,
            health_error: None,
        }
    }
}

fn go(d: Duration) -> String {
    gitops_core::duration::GoDuration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)).to_string()
}

fn source_ref(obj: &Kustomization) -> String {
    let r = &obj.spec.source_ref;
    let ns = r
        .namespace
        .clone()
        .or_else(|| obj.metadata.namespace.clone())
        .unwrap_or_default();
    format!("{}/{}/{}", r.kind, ns, r.name)
}

/// Reconcile `obj` given what the caller's apply produced.
#[must_use]
pub fn reconcile(
    obj: &Kustomization,
    run: &Run,
    outcome: Outcome<'_>,
) -> Reconciled<KustomizationStatus> {
    if obj.spec.suspend == Some(true) {
        return Reconciled::suspended();
    }
    let old = KustomizationStatus::of(obj);
    let mut status = old.clone();
    let mut f = Flow::new(run, &old.conditions);
    let interval =
        parse_interval("spec.interval", &obj.spec.interval).unwrap_or(Duration::from_secs(600));
    let retry = obj
        .spec
        .retry_interval
        .as_deref()
        .and_then(|r| parse_interval("spec.retryInterval", r).ok())
        .unwrap_or(interval);
    let timeout = obj
        .spec
        .extra
        .get("timeout")
        .and_then(Value::as_str)
        .and_then(|t| parse_interval("spec.timeout", t).ok())
        .unwrap_or(interval);
    let mut events = Vec::new();
    let revision_of = |o: &Outcome<'_>| match o {
        Outcome::BuildFailed { revision, .. } | Outcome::ArtifactFailed { revision, .. } => {
            Some(revision.clone())
        }
        Outcome::Applied { plan, .. } => Some(plan.revision.clone()),
        _ => None,
    };
    let revision = revision_of(&outcome);
    let mut event = |severity_error: bool, f: &Flow<'_>, msg: String| {
        let reason = crate::conditions::reason(&f.conditions, READY).to_owned();
        let reason = if reason.is_empty() {
            (if severity_error { "error" } else { "info" }).to_owned()
        } else {
            reason
        };
        let mut e = if severity_error {
            Event::warning(&reason, msg)
        } else {
            Event::normal(&reason, msg)
        };
        if let Some(r) = &revision {
            e = e.with("kustomize.toolkit.fluxcd.io/revision", r.clone());
        }
        events.push(e);
    };
    let requeue = match &outcome {
        Outcome::SourceNotFound => {
            let msg = format!("Source '{}' not found", source_ref(obj));
            f.mark_false(READY, ARTIFACT_FAILED, &msg);
            Requeue::After(retry)
        }
        Outcome::ArtifactMissing => {
            let msg = format!(
                "Source artifact not found, retrying in {}",
                go(DEPENDENCY_REQUEUE)
            );
            f.mark_false(READY, ARTIFACT_FAILED, &msg);
            Requeue::After(DEPENDENCY_REQUEUE)
        }
        Outcome::DependencyNotReady(why) => {
            f.mark_false(READY, DEPENDENCY_NOT_READY, why);
            let msg = format!(
                "Dependencies do not meet ready condition, retrying in {}",
                go(DEPENDENCY_REQUEUE)
            );
            event(false, &f, msg);
            Requeue::After(DEPENDENCY_REQUEUE)
        }
        Outcome::ArtifactFailed { revision, message } => {
            progressing(&mut f, "Fetching", revision, timeout);
            f.mark_false(READY, ARTIFACT_FAILED, message);
            event(true, &f, message.clone());
            Requeue::After(retry)
        }
        Outcome::BuildFailed { revision, message } => {
            progressing(&mut f, "Building", revision, timeout);
            status.last_attempted_revision = Some(revision.clone());
            f.mark_false(READY, BUILD_FAILED, message);
            event(true, &f, message.clone());
            Requeue::After(retry)
        }
        Outcome::Applied {
            plan,
            apply_error,
            prune_error,
            health_error,
        } => {
            progressing(&mut f, "Building", &plan.revision, timeout);
            status.last_attempted_revision = Some(plan.revision.clone());
            let failed = if let Some(e) = apply_error {
                f.mark_false(READY, RECONCILIATION_FAILED, e);
                Some(e)
            } else {
                status.inventory = Some(InventoryStatus::from_inventory(&plan.inventory));
                let changes: Vec<String> = plan
                    .objects
                    .iter()
                    .filter(|o| o.action != Action::Unchanged)
                    .map(|o| format!("{} {}", subject(&o.planned.id), o.action.as_str()))
                    .collect();
                if !changes.is_empty() {
                    event(false, &f, changes.join("\n"));
                }
                if let Some(e) = prune_error {
                    // Objects whose deletion was not confirmed stay tracked.
                    let mut inv = plan.inventory.clone();
                    let old_inv = old
                        .inventory
                        .as_ref()
                        .map(InventoryStatus::to_inventory)
                        .unwrap_or_default();
                    for p in &plan.prune {
                        if p.action == PruneAction::Delete
                            && let Some(e) =
                                old_inv.entries.iter().find(|e| e.id == p.id.inventory_id())
                        {
                            inv.entries.push(e.clone());
                        }
                    }
                    status.inventory = Some(InventoryStatus::from_inventory(&inv));
                    f.mark_false(READY, PRUNE_FAILED, e);
                    Some(e)
                } else {
                    let deleted: Vec<String> = plan
                        .prune
                        .iter()
                        .filter(|p| p.action == PruneAction::Delete)
                        .map(|p| format!("{} deleted", subject(&p.id)))
                        .collect();
                    if !deleted.is_empty() {
                        event(false, &f, deleted.join("\n"));
                    }
                    if let Some(e) = health_error {
                        f.mark_false(READY, HEALTH_CHECK_FAILED, e);
                        Some(e)
                    } else {
                        None
                    }
                }
            };
            match failed {
                Some(e) => {
                    event(true, &f, e.clone());
                    Requeue::After(retry)
                }
                None => {
                    status.last_applied_revision = Some(plan.revision.clone());
                    let msg = format!("Applied revision: {}", plan.revision);
                    f.mark_true(READY, RECONCILIATION_SUCCEEDED, &msg);
                    Requeue::After(interval)
                }
            }
        }
    };
    // finalizeStatus
    if let Some(at) = run.requested_at() {
        status.last_handled_reconcile_at = Some(at.to_owned());
    }
    if f.is_true(READY) {
        f.delete(RECONCILING);
        status.observed_generation = run.generation;
        event(
            false,
            &f,
            format!("Reconciliation finished, next run in {}", go(interval)),
        );
    }
    if crate::conditions::is_false(&f.conditions, READY)
        && let Some(mut r) = crate::conditions::get(&f.conditions, RECONCILING).cloned()
    {
        r.reason = Some(crate::conditions::PROGRESSING_WITH_RETRY.to_owned());
        crate::conditions::set(&mut f.conditions, run.generation, &f.now, r);
    }
    status.conditions = f.conditions;
    Reconciled {
        status: Some(status),
        events,
        requeue,
    }
}

/// `Ready=Unknown` and `Reconciling` with kustomize-controller's progress
/// message (`Fetching` or `Building` manifests).
fn progressing(f: &mut Flow<'_>, step: &str, revision: &str, timeout: Duration) {
    f.mark_unknown(READY, PROGRESSING, "Reconciliation in progress");
    let msg = format!(
        "{step} manifests for revision {revision} with a timeout of {}",
        go(timeout)
    );
    crate::conditions::mark_reconciling(
        &mut f.conditions,
        f.run.generation,
        &f.now,
        PROGRESSING,
        &msg,
    );
}
