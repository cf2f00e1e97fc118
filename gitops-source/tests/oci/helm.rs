//! Helm repositories over a static HTTP server, and OCI charts.

use std::time::Duration;

use base64::Engine as _;
use gitops_source::helm::{self, Error, HELM_CHART_MEDIA_TYPE, MAX_INDEX_SIZE};
use gitops_source::registry::{Client, Credentials, Keychain, Options};

use crate::support::http::{Server, static_files};
use crate::support::registry::{Registry, Seeder, sha256};

fn client(keychain: Keychain) -> Client {
    Client::new(
        keychain,
        Options::default().with_retries(1, Duration::from_millis(5), Duration::from_millis(5)),
    )
    .expect("client")
}

fn hex_of(bytes: &[u8]) -> String {
    sha256(bytes).trim_start_matches("sha256:").to_owned()
}

struct Repo {
    _dir: tempfile::TempDir,
    server: Server,
    cdn: Server,
}

/// A repository under `/charts` whose index points at a relative URL, an
/// absolute URL on another host, and a chart with a wrong digest.
fn repo(basic: Option<(&str, &str)>) -> Repo {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("www");
    let cdn_root = dir.path().join("cdn");
    std::fs::create_dir_all(root.join("charts")).expect("mkdir");
    std::fs::create_dir_all(&cdn_root).expect("mkdir");
    let chart = |v: &str| format!("chart app {v}").into_bytes();
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1", "1.2.0"] {
        std::fs::write(root.join(format!("charts/app-{v}.tgz")), chart(v)).expect("write");
    }
    std::fs::write(cdn_root.join("app-0.9.0.tgz"), chart("0.9.0")).expect("write");
    let cdn = Server::start(static_files(cdn_root, None));
    let header = basic.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    let server = Server::start(static_files(root.clone(), header));
    let entry = |v: &str, url: &str, digest: &str| {
        format!("    - {{name: app, version: {v}, urls: ['{url}'], digest: {digest}}}\n")
    };
    let mut index = String::from("apiVersion: v1\nentries:\n  app:\n");
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        index.push_str(&entry(v, &format!("app-{v}.tgz"), &hex_of(&chart(v))));
    }
    index.push_str(&entry("1.2.0", "app-1.2.0.tgz", &hex_of(b"something else")));
    index.push_str(&entry(
        "0.9.0",
        &format!("{}/app-0.9.0.tgz", cdn.url()),
        &hex_of(&chart("0.9.0")),
    ));
    index.push_str("generated: '2024-01-01T00:00:00Z'\n");
    std::fs::write(root.join("charts/index.yaml"), index).expect("write");
    Repo {
        _dir: dir,
        server,
        cdn,
    }
}

#[test]
fn index_selection_download_and_digest_verification() {
    let r = repo(None);
    let c = client(Keychain::anonymous());
    let url = format!("{}/charts", r.server.url());
    let index = helm::fetch_index(&c, &url).expect("index");
    assert_eq!(index.versions("app").len(), 5);
    // `*` excludes the prerelease; 1.2.0 is the highest release.
    assert_eq!(index.get("app", "*").expect("*").version, "1.2.0");
    let chart = helm::fetch_chart(&c, &url, "app", "~1.1").expect("chart");
    assert_eq!(chart.version, "1.1.0");
    assert_eq!(chart.bytes, b"chart app 1.1.0");
    assert_eq!(chart.url, format!("{url}/app-1.1.0.tgz"));
    let pre = helm::fetch_chart(&c, &url, "app", ">=2.0.0-0").expect("prerelease");
    assert_eq!(pre.version, "2.0.0-rc.1");
    // Absolute URL on another host.
    let abs = helm::fetch_chart(&c, &url, "app", "0.9.0").expect("absolute");
    assert_eq!(abs.url, format!("{}/app-0.9.0.tgz", r.cdn.url()));
    // Wrong digest in the index.
    let err = helm::fetch_chart(&c, &url, "app", "1.2.0").unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("chart {url}/app-1.2.0.tgz: digest mismatch")),
        "{err}"
    );
    let err = helm::fetch_chart(&c, &url, "nope", "*").unwrap_err();
    assert_eq!(
        err.to_string(),
        "chart \"nope\" not found in the repository index"
    );
    let err = helm::fetch_index(&c, &format!("{}/missing", r.server.url())).unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
}

#[test]
fn basic_auth_stays_on_the_repository_host() {
    let r = repo(Some(("helm", "pw")));
    let url = format!("{}/charts", r.server.url());
    let err = helm::fetch_index(&client(Keychain::anonymous()), &url).unwrap_err();
    assert!(
        err.to_string().contains("cannot fetch") || matches!(err, Error::Status { .. }),
        "{err:?}"
    );
    let keychain = Keychain::anonymous().with(&r.server.addr(), Credentials::basic("helm", "pw"));
    let c = client(keychain);
    assert_eq!(
        helm::fetch_chart(&c, &url, "app", "1.0.0")
            .expect("chart")
            .bytes,
        b"chart app 1.0.0"
    );
    helm::fetch_chart(&c, &url, "app", "0.9.0").expect("cdn chart");
    assert!(
        r.cdn
            .requests()
            .iter()
            .all(|q| q.header("authorization").is_none()),
        "credentials must not go to another host"
    );
    // passCredentials: a default keychain entry goes everywhere.
    let c = client(Keychain::with_default(Credentials::basic("helm", "pw")));
    helm::fetch_chart(&c, &url, "app", "0.9.0").expect("cdn chart");
    assert!(
        r.cdn
            .requests()
            .iter()
            .any(|q| q.header("authorization").is_some())
    );
}

#[test]
fn oversized_index_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut big = b"apiVersion: v1\nentries: {}\n".to_vec();
    big.resize(usize::try_from(MAX_INDEX_SIZE).expect("size") + 1, b'#');
    std::fs::write(dir.path().join("index.yaml"), &big).expect("write");
    let server = Server::start(static_files(dir.path().to_path_buf(), None));
    let err = helm::fetch_index(&client(Keychain::anonymous()), &server.url()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "index {}/index.yaml is larger than 52428800 bytes",
            server.url()
        )
    );
}

#[test]
fn oci_chart_by_range() {
    let reg = Registry::start();
    let s = Seeder::new(&reg.host());
    let config = b"{\"name\":\"podinfo\"}";
    for tag in ["6.0.0", "6.1.0", "6.2.0_build.1", "7.0.0-rc.1"] {
        let cfg = s.blob("charts/podinfo", config);
        let chart = format!("podinfo chart {tag}").into_bytes();
        let layer = s.blob("charts/podinfo", &chart);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{cfg}","size":{}}},"layers":[{{"mediaType":"{HELM_CHART_MEDIA_TYPE}","digest":"{layer}","size":{}}}]}}"#,
            config.len(),
            chart.len()
        );
        s.manifest(
            "charts/podinfo",
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        );
    }
    let c = client(Keychain::anonymous());
    let url = format!("oci://{}/charts", reg.host());
    let chart = helm::fetch_chart(&c, &url, "podinfo", "*").expect("chart");
    assert_eq!(chart.version, "6.2.0+build.1");
    assert_eq!(chart.bytes, b"podinfo chart 6.2.0_build.1");
    assert_eq!(
        chart.url,
        format!("oci://{}/charts/podinfo:6.2.0_build.1", reg.host())
    );
    let chart = helm::fetch_chart(&c, &url, "podinfo", "~6.1").expect("chart");
    assert_eq!(chart.version, "6.1.0");
    let err = helm::fetch_chart(&c, &url, "podinfo", ">=8").unwrap_err();
    assert!(matches!(err, Error::NoMatchingVersion { .. }), "{err:?}");
    let err = helm::fetch_chart(&c, &url, "missing", "*").unwrap_err();
    assert!(err.to_string().contains("cannot fetch"), "{err}");
}
