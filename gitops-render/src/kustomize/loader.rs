//! Reading files the way kustomize's loader does: paths stay in or below the
//! kustomization root (load restrictor `rootOnly`, symlinks resolved by the
//! tree), resource files are parsed into resources, and appending them checks
//! for duplicate ids.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use gitops_core::fs::{EntryKind, FileTree, RelPath};

use crate::Error;
use crate::budget::parse_documents;
use crate::resource::Resource;
use crate::value::Value;

/// Where files come from: the caller's tree or one a fetcher returned.
pub(crate) enum Source<'a> {
    Local(&'a dyn FileTree),
    Remote(Arc<dyn FileTree>),
}

impl Source<'_> {
    pub(crate) fn tree(&self) -> &dyn FileTree {
        match self {
            Source::Local(t) => *t,
            Source::Remote(t) => t.as_ref(),
        }
    }
}

/// Show a tree path the way kustomize's in-memory tests do (rooted at `/`).
pub(crate) fn display(p: &RelPath) -> String {
    format!("/{}", p.as_str())
}

pub(crate) fn is_remote(entry: &str) -> bool {
    entry.starts_with("https://")
        || entry.starts_with("http://")
        || entry.starts_with("git::")
        || entry.starts_with("git@")
        || entry.starts_with("ssh://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}

/// Read a file that must sit in or below `root` (kustomize's `rootOnly`).
pub(crate) fn read_in_root(
    tree: &dyn FileTree,
    root: &RelPath,
    rel: &str,
) -> Result<(RelPath, String), Error> {
    let (path, bytes) = read_bytes_in_root(tree, root, rel)?;
    let text = utf8_text(&path, bytes)?;
    Ok((path, text))
}

/// [`read_in_root`] without the UTF-8 requirement (generator files).
pub(crate) fn read_bytes_in_root(
    tree: &dyn FileTree,
    root: &RelPath,
    rel: &str,
) -> Result<(RelPath, Vec<u8>), Error> {
    let path = resolve(root, rel)?;
    if !is_within(&path, root) {
        return Err(Error::Security {
            path: display(&path),
            root: display(root),
        });
    }
    let bytes = read_bytes_beneath(tree, root, &path)?;
    Ok((path, bytes))
}

/// Read `path` as UTF-8, refusing it unless its real path (symlinks
/// resolved) lies in or below `root`'s: kustomize's `rootOnly` check, done
/// by the tree (on Linux, by the kernel) rather than on the text.
pub(crate) fn read_text_beneath(
    tree: &dyn FileTree,
    root: &RelPath,
    path: &RelPath,
) -> Result<String, Error> {
    utf8_text(path, read_bytes_beneath(tree, root, path)?)
}

/// The bytes of `path`, under the same `rootOnly` check as [`read_text_beneath`].
fn read_bytes_beneath(
    tree: &dyn FileTree,
    root: &RelPath,
    path: &RelPath,
) -> Result<Vec<u8>, Error> {
    tree.read_beneath(root, path).map_err(|source| Error::Read {
        path: display(path),
        source,
    })
}

fn utf8_text(path: &RelPath, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::Read {
        path: display(path),
        source: gitops_core::fs::Error::Io {
            path: path.clone(),
            source: Arc::new(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "file is not valid UTF-8",
            )),
        },
    })
}

/// What `path` is, following a symlink in its last component (a link is
/// what it points to, as kustomize sees it); a link that leads outside the
/// tree or nowhere is an error naming it.
pub(crate) fn kind_followed(
    tree: &dyn FileTree,
    path: &RelPath,
) -> Result<(RelPath, Option<EntryKind>), Error> {
    let read_err = |source| Error::Read {
        path: display(path),
        source,
    };
    match tree.kind(path) {
        Ok(Some(EntryKind::Symlink)) => {
            let real = tree.real_path(path).map_err(read_err)?;
            let kind = tree.kind(&real).map_err(read_err)?;
            Ok((real, kind))
        }
        Ok(kind) => Ok((path.clone(), kind)),
        Err(e) => Err(read_err(e)),
    }
}

pub(crate) fn resolve(root: &RelPath, rel: &str) -> Result<RelPath, Error> {
    root.join(rel).map_err(|_| Error::Security {
        path: rel.to_owned(),
        root: display(root),
    })
}

pub(crate) fn is_within(path: &RelPath, root: &RelPath) -> bool {
    path.is_within(root)
}

/// Parse every document of a resource file into resources.
pub(crate) fn resources_from_text(text: &str, origin: &str) -> Result<Vec<Resource>, Error> {
    let docs = parse_documents(text, origin)?;
    let src = crate::value::Source::new(text);
    let mut out = Vec::new();
    for doc in docs {
        if doc.is_empty() {
            continue;
        }
        let v = Value::from_node_in(doc.root, &src);
        push_resource(v, origin, &mut out)?;
    }
    Ok(out)
}

fn push_resource(v: Value, origin: &str, out: &mut Vec<Resource>) -> Result<(), Error> {
    let Value::Map(m) = &v else {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: "a document is not a mapping".into(),
        });
    };
    if m.is_empty() {
        return Ok(());
    }
    let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.ends_with("List")
        && let Some(Value::Seq(items)) = m.get("items")
    {
        for item in items.clone() {
            push_resource(item, origin, out)?;
        }
        return Ok(());
    }
    if kind.is_empty() {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: "missing kind in object".into(),
        });
    }
    if v.str_at(&["metadata", "name"]).is_none_or(str::is_empty)
        && v.str_at(&["metadata", "generateName"])
            .is_none_or(str::is_empty)
    {
        return Err(Error::Resource {
            file: origin.to_owned(),
            message: format!("missing metadata.name in object of kind {kind}"),
        });
    }
    // Labels and annotations keep their types and nulls here: kustomize
    // turns annotations into strings at the end of the build
    // (`buildmeta::finish`), labels only where it copies them.
    out.push(Resource::new(v));
    Ok(())
}

/// Append `more` to `into`, failing on an id that is already there.
pub(crate) fn append_all(into: &mut Vec<Resource>, more: Vec<Resource>) -> Result<(), Error> {
    let mut index = IdIndex::new(into);
    index.append(into, more)
}

/// The ids of an accumulator's resources, kept while a kustomization
/// appends its `resources` one entry after the other (their ids do not
/// change in between), so each append costs what it adds, not the size of
/// the accumulator.
pub(crate) struct IdIndex {
    seen: HashSet<IdKey>,
}

/// Group, version, kind, name and effective namespace, each preceded by
/// its length (unambiguous; one allocation per resource).
type IdKey = String;

impl IdIndex {
    /// Index the resources of `ra`.
    pub(crate) fn new(ra: &[Resource]) -> IdIndex {
        IdIndex {
            seen: ra.iter().map(key).collect(),
        }
    }

    /// Append `more` to `into` (which must be the indexed list), failing on
    /// an id that is already there.
    pub(crate) fn append(
        &mut self,
        into: &mut Vec<Resource>,
        more: Vec<Resource>,
    ) -> Result<(), Error> {
        into.reserve(more.len());
        for r in more {
            if !self.seen.insert(key(&r)) {
                return Err(Error::IdConflict {
                    id: r.cur_id().to_string(),
                });
            }
            into.push(r);
        }
        Ok(())
    }
}

fn key(r: &Resource) -> IdKey {
    let id = r.id_ref();
    let ns = id.effective_namespace();
    let parts = [id.group, id.version, id.kind, id.name, ns];
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        // Writing to a String cannot fail.
        let _ = write!(key, "{}:{part}", part.len());
    }
    key
}
