//! The HTTP layer shared by the registry, OCI and Helm clients: plain-HTTP
//! policy, timeouts, bounded exponential backoff honouring `Retry-After`,
//! registry token auth, and size-limited bodies.
//!
//! Credentials stay on their host (see [`super::origin`]): reqwest drops
//! `Authorization` when a redirect changes scheme, host or port; a 401 from
//! a host a request was redirected to is not answered with the credentials
//! of the host asked; a token service gets Basic credentials only on the
//! registry's host or over HTTPS.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use gitops_core::quote::truncated;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::auth::{Challenge, Credentials, Keychain, parse_challenge};
use super::origin::{Host, check_realm};
use super::{Error, Options};

/// A fully read HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The URL that answered (after redirects), without user info.
    pub url: String,
    /// The host that answered (after redirects).
    pub answered_by: Option<Host>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request: method, URL, headers, optional body, and the registry auth
/// scope it needs (`None` for plain HTTP servers such as Helm repositories,
/// which get basic auth when credentials are set).
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Option<Vec<u8>>,
    pub scope: Option<&'a str>,
    /// Registry host (`host[:port]`) whose credentials apply.
    pub host: &'a str,
    /// Largest body accepted, in bytes.
    pub limit: u64,
}

impl<'a> Request<'a> {
    pub fn get(url: String, host: &'a str, scope: Option<&'a str>, limit: u64) -> Self {
        Request {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            scope,
            host,
            limit,
        }
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// Install ring as rustls' process-wide crypto provider once (reqwest is
/// built with `rustls-no-provider` to avoid the aws-lc C build).
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// True when `host` (`name[:port]`) is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        }
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Cached `Authorization` values per (host, scope).
type TokenCache = HashMap<(String, String), String>;

pub(crate) struct Transport {
    http: reqwest::Client,
    pub(crate) options: Options,
    keychain: Keychain,
    tokens: Mutex<TokenCache>,
    /// Credentials per host, resolved once (credential helpers run once).
    resolved: Mutex<HashMap<String, Credentials>>,
}

impl Transport {
    pub fn new(keychain: Keychain, options: Options) -> Result<Transport, Error> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(concat!("gitops-rs/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|source| Error::Setup { source })?;
        Ok(Transport {
            http,
            options,
            keychain,
            tokens: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
        })
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The credentials for `host`, running its credential helper at most once.
    fn credentials(&self, host: &str) -> Result<Credentials, Error> {
        if let Some(c) = self.resolved.lock().ok().and_then(|m| m.get(host).cloned()) {
            return Ok(c);
        }
        let c = self.keychain.resolve(host)?;
        if let Ok(mut m) = self.resolved.lock() {
            m.insert(host.to_owned(), c.clone());
        }
        Ok(c)
    }

    /// `http` for loopback hosts and when insecure access is allowed, else `https`.
    pub fn scheme_for(&self, host: &str) -> &'static str {
        if self.options.insecure || is_loopback(host) {
            "http"
        } else {
            "https"
        }
    }

    /// Send with retries and auth; the body is read fully (up to the limit).
    pub async fn send(&self, req: &Request<'_>) -> Result<Response, Error> {
        let mut resp = self.send_retrying(req, self.cached_auth(req)?).await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            self.check_challenger(req, &resp)?;
            let auth = self.authorize(req, &resp).await?;
            resp = self.send_retrying(req, auth).await?;
            if resp.status == StatusCode::UNAUTHORIZED {
                return Err(Error::Unauthorized {
                    url: redact(&req.url),
                    anonymous: self.credentials(req.host)?.is_anonymous(),
                });
            }
        }
        Ok(resp)
    }

    /// Refuse to answer a 401 with `req.host`'s credentials when it came from
    /// another host than the one asked (a redirect led there).
    fn check_challenger(&self, req: &Request<'_>, resp: &Response) -> Result<(), Error> {
        let asked = Url::parse(&req.url).ok().and_then(|u| Host::of(&u));
        if asked.is_none() || resp.answered_by == asked {
            return Ok(());
        }
        if self.credentials(req.host)?.is_anonymous() {
            // Nothing of ours to send: the usual anonymous flow.
            return Ok(());
        }
        Err(Error::ChallengeRefused {
            registry: asked.map(|h| h.to_string()).unwrap_or_default(),
            host: resp
                .answered_by
                .as_ref()
                .map_or_else(|| "an unknown host".to_owned(), Host::to_string),
        })
    }

    fn cached_auth(&self, req: &Request<'_>) -> Result<Option<String>, Error> {
        let key = (req.host.to_owned(), req.scope.unwrap_or("").to_owned());
        if let Some(v) = self.tokens.lock().ok().and_then(|t| t.get(&key).cloned()) {
            return Ok(Some(v));
        }
        Ok(match self.credentials(req.host)? {
            Credentials::Bearer { token } => Some(format!("Bearer {token}")),
            // Plain HTTP servers (Helm repositories) get basic auth upfront.
            c @ Credentials::Basic { .. } if req.scope.is_none() => c.basic_header(),
            _ => None,
        })
    }

    /// Answer a 401: fetch a bearer token or fall back to basic auth.
    async fn authorize(&self, req: &Request<'_>, resp: &Response) -> Result<Option<String>, Error> {
        let creds = self.credentials(req.host)?;
        let challenge = resp
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_challenge);
        let value = match challenge {
            Some(Challenge::Basic) | None => match creds.basic_header() {
                Some(h) => h,
                None => {
                    return Err(Error::Unauthorized {
                        url: redact(&req.url),
                        anonymous: creds.is_anonymous(),
                    });
                }
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                if let Credentials::Bearer { .. } = &creds {
                    // A fixed token that was refused: nothing else to try.
                    return Err(Error::Unauthorized {
                        url: redact(&req.url),
                        anonymous: false,
                    });
                }
                if creds.basic_header().is_some() {
                    check_realm_of(req, &realm)?;
                }
                let scope = req.scope.map(str::to_owned).or(scope);
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope.as_deref(), &creds)
                    .await?;
                format!("Bearer {token}")
            }
        };
        if let Ok(mut cache) = self.tokens.lock() {
            cache.insert(
                (req.host.to_owned(), req.scope.unwrap_or("").to_owned()),
                value.clone(),
            );
        }
        Ok(Some(value))
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        creds: &Credentials,
    ) -> Result<String, Error> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| Error::Token {
            realm: truncated(&redact(realm)).into_owned(),
            reason: "the realm is not a URL".to_owned(),
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            if let Some(s) = scope {
                q.append_pair("scope", s);
            }
        }
        let mut headers = vec![(header::ACCEPT, "application/json".to_owned())];
        if let Some(h) = creds.basic_header() {
            headers.push((header::AUTHORIZATION, h));
        }
        let req = Request {
            method: Method::GET,
            url: url.to_string(),
            headers,
            body: None,
            scope: None,
            host: "",
            limit: 1 << 20,
        };
        let resp = self.send_retrying(&req, None).await?;
        if resp.status == StatusCode::UNAUTHORIZED || resp.status == StatusCode::FORBIDDEN {
            return Err(Error::Unauthorized {
                url: truncated(&redact(realm)).into_owned(),
                anonymous: creds.is_anonymous(),
            });
        }
        if !resp.status.is_success() {
            return Err(Error::Token {
                realm: truncated(&redact(realm)).into_owned(),
                reason: format!("status {}", resp.status.as_u16()),
            });
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&resp.body).map_err(|e| Error::Token {
                realm: truncated(&redact(realm)).into_owned(),
                reason: format!("invalid JSON: {e}"),
            })?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| {
                doc.get(k)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
            })
            .map(str::to_owned)
            .ok_or_else(|| Error::Token {
                realm: truncated(&redact(realm)).into_owned(),
                reason: "the response has no token".to_owned(),
            })
    }

    /// Send `req` (with `auth` as `Authorization`), retrying transport errors,
    /// 429 and 5xx with bounded exponential backoff; `Retry-After` (seconds or
    /// an HTTP date) is honoured when it fits the bounds ([`next_retry`]).
    async fn send_retrying(
        &self,
        req: &Request<'_>,
        auth: Option<String>,
    ) -> Result<Response, Error> {
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            let outcome = self.send_once(req, auth.as_deref()).await;
            let retry_after = match &outcome {
                Ok(r) if is_retryable(r.status) => {
                    Some(r.header("retry-after").and_then(parse_retry_after))
                }
                Ok(_) => None,
                Err(Error::Http { .. }) => Some(None),
                Err(_) => None,
            };
            let Some(retry_after) = retry_after else {
                return outcome;
            };
            match next_retry(&self.options, attempt, waited, retry_after) {
                Retry::Wait(delay) => {
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    attempt += 1;
                }
                Retry::GiveUp => {
                    return match outcome {
                        Ok(r) => Err(Error::RetriesExhausted {
                            url: redact(&req.url),
                            attempts: attempt + 1,
                            status: r.status.as_u16(),
                        }),
                        Err(e) => Err(e),
                    };
                }
                Retry::TooLong { limit_name, limit } => {
                    return match outcome {
                        Ok(r) => Err(Error::RetryAfterTooLong {
                            url: r.url.clone(),
                            status: r.status.as_u16(),
                            retry_after: truncated(r.header("retry-after").unwrap_or(""))
                                .into_owned(),
                            limit_name,
                            limit,
                        }),
                        Err(e) => Err(e),
                    };
                }
            }
        }
    }

    async fn send_once(&self, req: &Request<'_>, auth: Option<&str>) -> Result<Response, Error> {
        let mut builder = self.http.request(req.method.clone(), &req.url);
        for (name, value) in &req.headers {
            let v = HeaderValue::from_str(value).map_err(|_| Error::InvalidResponse {
                url: redact(&req.url),
                reason: format!("header {name} has an invalid value"),
            })?;
            builder = builder.header(name, v);
        }
        if let Some(a) = auth {
            let mut v = HeaderValue::from_str(a).map_err(|_| Error::InvalidResponse {
                url: redact(&req.url),
                reason: "the credentials are not a valid header value".to_owned(),
            })?;
            v.set_sensitive(true);
            builder = builder.header(header::AUTHORIZATION, v);
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder.send().await.map_err(|e| Error::Http {
            url: redact(&req.url),
            source: e.without_url(),
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = redact(resp.url().as_str());
        let answered_by = Host::of(resp.url());
        if let Some(len) = resp.content_length()
            && len > req.limit
            && status.is_success()
        {
            return Err(Error::BodyTooLarge {
                url,
                limit: req.limit,
            });
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > req.limit {
                        if !status.is_success() {
                            break;
                        }
                        return Err(Error::BodyTooLarge {
                            url,
                            limit: req.limit,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Error::Http {
                        url,
                        source: e.without_url(),
                    });
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            url,
            answered_by,
        })
    }
}

/// Refuse to send `req.host`'s credentials to the token service `realm`
/// unless [`check_realm`] allows it.
fn check_realm_of(req: &Request<'_>, realm: &str) -> Result<(), Error> {
    let registry = Url::parse(&req.url).ok();
    let refuse = |reason| Error::RealmRefused {
        registry: registry
            .as_ref()
            .and_then(Host::of)
            .map_or_else(|| req.host.to_owned(), |h| h.to_string()),
        realm: truncated(&redact(realm)).into_owned(),
        reason,
    };
    let realm_url = Url::parse(realm).map_err(|_| refuse("it is not a URL"))?;
    let registry = registry
        .as_ref()
        .ok_or_else(|| refuse("the request URL does not parse"))?;
    check_realm(registry, &realm_url).map_err(refuse)
}

/// What to do after an answer that may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Wait this long, then try again.
    Wait(Duration),
    /// No retries left (or no time left for the computed backoff).
    GiveUp,
    /// The server's `Retry-After` is beyond the named bound.
    TooLong {
        limit_name: &'static str,
        limit: Duration,
    },
}

/// The decision after failed attempt number `attempt` (0-based), having
/// waited `waited` so far and been told `retry_after`: a `Retry-After`
/// longer than `max_backoff`, or than what is left of `max_retry_wait`, is
/// not waited for at all (retrying sooner than asked only earns another
/// refusal).
fn next_retry(
    opts: &Options,
    attempt: u32,
    waited: Duration,
    retry_after: Option<Duration>,
) -> Retry {
    if attempt >= opts.max_retries {
        return Retry::GiveUp;
    }
    let left = opts.max_retry_wait.saturating_sub(waited);
    match retry_after {
        Some(ra) if ra > opts.max_backoff => Retry::TooLong {
            limit_name: "max_backoff",
            limit: opts.max_backoff,
        },
        Some(ra) if ra > left => Retry::TooLong {
            limit_name: "max_retry_wait",
            limit: left,
        },
        Some(ra) => Retry::Wait(ra),
        None => {
            let backoff = opts
                .initial_backoff
                .saturating_mul(1u32 << attempt.min(16))
                .min(opts.max_backoff);
            if backoff > left {
                Retry::GiveUp
            } else {
                Retry::Wait(backoff)
            }
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED
}

pub(crate) use gitops_core::url::redact;

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in
/// the past means "now". Anything else is ignored (the computed backoff applies).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[fe80::1]:1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("https://u:p@host/x@y"), "https://host/x@y");
        assert_eq!(redact("https://host/a"), "https://host/a");
    }

    #[test]
    fn retry_waits_are_bounded() {
        let opts =
            Options::default().with_retries(3, Duration::from_millis(100), Duration::from_secs(30));
        let secs = Duration::from_secs;
        // Computed backoff doubles.
        assert_eq!(
            next_retry(&opts, 1, Duration::ZERO, None),
            Retry::Wait(Duration::from_millis(200))
        );
        assert_eq!(next_retry(&opts, 3, Duration::ZERO, None), Retry::GiveUp);
        // Retry-After within bounds is honoured as asked.
        assert_eq!(
            next_retry(&opts, 0, Duration::ZERO, Some(secs(7))),
            Retry::Wait(secs(7))
        );
        // 999999 s (or a date years ahead): not waited for at all.
        assert_eq!(
            next_retry(&opts, 0, Duration::ZERO, Some(secs(999_999))),
            Retry::TooLong {
                limit_name: "max_backoff",
                limit: secs(30)
            }
        );
        // The sum of the waits is bounded too.
        assert_eq!(
            next_retry(&opts, 2, secs(50), Some(secs(20))),
            Retry::TooLong {
                limit_name: "max_retry_wait",
                limit: secs(10)
            }
        );
        let tight = opts.clone().with_max_retry_wait(Duration::from_millis(150));
        assert_eq!(
            next_retry(&tight, 1, Duration::from_millis(100), None),
            Retry::GiveUp
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        // A date in the past: retry now.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).expect("a date");
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
