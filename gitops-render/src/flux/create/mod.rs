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
mod helmrelease;
mod image_policy;
mod image_repository;
mod image_update;
mod kustomization;
pub mod secret;
mod source_git;
mod source_helm;
mod source_oci;
mod validate;

pub use gitops_core::duration::{DurationError, GoDuration};
pub use helmrelease::{HelmReleaseFlags, ValuesFile, helm_release};
pub use image_policy::{ImagePolicyFlags, image_policy};
pub use image_repository::{ImageRepositoryFlags, image_repository};
pub use image_update::{ImageUpdateFlags, image_update};
pub use kustomization::{KustomizationFlags, kustomization, safe_relative_path};
pub use source_git::{GitSource, git_repository};
pub use source_helm::{HelmSource, helm_repository};
pub use source_oci::{OciSource, oci_repository};

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
    Value::Str(v.into())
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
    Value::Str(d.to_string().into())
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

/// `apiVersion` of the source objects.
const SOURCE_V1: &str = "source.toolkit.fluxcd.io/v1";

/// `apiVersion` of `HelmRelease`.
const HELM_V2: &str = "helm.toolkit.fluxcd.io/v2";

/// `apiVersion` of the image objects.
const IMAGE_V1: &str = "image.toolkit.fluxcd.io/v1";

#[cfg(test)]
mod tests {
    use super::*;

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
}
