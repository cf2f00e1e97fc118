//! Materialising a Git tree: into a directory (checkout) or a [`MemTree`].
//!
//! Every entry name is checked before anything is written: empty names, `.`,
//! `..`, `.git` (any case), names with `/` or NUL, and duplicate names are
//! rejected, directories are created one level at a time with
//! `create_dir` and files with `O_EXCL`, so nothing can be written through
//! a symlink or outside the destination, whatever the server sent.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use gitops_core::fs::MemTree;
use gix::objs::tree::EntryKind;

use super::Error;

/// A submodule entry met while writing a tree.
#[derive(Debug, Clone)]
pub(crate) struct Gitlink {
    /// Path from the checkout root.
    pub path: String,
    /// The pinned commit.
    pub commit: gix::ObjectId,
}

fn check_name<'a>(name: &'a [u8], parent: &str) -> Result<&'a str, Error> {
    let shown = || {
        let n = String::from_utf8_lossy(name);
        if parent.is_empty() {
            n.into_owned()
        } else {
            format!("{parent}/{n}")
        }
    };
    let name = std::str::from_utf8(name).map_err(|_| Error::UnsafePath {
        path: shown(),
        reason: "name is not UTF-8",
    })?;
    let reason = if name.is_empty() {
        Some("empty name")
    } else if name == "." || name == ".." {
        Some("`.` or `..` entry")
    } else if name.eq_ignore_ascii_case(".git") {
        Some("`.git` entry")
    } else if name.contains('/') || name.contains('\0') || name.contains('\\') {
        Some("separator or NUL in name")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::UnsafePath {
            path: shown(),
            reason,
        }),
        None => Ok(name),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

fn object_err(url: &str) -> impl Fn(gix::Error) -> Error + '_ {
    move |source| Error::Object {
        url: url.to_owned(),
        source,
    }
}

/// Write the tree `tree_id` into the existing, empty directory `dest`.
pub(crate) fn write_dir(
    repo: &gix::Repository,
    url: &str,
    tree_id: gix::ObjectId,
    dest: &Path,
    rel: &str,
    links: &mut Vec<Gitlink>,
) -> Result<u64, Error> {
    let tree = repo.find_tree(tree_id).map_err(object_err(url))?;
    let decoded = tree.decode().map_err(object_err(url))?;
    let mut seen = HashSet::new();
    let mut files = 0u64;
    for entry in &decoded.entries {
        let name = check_name(entry.filename, rel)?;
        let child_rel = join(rel, name);
        if !seen.insert(name) {
            return Err(Error::UnsafePath {
                path: child_rel,
                reason: "duplicate entry",
            });
        }
        let target = dest.join(name);
        let io = |source| Error::Io {
            path: target.clone(),
            source,
        };
        match entry.mode.kind() {
            EntryKind::Tree => {
                fs::create_dir(&target).map_err(io)?;
                files += write_dir(repo, url, entry.oid.to_owned(), &target, &child_rel, links)?;
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let blob = repo.find_blob(entry.oid).map_err(object_err(url))?;
                let mode = if entry.mode.kind() == EntryKind::BlobExecutable {
                    0o755
                } else {
                    0o644
                };
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&target)
                    .map_err(io)?;
                f.write_all(&blob.data).map_err(io)?;
                files += 1;
            }
            EntryKind::Link => {
                let blob = repo.find_blob(entry.oid).map_err(object_err(url))?;
                let link = std::ffi::OsStr::new(std::str::from_utf8(&blob.data).map_err(|_| {
                    Error::UnsafePath {
                        path: child_rel.clone(),
                        reason: "symlink target is not UTF-8",
                    }
                })?)
                .to_owned();
                std::os::unix::fs::symlink(link, &target).map_err(io)?;
            }
            EntryKind::Commit => {
                fs::create_dir(&target).map_err(io)?;
                links.push(Gitlink {
                    path: child_rel,
                    commit: entry.oid.to_owned(),
                });
            }
        }
    }
    Ok(files)
}

/// Read the regular files of `tree_id` into memory (symlinks and submodules
/// are left out).
pub(crate) fn to_mem(
    repo: &gix::Repository,
    url: &str,
    tree_id: gix::ObjectId,
    rel: &str,
    out: &mut MemTree,
) -> Result<(), Error> {
    let tree = repo.find_tree(tree_id).map_err(object_err(url))?;
    let decoded = tree.decode().map_err(object_err(url))?;
    for entry in &decoded.entries {
        let name = check_name(entry.filename, rel)?;
        let child = join(rel, name);
        match entry.mode.kind() {
            EntryKind::Tree => to_mem(repo, url, entry.oid.to_owned(), &child, out)?,
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let blob = repo.find_blob(entry.oid).map_err(object_err(url))?;
                out.insert(&child, &blob.data)
                    .map_err(|_| Error::UnsafePath {
                        path: child.clone(),
                        reason: "not a valid relative path",
                    })?;
            }
            EntryKind::Link | EntryKind::Commit => {}
        }
    }
    Ok(())
}

/// The bytes of the blob at `name` in the root of `tree_id`, if any.
pub(crate) fn root_blob(
    repo: &gix::Repository,
    url: &str,
    tree_id: gix::ObjectId,
    name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let tree = repo.find_tree(tree_id).map_err(object_err(url))?;
    let decoded = tree.decode().map_err(object_err(url))?;
    for entry in &decoded.entries {
        if entry.filename == name.as_bytes() && entry.mode.is_blob() {
            let blob = repo.find_blob(entry.oid).map_err(object_err(url))?;
            return Ok(Some(blob.data.clone()));
        }
    }
    Ok(None)
}
