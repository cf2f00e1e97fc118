//! `flux create image policy`: [`ImagePolicyFlags`], the `ImagePolicy`
//! builder and the `--filter-extract` template check.

use super::{
    Error, GoDuration, IMAGE_V1, Meta, assemble, duration, map, name_ref, nonempty, s, validate,
};
use crate::value::{Map, Value};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::create::export;

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
