//! The selection engine behind [`Policy::select`]: one pass over the tags,
//! keeping only the current best, without allocating per tag.

use std::cmp::Ordering;

use crate::filter::{Exclusions, TagFilter};
use crate::policy::{Order, Policy, Rule};
use crate::range::Range;
use crate::version::{self, VersionRef};

mod numerical;

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
        Rule::SemVer { range } => semver(range, tags, excl, filter),
        Rule::Alphabetical { order } => alphabetical(*order, tags, excl, filter),
        Rule::Numerical { order } => numerical::numerical(*order, tags, excl, filter),
    }
}

/// The current best version; its text lives in a buffer owned by the loop.
#[derive(Clone, Copy)]
struct Best {
    index: usize,
    major: u64,
    minor: u64,
    patch: u64,
    pre: (usize, usize),
}

impl Best {
    fn view<'b>(&self, text: &'b str) -> VersionRef<'b> {
        VersionRef {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &text[self.pre.0..self.pre.1],
            meta: "",
            original: text,
        }
    }
}

fn semver<S: AsRef<str>>(
    range: &Range,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Winner, Error> {
    let same_key_replaces = filter.is_some();
    let mut best: Option<Best> = None;
    let mut best_text = String::new();
    let counts = scan(tags, excl, filter, |i, key| {
        let Ok(v) = version::scan_tag(key) else {
            return Ok::<(), Error>(());
        };
        if !range.matches(v) {
            return Ok(());
        }
        let ord = best.as_ref().map(|b| v.compare(&b.view(&best_text)));
        let take = match ord {
            None | Some(Ordering::Greater) => true,
            Some(Ordering::Equal) if same_key_replaces && key == best_text => {
                // Same extracted value: Flux's map keeps the last tag.
                if let Some(b) = best.as_mut() {
                    b.index = i;
                }
                false
            }
            Some(_) => false,
        };
        if take {
            let pre_start = if v.pre.is_empty() {
                0
            } else {
                v.pre.as_ptr() as usize - key.as_ptr() as usize
            };
            best_text.clear();
            best_text.push_str(key);
            best = Some(Best {
                index: i,
                major: v.major,
                minor: v.minor,
                patch: v.patch,
                pre: (pre_start, pre_start + v.pre.len()),
            });
        }
        Ok(())
    })?;
    check_counts(tags, filter, &counts)?;
    best.map(|b| Winner { index: b.index })
        .ok_or_else(|| Error::NoVersionInRange {
            range: range.to_string(),
            count: counts.candidates,
        })
}

fn alphabetical<S: AsRef<str>>(
    order: Order,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Winner, Error> {
    let same_key_replaces = filter.is_some();
    let mut best: Option<usize> = None;
    let mut best_text = String::new();
    let wanted = match order {
        Order::Asc => Ordering::Greater,
        Order::Desc => Ordering::Less,
    };
    let counts = scan(tags, excl, filter, |i, key| {
        let take = best.is_none() || {
            let o = key.cmp(best_text.as_str());
            o == wanted || (same_key_replaces && o == Ordering::Equal)
        };
        if take {
            best = Some(i);
            best_text.clear();
            best_text.push_str(key);
        }
        Ok::<(), Error>(())
    })?;
    check_counts(tags, filter, &counts)?;
    best.map(|index| Winner { index }).ok_or(Error::EmptyList)
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
