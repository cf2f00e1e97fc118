//! Transformer configurations: the field specs every builtin transformer and
//! the name-reference fixer use, kustomize's defaults merged with the files a
//! kustomization lists under `configurations` and with what its `crds` say.
//!
//! Merging follows kustomize's `TransformerConfig.Merge`: an incoming spec is
//! dropped when an earlier one has the same path and the incoming group,
//! version and kind select it (a differing `create` flag is a conflict), and
//! each list is then sorted by kind order and group/version/kind. Because
//! every kustomization merges its config into an empty accumulator, a custom
//! spec for one kind that sorts before a default spec for all kinds with the
//! same path drops the default (kustomize does exactly this: a custom
//! `namePrefix` spec for `ConfigMap` stops prefixing other kinds).

use crate::budget::parse_documents;

use crate::Error;
use crate::kustomize::fieldspec::{self, specs};
use crate::kustomize::gvk::gvk_order;
use crate::kustomize::kustomization::{Fields, field_spec};
use crate::kustomize::types::FieldSpec;
use crate::resource::Gvk;
use crate::value::Value;

/// Which objects hold the name of objects of kind `target`, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameBackRef {
    /// The referenced kind.
    pub target: Gvk,
    /// Where referrers hold its name.
    pub referrers: Vec<FieldSpec>,
}

/// kustomize's `TransformerConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

fn conflict(what: &str) -> Error {
    Error::Transform {
        message: format!("failed to merge {what} fieldSpec: conflicting fieldspecs"),
    }
}

/// kustomize's `FsSlice.MergeOne` over a list: append `incoming` unless an
/// existing spec with the same path is selected by its group/version/kind.
pub(crate) fn merge_fs(
    mut into: Vec<FieldSpec>,
    incoming: &[FieldSpec],
    what: &str,
) -> Result<Vec<FieldSpec>, Error> {
    for x in incoming {
        match into
            .iter()
            .find(|e| e.path == x.path && e.gvk().is_selected(&x.gvk()))
        {
            Some(e) if e.create != x.create => return Err(conflict(what)),
            Some(_) => {}
            None => into.push(x.clone()),
        }
    }
    Ok(into)
}

fn sort_fs(v: &mut [FieldSpec]) {
    v.sort_by(|a, b| gvk_order(&a.gvk(), &b.gvk()));
}

fn merge_sorted(a: &[FieldSpec], b: &[FieldSpec], what: &str) -> Result<Vec<FieldSpec>, Error> {
    let mut v = merge_fs(a.to_vec(), b, what)?;
    sort_fs(&mut v);
    Ok(v)
}

impl TransformerConfig {
    /// kustomize's built-in field specs.
    pub(crate) fn defaults() -> TransformerConfig {
        let name = vec![FieldSpec {
            path: "metadata/name".into(),
            ..FieldSpec::default()
        }];
        let mut template_labels = specs(fieldspec::METADATA_LABELS);
        template_labels.extend(specs(fieldspec::VOLUME_CLAIM_LABELS));
        let mut common_labels = specs(fieldspec::COMMON_LABELS);
        common_labels.extend(template_labels.iter().cloned());
        let mut name_reference: Vec<NameBackRef> = Vec::new();
        for (target, referrer) in crate::kustomize::nameref_rules::default_rules() {
            match name_reference.iter_mut().find(|n| n.target == target) {
                Some(n) => n.referrers.push(referrer),
                None => name_reference.push(NameBackRef {
                    target,
                    referrers: vec![referrer],
                }),
            }
        }
        let mut c = TransformerConfig {
            name_prefix: name.clone(),
            name_suffix: name,
            namespace: specs(fieldspec::NAMESPACE),
            common_labels,
            labels: Vec::new(),
            template_labels,
            common_annotations: specs(fieldspec::COMMON_ANNOTATIONS),
            name_reference,
            var_reference: Vec::new(),
            images: specs(fieldspec::IMAGES),
            replicas: specs(fieldspec::REPLICAS),
        };
        c.sort();
        c
    }

    fn sort(&mut self) {
        for v in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            sort_fs(v);
        }
        self.name_reference
            .sort_by(|a, b| gvk_order(&a.target, &b.target));
    }

    /// kustomize's `TransformerConfig.Merge`: `self` then `other`, sorted.
    pub(crate) fn merge(&self, other: &TransformerConfig) -> Result<TransformerConfig, Error> {
        if self == other {
            // Every spec of `other` is already there; both are sorted.
            return Ok(self.clone());
        }
        let mut name_reference = self.name_reference.clone();
        for nbr in &other.name_reference {
            match name_reference.iter_mut().find(|n| n.target == nbr.target) {
                Some(n) => {
                    n.referrers = merge_fs(
                        std::mem::take(&mut n.referrers),
                        &nbr.referrers,
                        "NameReference",
                    )?;
                }
                None => name_reference.push(nbr.clone()),
            }
        }
        name_reference.sort_by(|a, b| gvk_order(&a.target, &b.target));
        Ok(TransformerConfig {
            name_prefix: merge_sorted(&self.name_prefix, &other.name_prefix, "NamePrefix")?,
            name_suffix: merge_sorted(&self.name_suffix, &other.name_suffix, "NameSuffix")?,
            namespace: merge_sorted(&self.namespace, &other.namespace, "NameSpace")?,
            common_labels: merge_sorted(&self.common_labels, &other.common_labels, "CommonLabels")?,
            labels: merge_sorted(&self.labels, &other.labels, "Labels")?,
            template_labels: merge_sorted(
                &self.template_labels,
                &other.template_labels,
                "TemplateLabels",
            )?,
            common_annotations: merge_sorted(
                &self.common_annotations,
                &other.common_annotations,
                "CommonAnnotations",
            )?,
            name_reference,
            var_reference: merge_sorted(&self.var_reference, &other.var_reference, "VarReference")?,
            images: merge_sorted(&self.images, &other.images, "Images")?,
            replicas: merge_sorted(&self.replicas, &other.replicas, "Replicas")?,
        })
    }

    /// Parse one `configurations` file (strict: unknown fields are errors).
    pub(crate) fn parse(text: &str, file: &str) -> Result<TransformerConfig, Error> {
        let docs = parse_documents(text, file)?;
        let Some(root) = docs
            .into_iter()
            .find(|d| !d.is_empty())
            .map(|d| Value::from_node(&d.root))
        else {
            return Ok(TransformerConfig::default());
        };
        let mut f = Fields::new(&root, file, "transformer configuration")?;
        let list = |f: &mut Fields<'_>, name: &str| -> Result<Vec<FieldSpec>, Error> {
            f.list(name)?.iter().map(|v| field_spec(v, file)).collect()
        };
        let mut c = TransformerConfig {
            name_prefix: list(&mut f, "namePrefix")?,
            name_suffix: list(&mut f, "nameSuffix")?,
            namespace: list(&mut f, "namespace")?,
            common_labels: list(&mut f, "commonLabels")?,
            labels: list(&mut f, "labels")?,
            template_labels: list(&mut f, "templateLabels")?,
            common_annotations: list(&mut f, "commonAnnotations")?,
            var_reference: list(&mut f, "varReference")?,
            images: list(&mut f, "images")?,
            replicas: list(&mut f, "replicas")?,
            name_reference: Vec::new(),
        };
        for nbr in f.list("nameReference")? {
            let mut nf = Fields::new(nbr, file, "nameReference entry")?;
            let target = Gvk {
                group: nf.string("group")?.into(),
                version: nf.string("version")?.into(),
                kind: nf.string("kind")?.into(),
            };
            let referrers = nf
                .list("fieldSpecs")?
                .iter()
                .map(|v| field_spec(v, file))
                .collect::<Result<Vec<_>, _>>()?;
            nf.finish("nameReference entry")?;
            c.name_reference.push(NameBackRef { target, referrers });
        }
        f.finish("transformer configuration")?;
        c.sort();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            kind: kind.into(),
            path: path.into(),
            create,
            ..FieldSpec::default()
        }
    }

    #[test]
    fn merge_drops_specs_selected_by_an_incoming_one() {
        let a = vec![fs("ConfigMap", "metadata/name", false)];
        let merged = merge_fs(a.clone(), &[fs("", "metadata/name", false)], "x").unwrap();
        assert_eq!(merged, a);
        let merged = merge_fs(a, &[fs("Service", "metadata/name", false)], "x").unwrap();
        assert_eq!(merged.len(), 2);
    }

    #[test]
    fn defaults_are_stable_under_merging() {
        let d = TransformerConfig::defaults();
        assert_eq!(TransformerConfig::default().merge(&d).unwrap(), d);
        assert_eq!(d.merge(&d).unwrap(), d);
    }

    #[test]
    fn merge_rejects_conflicting_create_flags() {
        let a = vec![fs("ConfigMap", "data/x", false)];
        let err = merge_fs(a, &[fs("ConfigMap", "data/x", true)], "Images").unwrap_err();
        assert!(err.to_string().contains("conflicting fieldspecs"), "{err}");
    }

    #[test]
    fn kind_specific_spec_sorts_first_and_shadows_the_default() {
        let custom = TransformerConfig::parse(
            "namePrefix:\n- path: metadata/name\n  kind: ConfigMap\n",
            "/c.yaml",
        )
        .unwrap();
        let merged = TransformerConfig::defaults().merge(&custom).unwrap();
        assert_eq!(merged.name_prefix.len(), 2);
        assert_eq!(merged.name_prefix[0].kind, "ConfigMap");
        let acc = TransformerConfig::default().merge(&merged).unwrap();
        assert_eq!(
            acc.name_prefix,
            vec![fs("ConfigMap", "metadata/name", false)]
        );
    }

    /// Checked against kubectl v1.35 (kustomize v5.7.1): the ConfigMap spec
    /// shadows the default one, so the Service keeps its name, and two specs
    /// reaching `data/foo` prefix it twice.
    #[test]
    fn custom_name_prefix_specs_behave_like_kubectl() {
        use crate::{Options, render};
        use gitops_core::fs::{MemTree, RelPath};
        let mut t = MemTree::new();
        t.insert(
            "kustomization.yaml",
            "namePrefix: p-\nresources: [r.yaml]\nconfigurations: [c.yaml]\n",
        )
        .unwrap();
        t.insert(
            "c.yaml",
            "namePrefix:\n- path: metadata/name\n  kind: ConfigMap\n- path: data/foo\n  kind: ConfigMap\n  create: true\n- path: data/foo\n  version: v1\n",
        )
        .unwrap();
        t.insert(
            "r.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  foo: bar\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        )
        .unwrap();
        let out = render(&t, &RelPath::root(), &Options::default()).unwrap();
        assert_eq!(
            out,
            "apiVersion: v1\ndata:\n  foo: p-p-bar\nkind: ConfigMap\nmetadata:\n  name: p-cm\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n"
        );
    }

    #[test]
    fn parse_is_strict_and_reads_name_references() {
        let c = TransformerConfig::parse(
            "nameReference:\n- kind: Foo\n  fieldSpecs:\n  - kind: Bar\n    path: spec/foo\n",
            "/c.yaml",
        )
        .unwrap();
        assert_eq!(c.name_reference[0].target.kind, "Foo");
        assert_eq!(c.name_reference[0].referrers[0].path, "spec/foo");
        let err = TransformerConfig::parse("bogus: []\n", "/c.yaml").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }
}
