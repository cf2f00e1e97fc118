//! kustomize's text forms and order of a group/version/kind: `Gvk.String()`,
//! the stable sort string, the legacy kind order (`orderFirst`/`orderLast`)
//! and `Gvk.IsLessThan`.

use std::cmp::Ordering;

use crate::resource::Gvk;

/// Kinds the legacy order puts first, in this order.
pub(crate) const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds the legacy order puts last, in this order.
pub(crate) const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// `s`, or the placeholder `d` when it is empty.
fn or(s: &str, d: &str) -> String {
    if s.is_empty() {
        d.to_owned()
    } else {
        s.to_owned()
    }
}

/// kustomize's `Gvk.stableSortString`: `group_version_kind`, empty parts
/// as `~G`, `~V`, `~K`.
pub(crate) fn sort_string(g: &Gvk) -> String {
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

/// kustomize's `Gvk.String()`: `Kind.version.group`, empty parts as
/// `[noKind]`, `[noVer]`, `[noGrp]`.
pub(crate) fn kind_string(g: &Gvk) -> String {
    format!(
        "{}.{}.{}",
        or(&g.kind, "[noKind]"),
        or(&g.version, "[noVer]"),
        or(&g.group, "[noGrp]")
    )
}

/// kustomize's kind rank: listed kinds first, webhooks last, the rest 0.
fn kind_rank(kind: &str) -> i64 {
    let first = ORDER_FIRST;
    if let Some(i) = first.iter().position(|k| *k == kind) {
        return i as i64 - first.len() as i64;
    }
    if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

/// kustomize's `Gvk.IsLessThan`, as an ordering.
pub(crate) fn gvk_order(a: &Gvk, b: &Gvk) -> Ordering {
    kind_rank(&a.kind)
        .cmp(&kind_rank(&b.kind))
        .then_with(|| sort_string(a).cmp(&sort_string(b)))
}
