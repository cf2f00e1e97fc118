//! Dependency processing (Helm v4.1.4 `pkg/chart/v2/util/dependencies.go`):
//! aliases, `condition`s and `tags` that disable subcharts, and
//! `import-values`; then values coalescing (`CoalesceValues`).

use serde_json::{Map, Value as Json};

use super::{Chart, Error};
use crate::helm::coalesce;

fn values_err(e: coalesce::Error) -> Error {
    Error::Values(e.to_string())
}

/// The chart as the coalescer sees it.
pub(crate) fn coalesce_chart(c: &Chart) -> coalesce::Chart {
    coalesce::Chart {
        name: c.name().to_string(),
        values: c.values.clone(),
        dependencies: c.dependencies.iter().map(coalesce_chart).collect(),
    }
}

/// `CoalesceValues(chart, user)`: what templates see as `.Values`.
pub(crate) fn coalesce(c: &Chart, user: &Map<String, Json>) -> Result<Map<String, Json>, Error> {
    coalesce::coalesce_processed(&coalesce_chart(c), user)
        .map(|c| c.values)
        .map_err(values_err)
}

/// Helm `ProcessDependencies`: enabled subcharts, then import-values (merge).
/// Whether [`process_dependencies`] has anything to do: a chart of the tree
/// lists dependencies.
pub(crate) fn has_dependencies(c: &Chart) -> bool {
    !c.metadata.dependencies.is_empty() || c.dependencies.iter().any(has_dependencies)
}

pub(crate) fn process_dependencies(
    c: &mut Chart,
    user: &Map<String, Json>,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    process_enabled(c, user, "", warnings)?;
    process_import_values(c, warnings)
}

fn process_enabled(
    c: &mut Chart,
    v: &Map<String, Json>,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut chart_deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata.dependencies.iter().any(|r| {
                e.name() == r.name && super::caps::compatible(&r.version, &e.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(found) = existing.iter().find(|e| {
            e.name() == req.name && super::caps::compatible(&req.version, &e.metadata.version)
        }) {
            let mut out = found.clone();
            if !req.alias.is_empty() {
                out.metadata.name = req.alias.clone();
            }
            chart_deps.push(out);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    let cvals = coalesce(c, v)?;
    // tags
    if let Some(Json::Object(tags)) = cvals.get("tags") {
        for r in &mut c.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.tags {
                match tags.get(k) {
                    Some(Json::Bool(true)) => has_true = true,
                    Some(Json::Bool(false)) => has_false = true,
                    Some(_) => {
                        warnings.push(format!("returned non-bool value tag={k} chart={}", r.name))
                    }
                    None => {}
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    // conditions
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            let full = format!("{path}{cond}");
            match path_value(&cvals, &full) {
                Some(Json::Bool(b)) => {
                    r.enabled = *b;
                    break;
                }
                Some(_) => warnings.push(format!(
                    "returned non-bool value path={cond} chart={}",
                    r.name
                )),
                None => {}
            }
        }
    }
    let disabled: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !disabled.iter().any(|n| n == d.name()));
    c.metadata
        .dependencies
        .retain(|r| !disabled.contains(&r.name));
    for t in &mut c.dependencies {
        let sub = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub, warnings)?;
    }
    Ok(())
}

/// Helm `Values.Table`: the map at a dotted path, or the failing key.
fn table<'a>(v: &'a Map<String, Json>, path: &str) -> Result<&'a Map<String, Json>, String> {
    let mut t = v;
    for n in path.split('.') {
        match t.get(n) {
            Some(Json::Object(m)) => t = m,
            _ => return Err(n.to_string()),
        }
    }
    Ok(t)
}

/// Helm `Values.PathValue`: a non-table value at a dotted path.
fn path_value<'a>(v: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (Some(p), k),
        None => (None, path),
    };
    let t = match parent {
        Some(p) => table(v, p).ok()?,
        None => v,
    };
    match t.get(key) {
        Some(Json::Object(_)) | None => None,
        Some(x) => Some(x),
    }
}

fn process_import_values(c: &mut Chart, warnings: &mut Vec<String>) -> Result<(), Error> {
    for d in &mut c.dependencies {
        process_import_values(d, warnings)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesce::merge_values(&coalesce_chart(c), &Map::new())
        .map_err(values_err)?
        .values;
    let mut b = Map::new();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for iv in &r.import_values {
            match iv {
                Json::Object(m) => {
                    let child = go_sprint(m.get("child"));
                    let parent = go_sprint(m.get("parent"));
                    let mut o = Map::new();
                    o.insert("child".into(), Json::String(child.clone()));
                    o.insert("parent".into(), Json::String(parent.clone()));
                    out.push(Json::Object(o));
                    match table(&cvals, &format!("{}.{child}", r.name)) {
                        Ok(vv) => {
                            let src = path_to_map(&parent, vv.clone());
                            let mut dst = std::mem::take(&mut b);
                            coalesce::merge_tables(&mut dst, src);
                            b = dst;
                        }
                        Err(k) => warnings.push(format!(
                            "ImportValues missing table from chart chart={} error=\"{k:?} is not a table\"",
                            r.name
                        )),
                    }
                }
                Json::String(s) => {
                    let child = format!("exports.{s}");
                    let mut o = Map::new();
                    o.insert("child".into(), Json::String(child.clone()));
                    o.insert("parent".into(), Json::String(".".into()));
                    out.push(Json::Object(o));
                    match table(&cvals, &format!("{}.{child}", r.name)) {
                        Ok(vm) => {
                            let mut dst = std::mem::take(&mut b);
                            coalesce::merge_tables(&mut dst, vm.clone());
                            b = dst;
                        }
                        Err(k) => warnings.push(format!(
                            "ImportValues missing table error={:?}",
                            format!("{k:?} is not a table")
                        )),
                    }
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    let mut vals = cvals;
    coalesce::merge_tables(&mut vals, b);
    c.values = vals;
    Ok(())
}

fn go_sprint(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "<nil>".into(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => gitops_gotemplate::sprint(&[super::yaml::json_to_tv(other)]),
    }
}

fn path_to_map(path: &str, data: Map<String, Json>) -> Map<String, Json> {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(p.to_string(), Json::Object(cur));
        cur = m;
    }
    cur
}
