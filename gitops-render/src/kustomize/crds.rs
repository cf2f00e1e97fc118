//! `crds`: OpenAPI definitions of custom types (the `{"<go type name>":
//! {"Schema": …}}` format of kustomize's `LoadConfigFromCRDs`, JSON or
//! YAML). Properties marked with `x-kubernetes-*` extensions become field
//! specs: `x-kubernetes-annotation` (commonAnnotations),
//! `x-kubernetes-label-selector` (commonLabels), `x-kubernetes-identity`
//! (namePrefix) and `x-kubernetes-object-ref-api-version` +
//! `x-kubernetes-object-ref-kind` (+ `x-kubernetes-object-ref-name-key`,
//! default `name`) (a name reference to that kind).

use crate::budget::parse_documents;
use gitops_core::fs::{FileTree, RelPath};

use crate::Error;
use crate::kustomize::loader::{display, read_in_root};
use crate::kustomize::transformer_config::{NameBackRef, TransformerConfig, merge_fs};
use crate::kustomize::types::FieldSpec;
use crate::resource::Gvk;
use crate::value::{Map, Value};

/// Nested `$ref`s followed at most this deep (kustomize recurses unbounded).
const MAX_DEPTH: usize = 64;
/// Properties visited per file at most; a hostile file of `$ref`s that fan
/// out could otherwise take exponential time.
const MAX_VISITS: usize = 100_000;

/// The config that the CRD files in `paths` describe.
pub(crate) fn config_from_crds(
    tree: &dyn FileTree,
    dir: &RelPath,
    paths: &[String],
) -> Result<TransformerConfig, Error> {
    let mut tc = TransformerConfig::default();
    for p in paths {
        let (path, text) = read_in_root(tree, dir, p)?;
        let file = display(&path);
        let bad = |message: &str| Error::Kustomization {
            file: file.clone(),
            message: format!("unable to parse open API definition from '{p}': {message}"),
        };
        let docs = parse_documents(&text, &file)?;
        let root = docs
            .into_iter()
            .find(|d| !d.is_empty())
            .map(|d| Value::from_node(&d.root))
            .ok_or_else(|| bad("empty file"))?;
        let defs = root
            .as_map()
            .ok_or_else(|| bad("expected a mapping of type names to definitions"))?;
        let mut budget = MAX_VISITS;
        tc = tc.merge(
            &config_from_definitions(defs, &mut budget).map_err(|e| match e {
                Walk::TooBig => bad("too many nested definitions"),
                Walk::Err(e) => e,
            })?,
        )?;
    }
    Ok(tc)
}

fn properties(defs: &Map, type_name: &str) -> Option<Map> {
    defs.get(type_name)?
        .get("Schema")?
        .get("properties")?
        .as_map()
        .cloned()
}

/// Why a walk of the definitions stopped.
enum Walk {
    TooBig,
    Err(Error),
}

impl From<Error> for Walk {
    fn from(e: Error) -> Walk {
        Walk::Err(e)
    }
}

fn config_from_definitions(defs: &Map, budget: &mut usize) -> Result<TransformerConfig, Walk> {
    let mut result = TransformerConfig::default();
    for name in defs.keys() {
        let Some(props) = properties(defs, name) else {
            continue;
        };
        if !["kind", "apiVersion", "metadata"]
            .iter()
            .all(|k| props.contains_key(k))
        {
            continue;
        }
        let gvk = Gvk {
            kind: name.rsplit('.').next().unwrap_or(name).into(),
            ..Gvk::default()
        };
        let mut tc = TransformerConfig::default();
        let mut stack = vec![name];
        load_type(&mut tc, &gvk, defs, name, &[], &mut stack, budget)?;
        result = result.merge(&tc)?;
    }
    Ok(result)
}

fn fs(gvk: &Gvk, path: &[&str]) -> FieldSpec {
    FieldSpec {
        group: gvk.group.to_string(),
        version: gvk.version.to_string(),
        kind: gvk.kind.to_string(),
        path: path.join("/"),
        create: false,
    }
}

fn ext<'a>(prop: &'a Value, key: &str) -> Option<&'a str> {
    prop.get(key).and_then(Value::as_str)
}

/// Walk the properties of `type_name`; `stack` holds the types being
/// walked, so a `$ref` cycle is not followed again.
fn load_type<'d>(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    defs: &'d Map,
    type_name: &str,
    path: &[&str],
    stack: &mut Vec<&'d str>,
    budget: &mut usize,
) -> Result<(), Walk> {
    if stack.len() > MAX_DEPTH {
        return Ok(());
    }
    let Some(props) = properties(defs, type_name) else {
        return Ok(());
    };
    for (prop_name, prop) in props.iter() {
        *budget = budget.checked_sub(1).ok_or(Walk::TooBig)?;
        let mut here: Vec<&str> = path.to_vec();
        here.push(prop_name);
        if ext(prop, "x-kubernetes-annotation").is_some() {
            tc.common_annotations = merge_fs(
                std::mem::take(&mut tc.common_annotations),
                &[fs(gvk, &here)],
                "CommonAnnotations",
            )?;
        }
        if ext(prop, "x-kubernetes-label-selector").is_some() {
            tc.common_labels = merge_fs(
                std::mem::take(&mut tc.common_labels),
                &[fs(gvk, &here)],
                "CommonLabels",
            )?;
        }
        if ext(prop, "x-kubernetes-identity").is_some() {
            tc.name_prefix = merge_fs(
                std::mem::take(&mut tc.name_prefix),
                &[fs(gvk, &here)],
                "NamePrefix",
            )?;
        }
        if let (Some(version), Some(kind)) = (
            ext(prop, "x-kubernetes-object-ref-api-version"),
            ext(prop, "x-kubernetes-object-ref-kind"),
        ) {
            let key = ext(prop, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut with_key = here.clone();
            with_key.push(key);
            let nbr = NameBackRef {
                target: Gvk {
                    group: String::new().into(),
                    version: version.into(),
                    kind: kind.into(),
                },
                referrers: vec![fs(gvk, &with_key)],
            };
            let add = TransformerConfig {
                name_reference: vec![nbr],
                ..TransformerConfig::default()
            };
            *tc = tc.merge(&add)?;
        }
        if let Some(r) = prop.get("$ref").and_then(Value::as_str)
            && let Some((key, _)) = defs.iter().find(|(k, _)| *k == r)
            && !stack.contains(&key)
        {
            stack.push(key);
            let result = load_type(tc, gvk, defs, r, &here, stack, budget);
            stack.pop();
            result?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::fs::MemTree;

    #[test]
    fn object_refs_become_name_references() {
        let mut tree = MemTree::new();
        tree.insert(
            "crd.json",
            r#"{
  "pkg/v1.Bee": {"Schema": {"properties": {
      "apiVersion": {}, "kind": {}, "metadata": {},
      "spec": {"$ref": "pkg/v1.BeeSpec"}}}},
  "pkg/v1.BeeSpec": {"Schema": {"properties": {
      "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                    "x-kubernetes-object-ref-kind": "Secret"},
      "selector": {"x-kubernetes-label-selector": ""}}}}
}"#,
        )
        .unwrap();
        let tc = config_from_crds(&tree, &RelPath::root(), &["crd.json".to_owned()]).unwrap();
        assert_eq!(tc.name_reference.len(), 1);
        assert_eq!(tc.name_reference[0].target.kind, "Secret");
        assert_eq!(
            tc.name_reference[0].referrers[0].path,
            "spec/secretRef/name"
        );
        assert_eq!(tc.name_reference[0].referrers[0].kind, "Bee");
        assert_eq!(tc.common_labels[0].path, "spec/selector");
    }

    #[test]
    fn a_crd_file_must_be_a_mapping() {
        let mut tree = MemTree::new();
        tree.insert("crd.yaml", "- a\n").unwrap();
        let err = config_from_crds(&tree, &RelPath::root(), &["crd.yaml".to_owned()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("unable to parse open API definition"),
            "{err}"
        );
    }

    #[test]
    fn ref_cycles_end_and_fan_out_is_bounded() {
        let mut tree = MemTree::new();
        tree.insert(
            "cycle.json",
            r#"{"a.A": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {},
                 "spec": {"$ref": "a.B"}}}},
               "a.B": {"Schema": {"properties": {"back": {"$ref": "a.B"},
                 "sel": {"x-kubernetes-label-selector": ""}}}}}"#,
        )
        .unwrap();
        let tc = config_from_crds(&tree, &RelPath::root(), &["cycle.json".to_owned()]).unwrap();
        assert_eq!(tc.common_labels.len(), 1);
        assert_eq!(tc.common_labels[0].path, "spec/sel");

        let mut defs = String::from(
            r#"{"t.T": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {}, "a": {"$ref": "t.L0"}}}}"#,
        );
        for i in 0..40 {
            let next = i + 1;
            defs.push_str(&format!(
                r#", "t.L{i}": {{"Schema": {{"properties": {{"x": {{"$ref": "t.L{next}"}}, "y": {{"$ref": "t.L{next}"}}}}}}}}"#
            ));
        }
        defs.push('}');
        tree.insert("bomb.json", defs).unwrap();
        let err = config_from_crds(&tree, &RelPath::root(), &["bomb.json".to_owned()]).unwrap_err();
        assert!(
            err.to_string().contains("too many nested definitions"),
            "{err}"
        );
    }
}
