//! Plugin configs listed under `transformers`, `generators` and `validators`
//! (kustomize's builtin plugins, `apiVersion: builtin`), and the hand-off of
//! every other plugin (exec, Go, KRM functions, Helm charts) to a
//! caller-supplied [`PluginExecutor`](crate::PluginExecutor).
//!
//! An entry is inline YAML when it parses as resources, else a file or a
//! kustomization directory whose output is the configs. Transformers run in
//! listed order after the kustomization's own transformers; generators after
//! `configMapGenerator`/`secretGenerator`; validators last, and they must not
//! change anything.

use gitops_core::fs::{FileTree, RelPath};

use crate::Error;
use crate::kustomize::buildmeta::Origin;
use crate::kustomize::helm_inflate::{self, Inflated};
use crate::kustomize::kustomization::{Kustomization, field_spec, generator, selector};
use crate::kustomize::loader::{Source, append_all, display, read_in_root, resources_from_text};
use crate::kustomize::openapi::Current;
use crate::kustomize::options::{ExecutorError, PluginExecutor};
use crate::kustomize::transform::{self, SubjectMode};
use crate::kustomize::types::{FieldSpec, Image, Patch, Replica};
use crate::kustomize::{generate, patch};
use crate::resource::{Behavior, Resource};
use crate::schema::Schemas;
use crate::value::{Map, Value};

/// kustomize's annotation asking for a name hash on generated objects.
const NEEDS_HASH: &str = "kustomize.config.k8s.io/needs-hash";
/// kustomize's annotation naming a generated object's merge behavior.
const BEHAVIOR: &str = "kustomize.config.k8s.io/behavior";
/// Label a validator may add (kustomize removes it before comparing).
const VALIDATED_BY: &str = "validated-by";

/// What a plugin config is run as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Transformer,
    Generator,
}

/// Field of a plugin config: exact name first, then any case (Go's JSON).
fn field<'a>(m: &'a Map, name: &str) -> Option<&'a Value> {
    m.get(name)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn text(m: &Map, name: &str) -> String {
    field(m, name)
        .and_then(Value::scalar_text)
        .unwrap_or_default()
}

fn string_pairs(m: &Map, name: &str) -> Vec<(String, String)> {
    field(m, name)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.scalar_text().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// A parsed plugin config with what error messages need.
struct Config<'a> {
    res: &'a Resource,
    map: &'a Map,
    kind: String,
    origin: String,
}

impl Config<'_> {
    fn err(&self, message: impl Into<String>) -> Error {
        Error::Plugin {
            file: self.origin.clone(),
            id: self.res.cur_id().to_string(),
            message: message.into(),
        }
    }

    fn field_specs(&self) -> Result<Option<Vec<FieldSpec>>, Error> {
        match field(self.map, "fieldSpecs") {
            None => Ok(None),
            // Plugin configs are read leniently (Go's yaml.Unmarshal): fields
            // a field spec does not have are ignored.
            Some(Value::Seq(items)) => items
                .iter()
                .map(|v| {
                    let m = v
                        .as_map()
                        .ok_or_else(|| self.err("a field spec must be a mapping"))?;
                    let known: Map = m
                        .iter()
                        .filter(|(k, _)| {
                            ["group", "version", "kind", "path", "create"]
                                .iter()
                                .any(|n| k.eq_ignore_ascii_case(n))
                        })
                        .map(|(k, v)| (k, v.clone()))
                        .collect();
                    field_spec(&Value::Map(known), &self.origin)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.err("fieldSpecs must be a list")),
        }
    }

    fn target(&self) -> Result<Option<crate::kustomize::types::Selector>, Error> {
        field(self.map, "target")
            .map(|t| selector(t, &self.origin))
            .transpose()
    }
}

fn is_builtin(r: &Resource) -> bool {
    r.api_version() == "builtin"
}

/// Resources as one YAML stream.
fn stream(ra: &[Resource]) -> String {
    let mut out = String::new();
    for (i, r) in ra.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&r.to_yaml());
    }
    out
}

/// Take kustomize's internal generator annotations off a resource.
fn absorb_internal_annotations(r: &mut Resource) -> Result<(), Error> {
    let (hash, behavior, now_empty) = match r.value.get_path_mut(&["metadata", "annotations"]) {
        Some(Value::Map(ann)) => {
            let h = ann.remove(NEEDS_HASH).and_then(|v| v.scalar_text());
            let b = ann.remove(BEHAVIOR).and_then(|v| v.scalar_text());
            (h, b, ann.is_empty())
        }
        _ => return Ok(()),
    };
    if now_empty && let Some(Value::Map(md)) = r.value.get_path_mut(&["metadata"]) {
        md.remove("annotations");
    }
    if hash.as_deref() == Some("true") {
        r.needs_hash = true;
    }
    r.behavior = Behavior::from_name(behavior.as_deref().unwrap_or_default());
    Ok(())
}

/// kustomize's `ReplacementTransformer`: its `replacements` list has the
/// kustomization field's format (inline replacements or `{path: file}`),
/// decoded leniently as plugin configs are.
fn replacement_transformer(
    tree: &dyn FileTree,
    dir: &RelPath,
    config: &Config<'_>,
    ra: &mut [Resource],
) -> Result<(), Error> {
    let Some(list) = field(config.map, "replacements") else {
        return Ok(());
    };
    let fields = crate::kustomize::kustomization::replacement_fields(list, &config.origin, false)?;
    crate::kustomize::replacements::run(tree, dir, &fields, ra)
}

/// kustomize's `filesys.InsertPathPart`.
fn insert_path_part(path: &str, pos: usize, part: &str) -> String {
    if path.is_empty() {
        return part.to_owned();
    }
    let rooted = path.starts_with('/');
    let trimmed = path.trim_start_matches('/');
    let mut parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let at = pos.min(parts.len());
    parts.insert(at, part);
    let joined = parts.join("/");
    if rooted { format!("/{joined}") } else { joined }
}

/// Split a ValueAdd field path on `/`, a trailing `\` joining two parts.
fn value_add_path(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in path.split('/') {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(f);
            }
            _ => out.push(f.to_owned()),
        }
    }
    out
}

fn value_add(
    tree: &dyn FileTree,
    dir: &RelPath,
    c: &Config<'_>,
    ra: &mut [Resource],
) -> Result<(), Error> {
    let mut value = text(c.map, "value").trim().to_owned();
    if value.is_empty() {
        value = dir
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
    }
    let mut targets: crate::value::Seq = field(c.map, "targets")
        .and_then(Value::as_seq)
        .cloned()
        .unwrap_or_default();
    let target_file = text(c.map, "targetFilePath");
    if !target_file.is_empty() {
        let (path, body) = read_in_root(tree, dir, &target_file)?;
        let docs = crate::budget::parse_documents(&body, &display(&path))?;
        if let Some(doc) = docs.into_iter().find(|d| !d.is_empty()) {
            let v = Value::from_node(&doc.root);
            if let Some(Value::Seq(more)) = v.as_map().and_then(|m| field(m, "targets")) {
                targets.extend(more.iter().cloned());
            }
        }
    }
    if targets.is_empty() {
        return Err(c.err("must specify at least one target"));
    }
    for t in &targets {
        let Some(tm) = t.as_map() else {
            return Err(c.err("a target must be a mapping"));
        };
        let field_path = text(tm, "fieldPath");
        if field_path.is_empty() {
            return Err(c.err("fieldPath cannot be empty"));
        }
        let position = match field(tm, "filePathPosition") {
            None => 0,
            Some(Value::Int(i)) if *i >= 0 => usize::try_from(*i).unwrap_or(usize::MAX),
            Some(Value::Int(i)) => {
                return Err(c.err(format!(
                    "value of FilePathPosition ({i}) cannot be negative"
                )));
            }
            Some(_) => return Err(c.err("filePathPosition must be an integer")),
        };
        let selected: Vec<usize> = match field(tm, "selector") {
            None => (0..ra.len()).collect(),
            Some(s) => patch::select(ra, &selector(s, &c.origin)?)?,
        };
        for i in selected {
            if field_path == "metadata/namespace" {
                transform::namespace(
                    &value,
                    &[],
                    false,
                    SubjectMode::DefaultOnly,
                    std::slice::from_mut(&mut ra[i]),
                )?;
                continue;
            }
            let path = value_add_path(&field_path);
            let mut cur = &mut ra[i].value;
            for (n, name) in path.iter().enumerate() {
                let Value::Map(m) = cur else {
                    return Err(c.err(format!("cannot set {field_path}: not a mapping")));
                };
                let last = n + 1 == path.len();
                cur = m.entry_or_insert_with(name, || {
                    if last {
                        Value::Str(String::new().into())
                    } else {
                        Value::Map(Map::new())
                    }
                });
                if cur.is_null() {
                    *cur = if last {
                        Value::Str(String::new().into())
                    } else {
                        Value::Map(Map::new())
                    };
                }
            }
            let Some(old) = cur.scalar_text() else {
                return Err(c.err(format!(
                    "wrong node kind at {field_path}: expected a scalar"
                )));
            };
            *cur = Value::Str(if position > 0 {
                (insert_path_part(&old, position - 1, &value)).into()
            } else {
                value.as_str().into()
            });
        }
    }
    Ok(())
}

fn iam_policy(c: &Config<'_>) -> Result<Resource, Error> {
    let cloud = text(c.map, "cloud");
    if cloud != "gke" {
        return Err(c.err(format!("cloud provider {cloud} not supported yet")));
    }
    let empty = Map::new();
    let ks = field(c.map, "kubernetesService")
        .and_then(Value::as_map)
        .unwrap_or(&empty);
    let sa = field(c.map, "serviceAccount")
        .and_then(Value::as_map)
        .unwrap_or(&empty);
    let mut ann = Map::new();
    ann.insert(
        "iam.gke.io/gcp-service-account",
        Value::Str(
            format!(
                "{}@{}.iam.gserviceaccount.com",
                text(sa, "name"),
                text(sa, "projectId")
            )
            .into(),
        ),
    );
    let mut md = Map::new();
    md.insert("annotations", Value::Map(ann));
    md.insert("name", Value::Str((text(ks, "name")).into()));
    let ns = text(ks, "namespace");
    if !ns.is_empty() {
        md.insert("namespace", Value::Str(ns.into()));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion", Value::Str("v1".into()));
    obj.insert("kind", Value::Str("ServiceAccount".into()));
    obj.insert("metadata", Value::Map(md));
    Ok(Resource::new(Value::Map(obj)))
}

/// Run one builtin transformer config on `ra`.
fn run_builtin_transformer(
    tree: &dyn FileTree,
    dir: &RelPath,
    c: &Config<'_>,
    ra: &mut Vec<Resource>,
    schemas: Schemas<'_>,
) -> Result<(), Error> {
    match c.kind.as_str() {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let fss = c
                .field_specs()?
                .ok_or_else(|| c.err("fieldSpecs is not expected to be nil"))?;
            if c.kind != "SuffixTransformer" {
                transform::prefix_suffix(&text(c.map, "prefix"), true, &fss, ra)?;
            }
            if c.kind != "PrefixTransformer" {
                transform::prefix_suffix(&text(c.map, "suffix"), false, &fss, ra)?;
            }
            Ok(())
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let name = if c.kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let pairs = string_pairs(c.map, name);
            if pairs.is_empty() {
                return Ok(());
            }
            let fss = c.field_specs()?.unwrap_or_default();
            transform::set_entries(&pairs, &fss, ra)
        }
        "NamespaceTransformer" => {
            let ns = field(c.map, "metadata")
                .and_then(Value::as_map)
                .map(|m| text(m, "namespace"))
                .unwrap_or_default();
            let mode = match text(c.map, "setRoleBindingSubjects").as_str() {
                "" | "defaultOnly" => SubjectMode::DefaultOnly,
                "allServiceAccounts" => SubjectMode::AllServiceAccounts,
                "none" => SubjectMode::None,
                other => {
                    return Err(c.err(format!(
                        "invalid value {other:?} for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                    )));
                }
            };
            let unset_only = matches!(field(c.map, "unsetOnly"), Some(Value::Bool(true)));
            if ns.is_empty() {
                return Ok(());
            }
            let fss = c.field_specs()?.unwrap_or_default();
            transform::namespace(&ns, &fss, unset_only, mode, ra)
        }
        "PatchTransformer" => {
            let mut p = Patch {
                path: text(c.map, "path"),
                patch: text(c.map, "patch").trim().to_owned(),
                target: c.target()?,
                ..Patch::default()
            };
            if let Some(Value::Map(o)) = field(c.map, "options") {
                p.allow_name_change =
                    matches!(field(o, "allowNameChange"), Some(Value::Bool(true)));
                p.allow_kind_change =
                    matches!(field(o, "allowKindChange"), Some(Value::Bool(true)));
            }
            patch::apply_patches(tree, dir, std::slice::from_ref(&p), ra, schemas)
        }
        "PatchStrategicMergeTransformer" => {
            let mut entries: Vec<String> = match field(c.map, "paths") {
                None => Vec::new(),
                Some(Value::Seq(items)) => items.iter().filter_map(Value::scalar_text).collect(),
                Some(_) => return Err(c.err("paths must be a list")),
            };
            let inline = text(c.map, "patches");
            if entries.is_empty() && inline.is_empty() {
                return Err(c.err("empty file path and empty patch content"));
            }
            if !inline.is_empty() {
                let docs = crate::budget::parse_documents(&inline, &c.origin)?;
                if docs
                    .iter()
                    .filter(|d| !d.is_empty())
                    .any(|d| !matches!(Value::from_node(&d.root), Value::Map(_)))
                {
                    return Err(c.err("missing Resource metadata"));
                }
            }
            if !inline.is_empty() {
                entries.push(inline);
            }
            patch::apply_strategic_merge_patches(tree, dir, &entries, ra, schemas)
        }
        "PatchJson6902Transformer" => {
            let target = c.target()?;
            if target.as_ref().is_none_or(|t| t.name.is_empty()) {
                return Err(c.err("must specify the target name"));
            }
            let p = Patch {
                path: text(c.map, "path"),
                patch: text(c.map, "jsonOp"),
                target,
                ..Patch::default()
            };
            match (p.path.is_empty(), p.patch.is_empty()) {
                (true, true) => return Err(c.err("empty file path and empty jsonOp")),
                (false, false) => {
                    return Err(c.err("must specify a file path or jsonOp, not both"));
                }
                _ => {}
            }
            if !p.patch.is_empty() {
                check_json_patch(c, &p.patch)?;
            }
            patch::apply_json6902_patches(tree, dir, std::slice::from_ref(&p), ra)
        }
        "ImageTagTransformer" => {
            let empty = Map::new();
            let it = field(c.map, "imageTag")
                .and_then(Value::as_map)
                .unwrap_or(&empty);
            let img = Image {
                name: text(it, "name"),
                new_name: text(it, "newName"),
                new_tag: text(it, "newTag"),
                digest: text(it, "digest"),
                tag_suffix: text(it, "tagSuffix"),
            };
            let fss = c.field_specs()?.unwrap_or_default();
            transform::images(&img, &fss, ra)
        }
        "ReplicaCountTransformer" => {
            let empty = Map::new();
            let r = field(c.map, "replica")
                .and_then(Value::as_map)
                .unwrap_or(&empty);
            let rep = Replica {
                name: text(r, "name"),
                count: field(r, "count").cloned().unwrap_or(Value::Int(0)),
            };
            let fss = c.field_specs()?.unwrap_or_default();
            transform::replicas(&rep, &fss, ra)
        }
        "HashTransformer" => {
            generate::add_hashes(ra)?;
            for r in ra.iter_mut() {
                r.needs_hash = false;
            }
            Ok(())
        }
        "ValueAddTransformer" => value_add(tree, dir, c, ra),
        "ReplacementTransformer" => replacement_transformer(tree, dir, c, ra),
        _ => Err(unable_to_load(c)),
    }
}

/// A JSON patch given inline must decode to a list of operations; say what
/// it decoded to the way kustomize (Go's JSON decoder) does.
fn check_json_patch(c: &Config<'_>, text: &str) -> Result<(), Error> {
    if patch::json_ops_from_text(text).is_ok() {
        return Ok(());
    }
    let docs = crate::budget::parse_documents(text, &c.origin)?;
    let what = match docs.first().map(|d| Value::from_node(&d.root)) {
        Some(Value::Str(_)) => "string",
        Some(Value::Map(_)) => "object",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Int(_) | Value::Float(_)) => "number",
        _ => return Ok(()),
    };
    Err(c.err(format!(
        "decoding {text:?}: json: cannot unmarshal {what} into Go value of type jsonpatch.Patch"
    )))
}

/// kubectl's message for a builtin kind it does not wire (also
/// `SortOrderTransformer`, which kustomize only allows as `sortOptions`).
fn unable_to_load(c: &Config<'_>) -> Error {
    c.err(format!("unable to load builtin {}.builtin.[noGrp]", c.kind))
}

/// Run one builtin generator config, absorbing its output into `ra`.
fn run_builtin_generator(
    tree: &dyn FileTree,
    dir: &RelPath,
    c: &Config<'_>,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    match c.kind.as_str() {
        "ConfigMapGenerator" | "SecretGenerator" => {
            let secret = c.kind == "SecretGenerator";
            let mut args_map = Map::new();
            // Lenient like Go's yaml.Unmarshal: only the generator's fields.
            let known = [
                "name",
                "namespace",
                "behavior",
                "literals",
                "files",
                "envs",
                "env",
                "options",
                "type",
            ];
            for (k, v) in c.map.iter() {
                if known.iter().any(|n| k.eq_ignore_ascii_case(n)) && (secret || k != "type") {
                    args_map.insert(k, v.clone());
                }
            }
            let mut args = generator(&Value::Map(args_map), &c.origin, secret)?;
            if args.name.is_empty() {
                args.name = c.res.name().to_owned();
            }
            if args.namespace.is_empty() {
                args.namespace = c.res.namespace().to_owned();
            }
            generate::run_one(tree, dir, &args, secret, ra)
        }
        "IAMPolicyGenerator" => {
            let r = iam_policy(c)?;
            generate::absorb(ra, r)
        }
        _ => Err(unable_to_load(c)),
    }
}

/// What running plugins needs from the build in progress.
pub(crate) trait PluginHost {
    /// The caller's executor for non-builtin plugins.
    fn executor(&self) -> Option<&dyn PluginExecutor>;

    /// Origin of the kustomization being run, when `buildMetadata` asks
    /// for origin tracking.
    fn origin(&self) -> Option<&Origin>;

    /// The schemas in force now (marks the built-in one as used).
    fn current_schemas(&mut self) -> Current;

    /// Accumulate plugin config entries that are files or kustomization
    /// directories (relative to `dir`), appending their resources to `out`
    /// one entry after the other. Directories get a throw-away transformer
    /// config accumulator, as in kustomize.
    fn accumulate_configs(
        &mut self,
        src: &Source<'_>,
        dir: &RelPath,
        entries: &[&String],
        out: &mut Vec<Resource>,
    ) -> Result<(), Error>;
}

/// Load the plugin configs of `entries` (inline YAML, files, directories).
fn load_plugin_configs(
    host: &mut dyn PluginHost,
    src: &Source<'_>,
    dir: &RelPath,
    entries: &[String],
) -> Result<Vec<Resource>, Error> {
    let origin = format!("{}/kustomization", display(dir).trim_end_matches('/'));
    let mut inline = Vec::new();
    let mut paths = Vec::new();
    for e in entries {
        match resources_from_text(e, &origin) {
            Ok(rs) if !rs.is_empty() => inline.extend(rs),
            _ => paths.push(e),
        }
    }
    let mut out = Vec::new();
    append_all(&mut out, inline)?;
    host.accumulate_configs(src, dir, &paths, &mut out)?;
    Ok(out)
}

fn run_config(
    host: &mut dyn PluginHost,
    src: &Source<'_>,
    dir: &RelPath,
    res: &Resource,
    role: Role,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    let empty = Map::new();
    let c = Config {
        res,
        map: res.value.as_map().unwrap_or(&empty),
        kind: res.kind().to_owned(),
        origin: display(dir),
    };
    if is_builtin(res) {
        return match (role, c.kind.as_str()) {
            (Role::Generator, "HelmChartInflationGenerator") => {
                inflate_chart(host.executor(), src, dir, res, ra)
            }
            (_, "HelmChartInflationGenerator") => execute(host.executor(), res, role, dir, ra),
            (Role::Generator, _) => run_builtin_generator(src.tree(), dir, &c, ra),
            (Role::Transformer, _) => {
                let current = host.current_schemas();
                run_builtin_transformer(src.tree(), dir, &c, ra, current.schemas())
            }
        };
    }
    execute(host.executor(), res, role, dir, ra)
}

/// A Helm chart: rendered here when it is in the tree, else handed to the
/// caller's executor (which may pull it); without one, an error naming it.
fn inflate_chart(
    executor: Option<&dyn PluginExecutor>,
    src: &Source<'_>,
    dir: &RelPath,
    config: &Resource,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    match helm_inflate::inflate(src, dir, config)? {
        Inflated::Rendered(out) => {
            let origin = format!("helm template output of {}", config.name());
            absorb_generated(&out, &origin, ra)
        }
        Inflated::NotLocal(..) if executor.is_some() => {
            execute(executor, config, Role::Generator, dir, ra)
        }
        Inflated::NotLocal(path, repo) => Err(Error::Kustomization {
            file: display(dir),
            message: if repo.is_empty() {
                format!(
                    "helmCharts: chart {:?} not found at {path} and no repo specified to pull it from",
                    config.name()
                )
            } else {
                format!(
                    "helmCharts: chart {:?} is not at {path}; pulling it from {repo} needs a plugin executor",
                    config.name()
                )
            },
        }),
    }
}

/// Add a generator's output stream to the resources.
fn absorb_generated(out: &str, origin: &str, ra: &mut Vec<Resource>) -> Result<(), Error> {
    for mut r in resources_from_text(out, origin)? {
        absorb_internal_annotations(&mut r)?;
        r.generated = true;
        generate::absorb(ra, r)?;
    }
    Ok(())
}

/// Hand a plugin to the caller's executor.
fn execute(
    executor: Option<&dyn PluginExecutor>,
    config: &Resource,
    role: Role,
    dir: &RelPath,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    let kind = config.kind().to_owned();
    let Some(exec) = executor else {
        return Err(Error::NeedsExecutor {
            file: display(dir),
            api_version: config.api_version().to_owned(),
            kind,
        });
    };
    let wrap = |source: ExecutorError| Error::Executor {
        kind: kind.clone(),
        source: std::sync::Arc::from(source),
    };
    let origin = format!("executor output of {kind}");
    match role {
        Role::Generator => {
            let out = exec
                .generate(&config.to_yaml(), &display(dir))
                .map_err(wrap)?;
            absorb_generated(&out, &origin, ra)?;
        }
        Role::Transformer => {
            let out = exec
                .transform(&config.to_yaml(), &stream(ra))
                .map_err(wrap)?;
            let new = resources_from_text(&out, &origin)?;
            *ra = carry_bookkeeping(std::mem::take(ra), new);
        }
    }
    Ok(())
}

/// Run the `generators` of a kustomization (after its builtin generators).
pub(crate) fn run_generator_plugins(
    host: &mut dyn PluginHost,
    src: &Source<'_>,
    dir: &RelPath,
    kust: &Kustomization,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    for chart in &kust.helm_charts {
        let config = helm_config(chart, kust.helm_globals.as_ref());
        inflate_chart(host.executor(), src, dir, &config, ra)?;
    }
    if kust.generators.is_empty() {
        return Ok(());
    }
    let configs = load_plugin_configs(host, src, dir, &kust.generators)?;
    for c in &configs {
        // Under origin tracking, what the generator made (appended, or
        // replacing a resource that had an origin) records the config
        // as its origin.
        let had: Vec<bool> = match host.origin() {
            Some(_) => ra
                .iter()
                .map(crate::kustomize::buildmeta::has_origin)
                .collect(),
            None => Vec::new(),
        };
        run_config(host, src, dir, c, Role::Generator, ra)?;
        if let Some(o) = host.origin() {
            let origin = o.plugin_config(c, &kust.file_name);
            for (i, r) in ra.iter_mut().enumerate() {
                if had.get(i).is_none_or(|h| *h) {
                    crate::kustomize::buildmeta::annotate_generated(r, &origin);
                }
            }
        }
    }
    Ok(())
}

/// Run the `transformers` of a kustomization (after its own transformers).
pub(crate) fn run_transformer_plugins(
    host: &mut dyn PluginHost,
    src: &Source<'_>,
    dir: &RelPath,
    kust: &Kustomization,
    ra: &mut Vec<Resource>,
) -> Result<(), Error> {
    if kust.transformers.is_empty() {
        return Ok(());
    }
    let configs = load_plugin_configs(host, src, dir, &kust.transformers)?;
    for c in &configs {
        run_config(host, src, dir, c, Role::Transformer, ra)?;
        if let Some(o) = host.origin() {
            let origin = o.plugin_config(c, &kust.file_name);
            crate::kustomize::buildmeta::annotate_transformed(ra, &[origin])?;
        }
    }
    Ok(())
}

/// Run the `validators`: transformers that must leave `ra` unchanged
/// (apart from a `validated-by` label).
pub(crate) fn run_validators(
    host: &mut dyn PluginHost,
    src: &Source<'_>,
    dir: &RelPath,
    kust: &Kustomization,
    ra: &[Resource],
) -> Result<(), Error> {
    if kust.validators.is_empty() {
        return Ok(());
    }
    let configs = load_plugin_configs(host, src, dir, &kust.validators)?;
    for c in &configs {
        let mut copy = ra.to_vec();
        run_config(host, src, dir, c, Role::Transformer, &mut copy)?;
        for r in &mut copy {
            if let Some(Value::Map(labels)) = r.value.get_path_mut(&["metadata", "labels"]) {
                labels.remove(VALIDATED_BY);
            }
        }
        let same = copy.len() == ra.len()
            && ra.iter().all(|r| {
                copy.iter()
                    .any(|c| c.cur_id().equals(&r.cur_id()) && c.value == r.value)
            });
        if !same {
            return Err(Error::Plugin {
                file: display(dir),
                id: c.cur_id().to_string(),
                message: "validator shouldn't modify the resource map".into(),
            });
        }
    }
    Ok(())
}

/// Keep prefixes, previous names and hash requests of resources an
/// executor handed back, matched by current id.
fn carry_bookkeeping(old: Vec<Resource>, new: Vec<Resource>) -> Vec<Resource> {
    new.into_iter()
        .map(|mut n| {
            let id = n.cur_id();
            if let Some(o) = old.iter().find(|o| o.cur_id().equals(&id)) {
                n.prev = o.prev.clone();
                n.prefixes = o.prefixes.clone();
                n.suffixes = o.suffixes.clone();
                n.needs_hash = o.needs_hash;
                n.behavior = o.behavior;
                n.generated = o.generated;
            }
            n
        })
        .collect()
}

/// A `HelmChartInflationGenerator` config from a `helmCharts` entry and
/// `helmGlobals`, as kustomize builds it.
fn helm_config(chart: &Value, globals: Option<&Value>) -> Resource {
    let mut m = Map::new();
    m.insert("apiVersion", Value::Str("builtin".into()));
    m.insert("kind", Value::Str("HelmChartInflationGenerator".into()));
    let name = chart
        .as_map()
        .and_then(|c| field(c, "name"))
        .and_then(Value::scalar_text)
        .unwrap_or_default();
    let mut md = Map::new();
    md.insert("name", Value::Str(name.into()));
    m.insert("metadata", Value::Map(md));
    for src in [globals, Some(chart)].into_iter().flatten() {
        if let Some(sm) = src.as_map() {
            for (k, v) in sm.iter() {
                m.insert(k, v.clone());
            }
        }
    }
    Resource::new(Value::Map(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, PluginExecutor, render};
    use gitops_core::fs::MemTree;

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

    fn tree(files: &[(&str, &str)]) -> MemTree {
        let mut t = MemTree::new();
        for (p, c) in files {
            t.insert(p, *c).unwrap();
        }
        t
    }

    fn build(t: &MemTree, options: &Options<'_>) -> Result<String, Error> {
        render(t, &RelPath::root(), options)
    }

    /// Upper-cases every `name: ` value it sees; counts calls.
    struct Upper(std::cell::Cell<usize>);

    impl PluginExecutor for Upper {
        fn generate(&self, _config: &str, _dir: &str) -> Result<String, ExecutorError> {
            self.0.set(self.0.get() + 1);
            Ok(format!(
                "{CM}  annotations:\n    {NEEDS_HASH}: \"true\"\ndata:\n  a: b\n"
            ))
        }
        fn transform(&self, _config: &str, resources: &str) -> Result<String, ExecutorError> {
            self.0.set(self.0.get() + 1);
            Ok(resources.replace("name: cm", "name: CM"))
        }
    }

    #[test]
    fn inline_builtin_transformer_runs_after_the_kustomization_own() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "namePrefix: p-\nresources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata:\n    name: x\n  prefix: q-\n  fieldSpecs:\n  - path: metadata/name\n",
            ),
            ("cm.yaml", CM),
        ]);
        let out = build(&t, &Options::default()).unwrap();
        assert!(out.contains("name: q-p-cm"), "{out}");
    }

    #[test]
    fn transformer_entry_may_be_a_kustomization_directory() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\ntransformers: [conf]\n",
            ),
            ("cm.yaml", CM),
            (
                "conf/kustomization.yaml",
                "namePrefix: ignored-\nresources: [label.yaml]\n",
            ),
            (
                "conf/label.yaml",
                "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  team: a\nfieldSpecs:\n- path: metadata/labels\n  create: true\n",
            ),
        ]);
        let out = build(&t, &Options::default()).unwrap();
        assert!(out.contains("labels:\n    team: a"), "{out}");
        assert!(out.contains("name: cm\n"), "{out}");
    }

    #[test]
    fn external_plugins_and_helm_charts_need_an_executor() {
        let t = tree(&[(
            "kustomization.yaml",
            "generators:\n- |\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: g\n",
        )]);
        let err = build(&t, &Options::default()).unwrap_err();
        assert!(
            matches!(&err, Error::NeedsExecutor { kind, .. } if kind == "Gen"),
            "{err}"
        );
        let t = tree(&[(
            "kustomization.yaml",
            "helmCharts:\n- name: redis\n  version: 1.0.0\n",
        )]);
        // A chart not in the tree: an error naming it, unless an executor
        // is there to pull it.
        let err = build(&t, &Options::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/: helmCharts: chart \"redis\" not found at charts/redis and no repo specified to pull it from"
        );
        let upper = Upper(std::cell::Cell::new(0));
        let options = Options {
            executor: Some(&upper),
            ..Options::default()
        };
        build(&t, &options).unwrap();
        assert_eq!(upper.0.get(), 1);
    }

    #[test]
    fn local_helm_charts_render_without_an_executor() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "namePrefix: p-\nhelmCharts:\n- name: web\n  releaseName: r\n  valuesInline: {n: 2}\n",
            ),
            (
                "charts/web/Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            ),
            ("charts/web/values.yaml", "n: 1\nm: 1\n"),
            (
                "charts/web/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  n: {{ .Values.n | quote }}\n  m: {{ .Values.m | quote }}\n",
            ),
        ]);
        assert_eq!(
            build(&t, &Options::default()).unwrap(),
            "apiVersion: v1\ndata:\n  m: \"1\"\n  \"n\": \"2\"\nkind: ConfigMap\nmetadata:\n  name: p-r\n"
        );
    }

    #[test]
    fn executor_output_is_absorbed_with_hash_and_kept_bookkeeping() {
        let exec = Upper(std::cell::Cell::new(0));
        let options = Options {
            executor: Some(&exec),
            ..Options::default()
        };
        let t = tree(&[(
            "kustomization.yaml",
            "generators:\n- |\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: g\n",
        )]);
        let out = build(&t, &options).unwrap();
        assert!(out.contains("name: cm-"), "hash suffix added: {out}");
        assert!(
            !out.contains(NEEDS_HASH),
            "internal annotation removed: {out}"
        );
        assert_eq!(exec.0.get(), 1);
    }

    #[test]
    fn validators_must_not_change_resources() {
        let exec = Upper(std::cell::Cell::new(0));
        let options = Options {
            executor: Some(&exec),
            ..Options::default()
        };
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\nvalidators:\n- |\n  apiVersion: example.com/v1\n  kind: Check\n  metadata:\n    name: c\n",
            ),
            ("cm.yaml", CM),
        ]);
        let err = build(&t, &options).unwrap_err();
        assert!(
            err.to_string().contains("validator shouldn't modify"),
            "{err}"
        );
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [x.yaml]\nvalidators:\n- |\n  apiVersion: example.com/v1\n  kind: Check\n  metadata:\n    name: c\n",
            ),
            (
                "x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
            ),
        ]);
        assert!(build(&t, &options).unwrap().contains("name: other"));
    }

    #[test]
    fn sort_order_transformer_is_refused_like_kubectl() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: SortOrderTransformer\n  metadata:\n    name: s\n",
            ),
            ("cm.yaml", CM),
        ]);
        let err = build(&t, &Options::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("unable to load builtin SortOrderTransformer.builtin.[noGrp]"),
            "{err}"
        );
    }

    #[test]
    fn replacement_transformer_runs_inline_and_path_replacements() {
        // Expected output checked against kubectl kustomize v5.7.1.
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: ReplacementTransformer\n  metadata:\n    name: r\n  replacements:\n  - source: {kind: ConfigMap, name: src, fieldPath: data.v}\n    targets:\n    - select: {kind: ConfigMap, name: dst}\n      fieldPaths: [data.v]\n  - path: r.yaml\n",
            ),
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src\ndata:\n  v: one\n  w: two\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dst\ndata:\n  v: x\n  w: y\n",
            ),
            (
                "r.yaml",
                "source: {kind: ConfigMap, name: src, fieldPath: data.w}\ntargets:\n- select: {kind: ConfigMap, name: dst}\n  fieldPaths: [data.w]\n",
            ),
        ]);
        let out = build(&t, &Options::default()).unwrap();
        assert_eq!(
            out,
            "apiVersion: v1\ndata:\n  v: one\n  w: two\nkind: ConfigMap\nmetadata:\n  name: dst\n---\napiVersion: v1\ndata:\n  v: one\n  w: two\nkind: ConfigMap\nmetadata:\n  name: src\n"
        );
    }

    #[test]
    fn value_add_inserts_into_file_paths() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: ValueAddTransformer\n  metadata:\n    name: v\n  value: PEACH\n  targets:\n  - fieldPath: data/path\n    filePathPosition: 2\n",
            ),
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  path: /a/b\n",
            ),
        ]);
        let out = build(&t, &Options::default()).unwrap();
        assert!(out.contains("path: /a/PEACH/b"), "{out}");
    }

    #[test]
    fn inserts_path_parts_like_kustomize() {
        assert_eq!(insert_path_part("", 0, "PEACH"), "PEACH");
        assert_eq!(insert_path_part("/", 0, "PEACH"), "/PEACH");
        assert_eq!(insert_path_part("pie", 0, "PEACH"), "PEACH/pie");
        assert_eq!(insert_path_part("/pie", 0, "PEACH"), "/PEACH/pie");
        assert_eq!(insert_path_part("raw", 1, "PEACH"), "raw/PEACH");
        assert_eq!(insert_path_part("/raw", 9, "PEACH"), "/raw/PEACH");
        assert_eq!(
            insert_path_part("a/nice/warm/pie", 3, "PEACH"),
            "a/nice/warm/PEACH/pie"
        );
    }

    #[test]
    fn value_add_paths_honour_escapes() {
        assert_eq!(
            value_add_path("metadata/annotations/a.io\\/b"),
            ["metadata", "annotations", "a.io/b"]
        );
    }

    #[test]
    fn helm_config_merges_globals_then_chart() {
        let chart = Value::Map(
            [
                ("name".to_owned(), Value::Str("redis".into())),
                ("version".to_owned(), Value::Str("1.0".into())),
            ]
            .into_iter()
            .collect(),
        );
        let globals = Value::Map(
            [("chartHome".to_owned(), Value::Str("charts".into()))]
                .into_iter()
                .collect(),
        );
        let c = helm_config(&chart, Some(&globals));
        assert_eq!(c.kind(), "HelmChartInflationGenerator");
        assert_eq!(c.name(), "redis");
        assert_eq!(c.value.str_at(&["chartHome"]), Some("charts"));
    }
}
