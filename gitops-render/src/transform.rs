//! The builtin transformers: namespace, name prefix/suffix, labels,
//! annotations, replicas and images.

use std::collections::HashMap;

use regex::Regex;

use crate::Error;
use crate::fieldspec::{self, Create, apply_specs, merge_specs, specs};
use crate::kustomization::{FieldSpec, Image, Kustomization, Replica};
use crate::resource::{Gvk, Resource};
use crate::value::{Map, Value};

/// Namespace, prefix, suffix, labels and annotations (kustomize's order).
pub(crate) fn run(k: &Kustomization, ra: &mut [Resource]) -> Result<(), Error> {
    if !k.namespace.is_empty() {
        namespace(&k.namespace, ra)?;
    }
    if !k.name_prefix.is_empty() {
        prefix_suffix(&k.name_prefix, true, ra)?;
    }
    if !k.name_suffix.is_empty() {
        prefix_suffix(&k.name_suffix, false, ra)?;
    }
    for label in &k.labels {
        let mut fss = merge_specs(label.fields.clone(), &[]);
        if label.include_selectors {
            fss = merge_specs(fss, &common_label_specs());
        } else {
            if label.include_templates {
                fss = merge_specs(fss, &specs(fieldspec::METADATA_LABELS));
            }
            fss = merge_specs(
                fss,
                &[FieldSpec {
                    path: "metadata/labels".into(),
                    create: true,
                    ..FieldSpec::default()
                }],
            );
        }
        set_entries(&label.pairs, &fss, ra)?;
    }
    if !k.common_labels.is_empty() {
        set_entries(&k.common_labels, &common_label_specs(), ra)?;
    }
    if !k.common_annotations.is_empty() {
        set_entries(
            &k.common_annotations,
            &specs(fieldspec::COMMON_ANNOTATIONS),
            ra,
        )?;
    }
    Ok(())
}

/// Replicas and images (after JSON patches).
pub(crate) fn run_late(k: &Kustomization, ra: &mut [Resource]) -> Result<(), Error> {
    for r in &k.replicas {
        replicas(r, ra)?;
    }
    for image in &k.images {
        images(image, ra)?;
    }
    Ok(())
}

fn common_label_specs() -> Vec<FieldSpec> {
    let mut v = specs(fieldspec::COMMON_LABELS);
    v.extend(specs(fieldspec::METADATA_LABELS));
    v.extend(specs(fieldspec::VOLUME_CLAIM_LABELS));
    v
}

fn namespace(ns: &str, ra: &mut [Resource]) -> Result<(), Error> {
    let fss = specs(fieldspec::NAMESPACE);
    let mut set = |v: &mut Value| -> Result<(), Error> {
        *v = Value::Str(ns.to_owned());
        Ok(())
    };
    let mut counts: HashMap<(Gvk, String, String), usize> = HashMap::new();
    for r in ra.iter_mut() {
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            r.metadata_mut()
                .insert("namespace", Value::Str(ns.to_owned()));
        }
        let api_version = r.api_version().to_owned();
        let applicable: Vec<FieldSpec> = fss
            .iter()
            .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
            .cloned()
            .collect();
        if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Seq(subjects)) = r.value.get_path_mut(&["subjects"])
        {
            for s in subjects.iter_mut() {
                if let Value::Map(m) = s
                    && m.get("name").and_then(Value::as_str) == Some("default")
                {
                    m.insert("namespace", Value::Str(ns.to_owned()));
                }
            }
        }
        apply_specs(&mut r.value, &gvk, &applicable, Create::Scalar, &mut set)?;
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
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

fn prefix_suffix(affix: &str, prefix: bool, ra: &mut [Resource]) -> Result<(), Error> {
    for r in ra.iter_mut() {
        let org = r.org_id();
        let kind = org.gvk.kind.as_str();
        if kind == "CustomResourceDefinition"
            || kind == "Namespace"
            || (kind == "APIService" && org.gvk.group == "apiregistration.k8s.io")
        {
            continue;
        }
        if prefix {
            r.prefixes.push(affix.to_owned());
        } else {
            r.suffixes.push(affix.to_owned());
        }
        r.store_previous_id();
        let new = if prefix {
            format!("{affix}{}", r.name())
        } else {
            format!("{}{affix}", r.name())
        };
        if r.value.get_path(&["metadata", "name"]).is_some() {
            r.set_name(&new);
        }
    }
    Ok(())
}

/// Set every pair on every field the specs reach (labels, annotations).
fn set_entries(
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
        for (k, val) in pairs {
            m.insert(k.clone(), Value::Str(val.clone()));
        }
        Ok(())
    };
    for r in ra.iter_mut() {
        let gvk = r.gvk();
        apply_specs(&mut r.value, &gvk, fss, Create::Map, &mut set)?;
    }
    Ok(())
}

fn replicas(rep: &Replica, ra: &mut [Resource]) -> Result<(), Error> {
    let fss = specs(fieldspec::REPLICAS);
    let count = match &rep.count {
        Value::Int(i) => Value::Int(*i),
        other => other.clone(),
    };
    for r in ra.iter_mut() {
        let cur = r.cur_id();
        let org = r.org_id();
        if cur.name != rep.name && org.name != rep.name {
            continue;
        }
        let gvk = r.gvk();
        let mut set = |v: &mut Value| -> Result<(), Error> {
            *v = count.clone();
            Ok(())
        };
        apply_specs(&mut r.value, &gvk, &fss, Create::Scalar, &mut set)?;
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

fn images(img: &Image, ra: &mut [Resource]) -> Result<(), Error> {
    let pattern = Regex::new(&format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$",
        img.name
    ));
    let Ok(pattern) = pattern else {
        return Ok(());
    };
    let fss = specs(fieldspec::IMAGES);
    for r in ra.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        legacy_containers(&mut r.value, img, &pattern);
        let gvk = r.gvk();
        let mut set = |v: &mut Value| -> Result<(), Error> {
            if let Value::Str(s) = v
                && let Some(new) = update_image(s, img, &pattern)
            {
                *s = new;
            }
            Ok(())
        };
        apply_specs(&mut r.value, &gvk, &fss, Create::No, &mut set)?;
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
                            *s = new;
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
