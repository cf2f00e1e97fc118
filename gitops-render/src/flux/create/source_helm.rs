//! `flux create source helm`: [`HelmSource`] flags and the `HelmRepository` builder.

use super::{
    Error, GoDuration, Meta, SOURCE_V1, assemble, duration, name_ref, nonempty, put_opt, s,
    validate,
};
use crate::value::{Map, Value};

/// Flags of `flux create source helm`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelmSource {
    /// `--url` (`http`, `https` or `oci`).
    pub url: String,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--pass-credentials` (kept only with `--secret-ref`).
    pub pass_credentials: bool,
    /// `--oci-provider` (kept only for `oci://` URLs).
    pub oci_provider: Option<String>,
    /// `--fetch-timeout`.
    pub fetch_timeout: Option<GoDuration>,
}

/// A `HelmRepository` (`flux create source helm NAME …`).
pub fn helm_repository(meta: &Meta, o: &HelmSource) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    if o.url.is_empty() {
        return Err(Error::Flags {
            flag: "url",
            message: "url is required",
        });
    }
    let labels = validate::labels(&meta.labels)?;
    if let Some(e) = validate::url_parse_error(&o.url) {
        return Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!("url parse failed: {e}"),
        });
    }
    let u = validate::url_parts(&o.url);
    if !matches!(u.scheme.as_str(), "http" | "https" | "oci") {
        return Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!(
                "url scheme '{}' not supported, can be: http, https and oci",
                u.scheme
            ),
        });
    }
    if u.host.is_empty() {
        return Err(Error::Flags {
            flag: "url",
            message: "url host is required",
        });
    }
    let mut spec = Map::new();
    spec.insert("url", s(&o.url));
    if let Some(secret) = nonempty(&o.secret_ref) {
        spec.insert("secretRef", name_ref(secret));
        if o.pass_credentials {
            spec.insert("passCredentials", Value::Bool(true));
        }
    }
    spec.insert("interval", duration(meta.interval));
    if let Some(t) = o.fetch_timeout.filter(|t| t.0 > 0) {
        spec.insert("timeout", duration(t));
    }
    if u.scheme == "oci" {
        spec.insert("type", s("oci"));
        put_opt(&mut spec, "provider", o.oci_provider.as_deref());
    }
    Ok(assemble(SOURCE_V1, "HelmRepository", meta, &labels, spec))
}
