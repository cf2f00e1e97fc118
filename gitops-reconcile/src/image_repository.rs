//! ImageRepository, as image-reflector-controller reconciles it.
//!
//! A run has two steps around the registry call:
//!
//! 1. [`should_scan`] decides from the object, its status and whether the
//!    tag store still holds tags for it: scan now (never scanned, a new
//!    `reconcile.fluxcd.io/requestedAt`, a new image name, a changed
//!    exclusion list, an empty store, the interval elapsed) or wait.
//! 2. [`reconcile`] takes what the registry answered ([`Scan`]) and returns
//!    the new status (`canonicalImageName`, `lastScanResult` with the tag
//!    count, the ten latest tags and the store revision
//!    `sha256:<hex of the tags, newest first, one per line>`,
//!    `observedExclusionList`, conditions), the tags to store for policies
//!    and the events.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gitops_core::flux::ImageRepository;
//! use gitops_reconcile::image_repository::{self, Scan};
//! use gitops_reconcile::{Requeue, Run};
//!
//! let repo: ImageRepository = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageRepository",
//!     "metadata": {"name": "podinfo", "namespace": "flux-system"},
//!     "spec": {"image": "ghcr.io/stefanprodan/podinfo", "interval": "5m"}
//! }))?;
//! let run = Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let decision = image_repository::should_scan(&repo, &run, true)?;
//! assert!(decision.scan);
//! let tags = vec!["6.0.0".to_owned(), "6.1.0".to_owned(), "6.1.0.sig".to_owned()];
//! let out = image_repository::reconcile(&repo, &run, Scan::Tags(tags))?;
//! let status = out.reconciled.status.unwrap();
//! assert_eq!(status.last_scan_result.as_ref().unwrap().tag_count, 2);
//! assert_eq!(status.canonical_image_name.as_deref(), Some("ghcr.io/stefanprodan/podinfo"));
//! assert_eq!(out.reconciled.requeue, Requeue::After(Duration::from_secs(300)));
//! assert_eq!(out.tags.unwrap(), ["6.1.0", "6.0.0"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use gitops_core::ImageRef;
use gitops_core::flux::{Condition, ImageRepository};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::conditions::READY;
use crate::flow::{self, Ending, Flow};
use crate::outcome::{Reconciled, Run, SpecError, parse_interval, unix_secs};

/// `ImageURLInvalid`.
pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
/// `AuthenticationFailed`.
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
/// `ReadOperationFailed`.
pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";

/// How many tags `lastScanResult.latestTags` keeps.
pub const LATEST_TAGS: usize = 10;

/// `status.lastScanResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScanResult {
    /// The stored tag list's revision.
    #[serde(default)]
    pub revision: String,
    /// Tags kept after the exclusion list.
    #[serde(default)]
    pub tag_count: usize,
    /// When the scan ran (RFC 3339).
    #[serde(default)]
    pub scan_time: String,
    /// The ten greatest tags, by byte order, greatest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_tags: Vec<String>,
}

/// `ImageRepository.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageRepositoryStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "flow::is_zero")]
    pub observed_generation: i64,
    /// The image name, fully qualified (`index.docker.io/library/nginx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// The last scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// The exclusion list of the last scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_exclusion_list: Vec<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImageRepositoryStatus {
    /// The typed status of `obj` (default when absent or unreadable).
    #[must_use]
    pub fn of(obj: &ImageRepository) -> ImageRepositoryStatus {
        crate::typed_status(obj.status.as_ref())
    }
}

/// Whether to scan now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanDecision {
    /// Scan now.
    pub scan: bool,
    /// Why (Flux's wording: `first scan`, `reconcile requested`, …); empty
    /// when waiting.
    pub reason: &'static str,
    /// The wait before the next scan.
    pub next: Duration,
}

/// What the registry answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scan {
    /// The complete tag list, in registry order.
    Tags(Vec<String>),
    /// No scan was due ([`should_scan`] said wait): the status is refreshed.
    NotDue,
    /// Credentials could not be set up (Secret missing, provider failure).
    AuthFailed(String),
    /// The listing failed.
    Failed(String),
}

/// A run's result: the reconciled status and, after a scan, the tags to
/// store (exclusions applied, greatest first) for the policies.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Scanned {
    /// Status, events, requeue.
    pub reconciled: Reconciled<ImageRepositoryStatus>,
    /// The kept tags after a successful scan.
    pub tags: Option<Vec<String>>,
}

/// go-containerregistry's repository name: Docker Hub as `index.docker.io`,
/// one-part names under `library/`.
pub(crate) fn canonical(image: &ImageRef) -> String {
    match image.registry() {
        Some("docker.io") => format!("index.docker.io/{}", with_library(image.repository())),
        Some(_) => image.name().to_owned(),
        None => format!("index.docker.io/{}", with_library(image.name())),
    }
}

fn with_library(path: &str) -> String {
    if path.contains('/') {
        path.to_owned()
    } else {
        format!("library/{path}")
    }
}

/// Check `spec.image` as Flux does: no URL scheme, no tag, a valid reference.
pub(crate) fn parse_image(image: &str) -> Result<ImageRef, String> {
    if let Some((scheme, _)) = image.split_once("://") {
        return Err(format!(
            "image '{image}' should not include URL scheme; remove '{scheme}://'"
        ));
    }
    let r = ImageRef::parse(image).map_err(|e| e.to_string())?;
    if let Some(t) = r.tag() {
        return Err(format!(
            "image '{image}' should not include a tag; remove ':{}'",
            t.as_str()
        ));
    }
    Ok(r)
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Decide whether to scan now (`store_has_tags`: the tag store still holds
/// this repository's tags; a restarted controller with an empty store
/// scans at once).
///
/// # Errors
/// [`SpecError`] for an invalid `spec.interval`.
pub fn should_scan(
    obj: &ImageRepository,
    run: &Run,
    store_has_tags: bool,
) -> Result<ScanDecision, SpecError> {
    let interval = parse_interval("spec.interval", &obj.spec.interval)?;
    let status = ImageRepositoryStatus::of(obj);
    let now_scan = |reason| ScanDecision {
        scan: true,
        reason,
        next: interval,
    };
    let Some(last) = &status.last_scan_result else {
        return Ok(now_scan("first scan"));
    };
    if let Some(at) = run.requested_at()
        && status.last_handled_reconcile_at.as_deref() != Some(at)
    {
        return Ok(now_scan("reconcile requested"));
    }
    if let Ok(image) = parse_image(&obj.spec.image)
        && status.canonical_image_name.as_deref() != Some(canonical(&image).as_str())
    {
        return Ok(now_scan("new image name"));
    }
    if !same_set(
        &obj.spec.effective_exclusion_list(),
        &status.observed_exclusion_list,
    ) {
        return Ok(now_scan("updated exclusion list"));
    }
    if !store_has_tags {
        return Ok(now_scan("no tags in database"));
    }
    let last_time = gitops_core::time::parse_rfc3339(&last.scan_time).unwrap_or(0);
    let elapsed = unix_secs(run.now).saturating_sub(last_time);
    let elapsed = Duration::from_secs(u64::try_from(elapsed).unwrap_or(0));
    let when = interval.saturating_sub(elapsed);
    if when < Duration::from_secs(1) {
        return Ok(now_scan("triggered by interval"));
    }
    Ok(ScanDecision {
        scan: false,
        reason: "",
        next: when,
    })
}

/// The store revision of a tag list (greatest first): `sha256:` and the
/// hex SHA-256 of the tags, each followed by a newline.
#[must_use]
pub fn tags_revision(tags: &[String]) -> String {
    let mut h = Sha256::new();
    for t in tags {
        h.update(t.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Reconcile `obj` given the registry's answer.
///
/// # Errors
/// [`SpecError`] for an invalid `spec.interval`; an invalid exclusion
/// pattern or image is a `Stalled` status, not an error.
pub fn reconcile(obj: &ImageRepository, run: &Run, scan: Scan) -> Result<Scanned, SpecError> {
    if obj.spec.suspend == Some(true) {
        return Ok(Scanned {
            reconciled: Reconciled::suspended(),
            tags: None,
        });
    }
    let old = ImageRepositoryStatus::of(obj);
    let decision = should_scan(obj, run, true)?;
    let interval = parse_interval("spec.interval", &obj.spec.interval)?;
    let mut status = old.clone();
    let mut f = Flow::new(run, &old.conditions);
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
    let mut tags_out = None;
    let mut next = decision.next;
    let ending = 'run: {
        let image = match parse_image(&obj.spec.image) {
            Ok(i) => i,
            Err(e) => {
                f.mark_stalled(IMAGE_URL_INVALID, &e);
                break 'run Ending::Stalled;
            }
        };
        f.delete(crate::conditions::STALLED);
        match scan {
            Scan::AuthFailed(e) => {
                let e = format!("failed to configure authentication options: {e}");
                f.mark_false(READY, AUTHENTICATION_FAILED, &e);
                break 'run Ending::Error {
                    message: e,
                    retry: interval,
                };
            }
            Scan::Failed(e) => {
                let e = format!("scan failed: {e}");
                f.mark_false(READY, READ_OPERATION_FAILED, &e);
                break 'run Ending::Error {
                    message: e,
                    retry: interval,
                };
            }
            Scan::Tags(all) => {
                let exclusions = match gitops_image::Exclusions::from_spec(&obj.spec) {
                    Ok(x) => x,
                    Err(e) => {
                        let e = format!("scan failed: {e}");
                        f.mark_false(READY, READ_OPERATION_FAILED, &e);
                        break 'run Ending::Error {
                            message: e,
                            retry: interval,
                        };
                    }
                };
                let mut kept: Vec<String> = all
                    .into_iter()
                    .filter(|t| !gitops_core::registry::TagExclusion::is_excluded(&exclusions, t))
                    .collect();
                kept.sort_by(|a, b| b.cmp(a));
                status.last_scan_result = Some(ScanResult {
                    revision: tags_revision(&kept),
                    tag_count: kept.len(),
                    scan_time: run.now_rfc3339(),
                    latest_tags: kept.iter().take(LATEST_TAGS).cloned().collect(),
                });
                tags_out = Some(kept);
                next = interval;
            }
            Scan::NotDue => {}
        }
        status.canonical_image_name = Some(canonical(&image));
        status.observed_exclusion_list = obj.spec.effective_exclusion_list();
        f.delete(READY);
        Ending::Success(Some(next))
    };
    let (count, revision) = status
        .last_scan_result
        .as_ref()
        .map_or((0, String::new()), |r| (r.tag_count, r.revision.clone()));
    let ready = format!("successful scan: found {count} tags with checksum {revision}");
    let (requeue, observed) = f.finalize(&ending, &ready);
    if let Some(at) = run.requested_at() {
        status.last_handled_reconcile_at = Some(at.to_owned());
    }
    if observed {
        status.observed_generation = run.generation;
    }
    let events = flow::ready_events(&old.conditions, &f.conditions);
    status.conditions = f.conditions;
    Ok(Scanned {
        reconciled: Reconciled {
            status: Some(status),
            events,
            requeue,
        },
        tags: tags_out,
    })
}
