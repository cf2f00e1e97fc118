//! YAML as Helm reads it (`sigs.k8s.io/yaml`: yaml.v2, then JSON, so every
//! number is a `float64`), and conversions between JSON values, template
//! values and the crate's emitter values.

use std::collections::BTreeMap;

use gitops_core::yaml::{DuplicateKeys, Node, NodeKind, ReadOptions, Resolved, Schema};
use gitops_gotemplate::Value as TV;
use serde_json::{Map, Value as Json};

use crate::value::{Map as EMap, Value as EV};

/// yaml.v2's error text for a syntax error: `yaml: line N: message`.
pub(crate) fn error_text(e: &gitops_core::yaml::Error) -> String {
    match e {
        gitops_core::yaml::Error::Syntax { line, message, .. } => {
            let (line, msg) = v2_message(*line, message);
            format!("yaml: line {line}: {msg}")
        }
        gitops_core::yaml::Error::DuplicateKey { line, key, .. } => {
            format!("yaml: line {line}: mapping key {key:?} already defined")
        }
        other => format!("yaml: {other}"),
    }
}

/// Map the reader's descriptions to yaml.v2's, with yaml.v2's line.
fn v2_message(line: usize, message: &str) -> (usize, String) {
    let m = message.to_ascii_lowercase();
    let known = [
        (
            "did not find expected '-' indicator",
            "did not find expected '-' indicator",
        ),
        ("could not find expected ':'", "could not find expected ':'"),
        ("did not find expected key", "did not find expected key"),
        (
            "mapping values are not allowed",
            "mapping values are not allowed in this context",
        ),
        (
            "did not find expected node content",
            "did not find expected node content",
        ),
        (
            "found character that cannot start any token",
            "found character that cannot start any token",
        ),
        (
            "block sequence entries are not allowed",
            "block sequence entries are not allowed in this context",
        ),
        (
            "did not find expected alphabetic or numeric character",
            "did not find expected alphabetic or numeric character",
        ),
        ("found undefined tag handle", "found undefined tag handle"),
        (
            "did not find expected ',' or ']'",
            "did not find expected ',' or ']'",
        ),
        (
            "did not find expected ',' or '}'",
            "did not find expected ',' or '}'",
        ),
        (
            "found unexpected end of stream",
            "found unexpected end of stream",
        ),
        (
            "found a tab character",
            "found a tab character that violates indentation",
        ),
    ];
    if m.contains("simple key expected ':'") || m.contains("could not find expected ':'") {
        // A scanner error found on the line after the key.
        return (line + 1, "could not find expected ':'".to_string());
    }
    for (k, v) in known {
        if m.contains(k) {
            // yaml.v2 reports parser errors by the 0-based line of the
            // offending token, scanner errors 1-based.
            let parser_error = v.starts_with("did not find expected");
            let line = if parser_error {
                line.saturating_sub(1)
            } else {
                line
            };
            return (line, v.to_string());
        }
    }
    (line, message.to_string())
}

fn read_opts() -> ReadOptions {
    ReadOptions {
        duplicate_keys: DuplicateKeys::LastWins,
        ..ReadOptions::default()
    }
}

/// Every document of `text` as JSON (yaml.v2 typing), for `LoadValues`.
pub(crate) fn parse_all(text: &str) -> Result<Vec<Json>, String> {
    let docs = gitops_core::yaml::parse_documents_opts(text, "", read_opts())
        .map_err(|e| error_text(&e))?;
    Ok(docs.iter().map(|d| node_json(&d.root)).collect())
}

/// The first document of `text` as JSON (`yaml.Unmarshal`), `null` when empty.
pub(crate) fn parse_first(text: &str) -> Result<Json, String> {
    let docs = gitops_core::yaml::parse_documents_opts(text, "", read_opts())
        .map_err(|e| error_text(&e))?;
    Ok(docs.first().map_or(Json::Null, |d| node_json(&d.root)))
}

/// The root node of the first document of `text`, `None` when there is none.
pub(crate) fn parse_first_node(text: &str) -> Result<Option<Node>, String> {
    let docs = gitops_core::yaml::parse_documents_opts(text, "", read_opts())
        .map_err(|e| error_text(&e))?;
    Ok(docs.into_iter().next().map(|d| d.root))
}

/// The value of `key` in a mapping's entries as the JSON map of it would
/// hold it: keys compared as their JSON text, the last duplicate winning.
pub(crate) fn map_field<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .rev()
        .find(|(k, _)| {
            matches!(&k.kind, NodeKind::Scalar(s) if s.value == key) && key_text(k) == key
        })
        .map(|(_, v)| v)
}

/// A node as JSON under yaml.v2 typing; numbers are floats as after
/// `json.Unmarshal` into `interface{}`.
pub(crate) fn node_json(n: &Node) -> Json {
    match &n.kind {
        NodeKind::Scalar(s) => match s.resolve(Schema::Yaml11) {
            Resolved::Null => Json::Null,
            Resolved::Bool(b) => Json::Bool(b),
            Resolved::Int(i) => float_json(i as f64),
            Resolved::Float(f) => float_json(f),
            Resolved::Str(t) => Json::String(t.to_owned()),
        },
        NodeKind::Seq(items) => Json::Array(items.iter().map(node_json).collect()),
        NodeKind::Map(entries) => {
            let mut m = Map::with_capacity(entries.len());
            for (k, v) in entries {
                m.insert(key_text(k), node_json(v));
            }
            Json::Object(m)
        }
    }
}

fn key_text(k: &Node) -> String {
    match &k.kind {
        NodeKind::Scalar(s) => match s.resolve(Schema::Yaml11) {
            Resolved::Null => "null".to_string(),
            Resolved::Bool(b) => b.to_string(),
            Resolved::Float(f) => crate::emit::format_float_json(f),
            _ => s.value.clone(),
        },
        _ => node_json(k).to_string(),
    }
}

fn float_json(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// JSON values → template value: a number held as an integer (what
/// `--set` gives, Helm's `int64`) becomes an `int`, one held as a float
/// (what values files give) a `float64`.
pub(crate) fn json_to_tv(v: &Json) -> TV {
    to_tv(v, false)
}

/// A JSON map of values → a template map (numbers as [`json_to_tv`]).
pub(crate) fn map_to_tv(m: &Map<String, Json>) -> TV {
    map_tv(m, false)
}

/// `encoding/json` decoded into `interface{}` → template value: every
/// number a `float64` (`fromJson`).
pub(crate) fn go_json_to_tv(v: &Json) -> TV {
    to_tv(v, true)
}

/// A map as [`go_json_to_tv`].
pub(crate) fn go_json_map_to_tv(m: &Map<String, Json>) -> TV {
    map_tv(m, true)
}

fn to_tv(v: &Json, floats: bool) -> TV {
    match v {
        Json::Null => TV::Nil,
        Json::Bool(b) => TV::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !floats => TV::Int(i),
            _ => TV::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => TV::from(s.as_str()),
        Json::Array(a) => TV::list(a.iter().map(|e| to_tv(e, floats))),
        Json::Object(m) => map_tv(m, floats),
    }
}

fn map_tv(m: &Map<String, Json>, floats: bool) -> TV {
    let b: BTreeMap<String, TV> = m
        .iter()
        .map(|(k, v)| (k.clone(), to_tv(v, floats)))
        .collect();
    TV::Map(gitops_gotemplate::MapRef::new(b))
}

/// Numbers as `float64`, as `encoding/json` (and so `sigs.k8s.io/yaml`)
/// decodes them into `interface{}`: every integer held as an integer is
/// turned into a float.
pub(crate) fn floats_in_place(v: &mut Json) {
    match v {
        Json::Number(n) if !n.is_f64() => {
            if let Some(f) = n.as_f64() {
                *v = float_json(f);
            }
        }
        Json::Array(a) => a.iter_mut().for_each(floats_in_place),
        Json::Object(m) => m.values_mut().for_each(floats_in_place),
        _ => {}
    }
}

/// A template value → JSON (what `encoding/json` would see).
pub(crate) fn tv_to_json(v: &TV, depth: usize) -> Result<Json, String> {
    if depth > gitops_gotemplate::MAX_NESTING {
        return Err("value nested too deeply".into());
    }
    Ok(match v {
        TV::Nil => Json::Null,
        TV::Bool(b) => Json::Bool(*b),
        TV::Int(i) => Json::from(*i),
        TV::Float(f) => float_json(*f),
        TV::String(s) => Json::String(s.to_string()),
        TV::List(l) => Json::Array(
            l.iter()
                .map(|e| tv_to_json(e, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        TV::Map(m) => {
            let mut out = Map::new();
            for (k, e) in m.entries() {
                out.insert(k, tv_to_json(&e, depth + 1)?);
            }
            Json::Object(out)
        }
        TV::Object(o) => Json::String(o.format()),
        _ => Json::Null,
    })
}

/// A template value → the emitter's value, as `json.Marshal` then yaml.v2
/// reading the JSON would type it.
pub(crate) fn tv_to_emit(v: &TV, depth: usize) -> Result<EV, String> {
    if depth > gitops_gotemplate::MAX_NESTING {
        return Err("value nested too deeply".into());
    }
    Ok(match v {
        TV::Nil => EV::Null,
        TV::Bool(b) => EV::Bool(*b),
        TV::Int(i) => EV::Int(*i),
        TV::Float(f) => float_emit(*f),
        TV::String(s) => EV::Str(s.to_string().into()),
        TV::List(l) => EV::Seq(
            l.iter()
                .map(|e| tv_to_emit(e, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        TV::Map(m) => {
            let entries = m.entries();
            let mut out = EMap::new();
            for (k, e) in entries {
                out.insert(k, tv_to_emit(&e, depth + 1)?);
            }
            EV::Map(out)
        }
        TV::Object(o) => match o.field("__map") {
            Some(inner) => tv_to_emit(&inner, depth + 1)?,
            None => EV::Str(o.format().into()),
        },
        _ => EV::Null,
    })
}

/// A float as yaml.v2 reads Go's JSON text of it: integral values within
/// `int64` in `%f` range become ints.
fn float_emit(f: f64) -> EV {
    if f.fract() == 0.0 && f.abs() < 1e21 && f.abs() <= 9.2e18 {
        EV::Int(f as i64)
    } else {
        EV::Float(f)
    }
}

/// `sigs.k8s.io/yaml.Marshal` of a template value, without the final newline
/// (Helm's `toYaml`).
pub(crate) fn to_yaml(v: &TV) -> Result<String, String> {
    let ev = tv_to_emit(v, 0)?;
    let mut s = crate::emit::to_yaml(&ev);
    if s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}
