//! Hostile file trees through the real binary: symlinks that lead out of
//! a kustomization, special files, long hostile keys. Every command must
//! refuse them with an error naming the path, never read what lies outside,
//! and never hang.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{stderr, stdout};

use gitops_test_support::write;

/// Run `gitops args…` with a secret in the environment, killed after 20 s
/// (a hang is a failure, not a stuck test run).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .env("GITOPS_GIT_PASSWORD", "hunter2-environ-secret")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gitops runs");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            let out = child.wait_with_output().expect("output");
            panic!("gitops {args:?} hung; stderr: {}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kustomization(dir: &Path, body: &str) {
    write(dir, "app/kustomization.yaml", body);
}

fn build(dir: &Path) -> Output {
    run(&["build", dir.join("app").to_str().expect("utf8")])
}

fn refused(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "accepted; stdout: {}", stdout(o));
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert!(!stdout(o).contains("outside-secret"), "{}", stdout(o));
    assert!(!stdout(o).contains("hunter2"), "{}", stdout(o));
}

/// `e -> ../outside`: a relative directory symlink out of the kustomization.
#[test]
fn directory_symlink_out_of_the_kustomization_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "outside/secret.txt", "outside-secret\n");
    kustomization(
        t.path(),
        "configMapGenerator:\n- name: leak\n  files: [e/secret.txt]\n",
    );
    symlink("../outside", t.path().join("app/e")).expect("symlink");
    let o = build(t.path());
    refused(&o, "e/secret.txt: refused: symlinks resolve it to ");
    assert!(stderr(&o).contains("outside/secret.txt"), "{}", stderr(&o));
    // The same file as a resource, a patch and an env file.
    for body in [
        "resources: [e/secret.txt]\n",
        "patches:\n- path: e/secret.txt\n",
        "configMapGenerator:\n- name: leak\n  envs: [e/secret.txt]\n",
    ] {
        kustomization(t.path(), body);
        refused(&build(t.path()), "refused: symlinks resolve it to");
    }
}

/// `e -> /` with `e/etc/passwd`, and `d -> /proc` with `d/self/environ`
/// (the process environment, where credentials live).
#[test]
fn absolute_symlinks_to_the_system_are_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    symlink("/", t.path().join("e")).ok();
    std::fs::create_dir(t.path().join("app")).expect("mkdir");
    symlink("/", t.path().join("app/e")).expect("symlink");
    symlink("/proc", t.path().join("app/d")).expect("symlink");
    for file in ["e/etc/passwd", "d/self/environ", "e/proc/self/environ"] {
        kustomization(
            t.path(),
            &format!("configMapGenerator:\n- name: leak\n  files: [{file}]\n"),
        );
        let o = build(t.path());
        refused(&o, "refused: symlinks resolve it to");
        assert!(!stdout(&o).contains("root:"), "{}", stdout(&o));
    }
}

/// A symlink that stays inside the kustomization is followed, as kustomize
/// does; one to a sibling directory of the same repository is refused
/// (kustomize's rootOnly compares real paths).
#[test]
fn symlinks_inside_the_kustomization_are_followed() {
    let t = tempfile::tempdir().expect("tempdir");
    write(
        t.path(),
        "app/real/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    );
    write(t.path(), "shared/x.txt", "outside-secret\n");
    symlink("real/cm.yaml", t.path().join("app/cm.yaml")).expect("symlink");
    symlink("../shared/x.txt", t.path().join("app/x.txt")).expect("symlink");
    kustomization(t.path(), "resources: [cm.yaml]\n");
    let o = build(t.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    );
    kustomization(
        t.path(),
        "configMapGenerator:\n- name: leak\n  files: [x.txt]\n",
    );
    let o = build(t.path());
    refused(&o, "x.txt: refused: symlinks resolve it to ");
    assert!(
        stderr(&o).contains("shared/x.txt, outside "),
        "{}",
        stderr(&o)
    );
    // A dangling link says so, rather than "no such file".
    symlink("nowhere.yaml", t.path().join("app/gone.yaml")).expect("symlink");
    kustomization(t.path(), "resources: [gone.yaml]\n");
    let o = build(t.path());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("gone.yaml: dangling symlink (to nowhere.yaml)"),
        "{}",
        stderr(&o)
    );
}

/// A symlinked base directory is entered at its real path, as kustomize does.
#[test]
fn a_symlinked_base_is_built_from_its_real_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    write(
        t.path(),
        "base/kustomization.yaml",
        "resources: [cm.yaml]\n",
    );
    write(
        t.path(),
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    );
    std::fs::create_dir(t.path().join("app")).expect("mkdir");
    symlink("../base", t.path().join("app/b")).expect("symlink");
    kustomization(t.path(), "namePrefix: p-\nresources: [b]\n");
    let o = build(t.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("name: p-cm"), "{}", stdout(&o));
}

/// `--root` fences the build: a base outside it is not read.
#[test]
fn root_flag_fences_bases() {
    let t = tempfile::tempdir().expect("tempdir");
    write(
        t.path(),
        "base/kustomization.yaml",
        "resources: [cm.yaml]\n",
    );
    write(
        t.path(),
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside-secret\n",
    );
    kustomization(t.path(), "resources: [../base]\n");
    let app = t.path().join("app");
    let o = run(&[
        "build",
        app.to_str().expect("utf8"),
        "--root",
        app.to_str().expect("utf8"),
    ]);
    refused(&o, "--root sets that directory");
    // In a Git work tree the default root is its top.
    std::fs::create_dir(t.path().join("app/.git")).expect("mkdir");
    let o = build(t.path());
    refused(&o, "nothing outside");
}

/// A FIFO named as a resource or a generator file is refused at once,
/// never opened for a blocking read.
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(t.path().join("app")).expect("mkdir");
    let fifo = t.path().join("app/f.yaml");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(ok.success());
    for body in [
        "resources: [f.yaml]\n",
        "configMapGenerator:\n- name: c\n  files: [f.yaml]\n",
    ] {
        kustomization(t.path(), body);
        let o = build(t.path());
        refused(&o, "f.yaml: not a regular file (a FIFO); refused");
    }
    // The setters walk skips special files; `--flux` builds refuse them too.
    write(
        t.path(),
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  path: ./app\n  interval: 5m\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
    );
    kustomization(t.path(), "resources: [f.yaml]\n");
    let o = run(&[
        "build",
        "--flux",
        t.path().join("ks.yaml").to_str().expect("utf8"),
        "--source",
        t.path().to_str().expect("utf8"),
    ]);
    refused(&o, "not a regular file (a FIFO)");
    let o = run(&["setters", "scan", t.path().to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A 5 MB unknown key in kustomization.yaml is quoted in the error only
/// truncated, with its length.
#[test]
fn errors_quote_hostile_input_truncated() {
    let t = tempfile::tempdir().expect("tempdir");
    let key = "k".repeat(5 << 20);
    kustomization(t.path(), &format!("? {key}\n: 1\n"));
    let o = build(t.path());
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("unknown field \"kkkk"),
        "{}",
        &err[..err.len().min(500)]
    );
    assert!(
        err.contains(&format!("… ({} bytes)", 5 << 20)),
        "{}",
        &err[..err.len().min(500)]
    );
    assert!(err.len() < 2000, "stderr is {} bytes", err.len());
}
