//! Strategic merge patch with kustomize's (kyaml `merge2`) semantics.
//!
//! Maps merge field by field (`null` deletes), lists with a `merge` patch
//! strategy in the schema merge element by element on their merge keys (new
//! and patched elements first, as kustomize prepends), other lists are
//! replaced. `$patch: delete|replace|merge` directives work on maps and lists.
//!
//! Like kyaml's walker, the merge visits what the patch leaves alone too:
//! every mapping reached through mappings and merge-keyed lists loses the
//! fields written with no value (`key:`; a written `null` or `~` stays), and
//! merge-keyed lists there are rebuilt (one element per key).

use crate::Error;
use crate::resource::Gvk;
use crate::schema::{Schema, Schemas};
use crate::value::{Map, Seq, Str, Value};

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
        let Some(mut d) = dest else {
            return Ok(None);
        };
        walk_untouched(&mut d, schema, schemas)?;
        return Ok(Some(d));
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
    out.remove_empty_nulls();
    let mut keys: Vec<Str> = out.keys().map(Str::from).collect();
    for k in pm.keys() {
        if !out.contains_key(k) {
            keys.push(k.into());
        }
    }
    keys.sort();
    for key in keys {
        let Some(pv) = pm.get(&key) else {
            if let Some(v) = out.get_mut(&key) {
                walk_untouched(v, schema.and_then(|s| s.field(&key)), schemas)?;
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

/// Leave a value the patch does not touch as kyaml's walker leaves it:
/// mappings lose their fields written with no value, merge-keyed lists are
/// merged with nothing (one element per key, the last one); other lists and
/// scalars stay as they are.
fn walk_untouched(
    v: &mut Value,
    schema: Option<Schema<'_>>,
    schemas: Schemas<'_>,
) -> Result<(), Error> {
    match v {
        Value::Map(m) => {
            m.remove_empty_nulls();
            for (k, child) in m.iter_mut() {
                if matches!(child, Value::Map(_) | Value::Seq(_)) {
                    walk_untouched(child, schema.and_then(|s| s.field(k)), schemas)?;
                }
            }
        }
        Value::Seq(items) => {
            let Some(schema) = schema else {
                return Ok(());
            };
            let (strategy, keys) = schema.strategy_and_keys();
            if !strategy.split(',').any(|s| s == "merge") {
                return Ok(());
            }
            if keys.is_empty() {
                // A list of scalars merged with nothing is itself.
                return Ok(());
            }
            let list = std::mem::take(items);
            *items = merge_keyed(list, &[], &keys, schema.items(), schemas)?;
        }
        _ => {}
    }
    Ok(())
}

fn list_directive(patch: &mut Seq) -> Result<Directive, Error> {
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
    let ditems: Seq = match (dest, directive) {
        (_, Directive::Delete) => return Ok(None),
        (None, _) | (_, Directive::Replace) => pitems.clone(),
        (Some(Value::Seq(d)), Directive::Merge) => d,
        (Some(other), _) => return Ok(Some(other)),
    };
    let items_schema = schema.and_then(Schema::items);
    if keys.is_empty() {
        // A list of scalars: union, patch values first.
        let mut out = Seq::new();
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
    let out = merge_keyed(ditems, &pitems, &keys, items_schema, schemas)?;
    Ok(Some(Value::Seq(out)))
}

/// kyaml's `ElementValuesList` for one element: each merge key's text, `""`
/// when the field is missing, null or empty.
fn key_values(e: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| match e.get(k) {
            None => String::new(),
            Some(Value::Map(m)) if m.is_empty() => String::new(),
            Some(Value::Seq(s)) if s.is_empty() => String::new(),
            Some(v) => v.scalar_text().unwrap_or_default(),
        })
        .collect()
}

/// The text of field `key` of a list element (its node's `Value`: a null
/// as written, a collection `""`), when the element is a mapping with it.
fn field_text(e: &Value, key: &str) -> Option<String> {
    let m = e.as_map()?;
    let v = m.get(key)?;
    Some(match m.null_text(key) {
        Some(t) => t.to_owned(),
        None => v.scalar_text().unwrap_or_default(),
    })
}

/// kyaml's `FieldMatcher{Name: key, StringValue: value}` (`ElementSetter`):
/// the element has the field and, unless `value` is empty, with that text.
fn field_matches(e: &Value, key: &str, value: &str) -> bool {
    field_text(e, key).is_some_and(|t| value.is_empty() || t == value)
}

/// kyaml's `ElementMatcher` (`MatchField`): the first mapping element whose
/// fields have exactly these texts, an empty one included.
fn find_element(items: &[Value], keys: &[&str], values: &[String]) -> Option<usize> {
    items.iter().position(|e| {
        keys.iter()
            .zip(values)
            .all(|(k, v)| field_text(e, k).is_some_and(|t| &t == v))
    })
}

/// kyaml's `validateKeys`: the keys some tuple of `all` gives a value, with
/// `values` at those keys; every key when none has a value.
fn validate_keys<'k>(
    all: &[Vec<String>],
    values: &[String],
    keys: &[&'k str],
) -> (Vec<&'k str>, Vec<String>) {
    let used: Vec<bool> = (0..keys.len())
        .map(|i| all.iter().any(|t| t.get(i).is_some_and(|v| !v.is_empty())))
        .collect();
    if !used.contains(&true) {
        return (keys.to_vec(), values.to_vec());
    }
    let pick = |i: usize| used[i];
    (
        (0..keys.len())
            .filter(|&i| pick(i))
            .map(|i| keys[i])
            .collect(),
        (0..values.len().min(keys.len()))
            .filter(|&i| pick(i))
            .map(|i| values[i].clone())
            .collect(),
    )
}

/// kyaml's `match`: two tuples agree when no key has two different values
/// and at least one key has the same (possibly empty) value; the result
/// fills each empty value from the other tuple.
fn tuples_agree(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// kyaml's `ElementSetter` on a list: elements matching `keys`/`values`
/// are replaced by `element` (or deleted when it is `None`), which is
/// appended when nothing matched. Null and empty-mapping elements are
/// dropped on the way; with no values at all, so is every element.
fn element_setter(list: &mut Seq, keys: &[&str], values: &[String], element: Option<&Value>) {
    let mapping_setter = keys.first().is_some_and(|k| !k.is_empty())
        && values.first().is_some_and(|v| !v.is_empty());
    let mut matched = false;
    let old = std::mem::take(list);
    for e in old {
        if e.is_null() || e.as_map().is_some_and(Map::is_empty) {
            continue;
        }
        if e.as_map().is_none() && mapping_setter {
            list.push(e);
            continue;
        }
        let mut found = false;
        let mut all = true;
        for (j, k) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                found = field_matches(&e, k, v);
            }
            if !found {
                all = false;
                break;
            }
        }
        if !all {
            if !values.is_empty() {
                list.push(e);
            }
            continue;
        }
        matched = true;
        if let Some(el) = element {
            list.push(el.clone());
        }
    }
    if let Some(el) = element
        && !el.is_null()
        && !matched
    {
        list.push(el.clone());
    }
}

/// kyaml's `setAssociativeSequenceElements` and `appendListNode` for a list
/// with merge keys: the patch's elements merged into the destination's by
/// their key values, new elements first.
fn merge_keyed(
    mut dest: Seq,
    patch: &[Value],
    keys: &[&str],
    items_schema: Option<Schema<'_>>,
    schemas: Schemas<'_>,
) -> Result<Seq, Error> {
    // Patch tuples first (kustomize prepends), then the destination's.
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for e in patch.iter().chain(dest.iter()) {
        let t = key_values(e, keys);
        if !tuples.contains(&t) {
            tuples.push(t);
        }
    }
    if tuples.is_empty() {
        return Ok(dest);
    }
    if keys.len() > 1 {
        for i in 0..tuples.len() {
            for j in 0..tuples.len() {
                if let Some(m) = tuples_agree(&tuples[i], &tuples[j]) {
                    tuples[i].clone_from(&m);
                    tuples[j] = m;
                }
            }
        }
    }
    let mut added = Seq::new();
    let mut valid_keys: Vec<&str> = keys.to_vec();
    for t in &tuples {
        let (vk, vv) = validate_keys(&tuples, t, keys);
        valid_keys.clone_from(&vk);
        let (mk, mv) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
        let d = find_element(&dest, &mk, &mv);
        let p = find_element(patch, &mk, &mv).map(|i| &patch[i]);
        // A merge changes the destination element itself (kyaml merges in
        // place); a replace or a new element does not.
        let in_place = d.is_some()
            && p.is_none_or(|p| {
                p.as_map()
                    .is_some_and(|m| matches!(map_directive(m), Ok(Directive::Merge)))
            });
        let dv = d.map(|i| {
            if in_place {
                std::mem::replace(&mut dest[i], Value::Null)
            } else {
                dest[i].clone()
            }
        });
        let merged = merge(dv, p, items_schema, schemas)?;
        let mut v = match merged {
            Some(v) if !v.is_null() && !v.as_map().is_some_and(Map::is_empty) => v,
            _ => {
                element_setter(&mut dest, &vk, &vv, None);
                continue;
            }
        };
        if let Value::Map(m) = &mut v {
            for (k, val) in vk.iter().zip(&vv) {
                if !m.contains_key(k) && !val.is_empty() {
                    m.insert(*k, crate::value::resolve_plain_v3(val));
                }
            }
        }
        element_setter(&mut added, &vk, &vv, Some(&v));
        if let (true, Some(i)) = (in_place, d) {
            dest[i] = v;
        }
    }
    // appendListNode: each destination element (merged ones included)
    // set into the new ones, by its own key values.
    for e in dest {
        let mut values = Vec::new();
        for k in &valid_keys {
            match e.get(k) {
                Some(v) => values.push(v.scalar_text().unwrap_or_default()),
                None => added.push(e.clone()),
            }
        }
        if valid_keys.len() > 1 {
            element_setter(&mut added, &valid_keys, &values, None);
        }
        element_setter(&mut added, &valid_keys, &values, Some(&e));
    }
    Ok(added)
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

    #[test]
    fn a_port_patch_must_give_every_key_the_list_uses() {
        let dest = v(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 1\n      protocol: TCP\n    - containerPort: 2\n      protocol: TCP\n",
        );
        let ports = |patch: &str| {
            let out = merge(Some(dest.clone()), Some(&v(patch)), None, Schemas::Builtin)
                .unwrap()
                .unwrap();
            out.get_path(&["spec", "containers"])
                .and_then(Value::as_seq)
                .and_then(|c| c[0].get("ports"))
                .and_then(Value::as_seq)
                .map_or(0, |s| s.len())
        };
        let delete = |keys: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    ports:\n    - {keys}\n      $patch: delete\n"
            )
        };
        assert_eq!(ports(&delete("containerPort: 1")), 2);
        assert_eq!(ports(&delete("containerPort: 1\n      protocol: TCP")), 1);
    }

    #[test]
    fn fields_written_empty_go_where_the_merge_walks() {
        let src = "apiVersion: v1\nkind: Pod\nspec:\n  a:\n  b: null\n  c: ~\n  containers:\n  - name: x\n    image:\n    command:\n    - x:\n";
        let doc = &parse_documents(src, "t").unwrap()[0].root;
        let dest = Value::from_node_in(doc.clone(), &crate::value::Source::new(src));
        let patch = v("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {l: v}\n");
        let out = merge(Some(dest), Some(&patch), None, Schemas::Builtin)
            .unwrap()
            .unwrap();
        let spec = out.get("spec").and_then(Value::as_map).unwrap();
        let kept: Vec<&str> = spec.keys().collect();
        assert_eq!(kept, ["b", "c", "containers"]);
        let c = &spec.get("containers").and_then(Value::as_seq).unwrap()[0];
        assert!(c.get("image").is_none());
        // Not inside a list without merge keys.
        assert!(
            c.get("command").and_then(Value::as_seq).unwrap()[0]
                .get("x")
                .is_some()
        );
    }
}
