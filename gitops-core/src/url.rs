//! Removing credentials from URLs before they are shown.
//!
//! Every URL that goes into an error, a log line, a report or a commit goes
//! through [`redact`] first, so user names, passwords and tokens in the user
//! info never leave the process.

/// Schemes whose user name is a login, not a secret (`ssh://git@host/…`).
const SSH_SCHEMES: &[&str] = &["ssh", "git+ssh", "ssh+git"];

/// `url` without the secrets of its user info.
///
/// - `scheme://user:password@host/…` → `scheme://host/…`: the whole user
///   info goes, since a user name alone is often a token
///   (`https://ghp_…@github.com/…`).
/// - For SSH (`ssh://`, `git+ssh://`, `ssh+git://`) and scp-like addresses
///   (`git@github.com:org/repo`), the user name is kept and only a password
///   goes: `ssh://git:pw@host/r` → `ssh://git@host/r`.
/// - The authority ends at the first `/`, `?` or `#`, so an `@` in the path,
///   query or fragment is left alone (`https://host/x@y`).
/// - When the authority is not a valid `host[:port]` (say, a password with
///   an unencoded `/` or `#`), everything up to the `@` that ends the user
///   info is dropped rather than shown.
/// - Anything else (local paths, `file:///…`, URLs without user info) is
///   returned unchanged.
///
/// ```
/// use gitops_core::url::redact;
///
/// assert_eq!(redact("https://bot:s3cret@example.com/o/r.git"), "https://example.com/o/r.git");
/// assert_eq!(redact("ssh://git@example.com/o/r.git"), "ssh://git@example.com/o/r.git");
/// assert_eq!(redact("git@example.com:o/r.git"), "git@example.com:o/r.git");
/// assert_eq!(redact("/srv/repo.git"), "/srv/repo.git");
/// ```
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => redact_hierarchical(scheme, rest),
        None => redact_scp(url).unwrap_or_else(|| url.to_owned()),
    }
}

fn is_ssh(scheme: &str) -> bool {
    SSH_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme))
}

/// The user name of `userinfo`, when it is worth keeping.
fn login(userinfo: &str) -> Option<&str> {
    let user = userinfo.split(':').next().unwrap_or_default();
    (!user.is_empty()).then_some(user)
}

fn redact_hierarchical(scheme: &str, rest: &str) -> String {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if let Some((userinfo, host)) = authority.rsplit_once('@') {
        return match login(userinfo).filter(|_| is_ssh(scheme)) {
            Some(user) => format!("{scheme}://{user}@{host}{tail}"),
            None => format!("{scheme}://{host}{tail}"),
        };
    }
    if is_host_port(authority) {
        return format!("{scheme}://{rest}");
    }
    // Not a valid authority: the user info may hold an unencoded `/`, `?`
    // or `#`. Drop everything up to the last `@` before the end of the
    // host that follows the first `@`.
    let Some(first) = rest.find('@') else {
        return format!("{scheme}://{rest}");
    };
    let host_end = rest[first..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |i| first + i);
    let cut = rest[..host_end].rfind('@').unwrap_or(first);
    format!("{scheme}://{}", &rest[cut + 1..])
}

/// Whether `authority` (without user info) is `host`, `host:port` or
/// `[ipv6]:port`, possibly empty (`file:///…`).
fn is_host_port(authority: &str) -> bool {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        match inner.split_once(']') {
            Some((_, "")) => return true,
            Some((_, after)) => match after.strip_prefix(':') {
                Some(port) => ("", port),
                None => return false,
            },
            None => return false,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (authority, ""),
        }
    };
    port.bytes().all(|b| b.is_ascii_digit())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b))
}

/// `[user[:password]@]host:path` (scp-like, as git reads it) with the
/// password removed; `None` when `url` is not of that form.
fn redact_scp(url: &str) -> Option<String> {
    let head = &url[..url.find('/').unwrap_or(url.len())];
    // The user info ends at the last `@` that a `:` still follows (a
    // password may hold an `@`; a path after the `:` may too).
    let at = head
        .match_indices('@')
        .map(|(i, _)| i)
        .rev()
        .find(|&i| head[i + 1..].contains(':'))?;
    let (userinfo, rest) = (&url[..at], &url[at + 1..]);
    Some(match login(userinfo) {
        Some(user) => format!("{user}@{rest}"),
        None => rest.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn scp_passwords_with_at_signs_never_show() {
        assert_eq!(redact("u:p@ss@host:org/r.git"), "u@host:org/r.git");
        assert_eq!(redact("git@host:org@x/r.git"), "git@host:org@x/r.git");
        assert_eq!(redact("git@host:r.git"), "git@host:r.git");
    }

    #[test]
    fn user_info_is_dropped() {
        for (url, want) in [
            ("https://u:p@host/x", "https://host/x"),
            (
                "https://x-access-token:abc@github.com/o/r",
                "https://github.com/o/r",
            ),
            ("https://tok@h/r", "https://h/r"),
            ("https://:tok@h/r", "https://h/r"),
            ("https://@h/r", "https://h/r"),
            ("mem://bot:s3cr3t-token@host/repo", "mem://host/repo"),
            ("https://u:p@host", "https://host"),
            ("https://u:p@host:8443/r", "https://host:8443/r"),
            ("https://u:p@[::1]:5000/v2/", "https://[::1]:5000/v2/"),
            ("HTTPS://u:p@host/r", "HTTPS://host/r"),
            ("git://u:p@h/r.git", "git://h/r.git"),
            ("https://u%40x:p%3Aw@h/r", "https://h/r"),
        ] {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn at_signs_in_user_info_are_all_dropped() {
        assert_eq!(redact("https://me@corp:p@ss@h/r"), "https://h/r");
    }

    #[test]
    fn at_signs_after_the_authority_are_kept() {
        for (url, want) in [
            ("https://u:p@host/x@y", "https://host/x@y"),
            ("https://host/x@y", "https://host/x@y"),
            ("https://host/@scope/pkg", "https://host/@scope/pkg"),
            ("https://host?to=a@b", "https://host?to=a@b"),
            ("https://host#a@b", "https://host#a@b"),
            ("https://u:p@host?to=a@b", "https://host?to=a@b"),
        ] {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn ssh_keeps_the_login_but_not_the_password() {
        for (url, want) in [
            ("ssh://git@h/r.git", "ssh://git@h/r.git"),
            ("ssh://git:pw@h/r.git", "ssh://git@h/r.git"),
            ("ssh://:pw@h/r.git", "ssh://h/r.git"),
            ("git+ssh://git:pw@h:22/r", "git+ssh://git@h:22/r"),
            ("ssh+git://git@h/r", "ssh+git://git@h/r"),
            ("SSH://git:pw@h/r", "SSH://git@h/r"),
        ] {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn scp_like_addresses() {
        for (url, want) in [
            ("git@github.com:org/repo", "git@github.com:org/repo"),
            ("git@github.com:org/re@po", "git@github.com:org/re@po"),
            ("git:pw@github.com:org/repo", "git@github.com:org/repo"),
            (":pw@github.com:org/repo", "github.com:org/repo"),
            ("github.com:org/repo", "github.com:org/repo"),
        ] {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn without_user_info_nothing_changes() {
        for url in [
            "https://host/a",
            "git://h/r.git",
            "file:///srv/repo.git",
            "/srv/repo.git",
            "./a@b:c",
            "/srv/a@b:c",
            "relative/dir",
            "",
            "https://",
            "oci://ghcr.io/o/chart",
            "https://host:8443/r?access=1",
            "https://[::1]/r",
        ] {
            assert_eq!(redact(url), url);
        }
    }

    #[test]
    fn invalid_authorities_never_show_the_user_info() {
        for (url, want) in [
            ("https://u:p/w@h/r", "https://h/r"),
            ("https://u:p#w@h/r", "https://h/r"),
            ("https://u:p?w@h/r", "https://h/r"),
            ("https://u:p/w@x@h/r@s", "https://h/r@s"),
            ("https://u p:w/x@h", "https://h"),
            ("ssh://git:p/w@h/r", "ssh://h/r"),
        ] {
            let got = redact(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("u:p") && !got.contains(":p/w"), "{got}");
        }
    }

    #[test]
    fn the_password_never_survives() {
        for url in [
            "https://bot:hunter2@h/r",
            "ssh://git:hunter2@h/r",
            "git:hunter2@h:r",
            "https://bot:hunter2/x@h/r",
            "https://bot:hunter2#x@h/r",
            "https://bot:hunter2@h:1?q=a@b",
        ] {
            assert!(!redact(url).contains("hunter2"), "{url}");
        }
    }
}
