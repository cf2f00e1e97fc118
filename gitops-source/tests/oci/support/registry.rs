//! CNCF distribution (`docker-registry`, Debian) on a free loopback port,
//! a fault-injecting proxy in front of it, and seeding helpers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;

use super::http::{self, Request, Response, Server};
use super::server::ServerProcess;
use super::{free_port, require_binary, wait_for_port};

/// A running registry; stopped on drop.
pub struct Registry {
    _server: ServerProcess,
    pub port: u16,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Anonymous registry.
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// Registry with htpasswd auth for `(user, password)`.
    pub fn start_with(user: Option<(&str, &str)>) -> Registry {
        let bin = require_binary(
            &["/usr/bin/docker-registry", "docker-registry", "registry"],
            "the Debian package docker-registry (apt-get install -y docker-registry)",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        let port = free_port();
        let auth = match user {
            Some((u, p)) => {
                let hash = bcrypt::hash(p, 4).expect("bcrypt");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{u}:{hash}\n")).expect("htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n{auth}",
            root.display()
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, config).expect("config");
        let server = ServerProcess::spawn(Command::new(bin).arg("serve").arg(&cfg_path))
            .expect("docker-registry starts");
        wait_for_port(
            &format!("127.0.0.1:{port}"),
            Duration::from_secs(15),
            "docker-registry",
        );
        Registry {
            _server: server,
            port,
            root,
            _dir: dir,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Point `count` generated tags (`prefix<i>`) at an already pushed
    /// manifest by writing distribution's filesystem layout directly: far
    /// faster than thousands of PUTs, and what the registry itself writes.
    pub fn seed_tags_on_disk(&self, repo: &str, digest: &str, tags: &[String]) {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        let base = self
            .root
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags");
        for tag in tags {
            let t = base.join(tag);
            std::fs::create_dir_all(t.join("current")).expect("mkdir");
            std::fs::create_dir_all(t.join("index/sha256").join(hex)).expect("mkdir");
            std::fs::write(t.join("current/link"), digest).expect("link");
            std::fs::write(t.join("index/sha256").join(hex).join("link"), digest).expect("link");
        }
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Minimal blocking registry API client for seeding (no auth unless given).
pub struct Seeder {
    pub host: String,
    pub auth: Option<String>,
}

impl Seeder {
    pub fn new(host: &str) -> Seeder {
        Seeder {
            host: host.to_owned(),
            auth: None,
        }
    }

    pub fn with_basic(mut self, user: &str, pass: &str) -> Seeder {
        self.auth = Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        ));
        self
    }

    fn call(&self, method: &str, target: &str, ctype: Option<&str>, body: &[u8]) -> Response {
        let mut headers = vec![("Host".to_owned(), self.host.clone())];
        if let Some(c) = ctype {
            headers.push(("Content-Type".to_owned(), c.to_owned()));
        }
        if let Some(a) = &self.auth {
            headers.push(("Authorization".to_owned(), a.clone()));
        }
        http::forward(
            &self.host,
            &Request {
                method: method.to_owned(),
                target: target.to_owned(),
                headers,
                body: body.to_vec(),
            },
        )
    }

    /// Upload a blob; returns its digest.
    pub fn blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let r = self.call("POST", &format!("/v2/{repo}/blobs/uploads/"), None, b"");
        assert_eq!(
            r.status,
            202,
            "start upload: {}",
            String::from_utf8_lossy(&r.body)
        );
        let loc = r.get_header("location").expect("location").to_owned();
        let path = match loc.find("/v2/") {
            Some(i) => &loc[i..],
            None => loc.as_str(),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self.call(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            Some("application/octet-stream"),
            data,
        );
        assert_eq!(
            r.status,
            201,
            "finish upload: {}",
            String::from_utf8_lossy(&r.body)
        );
        digest
    }

    /// Store a manifest under `reference`; returns its digest.
    pub fn manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> String {
        let r = self.call(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            Some(media_type),
            body,
        );
        assert_eq!(
            r.status,
            201,
            "put manifest: {}",
            String::from_utf8_lossy(&r.body)
        );
        sha256(body)
    }

    /// Push a small single-platform image (config with `created`).
    pub fn image(&self, repo: &str, tag: &str, created: &str, arch: &str) -> String {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","created":"{created}","rootfs":{{"type":"layers","diff_ids":[]}},"config":{{}}}}"#
        );
        let cfg_digest = self.blob(repo, config.as_bytes());
        let layer = format!("layer of {repo}:{tag}:{arch}").into_bytes();
        let layer_digest = self.blob(repo, &layer);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cfg_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        );
        self.manifest(
            repo,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
    }

    /// Push a multi-arch index of two images (arm64 first, then amd64).
    pub fn index(&self, repo: &str, tag: &str) -> (String, String, String) {
        let arm = self.image(repo, "arm64-only", "2024-01-01T00:00:00Z", "arm64");
        let amd = self.image(repo, "amd64-only", "2024-02-01T00:00:00Z", "amd64");
        let entry = |d: &str, arch: &str| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":1,"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
            )
        };
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{},{}]}}"#,
            entry(&arm, "arm64"),
            entry(&amd, "amd64")
        );
        let d = self.manifest(
            repo,
            tag,
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
        );
        (d, arm, amd)
    }
}

/// What the proxy does to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` seconds) without forwarding.
    Status(u16, Option<u64>),
    /// Forward, then send only half of the body.
    Truncate,
    /// Forward, then flip the last body byte.
    Corrupt,
    /// Forward after sleeping.
    Delay(Duration),
}

/// One rule: requests whose target contains `needle` get `fault`, `times`
/// times (`usize::MAX` = always).
#[derive(Debug, Clone)]
pub struct Rule {
    pub needle: String,
    pub fault: Fault,
    pub times: usize,
}

/// Bearer auth the proxy enforces: tokens come from `/token` for `user:pass`.
#[derive(Debug, Clone)]
pub struct BearerAuth {
    pub user: String,
    pub pass: String,
}

/// How the proxy pages tag lists. CNCF distribution 2.8 ignores `n` and
/// `last` and answers every tag at once, so the proxy pages the way
/// distribution 3, GHCR and Docker Hub do: sorted, `n` capped at `max`,
/// tags after `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Pass tag lists through unchanged.
    Off,
    /// Page with a `Link: <…>; rel="next"` header when more tags remain.
    Link { max: usize },
    /// Cap pages at `max` silently (no `Link`), like registries that cap `n`.
    Silent { max: usize },
}

/// A fault-injecting proxy in front of `upstream`.
pub struct Proxy {
    pub server: Server,
    pub rules: Arc<Mutex<Vec<Rule>>>,
    pub paging: Arc<Mutex<Paging>>,
}

fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Full upstream tag lists per path, so paging does not re-list (a
/// distribution listing of thousands of tags takes about a second).
type ListCache = Arc<Mutex<std::collections::HashMap<String, serde_json::Value>>>;

/// Serve one page of the upstream's full tag list.
fn paged(upstream: &str, req: &Request, paging: Paging, cache: &ListCache) -> Response {
    let (max, link) = match paging {
        Paging::Off => return http::forward(upstream, req),
        Paging::Link { max } => (max, true),
        Paging::Silent { max } => (max, false),
    };
    let cached = cache.lock().expect("cache").get(req.path()).cloned();
    let doc = match cached {
        Some(doc) => doc,
        None => {
            let mut whole = req.clone();
            whole.target = req.path().to_owned();
            let resp = http::forward(upstream, &whole);
            if resp.status != 200 {
                return resp;
            }
            let doc: serde_json::Value = serde_json::from_slice(&resp.body).expect("tag list JSON");
            cache
                .lock()
                .expect("cache")
                .insert(req.path().to_owned(), doc.clone());
            doc
        }
    };
    let mut tags: Vec<String> = doc["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let n = query_param(&req.target, "n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(max)
        .min(max);
    let start = match query_param(&req.target, "last") {
        Some(last) => tags.partition_point(|t| t.as_str() <= last),
        None => 0,
    };
    let end = (start + n).min(tags.len());
    let page = &tags[start..end];
    let body = serde_json::json!({"name": doc["name"], "tags": page}).to_string();
    let mut out = Response::new(200, body).header("Content-Type", "application/json");
    if link && end < tags.len() {
        let last = &tags[end - 1];
        out = out.header(
            "Link",
            &format!("<{}?last={last}&n={n}>; rel=\"next\"", req.path()),
        );
    }
    out
}

const TOKEN: &str = "test-token-5f1c";

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        Proxy::start_with(upstream, None)
    }

    pub fn start_with(upstream: &str, bearer: Option<BearerAuth>) -> Proxy {
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::new(Mutex::new(Vec::new()));
        let paging = Arc::new(Mutex::new(Paging::Link { max: 1000 }));
        let upstream = upstream.to_owned();
        let r2 = rules.clone();
        let p2 = paging.clone();
        let cache: ListCache = Arc::default();
        let port_cell: Arc<Mutex<u16>> = Arc::new(Mutex::new(0));
        let pc = port_cell.clone();
        let handler: http::Handler = Arc::new(move |req: &Request| {
            if let Some(b) = &bearer {
                let port = *pc.lock().expect("port");
                if req.path() == "/token" {
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{}:{}", b.user, b.pass))
                    );
                    return if req.header("authorization") == Some(expected.as_str()) {
                        Response::new(200, format!(r#"{{"token":"{TOKEN}"}}"#))
                    } else {
                        Response::new(401, r#"{"details":"bad credentials"}"#)
                    };
                }
                if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                    return Response::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).header(
                        "WWW-Authenticate",
                        &format!(
                            r#"Bearer realm="http://127.0.0.1:{port}/token",service="test-registry",scope="repository:x:pull""#
                        ),
                    );
                }
            }
            let fault = {
                let mut rules = r2.lock().expect("rules");
                let mut hit = None;
                for rule in rules.iter_mut() {
                    if rule.times > 0 && req.target.contains(&rule.needle) {
                        if rule.times != usize::MAX {
                            rule.times -= 1;
                        }
                        hit = Some(rule.fault.clone());
                        break;
                    }
                }
                hit
            };
            let mode = *p2.lock().expect("paging");
            let fetch = |req: &Request| {
                if req.path().ends_with("/tags/list") {
                    paged(&upstream, req, mode, &cache)
                } else {
                    http::forward(&upstream, req)
                }
            };
            match fault {
                Some(Fault::Status(code, retry_after)) => {
                    let mut r = Response::new(code, r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#);
                    if let Some(s) = retry_after {
                        r = r.header("Retry-After", &s.to_string());
                    }
                    r
                }
                Some(Fault::Truncate) => {
                    let mut r = fetch(req);
                    r.truncate_to = Some(r.body.len() / 2);
                    r
                }
                Some(Fault::Corrupt) => {
                    let mut r = fetch(req);
                    if let Some(b) = r.body.last_mut() {
                        *b ^= 0xff;
                    }
                    r
                }
                Some(Fault::Delay(d)) => {
                    let mut r = fetch(req);
                    r.delay = Some(d);
                    r
                }
                None => fetch(req),
            }
        });
        let server = Server::start(handler);
        *port_cell.lock().expect("port") = server.port;
        Proxy {
            server,
            rules,
            paging,
        }
    }

    pub fn set_paging(&self, paging: Paging) {
        *self.paging.lock().expect("paging") = paging;
    }

    pub fn add(&self, needle: &str, fault: Fault, times: usize) {
        self.rules.lock().expect("rules").push(Rule {
            needle: needle.to_owned(),
            fault,
            times,
        });
    }

    pub fn clear(&self) {
        self.rules.lock().expect("rules").clear();
        self.server.clear_log();
    }

    pub fn host(&self) -> String {
        self.server.addr()
    }
}

/// Write a Docker config.json with basic credentials for `host`.
pub fn docker_config(dir: &Path, host: &str, user: &str, pass: &str) -> PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let p = dir.join("config.json");
    std::fs::write(
        &p,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("write");
    p
}
