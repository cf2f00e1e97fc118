//! The builtin transformers: namespace, name prefix/suffix, labels,
//! annotations, replicas and images.

use std::collections::HashMap;

use regex::Regex;

use crate::Error;
use crate::kustomize::fieldspec::{Create, apply_specs, split_path, walk};
use crate::kustomize::gvk::kind_string;
use crate::kustomize::kustomization::Kustomization;
use crate::kustomize::transformer_config::{TransformerConfig, merge_fs};
use crate::kustomize::types::{FieldSpec, Image, Replica};
use crate::resource::{Gvk, Resource};
use crate::value::{Map, Value};

/// Namespace, prefix, suffix, labels and annotations (kustomize's order),
/// with the field specs of `cfg`.
pub(crate) fn run(
    k: &Kustomization,
    cfg: &TransformerConfig,
    ra: &mut [Resource],
) -> Result<(), Error> {
    if !k.namespace.is_empty() {
        namespace(
            &k.namespace,
            &cfg.namespace,
            false,
            SubjectMode::DefaultOnly,
            ra,
        )?;
    }
    if !k.name_prefix.is_empty() {
        prefix_suffix(&k.name_prefix, true, &cfg.name_prefix, ra)?;
    }
    if !k.name_suffix.is_empty() {
        prefix_suffix(&k.name_suffix, false, &cfg.name_suffix, ra)?;
    }
    for label in &k.labels {
        let label_err = |e: Error| Error::Transform {
            message: format!("failed to merge labels: {e}"),
        };
        let mut fss = merge_fs(label.fields.clone(), &cfg.labels, "Labels").map_err(label_err)?;
        if label.include_selectors {
            fss = merge_fs(fss, &cfg.common_labels, "CommonLabels").map_err(label_err)?;
        } else {
            if label.include_templates {
                fss = merge_fs(fss, &cfg.template_labels, "TemplateLabels").map_err(label_err)?;
            }
            fss = merge_fs(
                fss,
                &[FieldSpec {
                    path: "metadata/labels".into(),
                    create: true,
                    ..FieldSpec::default()
                }],
                "Labels",
            )
            .map_err(label_err)?;
        }
        set_entries(&label.pairs, &fss, ra)?;
    }
    if !k.common_labels.is_empty() {
        set_entries(&k.common_labels, &cfg.common_labels, ra)?;
    }
    if !k.common_annotations.is_empty() {
        set_entries(&k.common_annotations, &cfg.common_annotations, ra)?;
    }
    Ok(())
}

/// Replicas and images (after JSON patches).
pub(crate) fn run_late(
    k: &Kustomization,
    cfg: &TransformerConfig,
    ra: &mut [Resource],
) -> Result<(), Error> {
    for r in &k.replicas {
        replicas(r, &cfg.replicas, ra)?;
    }
    images_all(&k.images, &cfg.images, ra)
}

/// How a namespace change treats RoleBinding subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubjectMode {
    /// Subjects named `default` (kustomize's default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    None,
}

/// kustomize's namespace filter over every resource.
pub(crate) fn namespace(
    ns: &str,
    fss: &[FieldSpec],
    unset_only: bool,
    subjects: SubjectMode,
    ra: &mut [Resource],
) -> Result<(), Error> {
    let mut set = |v: &mut Value| -> Result<(), Error> {
        let node_kind = match v {
            Value::Seq(_) => "SequenceNode",
            Value::Map(_) => "MappingNode",
            _ => "",
        };
        if !node_kind.is_empty() {
            return Err(Error::Transform {
                message: format!(
                    "wrong node kind: expected ScalarNode but got {node_kind}: node contents:\n{}",
                    crate::emit::to_yaml(v)
                ),
            });
        }
        if unset_only && !matches!(v, Value::Null) && v.scalar_text().is_none_or(|t| !t.is_empty())
        {
            return Ok(());
        }
        *v = Value::Str(ns.into());
        Ok(())
    };
    let mut counts: HashMap<(Gvk, String, String), usize> = HashMap::new();
    for r in ra.iter_mut() {
        if r.value.as_map().is_none_or(Map::is_empty) {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            let md = r.metadata_mut();
            let cur = md.entry_or_insert_with("namespace", || Value::Null);
            set(cur)?;
        }
        let api_version = r.api_version().to_owned();
        let role_binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
        let applicable: Vec<FieldSpec> = fss
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
            .filter(|fs| {
                !(role_binding
                    && (fs.kind == "RoleBinding" || fs.kind == "ClusterRoleBinding")
                    && fs.path == "subjects/namespace")
            })
            .cloned()
            .collect();
        if role_binding
            && subjects != SubjectMode::None
            && let Some(Value::Seq(items)) = r.value.get_path_mut(&["subjects"])
        {
            for s in items.iter_mut() {
                if let Value::Map(m) = s {
                    let hit = match subjects {
                        SubjectMode::DefaultOnly => {
                            m.get("name").and_then(Value::as_str) == Some("default")
                        }
                        _ => m.get("kind").and_then(Value::as_str) == Some("ServiceAccount"),
                    };
                    if hit {
                        set(m.entry_or_insert_with("namespace", || Value::Null))?;
                    }
                }
            }
        }
        for fs in applicable.iter().filter(|fs| fs.matches(&gvk)) {
            let create = if fs.create {
                Create::Scalar
            } else {
                Create::No
            };
            let id = r.cur_id();
            walk(&mut r.value, &split_path(&fs.path), create, &mut set).map_err(|e| {
                Error::Transform {
                    message: format!(
                        "namespace field specs must target scalar nodes: considering field '{}' of object {id}: {e}",
                        fs.path
                    ),
                }
            })?;
        }
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.to_string(),
            id.effective_namespace().to_owned(),
        );
        *counts.entry(key).or_default() += 1;
    }
    if let Some(((gvk, name, _), _)) = counts.into_iter().find(|(_, n)| *n > 1) {
        return Err(Error::Transform {
            message: format!(
                "namespace transformation produces ID conflict: {} {name}",
                gvk.kind
            ),
        });
    }
    Ok(())
}

/// kustomize's prefix (or suffix) transformer with its field specs.
pub(crate) fn prefix_suffix(
    affix: &str,
    prefix: bool,
    fss: &[FieldSpec],
    ra: &mut [Resource],
) -> Result<(), Error> {
    let mut set = |v: &mut Value| -> Result<(), Error> {
        let old = v.scalar_text().unwrap_or_default();
        *v = Value::Str(if prefix {
            format!("{affix}{old}").into()
        } else {
            format!("{old}{affix}").into()
        });
        Ok(())
    };
    for r in ra.iter_mut() {
        let org = r.org_id();
        let kind = org.gvk.kind.as_str();
        if kind == "CustomResourceDefinition"
            || kind == "Namespace"
            || (kind == "APIService" && org.gvk.group == "apiregistration.k8s.io")
        {
            continue;
        }
        for fs in fss {
            if !org.gvk.is_selected(&fs.gvk()) {
                continue;
            }
            if fs.path == "metadata/name" {
                if prefix {
                    r.prefixes.push(affix.into());
                } else {
                    r.suffixes.push(affix.into());
                }
                if !affix.is_empty() {
                    r.store_previous_id();
                }
            }
            let create = if fs.create {
                Create::Scalar
            } else {
                Create::No
            };
            walk(&mut r.value, &split_path(&fs.path), create, &mut set)?;
        }
    }
    Ok(())
}

/// Set every pair on every field the specs reach (labels, annotations).
pub(crate) fn set_entries(
    pairs: &[(String, String)],
    fss: &[FieldSpec],
    ra: &mut [Resource],
) -> Result<(), Error> {
    let mut set = |v: &mut Value| -> Result<(), Error> {
        if v.is_null() {
            *v = Value::Map(Map::new());
        }
        let Value::Map(m) = v else {
            return Err(Error::Transform {
                message: "labels and annotations must be set on a mapping".into(),
            });
        };
        let new = pairs.iter().filter(|(k, _)| !m.contains_key(k)).count();
        m.reserve_exact(new);
        for (k, val) in pairs {
            m.insert(k.clone(), Value::Str(val.as_str().into()));
        }
        Ok(())
    };
    for r in ra.iter_mut() {
        let gvk = r.gvk();
        apply_specs(&mut r.value, &gvk, fss, Create::Map, &mut set)?;
    }
    Ok(())
}

/// kustomize's replica count transformer: every resource named like the
/// entry (by any of its ids) whose kind a spec selects.
pub(crate) fn replicas(rep: &Replica, fss: &[FieldSpec], ra: &mut [Resource]) -> Result<(), Error> {
    let count = rep.count.clone();
    let mut found = false;
    for fs in fss {
        let sel = fs.gvk();
        for r in ra.iter_mut() {
            let cur = r.cur_id();
            let hit = |id: &crate::resource::ResId| id.name == rep.name && id.gvk.is_selected(&sel);
            if !hit(&cur) && !r.prev_ids().iter().any(hit) {
                continue;
            }
            found = true;
            let mut set = |v: &mut Value| -> Result<(), Error> {
                *v = count.clone();
                Ok(())
            };
            let create = if fs.create {
                Create::Scalar
            } else {
                Create::No
            };
            walk(&mut r.value, &split_path(&fs.path), create, &mut set)?;
        }
    }
    if !found {
        let gvks: Vec<String> = fss.iter().map(|fs| kind_string(&fs.gvk())).collect();
        return Err(Error::Transform {
            message: format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                rep.name,
                gvks.join(" ")
            ),
        });
    }
    Ok(())
}

/// Split an image reference into name, tag and digest (kustomize's rules).
fn split_image(image: &str) -> (String, String, String) {
    let (search, offset) = match image.find('/') {
        Some(i) if i > 0 => (&image[i..], i),
        _ => (image, 0),
    };
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_owned(), String::new(), String::new()),
        (ic, Some(id)) if ic.is_none_or(|ic| id < ic) => {
            let id = id + offset;
            (
                image[..id].to_owned(),
                String::new(),
                image[id + 1..].to_owned(),
            )
        }
        (Some(ic), Some(id)) => {
            let (ic, id) = (ic + offset, id + offset);
            (
                image[..ic].to_owned(),
                image[ic + 1..id].to_owned(),
                image[id + 1..].to_owned(),
            )
        }
        (Some(ic), None) => {
            let ic = ic + offset;
            (
                image[..ic].to_owned(),
                image[ic + 1..].to_owned(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_owned(), String::new(), String::new()),
    }
}

fn update_image(value: &str, img: &Image, pattern: &Regex) -> Option<String> {
    if !pattern.is_match(value) {
        return None;
    }
    let (mut name, mut tag, mut digest) = split_image(value);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest = img.digest.clone();
    } else if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    Some(name)
}

/// kustomize's image transformer for one `images` entry.
pub(crate) fn images(img: &Image, fss: &[FieldSpec], ra: &mut [Resource]) -> Result<(), Error> {
    images_all(std::slice::from_ref(img), fss, ra)
}

/// The image transformers of `imgs`, one after the other, as kustomize
/// runs them. Each resource takes every entry in turn while it is in
/// cache: a transformer changes image strings only, never the structure
/// its walks follow, so this gives the result (and the first error) of
/// running each entry over all resources.
fn images_all(imgs: &[Image], fss: &[FieldSpec], ra: &mut [Resource]) -> Result<(), Error> {
    let patterns: Vec<(&Image, Regex)> = imgs
        .iter()
        .filter_map(|img| {
            Regex::new(&format!(
                "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$",
                img.name
            ))
            .ok()
            .map(|p| (img, p))
        })
        .collect();
    if patterns.is_empty() {
        return Ok(());
    }
    for r in ra.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        let gvk = r.gvk();
        for (img, pattern) in &patterns {
            legacy_containers(&mut r.value, img, pattern);
            let mut set = |v: &mut Value| -> Result<(), Error> {
                if let Value::Str(s) = v
                    && let Some(new) = update_image(s, img, pattern)
                {
                    *s = new.into();
                }
                Ok(())
            };
            apply_specs(&mut r.value, &gvk, fss, Create::No, &mut set)?;
        }
    }
    Ok(())
}

/// kustomize's legacy image walk: every `containers`/`initContainers` list anywhere.
fn legacy_containers(v: &mut Value, img: &Image, pattern: &Regex) {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                legacy_containers(child, img, pattern);
                if (k == "containers" || k == "initContainers")
                    && let Value::Seq(items) = child
                {
                    for item in items {
                        if let Some(Value::Str(s)) =
                            item.as_map_mut().and_then(|m| m.get_mut("image"))
                            && let Some(new) = update_image(s, img, pattern)
                        {
                            *s = new.into();
                        }
                    }
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                legacy_containers(item, img, pattern);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_images_like_kustomize() {
        assert_eq!(
            split_image("nginx:1.2"),
            ("nginx".into(), "1.2".into(), String::new())
        );
        assert_eq!(
            split_image("localhost:5000/app@sha256:abc"),
            (
                "localhost:5000/app".into(),
                String::new(),
                "sha256:abc".into()
            )
        );
        assert_eq!(
            split_image("reg/app:v1@sha256:abc"),
            ("reg/app".into(), "v1".into(), "sha256:abc".into())
        );
    }
}
