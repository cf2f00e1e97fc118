//! Bad input gives typed errors with exact, clear messages.

use std::error::Error as _;

use gitops_image::{
    Exclusions, Order, Policy, Range, TagFilter, Version, filter, policy, range, select,
};

#[test]
fn bad_range() {
    let e = Policy::semver(">=1.0 <2.x.y").unwrap_err();
    assert_eq!(e.to_string(), "invalid semver range \">=1.0 <2.x.y\"");
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("unexpected \".y\" at column 11 after version \"2.x\"")
    );
    assert!(matches!(
        e,
        policy::Error::InvalidRange {
            source: range::Error::Unexpected { column: 11, .. },
            ..
        }
    ));
    assert_eq!(Range::parse("").unwrap_err(), range::Error::Empty);
    assert_eq!(
        Range::parse("*-*").unwrap_err().to_string(),
        "unexpected \"-*\" at column 2 after version \"*\""
    );
    assert_eq!(
        Range::parse("a").unwrap_err().to_string(),
        "expected a version at column 1, found \"a\""
    );
    assert_eq!(
        Range::parse("=> 1 || ==2").unwrap_err().to_string(),
        "unknown operator \"==\" at column 9, expected one of = != > < >= => <= =< ~ ~> ^"
    );
    let e = Range::parse("v1.2.3-beta.01").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid version \"v1.2.3-beta.01\" at column 1"
    );
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("version segment starts with 0 in \"v1.2.3-beta.01\"")
    );
}

#[test]
fn bad_regex() {
    let e = TagFilter::new("^test-(.*", "$1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid regular expression pattern \"^test-(.*\""
    );
    assert!(matches!(e, filter::Error::InvalidPattern { .. }));
    assert!(e.source().is_some());
    let e = Policy::alphabetical(Order::Asc)
        .with_filter_tags("(", "")
        .unwrap_err();
    assert_eq!(e.to_string(), "invalid filterTags");
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("invalid regular expression pattern \"(\"")
    );
    let e = Exclusions::new(["^ok$", "[z-a]"]).unwrap_err();
    assert_eq!(e.to_string(), "invalid exclusion pattern \"[z-a]\"");
}

#[test]
fn unknown_extract_group() {
    let e = TagFilter::new(r"^main-(?P<stamp>\d+)$", "$ts").unwrap_err();
    assert_eq!(
        e,
        filter::Error::UnknownGroup {
            extract: "$ts".into(),
            group: "ts".into(),
            pattern: r"^main-(?P<stamp>\d+)$".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        r#"extract template "$ts" refers to capture group "ts", which pattern "^main-(?P<stamp>\\d+)$" does not define"#
    );
    assert!(TagFilter::new(r"^v(\d+)$", "${2}").is_err());
}

#[test]
fn non_numeric_tag_under_numerical() {
    let p = Policy::numerical(Order::Asc);
    let e = p.select(&["0", "1a", "b"]).unwrap_err();
    assert_eq!(
        e,
        select::Error::NotNumeric {
            tag: "1a".into(),
            value: "1a".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid numeric value \"1a\": every candidate of a numerical policy must parse as a float64"
    );
    let p = Policy::numerical(Order::Desc)
        .with_filter_tags("^build-(.*)$", "$1")
        .unwrap();
    assert_eq!(
        p.select(&["build-1", "build-x"]).unwrap_err().to_string(),
        "invalid numeric value \"x\" extracted from tag \"build-x\": every candidate of a numerical policy must parse as a float64"
    );
}

#[test]
fn empty_and_nothing_matched() {
    let p = Policy::semver(">=1.0.0").unwrap();
    assert_eq!(
        p.select::<&str>(&[]).unwrap_err().to_string(),
        "the tag list is empty"
    );
    assert_eq!(
        p.select(&["b1.2.3", "b1.0.0"]).unwrap_err().to_string(),
        "none of the 2 candidate tags is a version in range \">=1.0.0\""
    );
    assert_eq!(
        p.select_excluding(&["a.sig", "b.sig"], &Exclusions::default())
            .unwrap_err()
            .to_string(),
        "all 2 tags are excluded by the exclusion list"
    );
    let p = p.with_filter_tags("^rel-", "").unwrap();
    assert_eq!(
        p.select(&["1.0.0"]).unwrap_err().to_string(),
        "none of the 1 tags matches the filterTags pattern \"^rel-\""
    );
}

#[test]
fn bad_order_and_versions() {
    assert_eq!(
        Order::parse("invalid").unwrap_err().to_string(),
        "invalid order \"invalid\", must be one of: asc, desc"
    );
    assert_eq!(Order::parse("DESC").unwrap(), Order::Desc);
    assert_eq!(
        Version::parse("1.2.beta").unwrap_err().to_string(),
        "invalid semantic version \"1.2.beta\""
    );
    assert_eq!(
        Version::parse_strict("v1.2.3").unwrap_err().to_string(),
        "invalid characters in version \"v1.2.3\""
    );
    assert_eq!(
        Version::parse_strict("").unwrap_err().to_string(),
        "version string empty"
    );
}
