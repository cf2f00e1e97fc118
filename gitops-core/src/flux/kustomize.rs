//! `kustomize.toolkit.fluxcd.io`.

use super::{CrossNamespaceObjectReference, LocalObjectReference, NamespacedObjectReference};

api_struct! {
    /// Selects objects to patch.
    pub struct Selector {
        /// API group.
        opt group: String,
        /// API version.
        opt version: String,
        /// Kind.
        opt kind: String,
        /// Name (regex).
        opt name: String,
        /// Namespace (regex).
        opt namespace: String,
        /// Label selector.
        opt label_selector: String,
        /// Annotation selector.
        opt annotation_selector: String,
    }
}

api_struct! {
    /// A strategic-merge or JSON6902 patch with an optional target.
    pub struct Patch {
        /// The patch document (YAML or JSON text).
        req patch: String,
        /// What it applies to.
        opt target: Selector,
    }
}

api_struct! {
    /// A kustomize image override.
    pub struct Image {
        /// Image name to match.
        req name: String,
        /// Replacement name.
        opt new_name: String,
        /// Replacement tag.
        opt new_tag: String,
        /// Replacement digest.
        opt digest: String,
    }
}

api_struct! {
    /// A ConfigMap or Secret holding substitution variables.
    pub struct SubstituteReference {
        /// `ConfigMap` or `Secret`.
        req kind: String,
        /// Name.
        req name: String,
        /// Missing is not an error.
        opt optional: bool,
    }
}

api_struct! {
    /// Post-build variable substitution.
    pub struct PostBuild {
        /// Inline variables (win over `substituteFrom`).
        opt substitute: std::collections::BTreeMap<String, String>,
        /// Variables from ConfigMaps/Secrets, in order.
        opt substitute_from: Vec<SubstituteReference>,
    }
}

api_struct! {
    /// Labels and annotations applied to every object.
    pub struct CommonMetadata {
        /// Labels.
        opt labels: std::collections::BTreeMap<String, String>,
        /// Annotations.
        opt annotations: std::collections::BTreeMap<String, String>,
    }
}

api_struct! {
    /// SOPS decryption settings.
    pub struct Decryption {
        /// `sops`.
        req provider: String,
        /// Secret with keys.
        opt secret_ref: LocalObjectReference,
    }
}

api_struct! {
    /// Remote cluster access.
    pub struct KubeConfigReference {
        /// Secret with the kubeconfig.
        opt secret_ref: serde_json::Value,
        /// Provider-based access.
        opt config_map_ref: LocalObjectReference,
    }
}

api_struct! {
    /// `Kustomization.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "kustomize.toolkit.fluxcd.io", version = "v1", kind = "Kustomization", root = "KustomizationResource", namespaced, status = "super::Status"))]
    pub struct KustomizationSpec {
        /// Reconcile interval.
        req interval: String,
        /// Garbage-collect objects removed from the source.
        req prune: bool,
        /// The source.
        req source_ref: CrossNamespaceObjectReference,
        /// Dependencies.
        opt depends_on: Vec<NamespacedObjectReference>,
        /// Decryption.
        opt decryption: Decryption,
        /// Retry interval after a failure.
        opt retry_interval: String,
        /// Remote cluster.
        opt kube_config: KubeConfigReference,
        /// Path in the source (default root).
        opt path: String,
        /// Post-build substitution.
        opt post_build: PostBuild,
        /// Health checks.
        opt health_checks: Vec<NamespacedObjectKindReference>,
        /// CEL health check expressions.
        opt health_check_exprs: Vec<serde_json::Value>,
        /// Name prefix (overwrites the kustomization's).
        opt name_prefix: String,
        /// Name suffix (overwrites the kustomization's).
        opt name_suffix: String,
        /// Patches (appended).
        opt patches: Vec<Patch>,
        /// Image overrides (merged by name).
        opt images: Vec<Image>,
        /// Service account to impersonate.
        opt service_account_name: String,
        /// Stop reconciling.
        opt suspend: bool,
        /// Namespace for every object (overwrites the kustomization's).
        opt target_namespace: String,
        /// Timeout.
        opt timeout: String,
        /// Recreate objects on immutable-field changes.
        opt force: bool,
        /// Wait for all objects to be ready.
        opt wait: bool,
        /// Components (appended).
        opt components: Vec<String>,
        /// Skip missing components instead of failing.
        opt ignore_missing_components: bool,
        /// Labels and annotations for every object.
        opt common_metadata: CommonMetadata,
        /// `MirrorPrune`, `Delete`, `WaitForTermination`, `Orphan`.
        opt deletion_policy: String,
    }
}

api_struct! {
    /// A reference to an object of a kind, for health checks.
    pub struct NamespacedObjectKindReference {
        /// API version.
        opt api_version: String,
        /// Kind.
        req kind: String,
        /// Name.
        req name: String,
        /// Namespace.
        opt namespace: String,
    }
}

flux_object!(
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
    Kustomization, KustomizationSpec, "kustomize.toolkit.fluxcd.io/v1", "Kustomization"
);
