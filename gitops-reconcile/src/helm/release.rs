//! Helm's release records: the JSON object Helm v4 stores for every release
//! revision, its `base64(gzip(json))` encoding and the Kubernetes Secret
//! that holds it.
//!
//! A record is stored as a Secret named `sh.helm.release.v1.<name>.v<N>` of
//! type `helm.sh/release.v1`. Its one data key, `release`, holds the
//! standard-alphabet base64 text of the gzip (best compression) of the
//! release's JSON. The Secret's `.data` values are base64 again, as every
//! Secret's are: `to_secret`/`from_secret` take care of both layers.
//!
//! [`Release`] types the fields a reconciler reads (name, namespace,
//! version, `info`, chart metadata, config, manifest, hooks) and keeps
//! everything else as [`serde_json::Value`], in order, so that decoding a
//! record and encoding it again writes what Helm's own JSON encoder would:
//! field order, omitted empty fields and Go's escaping of `<`, `>` and `&`
//! included ([`to_json`]).
//!
//! ```
//! use gitops_reconcile::helm::release::{self, Release, Status};
//!
//! let rls: Release = serde_json::from_value(serde_json::json!({
//!     "name": "podinfo",
//!     "info": {"status": "deployed", "description": "Install complete"},
//!     "chart": {"metadata": {"name": "podinfo", "version": "6.5.0"}},
//!     "manifest": "---\n",
//!     "version": 1,
//!     "namespace": "apps",
//! }))?;
//! let data = release::encode(&rls);
//! let back = release::decode(&data)?;
//! assert_eq!(back, rls);
//! assert_eq!(back.status(), Status::Deployed);
//! assert_eq!(release::secret_name(&back.name, back.version), "sh.helm.release.v1.podinfo.v1");
//!
//! let secret = release::to_secret(&back, release::Stamp::Created(1_700_000_000));
//! assert_eq!(secret["type"], "helm.sh/release.v1");
//! assert_eq!(secret["metadata"]["labels"]["owner"], "helm");
//! assert_eq!(release::from_secret(&secret)?, rls);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//!
//! - Times (`first_deployed`, `last_deployed`, `deleted`, hook run times)
//!   are kept as the text found in the record, not parsed: an empty string
//!   (written by Helm 3 for "never") stays an empty string on re-encoding,
//!   where Helm v4 would drop the field. Both forms decode in Helm v4.
//! - Config numbers are written as they were read: an integer stays an
//!   integer. Helm reads config numbers as `float64`, so integers beyond
//!   2^53 lose precision there and not here.
//! - The gzip stream is compressed by flate2, so its bytes differ from Go's
//!   `compress/gzip` for the same JSON; both decompress to the same bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The Secret type Helm v4 writes (`helm.sh/release.v1`).
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The prefix of record names: `sh.helm.release.v1.<name>.v<N>`.
pub const SECRET_NAME_PREFIX: &str = "sh.helm.release.v1";
/// The labels Helm sets itself and strips from a record's own labels.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];
/// The largest decompressed record [`decode`] accepts (64 MiB).
pub const MAX_DECODED_LEN: usize = 64 << 20;

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// A release's status (`info.status`), as Helm v4 spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum Status {
    /// `unknown`, and the status of a record without one.
    Unknown,
    /// `deployed`.
    Deployed,
    /// `uninstalled`.
    Uninstalled,
    /// `superseded`.
    Superseded,
    /// `failed`.
    Failed,
    /// `uninstalling`.
    Uninstalling,
    /// `pending-install`.
    PendingInstall,
    /// `pending-upgrade`.
    PendingUpgrade,
    /// `pending-rollback`.
    PendingRollback,
    /// Any other text, kept as read.
    Other(String),
}

impl Status {
    /// The spelling in records and labels.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Other(s) => s,
        }
    }

    /// Whether an operation is under way (`pending-install`,
    /// `pending-upgrade`, `pending-rollback`): the release is locked.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl From<String> for Status {
    fn from(s: String) -> Status {
        match s.as_str() {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            _ => Status::Other(s),
        }
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Status {
        Status::from(s.to_owned())
    }
}

impl From<Status> for String {
    fn from(s: Status) -> String {
        s.as_str().to_owned()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn map_is_empty(m: &Option<Map<String, Value>>) -> bool {
    m.as_ref().is_none_or(Map::is_empty)
}

fn empty_map_is_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    let m: Option<Map<String, Value>> = Option::deserialize(d)?;
    Ok(m.filter(|m| !m.is_empty()))
}

/// One release revision, as Helm stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Release {
    /// The release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Status, times, description and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Info>,
    /// The chart that was released (metadata, templates, default values,
    /// files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// The user-supplied values (`helm install -f/--set`).
    /// An empty map reads as `None`: Helm omits an empty config when it
    /// writes, so both spellings are the same record.
    #[serde(
        default,
        skip_serializing_if = "map_is_empty",
        deserialize_with = "empty_map_is_none"
    )]
    pub config: Option<Map<String, Value>>,
    /// The rendered templates, as one YAML stream.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The hooks of the release and their last runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// The revision, from 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i64,
    /// The namespace of the release.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `ssa` or `csa` (empty: client-side apply).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
    /// Fields this type does not model, in order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The record's own labels (not part of the JSON: Helm keeps them on the
    /// Secret, beside its system labels).
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

impl Release {
    /// `info.status`, [`Status::Unknown`] when absent.
    #[must_use]
    pub fn status(&self) -> Status {
        self.info
            .as_ref()
            .and_then(|i| i.status.clone())
            .unwrap_or(Status::Unknown)
    }

    /// The chart's metadata, if the record has one.
    #[must_use]
    pub fn chart_metadata(&self) -> Option<&ChartMetadata> {
        self.chart.as_ref().and_then(|c| c.metadata.as_ref())
    }
}

/// `info` of a release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Info {
    /// When the release was first deployed (RFC 3339, as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_deployed: Option<String>,
    /// When this revision was deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployed: Option<String>,
    /// When the release was uninstalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// A one-line log entry (`Install complete`, `Upgrade "x" failed: …`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The revision a rollback went back to (0: not a rollback).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rollback_revision: i64,
    /// The rendered `NOTES.txt`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Deployed resources, when Helm recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Fields this type does not model, in order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `chart` of a release: its metadata typed, the rest (`lock`,
/// `templates`, `values`, `schema`, `files`, times) kept as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Chart {
    /// `Chart.yaml` as JSON.
    #[serde(default)]
    pub metadata: Option<ChartMetadata>,
    /// The other fields, in order.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A chart's metadata (`Chart.yaml`), kept whole and in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChartMetadata(pub Map<String, Value>);

impl ChartMetadata {
    fn text(&self, key: &str) -> &str {
        self.0.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// `name`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.text("name")
    }

    /// `version`.
    #[must_use]
    pub fn version(&self) -> &str {
        self.text("version")
    }

    /// `appVersion`.
    #[must_use]
    pub fn app_version(&self) -> &str {
        self.text("appVersion")
    }
}

/// A hook of a release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hook {
    /// The hook object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The hook object's kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The template it came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The rendered object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// When it runs (`pre-install`, `test`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Its last run.
    #[serde(default)]
    pub last_run: HookExecution,
    /// Ordering weight.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    /// When Helm deletes the object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// When Helm prints the hook's logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_log_policies: Vec<String>,
    /// Fields this type does not model, in order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Hook {
    /// Whether the hook runs on `event` (e.g. `test`).
    #[must_use]
    pub fn runs_on(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// The last run of a hook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HookExecution {
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// `Unknown`, `Running`, `Succeeded` or `Failed` (empty: never ran).
    #[serde(default)]
    pub phase: String,
    /// Fields this type does not model, in order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The data is not standard-alphabet, padded base64.
    #[error("release data is not base64")]
    Base64(#[source] base64::DecodeError),
    /// The gzip stream is corrupt or truncated.
    #[error("release data is not a valid gzip stream")]
    Gzip(#[source] io::Error),
    /// The decompressed record is larger than the limit.
    #[error("decompressed release is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The record is not a release JSON object.
    #[error("release data is not a release JSON object")]
    Json(#[source] serde_json::Error),
}

/// Why a Secret does not hold a release record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// `.data.release` is missing or not a string.
    #[error("secret {name:?} has no string data key \"release\"")]
    MissingData {
        /// The Secret's name.
        name: String,
    },
    /// `.data.release` is not base64 (the Secret layer).
    #[error("secret {name:?}: data key \"release\" is not base64")]
    Base64 {
        /// The Secret's name.
        name: String,
        /// The cause.
        #[source]
        source: base64::DecodeError,
    },
    /// The record inside does not decode.
    #[error("secret {name:?}: cannot decode the release")]
    Decode {
        /// The Secret's name.
        name: String,
        /// The cause.
        #[source]
        source: DecodeError,
    },
}

/// The release's JSON exactly as Helm's Go encoder writes it (struct field
/// order, empty fields omitted, `<`, `>`, `&`, U+2028 and U+2029 escaped as
/// `\u003c` …, floats in Go's notation). No trailing newline.
#[must_use]
pub fn to_json(rls: &Release) -> Vec<u8> {
    go_json(rls)
}

/// Encode `rls` as Helm's storage driver does: base64 of the gzip (best
/// compression) of [`to_json`].
#[must_use]
pub fn encode(rls: &Release) -> String {
    let json = to_json(rls);
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 64), Compression::best());
    gz.write_all(&json)
        .expect("writing into a Vec does not fail");
    let bytes = gz.finish().expect("writing into a Vec does not fail");
    STANDARD.encode(bytes)
}

/// Decode a record written by [`encode`] or by Helm (also records without
/// the gzip layer, which old Helm versions wrote), refusing records that
/// decompress to more than [`MAX_DECODED_LEN`] bytes.
///
/// # Errors
/// [`DecodeError`] naming the layer that is wrong.
pub fn decode(data: &str) -> Result<Release, DecodeError> {
    decode_with_limit(data, MAX_DECODED_LEN)
}

/// [`decode`] with a limit on the decompressed size.
///
/// # Errors
/// [`DecodeError`] naming the layer that is wrong.
pub fn decode_with_limit(data: &str, limit: usize) -> Result<Release, DecodeError> {
    let bytes = STANDARD.decode(data).map_err(DecodeError::Base64)?;
    let json = if bytes.len() > 3 && bytes[..3] == GZIP_MAGIC {
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        GzDecoder::new(bytes.as_slice())
            .take(cap)
            .read_to_end(&mut out)
            .map_err(DecodeError::Gzip)?;
        if out.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        out
    } else {
        if bytes.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        bytes
    };
    serde_json::from_slice(&json).map_err(DecodeError::Json)
}

/// `sh.helm.release.v1.<name>.v<version>`, the record's Secret name.
#[must_use]
pub fn secret_name(name: &str, version: i64) -> String {
    format!("{SECRET_NAME_PREFIX}.{name}.v{version}")
}

/// The time label Helm adds when it writes a record (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stamp {
    /// `createdAt`, as Helm's `Create` sets it.
    Created(i64),
    /// `modifiedAt`, as Helm's `Update` sets it.
    Modified(i64),
    /// Neither.
    None,
}

/// The Secret Helm v4's secrets driver writes for `rls`: name, type,
/// labels (the record's own labels, the time stamp, then `name`, `owner:
/// helm`, `status` and `version`) and `data.release`. The namespace is left
/// to the caller (Helm's storage namespace).
#[must_use]
pub fn to_secret(rls: &Release, stamp: Stamp) -> Value {
    let mut labels = Map::new();
    for (k, v) in &rls.labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    match stamp {
        Stamp::Created(t) => {
            labels.insert("createdAt".into(), Value::String(t.to_string()));
        }
        Stamp::Modified(t) => {
            labels.insert("modifiedAt".into(), Value::String(t.to_string()));
        }
        Stamp::None => {}
    }
    labels.insert("name".into(), Value::String(rls.name.clone()));
    labels.insert("owner".into(), Value::String("helm".into()));
    labels.insert("status".into(), Value::String(rls.status().to_string()));
    labels.insert("version".into(), Value::String(rls.version.to_string()));
    let data = STANDARD.encode(encode(rls));
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(&rls.name, rls.version),
            "labels": labels,
        },
        "type": SECRET_TYPE,
        "data": {"release": data},
    })
}

/// The release held by a Kubernetes Secret (as JSON, `.data` base64 as the
/// API returns it), with the Secret's labels minus Helm's system labels as
/// [`Release::labels`].
///
/// # Errors
/// [`SecretError`] when `.data.release` is missing or does not decode.
pub fn from_secret(secret: &Value) -> Result<Release, SecretError> {
    let name = secret["metadata"]["name"].as_str().unwrap_or("").to_owned();
    let Some(data) = secret["data"]["release"].as_str() else {
        return Err(SecretError::MissingData { name });
    };
    let inner = STANDARD
        .decode(data)
        .map_err(|source| SecretError::Base64 {
            name: name.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&inner);
    let mut rls = decode(&text).map_err(|source| SecretError::Decode {
        name: name.clone(),
        source,
    })?;
    if let Some(labels) = secret["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if let (false, Some(v)) = (SYSTEM_LABELS.contains(&k.as_str()), v.as_str()) {
                rls.labels.insert(k.clone(), v.to_owned());
            }
        }
    }
    Ok(rls)
}

/// Serialize `value` as Go's `encoding/json` does for the same data
/// (HTML-safe escaping, Go float notation), without a trailing newline.
pub(crate) fn go_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value
        .serialize(&mut ser)
        .expect("release types serialize to JSON");
    out
}

/// serde_json formatter that writes what Go's `encoding/json` writes.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }
}

/// Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)` choice as
/// `encoding/json` makes it: exponent form below 1e-6 and from 1e21.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` / `1e-7`; Go writes `1e+21` / `1e-07`.
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').expect("exponent form has an e");
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let digits = if digits.len() < 2 {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        format!("{mant}e{sign}{digits}")
    } else {
        // Shortest round-trip digits without exponent; `3` not `3.0`.
        let s = format!("{f}");
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_floats() {
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e-7), "1e-07");
        assert_eq!(go_float(0.000_001), "0.000001");
        assert_eq!(go_float(-2.5e-10), "-2.5e-10");
    }

    #[test]
    fn go_escaping() {
        let v = serde_json::json!({"a": "<x> & \u{2028}\n\"q\""});
        assert_eq!(
            String::from_utf8(go_json(&v)).unwrap(),
            r#"{"a":"\u003cx\u003e \u0026 \u2028\n\"q\""}"#
        );
    }

    #[test]
    fn uncompressed_records_decode() {
        let data = STANDARD.encode(br#"{"name":"x","version":2}"#);
        let r = decode(&data).unwrap();
        assert_eq!((r.name.as_str(), r.version), ("x", 2));
    }

    #[test]
    fn gzip_bomb_is_refused() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(b"{\"name\":\"").unwrap();
        let zeros = vec![b'a'; 1 << 20];
        for _ in 0..3 {
            gz.write_all(&zeros).unwrap();
        }
        let data = STANDARD.encode(gz.finish().unwrap());
        let err = decode_with_limit(&data, 2 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit } if limit == 2 << 20));
    }
}
