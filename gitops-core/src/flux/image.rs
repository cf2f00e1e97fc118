//! `image.toolkit.fluxcd.io`.

use super::{CrossNamespaceObjectReference, LocalObjectReference, NamespacedObjectReference};

api_struct! {
    /// `ImageRepository.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "image.toolkit.fluxcd.io", version = "v1beta2", kind = "ImageRepository", root = "ImageRepositoryResource", namespaced, status = "super::Status"))]
    pub struct ImageRepositorySpec {
        /// Image name without tag, e.g. `ghcr.io/org/app`.
        req image: String,
        /// Scan interval.
        req interval: String,
        /// Secret with TLS certificates.
        opt cert_secret_ref: LocalObjectReference,
        /// Scan timeout.
        opt timeout: String,
        /// Docker config secret.
        opt secret_ref: LocalObjectReference,
        /// Service account with image pull secrets.
        opt service_account_name: String,
        /// Regexes of tags to drop before policies (default `^.*\.sig$`; a list replaces it).
        opt exclusion_list: Vec<String>,
        /// Cross-namespace access.
        opt access_from: serde_json::Value,
        /// `generic`, `aws`, `azure`, `gcp`.
        opt provider: String,
        /// Plain HTTP.
        opt insecure: bool,
        /// Stop scanning.
        opt suspend: bool,
        /// Secret with proxy settings.
        opt proxy_secret_ref: LocalObjectReference,
    }
}

impl ImageRepositorySpec {
    /// The exclusion list in force: the user's list, or Flux's default
    /// `^.*\.sig$` when the list is absent or empty (as image-reflector does).
    pub fn effective_exclusion_list(&self) -> Vec<String> {
        match &self.exclusion_list {
            Some(list) if !list.is_empty() => list.clone(),
            _ => vec![r"^.*\.sig$".to_owned()],
        }
    }
}

flux_object!(
    /// `image.toolkit.fluxcd.io/v1beta2` ImageRepository.
    ImageRepository, ImageRepositorySpec, "image.toolkit.fluxcd.io/v1beta2", "ImageRepository"
);

api_struct! {
    /// SemVer policy.
    pub struct SemVerPolicy {
        /// Masterminds/semver constraint.
        req range: String,
    }
}

api_struct! {
    /// Alphabetical policy.
    pub struct AlphabeticalPolicy {
        /// `asc` (default: greatest wins) or `desc`.
        opt order: String,
    }
}

api_struct! {
    /// Numerical policy.
    pub struct NumericalPolicy {
        /// `asc` (default: largest wins) or `desc`.
        opt order: String,
    }
}

api_struct! {
    /// Exactly one of the policies.
    pub struct ImagePolicyChoice {
        /// SemVer range.
        opt semver: SemVerPolicy,
        /// Alphabetical order.
        opt alphabetical: AlphabeticalPolicy,
        /// Numerical order.
        opt numerical: NumericalPolicy,
    }
}

api_struct! {
    /// Tag filter applied before the policy.
    pub struct TagFilter {
        /// RE2 regex, unanchored.
        req pattern: String,
        /// Replacement template (`$name`, `${1}`) giving the value to order by.
        opt extract: String,
    }
}

api_struct! {
    /// `ImagePolicy.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "image.toolkit.fluxcd.io", version = "v1beta2", kind = "ImagePolicy", root = "ImagePolicyResource", namespaced, status = "super::Status"))]
    pub struct ImagePolicySpec {
        /// The ImageRepository whose tags are considered.
        req image_repository_ref: NamespacedObjectReference,
        /// The policy.
        req policy: ImagePolicyChoice,
        /// Tag filter.
        opt filter_tags: TagFilter,
        /// `Never` (default), `IfNotPresent`, `Always`.
        opt digest_reflection_policy: String,
        /// Re-evaluation interval (with `digestReflectionPolicy: Always`).
        opt interval: String,
        /// Stop evaluating.
        opt suspend: bool,
    }
}

flux_object!(
    /// `image.toolkit.fluxcd.io/v1beta2` ImagePolicy.
    ImagePolicy, ImagePolicySpec, "image.toolkit.fluxcd.io/v1beta2", "ImagePolicy"
);

api_struct! {
    /// Git ref to check out for automation.
    pub struct GitCheckoutSpec {
        /// The ref (same fields as GitRepository's).
        req r#ref: super::GitRepositoryRef,
    }
}

api_struct! {
    /// Commit author.
    pub struct CommitUser {
        /// Name.
        opt name: String,
        /// E-mail.
        req email: String,
    }
}

api_struct! {
    /// Commit settings.
    pub struct CommitSpec {
        /// Author.
        req author: CommitUser,
        /// Secret with the signing key.
        opt signing_key: serde_json::Value,
        /// Go template for the message.
        opt message_template: String,
        /// Values available to the template as `.Values`.
        opt message_template_values: std::collections::BTreeMap<String, String>,
    }
}

api_struct! {
    /// Push settings.
    pub struct PushSpec {
        /// Branch to push to (default the checkout branch).
        opt branch: String,
        /// Refspec to push.
        opt refspec: String,
        /// Push options.
        opt options: std::collections::BTreeMap<String, String>,
    }
}

api_struct! {
    /// Git settings of an automation.
    pub struct GitSpec {
        /// What to check out.
        opt checkout: GitCheckoutSpec,
        /// How to commit.
        req commit: CommitSpec,
        /// Where to push.
        opt push: PushSpec,
    }
}

api_struct! {
    /// What to update.
    pub struct UpdateStrategy {
        /// Path in the repository (default root).
        opt path: String,
        /// `Setters`.
        opt strategy: String,
    }
}

api_struct! {
    /// `ImageUpdateAutomation.spec`.
    #[cfg_attr(feature = "kube", derive(kube::CustomResource), kube(group = "image.toolkit.fluxcd.io", version = "v1beta2", kind = "ImageUpdateAutomation", root = "ImageUpdateAutomationResource", namespaced, status = "super::Status"))]
    pub struct ImageUpdateAutomationSpec {
        /// The GitRepository to update.
        req source_ref: CrossNamespaceObjectReference,
        /// Git settings.
        opt git: GitSpec,
        /// Reconcile interval.
        req interval: String,
        /// Label selector of the ImagePolicies to use.
        opt policy_selector: serde_json::Value,
        /// What to update.
        opt update: UpdateStrategy,
        /// Stop reconciling.
        opt suspend: bool,
    }
}

flux_object!(
    /// `image.toolkit.fluxcd.io/v1beta2` ImageUpdateAutomation.
    ImageUpdateAutomation, ImageUpdateAutomationSpec, "image.toolkit.fluxcd.io/v1beta2", "ImageUpdateAutomation"
);
