//! The wiring: watchers (namespace and label selector), the two
//! controllers, metrics around each reconcile, leader election and
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use gitops_core::flux::{
    GitRepositoryResource, ImagePolicyResource, ImageRepositoryResource, KustomizationResource,
};
use kube::api::Api;
use kube::runtime::Controller;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::watcher;
use tokio::sync::watch;

use crate::context::{Context, Error};
use crate::metrics::Outcome;
use crate::{image_policy, image_repository, kustomization};

/// Which objects this instance reconciles.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `None`: every namespace (`--watch-all-namespaces`).
    pub namespace: Option<String>,
    /// `--watch-label-selector`, applied to every watcher (sharding).
    pub label_selector: Option<String>,
    /// `--concurrent`: reconciles at once per kind (0: unbounded).
    pub concurrent: u16,
    /// `--enable-kustomizations`: run the Kustomization controller too.
    pub kustomizations: bool,
}

impl Scope {
    /// The watcher configuration of every watch.
    #[must_use]
    pub fn watcher_config(&self) -> watcher::Config {
        let wc = watcher::Config::default();
        match self.label_selector.as_deref().filter(|s| !s.is_empty()) {
            Some(sel) => wc.labels(sel),
            None => wc,
        }
    }

    /// The API of `K` in scope.
    #[must_use]
    pub fn api<K>(&self, client: kube::Client) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }

    fn controller_config(&self) -> ControllerConfig {
        ControllerConfig::default().concurrency(self.concurrent)
    }
}

/// A shutdown signal: a `watch` channel set to `true` once.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and its trigger.
    #[must_use]
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Resolves once the signal is set (or its sender is gone).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    }
}

async fn timed<F>(kind: &'static str, ctx: Arc<Context>, fut: F) -> Result<Action, Error>
where
    F: Future<Output = Result<Action, Error>>,
{
    let start = Instant::now();
    let r = fut.await;
    let outcome = match &r {
        Ok(a) if *a == Action::await_change() => Outcome::Success,
        Ok(_) => Outcome::RequeueAfter,
        Err(e) => {
            crate::log::error(&format!("{kind}: {e}"));
            Outcome::Error
        }
    };
    ctx.metrics
        .reconciled(&kind.to_ascii_lowercase(), outcome, start.elapsed());
    r
}

fn error_policy<K>(_obj: Arc<K>, _err: &Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(10))
}

fn log_result<K: kube::Resource, E: std::fmt::Display, Q: std::fmt::Display>(
    r: Result<
        (kube::runtime::reflector::ObjectRef<K>, Action),
        kube::runtime::controller::Error<E, Q>,
    >,
) where
    K::DynamicType: std::fmt::Debug + Clone + Eq + std::hash::Hash,
{
    match r {
        Ok((o, a)) => crate::log::info(&format!("reconciled {o}: {a:?}")),
        Err(e) => crate::log::warn(&format!("controller: {e}")),
    }
}

/// The ImageRepository controller, stopping gracefully on `shutdown`.
pub fn image_repositories(
    ctx: Arc<Context>,
    scope: &Scope,
    shutdown: &Shutdown,
) -> impl Future<Output = ()> + Send + use<> {
    let api: Api<ImageRepositoryResource> = scope.api(ctx.client.clone());
    Controller::new(api, scope.watcher_config())
        .with_config(scope.controller_config())
        .graceful_shutdown_on(shutdown.wait())
        .run(
            |obj, ctx: Arc<Context>| {
                timed(
                    image_repository::KIND,
                    ctx.clone(),
                    image_repository::reconcile(obj, ctx),
                )
            },
            error_policy,
            ctx,
        )
        .for_each(|r| {
            log_result(r);
            std::future::ready(())
        })
}

/// The ImagePolicy controller: watches ImagePolicies, and ImageRepositories
/// mapped to the policies that refer to them (a new tag list re-runs them).
pub fn image_policies(
    ctx: Arc<Context>,
    scope: &Scope,
    shutdown: &Shutdown,
) -> impl Future<Output = ()> + Send + use<> {
    let api: Api<ImagePolicyResource> = scope.api(ctx.client.clone());
    let repos: Api<ImageRepositoryResource> = scope.api(ctx.client.clone());
    let controller = Controller::new(api, scope.watcher_config());
    let store = controller.store();
    controller
        .watches(repos, scope.watcher_config(), move |repo| {
            image_policy::policies_of(&store.state(), &repo)
        })
        .with_config(scope.controller_config())
        .graceful_shutdown_on(shutdown.wait())
        .run(
            |obj, ctx: Arc<Context>| {
                timed(
                    image_policy::KIND,
                    ctx.clone(),
                    image_policy::reconcile(obj, ctx),
                )
            },
            error_policy,
            ctx,
        )
        .for_each(|r| {
            log_result(r);
            std::future::ready(())
        })
}

/// The Kustomization controller (`--enable-kustomizations`): watches
/// Kustomizations, and GitRepositories mapped to the Kustomizations that
/// use them (a new artifact re-runs them; OCIRepository sources are picked
/// up at `spec.interval`).
pub fn kustomizations(
    ctx: Arc<Context>,
    scope: &Scope,
    shutdown: &Shutdown,
) -> impl Future<Output = ()> + Send + use<> {
    let api: Api<KustomizationResource> = scope.api(ctx.client.clone());
    let repos: Api<GitRepositoryResource> = scope.api(ctx.client.clone());
    let controller = Controller::new(api, scope.watcher_config());
    let store = controller.store();
    controller
        .watches(repos, watcher::Config::default(), move |repo| {
            kustomization::kustomizations_of(&store.state(), &repo)
        })
        .with_config(scope.controller_config())
        .graceful_shutdown_on(shutdown.wait())
        .run(
            |obj, ctx: Arc<Context>| {
                timed(
                    kustomization::KIND,
                    ctx.clone(),
                    kustomization::reconcile(obj, ctx),
                )
            },
            error_policy,
            ctx,
        )
        .for_each(|r| {
            log_result(r);
            std::future::ready(())
        })
}

/// Run the controllers until `shutdown`: the image controllers, and the
/// Kustomization controller with [`Scope::kustomizations`].
pub async fn controllers(ctx: Arc<Context>, scope: &Scope, shutdown: &Shutdown) {
    let ks = scope
        .kustomizations
        .then(|| kustomizations(ctx.clone(), scope, shutdown));
    futures_util::future::join3(
        image_repositories(ctx.clone(), scope, shutdown),
        image_policies(ctx, scope, shutdown),
        async move {
            if let Some(k) = ks {
                k.await;
            }
        },
    )
    .await;
}
