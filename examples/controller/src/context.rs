//! What every reconcile shares: the API client, the registry, the tag store,
//! the event recorder, the metrics and the clock.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use kube::runtime::events::{Recorder, Reporter};

use crate::metrics::Metrics;
use crate::registry::Registry;

/// The name events report, as Flux's image controller does.
pub const IMAGE_CONTROLLER: &str = "image-reflector-controller";

/// The name Kustomization events report, and the field manager of their
/// server-side applies, as Flux's kustomize-controller.
pub const KUSTOMIZE_CONTROLLER: &str = "kustomize-controller";

/// The field manager of the controller's writes.
pub const FIELD_MANAGER: &str = "gitops-controller";

/// `(namespace, name)` of an ImageRepository → its tags after exclusions,
/// greatest first (image-reflector-controller's tag database, in memory).
#[derive(Debug, Clone, Default)]
pub struct TagStore(Arc<RwLock<Tags>>);

/// `(namespace, name)` → tags.
type Tags = HashMap<(String, String), Vec<String>>;

impl TagStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> TagStore {
        TagStore::default()
    }

    /// The stored tags of `namespace/name` (empty when none).
    #[must_use]
    pub fn get(&self, namespace: &str, name: &str) -> Vec<String> {
        let map = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `namespace/name` has tags stored.
    #[must_use]
    pub fn has(&self, namespace: &str, name: &str) -> bool {
        !self.get(namespace, name).is_empty()
    }

    /// Replace the tags of `namespace/name`.
    pub fn set(&self, namespace: &str, name: &str, tags: Vec<String>) {
        let mut map = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert((namespace.to_owned(), name.to_owned()), tags);
    }
}

/// The clock the reconcilers read (fixed in tests).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The reconcilers' shared state.
#[derive(Clone)]
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// Where tags and digests come from.
    pub registry: Arc<dyn Registry>,
    /// The tag store the policies read.
    pub tags: TagStore,
    /// Publishes `events.k8s.io/v1` Events (`image-reflector-controller`).
    pub recorder: Recorder,
    /// Publishes the Kustomizations' Events (`kustomize-controller`).
    pub kustomize_recorder: Recorder,
    /// Downloads source artifacts (Kustomizations).
    pub artifacts: crate::artifact::Fetcher,
    /// Reconcile counters and durations.
    pub metrics: Arc<Metrics>,
    /// `--requeue-dependency`: wait before re-checking a policy whose
    /// repository has no tags yet.
    pub requeue_dependency: Duration,
    /// The time of a run.
    pub clock: Clock,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("requeue_dependency", &self.requeue_dependency)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context with the system clock; `instance` is the pod name reported
    /// on events.
    #[must_use]
    pub fn new(
        client: kube::Client,
        registry: Arc<dyn Registry>,
        metrics: Arc<Metrics>,
        instance: Option<String>,
    ) -> Context {
        let reporter = Reporter {
            controller: IMAGE_CONTROLLER.to_owned(),
            instance: instance.clone(),
        };
        let kustomize = Reporter {
            controller: KUSTOMIZE_CONTROLLER.to_owned(),
            instance,
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            kustomize_recorder: Recorder::new(client.clone(), kustomize),
            artifacts: crate::artifact::Fetcher::default(),
            client,
            registry,
            tags: TagStore::new(),
            metrics,
            requeue_dependency: gitops_reconcile::image_policy::DEPENDENCY_REQUEUE,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// With a fixed clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Context {
        self.clock = clock;
        self
    }

    /// With `--requeue-dependency`.
    #[must_use]
    pub fn with_requeue_dependency(mut self, d: Duration) -> Context {
        self.requeue_dependency = d;
        self
    }
}

/// Why a reconcile failed (an API call or an unreadable object; the
/// reconcilers' own failures are conditions, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An API request failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The object does not decode as gitops-core's type.
    #[error("decode {kind}: {source}")]
    Decode {
        /// The kind.
        kind: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// The object has no namespace (the kinds are namespaced).
    #[error("{0} has no namespace")]
    NoNamespace(String),
    /// The reconciler refused the spec.
    #[error("{0}")]
    Spec(#[from] gitops_reconcile::outcome::SpecError),
}
