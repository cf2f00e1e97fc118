//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: loading,
//! target selection and JSON 6902 operations.

use std::collections::HashMap;

use crate::budget::parse_documents;
use gitops_core::fs::{FileTree, RelPath};
use regex::Regex;

use crate::Error;
use crate::kustomize::loader::{read_in_root, resources_from_text};
use crate::kustomize::smp;
use crate::kustomize::types::{Patch, Selector};
use crate::resource::{ResId, Resource, restring_meta_map};
use crate::schema::Schemas;
use crate::value::{Str, Value};

fn perr(message: impl Into<String>) -> Error {
    Error::Patch {
        message: message.into(),
    }
}

/// Index of resources by name, over current and previous names.
struct ById {
    by_name: HashMap<Str, Vec<usize>>,
}

impl ById {
    fn new(ra: &[Resource]) -> ById {
        let mut by_name: HashMap<Str, Vec<usize>> = HashMap::new();
        for (i, r) in ra.iter().enumerate() {
            let mut names: Vec<Str> = vec![r.name().into()];
            for p in &r.prev {
                if !names.contains(&p.name) {
                    names.push(p.name.clone());
                }
            }
            for n in names {
                by_name.entry(n).or_default().push(i);
            }
        }
        ById { by_name }
    }

    /// kustomize's `GetById`: exactly one resource whose any id equals `id`.
    fn get(&self, ra: &[Resource], id: &ResId) -> Result<usize, Error> {
        let found: Vec<usize> = self
            .by_name
            .get(&id.name)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| ra[i].matches_any_id(id))
                    .collect()
            })
            .unwrap_or_default();
        match found.as_slice() {
            [i] => Ok(*i),
            [] => Err(perr(format!(
                "no matches for Id {id}; failed to find unique target for patch {id}"
            ))),
            _ => Err(perr(format!(
                "multiple matches for Id {id}; failed to find unique target for patch {id}"
            ))),
        }
    }
}

/// How a strategic merge patch reaches its target.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SmpVia {
    /// By the patch's own id (`patches` without `target`): kustomize's
    /// `Resource.ApplySmPatch`, the patch as written.
    Id,
    /// Through `ResMap.ApplySmPatch` (`patches` with a `target`,
    /// `patchesStrategicMerge`): the patch's labels and annotations are
    /// first made string maps (`CopyMergeMetaDataFieldsFrom`), so a null
    /// there sets the text `null` instead of deleting, and an empty map
    /// does nothing.
    ResMap,
}

/// Apply one strategic merge patch to resource `i` (kustomize's `Resource.ApplySmPatch`).
fn apply_smp(
    r: &mut Resource,
    patch: &Resource,
    via: SmpVia,
    allow_name: bool,
    allow_kind: bool,
    schemas: Schemas<'_>,
) -> Result<bool, Error> {
    let name = r.name().to_owned();
    let ns = r.namespace().to_owned();
    let kind = r.kind().to_owned();
    if allow_name || allow_kind {
        r.store_previous_id();
    }
    let mut p = patch.value.clone();
    if let Value::Map(m) = &mut p {
        m.insert("apiVersion", Value::Str(r.api_version().into()));
        if via == SmpVia::ResMap
            && let Some(Value::Map(md)) = m.get_mut("metadata")
        {
            restring_meta_map(md, "labels");
            restring_meta_map(md, "annotations");
        }
    }
    let schema = schemas.for_gvk(&r.gvk());
    // The resource's value is moved into the merge (a delete drops it anyway).
    let merged = smp::merge(
        Some(std::mem::replace(&mut r.value, Value::Null)),
        Some(&p),
        schema,
        schemas,
    )?;
    match merged {
        None => Ok(false),
        Some(Value::Map(m)) if m.is_empty() => Ok(false),
        Some(v) => {
            r.value = v;
            if !allow_kind && let Value::Map(m) = &mut r.value {
                m.insert("kind", Value::Str(kind.into()));
            }
            if !allow_name {
                r.set_name(&name);
            }
            r.set_namespace(&ns);
            Ok(true)
        }
    }
}

/// After a JSON patch kustomize sets the resource's annotations again
/// (`SetAnnotations(GetAnnotations())`): strings, and gone when empty.
fn restring_annotations(r: &mut Resource) {
    if let Some(Value::Map(md)) = r.value.get_path_mut(&["metadata"]) {
        restring_meta_map(md, "annotations");
    }
}

/// kustomize's `[patch: "…"]` / `[path: "…"]` in messages.
fn patch_source(p: &Patch, text: &str) -> String {
    if p.path.is_empty() {
        format!("[patch: {text:?}]")
    } else {
        format!("[path: {:?}]", p.path)
    }
}

fn load_patch_text(tree: &dyn FileTree, dir: &RelPath, p: &Patch) -> Result<String, Error> {
    match (p.path.is_empty(), p.patch.is_empty()) {
        (false, true) => Ok(read_in_root(tree, dir, &p.path)?.1),
        (true, false) => Ok(p.patch.clone()),
        (false, false) => Err(perr("patch and path can't be set at the same time")),
        (true, true) => Err(perr("must specify one of patch and path in patches")),
    }
}

/// `patchesStrategicMerge`: each entry a file or inline YAML; targets by id.
pub(crate) fn apply_strategic_merge_patches(
    tree: &dyn FileTree,
    dir: &RelPath,
    entries: &[String],
    ra: &mut Vec<Resource>,
    schemas: Schemas<'_>,
) -> Result<(), Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut patches = Vec::new();
    for e in entries {
        let loaded = match read_in_root(tree, dir, e) {
            Ok((path, text)) => {
                resources_from_text(&text, &crate::kustomize::loader::display(&path))?
            }
            Err(file_err) => match resources_from_text(e, "inline patch") {
                Ok(r) if !r.is_empty() => r,
                _ => return Err(file_err),
            },
        };
        patches.extend(loaded);
    }
    for patch in &patches {
        let index = ById::new(ra);
        let target = index.get(ra, &patch.cur_id())?;
        if !apply_smp(
            &mut ra[target],
            patch,
            SmpVia::ResMap,
            false,
            false,
            schemas,
        )? {
            ra.remove(target);
        }
    }
    Ok(())
}

/// `patches`: strategic merge or JSON 6902, file or inline, optional target.
pub(crate) fn apply_patches(
    tree: &dyn FileTree,
    dir: &RelPath,
    patches: &[Patch],
    ra: &mut Vec<Resource>,
    schemas: Schemas<'_>,
) -> Result<(), Error> {
    for p in patches {
        let mut text = load_patch_text(tree, dir, p)?;
        if p.path.is_empty() {
            // kustomize's PatchTransformer trims an inline patch, so a
            // block scalar that ends it loses its final line break.
            text = text.trim().to_owned();
            if text.is_empty() {
                return Err(perr("must specify one of patch and path in patches"));
            }
        }
        let json_ops = json_ops_from_text(&text);
        let smps = match &json_ops {
            Ok(_) => None,
            Err(_) => Some(resources_from_text(&text, "patch")),
        };
        match (json_ops, smps) {
            (Ok(ops), _) => {
                let Some(target) = &p.target else {
                    return Err(perr(format!("must specify a target for JSON patch {text}")));
                };
                let selected = select(ra, target)?;
                on_targets(ra, &selected, |r| {
                    r.store_previous_id();
                    apply_json_ops(&mut r.value, &ops)?;
                    restring_annotations(r);
                    Ok(())
                })?;
            }
            (Err(_), Some(Ok(smps))) if !smps.is_empty() => {
                if p.target.is_some() && smps.len() > 1 {
                    return Err(perr(format!(
                        "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {}",
                        patch_source(p, &text)
                    )));
                }
                let via = if p.target.is_some() {
                    SmpVia::ResMap
                } else {
                    SmpVia::Id
                };
                for patch in &smps {
                    let targets = match &p.target {
                        None => vec![ById::new(ra).get(ra, &patch.cur_id())?],
                        Some(sel) => select(ra, sel)?,
                    };
                    let kept = on_targets(ra, &targets, |r| {
                        apply_smp(
                            r,
                            patch,
                            via,
                            p.allow_name_change,
                            p.allow_kind_change,
                            schemas,
                        )
                    })?;
                    let removed = targets.iter().zip(kept).filter(|(_, kept)| !kept);
                    for (&i, _) in removed.rev() {
                        ra.remove(i);
                    }
                }
            }
            _ => {
                return Err(perr(format!(
                    "unable to parse SM or JSON patch from {}",
                    if p.path.is_empty() { &text } else { &p.path }
                )));
            }
        }
    }
    Ok(())
}

/// `patchesJson6902`: JSON patch operations on the target.
pub(crate) fn apply_json6902_patches(
    tree: &dyn FileTree,
    dir: &RelPath,
    patches: &[Patch],
    ra: &mut [Resource],
) -> Result<(), Error> {
    for p in patches {
        let Some(target) = &p.target else {
            return Err(perr("must specify the target field in patchesJson6902"));
        };
        let text = load_patch_text(tree, dir, p)?;
        let ops = json_ops_from_text(&text)?;
        for i in select(ra, target)? {
            ra[i].store_previous_id();
            apply_json_ops(&mut ra[i].value, &ops)?;
            restring_annotations(&mut ra[i]);
        }
    }
    Ok(())
}

fn anchored(pattern: &str) -> Result<Option<Regex>, Error> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| perr(format!("invalid target selector {pattern:?}: {e}")))
}

/// kustomize's `ResMap.Select`.
/// Run `f` on each resource at `targets`, on the available cores when
/// there are many (each patch application changes its own resource only);
/// the results come back in the order of `targets`, and the error of the
/// first target that failed wins, as when they run one after the other.
fn on_targets<T: Send>(
    ra: &mut [Resource],
    targets: &[usize],
    f: impl Fn(&mut Resource) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, Error> {
    /// Fewer targets than this are patched on the calling thread.
    const PARALLEL_MIN: usize = 256;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let ascending = targets.windows(2).all(|w| w[0] < w[1]);
    if threads < 2 || targets.len() < PARALLEL_MIN || !ascending {
        return targets.iter().map(|&i| f(&mut ra[i])).collect();
    }
    // Disjoint borrows of the targets, in order.
    let mut picked: Vec<&mut Resource> = Vec::with_capacity(targets.len());
    let mut want = targets.iter().copied().peekable();
    for (i, r) in ra.iter_mut().enumerate() {
        if want.peek() == Some(&i) {
            picked.push(r);
            want.next();
        }
    }
    let chunk = picked.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Vec<Result<T, Error>>> = std::thread::scope(|s| {
        let handles: Vec<_> = picked
            .chunks_mut(chunk)
            .map(|part| {
                std::thread::Builder::new()
                    .name("kustomize-patch".into())
                    .stack_size(8 << 20)
                    .spawn_scoped(s, move || part.iter_mut().map(|r| f(r)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(e) => vec![Err(perr(format!("cannot start a patch thread: {e}")))],
            })
            .collect()
    });
    parts.into_iter().flatten().collect()
}

pub(crate) fn select(ra: &[Resource], s: &Selector) -> Result<Vec<usize>, Error> {
    let name = anchored(&s.name)?;
    let ns = anchored(&s.namespace)?;
    let group = anchored(&s.group)?;
    let version = anchored(&s.version)?;
    let kind = anchored(&s.kind)?;
    let labels = parse_selector(&s.label_selector)?;
    let annotations = parse_selector(&s.annotation_selector)?;
    let m = |re: &Option<Regex>, v: &str| re.as_ref().is_none_or(|r| r.is_match(v));
    let mut out = Vec::new();
    // Every test is a pure predicate: the cheap ones (borrowed ids) go
    // first, the label and annotation maps are read only when selected on.
    for (i, r) in ra.iter().enumerate() {
        let cur = r.id_ref();
        if !m(&group, cur.group) || !m(&version, cur.version) || !m(&kind, cur.kind) {
            continue;
        }
        let (_, org_name, org_ns) = r.org_parts();
        if !m(&ns, org_ns) && !m(&ns, cur.effective_namespace()) {
            continue;
        }
        if !m(&name, org_name) && !m(&name, cur.name) {
            continue;
        }
        if (!labels.is_empty() && !matches_selector(&labels, &r.labels()))
            || (!annotations.is_empty() && !matches_selector(&annotations, &r.annotations()))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

pub(crate) enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

pub(crate) fn parse_selector(s: &str) -> Result<Vec<Req>, Error> {
    let mut reqs = Vec::new();
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    for part in parts {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        let list = |rest: &str| -> Vec<String> {
            rest.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        };
        if let Some((k, v)) = p.split_once("!=") {
            reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==") {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once('=') {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, rest)) = p.split_once(" notin ") {
            reqs.push(Req::NotIn(k.trim().into(), list(rest)));
        } else if let Some((k, rest)) = p.split_once(" in ") {
            reqs.push(Req::In(k.trim().into(), list(rest)));
        } else if let Some(k) = p.strip_prefix('!') {
            reqs.push(Req::NotExists(k.trim().into()));
        } else if p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            reqs.push(Req::Exists(p.into()));
        } else {
            return Err(perr(format!("unable to parse selector {s:?}")));
        }
    }
    Ok(reqs)
}

pub(crate) fn matches_selector(reqs: &[Req], pairs: &[(String, String)]) -> bool {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => get(k) == Some(v.as_str()),
        Req::Ne(k, v) => get(k) != Some(v.as_str()),
        Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        Req::Exists(k) => get(k).is_some(),
        Req::NotExists(k) => get(k).is_none(),
    })
}

/// One JSON 6902 operation.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    op: String,
    path: String,
    from: String,
    value: Option<Value>,
}

/// Parse JSON 6902 operations from YAML or JSON text.
pub(crate) fn json_ops_from_text(text: &str) -> Result<Vec<Op>, Error> {
    let docs = parse_documents(text, "json patch")?;
    let src = crate::value::Source::new(text);
    let Some(doc) = docs.into_iter().find(|d| !d.is_empty()) else {
        return Err(perr("empty JSON patch"));
    };
    let v = Value::from_node_in(doc.root, &src);
    let Value::Seq(items) = v else {
        return Err(perr("a JSON patch must be a list of operations"));
    };
    let mut ops = Vec::new();
    for item in items {
        let Value::Map(m) = &item else {
            return Err(perr("a JSON patch operation must be a mapping"));
        };
        let s = |k: &str| m.get(k).and_then(Value::scalar_text).unwrap_or_default();
        let op = s("op");
        if !matches!(
            op.as_str(),
            "add" | "remove" | "replace" | "move" | "copy" | "test"
        ) {
            return Err(perr(format!("unexpected JSON patch operation {op:?}")));
        }
        ops.push(Op {
            op,
            path: s("path"),
            from: s("from"),
            value: m.get("value").cloned(),
        });
    }
    Ok(ops)
}

fn pointer(path: &str) -> Result<Vec<String>, Error> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(perr(format!("invalid JSON pointer {path:?}")));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn missing(path: &str) -> Error {
    perr(format!(
        "unable to apply JSON patch: doc is missing path: {path:?}"
    ))
}

fn parent_mut<'a>(doc: &'a mut Value, toks: &[String], path: &str) -> Result<&'a mut Value, Error> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Map(m) => m.get_mut(t).ok_or_else(|| missing(path))?,
            Value::Seq(s) => {
                let i: usize = t.parse().map_err(|_| missing(path))?;
                s.get_mut(i).ok_or_else(|| missing(path))?
            }
            _ => return Err(missing(path)),
        };
    }
    Ok(cur)
}

fn get_value(doc: &Value, path: &str) -> Result<Value, Error> {
    let toks = pointer(path)?;
    let mut cur = doc;
    for t in &toks {
        cur = match cur {
            Value::Map(m) => m.get(t).ok_or_else(|| missing(path))?,
            Value::Seq(s) => s
                .get(t.parse::<usize>().map_err(|_| missing(path))?)
                .ok_or_else(|| missing(path))?,
            _ => return Err(missing(path)),
        };
    }
    Ok(cur.clone())
}

fn add(doc: &mut Value, path: &str, value: Value, replace: bool) -> Result<(), Error> {
    let toks = pointer(path)?;
    let Some((last, parents)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = parent_mut(doc, parents, path)?;
    match parent {
        // evanphx/json-patch v4 (kustomize's) replaces a missing object
        // key by adding it; only its parent must exist.
        Value::Map(m) => m.insert(last.clone(), value),
        Value::Seq(s) => {
            if last == "-" && !replace {
                s.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| missing(path))?;
                if replace {
                    *s.get_mut(i).ok_or_else(|| missing(path))? = value;
                } else if i <= s.len() {
                    s.insert(i, value);
                } else {
                    return Err(missing(path));
                }
            }
        }
        _ => return Err(missing(path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, Error> {
    let toks = pointer(path)?;
    let Some((last, parents)) = toks.split_last() else {
        return Err(missing(path));
    };
    match parent_mut(doc, parents, path)? {
        Value::Map(m) => m.remove(last).ok_or_else(|| missing(path)),
        Value::Seq(s) => {
            let i: usize = last.parse().map_err(|_| missing(path))?;
            if i < s.len() {
                Ok(s.remove(i))
            } else {
                Err(missing(path))
            }
        }
        _ => Err(missing(path)),
    }
}

/// Apply JSON 6902 operations to a document.
pub(crate) fn apply_json_ops(doc: &mut Value, ops: &[Op]) -> Result<(), Error> {
    for op in ops {
        let value = || {
            op.value.clone().ok_or_else(|| {
                perr(format!(
                    "JSON patch {} at {:?} needs a value",
                    op.op, op.path
                ))
            })
        };
        match op.op.as_str() {
            "add" => add(doc, &op.path, value()?, false)?,
            "replace" => add(doc, &op.path, value()?, true)?,
            "remove" => {
                remove(doc, &op.path)?;
            }
            "move" => {
                let v = remove(doc, &op.from)?;
                add(doc, &op.path, v, false)?;
            }
            "copy" => {
                let v = get_value(doc, &op.from)?;
                add(doc, &op.path, v, false)?;
            }
            "test" if get_value(doc, &op.path)? != value()? => {
                return Err(perr(format!("JSON patch test failed at {:?}", op.path)));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_maps(n: usize) -> Vec<Resource> {
        (0..n)
            .map(|i| {
                let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n");
                resources_from_text(&text, "t").unwrap().remove(0)
            })
            .collect()
    }

    /// Many targets are patched on several threads: the results come back
    /// in target order, every target is changed once, and the first
    /// failing target's error wins.
    #[test]
    fn many_targets_in_order_first_error_wins() {
        let mut ra = config_maps(700);
        let targets: Vec<usize> = (0..700).filter(|i| i % 2 == 1).collect();
        let names = on_targets(&mut ra, &targets, |r| {
            r.metadata_mut().insert("patched", Value::Bool(true));
            Ok(r.name().to_owned())
        })
        .unwrap();
        let expected: Vec<String> = targets.iter().map(|i| format!("cm-{i}")).collect();
        assert_eq!(names, expected);
        for (i, r) in ra.iter().enumerate() {
            let patched = r.value.get_path(&["metadata", "patched"]).is_some();
            assert_eq!(patched, i % 2 == 1, "cm-{i}");
        }
        let e = on_targets(&mut ra, &targets, |r| match r.name() {
            "cm-101" | "cm-601" => Err(perr(r.name().to_owned())),
            _ => Ok(()),
        })
        .unwrap_err();
        assert!(e.to_string().contains("cm-101"), "{e}");
    }

    #[test]
    fn json_ops_add_replace_remove() {
        let mut doc = Value::from_node(
            &parse_documents("spec:\n  a: [1, 2]\n  b: x\n", "t").unwrap()[0].root,
        );
        let ops = json_ops_from_text(
            "- op: add\n  path: /spec/a/-\n  value: 3\n- op: replace\n  path: /spec/b\n  value: y\n- op: remove\n  path: /spec/a/0\n",
        )
        .unwrap();
        apply_json_ops(&mut doc, &ops).unwrap();
        assert_eq!(
            doc.get_path(&["spec", "a"]),
            Some(&Value::Seq(thin_vec::thin_vec![
                Value::Int(2),
                Value::Int(3)
            ]))
        );
        assert_eq!(doc.str_at(&["spec", "b"]), Some("y"));
        // A missing object key is added, as evanphx/json-patch v4 does; a
        // missing parent or list index fails.
        let add = json_ops_from_text("- op: replace\n  path: /nope\n  value: 1\n").unwrap();
        apply_json_ops(&mut doc, &add).unwrap();
        assert_eq!(doc.get("nope"), Some(&Value::Int(1)));
        for bad in ["/no/parent", "/spec/a/7"] {
            let ops =
                json_ops_from_text(&format!("- op: replace\n  path: {bad}\n  value: 1\n")).unwrap();
            assert!(apply_json_ops(&mut doc, &ops).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_selectors() {
        let pairs = vec![("app".to_owned(), "web".to_owned())];
        assert!(matches_selector(
            &parse_selector("app=web").unwrap(),
            &pairs
        ));
        assert!(matches_selector(
            &parse_selector("app in (web, db)").unwrap(),
            &pairs
        ));
        assert!(!matches_selector(
            &parse_selector("app!=web").unwrap(),
            &pairs
        ));
        assert!(matches_selector(&parse_selector("!tier").unwrap(), &pairs));
    }
}
