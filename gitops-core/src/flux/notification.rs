//! `notification.toolkit.fluxcd.io`.

use super::LocalObjectReference;

api_struct! {
    /// `Provider.spec` (v1beta3).
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "notification.toolkit.fluxcd.io", version = "v1beta3", kind = "Provider", root = "ProviderResource", namespaced, status = "super::Status"))]
    pub struct ProviderSpec {
        /// `slack`, `msteams`, `github`, `generic`, …
        req r#type: String,
        /// Channel.
        opt channel: String,
        /// Bot user name.
        opt username: String,
        /// Endpoint address.
        opt address: String,
        /// Timeout.
        opt timeout: String,
        /// HTTP proxy.
        opt proxy: String,
        /// Secret with the address/token.
        opt secret_ref: LocalObjectReference,
        /// Secret with TLS certificates.
        opt cert_secret_ref: LocalObjectReference,
        /// Stop sending.
        opt suspend: bool,
        /// Interval (deprecated).
        opt interval: String,
        /// CEL expression for commit status ids.
        opt commit_status_expr: String,
    }
}

flux_object!(
    /// `notification.toolkit.fluxcd.io/v1beta3` Provider.
    Provider, ProviderSpec, "notification.toolkit.fluxcd.io/v1beta3", "Provider"
);

api_struct! {
    /// An object whose events are forwarded.
    pub struct EventSource {
        /// Kind (`*` not allowed in kind).
        req kind: String,
        /// Name (`*` for all).
        req name: String,
        /// Namespace.
        opt namespace: String,
        /// Label selector.
        opt match_labels: std::collections::BTreeMap<String, String>,
        /// API version.
        opt api_version: String,
    }
}

api_struct! {
    /// `Alert.spec` (v1beta3).
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "notification.toolkit.fluxcd.io", version = "v1beta3", kind = "Alert", root = "AlertResource", namespaced, status = "super::Status"))]
    pub struct AlertSpec {
        /// The Provider.
        req provider_ref: LocalObjectReference,
        /// `info` or `error`.
        opt event_severity: String,
        /// Event sources.
        req event_sources: Vec<EventSource>,
        /// Regexes of messages to include.
        opt inclusion_list: Vec<String>,
        /// Extra metadata.
        opt event_metadata: std::collections::BTreeMap<String, String>,
        /// Regexes of messages to exclude.
        opt exclusion_list: Vec<String>,
        /// Summary (deprecated).
        opt summary: String,
        /// Stop forwarding.
        opt suspend: bool,
    }
}

flux_object!(
    /// `notification.toolkit.fluxcd.io/v1beta3` Alert.
    Alert, AlertSpec, "notification.toolkit.fluxcd.io/v1beta3", "Alert"
);
