//! `gitops image scan` against a real CNCF distribution registry
//! (`docker-registry`, Debian) started on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::ServerProcess;
use crate::{gitops, stderr, stdout};

/// A registry stopped on drop.
pub struct Registry {
    _server: ServerProcess,
    /// `127.0.0.1:<port>`.
    pub host: String,
    _dir: tempfile::TempDir,
}

/// Start `docker-registry` on a free loopback port.
pub fn start_registry() -> Registry {
    let bin = ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .unwrap_or_else(|| {
            panic!("docker-registry not found: install the Debian package docker-registry")
        });
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("config.yml");
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    let server = ServerProcess::spawn(Command::new(bin).arg("serve").arg(&cfg))
        .expect("docker-registry starts");
    let host = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while TcpStream::connect(&host).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "registry did not start"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    Registry {
        _server: server,
        host,
        _dir: dir,
    }
}

/// One HTTP/1.1 request; returns (status, headers text).
fn call(host: &str, method: &str, target: &str, ctype: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(host).expect("connect");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, resp)
}

/// `sha256:` of `{}`.
const EMPTY_CONFIG: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// Push one manifest under `tags`; returns its digest (from the registry).
fn seed(reg: &Registry, repo: &str, tags: &[&str]) -> String {
    let (st, head) = call(
        &reg.host,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        "application/octet-stream",
        b"",
    );
    assert_eq!(st, 202, "start blob upload: {head}");
    let location = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("location:")
                .then(|| l.split_once(':').map(|x| x.1.trim().to_owned()))
                .flatten()
        })
        .expect("location header");
    let path = &location[location.find("/v2/").expect("a /v2/ path")..];
    let sep = if path.contains('?') { '&' } else { '?' };
    let (st, head) = call(
        &reg.host,
        "PUT",
        &format!("{path}{sep}digest={EMPTY_CONFIG}"),
        "application/octet-stream",
        b"{}",
    );
    assert_eq!(st, 201, "finish blob upload: {head}");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{EMPTY_CONFIG}","size":2}},"layers":[]}}"#
    );
    let mut digest = String::new();
    for tag in tags {
        let (st, head) = call(
            &reg.host,
            "PUT",
            &format!("/v2/{repo}/manifests/{tag}"),
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        );
        assert_eq!(st, 201, "put manifest: {head}");
        digest = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("docker-content-digest:")
                    .then(|| l.split_once(':').map(|x| x.1.trim().to_owned()))
                    .flatten()
            })
            .expect("digest header");
    }
    digest
}

#[test]
fn scan_lists_selects_explains_and_reflects_digests() {
    let reg = start_registry();
    let digest = seed(
        &reg,
        "team/app",
        &["1.0.0", "1.1.0", "2.0.0-rc.1", "sha256-abc.sig", "latest"],
    );
    let image = format!("{}/team/app", reg.host);

    let o = gitops(&["image", "scan", &image]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut tags: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.1.0", "2.0.0-rc.1", "latest"]);

    let o = gitops(&["image", "scan", &image, "--semver", ">=1.0.0 <2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{image}:1.1.0\n"));

    let o = gitops(&["image", "scan", &image, "--semver", ">=1.0.0-0", "--digest"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{image}:2.0.0-rc.1@{digest}\n"));

    let o = gitops(&["image", "scan", &image, "--semver", "~1.0", "--explain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1.0.0"), "{}", stdout(&o));

    let o = gitops(&["image", "scan", &image, "--exclude", "^1\\.", "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(doc["lastScanResult"]["tagCount"], 3, "{doc}");
    assert_eq!(doc["excluded"], 2);

    // --no-exclusions keeps the signature tag the default list drops.
    let o = gitops(&["image", "scan", &image, "--no-exclusions"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|t| t == "sha256-abc.sig"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn scan_errors_are_clear() {
    let reg = start_registry();
    let o = gitops(&["image", "scan", &format!("{}/nope/app", reg.host)]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("cannot scan") && err.contains("not found"),
        "{err}"
    );

    seed(&reg, "team/app", &["1.0.0"]);
    let o = gitops(&[
        "image",
        "scan",
        &format!("{}/team/app", reg.host),
        "--semver",
        ">=5",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no tag of"), "{}", stderr(&o));
}
