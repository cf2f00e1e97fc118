//! Small CLI behaviours users trip over: hyphen values, `--reorder` and
//! owner labels with `--flux`, error causes printed once, one name for the
//! Docker config flag.

use std::path::Path;

use super::{gitops, stderr, stdout};

use gitops_test_support::write;

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn pattern_and_range_values_may_start_with_a_hyphen() {
    let t = tempfile::tempdir().expect("tempdir");
    let tags = t.path().join("tags.txt");
    std::fs::write(&tags, "v1-rc.1\nv1-rc.3\nv1-rc.2\nv2\n").expect("write");
    let o = gitops(&[
        "policy",
        "select",
        "--numerical",
        "asc",
        "--filter",
        "-rc\\.(?P<n>\\d+)$",
        "--extract",
        "$n",
        "--tags-file",
        arg(&tags),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "v1-rc.3");
    // `--exclude -rc` drops the candidates; `--semver -1` reaches the
    // range parser (which has its own word on it), not clap.
    let o = gitops(&[
        "policy",
        "select",
        "--alphabetical",
        "asc",
        "--exclude",
        "-rc",
        "--tags-file",
        arg(&tags),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "v2");
    let o = gitops(&[
        "policy",
        "select",
        "--semver",
        "-1",
        "--tags-file",
        arg(&tags),
    ]);
    assert!(
        !stderr(&o).contains("unexpected argument"),
        "{}",
        stderr(&o)
    );
    let o = gitops(&[
        "create",
        "image",
        "policy",
        "app",
        "--image-ref",
        "app",
        "--select-semver",
        ">=1.0.0-0",
        "--filter-regex",
        "-rc\\..*",
        "--export",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pattern: -rc\\..*"), "{}", stdout(&o));
}

/// A Flux source with a Deployment listed before a Namespace.
fn flux_source(d: &Path) {
    write(
        d,
        "apps/kustomization.yaml",
        "resources: [deploy.yaml, ns.yaml]\n",
    );
    write(
        d,
        "apps/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: ${replicas}\n",
    );
    write(
        d,
        "apps/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
    );
    write(
        d,
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m\n  path: ./apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {replicas: \"2\"}\n",
    );
}

#[test]
fn flux_builds_honour_reorder_and_offer_owner_labels() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    flux_source(d);
    let ks = d.join("ks.yaml");
    let base = ["build", "--flux", arg(&ks), "--source", arg(d)];
    let legacy = gitops(&base);
    assert!(legacy.status.success(), "{}", stderr(&legacy));
    let text = stdout(&legacy);
    assert!(text.find("kind: Namespace") < text.find("kind: Deployment"));
    let none = gitops(&[&base[..], &["--reorder", "none"]].concat());
    assert!(none.status.success(), "{}", stderr(&none));
    let text = stdout(&none);
    assert!(
        text.find("kind: Deployment") < text.find("kind: Namespace"),
        "{text}"
    );
    assert!(!text.contains("kustomize.toolkit.fluxcd.io/name"));
    let owned = gitops(&[&base[..], &["--owner-labels"]].concat());
    assert!(owned.status.success(), "{}", stderr(&owned));
    let text = stdout(&owned);
    assert_eq!(
        text.matches("    kustomize.toolkit.fluxcd.io/name: apps\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n").count(),
        2,
        "{text}"
    );
}

#[test]
fn a_cause_is_printed_once() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    flux_source(d);
    write(
        d,
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m\n  path: ./apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {other: \"2\"}\n",
    );
    let o = gitops(&[
        "build",
        "--flux",
        arg(&d.join("ks.yaml")),
        "--source",
        arg(d),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(
        err.matches("variable not set (strict mode)").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("variable not set (strict mode): \"replicas\""),
        "{err}"
    );
}

#[test]
fn docker_config_is_one_flag_everywhere() {
    for cmd in [
        &["automate", "--help"][..],
        &["image", "scan", "--help"],
        &["source", "oci", "pull", "--help"],
    ] {
        let o = gitops(cmd);
        assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
        let help = stdout(&o);
        assert!(help.contains("--docker-config <FILE>"), "{cmd:?}: {help}");
        assert!(help.contains("registry-config"), "{cmd:?}: {help}");
    }
}
