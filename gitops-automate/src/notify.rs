//! Flux notification events for the automation loop's outcomes, posted to a
//! notification-controller `generic` or `generic-hmac` webhook Provider
//! (feature `notify`).
//!
//! [`Event`] has the JSON shape of fluxcd/pkg `apis/event/v1beta1.Event`
//! (`involvedObject`, `severity`, `timestamp`, `message`, `reason`,
//! `metadata`, `reportingController`, `reportingInstance`). [`for_report`]
//! and [`for_error`] build the events image-automation-controller emits:
//!
//! | outcome | severity | reason | message |
//! |---|---|---|---|
//! | pushed | `info` | `Succeeded` | `pushed commit '<short>' to branch '<branch>'` + the commit message |
//! | failed | `error` | the error's Flux reason ([`crate::Error::reason`]) | the error chain |
//! | up to date, dry run | none (Flux records a `trace` event, which is never posted) | | |
//!
//! The pushed event carries `metadata.revision = <branch>@sha1:<commit>`.
//! [`Webhook::post`] sends the JSON body with `Content-Type:
//! application/json`; with an HMAC key (`generic-hmac`) it adds
//! `X-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use gitops_automate::notify::{Event, InvolvedObject, sign};
//!
//! let event = Event::new(
//!     InvolvedObject::automation("flux-system", "apps"),
//!     "info", "Succeeded", "pushed commit 'abc1234' to branch 'main'",
//!     UNIX_EPOCH + Duration::from_secs(1_700_000_000),
//! );
//! let body = event.to_json();
//! assert!(body.starts_with(r#"{"involvedObject":{"kind":"ImageUpdateAutomation","namespace":"flux-system","name":"apps","apiVersion":"image.toolkit.fluxcd.io/v1beta2"},"severity":"info","timestamp":"2023-11-14T22:13:20Z""#));
//! assert_eq!(sign(b"key", b"body").len(), "sha256=".len() + 64);
//! ```
//!
//! # Deviation
//! - `reportingInstance` is the host name when the caller gives one (Flux:
//!   the pod's host name), else omitted.
//! - Events are posted once, with a bounded timeout; Flux's retrying HTTP
//!   client retries on 5xx and treats 429 as a duplicate. Here a 429 is
//!   success too, any other non-2xx an error.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use gitops_core::url::redact;

use crate::{Outcome, Report};

/// `reportingController` of automation events.
pub const CONTROLLER: &str = "image-automation-controller";

/// The object an event is about (Kubernetes `ObjectReference` fields Flux fills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvolvedObject {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// API version.
    pub api_version: String,
}

impl InvolvedObject {
    /// An `ImageUpdateAutomation`.
    pub fn automation(namespace: &str, name: &str) -> InvolvedObject {
        InvolvedObject {
            kind: "ImageUpdateAutomation".to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            api_version: "image.toolkit.fluxcd.io/v1beta2".to_owned(),
        }
    }

    /// From a report's `namespace/name`.
    fn from_name(ns_name: &str) -> InvolvedObject {
        let (ns, name) = ns_name.split_once('/').unwrap_or(("", ns_name));
        InvolvedObject::automation(ns, name)
    }
}

/// A Flux event (`event.toolkit.fluxcd.io` `Event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The object the event is about.
    pub involved_object: InvolvedObject,
    /// `trace`, `info` or `error`.
    pub severity: String,
    /// RFC 3339 time in UTC, seconds precision.
    pub timestamp: String,
    /// Human-readable description.
    pub message: String,
    /// Machine-readable reason.
    pub reason: String,
    /// Extra data, e.g. `revision`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller name.
    pub reporting_controller: String,
    /// The controller instance.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

/// Flux caps event messages at 39,000 characters.
pub const MAX_MESSAGE: usize = 39_000;

impl Event {
    /// An event from `image-automation-controller` at `now`.
    pub fn new(
        involved_object: InvolvedObject,
        severity: &str,
        reason: &str,
        message: &str,
        now: SystemTime,
    ) -> Event {
        let mut message = message.to_owned();
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        Event {
            involved_object,
            severity: severity.to_owned(),
            timestamp: gitops_core::time::format_system_time(now),
            message,
            reason: reason.to_owned(),
            metadata: BTreeMap::new(),
            reporting_controller: CONTROLLER.to_owned(),
            reporting_instance: String::new(),
        }
    }

    /// The JSON body, as Go's `encoding/json` lays it out (field order of
    /// the Go struct, no spaces).
    pub fn to_json(&self) -> String {
        // A struct of strings and a string map always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The event a finished run sends: `Some` only when a commit was pushed.
pub fn for_report(report: &Report, now: SystemTime) -> Option<Event> {
    let Outcome::Pushed { commit, branch, .. } = &report.outcome else {
        return None;
    };
    let short = commit.get(..7).unwrap_or(commit);
    let mut message = format!("pushed commit '{short}' to branch '{branch}'");
    if let Some(m) = report.message.as_deref().filter(|m| !m.is_empty()) {
        message.push('\n');
        message.push_str(m);
    }
    let mut e = Event::new(
        InvolvedObject::from_name(&report.automation),
        "info",
        "Succeeded",
        &message,
        now,
    );
    e.metadata
        .insert("revision".to_owned(), format!("{branch}@sha1:{commit}"));
    Some(e)
}

/// The event a failed run sends, about `automation` (`namespace/name`; the
/// URL's credentials are already removed from every [`crate::Error`]).
pub fn for_error(automation: &str, err: &crate::Error, now: SystemTime) -> Event {
    let mut text = err.to_string();
    let mut cur = std::error::Error::source(err);
    while let Some(c) = cur {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cur = c.source();
    }
    Event::new(
        InvolvedObject::from_name(automation),
        "error",
        err.reason(),
        &text,
        now,
    )
}

/// `sha256=<hex>` of HMAC-SHA256(`key`, `body`): notification-controller's
/// `X-Signature` header of `generic-hmac` providers.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&k, body).as_ref())
    )
}

/// Why an event could not be delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not an `http://` or `https://` URL.
    #[error("invalid webhook address {address:?}: expected http:// or https://")]
    Address {
        /// The address, without user info.
        address: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Setup(#[source] reqwest::Error),
    /// The request failed (connection, timeout).
    #[error("cannot post the event to {address}")]
    Http {
        /// The address, without user info.
        address: String,
        /// The cause (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// The receiver answered with an error status.
    #[error("{address} answered {status} to the event")]
    Status {
        /// The address, without user info.
        address: String,
        /// The HTTP status.
        status: u16,
    },
}

/// A `generic` (no key) or `generic-hmac` (with key) webhook.
#[derive(Clone)]
pub struct Webhook {
    address: String,
    hmac_key: Option<Vec<u8>>,
    timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("address", &redact(&self.address))
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Webhook {
    /// A `generic` provider posting to `address` (15 s timeout, as Flux's default).
    pub fn generic(address: &str) -> Webhook {
        Webhook {
            address: address.to_owned(),
            hmac_key: None,
            timeout: Duration::from_secs(15),
        }
    }

    /// A `generic-hmac` provider signing with `key`.
    pub fn generic_hmac(address: &str, key: &[u8]) -> Webhook {
        Webhook {
            hmac_key: Some(key.to_vec()),
            ..Webhook::generic(address)
        }
    }

    /// Set the request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Webhook {
        self.timeout = timeout;
        self
    }

    /// POST `event` as JSON (signed with `generic-hmac`).
    ///
    /// # Errors
    /// [`Error`]; messages never contain the address's user info.
    pub fn post(&self, event: &Event) -> Result<(), Error> {
        let shown = redact(&self.address);
        if !(self.address.starts_with("http://") || self.address.starts_with("https://")) {
            return Err(Error::Address { address: shown });
        }
        if self.address.starts_with("https://") {
            // reqwest is built without a default TLS provider.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let body = event.to_json().into_bytes();
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::Setup(e.without_url()))?;
        let mut req = client
            .post(&self.address)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.hmac_key {
            req = req.header("X-Signature", sign(key, &body));
        }
        let resp = req.body(body).send().map_err(|e| Error::Http {
            address: shown.clone(),
            source: e.without_url(),
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() || status == 429 {
            Ok(())
        } else {
            Err(Error::Status {
                address: shown,
                status,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn long_messages_are_capped() {
        let e = Event::new(
            InvolvedObject::automation("a", "b"),
            "info",
            "Succeeded",
            &"é".repeat(30_000),
            SystemTime::UNIX_EPOCH,
        );
        assert!(e.message.len() <= MAX_MESSAGE);
        assert!(
            e.to_json()
                .contains("\"reportingController\":\"image-automation-controller\"")
        );
    }
}
