//! helm-controller v2's release lifecycle, without I/O.
//!
//! helm-controller's atomic release loops over two questions until nothing
//! is left to do: *what state is the release in* ([`determine_state`]:
//! absent, unmanaged, locked, out of sync, untested, failed, drifted, in
//! sync) and *what action follows from it* ([`action_for_state`]: install,
//! upgrade, test, rollback or uninstall remediation, unlock, drift
//! correction, nothing, or stop because retries are exhausted). Here both
//! are pure functions over:
//!
//! - [`Options`]: the HelmRelease's `install`/`upgrade`/`test`/`rollback`/
//!   `uninstall`/`driftDetection` with helm-controller's defaults;
//! - [`HelmReleaseStatus`]: `status.history` snapshots, failure counters,
//!   `lastAttemptedReleaseAction`, conditions;
//! - [`Storage`]: what Helm's storage holds for the release (from decoded
//!   records, [`StoredRelease::from_release`]);
//! - [`Desired`]: the chart and values the HelmRelease asks for now;
//! - the drift observed in the cluster, when detection is on.
//!
//! The caller performs the [`Action`] with any Helm implementation, records
//! its outcome with [`record_outcome`] and asks again.
//!
//! ```
//! use gitops_reconcile::helm::lifecycle::{
//!     action_for_state, determine_state, Action, Desired, HelmReleaseStatus, Input,
//!     Options, StateKind, Storage,
//! };
//!
//! let options = Options::default();
//! let mut status = HelmReleaseStatus::default();
//! let storage = Storage::default(); // nothing installed yet
//! let desired = Desired::new("podinfo", "6.5.0", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
//! let input = Input::new(&options, &storage, &desired);
//! let state = determine_state(&input, &status)?;
//! assert_eq!(state.kind, StateKind::Absent);
//! let next = action_for_state(&input, &mut status, &state, "2026-01-01T00:00:00Z")?;
//! assert_eq!(next.action, Some(Action::Install));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//!
//! - The cluster diff is the caller's: [`Input::drift`] lists the drifted
//!   objects (helm-controller computes it with a server-side dry-run apply).
//! - Post-renderer and common-metadata digests are compared as the strings
//!   the caller passes in [`Desired`]; helm-controller hashes the spec
//!   fields itself.
//! - Errors helm-controller gets from the Kubernetes API (storage not
//!   readable) are the caller's; [`StateError`] covers only what the
//!   inputs can say.
//! - [`record_outcome`] learns what an action wrote from
//!   [`Outcome::observed`] (helm-controller hooks Helm's storage driver);
//!   `lastAttemptedReleaseActionDuration` and `status.inventory` are the
//!   caller's. The `lastAttempted{Generation,Revision,ConfigDigest}` fields
//!   helm-controller sets before its atomic release are set by
//!   [`mark_attempted`].
//! - Event messages carry no "Last Helm logs" section (Helm's debug log is
//!   the caller's).

use std::collections::BTreeMap;
use std::time::Duration;

use gitops_core::flux::{Condition, HelmReleaseSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::release::{Release, Status};
use super::snapshot::{History, Snapshot, observation_digest, verify_digest};
use crate::conditions::{self, READY};
use crate::outcome::Event;

/// `Released`: the last install or upgrade.
pub const RELEASED: &str = "Released";
/// `TestSuccess`: the last test run.
pub const TEST_SUCCESS: &str = "TestSuccess";
/// `Remediated`: the last rollback or uninstall remediation.
pub const REMEDIATED: &str = "Remediated";
/// `Drifted`: the cluster state differs from the release.
pub const DRIFTED: &str = "Drifted";

/// `InstallSucceeded`.
pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
/// `InstallFailed`.
pub const INSTALL_FAILED: &str = "InstallFailed";
/// `UpgradeSucceeded`.
pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
/// `UpgradeFailed`.
pub const UPGRADE_FAILED: &str = "UpgradeFailed";
/// `TestSucceeded`.
pub const TEST_SUCCEEDED: &str = "TestSucceeded";
/// `TestFailed`.
pub const TEST_FAILED: &str = "TestFailed";
/// `RollbackSucceeded`.
pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
/// `RollbackFailed`.
pub const ROLLBACK_FAILED: &str = "RollbackFailed";
/// `UninstallSucceeded`.
pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
/// `UninstallFailed`.
pub const UNINSTALL_FAILED: &str = "UninstallFailed";
/// `DriftDetected`.
pub const DRIFT_DETECTED: &str = "DriftDetected";
/// `NoDriftDetected`.
pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
/// `AwaitingTests` (`TestSuccess=Unknown` after a release, tests enabled).
pub const AWAITING_TESTS: &str = "AwaitingTests";
/// `PendingRelease` (`Released=False` after an unlock).
pub const PENDING_RELEASE: &str = "PendingRelease";
/// `DriftCorrected` (event).
pub const DRIFT_CORRECTED: &str = "DriftCorrected";
/// `DriftCorrectionFailed` (event).
pub const DRIFT_CORRECTION_FAILED: &str = "DriftCorrectionFailed";
/// `RetriesExceeded` (the `Stalled` reason).
pub const RETRIES_EXCEEDED: &str = "RetriesExceeded";
/// `MissingRollbackTarget` (the `Stalled` reason).
pub const MISSING_ROLLBACK_TARGET: &str = "MissingRollbackTarget";

/// Default `retryInterval` of the `RetryOnFailure` strategy.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------- options

/// The remediation of a failed install or upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RemediationSpec {
    /// Retries before giving up; negative: retry forever. Default 0.
    #[serde(default)]
    pub retries: i64,
    /// Whether test failures count (default: `test.ignoreFailures`).
    #[serde(default)]
    pub ignore_test_failures: Option<bool>,
    /// Remediate the last failure when retries are exhausted (install
    /// default `false`; upgrade default `retries > 0`).
    #[serde(default)]
    pub remediate_last_failure: Option<bool>,
    /// `rollback` or `uninstall` (upgrade only; default `rollback`).
    #[serde(default)]
    pub strategy: Option<String>,
}

/// `install.strategy` / `upgrade.strategy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActionStrategy {
    /// `RemediateOnFailure` or `RetryOnFailure`.
    #[serde(default)]
    pub name: String,
    /// Wait between retries (Go duration; default 5m).
    #[serde(default)]
    pub retry_interval: Option<String>,
}

/// `spec.install` or `spec.upgrade` (the fields the lifecycle reads; the
/// rest is kept in `extra` for the Helm implementation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReleaseActionSpec {
    /// Action timeout (Go duration; default `spec.timeout`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// The failure strategy.
    #[serde(default)]
    pub strategy: Option<ActionStrategy>,
    /// The remediation.
    #[serde(default)]
    pub remediation: Option<RemediationSpec>,
    /// Other fields (`disableWait`, `crds`, `force`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `spec.test`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TestSpec {
    /// Run tests after install and upgrade.
    #[serde(default)]
    pub enable: bool,
    /// Test failures do not fail the release.
    #[serde(default)]
    pub ignore_failures: bool,
    /// `[{name, exclude}]` test selection.
    #[serde(default)]
    pub filters: Option<Vec<TestFilter>>,
    /// Other fields (`timeout`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `spec.test.filters` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TestFilter {
    /// Test hook name.
    pub name: String,
    /// Exclude rather than include.
    #[serde(default)]
    pub exclude: bool,
}

/// `spec.driftDetection.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriftMode {
    /// Detect and correct.
    Enabled,
    /// Detect and warn.
    Warn,
    /// Do not detect (the default).
    #[default]
    Disabled,
}

impl DriftMode {
    /// Whether the cluster must be compared with the release.
    #[must_use]
    pub fn must_detect_changes(self) -> bool {
        matches!(self, DriftMode::Enabled | DriftMode::Warn)
    }
}

/// The lifecycle settings of a HelmRelease, with helm-controller's
/// defaults.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// `spec.install`.
    pub install: ReleaseActionSpec,
    /// `spec.upgrade`.
    pub upgrade: ReleaseActionSpec,
    /// `spec.test`.
    pub test: TestSpec,
    /// `spec.driftDetection.mode`.
    pub drift: DriftMode,
    /// The controller's `--default-to-retry-on-failure` (off by default):
    /// without a `strategy`, retry instead of remediating.
    pub default_to_retry_on_failure: bool,
    /// `spec.timeout` (Go duration; default `5m0s`).
    pub timeout: Option<String>,
    /// `spec.rollback.timeout` (default `spec.timeout`).
    pub rollback_timeout: Option<String>,
    /// `spec.uninstall.timeout` (default `spec.timeout`).
    pub uninstall_timeout: Option<String>,
    /// `spec.uninstall.keepHistory`.
    pub uninstall_keep_history: bool,
}

/// A lifecycle field of the spec that does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The field does not match helm-controller's schema.
    #[error("invalid spec.{field}")]
    Field {
        /// `install`, `upgrade`, `test` or `driftDetection`.
        field: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// `driftDetection.mode` is not `enabled`, `warn` or `disabled`.
    #[error("invalid spec.driftDetection.mode {0:?}: expected enabled, warn or disabled")]
    DriftMode(String),
}

fn field<T: serde::de::DeserializeOwned + Default>(
    v: Option<&Value>,
    name: &'static str,
) -> Result<T, OptionsError> {
    match v {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|source| OptionsError::Field {
            field: name,
            source,
        }),
    }
}

fn str_field(v: Option<&Value>, key: &str) -> Option<String> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Options {
    /// Parse the lifecycle fields of `spec`.
    ///
    /// # Errors
    /// [`OptionsError`] naming the field.
    pub fn from_spec(spec: &HelmReleaseSpec) -> Result<Options, OptionsError> {
        let mode = spec
            .drift_detection
            .as_ref()
            .and_then(|d| d.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let drift = match mode {
            "" | "disabled" => DriftMode::Disabled,
            "enabled" => DriftMode::Enabled,
            "warn" => DriftMode::Warn,
            other => return Err(OptionsError::DriftMode(other.to_owned())),
        };
        Ok(Options {
            install: field(spec.install.as_ref(), "install")?,
            upgrade: field(spec.upgrade.as_ref(), "upgrade")?,
            test: field(spec.test.as_ref(), "test")?,
            drift,
            default_to_retry_on_failure: false,
            timeout: spec.timeout.clone(),
            rollback_timeout: str_field(spec.rollback.as_ref(), "timeout"),
            uninstall_timeout: str_field(spec.uninstall.as_ref(), "timeout"),
            uninstall_keep_history: spec
                .uninstall
                .as_ref()
                .and_then(|u| u.get("keepHistory"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// The timeout helm-controller announces for `action` (`Running
    /// '<action>' action with timeout of <timeout>`), as Go prints it: the
    /// action's own timeout, else `spec.timeout`, else `5m0s`.
    #[must_use]
    pub fn timeout_for(&self, action: &Action) -> String {
        let own = match action {
            Action::Install => self.install.timeout.clone(),
            Action::Upgrade => self.upgrade.timeout.clone(),
            Action::Test => self
                .test
                .extra
                .get("timeout")
                .and_then(Value::as_str)
                .map(str::to_owned),
            Action::RollbackRemediation { .. } => self.rollback_timeout.clone(),
            Action::UninstallRemediation | Action::Uninstall => self.uninstall_timeout.clone(),
            Action::Unlock | Action::CorrectClusterDrift => None,
        };
        let parse =
            |s: Option<String>| s.and_then(|s| s.parse::<gitops_core::duration::GoDuration>().ok());
        parse(own)
            .or_else(|| parse(self.timeout.clone()))
            .unwrap_or(gitops_core::duration::GoDuration::minutes(5))
            .to_string()
    }

    /// The test filters as `(name, exclude)` pairs.
    #[must_use]
    pub fn test_filters(&self) -> Vec<(String, bool)> {
        self.test
            .filters
            .iter()
            .flatten()
            .map(|f| (f.name.clone(), f.exclude))
            .collect()
    }
}

/// Which action's remediation is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemediationKind {
    /// `install.remediation` (`installFailures`).
    Install,
    /// `upgrade.remediation` (`upgradeFailures`).
    Upgrade,
}

/// A remediation with helm-controller's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remediation<'a> {
    /// Install or upgrade.
    pub kind: RemediationKind,
    spec: Option<&'a RemediationSpec>,
}

impl Remediation<'_> {
    /// `retries` (default 0; negative: unlimited).
    #[must_use]
    pub fn retries(&self) -> i64 {
        self.spec.map_or(0, |s| s.retries)
    }

    /// Whether test failures are ignored (`default`: `test.ignoreFailures`).
    #[must_use]
    pub fn must_ignore_test_failures(&self, default: bool) -> bool {
        self.spec
            .and_then(|s| s.ignore_test_failures)
            .unwrap_or(default)
    }

    /// Whether the last failure is remediated once retries are exhausted.
    #[must_use]
    pub fn must_remediate_last_failure(&self) -> bool {
        match self.spec.and_then(|s| s.remediate_last_failure) {
            Some(b) => b,
            None => self.kind == RemediationKind::Upgrade && self.retries() > 0,
        }
    }

    /// `rollback` or `uninstall` (install remediation is always uninstall).
    #[must_use]
    pub fn strategy(&self) -> &str {
        match self.kind {
            RemediationKind::Install => "uninstall",
            RemediationKind::Upgrade => self
                .spec
                .and_then(|s| s.strategy.as_deref())
                .unwrap_or("rollback"),
        }
    }

    /// The failure counter this remediation reads.
    #[must_use]
    pub fn failure_count(&self, status: &HelmReleaseStatus) -> i64 {
        match self.kind {
            RemediationKind::Install => status.install_failures,
            RemediationKind::Upgrade => status.upgrade_failures,
        }
    }

    /// Increment that counter.
    pub fn increment_failure_count(&self, status: &mut HelmReleaseStatus) {
        match self.kind {
            RemediationKind::Install => status.install_failures += 1,
            RemediationKind::Upgrade => status.upgrade_failures += 1,
        }
    }

    /// More failures than retries (never when retries are negative).
    #[must_use]
    pub fn retries_exhausted(&self, status: &HelmReleaseStatus) -> bool {
        self.retries() >= 0 && self.failure_count(status) > self.retries()
    }

    /// An upgrade remediation by uninstall.
    #[must_use]
    pub fn is_uninstall_after_upgrade(&self) -> bool {
        self.kind == RemediationKind::Upgrade && self.strategy() == "uninstall"
    }
}

impl Options {
    /// `install.remediation`.
    #[must_use]
    pub fn install_remediation(&self) -> Remediation<'_> {
        Remediation {
            kind: RemediationKind::Install,
            spec: self.install.remediation.as_ref(),
        }
    }

    /// `upgrade.remediation`.
    #[must_use]
    pub fn upgrade_remediation(&self) -> Remediation<'_> {
        Remediation {
            kind: RemediationKind::Upgrade,
            spec: self.upgrade.remediation.as_ref(),
        }
    }

    /// The remediation of `status.lastAttemptedReleaseAction` (none after a
    /// rollback, uninstall or nothing).
    #[must_use]
    pub fn active_remediation(&self, status: &HelmReleaseStatus) -> Option<Remediation<'_>> {
        match status.last_attempted_release_action.as_str() {
            "install" => Some(self.install_remediation()),
            "upgrade" => Some(self.upgrade_remediation()),
            _ => None,
        }
    }

    /// The retry interval when the last attempted action retries on failure
    /// (`strategy.name: RetryOnFailure`, or no strategy with
    /// [`Options::default_to_retry_on_failure`]).
    #[must_use]
    pub fn active_retry(&self, status: &HelmReleaseStatus) -> Option<Duration> {
        match status.last_attempted_release_action.as_str() {
            "install" => self.retry(RemediationKind::Install),
            "upgrade" => self.retry(RemediationKind::Upgrade),
            _ => None,
        }
    }

    /// The retry interval of `install` or `upgrade` when it retries on
    /// failure.
    #[must_use]
    pub fn retry(&self, kind: RemediationKind) -> Option<Duration> {
        let spec = match kind {
            RemediationKind::Install => &self.install,
            RemediationKind::Upgrade => &self.upgrade,
        };
        match &spec.strategy {
            None if self.default_to_retry_on_failure => Some(DEFAULT_RETRY_INTERVAL),
            None => None,
            Some(s) if s.name != "RetryOnFailure" => None,
            Some(s) => Some(
                s.retry_interval
                    .as_deref()
                    .and_then(|d| crate::outcome::parse_interval("retryInterval", d).ok())
                    .unwrap_or(DEFAULT_RETRY_INTERVAL),
            ),
        }
    }
}

// ----------------------------------------------------------------- status

/// `HelmRelease.status` (helm-controller v2), the fields the lifecycle
/// reads and writes; others are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HelmReleaseStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// Digest of the post-renderers last released.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_post_renderers_digest: String,
    /// Digest of the common metadata last released.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_common_metadata_digest: String,
    /// Last generation a release was attempted for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_attempted_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `<namespace>/<name>` of the HelmChart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub helm_chart: String,
    /// Namespace of the Helm storage.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_namespace: String,
    /// Snapshots of the releases made, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
    /// `install`, `upgrade`, `rollback`, `uninstall` or
    /// `uninstall-remediation`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_release_action: String,
    /// Failures of any action since the last success.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: i64,
    /// Install failures since the last success.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub install_failures: i64,
    /// Upgrade failures since the last success.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upgrade_failures: i64,
    /// Chart version last attempted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_revision: String,
    /// Values digest last attempted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_config_digest: String,
    /// `reconcile.fluxcd.io/requestedAt` last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// `reconcile.fluxcd.io/forceAt` last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl HelmReleaseStatus {
    /// Reset all failure counters.
    pub fn clear_failures(&mut self) {
        self.failures = 0;
        self.install_failures = 0;
        self.upgrade_failures = 0;
    }
}

// ---------------------------------------------------------------- inputs

/// What Helm's storage says about one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRelease {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// Revision.
    pub version: i64,
    /// Status.
    pub status: Option<Status>,
    /// Chart name.
    pub chart_name: String,
    /// Chart version.
    pub chart_version: String,
    /// [`observation_digest`] of the record (with the snapshot's OCI
    /// digest, if it has one).
    pub digest: String,
}

impl StoredRelease {
    /// The summary of a decoded record.
    #[must_use]
    pub fn from_release(rls: &Release) -> StoredRelease {
        StoredRelease::from_release_with_oci(rls, "")
    }

    /// The summary of a decoded record whose snapshot carries `oci_digest`.
    #[must_use]
    pub fn from_release_with_oci(rls: &Release, oci_digest: &str) -> StoredRelease {
        let meta = rls.chart_metadata();
        StoredRelease {
            name: rls.name.clone(),
            namespace: rls.namespace.clone(),
            version: rls.version,
            status: Some(rls.status()),
            chart_name: meta.map(|m| m.name().to_owned()).unwrap_or_default(),
            chart_version: meta.map(|m| m.version().to_owned()).unwrap_or_default(),
            digest: observation_digest(rls, oci_digest),
        }
    }

    fn status(&self) -> Status {
        self.status.clone().unwrap_or(Status::Unknown)
    }
}

/// The revisions of one release name in Helm's storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Storage {
    /// Every stored revision, any order.
    pub releases: Vec<StoredRelease>,
}

impl Storage {
    /// Storage holding `releases`.
    #[must_use]
    pub fn new(releases: Vec<StoredRelease>) -> Storage {
        Storage { releases }
    }

    /// The newest revision.
    #[must_use]
    pub fn last(&self) -> Option<&StoredRelease> {
        self.releases.iter().max_by_key(|r| r.version)
    }

    /// Revision `version` of `name`.
    #[must_use]
    pub fn get(&self, name: &str, version: i64) -> Option<&StoredRelease> {
        self.releases
            .iter()
            .find(|r| r.name == name && r.version == version)
    }
}

/// What the HelmRelease asks for now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Desired {
    /// Chart name (from the chart's metadata).
    pub chart_name: String,
    /// Chart version.
    pub chart_version: String,
    /// [`super::snapshot::values_digest`] of the composed values.
    pub values_digest: String,
    /// Digest of `spec.postRenderers` (empty: none).
    pub post_renderers_digest: String,
    /// Digest of `spec.commonMetadata` (empty: none).
    pub common_metadata_digest: String,
    /// The chart's `appVersion` (event metadata).
    pub chart_app_version: String,
    /// The release name (`spec.releaseName` or `[<targetNamespace>-]<name>`);
    /// empty: the latest snapshot's.
    pub release_name: String,
    /// The release namespace (`spec.targetNamespace` or the object's);
    /// empty: the latest snapshot's.
    pub release_namespace: String,
    /// Digest of the OCI artifact the chart came from
    /// (`status.lastAttemptedRevisionDigest`; empty: none), recorded in new
    /// snapshots.
    pub oci_digest: String,
}

impl Desired {
    /// A chart and values digest.
    #[must_use]
    pub fn new(chart_name: &str, chart_version: &str, values_digest: &str) -> Desired {
        Desired {
            chart_name: chart_name.to_owned(),
            chart_version: chart_version.to_owned(),
            values_digest: values_digest.to_owned(),
            ..Desired::default()
        }
    }

    /// With the release's namespace and name (used in failure messages
    /// when no snapshot names them).
    #[must_use]
    pub fn with_release(mut self, namespace: &str, name: &str) -> Desired {
        namespace.clone_into(&mut self.release_namespace);
        name.clone_into(&mut self.release_name);
        self
    }
}

/// How a cluster object differs from the release manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriftChange {
    /// The object is missing from the cluster.
    Removed,
    /// The object differs: counts of JSON-patch operations.
    Changed {
        /// `add` operations.
        additions: usize,
        /// `replace`/`move`/`copy` operations.
        changes: usize,
        /// `remove` operations.
        removals: usize,
    },
    /// The object is excluded from drift detection.
    Excluded,
}

/// One drifted object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriftedObject {
    /// Kind.
    pub kind: String,
    /// Namespace (empty: cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The difference.
    pub change: DriftChange,
}

impl DriftedObject {
    /// A drifted object.
    #[must_use]
    pub fn new(kind: &str, namespace: &str, name: &str, change: DriftChange) -> DriftedObject {
        DriftedObject {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            change,
        }
    }

    fn resource_name(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Flux's one-line-per-object drift summary.
#[must_use]
pub fn summarize_drift(diff: &[DriftedObject]) -> String {
    let lines: Vec<String> = diff
        .iter()
        .map(|d| match &d.change {
            DriftChange::Removed => format!("{} removed", d.resource_name()),
            DriftChange::Excluded => format!("{} excluded", d.resource_name()),
            DriftChange::Changed {
                additions,
                changes,
                removals,
            } => format!(
                "{} changed ({additions} additions, {changes} changes, {removals} removals)",
                d.resource_name()
            ),
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// Everything but the status a decision reads.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Input<'a> {
    /// The lifecycle settings.
    pub options: &'a Options,
    /// Helm's storage for the release name.
    pub storage: &'a Storage,
    /// The chart and values asked for.
    pub desired: &'a Desired,
    /// `metadata.generation`.
    pub generation: i64,
    /// A force request (`reconcile.fluxcd.io/forceAt` equal to
    /// `requestedAt` and not yet handled).
    pub force: bool,
    /// The cluster diff of the current release (asked for when
    /// [`DriftMode::must_detect_changes`]); empty: no drift.
    pub drift: Vec<DriftedObject>,
}

impl<'a> Input<'a> {
    /// An input at generation 1, without force or drift.
    #[must_use]
    pub fn new(options: &'a Options, storage: &'a Storage, desired: &'a Desired) -> Input<'a> {
        Input {
            options,
            storage,
            desired,
            generation: 1,
            force: false,
            drift: Vec::new(),
        }
    }
}

// ------------------------------------------------------------------ state

/// The release's state as helm-controller names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateKind {
    /// Not in storage (or uninstalled).
    Absent,
    /// In storage but not made by this object.
    Unmanaged,
    /// Chart, values, post-renderers or common metadata changed.
    OutOfSync,
    /// The cluster differs from the release manifest.
    Drifted,
    /// An operation is pending.
    Locked,
    /// Tests are enabled and have not run.
    Untested,
    /// As asked for.
    InSync,
    /// The release (or its tests) failed.
    Failed,
    /// Anything else ([`StateError`]).
    Unknown,
}

impl StateKind {
    /// helm-controller's name (`InSync`, `OutOfSync`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Absent => "Absent",
            StateKind::Unmanaged => "Unmanaged",
            StateKind::OutOfSync => "OutOfSync",
            StateKind::Drifted => "Drifted",
            StateKind::Locked => "Locked",
            StateKind::Untested => "Untested",
            StateKind::InSync => "InSync",
            StateKind::Failed => "Failed",
            StateKind::Unknown => "Unknown",
        }
    }
}

/// A state with its reason and, when drifted, the drift.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseState {
    /// The state.
    pub kind: StateKind,
    /// Why (may be empty).
    pub reason: String,
    /// The drifted objects ([`StateKind::Drifted`]).
    pub diff: Vec<DriftedObject>,
}

impl ReleaseState {
    /// A state with a reason.
    #[must_use]
    pub fn new(kind: StateKind, reason: &str) -> ReleaseState {
        ReleaseState {
            kind,
            reason: reason.to_owned(),
            diff: Vec::new(),
        }
    }
}

/// The state cannot be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The latest release has a status the lifecycle does not handle
    /// (`unknown`, `superseded`, `uninstalling`, …).
    #[error("unable to determine state for release with status '{0}'")]
    UnhandledStatus(String),
}

/// helm-controller's `DetermineReleaseState`.
///
/// # Errors
/// [`StateError`] when the latest release's status is not one the
/// lifecycle acts on.
pub fn determine_state(
    input: &Input<'_>,
    status: &HelmReleaseStatus,
) -> Result<ReleaseState, StateError> {
    use StateKind::*;
    let Some(rls) = input.storage.last() else {
        return Ok(ReleaseState::new(
            Absent,
            "no release in storage for object",
        ));
    };
    let rs = rls.status();
    if rs.is_pending() {
        return Ok(ReleaseState::new(
            Locked,
            &format!("release with status '{rs}'"),
        ));
    }
    let Some(cur) = status.history.latest() else {
        if rs == Status::Uninstalled {
            return Ok(ReleaseState::new(
                Absent,
                "found uninstalled release in storage",
            ));
        }
        return Ok(ReleaseState::new(
            Unmanaged,
            "found existing release in storage",
        ));
    };
    if let Err(e) = verify_digest(cur, &rls.digest) {
        return Ok(ReleaseState::new(Unmanaged, &e.to_string()));
    }
    match rs {
        Status::Failed => Ok(ReleaseState::new(Failed, "")),
        Status::Uninstalled => Ok(ReleaseState::new(
            Absent,
            "found uninstalled release in storage",
        )),
        Status::Deployed => {
            let d = input.desired;
            if rls.chart_name != d.chart_name || rls.chart_version != d.chart_version {
                return Ok(ReleaseState::new(OutOfSync, "release chart changed"));
            }
            if cur.config_digest != d.values_digest {
                return Ok(ReleaseState::new(
                    OutOfSync,
                    "release config values changed",
                ));
            }
            if status.observed_generation != input.generation {
                if d.post_renderers_digest != status.observed_post_renderers_digest {
                    return Ok(ReleaseState::new(
                        OutOfSync,
                        "postrenderers digest has changed",
                    ));
                }
                if d.common_metadata_digest != status.observed_common_metadata_digest {
                    return Ok(ReleaseState::new(
                        OutOfSync,
                        "common metadata digest has changed",
                    ));
                }
            }
            let test = &input.options.test;
            if test.enable {
                if !cur.has_been_tested() {
                    return Ok(ReleaseState::new(Untested, ""));
                }
                let remediation = input.options.active_remediation(status);
                if remediation.is_some_and(|r| !r.must_ignore_test_failures(test.ignore_failures))
                    && cur.has_test_in_phase("Failed")
                {
                    return Ok(ReleaseState::new(
                        Failed,
                        "release has test in failed phase",
                    ));
                }
            }
            if input.options.drift.must_detect_changes()
                && input
                    .drift
                    .iter()
                    .any(|d| !matches!(d.change, DriftChange::Excluded))
            {
                return Ok(ReleaseState {
                    kind: Drifted,
                    reason: String::new(),
                    diff: input.drift.clone(),
                });
            }
            Ok(ReleaseState::new(InSync, ""))
        }
        other => Err(StateError::UnhandledStatus(other.to_string())),
    }
}

// ----------------------------------------------------------------- action

/// The next Helm action.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `helm install`.
    Install,
    /// `helm upgrade` (also to adopt an unmanaged release or retry a failed
    /// one).
    Upgrade,
    /// `helm test`.
    Test,
    /// `helm rollback` to `version` (the previous deployed snapshot).
    RollbackRemediation {
        /// The revision to roll back to.
        version: i64,
    },
    /// `helm uninstall` to remediate a failure.
    UninstallRemediation,
    /// Mark the pending release failed so it can be acted on.
    Unlock,
    /// Re-apply the drifted objects.
    CorrectClusterDrift,
    /// `helm uninstall` of a HelmRelease being deleted or suspended for
    /// uninstall (never chosen by [`action_for_state`]; recorded with
    /// [`record_outcome`]).
    Uninstall,
}

impl Action {
    /// helm-controller's reconciler name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Upgrade => "upgrade",
            Action::Test => "test",
            Action::RollbackRemediation { .. } => "rollback",
            Action::UninstallRemediation => "uninstall",
            Action::Unlock => "unlock",
            Action::CorrectClusterDrift => "correct cluster drift",
            Action::Uninstall => "uninstall",
        }
    }

    /// helm-controller's reconciler type (`release`, `remediate`, `test`,
    /// `unlock`, `drift correction`): the atomic release runs each type at
    /// most once and stops after a remediation.
    #[must_use]
    pub fn reconciler_type(&self) -> &'static str {
        match self {
            Action::Install | Action::Upgrade | Action::Uninstall => "release",
            Action::Test => "test",
            Action::RollbackRemediation { .. } | Action::UninstallRemediation => "remediate",
            Action::Unlock => "unlock",
            Action::CorrectClusterDrift => "drift correction",
        }
    }

    /// Whether this is a remediation (the atomic release stops after one).
    #[must_use]
    pub fn is_remediation(&self) -> bool {
        matches!(
            self,
            Action::RollbackRemediation { .. } | Action::UninstallRemediation
        )
    }
}

/// Why no action can follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NextError {
    /// Retries are exhausted (`Stalled`, reason `RetriesExceeded`).
    #[error("exceeded maximum retries: cannot {0} release")]
    ExceededMaxRetries(&'static str),
    /// Rollback remediation without a previous release (`Stalled`,
    /// reason `MissingRollbackTarget`).
    #[error("missing target release for rollback: cannot remediate failed release")]
    MissingRollbackTarget,
    /// `upgrade.remediation.strategy` is neither `rollback` nor `uninstall`.
    #[error("unknown remediation strategy: {0}")]
    UnknownRemediationStrategy(String),
    /// The state is [`StateKind::Unknown`].
    #[error("unknown release status: {0}")]
    UnknownReleaseStatus(&'static str),
}

/// The decision and what it recorded on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Next {
    /// The action to run; `None`: the release is done.
    pub action: Option<Action>,
    /// Events to record (drift detected).
    pub events: Vec<Event>,
}

fn fmt_install_success(s: &Snapshot) -> String {
    format!(
        "Helm install succeeded for release {} with chart {}",
        s.full_release_name(),
        s.versioned_chart_name()
    )
}

fn fmt_upgrade_success(s: &Snapshot) -> String {
    format!(
        "Helm upgrade succeeded for release {} with chart {}",
        s.full_release_name(),
        s.versioned_chart_name()
    )
}

/// Turn condition `target` into `replacement` (status, reason, message).
fn replace_condition(
    list: &mut Vec<Condition>,
    generation: i64,
    now: &str,
    target: &str,
    replacement: &str,
    reason: &str,
    message: &str,
) {
    let Some(c) = conditions::get(list, target).cloned() else {
        return;
    };
    conditions::delete(list, replacement);
    let mut c = c;
    c.r#type = replacement.to_owned();
    c.status = "True".to_owned();
    c.reason = Some(reason.to_owned());
    c.message = Some(message.to_owned());
    conditions::set(list, generation, now, c);
    conditions::delete(list, target);
}

/// helm-controller's `summarize`: `Ready` from `Remediated`,
/// `TestSuccess` (when tests count) and `Released`, newest first.
pub fn summarize(
    options: &Options,
    status: &mut HelmReleaseStatus,
    generation: i64,
    now: &str,
    desired: &Desired,
) {
    let sum: &[&str] = if options.test.enable && !options.test.ignore_failures {
        &[REMEDIATED, TEST_SUCCESS, RELEASED]
    } else {
        &[REMEDIATED, RELEASED]
    };
    if !options.test.enable {
        conditions::delete(&mut status.conditions, TEST_SUCCESS);
    }
    if status.conditions.is_empty() {
        return;
    }
    let pos = |t: &str| sum.iter().position(|s| s.eq_ignore_ascii_case(t));
    // Go's stable sort with helm-controller's (non-strict) `less`: an
    // insertion sort, which is what Go runs on lists this short.
    let less = |a: &Condition, b: &Condition| match (pos(&a.r#type), pos(&b.r#type)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(i), Some(j)) => {
            a.observed_generation.unwrap_or(0) >= b.observed_generation.unwrap_or(0) && i < j
        }
    };
    let mut conds = status.conditions.clone();
    for i in 1..conds.len() {
        let mut j = i;
        while j > 0 && less(&conds[j], &conds[j - 1]) {
            conds.swap(j, j - 1);
            j -= 1;
        }
    }
    let top = &conds[0];
    let mut state = top.status.clone();
    if top.r#type == REMEDIATED {
        state = "False".to_owned();
    }
    if state == "True" {
        conditions::delete(&mut status.conditions, conditions::STALLED);
    }
    let mut ready = top.clone();
    ready.r#type = READY.to_owned();
    ready.status = state;
    ready.last_transition_time = None;
    conditions::set(&mut status.conditions, generation, now, ready);
    status.observed_post_renderers_digest = desired.post_renderers_digest.clone();
    status.observed_common_metadata_digest = desired.common_metadata_digest.clone();
}

/// helm-controller's `actionForState`: the action for `state`, with the
/// history truncation and condition updates it makes on the way.
///
/// # Errors
/// [`NextError`]: retries exhausted, no rollback target, an unknown
/// remediation strategy or an unknown state.
pub fn action_for_state(
    input: &Input<'_>,
    status: &mut HelmReleaseStatus,
    state: &ReleaseState,
    now: &str,
) -> Result<Next, NextError> {
    let opts = input.options;
    let generation = input.generation;
    let done = |action: Option<Action>| {
        Ok(Next {
            action,
            events: Vec::new(),
        })
    };
    match state.kind {
        StateKind::InSync => {
            if opts.active_retry(status).is_some() {
                status.history.truncate_ignoring_previous();
            } else {
                let ignore = opts
                    .active_remediation(status)
                    .map_or(opts.test.ignore_failures, |r| {
                        r.must_ignore_test_failures(opts.test.ignore_failures)
                    });
                status.history.truncate_history(ignore);
            }
            if input.force {
                return done(Some(Action::Upgrade));
            }
            let cur = status.history.latest().cloned().unwrap_or_default();
            if conditions::is_true(&status.conditions, REMEDIATED) {
                replace_condition(
                    &mut status.conditions,
                    generation,
                    now,
                    REMEDIATED,
                    RELEASED,
                    UPGRADE_SUCCEEDED,
                    &fmt_upgrade_success(&cur),
                );
            }
            if !conditions::is_true(&status.conditions, READY)
                || !conditions::is_true(&status.conditions, RELEASED)
            {
                let fix = match conditions::reason(&status.conditions, RELEASED) {
                    INSTALL_FAILED => Some((INSTALL_SUCCEEDED, fmt_install_success(&cur))),
                    UPGRADE_FAILED => Some((UPGRADE_SUCCEEDED, fmt_upgrade_success(&cur))),
                    _ => None,
                };
                if let Some((reason, msg)) = fix {
                    conditions::mark_true(
                        &mut status.conditions,
                        generation,
                        now,
                        RELEASED,
                        reason,
                        &msg,
                    );
                    summarize(opts, status, generation, now, input.desired);
                }
            }
            if opts.drift.must_detect_changes() {
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    DRIFTED,
                    NO_DRIFT_DETECTED,
                    "No drift detected against the cluster state",
                );
            }
            done(None)
        }
        StateKind::Locked => done(Some(Action::Unlock)),
        StateKind::Absent => {
            if opts.install_remediation().retries_exhausted(status) && !input.force {
                return Err(NextError::ExceededMaxRetries("install"));
            }
            done(Some(Action::Install))
        }
        StateKind::Unmanaged => {
            status.history.clear();
            done(Some(Action::Upgrade))
        }
        StateKind::OutOfSync => {
            if opts.upgrade_remediation().retries_exhausted(status) && !input.force {
                return Err(NextError::ExceededMaxRetries("upgrade"));
            }
            done(Some(Action::Upgrade))
        }
        StateKind::Drifted => {
            let name = status
                .history
                .latest()
                .map(Snapshot::full_release_name)
                .unwrap_or_default();
            let msg = format!(
                "Cluster state of release {name} has drifted from the desired state:\n{}",
                summarize_drift(&state.diff)
            );
            conditions::mark_true(
                &mut status.conditions,
                generation,
                now,
                DRIFTED,
                DRIFT_DETECTED,
                &msg,
            );
            let events = vec![Event::warning(DRIFT_DETECTED, msg)];
            let action = (opts.drift == DriftMode::Enabled).then_some(Action::CorrectClusterDrift);
            Ok(Next { action, events })
        }
        StateKind::Untested => {
            if conditions::is_true(&status.conditions, REMEDIATED) {
                let cur = status.history.latest().cloned().unwrap_or_default();
                replace_condition(
                    &mut status.conditions,
                    generation,
                    now,
                    REMEDIATED,
                    RELEASED,
                    UPGRADE_SUCCEEDED,
                    &fmt_upgrade_success(&cur),
                );
            }
            done(Some(Action::Test))
        }
        StateKind::Failed => {
            if opts.active_retry(status).is_some() {
                status.history.truncate_ignoring_previous();
                return done(Some(Action::Upgrade));
            }
            let Some(rem) = opts.active_remediation(status) else {
                return done(Some(Action::Upgrade));
            };
            if rem.failure_count(status) <= 0 || input.force {
                return done(Some(Action::Upgrade));
            }
            if rem.retries_exhausted(status) && !rem.must_remediate_last_failure() {
                return Err(NextError::ExceededMaxRetries("remediate failed"));
            }
            let ignore = rem.must_ignore_test_failures(opts.test.ignore_failures);
            status.history.truncate_history(ignore);
            match rem.strategy() {
                "rollback" => {
                    let Some(prev) = status.history.previous(ignore) else {
                        return Err(NextError::MissingRollbackTarget);
                    };
                    let verified = input
                        .storage
                        .get(&prev.name, prev.version)
                        .is_some_and(|r| verify_digest(prev, &r.digest).is_ok());
                    if !verified {
                        return done(Some(Action::Upgrade));
                    }
                    done(Some(Action::RollbackRemediation {
                        version: prev.version,
                    }))
                }
                "uninstall" => done(Some(Action::UninstallRemediation)),
                other => Err(NextError::UnknownRemediationStrategy(other.to_owned())),
            }
        }
        StateKind::Unknown => Err(NextError::UnknownReleaseStatus("Unknown")),
    }
}

/// The `Stalled` condition helm-controller sets for `err`, if any:
/// `(reason, message)`.
#[must_use]
pub fn stalled_for(
    err: &NextError,
    options: &Options,
    status: &HelmReleaseStatus,
) -> Option<(&'static str, String)> {
    match err {
        NextError::ExceededMaxRetries(_) => {
            let count = options
                .active_remediation(status)
                .map_or(0, |r| r.failure_count(status));
            Some((
                RETRIES_EXCEEDED,
                format!(
                    "Failed to {} after {count} attempt(s)",
                    status.last_attempted_release_action
                ),
            ))
        }
        NextError::MissingRollbackTarget => Some((
            MISSING_ROLLBACK_TARGET,
            format!("Failed to perform remediation: {err}"),
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------- outcome

/// What running an [`Action`] did, as the caller's Helm implementation
/// reports it.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// Helm's error (`None`: the action succeeded). For an uninstall,
    /// `release: not found` means there was nothing to uninstall.
    pub error: Option<String>,
    /// Every write the action made to Helm's storage (create and update),
    /// in order: helm-controller observes these to update its history.
    /// For a test, the tested record with its hooks' last runs.
    pub observed: Vec<Release>,
    /// Drift correction: the objects re-applied, one per line as Flux's
    /// `ChangeSet.String()` prints them (`Deployment/ns/name configured`).
    pub change_set: String,
}

impl Outcome {
    /// A success that wrote `observed`.
    #[must_use]
    pub fn succeeded(observed: Vec<Release>) -> Outcome {
        Outcome {
            observed,
            ..Outcome::default()
        }
    }

    /// A failure with Helm's `error` after writing `observed`.
    #[must_use]
    pub fn failed(error: &str, observed: Vec<Release>) -> Outcome {
        Outcome {
            error: Some(error.to_owned()),
            observed,
            ..Outcome::default()
        }
    }

    /// With the drift-correction change set.
    #[must_use]
    pub fn with_change_set(mut self, change_set: &str) -> Outcome {
        change_set.clone_into(&mut self.change_set);
        self
    }
}

/// What [`record_outcome`] recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// Events helm-controller emits for the action.
    pub events: Vec<Event>,
    /// The error helm-controller's action reconciler returns (the atomic
    /// release stops with it): a failure that left no trace in storage,
    /// or a precondition that did not hold. `None` when the status says
    /// all there is to say.
    pub error: Option<String>,
}

/// Record the current attempt before the atomic release runs, as
/// helm-controller's HelmRelease reconciler does: the generation, chart
/// version and values digest attempted.
pub fn mark_attempted(status: &mut HelmReleaseStatus, desired: &Desired, generation: i64) {
    status.last_attempted_generation = generation;
    status
        .last_attempted_revision
        .clone_from(&desired.chart_version);
    status
        .last_attempted_config_digest
        .clone_from(&desired.values_digest);
}

impl Snapshot {
    /// Whether this snapshot is of revision `version` of `namespace/name`.
    #[must_use]
    pub fn targets(&self, name: &str, namespace: &str, version: i64) -> bool {
        self.name == name && self.namespace == namespace && self.version == version
    }
}

fn targets(s: &Snapshot, r: &Release) -> bool {
    s.targets(&r.name, &r.namespace, r.version)
}

/// A snapshot of `r` with `action` and `oci_digest`.
fn observed_snapshot(r: &Release, action: &str, oci_digest: &str) -> Snapshot {
    let mut s = Snapshot::observe(r, Some(action));
    oci_digest.clone_into(&mut s.oci_digest);
    if !oci_digest.is_empty() {
        s.digest = observation_digest(r, oci_digest);
    }
    s
}

/// helm-controller's `observedReleases.recordOnObject` for install and
/// upgrade: the newest write becomes the latest snapshot; the newest older
/// revision already in the history is refreshed (keeping its test hooks).
fn record_release_writes(
    status: &mut HelmReleaseStatus,
    writes: &[Release],
    action: &str,
    oci: &str,
) {
    let mut by_version: BTreeMap<i64, &Release> = BTreeMap::new();
    for w in writes {
        by_version.insert(w.version, w);
    }
    let mut versions: Vec<i64> = by_version.keys().copied().collect();
    versions.reverse();
    let Some((newest, older)) = versions.split_first() else {
        return;
    };
    status
        .history
        .insert(0, observed_snapshot(by_version[newest], action, oci));
    for v in older {
        let r = by_version[v];
        if let Some(i) = status.history.iter().position(|s| targets(s, r)) {
            let old = &status.history[i];
            let mut snap = observed_snapshot(r, "", &old.oci_digest.clone());
            snap.test_hooks.clone_from(&old.test_hooks);
            status.history[i] = snap;
            return;
        }
    }
}

/// Replace the snapshot each write targets (`action`: `None` keeps the
/// snapshot's); writes targeting none are prepended when `prepend_unknown`.
fn record_updates(
    status: &mut HelmReleaseStatus,
    writes: &[Release],
    action: Option<&str>,
    keep_hooks: bool,
    prepend_unknown: bool,
) {
    for w in writes {
        if let Some(i) = status.history.iter().position(|s| targets(s, w)) {
            let old = &status.history[i];
            let act = action.unwrap_or(&old.action).to_owned();
            let mut snap = observed_snapshot(w, &act, &old.oci_digest.clone());
            if keep_hooks {
                snap.test_hooks.clone_from(&old.test_hooks);
            }
            status.history[i] = snap;
        } else if prepend_unknown {
            status.history.insert(0, Snapshot::observe(w, None));
        }
    }
}

/// Flux's event metadata for a snapshot: chart version, config digest,
/// app version and OCI digest.
fn event_for(e: Event, chart_version: &str, token: &str, app: &str, oci: &str) -> Event {
    let mut e = e;
    for (k, v) in [
        ("revision", chart_version),
        ("token", token),
        ("app-version", app),
        ("oci-digest", oci),
    ] {
        if !v.is_empty() {
            e = e.with(k, v);
        }
    }
    e
}

fn snap_event(e: Event, s: &Snapshot) -> Event {
    event_for(
        e,
        &s.chart_version,
        &s.config_digest,
        &s.app_version,
        &s.oci_digest,
    )
}

/// Record the outcome of `action` in `status` as helm-controller's action
/// reconcilers do: `lastAttemptedReleaseAction`, the failure counters, the
/// history snapshots (with test results), the `Released` / `TestSuccess` /
/// `Remediated` conditions with helm-controller's reasons and messages,
/// then `Ready` from them (except after an uninstall remediation and a
/// drift correction, which helm-controller does not summarize).
///
/// `input` describes the state *before* the action (its storage is what
/// an unlock found pending).
pub fn record_outcome(
    input: &Input<'_>,
    status: &mut HelmReleaseStatus,
    action: &Action,
    outcome: &Outcome,
    now: &str,
) -> Recorded {
    let opts = input.options;
    let generation = input.generation;
    let desired = input.desired;
    let err = outcome.error.as_deref().map(str::trim);
    let mut rec = Recorded::default();
    let mut summarize_after = true;
    let latest = |status: &HelmReleaseStatus| status.history.latest().cloned().unwrap_or_default();
    match action {
        Action::Install | Action::Upgrade => {
            let install = *action == Action::Install;
            let (name, kind) = if install {
                ("install", RemediationKind::Install)
            } else {
                ("upgrade", RemediationKind::Upgrade)
            };
            name.clone_into(&mut status.last_attempted_release_action);
            if install {
                status.history.clear();
            }
            conditions::delete(&mut status.conditions, TEST_SUCCESS);
            conditions::delete(&mut status.conditions, REMEDIATED);
            record_release_writes(status, &outcome.observed, name, &desired.oci_digest);
            if let Some(e) = err {
                let (ns, rn) = release_ref(desired, status);
                let msg = format!(
                    "Helm {name} failed for release {ns}/{rn} with chart {}@{}: {e}",
                    desired.chart_name, desired.chart_version
                );
                status.failures += 1;
                let reason = if install {
                    INSTALL_FAILED
                } else {
                    UPGRADE_FAILED
                };
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    RELEASED,
                    reason,
                    &msg,
                );
                rec.events.push(event_for(
                    Event::warning(reason, msg),
                    &desired.chart_version,
                    &desired.values_digest,
                    &desired.chart_app_version,
                    &desired.oci_digest,
                ));
                if outcome.observed.is_empty() {
                    rec.error = Some(e.to_owned());
                } else {
                    let rem = if install {
                        opts.install_remediation()
                    } else {
                        opts.upgrade_remediation()
                    };
                    rem.increment_failure_count(status);
                }
            } else {
                let cur = latest(status);
                let (reason, msg) = if install {
                    (INSTALL_SUCCEEDED, fmt_install_success(&cur))
                } else {
                    (UPGRADE_SUCCEEDED, fmt_upgrade_success(&cur))
                };
                conditions::mark_true(
                    &mut status.conditions,
                    generation,
                    now,
                    RELEASED,
                    reason,
                    &msg,
                );
                if opts.test.enable && !cur.has_been_tested() {
                    conditions::mark_unknown(
                        &mut status.conditions,
                        generation,
                        now,
                        TEST_SUCCESS,
                        AWAITING_TESTS,
                        &format!(
                            "Helm release {} with chart {} is awaiting tests",
                            cur.full_release_name(),
                            cur.versioned_chart_name()
                        ),
                    );
                }
                if opts.retry(kind).is_some() {
                    status.clear_failures();
                }
                rec.events
                    .push(snap_event(Event::normal(reason, msg), &cur));
            }
        }
        Action::Test => {
            let Some(cur) = status.history.latest().cloned() else {
                rec.error = Some("no latest release: required for test".to_owned());
                summarize(opts, status, generation, now, desired);
                return rec;
            };
            let mut error = err.map(str::to_owned);
            for r in &outcome.observed {
                if targets(&cur, r) {
                    let mut tested = observed_snapshot(r, &cur.action, &cur.oci_digest);
                    tested.test_hooks = Some(super::snapshot::test_hooks(r, &opts.test_filters()));
                    if let Some(i) = status.history.iter().position(|s| targets(s, r)) {
                        status.history[i] = tested;
                    }
                } else {
                    error = Some(format!(
                        "release mismatch: tested release {}/{}.v{} != current release {}",
                        r.namespace,
                        r.name,
                        r.version,
                        cur.full_release_name()
                    ));
                }
            }
            let cur = latest(status);
            if let Some(e) = error {
                let msg = format!(
                    "Helm test failed for release {} with chart {}: {}",
                    cur.full_release_name(),
                    cur.versioned_chart_name(),
                    e.trim()
                );
                status.failures += 1;
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    TEST_SUCCESS,
                    TEST_FAILED,
                    &msg,
                );
                rec.events
                    .push(snap_event(Event::warning(TEST_FAILED, msg), &cur));
                if cur.has_been_tested() {
                    if let Some(rem) = opts.active_remediation(status)
                        && !rem.must_ignore_test_failures(opts.test.ignore_failures)
                    {
                        rem.increment_failure_count(status);
                    }
                } else {
                    rec.error = Some(e);
                }
            } else {
                let n = cur.test_hooks.as_ref().map_or(0, BTreeMap::len);
                let hooks = match n {
                    0 => "no test hooks".to_owned(),
                    1 => "1 test hook completed successfully".to_owned(),
                    n => format!("{n} test hooks completed successfully"),
                };
                let msg = format!(
                    "Helm test succeeded for release {} with chart {}: {hooks}",
                    cur.full_release_name(),
                    cur.versioned_chart_name()
                );
                conditions::mark_true(
                    &mut status.conditions,
                    generation,
                    now,
                    TEST_SUCCESS,
                    TEST_SUCCEEDED,
                    &msg,
                );
                rec.events
                    .push(snap_event(Event::normal(TEST_SUCCEEDED, msg), &cur));
            }
        }
        Action::RollbackRemediation { .. } => {
            let cur = status.history.latest().cloned();
            let ignore = opts
                .upgrade_remediation()
                .must_ignore_test_failures(opts.test.ignore_failures);
            let Some(prev) = status.history.previous(ignore).cloned() else {
                rec.error =
                    Some("missing target release for rollback: required to rollback".to_owned());
                summarize(opts, status, generation, now, desired);
                return rec;
            };
            let cur = cur.unwrap_or_default();
            if prev.name != cur.name || prev.namespace != cur.namespace {
                rec.error = Some(format!(
                    "release mismatch: previous release name or namespace {} does not match current {}",
                    prev.full_release_name(),
                    cur.full_release_name()
                ));
                summarize(opts, status, generation, now, desired);
                return rec;
            }
            record_updates(status, &outcome.observed, Some("rollback"), true, true);
            let ev = |e: Event| {
                event_for(
                    e,
                    &prev.chart_version,
                    &desired.values_digest,
                    &prev.app_version,
                    &prev.oci_digest,
                )
            };
            if let Some(e) = err {
                let msg = format!(
                    "Helm rollback to previous release {} with chart {} failed: {e}",
                    prev.full_release_name(),
                    prev.versioned_chart_name()
                );
                status.failures += 1;
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    REMEDIATED,
                    ROLLBACK_FAILED,
                    &msg,
                );
                rec.events.push(ev(Event::warning(ROLLBACK_FAILED, msg)));
                let unchanged = status
                    .history
                    .latest()
                    .is_none_or(|n| n.digest == cur.digest);
                if unchanged {
                    rec.error = Some(e.to_owned());
                }
            } else {
                let msg = format!(
                    "Helm rollback to previous release {} with chart {} succeeded",
                    prev.full_release_name(),
                    prev.versioned_chart_name()
                );
                conditions::mark_true(
                    &mut status.conditions,
                    generation,
                    now,
                    REMEDIATED,
                    ROLLBACK_SUCCEEDED,
                    &msg,
                );
                rec.events.push(ev(Event::normal(ROLLBACK_SUCCEEDED, msg)));
            }
        }
        Action::UninstallRemediation | Action::Uninstall => {
            let remediation = *action == Action::UninstallRemediation;
            summarize_after = !remediation;
            let Some(cur) = status.history.latest().cloned() else {
                rec.error = Some("no latest release: required to uninstall".to_owned());
                if summarize_after {
                    summarize(opts, status, generation, now, desired);
                }
                return rec;
            };
            if !remediation && err.is_some_and(|e| e.contains("release: not found")) {
                let msg = format!(
                    "Release {} was not found, assuming it is uninstalled",
                    cur.full_release_name()
                );
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    RELEASED,
                    UNINSTALL_SUCCEEDED,
                    &msg,
                );
                summarize(opts, status, generation, now, desired);
                return rec;
            }
            if !remediation
                && opts.uninstall_keep_history
                && err.is_some_and(|e| e.contains("is already deleted"))
            {
                let msg = format!(
                    "Release {} was already uninstalled",
                    cur.full_release_name()
                );
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    RELEASED,
                    UNINSTALL_SUCCEEDED,
                    &msg,
                );
                summarize(opts, status, generation, now, desired);
                return rec;
            }
            let act = if remediation {
                "uninstall-remediation"
            } else {
                "uninstall"
            };
            record_updates(status, &outcome.observed, Some(act), true, false);
            let mut error = err.map(str::to_owned);
            if let Some(r) = outcome.observed.last()
                && !targets(&cur, r)
            {
                error = Some(format!(
                    "release mismatch: uninstalled release {}/{}.v{} != current release {}",
                    r.namespace,
                    r.name,
                    r.version,
                    cur.full_release_name()
                ));
            }
            let unchanged = status
                .history
                .latest()
                .is_some_and(|l| l.digest == cur.digest);
            if error.is_none() && unchanged && (remediation || cur.status != "uninstalled") {
                error = Some(
                    "uninstall completed with error: release not updated in Helm storage"
                        .to_owned(),
                );
            }
            let now_cur = latest(status);
            if let Some(e) = error {
                let (fmt, reason, cond) = if remediation {
                    (
                        "Helm uninstall remediation for release",
                        UNINSTALL_FAILED,
                        REMEDIATED,
                    )
                } else {
                    (
                        "Helm uninstall failed for release",
                        UNINSTALL_FAILED,
                        RELEASED,
                    )
                };
                let msg = if remediation {
                    format!(
                        "{fmt} {} with chart {} failed: {}",
                        now_cur.full_release_name(),
                        now_cur.versioned_chart_name(),
                        e.trim()
                    )
                } else {
                    format!(
                        "{fmt} {} with chart {}: {}",
                        now_cur.full_release_name(),
                        now_cur.versioned_chart_name(),
                        e.trim()
                    )
                };
                status.failures += 1;
                conditions::mark_false(&mut status.conditions, generation, now, cond, reason, &msg);
                rec.events
                    .push(snap_event(Event::warning(reason, msg), &now_cur));
                if !remediation || unchanged {
                    rec.error = Some(e);
                }
            } else if remediation {
                let msg = format!(
                    "Helm uninstall remediation for release {} with chart {} succeeded",
                    now_cur.full_release_name(),
                    now_cur.versioned_chart_name()
                );
                conditions::mark_true(
                    &mut status.conditions,
                    generation,
                    now,
                    REMEDIATED,
                    UNINSTALL_SUCCEEDED,
                    &msg,
                );
                rec.events.push(snap_event(
                    Event::normal(UNINSTALL_SUCCEEDED, msg),
                    &now_cur,
                ));
            } else {
                let msg = format!(
                    "Helm uninstall succeeded for release {} with chart {}",
                    now_cur.full_release_name(),
                    now_cur.versioned_chart_name()
                );
                status.extra.remove("inventory");
                conditions::mark_false(
                    &mut status.conditions,
                    generation,
                    now,
                    RELEASED,
                    UNINSTALL_SUCCEEDED,
                    &msg,
                );
                rec.events.push(snap_event(
                    Event::normal(UNINSTALL_SUCCEEDED, msg),
                    &now_cur,
                ));
            }
        }
        Action::Unlock => {
            if let Some(last) = input.storage.last()
                && last.status().is_pending()
            {
                let oci = status
                    .history
                    .iter()
                    .find(|s| s.targets(&last.name, &last.namespace, last.version))
                    .map(|s| s.oci_digest.clone())
                    .unwrap_or_default();
                let cur = Snapshot {
                    name: last.name.clone(),
                    namespace: last.namespace.clone(),
                    version: last.version,
                    chart_name: last.chart_name.clone(),
                    chart_version: last.chart_version.clone(),
                    oci_digest: oci,
                    ..Snapshot::default()
                };
                let state = last.status().to_string();
                record_updates(status, &outcome.observed, None, false, false);
                if let Some(e) = err {
                    let msg = format!(
                        "Unlock of Helm release {} with chart {} in {state} state failed: {e}",
                        cur.full_release_name(),
                        cur.versioned_chart_name()
                    );
                    status.failures += 1;
                    conditions::mark_false(
                        &mut status.conditions,
                        generation,
                        now,
                        RELEASED,
                        PENDING_RELEASE,
                        &msg,
                    );
                    rec.events
                        .push(snap_event(Event::warning(PENDING_RELEASE, msg), &cur));
                    rec.error = Some(e.to_owned());
                } else {
                    let msg = format!(
                        "Unlocked Helm release {} with chart {} in {state} state",
                        cur.full_release_name(),
                        cur.versioned_chart_name()
                    );
                    conditions::mark_false(
                        &mut status.conditions,
                        generation,
                        now,
                        RELEASED,
                        PENDING_RELEASE,
                        &msg,
                    );
                    rec.events
                        .push(snap_event(Event::normal(PENDING_RELEASE, msg), &cur));
                }
            } else if let Some(e) = err {
                rec.error = Some(e.to_owned());
            }
        }
        Action::CorrectClusterDrift => {
            summarize_after = false;
            if opts.drift != DriftMode::Enabled || input.drift.is_empty() {
                return rec;
            }
            conditions::mark_unknown(
                &mut status.conditions,
                generation,
                now,
                READY,
                conditions::PROGRESSING,
                "correcting cluster drift",
            );
            let cur = latest(status);
            let changed = !outcome.change_set.trim().is_empty();
            if let Some(e) = err {
                let mut msg = String::from("Failed to ");
                if changed {
                    msg.push_str("partially ");
                }
                msg.push_str("correct cluster state of release ");
                msg.push_str(&cur.full_release_name());
                msg.push_str(":\n");
                msg.push_str(e);
                if changed {
                    msg.push_str("\n\nSuccessful corrections:\n");
                    msg.push_str(&outcome.change_set);
                }
                rec.events.push(snap_event(
                    Event::warning(DRIFT_CORRECTION_FAILED, msg),
                    &cur,
                ));
            } else if changed {
                let msg = format!(
                    "Cluster state of release {} has been corrected:\n{}",
                    cur.full_release_name(),
                    outcome.change_set
                );
                rec.events
                    .push(snap_event(Event::normal(DRIFT_CORRECTED, msg), &cur));
            }
        }
    }
    if summarize_after {
        summarize(opts, status, generation, now, desired);
    }
    rec
}

/// The release's namespace and name for failure messages.
fn release_ref(desired: &Desired, status: &HelmReleaseStatus) -> (String, String) {
    let cur = status.history.latest();
    let pick = |own: &str, snap: Option<&str>| {
        if own.is_empty() {
            snap.unwrap_or_default().to_owned()
        } else {
            own.to_owned()
        }
    };
    (
        pick(
            &desired.release_namespace,
            cur.map(|c| c.namespace.as_str()),
        ),
        pick(&desired.release_name, cur.map(|c| c.name.as_str())),
    )
}
