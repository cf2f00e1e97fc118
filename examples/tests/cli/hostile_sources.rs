//! Hostile registries and repositories through the real binary: `image
//! scan`, `automate`, `source oci pull` and `source git` keep credentials
//! on the registry's host, refuse foreign pages, leave no partial tree, and
//! never let a remote superproject reach local repositories.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};

use super::hostile_http::{Answer, Hostile};
use super::{Daemon, git, stderr, stdout};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw-7d1e";

fn run(args: &[&str], docker_config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .env("DOCKER_CONFIG", docker_config)
        .env_remove("GITOPS_REGISTRY_PASSWORD")
        .output()
        .expect("the gitops binary runs")
}

/// A Docker config directory with `alice`'s password for `host`.
fn docker_config(dir: &Path, host: &str) -> std::path::PathBuf {
    let cfg = dir.join("docker");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    let auth = base64(format!("{USER}:{PASSWORD}").as_bytes());
    std::fs::write(
        cfg.join("config.json"),
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .expect("write");
    cfg
}

fn base64(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn no_secret(o: &Output) {
    for text in [stdout(o), stderr(o)] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(&base64(format!("{USER}:{PASSWORD}").as_bytes())));
    }
}

fn tags_json(tags: &[&str]) -> String {
    serde_json::json!({"name": "team/app", "tags": tags}).to_string()
}

/// `image scan` with Basic credentials for the registry: a plain-HTTP token
/// service on another host never receives them.
#[test]
fn image_scan_keeps_credentials_on_the_registry_host() {
    let token = Hostile::start(
        "127.0.0.2",
        Box::new(|_| Answer::new(200, r#"{"token":"t"}"#)),
    );
    let realm = format!("http://{}/token", token.host());
    let registry = Hostile::start(
        "127.0.0.1",
        Box::new(move |req| match req.authorization.as_deref() {
            Some("Bearer t") => Answer::new(200, tags_json(&["1.0.0"])),
            _ => Answer::new(401, "").header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{realm}",service="r",scope="repository:team/app:pull""#),
            ),
        }),
    );
    let t = tempfile::tempdir().expect("tempdir");
    let cfg = docker_config(t.path(), &registry.host());
    let o = run(
        &["image", "scan", &format!("{}/team/app", registry.host())],
        &cfg,
    );
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("refused to send the credentials for"),
        "{}",
        stderr(&o)
    );
    no_secret(&o);
    assert!(
        token.seen().iter().all(|s| s.authorization.is_none()),
        "{:?}",
        token.seen()
    );
}

/// A registry whose tag list links to a page on another host.
fn linking_registry(foreign: &Hostile) -> Hostile {
    let link = format!(
        "http://{}/v2/team/app/tags/list?n=2&last=1.2.1",
        foreign.host()
    );
    Hostile::start(
        "127.0.0.1",
        Box::new(move |_| {
            Answer::new(200, tags_json(&["1.2.0", "1.2.1"]))
                .header("Link", &format!(r#"<{link}>; rel="next""#))
        }),
    )
}

fn foreign() -> Hostile {
    Hostile::start(
        "127.0.0.2",
        Box::new(|_| Answer::new(200, tags_json(&["1.2.9-evil", "1.2.9"]))),
    )
}

/// `image scan` and `automate` never merge tags from a page on another
/// host: the listing fails and the automation pushes nothing.
#[test]
fn foreign_pages_never_reach_a_selection() {
    let foreign = foreign();
    let registry = linking_registry(&foreign);
    let host = registry.host();
    let t = tempfile::tempdir().expect("tempdir");
    let cfg = docker_config(t.path(), &host);
    let o = run(
        &[
            "image",
            "scan",
            &format!("{host}/team/app"),
            "--semver",
            "~1.2",
        ],
        &cfg,
    );
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("refused the next link"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("1.2.9"), "{}", stdout(&o));
    no_secret(&o);

    // The same registry behind an automation.
    let bare = t.path().join("fleet.git");
    git(
        t.path(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            bare.to_str().expect("utf8"),
        ],
    );
    let work = t.path().join("work");
    git(
        t.path(),
        &["init", "-q", "-b", "main", work.to_str().expect("utf8")],
    );
    std::fs::create_dir_all(work.join("apps")).expect("mkdir");
    std::fs::write(
        work.join("apps/image.yaml"),
        format!(
            "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec: {{image: {host}/team/app, interval: 5m}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec: {{imageRepositoryRef: {{name: app}}, policy: {{semver: {{range: '~1.2'}}}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 5m
  sourceRef: {{kind: GitRepository, name: flux-system}}
  git: {{commit: {{author: {{name: bot, email: bot@example.com}}}}}}
  update: {{path: ./apps}}
"
        ),
    )
    .expect("write");
    std::fs::write(
        work.join("apps/app.yaml"),
        format!("image: {host}/team/app:1.2.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"),
    )
    .expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(&work, &["push", "-q", bare.to_str().expect("utf8"), "main"]);
    let before = git(&bare, &["rev-parse", "main"]);
    let o = run(&["automate", "--repo", bare.to_str().expect("utf8")], &cfg);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("refused the next link"), "{all}");
    assert!(!all.contains("1.2.9"), "{all}");
    assert_eq!(git(&bare, &["rev-parse", "main"]), before);
    no_secret(&o);
    assert!(foreign.seen().is_empty(), "{:?}", foreign.seen());
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A Flux OCI artifact whose layer is `layer`, served by a plain HTTP
/// server on loopback.
fn artifact_registry(layer: Vec<u8>) -> Hostile {
    let config = b"{}".to_vec();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.cncf.flux.config.v1+json",
            "digest": sha256(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip",
            "digest": sha256(&layer),
            "size": layer.len(),
        }],
        "annotations": {
            "org.opencontainers.image.revision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
            "org.opencontainers.image.source": "https://example.com/fleet.git",
        },
    })
    .to_string();
    let (layer_digest, config_digest) = (sha256(&layer), sha256(&config));
    let manifest_digest = sha256(manifest.as_bytes());
    Hostile::start(
        "127.0.0.1",
        Box::new(move |req| {
            let t = req.target.as_str();
            if t.contains("/manifests/") {
                Answer::new(200, manifest.clone())
                    .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                    .header("Docker-Content-Digest", &manifest_digest)
            } else if t.ends_with(&layer_digest) {
                Answer::new(200, layer.clone())
            } else if t.ends_with(&config_digest) {
                Answer::new(200, config.clone())
            } else {
                Answer::new(404, "")
            }
        }),
    )
}

/// A tar.gz with good entries and then `name` (written by Python's tarfile,
/// which, unlike the tar crate, writes any name it is given).
fn layer_with(name: &str) -> Vec<u8> {
    let script = r"import io, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w:gz') as tar:
    for n, data in [('ok/a.yaml', b'a: 1\n'), ('ok/b.yaml', b'b: 2\n'), (sys.argv[1], b'evil\n')]:
        info = tarfile.TarInfo(n)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue())
";
    let out = Command::new("python3")
        .args(["-c", script, name])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A layer refused halfway (a `..` entry after good ones) leaves no
/// destination behind; a good layer from the same server lands.
#[test]
fn a_refused_oci_layer_leaves_no_partial_tree() {
    let t = tempfile::tempdir().expect("tempdir");
    let cfg = t.path().join("no-docker");
    let registry = artifact_registry(layer_with("../escape.yaml"));
    let dest = t.path().join("out");
    let url = format!("oci://{}/team/app", registry.host());
    let o = run(
        &[
            "source",
            "oci",
            "pull",
            &url,
            "--tag",
            "v1",
            "--dest",
            dest.to_str().expect("utf8"),
        ],
        &cfg,
    );
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(!dest.exists(), "partial tree left at {}", dest.display());
    let left: Vec<_> = std::fs::read_dir(t.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with("out")), "{left:?}");
    assert!(!t.path().join("escape.yaml").exists());

    let good = artifact_registry(layer_with("ok/c.yaml"));
    let url = format!("oci://{}/team/app", good.host());
    let o = run(
        &[
            "source",
            "oci",
            "pull",
            &url,
            "--tag",
            "v1",
            "--dest",
            dest.to_str().expect("utf8"),
        ],
        &cfg,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dest.join("ok/c.yaml")).expect("pulled"),
        "evil\n"
    );
}

/// `source git --recurse-submodules` of a repository served by `git
/// daemon` whose submodule URL is a local path: refused, no artifact.
#[test]
fn a_remote_superproject_cannot_reach_local_repositories() {
    let t = tempfile::tempdir().expect("tempdir");
    let srv = t.path().join("srv");
    std::fs::create_dir_all(&srv).expect("mkdir");
    // The local repository a hostile .gitmodules points at.
    let secret = t.path().join("secret");
    git(
        t.path(),
        &["init", "-q", "-b", "main", secret.to_str().expect("utf8")],
    );
    std::fs::write(secret.join("token.txt"), "outside-secret\n").expect("write");
    git(&secret, &["add", "-A"]);
    git(&secret, &["commit", "-q", "-m", "secret"]);
    let commit = git(&secret, &["rev-parse", "HEAD"]);
    // The superproject, served remotely.
    let work = t.path().join("work");
    git(
        t.path(),
        &["init", "-q", "-b", "main", work.to_str().expect("utf8")],
    );
    std::fs::write(work.join("app.yaml"), "app: 1\n").expect("write");
    let url = format!("file://{}", secret.display());
    git(
        &work,
        &[
            "config",
            "-f",
            ".gitmodules",
            "submodule.s.path",
            "vendor/s",
        ],
    );
    git(
        &work,
        &["config", "-f", ".gitmodules", "submodule.s.url", &url],
    );
    git(
        &work,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{commit},vendor/s"),
        ],
    );
    // Not `add -A`: it would drop the gitlink, which has no work tree.
    git(&work, &["add", "app.yaml", ".gitmodules"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    let bare = srv.join("super.git");
    git(
        t.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().expect("utf8"),
            bare.to_str().expect("utf8"),
        ],
    );
    let daemon = Daemon::start(&srv);
    let out = t.path().join("artifact.tar.gz");
    let o = run(
        &[
            "source",
            "git",
            &format!("git://127.0.0.1:{}/super.git", daemon.port),
            "--branch",
            "main",
            "--recurse-submodules",
            "--out",
            out.to_str().expect("utf8"),
        ],
        &t.path().join("no-docker"),
    );
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("a remote repository may not have local submodules"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}
