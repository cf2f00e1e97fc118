//! Compile check for gitops-core's `kube` feature in a controller that
//! chooses its own Kubernetes version on k8s-openapi (kube-rs's advice),
//! here `k8s-openapi/latest`. Building this crate is the check; the test
//! makes sure the Flux types are usable as kube resources.

#[cfg(test)]
mod tests {
    use gitops_core::flux::{GitRepositoryResource, ImagePolicyResource};
    use kube::{CustomResourceExt, Resource};

    #[test]
    fn flux_types_are_kube_resources() {
        assert_eq!(GitRepositoryResource::kind(&()), "GitRepository");
        let crd = ImagePolicyResource::crd();
        assert_eq!(crd.spec.group, "image.toolkit.fluxcd.io");
    }
}
