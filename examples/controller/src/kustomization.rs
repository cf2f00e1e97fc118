//! The Kustomization reconciler (`--enable-kustomizations`): Flux's
//! kustomize-controller on gitops-reconcile's pure
//! [`kustomization`](gitops_reconcile::kustomization) reconciler.
//!
//! One run, in kustomize-controller's order:
//!
//! 1. GET the `spec.sourceRef` (GitRepository `source.toolkit.fluxcd.io/v1`
//!    or OCIRepository `v1beta2`; namespace defaults to the
//!    Kustomization's). Absent → `SourceNotFound`; no `status.artifact` →
//!    `ArtifactMissing` (both Ready=False `ArtifactFailed`).
//! 2. `dependsOn`: every dependency must exist, be Ready=True with
//!    `observedGeneration == generation`, and — when it has the same
//!    source — have applied the same revision; else `DependencyNotReady`.
//! 3. Refuse what this example does not do (`kubeConfig`,
//!    `serviceAccountName`, `decryption`): applying with the controller's
//!    own rights instead would be a privilege escalation.
//! 4. Download the artifact, check its digest, unpack it into a temp dir
//!    ([`crate::artifact`]). A failure is Ready=False `ArtifactFailed` with
//!    the error, a Warning and the retry interval, as kustomize-controller.
//! 5. Read the `postBuild.substituteFrom` ConfigMaps and Secrets (optional
//!    ones may be missing; a missing required one fails the build).
//! 6. Build and plan ([`plan`](gitops_reconcile::kustomization::plan)),
//!    GET the live objects of the build and of the stale inventory entries
//!    (404 → absent), plan again against them.
//! 7. Server-side apply every object in plan order (stage by stage), field
//!    manager `kustomize-controller`, `force`; stop at the first error.
//!    Then delete the prune set (404 is fine). No health checks.
//! 8. Patch the status (only on change), record the events (reporting
//!    controller `kustomize-controller`), requeue.
//!
//! The plural of a kind comes from `ApiResource::from_gvk` (kube's
//! pluralisation), not from discovery; an object with a namespace is
//! addressed as namespaced, one without as cluster-scoped.

use std::sync::Arc;

use gitops_core::ObjectId;
use gitops_core::flux::{
    GitRepositoryResource, Kustomization, KustomizationResource, OCIRepositoryResource,
};
use gitops_core::fs::OsTree;
use gitops_reconcile::conditions::READY;
use gitops_reconcile::kustomization::{
    self as reconciler, KustomizationStatus, Outcome, Plan, subject,
};
use gitops_reconcile::{Reconciled, Run};
use gitops_render::flux::Resources;
use gitops_render::flux::plan::PruneAction;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::Value;

use crate::context::{Context, Error, KUSTOMIZE_CONTROLLER};
use crate::status;

/// The kind, for metrics and logs.
pub const KIND: &str = "Kustomization";

/// `status.artifact` of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    /// Where to download it.
    pub url: String,
    /// `sha256:<hex>` of the tar.gz.
    pub digest: String,
    /// The revision (`main@sha1:…`).
    pub revision: String,
}

impl ArtifactRef {
    /// `status.artifact` of a source's status (as JSON), when complete.
    #[must_use]
    pub fn of_status(status: &Value) -> Option<ArtifactRef> {
        let a = status.get("artifact")?;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(ArtifactRef {
            url: s("url")?,
            digest: s("digest").unwrap_or_default(),
            revision: s("revision").unwrap_or_default(),
        })
    }
}

/// What the source lookup found.
enum Source {
    NotFound,
    Unsupported(String),
    NoArtifact,
    Artifact(ArtifactRef),
}

/// `(kind, namespace, name)` of `obj`'s `spec.sourceRef`.
#[must_use]
pub fn source_of(obj: &KustomizationResource) -> (String, String, String) {
    let r = &obj.spec.source_ref;
    let ns = r
        .namespace
        .clone()
        .or_else(|| obj.namespace())
        .unwrap_or_default();
    (r.kind.clone(), ns, r.name.clone())
}

/// The Kustomizations (from the controller's store) whose source is the
/// GitRepository `repo`: the mapper of `Controller::watches`, so a new
/// artifact re-runs them.
pub fn kustomizations_of(
    kustomizations: &[Arc<KustomizationResource>],
    repo: &GitRepositoryResource,
) -> Vec<ObjectRef<KustomizationResource>> {
    let key = (
        "GitRepository".to_owned(),
        repo.namespace().unwrap_or_default(),
        repo.name_any(),
    );
    kustomizations
        .iter()
        .filter(|k| source_of(k) == key)
        .map(|k| ObjectRef::from_obj(&**k))
        .collect()
}

async fn status_of<K>(api: Api<K>, name: &str) -> Result<Option<Value>, Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let Some(found) = api.get_opt(name).await? else {
        return Ok(None);
    };
    let v = serde_json::to_value(&found).map_err(|source| Error::Decode {
        kind: "source",
        source,
    })?;
    Ok(Some(v.get("status").cloned().unwrap_or(Value::Null)))
}

async fn source(ctx: &Context, obj: &KustomizationResource) -> Result<Source, Error> {
    let (kind, ns, name) = source_of(obj);
    let status = match kind.as_str() {
        "GitRepository" => {
            status_of(
                Api::<GitRepositoryResource>::namespaced(ctx.client.clone(), &ns),
                &name,
            )
            .await?
        }
        "OCIRepository" => {
            status_of(
                Api::<OCIRepositoryResource>::namespaced(ctx.client.clone(), &ns),
                &name,
            )
            .await?
        }
        other => {
            return Ok(Source::Unsupported(format!(
                "source kind '{other}' is not supported by gitops-controller (GitRepository, OCIRepository)"
            )));
        }
    };
    Ok(match status {
        None => Source::NotFound,
        Some(s) => ArtifactRef::of_status(&s).map_or(Source::NoArtifact, Source::Artifact),
    })
}

fn is_ready(conditions: &[gitops_core::flux::Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.r#type == READY && c.status == "True")
}

/// kustomize-controller's `checkDependencies`: the first dependency that is
/// not ready, as the condition's message.
async fn dependencies(
    ctx: &Context,
    obj: &KustomizationResource,
    artifact: &ArtifactRef,
) -> Result<Option<String>, Error> {
    let own_ns = obj.namespace().unwrap_or_default();
    for dep in obj.spec.depends_on.iter().flatten() {
        let ns = dep.namespace.clone().unwrap_or_else(|| own_ns.clone());
        let dname = format!("{ns}/{}", dep.name);
        let api: Api<KustomizationResource> = Api::namespaced(ctx.client.clone(), &ns);
        let Some(k) = api.get_opt(&dep.name).await? else {
            return Ok(Some(format!("dependency '{dname}' not found")));
        };
        let st = k.status.clone().unwrap_or_default();
        let conditions = st.conditions.clone().unwrap_or_default();
        if conditions.is_empty()
            || k.metadata.generation != st.observed_generation
            || !is_ready(&conditions)
        {
            return Ok(Some(format!("dependency '{dname}' is not ready")));
        }
        if source_of(&k) == source_of(obj) {
            let applied = st.extra.get("lastAppliedRevision").and_then(Value::as_str);
            if applied != Some(artifact.revision.as_str()) {
                return Ok(Some(format!(
                    "dependency '{dname}' revision is not up to date"
                )));
            }
        }
    }
    Ok(None)
}

/// What this example refuses to do, as a message.
fn unsupported(plain: &Kustomization) -> Option<String> {
    let s = &plain.spec;
    let field = if s.kube_config.is_some() {
        "spec.kubeConfig"
    } else if s
        .service_account_name
        .as_deref()
        .is_some_and(|n| !n.is_empty())
    {
        "spec.serviceAccountName"
    } else if s.decryption.is_some() {
        "spec.decryption"
    } else {
        return None;
    };
    Some(format!("{field} is not supported by gitops-controller"))
}

/// A failure before the build, as kustomize-controller reports an artifact
/// fetch error: Ready=False `ArtifactFailed` with `message`, a Warning,
/// the retry interval.
#[must_use]
pub fn artifact_failed(
    plain: &Kustomization,
    run: &Run,
    revision: &str,
    message: &str,
) -> Reconciled<KustomizationStatus> {
    reconciler::reconcile(
        plain,
        run,
        Outcome::ArtifactFailed {
            revision: revision.to_owned(),
            message: message.to_owned(),
        },
    )
}

/// The ConfigMaps and Secrets of `postBuild.substituteFrom` (missing ones
/// are left out: the build fails on those not `optional`).
async fn substitutions(ctx: &Context, plain: &Kustomization, ns: &str) -> Result<Resources, Error> {
    let mut resources = Resources::new();
    let refs = plain
        .spec
        .post_build
        .as_ref()
        .and_then(|p| p.substitute_from.clone())
        .unwrap_or_default();
    for r in refs {
        let found = match r.kind.as_str() {
            "ConfigMap" => Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .get_opt(&r.name)
                .await?
                .map(serde_json::to_value),
            "Secret" => Api::<Secret>::namespaced(ctx.client.clone(), ns)
                .get_opt(&r.name)
                .await?
                .map(serde_json::to_value),
            _ => None,
        };
        if let Some(v) = found {
            let mut v = v.map_err(|source| Error::Decode {
                kind: "substituteFrom",
                source,
            })?;
            // Typed objects serialise with apiVersion and kind; be sure.
            v["apiVersion"] = Value::from("v1");
            v["kind"] = Value::from(r.kind.clone());
            let origin = format!("{}/{ns}/{}", r.kind, r.name);
            if let Err(e) = resources.add_json(&v, &origin) {
                crate::log::warn(&format!("substituteFrom {origin}: {e}"));
            }
        }
    }
    Ok(resources)
}

/// The API of the object `id` (plural from kube's pluralisation).
fn dynamic_api(ctx: &Context, id: &ObjectId) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(&id.group, &id.version, &id.kind);
    let ar = ApiResource::from_gvk(&gvk);
    match id.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &ar),
        None => Api::all_with(ctx.client.clone(), &ar),
    }
}

/// The live objects of `plan` and of the stale entries of the previous
/// inventory (404 → absent).
async fn live_objects(
    ctx: &Context,
    plain: &Kustomization,
    plan: &Plan,
) -> Result<Vec<Value>, Error> {
    let mut ids: Vec<ObjectId> = plan.objects.iter().map(|o| o.planned.id.clone()).collect();
    let current: std::collections::HashSet<&str> = plan
        .inventory
        .entries
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    let previous = KustomizationStatus::of(plain)
        .inventory
        .map(|i| i.to_inventory())
        .unwrap_or_default();
    for e in &previous.entries {
        if !current.contains(e.id.as_str())
            && !e.version.is_empty()
            && let Ok(id) = ObjectId::from_inventory_id(&e.id, &e.version)
        {
            ids.push(id);
        }
    }
    let mut live = Vec::new();
    for id in &ids {
        if let Some(obj) = dynamic_api(ctx, id).get_opt(&id.name).await? {
            live.push(serde_json::to_value(obj).map_err(|source| Error::Decode {
                kind: "live object",
                source,
            })?);
        }
    }
    Ok(live)
}

/// Build and plan on the blocking pool (the build reads files).
async fn plan_blocking(
    plain: &Kustomization,
    tree: &OsTree,
    revision: &str,
    resources: &Resources,
    live: Vec<Value>,
) -> Result<Plan, String> {
    let (plain, tree, revision, resources) = (
        plain.clone(),
        tree.clone(),
        revision.to_owned(),
        resources.clone(),
    );
    tokio::task::spawn_blocking(move || {
        reconciler::plan(&plain, &tree, &revision, &resources, &live)
    })
    .await
    .map_err(|e| format!("build task: {e}"))?
}

/// Apply `plan` (server-side apply, in order), then prune. Returns the
/// apply and prune errors.
async fn apply(ctx: &Context, plan: &Plan, live: &[Value]) -> (Option<String>, Option<String>) {
    let params = PatchParams::apply(KUSTOMIZE_CONTROLLER).force();
    for o in &plan.objects {
        let id = &o.planned.id;
        let api = dynamic_api(ctx, id);
        if let Err(e) = api
            .patch(&id.name, &params, &Patch::Apply(&o.planned.object))
            .await
        {
            return (Some(format!("{} apply failed: {e}", subject(id))), None);
        }
    }
    let present: std::collections::HashSet<String> = live
        .iter()
        .filter_map(gitops_render::flux::plan::object_id)
        .map(|id| id.inventory_id())
        .collect();
    let mut errors = Vec::new();
    for p in &plan.prune {
        if p.action != PruneAction::Delete || !present.contains(&p.id.inventory_id()) {
            // Kept (not ours, or annotated), or already gone.
            continue;
        }
        match dynamic_api(ctx, &p.id)
            .delete(&p.id.name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => errors.push(format!("{} delete failed: {e}", subject(&p.id))),
        }
    }
    let prune_error = (!errors.is_empty()).then(|| errors.join("\n"));
    (None, prune_error)
}

/// Everything up to the reconciler's result.
async fn run_once(
    ctx: &Context,
    obj: &KustomizationResource,
    plain: &Kustomization,
    run: &Run,
    ns: &str,
) -> Result<Reconciled<KustomizationStatus>, Error> {
    let artifact = match source(ctx, obj).await? {
        Source::NotFound => return Ok(reconciler::reconcile(plain, run, Outcome::SourceNotFound)),
        Source::NoArtifact => {
            return Ok(reconciler::reconcile(plain, run, Outcome::ArtifactMissing));
        }
        Source::Unsupported(m) => {
            // Reported like a missing source, with the reason as message.
            let mut out = reconciler::reconcile(plain, run, Outcome::SourceNotFound);
            for c in out.status.iter_mut().flat_map(|s| s.conditions.iter_mut()) {
                if c.r#type == READY {
                    c.message = Some(m.clone());
                }
            }
            return Ok(out);
        }
        Source::Artifact(a) => a,
    };
    if let Some(why) = dependencies(ctx, obj, &artifact).await? {
        return Ok(reconciler::reconcile(
            plain,
            run,
            Outcome::DependencyNotReady(why),
        ));
    }
    if let Some(m) = unsupported(plain) {
        return Ok(reconciler::reconcile(
            plain,
            run,
            Outcome::BuildFailed {
                revision: artifact.revision.clone(),
                message: m,
            },
        ));
    }
    let unpacked = match ctx.artifacts.fetch(&artifact.url, &artifact.digest).await {
        Ok(u) => u,
        Err(m) => return Ok(artifact_failed(plain, run, &artifact.revision, &m)),
    };
    let build_failed = |message: String| Outcome::BuildFailed {
        revision: artifact.revision.clone(),
        message,
    };
    let tree = match OsTree::new(unpacked.root()) {
        Ok(t) => t,
        Err(e) => {
            return Ok(artifact_failed(
                plain,
                run,
                &artifact.revision,
                &e.to_string(),
            ));
        }
    };
    let resources = substitutions(ctx, plain, ns).await?;
    // A first plan names the objects; a second one knows their live state.
    let first = match plan_blocking(plain, &tree, &artifact.revision, &resources, Vec::new()).await
    {
        Ok(p) => p,
        Err(m) => return Ok(reconciler::reconcile(plain, run, build_failed(m))),
    };
    let live = live_objects(ctx, plain, &first).await?;
    let plan = match plan_blocking(plain, &tree, &artifact.revision, &resources, live.clone()).await
    {
        Ok(p) => p,
        Err(m) => return Ok(reconciler::reconcile(plain, run, build_failed(m))),
    };
    drop(unpacked);
    let (apply_error, prune_error) = apply(ctx, &plan, &live).await;
    Ok(reconciler::reconcile(
        plain,
        run,
        Outcome::Applied {
            plan: &plan,
            apply_error,
            prune_error,
            // Health checks (`spec.wait`, `healthChecks`) are not implemented.
            health_error: None,
        },
    ))
}

/// Reconcile one Kustomization.
///
/// # Errors
/// API failures (reads, the status patch); source, build and apply
/// failures are conditions.
pub async fn reconcile(
    obj: Arc<KustomizationResource>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let name = obj.name_any();
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    let plain: Kustomization = status::plain(KIND, &*obj)?;
    let run =
        Run::new(obj.metadata.generation.unwrap_or(0), (ctx.clock)()).with_meta(&plain.metadata);
    let out = if plain.spec.suspend == Some(true) {
        Reconciled::suspended()
    } else {
        run_once(&ctx, &obj, &plain, &run, &ns).await?
    };
    let api: Api<KustomizationResource> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(new) = &out.status {
        status::patch_status(&api, &name, obj.status.as_ref(), new).await?;
    }
    status::publish_with(&ctx.kustomize_recorder, &obj.object_ref(&()), &out.events).await;
    Ok(status::action(out.requeue))
}
