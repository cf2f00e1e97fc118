//! kustomize's default name references: which fields of which kinds hold
//! the name of a ConfigMap, Secret, Service, ServiceAccount, Role, volume
//! claim, storage or priority class, and so on.

use crate::kustomize::types::FieldSpec;
use crate::resource::Gvk;

/// One back-reference rule: objects of `referrer` kind hold a name of `target` at `path`.
pub(crate) struct Rule {
    pub target: Gvk,
    pub referrer: Gvk,
    pub path: String,
}

/// A group/version/kind from its parts.
pub(crate) fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

/// The pod-spec holders and where their pod spec sits.
const POD_HOLDERS: &[(&str, &str, &str)] = &[
    ("v1", "Pod", "spec/"),
    ("", "PodTemplate", "template/spec/"),
    ("", "Deployment", "spec/template/spec/"),
    ("", "ReplicaSet", "spec/template/spec/"),
    ("", "DaemonSet", "spec/template/spec/"),
    ("", "StatefulSet", "spec/template/spec/"),
    ("", "Job", "spec/template/spec/"),
    ("", "CronJob", "spec/jobTemplate/spec/template/spec/"),
];

const CONFIGMAP_IN_POD: &[&str] = &[
    "volumes/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
    "volumes/projected/sources/configMap/name",
];

const SECRET_IN_POD: &[&str] = &[
    "volumes/secret/secretName",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
    "volumes/projected/sources/secret/name",
];

/// (target group, version, kind) → [(referrer group, version, kind, path)].
type Extra = (&'static str, &'static str, &'static str, &'static str);

const SCALE_TARGETS: &[&str] = &[
    "Deployment",
    "ReplicationController",
    "ReplicaSet",
    "StatefulSet",
];

const CONFIGMAP_EXTRA: &[Extra] = &[
    ("", "", "Node", "spec/configSource/configMap"),
    ("", "", "Role", "rules/resourceNames"),
    ("", "", "ClusterRole", "rules/resourceNames"),
    (
        "",
        "",
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
    ),
];

const SECRET_EXTRA: &[Extra] = &[
    ("", "", "Ingress", "spec/tls/secretName"),
    (
        "",
        "",
        "Ingress",
        "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
    ),
    (
        "",
        "",
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
    ),
    (
        "",
        "",
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
    ),
    ("", "", "ServiceAccount", "imagePullSecrets/name"),
    ("", "", "StorageClass", "parameters/secretName"),
    ("", "", "StorageClass", "parameters/adminSecretName"),
    ("", "", "StorageClass", "parameters/userSecretName"),
    ("", "", "StorageClass", "parameters/secretRef"),
    ("", "", "Role", "rules/resourceNames"),
    ("", "", "ClusterRole", "rules/resourceNames"),
    (
        "serving.knative.dev",
        "v1",
        "Service",
        "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
    ),
    ("", "", "PersistentVolume", "spec/azureFile/secretName"),
];

const SERVICE_REFS: &[Extra] = &[
    ("apps", "", "StatefulSet", "spec/serviceName"),
    (
        "",
        "",
        "Ingress",
        "spec/rules/http/paths/backend/serviceName",
    ),
    ("", "", "Ingress", "spec/backend/serviceName"),
    (
        "",
        "",
        "Ingress",
        "spec/rules/http/paths/backend/service/name",
    ),
    ("", "", "Ingress", "spec/defaultBackend/service/name"),
    (
        "apiregistration.k8s.io",
        "",
        "APIService",
        "spec/service/name",
    ),
    (
        "admissionregistration.k8s.io",
        "",
        "ValidatingWebhookConfiguration",
        "webhooks/clientConfig/service",
    ),
    (
        "admissionregistration.k8s.io",
        "",
        "MutatingWebhookConfiguration",
        "webhooks/clientConfig/service",
    ),
];

const SA_REFS: &[Extra] = &[
    ("rbac.authorization.k8s.io", "", "RoleBinding", "subjects"),
    (
        "rbac.authorization.k8s.io",
        "",
        "ClusterRoleBinding",
        "subjects",
    ),
    ("", "", "Pod", "spec/serviceAccountName"),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/serviceAccountName",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/serviceAccountName",
    ),
    (
        "",
        "",
        "ReplicationController",
        "spec/template/spec/serviceAccountName",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/serviceAccountName",
    ),
    ("", "", "Job", "spec/template/spec/serviceAccountName"),
    ("", "", "DaemonSet", "spec/template/spec/serviceAccountName"),
];

fn workload_paths(leaf: &'static str) -> Vec<Extra> {
    vec![
        ("", "", "Pod", leaf),
        ("", "", "StatefulSet", leaf),
        ("", "", "Deployment", leaf),
        ("", "", "ReplicationController", leaf),
        ("", "", "CronJob", leaf),
        ("", "", "Job", leaf),
        ("", "", "DaemonSet", leaf),
    ]
}

/// kustomize's default name references, as (target, referrer field) pairs.
pub(crate) fn default_rules() -> Vec<(Gvk, FieldSpec)> {
    rules()
        .into_iter()
        .map(|r| {
            let fs = FieldSpec {
                group: r.referrer.group.into(),
                version: r.referrer.version.into(),
                kind: r.referrer.kind.into(),
                path: r.path,
                create: false,
            };
            (r.target, fs)
        })
        .collect()
}

fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    let mut pod_rules = Vec::new();
    let mut add = |target: Gvk, list: &[Extra]| {
        for &(g, v, k, p) in list {
            out.push(Rule {
                target: target.clone(),
                referrer: gvk(g, v, k),
                path: p.to_owned(),
            });
        }
    };
    for kind in SCALE_TARGETS {
        add(
            gvk("", "", kind),
            &[(
                "",
                "",
                "HorizontalPodAutoscaler",
                "spec/scaleTargetRef/name",
            )],
        );
    }
    for (target, in_pod, extra) in [
        (
            gvk("", "v1", "ConfigMap"),
            CONFIGMAP_IN_POD,
            CONFIGMAP_EXTRA,
        ),
        (gvk("", "v1", "Secret"), SECRET_IN_POD, SECRET_EXTRA),
    ] {
        for &(v, holder, prefix) in POD_HOLDERS {
            for leaf in in_pod {
                pod_rules.push(Rule {
                    target: target.clone(),
                    referrer: gvk("", v, holder),
                    path: format!("{prefix}{leaf}"),
                });
            }
        }
        add(target, extra);
    }
    add(gvk("", "v1", "Service"), SERVICE_REFS);
    add(
        gvk("rbac.authorization.k8s.io", "", "Role"),
        &[(
            "rbac.authorization.k8s.io",
            "",
            "RoleBinding",
            "roleRef/name",
        )],
    );
    add(
        gvk("rbac.authorization.k8s.io", "", "ClusterRole"),
        &[
            (
                "rbac.authorization.k8s.io",
                "",
                "RoleBinding",
                "roleRef/name",
            ),
            (
                "rbac.authorization.k8s.io",
                "",
                "ClusterRoleBinding",
                "roleRef/name",
            ),
        ],
    );
    add(gvk("", "v1", "ServiceAccount"), SA_REFS);
    let pvc: Vec<Extra> = [
        (
            "",
            "",
            "Pod",
            "spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "StatefulSet",
            "spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "Deployment",
            "spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "ReplicationController",
            "spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "Job",
            "spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
        (
            "",
            "",
            "DaemonSet",
            "spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ),
    ]
    .to_vec();
    add(gvk("", "v1", "PersistentVolumeClaim"), &pvc);
    add(
        gvk("", "v1", "PersistentVolume"),
        &[
            ("", "", "PersistentVolumeClaim", "spec/volumeName"),
            ("", "", "ClusterRole", "rules/resourceNames"),
        ],
    );
    add(
        gvk("storage.k8s.io", "v1", "StorageClass"),
        &[
            ("", "", "PersistentVolume", "spec/storageClassName"),
            ("", "", "PersistentVolumeClaim", "spec/storageClassName"),
            (
                "",
                "",
                "StatefulSet",
                "spec/volumeClaimTemplates/spec/storageClassName",
            ),
        ],
    );
    let mut pc = workload_paths("spec/template/spec/priorityClassName");
    pc[0].3 = "spec/priorityClassName";
    pc[4].3 = "spec/jobTemplate/spec/template/spec/priorityClassName";
    add(gvk("scheduling.k8s.io", "v1", "PriorityClass"), &pc);
    add(
        gvk("networking.k8s.io/v1", "v1", "IngressClass"),
        &[("", "", "Ingress", "spec/ingressClassName")],
    );
    add(
        gvk(
            "admissionregistration.k8s.io",
            "",
            "ValidatingAdmissionPolicy",
        ),
        &[(
            "admissionregistration.k8s.io",
            "",
            "ValidatingAdmissionPolicyBinding",
            "spec/policyName",
        )],
    );
    out.extend(pod_rules);
    out
}
