//! `gitops automate` against a real `git daemon` and a real `docker-registry`
//! on 127.0.0.1, with a local webhook receiver for notifications.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use gitops_source::oci::{self, Metadata, OciRef};
use gitops_source::registry::{self, Client, Keychain};
use sha2::Digest as _;

use crate::image::{Registry, start_registry};
use crate::{Daemon, git, stderr, stdout};

use gitops_test_support::free_port;

/// Push one small OCI artifact per tag of `repo`.
fn seed(reg: &Registry, repo: &str, tags: &[&str]) {
    let client = Client::new(Keychain::anonymous(), registry::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for tag in tags {
        std::fs::write(dir.path().join("t.txt"), tag).unwrap();
        let target = OciRef::parse(&format!("oci://{}/{repo}:{tag}", reg.host)).unwrap();
        let meta = Metadata::new("test", "main@sha1:0", SystemTime::UNIX_EPOCH);
        oci::push(&client, dir.path(), &target, &meta).unwrap();
    }
}

struct Fleet {
    dir: tempfile::TempDir,
    bare: PathBuf,
    daemon: Daemon,
}

impl Fleet {
    fn url(&self) -> String {
        format!("git://127.0.0.1:{}/fleet.git", self.daemon.port)
    }

    fn head(&self) -> String {
        git(&self.bare, &["rev-parse", "main"])
    }

    fn show(&self, path: &str) -> String {
        git(&self.bare, &["show", &format!("main:{path}")])
    }
}

fn automation(host: &str) -> String {
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
      messageTemplate: '{{{{ automation_object }}}}: {{% for c in changed.changes %}}{{{{ c.new_value }}}}{{% endfor %}}'
  update: {{path: ./apps}}
"
    )
}

fn app(host: &str) -> String {
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
    )
}

fn fleet(host: &str) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let srv = dir.path().join("srv");
    std::fs::create_dir_all(&srv).unwrap();
    let bare = srv.join("fleet.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let work = dir.path().join("work");
    git(
        dir.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    std::fs::create_dir_all(work.join("clusters")).unwrap();
    std::fs::create_dir_all(work.join("apps")).unwrap();
    std::fs::write(work.join("clusters/automation.yaml"), automation(host)).unwrap();
    std::fs::write(work.join("apps/app.yaml"), app(host)).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let daemon = Daemon::start(&srv);
    Fleet { dir, bare, daemon }
}

fn automate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitops"))
        .arg("automate")
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("the gitops binary runs")
}

/// One HTTP request received by a one-shot receiver.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Accept one request on 127.0.0.1, answer 200, send it back on the channel.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut s = stream;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = tx.send(Received { headers, body });
    });
    (format!("http://{addr}/hook"), rx)
}

/// HMAC-SHA256 written out from RFC 2104, independent of the crate under test.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = sha2::Sha256::digest([ipad.as_slice(), msg].concat());
    hex::encode(sha2::Sha256::digest(
        [opad.as_slice(), inner.as_slice()].concat(),
    ))
}

#[test]
fn updates_a_repository_then_is_a_no_op() {
    let reg = start_registry();
    seed(&reg, "team/app", &["1.2.0", "1.2.5", "1.3.0", "1.2.9-rc.1"]);
    let fleet = fleet(&reg.host);
    let url = fleet.url();
    let before = fleet.head();

    // Dry run: exit 2, the diff, nothing pushed.
    let out = automate(&["--repo", &url, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "-        image: {h}/team/app:1.2.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n+        image: {h}/team/app:1.2.5 # {{",
            h = reg.host
        )),
        "{text}"
    );
    assert!(
        text.contains("policy flux-system:app: 1.2.0 -> 1.2.5 (apps/app.yaml)"),
        "{text}"
    );
    assert_eq!(fleet.head(), before);
    assert!(
        stderr(&out).contains("gitops: [1/1] listing tags of"),
        "{}",
        stderr(&out)
    );

    // For real, with a signed notification.
    let (hook, events) = receiver();
    let key = fleet.dir.path().join("hmac.key");
    std::fs::write(&key, "s3cret-hmac-key\n").unwrap();
    let out = automate(&[
        "--repo",
        &url,
        "-o",
        "json",
        "--notify",
        &hook,
        "--hmac-key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let head = fleet.head();
    assert_ne!(head, before);
    assert_eq!(report["outcome"]["status"], "pushed");
    assert_eq!(report["outcome"]["commit"], head.as_str());
    assert_eq!(report["outcome"]["branch"], "main");
    assert_eq!(report["policies"][0]["previous"][0], "1.2.0");
    assert_eq!(report["policies"][0]["tag"], "1.2.5");
    assert_eq!(report["files_changed"][0], "apps/app.yaml");
    assert_eq!(
        fleet.show("apps/app.yaml"),
        app(&reg.host).replace("app:1.2.0", "app:1.2.5").trim_end()
    );
    assert_eq!(
        git(
            &fleet.bare,
            &["log", "-1", "--format=%an <%ae>%n%B", "main"]
        ),
        format!(
            "bot <bot@example.com>\nflux-system/apps: {}/team/app:1.2.5",
            reg.host
        )
    );
    let ev = events
        .recv_timeout(Duration::from_secs(10))
        .expect("one event posted");
    let sig = ev
        .headers
        .iter()
        .find(|(k, _)| k == "x-signature")
        .map(|(_, v)| v.clone())
        .expect("X-Signature header");
    assert_eq!(
        sig,
        format!("sha256={}", hmac_sha256(b"s3cret-hmac-key", &ev.body))
    );
    assert!(
        ev.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(
        body["involvedObject"],
        serde_json::json!({"kind": "ImageUpdateAutomation", "namespace": "flux-system", "name": "apps", "apiVersion": "image.toolkit.fluxcd.io/v1beta2"})
    );
    assert_eq!(body["severity"], "info");
    assert_eq!(body["reason"], "Succeeded");
    assert_eq!(body["reportingController"], "image-automation-controller");
    assert_eq!(body["metadata"]["revision"], format!("main@sha1:{head}"));
    assert_eq!(
        body["message"],
        format!(
            "pushed commit '{}' to branch 'main'\nflux-system/apps: {}/team/app:1.2.5",
            &head[..7],
            reg.host
        )
    );
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    // Second run: nothing to do, no commit, exit 0.
    let out = automate(&["--repo", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(": nothing to commit"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fleet.head(), head);
    let out = automate(&["--repo", &url, "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn failures_exit_1_and_never_show_credentials() {
    let reg = start_registry();
    seed(&reg, "team/app", &["1.2.0"]);
    let fleet = fleet(&reg.host);
    let dir = fleet.dir.path();

    // Credentials in the Git URL: the error names the remote without them.
    let bad = format!(
        "git://robot:gitpa55word@127.0.0.1:{}/missing.git",
        fleet.daemon.port
    );
    let out = automate(&["--repo", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.lines()
            .any(|l| l.starts_with("error: ") && l.contains("missing.git")),
        "{all}"
    );
    for secret in ["gitpa55word", "robot"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }

    // Registry credentials from config.json; the policy's registry is down.
    let config = dir.join("docker.json");
    let down = format!("127.0.0.1:{}", free_port());
    let auth = base64_encode(b"reguser:regpa55word");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{down}": {{"auth": "{auth}"}}, "{}": {{"auth": "{auth}"}}}}}}"#,
            reg.host
        ),
    )
    .unwrap();
    let given = dir.join("automation.yaml");
    std::fs::write(&given, automation(&down)).unwrap();
    let (hook, events) = receiver();
    let out = automate(&[
        "--repo",
        &fleet.url(),
        "--automation",
        given.to_str().unwrap(),
        "--registry-config",
        config.to_str().unwrap(),
        "--notify",
        &hook,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("policy flux-system:app: error: cannot list tags of"),
        "{all}"
    );
    assert!(
        all.contains("error: 1 image policy could not select a tag"),
        "{all}"
    );
    assert!(all.contains(": nothing to commit"), "{all}");
    for secret in ["regpa55word", auth.as_str()] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    // Nothing was pushed, so no event was sent.
    assert!(events.recv_timeout(Duration::from_millis(300)).is_err());

    // A Go template fails before anything is pushed, and the failure is notified.
    let head = fleet.head();
    let go = automation(&reg.host).replace(
        "messageTemplate: '{{ automation_object }}: {% for c in changed.changes %}{{ c.new_value }}{% endfor %}'",
        "messageTemplate: 'Update {{ range .Changed.Changes }}{{ .NewValue }}{{ end }}'",
    );
    std::fs::write(&given, go).unwrap();
    let (hook, events) = receiver();
    let out = automate(&[
        "--repo",
        &fleet.url(),
        "--automation",
        given.to_str().unwrap(),
        "--notify",
        &hook,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Go template syntax \"{{ range .Changed.Changes }}\" is not supported"),
        "{err}"
    );
    assert_eq!(fleet.head(), head);
    let ev = events
        .recv_timeout(Duration::from_secs(10))
        .expect("error event");
    assert!(!ev.headers.iter().any(|(k, _)| k == "x-signature"));
    let body: serde_json::Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(body["severity"], "error");
    assert_eq!(body["reason"], "RemovedTemplateField");
    assert_eq!(body["involvedObject"]["name"], "apps");
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}
