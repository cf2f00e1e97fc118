//! The program of this package against a real registry: CNCF distribution
//! (`docker-registry`, Debian) on a free loopback port, seeded with Flux OCI
//! artifacts pushed through gitops-source's async API from a tokio test.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use gitops_core::ImageRef;
use gitops_core::registry::AsyncTagLister;
use gitops_source::oci::{self, Metadata, OciRef};
use gitops_source::registry::{AsyncClient, Keychain, Options};
use gitops_test_support::free_port;
use gitops_test_support::server::ServerProcess;

/// A running registry; stopped (with its process group) on drop.
struct Registry {
    _server: ServerProcess,
    _dir: tempfile::TempDir,
    host: String,
}

fn start_registry() -> Registry {
    let bin = ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("docker-registry is installed (Debian package docker-registry)");
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    let server = ServerProcess::spawn(Command::new(bin).arg("serve").arg(&config))
        .expect("docker-registry starts");
    let host = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(&host).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not listen");
        std::thread::sleep(Duration::from_millis(25));
    }
    Registry {
        _server: server,
        _dir: dir,
        host,
    }
}

/// Push `tags` of `team/app` as Flux OCI artifacts with the async API.
async fn push_tags(client: &AsyncClient, host: &str, tags: &[&str]) {
    let src = tempfile::tempdir().expect("src");
    std::fs::write(src.path().join("app.yaml"), "kind: ConfigMap\n").expect("write");
    for tag in tags {
        let target = OciRef::parse(&format!("oci://{host}/team/app:{tag}")).expect("target");
        let meta = Metadata::new("https://example.com/app", tag, SystemTime::UNIX_EPOCH);
        oci::push_async(client, src.path(), &target, &meta)
            .await
            .expect("push");
    }
}

fn run_binary(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-tokio-user"))
        .args(args)
        .output()
        .expect("run gitops-tokio-user");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_scans_selects_and_renders() {
    let reg = start_registry();
    let client = AsyncClient::new(Keychain::anonymous(), Options::default()).expect("client");
    push_tags(
        &client,
        &reg.host,
        &["1.0.0", "1.2.0", "1.10.1", "2.0.0-rc.1", "latest"],
    )
    .await;

    let host = reg.host.clone();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_binary(&[&host, "team/app", ">=1.0.0 <2"]))
            .await
            .expect("join");
    assert!(ok, "stderr: {stderr}\nstdout: {stdout}");
    let image = ImageRef::parse(&format!("{}/team/app", reg.host)).expect("image");
    let digest = client
        .manifest_digest(&image, "1.10.1")
        .await
        .expect("digest");
    let expected = format!(
        "tags: 5\nlatest: 1.10.1\ndigest: {digest}\n\
         blocking: the blocking registry::Client was called inside an async runtime; use \
         registry::AsyncClient and .await it there (or call the blocking form from a thread \
         outside the runtime)\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: prod-app\nspec:\n  template:\n    \
         spec:\n      containers:\n      - image: {}/team/app:1.10.1\n        name: app\n",
        reg.host
    );
    assert_eq!(stdout, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn the_async_client_serves_generic_controller_code() {
    let reg = start_registry();
    let client = AsyncClient::new(Keychain::anonymous(), Options::default()).expect("client");
    push_tags(&client, &reg.host, &["0.1.0", "0.2.0"]).await;
    // Code generic over gitops-core's async trait, as a controller writes it.
    async fn count<L: AsyncTagLister>(lister: &L, image: &ImageRef) -> usize {
        lister.list_tags(image).await.map_or(0, |t| t.len())
    }
    let image = ImageRef::parse(&format!("{}/team/app", reg.host)).expect("image");
    assert_eq!(count(&client, &image).await, 2);
    let info = client.tag_info(&image, "0.2.0").await.expect("tag info");
    assert!(info.digest.is_some());
}

#[test]
fn a_missing_repository_is_a_clear_error() {
    let reg = start_registry();
    let (ok, _, stderr) = run_binary(&[&reg.host, "team/none"]);
    assert!(!ok);
    assert!(
        stderr.starts_with(&format!("gitops-tokio-user: scan {}/team/none: ", reg.host)),
        "{stderr}"
    );
}
