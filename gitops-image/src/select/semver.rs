//! The SemVer policy on many tags. A tag whose leading numbers are below
//! the current best or above the range's ceiling is dropped after reading
//! a few bytes, without the full parse or the range check; large lists are split over threads
//! whose results combine exactly as the sequential loop.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::convert::Infallible;
use std::ops::Range as Span;

use super::split::{PARALLEL_MIN, map_parts, parts_for};
use super::{Counts, Error, Winner, check_counts, scan};
use crate::filter::{Exclusions, TagFilter};
use crate::range::Range;
use crate::version::VersionRef;

/// Flux's SemVer selection; threads for large lists.
pub(super) fn semver<S: AsRef<str> + Sync>(
    range: &Range,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Winner, Error> {
    let parts = parts_for(tags.len(), PARALLEL_MIN);
    in_parts(range, tags, excl, filter, parts, parts > 1)
}

/// Select over `parts` contiguous slices (on threads when `threads`), each
/// in one pass, then combine them in order. Same answer as one sequential
/// pass: the greatest version, the first seen among equal ones, and with
/// `filterTags` the last tag whose extracted value is that first one's.
pub(crate) fn in_parts<S: AsRef<str> + Sync>(
    range: &Range,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
    parts: usize,
    threads: bool,
) -> Result<Winner, Error> {
    let results = map_parts(tags, parts, threads, |slice, span| {
        part(range, slice, span, excl, filter)
    });
    let mut counts = Counts {
        kept: 0,
        candidates: 0,
    };
    let mut best: Option<Found<'_>> = None;
    for p in results {
        counts.kept += p.counts.kept;
        counts.candidates += p.counts.candidates;
        best = match (best, p.best) {
            (b, None) => b,
            (None, b) => b,
            (Some(mut a), Some(b)) => match b.view().compare(&a.view()) {
                Ordering::Greater => Some(b),
                Ordering::Less => Some(a),
                // Without a filter the first of equal versions stays.
                Ordering::Equal if filter.is_none() => Some(a),
                // With one, later tags extracting the same value as the
                // best replace it (Flux's map keeps the last).
                Ordering::Equal => {
                    if b.key == a.key {
                        a.index = b.index;
                    } else if let Some(i) =
                        last_with_key(&tags[p.span.clone()], &a.key, excl, filter)
                    {
                        a.index = p.span.start + i;
                    }
                    Some(a)
                }
            },
        };
    }
    check_counts(tags, filter, &counts)?;
    best.map(|b| Winner { index: b.index })
        .ok_or_else(|| Error::NoVersionInRange {
            range: range.to_string(),
            count: counts.candidates,
        })
}

/// One slice's result: as if the sequential loop started at its first tag.
struct Part<'t> {
    best: Option<Found<'t>>,
    counts: Counts,
    span: Span<usize>,
}

/// A slice's best version: its index in the whole list, and the key it
/// was parsed from (the tag, or what `extract` made of it).
struct Found<'t> {
    index: usize,
    key: Cow<'t, str>,
    nums: Nums,
}

impl Found<'_> {
    fn view(&self) -> VersionRef<'_> {
        self.nums.view(&self.key)
    }
}

/// A parsed version without its text: the numbers, and where the
/// prerelease sits in the text.
#[derive(Clone, Copy)]
struct Nums {
    major: u64,
    minor: u64,
    patch: u64,
    pre: (usize, usize),
}

impl Nums {
    /// `v`, parsed from `key`.
    fn of(v: &VersionRef<'_>, key: &str) -> Nums {
        let pre = if v.prerelease().is_empty() {
            (0, 0)
        } else {
            let start = v.prerelease().as_ptr() as usize - key.as_ptr() as usize;
            (start, start + v.prerelease().len())
        };
        Nums {
            major: v.major(),
            minor: v.minor(),
            patch: v.patch(),
            pre,
        }
    }

    fn view(self, key: &str) -> VersionRef<'_> {
        VersionRef::from_parts(
            self.major,
            self.minor,
            self.patch,
            &key[self.pre.0..self.pre.1],
            key,
        )
    }
}

fn part<'t, S: AsRef<str>>(
    range: &Range,
    tags: &'t [S],
    span: Span<usize>,
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Part<'t> {
    let (best, counts) = match filter {
        None => plain(range, tags, span.start, excl),
        Some(f) => filtered(range, tags, span.start, excl, f),
    };
    Part { best, counts, span }
}

/// No filter: the key is the tag, so the best borrows it.
fn plain<'t, S: AsRef<str>>(
    range: &Range,
    tags: &'t [S],
    offset: usize,
    excl: Option<&Exclusions>,
) -> (Option<Found<'t>>, Counts) {
    let mut best: Option<(usize, VersionRef<'t>)> = None;
    let mut bounds = Bounds::new(range);
    let mut kept = 0;
    for (i, t) in tags.iter().enumerate() {
        let key: &'t str = t.as_ref();
        if excl.is_some_and(|e| e.is_excluded(key)) {
            continue;
        }
        kept += 1;
        if bounds.rules_out(key.as_bytes()) {
            continue;
        }
        let Some(v) = VersionRef::try_parse_tag(key) else {
            continue;
        };
        if range.matches(v) && best.is_none_or(|(_, b)| v.compare(&b).is_gt()) {
            bounds.raise(&v);
            best = Some((offset + i, v));
        }
    }
    let found = best.map(|(index, v)| Found {
        index,
        key: Cow::Borrowed(v.original()),
        nums: Nums::of(&v, v.original()),
    });
    (
        found,
        Counts {
            kept,
            candidates: kept,
        },
    )
}

/// With `filterTags`: the key may live in the filter's buffer, so the best
/// is copied when taken (rarely: only on a new best).
fn filtered<'t, S: AsRef<str>>(
    range: &Range,
    tags: &'t [S],
    offset: usize,
    excl: Option<&Exclusions>,
    filter: &TagFilter,
) -> (Option<Found<'t>>, Counts) {
    let mut best: Option<(usize, Nums)> = None;
    let mut text = String::new();
    let mut bounds = Bounds::new(range);
    let Ok(counts) = scan(tags, excl, Some(filter), |i, key| {
        if bounds.rules_out(key.as_bytes()) {
            return Ok::<(), Infallible>(());
        }
        let Some(v) = VersionRef::try_parse_tag(key) else {
            return Ok(());
        };
        if !range.matches(v) {
            return Ok(());
        }
        let take = match &mut best {
            None => true,
            Some((index, nums)) => match v.compare(&nums.view(&text)) {
                Ordering::Greater => true,
                Ordering::Equal if key == text => {
                    // Same extracted value: Flux's map keeps the last tag.
                    *index = offset + i;
                    false
                }
                _ => false,
            },
        };
        if take {
            bounds.raise(&v);
            best = Some((offset + i, Nums::of(&v, key)));
            text.clear();
            text.push_str(key);
        }
        Ok(())
    });
    let found = best.map(|(index, nums)| Found {
        index,
        key: Cow::Owned(text),
        nums,
    });
    (found, counts)
}

/// The last tag of `tags` that survives the exclusions and whose filtered
/// value is `key`.
fn last_with_key<S: AsRef<str>>(
    tags: &[S],
    key: &str,
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Option<usize> {
    let mut last = None;
    let Ok(_) = scan(tags, excl, filter, |i, k| {
        if k == key {
            last = Some(i);
        }
        Ok::<(), Infallible>(())
    });
    last
}

/// Numbers a winner must lie within: at least the current best's
/// `(major, minor, patch)` and at most the range's ceiling. A tag whose
/// numbers, read as the parser reads them, fall outside cannot be selected
/// (if it parses at all, it is a smaller version or out of range), so it
/// is dropped without the full parse; the bounds themselves go on to the
/// full comparison.
#[derive(Clone, Copy)]
struct Bounds {
    lo: (u64, u64, u64),
    hi: (u64, u64, u64),
}

impl Bounds {
    fn new(range: &Range) -> Bounds {
        Bounds {
            lo: (0, 0, 0),
            hi: range.ceiling().unwrap_or((u64::MAX, u64::MAX, u64::MAX)),
        }
    }

    /// A new best `v`.
    fn raise(&mut self, v: &VersionRef<'_>) {
        self.lo = (v.major(), v.minor(), v.patch());
    }

    /// Whether `tag` cannot be selected: it has no leading number (so it
    /// is no version), or its numbers are out of bounds. Reads like the
    /// parser: `v?` then digits, `.digits` for the minor and then the patch
    /// only when a digit follows the dot; a missing number is 0. Numbers of
    /// more than 19 digits are left to the parser.
    #[inline(always)]
    fn rules_out(&self, tag: &[u8]) -> bool {
        let i = usize::from(tag.first() == Some(&b'v'));
        let Some((major, i)) = number(tag, i) else {
            return true;
        };
        let Some(major) = major else {
            return false;
        };
        if major < self.lo.0 || major > self.hi.0 {
            return true;
        }
        if major > self.lo.0 && major < self.hi.0 {
            return false;
        }
        let (minor, i) = match dot_number(tag, i) {
            None => (0, i),
            Some((Some(n), j)) => (n, j),
            Some((None, _)) => return false,
        };
        let patch = match dot_number(tag, i) {
            None => 0,
            Some((Some(n), _)) => n,
            Some((None, _)) => return false,
        };
        let t = (major, minor, patch);
        t < self.lo || t > self.hi
    }
}

/// `.` and a number at `i`, as the parser takes a minor or patch.
#[inline(always)]
fn dot_number(b: &[u8], i: usize) -> Option<(Option<u64>, usize)> {
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        number(b, i + 1)
    } else {
        None
    }
}

/// The decimal number at `i` and where it ends; `None` without a digit,
/// a `None` value with more than 19 digits (it may fit, with leading
/// zeros, or overflow).
#[inline(always)]
fn number(b: &[u8], i: usize) -> Option<(Option<u64>, usize)> {
    let mut n: u64 = 0;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        j += 1;
    }
    match j - i {
        0 => None,
        1..=19 => Some((Some(n), j)),
        _ => Some((None, j)),
    }
}
#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::{PARALLEL_MIN, in_parts, semver};
    use crate::filter::{Exclusions, TagFilter};
    use crate::range::Range;
    use crate::select::{Error, Winner, check_counts, scan};
    use crate::version::Version;

    /// Flux's loop, written plainly: one pass, every candidate parsed,
    /// owned versions, no shortcut.
    fn reference(
        range: &Range,
        tags: &[String],
        excl: Option<&Exclusions>,
        filter: Option<&TagFilter>,
    ) -> Result<Winner, Error> {
        let mut best: Option<(usize, Version, String)> = None;
        let counts = scan(tags, excl, filter, |i, key| {
            let Ok(v) = Version::parse_tag(key) else {
                return Ok::<(), Error>(());
            };
            if !range.matches(v.as_ref()) {
                return Ok(());
            }
            match &mut best {
                Some((_, b, _)) if v < *b => {}
                Some((index, b, k)) if v == *b => {
                    if filter.is_some() && key == k {
                        *index = i;
                    }
                }
                _ => best = Some((i, v, key.to_owned())),
            }
            Ok(())
        })?;
        check_counts(tags, filter, &counts)?;
        best.map(|(index, _, _)| Winner { index })
            .ok_or_else(|| Error::NoVersionInRange {
                range: range.to_string(),
                count: counts.candidates,
            })
    }

    const RANGES: [&str; 20] = [
        ">=1.0.0",
        ">=1.0.0-0 <2.0.0",
        "1.x || >=3.0.0-rc.0",
        "*",
        "<1",
        "!=1.2.3",
        "~1.2",
        "^0.1",
        "^0.0.2",
        "^0.x",
        "^1.2.3-rc.1",
        "~0",
        "~1.x",
        "1.2.x",
        "=1.2.3",
        "<=1.2",
        "<=1.x",
        "<=2.0.0-rc.1",
        ">1.2 <2.1.3 || ~0.1.0",
        "<2 || 3.x, !=3.1.1",
    ];

    /// Every way of running the fast selection agrees with the reference.
    fn check_all(tags: &[String], excl: Option<&Exclusions>, filter: Option<&TagFilter>) {
        for r in RANGES {
            let range = Range::parse(r).unwrap();
            let want = reference(&range, tags, excl, filter);
            for parts in [1, 2, 3, 7] {
                for threads in [false, true] {
                    let got = in_parts(&range, tags, excl, filter, parts, threads);
                    assert_eq!(got, want, "{r} parts={parts} threads={threads} {tags:?}");
                }
            }
            assert_eq!(semver(&range, tags, excl, filter), want, "{r}");
        }
    }

    fn tag() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "v?[0-3]\\.[0-3]\\.[0-3]",
            3 => "v?[0-3]\\.[0-3]\\.[0-3]-(rc|alpha|0|1|a-b)(\\.[0-2])?",
            2 => "v?[0-3]\\.[0-3]\\.[0-3](-rc\\.1)?\\+[a-z0-9]{1,2}",
            2 => "v?0{1,3}[0-3]\\.0?[0-3]\\.[0-3]",
            2 => "v?[0-3]\\.[0-3](-rc\\.1)?(\\.sig)?",
            1 => "0{15,22}[1-3]\\.[0-3]\\.0{18,21}[0-3]",
            1 => "(99999999999999999999|18446744073709551615|18446744073709551616)\\.[0-3]\\.[0-3]",
            1 => "[0-3]\\.(99999999999999999999|18446744073709551615)\\.[0-3]",
            1 => "v?[0-3]\\.[0-3]\\.[0-3](\\.[0-3]|_rc|-|\\.x|\\.sig|-01)",
            1 => "(V1\\.2\\.3|v|vv1\\.2\\.3|1\\.\\.2|\\.1\\.2|latest|[a-f0-9]{3}|)",
        ]
    }

    /// Lists drawn from a small pool too, so equal versions recur.
    fn tags() -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            prop::collection::vec(tag(), 0..60),
            (
                prop::collection::vec(tag(), 1..8),
                prop::collection::vec(any::<prop::sample::Index>(), 0..60)
            )
                .prop_map(|(pool, picks)| picks
                    .iter()
                    .map(|i| pool[i.index(pool.len())].clone())
                    .collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// Same winner, same count errors, for every split, with and
        /// without exclusions and filterTags (whose values tie: `v1.2.3`
        /// and `1.2.3` extract the same value, `1.2.3+a` and `1.2.3+b` two
        /// equal ones).
        #[test]
        fn fast_and_split_selection_match_the_sequential_loop(tags in tags()) {
            check_all(&tags, None, None);
            check_all(&tags, Some(&Exclusions::default()), None);
            let user = Exclusions::new(["^1", r"-rc\.1$"]).unwrap();
            check_all(&tags, Some(&user), None);
            for (pattern, extract) in [
                (r"^v?(?P<v>.*)$", "$v"),
                (r"^(?P<v>[^+]*)", "$v"),
                (r"^v?[0-9]", ""),
            ] {
                let filter = TagFilter::new(pattern, extract).unwrap();
                check_all(&tags, Some(&Exclusions::default()), Some(&filter));
            }
        }
    }

    /// A deterministic list above [`PARALLEL_MIN`], so the threaded path
    /// runs: equal versions spelled differently across the split, and with
    /// a filter a later tag with the winner's value in a later slice that
    /// the slice's own best does not name.
    #[test]
    fn large_lists_take_the_threaded_path_exactly() {
        let n = PARALLEL_MIN * 5 / 2;
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut tags: Vec<String> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match x % 4 {
                    0 => format!("{}.{}.{}", x % 5, (x >> 8) % 60, (x >> 16) % 300),
                    1 => format!(
                        "v{}.{}.{}-rc.{}",
                        x % 5,
                        (x >> 8) % 60,
                        (x >> 16) % 300,
                        x % 7
                    ),
                    2 => format!("main-{:x}", x >> 20),
                    _ => format!("sha256-{:x}.sig", x >> 4),
                }
            })
            .collect();
        tags[10] = "9.9.9".to_owned();
        tags[n / 2 + 5] = "v9.9.9".to_owned();
        tags[n / 2 + 6] = "9.9.9-rc.1".to_owned();
        tags[n - 9] = "9.9.9".to_owned();
        tags[n - 5] = "v9.9.9+b".to_owned();
        let excl = Exclusions::default();
        let range = Range::parse(">=1.0.0-0").unwrap();
        let identity = TagFilter::new("^(?P<t>.*)$", "$t").unwrap();
        let cases: [(Option<&TagFilter>, usize); 2] = [(None, 10), (Some(&identity), n - 9)];
        for (filter, want) in cases {
            let expected = reference(&range, &tags, Some(&excl), filter);
            assert_eq!(expected, Ok(Winner { index: want }));
            assert_eq!(semver(&range, &tags, Some(&excl), filter), expected);
            for parts in [2, 3, 5] {
                let got = in_parts(&range, &tags, Some(&excl), filter, parts, true);
                assert_eq!(got, expected, "parts={parts}");
            }
        }
        // Nothing in range: the count covers every slice.
        let none = Range::parse(">=10").unwrap();
        assert_eq!(
            semver(&none, &tags, Some(&excl), None),
            reference(&none, &tags, Some(&excl), None)
        );
        assert!(matches!(
            semver(&none, &tags, Some(&excl), None),
            Err(Error::NoVersionInRange { count, .. }) if count > n / 2
        ));
    }

    /// The bounds read numbers like the parser: a missing minor or patch is
    /// 0, leading zeros count for nothing, 20 digits may still fit.
    #[test]
    fn bounds_never_drop_a_winner() {
        let cases: [(&[&str], usize); 7] = [
            (&["1.2.3", "1.2.3-rc.1", "1.2.3+x"], 0),
            (&["1.2.3-rc.1", "1.2.3"], 1),
            (&["1.2.3", "01.02.04"], 1),
            (&["1.2.3", "1.3-rc.1.2"], 1),
            (&["1.2.3", "00000000000000000000002.0.0"], 1),
            (&["1.2.3", "99999999999999999999.0.0", "1.2.4"], 2),
            (&["2.0.0", "v2.0.0.", "2.0", "v2.0.1-"], 0),
        ];
        let range = Range::parse(">=0.0.0-0").unwrap();
        for (tags, want) in cases {
            let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
            check_all(&tags, None, None);
            let got = semver(&range, &tags, None, None);
            assert_eq!(got, Ok(Winner { index: want }), "{tags:?}");
        }
        let below_two = Range::parse("<2.0.0").unwrap();
        let tags: Vec<String> = ["1.2.3", "00000000000000000001.5.0", "2.0.0-rc.1", "2.0.0"]
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        assert_eq!(
            semver(&below_two, &tags, None, None),
            Ok(Winner { index: 1 })
        );
        let caret = Range::parse("^1.2.3-0").unwrap();
        assert_eq!(semver(&caret, &tags, None, None), Ok(Winner { index: 1 }));
        assert_eq!(
            Version::parse("1.2.3-rc.1")
                .unwrap()
                .cmp(&Version::parse("1.2.3").unwrap()),
            Ordering::Less
        );
    }
}
