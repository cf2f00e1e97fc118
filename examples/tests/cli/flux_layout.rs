//! A Flux repository layout (`clusters/dev` with `flux-system`, `apps/base`,
//! `apps/dev`) built with `gitops build --flux`, compared with the real
//! `kubectl kustomize` plus the postBuild substitution Flux would apply.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{gitops, stderr, stdout};

use gitops_test_support::write;

fn kubectl() -> PathBuf {
    gitops_test_support::oracle("kubectl")
}

/// The layout of Flux's kustomize example repository, written by us.
fn layout() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    write(
        d,
        "clusters/dev/flux-system/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-sync.yaml\n",
    );
    write(
        d,
        "clusters/dev/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@example.com/org/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/dev
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
",
    );
    write(
        d,
        "clusters/dev/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./apps/dev
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      replicas: \"2\"
    substituteFrom:
    - kind: ConfigMap
      name: cluster-vars
",
    );
    write(
        d,
        "clusters/dev/cluster-vars.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  cluster_name: dev
  domain: dev.example.com
",
    );
    write(
        d,
        "apps/base/podinfo/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: podinfo
resources:
- namespace.yaml
- deployment.yaml
- service.yaml
- ingress.yaml
",
    );
    write(
        d,
        "apps/base/podinfo/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
    );
    write(
        d,
        "apps/base/podinfo/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  labels:
    cluster: ${cluster_name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.5.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}
        env:
        - name: PODINFO_UI_MESSAGE
          value: \"Hello from ${cluster_name}\"
        - name: LOG_LEVEL
          value: ${log_level:=info}
",
    );
    write(
        d,
        "apps/base/podinfo/service.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: podinfo
spec:
  selector:
    app: podinfo
  ports:
  - port: 9898
",
    );
    write(
        d,
        "apps/base/podinfo/ingress.yaml",
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
spec:
  rules:
  - host: podinfo.${domain}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: podinfo
            port:
              number: 9898
",
    );
    write(
        d,
        "apps/dev/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../base/podinfo
patches:
- path: podinfo-patch.yaml
  target:
    kind: Deployment
    name: podinfo
",
    );
    write(
        d,
        "apps/dev/podinfo-patch.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  template:
    spec:
      containers:
      - name: podinfo
        resources:
          limits:
            memory: 256Mi
",
    );
    // A second environment with a component and replacements.
    write(
        d,
        "components/monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
commonAnnotations:
  prometheus.io/scrape: \"true\"
resources:
- servicemonitor.yaml
",
    );
    write(
        d,
        "components/monitoring/servicemonitor.yaml",
        "apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: podinfo
spec:
  endpoints:
  - port: http
  selector:
    matchLabels:
      app: podinfo
",
    );
    write(
        d,
        "apps/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: staging-
resources:
- ../base/podinfo
components:
- ../../components/monitoring
images:
- name: ghcr.io/stefanprodan/podinfo
  newTag: 6.5.1
replacements:
- source:
    kind: Service
    name: podinfo
    fieldPath: metadata.name
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.[name=podinfo].env.[name=LOG_LEVEL].value
- source:
    kind: Service
    fieldPath: spec.ports.0.port
  targets:
  - select:
      kind: Ingress
    fieldPaths:
    - spec.rules.0.http.paths.0.backend.service.port.number
",
    );
    t
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn flux_layout_builds_like_kustomize_controller() {
    let t = layout();
    let d = t.path();
    let src = arg(d);
    let apps = d.join("clusters/dev/apps.yaml");
    let vars = d.join("clusters/dev/cluster-vars.yaml");

    // kustomize part: the plain build equals kubectl's.
    let ours = gitops(&["build", arg(&d.join("apps/dev"))]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    let theirs = Command::new(kubectl())
        .args(["kustomize", arg(&d.join("apps/dev"))])
        .output()
        .expect("kubectl runs");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(stdout(&ours), String::from_utf8_lossy(&theirs.stdout));

    // A component and replacements (apps/staging), against kubectl too.
    let staging = d.join("apps/staging");
    let ours_staging = gitops(&["build", arg(&staging)]);
    assert!(ours_staging.status.success(), "{}", stderr(&ours_staging));
    let theirs_staging = Command::new(kubectl())
        .args(["kustomize", arg(&staging)])
        .output()
        .expect("kubectl runs");
    assert!(
        theirs_staging.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs_staging.stderr)
    );
    let staged = stdout(&ours_staging);
    assert_eq!(staged, String::from_utf8_lossy(&theirs_staging.stdout));
    assert!(
        staged.contains("value: staging-podinfo") && staged.contains("kind: ServiceMonitor"),
        "{staged}"
    );

    // Flux part: postBuild substitution from the ConfigMap and inline values.
    let flux = gitops(&[
        "build",
        "--flux",
        arg(&apps),
        "--source",
        src,
        "--vars-from",
        arg(&vars),
    ]);
    assert!(flux.status.success(), "{}", stderr(&flux));
    let expected = String::from_utf8_lossy(&theirs.stdout)
        .replace("${cluster_name}", "dev")
        .replace("${domain}", "dev.example.com")
        .replace("${log_level:=info}", "info")
        .replace("replicas: ${replicas}", "replicas: 2");
    assert!(!expected.contains("${"), "{expected}");
    assert_eq!(stdout(&flux), expected);

    // The apply plan: Namespace first, then Service, Deployment, Ingress.
    let plan = gitops(&[
        "build",
        "--flux",
        arg(&apps),
        "--source",
        src,
        "--vars-from",
        arg(&vars),
        "--plan",
    ]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let text = stdout(&plan);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("Namespace") < at("Service") && at("Service") < at("Deployment"));
    assert!(at("Deployment") < at("Ingress"), "{text}");

    // A substituteFrom source that is not there (and not optional) fails.
    let missing = gitops(&["build", "--flux", arg(&apps), "--source", src]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("substitute from 'ConfigMap/cluster-vars' error: not found"),
        "{}",
        stderr(&missing)
    );
    // Strict mode: a ConfigMap without cluster_name leaves it unset.
    let partial = d.join("partial-vars.yaml");
    write(
        d,
        "partial-vars.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  domain: x.example.com\n",
    );
    let strict = gitops(&[
        "build",
        "--flux",
        arg(&apps),
        "--source",
        src,
        "--vars-from",
        arg(&partial),
    ]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stderr(&strict).contains(r#"variable not set (strict mode): "cluster_name""#),
        "{}",
        stderr(&strict)
    );
    // Without strict mode it becomes the empty string.
    let lax = gitops(&[
        "build",
        "--flux",
        arg(&apps),
        "--source",
        src,
        "--vars-from",
        arg(&partial),
        "--no-strict-substitute",
    ]);
    assert!(lax.status.success(), "{}", stderr(&lax));
    assert!(
        stdout(&lax).contains("value: Hello from\n"),
        "{}",
        stdout(&lax)
    );

    // The cluster's entry point: flux-system's Kustomization has no
    // kustomization.yaml at ./clusters/dev, so one is generated (every YAML
    // file, flux-system/ included whole through its own kustomization).
    let sync = d.join("clusters/dev/flux-system/gotk-sync.yaml");
    let cluster = gitops(&["build", "--flux", arg(&sync), "--source", src]);
    assert!(cluster.status.success(), "{}", stderr(&cluster));
    let objects: Vec<String> = stdout(&cluster)
        .split("---\n")
        .map(|doc| {
            let field = |k: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            };
            format!("{}/{}", field("kind: "), field("  name: "))
        })
        .collect();
    assert_eq!(
        objects,
        [
            // kustomize's legacy order: unlisted kinds by group/version/kind.
            "ConfigMap/cluster-vars",
            "Kustomization/apps",
            "Kustomization/flux-system",
            "GitRepository/flux-system",
        ]
    );
}
