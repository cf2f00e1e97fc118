//! Flux v1 sync garbage collection (`fluxd --sync-garbage-collection`), as
//! pure functions (fluxcd/flux `pkg/cluster/kubernetes/sync.go`,
//! `pkg/daemon/sync.go`).
//!
//! fluxd marks every object it applies with
//!
//! - the label [`GC_MARK_LABEL`] = [`gc_mark`]`(sync set, id)`:
//!   `sha256.` + unpadded URL-safe base64 of SHA-256(sync set name ‖ id),
//!   where the id is `namespace:kind/name` (kind lower-cased, `<cluster>`
//!   for cluster-scoped objects) and the sync set name is
//!   [`sync_set_name`]`(url, branch, paths)`;
//! - the annotation [`CHECKSUM_ANNOTATION`] = [`checksum`]: the hex SHA-1
//!   of the document as Go's yaml.v2 re-marshals it (keys sorted, comments
//!   and styles gone), computed before the marks are added.
//!
//! On sync it deletes the cluster objects that carry *its* mark (the mark
//! must equal the one computed for the object's own id, so copied labels
//! do not count) and are no longer rendered, unless annotated
//! `ignore: "true"` or `ignore: sync_only`; a rendered object whose cluster
//! checksum differs was not updated and is left alone. [`prune`] makes that
//! decision for a rendered set and the cluster's objects.
//!
//! ```
//! use gitops_render::flux::v1gc::{self, Action};
//!
//! let set = v1gc::sync_set_name("ssh://git@github.com/org/fleet", "master", &["clusters/prod"]);
//! let rendered = v1gc::rendered_set(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: apps}\ndata: {x: '1'}\n",
//!     "rendered.yaml",
//!     "default",
//! )?;
//! assert_eq!(rendered[0].id, "apps:configmap/a");
//! // yaml.v2 re-marshals the document before hashing it.
//! assert_eq!(rendered[0].yaml, "apiVersion: v1\ndata:\n  x: \"1\"\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: apps\n");
//!
//! let stale = format!(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: apps\n  labels:\n    flux.weave.works/sync-gc-mark: {}\n",
//!     v1gc::gc_mark(&set, "apps:configmap/b"),
//! );
//! let cluster = v1gc::cluster_objects(&stale, "cluster.yaml")?;
//! let decisions = v1gc::prune(&rendered, &cluster, &set);
//! assert_eq!(decisions[0].id, "apps:configmap/b");
//! assert_eq!(decisions[0].action, Action::Delete);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! - Whether a kind is cluster-scoped comes from fluxd's API discovery;
//!   here from a built-in list of the Kubernetes cluster-scoped kinds
//!   ([`CLUSTER_SCOPED`]) plus the kinds the caller adds. Objects read from
//!   the cluster are cluster-scoped when they have no namespace.
//! - Mapping keys are strings: a document with integer or boolean keys
//!   (yaml.v2 sorts those before strings) hashes differently.
//! - `.inf`/`.nan` values keep their text.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use gitops_core::yaml::{self, Node, Schema};
use serde_json::Value as Json;
use sha1::Digest as _;

use crate::value::{Map, Value};

/// The label fluxd marks applied objects with.
pub const GC_MARK_LABEL: &str = "flux.weave.works/sync-gc-mark";

/// The annotation holding the checksum of the applied manifest.
pub const CHECKSUM_ANNOTATION: &str = "flux.weave.works/sync-checksum";

/// Kubernetes kinds that are not namespaced.
pub const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Why a set could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The YAML does not parse.
    #[error("cannot read {origin}")]
    Yaml {
        /// The file.
        origin: String,
        /// The parser's error.
        #[source]
        source: yaml::Error,
    },
    /// A document without `kind` or `metadata.name`.
    #[error("{origin}:{line}: object without kind or metadata.name")]
    NotAnObject {
        /// The file.
        origin: String,
        /// 1-based line.
        line: usize,
    },
    /// Two objects with one id (fluxd refuses to sync such a set).
    #[error("{origin}:{line}: duplicate definition of {id}")]
    Duplicate {
        /// The file.
        origin: String,
        /// 1-based line of the second one.
        line: usize,
        /// The id.
        id: String,
    },
}

/// fluxd's sync set name (`makeGitConfigHash`): unpadded URL-safe base64
/// of SHA-256(url ‖ branch ‖ paths…). `url` is the remote as fluxd prints
/// it (`SafeURL`): without a password, scp-like `git@host:path` written
/// `ssh://git@host/path` — [`safe_url`] does both.
pub fn sync_set_name(url: &str, branch: &str, paths: &[&str]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(url.as_bytes());
    h.update(branch.as_bytes());
    for p in paths {
        h.update(p.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// A remote URL as fluxd's `Remote.SafeURL` prints it: the password
/// dropped, scp-like `user@host:path` as `ssh://user@host/path`.
///
/// ```
/// use gitops_render::flux::v1gc::safe_url;
///
/// assert_eq!(safe_url("git@github.com:org/fleet"), "ssh://git@github.com/org/fleet");
/// assert_eq!(safe_url("https://bot:s3cret@example.com/fleet.git"), "https://bot@example.com/fleet.git");
/// ```
pub fn safe_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (auth, host) = match rest.split_once('@') {
            Some((a, h)) if !a.contains('/') => (Some(a), h),
            _ => (None, rest),
        };
        return match auth {
            Some(a) => {
                let user = a.split_once(':').map_or(a, |(u, _)| u);
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        };
    }
    match url.split_once(':') {
        Some((host, path)) if !host.contains('/') => {
            format!("ssh://{host}/{}", path.trim_start_matches('/'))
        }
        _ => url.to_owned(),
    }
}

/// The value of [`GC_MARK_LABEL`] for the object `id` (`ns:kind/name`) in
/// the sync set `sync_set` (fluxd `makeGCMark`).
pub fn gc_mark(sync_set: &str, id: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(sync_set.as_bytes());
    h.update(id.as_bytes());
    format!(
        "sha256.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
    )
}

/// The value of [`CHECKSUM_ANNOTATION`] for a document as yaml.v2 marshals
/// it ([`marshal`]): its hex SHA-1.
pub fn checksum(marshalled: &str) -> String {
    let digest = sha1::Sha1::digest(marshalled.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A node as Go's yaml.v2 re-marshals it after decoding into `interface{}`
/// (YAML 1.1 typing: `yes` is `true`; keys sorted in yaml.v2's order).
pub fn marshal(node: &Node) -> String {
    crate::emit::to_yaml(&from_json(&node.to_json(Schema::Yaml11)))
}

fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::Str(s.as_str().into()),
        Json::Array(a) => Value::Seq(a.iter().map(from_json).collect()),
        Json::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), from_json(v));
            }
            Value::Map(m)
        }
    }
}

/// One object of the rendered set, as fluxd loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncResource {
    /// `namespace:kind/name` (kind lower-cased; `<cluster>` when not namespaced).
    pub id: String,
    /// The effective namespace (`None` when cluster-scoped).
    pub namespace: Option<String>,
    /// The document as yaml.v2 re-marshals it (what the checksum hashes).
    pub yaml: String,
    /// [`checksum`] of `yaml`.
    pub checksum: String,
    /// The `ignore` policy annotation (`fluxcd.io/` or `flux.weave.works/`).
    pub ignore: Option<String>,
    /// The object.
    pub object: Json,
    /// 1-based line in the source.
    pub line: usize,
}

impl SyncResource {
    /// The object as fluxd applies it (`applyMetadata`): with the GC mark
    /// label, the checksum annotation and the effective namespace, as
    /// yaml.v2 marshals it.
    pub fn marked(&self, sync_set: &str) -> String {
        let mut obj = self.object.clone();
        if let Json::Object(o) = &mut obj {
            let meta = o
                .entry("metadata")
                .or_insert_with(|| Json::Object(Default::default()));
            if !meta.is_object() {
                *meta = Json::Object(Default::default());
            }
            if let Json::Object(m) = meta {
                set_in(m, "labels", GC_MARK_LABEL, gc_mark(sync_set, &self.id));
                if let Some(ns) = &self.namespace {
                    m.insert("namespace".to_owned(), Json::String(ns.clone()));
                }
                set_in(m, "annotations", CHECKSUM_ANNOTATION, self.checksum.clone());
            }
        }
        crate::emit::to_yaml(&from_json(&obj))
    }
}

fn set_in(m: &mut serde_json::Map<String, Json>, field: &str, key: &str, value: String) {
    let e = m
        .entry(field)
        .or_insert_with(|| Json::Object(Default::default()));
    if !e.is_object() {
        *e = Json::Object(Default::default());
    }
    if let Json::Object(inner) = e {
        inner.insert(key.to_owned(), Json::String(value));
    }
}

fn meta_str<'a>(obj: &'a Json, path: &[&str]) -> Option<&'a str> {
    let mut v = obj.get("metadata")?;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

fn ignore_policy(obj: &Json) -> Option<String> {
    ["fluxcd.io/ignore", "flux.weave.works/ignore"]
        .iter()
        .find_map(|k| meta_str(obj, &["annotations", k]))
        .map(str::to_owned)
}

fn effective_namespace(
    kind: &str,
    ns: Option<&str>,
    default: &str,
    extra: &[&str],
) -> Option<String> {
    if CLUSTER_SCOPED.contains(&kind) || extra.contains(&kind) {
        None
    } else {
        Some(ns.unwrap_or(default).to_owned())
    }
}

fn make_id(ns: Option<&str>, kind: &str, name: &str) -> String {
    format!(
        "{}:{}/{name}",
        ns.unwrap_or("<cluster>"),
        kind.to_ascii_lowercase()
    )
}

/// Read a rendered set (multi-document YAML; items of `*List` kinds are
/// objects of their own; empty documents are skipped), with ids in
/// `default_namespace` where no namespace is written.
pub fn rendered_set(
    text: &str,
    origin: &str,
    default_namespace: &str,
) -> Result<Vec<SyncResource>, Error> {
    rendered_set_with(text, origin, default_namespace, &[])
}

/// [`rendered_set`] with more cluster-scoped kinds (e.g. of CRDs).
pub fn rendered_set_with(
    text: &str,
    origin: &str,
    default_namespace: &str,
    cluster_scoped: &[&str],
) -> Result<Vec<SyncResource>, Error> {
    let docs = yaml::parse_documents(text, origin).map_err(|source| Error::Yaml {
        origin: origin.to_owned(),
        source,
    })?;
    let mut out: Vec<SyncResource> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut push = |node: &Node, out: &mut Vec<SyncResource>| -> Result<(), Error> {
        let object = node.to_json(Schema::Yaml11);
        let kind = object.get("kind").and_then(Json::as_str).unwrap_or("");
        let name = meta_str(&object, &["name"]);
        let (true, Some(name)) = (!kind.is_empty(), name) else {
            return Err(Error::NotAnObject {
                origin: origin.to_owned(),
                line: node.line,
            });
        };
        let namespace = effective_namespace(
            kind,
            meta_str(&object, &["namespace"]),
            default_namespace,
            cluster_scoped,
        );
        let id = make_id(namespace.as_deref(), kind, name);
        if seen.insert(id.clone(), ()).is_some() {
            return Err(Error::Duplicate {
                origin: origin.to_owned(),
                line: node.line,
                id,
            });
        }
        let yaml = marshal(node);
        out.push(SyncResource {
            checksum: checksum(&yaml),
            ignore: ignore_policy(&object),
            id,
            namespace,
            yaml,
            object,
            line: node.line,
        });
        Ok(())
    };
    for doc in &docs {
        let root = &doc.root;
        if doc.is_empty() || root.get("kind").is_none_or(Node::is_null) {
            continue; // fluxd skips documents without a kind
        }
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        if kind.ends_with("List") {
            for item in root.get("items").and_then(Node::as_seq).unwrap_or(&[]) {
                push(item, &mut out)?;
            }
        } else {
            push(root, &mut out)?;
        }
    }
    Ok(out)
}

/// An object read from the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterObject {
    /// `namespace:kind/name` (`<cluster>` without a namespace).
    pub id: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind` as written.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The [`GC_MARK_LABEL`] label.
    pub mark: Option<String>,
    /// The [`CHECKSUM_ANNOTATION`] annotation.
    pub checksum: Option<String>,
    /// The `ignore` policy annotation.
    pub ignore: Option<String>,
    /// True when it has `metadata.ownerReferences` (fluxd never lists those).
    pub owned: bool,
}

/// Read the cluster's objects from `kubectl get -o yaml` output (a `List`)
/// or multi-document YAML.
pub fn cluster_objects(text: &str, origin: &str) -> Result<Vec<ClusterObject>, Error> {
    let docs = yaml::parse_documents(text, origin).map_err(|source| Error::Yaml {
        origin: origin.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    let mut one = |node: &Node| -> Result<(), Error> {
        let o = node.to_json(Schema::Core);
        let kind = o
            .get("kind")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(name) = meta_str(&o, &["name"]).map(str::to_owned) else {
            return Err(Error::NotAnObject {
                origin: origin.to_owned(),
                line: node.line,
            });
        };
        let namespace = meta_str(&o, &["namespace"]).map(str::to_owned);
        out.push(ClusterObject {
            id: make_id(namespace.as_deref(), &kind, &name),
            api_version: o
                .get("apiVersion")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned(),
            mark: meta_str(&o, &["labels", GC_MARK_LABEL]).map(str::to_owned),
            checksum: meta_str(&o, &["annotations", CHECKSUM_ANNOTATION]).map(str::to_owned),
            ignore: ignore_policy(&o),
            owned: o
                .get("metadata")
                .and_then(|m| m.get("ownerReferences"))
                .and_then(Json::as_array)
                .is_some_and(|a| !a.is_empty()),
            kind,
            namespace,
            name,
        });
        Ok(())
    };
    for doc in &docs {
        if doc.is_empty() {
            continue;
        }
        let kind = doc.root.get("kind").and_then(Node::as_str).unwrap_or("");
        if kind.ends_with("List") {
            for item in doc.root.get("items").and_then(Node::as_seq).unwrap_or(&[]) {
                one(item)?;
            }
        } else {
            one(&doc.root)?;
        }
    }
    Ok(out)
}

/// What garbage collection does with a cluster object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Deleted.
    Delete,
    /// Left alone.
    Keep,
}

/// Why an object is kept (or deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Marked by this sync set and no longer rendered.
    Orphaned,
    /// Rendered and applied: its checksum matches.
    InSyncSet,
    /// Rendered, but the cluster's checksum differs: the last apply did
    /// not update it (fluxd: "resource to be synced has not been updated").
    NotUpdated,
    /// Annotated `ignore: "true"`.
    Ignored,
    /// Annotated `ignore: sync_only`.
    IgnoreSyncOnly,
    /// No GC mark: not created by a fluxd sync with garbage collection.
    NotMarked,
    /// A mark that is not this sync set's mark for this id (another sync
    /// set, or a label copied from another object).
    OtherSyncSet,
    /// Has owner references (fluxd never considers those).
    Owned,
    /// `v1` `ComponentStatus` or `Endpoints` (fluxd never considers those).
    Excluded,
}

impl Action {
    /// `delete` or `keep`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Keep => "keep",
        }
    }
}

impl Reason {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Orphaned => "orphaned",
            Reason::InSyncSet => "in_sync_set",
            Reason::NotUpdated => "not_updated",
            Reason::Ignored => "ignored",
            Reason::IgnoreSyncOnly => "ignore_sync_only",
            Reason::NotMarked => "not_marked",
            Reason::OtherSyncSet => "other_sync_set",
            Reason::Owned => "owned",
            Reason::Excluded => "excluded",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Orphaned => "marked by this sync set and no longer in it",
            Reason::InSyncSet => "in the sync set",
            Reason::NotUpdated => "in the sync set, but its checksum differs (not updated)",
            Reason::Ignored => "annotated ignore: \"true\"",
            Reason::IgnoreSyncOnly => "annotated ignore: sync_only",
            Reason::NotMarked => "no sync-gc-mark label",
            Reason::OtherSyncSet => "marked by a different sync set",
            Reason::Owned => "has ownerReferences",
            Reason::Excluded => "kind never collected (ComponentStatus, Endpoints)",
        }
    }
}

/// The decision for one cluster object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The object id.
    pub id: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Delete or keep.
    pub action: Action,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// What fluxd pipes to `kubectl delete -f -` for this object
    /// (`IdentifyingBytes`).
    pub fn identifying_yaml(&self, namespace: Option<&str>, name: &str) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        format!(
            "\napiVersion: {}\nkind: {}\nmetadata:\n  namespace: {}\n  name: {}\n",
            self.api_version,
            self.kind,
            q(namespace.unwrap_or("")),
            q(name)
        )
    }
}

/// fluxd's kind rank for apply order (`rankOfKind`); deletion runs in
/// reverse.
fn rank(kind: &str) -> u8 {
    match kind.to_ascii_lowercase().as_str() {
        "namespace" => 0,
        "customresourcedefinition"
        | "serviceaccount"
        | "clusterrole"
        | "role"
        | "persistentvolume"
        | "service" => 1,
        "resourcequota"
        | "limitrange"
        | "secret"
        | "configmap"
        | "rolebinding"
        | "clusterrolebinding"
        | "persistentvolumeclaim"
        | "ingress" => 2,
        "daemonset"
        | "deployment"
        | "replicationcontroller"
        | "replicaset"
        | "job"
        | "cronjob"
        | "statefulset" => 3,
        _ => 4,
    }
}

/// The garbage collection decision for every object of `cluster`, given
/// the `rendered` set of the sync set `sync_set` (fluxd `collectGarbage`).
/// Deletions come first, in fluxd's deletion order (reverse kind rank,
/// then reverse name); kept objects follow, by id.
pub fn prune(
    rendered: &[SyncResource],
    cluster: &[ClusterObject],
    sync_set: &str,
) -> Vec<Decision> {
    let checksums: BTreeMap<&str, &str> = rendered
        .iter()
        .map(|r| (r.id.as_str(), r.checksum.as_str()))
        .collect();
    let mut out: Vec<(Decision, &ClusterObject)> = cluster
        .iter()
        .map(|o| {
            let reason = if o.api_version == "v1"
                && matches!(o.kind.as_str(), "ComponentStatus" | "Endpoints")
            {
                Reason::Excluded
            } else if o.owned {
                Reason::Owned
            } else if o.mark.is_none() {
                Reason::NotMarked
            } else if o.mark.as_deref() != Some(gc_mark(sync_set, &o.id).as_str()) {
                Reason::OtherSyncSet
            } else {
                match checksums.get(o.id.as_str()) {
                    None => match o.ignore.as_deref() {
                        Some("true") => Reason::Ignored,
                        Some("sync_only") => Reason::IgnoreSyncOnly,
                        _ => Reason::Orphaned,
                    },
                    Some(expected) if o.checksum.as_deref() != Some(*expected) => {
                        Reason::NotUpdated
                    }
                    Some(_) => Reason::InSyncSet,
                }
            };
            let action = if reason == Reason::Orphaned {
                Action::Delete
            } else {
                Action::Keep
            };
            (
                Decision {
                    id: o.id.clone(),
                    api_version: o.api_version.clone(),
                    kind: o.kind.clone(),
                    action,
                    reason,
                },
                o,
            )
        })
        .collect();
    out.sort_by(|(a, oa), (b, ob)| match (a.action, b.action) {
        (Action::Delete, Action::Delete) => rank(&ob.kind)
            .cmp(&rank(&oa.kind))
            .then_with(|| ob.name.cmp(&oa.name)),
        (Action::Delete, Action::Keep) => std::cmp::Ordering::Less,
        (Action::Keep, Action::Delete) => std::cmp::Ordering::Greater,
        (Action::Keep, Action::Keep) => a.id.cmp(&b.id),
    });
    out.into_iter().map(|(d, _)| d).collect()
}

/// The objects of a v1-managed set as a Flux v2 Kustomization inventory
/// (`status.inventory`), in kustomize-controller's apply order: what a
/// Kustomization taking over the set should start from.
pub fn to_inventory(
    rendered: &[SyncResource],
) -> Result<super::plan::Inventory, super::plan::Error> {
    let objects: Vec<Json> = rendered
        .iter()
        .map(|r| {
            let mut o = r.object.clone();
            if let Some(m) = o.get_mut("metadata").and_then(Json::as_object_mut) {
                match &r.namespace {
                    Some(ns) => {
                        m.insert("namespace".to_owned(), Json::String(ns.clone()));
                    }
                    None => {
                        m.remove("namespace");
                    }
                }
            }
            o
        })
        .collect();
    let plan = super::plan::apply_plan(&objects)?;
    Ok(super::plan::Inventory::from_plan(&plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently (Python hashlib/base64 over
    // the same bytes), see the comments.
    #[test]
    fn marks_match_hand_computed_values() {
        // base64url(sha256(b"ssh://git@github.com/org/fleet" b"master" b"clusters/prod"))
        let set = sync_set_name(
            "ssh://git@github.com/org/fleet",
            "master",
            &["clusters/prod"],
        );
        assert_eq!(set, SET);
        // "sha256." + base64url(sha256(SET + "apps:deployment/web"))
        assert_eq!(gc_mark(&set, "apps:deployment/web"), MARK_WEB);
        // sha1 of the yaml.v2 form below.
        let r = rendered_set(WEB, "web.yaml", "default").unwrap();
        assert_eq!(r[0].yaml, WEB_V2);
        assert_eq!(r[0].checksum, WEB_SHA1);
    }

    #[test]
    fn prune_decisions_and_marks() {
        let rendered = rendered_set(
            "kind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: keep}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: apps}}\n",
            "r.yaml",
            "default",
        )
        .unwrap();
        assert_eq!(rendered[0].id, "default:configmap/keep");
        assert_eq!(rendered[1].id, "<cluster>:namespace/apps");
        let marked = rendered[0].marked(SET);
        assert!(marked.contains("namespace: default\n"), "{marked}");
        assert!(marked.contains(&format!(
            "{GC_MARK_LABEL}: {}",
            gc_mark(SET, "default:configmap/keep")
        )));
        assert!(marked.contains(&format!("{CHECKSUM_ANNOTATION}: {}", rendered[0].checksum)));
        let obj = |ns: &str, kind: &str, name: &str, extra: &str| {
            let id = make_id(Some(ns), kind, name);
            format!(
                "- apiVersion: v1\n  kind: {kind}\n  metadata:\n    name: {name}\n    namespace: {ns}\n    labels: {{{GC_MARK_LABEL}: {}}}\n{extra}",
                gc_mark(SET, &id)
            )
        };
        let cluster = format!(
            "apiVersion: v1\nkind: List\nitems:\n{}{}{}{}{}- apiVersion: v1\n  kind: Secret\n  metadata: {{name: plain, namespace: default}}\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: copied\n    namespace: default\n    labels: {{{GC_MARK_LABEL}: {}}}\n",
            obj(
                "default",
                "ConfigMap",
                "keep",
                &format!(
                    "    annotations: {{{CHECKSUM_ANNOTATION}: {}}}\n",
                    rendered[0].checksum
                )
            ),
            obj("default", "Service", "gone", ""),
            obj("default", "Deployment", "gone", ""),
            obj(
                "default",
                "Secret",
                "held",
                "    annotations: {fluxcd.io/ignore: 'true'}\n"
            ),
            obj(
                "default",
                "Secret",
                "synconly",
                "    annotations: {flux.weave.works/ignore: sync_only}\n"
            ),
            gc_mark(SET, "default:secret/other"),
        );
        let cluster = cluster_objects(&cluster, "c.yaml").unwrap();
        let d: Vec<(String, Action, Reason)> = prune(&rendered, &cluster, SET)
            .into_iter()
            .map(|d| (d.id, d.action, d.reason))
            .collect();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            d,
            [
                // Deployments (rank 3) are deleted before Services (rank 1).
                (
                    s("default:deployment/gone"),
                    Action::Delete,
                    Reason::Orphaned
                ),
                (s("default:service/gone"), Action::Delete, Reason::Orphaned),
                (s("default:configmap/keep"), Action::Keep, Reason::InSyncSet),
                (
                    s("default:secret/copied"),
                    Action::Keep,
                    Reason::OtherSyncSet
                ),
                (s("default:secret/held"), Action::Keep, Reason::Ignored),
                (s("default:secret/plain"), Action::Keep, Reason::NotMarked),
                (
                    s("default:secret/synconly"),
                    Action::Keep,
                    Reason::IgnoreSyncOnly
                ),
            ]
        );
        // A rendered object whose cluster checksum is stale is not updated.
        let mut stale = cluster.clone();
        stale[0].checksum = Some("0".repeat(40));
        assert_eq!(prune(&rendered, &stale, SET)[2].reason, Reason::NotUpdated);
        let inv = to_inventory(&rendered).unwrap();
        assert_eq!(inv.entries[0].id, "_apps__Namespace");
        assert_eq!(inv.entries[1].id, "default_keep__ConfigMap");
    }

    const SET: &str = "VcbuKCmj0FcvUgwXDZJjo-jPXGNSRuNynBfscjm58yE";
    const MARK_WEB: &str = "sha256.4rC-K_Cen7gaLWaQNJx7ZE6cqQt1y3PPkYwfwN-zxMo";
    const WEB: &str = "# web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\n  labels: {app: web, tier: \"1\"}\nspec:\n  replicas: 2\n  paused: no\n  template:\n    spec:\n      containers:\n      - name: app\n        image: 'nginx:1.25'\n        args: [\"--port\", \"8080\", on]\n";
    const WEB_V2: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app: web\n    tier: \"1\"\n  name: web\n  namespace: apps\nspec:\n  paused: false\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - --port\n        - \"8080\"\n        - true\n        image: nginx:1.25\n        name: app\n";
    const WEB_SHA1: &str = "bdf55eca0813f25880287e2d424b2d40af13483f";
}
