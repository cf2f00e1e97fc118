//! The Numerical policy on many tags: a cheap byte check lets plain
//! decimal tags that cannot win skip the float parse, and large lists are
//! split over threads whose results combine exactly as the sequential loop.

use super::split::{PARALLEL_MIN, map_parts, parts_for};
use super::{Counts, Error, Winner, check_counts, numeric_better, scan};
use crate::filter::{Exclusions, TagFilter};
use crate::policy::Order;
use gitops_core::strconv::parse_float as parse_go_float;

/// 10^0 ..= 10^19, exact in f64 and in u64.
const POW10: [f64; 20] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19,
];
const POW10_U64: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut k = 1;
    while k < 20 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// Flux's Numerical selection; threads for large lists.
pub(super) fn numerical<S: AsRef<str> + Sync>(
    order: Order,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Winner, Error> {
    let parts = parts_for(tags.len(), PARALLEL_MIN);
    in_parts(order, tags, excl, filter, parts, parts > 1)
}

/// Select over `parts` contiguous slices (on threads when `threads`), each
/// in one pass, then combine them in order. Same answer as one sequential
/// pass: the same winner, the same first non-numeric tag, the same counts.
pub(crate) fn in_parts<S: AsRef<str> + Sync>(
    order: Order,
    tags: &[S],
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
    parts: usize,
    threads: bool,
) -> Result<Winner, Error> {
    let results = map_parts(tags, parts, threads, |slice, span| {
        part(order, slice, span.start, excl, filter)
    });
    let mut counts = Counts {
        kept: 0,
        candidates: 0,
    };
    let mut best: Option<(usize, f64)> = None;
    for r in results {
        // The first error in tag order is the one a sequential pass meets.
        let p = r?;
        counts.kept += p.counts.kept;
        counts.candidates += p.counts.candidates;
        best = match (best, p.best) {
            (b, None) => b,
            (None, b) => b,
            // A NaN in the later part resets the sequential loop (a NaN is
            // always taken, and anything is taken after it), so that part's
            // own answer is the answer; otherwise it wins unless strictly
            // worse, as a single candidate would.
            (Some((_, pv)), Some((ci, cv))) if p.nan || numeric_better(order, cv, pv) => {
                Some((ci, cv))
            }
            (b, Some(_)) => b,
        };
    }
    check_counts(tags, filter, &counts)?;
    best.map(|(index, _)| Winner { index })
        .ok_or(Error::EmptyList)
}

/// One slice's result: as if the sequential loop started at its first tag.
struct Part {
    best: Option<(usize, f64)>,
    counts: Counts,
    /// Whether some candidate was NaN.
    nan: bool,
}

fn part<S: AsRef<str>>(
    order: Order,
    tags: &[S],
    offset: usize,
    excl: Option<&Exclusions>,
    filter: Option<&TagFilter>,
) -> Result<Part, Error> {
    let mut best = Best {
        order,
        index: None,
        pv: f64::NAN,
        skip: Skip::NONE,
        nan: false,
    };
    let counts = if filter.is_none() {
        // `scan` without a filter, inlined; a plain tag never ends in
        // ".sig", so the default exclusion list need not look at it.
        let excl_plain = excl.filter(|e| !e.is_sig_only());
        let mut kept = 0;
        for (i, t) in tags.iter().enumerate() {
            let key = t.as_ref();
            let p = plain(key.as_bytes());
            let ex = if matches!(p, Plain::Other) {
                excl
            } else {
                excl_plain
            };
            if ex.is_some_and(|e| e.is_excluded(key)) {
                continue;
            }
            kept += 1;
            best.offer(offset + i, key, p, key)?;
        }
        Counts {
            kept,
            candidates: kept,
        }
    } else {
        scan(tags, excl, filter, |i, key| {
            best.offer(offset + i, key, plain(key.as_bytes()), tags[i].as_ref())
        })?
    };
    Ok(Part {
        best: best.index.map(|i| (i, best.pv)),
        counts,
        nan: best.nan,
    })
}

/// Flux's loop state; no best yet is a NaN `pv`, which any candidate
/// beats, as in Go.
struct Best {
    order: Order,
    index: Option<usize>,
    pv: f64,
    skip: Skip,
    nan: bool,
}

impl Best {
    /// One candidate: `key` (the tag, or what `extract` made of `tag`).
    #[inline(always)]
    fn offer(&mut self, index: usize, key: &str, p: Plain, tag: &str) -> Result<(), Error> {
        let cv = match p {
            #[allow(clippy::cast_precision_loss)] // correctly rounded, as Go
            Plain::Int(m) => m as f64,
            Plain::Decimal(int) if self.skip.covers(int) => return Ok(()),
            _ => parse_go_float(key).ok_or_else(|| Error::NotNumeric {
                tag: tag.to_owned(),
                value: key.to_owned(),
            })?,
        };
        if numeric_better(self.order, cv, self.pv) {
            self.nan |= cv.is_nan();
            self.index = Some(index);
            self.pv = cv;
            self.skip = Skip::for_best(self.order, cv);
        }
        Ok(())
    }
}

/// A tag of one of the two shapes Numerical tags usually have, both of
/// which Go parses as a finite float64 `v >= 0`.
enum Plain {
    /// `[0-9]{1,19}`: the value, exact (`as f64` then rounds as Go does).
    Int(u64),
    /// `[0-9]{0,19}\.[0-9]*` with at least one digit: the integer part
    /// `int`, so `int <= v < int + 1`.
    Decimal(u64),
    /// Anything else: the full parser decides.
    Other,
}

#[inline]
fn plain(b: &[u8]) -> Plain {
    let mut int: u64 = 0;
    let mut k = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        int = int.wrapping_mul(10).wrapping_add(u64::from(d));
        k += 1;
    }
    if k > 19 {
        return Plain::Other;
    }
    let Some((&c, frac)) = b.split_at(k).1.split_first() else {
        return if k > 0 { Plain::Int(int) } else { Plain::Other };
    };
    if c == b'.' && frac.iter().all(u8::is_ascii_digit) && (k > 0 || !frac.is_empty()) {
        Plain::Decimal(int)
    } else {
        Plain::Other
    }
}

/// The integer parts of plain decimals strictly worse than the current
/// best, which skip the float parse.
#[derive(Clone, Copy)]
struct Skip {
    lo: u64,
    hi: u64,
}

impl Skip {
    const NONE: Skip = Skip { lo: 1, hi: 0 };

    #[inline]
    fn covers(self, int: u64) -> bool {
        self.lo <= int && int <= self.hi
    }

    /// Rounding is monotone and 10^0..=10^19 are exact in f64 (and in u64).
    /// Asc: `int < 10^k` gives `v < 10^k`, so `f64(v) <= 10^k`: strictly
    /// worse when `10^k < pv`. Desc: `int >= 10^k` gives `f64(v) >= 10^k`:
    /// strictly worse when `10^k > pv`; any `v >= 0` is when `pv < 0`. NaN
    /// compares false: no skip.
    fn for_best(order: Order, pv: f64) -> Skip {
        match order {
            Order::Asc => match (0..POW10.len()).rev().find(|&k| POW10[k] < pv) {
                Some(k) => Skip {
                    lo: 0,
                    hi: POW10_U64[k] - 1,
                },
                None => Skip::NONE,
            },
            Order::Desc if pv < 0.0 => Skip {
                lo: 0,
                hi: u64::MAX,
            },
            Order::Desc => match (0..POW10.len()).find(|&k| POW10[k] > pv) {
                Some(k) => Skip {
                    lo: POW10_U64[k],
                    hi: u64::MAX,
                },
                None => Skip::NONE,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{PARALLEL_MIN, in_parts, numerical};
    use crate::filter::{Exclusions, TagFilter};
    use crate::policy::Order;
    use crate::select::{Error, Winner, check_counts, numeric_better, scan};
    use gitops_core::strconv::parse_float as parse_go_float;

    /// Flux's loop, written plainly: one pass, every candidate parsed.
    fn reference(
        order: Order,
        tags: &[String],
        excl: Option<&Exclusions>,
        filter: Option<&TagFilter>,
    ) -> Result<Winner, Error> {
        let mut best: Option<(usize, f64)> = None;
        let counts = scan(tags, excl, filter, |i, key| {
            let Some(cv) = parse_go_float(key) else {
                return Err(Error::NotNumeric {
                    tag: tags[i].clone(),
                    value: key.to_owned(),
                });
            };
            match best {
                Some((_, pv)) if !numeric_better(order, cv, pv) => {}
                _ => best = Some((i, cv)),
            }
            Ok(())
        })?;
        check_counts(tags, filter, &counts)?;
        best.map(|(index, _)| Winner { index })
            .ok_or(Error::EmptyList)
    }

    /// Every way of running the fast selection agrees with the reference.
    fn check_all(tags: &[String], excl: Option<&Exclusions>, filter: Option<&TagFilter>) {
        for order in [Order::Asc, Order::Desc] {
            let want = reference(order, tags, excl, filter);
            for parts in [1, 2, 3, 7] {
                for threads in [false, true] {
                    let got = in_parts(order, tags, excl, filter, parts, threads);
                    assert_eq!(got, want, "{order:?} parts={parts} threads={threads}");
                }
            }
            assert_eq!(numerical(order, tags, excl, filter), want, "{order:?}");
        }
    }

    fn tag() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[0-9]{1,10}",
            4 => "[0-9]{0,6}\\.[0-9]{0,4}",
            2 => "0{1,3}[0-9]{0,4}(\\.[0-9]{0,2})?",
            2 => "[0-9]{18,24}(\\.[0-9]{0,3})?",
            2 => "[+-][0-9]{1,5}(\\.[0-9]{1,3})?",
            1 => "[0-9]{1,3}(\\.[0-9])?[eE][+-]?[0-9]{1,3}",
            1 => "[+-]?([iI]nf|INF|[iI]nfinity)",
            1 => "[nN]a[nN]",
            1 => "0x1(\\.8)?p-?[0-9]",
            1 => "[0-9]_[0-9]{3}",
            3 => "(0|1|9|10|99|100)(\\.[0-9]{1,2})?",
            1 => "9{1,3}\\.9{14,22}",
            1 => "(\\.|[0-9]\\.[0-9]\\.[0-9]|[a-z]{1,3}|1a|\\+nan|x\\.sig|9\\.sig|)",
        ]
    }

    /// Lists drawn from a small pool too, so equal values recur.
    fn tags() -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            prop::collection::vec(tag(), 0..120),
            (
                prop::collection::vec(tag(), 1..8),
                prop::collection::vec(any::<prop::sample::Index>(), 0..120)
            )
                .prop_map(|(pool, picks)| picks
                    .iter()
                    .map(|i| pool[i.index(pool.len())].clone())
                    .collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Same winner, same first non-numeric tag, same counts errors, for
        /// every split, with and without exclusions and filterTags.
        #[test]
        fn fast_and_split_selection_match_the_sequential_loop(tags in tags()) {
            check_all(&tags, None, None);
            check_all(&tags, Some(&Exclusions::default()), None);
            let user = Exclusions::new(["^1", r"\.5$"]).unwrap();
            check_all(&tags, Some(&user), None);
            let filter = TagFilter::new(r"^(?P<v>[0-9][0-9.]*)$", "$v").unwrap();
            check_all(&tags, Some(&Exclusions::default()), Some(&filter));
        }
    }

    /// Values at the powers of ten the skip bounds use, and decimals that
    /// round up to the power of ten (then equal, so the later one wins).
    #[test]
    fn skip_bounds_are_exact() {
        let cases: [(&[&str], usize, usize); 8] = [
            (&["10", "10.0"], 1, 1),
            (&["100.5", "100.7"], 1, 0),
            (&["100.5", "99.9", "100.2"], 0, 1),
            (&["10", "9.999999999999999999999"], 1, 1),
            (&["1", "0.99999999999999999999", "10.0"], 2, 1),
            (&["-1", "0.5", "7"], 2, 0),
            (&["0.5", "00.5", "0.50"], 2, 2),
            (&["1.5", "1.2", "1", "10.1"], 3, 2),
        ];
        for (tags, asc, desc) in cases {
            let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
            check_all(&tags, None, None);
            assert_eq!(
                numerical(Order::Asc, &tags, None, None),
                Ok(Winner { index: asc }),
                "{tags:?}"
            );
            assert_eq!(
                numerical(Order::Desc, &tags, None, None),
                Ok(Winner { index: desc }),
                "{tags:?}"
            );
        }
    }

    /// A deterministic list above [`PARALLEL_MIN`], so the threaded path of
    /// `numerical` runs: ties of the maximum and minimum across the split,
    /// then a NaN in the second half, then a non-numeric tag in each half.
    #[test]
    fn large_lists_take_the_threaded_path_exactly() {
        let n = PARALLEL_MIN * 5 / 2;
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut tags: Vec<String> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match x % 3 {
                    0 => (x % 10_000_000).to_string(),
                    1 => format!("{}.{}", x % 100_000, (x >> 20) % 1000),
                    _ => (1_500_000_000 + x % 300_000_000).to_string(),
                }
            })
            .collect();
        for (i, t) in [
            (10, "1900000000"),
            (n / 2 + 5, "1900000000.0"),
            (n - 9, "01900000000"),
        ] {
            tags[i] = t.to_owned();
        }
        for (i, t) in [(7, "0.0"), (n / 2 - 3, "-0"), (n - 20, "0")] {
            tags[i] = t.to_owned();
        }
        let check = |tags: &[String], want_asc: Result<Winner, Error>| {
            let got = numerical(Order::Asc, tags, None, None);
            assert_eq!(got, reference(Order::Asc, tags, None, None));
            assert_eq!(got, want_asc);
            assert_eq!(
                numerical(Order::Desc, tags, None, None),
                reference(Order::Desc, tags, None, None)
            );
        };
        check(&tags, Ok(Winner { index: n - 9 }));
        // After a NaN the next candidate always wins, then ties go last.
        tags[n - 3] = "NaN".to_owned();
        tags[n - 2] = "5".to_owned();
        tags[n - 1] = "5.0".to_owned();
        check(&tags, Ok(Winner { index: n - 1 }));
        tags[n - 1] = "nan".to_owned();
        check(&tags, Ok(Winner { index: n - 1 }));
        tags[n - 100] = "v1".to_owned();
        tags[n / 3] = "1e999".to_owned();
        check(
            &tags,
            Err(Error::NotNumeric {
                tag: "1e999".to_owned(),
                value: "1e999".to_owned(),
            }),
        );
    }
}
