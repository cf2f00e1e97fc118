//! helm-controller's record of the releases it made: `status.history`
//! snapshots, their digests and test results.
//!
//! A [`Snapshot`] is taken from a release record ([`Snapshot::observe`])
//! right after an action. Its `digest` is the sha256 of the release's
//! *observation* (name, version, info, chart metadata, config, manifest,
//! non-test hooks, namespace) encoded as helm-controller's Go JSON encoder
//! writes it, so a snapshot written by helm-controller verifies against
//! the same record here and the other way round.
//!
//! ```
//! use gitops_reconcile::helm::release::Release;
//! use gitops_reconcile::helm::snapshot::{observation_digest, Snapshot};
//!
//! let rls: Release = serde_json::from_value(serde_json::json!({"name": "foo"}))?;
//! // The digest helm-controller's own test expects for this observation.
//! assert_eq!(
//!     observation_digest(&rls, ""),
//!     "sha256:f1498f27a16a09cd7e1ee610d924df065c03d30035638babc95dd9a8d412ce4d"
//! );
//! let snap = Snapshot::observe(&rls, None);
//! assert!(snap.verifies(&rls));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `configDigest` ([`values_digest`]) is the sha256 of the values as
//! sorted block YAML, the bytes fluxcd/pkg's `chartutil.DigestValues`
//! hashes, so digests written by helm-controller compare equal here.
//!
//! # Deviation
//!
//! Floats in values are written as the render crate's YAML writer writes
//! them; for floats that are not integral, Go's `strconv` shortest form
//! and ours could in rare cases differ, and the digest then reads as
//! "values changed" once (one upgrade that leaves the release as it was).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::release::{Hook, Release, go_json};

/// The snapshot API version helm-controller writes for Helm v4 records:
/// only snapshots of this version have their digest verified.
pub const SNAPSHOT_API_VERSION: &str = "v2";
/// History kept when no previous deployed release bounds it.
pub const DEFAULT_MAX_HISTORY: usize = 5;

/// The last run of a test hook, as observed by the controller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TestHookStatus {
    /// When it last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started: Option<String>,
    /// When it last completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<String>,
    /// `Succeeded`, `Failed`, … (empty: never ran).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

impl TestHookStatus {
    /// A hook status in `phase`.
    #[must_use]
    pub fn in_phase(phase: &str) -> TestHookStatus {
        TestHookStatus {
            phase: phase.to_owned(),
            ..TestHookStatus::default()
        }
    }
}

/// One entry of `status.history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Snapshot {
    /// `v2` for snapshots of Helm v4 records (digest verified).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `sha256:<hex>` of the release's observation.
    #[serde(default)]
    pub digest: String,
    /// Release name.
    #[serde(default)]
    pub name: String,
    /// Release namespace.
    #[serde(default)]
    pub namespace: String,
    /// Release revision.
    #[serde(default)]
    pub version: i64,
    /// The release's status when observed.
    #[serde(default)]
    pub status: String,
    /// The action that made it (`install`, `upgrade`, `rollback`, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// Chart name.
    #[serde(default)]
    pub chart_name: String,
    /// Chart version.
    #[serde(default)]
    pub chart_version: String,
    /// Chart app version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    /// [`values_digest`] of the release's config.
    #[serde(default)]
    pub config_digest: String,
    /// `info.first_deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_deployed: Option<String>,
    /// `info.last_deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployed: Option<String>,
    /// `info.deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// Test hooks run by the controller, by name (`None`: not tested; an
    /// empty map: tested, the chart has no selected tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<BTreeMap<String, Option<TestHookStatus>>>,
    /// Digest of the OCI artifact the chart came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub oci_digest: String,
}

impl Snapshot {
    /// The snapshot helm-controller takes of `rls` after `action`.
    #[must_use]
    pub fn observe(rls: &Release, action: Option<&str>) -> Snapshot {
        let meta = rls.chart_metadata();
        let info = rls.info.clone().unwrap_or_default();
        Snapshot {
            api_version: SNAPSHOT_API_VERSION.to_owned(),
            digest: observation_digest(rls, ""),
            name: rls.name.clone(),
            namespace: rls.namespace.clone(),
            version: rls.version,
            status: rls.status().to_string(),
            action: action.unwrap_or("").to_owned(),
            chart_name: meta.map(|m| m.name().to_owned()).unwrap_or_default(),
            chart_version: meta.map(|m| m.version().to_owned()).unwrap_or_default(),
            app_version: meta.map(|m| m.app_version().to_owned()).unwrap_or_default(),
            config_digest: values_digest(rls.config.as_ref()),
            first_deployed: info.first_deployed,
            last_deployed: info.last_deployed,
            deleted: info.deleted,
            test_hooks: None,
            oci_digest: String::new(),
        }
    }

    /// `<namespace>/<name>.v<version>`.
    #[must_use]
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }

    /// `<chart>@<version>`.
    #[must_use]
    pub fn versioned_chart_name(&self) -> String {
        format!("{}@{}", self.chart_name, self.chart_version)
    }

    /// Whether test results were observed: no tests selected, any test
    /// failed, or every test succeeded.
    #[must_use]
    pub fn has_been_tested(&self) -> bool {
        let Some(hooks) = &self.test_hooks else {
            return false;
        };
        if hooks.is_empty() || self.has_test_in_phase("Failed") {
            return true;
        }
        hooks
            .values()
            .all(|h| h.as_ref().is_some_and(|h| h.phase == "Succeeded"))
    }

    /// Whether a test hook was observed in `phase`.
    #[must_use]
    pub fn has_test_in_phase(&self, phase: &str) -> bool {
        self.test_hooks.as_ref().is_some_and(|m| {
            m.values()
                .any(|h| h.as_ref().is_some_and(|h| h.phase == phase))
        })
    }

    /// Whether `rls` is the release this snapshot was taken of: always for
    /// snapshots older than [`SNAPSHOT_API_VERSION`] (no digest check),
    /// else the digests must match.
    #[must_use]
    pub fn verifies(&self, rls: &Release) -> bool {
        self.verify(rls).is_ok()
    }

    /// [`Snapshot::verifies`] with the reason it does not.
    ///
    /// # Errors
    /// [`VerifyError`].
    pub fn verify(&self, rls: &Release) -> Result<(), VerifyError> {
        verify_digest(self, &observation_digest(rls, &self.oci_digest))
    }
}

/// Why a snapshot does not verify against a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The snapshot's digest is not `sha256:<64 hex>`.
    #[error("release digest verification error")]
    Digest,
    /// The release in storage is not the one observed.
    #[error("release not observed to be made for object")]
    NotObserved,
}

/// Compare a snapshot's digest with a release's [`observation_digest`].
///
/// # Errors
/// [`VerifyError`].
pub(crate) fn verify_digest(snap: &Snapshot, release_digest: &str) -> Result<(), VerifyError> {
    if snap.api_version != SNAPSHOT_API_VERSION {
        return Ok(());
    }
    let valid = snap.digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if !valid {
        return Err(VerifyError::Digest);
    }
    if snap.digest == release_digest {
        Ok(())
    } else {
        Err(VerifyError::NotObserved)
    }
}

/// The test hooks of `rls` with their last runs, selected by helm-controller's
/// `spec.test.filters` rule (`(name, exclude)` pairs: excluded names are
/// dropped; when any include filter exists only included names are kept).
#[must_use]
pub fn test_hooks(
    rls: &Release,
    filters: &[(String, bool)],
) -> BTreeMap<String, Option<TestHookStatus>> {
    let selected = |name: &str| {
        let mut has_include = false;
        let mut included = false;
        for (f, exclude) in filters {
            if *exclude {
                if f == name {
                    return false;
                }
                continue;
            }
            has_include = true;
            included |= f == name;
        }
        !has_include || included
    };
    rls.hooks
        .iter()
        .filter(|h| h.runs_on("test") && selected(&h.name))
        .map(|h| {
            let st = TestHookStatus {
                last_started: h.last_run.started_at.clone().filter(|s| !s.is_empty()),
                last_completed: h.last_run.completed_at.clone().filter(|s| !s.is_empty()),
                phase: h.last_run.phase.clone(),
            };
            (h.name.clone(), Some(st))
        })
        .collect()
}

/// The history helpers of helm-controller (`status.history`, newest first).
pub trait History {
    /// Sort newest first.
    fn sort_by_version(&mut self);
    /// The newest snapshot.
    fn latest(&self) -> Option<&Snapshot>;
    /// The newest snapshot after the latest that is `deployed` or
    /// `superseded` (and, unless `ignore_tests`, has no failed test).
    fn previous(&self, ignore_tests: bool) -> Option<&Snapshot>;
    /// Drop everything older than [`History::previous`]; without one, keep
    /// the newest [`DEFAULT_MAX_HISTORY`].
    fn truncate_history(&mut self, ignore_tests: bool);
    /// Keep the newest [`DEFAULT_MAX_HISTORY`].
    fn truncate_ignoring_previous(&mut self);
}

fn previous_index(h: &[Snapshot], ignore_tests: bool) -> Option<usize> {
    (1..h.len()).find(|&i| {
        let s = &h[i];
        (s.status == "deployed" || s.status == "superseded")
            && (ignore_tests || !s.has_test_in_phase("Failed"))
    })
}

impl History for Vec<Snapshot> {
    fn sort_by_version(&mut self) {
        self.sort_by_key(|s| std::cmp::Reverse(s.version));
    }

    fn latest(&self) -> Option<&Snapshot> {
        self.iter().max_by_key(|s| s.version)
    }

    fn previous(&self, ignore_tests: bool) -> Option<&Snapshot> {
        let mut sorted = self.clone();
        sorted.sort_by_version();
        let i = previous_index(&sorted, ignore_tests)?;
        let v = sorted[i].version;
        self.iter().find(|s| s.version == v)
    }

    fn truncate_history(&mut self, ignore_tests: bool) {
        if self.len() < 2 {
            return;
        }
        self.sort_by_version();
        if let Some(i) = previous_index(self, ignore_tests) {
            self.truncate(i + 1);
        } else {
            self.truncate(DEFAULT_MAX_HISTORY);
        }
    }

    fn truncate_ignoring_previous(&mut self) {
        self.sort_by_version();
        self.truncate(DEFAULT_MAX_HISTORY);
    }
}

/// `sha256:<hex>` of `values` as fluxcd/pkg's `chartutil.DigestValues`
/// hashes them: block YAML with every map's keys sorted, as Go's yaml.v2
/// writes it (the text Helm's `toYaml` gives, from
/// [`gitops_render::helm::values::to_yaml`]); empty or absent values hash
/// as nothing (`sha256:e3b0…`).
///
/// ```
/// use gitops_reconcile::helm::snapshot::values_digest;
///
/// let values = serde_json::json!({"replicas": 3, "image": {"tag": "latest", "repository": "nginx"}});
/// let d = values_digest(values.as_object());
/// assert!(d.starts_with("sha256:"));
/// assert_eq!(values_digest(None), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// ```
#[must_use]
pub fn values_digest(values: Option<&Map<String, Value>>) -> String {
    let mut h = Sha256::new();
    if let Some(v) = values.filter(|v| !v.is_empty()) {
        h.update(gitops_render::helm::values::to_yaml(v).as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The digest helm-controller records for `rls` in a snapshot: sha256 of
/// the JSON of its observation (test hooks left out), with `oci_digest`
/// (empty: none).
#[must_use]
pub fn observation_digest(rls: &Release, oci_digest: &str) -> String {
    let mut obs = Map::new();
    obs.insert("name".into(), rls.name.clone().into());
    obs.insert("version".into(), rls.version.into());
    obs.insert("info".into(), observed_info(rls));
    let meta = rls.chart_metadata().map(|m| &m.0);
    obs.insert("chartMetadata".into(), observed_metadata(meta));
    let config = match &rls.config {
        Some(c) if !c.is_empty() => sorted(&Value::Object(c.clone())),
        _ => Value::Null,
    };
    obs.insert("config".into(), config);
    obs.insert("manifest".into(), rls.manifest.clone().into());
    let hooks: Vec<Value> = rls
        .hooks
        .iter()
        .filter(|h| !h.runs_on("test"))
        .map(observed_hook)
        .collect();
    let hooks = if hooks.is_empty() {
        Value::Null
    } else {
        Value::Array(hooks)
    };
    obs.insert("hooks".into(), hooks);
    obs.insert("namespace".into(), rls.namespace.clone().into());
    if !oci_digest.is_empty() {
        obs.insert("ociDigest".into(), oci_digest.into());
    }
    let mut bytes = go_json(&Value::Object(obs));
    bytes.push(b'\n');
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

/// A Go `time.Time` field with `omitzero`: absent, empty or the zero time.
fn time_set(t: Option<&String>) -> Option<&String> {
    t.filter(|t| !t.is_empty() && t.as_str() != "0001-01-01T00:00:00Z")
}

fn observed_info(rls: &Release) -> Value {
    let mut m = Map::new();
    let Some(i) = &rls.info else {
        return Value::Object(m);
    };
    for (k, t) in [
        ("first_deployed", &i.first_deployed),
        ("last_deployed", &i.last_deployed),
        ("deleted", &i.deleted),
    ] {
        if let Some(t) = time_set(t.as_ref()) {
            m.insert(k.into(), t.clone().into());
        }
    }
    if !i.description.is_empty() {
        m.insert("description".into(), i.description.clone().into());
    }
    if let Some(s) = i.status.as_ref().filter(|s| !s.as_str().is_empty()) {
        m.insert("status".into(), s.as_str().into());
    }
    if i.rollback_revision != 0 {
        m.insert("rollback_revision".into(), i.rollback_revision.into());
    }
    if !i.notes.is_empty() {
        m.insert("notes".into(), i.notes.clone().into());
    }
    if let Some(r) = i.resources.as_ref().filter(|r| !is_empty_value(r)) {
        m.insert("resources".into(), sorted(r));
    }
    Value::Object(m)
}

/// Go's `omitempty`: false, 0, "", null, empty array or object.
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Re-order `src` as the Go struct with fields `keys` would marshal it;
/// `always` fields are written even when empty. Unknown fields are
/// dropped, as Go's decoder drops them.
fn go_struct(src: &Map<String, Value>, keys: &[&str], always: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for k in keys {
        match src.get(*k) {
            Some(v) if always.contains(k) || !is_empty_value(v) => {
                m.insert((*k).into(), v.clone());
            }
            None if always.contains(k) => {
                m.insert((*k).into(), Value::String(String::new()));
            }
            _ => {}
        }
    }
    m
}

fn observed_metadata(meta: Option<&Map<String, Value>>) -> Value {
    const KEYS: [&str; 17] = [
        "name",
        "home",
        "sources",
        "version",
        "description",
        "keywords",
        "maintainers",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "deprecated",
        "annotations",
        "kubeVersion",
        "dependencies",
        "type",
    ];
    let Some(meta) = meta else {
        return Value::Object(Map::new());
    };
    let mut m = go_struct(meta, &KEYS, &[]);
    if let Some(Value::Array(ms)) = m.get_mut("maintainers") {
        for x in ms.iter_mut() {
            if let Value::Object(o) = x {
                *x = Value::Object(go_struct(o, &["name", "email", "url"], &[]));
            }
        }
    }
    if let Some(Value::Array(ds)) = m.get_mut("dependencies") {
        for x in ds.iter_mut() {
            if let Value::Object(o) = x {
                let keys = [
                    "name",
                    "version",
                    "repository",
                    "condition",
                    "tags",
                    "enabled",
                    "import-values",
                    "alias",
                ];
                *x = Value::Object(go_struct(o, &keys, &["name", "repository"]));
            }
        }
    }
    if let Some(a) = m.get_mut("annotations") {
        *a = sorted(a);
    }
    Value::Object(m)
}

fn observed_hook(h: &Hook) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("name", &h.name),
        ("kind", &h.kind),
        ("path", &h.path),
        ("manifest", &h.manifest),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), v.clone().into());
        }
    }
    if !h.events.is_empty() {
        m.insert("events".into(), h.events.clone().into());
    }
    let mut run = Map::new();
    if let Some(t) = time_set(h.last_run.started_at.as_ref()) {
        run.insert("started_at".into(), t.clone().into());
    }
    if let Some(t) = time_set(h.last_run.completed_at.as_ref()) {
        run.insert("completed_at".into(), t.clone().into());
    }
    run.insert("phase".into(), h.last_run.phase.clone().into());
    m.insert("last_run".into(), Value::Object(run));
    if h.weight != 0 {
        m.insert("weight".into(), h.weight.into());
    }
    if !h.delete_policies.is_empty() {
        m.insert("delete_policies".into(), h.delete_policies.clone().into());
    }
    if !h.output_log_policies.is_empty() {
        m.insert(
            "output_log_policies".into(),
            h.output_log_policies.clone().into(),
        );
    }
    Value::Object(m)
}

/// `v` with every object's keys sorted, as Go marshals maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
