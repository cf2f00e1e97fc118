//! Data-driven checks against ../shared/conformance/image (Masterminds/semver
//! and Flux test tables). Each suite prints `<file>: N passed, M failed` and
//! panics listing every mismatch.

use std::path::PathBuf;
use std::sync::OnceLock;

use gitops_image::range::{Comparator, Op};
use gitops_image::version::{self, Version};
use gitops_image::{Order, Policy, Range, TagFilter, select};
use serde_json::Value;

/// `$GITOPS_CONFORMANCE_DIR/image`, else `<workspace>/../shared/conformance/image`.
/// `None` (after one notice) when absent, unless `CI=true`.
fn image_dir() -> Option<PathBuf> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| gitops_test_support::conformance_dir("image conformance", "image"))
        .as_ref()
        .map(|base| base.join("image"))
}

fn load(file: &str) -> Option<Vec<Value>> {
    let dir = image_dir()?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {file}: {e}"));
    Some(rows)
}

struct Suite {
    name: &'static str,
    passed: usize,
    failures: Vec<String>,
}

impl Suite {
    fn new(name: &'static str) -> Self {
        Suite {
            name,
            passed: 0,
            failures: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, row: &Value, detail: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            let src = &row["source"];
            self.failures.push(format!(
                "{}:{} {} -- {}",
                src["test"].as_str().unwrap_or("?"),
                src["line"],
                compact(row),
                detail()
            ));
        }
    }

    fn finish(self) {
        println!(
            "{}: {} passed, {} failed",
            self.name,
            self.passed,
            self.failures.len()
        );
        assert!(
            self.passed + self.failures.len() > 0,
            "{}: no rows loaded",
            self.name
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} mismatches:\n{}",
            self.name,
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn compact(row: &Value) -> String {
    let mut r = row.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("source");
    }
    r.to_string()
}

fn s<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("row lacks string {key:?}: {row}"))
}

fn b(row: &Value, key: &str) -> bool {
    row[key]
        .as_bool()
        .unwrap_or_else(|| panic!("row lacks bool {key:?}: {row}"))
}

fn version_error_ident(e: &version::Error) -> &'static str {
    match e {
        version::Error::Invalid { .. } | version::Error::TooFewDots { .. } => "ErrInvalidSemVer",
        version::Error::SegmentStartsZero { .. } => "ErrSegmentStartsZero",
        version::Error::InvalidPrerelease { .. } => "ErrInvalidPrerelease",
        version::Error::InvalidMetadata { .. } => "ErrInvalidMetadata",
        version::Error::InvalidCharacters { .. } => "ErrInvalidCharacters",
        version::Error::Empty => "ErrEmptyString",
        _ => "other",
    }
}

#[test]
fn masterminds_version_parse() {
    let Some(rows) = load("masterminds_version_parse.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_version_parse");
    for row in &rows {
        let input = s(row, "version");
        let parser = s(row, "parser");
        let want_err = b(row, "err");
        let got = match parser {
            "StrictNewVersion" => Version::parse_strict(input),
            "NewVersion(CoerceNewVersion=true, default)" => Version::parse(input),
            "NewVersion(CoerceNewVersion=false)"
            | "NewVersion(CoerceNewVersion=false, DetailedNewVersionErrors=true)"
            | "NewVersion(CoerceNewVersion=false, DetailedNewVersionErrors=false)" => {
                Version::parse_no_coerce(input)
            }
            other => {
                suite.check(false, row, || format!("unknown parser {other:?}"));
                continue;
            }
        };
        let mut ok = got.is_err() == want_err;
        if let (Some(want), Err(e)) = (row.get("want_error").and_then(Value::as_str), &got) {
            let ident = if parser.ends_with("DetailedNewVersionErrors=false)") {
                "ErrInvalidSemVer" // undetailed mode reports every error as this
            } else {
                version_error_ident(e)
            };
            ok &= ident == want;
        }
        suite.check(ok, row, || format!("got {got:?}"));
    }
    suite.finish();
}

#[test]
fn masterminds_version_compare() {
    let Some(rows) = load("masterminds_version_compare.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_version_compare");
    let parse = |v: &Value| {
        v.as_str()
            .map(|s| Version::parse(s).expect("compare row version"))
    };
    for row in &rows {
        let (a, c) = (parse(&row["v1"]), parse(&row["v2"]));
        let op = s(row, "op");
        let ok = match (op, a, c) {
            ("Equal", a, c) => {
                let eq = match (a, c) {
                    (None, None) => true,
                    (Some(a), Some(c)) => a == c,
                    _ => false,
                };
                Some(eq) == row["expected"].as_bool()
            }
            (op, Some(a), Some(c)) => {
                let ord = a.cmp(&c);
                match op {
                    "Compare" => row["expected"].as_i64() == Some(ord as i64),
                    "LessThan" => Some(ord.is_lt()) == row["expected"].as_bool(),
                    "LessThanEqual" => Some(ord.is_le()) == row["expected"].as_bool(),
                    "GreaterThan" => Some(ord.is_gt()) == row["expected"].as_bool(),
                    "GreaterThanEqual" => Some(ord.is_ge()) == row["expected"].as_bool(),
                    _ => false,
                }
            }
            _ => false,
        };
        suite.check(ok, row, String::new);
    }
    suite.finish();
}

#[test]
fn masterminds_version_misc() {
    let Some(rows) = load("masterminds_version_misc.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_version_misc");
    let ident = |v: &Value| v["ident"].as_str().map(str::to_owned);
    for row in &rows {
        let kind = s(row, "kind");
        let (ok, detail) = match kind {
            "TestOriginal" => {
                let v = Version::parse(s(row, "value")).map(|v| v.original().to_owned());
                (v.as_deref() == Ok(s(row, "value")), format!("{v:?}"))
            }
            "TestCoerceString" => {
                let v = Version::parse(s(row, "version")).map(|v| v.to_string());
                (v.as_deref() == Ok(s(row, "expected")), format!("{v:?}"))
            }
            "TestInc" => {
                let v = Version::parse(s(row, "v1")).expect("inc input");
                let next = match s(row, "how") {
                    "patch" => v.inc_patch(),
                    "minor" => v.inc_minor(),
                    "major" => v.inc_major(),
                    other => panic!("unknown inc {other}"),
                }
                .expect("inc");
                (
                    next.to_string() == s(row, "expected")
                        && next.original() == s(row, "expectedOriginal"),
                    format!("{next} / {}", next.original()),
                )
            }
            "TestSetPrerelease" | "TestSetMetadata" => {
                let v = Version::parse(s(row, "v1")).expect("set input");
                let (got, field) = if kind == "TestSetPrerelease" {
                    (
                        v.with_prerelease(s(row, "prerelease")),
                        "expectedPrerelease",
                    )
                } else {
                    (v.with_metadata(s(row, "metadata")), "expectedMetadata")
                };
                match (got, ident(&row["expectedErr"])) {
                    (Err(e), Some(want)) => (version_error_ident(&e) == want, e.to_string()),
                    (Ok(n), None) => {
                        let part = if kind == "TestSetPrerelease" {
                            n.prerelease()
                        } else {
                            n.metadata()
                        };
                        (
                            n.to_string() == s(row, "expectedVersion")
                                && part == s(row, field)
                                && n.original() == s(row, "expectedOriginal"),
                            format!("{n} / {}", n.original()),
                        )
                    }
                    (got, _) => (false, format!("{got:?}")),
                }
            }
            "TestOriginalVPrefix" => {
                let v = Version::parse(s(row, "version")).expect("prefix input");
                (v.original_v_prefix() == s(row, "vprefix"), String::new())
            }
            "TestValidatePrerelease" | "TestValidateMetadata" => {
                let got = if kind == "TestValidatePrerelease" {
                    version::validate_prerelease(s(row, "pre"))
                } else {
                    version::validate_metadata(s(row, "meta"))
                };
                let want = ident(&row["expected"]);
                let ok = match (&got, &want) {
                    (Ok(()), None) => true,
                    (Err(e), Some(w)) => version_error_ident(e) == w,
                    _ => false,
                };
                (ok, format!("{got:?}"))
            }
            "FuzzNewVersion" => {
                let _ = Version::parse(s(row, "value"));
                (true, String::new())
            }
            "FuzzStrictNewVersion" => {
                let _ = Version::parse_strict(s(row, "value"));
                (true, String::new())
            }
            other => (false, format!("unknown kind {other:?}")),
        };
        suite.check(ok, row, || detail);
    }
    suite.finish();
}

fn op_ident(op: Op) -> &'static str {
    match op {
        Op::TildeOrEqual => "constraintTildeOrEqual",
        Op::NotEqual => "constraintNotEqual",
        Op::GreaterThan => "constraintGreaterThan",
        Op::LessThan => "constraintLessThan",
        Op::GreaterThanEqual => "constraintGreaterThanEqual",
        Op::LessThanEqual => "constraintLessThanEqual",
        Op::Tilde => "constraintTilde",
        Op::Caret => "constraintCaret",
        _ => "unknown",
    }
}

#[test]
fn masterminds_constraint_parse() {
    let Some(rows) = load("masterminds_constraint_parse.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_constraint_parse");
    for row in &rows {
        let kind = s(row, "kind");
        let (ok, detail) = match kind {
            "TestParseConstraint" => match (Comparator::parse(s(row, "in")), b(row, "err")) {
                (Err(_), true) => (true, String::new()),
                (Ok(c), false) => (
                    Some(op_ident(c.op())) == row["f"]["ident"].as_str()
                        && c.version().to_string() == s(row, "v"),
                    format!("{:?} {}", c.op(), c.version()),
                ),
                (got, _) => (false, format!("{got:?}")),
            },
            "TestNewConstraint" => match (Range::parse(s(row, "input")), b(row, "err")) {
                (Err(_), true) => (true, String::new()),
                (Ok(r), false) => {
                    let ors = r.alternatives().len();
                    let count = r.alternatives().next().map_or(0, <[_]>::len);
                    (
                        row["ors"].as_u64() == Some(ors as u64)
                            && row["count"].as_u64() == Some(count as u64),
                        format!("ors={ors} count={count}"),
                    )
                }
                (got, _) => (false, format!("{got:?}")),
            },
            "TestRewriteRange" => {
                // The hyphen range and its rewritten form are the same range.
                let a = Range::parse(s(row, "c")).map(|r| r.to_string());
                let c = Range::parse(s(row, "nc")).map(|r| r.to_string());
                (a.is_ok() && a == c, format!("{a:?} vs {c:?}"))
            }
            "TestIsX" => {
                // `isX(t)` holds exactly when `t` alone matches every release.
                let any = Comparator::parse(s(row, "t")).is_ok_and(|c| {
                    ["0.0.0", "7.3.1", "999.0.0"]
                        .iter()
                        .all(|v| c.matches(Version::parse(v).unwrap().as_ref(), false))
                });
                (Some(any) == row["c"].as_bool(), format!("{any}"))
            }
            "TestConstraintString"
            | "TestTextMarshalConstraints"
            | "TestTextUnmarshalConstraints" => {
                let want = row
                    .get("st")
                    .or_else(|| row.get("want"))
                    .and_then(Value::as_str);
                let got = Range::parse(s(row, "constraint")).map(|r| r.to_string());
                (got.as_deref().ok() == want, format!("{got:?}"))
            }
            "FuzzNewConstraint" => {
                let _ = Range::parse(s(row, "value"));
                (true, String::new())
            }
            other => (false, format!("unknown kind {other:?}")),
        };
        suite.check(ok, row, || detail);
    }
    suite.finish();
}

#[test]
fn masterminds_constraint_check() {
    let Some(rows) = load("masterminds_constraint_check.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_constraint_check");
    for row in &rows {
        assert_eq!(s(row, "version_parser"), "NewVersion", "{row}");
        let constraint = s(row, "constraint");
        let v = Version::parse(s(row, "version")).expect("check row version");
        let want = b(row, "check");
        let include = b(row, "include_prerelease");
        let (ok, detail) = match s(row, "api") {
            "Constraints.Check" | "Constraints.Validate" => match Range::parse(constraint) {
                Ok(r) => {
                    let r = r.with_include_prerelease(include);
                    let m = r.matches(v.as_ref());
                    let val = r.validate(v.as_ref()).is_ok();
                    (
                        m == want && val == want,
                        format!("matches={m} validate={val}"),
                    )
                }
                Err(e) => (false, e.to_string()),
            },
            "parseConstraint(c).check(v, includePre=c has prerelease)" => {
                match Comparator::parse(constraint) {
                    Ok(c) => {
                        let m = c.matches(v.as_ref(), c.has_prerelease());
                        // NewConstraint (and so Flux) rejects the empty string.
                        let range_ok = if constraint.is_empty() {
                            Range::parse(constraint).is_err()
                        } else {
                            Range::parse(constraint).is_ok_and(|r| r.matches(v.as_ref()) == want)
                        };
                        (
                            m == want && range_ok,
                            format!("matches={m} range_ok={range_ok}"),
                        )
                    }
                    Err(e) => (false, e.to_string()),
                }
            }
            other => (false, format!("unknown api {other:?}")),
        };
        suite.check(ok, row, || detail);
    }
    suite.finish();
}

#[test]
fn masterminds_constraint_messages() {
    let Some(rows) = load("masterminds_constraint_messages.json") else {
        return;
    };
    let mut suite = Suite::new("masterminds_constraint_messages");
    for row in &rows {
        assert_eq!(s(row, "version_parser"), "StrictNewVersion", "{row}");
        let r = Range::parse(s(row, "constraint"))
            .expect("message row range")
            .with_include_prerelease(b(row, "include_prerelease"));
        let v = Version::parse_strict(s(row, "version")).expect("message row version");
        let got = r
            .validate(v.as_ref())
            .err()
            .and_then(|e| e.first().map(ToString::to_string));
        suite.check(got.as_deref() == Some(s(row, "msg")), row, || {
            format!("{got:?}")
        });
    }
    suite.finish();
}

#[test]
fn flux_parse_version() {
    let Some(rows) = load("flux_parse_version.json") else {
        return;
    };
    let mut suite = Suite::new("flux_parse_version");
    for row in &rows {
        assert_eq!(s(row, "api"), "github.com/fluxcd/pkg/version.ParseVersion");
        let got = Version::parse_tag(s(row, "version"));
        suite.check(got.is_err() == b(row, "err"), row, || format!("{got:?}"));
    }
    suite.finish();
}

/// Build a policy from the CRD JSON form `{"semver": {"range": R}}` etc.
fn policy_from_json(p: &Value) -> Result<Policy, gitops_image::policy::Error> {
    if let Some(sv) = p.get("semver") {
        return Policy::semver(sv["range"].as_str().unwrap_or_default());
    }
    if let Some(a) = p.get("alphabetical") {
        return Ok(Policy::alphabetical(Order::parse(
            a["order"].as_str().unwrap_or_default(),
        )?));
    }
    if let Some(n) = p.get("numerical") {
        return Ok(Policy::numerical(Order::parse(
            n["order"].as_str().unwrap_or_default(),
        )?));
    }
    Err(gitops_image::policy::Error::NoRule)
}

#[test]
fn flux_policy_new() {
    let Some(rows) = load("flux_policy_new.json") else {
        return;
    };
    let mut suite = Suite::new("flux_policy_new");
    for row in &rows {
        let want_err = b(row, "expect_error");
        let got = policy_from_json(&row["policy"]);
        let mut ok = got.is_err() == want_err;
        // The Go constructor receives the upper-cased order ("" = default).
        if let Some(arg) = row.get("constructor_arg").and_then(Value::as_str) {
            ok &= Order::parse(arg).is_err() == want_err;
        }
        suite.check(ok, row, || format!("{got:?}"));
    }
    suite.finish();
}

fn run_latest(row: &Value, tags: &[String]) -> Result<String, String> {
    let mut policy = policy_from_json(&row["policy"]).map_err(|e| e.to_string())?;
    if let Some(f) = row.get("filter") {
        let filter = TagFilter::new(s(f, "pattern"), s(f, "extract")).map_err(|e| e.to_string())?;
        policy = policy.with_filter(filter);
    }
    policy
        .select(tags)
        .map(str::to_owned)
        .map_err(|e| e.to_string())
}

#[test]
fn flux_policy_latest() {
    let Some(rows) = load("flux_policy_latest.json") else {
        return;
    };
    let mut suite = Suite::new("flux_policy_latest");
    for row in &rows {
        let tags: Vec<String> = row["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t.as_str().expect("tag").to_owned())
            .collect();
        let want_err = b(row, "expect_error");
        let want = s(row, "expected");
        let mut orders = vec![tags.clone()];
        if row["input_order_shuffled"].as_bool() == Some(true) {
            // The Go test shuffles: the answer must not depend on order.
            let mut rev = tags.clone();
            rev.reverse();
            orders.push(rev);
            for k in 1..tags.len() {
                let mut rot = tags.clone();
                rot.rotate_left(k);
                orders.push(rot);
            }
        }
        let mut detail = String::new();
        let ok = orders.iter().all(|order| {
            let got = run_latest(row, order);
            let good = match &got {
                Ok(t) => !want_err && t == want,
                Err(_) => want_err,
            };
            if !good {
                detail = format!("order {order:?} gave {got:?}");
            }
            good
        });
        suite.check(ok, row, || detail);
    }
    suite.finish();
}

#[test]
fn flux_filter() {
    let Some(rows) = load("flux_filter.json") else {
        return;
    };
    let mut suite = Suite::new("flux_filter");
    for row in &rows {
        let f = &row["filter"];
        let filter = TagFilter::new(s(f, "pattern"), s(f, "extract")).expect("filter row");
        let mut got: Vec<String> = row["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|t| {
                filter
                    .extract(t.as_str().expect("tag"))
                    .map(|v| v.into_owned())
            })
            .collect();
        got.sort();
        got.dedup();
        let mut want: Vec<String> = row["expected"]
            .as_array()
            .expect("expected")
            .iter()
            .map(|t| t.as_str().expect("value").to_owned())
            .collect();
        want.sort();
        suite.check(got == want, row, || format!("{got:?}"));
    }
    suite.finish();
}

#[test]
fn empty_selection_error_is_typed() {
    // Not a table, but the same family: the empty-list rows of
    // flux_policy_latest map onto this variant.
    assert_eq!(
        Policy::alphabetical(Order::Asc).select::<&str>(&[]),
        Err(select::Error::EmptyList)
    );
}
