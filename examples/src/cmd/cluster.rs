//! `gitops cluster`: the whole cluster of a Flux repository, offline.
//!
//! ```text
//! gitops cluster get ks --path clusters/production
//! gitops cluster build all --path clusters/production --skip-secrets > cluster.yaml
//! gitops cluster diff all --path clusters/production --base origin/main -o github
//! gitops cluster test all --path clusters/production --junit-xml report.xml
//! ```

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use gitops_cluster::changed::render_changed;
use gitops_cluster::diff::{self, Group};
use gitops_cluster::report::{cases, junit_xml};
use gitops_cluster::{
    ChartRequest, Cluster, Options, Outcome, SourceRef, Sources, Unavailable, images,
    render_cluster,
};
use gitops_core::fs::{FileTree, OsTree, RelPath};

use crate::cmd::git_rev_tree::GitRevTree;
use gitops_render::flux::postbuild::object_yaml;
use serde_json::{Value, json};

/// `gitops cluster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCmd {
    /// List the cluster's Kustomizations, HelmReleases or container images.
    Get(GetArgs),
    /// Print every object the cluster's Kustomizations and HelmReleases
    /// render, as kustomize-controller and helm-controller would apply them.
    Build(BuildArgs),
    /// Compare the rendered cluster with another version of it
    /// (`--path-orig DIR` or `--base GIT-REV`), rendering only what changed.
    Diff(DiffArgs),
    /// Render every Kustomization and HelmRelease and report PASS/FAIL/SKIP.
    Test(TestArgs),
}

/// What to list, build, diff or test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Flux Kustomizations.
    #[value(alias = "kustomization", alias = "kustomizations")]
    Ks,
    /// HelmReleases.
    #[value(alias = "helmrelease", alias = "helmreleases")]
    Hr,
    /// Container images (get and diff).
    Images,
    /// Everything.
    All,
}

/// Where the cluster is and how its sources are found.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The cluster's directory (e.g. clusters/production).
    #[arg(long, value_name = "DIR")]
    pub path: PathBuf,
    /// The repository root spec.path is relative to (default: the Git
    /// work tree holding --path).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// A local directory for a source the cluster uses, as
    /// NAME=DIR, NAMESPACE/NAME=DIR or KIND/NAMESPACE/NAME=DIR (repeatable).
    #[arg(long = "source", value_name = "NAME=DIR")]
    pub sources: Vec<String>,
    /// Fetch sources and charts the cluster needs (Git, OCI, Helm
    /// repositories) into the cache; without it only cached ones are used.
    #[arg(long)]
    pub fetch: bool,
    /// Where fetched sources and charts are kept
    /// (default: $XDG_CACHE_HOME/gitops/cluster or ~/.cache/gitops/cluster).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The Kubernetes version charts see (`.Capabilities.KubeVersion`).
    #[arg(long, value_name = "V")]
    pub kube_version: Option<String>,
    /// Extra API versions charts see (repeatable).
    #[arg(long = "api-versions", value_name = "V")]
    pub api_versions: Vec<String>,
    /// Leave unset postBuild variables empty instead of failing.
    #[arg(long)]
    pub no_strict_substitute: bool,
    /// Do not render HelmReleases (they are listed, reported as skipped).
    #[arg(long)]
    pub skip_helm: bool,
}

/// Flags of `gitops cluster get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// ks, hr, images or all.
    #[arg(value_enum)]
    pub what: What,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = GetFormat::Table)]
    pub output: GetFormat,
}

/// Output of `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetFormat {
    /// Aligned columns.
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// Flags of `gitops cluster build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// ks, hr or all.
    #[arg(value_enum)]
    pub what: What,
    /// Only this Kustomization or HelmRelease (NAME or NAMESPACE/NAME).
    pub name: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = BuildFormat::Yaml)]
    pub output: BuildFormat,
    /// Leave out Secrets.
    #[arg(long)]
    pub skip_secrets: bool,
    /// Leave out CustomResourceDefinitions.
    #[arg(long)]
    pub skip_crds: bool,
    /// Leave out these kinds (comma-separated, repeatable).
    #[arg(long, value_name = "K,…", value_delimiter = ',')]
    pub skip_kinds: Vec<String>,
    /// Print Secret values (by default they read `**redacted**`).
    #[arg(long)]
    pub show_secrets: bool,
}

/// Output of `build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildFormat {
    /// A multi-document YAML stream.
    Yaml,
    /// A JSON array.
    Json,
}

/// Flags of `gitops cluster diff`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("orig").required(true).args(["path_orig", "base"])))]
pub struct DiffArgs {
    /// ks, hr, images or all.
    #[arg(value_enum)]
    pub what: What,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The cluster directory of the version to compare with.
    #[arg(long, value_name = "DIR")]
    pub path_orig: Option<PathBuf>,
    /// A Git revision of the repository to compare with.
    #[arg(long, value_name = "GIT-REV")]
    pub base: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = DiffFormat::Diff)]
    pub output: DiffFormat,
    /// Render everything on both sides instead of what changed.
    #[arg(long)]
    pub full: bool,
    /// Leave out Secrets.
    #[arg(long)]
    pub skip_secrets: bool,
    /// Leave out CustomResourceDefinitions.
    #[arg(long)]
    pub skip_crds: bool,
    /// Leave out these kinds (comma-separated, repeatable).
    #[arg(long, value_name = "K,…", value_delimiter = ',')]
    pub skip_kinds: Vec<String>,
}

/// Output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Unified diffs per object.
    Diff,
    /// Markdown for a pull-request comment.
    Github,
    /// JSON.
    Json,
}

/// Flags of `gitops cluster test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// ks, hr or all.
    #[arg(value_enum)]
    pub what: What,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, visible_alias = "junitxml", value_name = "FILE")]
    pub junit_xml: Option<PathBuf>,
}

/// Run a `gitops cluster` subcommand.
pub fn run(cmd: ClusterCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        ClusterCmd::Get(a) => get(&a, out),
        ClusterCmd::Build(a) => build(&a, out),
        ClusterCmd::Diff(a) => diff_cmd(&a, out),
        ClusterCmd::Test(a) => test(&a, out),
    }
}

/// The repository root and the cluster path inside it.
fn locate(path: &Path, root: Option<&Path>) -> anyhow::Result<(PathBuf, RelPath)> {
    let abs =
        std::fs::canonicalize(path).with_context(|| format!("cluster path {}", path.display()))?;
    if !abs.is_dir() {
        bail!("cluster path {} is not a directory", path.display());
    }
    let root = match root {
        Some(r) => std::fs::canonicalize(r).with_context(|| format!("--root {}", r.display()))?,
        None => match abs.ancestors().find(|a| a.join(".git").exists()) {
            Some(r) => r.to_path_buf(),
            None => root_from_sync_path(&abs)
                .or_else(|| {
                    std::env::current_dir()
                        .ok()
                        .and_then(|d| std::fs::canonicalize(d).ok())
                        .filter(|d| abs.starts_with(d))
                })
                .unwrap_or_else(|| abs.clone()),
        },
    };
    let rel = abs.strip_prefix(&root).with_context(|| {
        format!(
            "cluster path {} is not inside the repository root {}",
            abs.display(),
            root.display()
        )
    })?;
    let rel = rel
        .to_str()
        .with_context(|| format!("cluster path {} is not UTF-8", rel.display()))?;
    Ok((root, RelPath::new(rel)?))
}

/// Outside a Git work tree: the root that makes the cluster's own
/// Kustomization (`spec.path: ./clusters/dev` in one of its files) point
/// at the cluster path.
fn root_from_sync_path(abs: &Path) -> Option<PathBuf> {
    let mut stack = vec![(abs.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() && depth < 3 {
                stack.push((p, depth + 1));
                continue;
            }
            let is_yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
            if !t.is_file() || !is_yaml {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            if !text.contains("kustomize.toolkit.fluxcd.io") {
                continue;
            }
            for line in text.lines() {
                let Some(v) = line.trim().strip_prefix("path:") else {
                    continue;
                };
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                let v = v.trim_start_matches("./").trim_matches('/');
                if v.is_empty() || v.contains("..") {
                    continue;
                }
                if abs.ends_with(v) {
                    let depth = Path::new(v).components().count();
                    return abs.ancestors().nth(depth).map(Path::to_path_buf);
                }
            }
        }
    }
    None
}

fn options(a: &ClusterArgs) -> Options {
    let mut o = Options::new()
        .with_strict_substitute(!a.no_strict_substitute)
        .with_api_versions(a.api_versions.iter().cloned())
        .with_helm(!a.skip_helm);
    if let Some(v) = &a.kube_version {
        o = o.with_kube_version(v.clone());
    }
    o
}

/// Render the cluster of `--path`; HelmReleases only as far as `what`
/// (and `name`, for one) needs them.
fn render(a: &ClusterArgs, what: What, name: Option<&str>) -> anyhow::Result<Cluster> {
    let (root, rel) = locate(&a.path, a.root.as_deref())?;
    let tree = OsTree::new(&root).with_context(|| format!("opening {}", root.display()))?;
    let sources = CliSources::new(a)?;
    let mut opts = options(a);
    if what == What::Ks {
        opts = opts.with_helm(false);
    } else if let Some(n) = name.filter(|_| what == What::Hr) {
        opts = opts.with_only_helm_releases([n.to_owned()]);
    }
    Ok(render_cluster(&tree, &rel, &sources, &opts))
}

/// Errors and skips of what was asked for, on stderr.
fn report_problems(c: &Cluster, what: What) {
    for case in cases(c) {
        let asked = match what {
            What::Ks => case.kind == "Kustomization",
            What::Hr => case.kind == "HelmRelease",
            What::Images | What::All => true,
        };
        if !asked
            || case.message == "not selected"
            || case.message == "HelmRelease rendering is off"
        {
            continue;
        }
        match case.label {
            "FAIL" => eprintln!("error: {}", case.message),
            "SKIP" if case.message != "unchanged" => eprintln!(
                "warning: {} {} skipped: {}",
                case.kind, case.id, case.message
            ),
            _ => {}
        }
    }
}

fn outcome_json(o: &Outcome) -> Value {
    match o {
        Outcome::Rendered(objs) => json!({"status": "PASS", "objects": objs.len()}),
        Outcome::Failed(m) => json!({"status": "FAIL", "message": m}),
        Outcome::Skipped(m) => json!({"status": "SKIP", "message": m}),
        _ => json!({"status": "UNKNOWN"}),
    }
}

fn get(a: &GetArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let c = render(&a.cluster, a.what, None)?;
    let mut rows: Vec<Value> = Vec::new();
    if matches!(a.what, What::Ks | What::All) {
        for k in &c.kustomizations {
            let mut r = json!({
                "kind": "Kustomization",
                "namespace": k.namespace,
                "name": k.name,
                "path": k.path,
                "source": k.source.to_string(),
                "parent": k.parent,
                "dependsOn": k.depends_on,
            });
            merge(&mut r, outcome_json(&k.outcome));
            rows.push(r);
        }
    }
    if matches!(a.what, What::Hr | What::All) {
        for h in &c.helm_releases {
            let mut r = json!({
                "kind": "HelmRelease",
                "namespace": h.namespace,
                "name": h.name,
                "chart": h.chart,
                "version": h.version,
                "source": h.source.as_ref().map(ToString::to_string),
                "parent": h.parent,
                "dependsOn": h.depends_on,
            });
            merge(&mut r, outcome_json(&h.outcome));
            rows.push(r);
        }
    }
    if matches!(a.what, What::Images | What::All) {
        for (owner, objects) in groups(&c, What::All) {
            let imgs = images::of_objects(objects);
            if !imgs.is_empty() {
                rows.push(json!({"kind": "Images", "owner": owner, "images": imgs}));
            }
        }
    }
    report_problems(&c, a.what);
    match a.output {
        GetFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        GetFormat::Yaml => out.write_all(object_yaml(&Value::Array(rows)).as_bytes())?,
        GetFormat::Table => print_tables(a.what, &rows, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(dst: &mut Value, src: Value) {
    if let (Some(d), Value::Object(s)) = (dst.as_object_mut(), src) {
        d.extend(s);
    }
}

fn print_tables(what: What, rows: &[Value], out: &mut dyn Write) -> anyhow::Result<()> {
    let s = |v: &Value, k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let mut tables: Vec<(Vec<&str>, Vec<Vec<String>>)> = Vec::new();
    if matches!(what, What::Ks | What::All) {
        let body = rows
            .iter()
            .filter(|r| r["kind"] == "Kustomization")
            .map(|r| {
                ["namespace", "name", "path", "source", "objects", "status"]
                    .iter()
                    .map(|k| s(r, k))
                    .collect()
            })
            .collect();
        tables.push((
            vec!["NAMESPACE", "NAME", "PATH", "SOURCE", "OBJECTS", "STATUS"],
            body,
        ));
    }
    if matches!(what, What::Hr | What::All) {
        let body = rows
            .iter()
            .filter(|r| r["kind"] == "HelmRelease")
            .map(|r| {
                [
                    "namespace",
                    "name",
                    "chart",
                    "version",
                    "source",
                    "objects",
                    "status",
                ]
                .iter()
                .map(|k| s(r, k))
                .collect()
            })
            .collect();
        tables.push((
            vec![
                "NAMESPACE",
                "NAME",
                "CHART",
                "VERSION",
                "SOURCE",
                "OBJECTS",
                "STATUS",
            ],
            body,
        ));
    }
    if matches!(what, What::Images | What::All) {
        let mut body = Vec::new();
        for r in rows.iter().filter(|r| r["kind"] == "Images") {
            for i in r["images"].as_array().into_iter().flatten() {
                body.push(vec![
                    s(r, "owner"),
                    i.as_str().unwrap_or_default().to_owned(),
                ]);
            }
        }
        tables.push((vec!["OWNER", "IMAGE"], body));
    }
    for (n, (head, body)) in tables.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
        for row in body {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut l = String::new();
            for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(c);
                } else {
                    l.push_str(&format!("{c:<w$}   "));
                }
            }
            l.trim_end().to_owned()
        };
        writeln!(out, "{}", line(head.clone()))?;
        for row in body {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
    }
    Ok(())
}

/// The rendered objects per owner (`Kustomization ns/name`,
/// `HelmRelease ns/name`).
fn groups(c: &Cluster, what: What) -> Vec<(String, &[Value])> {
    let mut g: Vec<(String, &[Value])> = Vec::new();
    if matches!(what, What::Ks | What::All | What::Images) {
        for k in &c.kustomizations {
            g.push((format!("Kustomization {}", k.id()), k.outcome.objects()));
        }
    }
    if matches!(what, What::Hr | What::All | What::Images) {
        for h in &c.helm_releases {
            g.push((format!("HelmRelease {}", h.id()), h.outcome.objects()));
        }
    }
    g
}

struct Filter<'a> {
    secrets: bool,
    crds: bool,
    kinds: &'a [String],
}

impl Filter<'_> {
    fn keep(&self, obj: &Value) -> bool {
        let kind = obj["kind"].as_str().unwrap_or_default();
        !(self.secrets && kind == "Secret"
            || self.crds && kind == "CustomResourceDefinition"
            || self.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)))
    }
}

fn build(a: &BuildArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if a.what == What::Images {
        bail!(
            "`gitops cluster build` takes ks, hr or all (images: use `gitops cluster get images`)"
        );
    }
    let c = render(&a.cluster, a.what, a.name.as_deref())?;
    let filter = Filter {
        secrets: a.skip_secrets,
        crds: a.skip_crds,
        kinds: &a.skip_kinds,
    };
    let mut selected: Vec<&Value> = Vec::new();
    let mut failed = false;
    let mut found = a.name.is_none();
    if matches!(a.what, What::Ks | What::All) {
        for k in &c.kustomizations {
            if a.name.as_deref().is_some_and(|n| !k.is_named(n)) {
                continue;
            }
            found = true;
            failed |= matches!(k.outcome, Outcome::Failed(_));
            selected.extend(k.outcome.objects().iter().filter(|o| filter.keep(o)));
        }
    }
    if matches!(a.what, What::Hr | What::All) {
        for h in &c.helm_releases {
            if a.name.as_deref().is_some_and(|n| !h.is_named(n)) {
                continue;
            }
            found = true;
            failed |= matches!(h.outcome, Outcome::Failed(_));
            selected.extend(h.outcome.objects().iter().filter(|o| filter.keep(o)));
        }
    }
    if !found {
        bail!(
            "no {} named {:?} in the cluster at {}",
            match a.what {
                What::Ks => "Kustomization",
                What::Hr => "HelmRelease",
                _ => "Kustomization or HelmRelease",
            },
            a.name.as_deref().unwrap_or_default(),
            a.cluster.path.display()
        );
    }
    report_problems(&c, a.what);
    // Secret values are masked unless asked for.
    let secret = |o: &Value| !a.show_secrets && o["kind"] == "Secret";
    let masked: Vec<Value> = selected
        .iter()
        .filter(|o| secret(o))
        .map(|o| diff::redact_secret(o))
        .collect();
    let mut masked = masked.iter();
    let shown: Vec<&Value> = selected
        .iter()
        .map(|o| match secret(o) {
            true => masked.next().unwrap_or(o),
            false => o,
        })
        .collect();
    match a.output {
        BuildFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&shown)?)?,
        BuildFormat::Yaml => {
            for (i, text) in yaml_texts(&shown).iter().enumerate() {
                if i > 0 {
                    out.write_all(b"---\n")?;
                }
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn test(a: &TestArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if a.what == What::Images {
        bail!("`gitops cluster test` takes ks, hr or all");
    }
    let c = render(&a.cluster, a.what, None)?;
    let all = cases(&c);
    let selected: Vec<_> = all
        .into_iter()
        .filter(|k| match a.what {
            What::Ks => k.kind == "Kustomization",
            What::Hr => k.kind == "HelmRelease",
            _ => true,
        })
        .collect();
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for k in &selected {
        match k.label {
            "PASS" => {
                pass += 1;
                writeln!(out, "PASS {} {}", k.kind, k.id)?;
            }
            "FAIL" => {
                fail += 1;
                writeln!(out, "FAIL {} {}: {}", k.kind, k.id, k.message)?;
            }
            _ => {
                skip += 1;
                writeln!(out, "SKIP {} {}: {}", k.kind, k.id, k.message)?;
            }
        }
    }
    writeln!(out, "{pass} passed, {fail} failed, {skip} skipped")?;
    if let Some(p) = &a.junit_xml {
        let suite = format!("gitops cluster test {}", a.cluster.path.display());
        std::fs::write(p, junit_xml(&suite, &selected))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(if fail > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn diff_cmd(a: &DiffArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (root, rel) = locate(&a.cluster.path, a.cluster.root.as_deref())?;
    let new_tree = OsTree::new(&root).with_context(|| format!("opening {}", root.display()))?;
    // Git lists the changed files while the base revision's tree is read.
    let changed = match (&a.base, a.full) {
        (Some(rev), false) => {
            let (root, rev) = (root.clone(), rev.clone());
            Some(std::thread::spawn(move || changed_since(&root, &rev)))
        }
        _ => None,
    };
    let (old_tree, old_rel): (Box<dyn FileTree + Sync>, RelPath) = match (&a.path_orig, &a.base) {
        (Some(p), _) => {
            let abs =
                std::fs::canonicalize(p).with_context(|| format!("--path-orig {}", p.display()))?;
            // The other version's repository root: its Git work tree, else
            // the directory that holds the cluster path as --path's does.
            let old_root = abs
                .ancestors()
                .find(|d| d.join(".git").exists())
                .map(Path::to_path_buf)
                .or_else(|| {
                    let depth = rel.components().count();
                    abs.ancestors().nth(depth).map(Path::to_path_buf)
                })
                .unwrap_or_else(|| abs.clone());
            let (r, rp) = locate(p, Some(&old_root))?;
            (Box::new(OsTree::new(&r)?), rp)
        }
        (None, Some(rev)) => (Box::new(GitRevTree::open(&root, rev)?), rel.clone()),
        (None, None) => bail!("give --path-orig DIR or --base GIT-REV"),
    };
    let sources = CliSources::new(&a.cluster)?;
    let mut opts = options(&a.cluster);
    if a.what == What::Ks {
        opts = opts.with_helm(false);
    }
    let (old, new, skipped) = if a.full {
        (
            render_cluster(&*old_tree, &old_rel, &sources, &opts),
            render_cluster(&new_tree, &rel, &sources, &opts),
            Vec::new(),
        )
    } else {
        let changed = match changed {
            Some(h) => Some(
                h.join()
                    .map_err(|_| anyhow::anyhow!("listing the changed files failed"))??,
            ),
            None => None,
        };
        let v = render_changed(
            &*old_tree,
            &new_tree,
            &rel,
            changed.as_ref(),
            &sources,
            &opts,
        )
        .context("comparing the two versions")?;
        (v.old, v.new, v.skipped)
    };
    report_problems(&new, a.what);
    let filter = Filter {
        secrets: a.skip_secrets,
        crds: a.skip_crds,
        kinds: &a.skip_kinds,
    };
    let kept = |c, what| kept(c, what, &filter);
    if !skipped.is_empty() {
        eprintln!(
            "note: {} unchanged, not rendered: {}",
            skipped.len(),
            shorten_list(&skipped)
        );
    }
    if a.what == What::Images {
        return diff_images(
            &kept(&old, What::Images),
            &kept(&new, What::Images),
            a.output,
            out,
            &skipped,
        );
    }
    let old_g = kept(&old, a.what);
    let new_g = kept(&new, a.what);
    let (og, ng) = (&old_g, &new_g);
    let og: Vec<Group<'_>> = og
        .iter()
        .map(|(o, v)| Group {
            owner: o,
            objects: v,
        })
        .collect();
    let ng: Vec<Group<'_>> = ng
        .iter()
        .map(|(o, v)| Group {
            owner: o,
            objects: v,
        })
        .collect();
    let diffs = diff::diff_groups(&og, &ng, &object_yaml);
    match a.output {
        DiffFormat::Diff => out.write_all(diff::to_text(&diffs).as_bytes())?,
        DiffFormat::Github => out.write_all(diff::to_github(&diffs).as_bytes())?,
        DiffFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "changes": diff::to_json(&diffs),
                "skipped": skipped,
                "failed": failures(&new),
            }))?
        )?,
    }
    Ok(if new.any_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn failures(c: &Cluster) -> Vec<Value> {
    cases(c)
        .into_iter()
        .filter(|k| k.label == "FAIL")
        .map(|k| json!({"kind": k.kind, "id": k.id, "message": k.message}))
        .collect()
}

fn shorten_list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN {
        return items.join(", ");
    }
    format!(
        "{}, and {} more",
        items[..SHOWN].join(", "),
        items.len() - SHOWN
    )
}

type Groups<'c> = [(String, Cow<'c, [Value]>)];

/// The objects as YAML texts, in order, printed on the available cores
/// (a cluster's output runs to megabytes).
fn yaml_texts(objects: &[&Value]) -> Vec<String> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(objects.len() / 64 + 1);
    if workers <= 1 {
        return objects.iter().map(|o| object_yaml(o)).collect();
    }
    let chunk = objects.len().div_ceil(workers);
    std::thread::scope(|s| {
        let parts: Vec<_> = objects
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|o| object_yaml(o)).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The groups of `what`, without the objects `filter` leaves out (copied
/// only when it leaves some out).
fn kept<'c>(c: &'c Cluster, what: What, filter: &Filter<'_>) -> Vec<(String, Cow<'c, [Value]>)> {
    groups(c, what)
        .into_iter()
        .map(|(o, objs)| {
            let objs: Cow<'c, [Value]> = if objs.iter().all(|x| filter.keep(x)) {
                Cow::Borrowed(objs)
            } else {
                Cow::Owned(objs.iter().filter(|x| filter.keep(x)).cloned().collect())
            };
            (o, objs)
        })
        .collect()
}

fn diff_images(
    old: &Groups<'_>,
    new: &Groups<'_>,
    format: DiffFormat,
    out: &mut dyn Write,
    skipped: &[String],
) -> anyhow::Result<ExitCode> {
    let imgs = |g: &Groups<'_>| -> BTreeSet<(String, String)> {
        g.iter()
            .flat_map(|(o, objs)| {
                images::of_objects(objs.iter())
                    .into_iter()
                    .map(move |i| (o.clone(), i))
            })
            .collect()
    };
    let (a, b) = (imgs(old), imgs(new));
    let removed: Vec<_> = a.difference(&b).collect();
    let added: Vec<_> = b.difference(&a).collect();
    match format {
        DiffFormat::Json => {
            let j = |v: &[&(String, String)]| -> Vec<Value> {
                v.iter()
                    .map(|(o, i)| json!({"owner": o, "image": i}))
                    .collect()
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json!({
                    "added": j(&added), "removed": j(&removed), "skipped": skipped,
                }))?
            )?;
        }
        DiffFormat::Diff => {
            for (o, i) in &removed {
                writeln!(out, "- {i}\t({o})")?;
            }
            for (o, i) in &added {
                writeln!(out, "+ {i}\t({o})")?;
            }
        }
        DiffFormat::Github => {
            if added.is_empty() && removed.is_empty() {
                writeln!(out, "### No image changes")?;
            } else {
                writeln!(
                    out,
                    "### Image changes\n\n| | Image | Owner |\n|---|---|---|"
                )?;
                for (o, i) in &removed {
                    writeln!(out, "| - | `{i}` | {o} |")?;
                }
                for (o, i) in &added {
                    writeln!(out, "| + | `{i}` | {o} |")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The files of the work tree that differ from `rev`: changed tracked
/// files and untracked ones that are not ignored, as `git` lists them.
fn changed_since(root: &Path, rev: &str) -> anyhow::Result<BTreeSet<RelPath>> {
    if rev.starts_with('-') {
        bail!("--base {rev:?}: a revision cannot start with '-'");
    }
    // Both listings run at once.
    let spawn = |args: &[&str]| -> anyhow::Result<std::process::Child> {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running git")
    };
    let wait = |child: std::process::Child, args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let o = child.wait_with_output().context("running git")?;
        if !o.status.success() {
            bail!(
                "git {} in {}: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(o.stdout)
    };
    let diff_args = ["diff", "--name-only", "--no-renames", "-z", rev, "--"];
    let others_args = ["ls-files", "--others", "--exclude-standard", "-z"];
    let diff = spawn(&diff_args)?;
    let others = spawn(&others_args)?;
    let tracked = wait(diff, &diff_args)?;
    let untracked = wait(others, &others_args)?;
    let mut out = BTreeSet::new();
    for name in tracked
        .split(|b| *b == 0)
        .chain(untracked.split(|b| *b == 0))
    {
        if name.is_empty() {
            continue;
        }
        let name = std::str::from_utf8(name).context("a changed file name is not UTF-8")?;
        out.insert(RelPath::new(name)?);
    }
    Ok(out)
}

/// Sources from `--source` mappings, the cache and, with `--fetch`, the
/// network.
struct CliSources {
    mappings: Vec<(String, PathBuf)>,
    fetch: bool,
    cache: PathBuf,
}

impl CliSources {
    fn new(a: &ClusterArgs) -> anyhow::Result<CliSources> {
        let mut mappings = Vec::new();
        for m in &a.sources {
            let Some((name, dir)) = m.split_once('=') else {
                bail!("--source {m:?}: expected NAME=DIR");
            };
            if name.is_empty() || dir.is_empty() {
                bail!("--source {m:?}: expected NAME=DIR");
            }
            let dir = PathBuf::from(dir);
            if !dir.exists() {
                bail!("--source {m:?}: {} does not exist", dir.display());
            }
            mappings.push((name.to_owned(), dir));
        }
        let cache = match &a.cache_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir)
                .join("gitops/cluster"),
        };
        Ok(CliSources {
            mappings,
            fetch: a.fetch,
            cache,
        })
    }

    fn mapping(&self, s: &SourceRef) -> Option<&Path> {
        self.mappings
            .iter()
            .find(|(k, _)| {
                let parts: Vec<&str> = k.split('/').collect();
                match parts.as_slice() {
                    [n] => *n == s.name,
                    [ns, n] => *ns == s.namespace && *n == s.name,
                    [kind, ns, n] => {
                        kind.eq_ignore_ascii_case(&s.kind) && *ns == s.namespace && *n == s.name
                    }
                    _ => false,
                }
            })
            .map(|(_, d)| d.as_path())
    }

    fn key(parts: &[&str]) -> String {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..16])
    }

    fn registry_client(&self) -> Result<gitops_source::registry::Client, Unavailable> {
        let keychain = crate::cmd::image::keychain(None, None, None)
            .map_err(|e| Unavailable::Failed(format!("registry credentials: {e:#}")))?;
        gitops_source::registry::Client::new(keychain, gitops_source::registry::Options::default())
            .map_err(|e| Unavailable::Failed(e.to_string()))
    }

    fn fetch_tree(&self, s: &SourceRef, object: Option<&Value>) -> Result<PathBuf, Unavailable> {
        let Some(obj) = object else {
            return Err(Unavailable::Failed(format!(
                "{s} is not defined in the cluster; map it with --source {}/{}=DIR",
                s.namespace, s.name
            )));
        };
        let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        let text = |p: &str| spec.pointer(p).and_then(Value::as_str).unwrap_or_default();
        // Where it is, for messages: a URL, or a bucket at its endpoint.
        let url = match s.kind.as_str() {
            "Bucket" => format!("{}/{}", text("/endpoint"), text("/bucketName")),
            _ => text("/url").to_owned(),
        };
        let spec_ref = spec.get("ref").cloned().unwrap_or(Value::Null);
        // Cached by the whole spec: another URL, ref, prefix or ignore
        // rule is another artifact.
        let key = Self::key(&[&s.kind, &spec.to_string()]);
        let dir = self.cache.join("sources").join(&key);
        if dir.is_dir() && !self.fetch {
            return Ok(dir);
        }
        if !self.fetch {
            return Err(Unavailable::Skipped(format!(
                "{s} ({url}) is not available: map it with --source {}/{}=DIR or pass --fetch",
                s.namespace, s.name
            )));
        }
        let sources = self.cache.join("sources");
        std::fs::create_dir_all(&sources)
            .map_err(|e| Unavailable::Failed(format!("cache {}: {e}", sources.display())))?;
        let staging = sources.join(format!(".{key}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let fail = |e: String| Unavailable::Failed(format!("fetching {s} from {url}: {e}"));
        match s.kind.as_str() {
            "GitRepository" => {
                let r: Option<gitops_core::flux::GitRepositoryRef> =
                    serde_json::from_value(spec_ref.clone()).ok();
                let reference = gitops_source::git::reference::Reference::from_spec(r.as_ref());
                let opts = gitops_source::git::CheckoutOptions::new(reference);
                gitops_source::git::Client::new()
                    .checkout(&url, &opts, &staging)
                    .map_err(|e| fail(e.to_string()))?;
            }
            "OCIRepository" => {
                let spec: gitops_core::flux::OCIRepositorySpec =
                    serde_json::from_value(spec.clone()).map_err(|e| fail(e.to_string()))?;
                let pull = gitops_source::oci::PullSpec::from_spec(&spec)
                    .map_err(|e| fail(e.to_string()))?;
                let client = self.registry_client()?;
                gitops_source::oci::pull(&client, &pull, &staging)
                    .map_err(|e| fail(e.to_string()))?;
            }
            "Bucket" => {
                let spec: gitops_core::flux::BucketSpec =
                    serde_json::from_value(spec.clone()).map_err(|e| fail(e.to_string()))?;
                // The credentials of spec.secretRef are not in the
                // repository: they come from the environment, as the AWS
                // tools take them.
                let creds = match (
                    std::env::var("AWS_ACCESS_KEY_ID"),
                    std::env::var("AWS_SECRET_ACCESS_KEY"),
                ) {
                    (Ok(id), Ok(secret)) => {
                        Some(gitops_source::bucket::BucketCredentials::new(&id, &secret))
                    }
                    _ => None,
                };
                gitops_source::bucket::fetch(
                    &spec,
                    creds.as_ref(),
                    &gitops_source::registry::Options::default(),
                    &staging,
                )
                .map_err(|e| fail(format!("{e:#}")))?;
            }
            other => {
                return Err(Unavailable::Failed(format!(
                    "fetching a {other} is not supported: map {s} with --source {}/{}=DIR",
                    s.namespace, s.name
                )));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).map_err(|e| fail(e.to_string()))?;
        Ok(dir)
    }
}

impl Sources for CliSources {
    fn tree(
        &self,
        source: &SourceRef,
        object: Option<&Value>,
    ) -> Result<Arc<dyn FileTree>, Unavailable> {
        let dir = match self.mapping(source) {
            Some(d) => d.to_path_buf(),
            None => self.fetch_tree(source, object)?,
        };
        let t = OsTree::new(&dir)
            .map_err(|e| Unavailable::Failed(format!("{source} at {}: {e}", dir.display())))?;
        Ok(Arc::new(t))
    }

    fn chart(&self, request: &ChartRequest<'_>) -> Result<Vec<u8>, Unavailable> {
        let (url, chart, version, shown) = match *request {
            ChartRequest::Repository {
                url,
                chart,
                version,
                repository,
            } => (
                url.to_owned(),
                chart.to_owned(),
                version.to_owned(),
                format!("chart {chart} {version} of {repository} ({url})"),
            ),
            ChartRequest::Oci { repository, object } => {
                let url = object
                    .pointer("/spec/url")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let r = |k: &str| {
                    object
                        .pointer(&format!("/spec/ref/{k}"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                if r("digest").is_some() {
                    return Err(Unavailable::Failed(format!(
                        "{repository}: charts pinned by spec.ref.digest are not supported; use a tag or semver"
                    )));
                }
                let version = r("tag")
                    .or_else(|| r("semver"))
                    .unwrap_or_else(|| "latest".to_owned());
                let Some((repo, name)) = url.trim_end_matches('/').rsplit_once('/') else {
                    return Err(Unavailable::Failed(format!(
                        "{repository}: spec.url {url:?} is not oci://HOST/PATH"
                    )));
                };
                (
                    repo.to_owned(),
                    name.to_owned(),
                    version.clone(),
                    format!("chart of {repository} ({url}:{version})"),
                )
            }
            _ => return Err(Unavailable::Failed("unsupported chart request".to_owned())),
        };
        let file = self
            .cache
            .join("charts")
            .join(format!("{}.tgz", Self::key(&[&url, &chart, &version])));
        if !self.fetch {
            return std::fs::read(&file)
                .map_err(|_| Unavailable::Skipped(format!("{shown} is not cached: pass --fetch")));
        }
        let client = self.registry_client()?;
        let fetched = gitops_source::helm::fetch_chart(&client, &url, &chart, &version)
            .map_err(|e| Unavailable::Failed(format!("fetching {shown}: {e}")))?;
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        // Written beside and renamed: a reader never sees half a chart.
        let tmp = file.with_extension(format!("tgz.{}", std::process::id()));
        if std::fs::write(&tmp, &fetched.bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &file);
        }
        Ok(fetched.bytes)
    }
}
