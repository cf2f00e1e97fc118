//! End-to-end tests of `gitops setters`.

use super::{gitops, stderr, stdout};
use std::path::Path;

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/org/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}
";

const KUSTOMIZATION: &str = "images:
- name: web
  newTag: \"1.0.0\" # {\"$imagepolicy\": \"flux-system:web:tag\"}
  digest: none # {\"$imagepolicy\": \"flux-system:web:digest\"}
- name: typo
  newTag: x # {\"$imagepolicy\": \"web\"}
";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("apps")).expect("mkdir");
    std::fs::write(dir.path().join("apps/web.yaml"), DEPLOY).expect("write");
    std::fs::write(dir.path().join("kustomization.yaml"), KUSTOMIZATION).expect("write");
    dir
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn scan_prints_a_table_and_warnings() {
    let dir = tree();
    let o = gitops(&["setters", "scan", arg(dir.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["LOCATION", "SETTER", "VALUE", "OBJECT"]
    );
    assert!(out.contains("apps/web.yaml:11"), "{out}");
    assert!(out.contains("flux-system:web:digest"), "{out}");
    assert!(out.ends_with("3 markers in 2 of 2 files\n"), "{out}");
    assert_eq!(
        stderr(&o),
        "warning: kustomization.yaml:6: malformed setter marker: invalid policy reference \"web\": expected <namespace>:<name>[:tag|:name|:digest]\n"
    );
}

#[test]
fn scan_json() {
    let dir = tree();
    let o = gitops(&["setters", "scan", arg(dir.path()), "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["markers"][0]["file"], "apps/web.yaml");
    assert_eq!(v["markers"][0]["object"]["name"], "web");
    assert_eq!(v["warnings"][0]["code"], "malformed_marker");
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let dir = tree();
    let o = gitops(&[
        "setters",
        "apply",
        arg(dir.path()),
        "--policy",
        "flux-system:web=ghcr.io/org/web:1.10",
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "--- a/apps/web.yaml
+++ b/apps/web.yaml
@@ -8,4 +8,4 @@
     spec:
       containers:
       - name: web
-        image: ghcr.io/org/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}
+        image: ghcr.io/org/web:1.10 # {\"$imagepolicy\": \"flux-system:web\"}
--- a/kustomization.yaml
+++ b/kustomization.yaml
@@ -1,6 +1,6 @@
 images:
 - name: web
-  newTag: \"1.0.0\" # {\"$imagepolicy\": \"flux-system:web:tag\"}
+  newTag: \"1.10\" # {\"$imagepolicy\": \"flux-system:web:tag\"}
   digest: none # {\"$imagepolicy\": \"flux-system:web:digest\"}
 - name: typo
   newTag: x # {\"$imagepolicy\": \"web\"}
"
    );
    assert!(stderr(&o).contains("kustomization.yaml:4: policy flux-system:web:digest has no digest to write; value left unchanged"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("apps/web.yaml")).unwrap(),
        DEPLOY
    );
}

#[test]
fn apply_writes_and_renders_the_commit_message() {
    let dir = tree();
    let digest = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be";
    let policy = format!("flux-system:web=ghcr.io/org/web:1.1.0@{digest}");
    let o = gitops(&[
        "setters",
        "apply",
        arg(dir.path()),
        "--policy",
        &policy,
        "--message",
        "{% for o in changed.objects %}{{ o.kind }}/{{ o.name }} {% endfor %}",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("apps/web.yaml:11: ghcr.io/org/web:1.0.0 -> ghcr.io/org/web:1.1.0@{digest} (flux-system:web, Deployment/prod/web)")), "{out}");
    assert!(
        out.contains("3 changes in 2 files (3 markers in 2 files)"),
        "{out}"
    );
    assert!(out.ends_with("/ Deployment/web \n"), "{out}");
    let k = std::fs::read_to_string(dir.path().join("kustomization.yaml")).unwrap();
    assert_eq!(
        k,
        KUSTOMIZATION
            .replace("\"1.0.0\"", "\"1.1.0\"")
            .replace("digest: none", &format!("digest: {digest}"))
    );
    // A second run has nothing to do.
    let o = gitops(&[
        "setters",
        "apply",
        arg(dir.path()),
        "--policy",
        &policy,
        "--message",
        "-",
    ]);
    assert_eq!(
        stdout(&o),
        "0 changes in 0 files (3 markers in 2 files)\nUpdate from image update automation\n"
    );
}

#[test]
fn bad_policy_is_an_error() {
    let dir = tree();
    let o = gitops(&["setters", "apply", arg(dir.path()), "--policy", "web=nginx"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("error: invalid policy assignment \"web=nginx\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn v1_updates_automated_workloads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deploy = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.web: semver:~1
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/org/web:1.0.0
";
    std::fs::write(dir.path().join("web.yaml"), deploy).expect("write");
    let tags = dir.path().join("tags.txt");
    std::fs::write(&tags, "# tag created\n1.0.0 2024-01-01T00:00:00Z\n1.2.0 2024-02-01T00:00:00Z\n2.0.0 1717200000\nlatest\n").expect("write");
    let spec = format!("ghcr.io/org/web={}", arg(&tags));
    let o = gitops(&["setters", "v1", arg(dir.path()), "--tags", &spec]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "web.yaml:13: ghcr.io/org/web:1.0.0 -> ghcr.io/org/web:1.2.0 (web, Deployment/web)\n1 changes in 1 files (1 markers in 1 files)\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("web.yaml")).unwrap(),
        deploy.replace("web:1.0.0", "web:1.2.0")
    );
    // Without a tag list the container is reported, not changed.
    let o = gitops(&["setters", "v1", arg(dir.path()), "--dry-run"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("no --tags list for image ghcr.io/org/web"),
        "{}",
        stderr(&o)
    );
}
