//! `flux create source oci`: [`OciSource`] flags and the `OCIRepository` builder.

use super::{
    Error, GoDuration, Meta, SOURCE_V1, assemble, check_choice, duration, map, nonempty, put_opt,
    put_ref, s, validate,
};
use crate::value::{Map, Value};

/// Flags of `flux create source oci`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OciSource {
    /// `--url`.
    pub url: String,
    /// `--tag`.
    pub tag: Option<String>,
    /// `--tag-semver`.
    pub semver: Option<String>,
    /// `--digest`.
    pub digest: Option<String>,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--proxy-secret-ref`.
    pub proxy_secret_ref: Option<String>,
    /// `--service-account`.
    pub service_account: Option<String>,
    /// `--cert-ref`.
    pub cert_ref: Option<String>,
    /// `--verify-provider` (`cosign`).
    pub verify_provider: Option<String>,
    /// `--verify-secret-ref`.
    pub verify_secret_ref: Option<String>,
    /// `--verify-subject`.
    pub verify_subject: Option<String>,
    /// `--verify-issuer`.
    pub verify_issuer: Option<String>,
    /// `--ignore-paths`.
    pub ignore_paths: Vec<String>,
    /// `--provider` (`generic` when not given; `aws`, `azure`, `gcp`).
    pub provider: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
    /// `--layer-selector` (`<media-type>:<extract|copy>`).
    pub layer_selector: Option<String>,
    /// `--fetch-timeout`.
    pub fetch_timeout: Option<GoDuration>,
}

/// An `OCIRepository` (`flux create source oci NAME …`).
pub fn oci_repository(meta: &Meta, o: &OciSource) -> Result<Value, Error> {
    check_choice(
        "provider",
        &o.provider,
        &["generic", "aws", "azure", "gcp"],
        "no source OCI provider given, please specify the OCI provider name".into(),
        |v| {
            format!(
                "source OCI provider '{v}' is not supported, must be one of: generic, aws, azure, gcp"
            )
        },
    )?;
    check_choice(
        "verify-provider",
        &o.verify_provider,
        &["cosign"],
        "no source OCI verify provider given, please specify the verification provider name".into(),
        |v| format!("source OCI verify provider '{v}' is not supported, must be one of: cosign"),
    )?;
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
    let (tag, semver, digest) = (nonempty(&o.tag), nonempty(&o.semver), nonempty(&o.digest));
    if semver.is_none() && tag.is_none() && digest.is_none() {
        return Err(Error::Flags {
            flag: "tag",
            message: "--tag, --tag-semver or --digest is required",
        });
    }
    let layer = match nonempty(&o.layer_selector) {
        None => None,
        Some(sel) => {
            let bad = |why: &str| Error::Invalid {
                flag: "layer-selector",
                value: sel.to_owned(),
                reason: format!("invalid --layer-selector {sel:?}: {why}"),
            };
            let (media, op) = sel.split_once(':').unwrap_or((sel, ""));
            if !sel.contains(':') || media.is_empty() || op.is_empty() {
                return Err(bad("must be in the format '<media-type>:<operation>'"));
            }
            if op != "extract" && op != "copy" {
                return Err(bad("operation must be \"extract\" or \"copy\""));
            }
            Some(map(vec![("mediaType", s(media)), ("operation", s(op))]))
        }
    };
    let labels = validate::labels(&meta.labels)?;

    let mut reference = Map::new();
    put_opt(&mut reference, "digest", digest);
    put_opt(&mut reference, "semver", semver);
    put_opt(&mut reference, "tag", tag);

    let mut spec = Map::new();
    spec.insert("url", s(&o.url));
    spec.insert("ref", Value::Map(reference));
    if let Some(l) = layer {
        spec.insert("layerSelector", l);
    }
    spec.insert("provider", s(o.provider.as_deref().unwrap_or("generic")));
    put_ref(&mut spec, "secretRef", o.secret_ref.as_deref());
    match nonempty(&o.verify_provider) {
        Some(p) => {
            let mut v = Map::new();
            v.insert("provider", s(p));
            put_ref(&mut v, "secretRef", o.verify_secret_ref.as_deref());
            let issuer = nonempty(&o.verify_issuer).unwrap_or("");
            let subject = nonempty(&o.verify_subject).unwrap_or("");
            if !issuer.is_empty() || !subject.is_empty() {
                v.insert(
                    "matchOIDCIdentity",
                    Value::Seq(
                        (vec![map(vec![("issuer", s(issuer)), ("subject", s(subject))])]).into(),
                    ),
                );
            }
            spec.insert("verify", Value::Map(v));
        }
        None if nonempty(&o.verify_secret_ref).is_some() => {
            return Err(Error::Flags {
                flag: "verify-secret-ref",
                message: "a verification provider must be specified when a secret is specified",
            });
        }
        None if nonempty(&o.verify_issuer).is_some() || nonempty(&o.verify_subject).is_some() => {
            return Err(Error::Flags {
                flag: "verify-issuer",
                message: "a verification provider must be specified when OIDC issuer/subject is specified",
            });
        }
        None => {}
    }
    put_opt(
        &mut spec,
        "serviceAccountName",
        o.service_account.as_deref(),
    );
    put_ref(&mut spec, "certSecretRef", o.cert_ref.as_deref());
    put_ref(&mut spec, "proxySecretRef", o.proxy_secret_ref.as_deref());
    spec.insert("interval", duration(meta.interval));
    if let Some(t) = o.fetch_timeout.filter(|t| t.0 > 0) {
        spec.insert("timeout", duration(t));
    }
    if !o.ignore_paths.is_empty() {
        spec.insert("ignore", s(&o.ignore_paths.join("\n")));
    }
    if o.insecure {
        spec.insert("insecure", Value::Bool(true));
    }
    Ok(assemble(SOURCE_V1, "OCIRepository", meta, &labels, spec))
}
