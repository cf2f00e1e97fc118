//! Resources and their build bookkeeping (ids, previous names, prefixes).

use std::fmt;

use thin_vec::ThinVec;

use crate::value::{Map, Str, Value};

/// kustomize's stand-in namespace for cluster-scoped objects.
pub(crate) const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

/// Group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Gvk {
    /// API group (`""` for the core group).
    pub group: Str,
    /// API version.
    pub version: Str,
    /// Kind.
    pub kind: Str,
}

impl Gvk {
    /// Split an `apiVersion` and pair it with `kind`.
    pub fn new(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    /// True when every non-empty field of `selector` equals ours.
    pub fn is_selected(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// True for kinds that live outside namespaces (Kubernetes v1.21 API).
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(&self.group, &self.kind)
    }
}

/// Split an `apiVersion` into group and version (no allocation).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// [`Gvk::is_cluster_scoped`] on borrowed parts.
pub(crate) fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    {
        let groups: &[&str] = match kind {
            "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus" => &[""],
            "ClusterRole" | "ClusterRoleBinding" => &["rbac.authorization.k8s.io"],
            "CustomResourceDefinition" => &["apiextensions.k8s.io"],
            "APIService" => &["apiregistration.k8s.io"],
            "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment" => &["storage.k8s.io"],
            "PriorityClass" => &["scheduling.k8s.io"],
            "PodSecurityPolicy" => &["policy", "extensions"],
            "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding" => &["admissionregistration.k8s.io"],
            "IngressClass" => &["networking.k8s.io"],
            "RuntimeClass" => &["node.k8s.io"],
            "CertificateSigningRequest" => &["certificates.k8s.io"],
            "FlowSchema" | "PriorityLevelConfiguration" => &["flowcontrol.apiserver.k8s.io"],
            "TokenReview" => &["authentication.k8s.io"],
            "SelfSubjectAccessReview" | "SelfSubjectRulesReview" | "SubjectAccessReview" => {
                &["authorization.k8s.io"]
            }
            _ => return false,
        };
        groups.contains(&group)
    }
}

/// [`ResId::effective_namespace`] on borrowed parts.
pub(crate) fn effective_namespace<'a>(group: &str, kind: &str, namespace: &'a str) -> &'a str {
    if is_cluster_scoped(group, kind) {
        NOT_NAMESPACEABLE
    } else if namespace.is_empty() || namespace == "default" {
        "default"
    } else {
        namespace
    }
}

/// A resource's current id, borrowed from it (no allocation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdRef<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
}

impl<'a> IdRef<'a> {
    /// [`ResId::effective_namespace`].
    pub(crate) fn effective_namespace(&self) -> &'a str {
        effective_namespace(self.group, self.kind, self.namespace)
    }
}

/// A resource id: gvk, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResId {
    /// Group, version, kind.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: Str,
    /// `metadata.namespace` (`""` when unset).
    pub namespace: Str,
}

impl ResId {
    /// The namespace kustomize compares with: `default` for unset, a
    /// placeholder for cluster-scoped kinds.
    pub fn effective_namespace(&self) -> &str {
        effective_namespace(&self.gvk.group, &self.gvk.kind, &self.namespace)
    }

    /// kustomize's `ResId.Equals`.
    pub fn equals(&self, o: &ResId) -> bool {
        self.gvk == o.gvk
            && self.name == o.name
            && self.effective_namespace() == o.effective_namespace()
    }
}

impl fmt::Display for ResId {
    /// kustomize's form: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_owned()
            } else {
                s.to_owned()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.gvk.kind, "[noKind]"),
            or(&self.gvk.version, "[noVer]"),
            or(&self.gvk.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

/// What a generated resource does to an existing one with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Behavior {
    /// Must not exist yet.
    #[default]
    Create,
    /// Merge data into the existing one.
    Merge,
    /// Replace the existing one.
    Replace,
}

impl Behavior {
    /// kustomize's `NewGenerationBehavior`: `merge` and `replace` by name;
    /// anything else (empty, `create`, or an unknown word) creates.
    pub(crate) fn from_name(name: &str) -> Behavior {
        match name {
            "merge" => Behavior::Merge,
            "replace" => Behavior::Replace,
            _ => Behavior::Create,
        }
    }
}

/// One previous identity (kustomize's previousNames/Kinds/Namespaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrevId {
    pub kind: Str,
    pub name: Str,
    /// Effective namespace at the time.
    pub namespace: Str,
}

/// A resource being built.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub(crate) value: Value,
    // One pointer each: most resources have none or one, and a large build
    // holds many resources.
    pub(crate) prev: ThinVec<PrevId>,
    pub(crate) prefixes: ThinVec<Str>,
    pub(crate) suffixes: ThinVec<Str>,
    pub(crate) needs_hash: bool,
    pub(crate) behavior: Behavior,
    pub(crate) generated: bool,
    /// Names of the vars bound to this resource (kustomize's refVarNames).
    pub(crate) ref_vars: ThinVec<String>,
}

impl Resource {
    pub(crate) fn new(value: Value) -> Resource {
        Resource {
            value,
            prev: ThinVec::new(),
            prefixes: ThinVec::new(),
            suffixes: ThinVec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            generated: false,
            ref_vars: ThinVec::new(),
        }
    }

    /// The object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The object as YAML, exactly as `kubectl kustomize` prints it.
    pub fn to_yaml(&self) -> String {
        crate::emit::to_yaml(&self.value)
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.value.str_at(&["apiVersion"]).unwrap_or("")
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.value.str_at(&["kind"]).unwrap_or("")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.value.str_at(&["metadata", "name"]).unwrap_or("")
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        self.value.str_at(&["metadata", "namespace"]).unwrap_or("")
    }

    /// Group, version, kind.
    pub fn gvk(&self) -> Gvk {
        Gvk::new(self.api_version(), self.kind())
    }

    /// The current id, borrowed.
    pub(crate) fn id_ref(&self) -> IdRef<'_> {
        let (group, version) = split_api_version(self.api_version());
        IdRef {
            group,
            version,
            kind: self.kind(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }

    /// The kind, name and effective namespace of [`Resource::org_id`]
    /// (whose group and version are the current ones), borrowed.
    pub(crate) fn org_parts(&self) -> (&str, &str, &str) {
        let id = self.id_ref();
        match self.prev.first() {
            Some(p) => (
                &p.kind,
                &p.name,
                effective_namespace(id.group, &p.kind, &p.namespace),
            ),
            None => (id.kind, id.name, id.effective_namespace()),
        }
    }

    /// The current id.
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().into(),
            namespace: self.namespace().into(),
        }
    }

    /// Previous ids, oldest first (with the current group and version).
    pub(crate) fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|p| ResId {
                gvk: Gvk {
                    kind: p.kind.clone(),
                    ..gvk.clone()
                },
                name: p.name.clone(),
                namespace: p.namespace.clone(),
            })
            .collect()
    }

    /// The original id: the first previous one, or the current one.
    pub(crate) fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    pub(crate) fn store_previous_id(&mut self) {
        let id = self.id_ref();
        let prev = PrevId {
            kind: id.kind.into(),
            name: id.name.into(),
            namespace: id.effective_namespace().into(),
        };
        // Most resources gain one or two previous ids: grow by one, not to
        // the four slots a first push reserves.
        self.prev.reserve_exact(1);
        self.prev.push(prev);
    }

    /// True when any previous id or the current one equals `id`.
    pub(crate) fn matches_any_id(&self, id: &ResId) -> bool {
        let cur = self.id_ref();
        if cur.group != id.gvk.group || cur.version != id.gvk.version {
            return false;
        }
        let ns = id.effective_namespace();
        (cur.kind == id.gvk.kind && cur.name == id.name && cur.effective_namespace() == ns)
            || self.prev.iter().any(|p| {
                p.kind == id.gvk.kind
                    && p.name == id.name
                    && effective_namespace(cur.group, &p.kind, &p.namespace) == ns
            })
    }

    pub(crate) fn metadata_mut(&mut self) -> &mut Map {
        let root = match &mut self.value {
            Value::Map(m) => m,
            other => {
                *other = Value::Map(Map::new());
                match other {
                    Value::Map(m) => m,
                    _ => unreachable!("just set to a map"),
                }
            }
        };
        let md = root.entry_or_insert_with("metadata", || Value::Map(Map::new()));
        if !matches!(md, Value::Map(_)) {
            *md = Value::Map(Map::new());
        }
        match md {
            Value::Map(m) => m,
            _ => unreachable!("just set to a map"),
        }
    }

    pub(crate) fn set_name(&mut self, name: &str) {
        self.metadata_mut().insert("name", Value::Str(name.into()));
    }

    pub(crate) fn set_namespace(&mut self, ns: &str) {
        if ns.is_empty() {
            self.metadata_mut().remove("namespace");
        } else {
            self.metadata_mut()
                .insert("namespace", Value::Str(ns.into()));
        }
    }

    /// Labels as string pairs.
    pub(crate) fn labels(&self) -> Vec<(String, String)> {
        string_pairs(self.value.get_path(&["metadata", "labels"]))
    }

    /// Annotations as string pairs.
    pub(crate) fn annotations(&self) -> Vec<(String, String)> {
        string_pairs(self.value.get_path(&["metadata", "annotations"]))
    }
}

/// kyaml's `getMapFromMeta`: each value as its node's text (a null as
/// written, a collection as `""`).
fn string_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = match m.null_text(k) {
                        Some(t) => t.to_owned(),
                        None => v.scalar_text().unwrap_or_default(),
                    };
                    (k.to_string(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// kustomize's `SetLabels(GetLabels())` / `SetAnnotations(GetAnnotations())`
/// round trip on `metadata.<field>`: a non-empty mapping becomes a string
/// map ([`string_pairs`]); anything else (empty, null, a scalar) is removed.
pub(crate) fn restring_meta_map(md: &mut Map, field: &str) {
    match md.get(field) {
        Some(Value::Map(m)) if !m.is_empty() => {
            let strings: Map = string_pairs(md.get(field))
                .into_iter()
                .map(|(k, v)| (k, Value::Str(v.into())))
                .collect();
            md.insert(field, Value::Map(strings));
        }
        Some(_) => {
            md.remove(field);
        }
        None => {}
    }
}
