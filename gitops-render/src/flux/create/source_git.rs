//! `flux create source git`: [`GitSource`] flags and the `GitRepository` builder.

use super::{
    Error, GoDuration, Meta, SOURCE_V1, assemble, check_choice, duration, nonempty, put_opt,
    put_ref, s, validate,
};
use crate::value::{Map, Value};

/// Flags of `flux create source git`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitSource {
    /// `--url`.
    pub url: String,
    /// `--branch`.
    pub branch: Option<String>,
    /// `--tag`.
    pub tag: Option<String>,
    /// `--tag-semver`.
    pub semver: Option<String>,
    /// `--ref-name`.
    pub ref_name: Option<String>,
    /// `--commit`.
    pub commit: Option<String>,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--proxy-secret-ref`.
    pub proxy_secret_ref: Option<String>,
    /// `--provider` (`generic`, `github`, `aws`, `azure`).
    pub provider: Option<String>,
    /// `--ca-file` (only checked: refused for SSH URLs).
    pub ca_file: Option<String>,
    /// `--recurse-submodules`.
    pub recurse_submodules: bool,
    /// `--ignore-paths`.
    pub ignore_paths: Vec<String>,
    /// `--sparse-checkout-paths`.
    pub sparse_checkout_paths: Vec<String>,
    /// `--fetch-timeout`.
    pub fetch_timeout: Option<GoDuration>,
}

/// A `GitRepository` (`flux create source git NAME …`).
pub fn git_repository(meta: &Meta, o: &GitSource) -> Result<Value, Error> {
    check_choice(
        "provider",
        &o.provider,
        &["generic", "github", "aws", "azure"],
        "no source Git provider given, please specify the Git provider name".into(),
        |v| {
            format!(
                "source Git provider '{v}' is not supported, must be one of: generic|github|aws|azure"
            )
        },
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
    if let Some(e) = validate::url_parse_error(&o.url) {
        return Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!("git URL parse failed: {e}"),
        });
    }
    let u = validate::url_parts(&o.url);
    if !matches!(u.scheme.as_str(), "ssh" | "http" | "https") {
        return Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!(
                "git URL scheme '{}' not supported, can be: ssh, http and https",
                u.scheme
            ),
        });
    }
    let (branch, tag, semver, ref_name, commit) = (
        nonempty(&o.branch),
        nonempty(&o.tag),
        nonempty(&o.semver),
        nonempty(&o.ref_name),
        nonempty(&o.commit),
    );
    if branch.is_none()
        && tag.is_none()
        && semver.is_none()
        && commit.is_none()
        && ref_name.is_none()
    {
        return Err(Error::Flags {
            flag: "branch",
            message: "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver",
        });
    }
    if nonempty(&o.ca_file).is_some() && u.scheme == "ssh" {
        return Err(Error::Flags {
            flag: "ca-file",
            message: "specifying a CA file is not supported for Git over SSH",
        });
    }
    let labels = validate::labels(&meta.labels)?;

    let mut reference = Map::new();
    if let Some(c) = commit {
        put_opt(&mut reference, "commit", Some(c));
        put_opt(&mut reference, "branch", branch);
    } else if let Some(n) = ref_name {
        put_opt(&mut reference, "name", Some(n));
    } else if let Some(v) = semver {
        put_opt(&mut reference, "semver", Some(v));
    } else if let Some(t) = tag {
        put_opt(&mut reference, "tag", Some(t));
    } else {
        put_opt(&mut reference, "branch", branch);
    }

    let mut spec = Map::new();
    spec.insert("url", s(&o.url));
    put_ref(&mut spec, "secretRef", o.secret_ref.as_deref());
    put_opt(&mut spec, "provider", o.provider.as_deref());
    spec.insert("interval", duration(meta.interval));
    if let Some(t) = o.fetch_timeout.filter(|t| t.0 > 0) {
        spec.insert("timeout", duration(t));
    }
    spec.insert("ref", Value::Map(reference));
    put_ref(&mut spec, "proxySecretRef", o.proxy_secret_ref.as_deref());
    if !o.ignore_paths.is_empty() {
        spec.insert("ignore", s(&o.ignore_paths.join("\n")));
    }
    if o.recurse_submodules {
        spec.insert("recurseSubmodules", Value::Bool(true));
    }
    if !o.sparse_checkout_paths.is_empty() {
        spec.insert(
            "sparseCheckout",
            Value::Seq(o.sparse_checkout_paths.iter().map(|p| s(p)).collect()),
        );
    }
    Ok(assemble(SOURCE_V1, "GitRepository", meta, &labels, spec))
}
