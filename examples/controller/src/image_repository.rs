//! The ImageRepository reconciler: decide, scan the registry, store the
//! tags for the policies, patch the status, record the events.

use std::sync::Arc;

use gitops_core::ImageRef;
use gitops_core::flux::{ImageRepository, ImageRepositoryResource};
use gitops_reconcile::Run;
use gitops_reconcile::image_repository::{self as reconciler, Scan};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use crate::context::{Context, Error};
use crate::status;

/// The kind, for metrics and logs.
pub const KIND: &str = "ImageRepository";

/// What the registry answers for `obj` (a scan when one is due), with the
/// credentials of its `spec.secretRef` when it names one.
async fn scan(ctx: &Context, ns: &str, obj: &ImageRepository, due: bool) -> Scan {
    if !due {
        return Scan::NotDue;
    }
    let Ok(image) = ImageRef::parse(&obj.spec.image) else {
        // The reconciler reports the invalid image (Stalled).
        return Scan::NotDue;
    };
    let registry = match crate::registry::for_repository(ctx, ns, obj).await {
        Ok(r) => r,
        Err(e) => return Scan::AuthFailed(e),
    };
    match registry.list_tags(&image).await {
        Ok(tags) => Scan::Tags(tags),
        Err(e) => Scan::Failed(e),
    }
}

/// Reconcile one ImageRepository.
///
/// # Errors
/// API failures (the status patch); registry failures are conditions.
pub async fn reconcile(
    obj: Arc<ImageRepositoryResource>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let name = obj.name_any();
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    let plain: ImageRepository = status::plain(KIND, &*obj)?;
    let run =
        Run::new(obj.metadata.generation.unwrap_or(0), (ctx.clock)()).with_meta(&plain.metadata);
    let due = if plain.spec.suspend == Some(true) {
        false
    } else {
        reconciler::should_scan(&plain, &run, ctx.tags.has(&ns, &name))?.scan
    };
    let answer = scan(&ctx, &ns, &plain, due).await;
    let out = reconciler::reconcile(&plain, &run, answer)?;
    if let Some(tags) = out.tags {
        // Stored before the status patch: the patch wakes the policies.
        ctx.tags.set(&ns, &name, tags);
    }
    let api: Api<ImageRepositoryResource> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(new) = &out.reconciled.status {
        status::patch_status(&api, &name, obj.status.as_ref(), new).await?;
    }
    status::publish(&ctx, &obj.object_ref(&()), &out.reconciled.events).await;
    Ok(status::action(out.reconciled.requeue))
}
