//! Whether a schema plainly admits some values, decided by walking both
//! without compiling the schema.
//!
//! Validation compiles the schema (resolving every `$ref`), which costs
//! more than rendering a chart; values nearly always pass. [`admits`]
//! answers `true` only when it can prove the values valid with the
//! keywords it knows (types, properties, items, required, enum, const,
//! numeric and length bounds, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`,
//! local `$ref`s) under drafts 6, 7, 2019-09 and 2020-12; any other
//! validation keyword, a remote or anchored reference, or an invalid
//! value gives `false`, and the compiled schema decides (and says why).
//! The tests check it against the compiled schema on the corpus and on
//! mutated values.

use jsonschema::Draft;
use serde_json::Value;

/// Whether `values` are valid under `schema`, proven without compiling it
/// (`false`: not proven).
pub(crate) fn admits(schema: &Value, values: &Value) -> bool {
    if matches!(super::draft_of(schema), Draft::Draft4) {
        return false;
    }
    Walk { root: schema }.check(schema, values, 0) == Answer::Valid
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Valid,
    Invalid,
    Unsure,
}

use Answer::{Invalid, Unsure, Valid};

/// Deeper `$ref` chains and nesting are left to the compiled schema.
const MAX_DEPTH: usize = 64;

/// Integers beyond this are compared by the compiled schema.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Keywords that validate (or change how validation works) in some draft:
/// those [`Walk::check`] does not decide make it unsure. Others are
/// annotations (or unknown) and are ignored, as validators ignore them.
const VALIDATION: &[&str] = &[
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$recursiveAnchor",
    "$vocabulary",
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "format",
    "items",
    "additionalItems",
    "prefixItems",
    "unevaluatedItems",
    "contains",
    "maxContains",
    "minContains",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "properties",
    "patternProperties",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

struct Walk<'s> {
    root: &'s Value,
}

impl Walk<'_> {
    fn check(&self, schema: &Value, v: &Value, depth: usize) -> Answer {
        if depth > MAX_DEPTH {
            return Unsure;
        }
        let obj = match schema {
            Value::Bool(true) => return Valid,
            Value::Bool(false) => return Invalid,
            Value::Object(o) => o,
            _ => return Unsure,
        };
        if let Some(r) = obj.get("$ref") {
            // Keywords beside `$ref` apply in some drafts and not others.
            if obj
                .keys()
                .any(|k| k != "$ref" && VALIDATION.contains(&k.as_str()))
            {
                return Unsure;
            }
            return match r.as_str().and_then(|r| self.target(r)) {
                Some(target) => self.check(target, v, depth + 1),
                None => Unsure,
            };
        }
        let mut answer = Valid;
        for (k, kw) in obj {
            let a = match k.as_str() {
                "type" => types(kw, v),
                "enum" => match kw {
                    Value::Array(all) => Self::one_of_values(all, v),
                    _ => Unsure,
                },
                "const" => equal(kw, v),
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => bound(k, kw, v),
                "minLength" | "maxLength" => match v {
                    Value::String(s) => count_bound(k, kw, s.chars().count()),
                    _ => Valid,
                },
                "minItems" | "maxItems" => match v {
                    Value::Array(a) => count_bound(k, kw, a.len()),
                    _ => Valid,
                },
                "minProperties" | "maxProperties" => match v {
                    Value::Object(o) => count_bound(k, kw, o.len()),
                    _ => Valid,
                },
                "uniqueItems" => match (kw, v) {
                    (Value::Bool(true), Value::Array(a)) => unique(a),
                    (Value::Bool(_), _) => Valid,
                    _ => Unsure,
                },
                "required" => match (kw, v) {
                    (Value::Array(names), Value::Object(o)) => {
                        if names
                            .iter()
                            .all(|n| n.as_str().is_some_and(|n| o.contains_key(n)))
                        {
                            Valid
                        } else if names.iter().all(Value::is_string) {
                            Invalid
                        } else {
                            Unsure
                        }
                    }
                    (Value::Array(_), _) => Valid,
                    _ => Unsure,
                },
                "properties" => match (kw, v) {
                    (Value::Object(props), Value::Object(o)) => self.all(
                        o.iter()
                            .filter_map(|(name, item)| props.get(name).map(|s| (s, item))),
                        depth,
                    ),
                    (Value::Object(_), _) => Valid,
                    _ => Unsure,
                },
                "additionalProperties" => match v {
                    Value::Object(o) => {
                        if obj.contains_key("patternProperties") {
                            Unsure
                        } else {
                            let known = obj.get("properties").and_then(Value::as_object);
                            self.all(
                                o.iter()
                                    .filter(|(name, _)| {
                                        !known.is_some_and(|p| p.contains_key(*name))
                                    })
                                    .map(|(_, item)| (kw, item)),
                                depth,
                            )
                        }
                    }
                    _ => Valid,
                },
                "items" => match (kw, v) {
                    (Value::Object(_) | Value::Bool(_), Value::Array(a)) => {
                        self.all(a.iter().map(|item| (kw, item)), depth)
                    }
                    (Value::Object(_) | Value::Bool(_), _) => Valid,
                    _ => Unsure,
                },
                "allOf" | "anyOf" | "oneOf" => match kw {
                    Value::Array(branches) if !branches.is_empty() => {
                        self.branches(k, branches, v, depth)
                    }
                    _ => Unsure,
                },
                "not" => match self.check(kw, v, depth + 1) {
                    Valid => Invalid,
                    Invalid => Valid,
                    Unsure => Unsure,
                },
                "$schema" | "$comment" | "$defs" | "definitions" => Valid,
                "$id" if depth == 0 => Valid,
                other if VALIDATION.contains(&other) => Unsure,
                _ => Valid,
            };
            match a {
                Invalid => return Invalid,
                Unsure => answer = Unsure,
                Valid => {}
            }
        }
        answer
    }

    /// Every (schema, value) pair valid.
    fn all<'v>(&self, pairs: impl Iterator<Item = (&'v Value, &'v Value)>, depth: usize) -> Answer {
        let mut answer = Valid;
        for (s, item) in pairs {
            match self.check(s, item, depth + 1) {
                Invalid => return Invalid,
                Unsure => answer = Unsure,
                Valid => {}
            }
        }
        answer
    }

    fn branches(&self, kw: &str, branches: &[Value], v: &Value, depth: usize) -> Answer {
        let answers: Vec<Answer> = branches
            .iter()
            .map(|b| self.check(b, v, depth + 1))
            .collect();
        if answers.contains(&Unsure) {
            return Unsure;
        }
        let valid = answers.iter().filter(|a| **a == Valid).count();
        let ok = match kw {
            "allOf" => valid == answers.len(),
            "anyOf" => valid > 0,
            _ => valid == 1,
        };
        if ok { Valid } else { Invalid }
    }

    fn one_of_values(all: &[Value], v: &Value) -> Answer {
        let mut answer = Invalid;
        for x in all {
            match equal(x, v) {
                Valid => return Valid,
                Unsure => answer = Unsure,
                Invalid => {}
            }
        }
        answer
    }

    /// The schema a local reference (`#`, `#/a/b`) points to.
    fn target(&self, r: &str) -> Option<&Value> {
        let pointer = r.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        let pointer = pointer.strip_prefix('/')?;
        let mut at = self.root;
        for raw in pointer.split('/') {
            if raw.contains('%') {
                return None;
            }
            let token = raw.replace("~1", "/").replace("~0", "~");
            at = match at {
                Value::Object(o) => o.get(&token)?,
                Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

fn types(kw: &Value, v: &Value) -> Answer {
    let is = |t: &str| match t {
        "null" => Some(v.is_null()),
        "boolean" => Some(v.is_boolean()),
        "object" => Some(v.is_object()),
        "array" => Some(v.is_array()),
        "string" => Some(v.is_string()),
        "number" => Some(v.is_number()),
        "integer" => Some(match v {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }),
        _ => None,
    };
    let names: Vec<&Value> = match kw {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut answer = Invalid;
    for n in names {
        match n.as_str().and_then(is) {
            Some(true) => return Valid,
            Some(false) => {}
            None => answer = Unsure,
        }
    }
    answer
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn equal(a: &Value, b: &Value) -> Answer {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (exact(x), exact(y)) {
            (Some(p), Some(q)) if p == q => Valid,
            (Some(_), Some(_)) => Invalid,
            _ => Unsure,
        },
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Invalid;
            }
            let mut answer = Valid;
            for (p, q) in x.iter().zip(y) {
                match equal(p, q) {
                    Invalid => return Invalid,
                    Unsure => answer = Unsure,
                    Valid => {}
                }
            }
            answer
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Invalid;
            }
            let mut answer = Valid;
            for (k, p) in x {
                match y.get(k).map_or(Invalid, |q| equal(p, q)) {
                    Invalid => return Invalid,
                    Unsure => answer = Unsure,
                    Valid => {}
                }
            }
            answer
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => Invalid,
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            if a == b {
                Valid
            } else {
                Invalid
            }
        }
        _ => Invalid,
    }
}

/// A number as a float when the float holds it exactly.
fn exact(n: &serde_json::Number) -> Option<f64> {
    let f = n.as_f64()?;
    (f.is_finite() && f.abs() < EXACT).then_some(f)
}

fn bound(kw: &str, limit: &Value, v: &Value) -> Answer {
    let Value::Number(x) = v else {
        return Valid;
    };
    let (Some(x), Some(limit)) = (exact(x), limit.as_number().and_then(exact)) else {
        return Unsure;
    };
    let ok = match kw {
        "minimum" => x >= limit,
        "maximum" => x <= limit,
        "exclusiveMinimum" => x > limit,
        _ => x < limit,
    };
    if ok { Valid } else { Invalid }
}

fn count_bound(kw: &str, limit: &Value, n: usize) -> Answer {
    let Some(limit) = limit.as_u64() else {
        return Unsure;
    };
    let ok = if kw.starts_with("min") {
        n as u64 >= limit
    } else {
        n as u64 <= limit
    };
    if ok { Valid } else { Invalid }
}

fn unique(items: &[Value]) -> Answer {
    let mut answer = Valid;
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            match equal(a, b) {
                Valid => return Invalid,
                Unsure => answer = Unsure,
                Invalid => {}
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::admits;

    /// When the walk admits the values, the compiled schema agrees.
    fn agree(schema: &Value, values: &Value) -> bool {
        if !admits(schema, values) {
            return false;
        }
        let compiled = super::super::Compiled::new(schema.clone()).expect("schema compiles");
        assert_eq!(
            compiled.check(values),
            Ok(()),
            "admitted values the schema rejects:\n{values}"
        );
        true
    }

    #[test]
    fn plain_schemas_are_decided_without_compiling() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["image"],
            "additionalProperties": false,
            "properties": {
                "image": {"$ref": "#/$defs/image"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"enum": ["a", "b", 3]},
                "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": true},
                "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "any": {"anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 1}]},
                "not": {"not": {"type": "boolean"}}
            },
            "$defs": {"image": {"type": "object", "properties": {"repository": {"type": "string"}}}}
        });
        for ok in [
            json!({"image": {}}),
            json!({"image": {"repository": "x"}, "replicas": 3.0, "mode": 3.0, "tags": ["a", "b"], "either": 1, "any": null, "not": "x"}),
        ] {
            assert!(agree(&schema, &ok), "{ok}");
        }
        for bad in [
            json!({}),
            json!({"image": {}, "extra": 1}),
            json!({"image": {"repository": 1}}),
            json!({"image": {}, "replicas": 1.5}),
            json!({"image": {}, "replicas": 11}),
            json!({"image": {}, "mode": "c"}),
            json!({"image": {}, "tags": ["a", "a"]}),
            json!({"image": {}, "tags": [""]}),
            json!({"image": {}, "either": true}),
            json!({"image": {}, "any": {"a": 1, "b": 2}}),
            json!({"image": {}, "not": false}),
        ] {
            assert!(!admits(&schema, &bad), "{bad}");
            assert!(
                super::super::Compiled::new(schema.clone())
                    .unwrap()
                    .check(&bad)
                    .is_err(),
                "{bad}"
            );
        }
        // What the walk does not decide goes to the compiled schema.
        for unsure in [
            json!({"pattern": "^a$"}),
            json!({"format": "email"}),
            json!({"$ref": "other.json#/x"}),
            json!({"if": {}, "then": {}}),
            json!({"$schema": "http://json-schema.org/draft-04/schema#"}),
        ] {
            assert!(!admits(&unsure, &json!("a")), "{unsure}");
        }
    }

    /// The corpus's schemas with their charts' values, and those values
    /// mutated at random: whenever the walk admits them, the compiled
    /// schema agrees; it admits the default values of most.
    #[test]
    fn the_walk_agrees_with_the_compiled_schema() {
        let Some(dir) = crate::helm::testkit::corpus() else {
            return;
        };
        let mut charts: Vec<_> = walkdir(&dir.join("charts"))
            .into_iter()
            .filter(|p| p.ends_with("values.schema.json"))
            .collect();
        charts.sort();
        let (mut admitted, mut total) = (0usize, 0usize);
        let mut rng = crate::helm::testkit::Rng::new(0x2545_f491_4f6c_dd1d_u64);
        let mut rand = |n: usize| rng.below(n);
        for path in charts {
            let Ok(schema) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
                continue;
            };
            let values_path = path.with_file_name("values.yaml");
            let values = std::fs::read_to_string(&values_path)
                .ok()
                .and_then(|t| crate::helm::chart::load_values(&t).ok())
                .map(Value::Object)
                .unwrap_or(json!({}));
            total += 1;
            admitted += usize::from(agree(&schema, &values));
            for _ in 0..std::env::var("SCHEMA_ROUNDS").map_or(300, |v| v.parse().unwrap()) {
                let mut v = values.clone();
                for _ in 0..1 + rand(3) {
                    mutate(&mut v, &mut rand);
                }
                agree(&schema, &v);
            }
        }
        eprintln!("the walk admitted the values of {admitted} of {total} charts");
        assert!(total >= 5, "{total} schemas");
        assert!(
            admitted * 2 >= total,
            "the walk admitted {admitted} of {total} charts' values"
        );
    }

    /// Replace, remove or add something somewhere in `v`.
    fn mutate(v: &mut Value, rand: &mut impl FnMut(usize) -> usize) {
        const LEAVES: &[fn() -> Value] = &[
            || json!(null),
            || json!(true),
            || json!(0),
            || json!(-1.5),
            || json!(1e9),
            || json!(""),
            || json!("x"),
            || json!([]),
            || json!({}),
            || json!(["a", "a"]),
            || json!({"unknownKey": 1}),
        ];
        let go_deeper = rand(3) != 0;
        let leaf = LEAVES[rand(LEAVES.len())]();
        match v {
            Value::Object(o) if !o.is_empty() && go_deeper => {
                let k = o.keys().nth(rand(o.len())).unwrap().clone();
                mutate(o.get_mut(&k).unwrap(), rand);
            }
            Value::Array(a) if !a.is_empty() && go_deeper => {
                let i = rand(a.len());
                mutate(&mut a[i], rand);
            }
            Value::Object(o) if !o.is_empty() && rand(3) == 0 => {
                let k = o.keys().nth(rand(o.len())).unwrap().clone();
                o.remove(&k);
            }
            Value::Object(o) if rand(2) == 0 => {
                o.insert(format!("added{}", rand(5)), leaf);
            }
            other => *other = leaf,
        }
    }

    fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.extend(walkdir(&p));
                } else {
                    out.push(p);
                }
            }
        }
        out
    }
}
