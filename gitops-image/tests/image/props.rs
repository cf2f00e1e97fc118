//! Property tests: range display round-trips, version order is total and
//! agrees with a direct transcription of Masterminds `Compare`, and
//! selection agrees with a sort-based oracle.

use std::cmp::Ordering;

use gitops_image::{Order, Policy, Range, Version};
use proptest::prelude::*;

fn num() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..20).prop_map(|n| n.to_string()),
        Just("x".to_owned()),
        Just("*".to_owned()),
        Just("X".to_owned()),
    ]
}

fn pre() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => "(alpha|beta|rc|0|1|11|a-b)(\\.(0|1|2|x|10))?".prop_map(|p| format!("-{p}")),
    ]
}

fn cv() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        num(),
        prop::option::of(num()),
        prop::option::of(num()),
        pre(),
    )
        .prop_map(|(v, a, b, c, p)| {
            let mut s = String::new();
            if v {
                s.push('v');
            }
            s.push_str(&a);
            if let Some(b) = b {
                s.push('.');
                s.push_str(&b);
                if let Some(c) = c {
                    s.push('.');
                    s.push_str(&c);
                }
            }
            s.push_str(&p);
            s
        })
}

fn comparator() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^",
        ]),
        prop::sample::select(vec!["", " "]),
        cv(),
    )
        .prop_map(|(op, ws, v)| format!("{op}{ws}{v}"))
}

fn range_text() -> impl Strategy<Value = String> {
    let group = prop_oneof![
        prop::collection::vec(comparator(), 1..4)
            .prop_flat_map(
                |cs| prop::sample::select(vec![" ", ", ", ","]).prop_map(move |sep| cs.join(sep))
            ),
        (cv(), cv()).prop_map(|(a, b)| format!("{a} - {b}")),
    ];
    prop::collection::vec(group, 1..3).prop_map(|gs| gs.join(" || "))
}

fn version_text() -> impl Strategy<Value = String> {
    (0u64..4, 0u64..4, 0u64..4, pre(), prop::bool::ANY).prop_map(|(a, b, c, p, v)| {
        format!(
            "{}{a}.{b}.{c}{}",
            if v { "v" } else { "" },
            p.replace('x', "9")
        )
    })
}

/// Masterminds `Compare`, transcribed independently of the crate's code.
fn oracle_compare(a: &Version, b: &Version) -> Ordering {
    let core = (a.major(), a.minor(), a.patch()).cmp(&(b.major(), b.minor(), b.patch()));
    if core != Ordering::Equal {
        return core;
    }
    let (pa, pb) = (a.prerelease(), b.prerelease());
    match (pa.is_empty(), pb.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let xs: Vec<&str> = pa.split('.').collect();
    let ys: Vec<&str> = pb.split('.').collect();
    for i in 0..xs.len().max(ys.len()) {
        let (x, y) = (
            xs.get(i).copied().unwrap_or(""),
            ys.get(i).copied().unwrap_or(""),
        );
        if x == y {
            continue;
        }
        if x.is_empty() {
            return Ordering::Less;
        }
        if y.is_empty() {
            return Ordering::Greater;
        }
        return match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
    }
    Ordering::Equal
}

proptest! {
    #[test]
    fn range_parse_display_round_trip(text in range_text()) {
        if let Ok(r) = Range::parse(&text) {
            let shown = r.to_string();
            let again = Range::parse(&shown).expect("display output parses");
            prop_assert_eq!(&again.to_string(), &shown);
            prop_assert_eq!(again, r);
        }
    }

    #[test]
    fn generated_ranges_mostly_parse(text in range_text()) {
        // Wildcards in prereleases are the only generated invalid inputs.
        if !text.contains("-x") && !text.contains("-*") && !text.contains("-X") {
            prop_assert!(Range::parse(&text).is_ok(), "{}", text);
        }
    }

    #[test]
    fn order_is_total_and_matches_masterminds(a in version_text(), b in version_text(), c in version_text()) {
        let (a, b, c) = (Version::parse(&a).unwrap(), Version::parse(&b).unwrap(), Version::parse(&c).unwrap());
        prop_assert_eq!(a.cmp(&b), oracle_compare(&a, &b));
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
    }

    #[test]
    fn semver_select_matches_sort_oracle(tags in prop::collection::vec(version_text(), 1..30), r in range_text()) {
        let Ok(range) = Range::parse(&r) else { return Ok(()); };
        let p = Policy::semver(&r).unwrap();
        let mut best: Option<(usize, Version)> = None;
        for (i, t) in tags.iter().enumerate() {
            let v = Version::parse_tag(t).unwrap();
            if range.matches(v.as_ref()) && best.as_ref().is_none_or(|(_, b)| v > *b) {
                best = Some((i, v));
            }
        }
        match (p.select(&tags), best) {
            (Ok(t), Some((i, _))) => prop_assert_eq!(t, tags[i].as_str()),
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "{:?} vs {:?}", got, want),
        }
    }

    #[test]
    fn alphabetical_is_max_or_min(tags in prop::collection::vec("[a-z0-9.-]{0,6}", 1..20)) {
        let asc = Policy::alphabetical(Order::Asc).select(&tags).unwrap();
        let desc = Policy::alphabetical(Order::Desc).select(&tags).unwrap();
        prop_assert_eq!(asc, tags.iter().max().unwrap().as_str());
        prop_assert_eq!(desc, tags.iter().min().unwrap().as_str());
    }
}
