//! Version ranges with the syntax and semantics of Masterminds/semver v3
//! constraints (what Flux's `policy.semver.range` uses).
//!
//! Syntax: comparators `=`, `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`, `~>`,
//! `^`, or none (exact, or "within" when the version has wildcards); versions
//! may be partial (`1`, `1.2`), use wildcards `x`, `X`, `*`, and start with
//! `v`; comparators separated by spaces or commas must all hold (AND); `||`
//! separates alternatives (OR); `1.2 - 1.4.5` is a hyphen range
//! (`>= 1.2, <= 1.4.5`).
//!
//! Prereleases: a version with a prerelease matches an `||` alternative only
//! if one of that alternative's comparators carries a prerelease itself (or
//! [`Range::with_include_prerelease`] is set), as in Masterminds `Check`.
//!
//! ```
//! use gitops_core::semver::{Range, Version};
//!
//! let range = Range::parse(">=1.0.0 <2 || ~3.1")?;
//! let ok = |s: &str| range.matches(Version::parse(s).unwrap().as_ref());
//! assert!(ok("1.9.9") && ok("3.1.7"));
//! assert!(!ok("2.0.0") && !ok("3.2.0"));
//! assert!(!ok("1.5.0-rc.1")); // no comparator mentions a prerelease
//! assert_eq!(range.to_string(), ">=1.0.0 <2 || ~3.1");
//!
//! let err = Range::parse(">= 1.2, <2.x.y").unwrap_err();
//! assert_eq!(err.to_string(), "unexpected \".y\" at column 13 after version \"2.x\"");
//! # Ok::<(), gitops_core::semver::range::Error>(())
//! ```

use std::fmt;

use super::version::{self, Version, VersionRef};

/// Why a range does not parse. Columns are 1-based character positions in
/// the input given to [`Range::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The range is empty or only blanks.
    #[error("empty range")]
    Empty,
    /// An `||` alternative holds nothing.
    #[error("empty alternative at column {column}: expected a constraint around \"||\"")]
    EmptyAlternative {
        /// Where the empty alternative starts.
        column: usize,
    },
    /// A run of operator characters that is not an operator.
    #[error(
        "unknown operator {op:?} at column {column}, expected one of = != > < >= => <= =< ~ ~> ^"
    )]
    UnknownOperator {
        /// The operator text.
        op: String,
        /// Where it starts.
        column: usize,
    },
    /// A version was expected here.
    #[error("expected a version at column {column}, found {}", found_text(.found))]
    ExpectedVersion {
        /// The text found instead (empty at the end of the input).
        found: String,
        /// Where it was expected.
        column: usize,
    },
    /// Text after a version that cannot follow it (a separator is missing or
    /// the version is malformed).
    #[error("unexpected {token:?} at column {column} after version {version:?}")]
    Unexpected {
        /// The offending text.
        token: String,
        /// Where it starts.
        column: usize,
        /// The version it follows.
        version: String,
    },
    /// The version of a comparator is out of range or has a bad prerelease
    /// (Masterminds: "constraint parser error").
    #[error("invalid version {version:?} at column {column}")]
    InvalidVersion {
        /// The version text as written.
        version: String,
        /// Where it starts.
        column: usize,
        /// What is wrong with it.
        #[source]
        source: version::Error,
    },
}

fn found_text(found: &str) -> String {
    if found.is_empty() {
        "end of input".to_owned()
    } else {
        format!("{found:?}")
    }
}

/// The comparison a [`Comparator`] applies (named after Masterminds'
/// `constraint*` functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `=` or no operator: equal, or within the wildcard span (`1.2` = `1.2.x`).
    TildeOrEqual,
    /// `!=`.
    NotEqual,
    /// `>`.
    GreaterThan,
    /// `<`.
    LessThan,
    /// `>=` or `=>`.
    GreaterThanEqual,
    /// `<=` or `=<`.
    LessThanEqual,
    /// `~` or `~>`: patch-level changes (`~1.2.3` = `>=1.2.3 <1.3.0`).
    Tilde,
    /// `^`: changes that keep the left-most non-zero number.
    Caret,
}

const OPS: &[(&str, Op)] = &[
    ("", Op::TildeOrEqual),
    ("=", Op::TildeOrEqual),
    ("!=", Op::NotEqual),
    (">", Op::GreaterThan),
    ("<", Op::LessThan),
    (">=", Op::GreaterThanEqual),
    ("=>", Op::GreaterThanEqual),
    ("<=", Op::LessThanEqual),
    ("=<", Op::LessThanEqual),
    ("~", Op::Tilde),
    ("~>", Op::Tilde),
    ("^", Op::Caret),
];

fn lookup_op(text: &str) -> Option<(&'static str, Op)> {
    OPS.iter().find(|(t, _)| *t == text).copied()
}

/// One comparison such as `>=1.2` or `~1.x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparator {
    op: Op,
    op_text: &'static str,
    orig: String,
    con: Version,
    /// `con`'s prerelease, kept as a plain string for fast comparisons.
    con_pre: String,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// Which Masterminds message a failed check gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The version is a prerelease and the alternative does not allow them.
    Prerelease,
    /// `is less than`.
    LessThan,
    /// `is less than or equal to`.
    LessThanOrEqual,
    /// `is greater than`.
    GreaterThan,
    /// `is greater than or equal to`.
    GreaterThanOrEqual,
    /// `is equal to` (for `!=`).
    EqualTo,
    /// `is not equal to`.
    NotEqualTo,
    /// `does not have same major version as`.
    MajorDiffers,
    /// `does not have same major and minor version as`.
    MajorMinorDiffers,
    /// `^0.y`: the minor must match when the major is 0.
    CaretMinorDiffers,
    /// `^0.0.z`: `does not have same minor version as`.
    MinorDiffers,
    /// `^0.0.z`: the version must equal the constraint.
    CaretPatchDiffers,
}

/// One reason a version fails a range (Masterminds `Validate` messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which check failed.
    pub kind: ViolationKind,
    /// The version, in canonical form.
    pub version: String,
    /// The comparator's version text as written (e.g. `1.x`).
    pub constraint: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v, c) = (&self.version, &self.constraint);
        match self.kind {
            ViolationKind::Prerelease => write!(
                f,
                "{v:?} is a prerelease version and the constraint is only looking for release versions"
            ),
            ViolationKind::LessThan => write!(f, "{v:?} is less than {c:?}"),
            ViolationKind::LessThanOrEqual => write!(f, "{v:?} is less than or equal to {c:?}"),
            ViolationKind::GreaterThan => write!(f, "{v:?} is greater than {c:?}"),
            ViolationKind::GreaterThanOrEqual => {
                write!(f, "{v:?} is greater than or equal to {c:?}")
            }
            ViolationKind::EqualTo => write!(f, "{v:?} is equal to {c:?}"),
            ViolationKind::NotEqualTo => write!(f, "{v:?} is not equal to {c:?}"),
            ViolationKind::MajorDiffers => {
                write!(f, "{v:?} does not have same major version as {c:?}")
            }
            ViolationKind::MajorMinorDiffers => {
                write!(
                    f,
                    "{v:?} does not have same major and minor version as {c:?}"
                )
            }
            ViolationKind::CaretMinorDiffers => write!(
                f,
                "{v:?} does not have same minor version as {c:?}. Expected minor versions to match when constraint major version is 0"
            ),
            ViolationKind::MinorDiffers => {
                write!(f, "{v:?} does not have same minor version as {c:?}")
            }
            ViolationKind::CaretPatchDiffers => write!(
                f,
                "{v:?} does not equal {c:?}. Expect version and constraint to equal when major and minor versions are 0"
            ),
        }
    }
}

type Check = Result<(), ViolationKind>;

impl Comparator {
    /// Parse one comparator (Masterminds `parseConstraint`), e.g. `>= 1.2`.
    ///
    /// Unlike [`Range::parse`], the empty string is accepted and matches any
    /// version (Masterminds' internal parser does the same).
    ///
    /// # Errors
    /// When `input` is not a single comparator.
    pub fn parse(input: &str) -> Result<Comparator, Error> {
        let map = Edits::default();
        let b = input.as_bytes();
        let mut i = skip_ws(b, 0);
        if i == b.len() {
            return Ok(Comparator::any());
        }
        let c = parse_one(input, &mut i, &map)?;
        let end = skip_ws(b, i);
        if end != b.len() {
            return Err(Error::Unexpected {
                token: word_at(input, end).to_owned(),
                column: column(input, end),
                version: c.orig.clone(),
            });
        }
        Ok(c)
    }

    fn any() -> Comparator {
        Comparator {
            op: Op::TildeOrEqual,
            op_text: "",
            orig: String::new(),
            con: Version::from(semver::Version::new(0, 0, 0)),
            con_pre: String::new(),
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        }
    }

    /// The comparison.
    #[must_use]
    pub fn op(&self) -> Op {
        self.op
    }

    /// The operator as written (`""`, `=>`, `~>`…).
    #[must_use]
    pub fn op_text(&self) -> &'static str {
        self.op_text
    }

    /// The version as written, wildcards included (`1.x`).
    #[must_use]
    pub fn version_text(&self) -> &str {
        &self.orig
    }

    /// The version compared against, wildcards replaced by 0 (`1.x` → `1.0.0`).
    #[must_use]
    pub fn version(&self) -> &Version {
        &self.con
    }

    /// Whether the comparator's version carries a prerelease.
    #[must_use]
    pub fn has_prerelease(&self) -> bool {
        !self.con.prerelease().is_empty()
    }

    /// Check one version; `include_prerelease` says whether prerelease
    /// versions may match at all.
    #[must_use]
    pub fn matches(&self, v: VersionRef<'_>, include_prerelease: bool) -> bool {
        self.check(&v, include_prerelease).is_ok()
    }

    /// Like [`Comparator::matches`], with the reason on failure.
    ///
    /// # Errors
    /// The [`Violation`] when the version does not satisfy the comparator.
    pub fn validate(&self, v: VersionRef<'_>, include_prerelease: bool) -> Result<(), Violation> {
        self.check(&v, include_prerelease)
            .map_err(|kind| self.violation(kind, &v))
    }

    fn violation(&self, kind: ViolationKind, v: &VersionRef<'_>) -> Violation {
        Violation {
            kind,
            version: v.to_string(),
            constraint: self.orig.clone(),
        }
    }

    /// `con` as a [`VersionRef`], without decoding `semver`'s compact strings.
    #[inline]
    fn con_ref(&self) -> VersionRef<'_> {
        VersionRef {
            major: self.con.major(),
            minor: self.con.minor(),
            patch: self.con.patch(),
            pre: &self.con_pre,
            meta: "",
            original: "",
        }
    }

    /// The greatest `(major, minor, patch)` a version satisfying this
    /// comparator can have (`None`: unbounded), read off the checks below.
    fn ceiling(&self) -> Option<(u64, u64, u64)> {
        let c = (self.con.major(), self.con.minor(), self.con.patch());
        let max = u64::MAX;
        let tilde = || {
            if c == (0, 0, 0) && !self.minor_dirty && !self.patch_dirty {
                None
            } else if self.minor_dirty {
                Some((c.0, max, max))
            } else {
                Some((c.0, c.1, max))
            }
        };
        match self.op {
            Op::TildeOrEqual if self.dirty => tilde(),
            // Equal, or below: at most the same numbers (a prerelease of
            // them is below).
            Op::TildeOrEqual | Op::LessThan => Some(c),
            Op::LessThanEqual if !self.dirty => Some(c),
            Op::LessThanEqual if self.minor_dirty => Some((c.0, max, max)),
            Op::LessThanEqual => Some((c.0, c.1, max)),
            Op::Tilde => tilde(),
            Op::Caret if c.0 > 0 || self.minor_dirty => Some((c.0, max, max)),
            Op::Caret if c.1 > 0 || self.patch_dirty => Some((0, c.1, max)),
            Op::Caret => Some((0, 0, c.2)),
            Op::NotEqual | Op::GreaterThan | Op::GreaterThanEqual => None,
        }
    }

    #[inline]
    fn check(&self, v: &VersionRef<'_>, include_pre: bool) -> Check {
        if !include_pre && !v.prerelease().is_empty() {
            return Err(ViolationKind::Prerelease);
        }
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else if v.compare(&self.con_ref()).is_eq() {
                    Ok(())
                } else {
                    Err(ViolationKind::NotEqualTo)
                }
            }
            Op::NotEqual => self.not_equal(v),
            Op::GreaterThan => self.greater_than(v),
            Op::LessThan => {
                if v.compare(&self.con_ref()).is_lt() {
                    Ok(())
                } else {
                    Err(ViolationKind::GreaterThanOrEqual)
                }
            }
            Op::GreaterThanEqual => {
                if v.compare(&self.con_ref()).is_ge() {
                    Ok(())
                } else {
                    Err(ViolationKind::LessThan)
                }
            }
            Op::LessThanEqual => self.less_than_equal(v),
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn not_equal(&self, v: &VersionRef<'_>) -> Check {
        let c = &self.con;
        if self.dirty {
            if c.major() != v.major() {
                return Ok(());
            }
            if c.minor() != v.minor() && !self.minor_dirty {
                return Ok(());
            } else if self.minor_dirty {
                return Err(ViolationKind::EqualTo);
            } else if c.patch() != v.patch() && !self.patch_dirty {
                return Ok(());
            } else if self.patch_dirty {
                if (!v.prerelease().is_empty() || !c.prerelease().is_empty())
                    && version::compare_prerelease(v.prerelease(), c.prerelease()).is_ne()
                {
                    return Ok(());
                }
                return Err(ViolationKind::EqualTo);
            }
        }
        if v.compare(&self.con_ref()).is_eq() {
            Err(ViolationKind::EqualTo)
        } else {
            Ok(())
        }
    }

    fn greater_than(&self, v: &VersionRef<'_>) -> Check {
        let c = &self.con;
        let fail = Err(ViolationKind::LessThanOrEqual);
        if !self.dirty {
            return if v.compare(&self.con_ref()).is_gt() {
                Ok(())
            } else {
                fail
            };
        }
        if v.major() > c.major() {
            Ok(())
        } else if v.major() < c.major() || self.minor_dirty {
            fail
        } else if self.patch_dirty {
            if v.minor() > c.minor() { Ok(()) } else { fail }
        } else if v.compare(&self.con_ref()).is_gt() {
            Ok(())
        } else {
            fail
        }
    }

    fn less_than_equal(&self, v: &VersionRef<'_>) -> Check {
        let c = &self.con;
        let fail = Err(ViolationKind::GreaterThan);
        if !self.dirty {
            return if v.compare(&self.con_ref()).is_le() {
                Ok(())
            } else {
                fail
            };
        }
        if v.major() > c.major()
            || (v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty)
        {
            fail
        } else {
            Ok(())
        }
    }

    fn tilde(&self, v: &VersionRef<'_>) -> Check {
        let c = &self.con;
        if v.compare(&self.con_ref()).is_lt() {
            return Err(ViolationKind::LessThan);
        }
        if c.major() == 0
            && c.minor() == 0
            && c.patch() == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return Ok(());
        }
        if v.major() != c.major() {
            return Err(ViolationKind::MajorDiffers);
        }
        if v.minor() != c.minor() && !self.minor_dirty {
            return Err(ViolationKind::MajorMinorDiffers);
        }
        Ok(())
    }

    fn caret(&self, v: &VersionRef<'_>) -> Check {
        let c = &self.con;
        if v.compare(&self.con_ref()).is_lt() {
            return Err(ViolationKind::LessThan);
        }
        if c.major() > 0 || self.minor_dirty {
            return if v.major() == c.major() {
                Ok(())
            } else {
                Err(ViolationKind::MajorDiffers)
            };
        }
        if v.major() > 0 {
            return Err(ViolationKind::MajorDiffers);
        }
        if c.minor() > 0 || self.patch_dirty {
            return if v.minor() == c.minor() {
                Ok(())
            } else {
                Err(ViolationKind::CaretMinorDiffers)
            };
        }
        if v.minor() > 0 {
            return Err(ViolationKind::MinorDiffers);
        }
        if c.patch() == v.patch() {
            Ok(())
        } else {
            Err(ViolationKind::CaretPatchDiffers)
        }
    }
}

impl fmt::Display for Comparator {
    /// Masterminds `string()`: the operator as written, then the version as
    /// written (`>= 1.2` prints as `>=1.2`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op_text, self.orig)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    comparators: Vec<Comparator>,
    has_pre: bool,
}

/// A parsed range: `||` alternatives of AND-ed comparators.
///
/// `Display` prints the Masterminds canonical form (`>= 1.2.3, < 2` →
/// `>=1.2.3 <2`), which parses back to an equal range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    groups: Vec<Group>,
    include_prerelease: bool,
}

impl Range {
    /// Parse a range like Masterminds `NewConstraint`.
    ///
    /// ```
    /// use gitops_core::semver::Range;
    ///
    /// let r = Range::parse("1.2 - 1.4.5, !=1.3.0")?;
    /// assert_eq!(r.to_string(), ">=1.2 <=1.4.5 !=1.3.0");
    /// assert_eq!(
    ///     Range::parse(">=1.0 <2 ||").unwrap_err().to_string(),
    ///     "empty alternative at column 12: expected a constraint around \"||\""
    /// );
    /// # Ok::<(), gitops_core::semver::range::Error>(())
    /// ```
    ///
    /// # Errors
    /// When the text is not a range; the error names the offending token and
    /// its column.
    pub fn parse(input: &str) -> Result<Range, Error> {
        if input.bytes().all(is_ws) {
            return Err(Error::Empty);
        }
        let (text, edits) = rewrite_hyphen_ranges(input);
        let mut groups = Vec::new();
        let mut offset = 0;
        for part in text.split("||") {
            let comparators = parse_group(input, &text, offset, part.len(), &edits)?;
            let has_pre = comparators.iter().any(Comparator::has_prerelease);
            groups.push(Group {
                comparators,
                has_pre,
            });
            offset += part.len() + 2;
        }
        Ok(Range {
            groups,
            include_prerelease: false,
        })
    }

    /// Set Masterminds' `IncludePrerelease`: when true, prerelease versions
    /// may match every alternative, not only those mentioning a prerelease.
    #[must_use]
    pub fn with_include_prerelease(mut self, include: bool) -> Range {
        self.include_prerelease = include;
        self
    }

    /// Whether `IncludePrerelease` is set.
    #[must_use]
    pub fn include_prerelease(&self) -> bool {
        self.include_prerelease
    }

    /// The `||` alternatives, each a list of comparators that must all hold.
    pub fn alternatives(&self) -> impl ExactSizeIterator<Item = &[Comparator]> + '_ {
        self.groups.iter().map(|g| g.comparators.as_slice())
    }

    /// Whether prerelease versions can match alternative `index` (it has a
    /// comparator with a prerelease, or `IncludePrerelease` is set).
    #[must_use]
    pub fn alternative_allows_prerelease(&self, index: usize) -> bool {
        self.include_prerelease || self.groups.get(index).is_some_and(|g| g.has_pre)
    }

    /// Whether any alternative admits prerelease versions.
    #[must_use]
    pub fn allows_prerelease(&self) -> bool {
        self.include_prerelease || self.groups.iter().any(|g| g.has_pre)
    }

    /// The greatest `(major, minor, patch)` a matching version can have,
    /// `None` when unbounded: a version whose numbers are greater matches
    /// no alternative (each is bounded by its lowest comparator bound).
    #[must_use]
    pub fn ceiling(&self) -> Option<(u64, u64, u64)> {
        let mut top = None;
        for g in &self.groups {
            let bound = g.comparators.iter().filter_map(Comparator::ceiling).min()?;
            top = top.max(Some(bound));
        }
        top
    }

    /// Masterminds `Check`: does `v` satisfy the range?
    #[must_use]
    #[inline]
    pub fn matches(&self, v: VersionRef<'_>) -> bool {
        let is_pre = !v.prerelease().is_empty();
        self.groups.iter().any(|g| {
            let include = self.include_prerelease || g.has_pre;
            if is_pre && !include {
                return false;
            }
            g.comparators.iter().all(|c| c.check(&v, include).is_ok())
        })
    }

    /// Masterminds `Validate`: `Ok` when `v` satisfies the range, else every
    /// reason in Masterminds' order (the prerelease reason at most once).
    ///
    /// # Errors
    /// The violations when `v` does not satisfy the range.
    pub fn validate(&self, v: VersionRef<'_>) -> Result<(), Vec<Violation>> {
        let mut errors = Vec::new();
        let mut pre_reported = false;
        let is_pre = !v.prerelease().is_empty();
        for g in &self.groups {
            let include = self.include_prerelease || g.has_pre;
            let mut joy = true;
            for c in &g.comparators {
                if !include && is_pre {
                    if !pre_reported {
                        errors.push(c.violation(ViolationKind::Prerelease, &v));
                        pre_reported = true;
                    }
                    joy = false;
                } else if let Err(kind) = c.check(&v, include) {
                    errors.push(c.violation(kind, &v));
                    joy = false;
                }
            }
            if joy {
                return Ok(());
            }
        }
        Err(errors)
    }
}

impl std::str::FromStr for Range {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::parse(s)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (gi, g) in self.groups.iter().enumerate() {
            if gi > 0 {
                f.write_str(" || ")?;
            }
            for (ci, c) in g.comparators.iter().enumerate() {
                if ci > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Go RE2 `\s`: `[\t\n\f\r ]`.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

fn is_op_char(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'>' | b'<' | b'~' | b'^')
}

/// Characters of a version segment in Masterminds' constraint regex
/// (`[0-9|x|X|\*]`: the `|` is literally part of the class).
fn is_seg(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'|' | b'x' | b'X' | b'*')
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Byte offsets of the parts of a version in a constraint (`cvRegex`).
#[derive(Debug, Clone, Copy)]
struct Cv {
    start: usize,
    end: usize,
    major: (usize, usize),
    /// Minor digits, without the dot.
    minor: Option<(usize, usize)>,
    patch: Option<(usize, usize)>,
    /// Prerelease including its `-`.
    pre: Option<(usize, usize)>,
}

/// Match `cvRegex` at `i`, greedily (the only way the surrounding regexes can
/// match, as nothing that may follow a version can be part of one).
fn scan_cv(b: &[u8], start: usize) -> Option<Cv> {
    let mut i = start;
    if i < b.len() && b[i] == b'v' {
        i += 1;
    }
    let ms = i;
    while i < b.len() && is_seg(b[i]) {
        i += 1;
    }
    if i == ms {
        return None;
    }
    let major = (ms, i);
    let seg = |i: &mut usize| -> Option<(usize, usize)> {
        if *i + 1 < b.len() && b[*i] == b'.' && is_seg(b[*i + 1]) {
            let s = *i + 1;
            let mut e = s;
            while e < b.len() && is_seg(b[e]) {
                e += 1;
            }
            *i = e;
            Some((s, e))
        } else {
            None
        }
    };
    let minor = seg(&mut i);
    let patch = if minor.is_some() { seg(&mut i) } else { None };
    let idents = |i: &mut usize, lead: u8| -> Option<(usize, usize)> {
        if *i + 1 < b.len() && b[*i] == lead && version::is_ident(b[*i + 1]) {
            let s = *i;
            let mut e = s + 1;
            while e < b.len() && version::is_ident(b[e]) {
                e += 1;
            }
            while e + 1 < b.len() && b[e] == b'.' && version::is_ident(b[e + 1]) {
                e += 1;
                while e < b.len() && version::is_ident(b[e]) {
                    e += 1;
                }
            }
            *i = e;
            Some((s, e))
        } else {
            None
        }
    };
    let pre = idents(&mut i, b'-');
    let _build = idents(&mut i, b'+');
    Some(Cv {
        start,
        end: i,
        major,
        minor,
        patch,
        pre,
    })
}

/// Text edits made by the hyphen-range rewrite, to map positions back to
/// the user's input.
#[derive(Debug, Default)]
struct Edits {
    /// (position in the text at that time, old length, new length)
    list: Vec<(usize, usize, usize)>,
}

impl Edits {
    fn to_original(&self, mut pos: usize) -> usize {
        for &(at, old, new) in self.list.iter().rev() {
            if pos >= at + new {
                pos = pos - new + old;
            } else if pos >= at {
                pos = at;
            }
        }
        pos
    }
}

/// 1-based character column of byte offset `pos` in `s`.
fn column(s: &str, pos: usize) -> usize {
    let pos = pos.min(s.len());
    s.char_indices().take_while(|(i, _)| *i < pos).count() + 1
}

/// The run of non-blank, non-comma text starting at `pos` (at least one
/// character when not at the end).
fn word_at(s: &str, pos: usize) -> &str {
    let b = s.as_bytes();
    if pos >= b.len() {
        return "";
    }
    let mut e = pos;
    while e < b.len() && !is_ws(b[e]) && b[e] != b',' {
        e += 1;
    }
    if e == pos {
        e = pos + s[pos..].chars().next().map_or(1, char::len_utf8);
    }
    // Stay on a char boundary.
    while !s.is_char_boundary(e) {
        e += 1;
    }
    &s[pos..e]
}

/// Masterminds `rewriteRange`: every `a - b` (blanks required around the
/// dash) becomes `>= a, <= b `, replacing the first occurrence of the matched
/// text like Go's `strings.Replace(o, match, t, 1)`.
fn rewrite_hyphen_ranges(input: &str) -> (String, Edits) {
    let b = input.as_bytes();
    let mut matches: Vec<(usize, usize, Cv, Cv)> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        if let Some((end, a, c)) = hyphen_at(b, p) {
            matches.push((p, end, a, c));
            p = end;
        } else {
            p += 1;
        }
    }
    let mut edits = Edits::default();
    if matches.is_empty() {
        return (input.to_owned(), edits);
    }
    let mut out = input.to_owned();
    for (s, e, a, c) in matches {
        let whole = &input[s..e];
        let replacement = format!(
            ">= {}, <= {} ",
            &input[a.start..a.end],
            &input[c.start..c.end]
        );
        if let Some(at) = out.find(whole) {
            out.replace_range(at..at + whole.len(), &replacement);
            edits.list.push((at, whole.len(), replacement.len()));
        }
    }
    (out, edits)
}

/// `\s*(cv)\s+-\s+(cv)\s*` at `p`.
fn hyphen_at(b: &[u8], p: usize) -> Option<(usize, Cv, Cv)> {
    let i = skip_ws(b, p);
    let a = scan_cv(b, i)?;
    let j = skip_ws(b, a.end);
    if j == a.end || j >= b.len() || b[j] != b'-' {
        return None;
    }
    let k = skip_ws(b, j + 1);
    if k == j + 1 {
        return None;
    }
    let c = scan_cv(b, k)?;
    Some((skip_ws(b, c.end), a, c))
}

/// Parse one `||` alternative: `text[start..start + len]`.
fn parse_group(
    input: &str,
    text: &str,
    start: usize,
    len: usize,
    edits: &Edits,
) -> Result<Vec<Comparator>, Error> {
    let seg = &text[..start + len];
    let b = seg.as_bytes();
    let at = |pos: usize| column(input, edits.to_original(pos));
    let mut i = skip_ws(b, start);
    if i == b.len() {
        return Err(Error::EmptyAlternative { column: at(start) });
    }
    let mut out = Vec::new();
    loop {
        let c = parse_one_in(input, seg, &mut i, edits)?;
        let after = i;
        i = skip_ws(b, i);
        let orig = c.orig.clone();
        out.push(c);
        if i == b.len() {
            return Ok(out);
        }
        if b[i] == b',' {
            i = skip_ws(b, i + 1);
            if i == b.len() {
                return Err(Error::ExpectedVersion {
                    found: String::new(),
                    column: at(i),
                });
            }
        } else if i == after {
            return Err(Error::Unexpected {
                token: word_at(seg, i).to_owned(),
                column: at(i),
                version: orig,
            });
        }
    }
}

fn parse_one(input: &str, i: &mut usize, edits: &Edits) -> Result<Comparator, Error> {
    parse_one_in(input, input, i, edits)
}

/// `(ops)\s*(cv)` at `*i` in `text`, then Masterminds `parseConstraint`.
fn parse_one_in(
    input: &str,
    text: &str,
    i: &mut usize,
    edits: &Edits,
) -> Result<Comparator, Error> {
    let b = text.as_bytes();
    let at = |pos: usize| column(input, edits.to_original(pos));
    let op_start = *i;
    let mut j = op_start;
    while j < b.len() && is_op_char(b[j]) {
        j += 1;
    }
    let op_raw = &text[op_start..j];
    let Some((op_text, op)) = lookup_op(op_raw) else {
        return Err(Error::UnknownOperator {
            op: op_raw.to_owned(),
            column: at(op_start),
        });
    };
    j = skip_ws(b, j);
    let Some(cv) = scan_cv(b, j) else {
        return Err(Error::ExpectedVersion {
            found: word_at(text, j).to_owned(),
            column: at(j),
        });
    };
    *i = cv.end;
    let orig = &text[cv.start..cv.end];
    let sub = |r: (usize, usize)| &text[r.0..r.1];
    let pre = cv.pre.map_or("", sub);
    let major = sub(cv.major);
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let coerced;
    let ver: &str = if is_x(major) {
        dirty = true;
        coerced = format!("0.0.0{pre}");
        &coerced
    } else if cv.minor.is_none_or(|m| is_x(sub(m))) {
        dirty = true;
        minor_dirty = true;
        coerced = format!("{major}.0.0{pre}");
        &coerced
    } else if cv.patch.is_none_or(|p| is_x(sub(p))) {
        dirty = true;
        patch_dirty = true;
        let minor = cv.minor.map_or("", sub);
        coerced = format!("{major}.{minor}.0{pre}");
        &coerced
    } else {
        orig
    };
    let con = Version::parse(ver).map_err(|source| Error::InvalidVersion {
        version: orig.to_owned(),
        column: at(cv.start),
        source,
    })?;
    Ok(Comparator {
        op,
        op_text,
        orig: orig.to_owned(),
        con_pre: con.prerelease().to_owned(),
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        Range::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_token_and_column() {
        assert_eq!(err(""), "empty range");
        assert_eq!(err("  "), "empty range");
        assert_eq!(
            err("1.0.0p"),
            "unexpected \"p\" at column 6 after version \"1.0.0\""
        );
        assert_eq!(
            err(">= bar"),
            "expected a version at column 4, found \"bar\""
        );
        assert_eq!(
            err("<>1"),
            "unknown operator \"<>\" at column 1, expected one of = != > < >= => <= =< ~ ~> ^"
        );
        assert_eq!(
            err("1.2,"),
            "expected a version at column 5, found end of input"
        );
        assert_eq!(
            err("1 || "),
            "empty alternative at column 5: expected a constraint around \"||\""
        );
        assert_eq!(
            err("12.3.34~ 1.2.3"),
            "unexpected \"~\" at column 8 after version \"12.3.34\""
        );
        assert_eq!(err("1x"), "invalid version \"1x\" at column 1");
        // Columns point into the user's text even after a hyphen rewrite.
        assert_eq!(
            err("1 - 2 foo"),
            "expected a version at column 7, found \"foo\""
        );
    }

    #[test]
    fn hyphen_rewrite_matches_masterminds() {
        let (t, _) = rewrite_hyphen_ranges("2 - 3, 2 - 3");
        assert_eq!(t, ">= 2, <= 3 ,>= 2, <= 3 ");
        let (t, _) = rewrite_hyphen_ranges("1.0.0 - 2.0.0 <=2.0.0");
        assert_eq!(t, ">= 1.0.0, <= 2.0.0 <=2.0.0");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "2.x,   >=1.2.3 || >4.5.6, < 5.7",
            "> 1 , <=1.2.3",
            "*",
            "~>1.2",
        ] {
            let r = Range::parse(s).unwrap();
            let again = Range::parse(&r.to_string()).unwrap();
            assert_eq!(r, again, "{s}");
        }
    }
}
