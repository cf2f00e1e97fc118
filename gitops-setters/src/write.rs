//! All-or-nothing, root-confined file replacement.
//!
//! A [`Writer`] stages every new file content in a temporary file next to the
//! file it replaces (same directory, so the final `rename` is atomic), and
//! only when everything is staged does [`Writer::commit`] swap them in:
//!
//! 1. **stage**: write each new content to a temp file in the target's
//!    directory (same permissions as the original), `fsync` it;
//! 2. **back up**: hard-link every original to a backup name (no copy);
//! 3. **swap**: `rename` each temp file over its original;
//! 4. **clean**: remove the backups.
//!
//! A failure in steps 1–2 removes what was created and leaves every original
//! untouched. A failure in step 3 renames the backups of the already swapped
//! files back, so again every file is as it was. Dropping a `Writer` without
//! committing removes its temp files.
//!
//! Paths are [`RelPath`]s below the root; every directory on the way must be a
//! real directory and the target a regular file: symlinks are refused, never
//! followed, so nothing outside the root is ever written.
//!
//! ```no_run
//! use gitops_core::fs::{RelPath, RootDir};
//! use gitops_setters::write::Writer;
//!
//! let mut w = Writer::new("/path/to/checkout")?;
//! w.stage(&RelPath::new("apps/podinfo.yaml")?, b"kind: Deployment\n")?;
//! w.stage(&RelPath::new("apps/kustomization.yaml")?, b"resources: []\n")?;
//! assert_eq!(w.commit()?, 2); // both files replaced, or neither
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, Permissions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use gitops_core::fs::{RelPath, RootDir};
use tempfile::TempPath;

/// Why files could not be written. After any of these, every file under the
/// root is as it was before the [`Writer`] was created, except for
/// [`Error::Rollback`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The root directory cannot be opened.
    #[error("cannot open root directory {path}")]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A component of the path, or the file itself, is a symlink.
    #[error("{path}: refusing to write through a symlink")]
    Symlink {
        /// The path below the root.
        path: RelPath,
    },
    /// The target is not an existing regular file, or a parent is not a directory.
    #[error("{path}: {reason}")]
    NotAFile {
        /// The path below the root.
        path: RelPath,
        /// What was found.
        reason: &'static str,
    },
    /// Inspecting the target failed.
    #[error("{path}: cannot inspect")]
    Inspect {
        /// The path below the root.
        path: RelPath,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the temp file failed; nothing was changed.
    #[error("{path}: cannot stage the new content")]
    Stage {
        /// The path below the root.
        path: RelPath,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating the backup link failed; nothing was changed.
    #[error("{path}: cannot create a backup link")]
    Backup {
        /// The path below the root.
        path: RelPath,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Renaming the new content into place failed; files already replaced
    /// were restored from their backups.
    #[error("{path}: cannot replace the file (all files restored)")]
    Replace {
        /// The path below the root.
        path: RelPath,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A replace failed and restoring an already replaced file failed too:
    /// its original content is kept at `backup`.
    #[error("{path}: cannot restore the original after a failed write; it is kept at {backup}")]
    Rollback {
        /// The path below the root.
        path: RelPath,
        /// Where the original content is.
        backup: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The file-system operations a [`Writer`] performs, so tests can inject
/// failures (see [`OsOps`] for the real ones).
pub trait FileOps {
    /// Create a temp file in `dir` holding `contents` with `permissions`,
    /// flushed to disk. The returned path removes the file when dropped.
    fn stage(&self, dir: &Path, contents: &[u8], permissions: Permissions) -> io::Result<TempPath>;
    /// Hard-link `original` to a fresh name in `dir`; the returned path removes
    /// the link when dropped.
    fn backup(&self, original: &Path, dir: &Path) -> io::Result<TempPath>;
    /// Atomically rename `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// The real [`FileOps`] on the operating system's file system.
#[derive(Debug, Clone, Copy)]
pub struct OsOps {
    /// `fsync` each staged file before it is renamed into place (durable
    /// across a crash; on by default). Turning it off trades durability for
    /// speed when many files change at once.
    pub fsync: bool,
}

impl Default for OsOps {
    fn default() -> Self {
        OsOps { fsync: true }
    }
}

impl FileOps for OsOps {
    fn stage(&self, dir: &Path, contents: &[u8], permissions: Permissions) -> io::Result<TempPath> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".gitops-setters-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(contents)?;
        tmp.as_file().set_permissions(permissions)?;
        if self.fsync {
            tmp.as_file().sync_all()?;
        }
        Ok(tmp.into_temp_path())
    }

    fn backup(&self, original: &Path, dir: &Path) -> io::Result<TempPath> {
        let link = tempfile::Builder::new()
            .prefix(".gitops-setters-")
            .suffix(".bak")
            .make_in(dir, |p| fs::hard_link(original, p))?;
        Ok(link.into_temp_path())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

struct Staged {
    rel: RelPath,
    target: PathBuf,
    temp: TempPath,
}

/// Stages file replacements under a root and commits them all at once.
pub struct Writer {
    root: PathBuf,
    dir: RootDir,
    staged: Vec<Staged>,
    ops: Box<dyn FileOps>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("root", &self.root)
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// A writer confined to `root` (canonicalised once, here).
    pub fn new(root: impl AsRef<Path>) -> Result<Writer, Error> {
        Writer::with_ops(root, Box::new(OsOps::default()))
    }

    /// A writer using `ops` for its file-system operations (fault injection).
    pub fn with_ops(root: impl AsRef<Path>, ops: Box<dyn FileOps>) -> Result<Writer, Error> {
        let root = root.as_ref();
        let canonical = root.canonicalize().map_err(|source| Error::Root {
            path: root.to_path_buf(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(Error::Root {
                path: root.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Ok(Writer {
            dir: RootDir::open(&canonical),
            root: canonical,
            staged: Vec::new(),
            ops,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of staged files.
    pub fn len(&self) -> usize {
        self.staged.len()
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Check that `rel` is an existing regular file reached without symlinks,
    /// and return its on-disk path and metadata.
    fn confined(&self, rel: &RelPath) -> Result<(PathBuf, fs::Metadata), Error> {
        if rel.is_root() {
            return Err(Error::NotAFile {
                path: rel.clone(),
                reason: "is the root directory",
            });
        }
        // One system call when the kernel can check the whole path (no
        // symlink anywhere, beneath the root); the walk below otherwise.
        if let Some(meta) = self
            .dir
            .open_beneath(rel, false, true)
            .and_then(|f| f.metadata().ok())
            .filter(fs::Metadata::is_file)
        {
            return Ok((rel.to_path(&self.root), meta));
        }
        let mut p = self.root.clone();
        let comps: Vec<&str> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            p.push(c);
            let meta = fs::symlink_metadata(&p).map_err(|source| Error::Inspect {
                path: rel.clone(),
                source,
            })?;
            if meta.file_type().is_symlink() {
                return Err(Error::Symlink { path: rel.clone() });
            }
            let last = i + 1 == comps.len();
            if !last && !meta.is_dir() {
                return Err(Error::NotAFile {
                    path: rel.clone(),
                    reason: "a parent is not a directory",
                });
            }
            if last {
                if !meta.is_file() {
                    return Err(Error::NotAFile {
                        path: rel.clone(),
                        reason: "not a regular file",
                    });
                }
                return Ok((p, meta));
            }
        }
        Err(Error::NotAFile {
            path: rel.clone(),
            reason: "empty path",
        })
    }

    /// Stage new `contents` for the existing file `rel`.
    pub fn stage(&mut self, rel: &RelPath, contents: &[u8]) -> Result<(), Error> {
        let (target, meta) = self.confined(rel)?;
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        let temp = self
            .ops
            .stage(&dir, contents, meta.permissions())
            .map_err(|source| Error::Stage {
                path: rel.clone(),
                source,
            })?;
        self.staged.push(Staged {
            rel: rel.clone(),
            target,
            temp,
        });
        Ok(())
    }

    /// Replace every staged file; returns how many. On error every file is
    /// restored (see [`Error`]).
    pub fn commit(mut self) -> Result<usize, Error> {
        let staged = std::mem::take(&mut self.staged);
        // Re-check confinement right before swapping (the tree may have
        // changed since staging).
        for s in &staged {
            self.confined(&s.rel)?;
        }
        let mut backups = Vec::with_capacity(staged.len());
        for s in &staged {
            let dir = s.target.parent().unwrap_or(&self.root);
            let b = self
                .ops
                .backup(&s.target, dir)
                .map_err(|source| Error::Backup {
                    path: s.rel.clone(),
                    source,
                })?;
            backups.push(b);
        }
        for (i, s) in staged.iter().enumerate() {
            if let Err(source) = self.ops.rename(&s.temp, &s.target) {
                // Put back the originals of the files already swapped.
                let mut failures = Vec::new();
                for j in (0..i).rev() {
                    if let Err(e) = fs::rename(&backups[j], &staged[j].target) {
                        failures.push((j, e));
                    }
                }
                if !failures.is_empty() {
                    // Keep every backup whose restore failed; report the first.
                    let mut backups: Vec<Option<TempPath>> =
                        backups.into_iter().map(Some).collect();
                    let mut kept = failures.into_iter().map(|(j, e)| {
                        let path = backups[j]
                            .take()
                            .and_then(|b| b.keep().ok())
                            .unwrap_or_default();
                        (j, path, e)
                    });
                    let first = kept.next();
                    kept.for_each(drop);
                    if let Some((j, backup, source)) = first {
                        return Err(Error::Rollback {
                            path: staged[j].rel.clone(),
                            backup,
                            source,
                        });
                    }
                }
                return Err(Error::Replace {
                    path: s.rel.clone(),
                    source,
                });
            }
        }
        let n = staged.len();
        for s in staged {
            // The temp name no longer exists; don't try to remove it.
            let _ = s.temp.keep();
        }
        drop(backups); // removes the backup links
        Ok(n)
    }
}
