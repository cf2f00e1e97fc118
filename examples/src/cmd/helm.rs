//! `gitops helm template`: render a local Helm chart exactly as
//! `helm template` (Helm v4.1.4) prints it.
//!
//! The flags are Helm's own (names, short forms, repeatable and
//! comma-separated ones), so a `helm template …` command line runs unchanged
//! as `gitops helm template …`. Values are merged as Helm's `MergeValues`
//! does: the `-f` files in order (each YAML document deep-merged), then
//! `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal`.
//!
//! Differences from `helm`:
//! - CHART is a local chart directory or `.tgz` archive; chart repositories,
//!   OCI references, URLs and `--repo`/`--version` are refused with an error
//!   naming them. Values files are local paths or `-` (standard input).
//! - Flags that need a cluster or write files (`--validate`,
//!   `--output-dir`, `--dependency-update`, …) are refused with an error
//!   naming them.
//! - Errors print as `error: …` (the project's convention) where Helm prints
//!   `Error: …`; the text after the prefix is Helm's. The exit status is 1
//!   in both.
//! - Warnings print on standard error as Helm's logger writes them
//!   (`level=WARN msg="this chart is deprecated"`).

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gitops_core::fs::{OsTree, RelPath};
use gitops_render::helm::chart::{self, Manifest, RenderOptions};
use gitops_render::helm::strvals::{self, SetKind};
use gitops_render::helm::values;
use serde_json::{Map, Value};

/// Subcommands of `gitops helm`.
#[derive(Debug, clap::Subcommand)]
pub enum HelmCmd {
    /// Render a local chart like `helm template [NAME] CHART`.
    // `--version` is helm's chart version flag here, not gitops's own.
    #[command(disable_version_flag = true)]
    Template(TemplateArgs),
}

/// Flags of `gitops helm template` (Helm's names).
#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    /// `[NAME] CHART`: the release name (default `release-name`) and a chart
    /// directory or `.tgz` archive.
    #[arg(value_name = "NAME_OR_CHART", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Values files, merged in order (repeatable or comma-separated; `-` reads
    /// standard input).
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub values: Vec<String>,
    /// `--set key=value[,key=value]` (typed scalars).
    #[arg(long = "set", value_name = "EXPR")]
    pub set: Vec<String>,
    /// `--set-string key=value` (string scalars).
    #[arg(long = "set-string", value_name = "EXPR")]
    pub set_string: Vec<String>,
    /// `--set-file key=path`: the file's contents as a string value.
    #[arg(long = "set-file", value_name = "EXPR")]
    pub set_file: Vec<String>,
    /// `--set-json key=json` or a JSON object.
    #[arg(long = "set-json", value_name = "EXPR")]
    pub set_json: Vec<String>,
    /// `--set-literal key=value` (the value verbatim).
    #[arg(long = "set-literal", value_name = "EXPR")]
    pub set_literal: Vec<String>,
    /// Release namespace (`.Release.Namespace`).
    #[arg(short = 'n', long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version", value_name = "V")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (repeatable or
    /// comma-separated).
    #[arg(
        short = 'a',
        long = "api-versions",
        value_name = "V",
        value_delimiter = ','
    )]
    pub api_versions: Vec<String>,
    /// Include the charts' `crds/` files in the output.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Leave out test hooks (`helm.sh/hook: test`).
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Leave out hooks.
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Only print the manifests rendered from these templates (repeatable).
    #[arg(short = 's', long = "show-only", value_name = "PATH")]
    pub show_only: Vec<String>,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Do not validate values against `values.schema.json`.
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    /// Generate the release name (`<chart>-<unix seconds>`).
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// Only used with `--output-dir` in Helm (accepted, no effect here).
    #[arg(long = "release-name")]
    pub release_name: bool,
    /// Accepted for compatibility: CRDs are never part of `helm template`
    /// output unless `--include-crds`.
    #[arg(long = "skip-crds")]
    pub skip_crds: bool,
    /// Not supported (writes files): an error naming it.
    #[arg(long = "output-dir", value_name = "DIR", hide = true)]
    pub output_dir: Option<String>,
    /// Not supported (needs a cluster): an error naming it.
    #[arg(long = "validate", hide = true)]
    pub validate: bool,
    /// Not supported (chart repositories): an error naming it.
    #[arg(long = "repo", value_name = "URL", hide = true)]
    pub repo: Option<String>,
    /// Not supported (chart repositories): an error naming it.
    #[arg(long = "version", value_name = "V", hide = true)]
    pub version: Option<String>,
    /// Not supported (downloads dependencies): an error naming it.
    #[arg(long = "dependency-update", hide = true)]
    pub dependency_update: bool,
    /// Not supported: an error naming it.
    #[arg(long = "name-template", value_name = "TPL", hide = true)]
    pub name_template: Option<String>,
}

/// Run `gitops helm …`.
pub fn run(cmd: HelmCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        HelmCmd::Template(args) => template(&args, out),
    }
}

fn template(args: &TemplateArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    for (set, flag, why) in [
        (
            args.output_dir.is_some(),
            "--output-dir",
            "writing templates to files",
        ),
        (args.validate, "--validate", "validating against a cluster"),
        (args.repo.is_some(), "--repo", "chart repositories"),
        (args.version.is_some(), "--version", "chart repositories"),
        (
            args.dependency_update,
            "--dependency-update",
            "downloading dependencies",
        ),
        (
            args.name_template.is_some(),
            "--name-template",
            "release name templates",
        ),
    ] {
        if set {
            bail!(
                "{flag} is not supported ({why}): gitops helm template renders a local chart only"
            );
        }
    }
    let (name, chart_arg) = match (args.args.as_slice(), args.generate_name) {
        ([chart], true) => (generated_name(chart), chart.clone()),
        ([chart], false) => ("release-name".to_owned(), chart.clone()),
        ([name, chart], _) => (name.clone(), chart.clone()),
        _ => bail!("expected [NAME] CHART"),
    };
    let user = merge_values(args)?;
    let mut opts = RenderOptions::new(&name, &args.namespace)
        .with_api_versions(args.api_versions.iter().cloned())
        .with_include_crds(args.include_crds)
        .with_skip_tests(args.skip_tests)
        .with_disable_hooks(args.no_hooks)
        .with_show_only(args.show_only.iter().cloned())
        .with_is_upgrade(args.is_upgrade)
        .with_skip_schema_validation(args.skip_schema_validation);
    if let Some(v) = &args.kube_version {
        opts = opts.with_kube_version(v.clone());
    }
    let rendered = render(&chart_arg, &user, &opts)?;
    let manifest = match rendered.and_then(|m| m.check_show_only(&opts).map(|()| m)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    for w in manifest.warnings.iter().filter(|w| *w != DEPRECATED) {
        eprintln!("{}", warn_line(w));
    }
    manifest.write_helm_template(&opts, out)?;
    Ok(ExitCode::SUCCESS)
}

/// Load CHART (a directory or an archive) and render it. The outer error is
/// about reaching the chart; the inner one is Helm's.
fn render(
    chart_arg: &str,
    user: &Map<String, Value>,
    opts: &RenderOptions,
) -> anyhow::Result<Result<Manifest, chart::Error>> {
    let path = Path::new(chart_arg);
    if !path.exists() {
        if chart_arg.contains("://") {
            bail!(
                "chart {chart_arg:?}: remote charts (URLs, OCI references) are not supported; give a local chart directory or .tgz"
            );
        }
        if chart_arg.contains('/') && !chart_arg.starts_with('.') && !chart_arg.starts_with('/') {
            bail!(
                "chart {chart_arg:?}: not a local path, and repository charts (repo/name) are not supported; give a local chart directory or .tgz"
            );
        }
        bail!("path {chart_arg:?} not found");
    }
    let loaded = if path.is_dir() {
        // The tree is rooted at the chart: a chart reads nothing outside itself.
        let tree = OsTree::new(path).with_context(|| format!("opening {chart_arg}"))?;
        chart::load(&tree, &RelPath::root())
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {chart_arg}"))?;
        chart::load_archive(&bytes)
    };
    let chart = match loaded {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    // Helm logs this when it loads the chart, before anything can fail.
    if chart.metadata.deprecated {
        eprintln!("{}", warn_line(DEPRECATED));
    }
    Ok(chart::render_loaded(&chart, user, opts))
}

/// The warning of a chart marked `deprecated: true`.
const DEPRECATED: &str = "this chart is deprecated";

/// Helm's `--generate-name`: the chart's base name up to its first dot, a
/// dash, and the current Unix time in seconds.
fn generated_name(chart: &str) -> String {
    let base = Path::new(chart)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = match base.as_str() {
        "" | "." => "chart".to_owned(),
        b => b.split('.').next().unwrap_or(b).to_owned(),
    };
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{base}-{secs}")
}

/// Helm's `MergeValues` (pkg/cli/values/options.go).
fn merge_values(args: &TemplateArgs) -> anyhow::Result<Map<String, Value>> {
    let mut base = Map::new();
    for f in &args.values {
        let text = read_input(f)?;
        let current = load_values(&text).with_context(|| format!("failed to parse {f}"))?;
        base = values::merge_maps(&base, &current);
    }
    for v in &args.set_json {
        let trimmed = v.trim();
        if trimmed.starts_with('{') {
            let m: Map<String, Value> = serde_json::from_str(trimmed)
                .map_err(|_| anyhow::anyhow!("failed parsing --set-json data JSON: {v}"))?;
            base = values::merge_maps(&base, &m);
        } else {
            strvals::apply(SetKind::Json, v, &mut base)?;
        }
    }
    // Values from files and --set-json went through Go's JSON decoder:
    // their numbers are float64 (those of --set below stay int64).
    chart::go_json_numbers(&mut base);
    for (kind, exprs) in [
        (SetKind::Set, &args.set),
        (SetKind::String, &args.set_string),
    ] {
        for e in exprs {
            strvals::apply(kind, e, &mut base)?;
        }
    }
    for e in &args.set_file {
        for pair in e.split(',') {
            let (key, file) = pair.split_once('=').with_context(|| {
                format!("failed parsing --set-file data: key {pair:?} has no value")
            })?;
            let content = read_input(file)?;
            strvals::replace_path_literal_value(&mut base, key, &content)
                .context("failed parsing --set-file data")?;
        }
    }
    for e in &args.set_literal {
        strvals::apply(SetKind::Literal, e, &mut base)?;
    }
    Ok(base)
}

/// A values source: a local file or `-` for standard input.
fn read_input(path: &str) -> anyhow::Result<String> {
    if path.trim() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        return Ok(s);
    }
    if path.contains("://") {
        bail!("{path}: values from URLs are not supported; give a local file");
    }
    std::fs::read_to_string(path).with_context(|| format!("open {path}"))
}

/// Helm's `loader.LoadValues`: every YAML document of the stream, merged,
/// numbers as Go's JSON decoder gives them (`float64`).
fn load_values(text: &str) -> anyhow::Result<Map<String, Value>> {
    Ok(chart::load_values(text)?)
}

/// A warning as Helm's text logger prints it: `level=WARN msg="…"`, the
/// message quoted when it holds spaces, quotes or `=`. A warning written as
/// `message key=value…` (the renderer's form for a log record with
/// attributes) keeps its attributes after the quoted message.
fn warn_line(w: &str) -> String {
    let split = w
        .char_indices()
        .filter(|&(_, c)| c == ' ')
        .map(|(i, _)| i)
        .find(|&i| {
            let rest = &w[i + 1..];
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
                .collect();
            !key.is_empty() && rest[key.len()..].starts_with('=')
        });
    match split {
        Some(i) => format!("level=WARN msg={} {}", slog_quote(&w[..i]), &w[i + 1..]),
        None => format!("level=WARN msg={}", slog_quote(w)),
    }
}

fn slog_quote(s: &str) -> String {
    let needs = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || !c.is_ascii_graphic());
    if needs {
        format!("{s:?}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_print_like_slog() {
        assert_eq!(
            warn_line("this chart is deprecated"),
            "level=WARN msg=\"this chart is deprecated\""
        );
        assert_eq!(warn_line("x"), "level=WARN msg=x");
        assert_eq!(
            warn_line(r#"ImportValues missing table error="\"SCBexported2\" is not a table""#),
            r#"level=WARN msg="ImportValues missing table" error="\"SCBexported2\" is not a table""#
        );
    }

    #[test]
    fn values_documents_merge() {
        let m = load_values("a: 1\nb: {c: 1}\n---\nb: {d: 2}\n").expect("values");
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"a": 1.0, "b": {"c": 1.0, "d": 2.0}})
        );
        assert!(load_values("- 1\n").is_err());
    }

    #[test]
    fn generated_names_use_the_chart_base() {
        assert!(generated_name("charts/podinfo-1.2.3.tgz").starts_with("podinfo-1-"));
        assert!(generated_name(".").starts_with("chart-"));
    }
}
