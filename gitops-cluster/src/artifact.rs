//! ExternalArtifacts of an `ArtifactGenerator` (source-watcher,
//! `source.extensions.fluxcd.io/v1beta1`), built from its sources' trees
//! as the controller's copy operations assemble them.
//!
//! Each artifact of `spec.artifacts` is an ExternalArtifact named after it,
//! in the generator's namespace; its files come from `copy` operations
//! `{from: "@alias/pattern", to: "@artifact/path", exclude: […], strategy}`
//! applied in order:
//!
//! * a `from` without glob characters names a file (copied to `to`, or
//!   into it when `to` ends with `/` or is a directory already) or a
//!   directory (copied whole into `to/<its name>`);
//! * a glob is matched like Go's `fs.Glob`, one path segment per pattern
//!   segment (`**` is `*` there); a pattern ending in `/**` copies what it
//!   matches relative to its directory, any other the matched path whole;
//!   directories are copied recursively;
//! * `exclude` patterns are doublestar globs (`**` crosses segments),
//!   matched against the path and against it relative to the pattern's
//!   fixed prefix;
//! * `Merge` deep-merges a YAML file onto one already copied; `Extract`
//!   (tarballs) and `spec.pathPattern` are not supported and say so.

use std::collections::BTreeMap;

use gitops_core::fs::{EntryKind, FileTree, MemTree, RelPath, walk_files};
use gitops_core::yaml::{Schema, parse_documents};
use serde_json::Value;

/// Why an artifact could not be built; the text names the generator,
/// the artifact and the copy operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

/// The sources of a generator by alias (as `spec.sources` name them).
pub type AliasTrees<'t> = [(String, &'t dyn FileTree)];

/// The aliases and source references of a generator: `(alias, kind,
/// namespace, name)`, the namespace defaulting to the generator's.
pub fn sources_of(generator: &Value) -> Vec<(String, String, String, String)> {
    let ns = generator
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    generator
        .pointer("/spec/sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let f = |k: &str| {
                s.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let namespace = Some(f("namespace")).filter(|n| !n.is_empty());
            (
                f("alias"),
                f("kind"),
                namespace.unwrap_or_else(|| ns.to_owned()),
                f("name"),
            )
        })
        .collect()
}

/// Whether the generator produces the artifact `name`.
pub fn produces(generator: &Value, name: &str) -> bool {
    artifact(generator, name).is_some()
}

fn artifact<'g>(generator: &'g Value, name: &str) -> Option<&'g Value> {
    generator
        .pointer("/spec/artifacts")
        .and_then(Value::as_array)?
        .iter()
        .find(|a| a.get("name").and_then(Value::as_str) == Some(name))
}

/// Build the artifact `name` of `generator` from the trees of its sources.
///
/// ```
/// use gitops_cluster::artifact::build;
/// use gitops_core::fs::{FileTree, MemTree, RelPath};
///
/// let mut repo = MemTree::new();
/// repo.insert("apps/base/app/deploy.yaml", "kind: Deployment\n")?;
/// repo.insert("apps/prod/kustomization.yaml", "resources: [../base/app]\n")?;
/// let generator = serde_json::json!({
///     "metadata": {"name": "gen", "namespace": "flux-system"},
///     "spec": {
///         "sources": [{"alias": "repo", "kind": "GitRepository", "name": "flux-system"}],
///         "artifacts": [{"name": "apps", "copy": [
///             {"from": "@repo/apps/base/**", "to": "@artifact/base/"},
///             {"from": "@repo/apps/prod/**", "to": "@artifact/prod/"},
///         ]}],
///     },
/// });
/// let tree = build(&generator, "apps", &[("repo".to_owned(), &repo as &dyn FileTree)])?;
/// assert!(tree.read(&RelPath::new("base/app/deploy.yaml")?).is_ok());
/// assert!(tree.read(&RelPath::new("prod/kustomization.yaml")?).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// An unknown artifact or alias, a malformed or failing copy operation,
/// an unsupported feature.
pub fn build(generator: &Value, name: &str, sources: &AliasTrees<'_>) -> Result<MemTree, Error> {
    let gen_name = generator
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let at = |m: String| {
        Error(format!(
            "ArtifactGenerator {gen_name}, artifact {name}: {m}"
        ))
    };
    if generator.pointer("/spec/pathPattern").is_some() {
        return Err(at("spec.pathPattern is not supported".to_owned()));
    }
    let spec = artifact(generator, name).ok_or_else(|| at("no such artifact".to_owned()))?;
    let mut out = Staging::default();
    for op in spec
        .get("copy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |k: &str| op.get(k).and_then(Value::as_str).unwrap_or_default();
        let (from, to) = (field("from"), field("to"));
        let excludes: Vec<&str> = op
            .get("exclude")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let strategy = match field("strategy") {
            "" | "Overwrite" => Strategy::Overwrite,
            "Merge" => Strategy::Merge,
            other => {
                return Err(at(format!(
                    "copy from '{from}': strategy {other:?} is not supported (Overwrite and Merge are)"
                )));
            }
        };
        copy(sources, from, to, &excludes, strategy, &mut out)
            .map_err(|m| at(format!("copy from '{from}' to '{to}': {m}")))?;
    }
    let mut tree = MemTree::new();
    for (p, data) in out.files {
        tree.insert(p.as_str(), data)
            .map_err(|e| at(e.to_string()))?;
    }
    Ok(tree)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Overwrite,
    Merge,
}

#[derive(Default)]
struct Staging {
    files: BTreeMap<RelPath, Vec<u8>>,
}

impl Staging {
    fn is_dir(&self, p: &RelPath) -> bool {
        p.is_root() || self.files.keys().any(|f| f != p && f.is_within(p))
    }
}

fn copy(
    sources: &AliasTrees<'_>,
    from: &str,
    to: &str,
    excludes: &[&str],
    strategy: Strategy,
    out: &mut Staging,
) -> Result<(), String> {
    let rest = from.strip_prefix('@').ok_or("source must start with '@'")?;
    let (alias, pattern) = rest
        .split_once('/')
        .ok_or("source format must be '@alias/pattern'")?;
    let dest = to
        .strip_prefix("@artifact/")
        .ok_or("destination must start with '@artifact/'")?;
    let dest_dir = to.ends_with('/');
    let dest = RelPath::new(dest).map_err(|e| e.to_string())?;
    let tree = sources
        .iter()
        .find(|(a, _)| a == alias)
        .map(|(_, t)| *t)
        .ok_or_else(|| format!("source alias '{alias}' not found"))?;
    let is_glob = pattern.contains(['*', '?', '[', ']']);
    if !is_glob {
        let src = RelPath::new(pattern).map_err(|e| e.to_string())?;
        return match tree.kind(&src).map_err(|e| e.to_string())? {
            Some(EntryKind::Dir) => {
                let target = dest.join(src.file_name()).map_err(|e| e.to_string())?;
                copy_dir(tree, &src, &target, excludes, &src, strategy, out)
            }
            Some(EntryKind::File) => {
                if excluded(src.as_str(), ".", excludes) {
                    return Ok(());
                }
                let target = if dest_dir || out.is_dir(&dest) {
                    dest.join(src.file_name()).map_err(|e| e.to_string())?
                } else {
                    dest
                };
                copy_file(tree, &src, target, strategy, out)
            }
            _ => Err(format!("source '{pattern}' does not exist")),
        };
    }
    let matches = glob(tree, pattern)?;
    if matches.is_empty() {
        return Err(format!(
            "no files match pattern '{pattern}' in source '{alias}'"
        ));
    }
    let base = selection_root(pattern);
    let kept: Vec<RelPath> = matches
        .into_iter()
        .filter(|m| !excluded(m.as_str(), &base, excludes))
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "all files matching pattern '{pattern}' in source '{alias}' were excluded"
        ));
    }
    for m in kept {
        let rel = pattern
            .strip_suffix("/**")
            .and_then(|prefix| m.as_str().strip_prefix(&format!("{prefix}/")))
            .unwrap_or(m.as_str());
        let target = dest.join(rel).map_err(|e| e.to_string())?;
        match tree.kind(&m).map_err(|e| e.to_string())? {
            Some(EntryKind::Dir) => copy_dir(
                tree,
                &m,
                &target,
                excludes,
                &RelPath::new(&base).unwrap_or_default(),
                strategy,
                out,
            )?,
            Some(EntryKind::File) => copy_file(tree, &m, target, strategy, out)?,
            _ => {}
        }
    }
    Ok(())
}

fn copy_dir(
    tree: &dyn FileTree,
    src: &RelPath,
    target: &RelPath,
    excludes: &[&str],
    base: &RelPath,
    strategy: Strategy,
    out: &mut Staging,
) -> Result<(), String> {
    let base = if base.is_root() { "." } else { base.as_str() };
    for f in walk_files(tree, src).map_err(|e| e.to_string())? {
        if excluded(f.as_str(), base, excludes) {
            continue;
        }
        let rel = f.as_str()[src.as_str().len()..].trim_start_matches('/');
        let to = target.join(rel).map_err(|e| e.to_string())?;
        // Files below an excluded directory go with it.
        let mut dir = f.parent();
        let mut skip = false;
        while dir.is_within(src) && dir != *src {
            if excluded(dir.as_str(), base, excludes) {
                skip = true;
                break;
            }
            dir = dir.parent();
        }
        if !skip {
            copy_file(tree, &f, to, strategy, out)?;
        }
    }
    Ok(())
}

fn copy_file(
    tree: &dyn FileTree,
    src: &RelPath,
    target: RelPath,
    strategy: Strategy,
    out: &mut Staging,
) -> Result<(), String> {
    let data = tree.read(src).map_err(|e| e.to_string())?;
    let merged = match (strategy, out.files.get(&target)) {
        (Strategy::Merge, Some(existing)) => merge_yaml(existing, &data, src)?,
        _ => data,
    };
    out.files.insert(target, merged);
    Ok(())
}

/// Every document of each file merged into one map, then the new one
/// deep-merged onto the old (maps merged key by key, anything else
/// replaced), printed as YAML.
fn merge_yaml(base: &[u8], overlay: &[u8], src: &RelPath) -> Result<Vec<u8>, String> {
    let load = |b: &[u8], what: &str| -> Result<serde_json::Map<String, Value>, String> {
        let text = std::str::from_utf8(b).map_err(|_| format!("{what} is not UTF-8"))?;
        let mut out = serde_json::Map::new();
        for d in parse_documents(text, what).map_err(|e| e.to_string())? {
            match d.root.to_json(Schema::Yaml11) {
                Value::Object(m) => out = merge_map(out, m),
                Value::Null => {}
                _ => return Err(format!("{what}: a document is not a map")),
            }
        }
        Ok(out)
    };
    let merged = merge_map(load(base, "the copied file")?, load(overlay, src.as_str())?);
    Ok(gitops_render::flux::postbuild::object_yaml(&Value::Object(merged)).into_bytes())
}

fn merge_map(
    mut base: serde_json::Map<String, Value>,
    overlay: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    for (k, v) in overlay {
        match (base.remove(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => {
                base.insert(k, Value::Object(merge_map(b, o)));
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    base
}

/// The pattern's segments before the first with a glob character.
fn selection_root(pattern: &str) -> String {
    let fixed: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .take_while(|s| !s.contains(['*', '?', '[', ']']))
        .collect();
    if fixed.is_empty() {
        ".".to_owned()
    } else {
        fixed.join("/")
    }
}

fn excluded(path: &str, base: &str, excludes: &[&str]) -> bool {
    if excludes.is_empty() {
        return false;
    }
    let hit = |p: &str| excludes.iter().any(|e| doublestar_match(e, p));
    if hit(path) {
        return true;
    }
    let rel = if base == "." {
        Some(path)
    } else {
        path.strip_prefix(base).and_then(|r| r.strip_prefix('/'))
    };
    rel.is_some_and(|r| r != path && hit(r))
}

/// Go's `fs.Glob`: matches in lexical order, one segment per pattern
/// segment.
fn glob(tree: &dyn FileTree, pattern: &str) -> Result<Vec<RelPath>, String> {
    let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let mut current = vec![RelPath::root()];
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let mut next = Vec::new();
        for dir in &current {
            if !seg.contains(['*', '?', '[', ']']) {
                let p = dir.join(seg).map_err(|e| e.to_string())?;
                if tree.kind(&p).map_err(|e| e.to_string())?.is_some() {
                    next.push(p);
                }
                continue;
            }
            let Ok(entries) = tree.list(dir) else {
                continue;
            };
            for e in entries {
                if !last && e.kind != EntryKind::Dir {
                    continue;
                }
                if segment_match(seg, e.path.file_name())? {
                    next.push(e.path);
                }
            }
        }
        current = next;
    }
    current.sort();
    Ok(current)
}

/// doublestar's `Match`: `**` as a whole segment matches any number of
/// segments; other segments as [`segment_match`].
fn doublestar_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((seg, rest)) => match s.split_first() {
                Some((first, srest)) => {
                    segment_match(seg, first).unwrap_or(false) && go(rest, srest)
                }
                None => false,
            },
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    go(&p, &s)
}

/// Go's `path.Match` on one segment: `*`, `?`, `[…]` classes (with `^`
/// or `!` negation and ranges) and `\` escapes.
fn segment_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Result<(bool, usize), String> {
        // p starts after '['; returns (matched, length consumed incl. ']').
        let mut i = 0;
        let negate = matches!(p.first(), Some('^') | Some('!'));
        if negate {
            i += 1;
        }
        let mut hit = false;
        let mut first = true;
        loop {
            let Some(&lo) = p.get(i) else {
                return Err("syntax error in pattern".to_owned());
            };
            if lo == ']' && !first {
                return Ok((hit != negate, i + 1));
            }
            first = false;
            let (lo, mut j) = if lo == '\\' {
                (*p.get(i + 1).ok_or("syntax error in pattern")?, i + 2)
            } else {
                (lo, i + 1)
            };
            let mut hi = lo;
            if p.get(j) == Some(&'-') && p.get(j + 1).is_some_and(|c| *c != ']') {
                hi = if p.get(j + 1) == Some(&'\\') {
                    *p.get(j + 2).ok_or("syntax error in pattern")?
                } else {
                    p[j + 1]
                };
                j += if p.get(j + 1) == Some(&'\\') { 3 } else { 2 };
            }
            if lo <= c && c <= hi {
                hit = true;
            }
            i = j;
        }
    }
    fn go(p: &[char], n: &[char]) -> Result<bool, String> {
        match p.first() {
            None => Ok(n.is_empty()),
            Some('*') => {
                for k in 0..=n.len() {
                    if go(&p[1..], &n[k..])? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Some('?') => Ok(!n.is_empty() && go(&p[1..], &n[1..])?),
            Some('[') => {
                let Some(&c) = n.first() else {
                    return Ok(false);
                };
                let (hit, len) = class(&p[1..], c)?;
                Ok(hit && go(&p[1 + len..], &n[1..])?)
            }
            Some('\\') => {
                let Some(&lit) = p.get(1) else {
                    return Err("syntax error in pattern".to_owned());
                };
                Ok(n.first() == Some(&lit) && go(&p[2..], &n[1..])?)
            }
            Some(&c) => Ok(n.first() == Some(&c) && go(&p[1..], &n[1..])?),
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo() -> MemTree {
        let mut t = MemTree::new();
        for p in [
            "infrastructure/controllers/kustomization.yaml",
            "infrastructure/controllers/cert-manager.yaml",
            "infrastructure/configs/issuers.yaml",
            "apps/base/podinfo/release.yaml",
            "apps/base/podinfo/README.md",
            "apps/production/kustomization.yaml",
            "values/a.yaml",
        ] {
            t.insert(p, format!("# {p}\n")).unwrap();
        }
        t.insert("values/base.yaml", "a: {b: 1, c: 2}\nlist: [1]\n")
            .unwrap();
        t.insert("values/prod.yaml", "a: {c: 3}\nlist: [2]\n")
            .unwrap();
        t
    }

    fn generator(copy: Value) -> Value {
        json!({"metadata": {"name": "g", "namespace": "flux-system"},
               "spec": {"sources": [{"alias": "mono", "kind": "GitRepository", "name": "flux-system"}],
                        "artifacts": [{"name": "out", "copy": copy}]}})
    }

    fn files(copy: Value) -> Result<Vec<String>, Error> {
        let r = repo();
        let t = build(
            &generator(copy),
            "out",
            &[("mono".to_owned(), &r as &dyn FileTree)],
        )?;
        Ok(t.files().map(|(p, _)| p.to_string()).collect())
    }

    #[test]
    fn copies_like_the_flux_example() {
        assert_eq!(
            files(json!([{"from": "@mono/infrastructure/**", "to": "@artifact/"}])).unwrap(),
            [
                "configs/issuers.yaml",
                "controllers/cert-manager.yaml",
                "controllers/kustomization.yaml"
            ]
        );
        assert_eq!(
            files(json!([
                {"from": "@mono/apps/base/**", "to": "@artifact/base/", "exclude": ["**/*.md"]},
                {"from": "@mono/apps/production/**", "to": "@artifact/production/"}
            ]))
            .unwrap(),
            ["base/podinfo/release.yaml", "production/kustomization.yaml"]
        );
    }

    #[test]
    fn single_files_directories_and_globs() {
        assert_eq!(
            files(json!([{"from": "@mono/values/a.yaml", "to": "@artifact/x/"}])).unwrap(),
            ["x/a.yaml"]
        );
        assert_eq!(
            files(json!([{"from": "@mono/values/a.yaml", "to": "@artifact/renamed.yaml"}]))
                .unwrap(),
            ["renamed.yaml"]
        );
        assert_eq!(
            files(json!([{"from": "@mono/apps/base", "to": "@artifact/"}])).unwrap(),
            ["base/podinfo/README.md", "base/podinfo/release.yaml"]
        );
        // Not a `/**` suffix: the matched paths keep their whole path.
        assert_eq!(
            files(json!([{"from": "@mono/infrastructure/*/k*.yaml", "to": "@artifact/"}])).unwrap(),
            ["infrastructure/controllers/kustomization.yaml"]
        );
    }

    #[test]
    fn merge_strategy_deep_merges_yaml() {
        let r = repo();
        let t = build(
            &generator(json!([
                {"from": "@mono/values/base.yaml", "to": "@artifact/values.yaml"},
                {"from": "@mono/values/prod.yaml", "to": "@artifact/values.yaml", "strategy": "Merge"}
            ])),
            "out",
            &[("mono".to_owned(), &r as &dyn FileTree)],
        )
        .unwrap();
        let text = t
            .read_to_string(&RelPath::new("values.yaml").unwrap())
            .unwrap();
        assert_eq!(text, "a:\n  b: 1\n  c: 3\nlist:\n- 2\n");
    }

    #[test]
    fn errors_name_the_operation() {
        let e = files(json!([{"from": "@nope/x", "to": "@artifact/"}])).unwrap_err();
        assert!(
            e.to_string().contains("source alias 'nope' not found"),
            "{e}"
        );
        let e = files(json!([{"from": "@mono/none/**", "to": "@artifact/"}])).unwrap_err();
        assert!(
            e.to_string().contains("no files match pattern 'none/**'"),
            "{e}"
        );
        let e = files(json!([{"from": "@mono/x", "to": "artifact/"}])).unwrap_err();
        assert!(
            e.to_string()
                .contains("destination must start with '@artifact/'"),
            "{e}"
        );
        let e =
            files(json!([{"from": "@mono/values/**", "to": "@artifact/", "strategy": "Extract"}]))
                .unwrap_err();
        assert!(
            e.to_string().contains("\"Extract\" is not supported"),
            "{e}"
        );
        let e = files(json!([{"from": "@mono/../x", "to": "@artifact/"}])).unwrap_err();
        assert!(e.to_string().contains("escapes"), "{e}");
    }

    #[test]
    fn go_path_match() {
        for (p, n, want) in [
            ("*.yaml", "a.yaml", true),
            ("*.yaml", "a.yml", false),
            ("a?c", "abc", true),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[!a-c]x", "dx", true),
            ("\\*", "*", true),
            ("**", "anything", true),
        ] {
            assert_eq!(segment_match(p, n).unwrap(), want, "{p} {n}");
        }
        assert!(segment_match("[a-", "a").is_err());
        assert!(doublestar_match("**/*.md", "a/b/c.md"));
        assert!(doublestar_match("**/*.md", "c.md"));
        assert!(!doublestar_match("*.md", "a/c.md"));
    }
}
