//! `flux create helmrelease`: [`HelmReleaseFlags`], [`ValuesFile`] and the
//! `HelmRelease` builder.

use super::{
    Error, GoDuration, HELM_V2, Meta, SourceRef, assemble, check_choice, depends_on, duration,
    equal_fold, kind_name_namespace, map, name_ref, nonempty, put_opt, s, validate,
};
use crate::value::{Map, Value};

const CHART_SOURCE_KINDS: [&str; 3] = ["HelmRepository", "GitRepository", "Bucket"];

/// A `--values` file: its name as given and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesFile {
    /// The path as given on the command line (for messages).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// Flags of `flux create helmrelease`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelmReleaseFlags {
    /// `--release-name`.
    pub release_name: Option<String>,
    /// `--source` (`<kind>/<name>[.<namespace>]`).
    pub source: Option<String>,
    /// `--chart`.
    pub chart: Option<String>,
    /// `--chart-version`.
    pub chart_version: Option<String>,
    /// `--chart-ref` (`<kind>/<name>[.<namespace>]`, OCIRepository or HelmChart).
    pub chart_ref: Option<String>,
    /// `--depends-on`.
    pub depends_on: Vec<String>,
    /// `--target-namespace`.
    pub target_namespace: Option<String>,
    /// `--storage-namespace`.
    pub storage_namespace: Option<String>,
    /// `--create-target-namespace`.
    pub create_target_namespace: bool,
    /// `--service-account`.
    pub service_account: Option<String>,
    /// `--reconcile-strategy` (default `ChartVersion`).
    pub reconcile_strategy: Option<String>,
    /// `--chart-interval`.
    pub chart_interval: Option<GoDuration>,
    /// `--values` files, read by the caller, in order.
    pub values: Vec<ValuesFile>,
    /// `--values-from` (`<kind>/<name>`, Secret or ConfigMap).
    pub values_from: Vec<String>,
    /// `--crds` (`Skip`, `Create`, `CreateReplace`).
    pub crds: Option<String>,
    /// `--kubeconfig-secret-ref`.
    pub kubeconfig_secret_ref: Option<String>,
}

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(x) => s(x),
        serde_json::Value::Array(a) => Value::Seq(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), json_to_value(v));
            }
            Value::Map(m)
        }
    }
}

/// A `HelmRelease` (`flux create helmrelease NAME …`).
pub fn helm_release(meta: &Meta, o: &HelmReleaseFlags) -> Result<Value, Error> {
    let source = match o.source.as_deref() {
        None => SourceRef::default(),
        Some(v) => {
            let bad = |reason: String| Error::FlagValue {
                flag: "source",
                value: v.to_owned(),
                reason,
            };
            if v.trim().is_empty() {
                return Err(bad("no helm chart source given, please specify source that contains the chart in the format '<kind>/<name>.<namespace>', where kind must be one of: (HelmRepository, GitRepository, Bucket)".into()));
            }
            let (kind, name, namespace) = kind_name_namespace(v);
            if kind.is_empty() || name.is_empty() {
                return Err(bad(format!(
                    "invalid helm chart source '{v}', must be in format <kind>/<name>"
                )));
            }
            let Some(clean) = equal_fold(&CHART_SOURCE_KINDS, &kind) else {
                return Err(bad(format!(
                    "source kind '{kind}' is not supported, must be one of: HelmRepository, GitRepository, Bucket"
                )));
            };
            SourceRef {
                kind: clean.to_owned(),
                name,
                namespace,
            }
        }
    };
    check_choice(
        "crds",
        &o.crds,
        &["Skip", "Create", "CreateReplace"],
        "no upgrade CRDs policy given, must be one of: Skip, Create, CreateReplace".into(),
        |v| {
            format!(
                "unsupported upgrade CRDs policy '{v}', must be one of: Skip, Create, CreateReplace"
            )
        },
    )?;
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    let target_ns = nonempty(&o.target_namespace);
    let storage_ns = nonempty(&o.storage_namespace).or(target_ns);
    let chart = nonempty(&o.chart);
    let chart_ref = nonempty(&o.chart_ref);
    if chart.is_none() && chart_ref.is_none() {
        return Err(Error::Flags {
            flag: "chart",
            message: "chart or chart-ref is required",
        });
    }
    if chart.is_some() && chart_ref.is_some() {
        return Err(Error::Flags {
            flag: "chart-ref",
            message: "cannot use --chart in combination with --chart-ref",
        });
    }
    let labels = validate::labels(&meta.labels)?;
    let strategy = o.reconcile_strategy.as_deref().unwrap_or("ChartVersion");
    if strategy != "Revision" && strategy != "ChartVersion" {
        return Err(Error::Invalid {
            flag: "reconcile-strategy",
            value: strategy.to_owned(),
            reason: format!(
                "'{strategy}' is an invalid reconcile strategy(valid: Revision, ChartVersion)"
            ),
        });
    }

    let mut spec = Map::new();
    put_opt(&mut spec, "releaseName", o.release_name.as_deref());
    spec.insert("interval", duration(meta.interval));
    put_opt(&mut spec, "targetNamespace", target_ns);
    put_opt(&mut spec, "storageNamespace", storage_ns);
    if !o.depends_on.is_empty() {
        spec.insert("dependsOn", depends_on(&o.depends_on));
    }
    if let Some(c) = chart {
        let mut cs = Map::new();
        cs.insert("chart", s(c));
        put_opt(&mut cs, "version", o.chart_version.as_deref());
        cs.insert("sourceRef", source.to_value(true));
        cs.insert("reconcileStrategy", s(strategy));
        if let Some(i) = o.chart_interval.filter(|i| !i.is_zero()) {
            cs.insert("interval", duration(i));
        }
        spec.insert("chart", map(vec![("spec", Value::Map(cs))]));
    } else if let Some(r) = chart_ref {
        let (kind, name, ns) = kind_name_namespace(r);
        if kind != "HelmChart" && kind != "OCIRepository" {
            return Err(Error::Invalid {
                flag: "chart-ref",
                value: r.to_owned(),
                reason: format!(
                    "chart reference kind '{kind}' is not supported, must be one of: OCIRepository, HelmChart"
                ),
            });
        }
        let sr = SourceRef {
            kind,
            name,
            namespace: ns,
        };
        spec.insert("chartRef", sr.to_value(false));
    }
    if let Some(secret) = nonempty(&o.kubeconfig_secret_ref) {
        spec.insert("kubeConfig", map(vec![("secretRef", name_ref(secret))]));
    }
    let mut install = Map::new();
    if o.create_target_namespace {
        install.insert("createNamespace", Value::Bool(true));
    }
    put_opt(
        &mut spec,
        "serviceAccountName",
        o.service_account.as_deref(),
    );
    if let Some(policy) = nonempty(&o.crds) {
        install.insert("crds", s("Create"));
        spec.insert("upgrade", map(vec![("crds", s(policy))]));
    }
    if o.create_target_namespace || nonempty(&o.crds).is_some() {
        spec.insert("install", Value::Map(install));
    }
    if !o.values.is_empty() {
        let mut merged = serde_json::Map::new();
        for f in &o.values {
            let m = crate::helm::values::read_values(&f.text, &f.name).map_err(|reason| {
                Error::Values {
                    action: "converting",
                    prep: "to JSON from",
                    file: f.name.clone(),
                    reason,
                }
            })?;
            merged = crate::helm::values::merge_maps(&merged, &m);
        }
        spec.insert("values", json_to_value(&serde_json::Value::Object(merged)));
    }
    if !o.values_from.is_empty() {
        let mut refs = Vec::new();
        for v in &o.values_from {
            let (kind, name) = match v.split('/').collect::<Vec<_>>().as_slice() {
                [k, n] => ((*k).to_owned(), (*n).to_owned()),
                _ => (String::new(), v.clone()),
            };
            if kind.is_empty() {
                return Err(Error::Invalid {
                    flag: "values-from",
                    value: v.clone(),
                    reason: format!(
                        "invalid Kubernetes object reference '{v}', must be in format <kind>/<name>"
                    ),
                });
            }
            let Some(clean) = equal_fold(&["Secret", "ConfigMap"], &kind) else {
                return Err(Error::Invalid {
                    flag: "values-from",
                    value: v.clone(),
                    reason: format!(
                        "reference kind '{kind}' is not supported, must be one of: Secret, ConfigMap"
                    ),
                });
            };
            refs.push(map(vec![("kind", s(clean)), ("name", s(&name))]));
        }
        spec.insert("valuesFrom", Value::Seq(refs.into()));
    }
    Ok(assemble(HELM_V2, "HelmRelease", meta, &labels, spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::create::export;

    #[test]
    fn chart_without_source_keeps_an_empty_name() {
        let meta = Meta::new("app", "flux-system");
        let o = HelmReleaseFlags {
            chart: Some("./charts/app".into()),
            reconcile_strategy: Some("Revision".into()),
            chart_interval: Some(GoDuration::minutes(5)),
            ..HelmReleaseFlags::default()
        };
        let y = export(&helm_release(&meta, &o).unwrap());
        assert!(
            y.contains(
                "      chart: ./charts/app\n      interval: 5m0s\n      reconcileStrategy: Revision\n      sourceRef:\n        name: \"\"\n"
            ),
            "{y}"
        );
    }
}
