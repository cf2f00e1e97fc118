//! Flux Kustomization builds, postBuild substitution and envsubst properties.

use gitops_core::flux::Kustomization;
use gitops_core::fs::MemTree;
use gitops_render::flux::Resources;
use gitops_render::flux::build::{BuildOptions, flux_build, generate};
use gitops_render::flux::envsubst;
use gitops_render::flux::plan::{Inventory, apply_plan, prune_set};
use proptest::prelude::*;
use serde_json::{Value, json};

fn ks(spec: Value) -> Kustomization {
    let mut full = json!({"interval": "5m", "prune": true,
                          "sourceRef": {"kind": "GitRepository", "name": "repo"}});
    if let (Some(f), Some(s)) = (full.as_object_mut(), spec.as_object()) {
        f.extend(s.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"}, "spec": full}))
    .expect("kustomization")
}

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  port: \"${PORT}\"\n";

#[test]
fn generated_kustomization_lists_files_and_kustomize_dirs() {
    let mut t = MemTree::new();
    t.insert("apps/b.yaml", CM).unwrap();
    t.insert(
        "apps/a/x.yml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    t.insert("apps/base/kustomization.yaml", "resources: [s.yaml]\n")
        .unwrap();
    t.insert(
        "apps/base/s.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
    )
    .unwrap();
    t.insert("apps/notes.txt", "hello").unwrap();
    let g = generate(&t, &ks(json!({"path": "apps"})).spec).unwrap();
    assert!(g.generated);
    assert_eq!(
        g.document["resources"],
        json!(["./a/x.yml", "./b.yaml", "./base"])
    );

    t.insert("apps/bad.yaml", "- just\n- a list\n").unwrap();
    let err = generate(&t, &ks(json!({"path": "apps"})).spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to decode Kubernetes YAML from apps/bad.yaml: document 1 (line 1) is not a mapping"
    );
    // A build reports the same error first, as Flux does.
    let err = flux_build(
        &t,
        &ks(json!({"path": "apps"})),
        &Resources::new(),
        &BuildOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to decode Kubernetes YAML from apps/bad.yaml: document 1 (line 1) is not a mapping"
    );
}

#[test]
fn spec_overwrites_appends_and_merges() {
    let mut t = MemTree::new();
    t.insert(
        "k/kustomization.yaml",
        "nameprefix: a-\nresources: [cm.yaml]\nimages:\n- name: web\n  newTag: '1'\n  digest: sha256:00\n",
    )
    .unwrap();
    t.insert("k/cm.yaml", CM).unwrap();
    t.insert(
        "k/comp/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
    )
    .unwrap();
    let spec = ks(json!({"path": "./k", "namePrefix": "b-", "targetNamespace": "prod",
        "images": [{"name": "web", "newTag": "2"}, {"name": "db", "newName": "pg"}],
        "components": ["comp"],
        "patches": [{"patch": "- op: add\n  path: /data/x\n  value: y\n", "target": {"kind": "ConfigMap"}}]}))
    .spec;
    let g = generate(&t, &spec).unwrap();
    assert!(!g.generated);
    assert_eq!(g.document["namePrefix"], "b-");
    assert!(g.document.get("nameprefix").is_none());
    assert_eq!(g.document["namespace"], "prod");
    assert_eq!(
        g.document["images"],
        json!([{"name": "web", "newTag": "2"}, {"name": "db", "newName": "pg"}])
    );
    assert_eq!(g.document["components"], json!(["comp"]));

    let missing = ks(json!({"path": "./k", "components": ["nope"]})).spec;
    assert_eq!(
        generate(&t, &missing).unwrap_err().to_string(),
        "component path 'nope' not found (set spec.ignoreMissingComponents to skip it)"
    );
    let ignored =
        ks(json!({"path": "./k", "components": ["nope"], "ignoreMissingComponents": true})).spec;
    assert!(
        generate(&t, &ignored)
            .unwrap()
            .document
            .get("components")
            .is_none()
    );
}

#[test]
fn build_substitutes_like_flux() {
    let mut t = MemTree::new();
    t.insert("apps/cm.yaml", CM).unwrap();
    let mut res = Resources::new();
    res.add_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vars, namespace: flux-system}\ndata:\n  PORT: '80'\n", "v.yaml").unwrap();
    let k = ks(
        json!({"path": "apps", "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]},
                      "commonMetadata": {"labels": {"team": "web"}}}),
    );
    let out = flux_build(&t, &k, &res, &BuildOptions::default()).unwrap();
    // The quotes around "${PORT}" do not survive Flux's YAML round trip.
    assert_eq!(out.objects[0]["data"]["port"], json!(80));
    assert_eq!(out.objects[0]["metadata"]["labels"]["team"], "web");

    let strict = ks(json!({"path": "apps", "postBuild": {"substitute": {"OTHER": "x"}}}));
    let err = flux_build(&t, &strict, &res, &BuildOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "post build failed for ConfigMap/cfg: variable not set (strict mode): \"PORT\""
    );
    let lax = flux_build(
        &t,
        &strict,
        &res,
        &BuildOptions {
            strict_substitute: false,
            ..BuildOptions::default()
        },
    )
    .unwrap();
    assert_eq!(lax.objects[0]["data"]["port"], Value::Null);

    let missing = ks(
        json!({"path": "apps", "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "nope"}]}}),
    );
    assert_eq!(
        flux_build(&t, &missing, &res, &BuildOptions::default())
            .unwrap_err()
            .to_string(),
        "substitute from 'Secret/nope' error: not found in namespace 'flux-system'"
    );
}

#[test]
fn plan_prune_between_builds() {
    let mut t = MemTree::new();
    t.insert(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n",
    )
    .unwrap();
    t.insert(
        "apps/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    let k = ks(json!({"path": "apps"}));
    let first = flux_build(&t, &k, &Resources::new(), &BuildOptions::default()).unwrap();
    let inv1 = Inventory::from_plan(&apply_plan(&first.objects).unwrap());
    assert_eq!(
        inv1.to_json(),
        json!({"entries": [{"id": "_x__Namespace", "v": "v1"}, {"id": "x_a__ConfigMap", "v": "v1"}]})
    );
    let mut t2 = MemTree::new();
    t2.insert(
        "apps/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    let second = flux_build(&t2, &k, &Resources::new(), &BuildOptions::default()).unwrap();
    let inv2 = Inventory::from_plan(&apply_plan(&second.objects).unwrap());
    let prune = prune_set(&inv1, &inv2, &first.objects, None);
    assert_eq!(prune.len(), 1);
    assert_eq!(prune[0].id.inventory_id(), "x_a__ConfigMap");
}

proptest! {
    /// `$$` escapes round-trip: escaping every `$` of any text and expanding
    /// it gives the text back, whatever variables exist.
    #[test]
    fn dollar_escapes_round_trip(text in "[a-z${}:=#/ \\-]{0,40}") {
        let escaped = text.replace('$', "$$");
        let vars = |_: &str| Some("VALUE".to_owned());
        prop_assert_eq!(envsubst::eval(&escaped, &vars), Ok(text));
    }

    /// Text without `$` is never changed.
    #[test]
    fn text_without_dollar_is_unchanged(text in "[^$\\x00]{0,60}") {
        let vars = |_: &str| None;
        prop_assert_eq!(envsubst::eval(&text, &vars), Ok(text.clone()));
    }
}

#[test]
fn rendered_objects_enter_the_store_as_yaml_does() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {a: ' aGk= '}\nstringData: {b: two}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {x: '1', e: ~}\nbinaryData: {y: aGk=}\n";
    let mut from_yaml = Resources::new();
    from_yaml.add_yaml(text, "t.yaml").unwrap();
    let mut from_json = Resources::new();
    for d in gitops_core::yaml::parse_documents(text, "t.yaml").unwrap() {
        let v = d.root.to_json(gitops_core::yaml::Schema::Core);
        assert!(from_json.add_json(&v, "t.yaml").unwrap());
    }
    assert_eq!(from_yaml, from_json);
    let bad = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}, "data": {"k": "not base64!"}});
    assert!(Resources::new().add_json(&bad, "rendered").is_err());
    assert!(
        !Resources::new()
            .add_json(&json!({"apiVersion": "apps/v1", "kind": "Deployment"}), "o")
            .unwrap()
    );
}
