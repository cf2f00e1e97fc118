//! The async registry, OCI, Helm and bucket APIs inside tokio runtimes
//! (multi-thread and current-thread), and the blocking forms refusing
//! there with a clear error instead of panicking.

use std::path::Path;
use std::time::{Duration, SystemTime};

use gitops_core::ImageRef;
use gitops_core::registry::{AsyncTagLister, TagLister};
use gitops_source::registry::{
    self, AsyncClient, Client, DigestReflectionPolicy, Keychain, Options,
};
use gitops_source::{bucket, helm, oci};

use crate::support::http::{Server, static_files};
use crate::support::registry::{Registry, Seeder};
use crate::support::s3::S3;

fn options() -> Options {
    Options::default()
        .with_retries(2, Duration::from_millis(10), Duration::from_millis(50))
        .with_timeout(Duration::from_secs(20))
}

fn image(s: &str) -> ImageRef {
    ImageRef::parse(s).expect("image ref")
}

/// A registry with `team/app` at tags 1.0.0, 1.1.0 and 2.0.0-rc.1.
fn seeded() -> Registry {
    let reg = Registry::start();
    let seeder = Seeder::new(&reg.host());
    for (tag, created) in [
        ("1.0.0", "2024-01-01T00:00:00Z"),
        ("1.1.0", "2024-02-01T00:00:00Z"),
        ("2.0.0-rc.1", "2024-03-01T00:00:00Z"),
    ] {
        seeder.image("team/app", tag, created, "amd64");
    }
    reg
}

fn sorted(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

/// Every public future is `Send` (checked at compile time: the futures are
/// built and dropped, never polled).
#[test]
fn futures_are_send() {
    let client = AsyncClient::new(Keychain::anonymous(), Options::default()).expect("client");
    let img = image("127.0.0.1:1/a");
    let digest = gitops_core::Digest::parse(
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    )
    .expect("digest");
    drop(assert_send(client.list_tags(&img)));
    drop(assert_send(client.manifest_digest(&img, "1")));
    drop(assert_send(client.scan_excluding(
        &img,
        &(),
        SystemTime::now(),
    )));
    drop(assert_send(client.reflect_digest(
        &img,
        "1",
        DigestReflectionPolicy::IfNotPresent,
        Some(&digest),
    )));
    drop(assert_send(client.tag_info(&img, "1")));
    drop(assert_send(AsyncTagLister::list_tags(&client, &img)));
    drop(assert_send(AsyncTagLister::tag_info(&client, &img, "1")));

    let target = oci::OciRef::parse("oci://127.0.0.1:1/a:v1").expect("ref");
    let meta = oci::Metadata::new("src", "rev", SystemTime::UNIX_EPOCH);
    let spec = oci::PullSpec::tag("oci://127.0.0.1:1/a", "v1").expect("spec");
    let dir = Path::new("/nonexistent");
    drop(assert_send(oci::push_async(&client, dir, &target, &meta)));
    drop(assert_send(oci::pull_async(&client, &spec, dir)));
    let limits = gitops_source::archive::Limits::default();
    drop(assert_send(oci::pull_with_limits_async(
        &client, &spec, dir, &limits,
    )));
    drop(assert_send(oci::resolve_semver_async(
        &client,
        &img,
        "*",
        Some(".*"),
    )));

    let chart: helm::ChartVersion = serde_json::from_value(
        serde_json::json!({"name": "app", "version": "1.0.0", "urls": ["app.tgz"]}),
    )
    .expect("chart");
    drop(assert_send(helm::fetch_index_async(
        &client,
        "http://127.0.0.1:1",
    )));
    drop(assert_send(helm::download_async(
        &client,
        "http://127.0.0.1:1",
        &chart,
    )));
    drop(assert_send(helm::fetch_chart_async(
        &client,
        "http://127.0.0.1:1",
        "app",
        "*",
    )));
    drop(assert_send(helm::fetch_oci_chart_async(
        &client,
        "oci://127.0.0.1:1/charts",
        "app",
        "*",
    )));

    let spec = crate::bucket::spec("127.0.0.1:1", "b", None, None);
    let creds = crate::bucket::creds();
    drop(assert_send(bucket::fetch_async(
        &spec,
        Some(&creds),
        &Options::default(),
        dir,
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_on_a_multi_thread_runtime() {
    let reg = seeded();
    let client = AsyncClient::new(Keychain::anonymous(), options()).expect("client");
    let app = image(&format!("{}/team/app", reg.host()));

    // Spawned onto the worker threads: the futures are Send.
    let task = tokio::spawn({
        let (client, app) = (client.clone(), app.clone());
        async move { client.list_tags(&app).await }
    });
    let tags = task.await.expect("task").expect("list");
    assert_eq!(sorted(tags), ["1.0.0", "1.1.0", "2.0.0-rc.1"]);

    let scan = client
        .scan_excluding(&app, &(), SystemTime::UNIX_EPOCH)
        .await
        .expect("scan");
    assert_eq!(scan.tag_count, 3);
    assert_eq!(scan.latest_tags, ["2.0.0-rc.1", "1.1.0", "1.0.0"]);

    let digest = client.manifest_digest(&app, "1.1.0").await.expect("digest");
    let info = client.tag_info(&app, "1.1.0").await.expect("tag info");
    assert_eq!(info.digest.as_ref(), Some(&digest));
    assert_eq!(
        info.created,
        gitops_core::time::parse_rfc3339("2024-02-01T00:00:00Z")
    );
    let reflected = client
        .reflect_digest(&app, "1.1.0", DigestReflectionPolicy::Always, None)
        .await
        .expect("reflect");
    assert_eq!(reflected, Some(digest));

    // A Flux OCI artifact pushed, resolved and pulled with the async forms.
    let src = tempfile::tempdir().expect("src");
    std::fs::write(src.path().join("app.yaml"), "kind: ConfigMap\n").expect("write");
    let target =
        oci::OciRef::parse(&format!("oci://{}/manifests/app:v1.0.0", reg.host())).expect("target");
    let meta = oci::Metadata::new(
        "https://example.com/repo",
        "main@sha1:abc",
        SystemTime::UNIX_EPOCH,
    );
    let pushed = oci::push_async(&client, src.path(), &target, &meta)
        .await
        .expect("push");
    let repo = format!("oci://{}/manifests/app", reg.host());
    let tag = oci::resolve_semver_async(&client, target.image(), ">=1.0.0", None)
        .await
        .expect("resolve");
    assert_eq!(tag, "v1.0.0");
    let out = tempfile::tempdir().expect("out");
    let dest = out.path().join("app");
    let spec = oci::PullSpec::tag(&repo, "v1.0.0").expect("spec");
    let pulled = oci::pull_async(&client, &spec, &dest).await.expect("pull");
    assert_eq!(pulled.revision, pushed.revision);
    assert_eq!(
        std::fs::read_to_string(dest.join("app.yaml")).expect("pulled file"),
        "kind: ConfigMap\n"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_client_on_a_current_thread_runtime() {
    let reg = seeded();
    let client = AsyncClient::new(Keychain::anonymous(), options()).expect("client");
    let app = image(&format!("{}/team/app", reg.host()));
    let tags = client.list_tags(&app).await.expect("list");
    assert_eq!(sorted(tags), ["1.0.0", "1.1.0", "2.0.0-rc.1"]);
    // Through gitops-core's trait, as generic controller code would.
    async fn newest<L: AsyncTagLister>(lister: &L, image: &ImageRef) -> Option<String> {
        lister.list_tags(image).await.ok()?.into_iter().max()
    }
    assert_eq!(newest(&client, &app).await.as_deref(), Some("2.0.0-rc.1"));
    let info = AsyncTagLister::tag_info(&client, &app, "1.0.0")
        .await
        .expect("tag info");
    assert!(info.digest.is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn helm_repository_with_the_async_forms() {
    let dir = tempfile::tempdir().expect("tmp");
    let chart = b"chart app 1.0.0".to_vec();
    std::fs::write(dir.path().join("app-1.0.0.tgz"), &chart).expect("write");
    std::fs::write(
        dir.path().join("index.yaml"),
        "apiVersion: v1\nentries:\n  app:\n    - {name: app, version: 1.0.0, urls: [app-1.0.0.tgz]}\n",
    )
    .expect("write");
    let server = Server::start(static_files(dir.path().to_path_buf(), None));
    let client = AsyncClient::new(Keychain::anonymous(), options()).expect("client");
    let index = helm::fetch_index_async(&client, &server.url())
        .await
        .expect("index");
    let entry = index.get("app", "*").expect("entry");
    let got = helm::download_async(&client, &server.url(), entry)
        .await
        .expect("download");
    assert_eq!(got.bytes, chart);
    let got = helm::fetch_chart_async(&client, &server.url(), "app", "~1.0")
        .await
        .expect("fetch chart");
    assert_eq!(got.version, "1.0.0");
}

const REFUSED: &str = "was called inside an async runtime";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_forms_refuse_inside_a_runtime() {
    let reg = seeded();
    let app = image(&format!("{}/team/app", reg.host()));
    // Building and dropping a blocking client inside a runtime is fine.
    let client = Client::new(Keychain::anonymous(), options()).expect("client");

    let err = client.list_tags(&app).unwrap_err();
    assert!(
        matches!(err, registry::Error::InsideAsyncRuntime { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the blocking registry::Client was called inside an async runtime; use \
         registry::AsyncClient and .await it there (or call the blocking form from a thread \
         outside the runtime)"
    );
    let err = client
        .scan_excluding(&app, &(), SystemTime::now())
        .unwrap_err();
    assert!(err.to_string().contains(REFUSED), "{err}");
    let err = TagLister::tag_info(&client, &app, "1.0.0").unwrap_err();
    assert!(err.to_string().contains(REFUSED), "{err}");
    let err = client
        .reflect_digest(&app, "1.0.0", DigestReflectionPolicy::Always, None)
        .unwrap_err();
    assert!(err.to_string().contains(REFUSED), "{err}");

    let spec =
        oci::PullSpec::tag(&format!("oci://{}/team/app", reg.host()), "1.0.0").expect("spec");
    let out = tempfile::tempdir().expect("out");
    let err = oci::pull(&client, &spec, &out.path().join("x")).unwrap_err();
    assert!(
        matches!(err, oci::Error::InsideAsyncRuntime { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "the blocking oci::pull was called inside an async runtime; use oci::pull_async"
        ),
        "{err}"
    );
    assert!(!out.path().join("x").exists(), "nothing was written");
    let err = helm::fetch_index(&client, "http://127.0.0.1:1/charts").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "the blocking helm::fetch_index was called inside an async runtime; use \
             helm::fetch_index_async"
        ),
        "{err}"
    );

    // tokio enters the runtime on its blocking pool too: refused there as
    // well, not a panic.
    let err = tokio::task::spawn_blocking(move || {
        let err = client.list_tags(&app).unwrap_err();
        drop(client);
        err
    })
    .await
    .expect("no panic");
    assert!(err.to_string().contains(REFUSED), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_client_works_from_a_plain_thread_of_an_async_program() {
    let reg = seeded();
    let app = image(&format!("{}/team/app", reg.host()));
    let client = Client::new(Keychain::anonymous(), options()).expect("client");
    // Outside any runtime context (a std thread), the blocking form works.
    let tags = std::thread::spawn(move || client.list_tags(&app))
        .join()
        .expect("thread")
        .expect("list");
    assert_eq!(sorted(tags), ["1.0.0", "1.1.0", "2.0.0-rc.1"]);
}

#[test]
fn blocking_client_outside_a_runtime() {
    let reg = seeded();
    let app = image(&format!("{}/team/app", reg.host()));
    let client = Client::new(Keychain::anonymous(), options()).expect("client");
    assert_eq!(
        sorted(client.list_tags(&app).expect("list")),
        ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    );
    let info = TagLister::tag_info(&client, &app, "1.1.0").expect("tag info");
    assert_eq!(
        info.created,
        gitops_core::time::parse_rfc3339("2024-02-01T00:00:00Z")
    );
}

/// Bucket: `fetch_async` on a multi-thread runtime; the blocking `fetch`
/// refuses there. (The bucket is seeded before the runtime starts: the
/// seeding helper blocks.)
#[test]
fn bucket_fetch_async_and_the_refusal() {
    let s3 = S3::start();
    crate::bucket::seed(
        &s3,
        "async",
        &[("app/a.yaml", "a: 1\n"), ("app/b.yaml", "b: 2\n")],
    );
    let spec = crate::bucket::spec(&s3.endpoint(), "async", Some("app/"), None);
    let creds = crate::bucket::creds();
    let out = tempfile::tempdir().expect("out");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dest = out.path().join("async");
        let fetched = tokio::spawn({
            let (spec, creds, dest) = (spec.clone(), creds.clone(), dest.clone());
            async move { bucket::fetch_async(&spec, Some(&creds), &Options::default(), &dest).await }
        })
        .await
        .expect("task")
        .expect("fetch");
        assert_eq!(fetched.objects, 2);
        assert_eq!(
            std::fs::read_to_string(dest.join("app/b.yaml")).expect("file"),
            "b: 2\n"
        );
        let err = bucket::fetch(&spec, Some(&creds), &Options::default(), &out.path().join("b"))
            .unwrap_err();
        assert!(matches!(err, bucket::Error::InsideAsyncRuntime), "{err:?}");
        assert!(
            err.to_string().starts_with(
                "the blocking bucket::fetch was called inside an async runtime; use \
                 bucket::fetch_async"
            ),
            "{err}"
        );
    });
    // The same fetch, blocking, outside the runtime.
    let fetched = bucket::fetch(
        &spec,
        Some(&creds),
        &Options::default(),
        &out.path().join("c"),
    )
    .expect("blocking fetch");
    assert_eq!(fetched.objects, 2);
}
