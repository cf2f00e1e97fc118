//! Tag scanning against a real CNCF distribution registry.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use gitops_core::registry::{TagExclusion, TagLister};
use gitops_core::{Digest, ImageRef};
use gitops_source::registry::{
    Client, Credentials, DigestReflectionPolicy, Error, Keychain, Options,
};

use crate::support::http::count_paths;
use crate::support::registry::{BearerAuth, Fault, Paging, Proxy, Registry, Seeder, docker_config};

fn fast() -> Options {
    Options::default()
        .with_retries(4, Duration::from_millis(10), Duration::from_millis(200))
        .with_timeout(Duration::from_secs(20))
}

fn client(keychain: Keychain, options: Options) -> Client {
    Client::new(keychain, options).expect("client")
}

fn image(s: &str) -> ImageRef {
    ImageRef::parse(s).expect("image ref")
}

/// An exclusion list of Go regular expressions, as Flux's `exclusionList`.
struct Patterns(Vec<regex::Regex>);

impl Patterns {
    fn new(patterns: &[&str]) -> Patterns {
        Patterns(
            patterns
                .iter()
                .map(|p| gitops_core::goregex::compile(p).expect("pattern"))
                .collect(),
        )
    }
}

impl TagExclusion for Patterns {
    fn is_excluded(&self, tag: &str) -> bool {
        self.0.iter().any(|re| re.is_match(tag))
    }
}

/// A registry with `app` holding `n` tags `1.0.<i>` plus `sha256-x.sig`.
fn big_repo(n: usize) -> (Registry, String, Vec<String>) {
    let reg = Registry::start();
    let digest =
        Seeder::new(&reg.host()).image("team/app", "seed", "2024-03-01T10:00:00Z", "amd64");
    let mut tags: Vec<String> = (0..n).map(|i| format!("1.0.{i}")).collect();
    tags.push("sha256-x.sig".to_owned());
    reg.seed_tags_on_disk("team/app", &digest, &tags);
    tags.push("seed".to_owned());
    (reg, digest, tags)
}

#[test]
fn pagination_lists_every_tag_of_a_1500_tag_repository() {
    let (reg, _, tags) = big_repo(1500);
    let proxy = Proxy::start(&reg.host());
    let c = client(Keychain::anonymous(), fast().with_page_size(100));
    let got = c
        .list_tags(&image(&format!("{}/team/app", proxy.host())))
        .expect("list");
    assert_eq!(got.len(), 1502);
    let want: BTreeSet<_> = tags.iter().cloned().collect();
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    // 1502 tags at 100 per page: 16 pages, all through the Link header.
    let pages = proxy
        .server
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/tags/list"))
        .count();
    assert_eq!(pages, 16);

    // Default page size (1000): two pages.
    proxy.clear();
    let c = client(Keychain::anonymous(), fast());
    let got = c
        .list_tags(&image(&format!("{}/team/app", proxy.host())))
        .expect("list");
    assert_eq!(got.len(), 1502);
    assert_eq!(
        count_paths(&proxy.server.requests())["/v2/team/app/tags/list"],
        2
    );

    // A registry that caps pages without a Link header: full pages are
    // followed with `last=` until a short one.
    proxy.clear();
    proxy.set_paging(Paging::Silent { max: 500 });
    let c = client(Keychain::anonymous(), fast().with_page_size(500));
    let got = c
        .list_tags(&image(&format!("{}/team/app", proxy.host())))
        .expect("list");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(
        count_paths(&proxy.server.requests())["/v2/team/app/tags/list"],
        4
    );

    // CNCF distribution 2.8 itself ignores `n` and `last`: one answer holds
    // every tag, and the client notices instead of looping.
    let got = c
        .list_tags(&image(&format!("{}/team/app", reg.host())))
        .expect("list");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
}

#[test]
fn scan_applies_the_exclusion_list_and_reports_status() {
    let (reg, _, _) = big_repo(20);
    let c = client(Keychain::anonymous(), fast());
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let name = format!("{}/team/app", reg.host());
    let image = image(&name);
    let r = c
        .scan_excluding(&image, &Patterns::new(&["^.*\\.sig$"]), now)
        .expect("scan");
    assert_eq!(r.tag_count, 21, "the exclusion drops the .sig tag");
    assert_eq!(r.excluded, 1);
    assert_eq!(r.scan_time, now);
    assert_eq!(r.canonical_image_name, name);
    assert_eq!(r.latest_tags.len(), 10);
    assert_eq!(r.latest_tags[0], "seed");
    let r = c
        .scan_excluding(&image, &Patterns::new(&["^1\\.0\\.1"]), now)
        .expect("scan");
    assert_eq!(
        r.tag_count,
        21 + 1 - 11,
        "1.0.1 and 1.0.10-19 dropped, .sig kept"
    );
    assert!(r.tags.contains(&"sha256-x.sig".to_owned()));
    // No exclusion list: every tag.
    let r = c.scan_excluding(&image, &(), now).expect("scan");
    assert_eq!((r.tag_count, r.excluded), (22, 0));
}

#[test]
fn missing_repository_is_a_clear_error() {
    let reg = Registry::start();
    let c = client(Keychain::anonymous(), fast());
    let err = c
        .list_tags(&image(&format!("{}/nope/app", reg.host())))
        .unwrap_err();
    assert!(matches!(err, Error::RepositoryNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "repository {0}/nope/app not found (http://{0}/v2/nope/app/tags/list?n=1000)",
            reg.host()
        )
    );
}

#[test]
fn basic_auth_with_htpasswd_and_docker_config() {
    let reg = Registry::start_with(Some(("alice", "s3cret-pw")));
    Seeder::new(&reg.host())
        .with_basic("alice", "s3cret-pw")
        .image("private/app", "1.0.0", "2024-01-01T00:00:00Z", "amd64");
    let img = image(&format!("{}/private/app", reg.host()));

    let err = client(Keychain::anonymous(), fast())
        .list_tags(&img)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                anonymous: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no credentials were given"),
        "{err}"
    );

    let wrong = Keychain::anonymous().with(&reg.host(), Credentials::basic("alice", "nope"));
    let err = client(wrong, fast()).list_tags(&img).unwrap_err();
    assert!(err.to_string().ends_with("credentials refused"), "{err}");
    assert!(!format!("{err:?}").contains("nope"), "no secret in errors");

    let right = Keychain::anonymous().with(&reg.host(), Credentials::basic("alice", "s3cret-pw"));
    assert_eq!(
        client(right, fast()).list_tags(&img).expect("tags"),
        ["1.0.0"]
    );

    let dir = tempfile::tempdir().expect("tmp");
    let cfg = docker_config(dir.path(), &reg.host(), "alice", "s3cret-pw");
    let keychain = Keychain::from_docker_config_file(&cfg).expect("config");
    assert_eq!(
        client(keychain, fast()).list_tags(&img).expect("tags"),
        ["1.0.0"]
    );

    // The same credentials from a Docker credential helper (`credsStore`).
    let helper = dir.path().join("docker-credential-test");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"s3cret-pw\"}' \"$host\"\n",
    )
    .expect("helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let keychain = Keychain::from_docker_config(br#"{"credsStore": "test"}"#, "config.json")
        .expect("config")
        .with_helper_dir(dir.path());
    assert_eq!(
        client(keychain, fast())
            .list_tags(&img)
            .expect("tags via helper"),
        ["1.0.0"]
    );
}

#[test]
fn bearer_token_service_is_followed() {
    let reg = Registry::start();
    Seeder::new(&reg.host()).image("team/app", "2.0.0", "2024-01-01T00:00:00Z", "amd64");
    let proxy = Proxy::start_with(
        &reg.host(),
        Some(BearerAuth {
            user: "bob".into(),
            pass: "pw".into(),
        }),
    );
    let img = image(&format!("{}/team/app", proxy.host()));
    let good = Keychain::anonymous().with(&proxy.host(), Credentials::basic("bob", "pw"));
    let c = client(good, fast());
    assert_eq!(c.list_tags(&img).expect("tags"), ["2.0.0"]);
    // The token is cached: a second listing asks no new token.
    c.list_tags(&img).expect("tags");
    assert_eq!(count_paths(&proxy.server.requests())["/token"], 1);

    let bad = Keychain::anonymous().with(&proxy.host(), Credentials::basic("bob", "wrong"));
    let err = client(bad, fast()).list_tags(&img).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");

    // A fixed bearer token works without the token service.
    let fixed = Keychain::anonymous().with(&proxy.host(), Credentials::bearer("test-token-5f1c"));
    assert_eq!(
        client(fixed, fast()).list_tags(&img).expect("tags"),
        ["2.0.0"]
    );
}

#[test]
fn retries_429_and_5xx_honouring_retry_after() {
    let (reg, _, _) = big_repo(1200);
    let proxy = Proxy::start(&reg.host());
    let img = image(&format!("{}/team/app", proxy.host()));
    let c = client(
        Keychain::anonymous(),
        Options::default().with_retries(4, Duration::from_millis(10), Duration::from_secs(5)),
    );
    proxy.add("tags/list", Fault::Status(429, Some(1)), 1);
    proxy.add("last=", Fault::Status(503, None), 2);
    let start = Instant::now();
    let tags = c.list_tags(&img).expect("tags after retries");
    assert_eq!(tags.len(), 1202);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured ({:?})",
        start.elapsed()
    );
    // 1 throttled + 2 pages + 2 failed second pages.
    assert_eq!(
        count_paths(&proxy.server.requests())["/v2/team/app/tags/list"],
        5
    );
}

#[test]
fn persistent_failures_and_truncated_pages_never_give_a_partial_list() {
    let (reg, _, _) = big_repo(1200);
    let proxy = Proxy::start(&reg.host());
    let img = image(&format!("{}/team/app", proxy.host()));
    let c = client(
        Keychain::anonymous(),
        Options::default().with_retries(2, Duration::from_millis(5), Duration::from_millis(20)),
    );
    // Second page always fails: an error, not the first 1000 tags.
    proxy.add("last=", Fault::Status(500, None), usize::MAX);
    let err = c.list_tags(&img).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RetriesExhausted {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );

    // A truncated second page is retried, then succeeds.
    proxy.clear();
    proxy.add("last=", Fault::Truncate, 1);
    assert_eq!(c.list_tags(&img).expect("tags").len(), 1202);

    // Always truncated: a transport error.
    proxy.clear();
    proxy.add("last=", Fault::Truncate, usize::MAX);
    let err = c.list_tags(&img).unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
}

#[test]
fn timeouts_are_bounded() {
    let reg = Registry::start();
    Seeder::new(&reg.host()).image("team/app", "1.0.0", "2024-01-01T00:00:00Z", "amd64");
    let proxy = Proxy::start(&reg.host());
    proxy.add(
        "tags/list",
        Fault::Delay(Duration::from_secs(3)),
        usize::MAX,
    );
    let c = client(
        Keychain::anonymous(),
        Options::default()
            .with_timeout(Duration::from_millis(300))
            .with_retries(1, Duration::from_millis(5), Duration::from_millis(5)),
    );
    let start = Instant::now();
    let err = c
        .list_tags(&image(&format!("{}/team/app", proxy.host())))
        .unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn digest_reflection_policies() {
    let reg = Registry::start();
    let pushed =
        Seeder::new(&reg.host()).image("team/app", "1.2.3", "2024-01-01T00:00:00Z", "amd64");
    let proxy = Proxy::start(&reg.host());
    let img = image(&format!("{}/team/app", proxy.host()));
    let c = client(Keychain::anonymous(), fast());
    let pushed = Digest::parse(&pushed).expect("digest");
    let other = Digest::from_sha256_bytes(&[7; 32]);

    assert_eq!(
        c.reflect_digest(&img, "1.2.3", DigestReflectionPolicy::Never, None)
            .expect("never"),
        None
    );
    assert_eq!(
        c.reflect_digest(
            &img,
            "1.2.3",
            DigestReflectionPolicy::IfNotPresent,
            Some(&other)
        )
        .expect("recorded"),
        Some(other.clone())
    );
    assert!(
        proxy.server.requests().is_empty(),
        "no request for Never / recorded"
    );
    assert_eq!(
        c.reflect_digest(&img, "1.2.3", DigestReflectionPolicy::IfNotPresent, None)
            .expect("lookup"),
        Some(pushed.clone())
    );
    assert_eq!(
        c.reflect_digest(&img, "1.2.3", DigestReflectionPolicy::Always, Some(&other))
            .expect("always"),
        Some(pushed)
    );
    let err = c.manifest_digest(&img, "9.9.9").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("manifest 9.9.9 not found in {}/team/app", proxy.host())
    );
}

#[test]
fn manifest_list_digest_and_creation_time() {
    let reg = Registry::start();
    let (index, _arm, amd) = Seeder::new(&reg.host()).index("multi/app", "1.0.0");
    let img = image(&format!("{}/multi/app", reg.host()));
    let c = client(Keychain::anonymous(), fast());
    let info = c.tag_info(&img, "1.0.0").expect("info");
    assert_eq!(info.digest.expect("digest").as_str(), index);
    // linux/amd64's config was created 2024-02-01.
    assert_eq!(info.created, Some(1_706_745_600));
    assert_eq!(c.manifest_digest(&img, &amd).expect("amd").as_str(), amd);
    let mut tags = c.list_tags(&img).expect("tags");
    tags.sort();
    assert_eq!(tags, ["1.0.0", "amd64-only", "arm64-only"]);
}

#[test]
fn corrupted_manifest_is_a_digest_error() {
    let reg = Registry::start();
    let d = Seeder::new(&reg.host()).image("team/app", "1.0.0", "2024-01-01T00:00:00Z", "amd64");
    let proxy = Proxy::start(&reg.host());
    proxy.add("/manifests/", Fault::Corrupt, usize::MAX);
    let c = client(Keychain::anonymous(), fast());
    let img = image(&format!("{}/team/app", proxy.host()));
    let err = c.tag_info(&img, "1.0.0").unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("expected {d}")), "{err}");
}
