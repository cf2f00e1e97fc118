//! Charts of the helm-charts corpus whose vendored subcharts are not in
//! their `charts/` directory, assembled from the corpus's own copies.
//!
//! `index.json` lists each chart's `vendored_dependencies` (name, version,
//! and the chart directory that vendors it, `parent`). When one of them is
//! missing from `<parent>/charts/<name>` and the corpus holds a standalone
//! chart of the same name and version, [`VendoredCharts::chart_dir`] copies
//! the chart into a temporary directory and the standalone charts into its
//! `charts/`, as `helm dependency build` would have vendored them. The
//! temporary directories are removed when the [`VendoredCharts`] is dropped.
//! Dependencies the corpus leaves out on purpose (they have no version) stay
//! missing.
//!
//! This file is shared by the conformance runner, the CLI's corpus test and
//! the Helm bench (`#[path]` modules), so that all three render the same
//! charts.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Chart directories of the corpus, with the incomplete ones assembled on
/// first use.
pub struct VendoredCharts<'a> {
    base: PathBuf,
    index: &'a Value,
    assembled: HashMap<String, PathBuf>,
    scratch: Option<tempfile::TempDir>,
}

impl<'a> VendoredCharts<'a> {
    /// The charts of the corpus at `base` (the `helm-charts` folder), as
    /// listed by its `index.json`.
    pub fn new(base: &Path, index: &'a Value) -> VendoredCharts<'a> {
        VendoredCharts {
            base: base.to_path_buf(),
            index,
            assembled: HashMap::new(),
            scratch: None,
        }
    }

    /// The directory to render for the corpus chart `chart` (a path relative
    /// to the corpus, `charts/<id>`): the corpus's own when nothing is
    /// missing, else a temporary copy with the missing subcharts added.
    pub fn chart_dir(&mut self, chart: &str) -> io::Result<PathBuf> {
        if let Some(dir) = self.assembled.get(chart) {
            return Ok(dir.clone());
        }
        let missing = self.missing(chart);
        if missing.is_empty() {
            return Ok(self.base.join(chart));
        }
        let scratch = match &self.scratch {
            Some(s) => s,
            None => self
                .scratch
                .insert(tempfile::Builder::new().prefix("helm-corpus-").tempdir()?),
        };
        let leaf = chart.rsplit('/').next().unwrap_or(chart);
        let dir = scratch.path().join(leaf);
        copy_dir(&self.base.join(chart), &dir)?;
        for (sub, from) in missing {
            copy_dir(&self.base.join(from), &dir.join(sub))?;
        }
        self.assembled.insert(chart.to_owned(), dir.clone());
        Ok(dir)
    }

    /// The vendored dependencies of `chart` that are missing and have a
    /// copy in the corpus: (where it goes, relative to the chart directory;
    /// the corpus chart to copy), parents before their own dependencies.
    fn missing(&self, chart: &str) -> Vec<(PathBuf, String)> {
        let charts = self.index["charts"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let Some(entry) = charts.iter().find(|c| c["dir"].as_str() == Some(chart)) else {
            return Vec::new();
        };
        let deps = entry["vendored_dependencies"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let mut out = Vec::new();
        for dep in deps {
            let (Some(name), Some(version), Some(parent)) = (
                dep["name"].as_str(),
                dep["version"].as_str(),
                dep["parent"].as_str(),
            ) else {
                continue;
            };
            let Some(within) = Path::new(parent).strip_prefix(chart).ok() else {
                continue;
            };
            let sub = within.join("charts").join(name);
            let archive = within.join("charts").join(format!("{name}-{version}.tgz"));
            let present = |p: &Path| self.base.join(chart).join(p).exists();
            if present(&sub) || present(&archive) {
                continue;
            }
            let source = charts.iter().find(|c| {
                c["name"].as_str() == Some(name) && c["version"].as_str() == Some(version)
            });
            if let Some(dir) = source.and_then(|c| c["dir"].as_str()) {
                out.push((sub, dir.to_owned()));
            }
        }
        out
    }
}

/// Copy the directory `from` to `to` (created), files and subdirectories.
fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
