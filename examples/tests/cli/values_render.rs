//! `gitops values compose --render CHART`: a HelmRelease rendered as
//! helm-controller installs it, checked by hand and against the real `helm`
//! with a post-renderer plugin that runs the same kustomizations through the
//! real `kubectl kustomize`.

use std::path::Path;
use std::process::Command;

use gitops_test_support::{oracle, write};

use super::{gitops, stderr, stdout};

fn chart(d: &Path) {
    write(
        d,
        "web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(d, "web/values.yaml", "image: nginx:1.0\nreplicas: 1\n");
    write(
        d,
        "web/templates/deploy.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
        args: [\"--flag=a long argument that runs past the eightieth column of the line for sure\"]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  ports:
  - port: 80
",
    );
    write(
        d,
        "web/templates/hooks.yaml",
        "apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install
spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  on: \"yes\"
  script: |
    echo one
    echo two
",
    );
    write(
        d,
        "web/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n",
    );
}

const RELEASE: &str = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
spec:
  interval: 5m
  targetNamespace: prod
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: charts}
  values:
    replicas: 2
  postRenderers:
  - kustomize:
      images:
      - name: nginx
        newTag: '2.0'
      patches:
      - target: {kind: Deployment, name: prod-web}
        patch: |
          - op: replace
            path: /spec/replicas
            value: 3
      - patch: |
          apiVersion: v1
          kind: Service
          metadata:
            name: prod-web
          spec:
            type: NodePort
";

fn run(d: &Path, release: &str, extra: &[&str]) -> std::process::Output {
    write(d, "hr.yaml", release);
    let hr = d.join("hr.yaml");
    let chart = d.join("web");
    let mut args = vec![
        "values",
        "compose",
        hr.to_str().unwrap(),
        "--render",
        chart.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gitops(&args)
}

#[test]
fn render_applies_release_settings_and_post_renderers() {
    let t = tempfile::tempdir().unwrap();
    chart(t.path());
    let o = run(t.path(), RELEASE, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Release `prod-web` in `prod`; CRDs applied (default policy Create)
    // with the origin labels; then the post-rendered resources and hooks in
    // Helm's install order, each labelled with the HelmRelease's name and
    // namespace; long scalars unfolded as Helm prints them.
    assert_eq!(
        stdout(&o),
        "---
# Source: web/crds/widgets.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: widgets.example.com
spec:
  group: example.com
---
# Source: web/templates/hooks.yaml
apiVersion: v1
data:
  \"on\": \"yes\"
  script: |
    echo one
    echo two
kind: ConfigMap
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: cfg
---
# Source: web/templates/deploy.yaml
apiVersion: v1
kind: Service
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: prod-web
spec:
  ports:
  - port: 80
  type: NodePort
---
# Source: web/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: prod-web
  namespace: prod
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - --flag=a long argument that runs past the eightieth column of the line for sure
        image: nginx:2.0
        name: app
---
# Source: web/templates/hooks.yaml
apiVersion: batch/v1
kind: Job
metadata:
  annotations:
    helm.sh/hook: pre-install
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: apps
  name: migrate
spec: {}
"
    );
}

#[test]
fn render_policies_long_names_and_errors() {
    let t = tempfile::tempdir().unwrap();
    chart(t.path());
    let long = "a-very-long-helm-release-name-that-goes-past-the-limit";
    let hr = format!(
        "{}  releaseName: {long}\n  install:\n    crds: Skip\n    disableHooks: true\n",
        &RELEASE[..RELEASE.find("  targetNamespace").unwrap()]
    );
    let o = run(t.path(), &hr, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // ShortenName: 40 characters, `-`, 12 hex digits of the SHA-256.
    assert!(
        out.contains("  name: a-very-long-helm-release-name-that-goes--90451f0add6a\n"),
        "{out}"
    );
    assert!(!out.contains("CustomResourceDefinition"), "{out}");
    assert!(!out.contains("kind: Job"), "{out}");
    assert!(out.contains("  namespace: apps\n"), "{out}");

    let o = run(t.path(), RELEASE, &["-o", "json"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("-o json is not supported"),
        "{}",
        stderr(&o)
    );
    let o = run(
        t.path(),
        &RELEASE.replace(
            "  postRenderers:",
            "  postRenderStrategy: separate\n  postRenderers:",
        ),
        &[],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("postRenderStrategy \"separate\""),
        "{}",
        stderr(&o)
    );
    let missing = t.path().join("nope");
    let o = gitops(&[
        "values",
        "compose",
        t.path().join("hr.yaml").to_str().unwrap(),
        "--render",
        missing.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}

/// The real Helm with a post-renderer plugin running the same stages
/// (the kustomize post-renderer, then the origin labels) through the real
/// `kubectl kustomize --reorder none`, as helm-controller's krusty build does.
#[test]
fn render_matches_helm_with_kustomize_post_renderer() {
    let helm = oracle("helm");
    let kubectl = oracle("kubectl");
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    chart(d);
    write(
        d,
        "plugins/stages/run.sh",
        "#!/bin/sh\nset -e\nd=$(mktemp -d)\ncat > $d/in.yaml\nfor s in \"$STAGES_DIR\"/*; do\n  mkdir $d/w; cp $d/in.yaml $d/w/helm-output.yaml; cp \"$s\" $d/w/kustomization.yaml\n  \"$KUBECTL\" kustomize --reorder none $d/w > $d/out.yaml\n  mv $d/out.yaml $d/in.yaml; rm -rf $d/w\ndone\ncat $d/in.yaml\nrm -rf $d\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.join("plugins/stages/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    write(
        d,
        "plugins/stages/plugin.yaml",
        "apiVersion: v1\nname: stages\ntype: postrenderer/v1\nruntime: subprocess\nversion: 0.1.0\nruntimeConfig:\n  platformCommand:\n    - command: ${HELM_PLUGIN_DIR}/run.sh\n",
    );
    write(
        d,
        "stages/1.yaml",
        "resources: [helm-output.yaml]
images:
- name: nginx
  newTag: '2.0'
patches:
- target: {kind: Deployment, name: prod-web}
  patch: |
    - op: replace
      path: /spec/replicas
      value: 3
- patch: |
    apiVersion: v1
    kind: Service
    metadata:
      name: prod-web
    spec:
      type: NodePort
",
    );
    write(
        d,
        "stages/2.yaml",
        "resources: [helm-output.yaml]
transformers:
- |
  apiVersion: builtin
  kind: LabelTransformer
  metadata: {name: origin}
  labels: {helm.toolkit.fluxcd.io/name: web, helm.toolkit.fluxcd.io/namespace: apps}
  fieldSpecs: [{path: metadata/labels, create: true}]
",
    );
    write(d, "values.yaml", "replicas: 2\n");
    let theirs = Command::new(&helm)
        .args([
            "template",
            "prod-web",
            "web",
            "-n",
            "prod",
            "-f",
            "values.yaml",
        ])
        .args(["--post-renderer", "stages"])
        .current_dir(d)
        .env("HELM_PLUGINS", d.join("plugins"))
        .env("STAGES_DIR", d.join("stages"))
        .env("KUBECTL", &kubectl)
        .output()
        .expect("run helm");
    assert!(theirs.status.success(), "helm: {}", stderr(&theirs));
    // CRDs are applied separately (not by `helm template` without
    // --include-crds): compare with the Skip policy.
    let hr = RELEASE.replace("  values:", "  install: {crds: Skip}\n  values:");
    let ours = run(d, &hr, &[]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    assert_eq!(stdout(&ours), stdout(&theirs));
}
