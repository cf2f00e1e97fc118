//! The ImagePolicy reconciler: read the referenced ImageRepository and its
//! stored tags, select, reflect the digest, patch the status, record the
//! events.

use std::sync::Arc;

use gitops_core::ImageRef;
use gitops_core::flux::{
    ImagePolicy, ImagePolicyResource, ImageRepository, ImageRepositoryResource,
};
use gitops_reconcile::Run;
use gitops_reconcile::image_policy::{self as reconciler, Inputs, Repository};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::context::{Context, Error};
use crate::status;

/// The kind, for metrics and logs.
pub const KIND: &str = "ImagePolicy";

/// `(namespace, name)` of the ImageRepository `policy` refers to.
#[must_use]
pub fn repository_of(policy: &ImagePolicyResource) -> (String, String) {
    let r = &policy.spec.image_repository_ref;
    let ns = r
        .namespace
        .clone()
        .or_else(|| policy.namespace())
        .unwrap_or_default();
    (ns, r.name.clone())
}

/// The policies (from the controller's store) that refer to `repo`: the
/// mapper of `Controller::watches`, so a repository's new tags re-run them.
pub fn policies_of(
    policies: &[Arc<ImagePolicyResource>],
    repo: &ImageRepositoryResource,
) -> Vec<ObjectRef<ImagePolicyResource>> {
    let key = (repo.namespace().unwrap_or_default(), repo.name_any());
    policies
        .iter()
        .filter(|p| repository_of(p) == key)
        .map(|p| ObjectRef::from_obj(&**p))
        .collect()
}

/// Reconcile one ImagePolicy.
///
/// Cross-namespace references need `spec.accessFrom` on the repository;
/// its namespace selectors are not evaluated by this example.
///
/// # Errors
/// API failures (the repository read, the status patch).
pub async fn reconcile(obj: Arc<ImagePolicyResource>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = obj.name_any();
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    let plain: ImagePolicy = status::plain(KIND, &*obj)?;
    let run =
        Run::new(obj.metadata.generation.unwrap_or(0), (ctx.clock)()).with_meta(&plain.metadata);
    let (repo_ns, repo_name) = repository_of(&obj);
    let repos: Api<ImageRepositoryResource> = Api::namespaced(ctx.client.clone(), &repo_ns);
    let found = repos.get_opt(&repo_name).await?;
    let repo: Option<ImageRepository> = match &found {
        Some(r) => Some(status::plain(crate::image_repository::KIND, r)?),
        None => None,
    };
    let tags = ctx.tags.get(&repo_ns, &repo_name);
    let denied = format!(
        "cross-namespace access to ImageRepository {repo_ns}/{repo_name} is not allowed (no spec.accessFrom)"
    );
    let repository = match &repo {
        None => Repository::NotFound,
        Some(r) if repo_ns != ns && r.spec.access_from.is_none() => {
            Repository::AccessDenied(&denied)
        }
        Some(r) => Repository::Found {
            object: r,
            tags: &tags,
        },
    };
    let mut inputs = Inputs::new(repository);
    inputs.dependency_requeue = ctx.requeue_dependency;
    // The digest lookup, when the policy may read the repository and asks for one.
    let allowed = repo
        .as_ref()
        .filter(|r| repo_ns == ns || r.spec.access_from.is_some());
    if let Some(r) = allowed
        && let Ok(tag) = reconciler::select(&plain, &tags)
        && reconciler::digest_needed(&plain, r, &tag)
    {
        let answer = match ImageRef::parse(&r.spec.image) {
            Ok(image) => match crate::registry::for_repository(&ctx, &repo_ns, r).await {
                Ok(registry) => registry.manifest_digest(&image, &tag).await,
                Err(e) => Err(format!("failed to configure authentication options: {e}")),
            },
            Err(e) => Err(e.to_string()),
        };
        inputs = inputs.with_digest(answer);
    }
    let out = reconciler::reconcile(&plain, &run, inputs);
    let api: Api<ImagePolicyResource> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(new) = &out.status {
        status::patch_status(&api, &name, obj.status.as_ref(), new).await?;
    }
    status::publish(&ctx, &obj.object_ref(&()), &out.events).await;
    Ok(status::action(out.requeue))
}
