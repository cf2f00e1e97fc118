//! `flux create kustomization`: [`KustomizationFlags`], the `Kustomization`
//! builder, its `--source` parsing and Flux's `SafeRelativePath`.

use super::{
    Error, GoDuration, HELM_V2, Meta, SourceRef, assemble, check_choice, depends_on, duration,
    equal_fold, kind_name_namespace, map, name_ref, nonempty, put_opt, put_ref, s, validate,
};
use crate::value::{Map, Value};

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
        spec.insert("healthChecks", Value::Seq(checks.into()));
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
}
