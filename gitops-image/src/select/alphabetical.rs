//! The Alphabetical policy on many tags: the first eight bytes, compared
//! as one number, settle most comparisons, and large lists are split over threads whose results
//! combine exactly as the sequential loop.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::convert::Infallible;

use super::split::{map_parts, parts_for};
use super::{Counts, Error, Winner, check_counts, scan};
use crate::filter::{Exclusions, TagFilter};
use crate::policy::Order;

/// A comparison costs a few nanoseconds, so a thread pays only from here.
const PARALLEL_MIN_ALPHABETICAL: usize = 500_000;

/// Flux's Alphabetical selection; threads for large lists.
pub(super) fn alphabetical<S: AsRef<str> + Sync>(
    order: Order,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Winner, Error> {
    let parts = parts_for(tags.len(), PARALLEL_MIN_ALPHABETICAL);
    in_parts(order, tags, excl, filter, parts, parts > 1)
}

/// Select over `parts` contiguous slices (on threads when `threads`), each
/// in one pass, then combine them in order. Same answer as one sequential
/// pass: the first of equal tags, or with `filterTags` the last tag with
/// the winning value.
pub(crate) fn in_parts<S: AsRef<str> + Sync>(
    order: Order,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
    parts: usize,
    threads: bool,
) -> Result<Winner, Error> {
    let wanted = wanted(order);
    let results = map_parts(tags, parts, threads, |slice, span| match filter {
        None => plain(wanted, slice, span.start, excl),
        Some(f) => filtered(wanted, slice, span.start, excl, f),
    });
    let mut counts = Counts {
        kept: 0,
        candidates: 0,
    };
    let mut best: Option<(usize, Cow<'_, str>)> = None;
    for (b, c) in results {
        counts.kept += c.kept;
        counts.candidates += c.candidates;
        best = match (best, b) {
            (a, None) => a,
            (None, b) => b,
            (Some(a), Some(b)) => {
                let o = b.1.cmp(&a.1);
                if o == wanted || (filter.is_some() && o == Ordering::Equal) {
                    Some(b)
                } else {
                    Some(a)
                }
            }
        };
    }
    check_counts(tags, filter, &counts)?;
    best.map(|(index, _)| Winner { index })
        .ok_or(Error::EmptyList)
}

/// How a new tag must compare with the best to replace it.
fn wanted(order: Order) -> Ordering {
    match order {
        Order::Asc => Ordering::Greater,
        Order::Desc => Ordering::Less,
    }
}

/// No filter: the best borrows the tag; of equal tags the first stays.
fn plain<'t, S: AsRef<str>>(
    wanted: Ordering,
    tags: &'t [S],
    offset: usize,
    excl: Option<&Exclusions>,
) -> (Option<(usize, Cow<'t, str>)>, Counts) {
    let mut best: Option<(usize, &'t str)> = None;
    let mut best_prefix = 0;
    let mut kept = 0;
    for (i, t) in tags.iter().enumerate() {
        let key: &'t str = t.as_ref();
        if excl.is_some_and(|e| e.is_excluded(key)) {
            continue;
        }
        kept += 1;
        let take = match best {
            None => true,
            Some((_, b)) => beats(key, best_prefix, b, wanted),
        };
        if take {
            best = Some((offset + i, key));
            best_prefix = prefix(key.as_bytes());
        }
    }
    let counts = Counts {
        kept,
        candidates: kept,
    };
    (best.map(|(i, k)| (i, Cow::Borrowed(k))), counts)
}

/// Whether `key` compares with `best` as `wanted`; the first eight bytes
/// decide most pairs without a call to the full comparison.
#[inline(always)]
fn beats(key: &str, best: u64, best_text: &str, wanted: Ordering) -> bool {
    match prefix(key.as_bytes()).cmp(&best) {
        Ordering::Equal => key.as_bytes().cmp(best_text.as_bytes()) == wanted,
        o => o == wanted,
    }
}

/// The first eight bytes as a big-endian number, zero-padded. Two texts
/// whose prefixes differ compare as their prefixes: at the first differing
/// byte both are real bytes, or the shorter text ended and was padded with
/// zeros that the longer one matched up to there, so it is a proper prefix.
#[inline(always)]
fn prefix(b: &[u8]) -> u64 {
    if let Some(head) = b.first_chunk::<8>() {
        u64::from_be_bytes(*head)
    } else {
        let mut head = [0u8; 8];
        head[..b.len()].copy_from_slice(b);
        u64::from_be_bytes(head)
    }
}

/// With `filterTags`: the value may live in the filter's buffer, so the
/// best is copied when taken; a later tag with the same value replaces it
/// (Flux's map keeps the last).
fn filtered<'t, S: AsRef<str>>(
    wanted: Ordering,
    tags: &'t [S],
    offset: usize,
    excl: Option<&Exclusions>,
    filter: &TagFilter,
) -> (Option<(usize, Cow<'t, str>)>, Counts) {
    let mut best: Option<usize> = None;
    let mut text = String::new();
    let Ok(counts) = scan(tags, excl, Some(filter), |i, key| {
        let take = best.is_none() || {
            let o = key.cmp(text.as_str());
            o == wanted || o == Ordering::Equal
        };
        if take {
            best = Some(offset + i);
            text.clear();
            text.push_str(key);
        }
        Ok::<(), Infallible>(())
    });
    (best.map(|i| (i, Cow::Owned(text))), counts)
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::{alphabetical, in_parts};
    use crate::filter::{Exclusions, TagFilter};
    use crate::policy::Order;
    use crate::select::split::PARALLEL_MIN;
    use crate::select::{Error, Winner, check_counts, scan};

    /// Flux's loop, written plainly.
    fn reference(
        order: Order,
        tags: &[String],
        excl: Option<&Exclusions>,
        filter: Option<&TagFilter>,
    ) -> Result<Winner, Error> {
        let mut best: Option<(usize, String)> = None;
        let counts = scan(tags, excl, filter, |i, key| {
            let o = best.as_ref().map(|(_, b)| key.cmp(b));
            let better = match (order, o) {
                (_, None) | (Order::Asc, Some(Ordering::Greater)) => true,
                (Order::Desc, Some(Ordering::Less)) => true,
                (_, Some(Ordering::Equal)) => filter.is_some(),
                _ => false,
            };
            if better {
                best = Some((i, key.to_owned()));
            }
            Ok::<(), Error>(())
        })?;
        check_counts(tags, filter, &counts)?;
        best.map(|(index, _)| Winner { index })
            .ok_or(Error::EmptyList)
    }

    fn check_all(tags: &[String], excl: Option<&Exclusions>, filter: Option<&TagFilter>) {
        for order in [Order::Asc, Order::Desc] {
            let want = reference(order, tags, excl, filter);
            for parts in [1, 2, 3, 7] {
                for threads in [false, true] {
                    let got = in_parts(order, tags, excl, filter, parts, threads);
                    assert_eq!(got, want, "{order:?} parts={parts} threads={threads}");
                }
            }
            assert_eq!(alphabetical(order, tags, excl, filter), want, "{order:?}");
        }
    }

    fn tags() -> impl Strategy<Value = Vec<String>> {
        let tag = "(|[ab]{0,3}|v?[0-9]{1,2}|[a-c][0-9]\\.sig|é|ab\\.sig|main-[0-9]{1,2}\
                   |abcdefg[ah]{0,3}|ab\\x00{0,2}|[ab]\\x00[ab]{0,8})";
        prop_oneof![
            prop::collection::vec(tag, 0..60),
            (
                prop::collection::vec(tag, 1..6),
                prop::collection::vec(any::<prop::sample::Index>(), 0..60)
            )
                .prop_map(|(pool, picks)| picks
                    .iter()
                    .map(|i| pool[i.index(pool.len())].clone())
                    .collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Same winner, same count errors, for every split, with and
        /// without exclusions and filterTags (`main-1` and `main-01`
        /// extract different values, `v1` and `1` the same).
        #[test]
        fn split_selection_matches_the_sequential_loop(tags in tags()) {
            check_all(&tags, None, None);
            check_all(&tags, Some(&Exclusions::default()), None);
            let user = Exclusions::new(["^a", "9$"]).unwrap();
            check_all(&tags, Some(&user), None);
            for (pattern, extract) in [(r"^v?(?P<n>[0-9]+)$", "$n"), ("^main-", "")] {
                let filter = TagFilter::new(pattern, extract).unwrap();
                check_all(&tags, Some(&Exclusions::default()), Some(&filter));
            }
        }
    }

    /// Above [`PARALLEL_MIN`], split in three: the greatest tag occurs in
    /// the first and last slices; the first wins, or the last with a filter.
    #[test]
    fn large_lists_take_the_threaded_path_exactly() {
        let n = PARALLEL_MIN * 5 / 2;
        let mut tags: Vec<String> = (0..n).map(|i| format!("t{}", i % 9973)).collect();
        tags[3] = "z9".to_owned();
        tags[n - 4] = "z9".to_owned();
        tags[n / 2] = "0".to_owned();
        tags[n - 2] = "0".to_owned();
        let filter = TagFilter::new("^(?P<t>.*)$", "$t").unwrap();
        for (order, plain, filtered) in [(Order::Asc, 3, n - 4), (Order::Desc, n / 2, n - 2)] {
            for (f, want) in [(None, plain), (Some(&filter), filtered)] {
                let expected = reference(order, &tags, None, f);
                assert_eq!(expected, Ok(Winner { index: want }));
                assert_eq!(alphabetical(order, &tags, None, f), expected);
                assert_eq!(in_parts(order, &tags, None, f, 3, true), expected);
            }
        }
    }
}
