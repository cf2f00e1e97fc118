//! Which submodule URLs a recursive checkout follows.
//!
//! A `.gitmodules` file is input from whoever controls the superproject.
//! Git guards submodule fetches with `protocol.<name>.allow`: `http`,
//! `https`, `ssh` and `git` are `always` allowed, `ext` is `never`, and
//! `file` (since 2.38.1, CVE-2022-39253) and every remote helper are
//! `user`, which `git submodule` turns off by running its fetches with
//! `GIT_PROTOCOL_FROM_USER=0`. Without that rule a remote repository whose
//! `.gitmodules` says `url = file:///srv/secret.git` (or `/srv/secret.git`)
//! copies a local repository into the checkout.
//!
//! The rule here, decided by [`check`] for the URL [`resolve`] gives:
//!
//! - `https`, `http`, `ssh` (with the scp-like `user@host:path`) and `git`
//!   are followed;
//! - local repositories — `file://` and `file:` URLs, absolute paths, bare
//!   paths, and relative URLs resolved against a local superproject — are
//!   followed only when the superproject is itself local: they reach
//!   nothing its owner could not already read. This is looser than Git,
//!   which refuses them under a local superproject as well;
//! - `ext::` (runs a command), `fd::`, every other `<helper>::` or unknown
//!   `<scheme>://` transport, and URLs that start with `-` or hold control
//!   characters (read as options or split by the transport) are never
//!   followed;
//! - a relative URL may not climb above the host (or the root) of its
//!   superproject's URL.
//!
//! Submodule paths come from the superproject's tree, whose entry names are
//! checked while it is written (no `..`, no `.git`, no separators);
//! [`check_path`] checks the whole path again before anything is fetched
//! into it.

/// How a URL would be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A repository on this machine (`file://`, `file:`, a path).
    Local,
    /// A network transport: `https`, `http`, `ssh`, `git`.
    Remote,
}

/// The transport of `url`, or why it is never followed.
pub(crate) fn transport(url: &str) -> Result<Transport, &'static str> {
    if url.is_empty() {
        return Err("empty url");
    }
    if url.starts_with('-') {
        return Err("starts with '-' (would be read as an option)");
    }
    if url.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    let parsed = gix::url::parse(url).map_err(|_| "not a valid git url")?;
    let dash = |part: Option<&str>| part.is_some_and(|p| p.starts_with('-'));
    if dash(parsed.host()) || dash(parsed.user()) {
        return Err("host or user starts with '-' (would be read as an option)");
    }
    // `file:/srv/r.git` parses as scp-like `host:path`; git reads it as a
    // local path on some platforms. Either way it is not remote.
    let scheme_is_file = url
        .split_once(':')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("file"));
    use gix::url::Scheme;
    match parsed.scheme {
        _ if scheme_is_file => Ok(Transport::Local),
        Scheme::File => Ok(Transport::Local),
        Scheme::Https | Scheme::Http | Scheme::Ssh | Scheme::Git => Ok(Transport::Remote),
        Scheme::Ext => Err("the ext:: transport runs a command"),
        Scheme::Helper(_) => Err("remote helper transports (<helper>::<address>) are not followed"),
        Scheme::HelperUrl(_) => Err(
            "unsupported scheme (allowed: https, http, ssh, git; file under a local superproject)",
        ),
    }
}

/// Whether a submodule at `url` (already [`resolve`]d) may be fetched for a
/// superproject fetched from `parent`.
pub(crate) fn check(parent: &str, url: &str) -> Result<(), &'static str> {
    match transport(url)? {
        Transport::Remote => Ok(()),
        Transport::Local if transport(parent) == Ok(Transport::Local) => Ok(()),
        Transport::Local => Err(
            "a remote repository may not have local submodules (file:// urls and paths are followed only under a local superproject)",
        ),
    }
}

/// Where the scheme and host of `url` end and its path begins.
fn path_start(url: &str) -> usize {
    if let Some(i) = url.find("://") {
        let rest = &url[i + 3..];
        return i + 3 + rest.find('/').unwrap_or(rest.len());
    }
    match transport(url) {
        // scp-like `user@host:path`: the path starts after the colon.
        Ok(Transport::Remote) => url.find(':').map_or(0, |i| i + 1),
        _ => usize::from(url.starts_with('/')),
    }
}

/// Resolve a submodule URL against its superproject's URL, as git does:
/// `./x` is below the superproject's URL, each `../` removes one path
/// component from it. Other URLs are returned as they are.
///
/// Refused: relative URLs that climb above the host (or the root) of
/// `parent`.
pub(crate) fn resolve(parent: &str, sub: &str) -> Result<String, &'static str> {
    if !(sub.starts_with("./") || sub.starts_with("../")) {
        return Ok(sub.to_owned());
    }
    let trimmed = parent.trim_end_matches('/');
    let start = path_start(trimmed).min(trimmed.len());
    let (prefix, path) = trimmed.split_at(start);
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut rest = sub;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            rest = r;
            if parts.pop().is_none() {
                return Err("relative url climbs above its superproject's host or root");
            }
        } else {
            break;
        }
    }
    let rest = rest.trim_start_matches('/');
    let mut out = prefix.to_owned();
    for p in parts
        .iter()
        .copied()
        .chain((!rest.is_empty()).then_some(rest))
    {
        // No separator after nothing, the root `/` or an scp-like `host:`.
        if !out.is_empty() && out != "/" && !out.ends_with(':') {
            out.push('/');
        }
        out.push_str(p);
    }
    Ok(out)
}

/// Whether `path` (from the superproject's tree) stays inside the work
/// tree: relative, no empty, `.` or `..` components, no `.git` (any case).
pub(crate) fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.starts_with('/') {
        return Err("not a relative path");
    }
    for c in path.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err("empty, `.` or `..` component");
        }
        if c.eq_ignore_ascii_case(".git") {
            return Err("`.git` component");
        }
        if c.contains('\\') || c.contains('\0') {
            return Err("separator or NUL in a component");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving() {
        let ok = |p, s| resolve(p, s).unwrap();
        assert_eq!(
            ok("file:///srv/a/super.git", "../sub.git"),
            "file:///srv/a/sub.git"
        );
        assert_eq!(
            ok("https://h/org/super/", "./sub"),
            "https://h/org/super/sub"
        );
        assert_eq!(ok("https://h/org/super", "git://x/y"), "git://x/y");
        assert_eq!(
            ok("https://h/org/super.git", "../../x.git"),
            "https://h/x.git"
        );
        assert_eq!(ok("git@h:org/super.git", "../sub.git"), "git@h:org/sub.git");
        assert_eq!(ok("git@h:super.git", "../sub.git"), "git@h:sub.git");
        assert_eq!(ok("/srv/a/super.git", "../sub.git"), "/srv/a/sub.git");
        assert_eq!(ok("srv/super.git", "../sub.git"), "srv/sub.git");
        let climb = "relative url climbs above its superproject's host or root";
        assert_eq!(resolve("https://h/a.git", "../../etc"), Err(climb));
        assert_eq!(resolve("git://h:9418/a.git", "../../../x"), Err(climb));
        assert_eq!(resolve("git@h:a.git", "../../x"), Err(climb));
        assert_eq!(resolve("/a.git", "../../x"), Err(climb));
    }

    #[test]
    fn transports() {
        use Transport::*;
        for local in [
            "file:///srv/r.git",
            "FILE:///srv/r.git",
            "file:/srv/r.git",
            "file:r.git",
            "/srv/r.git",
            "./r.git",
            "../r.git",
            "srv/r.git",
            "r.git",
        ] {
            assert_eq!(transport(local), Ok(Local), "{local}");
        }
        for remote in [
            "https://h/r.git",
            "http://h/r.git",
            "ssh://git@h/r.git",
            "git@h:org/r.git",
            "h:r.git",
            "git://h/r.git",
        ] {
            assert_eq!(transport(remote), Ok(Remote), "{remote}");
        }
        for (never, why) in [
            ("ext::sh -c touch% /tmp/x", "ext::"),
            ("ext://h/r", "ext::"),
            ("fd::17", "remote helper"),
            ("codecommit::eu-west-1://r", "remote helper"),
            ("gopher://h/r", "unsupported scheme"),
            ("-uhelp", "'-'"),
            ("ssh://-oProxyCommand=x/r", "'-'"),
            ("ssh://-x@h/r", "'-'"),
            ("https://h/r\nx", "control"),
            ("", "empty"),
        ] {
            let err = transport(never).unwrap_err();
            assert!(err.contains(why), "{never:?}: {err}");
        }
    }

    #[test]
    fn policy() {
        assert!(check("https://h/super.git", "https://h/sub.git").is_ok());
        assert!(check("https://h/super.git", "file:///srv/sub.git").is_err());
        assert!(check("git@h:super.git", "/srv/sub.git").is_err());
        assert!(check("git://h/super.git", "sub.git").is_err());
        assert!(check("/srv/super.git", "/srv/sub.git").is_ok());
        assert!(check("file:///srv/super.git", "file:///srv/sub.git").is_ok());
        assert!(check("/srv/super.git", "ext::sh -c x").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(check_path("vendor/lib"), Ok(()));
        for bad in [
            "", "/abs", "a/../b", "..", "a/.git", ".GIT/x", "a//b", "./a",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
