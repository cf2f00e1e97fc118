//! `source.toolkit.fluxcd.io`.

use super::LocalObjectReference;

api_struct! {
    /// Which Git reference to check out (precedence: commit > name > tag > semver > branch).
    pub struct GitRepositoryRef {
        /// Branch to check out (default `master` in Flux).
        opt branch: String,
        /// Tag to check out.
        opt tag: String,
        /// SemVer range over tags.
        opt semver: String,
        /// Full ref name, e.g. `refs/heads/main`, `refs/pull/1/head`.
        opt name: String,
        /// Commit SHA.
        opt commit: String,
    }
}

api_struct! {
    /// Commit signature verification.
    pub struct GitRepositoryVerification {
        /// `HEAD`, `Tag`, `TagAndHEAD` (or legacy `head`).
        opt mode: String,
        /// Secret with the public keys.
        req secret_ref: LocalObjectReference,
    }
}

api_struct! {
    /// Another GitRepository's artifact to include.
    pub struct GitRepositoryInclude {
        /// The GitRepository.
        req repository: LocalObjectReference,
        /// Path in the included artifact (default `.`).
        opt from_path: String,
        /// Path in this artifact (default the included name).
        opt to_path: String,
    }
}

api_struct! {
    /// `GitRepository.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "source.toolkit.fluxcd.io", version = "v1", kind = "GitRepository", root = "GitRepositoryResource", namespaced, status = "super::Status"))]
    pub struct GitRepositorySpec {
        /// Repository URL (`https://`, `ssh://`, `git://`, `file://`).
        req url: String,
        /// Reconcile interval, e.g. `5m`.
        req interval: String,
        /// Secret with credentials.
        opt secret_ref: LocalObjectReference,
        /// OIDC provider: `generic`, `azure`, `github`.
        opt provider: String,
        /// Timeout for Git operations.
        opt timeout: String,
        /// What to check out.
        opt r#ref: GitRepositoryRef,
        /// Signature verification.
        opt verify: GitRepositoryVerification,
        /// Secret with proxy settings.
        opt proxy_secret_ref: LocalObjectReference,
        /// Extra `.sourceignore` patterns.
        opt ignore: String,
        /// Stop reconciling.
        opt suspend: bool,
        /// Clone submodules.
        opt recurse_submodules: bool,
        /// Artifacts of other GitRepositories to include.
        opt include: Vec<GitRepositoryInclude>,
        /// Directories to check out sparsely.
        opt sparse_checkout: Vec<String>,
        /// Service account for OIDC.
        opt service_account_name: String,
    }
}

flux_object!(
    /// `source.toolkit.fluxcd.io/v1` GitRepository.
    GitRepository, GitRepositorySpec, "source.toolkit.fluxcd.io/v1", "GitRepository"
);

api_struct! {
    /// `HelmRepository.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "source.toolkit.fluxcd.io", version = "v1", kind = "HelmRepository", root = "HelmRepositoryResource", namespaced, status = "super::Status"))]
    pub struct HelmRepositorySpec {
        /// Repository URL (`https://` or `oci://`).
        req url: String,
        /// Secret with credentials.
        opt secret_ref: LocalObjectReference,
        /// Secret with TLS certificates.
        opt cert_secret_ref: LocalObjectReference,
        /// Send credentials to chart hosts other than the repository's.
        opt pass_credentials: bool,
        /// Reconcile interval.
        opt interval: String,
        /// Allow plain HTTP (OCI).
        opt insecure: bool,
        /// Timeout for index downloads.
        opt timeout: String,
        /// Stop reconciling.
        opt suspend: bool,
        /// Cross-namespace access.
        opt access_from: serde_json::Value,
        /// `default` or `oci`.
        opt r#type: String,
        /// OIDC provider for OCI.
        opt provider: String,
    }
}

flux_object!(
    /// `source.toolkit.fluxcd.io/v1` HelmRepository.
    HelmRepository, HelmRepositorySpec, "source.toolkit.fluxcd.io/v1", "HelmRepository"
);

api_struct! {
    /// `Bucket.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "source.toolkit.fluxcd.io", version = "v1", kind = "Bucket", root = "BucketResource", namespaced, status = "super::Status"))]
    pub struct BucketSpec {
        /// Bucket name.
        req bucket_name: String,
        /// Endpoint host.
        req endpoint: String,
        /// Reconcile interval.
        req interval: String,
        /// `generic`, `aws`, `gcp`, `azure`.
        opt provider: String,
        /// Security token service settings.
        opt sts: serde_json::Value,
        /// Plain HTTP.
        opt insecure: bool,
        /// Region.
        opt region: String,
        /// Object key prefix.
        opt prefix: String,
        /// Secret with credentials.
        opt secret_ref: LocalObjectReference,
        /// Secret with TLS certificates.
        opt cert_secret_ref: LocalObjectReference,
        /// Secret with proxy settings.
        opt proxy_secret_ref: LocalObjectReference,
        /// Timeout.
        opt timeout: String,
        /// Extra `.sourceignore` patterns.
        opt ignore: String,
        /// Stop reconciling.
        opt suspend: bool,
    }
}

flux_object!(
    /// `source.toolkit.fluxcd.io/v1` Bucket.
    Bucket, BucketSpec, "source.toolkit.fluxcd.io/v1", "Bucket"
);

api_struct! {
    /// Which OCI artifact to pull (precedence: digest > semver > tag).
    pub struct OCIRepositoryRef {
        /// Digest `sha256:<hex>`.
        opt digest: String,
        /// SemVer range over tags.
        opt semver: String,
        /// Regex filter applied to tags before the semver range.
        opt semver_filter: String,
        /// Tag (default `latest`).
        opt tag: String,
    }
}

api_struct! {
    /// Which layer of the artifact to use.
    pub struct OCILayerSelector {
        /// Layer media type.
        opt media_type: String,
        /// `extract` (default) or `copy`.
        opt operation: String,
    }
}

api_struct! {
    /// `OCIRepository.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "source.toolkit.fluxcd.io", version = "v1beta2", kind = "OCIRepository", root = "OCIRepositoryResource", namespaced, status = "super::Status"))]
    pub struct OCIRepositorySpec {
        /// `oci://host/repo`.
        req url: String,
        /// Reconcile interval.
        req interval: String,
        /// What to pull.
        opt r#ref: OCIRepositoryRef,
        /// Layer selection.
        opt layer_selector: OCILayerSelector,
        /// `generic`, `aws`, `azure`, `gcp`.
        opt provider: String,
        /// Secret with registry credentials.
        opt secret_ref: LocalObjectReference,
        /// Signature verification (cosign/notation).
        opt verify: serde_json::Value,
        /// Service account with image pull secrets.
        opt service_account_name: String,
        /// Secret with TLS certificates.
        opt cert_secret_ref: LocalObjectReference,
        /// Secret with proxy settings.
        opt proxy_secret_ref: LocalObjectReference,
        /// Timeout.
        opt timeout: String,
        /// Extra `.sourceignore` patterns.
        opt ignore: String,
        /// Plain HTTP.
        opt insecure: bool,
        /// Stop reconciling.
        opt suspend: bool,
    }
}

flux_object!(
    /// `source.toolkit.fluxcd.io/v1beta2` OCIRepository.
    OCIRepository, OCIRepositorySpec, "source.toolkit.fluxcd.io/v1beta2", "OCIRepository"
);

/// Labels or annotations.
pub type StringMap = std::collections::BTreeMap<String, String>;
