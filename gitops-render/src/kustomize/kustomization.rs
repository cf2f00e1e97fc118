//! The kustomization file, decoded the way kustomize decodes it: field names
//! match case-insensitively (Go `encoding/json`), unknown fields are errors.
//!
//! Parsing only: [`Kustomization::parse`] and the readers of its entries
//! (`replacements` and `vars` included) turn YAML into the data types of
//! [`types`](crate::kustomize::types); running them is the build's business.

use crate::Error;
use crate::kustomize::decode::Obj;
use crate::kustomize::types::{
    FieldOptions, FieldSpec, GeneratorArgs, GeneratorOptions, Image, Label, Patch, Replacement,
    ReplacementField, Replica, Selector, SortOptions, SourceSelector, TargetSelector, Var,
};
use crate::resource::Gvk;
use crate::value::{Map, Value};

/// File names a kustomization may have, in kustomize's lookup order.
pub(crate) const FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields we read but do not implement yet; using one is a typed error.
const UNSUPPORTED: [&str; 4] = [
    "helmChartInflationGenerator",
    "helmMetadata",
    "inventory",
    "replacementsFile",
];

#[derive(Debug, Clone, Default)]
pub(crate) struct Kustomization {
    pub kind: String,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<Label>,
    pub common_annotations: Vec<(String, String)>,
    pub images: Vec<Image>,
    pub replicas: Vec<Replica>,
    pub patches: Vec<Patch>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub sort_options: Option<SortOptions>,
    /// `configurations`: transformer config files.
    pub configurations: Vec<String>,
    /// `crds`: CRD OpenAPI files.
    pub crds: Vec<String>,
    /// `openapi`: `path` or `version` of a custom schema.
    pub openapi: Vec<(String, String)>,
    /// `transformers`: plugin config files, directories or inline YAML.
    pub transformers: Vec<String>,
    /// `generators`: likewise.
    pub generators: Vec<String>,
    /// `validators`: likewise.
    pub validators: Vec<String>,
    /// `helmCharts`, for a caller-supplied executor.
    pub helm_charts: Vec<Value>,
    /// `helmGlobals`.
    pub helm_globals: Option<Value>,
    pub replacements: Vec<ReplacementField>,
    pub vars: Vec<Var>,
    pub build_metadata: Vec<String>,
    /// The kustomization file's name (`kustomization.yaml`, …).
    pub file_name: String,
}

/// Reads the fields of one mapping, case-insensitively, and rejects the rest.
pub(crate) struct Fields<'a> {
    map: &'a Map,
    used: Vec<bool>,
    file: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(v: &'a Value, file: &'a str, what: &str) -> Result<Fields<'a>, Error> {
        let map = v.as_map().ok_or_else(|| Error::Kustomization {
            file: file.to_owned(),
            message: format!("{what} must be a mapping"),
        })?;
        Ok(Fields {
            map,
            used: vec![false; map.len()],
            file,
        })
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<&'a Value> {
        let keys: Vec<&str> = self.map.keys().collect();
        let idx = keys
            .iter()
            .position(|k| *k == name)
            .or_else(|| keys.iter().position(|k| k.eq_ignore_ascii_case(name)))?;
        self.used[idx] = true;
        self.map.get(keys[idx]).filter(|v| !v.is_null())
    }

    pub(crate) fn err(&self, message: String) -> Error {
        Error::Kustomization {
            file: self.file.to_owned(),
            message,
        }
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<String, Error> {
        match self.take(name) {
            None => Ok(String::new()),
            Some(v) => v
                .scalar_text()
                .ok_or_else(|| self.err(format!("field {name:?} must be a string"))),
        }
    }

    pub(crate) fn boolean(&mut self, name: &str) -> Result<Option<bool>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(format!("field {name:?} must be a boolean"))),
        }
    }

    pub(crate) fn strings(&mut self, name: &str) -> Result<Vec<String>, Error> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Value::Seq(items)) => items
                .iter()
                .map(|i| {
                    i.scalar_text().ok_or_else(|| {
                        self.err(format!("field {name:?} must be a list of strings"))
                    })
                })
                .collect(),
            Some(_) => Err(self.err(format!("field {name:?} must be a list of strings"))),
        }
    }

    pub(crate) fn string_map(&mut self, name: &str) -> Result<Vec<(String, String)>, Error> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Value::Map(m)) => Ok(m
                .iter()
                .map(|(k, v)| (k.to_string(), v.scalar_text().unwrap_or_default()))
                .collect()),
            Some(_) => Err(self.err(format!("field {name:?} must be a mapping of strings"))),
        }
    }

    pub(crate) fn list(&mut self, name: &str) -> Result<&'a [Value], Error> {
        match self.take(name) {
            None => Ok(&[]),
            Some(Value::Seq(items)) => Ok(items),
            Some(_) => Err(self.err(format!("field {name:?} must be a list"))),
        }
    }

    pub(crate) fn finish(self, what: &str) -> Result<(), Error> {
        for (i, k) in self.map.keys().enumerate() {
            if !self.used[i] {
                return Err(Error::Kustomization {
                    file: self.file.to_owned(),
                    message: format!(
                        "unknown field {:?} in {what}",
                        gitops_core::quote::truncated(k)
                    ),
                });
            }
        }
        Ok(())
    }
}

pub(crate) fn selector(v: &Value, file: &str) -> Result<Selector, Error> {
    let mut f = Fields::new(v, file, "target")?;
    let s = Selector {
        group: f.string("group")?,
        version: f.string("version")?,
        kind: f.string("kind")?,
        name: f.string("name")?,
        namespace: f.string("namespace")?,
        label_selector: f.string("labelSelector")?,
        annotation_selector: f.string("annotationSelector")?,
    };
    f.finish("target")?;
    Ok(s)
}

fn patch(v: &Value, file: &str) -> Result<Patch, Error> {
    let mut f = Fields::new(v, file, "patch")?;
    let mut p = Patch {
        path: f.string("path")?,
        patch: f.string("patch")?,
        target: f.take("target").map(|t| selector(t, file)).transpose()?,
        ..Patch::default()
    };
    if let Some(o) = f.take("options") {
        let mut of = Fields::new(o, file, "patch options")?;
        p.allow_name_change = of.boolean("allowNameChange")?.unwrap_or(false);
        p.allow_kind_change = of.boolean("allowKindChange")?.unwrap_or(false);
        of.finish("patch options")?;
    }
    f.finish("patch")?;
    Ok(p)
}

fn generator_options(v: &Value, file: &str) -> Result<GeneratorOptions, Error> {
    let mut f = Fields::new(v, file, "generatorOptions")?;
    let o = GeneratorOptions {
        labels: f.string_map("labels")?,
        annotations: f.string_map("annotations")?,
        disable_name_suffix_hash: f.boolean("disableNameSuffixHash")?,
        immutable: f.boolean("immutable")?,
    };
    f.finish("generatorOptions")?;
    Ok(o)
}

pub(crate) fn generator(v: &Value, file: &str, secret: bool) -> Result<GeneratorArgs, Error> {
    let what = if secret {
        "secretGenerator"
    } else {
        "configMapGenerator"
    };
    let mut f = Fields::new(v, file, what)?;
    let mut g = GeneratorArgs {
        name: f.string("name")?,
        namespace: f.string("namespace")?,
        behavior: f.string("behavior")?,
        literals: f.strings("literals")?,
        files: f.strings("files")?,
        envs: f.strings("envs")?,
        ..GeneratorArgs::default()
    };
    let env = f.string("env")?;
    if !env.is_empty() {
        g.envs.push(env);
    }
    g.options = f
        .take("options")
        .map(|o| generator_options(o, file))
        .transpose()?;
    if secret {
        g.secret_type = f.string("type")?;
    }
    f.finish(what)?;
    Ok(g)
}

pub(crate) fn field_spec(v: &Value, file: &str) -> Result<FieldSpec, Error> {
    let mut f = Fields::new(v, file, "fieldSpec")?;
    let fs = FieldSpec {
        group: f.string("group")?,
        version: f.string("version")?,
        kind: f.string("kind")?,
        path: f.string("path")?,
        create: f.boolean("create")?.unwrap_or(false),
    };
    f.finish("fieldSpec")?;
    Ok(fs)
}

fn replacement_options(v: &Value, file: &str, strict: bool) -> Result<FieldOptions, Error> {
    let mut o = Obj::new(v, file, "replacement options")?;
    let opts = FieldOptions {
        delimiter: o.string("delimiter")?,
        index: o.int("index")?,
        create: o.boolean("create")?,
    };
    // Declared by kustomize but not implemented there either (#3492).
    o.skip("encoding");
    o.finish(strict)?;
    Ok(opts)
}

fn replacement_id(o: &mut Obj<'_>) -> Result<Selector, Error> {
    Ok(Selector {
        group: o.string("group")?,
        version: o.string("version")?,
        kind: o.string("kind")?,
        name: o.string("name")?,
        namespace: o.string("namespace")?,
        ..Selector::default()
    })
}

fn replacement_selector(v: &Value, file: &str, strict: bool) -> Result<Selector, Error> {
    let mut o = Obj::new(v, file, "replacement selector")?;
    let mut s = replacement_id(&mut o)?;
    s.label_selector = o.string("labelSelector")?;
    s.annotation_selector = o.string("annotationSelector")?;
    o.finish(strict)?;
    Ok(s)
}

pub(crate) fn replacement(o: &mut Obj<'_>, file: &str, strict: bool) -> Result<Replacement, Error> {
    let source = match o.get("source") {
        None => None,
        Some(v) => {
            let mut so = Obj::new(v, file, "replacement source")?;
            let id = replacement_id(&mut so)?;
            let field_path = so.string("fieldPath")?;
            let opts = so
                .get("options")
                .map(|v| replacement_options(v, file, strict))
                .transpose()?;
            so.finish(strict)?;
            Some(SourceSelector {
                id,
                field_path,
                options: opts,
            })
        }
    };
    let source_value = o.opt_string("sourceValue")?;
    let targets = match o.list("targets")? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .map(|t| {
                    let mut to = Obj::new(t, file, "replacement target")?;
                    let select = to
                        .get("select")
                        .map(|v| replacement_selector(v, file, strict))
                        .transpose()?;
                    let reject = to
                        .list("reject")?
                        .unwrap_or(&[])
                        .iter()
                        .map(|v| replacement_selector(v, file, strict))
                        .collect::<Result<_, _>>()?;
                    let field_paths = to.strings("fieldPaths")?;
                    let opts = to
                        .get("options")
                        .map(|v| replacement_options(v, file, strict))
                        .transpose()?;
                    to.finish(strict)?;
                    Ok(TargetSelector {
                        select,
                        reject,
                        field_paths,
                        options: opts,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?,
        ),
    };
    Ok(Replacement {
        source,
        source_value,
        targets,
    })
}

/// Read a `replacements` list (kustomization field or transformer config).
/// With `strict` (a kustomization) unknown fields are errors, as in
/// kustomize's strict kustomization decoding; plugin configs are lenient.
pub(crate) fn replacement_fields(
    v: &Value,
    file: &str,
    strict: bool,
) -> Result<Vec<ReplacementField>, Error> {
    let Value::Seq(items) = v else {
        return Err(Error::Kustomization {
            file: file.to_owned(),
            message: "field \"replacements\" must be a list".into(),
        });
    };
    let mut out = Vec::new();
    for item in items {
        let mut o = Obj::new(item, file, "replacements entry")?;
        let path = o.string("path")?;
        let r = replacement(&mut o, file, strict)?;
        o.finish(strict)?;
        if path.is_empty() {
            out.push(ReplacementField::Inline(Box::new(r)));
        } else if r.source.is_some() || r.targets.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(Error::Kustomization {
                file: file.to_owned(),
                message: "cannot specify both path and inline replacement".into(),
            });
        } else {
            out.push(ReplacementField::Path(path));
        }
    }
    Ok(out)
}

/// Read a kustomization's `vars` list.
pub(crate) fn vars(v: &Value, file: &str) -> Result<Vec<Var>, Error> {
    let Value::Seq(items) = v else {
        return Err(Error::Kustomization {
            file: file.to_owned(),
            message: "field \"vars\" must be a list".into(),
        });
    };
    let mut out = Vec::new();
    for item in items {
        let mut o = Obj::new(item, file, "vars entry")?;
        let mut var = Var {
            name: o.string("name")?,
            ..Var::default()
        };
        if let Some(objref) = o.get("objref") {
            let mut r = Obj::new(objref, file, "vars objref")?;
            var.api_version = r.string("apiVersion")?;
            var.gvk = Gvk {
                group: r.string("group")?.into(),
                version: r.string("version")?.into(),
                kind: r.string("kind")?.into(),
            };
            var.obj_name = r.string("name")?;
            var.obj_namespace = r.string("namespace")?;
            r.finish(true)?;
        }
        if let Some(fr) = o.get("fieldref") {
            let mut r = Obj::new(fr, file, "vars fieldref")?;
            var.field_path = r.string("fieldPath")?;
            r.finish(true)?;
        }
        o.finish(true)?;
        // kustomize's Target.GVK(): apiVersion wins over group/version.
        if !var.api_version.is_empty() {
            let parts: Vec<&str> = var.api_version.split('/').collect();
            match parts.as_slice() {
                [g, v] => {
                    var.gvk.group = (*g).into();
                    var.gvk.version = (*v).into();
                }
                [v] => var.gvk.version = (*v).into(),
                _ => {}
            }
        }
        if var.field_path.is_empty() {
            var.field_path = "metadata.name".into();
        }
        out.push(var);
    }
    Ok(out)
}

/// Read a kustomization's `buildMetadata` list.
fn build_metadata(v: &Value, file: &str) -> Result<Vec<String>, Error> {
    match v {
        Value::Seq(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s.to_string()),
                _ => Err(Error::Kustomization {
                    file: file.to_owned(),
                    message: "field \"buildMetadata\" must be a list of strings".into(),
                }),
            })
            .collect(),
        _ => Err(Error::Kustomization {
            file: file.to_owned(),
            message: "field \"buildMetadata\" must be a list of strings".into(),
        }),
    }
}

/// kustomize's `EnforceFields`: known kind, matching apiVersion.
fn enforce_type(kind: &str, api_version: &str, file: &str) -> Result<(), Error> {
    let mut errs = Vec::new();
    if !kind.is_empty() && kind != "Kustomization" && kind != "Component" {
        errs.push("kind should be Kustomization or Component".to_owned());
    }
    let required = if kind == "Component" {
        "kustomize.config.k8s.io/v1alpha1"
    } else {
        "kustomize.config.k8s.io/v1beta1"
    };
    if !api_version.is_empty() && api_version != required {
        errs.push(format!("apiVersion for {kind} should be {required}"));
    }
    if errs.is_empty() {
        return Ok(());
    }
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    Err(Error::Kustomization {
        file: file.to_owned(),
        message: format!(
            "Failed to read kustomization file under {}:\n{}",
            if dir.is_empty() { "/" } else { dir },
            errs.join("\n")
        ),
    })
}

impl Kustomization {
    pub(crate) fn parse(v: &Value, file: &str) -> Result<Kustomization, Error> {
        let mut f = Fields::new(v, file, "kustomization")?;
        for name in UNSUPPORTED {
            if let Some(val) = f.take(name) {
                let empty = match val {
                    Value::Seq(s) => s.is_empty(),
                    Value::Map(m) => m.is_empty(),
                    _ => false,
                };
                if !empty {
                    return Err(Error::Unsupported {
                        file: file.to_owned(),
                        field: name.to_owned(),
                    });
                }
            }
        }
        let build_metadata = f
            .take("buildMetadata")
            .map(|v| build_metadata(v, file))
            .transpose()?
            .unwrap_or_default();
        let api_version = f.string("apiVersion")?;
        f.take("metadata");
        let mut k = Kustomization {
            kind: f.string("kind")?,
            resources: f.strings("resources")?,
            components: f.strings("components")?,
            name_prefix: f.string("namePrefix")?,
            name_suffix: f.string("nameSuffix")?,
            namespace: f.string("namespace")?,
            common_labels: f.string_map("commonLabels")?,
            common_annotations: f.string_map("commonAnnotations")?,
            patches_strategic_merge: f.strings("patchesStrategicMerge")?,
            ..Kustomization::default()
        };
        enforce_type(&k.kind, &api_version, file)?;
        k.resources.extend(f.strings("bases")?);
        k.configurations = f.strings("configurations")?;
        k.crds = f.strings("crds")?;
        k.openapi = f.string_map("openapi")?;
        k.transformers = f.strings("transformers")?;
        k.generators = f.strings("generators")?;
        k.validators = f.strings("validators")?;
        k.helm_charts = f.list("helmCharts")?.to_vec();
        k.helm_globals = f.take("helmGlobals").cloned();
        for l in f.list("labels")? {
            let mut lf = Fields::new(l, file, "labels entry")?;
            let label = Label {
                pairs: lf.string_map("pairs")?,
                include_selectors: lf.boolean("includeSelectors")?.unwrap_or(false),
                include_templates: lf.boolean("includeTemplates")?.unwrap_or(false),
                fields: lf
                    .list("fields")?
                    .iter()
                    .map(|v| field_spec(v, file))
                    .collect::<Result<_, _>>()?,
            };
            lf.finish("labels entry")?;
            k.labels.push(label);
        }
        let mut images = f.list("images")?.to_vec();
        images.extend(f.list("imageTags")?.iter().cloned());
        for i in &images {
            let mut fi = Fields::new(i, file, "images entry")?;
            k.images.push(Image {
                name: fi.string("name")?,
                new_name: fi.string("newName")?,
                new_tag: fi.string("newTag")?,
                digest: fi.string("digest")?,
                tag_suffix: fi.string("tagSuffix")?,
            });
            fi.finish("images entry")?;
        }
        for r in f.list("replicas")? {
            let mut fr = Fields::new(r, file, "replicas entry")?;
            k.replicas.push(Replica {
                name: fr.string("name")?,
                count: fr.take("count").cloned().unwrap_or(Value::Int(0)),
            });
            fr.finish("replicas entry")?;
        }
        for p in f.list("patches")? {
            k.patches.push(patch(p, file)?);
        }
        for p in f.list("patchesJson6902")? {
            k.patches_json6902.push(patch(p, file)?);
        }
        for g in f.list("configMapGenerator")? {
            k.config_map_generator.push(generator(g, file, false)?);
        }
        for g in f.list("secretGenerator")? {
            k.secret_generator.push(generator(g, file, true)?);
        }
        k.generator_options = f
            .take("generatorOptions")
            .map(|o| generator_options(o, file))
            .transpose()?;
        if let Some(so) = f.take("sortOptions") {
            let mut sf = Fields::new(so, file, "sortOptions")?;
            let mut opts = SortOptions {
                order: sf.string("order")?,
                ..SortOptions::default()
            };
            if let Some(lso) = sf.take("legacySortOptions") {
                let mut lf = Fields::new(lso, file, "legacySortOptions")?;
                opts.order_first = Some(lf.strings("orderFirst")?);
                opts.order_last = Some(lf.strings("orderLast")?);
                lf.finish("legacySortOptions")?;
            }
            sf.finish("sortOptions")?;
            k.sort_options = Some(opts);
        }
        if let Some(r) = f.take("replacements") {
            k.replacements = replacement_fields(r, file, true)?;
        }
        k.build_metadata = build_metadata;
        if let Some(v) = f.take("vars") {
            k.vars = vars(v, file)?;
        }
        f.finish("kustomization")?;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::yaml::parse_documents;

    fn parse(src: &str) -> Result<Kustomization, Error> {
        let docs = parse_documents(src, "/k/kustomization.yaml").unwrap();
        Kustomization::parse(&Value::from_node(&docs[0].root), "/k/kustomization.yaml")
    }

    #[test]
    fn api_version_must_match_the_kind() {
        assert!(
            parse("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n").is_ok()
        );
        assert!(parse("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n").is_ok());
        let err = parse("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Failed to read kustomization file under /k:")
                && err.contains(
                    "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1"
                ),
            "{err}"
        );
        let err = parse("kind: Kustomisation\n").unwrap_err().to_string();
        assert!(
            err.contains("kind should be Kustomization or Component"),
            "{err}"
        );
    }

    #[test]
    fn plugin_and_config_fields_are_read() {
        let k = parse(
            "configurations: [c.yaml]\ncrds: [crd.json]\nopenapi:\n  path: s.json\ntransformers: [t.yaml]\ngenerators: [g.yaml]\nvalidators: [v.yaml]\nhelmCharts:\n- name: redis\n",
        )
        .unwrap();
        assert_eq!(k.configurations, ["c.yaml"]);
        assert_eq!(k.crds, ["crd.json"]);
        assert_eq!(k.openapi, [("path".to_owned(), "s.json".to_owned())]);
        assert_eq!(k.transformers, ["t.yaml"]);
        assert_eq!(k.generators, ["g.yaml"]);
        assert_eq!(k.validators, ["v.yaml"]);
        assert_eq!(k.helm_charts.len(), 1);
    }
}
