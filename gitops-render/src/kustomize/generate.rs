//! ConfigMap and Secret generators, and kustomize's name hash suffix.

use std::collections::HashMap;

use gitops_core::fs::{FileTree, RelPath};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::kustomize::kustomization::Kustomization;
use crate::kustomize::loader::{display, read_bytes_in_root, read_in_root};
use crate::kustomize::types::{GeneratorArgs, GeneratorOptions};
use crate::resource::{Behavior, Resource};
use crate::value::{Map, Value};

/// Run `configMapGenerator` then `secretGenerator`, absorbing the results.
pub(crate) fn run_generators(
    tree: &dyn FileTree,
    dir: &RelPath,
    k: &Kustomization,
    ra: &mut Vec<Resource>,
    origin: Option<&crate::kustomize::buildmeta::Origin>,
) -> Result<(), Error> {
    // Room for what the generators add, at most: a large accumulated list
    // is not doubled for a few generated objects.
    ra.reserve_exact(k.config_map_generator.len() + k.secret_generator.len());
    for (args, secret) in k
        .config_map_generator
        .iter()
        .map(|a| (a, false))
        .chain(k.secret_generator.iter().map(|a| (a, true)))
    {
        let opts = merge_options(args.options.as_ref(), k.generator_options.as_ref());
        let mut res = generate(tree, dir, args, &opts, secret)?;
        if let Some(o) = origin {
            let kind = if secret {
                "SecretGenerator"
            } else {
                "ConfigMapGenerator"
            };
            crate::kustomize::buildmeta::annotate_generated(
                &mut res,
                &o.builtin(&k.file_name, kind),
            );
        }
        absorb(ra, res)?;
    }
    Ok(())
}

/// Run one generator plugin config (`ConfigMapGenerator`/`SecretGenerator`):
/// its own options only, the kustomization's `generatorOptions` do not apply.
pub(crate) fn run_one(
    tree: &dyn FileTree,
    dir: &RelPath,
    args: &GeneratorArgs,
    secret: bool,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    let opts = args.options.clone().unwrap_or_default();
    let res = generate(tree, dir, args, &opts, secret)?;
    absorb(ra, res)
}

fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut o = local.cloned().unwrap_or_default();
    if let Some(g) = global {
        for (k, v) in &g.labels {
            set_pair(&mut o.labels, k, v);
        }
        for (k, v) in &g.annotations {
            set_pair(&mut o.annotations, k, v);
        }
        if g.disable_name_suffix_hash == Some(true) {
            o.disable_name_suffix_hash = Some(true);
        }
        if g.immutable == Some(true) {
            o.immutable = Some(true);
        }
    }
    o
}

fn set_pair(pairs: &mut Vec<(String, String)>, k: &str, v: &str) {
    match pairs.iter_mut().find(|(key, _)| key == k) {
        Some(p) => p.1 = v.to_owned(),
        None => pairs.push((k.to_owned(), v.to_owned())),
    }
}

fn gen_err(name: &str, message: impl Into<String>) -> Error {
    Error::Generator {
        name: name.to_owned(),
        message: message.into(),
    }
}

/// The generator's key/value pairs; values are bytes because `files` may
/// be binary (env files and literals are text).
fn load_pairs(
    tree: &dyn FileTree,
    dir: &RelPath,
    args: &GeneratorArgs,
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let name = &args.name;
    let mut all = Vec::new();
    for env in &args.envs {
        let (_, text) = read_in_root(tree, dir, env)?;
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = if n == 0 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(gen_err(
                    name,
                    format!("invalid key {key:?} in env file {env}"),
                ));
            }
            all.push((key.to_owned(), value.as_bytes().to_vec()));
        }
    }
    for lit in &args.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(gen_err(
                name,
                format!("invalid literal source {lit}, expected key=value"),
            ));
        };
        all.push((k.to_owned(), remove_quotes(v).as_bytes().to_vec()));
    }
    for f in &args.files {
        let (key, path) = match f.matches('=').count() {
            0 => (f.rsplit('/').next().unwrap_or(f).to_owned(), f.as_str()),
            1 => {
                let (k, p) = f.split_once('=').unwrap_or((f, ""));
                if k.is_empty() {
                    return Err(gen_err(
                        name,
                        format!("missing key name for file path {p:?} in source {f:?}"),
                    ));
                }
                if p.is_empty() {
                    return Err(gen_err(
                        name,
                        format!("missing file path for key name {k:?} in source {f:?}"),
                    ));
                }
                (k.to_owned(), p)
            }
            _ => {
                return Err(gen_err(
                    name,
                    format!("source {f:?} key name or file path contains '='"),
                ));
            }
        };
        let (_, bytes) = read_bytes_in_root(tree, dir, path)?;
        all.push((key, bytes));
    }
    let mut seen = HashMap::new();
    for (k, _) in &all {
        if !is_valid_key(k) {
            return Err(gen_err(
                name,
                format!("{k:?} is not a valid key name for a ConfigMap or Secret"),
            ));
        }
        if seen.insert(k.clone(), ()).is_some() {
            return Err(gen_err(
                name,
                format!("configmap {name} illegally repeats the key `{k}`"),
            ));
        }
    }
    Ok(all)
}

fn is_valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && k != "."
        && k != ".."
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn generate(
    tree: &dyn FileTree,
    dir: &RelPath,
    args: &GeneratorArgs,
    opts: &GeneratorOptions,
    secret: bool,
) -> Result<Resource, Error> {
    if args.name.is_empty() {
        return Err(gen_err(
            "",
            format!(
                "a {} must have a name (in {})",
                if secret { "secret" } else { "configmap" },
                display(dir)
            ),
        ));
    }
    let mut pairs = load_pairs(tree, dir, args)?;
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut obj = Map::new();
    obj.insert("apiVersion", Value::Str("v1".into()));
    obj.insert(
        "kind",
        Value::Str(if secret { "Secret" } else { "ConfigMap" }.into()),
    );
    let mut md = Map::new();
    md.insert("name", Value::Str(args.name.as_str().into()));
    if !args.namespace.is_empty() {
        md.insert("namespace", Value::Str(args.namespace.as_str().into()));
    }
    let mut sorted_labels = opts.labels.clone();
    sorted_labels.sort();
    if !sorted_labels.is_empty() {
        md.insert(
            "labels",
            Value::Map(
                sorted_labels
                    .into_iter()
                    .map(|(k, v)| (k, Value::Str(v.into())))
                    .collect(),
            ),
        );
    }
    let mut sorted_ann = opts.annotations.clone();
    sorted_ann.sort();
    if !sorted_ann.is_empty() {
        md.insert(
            "annotations",
            Value::Map(
                sorted_ann
                    .into_iter()
                    .map(|(k, v)| (k, Value::Str(v.into())))
                    .collect(),
            ),
        );
    }
    obj.insert("metadata", Value::Map(md));
    if secret {
        let t = if args.secret_type.is_empty() {
            "Opaque"
        } else {
            &args.secret_type
        };
        obj.insert("type", Value::Str(t.into()));
        let data: Map = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::Str(encode_base64(&v).into())))
            .collect();
        obj.insert("data", Value::Map(data));
    } else {
        // kyaml's makeConfigMapValueRNode: UTF-8 text goes to `data`,
        // anything else base64-encoded to `binaryData`.
        let (mut data, mut binary) = (Map::new(), Map::new());
        for (k, v) in pairs {
            match String::from_utf8(v) {
                Ok(text) => data.insert(k, Value::Str(text.into())),
                Err(e) => binary.insert(k, Value::Str(encode_base64(e.as_bytes()).into())),
            }
        }
        if !binary.is_empty() {
            obj.insert("binaryData", Value::Map(binary));
        }
        if !data.is_empty() {
            obj.insert("data", Value::Map(data));
        }
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable", Value::Bool(true));
    }
    let mut r = Resource::new(Value::Map(obj));
    r.generated = true;
    r.needs_hash = opts.disable_name_suffix_hash != Some(true);
    r.behavior = Behavior::from_name(&args.behavior);
    Ok(r)
}

/// Base64 with a newline after every 70 characters when longer than one line.
pub(crate) fn encode_base64(data: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64_std(data);
    let lines = enc.len() / LINE + 1;
    if lines <= 1 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + lines);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn base64_std(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Add a generated resource: create, or merge/replace an existing one.
pub(crate) fn absorb(ra: &mut Vec<Resource>, mut res: Resource) -> Result<(), Error> {
    let id = res.cur_id();
    let matches: Vec<usize> = ra
        .iter()
        .enumerate()
        .filter(|(_, r)| r.matches_any_id(&id))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [] => match res.behavior {
            Behavior::Merge | Behavior::Replace => Err(gen_err(
                &id.name,
                format!("id {id} does not exist; cannot merge or replace"),
            )),
            // No resource has this id as its current one (or any
            // previous one): nothing to conflict with.
            Behavior::Create => {
                ra.push(res);
                Ok(())
            }
        },
        [i] => {
            let old = &ra[*i];
            match res.behavior {
                Behavior::Create => {
                    return Err(gen_err(
                        &id.name,
                        format!("id {id} exists; behavior must be merge or replace"),
                    ));
                }
                Behavior::Replace | Behavior::Merge => {}
            }
            let mut labels = old.labels();
            for (k, v) in res.labels() {
                set_pair(&mut labels, &k, &v);
            }
            let mut ann = old.annotations();
            let merge = res.behavior == Behavior::Merge;
            let old_origin = ann
                .iter()
                .find(|(k, _)| k == crate::kustomize::buildmeta::ORIGIN_KEY)
                .cloned();
            for (k, v) in res.annotations() {
                set_pair(&mut ann, &k, &v);
            }
            // A merge keeps the origin of the resource merged into.
            if merge && let Some((k, v)) = old_origin {
                set_pair(&mut ann, &k, &v);
            }
            let md = res.metadata_mut();
            set_string_map(md, "labels", labels);
            set_string_map(md, "annotations", ann);
            res.set_name(old.name());
            res.set_namespace(old.namespace());
            // kustomize's copyKustomizeSpecificFields: vars bound to the old one.
            res.ref_vars.clone_from(&old.ref_vars);
            if merge {
                for field in ["data", "binaryData"] {
                    let mut merged = old
                        .value
                        .get(field)
                        .and_then(Value::as_map)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(new) = res.value.get(field).and_then(Value::as_map) {
                        for (k, v) in new.iter() {
                            merged.insert(k, v.clone());
                        }
                    }
                    if let Value::Map(root) = &mut res.value
                        && (!merged.is_empty() || root.contains_key(field))
                    {
                        root.insert(field, Value::Map(merged));
                    }
                }
            }
            res.prev = old.prev.clone();
            res.prefixes = old.prefixes.clone();
            res.suffixes = old.suffixes.clone();
            res.needs_hash = res.needs_hash && old.needs_hash;
            res.behavior = old.behavior;
            res.generated = old.generated || res.generated;
            ra[*i] = res;
            Ok(())
        }
        _ => Err(gen_err(
            &id.name,
            format!("found multiple objects that could accept merge of {id}"),
        )),
    }
}

fn set_string_map(md: &mut Map, field: &str, pairs: Vec<(String, String)>) {
    if pairs.is_empty() {
        md.remove(field);
    } else {
        md.insert(
            field,
            Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::Str(v.into())))
                    .collect(),
            ),
        );
    }
}

/// kustomize's name hash of a ConfigMap or Secret (or any object).
pub(crate) fn hash(r: &Resource) -> String {
    let v = &r.value;
    let field = |name: &str| -> Value {
        match v.get(name) {
            None | Some(Value::Null) => Value::Str(String::new().into()),
            Some(Value::Map(m)) => Value::Map(m.clone()),
            Some(other) => Value::Str(other.scalar_text().unwrap_or_default().into()),
        }
    };
    let mut m = Map::new();
    // kustomize looks the name up with a single path element
    // "metadata/name", which never matches: the name is always empty.
    let name = Value::Str(String::new().into());
    match r.kind() {
        "ConfigMap" => {
            m.insert("kind", Value::Str("ConfigMap".into()));
            m.insert("name", name);
            m.insert("data", field("data"));
            if let Some(Value::Map(b)) = v.get("binaryData") {
                m.insert("binaryData", Value::Map(b.clone()));
            }
        }
        "Secret" => {
            m.insert("kind", Value::Str("Secret".into()));
            m.insert("type", field("type"));
            m.insert("name", name);
            m.insert("data", field("data"));
            if let Some(Value::Map(b)) = v.get("stringData") {
                m.insert("stringData", Value::Map(b.clone()));
            }
        }
        _ => {
            return encode_hash(&Sha256::digest(v.to_go_json().as_bytes()));
        }
    }
    let json = Value::Map(m).to_go_json();
    encode_hash(&Sha256::digest(json.as_bytes()))
}

fn encode_hash(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Append `-<hash>` to every resource that asked for it.
pub(crate) fn add_hashes(ra: &mut [Resource]) -> Result<(), Error> {
    for r in ra.iter_mut() {
        if r.needs_hash {
            let h = hash(r);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lines() {
        assert_eq!(encode_base64(b"apple"), "YXBwbGU=");
        assert_eq!(encode_base64(b"ab"), "YWI=");
        let long = encode_base64(&[b'x'; 60]);
        assert!(long.ends_with('\n'));
        assert_eq!(long.lines().next().map(str::len), Some(70));
    }

    #[test]
    fn quotes_removed_from_literals() {
        assert_eq!(remove_quotes("'a'"), "a");
        assert_eq!(remove_quotes("\"a"), "\"a");
    }
}
