//! Versions as Masterminds/semver v3 parses and orders them.
//!
//! Four parsers cover the flavours Flux and Masterminds use:
//!
//! | function | Masterminds / Flux | accepts |
//! | --- | --- | --- |
//! | [`Version::parse`] | `NewVersion` (default, `CoerceNewVersion = true`) | optional `v`, `1`, `1.2`, leading zeros |
//! | [`Version::parse_no_coerce`] | `NewVersion` with `CoerceNewVersion = false` | like above, but no leading zeros |
//! | [`Version::parse_strict`] | `StrictNewVersion` | exactly `X.Y.Z[-pre][+meta]`, no `v` |
//! | [`Version::parse_tag`] | fluxcd/pkg `version.ParseVersion` | at least two dots, then `NewVersion` |
//!
//! [`VersionRef`] is the allocation-free form used by the selection loop: it
//! borrows the text it was parsed from.
//!
//! Ordering follows Masterminds `Compare`: major, minor, patch numerically, a
//! version with a prerelease sorts before the same version without one,
//! prerelease identifiers compare numerically when both are numbers that fit
//! in 64 bits, numbers sort before text, and build metadata is ignored. So
//! `PartialEq` here means "same precedence": `1.2.3+a == v1.2.3+b`.
//!
//! ```
//! use gitops_core::semver::Version;
//!
//! let v = Version::parse("v1.2-rc.1")?;
//! assert_eq!(v.to_string(), "1.2.0-rc.1");
//! assert_eq!(v.original(), "v1.2-rc.1");
//! assert!(v < Version::parse("1.2.0")?);
//! assert!(Version::parse_tag("v1.2").is_err()); // Flux wants two dots
//! # Ok::<(), gitops_core::semver::version::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was empty (`ErrEmptyString`).
    #[error("version string empty")]
    Empty,
    /// The input does not have the shape of a version (`ErrInvalidSemVer`).
    #[error("invalid semantic version {input:?}")]
    Invalid {
        /// The rejected text.
        input: String,
    },
    /// Flux's tag parser wants `major.minor.patch`: at least two dots.
    #[error("invalid semantic version {input:?}: a tag needs at least two dots")]
    TooFewDots {
        /// The rejected tag.
        input: String,
    },
    /// A numeric part holds something else than digits (`ErrInvalidCharacters`).
    #[error("invalid characters in version {input:?}")]
    InvalidCharacters {
        /// The rejected text.
        input: String,
    },
    /// A numeric part has a leading zero (`ErrSegmentStartsZero`).
    #[error("version segment starts with 0 in {input:?}")]
    SegmentStartsZero {
        /// The rejected text.
        input: String,
    },
    /// A number does not fit in 64 bits.
    #[error("version segment {segment:?} of {input:?} does not fit in 64 bits")]
    SegmentOverflow {
        /// The rejected text.
        input: String,
        /// The number that overflowed.
        segment: String,
    },
    /// The prerelease is malformed (`ErrInvalidPrerelease`).
    #[error("invalid prerelease string {input:?}")]
    InvalidPrerelease {
        /// The rejected text.
        input: String,
    },
    /// The build metadata is malformed (`ErrInvalidMetadata`).
    #[error("invalid metadata string {input:?}")]
    InvalidMetadata {
        /// The rejected text.
        input: String,
    },
    /// Incrementing would overflow a 64-bit segment (Masterminds panics here).
    #[error("{segment} version increment of {version:?} would overflow")]
    IncrementOverflow {
        /// `major`, `minor` or `patch`.
        segment: &'static str,
        /// The version that could not be incremented.
        version: String,
    },
}

/// Error kinds without the input, so the hot loop never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Empty,
    Invalid,
    TooFewDots,
    InvalidCharacters,
    SegmentStartsZero,
    SegmentOverflow(u8),
    InvalidPrerelease,
    InvalidMetadata,
}

impl Kind {
    fn into_error(self, input: &str) -> Error {
        let input_owned = || input.to_owned();
        match self {
            Kind::Empty => Error::Empty,
            Kind::Invalid => Error::Invalid {
                input: input_owned(),
            },
            Kind::TooFewDots => Error::TooFewDots {
                input: input_owned(),
            },
            Kind::InvalidCharacters => Error::InvalidCharacters {
                input: input_owned(),
            },
            Kind::SegmentStartsZero => Error::SegmentStartsZero {
                input: input_owned(),
            },
            Kind::SegmentOverflow(which) => {
                let segment = overflowing_segment(input, which);
                Error::SegmentOverflow {
                    input: input_owned(),
                    segment,
                }
            }
            Kind::InvalidPrerelease => Error::InvalidPrerelease {
                input: input_owned(),
            },
            Kind::InvalidMetadata => Error::InvalidMetadata {
                input: input_owned(),
            },
        }
    }
}

/// Re-find the digits of segment `which` (0 = major) for the error message.
fn overflowing_segment(input: &str, which: u8) -> String {
    let body = input.strip_prefix('v').unwrap_or(input);
    let core = body.split(['-', '+']).next().unwrap_or(body);
    core.split('.')
        .nth(usize::from(which))
        .unwrap_or(core)
        .to_owned()
}

/// A version parsed from borrowed text; `Copy` and allocation-free.
///
/// Equality and ordering are Masterminds precedence (build metadata and the
/// original spelling are ignored), like [`Version`].
#[derive(Debug, Clone, Copy)]
pub struct VersionRef<'a> {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: &'a str,
    pub(crate) meta: &'a str,
    pub(crate) original: &'a str,
}

impl<'a> VersionRef<'a> {
    /// Parse like Masterminds `NewVersion` (lenient: `v1`, `1.2`, `01.2.3`).
    ///
    /// # Errors
    /// When `input` is not a version; see [`Error`].
    pub fn parse(input: &'a str) -> Result<Self, Error> {
        scan_loose(input, true).map_err(|k| k.into_error(input))
    }

    /// Parse a tag like Flux's `version.ParseVersion`: at least two dots, then
    /// [`VersionRef::parse`].
    ///
    /// # Errors
    /// When `input` is not a version tag; see [`Error`].
    pub fn parse_tag(input: &'a str) -> Result<Self, Error> {
        scan_tag(input).map_err(|k| k.into_error(input))
    }

    /// [`VersionRef::parse_tag`] without building an error: `None` when
    /// `input` is not a version tag. Allocation-free, for selection loops.
    #[inline]
    #[must_use]
    pub fn try_parse_tag(input: &'a str) -> Option<Self> {
        scan_tag(input).ok()
    }

    /// A version with prerelease `pre` (empty for none), no build metadata,
    /// and `original` as its text. The parts are taken as given: callers
    /// rebuild a version they parsed before (so `pre` is a valid
    /// prerelease), for example from numbers kept without a borrow.
    #[must_use]
    pub fn from_parts(major: u64, minor: u64, patch: u64, pre: &'a str, original: &'a str) -> Self {
        VersionRef {
            major,
            minor,
            patch,
            pre,
            meta: "",
            original,
        }
    }

    /// The major number.
    #[must_use]
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number (0 when the text had none).
    #[must_use]
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number (0 when the text had none).
    #[must_use]
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease without its `-`, or `""`.
    #[must_use]
    pub fn prerelease(&self) -> &'a str {
        self.pre
    }

    /// The build metadata without its `+`, or `""`.
    #[must_use]
    pub fn metadata(&self) -> &'a str {
        self.meta
    }

    /// The text this version was parsed from.
    #[must_use]
    pub fn original(&self) -> &'a str {
        self.original
    }

    /// Masterminds `Compare`: precedence, ignoring build metadata.
    #[must_use]
    pub fn compare(&self, other: &VersionRef<'_>) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| compare_prerelease_field(self.pre, other.pre))
    }

    /// An owned copy.
    #[must_use]
    pub fn to_version(&self) -> Version {
        Version::from_parts(
            self.major,
            self.minor,
            self.patch,
            self.pre,
            self.meta,
            self.original.to_owned(),
        )
    }
}

impl PartialEq for VersionRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl Eq for VersionRef<'_> {}

impl PartialOrd for VersionRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for VersionRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare(other)
    }
}

impl fmt::Display for VersionRef<'_> {
    /// The canonical form (Masterminds `String()`): no `v`, all three numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_canonical(f, self.major, self.minor, self.patch, self.pre, self.meta)
    }
}

fn write_canonical(
    f: &mut fmt::Formatter<'_>,
    major: u64,
    minor: u64,
    patch: u64,
    pre: &str,
    meta: &str,
) -> fmt::Result {
    write!(f, "{major}.{minor}.{patch}")?;
    if !pre.is_empty() {
        write!(f, "-{pre}")?;
    }
    if !meta.is_empty() {
        write!(f, "+{meta}")?;
    }
    Ok(())
}

/// An owned version: a [`semver::Version`] plus the text it was parsed from.
///
/// `Display` gives the canonical form (Masterminds `String()`), and
/// [`Version::original`] the input (Masterminds `Original()`). Equality and
/// ordering are Masterminds precedence, so build metadata is ignored.
#[derive(Debug, Clone)]
pub struct Version {
    inner: semver::Version,
    original: String,
}

impl Version {
    fn from_parts(
        major: u64,
        minor: u64,
        patch: u64,
        pre: &str,
        meta: &str,
        original: String,
    ) -> Self {
        // Every prerelease/metadata accepted by our parsers is also valid for
        // the `semver` crate (same identifier rules); fall back to empty if a
        // future rule ever differs, rather than panicking.
        let mut inner = semver::Version::new(major, minor, patch);
        inner.pre = semver::Prerelease::new(pre).unwrap_or(semver::Prerelease::EMPTY);
        inner.build = semver::BuildMetadata::new(meta).unwrap_or(semver::BuildMetadata::EMPTY);
        Version { inner, original }
    }

    /// Masterminds `NewVersion` with its default `CoerceNewVersion = true`:
    /// optional leading `v`, missing minor/patch taken as 0, leading zeros
    /// accepted (`01.2.3` is `1.2.3`).
    ///
    /// # Errors
    /// When `input` is not a version.
    pub fn parse(input: &str) -> Result<Self, Error> {
        VersionRef::parse(input).map(|v| v.to_version())
    }

    /// Masterminds `NewVersion` with `CoerceNewVersion = false` and detailed
    /// errors: like [`Version::parse`] but leading zeros are an error.
    ///
    /// # Errors
    /// When `input` is not a version.
    pub fn parse_no_coerce(input: &str) -> Result<Self, Error> {
        scan_loose(input, false)
            .map(|v| v.to_version())
            .map_err(|k| k.into_error(input))
    }

    /// Masterminds `StrictNewVersion`: exactly `X.Y.Z[-pre][+meta]`.
    ///
    /// # Errors
    /// When `input` is not a strict semantic version.
    pub fn parse_strict(input: &str) -> Result<Self, Error> {
        scan_strict(input)
            .map(|v| v.to_version())
            .map_err(|k| k.into_error(input))
    }

    /// Flux `version.ParseVersion`, the tag parser of the SemVer policy: the
    /// tag must contain at least two dots, then [`Version::parse`] decides.
    ///
    /// # Errors
    /// When `input` is not a version tag.
    pub fn parse_tag(input: &str) -> Result<Self, Error> {
        VersionRef::parse_tag(input).map(|v| v.to_version())
    }

    /// A borrowed view, for [`super::Range::matches`] and comparisons.
    #[must_use]
    pub fn as_ref(&self) -> VersionRef<'_> {
        VersionRef {
            major: self.inner.major,
            minor: self.inner.minor,
            patch: self.inner.patch,
            pre: self.inner.pre.as_str(),
            meta: self.inner.build.as_str(),
            original: &self.original,
        }
    }

    /// The major number.
    #[must_use]
    pub fn major(&self) -> u64 {
        self.inner.major
    }

    /// The minor number.
    #[must_use]
    pub fn minor(&self) -> u64 {
        self.inner.minor
    }

    /// The patch number.
    #[must_use]
    pub fn patch(&self) -> u64 {
        self.inner.patch
    }

    /// The prerelease without its `-`, or `""`.
    #[must_use]
    pub fn prerelease(&self) -> &str {
        self.inner.pre.as_str()
    }

    /// The build metadata without its `+`, or `""`.
    #[must_use]
    pub fn metadata(&self) -> &str {
        self.inner.build.as_str()
    }

    /// The text this version was parsed from (Masterminds `Original()`).
    #[must_use]
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The underlying [`semver::Version`].
    #[must_use]
    pub fn as_semver(&self) -> &semver::Version {
        &self.inner
    }

    /// `"v"` when the original text started with `v`, else `""`.
    #[must_use]
    pub fn original_v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    fn rebuilt(&self, inner: semver::Version) -> Version {
        let original = format!("{}{}", self.original_v_prefix(), inner);
        Version { inner, original }
    }

    /// Masterminds `IncPatch`: drop prerelease and metadata; bump the patch
    /// only when there was no prerelease (`1.2.3-beta` → `1.2.3`).
    ///
    /// # Errors
    /// [`Error::IncrementOverflow`] at `u64::MAX`.
    pub fn inc_patch(&self) -> Result<Version, Error> {
        let mut next = self.inner.clone();
        next.build = semver::BuildMetadata::EMPTY;
        if self.inner.pre.is_empty() {
            next.patch =
                self.inner
                    .patch
                    .checked_add(1)
                    .ok_or_else(|| Error::IncrementOverflow {
                        segment: "patch",
                        version: self.to_string(),
                    })?;
        }
        next.pre = semver::Prerelease::EMPTY;
        Ok(self.rebuilt(next))
    }

    /// Masterminds `IncMinor`: `x.(y+1).0`, no prerelease or metadata.
    ///
    /// # Errors
    /// [`Error::IncrementOverflow`] at `u64::MAX`.
    pub fn inc_minor(&self) -> Result<Version, Error> {
        let minor = self
            .inner
            .minor
            .checked_add(1)
            .ok_or_else(|| Error::IncrementOverflow {
                segment: "minor",
                version: self.to_string(),
            })?;
        Ok(self.rebuilt(semver::Version::new(self.inner.major, minor, 0)))
    }

    /// Masterminds `IncMajor`: `(x+1).0.0`, no prerelease or metadata.
    ///
    /// # Errors
    /// [`Error::IncrementOverflow`] at `u64::MAX`.
    pub fn inc_major(&self) -> Result<Version, Error> {
        let major = self
            .inner
            .major
            .checked_add(1)
            .ok_or_else(|| Error::IncrementOverflow {
                segment: "major",
                version: self.to_string(),
            })?;
        Ok(self.rebuilt(semver::Version::new(major, 0, 0)))
    }

    /// Masterminds `SetPrerelease` (`""` removes it).
    ///
    /// # Errors
    /// When `pre` is not a valid prerelease.
    pub fn with_prerelease(&self, pre: &str) -> Result<Version, Error> {
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        let mut next = self.inner.clone();
        next.pre = semver::Prerelease::new(pre).map_err(|_| Error::InvalidPrerelease {
            input: pre.to_owned(),
        })?;
        Ok(self.rebuilt(next))
    }

    /// Masterminds `SetMetadata` (`""` removes it).
    ///
    /// # Errors
    /// When `meta` is not valid build metadata.
    pub fn with_metadata(&self, meta: &str) -> Result<Version, Error> {
        if !meta.is_empty() {
            validate_metadata(meta)?;
        }
        let mut next = self.inner.clone();
        next.build = semver::BuildMetadata::new(meta).map_err(|_| Error::InvalidMetadata {
            input: meta.to_owned(),
        })?;
        Ok(self.rebuilt(next))
    }
}

impl From<semver::Version> for Version {
    fn from(inner: semver::Version) -> Self {
        let original = inner.to_string();
        Version { inner, original }
    }
}

impl From<Version> for semver::Version {
    fn from(v: Version) -> Self {
        v.inner
    }
}

impl std::str::FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    /// The canonical form (Masterminds `String()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.as_ref() == other.as_ref()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_ref().compare(&other.as_ref())
    }
}

/// Check a prerelease like Masterminds `validatePrerelease`: dot-separated,
/// non-empty identifiers of `[0-9A-Za-z-]`, numbers without leading zeros.
///
/// # Errors
/// [`Error::InvalidPrerelease`] or [`Error::SegmentStartsZero`].
pub fn validate_prerelease(pre: &str) -> Result<(), Error> {
    check_prerelease(pre).map_err(|k| k.into_error(pre))
}

/// Check build metadata like Masterminds `validateMetadata`: dot-separated,
/// non-empty identifiers of `[0-9A-Za-z-]` (leading zeros allowed).
///
/// # Errors
/// [`Error::InvalidMetadata`].
pub fn validate_metadata(meta: &str) -> Result<(), Error> {
    check_metadata(meta).map_err(|k| k.into_error(meta))
}

fn check_prerelease(pre: &str) -> Result<(), Kind> {
    for part in pre.split('.') {
        let b = part.as_bytes();
        if b.is_empty() {
            return Err(Kind::InvalidPrerelease);
        }
        if b.iter().all(u8::is_ascii_digit) {
            if b.len() > 1 && b[0] == b'0' {
                return Err(Kind::SegmentStartsZero);
            }
        } else if !b.iter().copied().all(is_ident) {
            return Err(Kind::InvalidPrerelease);
        }
    }
    Ok(())
}

fn check_metadata(meta: &str) -> Result<(), Kind> {
    for part in meta.split('.') {
        if part.is_empty() || !part.bytes().all(is_ident) {
            return Err(Kind::InvalidMetadata);
        }
    }
    Ok(())
}

#[inline]
pub(crate) fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Parse decimal digits into a u64; `None` on overflow.
#[inline]
fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.len() <= 19 {
        // Cannot overflow.
        return Some(
            digits
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
        );
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

#[inline]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Scan dot-separated identifiers (`[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*`) from `i`.
/// Returns the end, or `i` when there is no identifier at `i`.
#[inline]
fn idents_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && is_ident(b[i]) {
        i += 1;
    }
    if i == start {
        return start;
    }
    while i + 1 < b.len() && b[i] == b'.' && is_ident(b[i + 1]) {
        i += 1;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
    }
    i
}

/// Like [`idents_end`] for a prerelease, also reporting a numeric
/// identifier with a leading zero (`01`), which Masterminds rejects.
#[inline]
fn prerelease_end(b: &[u8], start: usize) -> (usize, bool) {
    let mut i = start;
    let mut zero = false;
    loop {
        let id = i;
        let mut digits_only = true;
        while i < b.len() && is_ident(b[i]) {
            digits_only &= b[i].is_ascii_digit();
            i += 1;
        }
        if i == id {
            // Only reachable after a dot that we did not consume.
            return (id, zero);
        }
        zero |= digits_only && i - id > 1 && b[id] == b'0';
        if i + 1 < b.len() && b[i] == b'.' && is_ident(b[i + 1]) {
            i += 1;
        } else {
            return (i, zero);
        }
    }
}

/// Flux `ParseVersion`: `strings.SplitN(v, ".", 3)` must give three parts,
/// then `NewVersion` decides.
#[inline]
pub(crate) fn scan_tag(input: &str) -> Result<VersionRef<'_>, Kind> {
    // Parse first: most non-versions fail on their first byte, and a version
    // with an explicit patch number has its two dots already.
    match scan_loose_parts(input, true) {
        Ok((v, true)) => Ok(v),
        Ok((v, false)) if has_two_dots(input.as_bytes()) => Ok(v),
        Ok(_) => Err(Kind::TooFewDots),
        Err(k) if has_two_dots(input.as_bytes()) => Err(k),
        Err(_) => Err(Kind::TooFewDots),
    }
}

#[inline]
fn has_two_dots(b: &[u8]) -> bool {
    let mut dots = 0;
    for &c in b {
        if c == b'.' {
            dots += 1;
            if dots == 2 {
                return true;
            }
        }
    }
    false
}

/// The loose grammar of Masterminds (`looseSemVerRegex`, anchored):
/// `v?[0-9]+(\.[0-9]+)?(\.[0-9]+)?(-ids)?(\+ids)?`. With `coerce == false`
/// it also applies the `CoerceNewVersion = false` rules (no leading zeros,
/// detailed errors).
#[inline]
pub(crate) fn scan_loose(input: &str, coerce: bool) -> Result<VersionRef<'_>, Kind> {
    scan_loose_parts(input, coerce).map(|(v, _)| v)
}

/// [`scan_loose`], also telling whether the patch number was written.
#[inline]
fn scan_loose_parts(input: &str, coerce: bool) -> Result<(VersionRef<'_>, bool), Kind> {
    let b = input.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let major_start = i;
    i = digits_end(b, i);
    if i == major_start {
        return Err(Kind::Invalid);
    }
    let major_digits = &b[major_start..i];
    let mut minor_digits: &[u8] = &[];
    let mut patch_digits: &[u8] = &[];
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        let s = i + 1;
        i = digits_end(b, s);
        minor_digits = &b[s..i];
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            let s = i + 1;
            i = digits_end(b, s);
            patch_digits = &b[s..i];
        }
    }
    let mut pre = "";
    let mut pre_zero = false;
    if i + 1 < b.len() && b[i] == b'-' {
        let s = i + 1;
        let (e, zero) = prerelease_end(b, s);
        if e > s {
            pre = &input[s..e];
            pre_zero = zero;
            i = e;
        }
    }
    let mut meta = "";
    if i + 1 < b.len() && b[i] == b'+' {
        let s = i + 1;
        let e = idents_end(b, s);
        if e > s {
            meta = &input[s..e];
            i = e;
        }
    }
    if i != b.len() {
        return Err(Kind::Invalid);
    }
    if !coerce {
        for seg in [major_digits, minor_digits, patch_digits] {
            if seg.len() > 1 && seg[0] == b'0' {
                return Err(Kind::SegmentStartsZero);
            }
        }
    }
    let major = parse_u64(major_digits).ok_or(Kind::SegmentOverflow(0))?;
    let minor = parse_u64(minor_digits).ok_or(Kind::SegmentOverflow(1))?;
    let patch = parse_u64(patch_digits).ok_or(Kind::SegmentOverflow(2))?;
    if pre_zero {
        return Err(Kind::SegmentStartsZero);
    }
    // Prerelease and metadata identifiers are otherwise valid by the grammar.
    let has_patch = !patch_digits.is_empty();
    Ok((
        VersionRef {
            major,
            minor,
            patch,
            pre,
            meta,
            original: input,
        },
        has_patch,
    ))
}

/// Masterminds `StrictNewVersion`.
fn scan_strict(input: &str) -> Result<VersionRef<'_>, Kind> {
    if input.is_empty() {
        return Err(Kind::Empty);
    }
    let mut parts = input.splitn(3, '.');
    let (Some(major_s), Some(minor_s), Some(rest)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Kind::Invalid);
    };
    let (rest, meta) = match rest.split_once('+') {
        Some((r, m)) => {
            check_metadata(m)?;
            (r, m)
        }
        None => (rest, ""),
    };
    let (patch_s, pre) = match rest.split_once('-') {
        Some((p, pre)) => {
            check_prerelease(pre)?;
            (p, pre)
        }
        None => (rest, ""),
    };
    let mut nums = [0u64; 3];
    for (idx, seg) in [major_s, minor_s, patch_s].into_iter().enumerate() {
        let sb = seg.as_bytes();
        if !sb.iter().all(u8::is_ascii_digit) {
            return Err(Kind::InvalidCharacters);
        }
        if sb.len() > 1 && sb[0] == b'0' {
            return Err(Kind::SegmentStartsZero);
        }
        if sb.is_empty() {
            // strconv.ParseUint("") fails with a syntax error.
            return Err(Kind::Invalid);
        }
        #[allow(clippy::cast_possible_truncation)] // idx < 3
        let which = idx as u8;
        nums[idx] = parse_u64(sb).ok_or(Kind::SegmentOverflow(which))?;
    }
    Ok(VersionRef {
        major: nums[0],
        minor: nums[1],
        patch: nums[2],
        pre,
        meta,
        original: input,
    })
}

/// Compare two prerelease fields where `""` means "no prerelease" (greater).
#[inline]
fn compare_prerelease_field(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => compare_prerelease(a, b),
    }
}

/// Masterminds `comparePrerelease`: part by part; a missing part is smaller.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let d = compare_pre_part(x.unwrap_or(""), y.unwrap_or(""));
                if d != Ordering::Equal {
                    return d;
                }
            }
        }
    }
}

/// Masterminds `comparePrePart`.
fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    let sn = numeric(s);
    let on = numeric(o);
    match (sn, on) {
        (None, None) => s.cmp(o),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(x), Some(y)) => {
            // Go returns 1 only for `>`; equal numbers with different text
            // (impossible after validation) compare as -1.
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// `strconv.ParseUint(s, 10, 64)` success.
fn numeric(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    parse_u64(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_shapes() {
        let v = VersionRef::parse("v1.2-beta.5+x").unwrap();
        assert_eq!((v.major(), v.minor(), v.patch()), (1, 2, 0));
        assert_eq!(v.prerelease(), "beta.5");
        assert_eq!(v.metadata(), "x");
        assert!(VersionRef::parse("1.2.3-").is_err());
        assert!(VersionRef::parse("1.2.3.4").is_err());
        assert!(VersionRef::parse("V1.2.3").is_err());
        assert!(VersionRef::parse("1.2.3--").is_ok());
        assert_eq!(
            VersionRef::parse("1.2.3-a.").unwrap_err(),
            Error::Invalid {
                input: "1.2.3-a.".into()
            }
        );
    }

    #[test]
    fn overflow_names_segment() {
        assert_eq!(
            Version::parse("1.99999999999999999999.0")
                .unwrap_err()
                .to_string(),
            "version segment \"99999999999999999999\" of \"1.99999999999999999999.0\" does not fit in 64 bits"
        );
    }

    #[test]
    fn tag_needs_two_dots() {
        assert_eq!(
            Version::parse_tag("v1.2").unwrap_err().to_string(),
            "invalid semantic version \"v1.2\": a tag needs at least two dots"
        );
        assert_eq!(
            Version::parse_tag("1.2-rc.1").unwrap().to_string(),
            "1.2.0-rc.1"
        );
    }

    #[test]
    fn prerelease_ordering() {
        let p = |s| Version::parse(s).unwrap();
        assert!(p("1.0.0-beta.4") < p("1.0.0-beta.-2"));
        assert!(p("1.0.0-beta.-2") < p("1.0.0-beta.-3"));
        assert!(p("1.0.0-alpha") < p("1.0.0-alpha.1"));
        assert!(p("1.0.0-99999999999999999999") > p("1.0.0-9"));
        assert_eq!(p("1.2.3+a"), p("v1.2.3+b"));
    }
}
