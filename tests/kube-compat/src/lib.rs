//! Compile check for gitops-core's `kube` feature in a controller that
//! chooses its own Kubernetes version on k8s-openapi (kube-rs's advice),
//! here `k8s-openapi/latest`. Building this crate is the check; the test
//! makes sure the Flux types are usable as kube resources.

#[cfg(test)]
mod tests {
    use gitops_core::flux::{GitRepositoryResource, ImagePolicyResource};
    use kube::{CustomResourceExt, Resource};

    /// Every schema node of every derived CRD has a type or keeps unknown
    /// fields, as the API server requires of a structural schema; `spec`
    /// and `status` keep the fields the types do not model.
    #[test]
    fn derived_crds_are_structural() {
        use gitops_core::flux::*;
        fn walk(path: &str, node: &serde_json::Value, bad: &mut Vec<String>) {
            let Some(m) = node.as_object() else {
                bad.push(format!("{path}: not an object schema"));
                return;
            };
            let ok = [
                "type",
                "x-kubernetes-preserve-unknown-fields",
                "x-kubernetes-int-or-string",
                "anyOf",
                "oneOf",
                "allOf",
            ]
            .iter()
            .any(|k| m.contains_key(*k));
            if !ok {
                bad.push(path.to_owned());
            }
            if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                for (k, v) in props {
                    walk(&format!("{path}.{k}"), v, bad);
                }
            }
            for k in ["items", "additionalProperties"] {
                if let Some(v) = m.get(k).filter(|v| v.is_object()) {
                    walk(&format!("{path}[{k}]"), v, bad);
                }
            }
        }
        let crds = [
            GitRepositoryResource::crd(),
            HelmRepositoryResource::crd(),
            BucketResource::crd(),
            OCIRepositoryResource::crd(),
            KustomizationResource::crd(),
            HelmReleaseResource::crd(),
            ImageRepositoryResource::crd(),
            ImagePolicyResource::crd(),
            ImageUpdateAutomationResource::crd(),
            ProviderResource::crd(),
            AlertResource::crd(),
        ];
        for crd in crds {
            let v = serde_json::to_value(&crd).unwrap();
            let root = &v["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
            let mut bad = Vec::new();
            walk(&crd.spec.names.kind, root, &mut bad);
            assert!(bad.is_empty(), "schema nodes without a type: {bad:?}");
            for top in ["spec", "status"] {
                assert_eq!(
                    root["properties"][top]["x-kubernetes-preserve-unknown-fields"], true,
                    "{} {top}",
                    crd.spec.names.kind
                );
            }
        }
    }

    #[test]
    fn flux_types_are_kube_resources() {
        assert_eq!(GitRepositoryResource::kind(&()), "GitRepository");
        let crd = ImagePolicyResource::crd();
        assert_eq!(crd.spec.group, "image.toolkit.fluxcd.io");
    }
}
