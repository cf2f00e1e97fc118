//! Legacy `vars`: a named reference to a field of one resource, substituted
//! as `$(NAME)` into the var-reference fields of every resource (kustomize
//! v5.7.1 `api/internal/accumulator` and `api/filters/refvar`).
//!
//! Each kustomization's vars are bound to their resource when that
//! kustomization is done ([`merge_vars`]); the values are read and
//! substituted once, at the end of the whole build, after name references
//! are fixed ([`resolve_vars`]). A `$(NAME)` that names no var is left as
//! written, as kustomize does; a var whose field does not exist is an error.

use crate::Error;
use crate::kustomize::fieldspec::{Create, Spec, apply_specs, specs};
use crate::kustomize::replacements::{lookup_path, split_field_path};
use crate::kustomize::types::{FieldSpec, Var};
use crate::resource::{ResId, Resource};
use crate::value::Value;

/// kustomize's `ResAccumulator.MergeVars`: bind each var of one
/// kustomization to the one resource its objref names (by any of the
/// resource's ids) and add it to the build's var set `set`.
pub(crate) fn merge_vars(
    incoming: &[Var],
    ra: &mut [Resource],
    set: &mut Vec<Var>,
) -> Result<(), Error> {
    for v in incoming {
        let target = ResId {
            gvk: v.gvk.clone(),
            name: v.obj_name.as_str().into(),
            namespace: v.obj_namespace.as_str().into(),
        };
        let exact_ns = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
        let matches = |id: &ResId| {
            if exact_ns {
                id.gvk == target.gvk
                    && id.name == target.name
                    && id.effective_namespace() == target.effective_namespace()
            } else {
                id.gvk == target.gvk && id.name == target.name
            }
        };
        let matched: Vec<usize> = ra
            .iter()
            .enumerate()
            .filter(|(_, r)| r.prev_ids().iter().any(&matches) || matches(&r.cur_id()))
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(Error::Transform {
                message: format!(
                    "merging vars {}: found {} resId matches for var {} (unable to disambiguate)",
                    go_vars(incoming),
                    matched.len(),
                    v.go_string()
                ),
            });
        }
        if let [i] = matched.as_slice() {
            ra[*i].ref_vars.push(v.name.clone());
        }
    }
    for v in incoming {
        if set.iter().any(|x| x.name == v.name) {
            return Err(Error::Transform {
                message: format!(
                    "merging vars {}: var '{}' already encountered",
                    go_vars(incoming),
                    v.name
                ),
            });
        }
        set.push(v.clone());
    }
    Ok(())
}

fn go_vars(vars: &[Var]) -> String {
    let items: Vec<String> = vars.iter().map(Var::go_string).collect();
    format!("[{}]", items.join(" "))
}

/// kustomize's default var-reference field specs.
const VAR_REFERENCE: &[Spec] = &[
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/args",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/args",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/args",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/metadata/annotations",
        false,
    ),
    ("", "", "Ingress", "spec/rules/host", false),
    ("", "", "Ingress", "spec/tls/hosts", false),
    ("", "", "Ingress", "spec/tls/secretName", false),
    ("", "", "Job", "spec/template/spec/containers/args", false),
    (
        "",
        "",
        "Job",
        "spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "Job",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    ("", "", "Pod", "spec/containers/args", false),
    ("", "", "Pod", "spec/containers/command", false),
    ("", "", "Pod", "spec/containers/env/value", false),
    (
        "",
        "",
        "Pod",
        "spec/containers/volumeMounts/mountPath",
        false,
    ),
    ("", "", "Pod", "spec/initContainers/args", false),
    ("", "", "Pod", "spec/initContainers/command", false),
    ("", "", "Pod", "spec/initContainers/env/value", false),
    (
        "",
        "",
        "Pod",
        "spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    ("", "", "Pod", "spec/volumes/nfs/server", false),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/args",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    ("", "", "Service", "spec/ports/port", false),
    ("", "", "Service", "spec/ports/targetPort", false),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/args",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/command",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/nfs/server",
        false,
    ),
    ("", "", "PersistentVolume", "spec/nfs/server", false),
    ("", "", "", "metadata/labels", false),
    ("", "", "", "metadata/annotations", false),
];

/// The default var-reference field specs merged with `extra` (the custom
/// ones from `configurations`), as kustomize merges transformer configs.
pub(crate) fn var_reference_specs(extra: &[FieldSpec]) -> Result<Vec<FieldSpec>, Error> {
    crate::kustomize::transformer_config::merge_fs(specs(VAR_REFERENCE), extra, "VarReference")
}

/// A var's value: the primitive types kustomize substitutes.
#[derive(Debug, Clone, PartialEq)]
enum Prim {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A mapping or list: kustomize leaves `$(NAME)` in place.
    Other,
}

impl Prim {
    fn to_value(&self) -> Value {
        match self {
            Prim::Str(s) => Value::Str(s.as_str().into()),
            Prim::Int(i) => Value::Int(*i),
            Prim::Float(f) => Value::Float(*f),
            Prim::Bool(b) => Value::Bool(*b),
            Prim::Other => Value::Null,
        }
    }

    /// Go's `fmt.Sprintf("%v", value)`.
    fn go_text(&self) -> String {
        match self {
            Prim::Str(s) => s.clone(),
            Prim::Int(i) => i.to_string(),
            Prim::Float(f) => go_float_v(*f),
            Prim::Bool(b) => b.to_string(),
            Prim::Other => String::new(),
        }
    }
}

/// `%v` of a float64: shortest digits, exponent form below 1e-4 or from 1e21.
fn go_float_v(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return match f {
            x if x.is_nan() => "NaN".into(),
            x if x == f64::INFINITY => "+Inf".into(),
            x if x == f64::NEG_INFINITY => "-Inf".into(),
            _ => "0".into(),
        };
    }
    let exp = f.abs().log10().floor();
    if !(-4.0..21.0).contains(&exp) {
        let s = format!("{f:e}");
        // Rust: 1e21, 1.5e-7; Go: 1e+21, 1.5e-07.
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            return format!("{m}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{f}")
}

/// kyaml's `RNode.GetFieldValue`.
fn field_value(r: &Resource, path: &str) -> Result<Prim, String> {
    let parts = split_field_path(path);
    let node = lookup_path(&r.value, &parts)?.ok_or_else(|| format!("no field named '{path}'"))?;
    Ok(match node {
        Value::Str(s) => Prim::Str(s.to_string()),
        Value::Int(i) => Prim::Int(*i),
        Value::Float(f) => Prim::Float(*f),
        Value::Bool(b) => Prim::Bool(*b),
        Value::Map(_) | Value::Seq(_) => Prim::Other,
        Value::Null => return Err("unsupported type !!null".into()),
    })
}

/// kustomize's `ResAccumulator.ResolveVars`: read every var's value from
/// its bound resource and substitute `$(NAME)` in the var-reference fields
/// (`specs`, see [`var_reference_specs`]) of all resources. Returns the
/// names of vars that were defined but never used (kustomize logs them).
pub(crate) fn resolve_vars(
    ra: &mut [Resource],
    vars: &[Var],
    specs: &[FieldSpec],
) -> Result<Vec<String>, Error> {
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values: Vec<(String, Prim)> = Vec::new();
    for v in sorted {
        let Some(r) = ra.iter().find(|r| r.ref_vars.contains(&v.name)) else {
            return Err(Error::Transform {
                message: format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.go_string()
                ),
            });
        };
        let value = field_value(r, &v.field_path).map_err(|_| Error::Transform {
            message: format!(
                "field specified in var '{}' not found in corresponding resource",
                v.go_string()
            ),
        })?;
        values.push((v.name.clone(), value));
    }
    let mut used = vec![false; values.len()];
    for r in ra.iter_mut() {
        let gvk = r.gvk();
        let mut set = |node: &mut Value| substitute_node(node, &values, &mut used);
        apply_specs(&mut r.value, &gvk, specs, Create::No, &mut set)?;
    }
    Ok(values
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((n, _), _)| n.clone())
        .collect())
}

/// refvar's `set`: strings, string values of a mapping, or a list of strings.
fn substitute_node(
    node: &mut Value,
    values: &[(String, Prim)],
    used: &mut [bool],
) -> Result<(), Error> {
    match node {
        Value::Null => Ok(()),
        Value::Str(s) => {
            *node = expand(s, values, used);
            Ok(())
        }
        Value::Map(m) => {
            for (_, v) in m.iter_mut() {
                if let Value::Str(s) = v {
                    *v = expand(s, values, used);
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                let Value::Str(s) = item else {
                    return Err(Error::Transform {
                        message: "invalid value type expect a string".into(),
                    });
                };
                *item = expand(s, values, used);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// refvar's `DoReplacements`: expand `$(NAME)`; `$$` is a literal `$`; an
/// input that is exactly `$(NAME)` takes the var's type.
fn expand(input: &str, values: &[(String, Prim)], used: &mut [bool]) -> Value {
    let mapping = |name: &str, used: &mut [bool]| -> Option<Prim> {
        let i = values.iter().position(|(n, _)| n == name)?;
        if values[i].1 == Prim::Other {
            return None;
        }
        used[i] = true;
        Some(values[i].1.clone())
    };
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let mapped = mapping(name, used);
                        if input.len() == name.len() + 3 && cursor == 0 {
                            return match mapped {
                                Some(p) => p.to_value(),
                                None => Value::Str(input.into()),
                            };
                        }
                        match mapped {
                            Some(p) => out.push_str(&p.go_text()),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // `$` followed by another character: both kept.
                    let c = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..c]);
                    c
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    Value::Str(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::loader::resources_from_text;
    use gitops_core::yaml::parse_documents;

    fn vals() -> Vec<(String, Prim)> {
        vec![
            ("A".into(), Prim::Str("svc".into())),
            ("P".into(), Prim::Int(8080)),
            ("M".into(), Prim::Other),
        ]
    }

    #[test]
    fn expansion_rules() {
        let v = vals();
        let mut used = vec![false; 3];
        assert_eq!(expand("$(A)", &v, &mut used), Value::Str("svc".into()));
        assert_eq!(expand("$(P)", &v, &mut used), Value::Int(8080));
        assert_eq!(
            expand("http://$(A):$(P)/x", &v, &mut used),
            Value::Str("http://svc:8080/x".into())
        );
        assert_eq!(
            expand("$$(A) $(NOPE) $x $(", &v, &mut used),
            Value::Str("$(A) $(NOPE) $x $(".into())
        );
        assert_eq!(expand("$(M)", &v, &mut used), Value::Str("$(M)".into()));
        assert_eq!(used, vec![true, true, false]);
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float_v(1.5), "1.5");
        assert_eq!(go_float_v(100000.0), "100000");
        assert_eq!(go_float_v(1e21), "1e+21");
        assert_eq!(go_float_v(1.5e-7), "1.5e-07");
    }

    fn vars(text: &str) -> Vec<Var> {
        let docs = parse_documents(text, "k.yaml").unwrap();
        crate::kustomize::kustomization::vars(&Value::from_node(&docs[0].root), "k.yaml").unwrap()
    }

    const RES: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports:\n  - port: 5432\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        command: [run, --db=$(DB):$(PORT)]\n        env:\n        - name: PORT\n          value: $(PORT)\n";

    #[test]
    fn bind_and_resolve() {
        let mut ra = resources_from_text(RES, "r.yaml").unwrap();
        let vs = vars(
            "- name: DB\n  objref: {apiVersion: v1, kind: Service, name: db}\n- name: PORT\n  objref: {apiVersion: v1, kind: Service, name: db}\n  fieldref: {fieldPath: 'spec.ports[0].port'}\n- name: UNUSED\n  objref: {apiVersion: v1, kind: Service, name: db}\n",
        );
        let mut set = Vec::new();
        merge_vars(&vs, &mut ra, &mut set).unwrap();
        let unused = resolve_vars(&mut ra, &set, &var_reference_specs(&[]).unwrap()).unwrap();
        assert_eq!(unused, vec!["UNUSED".to_owned()]);
        let c = &ra[1]
            .value
            .get_path(&["spec", "template", "spec", "containers"])
            .unwrap()
            .as_seq()
            .unwrap()[0];
        assert_eq!(
            c.get("command").unwrap().as_seq().unwrap()[1],
            Value::Str("--db=db:5432".into())
        );
        assert_eq!(
            c.get("env").unwrap().as_seq().unwrap()[0].get("value"),
            Some(&Value::Int(5432))
        );
        // the same name again is an error
        let e = merge_vars(&vs[..1], &mut ra, &mut set).unwrap_err();
        assert!(
            e.to_string().contains("var 'DB' already encountered"),
            "{e}"
        );
    }

    #[test]
    fn unbound_and_missing_field_are_errors() {
        let mut ra = resources_from_text(RES, "r.yaml").unwrap();
        let mut set = Vec::new();
        // kind without apiVersion does not match (kustomize compares the full gvk)
        merge_vars(
            &vars("- name: X\n  objref: {kind: Service, name: db}\n"),
            &mut ra,
            &mut set,
        )
        .unwrap();
        let e = resolve_vars(&mut ra, &set, &var_reference_specs(&[]).unwrap()).unwrap_err();
        assert!(e.to_string().contains("cannot be mapped to a field"), "{e}");
        let mut set = Vec::new();
        merge_vars(&vars("- name: Y\n  objref: {apiVersion: v1, kind: Service, name: db}\n  fieldref: {fieldPath: spec.nothing}\n"), &mut ra, &mut set).unwrap();
        let e = resolve_vars(&mut ra, &set, &var_reference_specs(&[]).unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .contains("not found in corresponding resource"),
            "{e}"
        );
    }
}
