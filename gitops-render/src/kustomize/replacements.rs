//! `replacements`: copy a value from one resource field (or a literal) into
//! fields of other resources, as kustomize's replacement filter does
//! (kustomize v5.7.1 `api/filters/replacement`).
//!
//! Entry points: [`load`] resolves the `path:` entries of a `replacements`
//! list (read by [`replacement_fields`](crate::kustomize::kustomization::replacement_fields))
//! to replacements, and [`apply_replacements`] runs them over the resources.

use crate::budget::parse_documents;
use gitops_core::fs::{FileTree, RelPath};
use regex::Regex;

use crate::Error;
use crate::kustomize::decode::Obj;
use crate::kustomize::kustomization::replacement;
use crate::kustomize::loader::read_in_root;
use crate::kustomize::patch::{matches_selector, parse_selector};
use crate::kustomize::types::{
    FieldOptions, Replacement, ReplacementField, Selector, SourceSelector, TargetSelector,
};
use crate::resource::{Gvk, ResId, Resource};
use crate::value::{Map, Value, resolve_plain_v3};

/// kustomize's default field path of sources and targets.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

fn terr(message: impl Into<String>) -> Error {
    Error::Transform {
        message: message.into(),
    }
}

/// Resolve `path:` entries (files in or below `dir`) into replacements.
/// A file holds one replacement (a mapping) or a list of them.
pub(crate) fn load(
    tree: &dyn FileTree,
    dir: &RelPath,
    fields: &[ReplacementField],
) -> Result<Vec<Replacement>, Error> {
    let mut out = Vec::new();
    for f in fields {
        match f {
            ReplacementField::Inline(r) => out.push((**r).clone()),
            ReplacementField::Path(p) => {
                let (path, text) = read_in_root(tree, dir, p)?;
                let origin = crate::kustomize::loader::display(&path);
                let docs = parse_documents(&text, &origin)?;
                let root = docs
                    .into_iter()
                    .next()
                    .map(|d| Value::from_node(&d.root))
                    .unwrap_or(Value::Null);
                // kustomize decodes these files leniently (unknown fields ignored).
                match &root {
                    Value::Seq(items) => {
                        for item in items {
                            let mut o = Obj::new(item, &origin, "replacement")?;
                            out.push(replacement(&mut o, &origin, false)?);
                        }
                    }
                    Value::Map(_) => {
                        let mut o = Obj::new(&root, &origin, "replacement")?;
                        out.push(replacement(&mut o, &origin, false)?);
                    }
                    other => {
                        return Err(Error::Kustomization {
                            file: origin,
                            message: format!(
                                "unsupported replacement type encountered within replacement path: {}",
                                go_kind(other)
                            ),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "float64",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Seq(_) => "slice",
        Value::Map(_) => "map",
    }
}

/// Load and apply a kustomization's `replacements` (its last transformer).
pub(crate) fn run(
    tree: &dyn FileTree,
    dir: &RelPath,
    fields: &[ReplacementField],
    ra: &mut [Resource],
) -> Result<(), Error> {
    if fields.is_empty() {
        return Ok(());
    }
    let list = load(tree, dir, fields)?;
    apply_replacements(ra, &list)
}

/// Apply `replacements` in order to `resources` (kustomize's replacement
/// filter). Fails when a source matches no resource or several, when a
/// source field is missing, or when a selected target lacks a field path
/// (unless `create`).
pub(crate) fn apply_replacements(
    resources: &mut [Resource],
    replacements: &[Replacement],
) -> Result<(), Error> {
    for r in replacements {
        let Some(targets) = &r.targets else {
            return Err(terr(
                "replacements must specify a source and at least one target",
            ));
        };
        if r.source.is_none() && r.source_value.is_none() {
            return Err(terr(
                "replacements must specify a source and at least one target",
            ));
        }
        let value = source_value(resources, r)?;
        for t in targets {
            apply_target(resources, &value, t)?;
        }
    }
    Ok(())
}

/// All ids of a resource: current first, then previous ones.
fn all_ids(r: &Resource) -> Vec<ResId> {
    let mut ids = vec![r.cur_id()];
    ids.extend(r.prev_ids());
    ids
}

/// kyaml's `ResId.IsSelectedBy` (exact, not regular expressions).
fn is_selected_by(id: &ResId, s: &Selector) -> bool {
    let sel_gvk = Gvk {
        group: s.group.as_str().into(),
        version: s.version.as_str().into(),
        kind: s.kind.as_str().into(),
    };
    if !s.name.is_empty() && s.name != id.name {
        return false;
    }
    if !s.namespace.is_empty() {
        let sel = ResId {
            gvk: sel_gvk.clone(),
            name: s.name.as_str().into(),
            namespace: s.namespace.as_str().into(),
        };
        if sel.effective_namespace() != id.effective_namespace() {
            return false;
        }
    }
    id.gvk.is_selected(&sel_gvk)
}

fn id_is_empty(s: &Selector) -> bool {
    s.group.is_empty()
        && s.version.is_empty()
        && s.kind.is_empty()
        && s.name.is_empty()
        && s.namespace.is_empty()
}

/// kustomize's `ResId.String()` of a selector.
fn selector_id_string(s: &Selector) -> String {
    ResId {
        gvk: Gvk {
            group: s.group.as_str().into(),
            version: s.version.as_str().into(),
            kind: s.kind.as_str().into(),
        },
        name: s.name.as_str().into(),
        namespace: s.namespace.as_str().into(),
    }
    .to_string()
}

fn source_string(s: &SourceSelector) -> String {
    let mut parts = vec![selector_id_string(&s.id)];
    if !s.field_path.is_empty() {
        parts.push(s.field_path.clone());
    }
    if let Some(o) = &s.options
        && (!o.delimiter.is_empty() || o.create)
    {
        parts.push(format!("{}({}), create={}", o.delimiter, o.index, o.create));
    }
    parts.join(":")
}

/// The value to copy: a typed value plus its scalar text (node `Value`).
struct Source {
    value: Value,
    text: String,
}

fn source_value(resources: &[Resource], r: &Replacement) -> Result<Source, Error> {
    if r.source.is_some() && r.source_value.is_some() {
        return Err(terr("value and resource selectors are mutually exclusive"));
    }
    if let Some(sv) = &r.source_value {
        // A new untagged scalar: its type is read from its text.
        return Ok(Source {
            value: resolve_plain_v3(sv),
            text: sv.clone(),
        });
    }
    let Some(s) = &r.source else {
        return Err(terr(
            "replacements must specify a source and at least one target",
        ));
    };
    let mut found: Option<usize> = None;
    for (i, res) in resources.iter().enumerate() {
        if all_ids(res).iter().any(|id| is_selected_by(id, &s.id)) {
            if found.is_some() {
                return Err(terr(format!(
                    "multiple matches for selector {}",
                    source_string(s)
                )));
            }
            found = Some(i);
        }
    }
    let Some(i) = found else {
        return Err(terr(format!("nothing selected by {}", source_string(s))));
    };
    let fp = if s.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &s.field_path
    };
    let parts = split_path(fp);
    let node = lookup(&resources[i].value, &parts)
        .map_err(|e| terr(format!("error looking up replacement source: {e}")))?;
    let node = match node {
        Some(n) if !is_nil_or_empty(n) => n,
        _ => {
            return Err(terr(format!(
                "fieldPath `{fp}` is missing for replacement source {}",
                selector_id_string(&s.id)
            )));
        }
    };
    let mut src = Source {
        value: node.clone(),
        text: node.scalar_text().unwrap_or_default(),
    };
    if let Some(o) = &s.options
        && !o.delimiter.is_empty()
    {
        if !is_scalar(node) {
            return Err(terr("delimiter option can only be used with scalar nodes"));
        }
        let parts: Vec<&str> = src.text.split(o.delimiter.as_str()).collect();
        let part = usize::try_from(o.index)
            .ok()
            .and_then(|i| parts.get(i))
            .ok_or_else(|| {
                terr(format!(
                    "options.index {} is out of bounds for value {}",
                    o.index, src.text
                ))
            })?;
        let text = (*part).to_owned();
        src.value = retype(node, &text);
        src.text = text;
    }
    Ok(src)
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Map(_) | Value::Seq(_))
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Map(m) => m.is_empty(),
        Value::Seq(s) => s.is_empty(),
        _ => false,
    }
}

/// A scalar keeping its tag but with new text: strings stay strings, other
/// tags are re-read from the text (yaml.v3 decoding a retagged node).
fn retype(old: &Value, text: &str) -> Value {
    match old {
        Value::Str(_) => Value::Str(text.into()),
        _ => resolve_plain_v3(text),
    }
}

/// One element of a dotted field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Field(String),
    Index(usize),
    /// `[field=value]` (`field` empty: match a scalar item).
    Match(String, String),
    Wildcard,
    /// `-`: the last element (lookups only).
    Last,
}

/// kyaml's `SmarterPathSplitter(path, ".")` and element classification.
/// With kyaml's `convertSliceIndex` (`ports[0]` is `ports`, `0`), as
/// `RNode.GetFieldValue` reads paths.
pub(crate) fn split_field_path(path: &str) -> Vec<Part> {
    let mut out = Vec::new();
    for s in split_strings(path) {
        if let Some(body) = s.strip_suffix(']')
            && let Some((head, idx)) = body.rsplit_once('[')
            && !idx.is_empty()
            && idx.bytes().all(|b| b.is_ascii_digit())
        {
            if !head.is_empty() {
                out.push(classify(head));
            }
            out.push(classify(idx));
            continue;
        }
        out.push(classify(&s));
    }
    out
}

/// kyaml's `Lookup`: the node `parts` reach, `None` when missing.
pub(crate) fn lookup_path<'v>(v: &'v Value, parts: &[Part]) -> Result<Option<&'v Value>, String> {
    lookup(v, parts)
}

fn split_path(path: &str) -> Vec<Part> {
    split_strings(path).iter().map(|p| classify(p)).collect()
}

fn split_strings(path: &str) -> Vec<String> {
    let mut ps: Vec<&str> = path.split('.').collect();
    if ps.len() > 1 && ps[0].is_empty() {
        ps.remove(0);
    }
    let mut joined: Vec<String> = Vec::new();
    for p in ps {
        match joined.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(p);
            }
            _ => joined.push(p.to_owned()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < joined.len() {
        let elem = &joined[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut bracketed = vec![elem.clone()];
            while i + 1 < joined.len() {
                i += 1;
                bracketed.push(joined[i].clone());
                if joined[i].ends_with(']') {
                    break;
                }
            }
            let s = bracketed.join(".");
            if s.contains('=') {
                out.push(s);
            } else {
                out.push(s.trim_matches(|c| c == '[' || c == ']').to_owned());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn classify(p: &str) -> Part {
    if let Ok(i) = p.parse::<i64>()
        && let Ok(u) = usize::try_from(i)
    {
        return Part::Index(u);
    }
    if p == "*" {
        return Part::Wildcard;
    }
    if p == "-" {
        return Part::Last;
    }
    if p.starts_with('[') && p.ends_with(']') {
        let inner = &p[1..p.len() - 1];
        if let Some((f, v)) = inner.split_once('=') {
            return Part::Match(f.to_owned(), v.to_owned());
        }
    }
    Part::Field(p.to_owned())
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

/// kyaml's `Lookup` (PathGetter without create): `None` when missing.
fn lookup<'v>(v: &'v Value, parts: &[Part]) -> Result<Option<&'v Value>, String> {
    let mut cur = v;
    for p in parts {
        let next = match p {
            Part::Field(f) => cur.as_map().and_then(|m| m.get(f)),
            Part::Index(i) => match cur {
                Value::Seq(items) => items.get(*i),
                Value::Null => None,
                other => {
                    return Err(format!(
                        "wrong node kind: expected SequenceNode but got {}",
                        kind_name(other)
                    ));
                }
            },
            Part::Last => match cur {
                Value::Seq(items) => items.last(),
                _ => None,
            },
            Part::Wildcard => return Err("wildcard is not supported in PathGetter".into()),
            Part::Match(f, val) => match cur {
                Value::Seq(items) => items.iter().find(|item| {
                    if f.is_empty() {
                        is_scalar(item) && item.scalar_text().as_deref() == Some(val)
                    } else {
                        item.as_map()
                            .and_then(|m| m.get(f))
                            .and_then(Value::scalar_text)
                            .as_deref()
                            == Some(val)
                    }
                }),
                Value::Null => None,
                other => {
                    return Err(format!(
                        "wrong node kind: expected SequenceNode but got {}",
                        kind_name(other)
                    ));
                }
            },
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// What a created node is: kyaml's `getPathPartKind`.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Scalar,
    Map,
    Seq,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Map(_) => Kind::Map,
        Value::Seq(_) => Kind::Seq,
        _ => Kind::Scalar,
    }
}

fn new_node(next: Option<&Part>, create: Kind) -> Value {
    let kind = match next {
        Some(Part::Match(..) | Part::Index(_)) => Kind::Seq,
        None => create,
        Some(_) => Kind::Map,
    };
    match kind {
        // An empty untagged scalar; the copied text decides its type.
        Kind::Scalar => Value::Null,
        Kind::Map => Value::Map(Map::new()),
        Kind::Seq => Value::Seq(Vec::new().into()),
    }
}

/// kyaml's `PathMatcher`: call `f` on every node `parts` reaches, creating
/// missing ones when `create` is set. Returns how many were reached.
fn match_path(
    v: &mut Value,
    parts: &[Part],
    create: Option<Kind>,
    f: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<usize, Error> {
    let Some((first, rest)) = parts.split_first() else {
        f(v)?;
        return Ok(1);
    };
    let wrong = |v: &Value, want: &str| {
        terr(format!(
            "wrong node kind: expected {want} but got {}",
            kind_name(v)
        ))
    };
    match first {
        Part::Field(name) => {
            if let Value::Map(m) = v
                && let Some(child) = m.get_mut(name)
            {
                return match_path(child, rest, create, f);
            }
            let Some(kind) = create else {
                return Ok(0);
            };
            if v.is_null() {
                *v = Value::Map(Map::new());
            }
            let Value::Map(m) = v else {
                return Err(wrong(v, "MappingNode"));
            };
            m.insert(name.clone(), new_node(rest.first(), kind));
            let child = m.get_mut(name).ok_or_else(|| terr("field vanished"))?;
            match_path(child, rest, create, f)
        }
        Part::Index(idx) => {
            let Value::Seq(items) = v else {
                return Err(wrong(v, "SequenceNode"));
            };
            if items.len() == *idx
                && let Some(kind) = create
            {
                items.push(new_node(rest.first(), kind));
            }
            let len = items.len();
            let Some(item) = items.get_mut(*idx) else {
                return Err(terr(format!(
                    "index {idx} specified but only {len} elements found"
                )));
            };
            match_path(item, rest, create, f)
        }
        Part::Wildcard => {
            let Value::Seq(items) = v else {
                return Err(wrong(v, "SequenceNode"));
            };
            let mut n = 0;
            for item in items {
                n += match_path(item, rest, create, f)?;
            }
            Ok(n)
        }
        Part::Last => Err(terr("path element \"-\" is only supported in lookups")),
        Part::Match(field, pattern) => {
            let re = Regex::new(pattern).map_err(|e| terr(e.to_string()))?;
            let Value::Seq(items) = v else {
                return Err(wrong(v, "SequenceNode"));
            };
            let mut n = 0;
            for item in items.iter_mut() {
                if field.is_empty() {
                    // A scalar item matches by its text and is the result.
                    if let Some(t) = item.scalar_text()
                        && is_scalar(item)
                        && re.is_match(t.trim())
                    {
                        f(item)?;
                        n += 1;
                    }
                    continue;
                }
                let text = item
                    .as_map()
                    .and_then(|m| m.get(field))
                    .filter(|x| !x.is_null())
                    .and_then(Value::scalar_text);
                if let Some(t) = text
                    && re.is_match(t.trim())
                {
                    n += match_path(item, rest, create, f)?;
                }
            }
            if n > 0 || create.is_none() {
                return Ok(n);
            }
            let key = resolve_plain_v3(pattern);
            let elem = if field.is_empty() {
                key
            } else {
                let mut m = Map::new();
                m.insert(field.clone(), key);
                Value::Map(m)
            };
            items.push(elem);
            match_path(v, parts, create, f)
        }
    }
}

fn apply_target(
    resources: &mut [Resource],
    value: &Source,
    t: &TargetSelector,
) -> Result<(), Error> {
    let Some(select) = &t.select else {
        return Err(terr("target must specify resources to select"));
    };
    let sel_labels = parse_selector(&select.label_selector)?;
    let sel_annos = parse_selector(&select.annotation_selector)?;
    let mut rejects = Vec::new();
    for r in &t.reject {
        rejects.push((
            r,
            parse_selector(&r.label_selector)?,
            parse_selector(&r.annotation_selector)?,
        ));
    }
    let default_paths = [DEFAULT_FIELD_PATH.to_owned()];
    let paths: &[String] = if t.field_paths.is_empty() {
        &default_paths
    } else {
        &t.field_paths
    };
    let create = t
        .options
        .as_ref()
        .filter(|o| o.create)
        .map(|_| kind_of(&value.value));
    for res in resources.iter_mut() {
        let labels = res.labels();
        let annos = res.annotations();
        if !matches_selector(&sel_labels, &labels) || !matches_selector(&sel_annos, &annos) {
            continue;
        }
        let rejected_by_meta = rejects.iter().any(|(r, l, a)| {
            (!r.label_selector.is_empty() || !r.annotation_selector.is_empty())
                && matches_selector(l, &labels)
                && matches_selector(a, &annos)
        });
        if rejected_by_meta {
            continue;
        }
        let ids = all_ids(res);
        let rejected_by_id = rejects
            .iter()
            .any(|(r, _, _)| !id_is_empty(r) && ids.iter().any(|id| is_selected_by(id, r)));
        if rejected_by_id || !ids.iter().any(|id| is_selected_by(id, select)) {
            continue;
        }
        for fp in paths {
            let parts = split_path(fp);
            let what = if create.is_some() {
                format!("unable to find or create field {fp:?} in replacement target")
            } else {
                format!("unable to find field {fp:?} in replacement target")
            };
            let opts = t.options.as_ref();
            let mut set_err: Option<Error> = None;
            let mut set = |target: &mut Value| {
                if set_err.is_none()
                    && let Err(e) = set_field(opts, target, value)
                {
                    set_err = Some(e);
                }
                Ok(())
            };
            let n = match_path(&mut res.value, &parts, create, &mut set)
                .map_err(|e| terr(format!("{what}: {e}")))?;
            if let Some(e) = set_err {
                return Err(e);
            }
            if n == 0 {
                return Err(terr(what));
            }
        }
    }
    Ok(())
}

/// kustomize's `setFieldValue`: scalars take the new text and keep their
/// type; other nodes are replaced by a copy of the value.
fn set_field(opts: Option<&FieldOptions>, target: &mut Value, value: &Source) -> Result<(), Error> {
    let mut text = value.text.clone();
    let mut new_value = value.value.clone();
    if let Some(o) = opts
        && !o.delimiter.is_empty()
    {
        if !is_scalar(target) {
            return Err(terr("delimiter option can only be used with scalar nodes"));
        }
        let cur = target.scalar_text().unwrap_or_default();
        let mut tv: Vec<String> = cur.split(o.delimiter.as_str()).map(str::to_owned).collect();
        match usize::try_from(o.index) {
            Err(_) => tv.insert(0, text.clone()),
            Ok(i) if i >= tv.len() => tv.push(text.clone()),
            Ok(i) => tv[i] = text.clone(),
        }
        text = tv.join(&o.delimiter);
        new_value = retype(&value.value, &text);
    }
    if is_scalar(target) {
        let replaced = match &*target {
            Value::Str(_) => Value::Str(text.into()),
            Value::Null => resolve_plain_v3(&text),
            old => {
                let v = resolve_plain_v3(&text);
                let compatible = matches!(
                    (old, &v),
                    (Value::Int(_), Value::Int(_))
                        | (Value::Float(_), Value::Float(_) | Value::Int(_))
                        | (Value::Bool(_), Value::Bool(_))
                );
                if !compatible {
                    return Err(terr(format!(
                        "cannot decode !!str `{text}` as a !!{}",
                        match old {
                            Value::Int(_) => "int",
                            Value::Float(_) => "float",
                            _ => "bool",
                        }
                    )));
                }
                v
            }
        };
        *target = replaced;
    } else {
        *target = new_value;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::kustomization::replacement_fields;
    use crate::kustomize::loader::resources_from_text;

    fn res(text: &str) -> Vec<Resource> {
        resources_from_text(text, "test.yaml").unwrap()
    }

    fn repls(text: &str) -> Vec<Replacement> {
        let docs = parse_documents(text, "k.yaml").unwrap();
        let v = Value::from_node(&docs[0].root);
        let fields = replacement_fields(v.get("replacements").unwrap(), "k.yaml", true).unwrap();
        fields
            .into_iter()
            .map(|f| match f {
                ReplacementField::Inline(r) => *r,
                ReplacementField::Path(_) => panic!("inline only"),
            })
            .collect()
    }

    const TWO: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src\ndata:\n  host: db.example:5432\n  n: \"7\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: a\n        image: a:1\n        args: [--host=x]\n      - name: b\n        image: b:1\n";

    #[test]
    fn split_path_keeps_brackets_and_escapes() {
        assert_eq!(
            split_path("spec.containers.[name=a.b].image"),
            vec![
                Part::Field("spec".into()),
                Part::Field("containers".into()),
                Part::Match("name".into(), "a.b".into()),
                Part::Field("image".into())
            ]
        );
        assert_eq!(
            split_path("metadata.annotations.a\\.b/c"),
            vec![
                Part::Field("metadata".into()),
                Part::Field("annotations".into()),
                Part::Field("a.b/c".into())
            ]
        );
        assert_eq!(
            split_path("a.*.0"),
            vec![Part::Field("a".into()), Part::Wildcard, Part::Index(0)]
        );
    }

    #[test]
    fn copies_into_list_selected_field_with_delimiter() {
        let mut ra = res(TWO);
        let r = repls(
            "replacements:\n- source:\n    kind: ConfigMap\n    name: src\n    fieldPath: data.host\n    options: {delimiter: ':', index: 0}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: ['spec.template.spec.containers.[name=b].image']\n    options: {delimiter: ':', index: 0}\n",
        );
        apply_replacements(&mut ra, &r).unwrap();
        assert_eq!(
            ra[1]
                .value
                .str_at(&["spec", "template", "spec", "containers"]),
            None
        );
        let c = ra[1]
            .value
            .get_path(&["spec", "template", "spec", "containers"])
            .unwrap();
        assert_eq!(
            c.as_seq().unwrap()[1].str_at(&["image"]),
            Some("db.example:1")
        );
        assert_eq!(c.as_seq().unwrap()[0].str_at(&["image"]), Some("a:1"));
    }

    #[test]
    fn string_into_int_field_keeps_int_and_wildcard() {
        let mut ra = res(TWO);
        let r = repls(
            "replacements:\n- source: {kind: ConfigMap, fieldPath: data.n}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.replicas, 'spec.template.spec.containers.*.name']\n",
        );
        apply_replacements(&mut ra, &r).unwrap();
        assert_eq!(
            ra[1].value.get_path(&["spec", "replicas"]),
            Some(&Value::Int(7))
        );
        let c = ra[1]
            .value
            .get_path(&["spec", "template", "spec", "containers"])
            .unwrap();
        assert!(
            c.as_seq()
                .unwrap()
                .iter()
                .all(|x| x.str_at(&["name"]) == Some("7"))
        );
    }

    #[test]
    fn create_reject_and_errors() {
        let mut ra = res(TWO);
        let r = repls(
            "replacements:\n- sourceValue: hello\n  targets:\n  - select: {}\n    reject: [{kind: ConfigMap}]\n    fieldPaths: [metadata.annotations.x]\n    options: {create: true}\n",
        );
        apply_replacements(&mut ra, &r).unwrap();
        assert_eq!(ra[0].value.str_at(&["metadata", "annotations", "x"]), None);
        assert_eq!(
            ra[1].value.str_at(&["metadata", "annotations", "x"]),
            Some("hello")
        );

        let missing = repls(
            "replacements:\n- sourceValue: v\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.nothere]\n",
        );
        let e = apply_replacements(&mut ra, &missing).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find field \"spec.nothere\" in replacement target"
        );
        let none = repls(
            "replacements:\n- source: {kind: Secret, name: x}\n  targets:\n  - select: {kind: Deployment}\n",
        );
        let e = apply_replacements(&mut ra, &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "nothing selected by Secret.[noVer].[noGrp]/x.[noNs]"
        );
        let bad = repls("replacements:\n- source: {kind: ConfigMap}\n");
        assert!(apply_replacements(&mut ra, &bad).is_err());
    }

    #[test]
    fn map_target_replaced_by_structured_source() {
        let mut ra = res(TWO);
        let r = repls(
            "replacements:\n- source: {kind: Deployment, fieldPath: spec.template.spec.containers}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data]\n",
        );
        apply_replacements(&mut ra, &r).unwrap();
        assert_eq!(
            ra[0].value.get("data").unwrap().as_seq().map(|s| s.len()),
            Some(2)
        );
    }

    #[test]
    fn unknown_inline_field_is_an_error() {
        let docs = parse_documents("replacements:\n- sorce: {}\n", "k.yaml").unwrap();
        let v = Value::from_node(&docs[0].root);
        assert!(replacement_fields(v.get("replacements").unwrap(), "k.yaml", true).is_err());
    }
}
