//! Flux v1 tag filters.

use std::time::{Duration, UNIX_EPOCH};

use gitops_image::v1::{self, TagInfo, TagPattern};

fn at(s: u64) -> Option<std::time::SystemTime> {
    Some(UNIX_EPOCH + Duration::from_secs(s))
}

#[test]
fn glob_orders_by_creation_time_then_smaller_tag() {
    let imgs = [
        TagInfo::new("master-b", at(10)),
        TagInfo::new("master-a", at(10)),
        TagInfo::new("master-c", at(5)),
        TagInfo::new("dev-z", at(99)),
    ];
    let p = TagPattern::parse("glob:master-*").unwrap();
    assert_eq!(p.latest(&imgs).unwrap().tag, "master-a");
    let p = TagPattern::parse("regex:^master-[bc]$").unwrap();
    assert_eq!(p.latest(&imgs).unwrap().tag, "master-b");
    assert_eq!(
        TagPattern::parse("regexp:^dev").unwrap().to_string(),
        "regexp:^dev"
    );
}

#[test]
fn glob_star_crosses_slashes_and_question_mark_is_literal() {
    let p = TagPattern::parse("glob:feature/*").unwrap();
    assert!(p.matches("feature/a/b"));
    let p = TagPattern::parse("glob:v1.?").unwrap();
    assert!(!p.matches("v1.2"));
    assert!(p.matches("v1.?"));
}

#[test]
fn semver_is_lenient_and_excludes_latest() {
    let imgs = [
        TagInfo::new("latest", at(100)),
        TagInfo::new("v2", None),
        TagInfo::new("1.9.9", None),
        TagInfo::new("2.0.0", None),
    ];
    let p = TagPattern::parse("semver:>=1").unwrap();
    // `v2` == `2.0.0`: the lexically greater tag wins.
    assert_eq!(p.latest(&imgs).unwrap().tag, "v2");
    assert!(!p.requires_timestamp());
    assert_eq!(
        TagPattern::parse("glob:latest")
            .unwrap()
            .latest(&imgs)
            .unwrap()
            .tag,
        "latest"
    );
}

#[test]
fn annotations_pick_the_container_pattern() {
    let ann = [
        ("fluxcd.io/automated", "true"),
        ("filter.fluxcd.io/app", "semver:~1"),
        ("fluxcd.io/tag.sidecar", "glob:main-*"),
    ];
    let p = TagPattern::for_container(ann, "app").unwrap();
    assert_eq!(p.to_string(), "semver:~1");
    let p = TagPattern::for_container(ann, "sidecar").unwrap();
    assert_eq!(p.to_string(), "glob:main-*");
    let p = TagPattern::for_container(ann, "other").unwrap();
    assert_eq!(p.to_string(), "glob:*");
    let legacy = [("flux.weave.works/tag.app", "regex:^v")];
    assert_eq!(
        TagPattern::for_container(legacy, "app")
            .unwrap()
            .to_string(),
        "regexp:^v"
    );
}

#[test]
fn errors_are_typed() {
    assert!(matches!(
        TagPattern::parse("regexp:(").unwrap_err(),
        v1::Error::InvalidRegexp { .. }
    ));
    assert!(matches!(
        TagPattern::parse("semver:>=").unwrap_err(),
        v1::Error::InvalidSemver { .. }
    ));
    let p = TagPattern::parse("semver:^3").unwrap();
    assert_eq!(
        p.latest(&[TagInfo::new("1.0.0", None)]).unwrap_err(),
        v1::Error::NoneMatched {
            pattern: "semver:^3".into(),
            count: 1
        }
    );
}
