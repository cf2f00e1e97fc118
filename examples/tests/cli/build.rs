//! `gitops build` end to end, through the real binary.

use super::gitops;

use gitops_test_support::write;

fn fixture() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    write(
        t.path(),
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- svc.yaml\n",
    );
    write(
        t.path(),
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    write(
        t.path(),
        "base/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
    );
    write(
        t.path(),
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: prod-\n",
    );
    t
}

#[test]
fn builds_overlay_in_legacy_order() {
    let t = fixture();
    let dir = t.path().join("overlay");
    let o = gitops(&["build", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: prod-web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: prod-web\n"
    );
}

#[test]
fn reorder_none_keeps_input_order_and_writes_file() {
    let t = fixture();
    let dir = t.path().join("overlay");
    let out = t.path().join("out.yaml");
    let o = gitops(&[
        "build",
        dir.to_str().expect("utf8"),
        "--reorder",
        "none",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(out).expect("output file");
    assert!(
        text.starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
        "{text}"
    );
}

#[test]
fn missing_kustomization_fails_with_message() {
    let t = tempfile::tempdir().expect("tempdir");
    let o = gitops(&["build", t.path().to_str().expect("utf8")]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unable to find one of 'kustomization.yaml'"),
        "{err}"
    );
}
