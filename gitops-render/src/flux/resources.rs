//! ConfigMaps and Secrets the caller supplies in place of a cluster.
//!
//! kustomize-controller (`postBuild.substituteFrom`) and helm-controller
//! (`valuesFrom`) read ConfigMaps and Secrets from the API server. Here the
//! caller hands them over as YAML (files exported with `kubectl get -o yaml`,
//! or written by hand) and the lookups read this store.
//!
//! Secret `data` is base64-decoded; `stringData` entries win over `data`
//! entries with the same key, as the API server merges them on write.
//! Only `data` of ConfigMaps is read (`binaryData` is ignored, as in Flux).
//!
//! ```
//! use gitops_render::flux::Resources;
//!
//! let mut r = Resources::new();
//! r.add_yaml(
//!     "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\ndata: {k: aGk=}\n",
//!     "secret.yaml",
//! )?;
//! assert_eq!(r.get("Secret", "apps", "s").unwrap()["k"], b"hi");
//! # Ok::<(), gitops_render::flux::resources::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::budget::parse_documents;
use base64::Engine as _;
use gitops_core::yaml::{NodeKind, Schema};

/// Why a resource file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not valid YAML.
    #[error("reading ConfigMaps/Secrets")]
    Yaml(#[from] gitops_core::yaml::Error),
    /// A `data` entry of a Secret is not valid base64.
    #[error("{origin}:{line}: Secret {name}: data key {key:?} is not valid base64")]
    Base64 {
        /// File name.
        origin: String,
        /// Line of the document.
        line: usize,
        /// Secret name.
        name: String,
        /// The key.
        key: String,
    },
    /// A `data` or `stringData` entry is not a string.
    #[error("{origin}:{line}: {kind} {name}: {field}.{key} must be a string")]
    NotAString {
        /// File name.
        origin: String,
        /// Line of the document.
        line: usize,
        /// `ConfigMap` or `Secret`.
        kind: String,
        /// Object name.
        name: String,
        /// `data` or `stringData`.
        field: &'static str,
        /// The key.
        key: String,
    },
    /// A ConfigMap or Secret without `metadata.name`.
    #[error("{origin}:{line}: {kind} without metadata.name")]
    NoName {
        /// File name.
        origin: String,
        /// Line of the document.
        line: usize,
        /// `ConfigMap` or `Secret`.
        kind: String,
    },
}

/// Data of one ConfigMap or Secret: key → bytes.
pub type Data = BTreeMap<String, Vec<u8>>;

/// An in-memory set of ConfigMaps and Secrets, looked up by kind, namespace
/// and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    objects: BTreeMap<(String, String, String), Data>,
}

impl Resources {
    /// An empty store.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Add (or replace) a ConfigMap.
    pub fn insert_config_map(&mut self, namespace: &str, name: &str, data: Data) {
        self.objects.insert(
            (
                "ConfigMap".to_owned(),
                namespace.to_owned(),
                name.to_owned(),
            ),
            data,
        );
    }

    /// Add (or replace) a Secret with already decoded data.
    pub fn insert_secret(&mut self, namespace: &str, name: &str, data: Data) {
        self.objects.insert(
            ("Secret".to_owned(), namespace.to_owned(), name.to_owned()),
            data,
        );
    }

    /// The data of the object (`kind` is `ConfigMap` or `Secret`) in
    /// `namespace`, or else of the object of that name stored without a
    /// namespace.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Data> {
        let key = |ns: &str| (kind.to_owned(), ns.to_owned(), name.to_owned());
        self.objects
            .get(&key(namespace))
            .or_else(|| self.objects.get(&key("")))
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when the store is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Read every `v1` ConfigMap and Secret of a YAML stream (also inside
    /// `kind: List` documents); other documents are ignored. Returns how many
    /// were added. An object without `metadata.namespace` matches lookups in
    /// any namespace (see [`Resources::get`]).
    pub fn add_yaml(&mut self, text: &str, origin: &str) -> Result<usize, Error> {
        let docs = parse_documents(text, origin)?;
        let mut added = 0;
        for doc in &docs {
            let mut items = vec![&doc.root];
            if doc.root.get("kind").and_then(|k| k.as_str()) == Some("List")
                && let Some(list) = doc.root.get("items").and_then(|i| i.as_seq())
            {
                items = list.iter().collect();
            }
            for node in items {
                added += usize::from(self.add_node(node, origin)?);
            }
        }
        Ok(added)
    }

    fn add_node(&mut self, node: &gitops_core::yaml::Node, origin: &str) -> Result<bool, Error> {
        let kind = node.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let api = node
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .unwrap_or("");
        if api != "v1" || !matches!(kind, "ConfigMap" | "Secret") {
            return Ok(false);
        }
        let name = node
            .get_path(&["metadata", "name"])
            .and_then(|n| n.as_scalar())
            .map(|s| s.value.clone())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::NoName {
                origin: origin.to_owned(),
                line: node.line,
                kind: kind.to_owned(),
            })?;
        let namespace = node
            .get_path(&["metadata", "namespace"])
            .and_then(|n| n.as_scalar())
            .map(|s| s.value.clone())
            .unwrap_or_default();
        let strings = |field: &'static str| -> Result<Vec<(String, String)>, Error> {
            let Some(map) = node.get(field) else {
                return Ok(Vec::new());
            };
            let Some(entries) = map.as_map() else {
                return Ok(Vec::new());
            };
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match &k.kind {
                        NodeKind::Scalar(s) => s.value.clone(),
                        _ => k.to_json(Schema::Core).to_string(),
                    };
                    // Kubernetes data values are strings; a plain `1` or `true`
                    // would be rejected by the API server, but we accept its text.
                    match v.as_scalar() {
                        Some(s) if !v.is_null() => Ok((key, s.value.clone())),
                        Some(_) => Ok((key, String::new())),
                        None => Err(Error::NotAString {
                            origin: origin.to_owned(),
                            line: v.line,
                            kind: kind.to_owned(),
                            name: name.clone(),
                            field,
                            key,
                        }),
                    }
                })
                .collect()
        };
        let data = strings("data")?;
        let string_data = if kind == "Secret" {
            strings("stringData")?
        } else {
            Vec::new()
        };
        self.insert_object(
            kind,
            &namespace,
            &name,
            data,
            string_data,
            origin,
            node.line,
        )?;
        Ok(true)
    }

    /// Add a ConfigMap or Secret already converted to JSON (a rendered
    /// object); other objects are ignored. Returns whether it was added.
    /// The rules are those of [`Resources::add_yaml`]: a ConfigMap's `data`,
    /// a Secret's `data` (base64, whitespace ignored) then `stringData`;
    /// non-string values are taken as their JSON text, `null` as empty.
    ///
    /// # Errors
    /// [`Error::Base64`] for Secret data that is not base64, naming `origin`.
    pub fn add_json(&mut self, obj: &serde_json::Value, origin: &str) -> Result<bool, Error> {
        use serde_json::Value as Json;
        let kind = obj.get("kind").and_then(Json::as_str).unwrap_or_default();
        if obj.get("apiVersion").and_then(Json::as_str) != Some("v1")
            || !matches!(kind, "ConfigMap" | "Secret")
        {
            return Ok(false);
        }
        let text = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or_default().to_owned();
        let name = text(obj.pointer("/metadata/name"));
        let namespace = text(obj.pointer("/metadata/namespace"));
        let strings = |field: &str| -> Vec<(String, String)> {
            obj.get(field)
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let s = match v {
                        Json::String(s) => s.clone(),
                        Json::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        };
        let string_data = if kind == "Secret" {
            strings("stringData")
        } else {
            Vec::new()
        };
        self.insert_object(
            kind,
            &namespace,
            &name,
            strings("data"),
            string_data,
            origin,
            0,
        )?;
        Ok(true)
    }

    /// Store one object: a Secret's `data` decoded from base64, its
    /// `stringData` over it; a ConfigMap's `data` as is.
    #[allow(clippy::too_many_arguments)]
    fn insert_object(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        data: Vec<(String, String)>,
        string_data: Vec<(String, String)>,
        origin: &str,
        line: usize,
    ) -> Result<(), Error> {
        let mut out = Data::new();
        if kind == "Secret" {
            for (k, v) in data {
                let cleaned: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned.as_bytes())
                    .map_err(|_| Error::Base64 {
                        origin: origin.to_owned(),
                        line,
                        name: name.to_owned(),
                        key: k.clone(),
                    })?;
                out.insert(k, bytes);
            }
            for (k, v) in string_data {
                out.insert(k, v.into_bytes());
            }
            self.insert_secret(namespace, name, out);
        } else {
            out.extend(data.into_iter().map(|(k, v)| (k, v.into_bytes())));
            self.insert_config_map(namespace, name, out);
        }
        Ok(())
    }
}
