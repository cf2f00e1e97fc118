//! Kubernetes-aware diff of two rendered sets of Kubernetes objects.
//!
//! The "before" and "after" renderings of a GitOps repository are grouped by
//! the Flux object that produced them (a Kustomization or a HelmRelease).
//! Objects are matched by identity rather than by position, and lists whose
//! items carry a merge key (containers, env vars, ports, ...) are aligned
//! before comparing, so that a pure reordering shows up as no change at all.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Value, json};
use similar::TextDiff;

/// Fields that identify the items of a list of maps, in order of preference.
/// These mirror the strategic-merge-patch keys Kubernetes uses for its own
/// list types (containers and env by `name`, ports by `containerPort`, ...).
const MERGE_KEYS: [&str; 9] = [
    "name",
    "containerPort",
    "mountPath",
    "devicePath",
    "port",
    "ip",
    "type",
    "key",
    "topologyKey",
];

/// Lines of unchanged context around each hunk of a unified diff.
const CONTEXT_RADIUS: usize = 3;

/// Identity of a Kubernetes object: kind, namespace and name.
///
/// The namespace is empty for cluster-scoped objects and for namespaced
/// objects whose rendering leaves the namespace unset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The object's `kind`, e.g. `Deployment`.
    pub kind: String,
    /// The object's `metadata.namespace`, or empty.
    pub namespace: String,
    /// The object's `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// The key of a Kubernetes object (`kind`, `metadata.namespace`,
    /// `metadata.name`); `None` when kind or name is missing, empty or not a
    /// string.
    pub fn of(obj: &Value) -> Option<ObjectKey> {
        let kind = obj.get("kind")?.as_str()?;
        let metadata = obj.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(ObjectKey {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Stand-in key for an object without a usable identity, so it can
    /// still be matched against the object at the same position on the
    /// other side.
    fn positional(index: usize) -> ObjectKey {
        ObjectKey {
            kind: "?".to_owned(),
            namespace: String::new(),
            name: format!("#{index}"),
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `Kind/namespace/name`, or `Kind/name` when the namespace is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The object exists only in the new rendering.
    Added,
    /// The object exists only in the old rendering.
    Removed,
    /// The object exists in both renderings with different content.
    Changed,
}

impl Change {
    /// Lowercase name of the change: `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// One object's difference.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ObjectDiff {
    /// Who produced the object: e.g. `Kustomization flux-system/apps` or
    /// `HelmRelease podinfo/podinfo` (passed in by the caller).
    pub owner: String,
    /// Identity of the object.
    pub key: ObjectKey,
    /// What happened to the object.
    pub change: Change,
    /// Unified diff of the YAML texts (3 lines of context), with `--- ` /
    /// `+++ ` headers naming owner and key (e.g.
    /// `--- Kustomization flux-system/apps Deployment/podinfo/podinfo`),
    /// followed by `@@ ... @@` hunks. Added objects have only `+` lines,
    /// removed objects only `-` lines. Every line ends with `\n`.
    pub unified: String,
}

/// One group of objects from one producer (a Flux Kustomization or
/// HelmRelease), on one side of the diff.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// Who produced the objects, e.g. `HelmRelease podinfo/podinfo`.
    pub owner: &'a str,
    /// The rendered objects, in rendering order.
    pub objects: &'a [Value],
}

/// Whether an object is a core `v1` Secret.
fn is_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// The value a Secret's data shows in a diff.
pub const REDACTED: &str = "**redacted**";

/// `obj` with, when it is a core `v1` Secret, every value of `data` and
/// `stringData` replaced by [`REDACTED`] (other objects unchanged).
///
/// ```
/// use gitops_cluster::diff::{REDACTED, redact_secret};
/// let s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "data": {"token": "aHVudGVyMg=="}});
/// assert_eq!(redact_secret(&s)["data"]["token"], REDACTED);
/// ```
pub fn redact_secret(obj: &Value) -> Value {
    if is_secret(obj) {
        mask_secret_pair(&Value::Null, obj).1
    } else {
        obj.clone()
    }
}

/// Both sides of a Secret with the values of `data` and `stringData`
/// masked, as `flux diff` does: a value equal on both sides reads
/// [`REDACTED`]; a changed one `**redacted (before)**` and
/// `**redacted (after)**`, so the diff shows which keys changed and never
/// what they hold.
fn mask_secret_pair(old: &Value, new: &Value) -> (Value, Value) {
    let mask = |obj: &Value, other: &Value, side: &str| -> Value {
        let mut obj = obj.clone();
        for field in ["data", "stringData"] {
            let theirs = other.get(field).and_then(Value::as_object);
            if let Some(Value::Object(m)) = obj.get_mut(field) {
                for (k, v) in m.iter_mut() {
                    let same = theirs.and_then(|t| t.get(k)).is_none_or(|t| t == v);
                    *v = Value::String(if same {
                        REDACTED.to_owned()
                    } else {
                        format!("**redacted ({side})**")
                    });
                }
            }
        }
        obj
    };
    (mask(old, new, "before"), mask(new, old, "after"))
}

/// Compare `old` and `new` groups.
///
/// Groups are matched by `owner` (several groups with the same owner on one
/// side are treated as one); objects inside matched groups by [`ObjectKey`].
/// An object whose key cannot be computed is keyed by its position within
/// its owner's objects: kind `?`, name `#<index>`. Should a key occur more
/// than once on one side, the n-th occurrence in `old` is matched with the
/// n-th occurrence in `new`.
///
/// The values of Secrets (`data`, `stringData`) never show: they are
/// masked, changed ones marked as such.
///
/// Before comparing, the old object is [`align`]ed to the new one, so a pure
/// reorder of mergeable lists gives no diff at all. `to_yaml` turns one
/// object into YAML text (the caller passes its emitter). Objects whose
/// aligned values are equal give nothing, and neither do objects whose YAML
/// texts come out identical.
///
/// Result order: by owner, in the order owners first appear in `new`, then
/// owners only in `old` in their order; within an owner, objects in `new`'s
/// order, then removed ones in `old`'s order.
pub fn diff_groups(
    old: &[Group<'_>],
    new: &[Group<'_>],
    to_yaml: &dyn Fn(&Value) -> String,
) -> Vec<ObjectDiff> {
    let old_owners = OwnerIndex::build(old);
    let new_owners = OwnerIndex::build(new);
    let mut out = Vec::new();
    for (owner, new_objects) in &new_owners.owners {
        let old_objects = old_owners.objects(owner);
        diff_owner(owner, old_objects, new_objects, to_yaml, &mut out);
    }
    for (owner, old_objects) in &old_owners.owners {
        if !new_owners.contains(owner) {
            diff_owner(owner, old_objects, &[], to_yaml, &mut out);
        }
    }
    out
}

/// Objects of one side gathered per owner, owners in first-appearance order.
struct OwnerIndex<'a> {
    owners: Vec<(&'a str, Vec<&'a Value>)>,
    positions: HashMap<&'a str, usize>,
}

impl<'a> OwnerIndex<'a> {
    fn build(groups: &[Group<'a>]) -> Self {
        let mut index = OwnerIndex {
            owners: Vec::new(),
            positions: HashMap::new(),
        };
        for group in groups {
            let slot = match index.positions.get(group.owner) {
                Some(&slot) => slot,
                None => {
                    let slot = index.owners.len();
                    index.owners.push((group.owner, Vec::new()));
                    index.positions.insert(group.owner, slot);
                    slot
                }
            };
            if let Some((_, objects)) = index.owners.get_mut(slot) {
                objects.extend(group.objects.iter());
            }
        }
        index
    }

    fn contains(&self, owner: &str) -> bool {
        self.positions.contains_key(owner)
    }

    fn objects(&self, owner: &str) -> &[&'a Value] {
        self.positions
            .get(owner)
            .and_then(|&slot| self.owners.get(slot))
            .map_or(&[], |(_, objects)| objects.as_slice())
    }
}

/// An object's key plus its occurrence number among objects with that key.
type Occurrence = (ObjectKey, usize);

fn keyed<'v>(objects: &[&'v Value]) -> Vec<(Occurrence, &'v Value)> {
    let mut seen: HashMap<ObjectKey, usize> = HashMap::new();
    objects
        .iter()
        .enumerate()
        .map(|(index, &obj)| {
            let key = ObjectKey::of(obj).unwrap_or_else(|| ObjectKey::positional(index));
            let count = seen.entry(key.clone()).or_insert(0);
            let occurrence = *count;
            *count += 1;
            ((key, occurrence), obj)
        })
        .collect()
}

fn diff_owner(
    owner: &str,
    old: &[&Value],
    new: &[&Value],
    to_yaml: &dyn Fn(&Value) -> String,
    out: &mut Vec<ObjectDiff>,
) {
    if old == new {
        return;
    }
    let old = keyed(old);
    let new = keyed(new);
    let old_index: HashMap<&Occurrence, usize> = old
        .iter()
        .enumerate()
        .map(|(index, (occurrence, _))| (occurrence, index))
        .collect();
    let mut matched = vec![false; old.len()];

    for (occurrence, new_obj) in &new {
        let key = &occurrence.0;
        let counterpart = old_index
            .get(occurrence)
            .and_then(|&index| Some((index, old.get(index)?.1)));
        let (change, old_text) = match counterpart {
            Some((index, old_obj)) => {
                if let Some(flag) = matched.get_mut(index) {
                    *flag = true;
                }
                // Equal values (key order aside) need no alignment.
                if old_obj == *new_obj {
                    continue;
                }
                let aligned = align(old_obj, new_obj);
                if aligned == **new_obj {
                    continue;
                }
                if is_secret(new_obj) {
                    let (old_masked, new_masked) = mask_secret_pair(&aligned, new_obj);
                    let new_text = to_yaml(&new_masked);
                    if let Some(unified) =
                        unified_diff(owner, key, &to_yaml(&old_masked), &new_text)
                    {
                        out.push(ObjectDiff {
                            owner: owner.to_owned(),
                            key: key.clone(),
                            change: Change::Changed,
                            unified,
                        });
                    }
                    continue;
                }
                (Change::Changed, to_yaml(&aligned))
            }
            None => (Change::Added, String::new()),
        };
        let new_text = if is_secret(new_obj) {
            to_yaml(&mask_secret_pair(&Value::Null, new_obj).1)
        } else {
            to_yaml(new_obj)
        };
        if let Some(unified) = unified_diff(owner, key, &old_text, &new_text) {
            out.push(ObjectDiff {
                owner: owner.to_owned(),
                key: key.clone(),
                change,
                unified,
            });
        }
    }

    for (((key, _), old_obj), was_matched) in old.iter().zip(&matched) {
        if *was_matched {
            continue;
        }
        let old_text = if is_secret(old_obj) {
            to_yaml(&mask_secret_pair(old_obj, &Value::Null).0)
        } else {
            to_yaml(old_obj)
        };
        if let Some(unified) = unified_diff(owner, key, &old_text, "") {
            out.push(ObjectDiff {
                owner: owner.to_owned(),
                key: key.clone(),
                change: Change::Removed,
                unified,
            });
        }
    }
}

/// Ensure non-empty text ends with a newline, so the unified diff never
/// carries a "\ No newline at end of file" marker and every line of it ends
/// with `\n`.
fn terminated(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text.ends_with('\n') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text}\n"))
    }
}

/// Unified diff with one header pair naming owner and key, or `None` when
/// the texts are identical (no hunks).
fn unified_diff(owner: &str, key: &ObjectKey, old_text: &str, new_text: &str) -> Option<String> {
    let old_text = terminated(old_text);
    let new_text = terminated(new_text);
    let diff = TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
    let mut unified = diff.unified_diff();
    unified
        .context_radius(CONTEXT_RADIUS)
        .missing_newline_hint(false);
    let mut hunks = String::new();
    for hunk in unified.iter_hunks() {
        hunks.push_str(&hunk.to_string());
    }
    if hunks.is_empty() {
        return None;
    }
    Some(format!(
        "--- {owner} {key}\n+++ {owner} {key}\n{}",
        terminated(&hunks)
    ))
}

/// `old` with the items of every list reordered (recursively, at every
/// depth) to follow the order of the corresponding list in `new`, when both
/// lists contain only maps and a merge key identifies the items.
///
/// The merge key is the first of `name`, `containerPort`, `mountPath`,
/// `devicePath`, `port`, `ip`, `type`, `key`, `topologyKey` that every item
/// in both lists has as a scalar (string, number or boolean) value, unique
/// within each list. Items of `old` not in `new` keep their relative order
/// and go after the matched ones. Lists of scalars are not reordered (their
/// order matters, e.g. `args`); lists of maps without a merge key keep their
/// order and their items are aligned position by position.
///
/// Maps are aligned key by key; the keys of an old map are also put in the
/// order of the new map (keys only in `old` last), which does not change the
/// value but keeps key-order churn out of a diff of emitted text.
pub fn align(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old_map), Value::Object(new_map)) => {
            Value::Object(align_maps(old_map, new_map))
        }
        (Value::Array(old_items), Value::Array(new_items)) => {
            Value::Array(align_lists(old_items, new_items))
        }
        _ => old.clone(),
    }
}

fn align_maps(old: &Map<String, Value>, new: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, new_value) in new {
        if let Some(old_value) = old.get(key) {
            out.insert(key.clone(), align(old_value, new_value));
        }
    }
    for (key, old_value) in old {
        if !new.contains_key(key) {
            out.insert(key.clone(), old_value.clone());
        }
    }
    out
}

fn align_lists(old: &[Value], new: &[Value]) -> Vec<Value> {
    let Some((old_keys, new_keys)) = merge_keys(old, new) else {
        return old
            .iter()
            .enumerate()
            .map(|(index, old_item)| match new.get(index) {
                Some(new_item) => align(old_item, new_item),
                None => old_item.clone(),
            })
            .collect();
    };
    let old_by_key: HashMap<&ScalarKey<'_>, usize> = old_keys
        .iter()
        .enumerate()
        .map(|(index, key)| (key, index))
        .collect();
    let mut used = vec![false; old.len()];
    let mut out = Vec::with_capacity(old.len());
    for (new_item, key) in new.iter().zip(&new_keys) {
        let Some(&index) = old_by_key.get(key) else {
            continue;
        };
        if let (Some(old_item), Some(flag)) = (old.get(index), used.get_mut(index)) {
            out.push(align(old_item, new_item));
            *flag = true;
        }
    }
    out.extend(
        old.iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(item, _)| item.clone()),
    );
    out
}

/// Hashable form of a scalar merge-key value. Strings and numbers stay
/// distinct, so `"80"` and `80` never match each other.
#[derive(Debug, PartialEq, Eq, Hash)]
enum ScalarKey<'a> {
    Str(&'a str),
    Num(String),
    Bool(bool),
}

impl<'a> ScalarKey<'a> {
    fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(ScalarKey::Str(s)),
            Value::Number(n) => Some(ScalarKey::Num(n.to_string())),
            Value::Bool(b) => Some(ScalarKey::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// Merge-key values of the old and the new list, item by item.
type KeyedLists<'a> = (Vec<ScalarKey<'a>>, Vec<ScalarKey<'a>>);

/// The merge-key values of both lists, for the first merge key that
/// identifies every item of both; `None` when the lists cannot be matched
/// item by item.
fn merge_keys<'a>(old: &'a [Value], new: &'a [Value]) -> Option<KeyedLists<'a>> {
    if old.is_empty() || new.is_empty() || !old.iter().chain(new).all(Value::is_object) {
        return None;
    }
    MERGE_KEYS.iter().find_map(|field| {
        let old_keys = unique_keys(old, field)?;
        let new_keys = unique_keys(new, field)?;
        Some((old_keys, new_keys))
    })
}

fn unique_keys<'a>(items: &'a [Value], field: &str) -> Option<Vec<ScalarKey<'a>>> {
    let keys = items
        .iter()
        .map(|item| ScalarKey::of(item.get(field)?))
        .collect::<Option<Vec<_>>>()?;
    let distinct: HashSet<&ScalarKey<'_>> = keys.iter().collect();
    (distinct.len() == keys.len()).then_some(keys)
}

/// Text output: the unified diffs concatenated (each ending with a newline),
/// nothing for no changes.
pub fn to_text(diffs: &[ObjectDiff]) -> String {
    let mut out = String::new();
    for diff in diffs {
        out.push_str(&terminated(&diff.unified));
    }
    out
}

/// Markdown for a pull-request comment (GitHub).
///
/// A heading line `### <n> objects changed` (or `### No changes`), then per
/// owner (in order of first appearance) a
/// `<details><summary>OWNER: N added, M changed, K removed</summary>` block
/// holding a `diff` fenced code block with that owner's unified diffs. The
/// fence is longer than any run of backticks in the diff text, so YAML that
/// itself contains a fence cannot close the block early.
pub fn to_github(diffs: &[ObjectDiff]) -> String {
    if diffs.is_empty() {
        return "### No changes\n".to_owned();
    }
    let mut owners: Vec<(&str, Vec<&ObjectDiff>)> = Vec::new();
    for diff in diffs {
        match owners.iter_mut().find(|(owner, _)| *owner == diff.owner) {
            Some((_, members)) => members.push(diff),
            None => owners.push((&diff.owner, vec![diff])),
        }
    }

    let mut out = format!("### {} objects changed\n", diffs.len());
    for (owner, members) in owners {
        let count = |change: Change| members.iter().filter(|d| d.change == change).count();
        let mut body = String::new();
        for diff in &members {
            body.push_str(&terminated(&diff.unified));
        }
        let fence = "`".repeat(longest_backtick_run(&body).saturating_add(1).max(3));
        out.push_str(&format!(
            "\n<details><summary>{}: {} added, {} changed, {} removed</summary>\n\n\
             {fence}diff\n{body}{fence}\n\n</details>\n",
            escape_html(owner),
            count(Change::Added),
            count(Change::Changed),
            count(Change::Removed),
        ));
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// The summary line is HTML, not a code block, so owner names are escaped.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON: an array of `{"owner", "kind", "namespace", "name", "change",
/// "diff"}` objects, one per diff, in the given order.
pub fn to_json(diffs: &[ObjectDiff]) -> Value {
    Value::Array(
        diffs
            .iter()
            .map(|diff| {
                json!({
                    "owner": diff.owner,
                    "kind": diff.key.kind,
                    "namespace": diff.key.namespace,
                    "name": diff.key.name,
                    "change": diff.change.as_str(),
                    "diff": diff.unified,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod secret_tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": data})
    }

    #[test]
    fn secret_values_never_show() {
        let yaml = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let old = [secret(
            json!({"same": "c2VjcmV0MQ==", "changed": "b2xk", "gone": "eA==" }),
        )];
        let new = [secret(
            json!({"same": "c2VjcmV0MQ==", "changed": "bmV3", "added": "eQ==" }),
        )];
        let d = diff_groups(
            &[Group {
                owner: "o",
                objects: &old,
            }],
            &[Group {
                owner: "o",
                objects: &new,
            }],
            &yaml,
        );
        let text = to_text(&d);
        for v in ["c2VjcmV0MQ==", "b2xk", "bmV3", "eA==", "eQ=="] {
            assert!(!text.contains(v), "{text}");
        }
        assert!(
            text.contains("**redacted (before)**") && text.contains("**redacted (after)**"),
            "{text}"
        );
        assert!(text.contains("\"added\": \"**redacted**\""), "{text}");
        // Added and removed Secrets are masked too.
        let d = diff_groups(
            &[],
            &[Group {
                owner: "o",
                objects: &new,
            }],
            &yaml,
        );
        assert!(!to_text(&d).contains("bmV3"));
        let d = diff_groups(
            &[Group {
                owner: "o",
                objects: &old,
            }],
            &[],
            &yaml,
        );
        assert!(!to_text(&d).contains("b2xk"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Array(_) => "[]".to_owned(),
            Value::Object(_) => "{}".to_owned(),
            other => other.to_string(),
        }
    }

    /// Minimal block-style YAML emitter, enough to make diffs readable.
    fn emit(value: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::Object(m) if !m.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            emit(v, indent + 2, out);
                        }
                        Value::Array(a) if !a.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            emit(v, indent, out);
                        }
                        _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(v))),
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    let mut inner = String::new();
                    match item {
                        Value::Object(m) if !m.is_empty() => emit(item, indent + 2, &mut inner),
                        Value::Array(a) if !a.is_empty() => emit(item, indent + 2, &mut inner),
                        _ => inner = format!("{pad}  {}\n", scalar(item)),
                    }
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
            _ => out.push_str(&format!("{pad}{}\n", scalar(value))),
        }
    }

    fn yaml(value: &Value) -> String {
        let mut out = String::new();
        emit(value, 0, &mut out);
        out
    }

    fn pod(name: &str, spec: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        })
    }

    fn one(owner: &str, old: &[Value], new: &[Value]) -> Vec<ObjectDiff> {
        diff_groups(
            &[Group {
                owner,
                objects: old,
            }],
            &[Group {
                owner,
                objects: new,
            }],
            &yaml,
        )
    }

    const OWNER: &str = "Kustomization flux-system/apps";

    #[test]
    fn container_reorder_gives_no_diff() {
        let old = pod(
            "p",
            json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}),
        );
        let new = pod(
            "p",
            json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]}),
        );
        assert!(one(OWNER, &[old], &[new]).is_empty());
    }

    #[test]
    fn env_reorder_gives_no_diff() {
        let old = pod(
            "p",
            json!({"containers": [{"name": "a", "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                {"name": "C", "value": "3"},
            ]}]}),
        );
        let new = pod(
            "p",
            json!({"containers": [{"name": "a", "env": [
                {"name": "C", "value": "3"},
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            ]}]}),
        );
        assert!(one(OWNER, &[old], &[new]).is_empty());
    }

    #[test]
    fn changed_image_shows_minus_and_plus_lines() {
        let old = pod(
            "p",
            json!({"containers": [{"name": "c", "image": "a"}, {"name": "d", "image": "z"}]}),
        );
        let new = pod(
            "p",
            json!({"containers": [{"name": "d", "image": "z"}, {"name": "c", "image": "b"}]}),
        );
        let diffs = one(OWNER, &[old], &[new]);
        assert_eq!(diffs.len(), 1);
        let d = &diffs[0];
        assert_eq!(d.change, Change::Changed);
        assert_eq!(d.key.to_string(), "Pod/default/p");
        let lines: Vec<&str> = d.unified.lines().collect();
        assert_eq!(lines[0], "--- Kustomization flux-system/apps Pod/default/p");
        assert_eq!(lines[1], "+++ Kustomization flux-system/apps Pod/default/p");
        assert!(lines[2].starts_with("@@ -"));
        assert!(lines.contains(&"-    image: a"), "{}", d.unified);
        assert!(lines.contains(&"+    image: b"), "{}", d.unified);
        // Only the image line changes once the containers are aligned.
        assert_eq!(
            lines.iter().filter(|l| l.starts_with('-')).count(),
            2,
            "{}",
            d.unified
        );
        assert_eq!(d.unified.matches("--- ").count(), 1);
        assert!(d.unified.ends_with('\n'));
        assert!(!d.unified.contains("No newline"));
    }

    #[test]
    fn context_is_three_lines() {
        let mut old_data = Map::new();
        let mut new_data = Map::new();
        for i in 0..20 {
            old_data.insert(format!("k{i:02}"), json!(format!("v{i}")));
            new_data.insert(format!("k{i:02}"), json!(format!("v{i}")));
        }
        new_data.insert("k10".to_owned(), json!("changed"));
        let cm = |data: Map<String, Value>| json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
        let diffs = one(OWNER, &[cm(old_data)], &[cm(new_data)]);
        assert_eq!(diffs.len(), 1);
        let hunk: Vec<&str> = diffs[0].unified.lines().skip(2).collect();
        assert_eq!(hunk[0], "@@ -12,7 +12,7 @@");
        assert_eq!(hunk.len(), 1 + 3 + 2 + 3);
    }

    #[test]
    fn added_and_removed_objects() {
        let kept_old = pod("kept", json!({"x": 1}));
        let kept_new = pod("kept", json!({"x": 2}));
        let gone = pod("gone", json!({"x": 1}));
        let fresh = pod("fresh", json!({"x": 1}));
        let diffs = one(OWNER, &[gone.clone(), kept_old], &[fresh.clone(), kept_new]);
        let summary: Vec<(Change, &str)> = diffs
            .iter()
            .map(|d| (d.change, d.key.name.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Change::Added, "fresh"),
                (Change::Changed, "kept"),
                (Change::Removed, "gone"),
            ]
        );
        let added = &diffs[0].unified;
        let body: Vec<&str> = added.lines().skip(3).collect();
        assert!(
            added
                .lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("@@ -0,0 +1,"))
        );
        assert!(body.iter().all(|l| l.starts_with('+')), "{added}");
        assert_eq!(body.len(), yaml(&fresh).lines().count());
        let removed = &diffs[2].unified;
        assert!(
            removed
                .lines()
                .nth(2)
                .is_some_and(|l| l.ends_with(" +0,0 @@"))
        );
        assert!(
            removed.lines().skip(3).all(|l| l.starts_with('-')),
            "{removed}"
        );
        assert_eq!(removed.lines().skip(3).count(), yaml(&gone).lines().count());
    }

    #[test]
    fn owners_only_on_one_side_and_owner_order() {
        let a = [pod("a", json!({}))];
        let b = [pod("b", json!({}))];
        let c_old = [pod("c", json!({"v": 1}))];
        let c_new = [pod("c", json!({"v": 2}))];
        let old = [
            Group {
                owner: "HelmRelease x/old-only",
                objects: &a,
            },
            Group {
                owner: "HelmRelease x/both",
                objects: &c_old,
            },
        ];
        let new = [
            Group {
                owner: "HelmRelease x/new-only",
                objects: &b,
            },
            Group {
                owner: "HelmRelease x/both",
                objects: &c_new,
            },
        ];
        let diffs = diff_groups(&old, &new, &yaml);
        let summary: Vec<(&str, Change)> =
            diffs.iter().map(|d| (d.owner.as_str(), d.change)).collect();
        assert_eq!(
            summary,
            vec![
                ("HelmRelease x/new-only", Change::Added),
                ("HelmRelease x/both", Change::Changed),
                ("HelmRelease x/old-only", Change::Removed),
            ]
        );
    }

    #[test]
    fn same_owner_in_several_groups_is_one_owner() {
        let first = [pod("a", json!({}))];
        let second = [pod("b", json!({}))];
        let old = [Group {
            owner: OWNER,
            objects: &[first[0].clone(), second[0].clone()],
        }];
        let new = [
            Group {
                owner: OWNER,
                objects: &first,
            },
            Group {
                owner: OWNER,
                objects: &second,
            },
        ];
        assert!(diff_groups(&old, &new, &yaml).is_empty());
    }

    #[test]
    fn args_reorder_gives_a_diff() {
        let old = pod(
            "p",
            json!({"containers": [{"name": "c", "args": ["--a", "--b"]}]}),
        );
        let new = pod(
            "p",
            json!({"containers": [{"name": "c", "args": ["--b", "--a"]}]}),
        );
        assert_eq!(align(&old, &new), old);
        let diffs = one(OWNER, &[old], &[new]);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].change, Change::Changed);
    }

    #[test]
    fn duplicate_merge_key_values_are_not_reordered() {
        // Tolerations share `key`; no other merge key applies.
        let old = json!([
            {"key": "k", "effect": "NoSchedule"},
            {"key": "k", "effect": "NoExecute"},
        ]);
        let new = json!([
            {"key": "k", "effect": "NoExecute"},
            {"key": "k", "effect": "NoSchedule"},
        ]);
        assert_eq!(align(&old, &new), old);
        let a = pod("p", json!({"tolerations": old}));
        let b = pod("p", json!({"tolerations": new}));
        assert_eq!(one(OWNER, &[a], &[b]).len(), 1);
    }

    #[test]
    fn merge_key_falls_back_when_name_is_not_on_every_item() {
        let old = json!([
            {"name": "http", "containerPort": 80},
            {"containerPort": 9090},
        ]);
        let new = json!([
            {"containerPort": 9090},
            {"name": "http", "containerPort": 80},
        ]);
        assert_eq!(align(&old, &new), new);
    }

    #[test]
    fn unmatched_old_items_go_last_in_their_order() {
        let old = json!([
            {"name": "x", "v": 1},
            {"name": "a", "v": 1},
            {"name": "y", "v": 1},
            {"name": "b", "v": 1},
        ]);
        let new = json!([{"name": "b", "v": 2}, {"name": "a", "v": 2}]);
        let aligned = align(&old, &new);
        let names: Vec<&str> = aligned
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("name").and_then(Value::as_str))
            .collect();
        assert_eq!(names, ["b", "a", "x", "y"]);
    }

    #[test]
    fn align_follows_new_key_order_and_recurses_into_unkeyed_lists() {
        let old = json!({"b": 1, "a": [{"items": [{"name": "x"}, {"name": "y"}]}], "only": true});
        let new = json!({"a": [{"items": [{"name": "y"}, {"name": "x"}]}], "b": 1});
        let aligned = align(&old, &new);
        let keys: Vec<&str> = aligned
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["a", "b", "only"]);
        assert_eq!(aligned["a"], new["a"]);
    }

    #[test]
    fn object_without_name_is_keyed_by_position() {
        let old = [json!({"kind": "Thing", "v": 1}), pod("p", json!({}))];
        let new = [json!({"kind": "Thing", "v": 2}), pod("p", json!({}))];
        let diffs = one(OWNER, &old, &new);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].change, Change::Changed);
        assert_eq!(
            diffs[0].key,
            ObjectKey {
                kind: "?".to_owned(),
                namespace: String::new(),
                name: "#0".to_owned(),
            }
        );
        assert_eq!(diffs[0].key.to_string(), "?/#0");
    }

    #[test]
    fn object_key_of_requires_string_kind_and_name() {
        assert_eq!(ObjectKey::of(&json!({"kind": "A"})), None);
        assert_eq!(ObjectKey::of(&json!({"metadata": {"name": "n"}})), None);
        assert_eq!(
            ObjectKey::of(&json!({"kind": 1, "metadata": {"name": "n"}})),
            None
        );
        assert_eq!(
            ObjectKey::of(&json!({"kind": "A", "metadata": {"name": 3}})),
            None
        );
        assert_eq!(ObjectKey::of(&json!("scalar")), None);
        let key = ObjectKey::of(&json!({"kind": "Namespace", "metadata": {"name": "n"}}));
        assert_eq!(
            key,
            Some(ObjectKey {
                kind: "Namespace".to_owned(),
                namespace: String::new(),
                name: "n".to_owned(),
            })
        );
    }

    #[test]
    fn display_of_object_key() {
        let namespaced = ObjectKey {
            kind: "Deployment".to_owned(),
            namespace: "podinfo".to_owned(),
            name: "podinfo".to_owned(),
        };
        let cluster = ObjectKey {
            kind: "ClusterRole".to_owned(),
            namespace: String::new(),
            name: "admin".to_owned(),
        };
        assert_eq!(namespaced.to_string(), "Deployment/podinfo/podinfo");
        assert_eq!(cluster.to_string(), "ClusterRole/admin");
    }

    #[test]
    fn yaml_without_trailing_newline_still_gives_terminated_lines() {
        let trimmed = |v: &Value| yaml(v).trim_end().to_owned();
        let old = [pod("p", json!({"v": 1}))];
        let new = [pod("p", json!({"v": 2}))];
        let diffs = diff_groups(
            &[Group {
                owner: OWNER,
                objects: &old,
            }],
            &[Group {
                owner: OWNER,
                objects: &new,
            }],
            &trimmed,
        );
        assert_eq!(diffs.len(), 1);
        assert!(!diffs[0].unified.contains("No newline"));
        assert!(
            diffs[0].unified.ends_with("+  v: 2\n"),
            "{}",
            diffs[0].unified
        );
    }

    #[test]
    fn equal_text_for_unequal_values_gives_nothing() {
        let constant = |_: &Value| "same\n".to_owned();
        let old = [pod("p", json!({"v": 1}))];
        let new = [pod("p", json!({"v": 2}))];
        let diffs = diff_groups(
            &[Group {
                owner: OWNER,
                objects: &old,
            }],
            &[Group {
                owner: OWNER,
                objects: &new,
            }],
            &constant,
        );
        assert!(diffs.is_empty());
    }

    #[test]
    fn text_output() {
        assert_eq!(to_text(&[]), "");
        let diffs = one(OWNER, &[pod("a", json!({}))], &[pod("b", json!({}))]);
        let text = to_text(&diffs);
        assert_eq!(text, format!("{}{}", diffs[0].unified, diffs[1].unified));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn github_output() {
        assert_eq!(to_github(&[]), "### No changes\n");
        let diffs = one(
            OWNER,
            &[pod("a", json!({"v": 1})), pod("gone", json!({}))],
            &[pod("a", json!({"v": 2})), pod("b", json!({}))],
        );
        let md = to_github(&diffs);
        assert!(md.starts_with("### 3 objects changed\n"), "{md}");
        assert!(md.contains(
            "<details><summary>Kustomization flux-system/apps: 1 added, 1 changed, 1 removed</summary>"
        ));
        assert!(md.contains("\n```diff\n"));
        assert!(md.ends_with("```\n\n</details>\n"));
        assert_eq!(md.matches("<details>").count(), 1);
        assert_eq!(to_github(&diffs), md);
    }

    #[test]
    fn github_output_lengthens_fence_around_backticks() {
        let readme = |body: &str| json!({"kind": "ConfigMap", "metadata": {"name": "readme"}, "data": {"md": body}});
        let diffs = one("HelmRelease docs/docs", &[readme("a")], &[readme("```")]);
        let md = to_github(&diffs);
        assert!(md.contains("\n````diff\n"), "{md}");
        assert!(md.ends_with("\n````\n\n</details>\n"), "{md}");

        let diffs = one("HelmRelease docs/docs", &[readme("a")], &[readme("`````")]);
        assert!(to_github(&diffs).contains("\n``````diff\n"));
    }

    #[test]
    fn github_summary_escapes_html() {
        let diffs = diff_groups(
            &[],
            &[Group {
                owner: "<b>&",
                objects: &[pod("a", json!({}))],
            }],
            &yaml,
        );
        assert!(to_github(&diffs).contains("<summary>&lt;b&gt;&amp;: 1 added"));
    }

    #[test]
    fn json_output_shape() {
        let diffs = one(OWNER, &[], &[pod("a", json!({}))]);
        let value = to_json(&diffs);
        let items = value.as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1);
        let item = &items[0];
        let keys: Vec<&str> = item
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["owner", "kind", "namespace", "name", "change", "diff"]
        );
        assert_eq!(item["owner"], OWNER);
        assert_eq!(item["kind"], "Pod");
        assert_eq!(item["namespace"], "default");
        assert_eq!(item["name"], "a");
        assert_eq!(item["change"], "added");
        assert_eq!(item["diff"], diffs[0].unified.as_str());
        assert_eq!(to_json(&[]), json!([]));
    }

    #[test]
    fn change_names() {
        assert_eq!(Change::Added.as_str(), "added");
        assert_eq!(Change::Removed.as_str(), "removed");
        assert_eq!(Change::Changed.as_str(), "changed");
    }

    #[test]
    fn duplicate_keys_match_by_occurrence() {
        let old = [pod("p", json!({"v": 1})), pod("p", json!({"v": 2}))];
        let new = [pod("p", json!({"v": 1})), pod("p", json!({"v": 3}))];
        let diffs = one(OWNER, &old, &new);
        assert_eq!(diffs.len(), 1);
        assert!(
            diffs[0].unified.contains("-  v: 2\n+  v: 3\n"),
            "{}",
            diffs[0].unified
        );
    }
}
