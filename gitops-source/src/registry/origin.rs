//! Which host a URL belongs to, and where a registry's credentials and tag
//! page links may lead.
//!
//! A *host* is a URL's host name (lowercased and IDNA-normalised by URL
//! parsing) together with its effective port: the explicit port, else the
//! scheme's default. Over HTTPS `registry.example` and
//! `registry.example:443` are one host; `127.0.0.1:5000` and
//! `127.0.0.1:5001` are two, and so are `127.0.0.1` and `127.0.0.2`. This is
//! how containerd keys credentials and authentication challenges (by Go's
//! `URL.Host`, `host[:port]`), how Docker's `config.json` keys credentials
//! (`host[:port]`), and what Go's `net/http` and reqwest compare before they
//! keep `Authorization` across a redirect.
//!
//! The rules:
//! - a token service (`WWW-Authenticate: Bearer realm=…`) receives the
//!   registry's credentials when it is on the registry's host over the
//!   registry's scheme, or anywhere over HTTPS; a plain-HTTP realm on another
//!   host is refused ([`check_realm`]);
//! - tag list pages are read from the registry's scheme and host only
//!   ([`next_page_url`]);
//! - a challenge from a host a request was redirected to is not answered with
//!   the registry's credentials ([`same_host`]).

use std::fmt;

use reqwest::Url;

/// A URL's host name and effective port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    name: String,
    port: Option<u16>,
}

impl Host {
    /// The host of `url`; `None` for URLs without one.
    pub(crate) fn of(url: &Url) -> Option<Host> {
        Some(Host {
            name: url.host()?.to_string(),
            port: url.port_or_known_default(),
        })
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// True when `a` and `b` are on the same host (name and effective port).
pub(crate) fn same_host(a: &Url, b: &Url) -> bool {
    matches!((Host::of(a), Host::of(b)), (Some(x), Some(y)) if x == y)
}

/// Whether the credentials of the registry at `registry` may be sent to the
/// token service `realm`: yes on the registry's own host and scheme, or over
/// HTTPS. The error says why not.
pub(crate) fn check_realm(registry: &Url, realm: &Url) -> Result<(), &'static str> {
    match realm.scheme() {
        "https" => Ok(()),
        "http" if registry.scheme() == "http" && same_host(registry, realm) => Ok(()),
        "http" => Err(
            "it is plain HTTP on another host than the registry; credentials leave the \
             registry's host only over HTTPS",
        ),
        _ => Err("it is not an HTTP(S) URL"),
    }
}

/// The next tag page that `link` (a `Link: <…>; rel="next"` target, absolute
/// or relative to the `page` it came with) names, if it stays on the
/// registry's scheme and host (`registry`). The error says why not.
pub(crate) fn next_page_url(registry: &Url, page: &Url, link: &str) -> Result<Url, &'static str> {
    let next = page.join(link).map_err(|_| "it is not a URL")?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err("it is not an HTTP(S) URL");
    }
    if next.scheme() != registry.scheme() || !same_host(registry, &next) {
        return Err("it leaves the registry's host; pages are read from that host only");
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a URL")
    }

    #[test]
    fn hosts_compare_name_and_effective_port() {
        assert!(same_host(
            &url("https://Registry.Example/v2/"),
            &url("https://registry.example:443/token")
        ));
        assert!(!same_host(
            &url("http://127.0.0.1:5000/v2/"),
            &url("http://127.0.0.1:5001/v2/")
        ));
        assert!(!same_host(
            &url("http://127.0.0.1:5000/"),
            &url("http://127.0.0.2:5000/")
        ));
        // Same name, default ports of two schemes: two hosts.
        assert!(!same_host(
            &url("https://r.example/"),
            &url("http://r.example/")
        ));
        assert_eq!(
            Host::of(&url("http://[::1]:5000/x"))
                .expect("host")
                .to_string(),
            "[::1]:5000"
        );
        assert_eq!(
            Host::of(&url("https://ghcr.io/v2/"))
                .expect("host")
                .to_string(),
            "ghcr.io:443"
        );
    }

    #[test]
    fn realms() {
        let local = url("http://127.0.0.1:5000/v2/a/tags/list");
        let remote = url("https://registry.example/v2/a/tags/list");
        // The registry's own host, plain HTTP like the registry: allowed.
        assert_eq!(
            check_realm(&local, &url("http://127.0.0.1:5000/token")),
            Ok(())
        );
        // HTTPS anywhere: allowed (Docker Hub's auth.docker.io).
        assert_eq!(
            check_realm(&remote, &url("https://auth.example/token")),
            Ok(())
        );
        assert_eq!(check_realm(&local, &url("https://127.0.0.2/token")), Ok(()));
        // Plain HTTP on another host, another port, or downgraded: refused.
        for realm in [
            "http://127.0.0.2:5000/token",
            "http://127.0.0.1:5001/token",
            "http://auth.example/token",
        ] {
            let err = check_realm(&local, &url(realm)).expect_err(realm);
            assert!(err.contains("only over HTTPS"), "{err}");
        }
        assert!(check_realm(&remote, &url("http://registry.example/token")).is_err());
        assert!(check_realm(&remote, &url("http://registry.example:443/token")).is_err());
        assert_eq!(
            check_realm(&remote, &url("ftp://registry.example/token")),
            Err("it is not an HTTP(S) URL")
        );
    }

    #[test]
    fn page_links() {
        let reg = url("http://127.0.0.1:5000");
        let page = url("http://127.0.0.1:5000/v2/a/tags/list?n=2");
        let next = |link: &str| next_page_url(&reg, &page, link).map(|u| u.to_string());
        assert_eq!(
            next("/v2/a/tags/list?last=b&n=2").as_deref(),
            Ok("http://127.0.0.1:5000/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next("list?last=b").as_deref(),
            Ok("http://127.0.0.1:5000/v2/a/tags/list?last=b")
        );
        assert_eq!(
            next("http://127.0.0.1:5000/v2/a/tags/list?last=c").as_deref(),
            Ok("http://127.0.0.1:5000/v2/a/tags/list?last=c")
        );
        for link in [
            "http://127.0.0.2:5000/v2/a/tags/list?last=b",
            "http://127.0.0.1:5001/v2/a/tags/list?last=b",
            "https://127.0.0.1:5000/v2/a/tags/list?last=b",
            "//evil.example/v2/a/tags/list",
        ] {
            assert!(next(link).unwrap_err().contains("leaves"), "{link}");
        }
        assert_eq!(next("file:///etc/passwd"), Err("it is not an HTTP(S) URL"));
    }
}
