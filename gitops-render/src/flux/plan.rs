//! How kustomize-controller applies a build: apply order and stages
//! (fluxcd/pkg `ssa/sort.go`, `ApplyAllStaged`), the inventory it records,
//! the prune set against a previous inventory, and a diff of two builds.
//!
//! ```
//! use gitops_render::flux::plan::{Inventory, apply_plan, prune_set};
//! use serde_json::json;
//!
//! let objs = vec![
//!     json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"}}),
//!     json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}),
//! ];
//! let plan = apply_plan(&objs)?;
//! assert_eq!(plan[0].id.kind, "Namespace");
//! let inv = Inventory::from_plan(&plan);
//! assert_eq!(inv.entries[1].id, "app_web_apps_Deployment");
//!
//! let next = Inventory::from_plan(&apply_plan(&objs[1..])?);
//! let prune = prune_set(&inv, &next, &[], None);
//! assert_eq!(prune[0].id.name, "web");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use gitops_core::ObjectId;
use serde_json::{Value, json};

/// Kinds applied first, in this order (`ssa.ReconcileOrder.First`).
pub const FIRST: [&str; 23] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last (`ssa.ReconcileOrder.Last`).
pub const LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Label/annotation group of kustomize-controller.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An object lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("object #{index} lacks apiVersion, kind or metadata.name: {object}")]
    NotAnObject {
        /// Position in the build.
        index: usize,
        /// The object, as JSON (shortened).
        object: String,
    },
    /// An inventory file is malformed.
    #[error("inventory: {0}")]
    Inventory(String),
}

/// The apply stages of `ApplyAllStaged`; each waits for the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles.
    Definitions,
    /// Kinds whose name ends in `Class`.
    Classes,
    /// Everything else.
    Resources,
}

impl Stage {
    /// A short name (`definitions`, `classes`, `resources`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Definitions => "definitions",
            Stage::Classes => "classes",
            Stage::Resources => "resources",
        }
    }
}

/// One object in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Its id.
    pub id: ObjectId,
    /// Its stage.
    pub stage: Stage,
    /// The object.
    pub object: Value,
}

fn kind_index(kind: &str) -> i64 {
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return i as i64 - FIRST.len() as i64;
    }
    if let Some(i) = LAST.iter().position(|k| *k == kind) {
        return i as i64 + 1;
    }
    0
}

/// fluxcd/pkg `ssa` order of two ids.
pub fn compare(a: &ObjectId, b: &ObjectId) -> Ordering {
    let same_gk = a.group == b.group && a.kind == b.kind;
    if !same_gk {
        return kind_index(&a.kind)
            .cmp(&kind_index(&b.kind))
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| a.kind.cmp(&b.kind));
    }
    let ns = |o: &ObjectId| o.namespace.clone().unwrap_or_default();
    ns(a).cmp(&ns(b)).then_with(|| a.name.cmp(&b.name))
}

/// The id of a JSON object.
pub fn object_id(obj: &Value) -> Option<ObjectId> {
    fn s(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let meta = obj.get("metadata");
    Some(ObjectId::new(
        s(obj.get("apiVersion"))?,
        s(obj.get("kind"))?,
        s(meta.and_then(|m| m.get("namespace"))),
        s(meta.and_then(|m| m.get("name")))?,
    ))
}

fn stage_of(id: &ObjectId) -> Stage {
    let kind = id.kind.to_ascii_lowercase();
    let def = (kind == "customresourcedefinition" && id.group == "apiextensions.k8s.io")
        || (kind == "namespace" && id.group.is_empty() && id.version == "v1")
        || (kind == "clusterrole" && id.group == "rbac.authorization.k8s.io");
    if def {
        Stage::Definitions
    } else if id.kind.ends_with("Class") {
        Stage::Classes
    } else {
        Stage::Resources
    }
}

/// Objects in the order kustomize-controller applies them: by stage, then
/// by the `ssa` sort within each stage.
pub fn apply_plan(objects: &[Value]) -> Result<Vec<Planned>, Error> {
    let mut plan = Vec::with_capacity(objects.len());
    for (index, obj) in objects.iter().enumerate() {
        let id = object_id(obj).ok_or_else(|| Error::NotAnObject {
            index,
            object: obj.to_string().chars().take(120).collect(),
        })?;
        plan.push(Planned {
            stage: stage_of(&id),
            id,
            object: obj.clone(),
        });
    }
    plan.sort_by(|a, b| a.stage.cmp(&b.stage).then_with(|| compare(&a.id, &b.id)));
    Ok(plan)
}

/// One inventory entry (`status.inventory.entries[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// API version (`v`).
    pub version: String,
}

/// A Kustomization's inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Entries in apply order.
    pub entries: Vec<Entry>,
}

impl Inventory {
    /// The inventory Flux records after applying `plan`.
    pub fn from_plan(plan: &[Planned]) -> Inventory {
        Inventory {
            entries: plan
                .iter()
                .map(|p| Entry {
                    id: p.id.inventory_id(),
                    version: p.id.version.clone(),
                })
                .collect(),
        }
    }

    /// Read `{"entries": [{"id", "v"}]}`, a whole Kustomization with
    /// `status.inventory`, or a bare list of entries.
    pub fn from_json(v: &Value) -> Result<Inventory, Error> {
        let list = v
            .pointer("/status/inventory/entries")
            .or_else(|| v.get("entries"))
            .or(Some(v))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::Inventory(
                    "expected entries: a list of {id, v}, or a Kustomization with status.inventory"
                        .to_owned(),
                )
            })?;
        let mut entries = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let id = e
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Inventory(format!("entry {i} has no string field \"id\"")))?;
            ObjectId::from_inventory_id(id, "").map_err(|e| Error::Inventory(e.to_string()))?;
            entries.push(Entry {
                id: id.to_owned(),
                version: e
                    .get("v")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(Inventory { entries })
    }

    /// As Flux stores it: `{"entries": [{"id": …, "v": …}]}`.
    pub fn to_json(&self) -> Value {
        json!({"entries": self.entries.iter().map(|e| json!({"id": e.id, "v": e.version})).collect::<Vec<_>>()})
    }

    /// The ids as [`ObjectId`]s (entries that do not parse are skipped).
    pub fn ids(&self) -> Vec<ObjectId> {
        self.entries
            .iter()
            .filter_map(|e| ObjectId::from_inventory_id(&e.id, &e.version).ok())
            .collect()
    }
}

/// The Kustomization that owns the objects (its owner labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Kustomization name.
    pub name: String,
    /// Kustomization namespace.
    pub namespace: String,
}

impl Owner {
    /// The labels kustomize-controller sets on every applied object.
    pub fn labels(&self) -> [(String, String); 2] {
        [
            (format!("{GROUP}/name"), self.name.clone()),
            (format!("{GROUP}/namespace"), self.namespace.clone()),
        ]
    }
}

/// What pruning does with one stale object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneAction {
    /// Deleted.
    Delete,
    /// Kept, with the reason.
    Skip(String),
}

/// One stale object, in deletion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneEntry {
    /// The object.
    pub id: ObjectId,
    /// What happens to it.
    pub action: PruneAction,
}

fn meta_value<'a>(obj: &'a Value, field: &str, key: &str) -> Option<&'a str> {
    obj.get("metadata")?
        .get(field)?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The prune set with `spec.prune: true`: entries of `previous` that are not
/// in `current`, in reverse apply order. `live` holds what is known of the
/// objects in the cluster (e.g. the previous build); an object found there
/// is skipped when labelled or annotated `kustomize.toolkit.fluxcd.io/prune:
/// disabled`, `…/reconcile: disabled` or `…/ssa: Ignore` (case-insensitive),
/// or, with an `owner`, when it lacks the owner labels. Objects not in
/// `live` are deleted.
pub fn prune_set(
    previous: &Inventory,
    current: &Inventory,
    live: &[Value],
    owner: Option<&Owner>,
) -> Vec<PruneEntry> {
    let keep: HashSet<&str> = current.entries.iter().map(|e| e.id.as_str()).collect();
    let mut stale: Vec<ObjectId> = previous
        .entries
        .iter()
        .filter(|e| !keep.contains(e.id.as_str()))
        .filter_map(|e| ObjectId::from_inventory_id(&e.id, &e.version).ok())
        .collect();
    stale.sort_by(|a, b| compare(b, a));
    stale.dedup();
    let by_id: BTreeMap<String, &Value> = live
        .iter()
        .filter_map(|o| object_id(o).map(|id| (id.inventory_id(), o)))
        .collect();
    let exclusions = [
        (format!("{GROUP}/prune"), "disabled"),
        (format!("{GROUP}/reconcile"), "disabled"),
        (format!("{GROUP}/ssa"), "Ignore"),
    ];
    stale
        .into_iter()
        .map(|id| {
            let action = match by_id.get(&id.inventory_id()) {
                None => PruneAction::Delete,
                Some(obj) => {
                    let missing_owner = owner.and_then(|o| {
                        o.labels()
                            .into_iter()
                            .find(|(k, v)| meta_value(obj, "labels", k) != Some(v.as_str()))
                    });
                    let excluded = exclusions.iter().find(|(k, v)| {
                        ["labels", "annotations"].iter().any(|f| {
                            meta_value(obj, f, k).is_some_and(|x| x.eq_ignore_ascii_case(v))
                        })
                    });
                    match (missing_owner, excluded) {
                        (Some((k, v)), _) => {
                            PruneAction::Skip(format!("not owned: label {k} is not {v:?}"))
                        }
                        (None, Some((k, v))) => PruneAction::Skip(format!("{k}: {v}")),
                        (None, None) => PruneAction::Delete,
                    }
                }
            };
            PruneEntry { id, action }
        })
        .collect()
}

/// How an object differs between two builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Only in the new build.
    Added,
    /// Only in the old build.
    Removed,
    /// In both, with different content.
    Changed,
    /// In both, equal.
    Unchanged,
}

/// Compare two builds object by object (matched by inventory id), in apply
/// order of the new build, removed objects last in reverse apply order.
pub fn diff(old: &[Value], new: &[Value]) -> Result<Vec<(ObjectId, Change)>, Error> {
    let old_plan = apply_plan(old)?;
    let new_plan = apply_plan(new)?;
    let old_by_id: BTreeMap<String, &Planned> =
        old_plan.iter().map(|p| (p.id.inventory_id(), p)).collect();
    let new_ids: HashSet<String> = new_plan.iter().map(|p| p.id.inventory_id()).collect();
    let mut out = Vec::new();
    for p in &new_plan {
        let change = match old_by_id.get(&p.id.inventory_id()) {
            None => Change::Added,
            Some(o) if o.object == p.object => Change::Unchanged,
            Some(_) => Change::Changed,
        };
        out.push((p.id.clone(), change));
    }
    for p in old_plan.iter().rev() {
        if !new_ids.contains(&p.id.inventory_id()) {
            out.push((p.id.clone(), Change::Removed));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(api: &str, kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut m = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = ns {
            m["metadata"]["namespace"] = json!(ns);
        }
        m
    }

    #[test]
    fn order_and_stages() {
        let objs = vec![
            obj(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                None,
                "v",
            ),
            obj("example.com/v1", "Widget", Some("b"), "w"),
            obj("apps/v1", "Deployment", Some("a"), "d"),
            obj("networking.k8s.io/v1", "IngressClass", None, "nginx"),
            obj("v1", "ConfigMap", Some("a"), "c"),
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com",
            ),
            obj("v1", "Namespace", None, "a"),
            obj("example.com/v1", "Gadget", Some("a"), "g"),
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", None, "r"),
        ];
        let plan = apply_plan(&objs).unwrap();
        let got: Vec<(&str, &str)> = plan
            .iter()
            .map(|p| (p.stage.as_str(), p.id.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("definitions", "CustomResourceDefinition"),
                ("definitions", "Namespace"),
                ("definitions", "ClusterRole"),
                ("classes", "IngressClass"),
                ("resources", "ConfigMap"),
                ("resources", "Deployment"),
                ("resources", "Gadget"),
                ("resources", "Widget"),
                ("resources", "ValidatingWebhookConfiguration"),
            ]
        );
    }

    #[test]
    fn prune_honours_opt_outs_and_owner() {
        let old = vec![
            obj("v1", "ConfigMap", Some("a"), "keep"),
            obj("v1", "ConfigMap", Some("a"), "gone"),
            obj("v1", "Namespace", None, "a"),
            obj("v1", "Secret", Some("a"), "pinned"),
        ];
        let mut live = old.clone();
        live[3]["metadata"]["annotations"] =
            json!({"kustomize.toolkit.fluxcd.io/prune": "Disabled"});
        let prev = Inventory::from_plan(&apply_plan(&old).unwrap());
        let cur = Inventory::from_plan(&apply_plan(&old[..1]).unwrap());
        let set = prune_set(&prev, &cur, &live, None);
        let got: Vec<(&str, &PruneAction)> = set
            .iter()
            .map(|e| (e.id.name.as_str(), &e.action))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "pinned",
                    &PruneAction::Skip("kustomize.toolkit.fluxcd.io/prune: disabled".into())
                ),
                ("gone", &PruneAction::Delete),
                ("a", &PruneAction::Delete),
            ]
        );
        let owner = Owner {
            name: "apps".into(),
            namespace: "flux-system".into(),
        };
        let set = prune_set(&prev, &cur, &live, Some(&owner));
        assert!(
            matches!(&set[1].action, PruneAction::Skip(r) if r.starts_with("not owned")),
            "{set:?}"
        );
    }

    #[test]
    fn inventory_json_round_trip_and_errors() {
        let inv =
            Inventory::from_plan(&apply_plan(&[obj("v1", "ConfigMap", Some("a"), "c")]).unwrap());
        assert_eq!(Inventory::from_json(&inv.to_json()).unwrap(), inv);
        assert_eq!(
            Inventory::from_json(&json!({"entries": [{"id": "bad"}]}))
                .unwrap_err()
                .to_string(),
            "inventory: invalid inventory id \"bad\": expected <namespace>_<name>_<group>_<kind>"
        );
    }

    #[test]
    fn diff_by_id() {
        let a = vec![
            obj("v1", "ConfigMap", Some("a"), "x"),
            obj("v1", "ConfigMap", Some("a"), "y"),
        ];
        let mut b = vec![
            obj("v1", "ConfigMap", Some("a"), "x"),
            obj("v1", "Secret", Some("a"), "z"),
        ];
        b[0]["data"] = json!({"k": "v"});
        let d = diff(&a, &b).unwrap();
        let got: Vec<(&str, Change)> = d.iter().map(|(id, c)| (id.name.as_str(), *c)).collect();
        assert_eq!(
            got,
            [
                ("x", Change::Changed),
                ("z", Change::Added),
                ("y", Change::Removed)
            ]
        );
    }
}
