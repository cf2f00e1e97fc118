//! Name references: after prefixes, suffixes and hashes changed names, point
//! every reference (volumes, envFrom, roleRef, …) at the new name.
//!
//! Candidates are found through a hash index from previous names to
//! resources, so the pass is linear in the number of resources and fields.

use std::collections::HashMap;

use thin_vec::ThinVec;

use crate::Error;
use crate::kustomize::fieldspec::{Create, split_path, walk};
use crate::kustomize::nameref_rules::{Rule, gvk};
use crate::kustomize::transformer_config::NameBackRef;
use crate::resource::{Gvk, PrevId, ResId, Resource};
use crate::value::{Str, Value};

struct Ctx<'a> {
    /// Snapshot of every resource's ids and affixes.
    info: &'a [Info<'a>],
    by_prev_name: &'a HashMap<&'a str, Vec<usize>>,
}

/// What the pass reads of a resource while other resources' values change:
/// its current id, and its previous ids and affixes borrowed from it.
struct Info<'r> {
    /// Namespaces of ServiceAccount subjects, for RoleBindings.
    rb_namespaces: ThinVec<String>,
    cur: ResId,
    prev: &'r [PrevId],
    prefixes: &'r [Str],
    suffixes: &'r [Str],
}

impl Info<'_> {
    /// The group, version and kind of a previous id (kind changes are not
    /// tracked: group and version are the current ones).
    fn prev_gvk(&self, p: &PrevId) -> Gvk {
        Gvk {
            kind: p.kind.clone(),
            ..self.cur.gvk.clone()
        }
    }

    /// The original id's group, version and kind.
    fn org_gvk(&self) -> Gvk {
        self.prev
            .first()
            .map_or_else(|| self.cur.gvk.clone(), |p| self.prev_gvk(p))
    }

    /// The original id's namespace.
    fn org_namespace(&self) -> &str {
        self.prev
            .first()
            .map_or(self.cur.namespace.as_str(), |p| p.namespace.as_str())
    }
}

/// Rewrite every name reference to renamed resources.
pub(crate) fn fix_references(ra: &mut [Resource], config: &[NameBackRef]) -> Result<(), Error> {
    // Each resource splits into its value, which the pass rewrites, and the
    // rest, which every other resource's rewrite reads.
    let mut values: Vec<&mut Value> = Vec::with_capacity(ra.len());
    let mut info: Vec<Info<'_>> = Vec::with_capacity(ra.len());
    for r in ra.iter_mut() {
        let rb_namespaces = rolebinding_namespaces(r)?;
        let cur = r.cur_id();
        let Resource {
            value,
            prev,
            prefixes,
            suffixes,
            ..
        } = r;
        values.push(value);
        info.push(Info {
            rb_namespaces,
            cur,
            prev,
            prefixes,
            suffixes,
        });
    }
    let mut by_prev_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, inf) in info.iter().enumerate() {
        let mut names: Vec<&str> = inf.prev.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            by_prev_name.entry(n).or_default().push(i);
        }
    }
    if by_prev_name.is_empty() {
        return Ok(());
    }
    let ctx = Ctx {
        info: &info,
        by_prev_name: &by_prev_name,
    };
    let rules: Vec<(Rule, Vec<String>)> = config
        .iter()
        .flat_map(|nbr| {
            nbr.referrers.iter().map(|fs| {
                let rule = Rule {
                    target: nbr.target.clone(),
                    referrer: fs.gvk(),
                    path: fs.path.clone(),
                };
                let p = split_path(&rule.path);
                (rule, p)
            })
        })
        .collect();
    for (ri, value) in values.into_iter().enumerate() {
        let org = info[ri].org_gvk();
        for (rule, path) in &rules {
            if !org.is_selected(&rule.referrer) {
                continue;
            }
            let role_ref = if rule.path.ends_with("roleRef/name") {
                let g = value.str_at(&["roleRef", "apiGroup"]).map(str::to_owned);
                let k = value.str_at(&["roleRef", "kind"]).map(str::to_owned);
                match (g, k) {
                    (Some(g), Some(k)) => Some(gvk(&g, "", &k)),
                    _ => None,
                }
            } else {
                None
            };
            let mut set = |v: &mut Value| set_value(&ctx, ri, rule, role_ref.as_ref(), v);
            walk(value, path, Create::No, &mut set)?;
        }
    }
    Ok(())
}

fn set_value(
    ctx: &Ctx<'_>,
    referrer: usize,
    rule: &Rule,
    role_ref: Option<&Gvk>,
    v: &mut Value,
) -> Result<(), Error> {
    match v {
        Value::Null => Ok(()),
        Value::Str(_) => set_scalar(ctx, referrer, rule, role_ref, v),
        Value::Map(_) => set_mapping(ctx, referrer, rule, role_ref, v),
        Value::Seq(items) => {
            for item in items {
                match item {
                    Value::Str(_) => set_scalar(ctx, referrer, rule, role_ref, item)?,
                    Value::Map(_) => set_mapping(ctx, referrer, rule, role_ref, item)?,
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn set_scalar(
    ctx: &Ctx<'_>,
    referrer: usize,
    rule: &Rule,
    role_ref: Option<&Gvk>,
    v: &mut Value,
) -> Result<(), Error> {
    let Value::Str(old) = v else { return Ok(()) };
    let Some(cands) = ctx.by_prev_name.get(old.as_str()) else {
        return Ok(());
    };
    let cands: Vec<usize> = cands
        .iter()
        .copied()
        .filter(|&c| could_reference(ctx, referrer, c))
        .collect();
    let chosen = select(ctx, referrer, old, cands, rule, role_ref, false)?;
    if let Some(c) = chosen {
        let new = &ctx.info[c].cur.name;
        if new != old {
            *old = new.clone();
        }
    }
    Ok(())
}

fn set_mapping(
    ctx: &Ctx<'_>,
    referrer: usize,
    rule: &Rule,
    role_ref: Option<&Gvk>,
    v: &mut Value,
) -> Result<(), Error> {
    let Value::Map(m) = v else { return Ok(()) };
    let Some(old) = m.get("name").and_then(Value::scalar_text) else {
        return Ok(());
    };
    let Some(all) = ctx.by_prev_name.get(old.as_str()) else {
        return Ok(());
    };
    let mut cands: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&c| could_reference(ctx, referrer, c))
        .collect();
    if let Some(ns) = m.get("namespace").and_then(Value::scalar_text) {
        let by_org: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&c| ctx.info[c].org_namespace() == ns)
            .collect();
        cands = if by_org.is_empty() {
            cands
                .into_iter()
                .filter(|&c| ctx.info[c].cur.namespace == ns)
                .collect()
        } else {
            by_org
        };
    }
    let Some(c) = select(ctx, referrer, &old, cands, rule, role_ref, true)? else {
        return Ok(());
    };
    let target = &ctx.info[c].cur;
    if target.name == old && target.namespace.is_empty() {
        return Ok(());
    }
    m.insert("name", Value::Str(target.name.clone()));
    if !target.namespace.is_empty() {
        m.insert("namespace", Value::Str(target.namespace.clone()));
    }
    Ok(())
}

/// Namespaces of a RoleBinding's ServiceAccount subjects; a subject whose
/// namespace is there but not a string is kustomize's "blank" error.
fn rolebinding_namespaces(r: &Resource) -> Result<ThinVec<String>, Error> {
    if r.kind() != "RoleBinding" {
        return Ok(ThinVec::new());
    }
    let Some(subjects) = r.value.get("subjects").and_then(Value::as_seq) else {
        return Ok(ThinVec::new());
    };
    let mut out = ThinVec::new();
    for s in subjects {
        if s.str_at(&["kind"]) != Some("ServiceAccount") {
            continue;
        }
        match s.get("namespace") {
            None => {}
            Some(Value::Str(ns)) => out.push(ns.to_string()),
            Some(_) => {
                return Err(Error::Transform {
                    message: format!(
                        "Invalid Input: namespace is blank for resource \"{}\"",
                        r.cur_id()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// kustomize's `SubsetThatCouldBeReferencedByResource`.
fn could_reference(ctx: &Ctx<'_>, referrer: usize, cand: usize) -> bool {
    let me = &ctx.info[referrer];
    let r = &me.cur;
    if r.gvk.is_cluster_scoped() {
        return true;
    }
    let c = &ctx.info[cand].cur;
    c.gvk.is_cluster_scoped()
        || c.effective_namespace() == r.effective_namespace()
        || me.rb_namespaces.iter().any(|n| *n == c.namespace)
}

fn same_ending(a: &[Str], b: &[Str]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    short.iter().enumerate().all(|(i, s)| &long[i + diff] == s)
}

fn affixes_equal(a: &Info, b: &Info, allow_empty: bool) -> bool {
    if allow_empty {
        let pe = a.prefixes.is_empty() || b.prefixes.is_empty();
        let se = a.suffixes.is_empty() || b.suffixes.is_empty();
        (pe || same_ending(a.prefixes, b.prefixes)) && (se || same_ending(a.suffixes, b.suffixes))
    } else {
        same_ending(a.prefixes, b.prefixes) && same_ending(a.suffixes, b.suffixes)
    }
}

fn select(
    ctx: &Ctx<'_>,
    referrer: usize,
    old: &str,
    cands: Vec<usize>,
    rule: &Rule,
    role_ref: Option<&Gvk>,
    with_namespace: bool,
) -> Result<Option<usize>, Error> {
    let me = &ctx.info[referrer];
    let mut cands: Vec<usize> = cands
        .into_iter()
        .filter(|&c| {
            let inf = &ctx.info[c];
            inf.prev.iter().any(|p| p.name == old)
                && inf
                    .prev
                    .iter()
                    .any(|p| inf.prev_gvk(p).is_selected(&rule.target))
                && role_ref.is_none_or(|g| inf.prev.iter().any(|p| inf.prev_gvk(p).is_selected(g)))
                && (me.cur.gvk.is_cluster_scoped()
                    || inf.cur.gvk.is_cluster_scoped()
                    || inf.cur.gvk.kind == "ServiceAccount"
                    || inf.cur.effective_namespace() == me.cur.effective_namespace())
        })
        .collect();
    if cands.len() == 1 {
        return Ok(Some(cands[0]));
    }
    cands.retain(|&c| affixes_equal(&ctx.info[c], me, true));
    if cands.len() > 1 {
        cands.retain(|&c| affixes_equal(&ctx.info[c], me, false));
    }
    match cands.len() {
        0 => Ok(None),
        1 => Ok(Some(cands[0])),
        _ => {
            let first = &ctx.info[cands[0]].cur;
            let identical = cands.iter().all(|&c| {
                let id = &ctx.info[c].cur;
                id.name == first.name && (!with_namespace || id.namespace == first.namespace)
            });
            if identical {
                return Ok(Some(cands[0]));
            }
            let ids: Vec<String> = cands.iter().map(|&c| ctx.info[c].cur.to_string()).collect();
            Err(Error::Transform {
                message: format!(
                    "found multiple possible referrals: {} (referenced from {} at {})",
                    ids.join(", "),
                    me.cur,
                    rule.path
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_ending_subslices() {
        let s = |v: &[&str]| v.iter().map(|x| Str::from(*x)).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b", "c"]), &s(&["b", "c"])));
        assert!(!same_ending(&s(&["a", "b", "c"]), &s(&["a", "b"])));
        assert!(!same_ending(&s(&[]), &s(&["a"])));
    }

    #[test]
    fn rolebinding_subject_with_blank_namespace_is_an_error() {
        let v = Value::from_node(
            &gitops_core::yaml::parse_documents(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb\nsubjects:\n- kind: ServiceAccount\n  name: sa\n  namespace:\n",
                "t",
            )
            .unwrap()[0]
                .root,
        );
        let err = rolebinding_namespaces(&Resource::new(v)).unwrap_err();
        assert!(
            err.to_string().contains(
                "namespace is blank for resource \"RoleBinding.v1.rbac.authorization.k8s.io/rb.[noNs]\""
            ),
            "{err}"
        );
    }
}
