//! Policy behaviour beyond the upstream tables: tie rules, filters,
//! exclusions, explain, and construction from gitops-core's Flux types.

use gitops_core::flux::{ImagePolicySpec, ImageRepositorySpec};
use gitops_image::{Exclusions, Order, Policy, Verdict, policy};

#[test]
fn semver_tie_first_seen_wins() {
    let p = Policy::semver(">=1.0.0").unwrap();
    assert_eq!(
        p.select(&["1.2.3", "v1.2.3", "01.2.3", "1.2.3+b"]).unwrap(),
        "1.2.3"
    );
    assert_eq!(p.select(&["v1.2.3", "1.2.3"]).unwrap(), "v1.2.3");
}

#[test]
fn numerical_tie_last_seen_wins() {
    let p = Policy::numerical(Order::Asc);
    assert_eq!(p.select(&["1", "1.0", "0.5"]).unwrap(), "1.0");
    let p = Policy::numerical(Order::Desc);
    assert_eq!(p.select(&["1", "1.0", "2"]).unwrap(), "1.0");
}

#[test]
fn filter_same_value_last_tag_wins() {
    // Flux keeps a map value -> last original tag.
    let p = Policy::semver("*")
        .unwrap()
        .with_filter_tags(r"^(?:a|b)-(\d+\.\d+\.\d+)$", "$1")
        .unwrap();
    assert_eq!(
        p.select(&["a-1.0.0", "b-1.0.0", "a-0.9.0"]).unwrap(),
        "b-1.0.0"
    );
    let p = Policy::alphabetical(Order::Asc)
        .with_filter_tags(r"^(?:a|b)-(.*)$", "$1")
        .unwrap();
    assert_eq!(p.select(&["a-z", "b-z", "a-y"]).unwrap(), "b-z");
}

#[test]
fn prerelease_rules() {
    let tags = ["1.0.0", "1.1.0-rc.1", "1.1.0-rc.2"];
    assert_eq!(
        Policy::semver(">=1.0.0").unwrap().select(&tags).unwrap(),
        "1.0.0"
    );
    assert_eq!(
        Policy::semver(">=1.0.0-0").unwrap().select(&tags).unwrap(),
        "1.1.0-rc.2"
    );
    // Only the alternative that mentions a prerelease admits them.
    let p = Policy::semver(">=2.0.0-0 || >=1.0.0").unwrap();
    assert_eq!(p.select(&tags).unwrap(), "1.0.0");
}

#[test]
fn exclusions_replace_default() {
    let tags = ["1.0.0", "2.0.0.sig", "1.5.0", "1.9.0-debug"];
    let p = Policy::alphabetical(Order::Asc);
    assert_eq!(p.select(&tags).unwrap(), "2.0.0.sig");
    assert_eq!(
        p.select_excluding(&tags, &Exclusions::default()).unwrap(),
        "1.9.0-debug"
    );
    let user = Exclusions::new(["-debug$"]).unwrap();
    assert_eq!(p.select_excluding(&tags, &user).unwrap(), "2.0.0.sig");
    let empty: [&str; 0] = [];
    assert_eq!(
        Exclusions::new(empty)
            .unwrap()
            .patterns()
            .collect::<Vec<_>>(),
        [Exclusions::DEFAULT_PATTERN]
    );
}

#[test]
fn explain_agrees_with_select() {
    let tags = [
        "v1.0.0",
        "1.4.0",
        "1.4.0+build",
        "1.5.0-rc.1",
        "2.0.0",
        "x.sig",
        "main",
        "1.2",
    ];
    let p = Policy::semver("^1").unwrap();
    let ex = Exclusions::default();
    let r = p.explain(&tags, &ex);
    assert_eq!(
        r.winner.as_deref(),
        Some(p.select_excluding(&tags, &ex).unwrap())
    );
    let verdicts: Vec<&str> = r.tags.iter().map(|t| t.verdict.name()).collect();
    assert_eq!(
        verdicts,
        [
            "lost",
            "selected",
            "lost",
            "prerelease not allowed",
            "outside range",
            "excluded",
            "not a version",
            "not a version"
        ]
    );
    assert_eq!(r.tags[2].verdict, Verdict::Lost { tie: true });
    assert_eq!(
        r.tags[4].verdict,
        Verdict::OutsideRange {
            reason: "\"2.0.0\" does not have same major version as \"1\"".into()
        }
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["winner"], "1.4.0");
    assert_eq!(json["tags"][5]["verdict"], "excluded");
    assert_eq!(json["tags"][5]["pattern"], "^.*\\.sig$");
    assert_eq!(json["tags"][0]["version"], "1.0.0");
    let table = r.to_string();
    assert!(table.contains("winner: 1.4.0"), "{table}");
}

#[test]
fn explain_reports_failures() {
    let p = Policy::numerical(Order::Asc)
        .with_filter_tags(r"^b-(.*)$", "$1")
        .unwrap();
    let r = p.explain(&["b-1", "b-x", "c-2"], &Exclusions::none());
    assert_eq!(r.winner, None);
    assert!(r.error.is_some());
    let names: Vec<&str> = r.tags.iter().map(|t| t.verdict.name()).collect();
    assert_eq!(names, ["candidate", "not numeric", "filtered out"]);
    assert_eq!(r.tags[1].value.as_deref(), Some("x"));
    let json = serde_json::to_value(&r).unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid numeric value")
    );
}

#[test]
fn from_gitops_core_spec() {
    let spec: ImagePolicySpec = serde_json::from_value(serde_json::json!({
        "imageRepositoryRef": {"name": "podinfo"},
        "policy": {"semver": {"range": ">=6.0.0 <7"}},
        "filterTags": {"pattern": "^v(?P<v>.*)$", "extract": "$v"}
    }))
    .unwrap();
    let p = Policy::from_spec(&spec).unwrap();
    assert_eq!(
        p.select(&["v6.1.0", "v7.0.0", "6.9.0", "v6.0.3"]).unwrap(),
        "v6.1.0"
    );
    assert_eq!(p, Policy::try_from(&spec).unwrap());

    let spec: ImagePolicySpec = serde_json::from_value(serde_json::json!({
        "imageRepositoryRef": {"name": "x"},
        "policy": {"alphabetical": {"order": "DESC"}}
    }))
    .unwrap();
    assert_eq!(
        Policy::from_spec(&spec)
            .unwrap()
            .select(&["b", "a", "c"])
            .unwrap(),
        "a"
    );

    let spec: ImagePolicySpec = serde_json::from_value(serde_json::json!({
        "imageRepositoryRef": {"name": "x"},
        "policy": {}
    }))
    .unwrap();
    assert_eq!(Policy::from_spec(&spec).unwrap_err(), policy::Error::NoRule);

    let repo: ImageRepositorySpec = serde_json::from_value(serde_json::json!({
        "image": "ghcr.io/x/y", "interval": "1m", "exclusionList": ["^dev-"]
    }))
    .unwrap();
    let ex = Exclusions::from_spec(&repo).unwrap();
    assert!(ex.is_excluded("dev-1") && !ex.is_excluded("a.sig"));
}
