//! The automation objects kept in a repository, and label selectors.

use std::collections::BTreeMap;

use gitops_core::flux::{
    CrossNamespaceObjectReference, FluxObject, GitRepository, ImagePolicy, ImageRepository,
    ImageUpdateAutomation, Object,
};
use gitops_core::fs::MemTree;
use gitops_core::yaml::{Budget, ReadOptions, parse_documents_in};

/// Largest file read when looking for objects (bigger files are skipped with
/// a warning).
pub const MAX_OBJECT_FILE: usize = 4 << 20;

/// The Flux objects an automation needs, as found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// `ImageUpdateAutomation`s.
    pub automations: Vec<ImageUpdateAutomation>,
    /// `ImagePolicy`s.
    pub policies: Vec<ImagePolicy>,
    /// `ImageRepository`s.
    pub repositories: Vec<ImageRepository>,
    /// `GitRepository`s (for the default checkout branch).
    pub git_repositories: Vec<GitRepository>,
    /// Files that could not be read, with file and line.
    pub warnings: Vec<String>,
}

fn same<T: FluxObject>(a: &T, b: &T) -> bool {
    a.metadata().name == b.metadata().name && a.metadata().namespace == b.metadata().namespace
}

fn put<T: FluxObject>(list: &mut Vec<T>, o: T) {
    match list.iter_mut().find(|x| same(*x, &o)) {
        Some(slot) => *slot = o,
        None => list.push(o),
    }
}

impl Found {
    /// Add objects; an object replaces one of the same kind, namespace and
    /// name. Other kinds are ignored.
    pub fn merge(&mut self, objects: impl IntoIterator<Item = Object>) {
        for o in objects {
            match o {
                Object::ImageUpdateAutomation(a) => put(&mut self.automations, a),
                Object::ImagePolicy(p) => put(&mut self.policies, p),
                Object::ImageRepository(r) => put(&mut self.repositories, r),
                Object::GitRepository(g) => put(&mut self.git_repositories, g),
                _ => {}
            }
        }
    }

    /// The GitRepository a sourceRef names (namespace defaulting to `ns`).
    pub fn git_repository(
        &self,
        r: &CrossNamespaceObjectReference,
        ns: &str,
    ) -> Option<&GitRepository> {
        let want_ns = r.namespace.as_deref().unwrap_or(ns);
        self.git_repositories.iter().find(|g| {
            g.metadata.name.as_deref() == Some(r.name.as_str())
                && g.metadata.namespace.as_deref().unwrap_or(ns) == want_ns
        })
    }
}

/// Decode every Flux document of `text` (named `origin`), collecting warnings.
pub fn parse_objects(text: &str, origin: &str, warnings: &mut Vec<String>) -> Vec<Object> {
    parse_objects_in(text, origin, &Budget::default(), warnings)
}

/// [`parse_objects`], counting the YAML against `budget`, the run's.
pub fn parse_objects_in(
    text: &str,
    origin: &str,
    budget: &Budget,
    warnings: &mut Vec<String>,
) -> Vec<Object> {
    let docs = match parse_documents_in(text, origin, ReadOptions::default(), budget) {
        Ok(d) => d,
        Err(e) => {
            warnings.push(format!("{origin}: skipped: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for d in docs {
        match Object::from_node(&d.root, origin) {
            Ok(Some(o)) => out.push(o),
            Ok(None) => {}
            Err(e) => warnings.push(format!("skipped: {e}")),
        }
    }
    out
}

/// Read the automation objects of a tree: every `*.yaml`/`*.yml` file that
/// mentions `image.toolkit.fluxcd.io` or `source.toolkit.fluxcd.io`.
/// Unparsable files are warnings, never errors.
pub fn read_objects(tree: &MemTree) -> Found {
    // One YAML budget for the whole tree: many hostile files cannot add up
    // to more than one run's worth of nodes.
    let budget = Budget::default();
    let mut found = Found::default();
    let mut objects = Vec::new();
    for (path, bytes) in tree.files() {
        let name = path.file_name();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        if !text.contains("image.toolkit.fluxcd.io") && !text.contains("source.toolkit.fluxcd.io") {
            continue;
        }
        if bytes.len() > MAX_OBJECT_FILE {
            found.warnings.push(format!(
                "{path}: skipped: larger than {MAX_OBJECT_FILE} bytes"
            ));
            continue;
        }
        objects.extend(parse_objects_in(
            text,
            path.as_str(),
            &budget,
            &mut found.warnings,
        ));
    }
    found.merge(objects);
    found
}

/// A Kubernetes label selector (`matchLabels` + `matchExpressions` with
/// `In`, `NotIn`, `Exists`, `DoesNotExist`). The empty selector matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    labels: BTreeMap<String, String>,
    expressions: Vec<(String, Op, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// Read `spec.policySelector` (absent = match everything).
    ///
    /// # Errors
    /// A message naming the malformed part.
    pub fn from_json(v: Option<&serde_json::Value>) -> Result<LabelSelector, String> {
        let mut sel = LabelSelector::default();
        let Some(v) = v else { return Ok(sel) };
        if v.is_null() {
            return Ok(sel);
        }
        let obj = v.as_object().ok_or("expected a mapping")?;
        for k in obj.keys() {
            if k != "matchLabels" && k != "matchExpressions" {
                return Err(format!(
                    "unknown field {k:?}, expected matchLabels or matchExpressions"
                ));
            }
        }
        if let Some(m) = obj.get("matchLabels") {
            let m = m.as_object().ok_or("matchLabels: expected a mapping")?;
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("matchLabels.{k}: expected a string"))?;
                sel.labels.insert(k.clone(), v.to_owned());
            }
        }
        if let Some(list) = obj.get("matchExpressions") {
            let list = list.as_array().ok_or("matchExpressions: expected a list")?;
            for (i, e) in list.iter().enumerate() {
                let key = e
                    .get("key")
                    .and_then(|k| k.as_str())
                    .ok_or_else(|| format!("matchExpressions[{i}].key: expected a string"))?;
                let op = match e.get("operator").and_then(|o| o.as_str()) {
                    Some("In") => Op::In,
                    Some("NotIn") => Op::NotIn,
                    Some("Exists") => Op::Exists,
                    Some("DoesNotExist") => Op::DoesNotExist,
                    other => {
                        return Err(format!(
                            "matchExpressions[{i}].operator: {:?} is not one of In, NotIn, Exists, DoesNotExist",
                            other.unwrap_or("")
                        ));
                    }
                };
                let values: Vec<String> = match e.get("values") {
                    None | Some(serde_json::Value::Null) => Vec::new(),
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_owned).ok_or_else(|| {
                                format!("matchExpressions[{i}].values: expected strings")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(format!("matchExpressions[{i}].values: expected a list"));
                    }
                };
                let needs_values = matches!(op, Op::In | Op::NotIn);
                if needs_values == values.is_empty() {
                    return Err(format!(
                        "matchExpressions[{i}]: {} values",
                        if needs_values {
                            "In and NotIn need"
                        } else {
                            "Exists and DoesNotExist take no"
                        }
                    ));
                }
                sel.expressions.push((key.to_owned(), op, values));
            }
        }
        Ok(sel)
    }

    /// Whether an object with `labels` is selected.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| {
                let have = labels.get(k);
                match op {
                    Op::In => have.is_some_and(|h| values.contains(h)),
                    Op::NotIn => have.is_none_or(|h| !values.contains(h)),
                    Op::Exists => have.is_some(),
                    Op::DoesNotExist => have.is_none(),
                }
            })
    }
}
