use super::*;
use crate::yaml::parse_documents;

const FIXTURES: &[(&str, &str)] = &[
    (
        "flux-system.yaml",
        include_str!("../../tests/fixtures/flux/flux-system.yaml"),
    ),
    (
        "sources.yaml",
        include_str!("../../tests/fixtures/flux/sources.yaml"),
    ),
    (
        "helm.yaml",
        include_str!("../../tests/fixtures/flux/helm.yaml"),
    ),
    (
        "image.yaml",
        include_str!("../../tests/fixtures/flux/image.yaml"),
    ),
    (
        "notification.yaml",
        include_str!("../../tests/fixtures/flux/notification.yaml"),
    ),
];

#[test]
fn every_fixture_round_trips() {
    let mut kinds = Vec::new();
    for (name, src) in FIXTURES {
        for doc in parse_documents(src, name).unwrap() {
            let obj = Object::from_node(&doc.root, name)
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: not a Flux object"));
            assert_eq!(obj.to_json(), doc.root.to_json(Schema::Core), "{name}");
            kinds.push(format!("{obj:?}").split('(').next().unwrap().to_owned());
        }
    }
    assert_eq!(
        kinds,
        [
            "GitRepository",
            "Kustomization",
            "HelmRepository",
            "HelmRepository",
            "Bucket",
            "OCIRepository",
            "HelmRelease",
            "HelmReleaseV1",
            "ImageRepository",
            "ImagePolicy",
            "ImageUpdateAutomation",
            "Provider",
            "Alert"
        ]
    );
}

#[test]
fn typed_fields() {
    let docs = parse_documents(FIXTURES[0].1, "f").unwrap();
    let ks = Kustomization::from_node(&docs[1].root, "f").unwrap();
    assert_eq!(ks.spec.path.as_deref(), Some("./apps/dev"));
    assert!(ks.spec.prune);
    let pb = ks.spec.post_build.unwrap();
    assert_eq!(pb.substitute.unwrap()["replicas"], "2");
    assert_eq!(pb.substitute_from.unwrap()[1].optional, Some(true));
    assert_eq!(ks.spec.images.unwrap()[0].new_tag.as_deref(), Some("6.5.0"));

    let docs = parse_documents(FIXTURES[3].1, "f").unwrap();
    let repo = ImageRepository::from_node(&docs[0].root, "f").unwrap();
    assert_eq!(
        repo.spec.effective_exclusion_list(),
        [r"^.*\.sig$", "^sha-.*"]
    );
    let pol = ImagePolicy::from_node(&docs[1].root, "f").unwrap();
    assert_eq!(
        pol.spec.filter_tags.unwrap().extract.as_deref(),
        Some("$ts")
    );
    assert_eq!(
        pol.spec.policy.numerical.unwrap().order.as_deref(),
        Some("asc")
    );
}

#[test]
fn unknown_fields_are_kept() {
    let docs = parse_documents(FIXTURES[4].1, "n").unwrap();
    let alert = Alert::from_node(&docs[1].root, "n").unwrap();
    assert_eq!(alert.spec.extra["futureField"], "kept");
    let back = serde_json::to_value(&alert).unwrap();
    assert_eq!(back["spec"]["futureField"], "kept");
}

#[test]
fn missing_required_field_is_named() {
    let src = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {name: p}\nspec:\n  policy: {semver: {range: '1.x'}}\n";
    let docs = parse_documents(src, "p.yaml").unwrap();
    let err = Object::from_node(&docs[0].root, "p.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yaml:1: invalid ImagePolicy: missing field `imageRepositoryRef`"
    );
}

#[test]
fn non_flux_documents_are_skipped() {
    let docs = parse_documents(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
        "d",
    )
    .unwrap();
    assert!(Object::from_node(&docs[0].root, "d").unwrap().is_none());
}

#[cfg(feature = "kube")]
#[test]
fn kube_resources_and_crds() {
    use kube::{CustomResourceExt, Resource};
    let crd = ImagePolicyResource::crd();
    assert_eq!(crd.spec.group, "image.toolkit.fluxcd.io");
    assert_eq!(crd.spec.names.kind, "ImagePolicy");
    assert_eq!(crd.spec.versions[0].name, "v1beta2");
    assert_eq!(
        ImagePolicyResource::api_version(&()),
        "image.toolkit.fluxcd.io/v1beta2"
    );
    assert_eq!(GitRepositoryResource::kind(&()), "GitRepository");
    assert_eq!(HelmReleaseV1Resource::group(&()), "helm.fluxcd.io");

    // The plain type and the kube type read the same document.
    let docs = parse_documents(FIXTURES[3].1, "image.yaml").unwrap();
    let json = docs[1].root.to_json(Schema::Core);
    let plain: ImagePolicy = serde_json::from_value(json.clone()).unwrap();
    let kube: ImagePolicyResource = serde_json::from_value(json).unwrap();
    assert_eq!(plain.spec, kube.spec);
    assert_eq!(kube.metadata.name.as_deref(), Some("podinfo"));
}
