//! The smallest useful ImageRepository controller on kube-runtime, built on
//! gitops-reconcile (docs/controller.md, "Write your own controller").
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use futures_util::StreamExt;
use gitops_core::{
    ImageRef,
    flux::{ImageRepository, ImageRepositoryResource},
};
use gitops_reconcile::{
    Requeue, Run,
    image_repository::{self, Scan},
};
use gitops_source::registry::{AsyncClient, Keychain, Options};
use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{Controller, controller::Action, watcher},
};

struct Ctx {
    client: Client,
    registry: AsyncClient,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Spec(#[from] gitops_reconcile::outcome::SpecError),
}

async fn reconcile(obj: Arc<ImageRepositoryResource>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    // gitops-reconcile takes gitops-core's plain types: the same JSON.
    let plain: ImageRepository = serde_json::from_value(serde_json::to_value(&*obj)?)?;
    let run = Run::new(obj.metadata.generation.unwrap_or(0), SystemTime::now())
        .with_meta(&plain.metadata);
    let scan = if image_repository::should_scan(&plain, &run, false)?.scan {
        match ImageRef::parse(&plain.spec.image) {
            Ok(image) => match ctx.registry.list_tags(&image).await {
                Ok(tags) => Scan::Tags(tags),
                Err(e) => Scan::Failed(e.to_string()),
            },
            // An invalid image stalls the object; reconcile says so.
            Err(_) => Scan::NotDue,
        }
    } else {
        Scan::NotDue
    };
    let out = image_repository::reconcile(&plain, &run, scan)?;
    if let Some(status) = &out.reconciled.status {
        Api::<ImageRepositoryResource>::namespaced(
            ctx.client.clone(),
            &obj.namespace().unwrap_or_default(),
        )
        .patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await?;
    }
    // out.reconciled.events → kube::runtime::events::Recorder; out.tags → a tag store for the policies.
    Ok(match out.reconciled.requeue {
        Requeue::After(d) => Action::requeue(d),
        _ => Action::await_change(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let registry = AsyncClient::new(Keychain::from_default_docker_config()?, Options::default())?;
    let api = Api::<ImageRepositoryResource>::all(client.clone());
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_secs(10)),
            Arc::new(Ctx { client, registry }),
        )
        .for_each(|_| async {})
        .await;
    Ok(())
}
