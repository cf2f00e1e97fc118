//! Coalescing user values with chart defaults (Helm v4.1
//! `pkg/chart/common/util/coalesce.go`), as `helm install`/`template` does
//! before rendering.
//!
//! - User values win; maps merge key by key; lists and scalars replace.
//! - A user `null` at the top level of a chart deletes the key when the chart
//!   defines it (even as `null`); below the top level only when the chart
//!   default is not `null`. A `null` for a key the chart does not have stays.
//! - Subchart tables (a key named like a dependency) merge without deleting,
//!   then each subchart coalesces its own table with its defaults.
//! - `global` flows from a parent into every subchart (parent wins).
//! - A chart with dependencies first merges its subcharts' defaults into its
//!   own (Helm `processImportValues` with merge, which `helm install` runs).
//!
//! ```
//! use gitops_render::helm::coalesce::{Chart, coalesce_values};
//! use serde_json::json;
//!
//! let chart = Chart::new("app", json!({"replicas": 1, "probe": {"path": "/", "port": 80}}));
//! let user = json!({"probe": null, "extra": null, "replicas": 3});
//! let out = coalesce_values(&chart, user.as_object().unwrap())?;
//! assert_eq!(serde_json::Value::Object(out.values), json!({"replicas": 3, "extra": null}));
//! # Ok::<(), gitops_render::helm::coalesce::Error>(())
//! ```
//!
//! # Deviation
//! - Dependency `condition`/`tags` (disabling subcharts) and `import-values`
//!   are not modelled: every listed dependency is enabled.
//! - Helm's `coalesceGlobals` shallow-copies global tables, so merging a
//!   subchart's nested global table can write into the parent's; we copy
//!   deeply and leave the parent unchanged.

use serde_json::{Map, Value};

/// Key of the values every chart in the tree shares.
pub const GLOBAL_KEY: &str = "global";

/// A chart as far as values are concerned: its name, its default values
/// (`values.yaml`) and its dependencies (subcharts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// Chart name (the key of its table in the parent's values).
    pub name: String,
    /// Default values.
    pub values: Map<String, Value>,
    /// Subcharts.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// A chart without dependencies; `values` other than a map become empty.
    pub fn new(name: &str, values: Value) -> Chart {
        Chart {
            name: name.to_owned(),
            values: match values {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            dependencies: Vec::new(),
        }
    }

    /// Add a subchart.
    pub fn with_dependency(mut self, sub: Chart) -> Chart {
        self.dependencies.push(sub);
        self
    }
}

/// Why values could not be coalesced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The values for a subchart are not a map.
    #[error("type mismatch on {subchart}: values for a subchart must be a map, got {got}")]
    TypeMismatch {
        /// Path of the subchart (`parent.sub`).
        subchart: String,
        /// What was found.
        got: &'static str,
    },
}

/// The coalesced values and the warnings Helm would log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coalesced {
    /// The values templates see as `.Values`.
    pub values: Map<String, Value>,
    /// Helm's warnings (e.g. a table overwritten by a scalar), in order.
    pub warnings: Vec<String>,
}

/// What `helm template`/`install` gives templates as `.Values` for `user`
/// values (Helm `ProcessDependenciesWithMerge` + `CoalesceValues`).
pub fn coalesce_values(chart: &Chart, user: &Map<String, Value>) -> Result<Coalesced, Error> {
    let mut warnings = Vec::new();
    let chart = with_merged_dependency_defaults(chart, &mut warnings)?;
    let mut dest = user.clone();
    coalesce(&mut warnings, &chart, &mut dest, "", false)?;
    Ok(Coalesced {
        values: dest,
        warnings,
    })
}

/// Helm `CoalesceValues` alone: the chart's defaults (already merged with
/// its subcharts' by dependency processing) are not merged again.
pub fn coalesce_processed(chart: &Chart, user: &Map<String, Value>) -> Result<Coalesced, Error> {
    let mut warnings = Vec::new();
    let mut dest = user.clone();
    coalesce(&mut warnings, chart, &mut dest, "", false)?;
    Ok(Coalesced {
        values: dest,
        warnings,
    })
}

/// Helm `MergeTables`: `src` merged into `dst` (which wins), `null`s kept.
pub fn merge_tables(dst: &mut Map<String, Value>, src: Map<String, Value>) -> Vec<String> {
    let mut warnings = Vec::new();
    coalesce_tables(&mut warnings, dst, src, "", true);
    warnings
}

/// Helm `MergeValues`: like coalescing, but `null`s are kept.
pub fn merge_values(chart: &Chart, user: &Map<String, Value>) -> Result<Coalesced, Error> {
    let mut warnings = Vec::new();
    let mut dest = user.clone();
    coalesce(&mut warnings, chart, &mut dest, "", true)?;
    Ok(Coalesced {
        values: dest,
        warnings,
    })
}

/// `processDependencyImportValues(c, merge=true)` without import-values:
/// bottom-up, each chart with dependencies gets `MergeValues(c, {})` as its
/// defaults.
fn with_merged_dependency_defaults(
    chart: &Chart,
    warnings: &mut Vec<String>,
) -> Result<Chart, Error> {
    if chart.dependencies.is_empty() {
        return Ok(chart.clone());
    }
    let mut c = chart.clone();
    c.dependencies = chart
        .dependencies
        .iter()
        .map(|d| with_merged_dependency_defaults(d, warnings))
        .collect::<Result<_, _>>()?;
    let mut merged = Map::new();
    coalesce(warnings, &c, &mut merged, "", true)?;
    c.values = merged;
    Ok(c)
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce(
    w: &mut Vec<String>,
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), Error> {
    coalesce_chart_values(w, chart, dest, prefix, merge);
    coalesce_deps(w, chart, dest, prefix, merge)
}

fn coalesce_deps(
    w: &mut Vec<String>,
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), Error> {
    for sub in &chart.dependencies {
        let mut sub_values = match dest.get(&sub.name) {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(Error::TypeMismatch {
                    subchart: concat_prefix(&concat_prefix(prefix, &chart.name), &sub.name),
                    got: super::values::json_type(other),
                });
            }
        };
        let sub_prefix = concat_prefix(prefix, &chart.name);
        coalesce_globals(w, &mut sub_values, dest, &sub_prefix);
        coalesce(w, sub, &mut sub_values, &sub_prefix, merge)?;
        dest.insert(sub.name.clone(), Value::Object(sub_values));
    }
    Ok(())
}

fn coalesce_globals(
    w: &mut Vec<String>,
    dest: &mut Map<String, Value>,
    src: &Map<String, Value>,
    prefix: &str,
) {
    let mut dg = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            w.push(format!(
                "warning: skipping globals because destination {GLOBAL_KEY} is not a table."
            ));
            return;
        }
    };
    let empty = Map::new();
    let sg = match src.get(GLOBAL_KEY) {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            w.push(format!(
                "warning: skipping globals because source {GLOBAL_KEY} is not a table."
            ));
            return;
        }
    };
    for (key, val) in sg {
        if let Value::Object(vm) = val {
            let mut vv = vm.clone();
            match dg.get(key) {
                None => {
                    dg.insert(key.clone(), Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    let destv = destv.clone();
                    coalesce_tables(w, &mut vv, destv, &concat_prefix(prefix, key), true);
                    dg.insert(key.clone(), Value::Object(vv));
                }
                Some(_) => w.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if matches!(dg.get(key), Some(Value::Object(_))) {
            w.push(format!("key {key} is table. Skipping"));
        } else {
            dg.insert(key.clone(), val.clone());
        }
    }
    dest.insert(GLOBAL_KEY.to_owned(), Value::Object(dg));
}

fn coalesce_chart_values(
    w: &mut Vec<String>,
    chart: &Chart,
    v: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) {
    let sub_prefix = concat_prefix(prefix, &chart.name);
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(Value::Null) if !merge => {
                v.shift_remove(key);
            }
            Some(Value::Object(dest)) => match val {
                Value::Object(src) => {
                    let merge = merge || chart.dependencies.iter().any(|d| &d.name == key);
                    coalesce_tables(
                        w,
                        dest,
                        src.clone(),
                        &concat_prefix(&sub_prefix, key),
                        merge,
                    );
                }
                Value::Null => {}
                _ => w.push(format!(
                    "warning: skipped value for {sub_prefix}.{key}: Not a table."
                )),
            },
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
}

/// Helm `coalesceTablesFullKey`: merge `src` (defaults) into `dst` (authoritative).
fn coalesce_tables(
    w: &mut Vec<String>,
    dst: &mut Map<String, Value>,
    mut src: Map<String, Value>,
    prefix: &str,
    merge: bool,
) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, val) in dst.iter() {
        if val.is_null() {
            src.insert(key.clone(), Value::Null);
        }
    }
    for (key, val) in src {
        let fullkey = concat_prefix(prefix, &key);
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && src_non_nil.contains(&key) => {
                dst.shift_remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(dv) => match (val, dv) {
                (Value::Object(sv), Value::Object(dm)) => {
                    coalesce_tables(w, dm, sv, &fullkey, merge);
                }
                (Value::Object(sv), _) => w.push(format!(
                    "warning: cannot overwrite table with non table for {fullkey} ({})",
                    Value::Object(sv)
                )),
                (sv, Value::Object(_)) if !sv.is_null() => w.push(format!(
                    "warning: destination for {fullkey} is a table. Ignoring non-table value ({sv})"
                )),
                _ => {}
            },
        }
    }
}
