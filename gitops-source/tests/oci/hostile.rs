//! Hostile registries and repositories: token services and page links on
//! other hosts, endless pagination, huge `Retry-After`s, and redirects that
//! ask for credentials. "Another host" is another loopback address
//! (`127.0.0.2`) or another port: hosts compare by name and port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gitops_core::ImageRef;
use gitops_source::helm;
use gitops_source::registry::{
    Client, Credentials, Error, Keychain, ListingLimit, MAX_LISTING_BYTES, MAX_TAGS, Options,
};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw-7d1e";
/// `Basic` of `USER:PASSWORD`.
const BASIC: &str = "Basic YWxpY2U6czNjcmV0LXB3LTdkMWU=";

use gitops_test_support::hostile_http;
use hostile_http::{Answer, Hostile};

fn tags_json(tags: &[&str]) -> String {
    serde_json::json!({"name": "team/app", "tags": tags}).to_string()
}

fn image(host: &str) -> ImageRef {
    ImageRef::parse(&format!("{host}/team/app")).expect("image ref")
}

fn with_password(host: &str) -> Keychain {
    Keychain::anonymous().with(host, Credentials::basic(USER, PASSWORD))
}

fn client(keychain: Keychain, options: Options) -> Client {
    Client::new(keychain, options).expect("client")
}

/// Fast retries for servers that fail on purpose.
fn fast() -> Options {
    Options::default().with_retries(2, Duration::from_millis(5), Duration::from_millis(20))
}

/// Run `f` on another thread and wait at most `limit` for its result: a
/// listing that runs away fails the test instead of hanging it.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no answer within {limit:?}: the client did not stop"))
}

fn assert_no_secret(err: &impl std::fmt::Debug, text: &str) {
    let debug = format!("{err:?}");
    for s in [PASSWORD, "YWxpY2U6czNjcmV0"] {
        assert!(
            !text.contains(s) && !debug.contains(s),
            "a secret in {text} / {debug}"
        );
    }
}

/// A registry on 127.0.0.1 that wants `Bearer good-token` and names the
/// token service `realm`.
fn bearer_registry(realm: String) -> Hostile {
    Hostile::start(
        "127.0.0.1",
        Box::new(move |req| {
            if req.authorization.as_deref() == Some("Bearer good-token") {
                Answer::new(200, tags_json(&["1.0.0"]))
            } else {
                Answer::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).header(
                    "WWW-Authenticate",
                    &format!(
                        r#"Bearer realm="{realm}",service="reg",scope="repository:team/app:pull""#
                    ),
                )
            }
        }),
    )
}

fn token_service(ip: &str) -> Hostile {
    Hostile::start(
        ip,
        Box::new(|_| Answer::new(200, r#"{"token":"good-token"}"#)),
    )
}

#[test]
fn plain_http_token_service_on_another_host_never_sees_the_credentials() {
    for ip in ["127.0.0.2", "127.0.0.1"] {
        // Another address, or the registry's address with another port.
        let tokens = token_service(ip);
        let registry = bearer_registry(format!("http://{}/token", tokens.host()));
        let c = client(with_password(&registry.host()), fast());
        let err = c.list_tags(&image(&registry.host())).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::RealmRefused { .. }), "{err:?}");
        assert_eq!(
            msg,
            format!(
                "refused to send the credentials for {} to token service http://{}/token: it is \
                 plain HTTP on another host than the registry; credentials leave the registry's \
                 host only over HTTPS",
                registry.host(),
                tokens.host()
            )
        );
        assert_no_secret(&err, &msg);
        assert!(tokens.seen().is_empty(), "{:?}", tokens.seen());

        // Anonymous clients have nothing to leak: the token flow proceeds.
        let c = client(Keychain::anonymous(), fast());
        assert_eq!(
            c.list_tags(&image(&registry.host())).expect("anonymous"),
            ["1.0.0"]
        );
        let seen = tokens.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].authorization, None);
    }

    // On the registry's own host the credentials go to the token service.
    let listener = Hostile::bind("127.0.0.1");
    let own = listener.local_addr().expect("addr").to_string();
    let realm = format!("http://{own}/token");
    let registry = Hostile::serve(
        listener,
        Box::new(move |req| {
            if req.target.starts_with("/token") {
                return if req.authorization.as_deref() == Some(BASIC) {
                    Answer::new(200, r#"{"token":"good-token"}"#)
                } else {
                    Answer::new(401, "")
                };
            }
            if req.authorization.as_deref() == Some("Bearer good-token") {
                Answer::new(200, tags_json(&["1.0.0"]))
            } else {
                Answer::new(401, "")
                    .header("WWW-Authenticate", &format!(r#"Bearer realm="{realm}""#))
            }
        }),
    );
    let c = client(with_password(&own), fast());
    assert_eq!(
        c.list_tags(&image(&registry.host())).expect("tags"),
        ["1.0.0"]
    );
}

#[test]
fn next_links_to_other_hosts_are_refused() {
    // The foreign host asks for Basic credentials and lists a tag of its own.
    let foreign = Hostile::start(
        "127.0.0.2",
        Box::new(|req| {
            if req.authorization.is_some() {
                Answer::new(200, tags_json(&["9.9.9-evil"]))
            } else {
                Answer::new(401, "").header("WWW-Authenticate", r#"Basic realm="x""#)
            }
        }),
    );
    let other_port = Hostile::start(
        "127.0.0.1",
        Box::new(|_| Answer::new(200, tags_json(&["9.9.9-evil"]))),
    );
    for target in [foreign.host(), other_port.host()] {
        let link = format!("http://{target}/v2/team/app/tags/list?n=2&last=1.1.0");
        let link2 = link.clone();
        let registry = Hostile::start(
            "127.0.0.1",
            Box::new(move |req| {
                if req.authorization.as_deref() != Some(BASIC) {
                    return Answer::new(401, "").header("WWW-Authenticate", r#"Basic realm="r""#);
                }
                Answer::new(200, tags_json(&["1.0.0", "1.1.0"]))
                    .header("Link", &format!(r#"<{link2}>; rel="next""#))
            }),
        );
        let c = client(with_password(&registry.host()), fast());
        let err = c.list_tags(&image(&registry.host())).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::LinkRefused { .. }), "{err:?}");
        assert!(
            msg.contains(&format!(
                "refused the next link {link}: it leaves the registry's host"
            )),
            "{msg}"
        );
        assert_no_secret(&err, &msg);
    }
    assert!(foreign.seen().is_empty(), "{:?}", foreign.seen());
    assert!(other_port.seen().is_empty(), "{:?}", other_port.seen());
}

/// A registry whose every page is `body` and links to a new next page.
fn endless(body: Vec<u8>, delay: Duration) -> Hostile {
    let page = AtomicUsize::new(0);
    Hostile::start(
        "127.0.0.1",
        Box::new(move |_| {
            let n = page.fetch_add(1, Ordering::SeqCst);
            let mut a = Answer::new(200, body.clone()).header(
                "Link",
                &format!(r#"</v2/team/app/tags/list?n=1000&last=page-{n}>; rel="next""#),
            );
            a.delay = delay;
            a
        }),
    )
}

fn page_of(tags: usize, tag_len: usize) -> Vec<u8> {
    let tags: Vec<String> = (0..tags).map(|i| format!("{i:0tag_len$}")).collect();
    serde_json::to_vec(&serde_json::json!({"name": "team/app", "tags": tags})).expect("json")
}

#[test]
fn endless_pagination_stops_at_the_tag_bound() {
    // 250,000 tags a page, a new link every time.
    let registry = endless(page_of(250_000, 8), Duration::ZERO);
    let img = image(&registry.host());
    let err = within(Duration::from_secs(60), move || {
        client(Keychain::anonymous(), Options::default())
            .list_tags(&img)
            .unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::ListingLimit {
                limit: ListingLimit::Tags(MAX_TAGS),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "tag list of {}/team/app abandoned: more than 1000000 tags (max_tags)",
            registry.host()
        )
    );
    // Four pages reach the bound, the fifth passes it.
    assert_eq!(registry.seen().len(), 5);
}

#[test]
fn endless_pagination_stops_at_the_byte_bound() {
    // 20,000 tags of 120 characters a page (2.5 MB): the bytes run out first.
    let body = page_of(20_000, 120);
    let per_page = body.len() as u64;
    let registry = endless(body, Duration::ZERO);
    let img = image(&registry.host());
    let err = within(Duration::from_secs(60), move || {
        client(Keychain::anonymous(), Options::default())
            .list_tags(&img)
            .unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::ListingLimit {
                limit: ListingLimit::Bytes(MAX_LISTING_BYTES),
                ..
            }
        ),
        "{err:?}"
    );
    let pages = registry.seen().len() as u64;
    assert_eq!(
        pages,
        MAX_LISTING_BYTES / per_page + 1,
        "the page that passes it is the last"
    );
}

#[test]
fn endless_pagination_stops_at_the_page_bound() {
    let registry = endless(page_of(3, 1), Duration::ZERO);
    let opts = Options::default().with_listing_limits(
        7,
        MAX_TAGS,
        MAX_LISTING_BYTES,
        Duration::from_secs(30),
    );
    let err = client(Keychain::anonymous(), opts)
        .list_tags(&image(&registry.host()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ListingLimit {
                limit: ListingLimit::Pages(7),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(registry.seen().len(), 7);
}

#[test]
fn a_listing_of_slow_pages_has_a_deadline() {
    // Slow pages: the whole listing has a deadline, whatever each page takes.
    let slow = endless(page_of(3, 1), Duration::from_millis(200));
    let opts = Options::default().with_listing_limits(
        10_000,
        MAX_TAGS,
        MAX_LISTING_BYTES,
        Duration::from_secs(1),
    );
    let img = image(&slow.host());
    let start = Instant::now();
    let err = within(Duration::from_secs(20), move || {
        client(Keychain::anonymous(), opts)
            .list_tags(&img)
            .unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::ListingLimit {
                limit: ListingLimit::Deadline(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("not complete within 1s (listing_deadline)"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// A registry that always answers 429 with `Retry-After: value`.
fn throttling(value: &'static str) -> Hostile {
    Hostile::start(
        "127.0.0.1",
        Box::new(move |_| {
            Answer::new(429, r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#)
                .header("Retry-After", value)
        }),
    )
}

#[test]
fn a_retry_after_beyond_the_bounds_fails_at_once_with_the_answer() {
    for value in ["999999", "Thu, 01 Jan 2099 00:00:00 GMT"] {
        let registry = throttling(value);
        let img = image(&registry.host());
        let start = Instant::now();
        let err = within(Duration::from_secs(20), move || {
            client(Keychain::anonymous(), Options::default())
                .list_tags(&img)
                .unwrap_err()
        });
        assert!(
            matches!(
                &err,
                Error::RetryAfterTooLong {
                    status: 429,
                    limit_name: "max_backoff",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!(
                "answered 429 with Retry-After {value}: that wait is beyond max_backoff (30s)"
            )),
            "{err}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(registry.seen().len(), 1, "not retried");
    }

    // Waits that each fit but together pass `max_retry_wait`.
    let registry = throttling("1");
    let opts = Options::default()
        .with_retries(10, Duration::from_millis(10), Duration::from_secs(5))
        .with_max_retry_wait(Duration::from_millis(1500));
    let start = Instant::now();
    let err = client(Keychain::anonymous(), opts)
        .list_tags(&image(&registry.host()))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::RetryAfterTooLong {
                limit_name: "max_retry_wait",
                ..
            }
        ),
        "{err:?}"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(registry.seen().len(), 2);
}

#[test]
fn helm_redirects_to_other_hosts_carry_no_credentials() {
    // The other host serves the index to anyone…
    let open = Hostile::start(
        "127.0.0.2",
        Box::new(|_| Answer::new(200, "apiVersion: v1\nentries: {}\n")),
    );
    // …or asks for credentials, naming a token service of its own.
    let listener = Hostile::bind("127.0.0.2");
    let realm = format!("http://{}/token", listener.local_addr().expect("addr"));
    let asking = Hostile::serve(
        listener,
        Box::new(move |req| {
            if req.target.starts_with("/token") {
                return Answer::new(200, r#"{"token":"t"}"#);
            }
            Answer::new(401, "").header("WWW-Authenticate", &format!(r#"Bearer realm="{realm}""#))
        }),
    );
    for (target, ok) in [(open.host(), true), (asking.host(), false)] {
        let repo = Hostile::start(
            "127.0.0.1",
            Box::new(move |req| {
                if req.authorization.as_deref() != Some(BASIC) {
                    return Answer::new(401, "").header("WWW-Authenticate", r#"Basic realm="r""#);
                }
                Answer::new(307, "").header("Location", &format!("http://{target}/index.yaml"))
            }),
        );
        let c = client(with_password(&repo.host()), fast());
        let got = helm::fetch_index(&c, &format!("http://{}", repo.host()));
        if ok {
            got.expect("index from the other host");
        } else {
            let err = got.unwrap_err();
            let chain = format!("{err}: {}", std::error::Error::source(&err).expect("cause"));
            assert!(
                matches!(
                    &err,
                    helm::Error::Fetch {
                        source: Error::ChallengeRefused { .. },
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                chain.contains(&format!(
                    "refused to authenticate to {}: the request to {} was redirected there",
                    asking.host(),
                    repo.host()
                )),
                "{chain}"
            );
            assert_no_secret(&err, &chain);
        }
        assert!(
            repo.seen()
                .iter()
                .any(|r| r.authorization.as_deref() == Some(BASIC))
        );
    }
    for server in [&open, &asking] {
        let seen = server.seen();
        assert!(!seen.is_empty());
        assert!(
            seen.iter().all(|r| r.authorization.is_none()),
            "credentials reached another host: {seen:?}"
        );
    }
    assert!(!asking.seen().iter().any(|r| r.target.starts_with("/token")));
}
