//! Flux objects as `flux create … --export` writes them.
//!
//! Each builder takes the flags of one `flux create` command (Flux v2 CLI,
//! `cmd/flux/create_*.go`), applies the same checks in the same order with
//! the same messages, and returns the object. [`export`] prints it the way
//! the CLI does: `---`, then the object marshalled by `sigs.k8s.io/yaml`
//! (JSON field names with `omitempty`, keys sorted, Go yaml.v2 scalar
//! styles), without `creationTimestamp: null` and `status: {}`.
//!
//! API versions are those of the Flux CLI this follows (flux2 with
//! source-controller API v1.9, kustomize-controller v1, helm-controller v2,
//! image-reflector and image-automation v1):
//! `source.toolkit.fluxcd.io/v1` (GitRepository, HelmRepository,
//! OCIRepository), `kustomize.toolkit.fluxcd.io/v1`,
//! `helm.toolkit.fluxcd.io/v2`, `image.toolkit.fluxcd.io/v1`.
//!
//! ```
//! use gitops_render::flux::create::{self, GitSource, Meta};
//!
//! let meta = Meta::new("podinfo", "flux-system");
//! let git = GitSource {
//!     url: "https://github.com/stefanprodan/podinfo".into(),
//!     branch: Some("master".into()),
//!     ..GitSource::default()
//! };
//! let obj = create::git_repository(&meta, &git)?;
//! assert_eq!(
//!     create::export(&obj),
//!     "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  \
//!      name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    \
//!      branch: master\n  url: https://github.com/stefanprodan/podinfo\n"
//! );
//! # Ok::<(), create::Error>(())
//! ```
//!
//! # Deviations
//! - Only the `--export` path exists: nothing talks to a cluster, so flags
//!   that only matter when applying (`--username`, `--password`,
//!   `--ca-file` contents, SSH key options, `--silent`) are not read here.
//! - `--path` of `create kustomization` is cleaned lexically (Flux's
//!   `securejoin` also resolves symlinks on the local disk).
//! - `--values` files are read with YAML 1.1 typing like `sigs.k8s.io/yaml`;
//!   numbers keep their integer/float kind (Go goes through `float64`).

pub mod bootstrap;
mod duration;
pub mod secret;
mod validate;

pub use duration::{DurationError, GoDuration};

use crate::value::{Map, Value};

/// Why an object could not be built (the Flux CLI's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object name was given.
    #[error("name is required")]
    NameRequired,
    /// The object name is not an RFC 1123 label.
    #[error(
        "name '{name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
    )]
    InvalidName {
        /// The name.
        name: String,
    },
    /// A `--label` is not `key=value`.
    #[error("invalid label format '{label}', must be key=value")]
    LabelFormat {
        /// The flag value.
        label: String,
    },
    /// A label key is not a qualified name.
    #[error("invalid label '{key}': {problems}")]
    LabelKey {
        /// The key.
        key: String,
        /// apimachinery's list of problems.
        problems: String,
    },
    /// A label value is not valid.
    #[error("invalid label value '{value}': {problems}")]
    LabelValue {
        /// The value.
        value: String,
        /// apimachinery's list of problems.
        problems: String,
    },
    /// A required flag is missing, or flags are combined in a way the Flux
    /// CLI refuses; `message` is its text.
    #[error("{message}")]
    Flags {
        /// The flag the check is about (without `--`).
        flag: &'static str,
        /// The Flux CLI's message.
        message: &'static str,
    },
    /// A flag value is refused when the flag is read (cobra's wording).
    #[error("invalid argument {value:?} for \"--{flag}\" flag: {reason}")]
    FlagValue {
        /// The flag (without `--`).
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why.
        reason: String,
    },
    /// A flag value is refused after the flags were read.
    #[error("{reason}")]
    Invalid {
        /// The flag (without `--`).
        flag: &'static str,
        /// The value given.
        value: String,
        /// The Flux CLI's message.
        reason: String,
    },
    /// A `--values` file could not be used.
    #[error("{action} values {prep} {file} failed: {reason}")]
    Values {
        /// `reading` or `converting`.
        action: &'static str,
        /// `from` or `to JSON from`.
        prep: &'static str,
        /// The file as given.
        file: String,
        /// The cause.
        reason: String,
    },
}

/// Object name, namespace and labels (`NAME`, `--namespace`, `--label`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (Flux's default is `flux-system`).
    pub namespace: String,
    /// `--label` values, `key=value` each.
    pub labels: Vec<String>,
    /// `--interval` (Flux's default is one minute).
    pub interval: GoDuration,
}

impl Meta {
    /// `name` in `namespace`, no labels, interval 1m.
    pub fn new(name: &str, namespace: &str) -> Meta {
        Meta {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            labels: Vec::new(),
            interval: GoDuration::minutes(1),
        }
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in entries {
        m.insert(k, v);
    }
    Value::Map(m)
}

/// Insert `key: value` when `value` is non-empty (JSON `omitempty`).
fn put_opt(m: &mut Map, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        m.insert(key, s(v));
    }
}

fn name_ref(name: &str) -> Value {
    map(vec![("name", s(name))])
}

fn put_ref(m: &mut Map, key: &str, name: Option<&str>) {
    if let Some(n) = name.filter(|v| !v.is_empty()) {
        m.insert(key, name_ref(n));
    }
}

fn duration(d: GoDuration) -> Value {
    Value::Str(d.to_string())
}

fn assemble(
    api_version: &str,
    kind: &str,
    meta: &Meta,
    labels: &[(String, String)],
    spec: Map,
) -> Value {
    let mut md = Map::new();
    md.insert("name", s(&meta.name));
    put_opt(&mut md, "namespace", Some(&meta.namespace));
    if !labels.is_empty() {
        let mut lm = Map::new();
        for (k, v) in labels {
            lm.insert(k.clone(), s(v));
        }
        md.insert("labels", Value::Map(lm));
    }
    map(vec![
        ("apiVersion", s(api_version)),
        ("kind", s(kind)),
        ("metadata", Value::Map(md)),
        ("spec", Value::Map(spec)),
    ])
}

/// The object as `flux create … --export` prints it: `---`, the YAML, a
/// newline.
pub fn export(obj: &Value) -> String {
    let yaml = crate::emit::to_yaml(obj);
    format!("---\n{}\n", yaml.trim())
}

/// Split comma-separated flag values the way pflag's string slices do
/// (`--x a,b --x c` → `a`, `b`, `c`).
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- sources

const SOURCE_V1: &str = "source.toolkit.fluxcd.io/v1";

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

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn check_choice(
    flag: &'static str,
    value: &Option<String>,
    allowed: &[&str],
    empty: String,
    unsupported: impl Fn(&str) -> String,
) -> Result<(), Error> {
    let Some(v) = value else { return Ok(()) };
    let reason = if v.trim().is_empty() {
        empty
    } else if allowed.contains(&v.as_str()) {
        return Ok(());
    } else {
        unsupported(v)
    };
    Err(Error::FlagValue {
        flag,
        value: v.clone(),
        reason,
    })
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
                    Value::Seq(vec![map(vec![
                        ("issuer", s(issuer)),
                        ("subject", s(subject)),
                    ])]),
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

// ---------------------------------------------------------- kustomization

/// `[<kind>/]<name>[.<namespace>]` split like Flux's
/// `ParseObjectKindNameNamespace`.
fn kind_name_namespace(input: &str) -> (String, String, String) {
    let parts: Vec<&str> = input.split('/').collect();
    let (kind, mut name) = match parts.as_slice() {
        [k, n] => ((*k).to_owned(), (*n).to_owned()),
        _ => (String::new(), input.to_owned()),
    };
    let mut namespace = String::new();
    let nn: Vec<&str> = name.split('.').collect();
    if nn.len() > 1 {
        namespace = nn[nn.len() - 1].to_owned();
        name = nn[..nn.len() - 1].join(".");
    }
    (kind, name, namespace)
}

fn equal_fold<'a>(list: &[&'a str], v: &str) -> Option<&'a str> {
    list.iter().find(|k| k.eq_ignore_ascii_case(v)).copied()
}

/// A source reference `kind`, `name`, `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct SourceRef {
    kind: String,
    name: String,
    namespace: String,
}

impl SourceRef {
    fn to_value(&self, kind_omitempty: bool) -> Value {
        let mut m = Map::new();
        if !kind_omitempty || !self.kind.is_empty() {
            m.insert("kind", s(&self.kind));
        }
        m.insert("name", s(&self.name));
        put_opt(&mut m, "namespace", Some(&self.namespace));
        Value::Map(m)
    }
}

const KS_SOURCE_KINDS: [&str; 3] = ["OCIRepository", "GitRepository", "Bucket"];

fn kustomization_source(v: &str) -> Result<SourceRef, Error> {
    let bad = |reason: String| Error::FlagValue {
        flag: "source",
        value: v.to_owned(),
        reason,
    };
    if v.trim().is_empty() {
        return Err(bad(
            "no Kustomization source given, please specify source that contains the Kubernetes manifests in the format '[<kind>/]<name>.<namespace>', where kind must be one of: (OCIRepository, GitRepository, Bucket), if kind is not specified it defaults to GitRepository".into(),
        ));
    }
    let (kind, name, namespace) = kind_name_namespace(v);
    if name.is_empty() {
        return Err(bad(format!("no name given for source of kind '{kind}'")));
    }
    let kind = if kind.is_empty() {
        if KS_SOURCE_KINDS.contains(&name.as_str()) {
            return Err(bad(format!("no kind specified for source '{name}'")));
        }
        "GitRepository".to_owned()
    } else {
        kind
    };
    let Some(clean) = equal_fold(&KS_SOURCE_KINDS, &kind) else {
        return Err(bad(format!(
            "source kind '{kind}' is not supported, must be one of: OCIRepository, GitRepository, Bucket"
        )));
    };
    Ok(SourceRef {
        kind: clean.to_owned(),
        name,
        namespace,
    })
}

/// Flux's `SafeRelativePath`: `./` + the path cleaned as if rooted, so it
/// cannot leave the source root.
pub fn safe_relative_path(raw: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in raw.trim().split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("./{}", parts.join("/"))
}

fn depends_on(deps: &[String]) -> Value {
    Value::Seq(
        deps.iter()
            .map(|dep| {
                let (dep, ready) = match dep.split_once('@') {
                    Some((d, r)) => (d, r),
                    None => (dep.as_str(), ""),
                };
                let mut m = Map::new();
                match dep.split_once('/') {
                    Some((ns, n)) => {
                        m.insert("name", s(n));
                        put_opt(&mut m, "namespace", Some(ns));
                    }
                    None => m.insert("name", s(dep)),
                }
                put_opt(&mut m, "readyExpr", Some(ready));
                Value::Map(m)
            })
            .collect(),
    )
}

/// Flags of `flux create kustomization`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KustomizationFlags {
    /// `--source` (`[<kind>/]<name>[.<namespace>]`).
    pub source: Option<String>,
    /// `--path` (default `./`).
    pub path: Option<String>,
    /// `--prune`.
    pub prune: bool,
    /// `--wait`.
    pub wait: bool,
    /// `--health-check` (`<kind>/<name>.<namespace>`).
    pub health_check: Vec<String>,
    /// `--health-check-timeout` (default 2m).
    pub health_check_timeout: Option<GoDuration>,
    /// `--depends-on`.
    pub depends_on: Vec<String>,
    /// `--service-account`.
    pub service_account: Option<String>,
    /// `--decryption-provider` (`sops`).
    pub decryption_provider: Option<String>,
    /// `--decryption-secret`.
    pub decryption_secret: Option<String>,
    /// `--target-namespace`.
    pub target_namespace: Option<String>,
    /// `--kubeconfig-secret-ref`.
    pub kubeconfig_secret_ref: Option<String>,
    /// `--retry-interval`.
    pub retry_interval: Option<GoDuration>,
}

/// A `Kustomization` (`flux create kustomization NAME …`).
pub fn kustomization(meta: &Meta, o: &KustomizationFlags) -> Result<Value, Error> {
    let source = o.source.as_deref().map(kustomization_source).transpose()?;
    check_choice(
        "decryption-provider",
        &o.decryption_provider,
        &["sops"],
        "no decryption provider given, must be one of: sops".into(),
        |v| format!("unsupported decryption provider '{v}', must be one of: sops"),
    )?;
    let path = o
        .path
        .as_deref()
        .map_or_else(|| "./".to_owned(), safe_relative_path);
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    let Some(source) = source else {
        return Err(Error::Flags {
            flag: "source",
            message: "source is required",
        });
    };
    let labels = validate::labels(&meta.labels)?;

    let mut spec = Map::new();
    spec.insert("interval", duration(meta.interval));
    spec.insert("path", s(&path));
    spec.insert("prune", Value::Bool(o.prune));
    spec.insert("sourceRef", source.to_value(false));
    put_opt(&mut spec, "targetNamespace", o.target_namespace.as_deref());
    if !o.depends_on.is_empty() {
        spec.insert("dependsOn", depends_on(&o.depends_on));
    }
    if let Some(secret) = nonempty(&o.kubeconfig_secret_ref) {
        spec.insert("kubeConfig", map(vec![("secretRef", name_ref(secret))]));
    }
    let timeout = o.health_check_timeout.unwrap_or(GoDuration::minutes(2));
    if !o.health_check.is_empty() && !o.wait {
        let mut checks = Vec::new();
        for w in &o.health_check {
            let kind_obj: Vec<&str> = w.split('/').collect();
            if kind_obj.len() != 2 {
                return Err(Error::Invalid {
                    flag: "health-check",
                    value: w.clone(),
                    reason: format!(
                        "invalid health check '{w}' must be in the format 'kind/name.namespace' [{}]",
                        kind_obj.join(" ")
                    ),
                });
            }
            let kind = kind_obj[0];
            if !matches!(
                kind,
                "Deployment" | "DaemonSet" | "StatefulSet" | "HelmRelease"
            ) {
                return Err(Error::Invalid {
                    flag: "health-check",
                    value: w.clone(),
                    reason: format!(
                        "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
                    ),
                });
            }
            let name_ns: Vec<&str> = kind_obj[1].split('.').collect();
            if name_ns.len() != 2 {
                return Err(Error::Invalid {
                    flag: "health-check",
                    value: w.clone(),
                    reason: format!(
                        "invalid health check '{w}' must be in the format 'kind/name.namespace'"
                    ),
                });
            }
            let mut c = Map::new();
            if kind == "HelmRelease" {
                c.insert("apiVersion", s(HELM_V2));
            }
            c.insert("kind", s(kind));
            c.insert("name", s(name_ns[0]));
            put_opt(&mut c, "namespace", Some(name_ns[1]));
            checks.push(Value::Map(c));
        }
        spec.insert("healthChecks", Value::Seq(checks));
        spec.insert("timeout", duration(timeout));
    }
    if o.wait {
        spec.insert("wait", Value::Bool(true));
        spec.insert("timeout", duration(timeout));
    }
    put_opt(
        &mut spec,
        "serviceAccountName",
        o.service_account.as_deref(),
    );
    if let Some(p) = nonempty(&o.decryption_provider) {
        let mut d = Map::new();
        d.insert("provider", s(p));
        put_ref(&mut d, "secretRef", o.decryption_secret.as_deref());
        spec.insert("decryption", Value::Map(d));
    }
    if let Some(r) = o.retry_interval.filter(|r| r.0 > 0) {
        spec.insert("retryInterval", duration(r));
    }
    Ok(assemble(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        meta,
        &labels,
        spec,
    ))
}

// ------------------------------------------------------------ helmrelease

const HELM_V2: &str = "helm.toolkit.fluxcd.io/v2";
const CHART_SOURCE_KINDS: [&str; 3] = ["HelmRepository", "GitRepository", "Bucket"];

/// A `--values` file: its name as given and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesFile {
    /// The path as given on the command line (for messages).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// Flags of `flux create helmrelease`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelmReleaseFlags {
    /// `--release-name`.
    pub release_name: Option<String>,
    /// `--source` (`<kind>/<name>[.<namespace>]`).
    pub source: Option<String>,
    /// `--chart`.
    pub chart: Option<String>,
    /// `--chart-version`.
    pub chart_version: Option<String>,
    /// `--chart-ref` (`<kind>/<name>[.<namespace>]`, OCIRepository or HelmChart).
    pub chart_ref: Option<String>,
    /// `--depends-on`.
    pub depends_on: Vec<String>,
    /// `--target-namespace`.
    pub target_namespace: Option<String>,
    /// `--storage-namespace`.
    pub storage_namespace: Option<String>,
    /// `--create-target-namespace`.
    pub create_target_namespace: bool,
    /// `--service-account`.
    pub service_account: Option<String>,
    /// `--reconcile-strategy` (default `ChartVersion`).
    pub reconcile_strategy: Option<String>,
    /// `--chart-interval`.
    pub chart_interval: Option<GoDuration>,
    /// `--values` files, read by the caller, in order.
    pub values: Vec<ValuesFile>,
    /// `--values-from` (`<kind>/<name>`, Secret or ConfigMap).
    pub values_from: Vec<String>,
    /// `--crds` (`Skip`, `Create`, `CreateReplace`).
    pub crds: Option<String>,
    /// `--kubeconfig-secret-ref`.
    pub kubeconfig_secret_ref: Option<String>,
}

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(x) => s(x),
        serde_json::Value::Array(a) => Value::Seq(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), json_to_value(v));
            }
            Value::Map(m)
        }
    }
}

/// A `HelmRelease` (`flux create helmrelease NAME …`).
pub fn helm_release(meta: &Meta, o: &HelmReleaseFlags) -> Result<Value, Error> {
    let source = match o.source.as_deref() {
        None => SourceRef::default(),
        Some(v) => {
            let bad = |reason: String| Error::FlagValue {
                flag: "source",
                value: v.to_owned(),
                reason,
            };
            if v.trim().is_empty() {
                return Err(bad("no helm chart source given, please specify source that contains the chart in the format '<kind>/<name>.<namespace>', where kind must be one of: (HelmRepository, GitRepository, Bucket)".into()));
            }
            let (kind, name, namespace) = kind_name_namespace(v);
            if kind.is_empty() || name.is_empty() {
                return Err(bad(format!(
                    "invalid helm chart source '{v}', must be in format <kind>/<name>"
                )));
            }
            let Some(clean) = equal_fold(&CHART_SOURCE_KINDS, &kind) else {
                return Err(bad(format!(
                    "source kind '{kind}' is not supported, must be one of: HelmRepository, GitRepository, Bucket"
                )));
            };
            SourceRef {
                kind: clean.to_owned(),
                name,
                namespace,
            }
        }
    };
    check_choice(
        "crds",
        &o.crds,
        &["Skip", "Create", "CreateReplace"],
        "no upgrade CRDs policy given, must be one of: Skip, Create, CreateReplace".into(),
        |v| {
            format!(
                "unsupported upgrade CRDs policy '{v}', must be one of: Skip, Create, CreateReplace"
            )
        },
    )?;
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    let target_ns = nonempty(&o.target_namespace);
    let storage_ns = nonempty(&o.storage_namespace).or(target_ns);
    let chart = nonempty(&o.chart);
    let chart_ref = nonempty(&o.chart_ref);
    if chart.is_none() && chart_ref.is_none() {
        return Err(Error::Flags {
            flag: "chart",
            message: "chart or chart-ref is required",
        });
    }
    if chart.is_some() && chart_ref.is_some() {
        return Err(Error::Flags {
            flag: "chart-ref",
            message: "cannot use --chart in combination with --chart-ref",
        });
    }
    let labels = validate::labels(&meta.labels)?;
    let strategy = o.reconcile_strategy.as_deref().unwrap_or("ChartVersion");
    if strategy != "Revision" && strategy != "ChartVersion" {
        return Err(Error::Invalid {
            flag: "reconcile-strategy",
            value: strategy.to_owned(),
            reason: format!(
                "'{strategy}' is an invalid reconcile strategy(valid: Revision, ChartVersion)"
            ),
        });
    }

    let mut spec = Map::new();
    put_opt(&mut spec, "releaseName", o.release_name.as_deref());
    spec.insert("interval", duration(meta.interval));
    put_opt(&mut spec, "targetNamespace", target_ns);
    put_opt(&mut spec, "storageNamespace", storage_ns);
    if !o.depends_on.is_empty() {
        spec.insert("dependsOn", depends_on(&o.depends_on));
    }
    if let Some(c) = chart {
        let mut cs = Map::new();
        cs.insert("chart", s(c));
        put_opt(&mut cs, "version", o.chart_version.as_deref());
        cs.insert("sourceRef", source.to_value(true));
        cs.insert("reconcileStrategy", s(strategy));
        if let Some(i) = o.chart_interval.filter(|i| !i.is_zero()) {
            cs.insert("interval", duration(i));
        }
        spec.insert("chart", map(vec![("spec", Value::Map(cs))]));
    } else if let Some(r) = chart_ref {
        let (kind, name, ns) = kind_name_namespace(r);
        if kind != "HelmChart" && kind != "OCIRepository" {
            return Err(Error::Invalid {
                flag: "chart-ref",
                value: r.to_owned(),
                reason: format!(
                    "chart reference kind '{kind}' is not supported, must be one of: OCIRepository, HelmChart"
                ),
            });
        }
        let sr = SourceRef {
            kind,
            name,
            namespace: ns,
        };
        spec.insert("chartRef", sr.to_value(false));
    }
    if let Some(secret) = nonempty(&o.kubeconfig_secret_ref) {
        spec.insert("kubeConfig", map(vec![("secretRef", name_ref(secret))]));
    }
    let mut install = Map::new();
    if o.create_target_namespace {
        install.insert("createNamespace", Value::Bool(true));
    }
    put_opt(
        &mut spec,
        "serviceAccountName",
        o.service_account.as_deref(),
    );
    if let Some(policy) = nonempty(&o.crds) {
        install.insert("crds", s("Create"));
        spec.insert("upgrade", map(vec![("crds", s(policy))]));
    }
    if o.create_target_namespace || nonempty(&o.crds).is_some() {
        spec.insert("install", Value::Map(install));
    }
    if !o.values.is_empty() {
        let mut merged = serde_json::Map::new();
        for f in &o.values {
            let m = crate::helm::values::read_values(&f.text, &f.name).map_err(|reason| {
                Error::Values {
                    action: "converting",
                    prep: "to JSON from",
                    file: f.name.clone(),
                    reason,
                }
            })?;
            merged = crate::helm::values::merge_maps(&merged, &m);
        }
        spec.insert("values", json_to_value(&serde_json::Value::Object(merged)));
    }
    if !o.values_from.is_empty() {
        let mut refs = Vec::new();
        for v in &o.values_from {
            let (kind, name) = match v.split('/').collect::<Vec<_>>().as_slice() {
                [k, n] => ((*k).to_owned(), (*n).to_owned()),
                _ => (String::new(), v.clone()),
            };
            if kind.is_empty() {
                return Err(Error::Invalid {
                    flag: "values-from",
                    value: v.clone(),
                    reason: format!(
                        "invalid Kubernetes object reference '{v}', must be in format <kind>/<name>"
                    ),
                });
            }
            let Some(clean) = equal_fold(&["Secret", "ConfigMap"], &kind) else {
                return Err(Error::Invalid {
                    flag: "values-from",
                    value: v.clone(),
                    reason: format!(
                        "reference kind '{kind}' is not supported, must be one of: Secret, ConfigMap"
                    ),
                });
            };
            refs.push(map(vec![("kind", s(clean)), ("name", s(&name))]));
        }
        spec.insert("valuesFrom", Value::Seq(refs));
    }
    Ok(assemble(HELM_V2, "HelmRelease", meta, &labels, spec))
}

// ------------------------------------------------------------------ image

const IMAGE_V1: &str = "image.toolkit.fluxcd.io/v1";

/// Flags of `flux create image repository`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageRepositoryFlags {
    /// `--image`.
    pub image: String,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--cert-ref`.
    pub cert_ref: Option<String>,
    /// `--scan-timeout`.
    pub scan_timeout: Option<GoDuration>,
}

/// An `ImageRepository` (`flux create image repository NAME …`).
pub fn image_repository(meta: &Meta, o: &ImageRepositoryFlags) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    if o.image.is_empty() {
        return Err(Error::Flags {
            flag: "image",
            message: "an image repository (--image) is required",
        });
    }
    validate::image_repository(&o.image).map_err(|why| Error::Invalid {
        flag: "image",
        value: o.image.clone(),
        reason: format!("unable to parse image value: {why}"),
    })?;
    let labels = validate::labels(&meta.labels)?;
    let mut spec = Map::new();
    spec.insert("image", s(&o.image));
    spec.insert("interval", duration(meta.interval));
    if let Some(t) = o.scan_timeout.filter(|t| !t.is_zero()) {
        spec.insert("timeout", duration(t));
    }
    put_ref(&mut spec, "secretRef", o.secret_ref.as_deref());
    put_ref(&mut spec, "certSecretRef", o.cert_ref.as_deref());
    Ok(assemble(IMAGE_V1, "ImageRepository", meta, &labels, spec))
}

/// Flags of `flux create image policy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImagePolicyFlags {
    /// `--image-ref`.
    pub image_ref: String,
    /// `--select-semver`.
    pub select_semver: Option<String>,
    /// `--select-alpha` (`asc` or `desc`).
    pub select_alpha: Option<String>,
    /// `--select-numeric` (`asc` or `desc`).
    pub select_numeric: Option<String>,
    /// `--filter-regex`.
    pub filter_regex: Option<String>,
    /// `--filter-extract`.
    pub filter_extract: Option<String>,
    /// `--reflect-digest` (`Never`, `IfNotPresent`, `Always`).
    pub reflect_digest: Option<String>,
    /// `--interval` of this command (no default; only with `Always`).
    pub interval: Option<GoDuration>,
}

/// `$name` / `${name}` references of a `--filter-extract` template, checked
/// against the regex's named groups like Flux's `validateExtractStr`.
fn validate_extract(template: &str, cap_names: &[String]) -> Result<(), String> {
    let mut t = template;
    while let Some(i) = t.find('$') {
        t = &t[i..];
        if t.as_bytes().get(1) == Some(&b'$') {
            t = &t[2..];
            continue;
        }
        let mut rest = &t[1..];
        let brace = rest.starts_with('{');
        if brace {
            rest = &rest[1..];
        }
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        if end == 0 {
            return Err("--filter-extract is malformed".into());
        }
        let name = &rest[..end];
        let mut after = &rest[end..];
        if brace {
            match after.strip_prefix('}') {
                Some(a) => after = a,
                None => return Err("--filter-extract is malformed".into()),
            }
        }
        let numeric = name.bytes().all(|b| b.is_ascii_digit())
            && name.len() <= 8
            && !(name.starts_with('0') && name.len() > 1);
        if !numeric && !cap_names.iter().any(|c| c == name) {
            return Err(format!(
                "capture group ${name} used in --filter-extract not found in --filter-regex"
            ));
        }
        t = after;
    }
    Ok(())
}

/// An `ImagePolicy` (`flux create image policy NAME …`).
///
/// Like the Flux CLI, `--select-semver` together with `--select-alpha` or
/// `--select-numeric` is not refused but yields an empty `policy: {}`.
pub fn image_policy(meta: &Meta, o: &ImagePolicyFlags) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    if o.image_ref.is_empty() {
        return Err(Error::Flags {
            flag: "image-ref",
            message: "the name of an ImageRepository in the namespace is required (--image-ref)",
        });
    }
    let labels = validate::labels(&meta.labels)?;
    let (semver, alpha, numeric) = (
        nonempty(&o.select_semver),
        nonempty(&o.select_alpha),
        nonempty(&o.select_numeric),
    );
    let mut policy = Map::new();
    match (semver, alpha, numeric) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {}
        (None, Some(_), Some(_)) => {
            return Err(Error::Flags {
                flag: "select-alpha",
                message: "only one of --select-semver, --select-alpha or --select-numeric can be specified",
            });
        }
        (Some(r), None, None) => policy.insert("semver", map(vec![("range", s(r))])),
        (None, Some(a), None) => {
            if a != "asc" && a != "desc" {
                return Err(Error::Flags {
                    flag: "select-alpha",
                    message: "--select-alpha must be one of [\"asc\", \"desc\"]",
                });
            }
            policy.insert("alphabetical", map(vec![("order", s(a))]));
        }
        (None, None, Some(n)) => {
            if n != "asc" && n != "desc" {
                return Err(Error::Flags {
                    flag: "select-numeric",
                    message: "--select-numeric must be one of [\"asc\", \"desc\"]",
                });
            }
            policy.insert("numerical", map(vec![("order", s(n))]));
        }
        (None, None, None) => {
            return Err(Error::Flags {
                flag: "select-semver",
                message: "a policy must be provided with either --select-semver or --select-alpha",
            });
        }
    }
    let mut spec = Map::new();
    spec.insert("imageRepositoryRef", name_ref(&o.image_ref));
    spec.insert("policy", Value::Map(policy));
    if let Some(pattern) = nonempty(&o.filter_regex) {
        let re = regex::Regex::new(pattern).map_err(|_| Error::Flags {
            flag: "filter-regex",
            message: "--filter-regex is an invalid regex pattern",
        })?;
        let mut ft = Map::new();
        ft.insert("pattern", s(pattern));
        let mut extract = "";
        if let Some(x) = nonempty(&o.filter_extract) {
            let names: Vec<String> = re.capture_names().flatten().map(str::to_owned).collect();
            validate_extract(x, &names).map_err(|reason| Error::Invalid {
                flag: "filter-extract",
                value: x.to_owned(),
                reason,
            })?;
            extract = x;
        }
        ft.insert("extract", s(extract));
        spec.insert("filterTags", Value::Map(ft));
    } else if nonempty(&o.filter_extract).is_some() {
        return Err(Error::Flags {
            flag: "filter-extract",
            message: "cannot specify --filter-extract without specifying --filter-regex",
        });
    }
    if let Some(p) = nonempty(&o.reflect_digest) {
        if !matches!(p, "Never" | "IfNotPresent" | "Always") {
            return Err(Error::Flags {
                flag: "reflect-digest",
                message: "invalid value for --reflect-digest, must be one of 'Never', 'IfNotPresent', 'Always'",
            });
        }
        spec.insert("digestReflectionPolicy", s(p));
    }
    if let Some(i) = o.interval.filter(|i| !i.is_zero()) {
        if o.reflect_digest.as_deref() != Some("Always") {
            return Err(Error::Flags {
                flag: "interval",
                message: "the --interval flag can only be used with the 'Always' digest reflection policy, use --reflect-digest=Always",
            });
        }
        spec.insert("interval", duration(i));
    }
    Ok(assemble(IMAGE_V1, "ImagePolicy", meta, &labels, spec))
}

/// Flags of `flux create image update`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageUpdateFlags {
    /// `--git-repo-ref`.
    pub git_repo_ref: String,
    /// `--git-repo-namespace`.
    pub git_repo_namespace: Option<String>,
    /// `--git-repo-path`.
    pub git_repo_path: Option<String>,
    /// `--checkout-branch`.
    pub checkout_branch: String,
    /// `--push-branch`.
    pub push_branch: Option<String>,
    /// `--commit-template`.
    pub commit_template: Option<String>,
    /// `--author-name`.
    pub author_name: String,
    /// `--author-email`.
    pub author_email: String,
    /// `--signing-key-secret`.
    pub signing_key_secret: Option<String>,
    /// `--signing-key-type` (`gpg` or `ssh`).
    pub signing_key_type: Option<String>,
}

/// An `ImageUpdateAutomation` (`flux create image update NAME …`).
pub fn image_update(meta: &Meta, o: &ImageUpdateFlags) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    let missing = |flag, message| Err(Error::Flags { flag, message });
    if o.git_repo_ref.is_empty() {
        return missing(
            "git-repo-ref",
            "a reference to a GitRepository is required (--git-repo-ref)",
        );
    }
    if o.checkout_branch.is_empty() {
        return missing(
            "checkout-branch",
            "the Git repository branch is required (--checkout-branch)",
        );
    }
    if o.author_name.is_empty() {
        return missing("author-name", "the author name is required (--author-name)");
    }
    if o.author_email.is_empty() {
        return missing(
            "author-email",
            "the author email is required (--author-email)",
        );
    }
    let key_type = nonempty(&o.signing_key_type);
    let key_secret = nonempty(&o.signing_key_secret);
    if key_type.is_some() && key_secret.is_none() {
        return missing(
            "signing-key-type",
            "--signing-key-type requires --signing-key-secret",
        );
    }
    if key_type.is_some_and(|t| t != "gpg" && t != "ssh") {
        return missing(
            "signing-key-type",
            "--signing-key-type must be one of: gpg, ssh",
        );
    }
    let labels = validate::labels(&meta.labels)?;

    let mut source = Map::new();
    source.insert("kind", s("GitRepository"));
    source.insert("name", s(&o.git_repo_ref));
    put_opt(&mut source, "namespace", o.git_repo_namespace.as_deref());

    let mut author = Map::new();
    author.insert("name", s(&o.author_name));
    author.insert("email", s(&o.author_email));
    let mut commit = Map::new();
    commit.insert("author", Value::Map(author));
    if let Some(secret) = key_secret {
        let mut k = Map::new();
        k.insert("secretRef", name_ref(secret));
        put_opt(&mut k, "type", key_type);
        commit.insert("signingKey", Value::Map(k));
    }
    put_opt(&mut commit, "messageTemplate", o.commit_template.as_deref());

    let mut git = Map::new();
    git.insert(
        "checkout",
        map(vec![("ref", map(vec![("branch", s(&o.checkout_branch))]))]),
    );
    git.insert("commit", Value::Map(commit));
    if let Some(b) = nonempty(&o.push_branch) {
        git.insert("push", map(vec![("branch", s(b))]));
    }

    let mut spec = Map::new();
    spec.insert("sourceRef", Value::Map(source));
    spec.insert("git", Value::Map(git));
    spec.insert("interval", duration(meta.interval));
    if let Some(p) = nonempty(&o.git_repo_path) {
        spec.insert(
            "update",
            map(vec![("strategy", s("Setters")), ("path", s(p))]),
        );
    }
    Ok(assemble(
        IMAGE_V1,
        "ImageUpdateAutomation",
        meta,
        &labels,
        spec,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_like_securejoin() {
        assert_eq!(safe_relative_path("./apps/dev"), "./apps/dev");
        assert_eq!(safe_relative_path("apps/dev/"), "./apps/dev");
        assert_eq!(safe_relative_path("../../etc"), "./etc");
        assert_eq!(safe_relative_path("/abs/x"), "./abs/x");
        assert_eq!(safe_relative_path("."), "./");
    }

    #[test]
    fn kind_name_namespace_split() {
        assert_eq!(
            kind_name_namespace("GitRepository/podinfo.flux-system"),
            (
                "GitRepository".into(),
                "podinfo".into(),
                "flux-system".into()
            )
        );
        assert_eq!(
            kind_name_namespace("a.b.c"),
            (String::new(), "a.b".into(), "c".into())
        );
    }

    #[test]
    fn semver_with_alpha_gives_an_empty_policy_like_flux() {
        let meta = Meta::new("app", "flux-system");
        let o = ImagePolicyFlags {
            image_ref: "app".into(),
            select_semver: Some("1.x".into()),
            select_alpha: Some("asc".into()),
            ..ImagePolicyFlags::default()
        };
        let y = export(&image_policy(&meta, &o).unwrap());
        assert!(
            y.ends_with("  imageRepositoryRef:\n    name: app\n  policy: {}\n"),
            "{y}"
        );
    }

    #[test]
    fn chart_without_source_keeps_an_empty_name() {
        let meta = Meta::new("app", "flux-system");
        let o = HelmReleaseFlags {
            chart: Some("./charts/app".into()),
            reconcile_strategy: Some("Revision".into()),
            chart_interval: Some(GoDuration::minutes(5)),
            ..HelmReleaseFlags::default()
        };
        let y = export(&helm_release(&meta, &o).unwrap());
        assert!(
            y.contains(
                "      chart: ./charts/app\n      interval: 5m0s\n      reconcileStrategy: Revision\n      sourceRef:\n        name: \"\"\n"
            ),
            "{y}"
        );
    }

    #[test]
    fn labels_are_checked_before_the_object_is_built() {
        let mut meta = Meta::new("app", "flux-system");
        meta.labels = vec!["a=b=c".into()];
        let o = ImageRepositoryFlags {
            image: "ghcr.io/org/app".into(),
            ..ImageRepositoryFlags::default()
        };
        assert_eq!(
            image_repository(&meta, &o).unwrap_err(),
            Error::LabelFormat {
                label: "a=b=c".into()
            }
        );
    }

    #[test]
    fn extract_templates() {
        let names = vec!["ts".to_owned()];
        assert!(validate_extract("$ts", &names).is_ok());
        assert!(validate_extract("${ts}-$1", &names).is_ok());
        assert!(validate_extract("$$x", &names).is_ok());
        assert_eq!(
            validate_extract("$other", &names).unwrap_err(),
            "capture group $other used in --filter-extract not found in --filter-regex"
        );
        assert_eq!(
            validate_extract("${ts", &names).unwrap_err(),
            "--filter-extract is malformed"
        );
    }
}
