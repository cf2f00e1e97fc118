//! `gitops build --flux`: build a Flux Kustomization like kustomize-controller.
//!
//! The flags are meant to be flattened into `gitops build`'s arguments;
//! when `--flux` is given, `gitops build` calls [`run_flux`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gitops_core::flux::{FluxObject, Kustomization};
use gitops_core::fs::OsTree;
use gitops_core::yaml::{ReadOptions, Schema, parse_documents_in};
use gitops_render::flux::Resources;
use gitops_render::flux::build::{BuildOptions, flux_build};
use gitops_render::flux::plan::{Inventory, PruneAction, apply_plan, prune_set};
use gitops_render::flux::postbuild::object_yaml;

/// Flags of a Flux build.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FluxArgs {
    /// A Flux Kustomization manifest (kustomize.toolkit.fluxcd.io); builds
    /// its spec.path in --source like kustomize-controller.
    #[arg(long, value_name = "KUSTOMIZATION.yaml", requires = "source")]
    pub flux: Option<PathBuf>,
    /// The source artifact's root directory (spec.path is relative to it).
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// YAML files with the ConfigMaps/Secrets postBuild.substituteFrom reads.
    #[arg(long = "vars-from", value_name = "FILE")]
    pub vars_from: Vec<PathBuf>,
    /// The previous inventory (a Kustomization with status.inventory, or
    /// {entries: [{id, v}]}) to compute the prune set against.
    #[arg(long, value_name = "FILE")]
    pub previous_inventory: Option<PathBuf>,
    /// Print the apply plan (stages, inventory, prune set) instead of the objects.
    #[arg(long)]
    pub plan: bool,
    /// Leave unset postBuild variables empty instead of failing
    /// (kustomize-controller's strict mode is on by default).
    #[arg(long)]
    pub no_strict_substitute: bool,
    /// Label every object with the Kustomization's name and namespace
    /// (`kustomize.toolkit.fluxcd.io/name`, `…/namespace`), as
    /// `flux build kustomization` and kustomize-controller do.
    #[arg(long)]
    pub owner_labels: bool,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Run a Flux build and print the objects (or the plan with `--plan`).
pub fn run_flux(
    args: &FluxArgs,
    reorder: gitops_render::Reorder,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let ks_path = args
        .flux
        .as_ref()
        .context("--flux KUSTOMIZATION.yaml is required")?;
    let source = args
        .source
        .as_ref()
        .context("--source DIR is required with --flux")?;
    let origin = ks_path.display().to_string();
    // The Kustomization file counts against the build's YAML budget too.
    let budget = gitops_render::budget::current().unwrap_or_default();
    let docs = parse_documents_in(&read(ks_path)?, &origin, ReadOptions::default(), &budget)?;
    let node = docs
        .iter()
        .map(|d| &d.root)
        .find(|n| {
            n.get("kind").and_then(|k| k.as_str()) == Some("Kustomization")
                && n.get("apiVersion")
                    .and_then(|k| k.as_str())
                    .is_some_and(|a| a.starts_with("kustomize.toolkit.fluxcd.io/"))
        })
        .with_context(|| format!("{origin}: no kustomize.toolkit.fluxcd.io Kustomization found"))?;
    let ks = Kustomization::from_node(node, &origin)?;
    let mut resources = Resources::new();
    for f in &args.vars_from {
        resources.add_yaml(&read(f)?, &f.display().to_string())?;
    }
    let tree = OsTree::new(source)?;
    let options = BuildOptions {
        strict_substitute: !args.no_strict_substitute,
        reorder,
        owner_labels: args.owner_labels,
    };
    let built = flux_build(&tree, &ks, &resources, &options).with_context(|| {
        format!(
            "building Kustomization {}",
            ks.metadata.name.as_deref().unwrap_or("")
        )
    })?;
    if !args.plan {
        for (i, obj) in built.objects.iter().enumerate() {
            if i > 0 {
                writeln!(out, "---")?;
            }
            write!(out, "{}", object_yaml(obj))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let plan = apply_plan(&built.objects)?;
    let mut stage = None;
    for p in &plan {
        if stage != Some(p.stage) {
            writeln!(out, "# stage {}", p.stage.as_str())?;
            stage = Some(p.stage);
        }
        writeln!(out, "apply {}", p.id)?;
    }
    let inventory = Inventory::from_plan(&plan);
    writeln!(out, "# inventory")?;
    for e in &inventory.entries {
        writeln!(out, "{} {}", e.id, e.version)?;
    }
    if let Some(prev_path) = &args.previous_inventory {
        let text = read(prev_path)?;
        let prev_docs = parse_documents_in(
            &text,
            &prev_path.display().to_string(),
            ReadOptions::default(),
            &budget,
        )?;
        let prev_json = prev_docs
            .first()
            .map(|d| d.root.to_json(Schema::Core))
            .unwrap_or_default();
        let previous =
            Inventory::from_json(&prev_json).with_context(|| format!("{}", prev_path.display()))?;
        writeln!(out, "# prune")?;
        if !ks.spec.prune {
            writeln!(out, "(spec.prune is false: nothing is deleted)")?;
        } else {
            // Without the cluster, objects are assumed owned and not opted out.
            for e in prune_set(&previous, &inventory, &[], None) {
                match e.action {
                    PruneAction::Delete => writeln!(out, "delete {}", e.id)?,
                    PruneAction::Skip(why) => writeln!(out, "skip {} ({why})", e.id)?,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_with_previous_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("apps")).unwrap();
        std::fs::write(
            src.join("apps/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: x}\ndata: {env: '${ENV}'}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        )
        .unwrap();
        let ks = dir.path().join("ks.yaml");
        std::fs::write(
            &ks,
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n\
             spec:\n  interval: 5m\n  prune: true\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: repo}\n\
             \x20 postBuild:\n    substituteFrom: [{kind: ConfigMap, name: vars}]\n",
        )
        .unwrap();
        let vars = dir.path().join("vars.yaml");
        std::fs::write(
            &vars,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vars}\ndata: {ENV: prod}\n",
        )
        .unwrap();
        let prev = dir.path().join("inv.yaml");
        std::fs::write(
            &prev,
            "entries:\n- {id: x_old__Secret, v: v1}\n- {id: x_cfg__ConfigMap, v: v1}\n",
        )
        .unwrap();
        let mut args = FluxArgs {
            flux: Some(ks),
            source: Some(src),
            vars_from: vec![vars],
            ..FluxArgs::default()
        };
        let mut out = Vec::new();
        run_flux(&args, gitops_render::Reorder::Legacy, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\napiVersion: v1\ndata:\n  env: prod\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: x\n"
        );
        args.plan = true;
        args.previous_inventory = Some(prev);
        let mut out = Vec::new();
        run_flux(&args, gitops_render::Reorder::Legacy, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# stage definitions\napply Namespace/x\n# stage resources\napply ConfigMap/x/cfg\n# inventory\n_x__Namespace v1\nx_cfg__ConfigMap v1\n# prune\ndelete Secret/x/old\n"
        );
        args.vars_from.clear();
        let err = run_flux(&args, gitops_render::Reorder::Legacy, &mut Vec::new()).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "building Kustomization apps: substitute from 'ConfigMap/vars' error: not found in namespace 'flux-system'"
        );
    }
}
