//! `helmCharts` with local charts, rendered in-process, against the real
//! `kubectl kustomize --enable-helm` running the real `helm` (v4.1.4).
//! kustomize v5.7.1 insists on Helm 3 (`helm version -c --short`), so the
//! oracle's helm command is a shim that answers that check and runs helm
//! v4.1.4 for everything else.

use std::path::Path;
use std::process::Command;

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::{Options, render};

use gitops_test_support::oracle;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn chart(root: &Path, at: &str) {
    write(
        root,
        &format!("{at}/Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(
        root,
        &format!("{at}/values.yaml"),
        "image: nginx:1.0\nreplicas: 1\nports: [80]\n",
    );
    write(
        root,
        &format!("{at}/templates/app.yaml"),
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  labels: {app: web}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
        ports:
        {{- range .Values.ports }}
        - containerPort: {{ . }}
        {{- end }}
        envFrom:
        - configMapRef:
            name: {{ .Release.Name }}-cfg
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  extra: {{ .Values.extra | default \"none\" | quote }}
",
    );
    write(
        root,
        &format!("{at}/templates/hooks.yaml"),
        "apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers:
  - {name: t, image: busybox}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      containers:
      - {name: m, image: busybox}
",
    );
    write(
        root,
        &format!("{at}/crds/widgets.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n",
    );
}

/// (name, chart source, files).
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const CASES: &[Case] = &[
    (
        "inline values over the chart's, CRDs, then the kustomization's transformers",
        "charts/web",
        &[(
            "kustomization.yaml",
            "namePrefix: dev-
namespace: team
labels:
- pairs: {env: dev}
  includeSelectors: true
helmCharts:
- name: web
  releaseName: rel
  namespace: apps
  includeCRDs: true
  kubeVersion: v1.30.0
  valuesInline:
    image: nginx:3.0
    ports: [8080, 9090]
",
        )],
    ),
    (
        "versioned chart home, merge, extra values files, no hooks",
        "mycharts/web-0.1.0/web",
        &[
            (
                "kustomization.yaml",
                "helmGlobals:
  chartHome: mycharts
helmCharts:
- name: web
  version: 0.1.0
  repo: https://charts.example.com
  releaseName: r2
  valuesMerge: merge
  valuesInline:
    image: ignored:0
    extra: from-inline
  additionalValuesFiles: [more.yaml]
  skipHooks: true
  apiVersions: [example.com/v1]
",
            ),
            ("more.yaml", "replicas: 4\n"),
        ],
    ),
    (
        "replace with the inline values only, a values file, no tests",
        "charts/web",
        &[
            (
                "kustomization.yaml",
                "helmCharts:
- name: web
  releaseName: r3
  valuesFile: vals.yaml
  valuesMerge: replace
  valuesInline:
    image: busybox:1
    replicas: 2
  skipTests: true
- name: web
  releaseName: r4
  valuesFile: vals.yaml
",
            ),
            ("vals.yaml", "image: redis:7\nreplicas: 5\nports: [6379]\n"),
        ],
    ),
];

#[test]
fn local_helm_charts_match_kubectl_enable_helm() {
    let kubectl = oracle("kubectl");
    let helm = oracle("helm");
    let shim_dir = tempfile::tempdir().unwrap();
    let shim = shim_dir.path().join("helm");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.99.0; exit 0; fi\nexec '{}' \"$@\"\n",
            helm.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut compared = 0;
    for (what, chart_at, files) in CASES {
        let t = tempfile::tempdir().unwrap();
        chart(t.path(), chart_at);
        for (p, text) in *files {
            write(t.path(), p, text);
        }
        let theirs = Command::new(&kubectl)
            .args(["kustomize", "--enable-helm", "--helm-command"])
            .arg(&shim)
            .arg(t.path())
            .output()
            .expect("run kubectl");
        assert!(
            theirs.status.success(),
            "{what}: kubectl failed: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let tree = OsTree::new(t.path()).unwrap();
        let ours = render(&tree, &RelPath::root(), &Options::default())
            .unwrap_or_else(|e| panic!("{what}: our build failed: {e}"));
        assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout), "{what}");
        compared += 1;
    }
    println!("helmCharts differential: {compared} kustomizations byte-identical");
}

#[test]
fn missing_charts_are_named() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "kustomization.yaml",
        "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n  version: 1.0.0\n- name: local\n",
    );
    let tree = OsTree::new(t.path()).unwrap();
    let err = render(&tree, &RelPath::root(), &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/: helmCharts: chart \"redis\" is not at charts/redis-1.0.0/redis; pulling it from https://charts.example.com needs a plugin executor"
    );
    write(
        t.path(),
        "kustomization.yaml",
        "helmCharts:\n- name: local\n  nameTemplate: x\n",
    );
    let tree = OsTree::new(t.path()).unwrap();
    let err = render(&tree, &RelPath::root(), &Options::default()).unwrap_err();
    assert!(
        err.to_string().contains("nameTemplate is not supported"),
        "{err}"
    );
}
