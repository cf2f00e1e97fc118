//! `buildMetadata`: origin annotations (`config.kubernetes.io/origin`),
//! transformer annotations (`alpha.config.kubernetes.io/transformations`)
//! and the `app.kubernetes.io/managed-by` label, as kustomize v5.7.1 writes
//! them (`api/resource/origin.go`, `api/internal/target`, `api/krusty`).
//!
//! Only the top kustomization's `buildMetadata` counts: kustomize hands it
//! down to every kustomization below. When origin tracking is on, resources
//! read from files get their path relative to the top kustomization,
//! generated ones the generator that made them, and every builtin
//! transformer of a kustomization is recorded on all resources it saw.
//! Whatever the options, origin and transformation annotations already in
//! the input are dropped from the output unless the option asks for them.

use crate::Error;
use crate::resource::Resource;
use crate::value::{Map, Value};

/// Annotation holding a resource's origin.
pub(crate) const ORIGIN_KEY: &str = "config.kubernetes.io/origin";
/// Annotation holding the transformers applied to a resource.
pub(crate) const TRANSFORMATIONS_KEY: &str = "alpha.config.kubernetes.io/transformations";
/// Label added by `managedByLabel`.
pub(crate) const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
/// Its value: kubectl v1.35 embeds kustomize v5.7.1.
pub(crate) const MANAGED_BY_VALUE: &str = "kustomize-v5.7.1";

/// The options of one build, from the top kustomization's `buildMetadata`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BuildMetadata {
    /// `originAnnotations`.
    pub origin: bool,
    /// `transformerAnnotations`.
    pub transformers: bool,
    /// `managedByLabel`.
    pub managed_by: bool,
    /// Any entry at all: kustomize then tracks origins during the build.
    pub tracking: bool,
}

impl BuildMetadata {
    /// Read the option names; unknown names are ignored, as kustomize does.
    pub(crate) fn from_names(names: &[String]) -> BuildMetadata {
        let has = |n: &str| names.iter().any(|x| x == n);
        BuildMetadata {
            origin: has("originAnnotations"),
            transformers: has("transformerAnnotations"),
            managed_by: has("managedByLabel"),
            tracking: !names.is_empty(),
        }
    }
}

/// Where a resource came from, or which builtin configured it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    /// File path relative to the top kustomization.
    pub path: String,
    /// Kustomization file that configured a generator or transformer.
    pub configured_in: String,
    /// `apiVersion` of the configuring plugin (`builtin` for builtins).
    pub configured_by_api_version: String,
    /// Kind of the configuring plugin, e.g. `PrefixTransformer`.
    pub configured_by_kind: String,
    /// `metadata.name` of a plugin config (empty for kustomization fields).
    pub configured_by_name: String,
    /// `metadata.namespace` of a plugin config.
    pub configured_by_namespace: String,
}

impl Origin {
    /// kustomize's `Origin.Append`: the path joined and cleaned like Go's
    /// `filepath.Join`.
    pub(crate) fn append(&self, path: &str) -> Origin {
        Origin {
            path: go_join(&self.path, path),
            ..self.clone()
        }
    }

    /// The origin of what a builtin plugin of `kind` configured in the
    /// kustomization file `file_name` makes or changes.
    pub(crate) fn builtin(&self, file_name: &str, kind: &str) -> Origin {
        Origin {
            path: String::new(),
            configured_in: go_join(&self.path, file_name),
            configured_by_api_version: "builtin".into(),
            configured_by_kind: kind.into(),
            ..Origin::default()
        }
    }

    /// kustomize's `OriginFromCustomPlugin`: the origin of what the plugin
    /// config `config` makes or changes. A config read from a file carries
    /// that file's origin annotation; an inline one was configured in the
    /// kustomization file `file_name`.
    pub(crate) fn plugin_config(&self, config: &Resource, file_name: &str) -> Origin {
        let configured_in = config
            .value
            .get_path(&["metadata", "annotations", ORIGIN_KEY])
            .and_then(|v| match v {
                Value::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .and_then(|text| crate::budget::parse_documents(text, ORIGIN_KEY).ok())
            .and_then(|docs| docs.into_iter().next())
            .and_then(|d| {
                Value::from_node(&d.root)
                    .get("path")
                    .and_then(Value::scalar_text)
            })
            .unwrap_or_else(|| go_join(&self.path, file_name));
        Origin {
            path: String::new(),
            configured_in,
            configured_by_api_version: config.api_version().to_owned(),
            configured_by_kind: config.kind().to_owned(),
            configured_by_name: config.name().to_owned(),
            configured_by_namespace: config.namespace().to_owned(),
        }
    }

    /// The YAML kustomize stores (yaml.v3, struct field order, empty omitted),
    /// each line prefixed by `indent` (the first by `first`).
    fn write(&self, first: &str, indent: &str, out: &mut String) {
        let mut lines: Vec<String> = Vec::new();
        if !self.path.is_empty() {
            lines.push(format!("path: {}", scalar(&self.path)));
        }
        if !self.configured_in.is_empty() {
            lines.push(format!("configuredIn: {}", scalar(&self.configured_in)));
        }
        let by = [
            ("apiVersion", &self.configured_by_api_version),
            ("kind", &self.configured_by_kind),
            ("name", &self.configured_by_name),
            ("namespace", &self.configured_by_namespace),
        ];
        if by.iter().any(|(_, v)| !v.is_empty()) {
            lines.push("configuredBy:".into());
            for (k, v) in by.iter().filter(|(_, v)| !v.is_empty()) {
                lines.push(format!("  {k}: {}", scalar(v)));
            }
        }
        if lines.is_empty() {
            out.push_str(first.trim_end());
            out.push_str("{}\n");
            return;
        }
        for (i, l) in lines.iter().enumerate() {
            out.push_str(if i == 0 { first } else { indent });
            out.push_str(l);
            out.push('\n');
        }
    }

    /// The annotation value of a single origin.
    pub(crate) fn to_annotation(&self) -> String {
        let mut s = String::new();
        self.write("", "", &mut s);
        s
    }
}

/// A scalar as the YAML encoder writes it (plain when that reads back as the
/// same string).
fn scalar(s: &str) -> String {
    crate::emit::to_yaml(&Value::Str(s.into()))
        .trim_end_matches('\n')
        .to_owned()
}

/// Go's `filepath.Join(a, b)` for relative slash paths.
fn go_join(a: &str, b: &str) -> String {
    let joined = match (a.is_empty(), b.is_empty()) {
        (true, true) => return String::new(),
        (true, false) => b.to_owned(),
        (false, true) => a.to_owned(),
        (false, false) => format!("{a}/{b}"),
    };
    go_clean(&joined)
}

/// Go's `path.Clean`.
fn go_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn annotations_mut(r: &mut Resource) -> &mut Map {
    let md = r.metadata_mut();
    let a = md.entry_or_insert_with("annotations", || Value::Map(Map::new()));
    if !matches!(a, Value::Map(_)) {
        *a = Value::Map(Map::new());
    }
    match a {
        Value::Map(m) => m,
        _ => unreachable!("just set to a map"),
    }
}

/// True when `r` has an origin annotation.
pub(crate) fn has_origin(r: &Resource) -> bool {
    r.value
        .get_path(&["metadata", "annotations", ORIGIN_KEY])
        .is_some()
}

/// Set (or overwrite) the origin annotation of every resource.
pub(crate) fn annotate_origin(resources: &mut [Resource], origin: &Origin) {
    let text = origin.to_annotation();
    for r in resources {
        annotations_mut(r).insert(ORIGIN_KEY, Value::Str(text.as_str().into()));
    }
}

/// Set the origin of a generated resource unless it has one.
pub(crate) fn annotate_generated(r: &mut Resource, origin: &Origin) {
    if !has_origin(r) {
        annotations_mut(r).insert(ORIGIN_KEY, Value::Str(origin.to_annotation().into()));
    }
}

/// kustomize's `AddTransformerAnnotation`, once per transformer in `kinds`
/// (in the order they ran): a resource without an origin takes the
/// transformer as its origin, the others record it as a transformation.
pub(crate) fn annotate_transformers(
    resources: &mut [Resource],
    base: &Origin,
    file_name: &str,
    kinds: &[&str],
) -> Result<(), Error> {
    if kinds.is_empty() {
        return Ok(());
    }
    let origins: Vec<Origin> = kinds.iter().map(|k| base.builtin(file_name, k)).collect();
    annotate_transformed(resources, &origins)
}

/// `AddTransformerAnnotation` for each of `origins` in turn (see
/// [`annotate_transformers`]).
pub(crate) fn annotate_transformed(
    resources: &mut [Resource],
    origins: &[Origin],
) -> Result<(), Error> {
    for r in resources {
        for o in origins {
            if !has_origin(r) {
                annotations_mut(r).insert(ORIGIN_KEY, Value::Str(o.to_annotation().into()));
                continue;
            }
            let ann = annotations_mut(r);
            let mut text = match ann.get(TRANSFORMATIONS_KEY) {
                None => String::new(),
                Some(Value::Str(s)) if s.is_empty() || s.starts_with("- ") => s.to_string(),
                Some(other) => {
                    return Err(Error::Transform {
                        message: format!(
                            "cannot read annotation {TRANSFORMATIONS_KEY}: not a list of origins: {:?}",
                            other.scalar_text().unwrap_or_default()
                        ),
                    });
                }
            };
            o.write("- ", "  ", &mut text);
            ann.insert(TRANSFORMATIONS_KEY, Value::Str(text.into()));
        }
    }
    Ok(())
}

/// The builtin transformers a kustomization runs, in kustomize's order, by
/// plugin kind (one entry per instance).
pub(crate) fn builtin_transformer_kinds(
    k: &crate::kustomize::kustomization::Kustomization,
) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if !k.patches_strategic_merge.is_empty() {
        kinds.push("PatchStrategicMergeTransformer");
    }
    kinds.extend(k.patches.iter().map(|_| "PatchTransformer"));
    if !k.namespace.is_empty() {
        kinds.push("NamespaceTransformer");
    }
    if !k.name_prefix.is_empty() {
        kinds.push("PrefixTransformer");
    }
    if !k.name_suffix.is_empty() {
        kinds.push("SuffixTransformer");
    }
    if !k.labels.is_empty() || !k.common_labels.is_empty() {
        kinds.extend(k.labels.iter().map(|_| "LabelTransformer"));
        kinds.push("LabelTransformer");
    }
    if !k.common_annotations.is_empty() {
        kinds.push("AnnotationsTransformer");
    }
    kinds.extend(
        k.patches_json6902
            .iter()
            .map(|_| "PatchJson6902Transformer"),
    );
    kinds.extend(k.replicas.iter().map(|_| "ReplicaCountTransformer"));
    kinds.extend(k.images.iter().map(|_| "ImageTagTransformer"));
    if !k.replacements.is_empty() {
        kinds.push("ReplacementTransformer");
    }
    kinds
}

/// The end of a build (kustomize's `Kustomizer.Run`): add the managed-by
/// label when asked, make annotations strings, and drop origin and
/// transformation annotations that were not asked for (an empty or null
/// `annotations` goes too).
pub(crate) fn finish(resources: &mut [Resource], meta: BuildMetadata) {
    for r in resources {
        if meta.managed_by {
            let md = r.metadata_mut();
            let labels = md.entry_or_insert_with("labels", || Value::Map(Map::new()));
            if !matches!(labels, Value::Map(_)) {
                *labels = Value::Map(Map::new());
            }
            if let Value::Map(m) = labels {
                m.insert(MANAGED_BY_KEY, Value::Str(MANAGED_BY_VALUE.into()));
            }
        }
        let Some(Value::Map(md)) = r.value.get_path_mut(&["metadata"]) else {
            continue;
        };
        finish_annotations(md, meta);
    }
}

/// kustomize's last steps on `metadata.annotations`: `RemoveBuildAnnotations`
/// makes a non-empty map a string map, then dropping the origin and
/// transformation annotations (unless asked for) sets the map again, which
/// removes it when empty, null or not a map.
fn finish_annotations(md: &mut Map, meta: BuildMetadata) {
    let (drop_origin, drop_tr) = (!meta.origin, !meta.transformers);
    let non_empty = match md.get("annotations") {
        None => return,
        Some(Value::Map(ann)) => !ann.is_empty(),
        Some(_) => false,
    };
    if non_empty {
        crate::resource::restring_meta_map(md, "annotations");
        if let Some(Value::Map(ann)) = md.get_mut("annotations") {
            if drop_origin {
                ann.remove(ORIGIN_KEY);
            }
            if drop_tr {
                ann.remove(TRANSFORMATIONS_KEY);
            }
        }
    }
    if drop_origin || drop_tr {
        crate::resource::restring_meta_map(md, "annotations");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::loader::resources_from_text;

    #[test]
    fn join_and_clean_like_go() {
        assert_eq!(go_join("", "kustomization.yaml"), "kustomization.yaml");
        assert_eq!(go_join("../base", "./ns.yaml"), "../base/ns.yaml");
        assert_eq!(go_join("a/b", "../../c"), "c");
        assert_eq!(go_join("..", "../x"), "../../x");
        assert_eq!(go_join("", "."), ".");
    }

    #[test]
    fn origin_texts() {
        let top = Origin::default();
        assert_eq!(
            top.append("../base").append("svc.yaml").to_annotation(),
            "path: ../base/svc.yaml\n"
        );
        assert_eq!(
            top.append("../base")
                .builtin("kustomization.yaml", "ConfigMapGenerator")
                .to_annotation(),
            "configuredIn: ../base/kustomization.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"
        );
    }

    #[test]
    fn transformations_accumulate_and_finish_strips() {
        let mut ra = resources_from_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            "r.yaml",
        )
        .unwrap();
        let top = Origin::default();
        annotate_origin(&mut ra, &top.append("r.yaml"));
        annotate_transformers(
            &mut ra,
            &top,
            "kustomization.yaml",
            &["PrefixTransformer", "LabelTransformer"],
        )
        .unwrap();
        let t = ra[0]
            .value
            .str_at(&["metadata", "annotations", TRANSFORMATIONS_KEY])
            .unwrap();
        assert_eq!(
            t,
            "- configuredIn: kustomization.yaml\n  configuredBy:\n    apiVersion: builtin\n    kind: PrefixTransformer\n- configuredIn: kustomization.yaml\n  configuredBy:\n    apiVersion: builtin\n    kind: LabelTransformer\n"
        );
        let mut kept = ra.clone();
        finish(
            &mut kept,
            BuildMetadata::from_names(&["transformerAnnotations".into()]),
        );
        assert!(
            kept[0]
                .value
                .str_at(&["metadata", "annotations", ORIGIN_KEY])
                .is_none()
        );
        assert!(
            kept[0]
                .value
                .str_at(&["metadata", "annotations", TRANSFORMATIONS_KEY])
                .is_some()
        );
        finish(
            &mut ra,
            BuildMetadata::from_names(&["managedByLabel".into()]),
        );
        assert!(ra[0].value.get_path(&["metadata", "annotations"]).is_none());
        assert_eq!(
            ra[0].value.str_at(&["metadata", "labels", MANAGED_BY_KEY]),
            Some(MANAGED_BY_VALUE)
        );
    }
}
