//! `helmCharts` whose chart is in the tree, rendered in-process the way
//! kustomize v5.7.1's `HelmChartInflationGenerator` runs `helm template`
//! (Helm v4.1.4, [`crate::helm::chart`]).
//!
//! The chart is `<chartHome>/<name>` (`chartHome` defaults to `charts`,
//! relative to the kustomization; with both `version` and `repo` set it is
//! `<chartHome>/<name>-<version>/<name>`). Values: `valuesFile` (default:
//! the chart's own `values.yaml`, which must then exist, as in kustomize),
//! with `valuesInline` merged over it (`valuesMerge: override`, the
//! default), under it (`merge`) or instead of it (`replace`), then each
//! `additionalValuesFiles` entry. The flags: `releaseName` (else Helm's
//! `--generate-name`: `<name>-<unix seconds>`), `namespace`,
//! `includeCRDs`, `skipTests`, `skipHooks`, `apiVersions`, `kubeVersion`.
//! `nameTemplate` and an absolute `chartHome` are an error naming them; a
//! chart that is not in the tree goes to the caller's executor.

use serde_json::{Map as JsonMap, Value as Json};

use gitops_core::fs::{EntryKind, RelPath};

use crate::Error;
use crate::helm::chart::{self, RenderOptions};
use crate::helm::values::read_values;
use crate::kustomize::loader::{Source, display, read_in_root, resolve};
use crate::resource::Resource;
use crate::value::Value;

/// What became of a `helmCharts` entry.
pub(crate) enum Inflated {
    /// Rendered: `helm template`'s output.
    Rendered(String),
    /// The chart is not in the tree: `(chart path, repo)`.
    NotLocal(String, String),
}

fn err(dir: &RelPath, message: String) -> Error {
    Error::Kustomization {
        file: display(dir),
        message,
    }
}

/// Render the chart of a `HelmChartInflationGenerator` config when it is in the tree.
pub(crate) fn inflate(
    src: &Source<'_>,
    dir: &RelPath,
    config: &Resource,
) -> Result<Inflated, Error> {
    let c = config.value.as_map();
    let text = |k: &str| -> String {
        c.and_then(|m| m.get(k))
            .and_then(Value::scalar_text)
            .unwrap_or_default()
    };
    let flag = |k: &str| matches!(c.and_then(|m| m.get(k)), Some(Value::Bool(true)));
    let name = text("name");
    if name.is_empty() {
        return Err(err(dir, "helmCharts: chart name cannot be empty".into()));
    }
    let (version, repo) = (text("version"), text("repo"));
    if !text("nameTemplate").is_empty() {
        return Err(err(
            dir,
            format!("helmCharts: chart {name:?}: nameTemplate is not supported"),
        ));
    }
    let mut home = text("chartHome");
    if home.is_empty() {
        home = "charts".into();
    }
    if home.starts_with('/') {
        return Err(err(
            dir,
            format!("helmCharts: chart {name:?}: an absolute chartHome ({home}) is not supported"),
        ));
    }
    if !version.is_empty() && !repo.is_empty() {
        home = format!("{home}/{name}-{version}");
    }
    let chart_rel = format!("{home}/{name}");
    let chart_dir = resolve(dir, &chart_rel)?;
    let tree = src.tree();
    if !matches!(tree.kind(&chart_dir), Ok(Some(EntryKind::Dir))) {
        return Ok(Inflated::NotLocal(chart_rel, repo));
    }
    let merge_mode = match text("valuesMerge").as_str() {
        "" | "override" => "override",
        "merge" => "merge",
        "replace" => "replace",
        _ => {
            return Err(err(
                dir,
                "valuesMerge must be one of [override replace merge]".into(),
            ));
        }
    };
    let values_file = match text("valuesFile") {
        f if f.is_empty() => format!("{chart_rel}/values.yaml"),
        f => f,
    };
    let load = |rel: &str| -> Result<JsonMap<String, Json>, Error> {
        let (path, text) = read_in_root(tree, dir, rel)?;
        read_values(&text, &display(&path)).map_err(|e| err(dir, format!("helmCharts: {e}")))
    };
    let inline = match c.and_then(|m| m.get("valuesInline")) {
        Some(v @ Value::Map(m)) if !m.is_empty() => {
            match serde_json::from_str::<Json>(&v.to_go_json()) {
                Ok(Json::Object(m)) => Some(m),
                _ => None,
            }
        }
        _ => None,
    };
    let mut values = match inline {
        None => load(&values_file)?,
        Some(inline) if merge_mode == "replace" => inline,
        Some(inline) => {
            let file = load(&values_file)?;
            let (mut dest, src) = if merge_mode == "override" {
                (file, inline)
            } else {
                (inline, file)
            };
            merge2(&mut dest, src, &name).map_err(|m| err(dir, m))?;
            dest
        }
    };
    if let Some(Value::Seq(files)) = c.and_then(|m| m.get("additionalValuesFiles")) {
        for f in files {
            let f = f.scalar_text().unwrap_or_default();
            helm_merge(&mut values, load(&f)?);
        }
    }
    let namespace = match text("namespace") {
        n if n.is_empty() => "default".to_owned(),
        n => n,
    };
    let api_versions: Vec<String> = match c.and_then(|m| m.get("apiVersions")) {
        Some(Value::Seq(s)) => s.iter().filter_map(Value::scalar_text).collect(),
        _ => Vec::new(),
    };
    let mut opts = RenderOptions::new("", &namespace)
        .with_api_versions(api_versions)
        .with_include_crds(flag("includeCRDs"))
        .with_skip_tests(flag("skipTests"))
        .with_disable_hooks(flag("skipHooks"));
    let kube = text("kubeVersion");
    if !kube.is_empty() {
        opts = opts.with_kube_version(kube);
    }
    opts.release_name = match text("releaseName") {
        r if r.is_empty() => generated_name(&name, opts.environment.as_ref())
            .map_err(|e| err(dir, format!("helmCharts: chart {name:?}: {e}")))?,
        r => r,
    };
    let manifest = chart::render_chart(tree, &chart_dir, &values, &opts)
        .map_err(|e| err(dir, format!("helmCharts: chart {name:?}: {e}")))?;
    Ok(Inflated::Rendered(manifest.to_helm_template(&opts)))
}

/// Helm's `--generate-name`: the chart's name up to its first dot, `-`,
/// the Unix time in seconds (from the render environment's clock).
fn generated_name(
    chart: &str,
    env: &dyn gitops_gotemplate::sprig::Environment,
) -> Result<String, String> {
    let base = chart.split('.').next().unwrap_or(chart);
    let now = env
        .now()
        .map_err(|e| format!("no releaseName and no clock to generate one: {e}"))?;
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(format!("{base}-{secs}"))
}

/// kyaml's `merge2.Merge(src, dest)` for values: maps merge key by key,
/// `src` wins, a `null` in `src` removes the key; other values (lists
/// included) are replaced. Lists of mappings on both sides, which kyaml
/// merges element by element on a key field, are an error.
fn merge2(
    dest: &mut JsonMap<String, Json>,
    src: JsonMap<String, Json>,
    chart: &str,
) -> Result<(), String> {
    for (k, v) in src {
        match (dest.get_mut(&k), v) {
            (_, Json::Null) => {
                dest.remove(&k);
            }
            (Some(Json::Object(d)), Json::Object(s)) => merge2(d, s, chart)?,
            (Some(Json::Array(d)), Json::Array(s))
                if d.iter().chain(&s).all(Json::is_object) && !d.is_empty() && !s.is_empty() =>
            {
                return Err(format!(
                    "helmCharts: chart {chart:?}: valuesInline merging of the list of mappings at {k:?} is not supported"
                ));
            }
            (_, v) => {
                dest.insert(k, v);
            }
        }
    }
    Ok(())
}

/// Helm's `mergeMaps` (values files on the command line): maps merge
/// recursively, anything else from `src` replaces.
fn helm_merge(dest: &mut JsonMap<String, Json>, src: JsonMap<String, Json>) {
    for (k, v) in src {
        match (dest.get_mut(&k), v) {
            (Some(Json::Object(d)), Json::Object(s)) => helm_merge(d, s),
            (_, v) => {
                dest.insert(k, v);
            }
        }
    }
}
