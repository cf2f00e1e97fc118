//! `gitops v1 …`: fluxctl operations as Git edits, on the fixture
//! repository of gitops-setters (`tests/fixtures/v1ops`).

use std::path::{Path, PathBuf};

use crate::{git, gitops, stderr, stdout};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gitops-setters/tests/fixtures/v1ops")
}

/// A copy of the fixture repository in a temporary directory.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixtures().join("repo")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("expected").join(name)).unwrap()
}

fn input(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("repo").join(name)).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn workloads_like_fluxctl_list_workloads() {
    let d = repo();
    let o = gitops(&["v1", "workloads", s(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
WORKLOAD                    CONTAINER    IMAGE                                       POLICY
default:cronjob/backup      backup       registry.example.com/ops/backup:2024.01.01
legacy:helmrelease/old      chart-image  nginx:1.25
monitoring:daemonset/agent  agent        quay.io/prometheus/node-exporter:v1.7.0     locked
prod:deployment/web         app          ghcr.io/org/web:1.0.0                       automated
                            sidecar      envoyproxy/envoy:v1.29.0
prod:helmrelease/podinfo    chart-image  ghcr.io/stefanprodan/podinfo:6.5.0
                            cache        docker.io/library/redis:7.2.3
                            ui           ghcr.io/stefanprodan/podinfo-ui:1.0.0
prod:job/migrate            migrate      ghcr.io/org/web:1.0.0
"
    );
    let o = gitops(&[
        "v1",
        "workloads",
        s(d.path()),
        "--container",
        "agent",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["id"], "monitoring:daemonset/agent");
    assert_eq!(v[0]["policy"]["locked_msg"], "waiting for CVE fix");
    assert_eq!(v[0]["containers"][0]["filter"], "glob:*");
}

#[test]
fn images_newest_first_with_the_current_one_marked() {
    let d = repo();
    let tags = d.path().join("web.tags");
    std::fs::write(
        &tags,
        "1.0.0 2024-01-01T00:00:00Z\n1.1.0 2024-02-01T00:00:00Z\n2.0.0 2024-03-01T00:00:00Z\n0.9.0 2023-12-01T00:00:00Z\n",
    )
    .unwrap();
    let o = gitops(&[
        "v1",
        "images",
        s(d.path()),
        "--workload",
        "prod:deployment/web",
        "--tags",
        &format!("ghcr.io/org/web={}", tags.display()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
WORKLOAD             CONTAINER  IMAGE             CREATED
prod:deployment/web  app        ghcr.io/org/web
                                |   2.0.0         01 Mar 24 00:00 UTC
                                |   1.1.0         01 Feb 24 00:00 UTC
                                '-> 1.0.0         01 Jan 24 00:00 UTC
                                    0.9.0         01 Dec 23 00:00 UTC
                     sidecar    envoyproxy/envoy  image data not available
                                '-> v1.29.0       ?
"
    );
    let o = gitops(&[
        "v1",
        "images",
        s(d.path()),
        "-w",
        "deployment/nope",
        "-n",
        "prod",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("workload prod:deployment/nope not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn policy_commands_edit_bytes_in_place() {
    let d = repo();
    let o = gitops(&["v1", "automate", "default:cronjob/backup", s(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(d.path(), "jobs.yaml"),
        expected("jobs.automate-backup.yaml")
    );
    assert!(stdout(&o).contains("default:cronjob/backup: add fluxcd.io/automated: \"true\""));
    assert!(stdout(&o).contains("    Automated: default:cronjob/backup"));

    let o = gitops(&[
        "v1",
        "lock",
        "deployment/web",
        "-n",
        "prod",
        s(d.path()),
        "--user",
        "jane",
        "--message",
        "deploy freeze",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(d.path(), "web.yaml"), expected("web.lock.yaml"));

    let d = repo();
    let o = gitops(&[
        "v1",
        "policy",
        "prod:deployment/web",
        s(d.path()),
        "--tag-all",
        "v1.*",
        "--tag",
        "app=semver:~1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(d.path(), "web.yaml"), expected("web.tag-all.yaml"));

    let o = gitops(&["v1", "unlock", "monitoring:daemonset/agent", s(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(d.path(), "legacy.yaml"),
        expected("legacy.unlock.yaml")
    );
}

#[test]
fn dry_run_and_bad_input_change_nothing() {
    let d = repo();
    let o = gitops(&[
        "v1",
        "deautomate",
        "prod:deployment/web",
        s(d.path()),
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("-    fluxcd.io/automated: \"true\"   # keep me\n"));
    assert_eq!(read(d.path(), "web.yaml"), input("web.yaml"));

    for (args, msg) in [
        (
            vec!["automate", "prod:deployment/webb"],
            "workload prod:deployment/webb not found",
        ),
        (
            vec!["automate", "default:service/agent"],
            "default:service/agent is a Service, not a workload",
        ),
        (vec!["automate", "web"], "invalid workload \"web\""),
        (
            vec!["policy", "prod:deployment/web", "--tag", "app=semver:>>1"],
            "invalid tag pattern \"semver:>>1\" for container \"app\"",
        ),
        (
            vec!["policy", "prod:deployment/web", "--tag", "db=1.*"],
            "has no container \"db\"",
        ),
    ] {
        let mut all = vec!["v1"];
        all.extend(args);
        all.push(s(d.path()));
        let o = gitops(&all);
        assert_eq!(o.status.code(), Some(1), "{all:?}");
        assert!(stderr(&o).contains(msg), "{all:?}: {}", stderr(&o));
    }
    for f in ["web.yaml", "legacy.yaml", "jobs.yaml", "helm.yaml"] {
        assert_eq!(read(d.path(), f), input(f), "{f}");
    }
}

#[test]
fn release_an_image_and_refuse_locked_workloads() {
    let d = repo();
    let o = gitops(&[
        "v1",
        "release",
        s(d.path()),
        "--workload",
        "prod:deployment/web",
        "--update-image",
        "ghcr.io/org/web:1.2.0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(d.path(), "web.yaml"), expected("web.release.yaml"));
    assert!(
        stdout(&o).contains("prod:deployment/web  success  app: ghcr.io/org/web:1.0.0 -> 1.2.0"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("    Release ghcr.io/org/web:1.2.0 to prod:deployment/web"));

    let o = gitops(&[
        "v1",
        "release",
        s(d.path()),
        "-w",
        "monitoring:daemonset/agent",
        "-i",
        "quay.io/prometheus/node-exporter:v1.8.0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("monitoring:daemonset/agent is locked: \"waiting for CVE fix\"; unlock it or release with --force"));
    assert_eq!(read(d.path(), "legacy.yaml"), input("legacy.yaml"));

    let tags = d.path().join("tags");
    std::fs::create_dir(&tags).unwrap();
    let t = |name: &str, body: &str| {
        let p = tags.join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let o = gitops(&[
        "v1",
        "release",
        s(d.path()),
        "-w",
        "prod:helmrelease/podinfo",
        "-w",
        "legacy:helmrelease/old",
        "--update-all-images",
        "--tags",
        &format!(
            "ghcr.io/stefanprodan/podinfo={}",
            t("a", "6.5.0 1700000000\n6.6.0 1700000100\n")
        ),
        "--tags",
        &format!(
            "ghcr.io/stefanprodan/podinfo-ui={}",
            t("b", "1.0.0 1700000000\n1.1.0 1700000100\n")
        ),
        "--tags",
        &format!(
            "docker.io/library/redis={}",
            t(
                "c",
                "7.2.3 1700000000\n7.2.4 1700000100\nlatest 1700000200\n"
            )
        ),
        "--tags",
        &format!("nginx={}", t("d", "1.25 1700000000\n1.27 1700000100\n")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(d.path(), "helm.yaml"),
        expected("helm.release-all.yaml")
    );
}

#[test]
fn repo_commits_and_pushes_like_fluxd() {
    let d = tempfile::tempdir().unwrap();
    let bare = d.path().join("fleet.git");
    git(d.path(), &["init", "-q", "--bare", "-b", "main", s(&bare)]);
    let work = d.path().join("work");
    git(d.path(), &["init", "-q", "-b", "main", s(&work)]);
    std::fs::create_dir_all(work.join("apps")).unwrap();
    std::fs::write(work.join("apps/web.yaml"), input("web.yaml")).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(&work, &["push", "-q", s(&bare), "main"]);

    let o = gitops(&[
        "v1",
        "lock",
        "prod:deployment/web",
        "apps",
        "--repo",
        s(&bare),
        "--user",
        "Jane <jane@example.com>",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pushed commit "), "{}", stdout(&o));
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%an <%ae>|%B", "main"]),
        "Jane <jane@example.com>|Updated workload policies\n\n- Locked: prod:deployment/web\n- Updated policies: prod:deployment/web"
    );
    let text = git(&bare, &["show", "main:apps/web.yaml"]);
    assert!(text.contains(
        "    fluxcd.io/locked: \"true\"\n    fluxcd.io/locked_user: \"Jane <jane@example.com>\""
    ));

    let o = gitops(&["v1", "automate", "prod:deployment/web", "--repo", s(&bare)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to change"), "{}", stdout(&o));
}

#[test]
fn gc_marks_and_prune_decisions() {
    let d = tempfile::tempdir().unwrap();
    let rendered = d.path().join("rendered.yaml");
    std::fs::write(
        &rendered,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\ndata:\n  a: \"1\"\n",
    )
    .unwrap();
    // Marks and checksum computed by hand (SHA-256/SHA-1, base64url).
    let cluster = d.path().join("cluster.yaml");
    std::fs::write(
        &cluster,
        "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: kept
    namespace: default
    labels: {flux.weave.works/sync-gc-mark: sha256.Ihfsvnm8zKjGIRxK-cmlabe7mPkEjq-yP4OUHbyAbnU}
    annotations: {flux.weave.works/sync-checksum: 9945f4c39eb6952887ee0a8fd85b3433c9d8c403}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: old
    namespace: default
    labels: {flux.weave.works/sync-gc-mark: sha256._gk8gs4-5CXrE35-GMDHtBbQBpFIKhi47kmyrZ9y7mI}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: copied
    namespace: default
    labels: {flux.weave.works/sync-gc-mark: sha256._gk8gs4-5CXrE35-GMDHtBbQBpFIKhi47kmyrZ9y7mI}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: manual, namespace: default}
",
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "v1",
            "gc",
            "--rendered",
            s(&rendered),
            "--cluster",
            s(&cluster),
            "--sync-set",
            "test-set",
        ];
        v.extend_from_slice(extra);
        gitops(&v)
    };
    let o = args(&["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
sync set test-set
delete default:configmap/old (marked by this sync set and no longer in it)
keep default:configmap/copied (marked by a different sync set)
keep default:configmap/kept (in the sync set)
keep default:configmap/manual (no sync-gc-mark label)
"
    );
    // Without --dry-run: what to pipe to `kubectl delete -f -`.
    let o = args(&["--inventory"]);
    assert_eq!(
        stdout(&o),
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: \"default\"\n  name: \"old\"\n"
    );
    assert!(stderr(&o).contains("inventory:\n  default_kept__ConfigMap v1\n"));

    let o = gitops(&[
        "v1",
        "mark",
        "--rendered",
        s(&rendered),
        "--sync-set",
        "test-set",
    ]);
    assert_eq!(
        stdout(&o),
        "---\napiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    flux.weave.works/sync-checksum: 9945f4c39eb6952887ee0a8fd85b3433c9d8c403\n  labels:\n    flux.weave.works/sync-gc-mark: sha256.Ihfsvnm8zKjGIRxK-cmlabe7mPkEjq-yP4OUHbyAbnU\n  name: kept\n  namespace: default\n"
    );
}

/// `images --registry` and `release --update-all-images --registry` ask a
/// real registry (Debian's docker-registry) for the tags.
#[test]
fn images_and_releases_from_a_registry() {
    let reg = crate::image::start_registry();
    crate::ssh::seed(&reg, "team/web", &["1.0.0", "1.1.0", "2.0.0"]);
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("web.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.app: semver:~1
spec:
  template:
    spec:
      containers:
      - name: app
        image: {}/team/web:1.0.0
",
            reg.host
        ),
    )
    .unwrap();
    let o = gitops(&["v1", "images", s(d.path()), "--registry"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("'-> 1.0.0"), "{text}");
    assert!(text.contains("1.1.0"), "{text}");
    let o = gitops(&[
        "v1",
        "release",
        s(d.path()),
        "-w",
        "prod:deployment/web",
        "--update-all-images",
        "--registry",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = read(d.path(), "web.yaml");
    assert!(
        after.contains(&format!("image: {}/team/web:1.1.0\n", reg.host)),
        "{after}"
    );
}
