//! `helm.toolkit.fluxcd.io` and Flux v1's `helm.fluxcd.io`.

use super::{CrossNamespaceObjectReference, NamespacedObjectReference};

api_struct! {
    /// The chart template of a HelmRelease.
    pub struct HelmChartTemplateSpec {
        /// Chart name (or path in a Git/Bucket source).
        req chart: String,
        /// Version range (default `*`).
        opt version: String,
        /// The source holding the chart.
        req source_ref: CrossNamespaceObjectReference,
        /// Interval to check for new chart versions.
        opt interval: String,
        /// `ChartVersion` or `Revision`.
        opt reconcile_strategy: String,
        /// Alternative values files in the chart.
        opt values_files: Vec<String>,
        /// Signature verification.
        opt verify: serde_json::Value,
    }
}

api_struct! {
    /// `spec.chart` of a HelmRelease.
    pub struct HelmChartTemplate {
        /// Labels and annotations of the generated HelmChart.
        opt metadata: serde_json::Value,
        /// The chart.
        req spec: HelmChartTemplateSpec,
    }
}

api_struct! {
    /// A values source of a HelmRelease.
    pub struct ValuesReference {
        /// `ConfigMap` or `Secret`.
        req kind: String,
        /// Name.
        req name: String,
        /// Key in the data (default `values.yaml`).
        opt values_key: String,
        /// Set the value at this path, as `--set` would.
        opt target_path: String,
        /// Missing is not an error.
        opt optional: bool,
    }
}

api_struct! {
    /// `HelmRelease.spec` (v2).
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "helm.toolkit.fluxcd.io", version = "v2", kind = "HelmRelease", root = "HelmReleaseResource", namespaced, status = "super::Status"))]
    pub struct HelmReleaseSpec {
        /// Reconcile interval.
        req interval: String,
        /// Chart template (exclusive with `chartRef`).
        opt chart: HelmChartTemplate,
        /// A HelmChart or OCIRepository to use (exclusive with `chart`).
        opt chart_ref: CrossNamespaceObjectReference,
        /// Remote cluster.
        opt kube_config: serde_json::Value,
        /// Stop reconciling.
        opt suspend: bool,
        /// Release name (default `[<targetNamespace>-]<name>`).
        opt release_name: String,
        /// Namespace to install into.
        opt target_namespace: String,
        /// Namespace for Helm storage.
        opt storage_namespace: String,
        /// Dependencies.
        opt depends_on: Vec<NamespacedObjectReference>,
        /// Timeout of Helm actions.
        opt timeout: String,
        /// Release history to keep.
        opt max_history: i64,
        /// Service account to impersonate.
        opt service_account_name: String,
        /// Keep one client for all actions.
        opt persistent_client: bool,
        /// Drift detection.
        opt drift_detection: serde_json::Value,
        /// Install action settings.
        opt install: serde_json::Value,
        /// Upgrade action settings.
        opt upgrade: serde_json::Value,
        /// Test action settings.
        opt test: serde_json::Value,
        /// Rollback action settings.
        opt rollback: serde_json::Value,
        /// Uninstall action settings.
        opt uninstall: serde_json::Value,
        /// Values sources, merged in order before `values`.
        opt values_from: Vec<ValuesReference>,
        /// Inline values (merged last).
        opt values: serde_json::Value,
        /// Post renderers (kustomize patches).
        opt post_renderers: Vec<serde_json::Value>,
        /// Labels and annotations for rendered objects.
        opt common_metadata: serde_json::Value,
    }
}

flux_object!(
    /// `helm.toolkit.fluxcd.io/v2` HelmRelease.
    HelmRelease, HelmReleaseSpec, "helm.toolkit.fluxcd.io/v2", "HelmRelease"
);

api_struct! {
    /// `spec.chart` of a Flux v1 HelmRelease.
    pub struct HelmReleaseV1Chart {
        /// Helm repository URL.
        opt repository: String,
        /// Chart name in the repository.
        opt name: String,
        /// Chart version.
        opt version: String,
        /// Git URL holding the chart.
        opt git: String,
        /// Git ref.
        opt r#ref: String,
        /// Path in the Git repository.
        opt path: String,
        /// Skip `helm dep update`.
        opt skip_dep_update: bool,
    }
}

api_struct! {
    /// `HelmRelease.spec` of Flux v1's helm-operator.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "helm.fluxcd.io", version = "v1", kind = "HelmRelease", root = "HelmReleaseV1Resource", namespaced, status = "super::Status"))]
    pub struct HelmReleaseV1Spec {
        /// The chart.
        req chart: HelmReleaseV1Chart,
        /// Release name.
        opt release_name: String,
        /// Values.
        opt values: serde_json::Value,
        /// Values sources.
        opt values_from: Vec<serde_json::Value>,
        /// Namespace to install into.
        opt target_namespace: String,
        /// Timeout in seconds.
        opt timeout: i64,
        /// Reset values on upgrade.
        opt reset_values: bool,
        /// Force upgrades.
        opt force_upgrade: bool,
        /// Rollback settings.
        opt rollback: serde_json::Value,
        /// Wait for resources.
        opt wait: bool,
        /// `v2` or `v3`.
        opt helm_version: String,
        /// Test settings.
        opt test: serde_json::Value,
        /// History to keep.
        opt max_history: i64,
        /// Skip CRDs.
        opt skip_crds: bool,
    }
}

flux_object!(
    /// Flux v1 `helm.fluxcd.io/v1` HelmRelease.
    HelmReleaseV1, HelmReleaseV1Spec, "helm.fluxcd.io/v1", "HelmRelease"
);
