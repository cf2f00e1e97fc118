//! Input checks the Flux CLI makes before it builds an object, with its
//! wording: object names (RFC 1123), labels (Kubernetes qualified names and
//! label values), URL schemes and hosts, image repository names.

use std::sync::LazyLock;

use regex::Regex;

use super::Error;

static OBJECT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([a-z0-9\-]){0,61}[a-z0-9]$").expect("static regex"));
static QUALIFIED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("static regex")
});
static LABEL_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").expect("static regex")
});
static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("static regex")
});

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError` text.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(e);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

/// The object name check of `flux create` (RFC 1123 label, 2 to 63 characters).
pub(crate) fn object_name(name: &str) -> Result<(), Error> {
    if OBJECT_NAME.is_match(name) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// apimachinery `IsQualifiedName`: the list of problems, empty when valid.
fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 characters".to_owned());
                }
                if !DNS1123_SUBDOMAIN.is_match(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(
                            DNS1123_SUBDOMAIN_MSG,
                            DNS1123_SUBDOMAIN_FMT,
                            &["example.com"]
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !QUALIFIED_NAME.is_match(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// apimachinery `IsValidLabelValue`.
fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !LABEL_VALUE.is_match(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `parseLabels` of the Flux CLI: `key=value` pairs, later keys win.
pub(crate) fn labels(raw: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    for label in raw {
        let parts: Vec<&str> = label.split('=').collect();
        let [key, value] = parts.as_slice() else {
            return Err(Error::LabelFormat {
                label: label.clone(),
            });
        };
        let errs = qualified_name(key);
        if !errs.is_empty() {
            return Err(Error::LabelKey {
                key: (*key).to_owned(),
                problems: format!("[{}]", errs.join(" ")),
            });
        }
        let errs = label_value(value);
        if !errs.is_empty() {
            return Err(Error::LabelValue {
                value: (*value).to_owned(),
                problems: format!("[{}]", errs.join(" ")),
            });
        }
        out.retain(|(k, _)| k != key);
        out.push(((*key).to_owned(), (*value).to_owned()));
    }
    Ok(out)
}

/// The parts of a URL the Flux CLI looks at, split the way Go's `url.Parse`
/// does: the scheme (lower-cased) and the host (with port, without
/// user info).
pub(crate) struct UrlParts {
    pub scheme: String,
    pub host: String,
}

pub(crate) fn url_parts(raw: &str) -> UrlParts {
    let mut scheme = String::new();
    let mut rest = raw;
    for (i, c) in raw.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if i > 0 && (c.is_ascii_digit() || c == '+' || c == '-' || c == '.') {
            continue;
        }
        if c == ':' && i > 0 {
            scheme = raw[..i].to_ascii_lowercase();
            rest = &raw[i + 1..];
        }
        break;
    }
    let mut host = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &after[..end];
        host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, h)| h)
            .to_owned();
    }
    UrlParts { scheme, host }
}

/// The error Go's `url.Parse` gives for the common malformed inputs
/// (`:x`, and scp-style `git@host:org/repo`), `None` when it would parse.
pub(crate) fn url_parse_error(raw: &str) -> Option<String> {
    if raw.starts_with(':') {
        return Some(format!("parse {raw:?}: missing protocol scheme"));
    }
    if url_parts(raw).scheme.is_empty() && !raw.starts_with('/') {
        let first = raw.split(['/', '?', '#']).next().unwrap_or("");
        if first.contains(':') {
            return Some(format!(
                "parse {raw:?}: first path segment in URL cannot contain colon"
            ));
        }
    }
    None
}

const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";

/// go-containerregistry `name.NewRepository` (non-strict): an optional
/// registry host, then a repository of 2 to 255 characters from
/// [`REPOSITORY_CHARS`].
pub(crate) fn image_repository(image: &str) -> Result<(), String> {
    let repo = match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => image,
    };
    let n = repo.chars().count();
    if !(2..=255).contains(&n) {
        return Err(format!(
            "repository must be between 2 and 255 characters in length: {repo}"
        ));
    }
    if repo.chars().any(|c| !REPOSITORY_CHARS.contains(c)) {
        return Err(format!(
            "repository can only contain the characters `{REPOSITORY_CHARS}`: {repo}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(object_name("podinfo").is_ok());
        assert!(object_name("a").is_err());
        assert!(object_name("Pod").is_err());
        assert!(object_name("pod_info").is_err());
    }

    #[test]
    fn label_checks() {
        assert_eq!(
            labels(&["a=b".into(), "x/y=z".into(), "a=c".into()]).unwrap(),
            vec![("x/y".into(), "z".into()), ("a".into(), "c".into())]
        );
        assert_eq!(
            labels(&["ab".into()]).unwrap_err().to_string(),
            "invalid label format 'ab', must be key=value"
        );
        let e = labels(&["-a=b".into()]).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid label '-a': [name part must consist of"),
            "{e}"
        );
        let e = labels(&["a=b c".into()]).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid label value 'b c': [a valid label"),
            "{e}"
        );
    }

    #[test]
    fn urls() {
        let u = url_parts("HTTPS://user:pw@example.com:8443/x?y");
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str()),
            ("https", "example.com:8443")
        );
        let u = url_parts("github.com/org/repo");
        assert_eq!((u.scheme.as_str(), u.host.as_str()), ("", ""));
        let u = url_parts("oci://ghcr.io/org/charts");
        assert_eq!((u.scheme.as_str(), u.host.as_str()), ("oci", "ghcr.io"));
    }

    #[test]
    fn go_url_parse_errors() {
        assert_eq!(
            url_parse_error("git@github.com:org/repo").as_deref(),
            Some(
                "parse \"git@github.com:org/repo\": first path segment in URL cannot contain colon"
            )
        );
        assert_eq!(
            url_parse_error("://x").as_deref(),
            Some("parse \"://x\": missing protocol scheme")
        );
        assert_eq!(url_parse_error("https://h/x"), None);
        assert_eq!(url_parse_error("github.com/org/repo"), None);
    }

    #[test]
    fn repositories() {
        assert!(image_repository("ghcr.io/stefanprodan/podinfo").is_ok());
        assert!(image_repository("localhost:5000/app").is_ok());
        assert!(image_repository("library/alpine").is_ok());
        assert!(image_repository("Alpine").is_err());
        assert!(image_repository("alpine:3.1").is_err());
    }
}
