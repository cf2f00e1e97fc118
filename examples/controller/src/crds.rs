//! Our CRDs (from the `kube` derive of gitops-core's types) against Flux's,
//! field by field: each `openAPIV3Schema` tree is walked at the same
//! version (or, when Flux's chart no longer serves ours, its storage
//! version, said in the header line), listing the fields only one side has
//! and the type mismatches.
//!
//! Only the highest differing field is listed: a Flux object we lack is one
//! line, not one per sub-field. A field we keep as free-form JSON
//! (`serde_json::Value`, `x-kubernetes-preserve-unknown-fields`) while Flux
//! types it is one `free-form in ours` line.

use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use serde_json::Value;

/// The kinds compared: those the controller reconciles, then those whose
/// types gitops-core also derives.
#[must_use]
pub fn ours() -> Vec<Value> {
    use gitops_core::flux::{
        GitRepositoryResource, HelmReleaseResource, ImagePolicyResource, ImageRepositoryResource,
        KustomizationResource, OCIRepositoryResource,
    };
    [
        ImageRepositoryResource::crd(),
        ImagePolicyResource::crd(),
        KustomizationResource::crd(),
        GitRepositoryResource::crd(),
        OCIRepositoryResource::crd(),
        HelmReleaseResource::crd(),
    ]
    .iter()
    .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
    .collect()
}

/// Where Flux's CRDs are: the rendered flux2 chart of the conformance data.
#[must_use]
pub fn flux_chart(conformance_dir: &Path) -> PathBuf {
    conformance_dir.join("helm-charts/cases/fluxcd-community__flux2__default/expected.yaml")
}

/// `GITOPS_CONFORMANCE_DIR`, else `../shared/conformance` from the
/// workspace root.
#[must_use]
pub fn default_conformance_dir() -> PathBuf {
    std::env::var_os("GITOPS_CONFORMANCE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
        PathBuf::from,
    )
}

/// The CRDs in a multi-document YAML file.
///
/// # Errors
/// A message when the file is not YAML.
pub fn read_crds(yaml: &str, origin: &str) -> Result<Vec<Value>, String> {
    let docs = gitops_core::yaml::parse_documents(yaml, origin).map_err(|e| e.to_string())?;
    Ok(docs
        .iter()
        .map(|d| d.root.to_json(gitops_core::yaml::Schema::Core))
        .filter(|v| v["kind"] == "CustomResourceDefinition")
        .collect())
}

fn version_schema<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
        .map(|v| &v["schema"]["openAPIV3Schema"])
}

fn storage_version(crd: &Value) -> Option<&str> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["storage"] == true)
        .and_then(|v| v["name"].as_str())
}

fn type_of(s: &Value) -> String {
    match s["type"].as_str() {
        Some(t) => t.to_owned(),
        None if s["x-kubernetes-int-or-string"] == true => "int-or-string".to_owned(),
        None => "any".to_owned(),
    }
}

fn free_form(s: &Value) -> bool {
    s.get("properties").is_none()
        && (s["x-kubernetes-preserve-unknown-fields"] == true || s.get("type").is_none())
}

fn walk(path: &str, flux: &Value, ours: &Value, out: &mut Vec<String>) {
    let (ft, ot) = (type_of(flux), type_of(ours));
    if flux.get("properties").is_some() && free_form(ours) {
        out.push(format!(
            "{path}: free-form in ours (Flux: {ft} with fields)"
        ));
        return;
    }
    if ft != ot && !(ot == "any" && free_form(ours)) {
        out.push(format!("{path}: type: Flux {ft}, ours {ot}"));
        return;
    }
    if let (Some(fp), Some(op)) = (
        flux["properties"].as_object(),
        ours["properties"].as_object(),
    ) {
        for (k, v) in fp {
            match op.get(k) {
                Some(o) => walk(&format!("{path}.{k}"), v, o, out),
                None => out.push(format!("{path}.{k}: only in Flux ({})", type_of(v))),
            }
        }
        for (k, v) in op {
            if !fp.contains_key(k) {
                out.push(format!("{path}.{k}: only in ours ({})", type_of(v)));
            }
        }
    } else if flux.get("properties").is_none()
        && ours.get("properties").is_some()
        && !free_form(flux)
    {
        out.push(format!("{path}: fields in ours, Flux has none"));
    }
    if let (Some(fi), Some(oi)) = (flux.get("items"), ours.get("items")) {
        walk(&format!("{path}[]"), fi, oi, out);
    }
    if let (Some(fa), Some(oa)) = (
        flux.get("additionalProperties").filter(|v| v.is_object()),
        ours.get("additionalProperties").filter(|v| v.is_object()),
    ) {
        walk(&format!("{path}{{}}"), fa, oa, out);
    }
}

/// The differences, one line each, kind by kind: a header
/// `## <Kind> <our version> vs Flux <version>` then `<path>: <difference>`
/// lines (`metadata` and `apiVersion`/`kind` are not compared).
#[must_use]
pub fn diff(flux_crds: &[Value], ours: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for crd in ours {
        let name = crd["metadata"]["name"].as_str().unwrap_or("");
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or("");
        let version = crd["spec"]["versions"][0]["name"].as_str().unwrap_or("");
        let Some(theirs) = flux_crds.iter().find(|c| c["metadata"]["name"] == name) else {
            out.push(format!("## {kind} {version}: not in Flux's chart"));
            continue;
        };
        let (fv, schema) = match version_schema(theirs, version) {
            Some(s) => (version.to_owned(), s),
            None => {
                let sv = storage_version(theirs).unwrap_or("").to_owned();
                let Some(s) = version_schema(theirs, &sv) else {
                    out.push(format!("## {kind} {version}: Flux's CRD has no schema"));
                    continue;
                };
                (format!("{sv} (Flux does not serve {version})"), s)
            }
        };
        out.push(format!("## {kind} {version} vs Flux {fv}"));
        let Some(mine) = version_schema(crd, version) else {
            continue;
        };
        for top in ["spec", "status"] {
            let (f, o) = (&schema["properties"][top], &mine["properties"][top]);
            match (f.is_null(), o.is_null()) {
                (false, false) => walk(&format!(".{top}"), f, o, &mut out),
                (false, true) => out.push(format!(".{top}: only in Flux")),
                (true, false) => out.push(format!(".{top}: only in ours")),
                (true, true) => {}
            }
        }
    }
    out
}

/// `diff` of Flux's chart under `conformance_dir` and [`ours`]; `Ok(None)`
/// when the chart is absent.
///
/// # Errors
/// An unreadable chart.
pub fn diff_conformance(conformance_dir: &Path) -> Result<Option<Vec<String>>, String> {
    let path = flux_chart(conformance_dir);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let flux = read_crds(&text, &path.display().to_string())?;
    Ok(Some(diff(&flux, &ours())))
}
