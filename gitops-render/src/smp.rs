//! Strategic merge patch with kustomize's (kyaml `merge2`) semantics.
//!
//! Maps merge field by field (`null` deletes), lists with a `merge` patch
//! strategy in the schema merge element by element on their merge keys (new
//! and patched elements first, as kustomize prepends), other lists are
//! replaced. `$patch: delete|replace|merge` directives work on maps and lists.

use crate::Error;
use crate::resource::Gvk;
use crate::schema::{Schema, Schemas};
use crate::value::{Map, Value};

const DIRECTIVE: &str = "$patch";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn err(message: String) -> Error {
    Error::Patch { message }
}

/// Merge `patch` into `dest`; `None` means the result was deleted.
pub(crate) fn merge(
    dest: Option<Value>,
    patch: Option<&Value>,
    schema: Option<Schema<'_>>,
    schemas: Schemas<'_>,
) -> Result<Option<Value>, Error> {
    let dest = dest.filter(|d| !d.is_null());
    let Some(patch) = patch else {
        return Ok(dest);
    };
    // Like kyaml's walker: the first source (dest, then patch) whose type
    // has a schema gives it.
    let schema = schema.or_else(|| {
        [dest.as_ref(), Some(patch)]
            .into_iter()
            .flatten()
            .find_map(|probe| {
                let av = probe.str_at(&["apiVersion"])?;
                let kind = probe.str_at(&["kind"])?;
                schemas.for_gvk(&Gvk::new(av, kind))
            })
    });
    let kind_of = |v: &Value| match v {
        Value::Map(_) => 1,
        Value::Seq(_) => 2,
        Value::Null => 0,
        _ => 3,
    };
    let k = dest.as_ref().map_or(0, kind_of);
    let k = if k == 0 { kind_of(patch) } else { k };
    if !patch.is_null() && kind_of(patch) != k {
        return Err(err(format!(
            "wrong node kind: cannot merge {} into {}",
            kind_name(kind_of(patch)),
            kind_name(k)
        )));
    }
    match k {
        2 => merge_list(dest, patch, schema, schemas),
        3 => Ok(if patch.is_null() {
            None
        } else {
            Some(patch.clone())
        }),
        _ => merge_map(dest, patch, schema, schemas),
    }
}

fn kind_name(k: u8) -> &'static str {
    match k {
        1 => "a mapping",
        2 => "a sequence",
        _ => "a scalar",
    }
}

fn map_directive(patch: &Map) -> Result<Directive, Error> {
    match patch.get(DIRECTIVE) {
        None => Ok(Directive::Merge),
        Some(v) => match v.scalar_text().as_deref() {
            Some("delete") => Ok(Directive::Delete),
            Some("replace") => Ok(Directive::Replace),
            Some("merge") => Ok(Directive::Merge),
            other => Err(err(format!(
                "unknown patch strategy '{}'",
                other.unwrap_or_default()
            ))),
        },
    }
}

fn without_directive(m: &Map) -> Map {
    let mut m = m.clone();
    m.remove(DIRECTIVE);
    m
}

fn merge_map(
    dest: Option<Value>,
    patch: &Value,
    schema: Option<Schema<'_>>,
    schemas: Schemas<'_>,
) -> Result<Option<Value>, Error> {
    let Value::Map(pm) = patch else {
        // A null patch: delete.
        return Ok(None);
    };
    let directive = map_directive(pm)?;
    let pm = without_directive(pm);
    let base = match dest {
        None => {
            if directive == Directive::Delete {
                return Ok(None);
            }
            pm.clone()
        }
        Some(Value::Map(dm)) => match directive {
            Directive::Delete => return Ok(None),
            Directive::Replace => pm.clone(),
            Directive::Merge => dm,
        },
        Some(other) => return Ok(Some(other)),
    };
    let mut out = base;
    let mut keys: Vec<String> = out.keys().cloned().collect();
    for k in pm.keys() {
        if !out.contains_key(k) {
            keys.push(k.clone());
        }
    }
    keys.sort();
    for key in keys {
        let Some(pv) = pm.get(&key) else {
            // kyaml walks fields the patch does not touch too: associative
            // lists there lose elements with duplicate keys.
            if let Some(sub) = schema.and_then(|s| s.field(&key))
                && let Some(v) = out.get_mut(&key)
            {
                normalize(v, sub, schemas)?;
            }
            continue;
        };
        let sub = schema.and_then(|s| s.field(&key));
        // Move the destination subtree out (no copy); it is put back merged.
        let dv = out.get_mut(&key).map(|v| std::mem::replace(v, Value::Null));
        match merge(dv, Some(pv), sub, schemas)? {
            Some(v) => out.insert(key, v),
            None => {
                out.remove(&key);
            }
        }
    }
    Ok(Some(Value::Map(out)))
}

/// Leave a dest-only value as kyaml's merge leaves it: associative lists
/// keep one element per key (the last one). Changes nothing, and copies
/// nothing, unless such a list has duplicate keys.
fn normalize(v: &mut Value, schema: Schema<'_>, schemas: Schemas<'_>) -> Result<(), Error> {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                if let Some(sub) = schema.field(k) {
                    normalize(child, sub, schemas)?;
                }
            }
        }
        Value::Seq(items) => {
            if let Some(items_schema) = schema.items() {
                for i in items.iter_mut() {
                    normalize(i, items_schema, schemas)?;
                }
            }
            let (strategy, keys) = schema.strategy_and_keys();
            if !strategy.split(',').any(|s| s == "merge") || keys.is_empty() {
                return Ok(());
            }
            let tuples: Vec<Vec<String>> =
                items.iter().filter_map(|e| key_tuple(e, &keys)).collect();
            let duplicated = tuples
                .iter()
                .enumerate()
                .any(|(i, a)| tuples[i + 1..].iter().any(|b| tuples_match(a, b)));
            if duplicated {
                let list = std::mem::take(items);
                *v = merge_list(
                    Some(Value::Seq(list)),
                    &Value::Seq(Vec::new()),
                    Some(schema),
                    schemas,
                )?
                .unwrap_or(Value::Seq(Vec::new()));
            }
        }
        _ => {}
    }
    Ok(())
}

fn list_directive(patch: &mut Vec<Value>) -> Result<Directive, Error> {
    let pos = patch.iter().position(|e| {
        e.as_map()
            .is_some_and(|m| m.contains_key(DIRECTIVE) && m.len() == 1)
    });
    let Some(pos) = pos else {
        return Ok(Directive::Merge);
    };
    let d = match patch[pos]
        .get(DIRECTIVE)
        .and_then(Value::scalar_text)
        .as_deref()
    {
        Some("delete") => Directive::Delete,
        Some("replace") => Directive::Replace,
        Some("merge") => Directive::Merge,
        other => {
            return Err(err(format!(
                "unknown patch strategy '{}'",
                other.unwrap_or_default()
            )));
        }
    };
    patch.remove(pos);
    Ok(d)
}

fn key_tuple(v: &Value, keys: &[&str]) -> Option<Vec<String>> {
    let m = v.as_map()?;
    Some(
        keys.iter()
            .map(|k| m.get(k).and_then(Value::scalar_text).unwrap_or_default())
            .collect(),
    )
}

fn tuples_match(a: &[String], b: &[String]) -> bool {
    let mut common = false;
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
        } else if !x.is_empty() && !y.is_empty() {
            return false;
        }
    }
    common
}

fn merge_list(
    dest: Option<Value>,
    patch: &Value,
    schema: Option<Schema<'_>>,
    schemas: Schemas<'_>,
) -> Result<Option<Value>, Error> {
    let (strategy, keys) = schema.map_or(("", Vec::new()), Schema::strategy_and_keys);
    let associative = strategy.split(',').any(|s| s == "merge");
    let Value::Seq(pitems) = patch else {
        return Ok(None);
    };
    if !associative {
        return Ok(Some(patch.clone()));
    }
    let mut pitems = pitems.clone();
    let directive = list_directive(&mut pitems)?;
    let mut ditems: Vec<Value> = match (dest, directive) {
        (_, Directive::Delete) => return Ok(None),
        (None, _) | (_, Directive::Replace) => pitems.clone(),
        (Some(Value::Seq(d)), Directive::Merge) => d,
        (Some(other), _) => return Ok(Some(other)),
    };
    let items_schema = schema.and_then(Schema::items);
    if keys.is_empty() {
        // A list of scalars: union, patch values first.
        let mut out: Vec<Value> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for v in pitems.iter().chain(ditems.iter()) {
            let t = v.scalar_text().unwrap_or_default();
            if seen.contains(&t) {
                continue;
            }
            seen.push(t);
            out.push(v.clone());
        }
        return Ok(Some(Value::Seq(out)));
    }
    // Which keys are in use at all.
    let used: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| {
            pitems.iter().chain(ditems.iter()).any(|e| {
                e.get(k)
                    .and_then(Value::scalar_text)
                    .is_some_and(|s| !s.is_empty())
            })
        })
        .collect();
    let keys: Vec<&str> = if used.is_empty() { keys } else { used };
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for e in pitems.iter().chain(ditems.iter()) {
        let Some(t) = key_tuple(e, &keys) else {
            continue;
        };
        if let Some(existing) = tuples.iter_mut().find(|x| tuples_match(x, &t)) {
            for (a, b) in existing.iter_mut().zip(&t) {
                if a.is_empty() {
                    a.clone_from(b);
                }
            }
            continue;
        }
        tuples.push(t);
    }
    // With duplicate keys the last element wins, as in kyaml.
    let dkeys: Vec<Option<Vec<String>>> = ditems.iter().map(|e| key_tuple(e, &keys)).collect();
    let pkeys: Vec<Option<Vec<String>>> = pitems.iter().map(|e| key_tuple(e, &keys)).collect();
    let last_match = |ks: &[Option<Vec<String>>], t: &[String]| {
        ks.iter()
            .rposition(|et| et.as_ref().is_some_and(|et| tuples_match(et, t)))
    };
    let dsel: Vec<Option<usize>> = tuples.iter().map(|t| last_match(&dkeys, t)).collect();
    let mut uses = vec![0usize; ditems.len()];
    for &i in dsel.iter().flatten() {
        uses[i] += 1;
    }
    let mut dsel = dsel.into_iter();
    let mut out: Vec<Value> = Vec::new();
    for t in &tuples {
        // The matching destination element is moved out on its last use
        // (no copy); earlier uses under other tuples get a copy.
        let d = dsel.next().flatten().map(|i| {
            uses[i] -= 1;
            if uses[i] == 0 {
                std::mem::replace(&mut ditems[i], Value::Null)
            } else {
                ditems[i].clone()
            }
        });
        let p = last_match(&pkeys, t).map(|i| &pitems[i]);
        let merged = merge(d, p, items_schema, schemas)?;
        match merged {
            None => {}
            Some(Value::Map(m)) if m.is_empty() => {}
            Some(mut v) => {
                if let Value::Map(m) = &mut v {
                    for (k, val) in keys.iter().zip(t) {
                        if !m.contains_key(k) && !val.is_empty() {
                            m.insert(*k, crate::value::resolve_plain_v3(val));
                        }
                    }
                }
                out.push(v);
            }
        }
    }
    // Elements without any key value cannot be matched; keep them at the end.
    for (e, k) in ditems.into_iter().zip(&dkeys) {
        if k.is_none() {
            out.push(e);
        }
    }
    Ok(Some(Value::Seq(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::yaml::parse_documents;

    fn v(src: &str) -> Value {
        Value::from_node(&parse_documents(src, "t").unwrap()[0].root)
    }

    #[test]
    fn containers_merge_by_name_and_null_deletes() {
        let dest = v(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n      - name: b\n        image: y\n",
        );
        let patch = v(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: null\n  template:\n    spec:\n      containers:\n      - name: b\n        image: z\n",
        );
        let out = merge(Some(dest), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        assert!(out.get_path(&["spec", "replicas"]).is_none());
        let c = out
            .get_path(&["spec", "template", "spec", "containers"])
            .unwrap()
            .as_seq()
            .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].str_at(&["image"]), Some("z"));
    }

    #[test]
    fn delete_directive_removes_element() {
        let dest = v("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n  - name: b\n");
        let patch =
            v("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    $patch: delete\n");
        let out = merge(Some(dest), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        let c = out
            .get_path(&["spec", "containers"])
            .unwrap()
            .as_seq()
            .unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn untouched_associative_lists_drop_duplicate_keys_last_wins() {
        let dest = v(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: 80\n          protocol: TCP\n          name: first\n        - containerPort: 80\n          protocol: TCP\n          name: second\n",
        );
        let patch = v("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    a: b\n");
        let out = merge(Some(dest), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        let ports = out
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(|c| c.as_seq())
            .and_then(|c| c[0].get("ports"))
            .and_then(Value::as_seq)
            .unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].str_at(&["name"]), Some("second"));
    }

    #[test]
    fn untouched_lists_without_duplicates_are_unchanged() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: b\n      - name: a\n";
        let dest = v(src);
        let patch = v("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    a: b\n");
        let out = merge(Some(dest.clone()), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        assert_eq!(out.get("spec"), dest.get("spec"));
    }

    #[test]
    fn a_patch_of_a_known_type_gives_the_schema_for_an_unknown_dest() {
        let dest = v(
            "apiVersion: apps/v1\nkind: MyKind\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n",
        );
        let patch = v(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: b\n",
        );
        let out = merge(Some(dest), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        let c = out
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(Value::as_seq)
            .unwrap();
        assert_eq!(c.len(), 2, "merged by name, not replaced");
    }
}
