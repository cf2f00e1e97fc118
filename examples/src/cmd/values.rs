//! `gitops values`: compose Helm values like helm-controller.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gitops_core::flux::{FluxObject, HelmRelease};
use gitops_core::fs::{OsTree, RelPath};
use gitops_core::yaml::{Budget, ReadOptions, parse_documents_in};
use gitops_render::flux::Resources;
use gitops_render::helm::coalesce::{Chart, coalesce_values};
use gitops_render::helm::release::{self, Action, ReleaseOptions};
use gitops_render::helm::strvals::{self, SetKind};
use gitops_render::helm::{chart, values};

use crate::cmd::yaml_budget::{BudgetArgs, hint};
use crate::output::OutputFormat;

/// Subcommands of `gitops values`.
#[derive(Debug, clap::Subcommand)]
pub enum ValuesCmd {
    /// Compose the values of a HelmRelease: valuesFrom (ConfigMaps/Secrets
    /// read from --from files), inline values, then --set flags, then
    /// coalesced with the chart's defaults when --chart-values is given.
    /// With --render CHART, renders the chart with those values as
    /// helm-controller installs the release (release name and namespace,
    /// CRD policy, hooks, post-renderers, origin labels) and prints the
    /// objects instead.
    Compose(ComposeArgs),
}

/// Flags of `gitops values compose`.
#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    /// The HelmRelease manifest (the first HelmRelease in the file is used).
    pub release: PathBuf,
    /// YAML files holding the ConfigMaps and Secrets that valuesFrom references.
    #[arg(long = "from", value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// The chart's values.yaml, to coalesce with (what templates see as .Values).
    #[arg(long, value_name = "FILE")]
    pub chart_values: Option<PathBuf>,
    /// `--set` expressions, applied after the release's values.
    #[arg(long = "set", value_name = "EXPR")]
    pub set: Vec<String>,
    /// `--set-string` expressions.
    #[arg(long = "set-string", value_name = "EXPR")]
    pub set_string: Vec<String>,
    /// `--set-literal` expressions.
    #[arg(long = "set-literal", value_name = "EXPR")]
    pub set_literal: Vec<String>,
    /// `--set-json` expressions.
    #[arg(long = "set-json", value_name = "EXPR")]
    pub set_json: Vec<String>,
    /// Render this local chart (a directory or .tgz) as helm-controller
    /// would install the release, and print the objects it would apply.
    #[arg(long, value_name = "CHART", conflicts_with = "chart_values")]
    pub render: Option<PathBuf>,
    /// With --render: the cluster's Kubernetes version (Helm's default otherwise).
    #[arg(long, value_name = "VERSION", requires = "render")]
    pub kube_version: Option<String>,
    /// With --render: extra API versions the cluster serves (repeatable, comma-separated).
    #[arg(
        long = "api-versions",
        short = 'a',
        value_name = "VERSION",
        value_delimiter = ',',
        requires = "render"
    )]
    pub api_versions: Vec<String>,
    /// With --render: use the upgrade action's settings (spec.upgrade) instead of spec.install.
    #[arg(long, requires = "render")]
    pub upgrade: bool,
    /// Output format (text = YAML).
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
    /// The YAML budget of the composition (one for all its files and values).
    #[command(flatten)]
    pub yaml: BudgetArgs,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Run `gitops values …`.
pub fn run(cmd: ValuesCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        ValuesCmd::Compose(args) => {
            let budget = args.yaml.budget();
            gitops_render::budget::scope(&budget, || compose(&args, &budget, out))
                .map_err(|e| hint(e, &budget))
        }
    }
}

fn compose(args: &ComposeArgs, budget: &Budget, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let origin = args.release.display().to_string();
    let text = read(&args.release)?;
    let docs = parse_documents_in(&text, &origin, ReadOptions::default(), budget)?;
    let node = docs
        .iter()
        .map(|d| &d.root)
        .find(|n| {
            n.get("kind").and_then(|k| k.as_str()) == Some("HelmRelease")
                && n.get("apiVersion")
                    .and_then(|k| k.as_str())
                    .is_some_and(|a| a.starts_with("helm.toolkit.fluxcd.io/"))
        })
        .with_context(|| format!("{origin}: no helm.toolkit.fluxcd.io HelmRelease found"))?;
    let release = HelmRelease::from_node(node, &origin)?;
    let mut resources = Resources::new();
    for f in &args.from {
        resources.add_yaml(&read(f)?, &f.display().to_string())?;
    }
    let mut composed = values::compose_release(&release, &resources)?;
    // Helm's order: --set-json, --set, --set-string, --set-literal.
    for (kind, exprs) in [
        (SetKind::Json, &args.set_json),
        (SetKind::Set, &args.set),
        (SetKind::String, &args.set_string),
        (SetKind::Literal, &args.set_literal),
    ] {
        for e in exprs {
            strvals::apply(kind, e, &mut composed)?;
        }
    }
    if let Some(chart) = &args.render {
        let strategy = node
            .get("spec")
            .and_then(|s| s.get("postRenderStrategy"))
            .and_then(|s| s.as_str())
            .unwrap_or_default();
        return render(args, &release, chart, &composed, strategy, out);
    }
    if let Some(path) = &args.chart_values {
        let defaults = values::read_values(&read(path)?, &path.display().to_string())
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{}: chart values", path.display()))?;
        let name = release
            .spec
            .chart
            .as_ref()
            .map_or("chart", |c| c.spec.chart.as_str());
        let chart = Chart {
            name: name.to_owned(),
            values: defaults,
            dependencies: Vec::new(),
        };
        composed = coalesce_values(&chart, &composed)?.values;
    }
    if composed.is_empty() && args.output == OutputFormat::Text {
        writeln!(out, "{{}}")?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.output {
        OutputFormat::Text => write!(out, "{}", values::to_yaml(&composed))?,
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Object(composed))?
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `--render CHART`: the release's objects as helm-controller would apply them.
fn render(
    args: &ComposeArgs,
    hr: &HelmRelease,
    chart_path: &Path,
    composed: &serde_json::Map<String, serde_json::Value>,
    strategy: &str,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if args.output != OutputFormat::Text {
        bail!("--render prints a YAML stream: -o json is not supported with it");
    }
    let shown = chart_path.display().to_string();
    if !chart_path.exists() {
        bail!("chart {shown:?} not found: --render takes a local chart directory or .tgz");
    }
    let action = if args.upgrade {
        Action::Upgrade
    } else {
        Action::Install
    };
    let mut opts = ReleaseOptions::new(action)
        .with_api_versions(args.api_versions.iter().cloned())
        .with_post_render_strategy(strategy);
    if let Some(v) = &args.kube_version {
        opts = opts.with_kube_version(v.clone());
    }
    let loaded = if chart_path.is_dir() {
        let tree = OsTree::new(chart_path).with_context(|| format!("opening {shown}"))?;
        chart::load(&tree, &RelPath::root())
    } else {
        let bytes = std::fs::read(chart_path).with_context(|| format!("reading {shown}"))?;
        chart::load_archive(&bytes)
    };
    let rendered = loaded
        .map_err(release::Error::from)
        .and_then(|c| release::render_loaded_release(hr, &c, composed, &opts))
        .with_context(|| format!("rendering {shown}"))?;
    for w in &rendered.manifest.warnings {
        eprintln!("warning: {w}");
    }
    out.write_all(rendered.to_yaml().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
