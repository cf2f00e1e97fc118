//! ImagePolicy, as image-reflector-controller reconciles it: select the
//! latest tag from the referenced ImageRepository's stored tags with the
//! policy (gitops-image), reflect the digest per `digestReflectionPolicy`,
//! and keep `status.latestRef` and `status.observedPreviousRef`.
//!
//! The digest lookup is the caller's I/O: [`digest_needed`] says whether
//! to look it up for the tag [`select`] picked; pass the answer in
//! [`Inputs::digest`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::{ImagePolicy, ImageRepository};
//! use gitops_reconcile::image_policy::{self, Inputs, Repository};
//! use gitops_reconcile::Run;
//!
//! let policy: ImagePolicy = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImagePolicy",
//!     "metadata": {"name": "podinfo", "namespace": "flux-system"},
//!     "spec": {"imageRepositoryRef": {"name": "podinfo"}, "policy": {"semver": {"range": "6.x"}}}
//! }))?;
//! let repo: ImageRepository = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageRepository",
//!     "metadata": {"name": "podinfo", "namespace": "flux-system"},
//!     "spec": {"image": "ghcr.io/stefanprodan/podinfo", "interval": "5m"}
//! }))?;
//! let tags = ["6.0.0".to_owned(), "6.1.0".to_owned(), "7.0.0".to_owned()];
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let out = image_policy::reconcile(&policy, &run, Inputs::new(Repository::Found { object: &repo, tags: &tags }));
//! let status = out.status.unwrap();
//! assert_eq!(status.latest_ref.as_ref().unwrap().tag, "6.1.0");
//! assert_eq!(status.latest_image().as_deref(), Some("ghcr.io/stefanprodan/podinfo:6.1.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use gitops_core::flux::{Condition, ImagePolicy, ImageRepository};
use serde::{Deserialize, Serialize};

use crate::conditions::{DEPENDENCY_NOT_READY, READY};
use crate::flow::{self, Ending, Flow};
use crate::outcome::{Reconciled, Run, parse_interval};

/// `InvalidPolicy`.
pub const INVALID_POLICY: &str = "InvalidPolicy";
/// `IntervalNotConfigured`.
pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
/// `AccessDenied`.
pub const ACCESS_DENIED: &str = "AccessDenied";
/// `Failure` (Kubernetes' `metav1.StatusFailure`, used as a reason).
pub const FAILURE: &str = "Failure";

/// The default wait before re-checking a repository without tags
/// (image-reflector-controller's `--requeue-dependency`).
pub const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);

/// An image reference in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageRef {
    /// The image name (the ImageRepository's `spec.image`).
    pub name: String,
    /// The tag.
    pub tag: String,
    /// The digest, when reflected.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

impl ImageRef {
    /// `name:tag`, with `@digest` when known.
    #[must_use]
    pub fn image(&self) -> String {
        if self.digest.is_empty() {
            format!("{}:{}", self.name, self.tag)
        } else {
            format!("{}:{}@{}", self.name, self.tag, self.digest)
        }
    }
}

/// `ImagePolicy.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImagePolicyStatus {
    /// The latest image selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The one before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImagePolicyStatus {
    /// The typed status of `obj`.
    #[must_use]
    pub fn of(obj: &ImagePolicy) -> ImagePolicyStatus {
        crate::typed_status(obj.status.as_ref())
    }

    /// The latest image as `name:tag[@digest]` (what older APIs called
    /// `status.latestImage`).
    #[must_use]
    pub fn latest_image(&self) -> Option<String> {
        self.latest_ref.as_ref().map(ImageRef::image)
    }
}

/// The referenced ImageRepository as the controller found it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Repository<'a> {
    /// It exists; `tags` is what the tag store holds for it (empty when
    /// not scanned yet).
    Found {
        /// The object.
        object: &'a ImageRepository,
        /// Its stored tags.
        tags: &'a [String],
    },
    /// No such object.
    NotFound,
    /// Cross-namespace access refused (the message says why).
    AccessDenied(&'a str),
}

/// What the world answered for one run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inputs<'a> {
    /// The repository.
    pub repository: Repository<'a>,
    /// The digest lookup's answer for the selected tag, when
    /// [`digest_needed`] asked for one.
    pub digest: Option<Result<String, String>>,
    /// Wait before re-checking a repository without tags.
    pub dependency_requeue: Duration,
}

impl<'a> Inputs<'a> {
    /// Inputs with no digest answer and the default dependency requeue.
    #[must_use]
    pub fn new(repository: Repository<'a>) -> Inputs<'a> {
        Inputs {
            repository,
            digest: None,
            dependency_requeue: DEPENDENCY_REQUEUE,
        }
    }

    /// With the digest lookup's answer.
    #[must_use]
    pub fn with_digest(mut self, digest: Result<String, String>) -> Inputs<'a> {
        self.digest = Some(digest);
        self
    }
}

fn reflection(obj: &ImagePolicy) -> &str {
    obj.spec
        .digest_reflection_policy
        .as_deref()
        .unwrap_or("Never")
}

fn suspended(obj: &ImagePolicy) -> bool {
    obj.spec.suspend == Some(true)
}

/// The interval a successful run requeues at: `spec.interval` (10 minutes
/// when unset) with `digestReflectionPolicy: Always`, else none (the
/// policy runs when its repository's status changes).
fn interval(obj: &ImagePolicy) -> Option<Duration> {
    if reflection(obj) != "Always" {
        return None;
    }
    match obj
        .spec
        .interval
        .as_deref()
        .map(|i| parse_interval("spec.interval", i))
    {
        Some(Ok(d)) if !d.is_zero() => Some(d),
        _ => Some(Duration::from_secs(600)),
    }
}

/// The tag the policy selects from `tags`.
///
/// # Errors
/// `(reason, message)`: `InvalidPolicy` for a policy or filter that does
/// not compile, `Failure` when no tag qualifies.
pub fn select(obj: &ImagePolicy, tags: &[String]) -> Result<String, (&'static str, String)> {
    let policy = gitops_image::Policy::from_spec(&obj.spec)
        .map_err(|e| (INVALID_POLICY, format!("invalid policy: {e}")))?;
    policy
        .select(tags)
        .map(str::to_owned)
        .map_err(|e| (FAILURE, e.to_string()))
}

/// Whether the digest of `tag` must be looked up: always with `Always`;
/// with `IfNotPresent` when the status has no digest for this image and tag.
#[must_use]
pub fn digest_needed(obj: &ImagePolicy, repository: &ImageRepository, tag: &str) -> bool {
    let status = ImagePolicyStatus::of(obj);
    match reflection(obj) {
        "Always" => true,
        "IfNotPresent" => status
            .latest_ref
            .as_ref()
            .is_none_or(|r| r.name != repository.spec.image || r.tag != tag || r.digest.is_empty()),
        _ => false,
    }
}

fn ready_message(status: &ImagePolicyStatus) -> String {
    let Some(latest) = &status.latest_ref else {
        return String::new();
    };
    let mut m = format!(
        "Latest image tag for {} resolved to {}",
        latest.name, latest.tag
    );
    if !latest.digest.is_empty() {
        m.push_str(&format!(" with digest {}", latest.digest));
    }
    if let Some(prev) = &status.observed_previous_ref
        && prev != latest
    {
        m.push_str(&format!(" (previously {}:{}", prev.name, prev.tag));
        if !prev.digest.is_empty() {
            m.push_str(&format!("@{}", prev.digest));
        }
        m.push(')');
    }
    m
}

/// Reconcile `obj` given its repository, stored tags and digest answer.
#[must_use]
pub fn reconcile(
    obj: &ImagePolicy,
    run: &Run,
    inputs: Inputs<'_>,
) -> Reconciled<ImagePolicyStatus> {
    if suspended(obj) {
        return Reconciled::suspended();
    }
    let old = ImagePolicyStatus::of(obj);
    let mut status = old.clone();
    let mut f = Flow::new(run, &old.conditions);
    let next = interval(obj);
    let retry = next.unwrap_or(inputs.dependency_requeue);
    let mut ready = String::new();
    let ending = 'run: {
        if reflection(obj) == "Always" && obj.spec.interval.is_none() {
            f.mark_stalled(
                INTERVAL_NOT_CONFIGURED,
                "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
            );
            break 'run Ending::Stalled;
        }
        f.progressive(false, "reconciliation in progress");
        if old.observed_generation != run.generation {
            f.progressive(
                false,
                &format!(
                    "processing object: new generation {} -> {}",
                    old.observed_generation, run.generation
                ),
            );
        }
        let (repo, tags) = match inputs.repository {
            Repository::Found { object, tags } => (object, tags),
            Repository::NotFound => {
                let e = format!(
                    "failed to get the referred ImageRepository: referenced ImageRepository does not exist: imagerepositories.image.toolkit.fluxcd.io \"{}\" not found",
                    obj.spec.image_repository_ref.name
                );
                f.mark_false(READY, DEPENDENCY_NOT_READY, &e);
                break 'run Ending::Error { message: e, retry };
            }
            Repository::AccessDenied(why) => {
                let e = format!("failed to get the referred ImageRepository: {why}");
                f.mark_false(READY, ACCESS_DENIED, &e);
                break 'run Ending::Error { message: e, retry };
            }
        };
        if let Err(e) = crate::image_repository::parse_image(&repo.spec.image) {
            f.mark_stalled(crate::image_repository::IMAGE_URL_INVALID, &e);
            break 'run Ending::Stalled;
        }
        if gitops_image::Policy::from_spec(&obj.spec).is_ok() && tags.is_empty() {
            let e = format!(
                "retrying in {} error: no tags in database",
                gitops_core::duration::GoDuration(
                    i64::try_from(inputs.dependency_requeue.as_secs()).unwrap_or(0) * 1_000_000_000
                )
            );
            f.mark_false(READY, DEPENDENCY_NOT_READY, &e);
            break 'run Ending::Retry(inputs.dependency_requeue);
        }
        let latest = match select(obj, tags) {
            Ok(t) => t,
            Err((INVALID_POLICY, e)) => {
                f.mark_stalled(INVALID_POLICY, &e);
                break 'run Ending::Stalled;
            }
            Err((reason, e)) => {
                f.mark_false(READY, reason, &e);
                break 'run Ending::Error { message: e, retry };
            }
        };
        let mut latest_ref = ImageRef {
            name: repo.spec.image.clone(),
            tag: latest,
            digest: String::new(),
        };
        if digest_needed(obj, repo, &latest_ref.tag) {
            match &inputs.digest {
                Some(Ok(d)) => latest_ref.digest = d.clone(),
                Some(Err(e)) => {
                    let e = format!("failed fetching digest of {}: {e}", latest_ref.image());
                    f.mark_false(READY, FAILURE, &e);
                    break 'run Ending::Error { message: e, retry };
                }
                None => {
                    let e = format!(
                        "failed fetching digest of {}: no digest lookup answer was given",
                        latest_ref.image()
                    );
                    f.mark_false(READY, FAILURE, &e);
                    break 'run Ending::Error { message: e, retry };
                }
            }
        } else if reflection(obj) == "IfNotPresent"
            && let Some(r) = &old.latest_ref
        {
            latest_ref.digest = r.digest.clone();
        }
        if status.latest_ref.as_ref() != Some(&latest_ref) {
            status.observed_previous_ref = status.latest_ref.take();
            status.latest_ref = Some(latest_ref);
        }
        ready = ready_message(&status);
        f.delete(READY);
        Ending::Success(next)
    };
    let (requeue, observed) = f.finalize(&ending, &ready);
    if let Some(at) = run.requested_at() {
        status.last_handled_reconcile_at = Some(at.to_owned());
    }
    if observed {
        status.observed_generation = run.generation;
    }
    let events = flow::ready_events(&old.conditions, &f.conditions);
    status.conditions = f.conditions;
    Reconciled {
        status: Some(status),
        events,
        requeue,
    }
}
