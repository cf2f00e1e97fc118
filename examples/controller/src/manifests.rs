//! `gitops-controller manifests`: what to apply to run the controller in a
//! cluster — Namespace, ServiceAccount, ClusterRole and ClusterRoleBinding
//! with the verbs it uses, one Deployment per shard, and the CRDs of the
//! image kinds (from the `kube` derive). With `--enable-kustomizations` the
//! ClusterRole also grants `*` on `*`; the Kustomization and source CRDs
//! are Flux's own (its source-controller produces the artifacts), so they
//! are not printed.

use gitops_core::flux::{ImagePolicyResource, ImageRepositoryResource};
use kube::CustomResourceExt;
use serde_json::{Value, json};

/// Flux's sharding label.
pub const SHARD_LABEL: &str = "sharding.fluxcd.io/key";

/// What `manifests` prints.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace of the controller (and its Lease).
    pub namespace: String,
    /// Container image.
    pub image: String,
    /// Shard keys: with any, one Deployment per key
    /// (`sharding.fluxcd.io/key=<key>`) plus the main one for unlabelled
    /// objects (`!sharding.fluxcd.io/key`).
    pub shards: Vec<String>,
    /// Print the Namespace.
    pub namespace_object: bool,
    /// Print the CRDs (leave them out on a cluster where Flux installed its own).
    pub crds: bool,
    /// `--enable-kustomizations`: the Deployments run the Kustomization
    /// controller (flag, writable `/tmp`) and the ClusterRole grants
    /// [`kustomization_rules`].
    pub kustomizations: bool,
}

/// The name of everything.
pub const NAME: &str = "gitops-controller";

/// The ClusterRole's rules: exactly what the controller calls.
#[must_use]
pub fn rules() -> Value {
    json!([
        {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories", "imagepolicies"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories/status", "imagepolicies/status"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}
    ])
}

/// The extra rules of `--enable-kustomizations`: read Kustomizations and
/// patch their status, read their sources and `substituteFrom` ConfigMaps
/// (Secrets are readable already, for ImageRepositories' `secretRef`),
/// and — to apply and prune whatever the sources hold — every verb on
/// every resource. That last rule makes the role cluster-admin-like, as
/// Flux's kustomize-controller's is.
#[must_use]
pub fn kustomization_rules() -> Value {
    json!([
        {"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations/status"], "verbs": ["patch"]},
        {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["gitrepositories"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["ocirepositories"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    ])
}

/// The ClusterRole's rules for `o`: [`rules`], plus
/// [`kustomization_rules`] with `--enable-kustomizations`.
#[must_use]
pub fn rules_for(o: &Options) -> Value {
    let mut all = rules();
    if o.kustomizations
        && let (Some(a), Value::Array(k)) = (all.as_array_mut(), kustomization_rules())
    {
        a.extend(k);
    }
    all
}

fn deployment(o: &Options, shard: Option<&str>) -> Value {
    let name = shard.map_or_else(|| NAME.to_owned(), |s| format!("{NAME}-{s}"));
    let mut args = vec![
        "--watch-all-namespaces=true".to_owned(),
        "--enable-leader-election".to_owned(),
        format!("--leader-election-lease-name={name}-leader-election"),
        "--metrics-addr=:8080".to_owned(),
    ];
    match shard {
        Some(s) => args.push(format!("--watch-label-selector={SHARD_LABEL}={s}")),
        None if !o.shards.is_empty() => args.push(format!("--watch-label-selector=!{SHARD_LABEL}")),
        None => {}
    }
    if o.kustomizations {
        args.push("--enable-kustomizations".to_owned());
    }
    let mut d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": o.namespace, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}
                },
                "spec": {
                    "serviceAccountName": NAME,
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {"fsGroup": 1337},
                    "containers": [{
                        "name": "manager",
                        "image": o.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "env": [
                            {"name": "RUNTIME_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                        ],
                        "ports": [{"containerPort": 8080, "name": "http-prom", "protocol": "TCP"}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http-prom"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http-prom"}},
                        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                            "runAsUser": 65534,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}
                        }
                    }]
                }
            }
        }
    });
    if o.kustomizations {
        // Artifacts are unpacked under /tmp; the root filesystem is read-only.
        let spec = &mut d["spec"]["template"]["spec"];
        spec["volumes"] = json!([{"name": "temp", "emptyDir": {}}]);
        spec["containers"][0]["volumeMounts"] = json!([{"name": "temp", "mountPath": "/tmp"}]);
    }
    d
}

/// The objects, in apply order.
#[must_use]
pub fn objects(o: &Options) -> Vec<Value> {
    let mut out = Vec::new();
    if o.namespace_object {
        out.push(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": o.namespace}}),
        );
    }
    if o.crds {
        for crd in [ImageRepositoryResource::crd(), ImagePolicyResource::crd()] {
            // Structural as derived: gitops-core's schemas keep unknown
            // fields (`x-kubernetes-preserve-unknown-fields`).
            out.push(serde_json::to_value(crd).unwrap_or(Value::Null));
        }
    }
    out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": o.namespace}}));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": NAME}, "rules": rules_for(o)
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": NAME},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": o.namespace}]
    }));
    out.push(deployment(o, None));
    for s in &o.shards {
        out.push(deployment(o, Some(s)));
    }
    out
}

/// The objects as one multi-document YAML stream.
///
/// # Errors
/// A serialiser failure (not expected for JSON values).
pub fn to_yaml(objects: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(o).map_err(|e| e.to_string())?);
    }
    Ok(out)
}
