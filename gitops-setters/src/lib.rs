//! Find and rewrite Flux image setter markers, changing only the marked bytes.
//!
//! Flux's image-automation-controller updates image references marked with a
//! comment such as `# {"$imagepolicy": "flux-system:podinfo"}`, but it parses
//! and re-serialises every file it touches (leading `---` dropped, comments
//! moved, block scalars and indentation rewritten). This crate locates the
//! markers with a YAML parser that reports byte spans and replaces **only the
//! bytes of the marked scalar**; every other byte of the file stays identical.
//!
//! - [`scan`](mod@scan): find markers (and report malformed or unattached ones) in a
//!   [`FileTree`](gitops_core::fs::FileTree) or a single file.
//! - [`apply`]: compute new values from `policy → ImageRef` and splice them in,
//!   in memory ([`apply::apply_str`], [`apply::apply_tree`]) or on disk,
//!   atomically ([`apply::apply_dir`], through gitops-core's all-or-nothing,
//!   root-confined, symlink-refusing [`Writer`](gitops_core::fs::atomic::Writer)).
//! - [`report`] and [`message`]: the list of changes and commit messages
//!   rendered from a template (Flux's template data, Rust-native names).
//! - [`v1`]: Flux v1 workload automation (`fluxcd.io/automated` annotations on
//!   Deployments, DaemonSets, StatefulSets, CronJobs and HelmReleases), with
//!   the same byte-preserving rewrite.
//! - [`v1ops`]: the `fluxctl` operations (list workloads and images,
//!   automate/lock/policy, release) as byte-preserving edits of a config
//!   repository.
//! - [`flux_patch`]: the image updates of Flux v1 `.flux.yaml`
//!   `patchUpdated` configs, written into their patch file.
//!
//! The crate is pure: it reads through [`FileTree`](gitops_core::fs::FileTree)s,
//! hands new contents to a callback or to the writer its caller chooses,
//! and runs no command.
//!
//! Only files that mention `$imagepolicy` are parsed. They go through a fast
//! reader for the block-structured YAML that manifests are written in
//! (block mappings and sequences, single-line scalars and flow collections,
//! literal and folded block scalars, comments, `---`, CRLF), which builds
//! exactly the syntax tree `granit-parser` builds, byte spans included;
//! every other file (anchors, tags, multi-line flow or quoted scalars,
//! escapes, tabs, syntax errors…) is parsed by `granit-parser` itself. The
//! two are compared on every fixture, on the conformance corpus, on random
//! input and by a fuzz target.
//!
//! ```
//! use gitops_core::ImageRef;
//! use gitops_core::fs::{MemTree, RelPath};
//! use gitops_setters::apply::{apply_tree, Policies};
//! use gitops_setters::marker::PolicyId;
//! use gitops_setters::{message, scan};
//!
//! let src = "---\n# the web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: 'ghcr.io/org/web:1.0.0' # {\"$imagepolicy\": \"flux-system:web\"}\n";
//! let mut tree = MemTree::new();
//! tree.insert("prod/web.yaml", src)?;
//!
//! let found = scan::scan(&tree, &RelPath::root())?;
//! assert_eq!(found.markers[0].value, "ghcr.io/org/web:1.0.0");
//!
//! let policies: Policies =
//!     [(PolicyId::new("flux-system", "web"), ImageRef::parse("ghcr.io/org/web:1.1.0")?)].into_iter().collect();
//! let mut new_text = String::new();
//! let report = apply_tree(&tree, &RelPath::root(), &policies, &mut |_, _, new| {
//!     new_text = new.to_owned();
//!     Ok(())
//! })?;
//! // Only the scalar changed; its single quotes are kept.
//! assert_eq!(new_text, src.replace("'ghcr.io/org/web:1.0.0'", "'ghcr.io/org/web:1.1.0'"));
//!
//! let data = message::TemplateData::new(&report, message::AutomationObject::new("flux-system", "apps"));
//! let msg = message::render(
//!     Some("{% for o in changed.objects %}{{ o.kind }} {{ o.namespace }}/{{ o.name }}: {% for c in o.changes %}{{ c.new_value }}{% endfor %}{% endfor %}"),
//!     &data,
//! )?;
//! assert_eq!(msg, "Deployment prod/web: ghcr.io/org/web:1.1.0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! Where this crate knowingly differs from Flux's image-automation-controller:
//! - Files are never re-serialised: only the marked scalar's bytes change
//!   (Flux rewrites the whole file, fluxcd/flux2#1441, #4435, #5644).
//! - A marker on the line(s) directly above a mapping entry applies to the
//!   entry's scalar value (kyaml only reads a head comment of the value node,
//!   which in practice works only for sequence items).
//! - A scalar keeps its quoting style; a plain scalar is double-quoted only
//!   when the new value would otherwise read back as a non-string (`1.10`,
//!   `yes`, `2024-01-02`).
//! - `:digest` with no digest known leaves the scalar unchanged and warns
//!   (Flux writes an empty string).
//! - Files that mention `$imagepolicy` but do not parse, are not UTF-8, or
//!   hold malformed or unattached markers produce warnings with file and line
//!   (Flux skips them silently as "problem files"). The screen is the text
//!   `$imagepolicy` (Flux: the quoted `"$imagepolicy"`), so near-miss markers
//!   are reported too.
//! - Top-level sequences are handled (Flux cannot parse them).
//! - Symlinks are never followed, and nothing outside the root is read or
//!   written (Flux follows symlinked files).
//! - Writes are all-or-nothing over the whole tree (Flux writes file by file).
//! - When a scalar has both a line marker and a head marker, the line marker
//!   wins and the other is reported; Flux ignores a head marker whenever the
//!   scalar has any line comment.

pub mod apply;
pub mod flux_patch;
pub mod marker;
pub mod message;
pub mod report;
pub mod scan;
pub mod v1;
pub mod v1ops;

mod fastyaml;
mod quote;
mod syntax;
mod walk;

pub use apply::{Policies, apply_dir, apply_str, apply_tree, apply_tree_run, apply_tree_with};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
pub use marker::{Field, PolicyId, Setter};
pub use report::{Change, Report};
pub use scan::{Marker, RunBudget, Scan, Warning, scan, scan_run, scan_with};

/// Differential check of the YAML fast path against the full parser, for
/// the fuzz target and the sweep tests: `Ok(true)` when the fast path read
/// `src` and built exactly the tree `granit-parser` builds, `Ok(false)` when
/// it left `src` to the full parser, `Err` with the first difference.
#[doc(hidden)]
pub fn fast_yaml_differential(src: &str) -> Result<bool, String> {
    fastyaml::differential(src)
}
