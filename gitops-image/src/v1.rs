//! Flux v1 tag filters (`fluxcd.io/tag.<container>` /
//! `filter.fluxcd.io/<container>` annotations): `glob:`, `regexp:` (alias
//! `regex:`), `semver:`.
//!
//! - No prefix means `glob:`; no annotation means `glob:*`.
//! - `glob:` follows ryanuber/go-glob: only `*` is special and it matches
//!   any run of characters, `/` included; `?` and `[` are literal.
//! - The tag `latest` (any case) is never a candidate unless the pattern is
//!   exactly `glob:latest` (or `latest`).
//! - `glob:` and `regexp:` pick the image created last (registry metadata);
//!   equal times go to the lexically smaller tag. `semver:` parses tags
//!   leniently (`v1`, `1.2` are versions), picks the highest, and breaks ties
//!   (`1.2` vs `1.2.0`) with the lexically greater tag.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use gitops_image::v1::{TagInfo, TagPattern};
//!
//! let at = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
//! let images = [
//!     TagInfo::new("master-a1b2c3", at(300)),
//!     TagInfo::new("master-d4e5f6", at(100)),
//!     TagInfo::new("latest", at(999)),
//!     TagInfo::new("v1.2", at(50)),
//! ];
//! let glob = TagPattern::parse("glob:master-*")?;
//! assert_eq!(glob.latest(&images)?.tag, "master-a1b2c3");
//! assert_eq!(TagPattern::parse("*")?.latest(&images)?.tag, "master-a1b2c3"); // `latest` skipped
//! assert_eq!(TagPattern::parse("semver:~1")?.latest(&images)?.tag, "v1.2");
//! # Ok::<(), gitops_image::v1::Error>(())
//! ```
//!
//! # Deviation
//! - Flux v1 treats an invalid `semver:`/`regexp:` pattern as "matches
//!   everything" when it meets one in a manifest (and rejects it in
//!   `fluxctl policy`). [`TagPattern::parse`] always rejects it.
//! - Flux v1 skips an update when the newest image has no creation time;
//!   [`TagPattern::latest`] reports that as [`Error::MissingTimestamp`].

use std::cmp::Ordering;
use std::fmt;
use std::time::SystemTime;

use crate::range::{self, Range};
use crate::version::VersionRef;
use gitops_core::goregex;

/// Errors of the v1 engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `semver:` with an invalid range.
    #[error("invalid tag pattern {pattern:?}")]
    InvalidSemver {
        /// The whole pattern, prefix included.
        pattern: String,
        /// What is wrong with the range.
        #[source]
        source: range::Error,
    },
    /// `regexp:` with an invalid regular expression.
    #[error("invalid tag pattern {pattern:?}")]
    InvalidRegexp {
        /// The whole pattern, prefix included.
        pattern: String,
        /// The compiler's diagnosis.
        #[source]
        source: regex::Error,
    },
    /// No image matches.
    #[error("no image tag matches {pattern:?} among {count} images")]
    NoneMatched {
        /// The pattern, prefixed.
        pattern: String,
        /// How many images there were.
        count: usize,
    },
    /// The newest image (by a time-ordered pattern) has no creation time.
    #[error("image {tag:?} has no creation time, so {pattern:?} cannot order it")]
    MissingTimestamp {
        /// The tag.
        tag: String,
        /// The pattern, prefixed.
        pattern: String,
    },
}

/// One image of a repository: its tag and when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagInfo<'a> {
    /// The tag.
    pub tag: &'a str,
    /// Creation time from the registry metadata (`None` = unknown, which
    /// sorts as oldest, like Go's zero time).
    pub created: Option<SystemTime>,
}

impl<'a> TagInfo<'a> {
    /// Bundle a tag and its creation time.
    #[must_use]
    pub fn new(tag: &'a str, created: Option<SystemTime>) -> Self {
        TagInfo { tag, created }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Glob(String),
    Regexp(regex::Regex),
    Semver(Range),
}

/// A parsed v1 tag filter.
#[derive(Debug, Clone)]
pub struct TagPattern {
    kind: Kind,
    /// The pattern without its prefix.
    body: String,
}

const GLOB: &str = "glob:";
const SEMVER: &str = "semver:";
const REGEXP: &str = "regexp:";
const REGEX: &str = "regex:";

impl TagPattern {
    /// Parse an annotation value.
    ///
    /// # Errors
    /// [`Error::InvalidSemver`] or [`Error::InvalidRegexp`].
    pub fn parse(pattern: &str) -> Result<TagPattern, Error> {
        if let Some(body) = pattern.strip_prefix(SEMVER) {
            let range = Range::parse(body).map_err(|source| Error::InvalidSemver {
                pattern: pattern.to_owned(),
                source,
            })?;
            return Ok(TagPattern {
                kind: Kind::Semver(range),
                body: body.to_owned(),
            });
        }
        if let Some(body) = pattern
            .strip_prefix(REGEXP)
            .or_else(|| pattern.strip_prefix(REGEX))
        {
            let re = goregex::compile(body).map_err(|source| Error::InvalidRegexp {
                pattern: pattern.to_owned(),
                source,
            })?;
            return Ok(TagPattern {
                kind: Kind::Regexp(re),
                body: body.to_owned(),
            });
        }
        let body = pattern.strip_prefix(GLOB).unwrap_or(pattern);
        Ok(TagPattern {
            kind: Kind::Glob(body.to_owned()),
            body: body.to_owned(),
        })
    }

    /// `glob:*`, the pattern of a container without annotation.
    #[must_use]
    pub fn all() -> TagPattern {
        TagPattern {
            kind: Kind::Glob("*".to_owned()),
            body: "*".to_owned(),
        }
    }

    /// The pattern for `container` from a workload's annotations:
    /// `fluxcd.io/tag.<c>`, then the legacy `flux.weave.works/tag.<c>`, then
    /// `filter.fluxcd.io/<c>`; [`TagPattern::all`] when none is set.
    ///
    /// # Errors
    /// When the annotation holds an invalid pattern.
    pub fn for_container<'k, I>(annotations: I, container: &str) -> Result<TagPattern, Error>
    where
        I: IntoIterator<Item = (&'k str, &'k str)>,
    {
        let keys = [
            format!("fluxcd.io/tag.{container}"),
            format!("flux.weave.works/tag.{container}"),
            format!("filter.fluxcd.io/{container}"),
        ];
        let mut found: [Option<&str>; 3] = [None; 3];
        for (k, v) in annotations {
            if let Some(slot) = keys.iter().position(|key| key == k) {
                found[slot] = Some(v);
            }
        }
        match found.iter().flatten().next() {
            Some(v) => TagPattern::parse(v),
            None => Ok(TagPattern::all()),
        }
    }

    /// Whether candidates are ordered by creation time (glob, regexp).
    #[must_use]
    pub fn requires_timestamp(&self) -> bool {
        !matches!(self.kind, Kind::Semver(_))
    }

    fn is_latest_pattern(&self) -> bool {
        matches!(&self.kind, Kind::Glob(g) if g == "latest")
    }

    /// Whether `tag` is a candidate (the `latest` rule included).
    #[must_use]
    pub fn matches(&self, tag: &str) -> bool {
        if tag.eq_ignore_ascii_case("latest") && !self.is_latest_pattern() {
            return false;
        }
        match &self.kind {
            Kind::Glob(g) => glob_match(g, tag),
            Kind::Regexp(re) => re.is_match(tag),
            Kind::Semver(r) => VersionRef::parse(tag).is_ok_and(|v| r.matches(v)),
        }
    }

    /// Pick the newest matching image.
    ///
    /// # Errors
    /// [`Error::NoneMatched`], or [`Error::MissingTimestamp`] when a
    /// time-ordered pattern's newest candidate has no creation time.
    pub fn latest<'i, 'a>(&self, images: &'i [TagInfo<'a>]) -> Result<&'i TagInfo<'a>, Error> {
        let mut best: Option<&TagInfo<'a>> = None;
        for img in images {
            if !self.matches(img.tag) {
                continue;
            }
            best = match best {
                Some(b) if !self.newer(img, b) => Some(b),
                _ => Some(img),
            };
        }
        let best = best.ok_or_else(|| Error::NoneMatched {
            pattern: self.to_string(),
            count: images.len(),
        })?;
        if self.requires_timestamp() && best.created.is_none() {
            return Err(Error::MissingTimestamp {
                tag: best.tag.to_owned(),
                pattern: self.to_string(),
            });
        }
        Ok(best)
    }

    /// Flux v1 `Newer(a, b)`: whether `a` comes before `b` in this
    /// pattern's order (creation time for glob and regexp, version for
    /// semver). Sorting by it lists images newest first, as `fluxctl
    /// list-images` does.
    #[must_use]
    pub fn newer(&self, a: &TagInfo<'_>, b: &TagInfo<'_>) -> bool {
        match &self.kind {
            Kind::Semver(_) => match (VersionRef::parse(a.tag), VersionRef::parse(b.tag)) {
                (Ok(va), Ok(vb)) => match va.compare(&vb) {
                    Ordering::Equal => a.tag > b.tag,
                    o => o == Ordering::Greater,
                },
                (Err(_), Err(_)) => a.tag < b.tag,
                (Err(_), Ok(_)) => false,
                (Ok(_), Err(_)) => true,
            },
            Kind::Glob(_) | Kind::Regexp(_) => {
                if a.created == b.created {
                    a.tag < b.tag
                } else {
                    a.created > b.created
                }
            }
        }
    }
}

impl fmt::Display for TagPattern {
    /// The prefixed form (`glob:*`, `semver:~1`, `regexp:^v`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            Kind::Glob(_) => GLOB,
            Kind::Regexp(_) => REGEXP,
            Kind::Semver(_) => SEMVER,
        };
        write!(f, "{prefix}{}", self.body)
    }
}

/// ryanuber/go-glob: `*` matches any run of characters (including `/`);
/// nothing else is special.
#[must_use]
pub fn glob_match(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return subject == pattern;
    }
    let leading = pattern.starts_with('*');
    let trailing = pattern.ends_with('*');
    let last = parts.len() - 1;
    let mut rest = subject;
    for (i, part) in parts[..last].iter().enumerate() {
        match rest.find(part) {
            Some(idx) if i > 0 || leading || idx == 0 => rest = &rest[idx + part.len()..],
            _ => return false,
        }
    }
    trailing || rest.ends_with(parts[last])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_glob_semantics() {
        assert!(glob_match("*", "a/b"));
        assert!(glob_match("a*", "a/b/c"));
        assert!(glob_match("*b*", "abc"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("a*a", "aa"));
        assert!(glob_match("v?", "v?"));
        assert!(!glob_match("v?", "v1"));
        assert!(glob_match("[a]", "[a]"));
        assert!(!glob_match("", "a"));
        assert!(glob_match("", ""));
        assert!(glob_match("master-*-x", "master-1-2-x"));
        assert!(!glob_match("master-*", "main-1"));
    }

    #[test]
    fn latest_rule() {
        let p = TagPattern::parse("glob:latest").unwrap();
        assert!(p.matches("latest"));
        assert!(TagPattern::parse("latest").unwrap().matches("latest"));
        assert!(!TagPattern::parse("glob:*").unwrap().matches("Latest"));
        assert!(!TagPattern::parse("regex:.*").unwrap().matches("LATEST"));
    }

    #[test]
    fn semver_ties_go_to_greater_tag() {
        let imgs = [TagInfo::new("1.10.0", None), TagInfo::new("1.10", None)];
        let p = TagPattern::parse("semver:*").unwrap();
        assert_eq!(p.latest(&imgs).unwrap().tag, "1.10.0");
    }

    #[test]
    fn errors() {
        assert_eq!(
            TagPattern::parse("semver:*-*").unwrap_err().to_string(),
            "invalid tag pattern \"semver:*-*\""
        );
        let p = TagPattern::parse("glob:x*").unwrap();
        assert_eq!(
            p.latest(&[TagInfo::new("a", None)])
                .unwrap_err()
                .to_string(),
            "no image tag matches \"glob:x*\" among 1 images"
        );
        assert_eq!(
            p.latest(&[TagInfo::new("x1", None)])
                .unwrap_err()
                .to_string(),
            "image \"x1\" has no creation time, so \"glob:x*\" cannot order it"
        );
    }
}
