//! The selection engine behind [`Policy::select`]: one pass over the tags,
//! keeping only the current best, without allocating per tag; long lists
//! (100,000 tags, 500,000 for Alphabetical) are split over
//! the available cores, each slice one pass, combined so the answer is the
//! sequential one.

use crate::filter::{Exclusions, TagFilter};
use crate::policy::{Order, Policy, Rule};

mod alphabetical;
mod numerical;
mod semver;
mod split;

/// Why no tag was selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tag list was empty (Flux: "version list argument cannot be empty").
    #[error("the tag list is empty")]
    EmptyList,
    /// The exclusion list removed every tag.
    #[error("all {count} tags are excluded by the exclusion list")]
    AllExcluded {
        /// How many tags there were.
        count: usize,
    },
    /// No tag matches the `filterTags` pattern (Flux reports an empty list).
    #[error("none of the {count} tags matches the filterTags pattern {pattern:?}")]
    NoFilterMatch {
        /// The pattern.
        pattern: String,
        /// How many tags were tried.
        count: usize,
    },
    /// No candidate is a version inside the range (Flux: "unable to determine
    /// latest version from provided list").
    #[error("none of the {count} candidate tags is a version in range {range:?}")]
    NoVersionInRange {
        /// The range, in canonical form.
        range: String,
        /// How many candidates there were.
        count: usize,
    },
    /// A candidate of a Numerical policy is not a float64; Flux fails the
    /// whole selection on the first one.
    #[error(
        "invalid numeric value {value:?}{}: every candidate of a numerical policy must parse as a float64",
        from_tag(.tag, .value)
    )]
    NotNumeric {
        /// The tag.
        tag: String,
        /// The value that failed (the tag, or what `extract` made of it).
        value: String,
    },
}

fn from_tag(tag: &str, value: &str) -> String {
    if tag == value {
        String::new()
    } else {
        format!(" extracted from tag {tag:?}")
    }
}

/// The selected tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Winner {
    pub(crate) index: usize,
}

struct Counts {
    kept: usize,
    candidates: usize,
}

/// Call `f(index, value)` for every tag that survives the exclusions and
/// the filter; `value` is the tag or its expansion (borrowed from a reused
/// buffer, so `f` must copy what it keeps).
#[inline]
fn scan<S, E>(
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
    mut f: impl FnMut(usize, &str) -> Result<(), E>,
) -> Result<Counts, E>
where
    S: AsRef<str>,
{
    let mut counts = Counts {
        kept: 0,
        candidates: 0,
    };
    match filter {
        None => {
            for (i, t) in tags.iter().enumerate() {
                let t = t.as_ref();
                if excl.is_some_and(|e| e.is_excluded(t)) {
                    continue;
                }
                counts.kept += 1;
                counts.candidates += 1;
                f(i, t)?;
            }
        }
        Some(flt) => {
            let mut locs = flt.capture_locations();
            let mut buf = String::new();
            for (i, t) in tags.iter().enumerate() {
                let t = t.as_ref();
                if excl.is_some_and(|e| e.is_excluded(t)) {
                    continue;
                }
                counts.kept += 1;
                match flt.value(t, &mut locs, &mut buf) {
                    None => continue,
                    Some(false) => {
                        counts.candidates += 1;
                        f(i, t)?;
                    }
                    Some(true) => {
                        counts.candidates += 1;
                        f(i, &buf)?;
                    }
                }
            }
        }
    }
    Ok(counts)
}

fn check_counts<S>(tags: &[S], filter: Option<&TagFilter>, counts: &Counts) -> Result<(), Error> {
    if counts.kept == 0 {
        return Err(Error::AllExcluded { count: tags.len() });
    }
    if counts.candidates == 0 {
        return Err(Error::NoFilterMatch {
            pattern: filter.map(|f| f.pattern().to_owned()).unwrap_or_default(),
            count: counts.kept,
        });
    }
    Ok(())
}

pub(crate) fn run<S: AsRef<str> + Sync>(
    policy: &Policy,
    tags: &[S],
    excl: Option<&Exclusions>,
) -> Result<Winner, Error> {
    if tags.is_empty() {
        return Err(Error::EmptyList);
    }
    let excl = excl.filter(|e| !e.is_empty());
    let filter = policy.filter();
    match policy.rule() {
        Rule::SemVer { range } => semver::semver(range, tags, excl, filter),
        Rule::Alphabetical { order } => alphabetical::alphabetical(*order, tags, excl, filter),
        Rule::Numerical { order } => numerical::numerical(*order, tags, excl, filter),
    }
}

/// Flux's Numerical loop: the first candidate is taken, then every later one
/// unless it is strictly worse, so among equal values the last one wins.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must behave as in Go
pub(crate) fn numeric_better(order: Order, cv: f64, pv: f64) -> bool {
    match order {
        Order::Asc => !(cv < pv),
        Order::Desc => !(cv > pv),
    }
}
