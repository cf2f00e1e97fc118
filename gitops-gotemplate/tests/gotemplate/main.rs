//! Integration tests: execution and parse tables in the spirit of Go's
//! `exec_test.go` and `parse_test.go`, Go's error messages, and properties
//! of whitespace trimming.

mod errors;
mod exec;
mod parse;
mod sprig;
mod sprig_world;
mod trim;

use gitops_gotemplate::{Error, Template, Value};

/// The data most tables run against.
pub fn data() -> Value {
    Value::map([
        ("I", Value::from(17)),
        ("Zero", Value::from(0)),
        ("X", Value::from("x")),
        ("S", Value::from("xyz")),
        ("Empty", Value::from("")),
        ("F", Value::from(1.5)),
        ("Big", Value::from(1_000_000.0)),
        ("Three", Value::from(3.0)),
        ("T", Value::from(true)),
        ("FF", Value::from(false)),
        ("Nil", Value::Nil),
        ("SI", Value::list([3.into(), 4.into(), 5.into()])),
        ("SS", Value::list(["a".into(), "b".into()])),
        ("SIEmpty", Value::list([])),
        (
            "MSI",
            Value::map([
                ("one", Value::from(1)),
                ("two", 2.into()),
                ("three", 3.into()),
            ]),
        ),
        ("MSIEmpty", Value::map::<String>([])),
        (
            "Nested",
            Value::map([("A", Value::map([("B", Value::from("deep"))]))]),
        ),
        (
            "Mixed",
            Value::list([
                Value::from(1),
                Value::Nil,
                "s".into(),
                Value::map([("k", Value::from(true))]),
            ]),
        ),
    ])
}

/// Parses `text` as template "t" and runs it.
pub fn run_with(text: &str, data: &Value, option: &str) -> Result<String, Error> {
    let mut t = Template::new("t");
    t.set_option(option)?;
    t.parse("t", text)?;
    t.render("t", data)
}

/// Runs a table, collecting every mismatch before failing.
pub fn check_table(option: &str, cases: &[(&str, &str, Result<&str, &str>)]) {
    let data = data();
    let mut failures = Vec::new();
    for (name, text, want) in cases {
        let got = run_with(text, &data, option).map_err(|e| e.to_string());
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g == w,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: {text:?}\n   got  {got:?}\n   want {want:?}"
            ));
        }
    }
    println!(
        "{} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
