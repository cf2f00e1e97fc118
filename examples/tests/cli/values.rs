//! `gitops values compose` and the Flux build flags' command body.

use crate::{gitops, stderr, stdout};

const RELEASE: &str = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
spec:
  interval: 5m
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: charts}
  valuesFrom:
    - kind: ConfigMap
      name: web-values
    - kind: Secret
      name: web-secret
      valuesKey: tag
      targetPath: image.tag
  values:
    replicas: 3
";

const SOURCES: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: web-values, namespace: apps}
data:
  values.yaml: |
    image: {repository: nginx, pullPolicy: IfNotPresent}
    replicas: 1
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret, namespace: apps}
stringData:
  tag: '\"1.10\"'
";

#[test]
fn compose_with_sources_set_and_chart_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let hr = dir.path().join("hr.yaml");
    let src = dir.path().join("src.yaml");
    let chart = dir.path().join("values.yaml");
    std::fs::write(&hr, RELEASE).unwrap();
    std::fs::write(&src, SOURCES).unwrap();
    std::fs::write(
        &chart,
        "resources: {limits: {cpu: 1}}\nimage: {pullPolicy: Always}\nprobe: {path: /}\n",
    )
    .unwrap();
    let o = gitops(&[
        "values",
        "compose",
        hr.to_str().unwrap(),
        "--from",
        src.to_str().unwrap(),
        "--chart-values",
        chart.to_str().unwrap(),
        "--set",
        "probe=null,extra.on=yes",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "extra:\n  \"on\": \"yes\"\nimage:\n  pullPolicy: IfNotPresent\n  repository: nginx\n  tag: \"1.10\"\nreplicas: 3\nresources:\n  limits:\n    cpu: 1\n"
    );
}

#[test]
fn missing_source_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let hr = dir.path().join("hr.yaml");
    std::fs::write(&hr, RELEASE).unwrap();
    let o = gitops(&["values", "compose", hr.to_str().unwrap()]);
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        "error: valuesFrom ConfigMap 'apps/web-values': not found (supply it, or mark the reference optional)\n"
    );
}

#[test]
fn bad_set_expression() {
    let dir = tempfile::tempdir().unwrap();
    let hr = dir.path().join("hr.yaml");
    std::fs::write(&hr, "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: x}\nspec: {interval: 1m}\n").unwrap();
    let o = gitops(&[
        "values",
        "compose",
        hr.to_str().unwrap(),
        "--set",
        "a.b",
        "-o",
        "json",
    ]);
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        "error: failed parsing --set data \"a.b\": key \"b\" has no value\n"
    );
    let o = gitops(&[
        "values",
        "compose",
        hr.to_str().unwrap(),
        "--set-json",
        "a=[1,2]",
        "-o",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
}
