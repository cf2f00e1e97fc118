//! `filterTags` (ImagePolicy) and `exclusionList` (ImageRepository).
//!
//! Patterns use Go RE2 syntax, unanchored, like Flux: `\d`, `\w`, `\s` and
//! `\b` are ASCII-only, `\Q…\E` quotes. The `extract` template expands like
//! Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$` for a
//! dollar; a `$` not followed by a name is kept as is.
//!
//! ```
//! use gitops_image::{Exclusions, TagFilter};
//!
//! let f = TagFilter::new(r"^main-[a-f0-9]+-(?P<ts>\d+)$", "$ts")?;
//! assert_eq!(f.extract("main-3a1b2c-1700000000").as_deref(), Some("1700000000"));
//! assert_eq!(f.extract("dev-3a1b2c-1700000000"), None);
//!
//! let ex = Exclusions::default(); // `^.*\.sig$`
//! assert!(ex.is_excluded("sha256-abc.sig"));
//! assert!(!ex.is_excluded("v1.2.3"));
//! # Ok::<(), gitops_image::filter::Error>(())
//! ```
//!
//! # Deviation
//! - Flux expands a reference to a capture group that does not exist to the
//!   empty string. [`TagFilter::new`] rejects it ([`Error::UnknownGroup`]), as
//!   it is always a typo (`$ts` for a group named `timestamp`). This includes
//!   Go's oddities `$01` and `$1a`, which Go reads as *names*.
//! - Patterns the `regex` crate rejects but Go accepts (octal escapes such as
//!   `\012`, `\C`) are errors; a few patterns Go rejects are accepted
//!   (`\<`, `\>`).

use std::borrow::Cow;
use std::fmt;

use regex::{CaptureLocations, Regex};

use gitops_core::goregex;

/// Why a filter or exclusion list cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `filterTags.pattern` is not a valid regular expression.
    #[error("invalid regular expression pattern {pattern:?}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// The compiler's diagnosis.
        #[source]
        source: regex::Error,
    },
    /// The `extract` template names a capture group the pattern lacks.
    #[error(
        "extract template {extract:?} refers to capture group {group:?}, which pattern {pattern:?} does not define"
    )]
    UnknownGroup {
        /// The template.
        extract: String,
        /// The group name or number as written.
        group: String,
        /// The pattern.
        pattern: String,
    },
    /// An `exclusionList` entry is not a valid regular expression.
    #[error("invalid exclusion pattern {pattern:?}")]
    InvalidExclusion {
        /// The pattern as given.
        pattern: String,
        /// The compiler's diagnosis.
        #[source]
        source: regex::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
}

/// A `filterTags` filter: keep tags matching `pattern`, and optionally order
/// them by the text `extract` expands to.
#[derive(Debug, Clone)]
pub struct TagFilter {
    pattern: String,
    extract: String,
    regex: Regex,
    pieces: Vec<Piece>,
}

impl TagFilter {
    /// Build a filter; an empty `extract` keeps the tag itself as the value
    /// (as Flux does), an empty `pattern` matches every tag.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] or [`Error::UnknownGroup`].
    pub fn new(pattern: &str, extract: &str) -> Result<TagFilter, Error> {
        let regex = goregex::compile(pattern).map_err(|source| Error::InvalidPattern {
            pattern: pattern.to_owned(),
            source,
        })?;
        let pieces = parse_template(extract, &regex).map_err(|group| Error::UnknownGroup {
            extract: extract.to_owned(),
            group,
            pattern: pattern.to_owned(),
        })?;
        Ok(TagFilter {
            pattern: pattern.to_owned(),
            extract: extract.to_owned(),
            regex,
            pieces,
        })
    }

    /// The pattern as given.
    #[must_use]
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The extract template as given (`""` when none).
    #[must_use]
    pub fn extract_template(&self) -> &str {
        &self.extract
    }

    /// Whether `tag` passes the filter.
    #[must_use]
    pub fn is_match(&self, tag: &str) -> bool {
        self.regex.is_match(tag)
    }

    /// The value the policy orders for `tag`, or `None` when the tag does not
    /// match. Borrowed when there is no template.
    #[must_use]
    pub fn extract<'t>(&self, tag: &'t str) -> Option<Cow<'t, str>> {
        let mut locs = self.regex.capture_locations();
        let mut buf = String::new();
        match self.value(tag, &mut locs, &mut buf) {
            Some(true) => Some(Cow::Owned(buf)),
            Some(false) => Some(Cow::Borrowed(tag)),
            None => None,
        }
    }

    pub(crate) fn capture_locations(&self) -> CaptureLocations {
        self.regex.capture_locations()
    }

    /// Match `tag`; `Some(true)` when the value was expanded into `buf`,
    /// `Some(false)` when the value is the tag itself, `None` when the tag
    /// does not match. No allocation once `buf` has grown.
    #[inline]
    pub(crate) fn value(
        &self,
        tag: &str,
        locs: &mut CaptureLocations,
        buf: &mut String,
    ) -> Option<bool> {
        if self.extract.is_empty() {
            return self.regex.is_match(tag).then_some(false);
        }
        self.regex.captures_read(locs, tag)?;
        buf.clear();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => buf.push_str(s),
                Piece::Group(i) => {
                    if let Some((s, e)) = locs.get(*i) {
                        buf.push_str(&tag[s..e]);
                    }
                }
            }
        }
        Some(true)
    }
}

impl PartialEq for TagFilter {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.extract == other.extract
    }
}

impl Eq for TagFilter {}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern {:?}", self.pattern)?;
        if !self.extract.is_empty() {
            write!(f, " extract {:?}", self.extract)?;
        }
        Ok(())
    }
}

/// Split a Go `Expand` template into literal text and group references.
/// `Err(name)` names a reference to a group the regex lacks.
fn parse_template(template: &str, regex: &Regex) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            lit.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = go_extract_name(rest) else {
            lit.push('$');
            continue;
        };
        rest = after;
        let index = go_group_number(name)
            .filter(|n| *n < regex.captures_len())
            .or_else(|| regex.capture_names().position(|n| n == Some(name)));
        match index {
            Some(i) => {
                if !lit.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Group(i));
            }
            None => return Err(name.to_owned()),
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    Ok(pieces)
}

/// Go `extract`: a leading `name` or `{name}` of letters, digits and `_`.
fn go_extract_name(s: &str) -> Option<(&str, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// Go treats a name as a group number when it is all ASCII digits, has no
/// leading zero and is below 1e8.
fn go_group_number(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    if b.len() > 8 {
        return None;
    }
    name.parse().ok()
}

#[derive(Debug, Clone)]
enum Matcher {
    /// The default `^.*\.sig$`, matched without the regex engine.
    SigSuffix,
    Regex(Regex),
}

/// An ImageRepository `exclusionList`: tags matching any pattern are
/// dropped before any policy sees them.
///
/// The default is `^.*\.sig$` (cosign signatures); a non-empty user list
/// replaces it, an empty one means the default (as Flux's
/// `GetExclusionList`). [`Exclusions::none`] excludes nothing.
#[derive(Debug, Clone)]
pub struct Exclusions {
    patterns: Vec<(String, Matcher)>,
    /// The list is exactly the default: check the suffix inline.
    sig_only: bool,
}

impl Exclusions {
    /// Flux's default exclusion pattern.
    pub const DEFAULT_PATTERN: &'static str = r"^.*\.sig$";

    /// Build from a user list; an empty list gives the default.
    ///
    /// # Errors
    /// [`Error::InvalidExclusion`] naming the first bad pattern.
    pub fn new<I, S>(patterns: I) -> Result<Exclusions, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref();
            out.push((p.to_owned(), Self::matcher(p)?));
        }
        if out.is_empty() {
            return Ok(Exclusions::default());
        }
        let sig_only = out.len() == 1 && matches!(out[0].1, Matcher::SigSuffix);
        Ok(Exclusions {
            patterns: out,
            sig_only,
        })
    }

    fn matcher(p: &str) -> Result<Matcher, Error> {
        if p == Self::DEFAULT_PATTERN {
            return Ok(Matcher::SigSuffix);
        }
        goregex::compile(p)
            .map(Matcher::Regex)
            .map_err(|source| Error::InvalidExclusion {
                pattern: p.to_owned(),
                source,
            })
    }

    /// The exclusion list of a Flux `ImageRepository.spec` (absent or empty
    /// means the default).
    ///
    /// # Errors
    /// [`Error::InvalidExclusion`].
    pub fn from_spec(spec: &gitops_core::flux::ImageRepositorySpec) -> Result<Exclusions, Error> {
        Exclusions::new(spec.exclusion_list.iter().flatten())
    }

    /// Exclude nothing.
    #[must_use]
    pub fn none() -> Exclusions {
        Exclusions {
            patterns: Vec::new(),
            sig_only: false,
        }
    }

    /// The patterns in use.
    pub fn patterns(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }

    /// Whether the list is empty (nothing is excluded).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the only pattern is the default `^.*\.sig$`.
    pub(crate) fn is_sig_only(&self) -> bool {
        self.sig_only
    }

    /// The first pattern that excludes `tag`.
    #[must_use]
    #[inline]
    pub fn matching(&self, tag: &str) -> Option<&str> {
        self.patterns.iter().find_map(|(p, m)| {
            let hit = match m {
                Matcher::SigSuffix => is_sig(tag),
                Matcher::Regex(re) => re.is_match(tag),
            };
            hit.then_some(p.as_str())
        })
    }

    /// Whether some pattern excludes `tag`.
    #[must_use]
    #[inline(always)]
    pub fn is_excluded(&self, tag: &str) -> bool {
        // The default list inline, in every selection loop; regexes out of line.
        if self.sig_only {
            return is_sig(tag);
        }
        self.is_excluded_by_patterns(tag)
    }

    #[inline(never)]
    fn is_excluded_by_patterns(&self, tag: &str) -> bool {
        self.matching(tag).is_some()
    }
}

/// `^.*\.sig$` without the regex engine (`.` does not match a newline).
#[inline]
fn is_sig(tag: &str) -> bool {
    tag.as_bytes().ends_with(b".sig") && !tag.as_bytes()[..tag.len() - 4].contains(&b'\n')
}

impl Default for Exclusions {
    fn default() -> Self {
        Exclusions {
            patterns: vec![(Self::DEFAULT_PATTERN.to_owned(), Matcher::SigSuffix)],
            sig_only: true,
        }
    }
}

impl gitops_core::registry::TagExclusion for Exclusions {
    fn is_excluded(&self, tag: &str) -> bool {
        Exclusions::is_excluded(self, tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_expand_rules() {
        let f = TagFilter::new(r"(?P<a>x)(y)?", "[$a-${1}-$2-$$-$-${a]").unwrap();
        assert_eq!(f.extract("x").as_deref(), Some("[x-x--$-$-${a]"));
        assert_eq!(
            TagFilter::new("(a)", "$01").unwrap_err().to_string(),
            "extract template \"$01\" refers to capture group \"01\", which pattern \"(a)\" does not define"
        );
        assert!(TagFilter::new("(a)", "$2").is_err());
        assert_eq!(
            TagFilter::new("(a)", "$1x").unwrap_err(),
            Error::UnknownGroup {
                extract: "$1x".into(),
                group: "1x".into(),
                pattern: "(a)".into()
            }
        );
    }

    #[test]
    fn default_exclusion_fast_path_agrees_with_regex() {
        let re = goregex::compile(Exclusions::DEFAULT_PATTERN).unwrap();
        let ex = Exclusions::default();
        for t in [
            "a.sig", ".sig", "sig", "a.sig\n", "a\nb.sig", "x.sigs", "x.Sig",
        ] {
            assert_eq!(ex.is_excluded(t), re.is_match(t), "{t:?}");
        }
    }
}
