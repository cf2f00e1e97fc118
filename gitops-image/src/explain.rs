//! Why each tag was or was not selected.
//!
//! ```
//! use gitops_image::{Exclusions, Policy, Verdict};
//!
//! let p = Policy::semver("^1.0")?;
//! let report = p.explain(&["1.0.0", "v1.4.0", "1.5.0-rc.1", "2.0.0", "x.sig", "main"], &Exclusions::default());
//! assert_eq!(report.winner.as_deref(), Some("v1.4.0"));
//! assert_eq!(report.tags[0].verdict, Verdict::Lost { tie: false });
//! assert_eq!(report.tags[1].verdict, Verdict::Selected);
//! assert_eq!(report.tags[2].verdict, Verdict::PrereleaseNotAllowed);
//! assert!(matches!(report.tags[3].verdict, Verdict::OutsideRange { .. }));
//! assert!(matches!(report.tags[4].verdict, Verdict::Excluded { .. }));
//! assert!(matches!(report.tags[5].verdict, Verdict::NotAVersion { .. }));
//! println!("{report}"); // a table
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::Serialize;

use crate::filter::Exclusions;
use crate::policy::{Policy, Rule};
use crate::range::ViolationKind;
use crate::select;
use crate::version::Version;
use gitops_core::strconv::parse_float as parse_go_float;

/// What happened to one tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The winner.
    Selected,
    /// Dropped by the ImageRepository exclusion list.
    Excluded {
        /// The pattern that matched.
        pattern: String,
    },
    /// Does not match the `filterTags` pattern.
    FilteredOut,
    /// SemVer policy: the value is not a version (Flux skips it).
    NotAVersion {
        /// The parser's message.
        reason: String,
    },
    /// SemVer policy: a prerelease, and no `||` alternative of the range
    /// mentions a prerelease.
    PrereleaseNotAllowed,
    /// SemVer policy: a version outside the range.
    OutsideRange {
        /// The first reason, in Masterminds' words.
        reason: String,
    },
    /// Numerical policy: not a float64 (this fails the whole selection).
    NotNumeric,
    /// A valid candidate that lost to the winner.
    Lost {
        /// It compares equal to the winner and lost on the tie rule.
        tie: bool,
    },
    /// A valid candidate, but the selection failed for another reason.
    Candidate,
}

impl Verdict {
    /// A short name (`selected`, `excluded`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Selected => "selected",
            Verdict::Excluded { .. } => "excluded",
            Verdict::FilteredOut => "filtered out",
            Verdict::NotAVersion { .. } => "not a version",
            Verdict::PrereleaseNotAllowed => "prerelease not allowed",
            Verdict::OutsideRange { .. } => "outside range",
            Verdict::NotNumeric => "not numeric",
            Verdict::Lost { .. } => "lost",
            Verdict::Candidate => "candidate",
        }
    }

    /// The details, or `""`.
    #[must_use]
    pub fn detail(&self) -> String {
        match self {
            Verdict::Excluded { pattern } => format!("matches {pattern:?}"),
            Verdict::NotAVersion { reason } | Verdict::OutsideRange { reason } => reason.clone(),
            Verdict::Lost { tie: true } => "equal to the winner, lost the tie".to_owned(),
            Verdict::Lost { tie: false } => "ranks below the winner".to_owned(),
            Verdict::FilteredOut => "does not match the filterTags pattern".to_owned(),
            Verdict::NotNumeric => "does not parse as a float64".to_owned(),
            Verdict::Selected | Verdict::PrereleaseNotAllowed | Verdict::Candidate => String::new(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = self.detail();
        if detail.is_empty() {
            f.write_str(self.name())
        } else {
            write!(f, "{}: {detail}", self.name())
        }
    }
}

/// One tag of a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagReport {
    /// The tag.
    pub tag: String,
    /// The value `filterTags.extract` made of it, when there is a template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The version it parsed as (SemVer policy), in canonical form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What happened to it.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A structured account of one selection: every tag with its [`Verdict`],
/// and the outcome. Always agrees with [`Policy::select_excluding`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The policy, described.
    pub policy: String,
    /// The exclusion patterns applied.
    pub exclusions: Vec<String>,
    /// The selected tag.
    pub winner: Option<String>,
    /// Why nothing was selected.
    #[serde(serialize_with = "error_message")]
    pub error: Option<select::Error>,
    /// Every input tag, in input order.
    pub tags: Vec<TagReport>,
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option<T>`
fn error_message<S: serde::Serializer>(e: &Option<select::Error>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.to_string()),
        None => s.serialize_none(),
    }
}

impl Report {
    /// How many tags got each verdict name, in a fixed order.
    #[must_use]
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        let names = [
            "selected",
            "lost",
            "candidate",
            "excluded",
            "filtered out",
            "not a version",
            "prerelease not allowed",
            "outside range",
            "not numeric",
        ];
        names
            .iter()
            .map(|n| {
                (
                    *n,
                    self.tags.iter().filter(|t| t.verdict.name() == *n).count(),
                )
            })
            .filter(|(_, c)| *c > 0)
            .collect()
    }
}

impl fmt::Display for Report {
    /// A table: one line per tag, then the outcome.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "policy: {}", self.policy)?;
        if !self.exclusions.is_empty() {
            writeln!(f, "exclusion list: {}", self.exclusions.join(", "))?;
        }
        let has_value = self.tags.iter().any(|t| t.value.is_some());
        let width = |get: &dyn Fn(&TagReport) -> usize, head: usize| {
            self.tags.iter().map(get).max().unwrap_or(0).max(head)
        };
        let tw = width(&|t| t.tag.chars().count(), 3);
        let vw = width(&|t| t.value.as_deref().map_or(0, |v| v.chars().count()), 5);
        let verw = width(&|t| t.verdict.name().len(), 7);
        write!(f, "{:tw$}  ", "TAG")?;
        if has_value {
            write!(f, "{:vw$}  ", "VALUE")?;
        }
        writeln!(f, "{:verw$}  DETAIL", "VERDICT")?;
        for t in &self.tags {
            write!(f, "{:tw$}  ", t.tag)?;
            if has_value {
                write!(f, "{:vw$}  ", t.value.as_deref().unwrap_or(""))?;
            }
            let detail = t.verdict.detail();
            if detail.is_empty() {
                writeln!(f, "{}", t.verdict.name())?;
            } else {
                writeln!(f, "{:verw$}  {detail}", t.verdict.name())?;
            }
        }
        let summary: Vec<String> = self
            .summary()
            .iter()
            .map(|(n, c)| format!("{c} {n}"))
            .collect();
        writeln!(f, "tags: {} ({})", self.tags.len(), summary.join(", "))?;
        match (&self.winner, &self.error) {
            (Some(w), _) => write!(f, "winner: {w}"),
            (None, Some(e)) => write!(f, "no winner: {e}"),
            (None, None) => write!(f, "no winner"),
        }
    }
}

impl Policy {
    /// Explain a selection: the verdict for every tag plus the winner (the
    /// same one [`Policy::select_excluding`] returns). Pass
    /// [`Exclusions::none`] to skip the exclusion list.
    #[must_use]
    pub fn explain<S: AsRef<str> + Sync>(&self, tags: &[S], exclusions: &Exclusions) -> Report {
        let outcome = self.select_index(tags, exclusions);
        let winner_index = outcome.as_ref().ok().copied();
        let value_of = |tag: &str| -> Option<String> {
            match self.filter() {
                None => Some(tag.to_owned()),
                Some(f) => f.extract(tag).map(std::borrow::Cow::into_owned),
            }
        };
        let winner_value = winner_index.and_then(|i| value_of(tags[i].as_ref()));
        let has_template = self
            .filter()
            .is_some_and(|f| !f.extract_template().is_empty());
        let reports = tags
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let tag = t.as_ref();
                let mut report = TagReport {
                    tag: tag.to_owned(),
                    value: None,
                    version: None,
                    verdict: Verdict::Candidate,
                };
                if let Some(pattern) = exclusions.matching(tag) {
                    report.verdict = Verdict::Excluded {
                        pattern: pattern.to_owned(),
                    };
                    return report;
                }
                let Some(value) = value_of(tag) else {
                    report.verdict = Verdict::FilteredOut;
                    return report;
                };
                if has_template {
                    report.value = Some(value.clone());
                }
                report.verdict = self.judge(
                    &value,
                    &mut report.version,
                    Some(i) == winner_index,
                    winner_value.as_deref(),
                );
                report
            })
            .collect();
        Report {
            policy: self.to_string(),
            exclusions: exclusions.patterns().map(str::to_owned).collect(),
            winner: winner_index.map(|i| tags[i].as_ref().to_owned()),
            error: outcome.err(),
            tags: reports,
        }
    }

    fn judge(
        &self,
        value: &str,
        version_out: &mut Option<String>,
        is_winner: bool,
        winner_value: Option<&str>,
    ) -> Verdict {
        let lost = |tie: bool| {
            if is_winner {
                Verdict::Selected
            } else if winner_value.is_some() {
                Verdict::Lost { tie }
            } else {
                Verdict::Candidate
            }
        };
        match self.rule() {
            Rule::SemVer { range } => {
                let v = match Version::parse_tag(value) {
                    Ok(v) => v,
                    Err(e) => {
                        return Verdict::NotAVersion {
                            reason: e.to_string(),
                        };
                    }
                };
                *version_out = Some(v.to_string());
                if let Err(violations) = range.validate(v.as_ref()) {
                    return match violations
                        .iter()
                        .find(|x| x.kind != ViolationKind::Prerelease)
                    {
                        Some(first) => Verdict::OutsideRange {
                            reason: first.to_string(),
                        },
                        None => Verdict::PrereleaseNotAllowed,
                    };
                }
                let tie = winner_value
                    .and_then(|w| Version::parse_tag(w).ok())
                    .is_some_and(|w| w == v);
                lost(tie)
            }
            Rule::Alphabetical { .. } => lost(winner_value == Some(value)),
            Rule::Numerical { .. } => {
                let Some(cv) = parse_go_float(value) else {
                    return Verdict::NotNumeric;
                };
                let tie = winner_value
                    .and_then(parse_go_float)
                    .is_some_and(|w| w == cv);
                lost(tie)
            }
        }
    }
}
