//! Field specs: which field of which kinds a transformer touches, and the
//! walk that finds (or creates) those fields.

use crate::Error;
use crate::kustomize::types::FieldSpec;
use crate::resource::Gvk;
use crate::value::{Map, Value};

/// What to create at the end of a path that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// Never create.
    No,
    /// Create a scalar (an empty string).
    Scalar,
    /// Create a mapping.
    Map,
}

/// Shorthand for a built-in spec: `(group, version, kind, path, create)`.
pub(crate) type Spec = (&'static str, &'static str, &'static str, &'static str, bool);

pub(crate) fn specs(table: &[Spec]) -> Vec<FieldSpec> {
    table
        .iter()
        .map(|&(group, version, kind, path, create)| FieldSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        })
        .collect()
}

/// Split a field-spec path on `/`, honouring `\/` escapes.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// [`split_path`] without copying segments that have no escape.
pub(crate) fn split_path_borrowed(path: &str) -> Vec<std::borrow::Cow<'_, str>> {
    if path.contains('\\') {
        return split_path(path)
            .into_iter()
            .map(std::borrow::Cow::Owned)
            .collect();
    }
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(std::borrow::Cow::Borrowed)
        .collect()
}

/// Apply `set` to every node the path reaches in `value`.
pub(crate) fn walk<S: AsRef<str>>(
    value: &mut Value,
    path: &[S],
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let Some((first, rest)) = path.split_first() else {
        return set(value);
    };
    match value {
        Value::Null => Ok(()),
        Value::Seq(items) => {
            for item in items {
                walk(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Map(m) => {
            let first = first.as_ref();
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first, false),
            };
            let kind = if create == Create::No || is_seq {
                None
            } else if rest.is_empty() {
                Some(create)
            } else {
                Some(Create::Map)
            };
            let field = match kind {
                None => match m.get_mut(name) {
                    // kyaml turns a null `name[]` field into an empty list.
                    Some(f) if is_seq && f.is_null() => {
                        *f = Value::Seq(Vec::new().into());
                        f
                    }
                    Some(f) => f,
                    None => return Ok(()),
                },
                Some(k) => {
                    let f = m.entry_or_insert_with(name, || Value::Null);
                    if f.is_null() {
                        *f = match k {
                            Create::Map => Value::Map(Map::new()),
                            _ => Value::Str(String::new().into()),
                        };
                    }
                    f
                }
            };
            walk(field, rest, create, set)
        }
        _ => Err(Error::Transform {
            message: format!(
                "expected sequence or mapping node at field {:?}",
                first.as_ref()
            ),
        }),
    }
}

/// Apply `set` along every spec of `specs` that matches `gvk`.
pub(crate) fn apply_specs(
    value: &mut Value,
    gvk: &Gvk,
    specs: &[FieldSpec],
    create_kind: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    for fs in specs {
        if !fs.matches(gvk) {
            continue;
        }
        let create = if fs.create { create_kind } else { Create::No };
        walk(value, &split_path_borrowed(&fs.path), create, set)?;
    }
    Ok(())
}

/// Label field specs kustomize applies with `commonLabels` (selectors included).
pub(crate) const COMMON_LABELS: &[Spec] = &[
    ("", "v1", "Service", "spec/selector", true),
    ("", "v1", "ReplicationController", "spec/selector", true),
    ("", "", "Deployment", "spec/selector/matchLabels", true),
    (
        "apps",
        "",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "Deployment",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    ("", "", "ReplicaSet", "spec/selector/matchLabels", true),
    ("", "", "DaemonSet", "spec/selector/matchLabels", true),
    ("apps", "", "StatefulSet", "spec/selector/matchLabels", true),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    ("batch", "", "Job", "spec/selector/matchLabels", false),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    (
        "policy",
        "",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ),
    (
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ),
    (
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    (
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
];

/// Metadata label field specs (the `labels` field without selectors).
pub(crate) const METADATA_LABELS: &[Spec] = &[
    ("", "", "", "metadata/labels", true),
    (
        "",
        "v1",
        "ReplicationController",
        "spec/template/metadata/labels",
        true,
    ),
    ("", "", "Deployment", "spec/template/metadata/labels", true),
    ("", "", "ReplicaSet", "spec/template/metadata/labels", true),
    ("", "", "DaemonSet", "spec/template/metadata/labels", true),
    (
        "apps",
        "",
        "StatefulSet",
        "spec/template/metadata/labels",
        true,
    ),
    ("batch", "", "Job", "spec/template/metadata/labels", true),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/metadata/labels",
        true,
    ),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

/// Volume claim template labels.
pub(crate) const VOLUME_CLAIM_LABELS: &[Spec] = &[(
    "apps",
    "",
    "StatefulSet",
    "spec/volumeClaimTemplates[]/metadata/labels",
    true,
)];

/// Annotation field specs.
pub(crate) const COMMON_ANNOTATIONS: &[Spec] = &[
    ("", "", "", "metadata/annotations", true),
    (
        "",
        "v1",
        "ReplicationController",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "batch",
        "",
        "Job",
        "spec/template/metadata/annotations",
        true,
    ),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
        true,
    ),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

/// Namespace field specs (besides `metadata/namespace`).
pub(crate) const NAMESPACE: &[Spec] = &[
    ("", "", "Namespace", "metadata/name", true),
    (
        "apiregistration.k8s.io",
        "",
        "APIService",
        "spec/service/namespace",
        true,
    ),
    (
        "apiextensions.k8s.io",
        "",
        "CustomResourceDefinition",
        "spec/conversion/webhook/clientConfig/service/namespace",
        false,
    ),
];

/// Image field specs.
pub(crate) const IMAGES: &[Spec] = &[
    ("", "", "", "spec/containers[]/image", true),
    ("", "", "", "spec/initContainers[]/image", true),
    ("", "", "", "spec/volumes[]/image/reference", true),
    ("", "", "", "spec/template/spec/containers[]/image", true),
    (
        "",
        "",
        "",
        "spec/template/spec/initContainers[]/image",
        true,
    ),
    (
        "",
        "",
        "",
        "spec/template/spec/volumes[]/image/reference",
        true,
    ),
];

/// Replica field specs.
pub(crate) const REPLICAS: &[Spec] = &[
    ("", "", "Deployment", "spec/replicas", true),
    ("", "", "ReplicationController", "spec/replicas", true),
    ("", "", "ReplicaSet", "spec/replicas", true),
    ("", "", "StatefulSet", "spec/replicas", true),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_escaped_slashes() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            ["metadata", "annotations", "a.io/b"]
        );
    }

    #[test]
    fn walk_creates_maps_and_visits_sequences() {
        let mut v = Value::Map(Map::new());
        let mut n = 0;
        walk(
            &mut v,
            &split_path("spec/selector"),
            Create::Map,
            &mut |x| {
                n += 1;
                assert!(x.as_map().is_some());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 1);
        assert!(v.get_path(&["spec", "selector"]).is_some());
    }
}
