//! Deploy keys end to end against a real `sshd` on 127.0.0.1 (skipped with
//! one line where sshd cannot run, failing under `CI=true`):
//! `gitops create secret git` makes the key and the Secret, the public key
//! is authorized on the server, then `gitops source git` clones and
//! `gitops automate` commits and pushes with that Secret. A changed host
//! key and a key file others can read are refused, and nothing is written
//! or pushed.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::SystemTime;

use gitops_source::git::ssh::{KeyAlgorithm, KeyPair};
use gitops_source::oci::{self, Metadata, OciRef};
use gitops_source::registry::{self, Client, Keychain};

use crate::image::{Registry, start_registry};
use crate::{git, gitops, stderr, stdout};

// `sshd` finds `server` beside it.
use gitops_test_support::sshd;
use sshd::Sshd;

/// A bare repository `fleet.git` with an image policy and a workload using
/// `host/team/app:1.2.0`.
fn fleet(dir: &Path, host: &str) -> PathBuf {
    let bare = dir.join("srv/fleet.git");
    std::fs::create_dir_all(dir.join("srv")).unwrap();
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let work = dir.join("work");
    git(dir, &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    std::fs::create_dir_all(work.join("clusters")).unwrap();
    std::fs::create_dir_all(work.join("apps")).unwrap();
    std::fs::write(
        work.join("clusters/automation.yaml"),
        format!(
            "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec: {{image: {host}/team/app, interval: 5m}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy: {{semver: {{range: '~1.2'}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 5m
  sourceRef: {{kind: GitRepository, name: flux-system}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit:
      author: {{name: bot, email: bot@example.com}}
  update: {{path: ./apps}}
"
        ),
    )
    .unwrap();
    std::fs::write(
        work.join("apps/app.yaml"),
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: prod}}
spec:
  template:
    spec:
      containers:
      - name: app
        image: {host}/team/app:1.2.0 # {{\"$imagepolicy\": \"flux-system:app\"}}
"
        ),
    )
    .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

/// Push one small OCI artifact per tag of `repo`.
/// Push one small artifact per tag to `repo` on `reg`.
pub(crate) fn seed(reg: &Registry, repo: &str, tags: &[&str]) {
    let client = Client::new(Keychain::anonymous(), registry::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for tag in tags {
        std::fs::write(dir.path().join("t.txt"), tag).unwrap();
        let target = OciRef::parse(&format!("oci://{}/{repo}:{tag}", reg.host)).unwrap();
        let meta = Metadata::new("test", "main@sha1:0", SystemTime::UNIX_EPOCH);
        oci::push(&client, dir.path(), &target, &meta).unwrap();
    }
}

fn automate(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gitops"))
        .arg("automate")
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("the gitops binary runs")
}

/// A `stringData` value of a Secret as `gitops create secret git` prints
/// it: a literal block (`key: |`) or a single line.
fn string_data(yaml: &str, key: &str) -> String {
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.starts_with(&format!("  {key}:")));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {key} in\n{yaml}"));
    let rest = first[key.len() + 3..].trim();
    if rest == "|" {
        lines
            .take_while(|l| l.starts_with("    "))
            .map(|l| format!("{}\n", &l[4..]))
            .collect()
    } else {
        rest.trim_matches('\'').to_owned()
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn deploy_key_secret_clones_and_pushes_over_ssh() {
    let reg = start_registry();
    seed(&reg, "team/app", &["1.2.0", "1.2.5", "1.3.0"]);
    let dir = tempfile::tempdir().unwrap();
    let bare = fleet(dir.path(), &reg.host);
    let Some(sshd) = Sshd::start(dir.path(), "") else {
        return;
    };
    let url = sshd.url(&bare);
    let kh = dir.path().join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "# scanned\nother.example.com ssh-ed25519 AAAAC3Nz\n{}\n",
            sshd.known_hosts
        ),
    )
    .unwrap();

    // The Secret, as flux prints it: ECDSA P-384 in PKCS#8, one known host.
    let out = gitops(&[
        "create",
        "secret",
        "git",
        "flux-system",
        "--url",
        &url,
        "--known-hosts",
        kh.to_str().unwrap(),
        "--export",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert!(
        yaml.starts_with(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\n  \
             namespace: flux-system\nstringData:\n  identity: |\n    -----BEGIN PRIVATE KEY-----\n"
        ),
        "{yaml}"
    );
    assert!(yaml.ends_with("'\n\n"), "{yaml:?}");
    let public = string_data(&yaml, "identity.pub");
    assert!(public.starts_with("ecdsa-sha2-nistp384 AAAA"), "{public}");
    assert_eq!(string_data(&yaml, "known_hosts"), sshd.known_hosts);

    // Written to a file, readable by its owner only.
    let secret = dir.path().join("secret.yaml");
    let out = gitops(&[
        "create",
        "secret",
        "git",
        "flux-system",
        "--url",
        &url,
        "--known-hosts",
        kh.to_str().unwrap(),
        "--ssh-key-algorithm",
        "ed25519",
        "--output-file",
        secret.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&secret), 0o600);
    let yaml = std::fs::read_to_string(&secret).unwrap();
    let public = string_data(&yaml, "identity.pub");
    assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");
    // `gitops v1 identity` prints the deploy key of that Secret (fluxctl
    // identity), and its fingerprint with -l.
    let shown = gitops(&["v1", "identity", secret.to_str().unwrap()]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(stdout(&shown).trim_end(), public.trim_end());
    let fp = gitops(&["v1", "identity", "-l", secret.to_str().unwrap()]);
    assert!(fp.status.success(), "{}", stderr(&fp));
    assert!(stdout(&fp).contains("SHA256:"), "{}", stdout(&fp));
    sshd.authorize(&public);

    // Clone.
    let artifact = dir.path().join("artifact.tar.gz");
    let out = gitops(&[
        "source",
        "git",
        &url,
        "--branch",
        "main",
        "--secret-file",
        secret.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}\nsshd log:\n{}",
        stderr(&out),
        sshd.log()
    );
    let head = git(&bare, &["rev-parse", "main"]);
    assert!(stdout(&out).contains(&head), "{}", stdout(&out));
    assert!(artifact.is_file());

    // Commit and push.
    let out = automate(&[
        "--repo",
        &url,
        "--git-secret-file",
        secret.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\nsshd log:\n{}",
        stderr(&out),
        sshd.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"]["status"], "pushed", "{report}");
    let pushed = git(&bare, &["rev-parse", "main"]);
    assert_ne!(pushed, head);
    assert_eq!(report["outcome"]["commit"], pushed.as_str());
    assert!(
        git(&bare, &["show", "main:apps/app.yaml"]).contains("/team/app:1.2.5 #"),
        "{}",
        git(&bare, &["show", "main:apps/app.yaml"])
    );

    // The same key as files.
    let identity = dir.path().join("identity");
    std::fs::write(&identity, string_data(&yaml, "identity")).unwrap();
    std::fs::set_permissions(
        &identity,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let out = gitops(&[
        "source",
        "git",
        &url,
        "--branch",
        "main",
        "--identity",
        identity.to_str().unwrap(),
        "--known-hosts",
        kh.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&pushed), "{}", stdout(&out));
}

#[test]
fn a_changed_host_key_or_an_open_key_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bare = fleet(dir.path(), "127.0.0.1:1");
    let head = git(&bare, &["rev-parse", "main"]);

    // A key file others can read: refused before any connection.
    let ok_hosts = dir.path().join("known_hosts");
    std::fs::write(&ok_hosts, "[127.0.0.1]:1 ssh-ed25519 AAAAC3Nz\n").unwrap();
    let secret = dir.path().join("secret.yaml");
    let out = gitops(&[
        "create",
        "secret",
        "git",
        "a",
        "--url",
        "ssh://root@127.0.0.1:1/r.git",
        "--known-hosts",
        ok_hosts.to_str().unwrap(),
        "--ssh-key-algorithm",
        "ed25519",
        "--output-file",
        secret.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(&secret).unwrap();
    let identity = dir.path().join("identity");
    std::fs::write(&identity, string_data(&yaml, "identity")).unwrap();
    std::fs::set_permissions(
        &identity,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let artifact = dir.path().join("artifact.tar.gz");
    let open_key = format!(
        "{}: private key permissions 0644 are too open; it must be accessible by its owner only (chmod 600)",
        identity.display()
    );
    let out = gitops(&[
        "source",
        "git",
        &format!("ssh://root@127.0.0.1:1{}", bare.display()),
        "--branch",
        "main",
        "--identity",
        identity.to_str().unwrap(),
        "--known-hosts",
        ok_hosts.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&open_key), "{}", stderr(&out));
    assert!(!artifact.exists());
    let out = automate(&[
        "--repo",
        &format!("ssh://root@127.0.0.1:1{}", bare.display()),
        "--git-identity",
        identity.to_str().unwrap(),
        "--git-known-hosts",
        ok_hosts.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains(&open_key), "{}", stderr(&out));

    // known_hosts with another key for the server.
    let public = string_data(&yaml, "identity.pub");
    let Some(sshd) = Sshd::start(dir.path(), &public) else {
        return;
    };
    let url = sshd.url(&bare);
    let wrong = dir.path().join("wrong_hosts");
    let other = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
    std::fs::write(
        &wrong,
        format!("[127.0.0.1]:{} {}", sshd.port, other.public_key()),
    )
    .unwrap();
    let bad = dir.path().join("bad-secret.yaml");
    let out = gitops(&[
        "create",
        "secret",
        "git",
        "a",
        "--url",
        &url,
        "--known-hosts",
        wrong.to_str().unwrap(),
        "--private-key-file",
        identity.to_str().unwrap(),
        "--output-file",
        bad.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let refused = format!("host key verification failed for {url}");
    let out = gitops(&[
        "source",
        "git",
        &url,
        "--branch",
        "main",
        "--secret-file",
        bad.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&refused), "{}", stderr(&out));
    assert!(!artifact.exists());
    let out = automate(&["--repo", &url, "--git-secret-file", bad.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("host key verification failed for ssh://")
            && stderr(&out).contains("the server's host key does not match known_hosts"),
        "{}",
        stderr(&out)
    );
    assert_eq!(git(&bare, &["rev-parse", "main"]), head, "nothing pushed");
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());
}
