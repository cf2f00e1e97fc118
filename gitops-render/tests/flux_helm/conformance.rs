//! The Helm values tables of the shared conformance corpus
//! (`conformance/helm/strvals_cases.json`, `flux_values_from.json`).

use gitops_core::flux::ValuesReference;
use gitops_render::flux::Resources;
use gitops_render::helm::strvals::{self, SetKind};
use gitops_render::helm::values;
use serde_json::{Map, Value};

use crate::{conformance_dir, values_equal};

fn load(file: &str) -> Option<Vec<Value>> {
    let dir = conformance_dir(&format!("helm_strvals ({file})"))?;
    let path = dir.join("helm").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Array(rows)) => Some(rows),
        other => panic!("{}: expected a JSON array, got {other:?}", path.display()),
    }
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Run one `strvals_cases.json` row; `Ok(map)` or the error text.
pub fn run_strvals_row(row: &Value) -> Result<Result<Map<String, Value>, String>, String> {
    let parser = row["parser"].as_str().ok_or("row without parser")?;
    let inputs: Vec<&str> = row["inputs"]
        .as_array()
        .ok_or("row without inputs")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut dest = obj(&row["initial"]);
    let kind = match parser {
        "Parse" | "ParseInto" => SetKind::Set,
        "ParseString" | "ParseIntoString" => SetKind::String,
        "ParseLiteral" | "ParseLiteralInto" => SetKind::Literal,
        "ParseJSON" => SetKind::Json,
        "flux.ReplacePathValue" | "flux.ReplacePathLiteralValue" => {
            let path = row["path"].as_str().ok_or("flux row without path")?;
            let value = row["value"].as_str().ok_or("flux row without value")?;
            let r = if parser == "flux.ReplacePathValue" {
                strvals::replace_path_value(&mut dest, path, value)
            } else {
                strvals::replace_path_literal_value(&mut dest, path, value)
            };
            return Ok(r.map(|()| dest).map_err(|e| e.to_string()));
        }
        other => return Err(format!("unknown parser {other:?}")),
    };
    for input in inputs {
        if let Err(e) = strvals::apply(kind, input, &mut dest) {
            return Ok(Err(e.to_string()));
        }
    }
    Ok(Ok(dest))
}

#[test]
fn strvals_cases() {
    let Some(rows) = load("strvals_cases.json") else {
        return;
    };
    let mut failures = Vec::new();
    let mut passed = 0;
    for row in &rows {
        let src = &row["source"];
        let label = format!(
            "{}#{} {} {}",
            src["test"].as_str().unwrap_or("?"),
            src["index"],
            row["parser"].as_str().unwrap_or("?"),
            row["input"]
        );
        let want_err = row["error"].as_bool().unwrap_or(false);
        match run_strvals_row(row) {
            Err(e) => failures.push(format!("{label}: {e}")),
            Ok(Ok(got))
                if !want_err && values_equal(&Value::Object(got.clone()), &row["expected"]) =>
            {
                passed += 1
            }
            Ok(Ok(got)) => failures.push(format!(
                "{label}: expected {}, got {}",
                if want_err {
                    "an error".to_owned()
                } else {
                    row["expected"].to_string()
                },
                Value::Object(got)
            )),
            Ok(Err(e)) if want_err => {
                if let Some(msg) = src["error_message"].as_str() {
                    if e.ends_with(msg) {
                        passed += 1;
                    } else {
                        failures.push(format!("{label}: error {e:?} does not end with {msg:?}"));
                    }
                } else {
                    passed += 1;
                }
            }
            Ok(Err(e)) => failures.push(format!("{label}: unexpected error {e}")),
        }
    }
    println!(
        "helm_strvals: {passed} passed, {} failed (strvals_cases.json)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(passed, rows.len());
    assert_eq!(passed, 135, "the table has 135 rows");
}

fn reference(v: &Value) -> ValuesReference {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut r = ValuesReference {
        kind: s("kind").unwrap_or_default(),
        name: s("name").unwrap_or_default(),
        values_key: s("valuesKey"),
        target_path: s("targetPath"),
        optional: v.get("optional").and_then(Value::as_bool),
        ..Default::default()
    };
    if let Some(l) = v.get("literal") {
        r.extra.insert("literal".to_owned(), l.clone());
    }
    r
}

/// Run one `flux_values_from.json` row.
pub fn run_values_from_row(row: &Value) -> Result<Map<String, Value>, String> {
    let namespace = row["namespace"].as_str().unwrap_or("");
    let mut res = Resources::new();
    for r in row["resources"].as_array().into_iter().flatten() {
        let data = r["data"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").as_bytes().to_vec()))
            .collect();
        let name = r["name"].as_str().unwrap_or("");
        match r["kind"].as_str() {
            Some("Secret") => res.insert_secret(namespace, name, data),
            _ => res.insert_config_map(namespace, name, data),
        }
    }
    let refs: Vec<ValuesReference> = row["references"]
        .as_array()
        .into_iter()
        .flatten()
        .map(reference)
        .collect();
    let inline = match row["values"].as_str() {
        Some(text) => Some(values::read_values(text, "inline values")?),
        None => None,
    };
    values::compose(namespace, &refs, inline.as_ref(), &res).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        msg
    })
}

#[test]
fn flux_values_from() {
    let Some(rows) = load("flux_values_from.json") else {
        return;
    };
    let mut failures = Vec::new();
    let mut passed = 0;
    for row in &rows {
        let label = row["name"].as_str().unwrap_or("?");
        let want_err = row["error"].as_bool().unwrap_or(false);
        match run_values_from_row(row) {
            Ok(got) if !want_err && values_equal(&Value::Object(got.clone()), &row["expected"]) => {
                passed += 1
            }
            Ok(got) => failures.push(format!(
                "{label}: expected {}, got {}",
                if want_err {
                    "an error".to_owned()
                } else {
                    row["expected"].to_string()
                },
                Value::Object(got)
            )),
            Err(_) if want_err => passed += 1,
            Err(e) => failures.push(format!("{label}: unexpected error {e}")),
        }
    }
    println!(
        "helm_strvals: {passed} passed, {} failed (flux_values_from.json)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(passed, 18, "the table has 18 rows");
}
