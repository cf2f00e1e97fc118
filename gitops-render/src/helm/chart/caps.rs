//! `.Capabilities` (Helm v4.1.4 `pkg/chart/common/capabilities.go`): the
//! Kubernetes version, the API versions (Helm's built-in set from its
//! client-go scheme plus `--api-versions`) and Helm's build information.

use std::sync::Arc;

use gitops_gotemplate::{Object, Value};

use super::{Error, RenderOptions};

/// The group/versions of client-go v0.35's scheme plus apiextensions, as
/// Helm's `DefaultVersionSet` lists them.
const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
    "apiextensions.k8s.io/v1beta1",
];

/// The capabilities of one render.
#[derive(Debug, Clone)]
pub(crate) struct Capabilities {
    /// `KubeVersion.Version` (`v1.31.0`).
    pub(crate) version: String,
    /// `KubeVersion.String()` (normalised).
    pub(crate) normalized: String,
    major: String,
    minor: String,
    api_versions: Arc<Vec<String>>,
}

impl Capabilities {
    pub(crate) fn new(o: &RenderOptions) -> Result<Capabilities, Error> {
        let mut api: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        api.extend(o.api_versions.iter().cloned());
        let (version, normalized, major, minor) = match &o.kube_version {
            None => ("v1.35.0".into(), "v1.35.0".into(), "1".into(), "35".into()),
            Some(v) => parse_kube_version(v).ok_or_else(|| {
                Error::Load(format!(
                    "invalid kube version '{v}': could not parse {v:?} as version"
                ))
            })?,
        };
        Ok(Capabilities {
            version,
            normalized,
            major,
            minor,
            api_versions: Arc::new(api),
        })
    }

    pub(crate) fn value(&self) -> Value {
        Value::Object(Arc::new(CapsObj(self.clone())))
    }
}

/// k8s `ParseGeneric`: `[v]MAJOR.MINOR[.PATCH][-pre][+build]`.
fn parse_kube_version(v: &str) -> Option<(String, String, String, String)> {
    let t = v.trim();
    let s = t.strip_prefix('v').unwrap_or(t);
    let end = s.find(['-', '+']).unwrap_or(s.len());
    let (nums, rest) = s.split_at(end);
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let mut n = Vec::new();
    for p in &parts {
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        n.push(p.parse::<u64>().ok()?);
    }
    let patch = n.get(2).copied().unwrap_or(0);
    let git = if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    };
    let norm = format!("v{}.{}.{}{}", n[0], n[1], patch, rest);
    Some((git, norm, n[0].to_string(), n[1].to_string()))
}

/// Helm `IsCompatibleRange`.
pub(crate) fn compatible(range: &str, version: &str) -> bool {
    let Ok(r) = gitops_core::semver::Range::parse(range) else {
        return false;
    };
    let Ok(v) = gitops_core::semver::Version::parse(version) else {
        return false;
    };
    r.matches(v.as_ref())
}

#[derive(Debug)]
struct CapsObj(Capabilities);

impl Object for CapsObj {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "KubeVersion" => Value::Object(Arc::new(KubeObj(self.0.clone()))),
            "APIVersions" => Value::Object(Arc::new(ApiObj(self.0.api_versions.clone()))),
            "HelmVersion" => Value::map([
                ("Version", Value::from("v4.1.4")),
                (
                    "GitCommit",
                    Value::from("05fa37973dc9e42b76e1d2883494c87174b6074f"),
                ),
                ("GitTreeState", Value::from("clean")),
                ("GoVersion", Value::from("go1.25.9")),
                ("KubeClientVersion", Value::from("v1.35")),
            ]),
            _ => return None,
        })
    }
    fn format(&self) -> String {
        format!(
            "&{{{{{} {} {} {}}} [{}] {{v4.1.4 05fa37973dc9e42b76e1d2883494c87174b6074f clean go1.25.9 v1.35}}}}",
            self.0.version,
            self.0.normalized,
            self.0.major,
            self.0.minor,
            self.0.api_versions.join(" ")
        )
    }
}

#[derive(Debug)]
struct KubeObj(Capabilities);

impl Object for KubeObj {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Version" => Value::from(self.0.version.as_str()),
            "Major" => Value::from(self.0.major.as_str()),
            "Minor" => Value::from(self.0.minor.as_str()),
            _ => return None,
        })
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "GitVersion" | "String")
    }
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        match name {
            "GitVersion" => Ok(Value::from(self.0.version.as_str())),
            "String" => Ok(Value::from(self.0.normalized.as_str())),
            _ => Err(format!("no method {name}")),
        }
    }
    fn format(&self) -> String {
        self.0.normalized.clone()
    }
}

#[derive(Debug)]
struct ApiObj(Arc<Vec<String>>);

impl Object for ApiObj {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        if name != "Has" {
            return Err(format!("no method {name}"));
        }
        let [a] = args else {
            return Err(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            ));
        };
        let Some(s) = a.as_str() else {
            return Err(format!(
                "wrong type for value; expected string; got {}",
                a.type_name()
            ));
        };
        Ok(Value::Bool(self.0.iter().any(|v| v == s)))
    }
    fn format(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}
