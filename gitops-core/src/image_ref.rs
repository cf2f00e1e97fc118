//! Docker image references: `[registry/]repository[:tag][@digest]`.
//!
//! The grammar is the one of the CNCF distribution `reference` package that
//! Docker, containerd and Flux use:
//!
//! - the first `/`-separated component is a registry host when it contains a
//!   `.` or a `:`, is `localhost`, or has an upper-case letter;
//! - repository path components are `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`;
//! - a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
//! - a digest is `sha256:` followed by 64 lower-case hex digits.
//!
//! ```
//! use gitops_core::ImageRef;
//!
//! let r = ImageRef::parse("localhost:5000/team/app:v1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000")?;
//! assert_eq!(r.registry(), Some("localhost:5000"));
//! assert_eq!(r.name(), "localhost:5000/team/app");
//! assert_eq!(r.tag().unwrap().as_str(), "v1.2");
//! assert_eq!(r.to_string(), "localhost:5000/team/app:v1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000");
//!
//! let err = ImageRef::parse("nginx:bad tag").unwrap_err();
//! assert_eq!(err.to_string(), "invalid image reference \"nginx:bad tag\": invalid tag \"bad tag\": a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
//! # Ok::<(), gitops_core::image_ref::Error>(())
//! ```
//!
//! # Deviation
//! Docker normalises `nginx` to `docker.io/library/nginx`; we keep the name
//! exactly as written (as Flux's setters do when they write an image back), and
//! offer [`ImageRef::normalized_name`] for the canonical form.

use std::fmt;
use std::str::FromStr;

/// Maximum length of a repository name (registry included), as in distribution.
pub const NAME_MAX_LEN: usize = 255;

/// Why an image reference, tag or digest was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reference as a whole is malformed; `reason` names the part.
    #[error("invalid image reference {input:?}: {reason}")]
    Reference {
        /// The text that was parsed.
        input: String,
        /// What was wrong.
        reason: Reason,
    },
    /// A tag on its own is malformed.
    #[error("invalid tag {0:?}: a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")]
    Tag(String),
    /// A digest on its own is malformed.
    #[error("invalid digest {0:?}: expected sha256:<64 lower-case hex digits>")]
    Digest(String),
}

/// The part of an image reference that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// Nothing to parse.
    #[error("empty reference")]
    Empty,
    /// Registry host is not `host[:port]`.
    #[error("invalid registry host {0:?}")]
    Registry(String),
    /// A path component is not `[a-z0-9]+` joined by separators.
    #[error(
        "invalid repository path component {0:?}: expected [a-z0-9]+ joined by '.', '_', '__' or '-'"
    )]
    Component(String),
    /// Upper-case letters in the repository path.
    #[error("repository name must be lowercase: {0:?}")]
    Uppercase(String),
    /// Name longer than [`NAME_MAX_LEN`].
    #[error("repository name is longer than 255 characters")]
    NameTooLong,
    /// Bad tag.
    #[error("invalid tag {0:?}: a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")]
    Tag(String),
    /// Bad digest.
    #[error("invalid digest {0:?}: expected sha256:<64 lower-case hex digits>")]
    Digest(String),
}

/// A validated image tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validate a tag.
    pub fn parse(s: &str) -> Result<Tag, Error> {
        if is_valid_tag(s) {
            Ok(Tag(s.to_owned()))
        } else {
            Err(Error::Tag(s.to_owned()))
        }
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True when `s` matches `[\w][\w.-]{0,127}` (ASCII word characters).
pub fn is_valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Tag::parse(s)
    }
}

/// A validated content digest, `sha256:<64 lower-case hex>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Validate a digest.
    pub fn parse(s: &str) -> Result<Digest, Error> {
        if is_valid_digest(s) {
            Ok(Digest(s.to_owned()))
        } else {
            Err(Error::Digest(s.to_owned()))
        }
    }

    /// Build a digest from 32 raw SHA-256 bytes.
    pub fn from_sha256_bytes(bytes: &[u8; 32]) -> Digest {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in bytes {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        Digest(s)
    }

    /// The full text, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The algorithm, always `sha256` today.
    pub fn algorithm(&self) -> &str {
        "sha256"
    }

    /// The hex part after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn is_valid_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Digest::parse(s)
    }
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `registry/repository` as written.
    name: String,
    /// Length of the registry prefix in `name` (0 when none).
    registry_len: usize,
    tag: Option<Tag>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parse `[registry/]repository[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<ImageRef, Error> {
        let fail = |reason| Error::Reference {
            input: input.to_owned(),
            reason,
        };
        if input.is_empty() {
            return Err(fail(Reason::Empty));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(Digest::parse(d).map_err(|_| fail(Reason::Digest(d.to_owned())))?),
            ),
            None => (input, None),
        };
        // A tag separator is the last ':' after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                (
                    &rest[..last_slash + i],
                    Some(Tag::parse(t).map_err(|_| fail(Reason::Tag(t.to_owned())))?),
                )
            }
            None => (rest, None),
        };
        let registry_len = validate_name(name).map_err(fail)?;
        Ok(ImageRef {
            name: name.to_owned(),
            registry_len,
            tag,
            digest,
        })
    }

    /// Parse a bare name (no tag, no digest).
    pub fn from_name(name: &str) -> Result<ImageRef, Error> {
        let registry_len = validate_name(name).map_err(|reason| Error::Reference {
            input: name.to_owned(),
            reason,
        })?;
        Ok(ImageRef {
            name: name.to_owned(),
            registry_len,
            tag: None,
            digest: None,
        })
    }

    /// Registry and repository exactly as written, e.g. `ghcr.io/org/app` or `nginx`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry host (with port), when the reference names one.
    pub fn registry(&self) -> Option<&str> {
        (self.registry_len > 0).then(|| &self.name[..self.registry_len])
    }

    /// The repository path without the registry.
    pub fn repository(&self) -> &str {
        if self.registry_len > 0 {
            &self.name[self.registry_len + 1..]
        } else {
            &self.name
        }
    }

    /// The name as Docker resolves it: `docker.io/library/nginx` for `nginx`,
    /// `docker.io/org/app` for `org/app`; names with a registry are unchanged.
    pub fn normalized_name(&self) -> String {
        match self.registry() {
            Some(_) => self.name.clone(),
            None if self.name.contains('/') => format!("docker.io/{}", self.name),
            None => format!("docker.io/library/{}", self.name),
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&Tag> {
        self.tag.as_ref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same reference with `tag`.
    #[must_use]
    pub fn with_tag(mut self, tag: Tag) -> Self {
        self.tag = Some(tag);
        self
    }

    /// The same reference with `digest`.
    #[must_use]
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// The same reference without tag and digest.
    #[must_use]
    pub fn without_tag_and_digest(mut self) -> Self {
        self.tag = None;
        self.digest = None;
        self
    }
}

/// Validate `[registry/]path` and return the length of the registry part.
fn validate_name(name: &str) -> Result<usize, Reason> {
    if name.is_empty() {
        return Err(Reason::Empty);
    }
    if name.len() > NAME_MAX_LEN {
        return Err(Reason::NameTooLong);
    }
    let (registry_len, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|c| c.is_ascii_uppercase()) =>
        {
            validate_host(first)?;
            (first.len(), rest)
        }
        _ => (0, name),
    };
    for component in path.split('/') {
        validate_component(component)?;
    }
    if path.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(Reason::Uppercase(path.to_owned()));
    }
    Ok(registry_len)
}

fn validate_host(host: &str) -> Result<(), Reason> {
    let bad = || Reason::Registry(host.to_owned());
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.starts_with('[') || h.ends_with(']') => (h, Some(p)),
        _ => (host, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    if let Some(v6) = h.strip_prefix('[') {
        let inner = v6.strip_suffix(']').ok_or_else(bad)?;
        return if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            Ok(())
        } else {
            Err(bad())
        };
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    };
    if h.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`; upper case is reported separately.
fn validate_component(c: &str) -> Result<(), Reason> {
    let bad = || Reason::Component(c.to_owned());
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b.is_ascii_uppercase();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|s| s == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ImageRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:7173b809ca12ec5dee4506cd86be934c4596dd234ee82c0662eac04a8c2c71dc";

    #[test]
    fn registry_detection() {
        for (input, registry, repo) in [
            ("nginx", None, "nginx"),
            ("library/nginx", None, "library/nginx"),
            ("ghcr.io/org/app", Some("ghcr.io"), "org/app"),
            ("localhost/app", Some("localhost"), "app"),
            ("localhost:5000/app", Some("localhost:5000"), "app"),
            ("registry:5000/a/b/c", Some("registry:5000"), "a/b/c"),
            ("Registry/app", Some("Registry"), "app"),
            ("[::1]:5000/app", Some("[::1]:5000"), "app"),
            (
                "my-registry.example.com/team/svc",
                Some("my-registry.example.com"),
                "team/svc",
            ),
        ] {
            let r = ImageRef::parse(input).unwrap();
            assert_eq!(r.registry(), registry, "{input}");
            assert_eq!(r.repository(), repo, "{input}");
            assert_eq!(r.to_string(), input);
        }
    }

    #[test]
    fn tag_and_digest() {
        let r = ImageRef::parse(&format!("localhost:5000/app:1.0@{D}")).unwrap();
        assert_eq!(r.name(), "localhost:5000/app");
        assert_eq!(r.tag().unwrap().as_str(), "1.0");
        assert_eq!(r.digest().unwrap().as_str(), D);
        let r = ImageRef::parse(&format!("app@{D}")).unwrap();
        assert!(r.tag().is_none());
        assert_eq!(r.digest().unwrap().hex().len(), 64);
    }

    #[test]
    fn normalized() {
        assert_eq!(
            ImageRef::parse("nginx").unwrap().normalized_name(),
            "docker.io/library/nginx"
        );
        assert_eq!(
            ImageRef::parse("a/b").unwrap().normalized_name(),
            "docker.io/a/b"
        );
        assert_eq!(
            ImageRef::parse("quay.io/a/b").unwrap().normalized_name(),
            "quay.io/a/b"
        );
    }

    #[test]
    fn exact_errors() {
        let cases = [
            ("", "invalid image reference \"\": empty reference"),
            (
                "Nginx",
                "invalid image reference \"Nginx\": repository name must be lowercase: \"Nginx\"",
            ),
            (
                "app:",
                "invalid image reference \"app:\": invalid tag \"\": a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
            ),
            (
                "app:.x",
                "invalid image reference \"app:.x\": invalid tag \".x\": a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
            ),
            (
                "app@sha256:abc",
                "invalid image reference \"app@sha256:abc\": invalid digest \"sha256:abc\": expected sha256:<64 lower-case hex digits>",
            ),
            (
                "a//b",
                "invalid image reference \"a//b\": invalid repository path component \"\": expected [a-z0-9]+ joined by '.', '_', '__' or '-'",
            ),
            (
                "a/b.-c",
                "invalid image reference \"a/b.-c\": invalid repository path component \"b.-c\": expected [a-z0-9]+ joined by '.', '_', '__' or '-'",
            ),
            (
                "host:x/app",
                "invalid image reference \"host:x/app\": invalid registry host \"host:x\"",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                ImageRef::parse(input).unwrap_err().to_string(),
                want,
                "{input}"
            );
        }
        let long = "a".repeat(256);
        assert_eq!(
            ImageRef::parse(&long).unwrap_err(),
            Error::Reference {
                input: long.clone(),
                reason: Reason::NameTooLong
            }
        );
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
        assert!(Tag::parse(&"a".repeat(129)).is_err());
    }
}
