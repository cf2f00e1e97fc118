//! HelmRelease values composition (fluxcd/pkg `chartutil.ChartValuesFromReferences`).
//!
//! `spec.valuesFrom` is processed in order: each reference names a ConfigMap
//! or Secret and a key (`valuesKey`, default `values.yaml`). Without
//! `targetPath` the key holds a YAML map that is deep-merged into the result
//! ([`merge_maps`]: maps merge key by key, anything else replaces). With
//! `targetPath` the inline values are merged in first, then the key's text is
//! set at the path as `--set path=value` would ([`strvals::replace_path_value`];
//! `literal: true` → [`strvals::replace_path_literal_value`]). A missing
//! object or key is an error unless `optional`. The inline `spec.values` are
//! merged last.
//!
//! ```
//! use gitops_core::flux::ValuesReference;
//! use gitops_render::flux::Resources;
//! use gitops_render::helm::values::compose;
//! use serde_json::json;
//!
//! let mut res = Resources::new();
//! res.add_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n\
//!               data:\n  values.yaml: |\n    replicas: 2\n    image: {tag: '1.0'}\n", "cm.yaml")?;
//! let refs = vec![ValuesReference { kind: "ConfigMap".into(), name: "base".into(), ..Default::default() }];
//! let inline = json!({"image": {"pullPolicy": "Always"}});
//! let values = compose("apps", &refs, inline.as_object(), &res)?;
//! assert_eq!(serde_json::Value::Object(values),
//!            json!({"replicas": 2, "image": {"tag": "1.0", "pullPolicy": "Always"}}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! None in the result: Flux's `MergeMaps` copies only the top-level map, so a
//! `targetPath` write into a list or map that came from the inline values
//! also changes the inline values, and the final merge brings that change
//! back. We reproduce this (the conformance row "target path precedence over
//! all" depends on it) by modelling Go's reference semantics.

use std::fmt;

use crate::budget::parse_documents;
use gitops_core::flux::{HelmRelease, ValuesReference};
use gitops_core::yaml::Schema;
use serde_json::{Map, Value};

use super::goval::{GoMap, GoVal, map_from_json, map_to_json, merge_maps as go_merge};
use super::strvals;
use crate::flux::Resources;

/// The object a values reference points at, for messages: `Kind 'ns/name'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefName {
    /// `ConfigMap`, `Secret` or what the reference said.
    pub kind: String,
    /// Namespace of the HelmRelease.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} '{}'", self.kind, self.name)
        } else {
            write!(f, "{} '{}/{}'", self.kind, self.namespace, self.name)
        }
    }
}

/// Why the values could not be composed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The referenced ConfigMap/Secret was not supplied and the reference is not optional.
    #[error("valuesFrom {object}: not found (supply it, or mark the reference optional)")]
    NotFound {
        /// The object.
        object: RefName,
    },
    /// The object has no such key and the reference is not optional.
    #[error("valuesFrom {object}: key '{key}' not found")]
    KeyNotFound {
        /// The object.
        object: RefName,
        /// The key (`valuesKey`, default `values.yaml`).
        key: String,
    },
    /// `kind` is neither `ConfigMap` nor `Secret`.
    #[error("valuesFrom {object}: unsupported values reference kind, expected ConfigMap or Secret")]
    UnsupportedKind {
        /// The object.
        object: RefName,
    },
    /// The key does not hold a YAML map (or is not YAML at all).
    #[error("valuesFrom {object} key '{key}': {message}")]
    Read {
        /// The object.
        object: RefName,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The value could not be set at `targetPath` (the source names the path).
    #[error("valuesFrom {object} key '{key}': cannot set targetPath")]
    TargetPath {
        /// The object.
        object: RefName,
        /// The key.
        key: String,
        /// The strvals error, with the `path=value` expression.
        #[source]
        source: Box<strvals::Error>,
    },
    /// `spec.values` is not a map.
    #[error("HelmRelease {release}: spec.values must be a map, got {got}")]
    InlineNotMap {
        /// `namespace/name` of the release.
        release: String,
        /// The JSON type found.
        got: &'static str,
    },
}

/// Values as block YAML (keys sorted, strings quoted where YAML would
/// retype them), the way Helm and Flux write values.
pub fn to_yaml(values: &Map<String, Value>) -> String {
    crate::flux::yaml_text::to_yaml(&Value::Object(values.clone()))
}

/// Default `valuesKey`.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

/// Deep merge `b` into `a` (Flux `MergeMaps`, Helm CLI `mergeMaps`): maps on
/// both sides merge key by key; any other value of `b` replaces.
pub fn merge_maps(a: &Map<String, Value>, b: &Map<String, Value>) -> Map<String, Value> {
    let mut out = a.clone();
    for (k, v) in b {
        if let (Value::Object(vm), Some(Value::Object(am))) = (v, out.get(k)) {
            let merged = merge_maps(am, vm);
            out.insert(k.clone(), Value::Object(merged));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Helm `common.ReadValues`: the first YAML document as a map, scalars typed
/// by YAML 1.1 (`yes` → true). Empty text or `null` → an empty map; any other
/// non-map is an error naming what was found.
pub fn read_values(text: &str, origin: &str) -> Result<Map<String, Value>, String> {
    let docs = parse_documents(text, origin).map_err(|e| e.to_string())?;
    let Some(doc) = docs.first() else {
        return Ok(Map::new());
    };
    match doc.root.to_json(Schema::Yaml11) {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(format!(
            "expected a YAML map of values, got {} {}",
            json_type(&other),
            preview(&other)
        )),
    }
}

fn preview(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// `valuesFrom` + inline values of a HelmRelease in `namespace`, resolving
/// references against `resources`.
pub fn compose(
    namespace: &str,
    refs: &[ValuesReference],
    inline: Option<&Map<String, Value>>,
    resources: &Resources,
) -> Result<Map<String, Value>, Error> {
    let values: GoMap = inline.map_or_else(GoVal::new_map, map_from_json);
    let mut result = GoVal::new_map();
    for r in refs {
        let object = RefName {
            kind: r.kind.clone(),
            namespace: namespace.to_owned(),
            name: r.name.clone(),
        };
        let optional = r.optional.unwrap_or(false);
        let key = r
            .values_key
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| DEFAULT_VALUES_KEY.to_owned());
        if !matches!(r.kind.as_str(), "ConfigMap" | "Secret") {
            return Err(Error::UnsupportedKind { object });
        }
        let Some(data) = resources.get(&r.kind, namespace, &r.name) else {
            if optional {
                continue;
            }
            return Err(Error::NotFound { object });
        };
        let Some(bytes) = data.get(&key) else {
            if optional {
                continue;
            }
            return Err(Error::KeyNotFound { object, key });
        };
        let text = String::from_utf8_lossy(bytes);
        if let Some(path) = r.target_path.as_deref().filter(|p| !p.is_empty()) {
            result = go_merge(&result, &values);
            let literal = r
                .extra
                .get("literal")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let set = if literal {
                strvals::replace_path_literal_value_go(&result, path, &text)
            } else {
                strvals::replace_path_value_go(&result, path, &text)
            };
            set.map_err(|source| Error::TargetPath {
                object,
                key,
                source: Box::new(source),
            })?;
            continue;
        }
        let origin = format!("{}/{}/{key}", r.kind, r.name);
        let read = read_values(&text, &origin).map_err(|message| Error::Read {
            object: object.clone(),
            key: key.clone(),
            message,
        })?;
        result = go_merge(&result, &map_from_json(&read));
    }
    Ok(map_to_json(&go_merge(&result, &values)))
}

/// Compose the values of a HelmRelease (`spec.valuesFrom` then `spec.values`).
pub fn compose_release(
    release: &HelmRelease,
    resources: &Resources,
) -> Result<Map<String, Value>, Error> {
    let namespace = release.metadata.namespace.clone().unwrap_or_default();
    let inline = match &release.spec.values {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            return Err(Error::InlineNotMap {
                release: format!(
                    "{namespace}/{}",
                    release.metadata.name.as_deref().unwrap_or("")
                ),
                got: json_type(other),
            });
        }
    };
    compose(
        &namespace,
        release.spec.values_from.as_deref().unwrap_or(&[]),
        inline,
        resources,
    )
}
