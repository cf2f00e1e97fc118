//! Values composition errors, asserted with their exact text.

use gitops_core::flux::{HelmRelease, ValuesReference};
use gitops_render::flux::Resources;
use gitops_render::helm::{strvals, values};
use serde_json::json;

fn cm_ref(name: &str) -> ValuesReference {
    ValuesReference {
        kind: "ConfigMap".into(),
        name: name.into(),
        ..Default::default()
    }
}

#[test]
fn missing_source_and_key() {
    let res = Resources::new();
    let err = values::compose("apps", &[cm_ref("base")], None, &res).unwrap_err();
    assert_eq!(
        err.to_string(),
        "valuesFrom ConfigMap 'apps/base': not found (supply it, or mark the reference optional)"
    );
    let mut res = Resources::new();
    res.insert_config_map("apps", "base", Default::default());
    let err = values::compose("apps", &[cm_ref("base")], None, &res).unwrap_err();
    assert_eq!(
        err.to_string(),
        "valuesFrom ConfigMap 'apps/base': key 'values.yaml' not found"
    );
    let mut optional = cm_ref("base");
    optional.optional = Some(true);
    assert!(
        values::compose("apps", &[optional], None, &res)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn non_map_values_file() {
    let mut res = Resources::new();
    res.insert_config_map(
        "apps",
        "base",
        [("values.yaml".to_owned(), b"- a\n- b\n".to_vec())].into(),
    );
    let err = values::compose("apps", &[cm_ref("base")], None, &res).unwrap_err();
    assert_eq!(
        err.to_string(),
        "valuesFrom ConfigMap 'apps/base' key 'values.yaml': expected a YAML map of values, got a list [\"a\",\"b\"]"
    );
}

#[test]
fn bad_target_path() {
    let mut res = Resources::new();
    res.insert_secret("apps", "s", [("k".to_owned(), b"v".to_vec())].into());
    let r = ValuesReference {
        kind: "Secret".into(),
        name: "s".into(),
        values_key: Some("k".into()),
        target_path: Some("a[x]".into()),
        ..Default::default()
    };
    let err = values::compose("apps", &[r], None, &res).unwrap_err();
    assert_eq!(
        err.to_string(),
        "valuesFrom Secret 'apps/s' key 'k': cannot set targetPath"
    );
    assert_eq!(
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .as_deref(),
        Some(
            "failed parsing --set data \"a[x]=v\": error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        )
    );
    assert_eq!(
        strvals::parse("a.b=1,a=")
            .and_then(|mut m| strvals::parse_into("a.b.c=2", &mut m).map(|()| m))
            .unwrap_err()
            .to_string(),
        "failed parsing --set data \"a.b.c=2\": unable to parse key: interface conversion: interface {} is string, not map[string]interface {}"
    );
}

#[test]
fn unsupported_kind_and_release() {
    let r = ValuesReference {
        kind: "Unknown".into(),
        name: "x".into(),
        ..Default::default()
    };
    let err = values::compose("", &[r], None, &Resources::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "valuesFrom Unknown 'x': unsupported values reference kind, expected ConfigMap or Secret"
    );
    let hr: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"interval": "5m", "values": "nope"}}))
    .unwrap();
    assert_eq!(
        values::compose_release(&hr, &Resources::new())
            .unwrap_err()
            .to_string(),
        "HelmRelease apps/web: spec.values must be a map, got a string"
    );
}

#[test]
fn secret_file_values_with_target_path_and_literal() {
    let mut res = Resources::new();
    res.add_yaml(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\n\
         data:\n  brokers: YSxi\nstringData:\n  tag: '\"1.10\"'\n",
        "s.yaml",
    )
    .unwrap();
    let hr: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"interval": "5m",
                 "valuesFrom": [
                    {"kind": "Secret", "name": "s", "valuesKey": "brokers", "targetPath": "kafka.brokers", "literal": true},
                    {"kind": "Secret", "name": "s", "valuesKey": "tag", "targetPath": "image.tag"}],
                 "values": {"image": {"repository": "web"}}}})).unwrap();
    let v = values::compose_release(&hr, &res).unwrap();
    assert_eq!(
        serde_json::Value::Object(v),
        json!({"image": {"repository": "web", "tag": "1.10"}, "kafka": {"brokers": "a,b"}})
    );
}
