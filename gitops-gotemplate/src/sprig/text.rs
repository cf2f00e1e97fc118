//! Go library behaviour behind Sprig's string helpers: `xstrings` case
//! conversions, the `path` package, and `net/url` parsing and printing.

use crate::fmt::go_quote;

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || r.is_whitespace()
}

/// Go's `unicode.ToUpper` (one rune).
fn upper(c: char) -> char {
    let mut m = c.to_uppercase();
    match (m.next(), m.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn lower(c: char) -> char {
    let mut m = c.to_lowercase();
    match (m.next(), m.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// xstrings v1.5 `ToPascalCase` (Sprig's `camelcase`).
pub(crate) fn pascal_case(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut r0 = None;
    let mut first_upper = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = Some(upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = upper(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_punct(c: char) -> bool {
    // Go's unicode.IsPunct: the P categories; ASCII approximated exactly.
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && c.len_utf8() > 0 && {
        // Common general punctuation block.
        ('\u{2010}'..='\u{2027}').contains(&c) || ('\u{3001}'..='\u{3003}').contains(&c)
    }
}

fn is_alphabet(c: char) -> bool {
    c.is_ascii_alphabetic()
}

/// xstrings `nextWord`: (type, word, remaining).
fn next_word(s: &str) -> (Word, &str, &str) {
    let Some(r) = s.chars().next() else {
        return (Word::Invalid, "", "");
    };
    let take_while = |start: usize, f: &dyn Fn(char) -> bool| {
        let mut end = start;
        for c in s[start..].chars() {
            if !f(c) {
                break;
            }
            end += c.len_utf8();
        }
        end
    };
    let first = r.len_utf8();
    let (wt, end) = if is_connector(r) {
        (Word::Connector, take_while(first, &is_connector))
    } else if is_punct(r) {
        (Word::Punct, take_while(first, &is_punct))
    } else if r.is_uppercase() {
        let rest = &s[first..];
        match rest.chars().next() {
            None => (Word::Upper, first),
            Some(n) if n.is_uppercase() => {
                // A run of capitals; "HTTPStatus" splits before the "S".
                let mut end = first;
                let mut prev = 0;
                let mut stopped_on_alpha = false;
                for c in rest.chars() {
                    if !c.is_uppercase() {
                        stopped_on_alpha = is_alphabet(c);
                        break;
                    }
                    prev = c.len_utf8();
                    end += prev;
                }
                if end < s.len() && stopped_on_alpha {
                    end -= prev;
                }
                (Word::Upper, end)
            }
            Some(n) if is_alphabet(n) => (
                Word::Upper,
                take_while(first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
            ),
            Some(_) => (Word::Upper, first),
        }
    } else if is_alphabet(r) {
        (
            Word::Alphabet,
            take_while(first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if r.is_numeric() {
        (Word::Number, take_while(first, &char::is_numeric))
    } else {
        (
            Word::Other,
            take_while(first, &|c: char| {
                !(is_connector(c)
                    || is_punct(c)
                    || c.is_uppercase()
                    || is_alphabet(c)
                    || c.is_numeric())
            }),
        )
    };
    (wt, &s[..end], &s[end..])
}

fn to_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt == Word::Connector {
        for _ in word.chars() {
            out.push(connector);
        }
        return;
    }
    if wt == Word::Upper {
        out.extend(word.chars().map(lower));
    } else {
        out.push_str(word);
    }
}

/// xstrings `ToSnakeCase` / `ToKebabCase`.
pub(crate) fn lower_case(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            to_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => to_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    to_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                to_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    to_lower(&mut out, wt, word, connector);
    out
}

/// Go's `path.Clean`.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let p = path.as_bytes();
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out[out.len() - 1] != b'/' {
                    out.pop();
                }
                // Drop the separator before the removed element.
                if out.len() > dotdot {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".into();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `path.Base`.
pub(crate) fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return "/".into();
    }
    p.rsplit('/').next().unwrap_or(p).to_string()
}

/// Go's `path.Dir`.
pub(crate) fn dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    clean(&path[..cut])
}

/// Go's `path.Ext`.
pub(crate) fn ext(path: &str) -> String {
    for (i, c) in path.bytes().enumerate().rev() {
        if c == b'/' {
            break;
        }
        if c == b'.' {
            return path[i..].to_string();
        }
    }
    String::new()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Enc) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Enc::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Enc::Path => c == b'?',
                Enc::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Enc::Fragment => false,
                Enc::Host => true,
            };
        }
        _ => {}
    }
    !(mode == Enc::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

fn escape(s: &str, mode: Enc) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

fn unescape(s: &str, mode: Enc) -> Result<String, String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {}",
                        go_quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                }
                let hi = char::from(b[i + 1]).to_digit(16).unwrap_or(0);
                if mode == Enc::Host && hi < 8 && &s[i..i + 3] != "%25" {
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..i + 3])));
                }
                i += 3;
            }
            c => {
                if mode == Enc::Host && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        go_quote(&s[i..=i])
                    ));
                }
                i += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = |c: u8| char::from(c).to_digit(16).map_or(0, |d| d as u8);
            out.push(h(b[i + 1]) << 4 | h(b[i + 2]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The parts of a URL Sprig's `urlParse` returns.
#[derive(Debug, Default)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    pub(crate) opaque: String,
    /// `(user, password)`.
    pub(crate) user: Option<(String, Option<String>)>,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) omit_host: bool,
    pub(crate) force_query: bool,
    pub(crate) raw_query: String,
    pub(crate) fragment: String,
}

fn valid_port(p: &str) -> bool {
    p.is_empty() || (p.starts_with(':') && p[1..].bytes().all(|c| c.is_ascii_digit()))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[i + 1..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    } else if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    }
    unescape(host, Enc::Host)
}

fn parse_inner(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut u = Url::default();
    if raw == "*" {
        u.path = "*".into();
        return Ok(u);
    }
    let mut rest = raw;
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                u.scheme = raw[..i].to_ascii_lowercase();
                rest = &raw[i + 1..];
                break;
            }
            _ => break,
        }
    }
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        u.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        rest = r;
        u.raw_query = q.to_string();
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest.to_string();
            return Ok(u);
        }
        if rest.split('/').next().unwrap_or("").contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let (authority, r) = match rest[2..].find('/') {
            Some(i) => (&rest[2..2 + i], &rest[2 + i..]),
            None => (&rest[2..], ""),
        };
        rest = r;
        match authority.rfind('@') {
            None => u.host = parse_host(authority)?,
            Some(i) => {
                u.host = parse_host(&authority[i + 1..])?;
                let info = &authority[..i];
                if !info
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
                {
                    return Err("net/url: invalid userinfo".into());
                }
                u.user = Some(match info.split_once(':') {
                    None => (unescape(info, Enc::UserPassword)?, None),
                    Some((n, p)) => (
                        unescape(n, Enc::UserPassword)?,
                        Some(unescape(p, Enc::UserPassword)?),
                    ),
                });
            }
        }
    } else if !u.scheme.is_empty() && rest.starts_with('/') {
        u.omit_host = true;
    }
    u.path = unescape(rest, Enc::Path)?;
    Ok(u)
}

/// Go's `url.Parse`, with its error text (`parse "x": …`).
pub(crate) fn parse_url(raw: &str) -> Result<Url, String> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut url = parse_inner(u).map_err(|e| format!("parse {}: {e}", go_quote(u)))?;
    if !frag.is_empty() {
        url.fragment =
            unescape(frag, Enc::Fragment).map_err(|e| format!("parse {}: {e}", go_quote(raw)))?;
    }
    Ok(url)
}

impl Url {
    /// `Userinfo.String()`.
    pub(crate) fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((n, p)) => {
                let mut s = escape(n, Enc::UserPassword);
                if let Some(p) = p {
                    s.push(':');
                    s.push_str(&escape(p, Enc::UserPassword));
                }
                s
            }
        }
    }

    /// `URL.Hostname()`.
    pub(crate) fn hostname(&self) -> String {
        let mut host = self.host.as_str();
        if let Some(i) = host.rfind(':')
            && valid_port(&host[i..])
        {
            host = &host[..i];
        }
        if host.starts_with('[') && host.ends_with(']') {
            host = &host[1..host.len() - 1];
        }
        host.to_string()
    }

    /// `URL.String()`.
    pub(crate) fn to_go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if self.opaque.is_empty() {
            let has_authority =
                !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            let omit = self.omit_host && self.host.is_empty() && self.user.is_none();
            if has_authority && !omit {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if self.user.is_some() {
                    buf.push_str(&self.userinfo());
                    buf.push('@');
                }
                if !self.host.is_empty() {
                    buf.push_str(&escape(&self.host, Enc::Host));
                }
            }
            let path = escape(&self.path, Enc::Path);
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        } else {
            buf.push_str(&self.opaque);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&escape(&self.fragment, Enc::Fragment));
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xstrings_cases() {
        for (i, want) in [
            ("http_server", "HttpServer"),
            ("_camel_case", "_CamelCase"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("all", "All"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
            ("some words", "SomeWords"),
            ("", ""),
            ("a", "A"),
        ] {
            assert_eq!(pascal_case(i), want, "{i}");
        }
        for (i, want) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
            ("a", "a"),
        ] {
            assert_eq!(lower_case(i, '_'), want, "{i}");
        }
        assert_eq!(lower_case("FirstName", '-'), "first-name");
    }

    #[test]
    fn paths_like_go() {
        for (i, want) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a/", "../../a"),
            ("a/./b//c/", "a/b/c"),
            ("/", "/"),
            ("a/..", "."),
            ("abc/def/../..", "."),
        ] {
            assert_eq!(clean(i), want, "{i}");
        }
        assert_eq!(base("foo/bar/"), "bar");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("foo/bar/baz"), "foo/bar");
        assert_eq!(dir("baz"), ".");
        assert_eq!(ext("foo.bar/baz.tar.gz"), ".gz");
        assert_eq!(ext("foo.bar/baz"), "");
    }

    #[test]
    fn urls_like_go() {
        let u = parse_url("proto://auth@host:80/path?query#fragment").unwrap();
        assert_eq!(
            (
                u.scheme.as_str(),
                u.host.as_str(),
                u.hostname().as_str(),
                u.path.as_str(),
                u.raw_query.as_str(),
                u.fragment.as_str(),
                u.userinfo().as_str()
            ),
            (
                "proto", "host:80", "host", "/path", "query", "fragment", "auth"
            )
        );
        assert_eq!(u.to_go_string(), "proto://auth@host:80/path?query#fragment");
        assert_eq!(
            parse_url(":x").unwrap_err(),
            "parse \":x\": missing protocol scheme"
        );
        assert_eq!(
            parse_url("http://host:port/").unwrap_err(),
            "parse \"http://host:port/\": invalid port \":port\" after host"
        );
        assert_eq!(
            parse_url("http://a b/").unwrap_err(),
            "parse \"http://a b/\": invalid character \" \" in host name"
        );
        let m = parse_url("mailto:x@y.z").unwrap();
        assert_eq!(m.opaque, "x@y.z");
    }
}
