//! `spec.postBuild` variable substitution (fluxcd/pkg `kustomize_varsub.go`).
//!
//! Variables come from `substituteFrom` (ConfigMaps and Secrets in order,
//! later ones win; a missing one is an error unless `optional`) and then
//! `substitute` (inline, wins over all). Newlines are removed from values.
//! Substitution runs only when at least one variable is defined, or when
//! `substituteStrategy: Always`. Each object is written as YAML text (see
//! the `yaml_text` notes: quotes in Git do not survive), [`envsubst`] runs on
//! that text, and the result is read back with YAML 1.1 typing, so
//! `replicas: ${N}` becomes a number, and so does `value: "${PORT}"`.
//! Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//! disabled` are left alone.
//!
//! ```
//! use gitops_render::flux::postbuild::{Options, substitute_object};
//! use serde_json::json;
//! use std::collections::BTreeMap;
//!
//! let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
//!                  "data": {"port": "${PORT}", "env": "${ENV:=dev}"}});
//! let vars = BTreeMap::from([("PORT".to_owned(), "8080".to_owned())]);
//! let out = substitute_object(&obj, &vars, Options::default())?;
//! assert_eq!(out["data"], json!({"port": 8080, "env": "dev"}));
//!
//! let err = substitute_object(&json!({"kind": "ConfigMap", "apiVersion": "v1",
//!     "metadata": {"name": "c"}, "data": {"x": "${MISSING}"}}), &vars, Options::default());
//! assert_eq!(err.unwrap_err().to_string(),
//!            r#"post build failed for ConfigMap/c: variable not set (strict mode): "MISSING""#);
//! # Ok::<(), gitops_render::flux::postbuild::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::budget::parse_documents;
use gitops_core::ObjectId;
use gitops_core::flux::Kustomization;
use gitops_core::yaml::Schema;
use serde_json::Value;

use super::envsubst;
use super::resources::Resources;
use super::yaml_text::to_yaml;

/// The label/annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// How substitution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Fail on an unset variable without default (kustomize-controller's
    /// `--feature-gates=StrictPostBuildSubstitutions`, on by default since
    /// v1.9). Off: unset variables become the empty string.
    pub strict: bool,
    /// Substitute even when no variable is defined
    /// (`substituteStrategy: Always`).
    pub always: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strict: true,
            always: false,
        }
    }
}

/// Why substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `substituteFrom` object was not supplied and is not optional.
    #[error("substitute from '{kind}/{name}' error: not found in namespace '{namespace}'")]
    SourceNotFound {
        /// `ConfigMap` or `Secret`.
        kind: String,
        /// Namespace of the Kustomization.
        namespace: String,
        /// Object name.
        name: String,
    },
    /// A variable name does not match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`.
    #[error("'{0}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'")]
    InvalidName(String),
    /// Expansion failed for an object.
    #[error("post build failed for {object}: {source}")]
    Expand {
        /// The object (`Kind/namespace/name`).
        object: String,
        /// The envsubst error.
        source: envsubst::Error,
    },
    /// The substituted text is no longer one YAML object.
    #[error("post build failed for {object}: substituted YAML is invalid: {message}")]
    Reparse {
        /// The object.
        object: String,
        /// The reader's message.
        message: String,
    },
}

/// The variables of a Kustomization: `substituteFrom` then `substitute`.
pub fn variables(
    kustomization: &Kustomization,
    resources: &Resources,
) -> Result<BTreeMap<String, String>, Error> {
    let mut vars = BTreeMap::new();
    let Some(pb) = &kustomization.spec.post_build else {
        return Ok(vars);
    };
    let namespace = kustomization.metadata.namespace.as_deref().unwrap_or("");
    for r in pb.substitute_from.iter().flatten() {
        if !matches!(r.kind.as_str(), "ConfigMap" | "Secret") {
            continue;
        }
        match resources.get(&r.kind, namespace, &r.name) {
            Some(data) => {
                for (k, v) in data {
                    vars.insert(k.clone(), String::from_utf8_lossy(v).replace('\n', ""));
                }
            }
            None if r.optional.unwrap_or(false) => {}
            None => {
                return Err(Error::SourceNotFound {
                    kind: r.kind.clone(),
                    namespace: namespace.to_owned(),
                    name: r.name.clone(),
                });
            }
        }
    }
    for (k, v) in pb.substitute.iter().flatten() {
        vars.insert(k.clone(), v.replace('\n', ""));
    }
    Ok(vars)
}

/// An object as the YAML text Flux substitutes on (also handy for printing
/// objects: keys sorted, strings quoted where YAML would retype them).
pub fn object_yaml(obj: &Value) -> String {
    to_yaml(obj)
}

/// `substituteStrategy: Always` on the Kustomization.
pub fn always(kustomization: &Kustomization) -> bool {
    kustomization
        .spec
        .post_build
        .as_ref()
        .and_then(|pb| pb.extra.get("substituteStrategy"))
        .and_then(Value::as_str)
        == Some("Always")
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// True when the object opts out of substitution.
pub fn is_disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|f| {
        obj.get("metadata")
            .and_then(|m| m.get(*f))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

fn describe(obj: &Value) -> String {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let meta = obj.get("metadata");
    let ns = s(meta.and_then(|m| m.get("namespace")));
    ObjectId::new(
        &s(obj.get("apiVersion")),
        &s(obj.get("kind")),
        Some(ns.as_str()),
        &s(meta.and_then(|m| m.get("name"))),
    )
    .to_string()
}

/// Substitute one object (returned unchanged when disabled, or when there
/// are no variables and not `always`).
pub fn substitute_object(
    obj: &Value,
    vars: &BTreeMap<String, String>,
    options: Options,
) -> Result<Value, Error> {
    if is_disabled(obj) || (vars.is_empty() && !options.always) {
        return Ok(obj.clone());
    }
    substitute_text(obj, &to_yaml(obj), vars, options)
}

/// Like [`substitute_object`], with the object's YAML text supplied by the
/// caller (e.g. the kustomize engine's rendering of it, which is what Flux
/// substitutes on).
pub fn substitute_text(
    obj: &Value,
    text: &str,
    vars: &BTreeMap<String, String>,
    options: Options,
) -> Result<Value, Error> {
    if is_disabled(obj) || (vars.is_empty() && !options.always) {
        return Ok(obj.clone());
    }
    if let Some(bad) = vars.keys().find(|k| !valid_name(k)) {
        return Err(Error::InvalidName(bad.clone()));
    }
    if envsubst::is_plain(text) {
        return Ok(obj.clone());
    }
    let lookup = |k: &str| match vars.get(k) {
        Some(v) => Some(v.clone()),
        None if options.strict => None,
        None => Some(String::new()),
    };
    let out = envsubst::eval(text, &lookup).map_err(|source| Error::Expand {
        object: describe(obj),
        source,
    })?;
    let reparse = |message: String| Error::Reparse {
        object: describe(obj),
        message,
    };
    let docs = parse_documents(&out, "substituted").map_err(|e| reparse(e.to_string()))?;
    match docs.as_slice() {
        [doc] => Ok(doc.root.to_json(Schema::Yaml11)),
        _ => Err(reparse(format!(
            "expected one document, got {}",
            docs.len()
        ))),
    }
}

/// Substitute every object of a build for `kustomization`.
pub fn substitute_all(
    objects: &mut [Value],
    kustomization: &Kustomization,
    resources: &Resources,
    strict: bool,
) -> Result<(), Error> {
    if kustomization.spec.post_build.is_none() {
        return Ok(());
    }
    let vars = variables(kustomization, resources)?;
    let options = Options {
        strict,
        always: always(kustomization),
    };
    for obj in objects.iter_mut() {
        *obj = substitute_object(obj, &vars, options)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": data})
    }

    #[test]
    fn quoting_pitfalls() {
        let v = vars(&[
            ("PORT", "8080"),
            ("ON", "on"),
            ("Q", "\"8080\""),
            ("OCT", "0755"),
            ("S", "a: b"),
        ]);
        let out = substitute_object(
            &cm(json!({"port": "${PORT}", "flag": "${ON}", "quoted": "${Q}", "mode": "${OCT}", "embedded": "x${PORT}"})),
            &v,
            Options::default(),
        )
        .unwrap();
        assert_eq!(
            out["data"],
            json!({"port": 8080, "flag": true, "quoted": "8080", "mode": 493, "embedded": "x8080"})
        );
        let err = substitute_object(&cm(json!({"s": "${S}"})), &v, Options::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("post build failed for ConfigMap/ns/c: substituted YAML is invalid:"),
            "{err}"
        );
    }

    #[test]
    fn strictness_and_opt_out() {
        let v = vars(&[("A", "1")]);
        let obj = cm(json!({"x": "${B}"}));
        assert_eq!(
            substitute_object(&obj, &v, Options::default())
                .unwrap_err()
                .to_string(),
            "post build failed for ConfigMap/ns/c: variable not set (strict mode): \"B\""
        );
        let lax = Options {
            strict: false,
            always: false,
        };
        // Like Flux: `x: ` reads back as null, not as an empty string.
        assert_eq!(
            substitute_object(&obj, &v, lax).unwrap()["data"]["x"],
            Value::Null
        );
        // No variable defined: untouched unless Always.
        assert_eq!(
            substitute_object(&obj, &BTreeMap::new(), Options::default()).unwrap(),
            obj
        );
        let mut disabled = obj.clone();
        disabled["metadata"]["annotations"] = json!({SUBSTITUTE_KEY: "disabled"});
        assert_eq!(
            substitute_object(&disabled, &v, Options::default()).unwrap(),
            disabled
        );
        assert_eq!(
            substitute_object(&obj, &vars(&[("1x", "v")]), Options::default())
                .unwrap_err()
                .to_string(),
            "'1x' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
        );
    }
}
