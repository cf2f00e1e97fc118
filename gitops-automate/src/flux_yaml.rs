//! Flux v1 `.flux.yaml` manifest generation (fluxd `pkg/manifests`
//! `configfile.go`): `patchUpdated` and `commandUpdated`.
//!
//! A `.flux.yaml` tells fluxd that the manifests of a directory are
//! *generated*:
//!
//! ```yaml
//! version: 1
//! patchUpdated:
//!   generators:
//!   - command: kustomize build .
//!   patchFile: flux-patch.yaml
//! ```
//!
//! - `patchUpdated`: the generators' outputs are concatenated, the patch
//!   file (a multi-document YAML of partial objects, matched to the
//!   generated ones by kind, namespace and name, merged strategically) is
//!   applied, the Flux v1 annotated workloads of the result are found
//!   (gitops-setters' [`gitops_setters::v1`]), and each image update is written **into the patch
//!   file**: in place (byte-preserving) when the patch already sets that
//!   container's image, else as a new patch document for the workload
//!   appended to the file, as fluxd adds one (gitops-setters'
//!   [`flux_patch`]).
//! - `commandUpdated`: the generators give the manifests; each image update
//!   runs every `updaters[].containerImage.command` with `FLUX_WORKLOAD`,
//!   `FLUX_WL_NS`, `FLUX_WL_KIND`, `FLUX_WL_NAME`, `FLUX_CONTAINER`,
//!   `FLUX_IMG`, `FLUX_TAG` in the environment (and `PATH`).
//!
//! Commands are run only through a [`Runner`] the caller passes. Without
//! one, only the generators `kustomize build [.]` and `kubectl kustomize
//! [.]` work, served by gitops-render's own build; any other command is
//! [`Error::CommandNotAllowed`].
//!
//! ```
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_core::{ImageRef, Tag};
//! use gitops_automate::flux_yaml::{self, Mode};
//! use gitops_setters::v1::TagChooser;
//!
//! struct To(&'static str);
//! impl TagChooser for To {
//!     type Error = std::convert::Infallible;
//!     fn choose(&self, _: &ImageRef, _: &str) -> Result<Option<Tag>, Self::Error> {
//!         Ok(Some(Tag::parse(self.0).expect("valid tag")))
//!     }
//! }
//!
//! let mut tree = MemTree::new();
//! tree.insert(".flux.yaml", "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: patch.yaml\n")?;
//! tree.insert("kustomization.yaml", "resources: [app.yaml]\n")?;
//! tree.insert("app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  annotations:\n    fluxcd.io/automated: \"true\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/org/app:1.0.0\n")?;
//! let plan = flux_yaml::plan_patch_updated(&tree, &RelPath::root(), &To("1.1.0"), None)?;
//! assert_eq!(plan.updates[0].new_image.to_string(), "ghcr.io/org/app:1.1.0");
//! assert!(plan.new_patch.unwrap().contains("image: ghcr.io/org/app:1.1.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviations
//! - fluxd rewrites the whole patch file from a two-way strategic merge
//!   diff; here only the image scalars change (or a document is appended),
//!   so comments and layout survive. When a patch document for the workload
//!   exists but does not set that container's image, the update is refused
//!   with `flux_patch::Error::PatchHasNoImage` (in [`Error::PatchEdit`]) rather than rewriting the document.
//! - Only `Deployment`, `DaemonSet`, `StatefulSet`, `ReplicaSet`, `Job`,
//!   `Pod` and `CronJob` workloads can be patched; Flux v1 `HelmRelease`s
//!   under `patchUpdated` are refused (`flux_patch::Error::UnsupportedWorkload`).
//! - The patch file and the working directory must stay inside the tree.
//! - `policy` updaters (annotation changes) are not run: this module only
//!   updates images.

use std::path::PathBuf;
use std::time::Duration;

use gitops_core::duration::GoDuration;
use gitops_core::fs::{self as cfs, FileTree, MemTree, RelPath};
use gitops_core::yaml::{Node, NodeKind, parse_documents};
use gitops_setters::flux_patch::{self, decide_updates};
use gitops_setters::v1::TagChooser;
use serde::Serialize;

pub use gitops_setters::flux_patch::Update;

/// The config file's name.
pub const CONFIG_FILE: &str = ".flux.yaml";

/// fluxd's default command timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a `.flux.yaml` could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: cfs::Error,
    },
    /// The file is not YAML.
    #[error("{file}: cannot parse")]
    Yaml {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: gitops_core::yaml::Error,
    },
    /// A field is missing or has the wrong shape.
    #[error("{file}:{line}: config file is not valid: {field}: {expected}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the offending node (or of the parent).
        line: usize,
        /// The field path, e.g. `patchUpdated.generators[0].command`.
        field: String,
        /// What was expected.
        expected: String,
    },
    /// The config is not of the mode asked for.
    #[error("{file}: expected a {expected} config, found {found}")]
    WrongMode {
        /// The file.
        file: String,
        /// The mode needed.
        expected: &'static str,
        /// The mode found.
        found: &'static str,
    },
    /// A command would have to run but no runner was given.
    #[error(
        "{file}: running {command:?} needs --allow-commands (only `kustomize build .` and `kubectl kustomize .` are built in)"
    )]
    CommandNotAllowed {
        /// The file.
        file: String,
        /// The command.
        command: String,
    },
    /// A command could not be started or failed.
    #[error(
        "error executing {role} command {command:?} from file {file:?}: {reason}\noutput:\n{output}"
    )]
    Command {
        /// `generator` or `image updater`.
        role: &'static str,
        /// The command.
        command: String,
        /// The file.
        file: String,
        /// Exit status, timeout or spawn error.
        reason: String,
        /// What the command printed (stderr for generators).
        output: String,
    },
    /// The built-in kustomize generator failed.
    #[error("{file}: generator {command:?} failed")]
    Build {
        /// The file.
        file: String,
        /// The command.
        command: String,
        /// The cause.
        #[source]
        source: Box<gitops_render::Error>,
    },
    /// A path leaves the tree.
    #[error("{file}: {field} {path:?} is not inside the repository")]
    OutsideRoot {
        /// The file.
        file: String,
        /// `patchFile` or the working directory.
        field: &'static str,
        /// The path as written.
        path: String,
    },
    /// The patch file's directory does not exist (fluxd's check).
    #[error("base directory ({dir:?}) of patchFile ({patch:?}) does not exist")]
    PatchBaseDir {
        /// The directory.
        dir: String,
        /// The patch file.
        patch: String,
    },
    /// Applying the patch file failed (for example a patch for a missing
    /// resource).
    #[error("processing {file:?}, cannot apply patchFile {patch:?} to generated resources")]
    Patch {
        /// The config file.
        file: String,
        /// The patch file.
        patch: String,
        /// The cause.
        #[source]
        source: Box<gitops_render::Error>,
    },
    /// The updates cannot be written into the patch file (not YAML, a
    /// workload kind that cannot be patched, a patch without the image).
    #[error(transparent)]
    PatchEdit(#[from] flux_patch::Error),
    /// `commandUpdated` without any `containerImage` updater.
    #[error("no update.containerImage commands to run in {file} (from path {dir})")]
    NoUpdaters {
        /// The file.
        file: String,
        /// The working directory.
        dir: String,
    },
}

fn ser_path<S: serde::Serializer>(p: &RelPath, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

/// One command of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// The shell command line.
    pub command: String,
    /// Its timeout (fluxd ignores values under one second).
    pub timeout: Option<Duration>,
}

/// One `commandUpdated.updaters` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Updater {
    /// `containerImage`.
    pub container_image: Option<Command>,
    /// `policy` (parsed, not run).
    pub policy: Option<Command>,
}

/// What a `.flux.yaml` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Generators plus a patch file that receives updates.
    PatchUpdated {
        /// The generators.
        generators: Vec<Command>,
        /// The patch file, relative to the config's directory.
        patch_file: String,
    },
    /// Generators plus updater commands.
    CommandUpdated {
        /// The generators.
        generators: Vec<Command>,
        /// The updaters.
        updaters: Vec<Updater>,
    },
    /// Plain files: fluxd scans the directory as if there were no config.
    ScanForFiles,
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Mode::PatchUpdated { .. } => "patchUpdated",
            Mode::CommandUpdated { .. } => "commandUpdated",
            Mode::ScanForFiles => "scanForFiles",
        }
    }
}

fn invalid(file: &str, node: &Node, field: &str, expected: &str) -> Error {
    Error::Invalid {
        file: file.to_owned(),
        line: node.line,
        field: field.to_owned(),
        expected: expected.to_owned(),
    }
}

fn map_of<'a>(
    file: &str,
    node: &'a Node,
    field: &str,
    allowed: &[&str],
) -> Result<&'a [(Node, Node)], Error> {
    let Some(pairs) = node.as_map() else {
        return Err(invalid(file, node, field, "a mapping"));
    };
    for (k, _) in pairs {
        let key = k.as_str().unwrap_or("");
        if !allowed.contains(&key) {
            return Err(invalid(
                file,
                k,
                &format!("{field}.{key}"),
                &format!("no such field (allowed: {})", allowed.join(", ")),
            ));
        }
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    pairs
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn command(file: &str, node: &Node, field: &str) -> Result<Command, Error> {
    let pairs = map_of(file, node, field, &["command", "timeout"])?;
    let Some(c) = get(pairs, "command") else {
        return Err(invalid(
            file,
            node,
            &format!("{field}.command"),
            "a required string",
        ));
    };
    let Some(text) = c.as_str() else {
        return Err(invalid(file, c, &format!("{field}.command"), "a string"));
    };
    let timeout = match get(pairs, "timeout") {
        None => None,
        Some(t) => {
            let s = t.as_str().ok_or_else(|| {
                invalid(file, t, &format!("{field}.timeout"), "a duration string")
            })?;
            let d: GoDuration = s
                .parse()
                .map_err(|e: gitops_core::duration::DurationError| {
                    invalid(file, t, &format!("{field}.timeout"), &e.to_string())
                })?;
            let nanos = u64::try_from(d.0).map_err(|_| {
                invalid(file, t, &format!("{field}.timeout"), "a positive duration")
            })?;
            Some(Duration::from_nanos(nanos))
        }
    };
    Ok(Command {
        command: text.to_owned(),
        timeout,
    })
}

fn commands(file: &str, node: &Node, field: &str) -> Result<Vec<Command>, Error> {
    let NodeKind::Seq(items) = &node.kind else {
        return Err(invalid(file, node, field, "a list of {command, timeout}"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, n)| command(file, n, &format!("{field}[{i}]")))
        .collect()
}

/// Parse a `.flux.yaml` (`origin` names it in errors).
pub fn parse(src: &str, origin: &str) -> Result<Mode, Error> {
    let docs = parse_documents(src, origin).map_err(|source| Error::Yaml {
        file: origin.to_owned(),
        source,
    })?;
    let Some(doc) = docs.iter().find(|d| !d.is_empty()) else {
        return Err(Error::Invalid {
            file: origin.to_owned(),
            line: 1,
            field: "version".into(),
            expected: "a mapping with version: 1".into(),
        });
    };
    let root = &doc.root;
    let pairs = map_of(
        origin,
        root,
        "(root)",
        &["version", "patchUpdated", "commandUpdated", "scanForFiles"],
    )?;
    match get(pairs, "version") {
        Some(v) if v.as_scalar().is_some_and(|s| s.value == "1") => {}
        Some(v) => return Err(invalid(origin, v, "version", "1")),
        None => return Err(invalid(origin, root, "version", "a required field (1)")),
    }
    let modes: Vec<&str> = ["patchUpdated", "commandUpdated", "scanForFiles"]
        .into_iter()
        .filter(|k| get(pairs, k).is_some())
        .collect();
    if modes.len() != 1 {
        return Err(invalid(
            origin,
            root,
            "(root)",
            "exactly one of patchUpdated, commandUpdated, scanForFiles",
        ));
    }
    match modes[0] {
        "patchUpdated" => {
            let node = get(pairs, "patchUpdated").unwrap_or(root);
            let p = map_of(origin, node, "patchUpdated", &["generators", "patchFile"])?;
            let generators = match get(p, "generators") {
                Some(g) => commands(origin, g, "patchUpdated.generators")?,
                None => {
                    return Err(invalid(
                        origin,
                        node,
                        "patchUpdated.generators",
                        "a required list",
                    ));
                }
            };
            let patch_file = match get(p, "patchFile") {
                Some(f) => f
                    .as_str()
                    .ok_or_else(|| invalid(origin, f, "patchUpdated.patchFile", "a string"))?
                    .to_owned(),
                None => {
                    return Err(invalid(
                        origin,
                        node,
                        "patchUpdated.patchFile",
                        "a required string",
                    ));
                }
            };
            Ok(Mode::PatchUpdated {
                generators,
                patch_file,
            })
        }
        "commandUpdated" => {
            let node = get(pairs, "commandUpdated").unwrap_or(root);
            let p = map_of(origin, node, "commandUpdated", &["generators", "updaters"])?;
            let generators = match get(p, "generators") {
                Some(g) => commands(origin, g, "commandUpdated.generators")?,
                None => {
                    return Err(invalid(
                        origin,
                        node,
                        "commandUpdated.generators",
                        "a required list",
                    ));
                }
            };
            let mut updaters = Vec::new();
            if let Some(u) = get(p, "updaters") {
                let NodeKind::Seq(items) = &u.kind else {
                    return Err(invalid(origin, u, "commandUpdated.updaters", "a list"));
                };
                for (i, item) in items.iter().enumerate() {
                    let field = format!("commandUpdated.updaters[{i}]");
                    let up = map_of(origin, item, &field, &["containerImage", "policy"])?;
                    updaters.push(Updater {
                        container_image: get(up, "containerImage")
                            .map(|n| command(origin, n, &format!("{field}.containerImage")))
                            .transpose()?,
                        policy: get(up, "policy")
                            .map(|n| command(origin, n, &format!("{field}.policy")))
                            .transpose()?,
                    });
                }
            }
            Ok(Mode::CommandUpdated {
                generators,
                updaters,
            })
        }
        _ => Ok(Mode::ScanForFiles),
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// True on exit status 0.
    pub success: bool,
    /// Exit status or the reason it did not finish (timeout, signal).
    pub status: String,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

/// Runs `.flux.yaml` commands (`/bin/sh -c` in fluxd). Passing one is the
/// explicit opt-in to running commands from the repository.
pub trait Runner {
    /// Run `command` in directory `dir` (relative to the tree's root) with
    /// exactly the environment `env`, within `timeout`.
    fn run(
        &self,
        command: &str,
        dir: &RelPath,
        env: &[(String, String)],
        timeout: Duration,
    ) -> std::io::Result<Output>;
}

/// [`Runner`] that runs `/bin/sh -c COMMAND` under `root`, killing it at the
/// timeout.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The directory the tree's root maps to.
    pub root: PathBuf,
}

impl Runner for Shell {
    fn run(
        &self,
        command: &str,
        dir: &RelPath,
        env: &[(String, String)],
        timeout: Duration,
    ) -> std::io::Result<Output> {
        use std::io::Read;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir.to_path(&self.root))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut out_pipe = child.stdout.take();
        let mut err_pipe = child.stderr.take();
        let out_t = std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(p) = out_pipe.as_mut() {
                let _ = p.read_to_end(&mut b);
            }
            b
        });
        let err_t = std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(p) = err_pipe.as_mut() {
                let _ = p.read_to_end(&mut b);
            }
            b
        });
        let deadline = std::time::Instant::now() + timeout;
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break Some(s);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        Ok(match status {
            Some(s) => Output {
                success: s.success(),
                status: s.to_string(),
                stdout,
                stderr,
            },
            None => Output {
                success: false,
                status: format!("timed out after {timeout:?}"),
                stdout,
                stderr,
            },
        })
    }
}

fn builtin_kustomize(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    matches!(
        words.as_slice(),
        ["kustomize", "build"]
            | ["kustomize", "build", "."]
            | ["kubectl", "kustomize"]
            | ["kubectl", "kustomize", "."]
    )
}

fn config_path(dir: &RelPath) -> String {
    if dir.is_root() {
        CONFIG_FILE.to_owned()
    } else {
        format!("{}/{CONFIG_FILE}", dir.as_str())
    }
}

/// Read and parse `dir/.flux.yaml` of `tree`.
pub fn read_config(tree: &dyn FileTree, dir: &RelPath) -> Result<Mode, Error> {
    let path = config_path(dir);
    let rel = RelPath::new(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let text = tree.read_to_string(&rel).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text, &path)
}

fn run_generators(
    tree: &dyn FileTree,
    dir: &RelPath,
    generators: &[Command],
    runner: Option<&dyn Runner>,
) -> Result<String, Error> {
    let file = config_path(dir);
    let mut out = String::new();
    for g in generators {
        let text = if builtin_kustomize(&g.command) {
            let options = gitops_render::Options::default();
            gitops_render::render(tree, dir, &options).map_err(|source| Error::Build {
                file: file.clone(),
                command: g.command.clone(),
                source: Box::new(source),
            })?
        } else {
            let Some(r) = runner else {
                return Err(Error::CommandNotAllowed {
                    file,
                    command: g.command.clone(),
                });
            };
            let o = run(r, g, dir, &path_env(), "generator", &file)?;
            if !o.success {
                return Err(Error::Command {
                    role: "generator",
                    command: g.command.clone(),
                    file,
                    reason: o.status,
                    output: String::from_utf8_lossy(&o.stderr).into_owned(),
                });
            }
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() && !text.trim_start().starts_with("---") {
            out.push_str("---\n");
        }
        out.push_str(&text);
    }
    Ok(out)
}

fn path_env() -> Vec<(String, String)> {
    vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())]
}

fn run(
    r: &dyn Runner,
    c: &Command,
    dir: &RelPath,
    env: &[(String, String)],
    role: &'static str,
    file: &str,
) -> Result<Output, Error> {
    let timeout = c
        .timeout
        .filter(|t| *t >= Duration::from_secs(1))
        .unwrap_or(DEFAULT_TIMEOUT);
    r.run(&c.command, dir, env, timeout)
        .map_err(|e| Error::Command {
            role,
            command: c.command.clone(),
            file: file.to_owned(),
            reason: e.to_string(),
            output: String::new(),
        })
}

/// What [`plan_patch_updated`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchPlan {
    /// The patch file (relative to the tree's root).
    #[serde(serialize_with = "ser_path")]
    pub patch_file: RelPath,
    /// The updates, in workload order.
    pub updates: Vec<Update>,
    /// The new text of the patch file, `None` when nothing changes.
    pub new_patch: Option<String>,
    /// Workloads whose tag could not be chosen, and similar notes.
    pub warnings: Vec<String>,
}

/// Generate, patch, decide and compute the new patch file for a
/// `patchUpdated` config in `dir` of `tree`. Pure apart from `runner`.
pub fn plan_patch_updated<C: TagChooser + ?Sized>(
    tree: &dyn FileTree,
    dir: &RelPath,
    chooser: &C,
    runner: Option<&dyn Runner>,
) -> Result<PatchPlan, Error> {
    let file = config_path(dir);
    let mode = read_config(tree, dir)?;
    let Mode::PatchUpdated {
        generators,
        patch_file,
    } = mode
    else {
        return Err(Error::WrongMode {
            file,
            expected: "patchUpdated",
            found: mode.name(),
        });
    };
    let patch_rel = dir.join(&patch_file).map_err(|_| Error::OutsideRoot {
        file: file.clone(),
        field: "patchFile",
        path: patch_file.clone(),
    })?;
    let generated = run_generators(tree, dir, &generators, runner)?;
    let patch_text = match tree.read_to_string(&patch_rel) {
        Ok(t) => t,
        Err(cfs::Error::NotFound { .. }) => {
            let parent = patch_rel.parent();
            if !parent.is_root() && tree.kind(&parent).ok().flatten() != Some(cfs::EntryKind::Dir) {
                return Err(Error::PatchBaseDir {
                    dir: parent.as_str().to_owned(),
                    patch: patch_file,
                });
            }
            String::new()
        }
        Err(source) => {
            return Err(Error::Read {
                path: patch_rel.as_str().to_owned(),
                source,
            });
        }
    };
    let patched = apply_patch(&generated, &patch_text).map_err(|source| Error::Patch {
        file: file.clone(),
        patch: patch_file.clone(),
        source: Box::new(source),
    })?;
    let (updates, warnings) = decide_updates(&patched, chooser);
    let new_patch = flux_patch::write_patch(&patch_text, patch_rel.as_str(), &patched, &updates)?;
    Ok(PatchPlan {
        patch_file: patch_rel,
        updates,
        new_patch,
        warnings,
    })
}

/// The generated manifests with the patch documents merged in
/// (strategic merge, matched by kind, namespace and name), through
/// gitops-render's kustomize build.
fn apply_patch(generated: &str, patch: &str) -> Result<String, gitops_render::Error> {
    let has_patch = parse_documents(patch, "patch")
        .map(|d| d.iter().any(|d| !d.is_empty()))
        .unwrap_or(true);
    let mut mem = MemTree::new();
    let kustomization = if has_patch {
        "resources:\n- generated.yaml\npatchesStrategicMerge:\n- patch.yaml\n"
    } else {
        "resources:\n- generated.yaml\n"
    };
    let insert = |mem: &mut MemTree, p: &str, t: &str| {
        mem.insert(p, t)
            .map_err(|source| gitops_render::Error::Read {
                path: p.to_owned(),
                source,
            })
    };
    insert(&mut mem, "kustomization.yaml", kustomization)?;
    insert(&mut mem, "generated.yaml", generated)?;
    if has_patch {
        insert(&mut mem, "patch.yaml", patch)?;
    }
    let options = gitops_render::Options {
        reorder: gitops_render::Reorder::None,
        ..gitops_render::Options::default()
    };
    gitops_render::render(&mem, &RelPath::root(), &options)
}

/// What [`run_command_updated`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandReport {
    /// The updates the updater commands were run for.
    pub updates: Vec<Update>,
    /// Combined output of the updater commands, per update.
    pub outputs: Vec<String>,
    /// Notes (tags that could not be chosen).
    pub warnings: Vec<String>,
}

/// Run a `commandUpdated` config in `dir`: generate, decide, and run every
/// `containerImage` updater for each update, with fluxd's environment. With
/// `dry_run`, the updates are decided but no updater runs.
pub fn run_command_updated<C: TagChooser + ?Sized>(
    tree: &dyn FileTree,
    dir: &RelPath,
    chooser: &C,
    runner: &dyn Runner,
    dry_run: bool,
) -> Result<CommandReport, Error> {
    let file = config_path(dir);
    let mode = read_config(tree, dir)?;
    let Mode::CommandUpdated {
        generators,
        updaters,
    } = mode
    else {
        return Err(Error::WrongMode {
            file,
            expected: "commandUpdated",
            found: mode.name(),
        });
    };
    let generated = run_generators(tree, dir, &generators, Some(runner))?;
    let (updates, warnings) = decide_updates(&generated, chooser);
    let image_updaters: Vec<&Command> = updaters
        .iter()
        .filter_map(|u| u.container_image.as_ref())
        .collect();
    if !updates.is_empty() && image_updaters.is_empty() {
        return Err(Error::NoUpdaters {
            file,
            dir: dir.as_str().to_owned(),
        });
    }
    let mut outputs = Vec::new();
    if !dry_run {
        for u in &updates {
            let ns = if u.workload.namespace.is_empty() {
                "default".to_owned()
            } else {
                u.workload.namespace.clone()
            };
            let mut env = vec![
                ("FLUX_WORKLOAD".to_owned(), u.id.clone()),
                ("FLUX_WL_NS".to_owned(), ns),
                ("FLUX_WL_KIND".to_owned(), u.workload.kind.to_lowercase()),
                ("FLUX_WL_NAME".to_owned(), u.workload.name.clone()),
                ("FLUX_CONTAINER".to_owned(), u.container.clone()),
                ("FLUX_IMG".to_owned(), u.new_image.name().to_owned()),
                (
                    "FLUX_TAG".to_owned(),
                    u.new_image
                        .tag()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            ];
            env.extend(path_env());
            let mut combined = String::new();
            for c in &image_updaters {
                let o = run(runner, c, dir, &env, "image updater", &file)?;
                combined.push_str(&String::from_utf8_lossy(&o.stdout));
                combined.push_str(&String::from_utf8_lossy(&o.stderr));
                if !o.success {
                    return Err(Error::Command {
                        role: "image updater",
                        command: c.command.clone(),
                        file,
                        reason: o.status,
                        output: combined,
                    });
                }
            }
            outputs.push(combined);
        }
    }
    Ok(CommandReport {
        updates,
        outputs,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use gitops_core::{ImageRef, Tag};

    use super::*;

    #[test]
    fn parses_both_modes() {
        let m = parse(
            "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n    timeout: 90s\n  patchFile: p.yaml\n",
            ".flux.yaml",
        )
        .unwrap();
        assert_eq!(
            m,
            Mode::PatchUpdated {
                generators: vec![Command {
                    command: "kustomize build .".into(),
                    timeout: Some(Duration::from_secs(90)),
                }],
                patch_file: "p.yaml".into(),
            }
        );
        let m = parse(
            "version: 1\ncommandUpdated:\n  generators:\n  - command: cat all.yaml\n  updaters:\n  - containerImage:\n      command: ./set-image.sh\n    policy:\n      command: ./set-policy.sh\n",
            ".flux.yaml",
        )
        .unwrap();
        let Mode::CommandUpdated {
            generators,
            updaters,
        } = m
        else {
            panic!("commandUpdated expected")
        };
        assert_eq!(generators[0].command, "cat all.yaml");
        assert_eq!(
            updaters[0].container_image.as_ref().unwrap().command,
            "./set-image.sh"
        );
        assert_eq!(
            parse("version: 1\nscanForFiles: {}\n", "f").unwrap(),
            Mode::ScanForFiles
        );
    }

    struct To(&'static str);
    impl TagChooser for To {
        type Error = std::convert::Infallible;
        fn choose(&self, _: &ImageRef, _: &str) -> Result<Option<Tag>, Self::Error> {
            Ok(Tag::parse(self.0).ok())
        }
    }

    const CRON: &str = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n  annotations:\n    fluxcd.io/automated: \"true\"\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n          - name: init\n            image: busybox:1.36\n          containers:\n          - name: job\n            image: busybox:1.36\n";

    #[test]
    fn missing_patch_file_gets_a_document_per_workload() {
        let mut tree = MemTree::new();
        tree.insert(".flux.yaml", "version: 1\npatchUpdated:\n  generators:\n  - command: kubectl kustomize\n  patchFile: flux-patch.yaml\n").unwrap();
        tree.insert("kustomization.yaml", "resources: [cron.yaml]\n")
            .unwrap();
        tree.insert("cron.yaml", CRON).unwrap();
        let plan = plan_patch_updated(&tree, &RelPath::root(), &To("1.37"), None).unwrap();
        assert_eq!(plan.updates.len(), 2);
        assert_eq!(plan.updates[0].id, "default:cronjob/nightly");
        assert_eq!(
            plan.new_patch.as_deref(),
            Some(
                "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - image: busybox:1.37\n            name: job\n          initContainers:\n          - image: busybox:1.37\n            name: init\n"
            )
        );
        // Written back, the next run is a no-op.
        tree.insert("flux-patch.yaml", plan.new_patch.unwrap())
            .unwrap();
        let again = plan_patch_updated(&tree, &RelPath::root(), &To("1.37"), None).unwrap();
        assert!(again.updates.is_empty());
        assert_eq!(again.new_patch, None);
    }

    #[test]
    fn patch_without_the_image_is_refused_and_helm_releases_unsupported() {
        let mut tree = MemTree::new();
        tree.insert(".flux.yaml", "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build\n  patchFile: p/flux-patch.yaml\n").unwrap();
        tree.insert("kustomization.yaml", "resources: [cron.yaml]\n")
            .unwrap();
        tree.insert("cron.yaml", CRON).unwrap();
        let e = plan_patch_updated(&tree, &RelPath::root(), &To("1.37"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "base directory (\"p\") of patchFile (\"p/flux-patch.yaml\") does not exist"
        );
        tree.insert("p/flux-patch.yaml", "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: '@daily'\n").unwrap();
        let e = plan_patch_updated(&tree, &RelPath::root(), &To("1.37"), None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::PatchEdit(flux_patch::Error::PatchHasNoImage { .. })
            ),
            "{e}"
        );
    }

    #[test]
    fn typed_errors_name_file_line_and_field() {
        let e = |s: &str| parse(s, ".flux.yaml").unwrap_err().to_string();
        assert_eq!(
            e("version: 2\nscanForFiles: {}\n"),
            ".flux.yaml:1: config file is not valid: version: 1"
        );
        assert_eq!(
            e("version: 1\npatchUpdated:\n  generators: []\n"),
            ".flux.yaml:3: config file is not valid: patchUpdated.patchFile: a required string"
        );
        assert_eq!(
            e("version: 1\npatchUpdated:\n  generators:\n  - cmd: x\n  patchFile: p\n"),
            ".flux.yaml:4: config file is not valid: patchUpdated.generators[0].cmd: no such field (allowed: command, timeout)"
        );
        assert_eq!(
            e(
                "version: 1\npatchUpdated:\n  generators:\n  - command: x\n    timeout: soon\n  patchFile: p\n"
            ),
            ".flux.yaml:5: config file is not valid: patchUpdated.generators[0].timeout: time: invalid duration \"soon\""
        );
        assert!(e("version: 1\n").contains("exactly one of patchUpdated"));
        assert!(e("version: 1\nscanForFiles: {}\npatchUpdated: {}\n").contains("exactly one of"));
        assert!(e("a: [").starts_with(".flux.yaml: cannot parse"));
    }
}
