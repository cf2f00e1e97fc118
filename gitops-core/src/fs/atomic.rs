//! All-or-nothing, root-confined file replacement, and single-file writes
//! through a temporary file ([`write_file`]).
//!
//! A [`Writer`] stages every new file content in a temporary file next to the
//! file it replaces (same directory, so the final `rename` is atomic), and
//! only when everything is staged does [`Writer::commit`] swap them in:
//!
//! 1. **stage**: write each new content to a temp file in the target's
//!    directory (same permissions as the original), on worker threads while
//!    the caller goes on producing contents;
//! 2. **flush**: make every staged file durable, with one `syncfs(2)` per
//!    file system on Linux instead of one `fsync` per file;
//! 3. **back up**: hard-link every original to a backup name (no copy);
//! 4. **swap**: `rename` each temp file over its original;
//! 5. **flush** again, so the renames are durable when `commit` returns;
//! 6. **clean**: remove the backups.
//!
//! A failure in steps 1–3 removes what was created and leaves every original
//! untouched. A failure in step 4 renames the backups of the already swapped
//! files back, so again every file is as it was. Dropping a `Writer` without
//! committing removes its temp files. Steps 3, 4 and 6 run on several threads
//! for large batches: most of their time is the file system waiting on the
//! disk (discarding freed blocks, writing inodes), which overlaps well.
//!
//! Paths are [`RelPath`]s below the root; every directory on the way must be a
//! real directory and the target a regular file: symlinks are refused, never
//! followed, so nothing outside the root is ever written.
//!
//! ```no_run
//! use gitops_core::fs::{RelPath, RootDir};
//! use gitops_core::fs::atomic::Writer;
//!
//! let mut w = Writer::new("/path/to/checkout")?;
//! w.stage(&RelPath::new("apps/podinfo.yaml")?, b"kind: Deployment\n")?;
//! w.stage(&RelPath::new("apps/kustomization.yaml")?, b"resources: []\n")?;
//! assert_eq!(w.commit()?, 2); // both files replaced, or neither
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Why one `syncfs` and not one `fsync` per file: each `fsync` waits for
//! the disk (a cache flush per file), so 10,000 files cost 10,000 round
//! trips; `syncfs` writes everything dirty on the file system at once and
//! waits once. The price is that it also writes other programs' dirty data
//! on that file system. Where `syncfs` is not available, every staged file
//! and every touched directory is `fsync`ed instead.

use std::collections::BTreeSet;
use std::fs::{self, Permissions};
use std::io::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use tempfile::TempPath;

use super::{RelPath, RootDir};

/// Why files could not be written. After any of these, every file under the
/// root is as it was before the [`Writer`] was created, except for
/// [`Error::Rollback`] and [`Error::SyncReplaced`].
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
    /// Flushing the staged files to disk failed; nothing was changed.
    #[error("cannot flush the staged files to disk (nothing was changed)")]
    Sync {
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
    /// Every file was replaced, but flushing the renames to disk failed:
    /// the new contents are in place and may not survive a crash.
    #[error("{files} files replaced, but the renames could not be flushed to disk")]
    SyncReplaced {
        /// How many files were replaced.
        files: usize,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Prefix of the temporary and backup files a [`Writer`] creates next to
/// their targets.
pub const TEMP_PREFIX: &str = ".gitops-setters-";

/// The step of [`write_file`] that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileStep {
    /// Creating the temporary file in the target's directory.
    Create,
    /// Writing the contents to the temporary file.
    Write,
    /// Renaming the temporary file over the target.
    Rename,
}

impl FileStep {
    fn action(self) -> &'static str {
        match self {
            FileStep::Create => "create a temporary file",
            FileStep::Write => "write a temporary file",
            FileStep::Rename => "rename a temporary file over its target",
        }
    }
}

/// Why [`write_file`] failed; the target is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("cannot {} in {}", .step.action(), .dir.display())]
pub struct FileError {
    /// The step that failed.
    pub step: FileStep,
    /// The directory the temporary file is (or was to be) in.
    pub dir: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Write `contents` to `path` through a temporary file in the same
/// directory, renamed over `path` once complete: readers see the old
/// contents or the new, never a part. The temporary file is created with
/// mode 0600 on Unix, which the file keeps; it is removed on failure. The
/// directory of a bare file name is `.`.
///
/// ```
/// use gitops_core::fs::atomic::write_file;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.yaml");
/// write_file(&path, b"kind: Secret\n")?;
/// assert_eq!(std::fs::read(&path)?, b"kind: Secret\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = |step, source| FileError {
        step,
        dir: dir.clone(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail(FileStep::Create, e))?;
    tmp.write_all(contents)
        .map_err(|e| fail(FileStep::Write, e))?;
    tmp.persist(path)
        .map_err(|e| fail(FileStep::Rename, e.error))?;
    Ok(())
}

/// Write `contents` to `root/rel` like [`write_file`], creating missing
/// parent directories, with the same confinement as a [`Writer`]: every
/// directory on the way must be a real directory beneath `root` and an
/// existing target a regular file; symlinks are refused, never followed.
///
/// ```
/// use gitops_core::fs::RelPath;
/// use gitops_core::fs::atomic::write_beneath;
///
/// let dir = tempfile::tempdir()?;
/// write_beneath(dir.path(), &RelPath::new("clusters/dev/sync.yaml")?, b"kind: Kustomization\n")?;
/// assert_eq!(std::fs::read(dir.path().join("clusters/dev/sync.yaml"))?, b"kind: Kustomization\n");
///
/// std::os::unix::fs::symlink("/tmp", dir.path().join("out"))?;
/// assert!(write_beneath(dir.path(), &RelPath::new("out/x.yaml")?, b"").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Symlink`] or [`Error::NotAFile`] for a path that leaves the root
/// or is not a file; [`Error::Inspect`] when a directory cannot be read or
/// created; [`Error::Stage`] when the file cannot be written.
pub fn write_beneath(root: &Path, rel: &RelPath, contents: &[u8]) -> Result<(), Error> {
    if rel.is_root() {
        return Err(Error::NotAFile {
            path: rel.clone(),
            reason: "is the root directory",
        });
    }
    let inspect = |source| Error::Inspect {
        path: rel.clone(),
        source,
    };
    let mut p = root.to_path_buf();
    let comps: Vec<&str> = rel.components().collect();
    for (i, c) in comps.iter().enumerate() {
        p.push(c);
        let last = i + 1 == comps.len();
        match fs::symlink_metadata(&p) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Symlink { path: rel.clone() });
            }
            Ok(meta) if !last && !meta.is_dir() => {
                return Err(Error::NotAFile {
                    path: rel.clone(),
                    reason: "a parent is not a directory",
                });
            }
            Ok(meta) if last && !meta.is_file() => {
                return Err(Error::NotAFile {
                    path: rel.clone(),
                    reason: "not a regular file",
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !last {
                    fs::create_dir(&p).map_err(inspect)?;
                }
            }
            Err(e) => return Err(inspect(e)),
        }
    }
    write_file(&p, contents).map_err(|e| Error::Stage {
        path: rel.clone(),
        source: io::Error::new(e.source.kind(), e),
    })
}

/// The file-system operations a [`Writer`] performs, so tests can inject
/// failures (see [`OsOps`] for the real ones). They are called from several
/// threads at once.
pub trait FileOps: Send + Sync {
    /// Create a temp file in `dir` holding `contents` with `permissions`.
    /// The returned path removes the file when dropped.
    fn stage(&self, dir: &Path, contents: &[u8], permissions: Permissions) -> io::Result<TempPath>;
    /// Hard-link `original` to a fresh name in `dir`; the returned path removes
    /// the link when dropped.
    fn backup(&self, original: &Path, dir: &Path) -> io::Result<TempPath>;
    /// Atomically rename `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Make `files` and the entries of `dirs` durable (every file is in one
    /// of `dirs`). The default does nothing.
    fn sync(&self, dirs: &[&Path], files: &[&Path]) -> io::Result<()> {
        let _ = (dirs, files);
        Ok(())
    }
}

/// The real [`FileOps`] on the operating system's file system.
#[derive(Debug, Clone, Copy)]
pub struct OsOps {
    /// Flush the staged files to disk before they are renamed into place,
    /// and the renames before [`Writer::commit`] returns (durable across a
    /// crash; on by default). Turning it off leaves the writing to the
    /// kernel, as `git checkout` and `sed -i` do.
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
            .prefix(TEMP_PREFIX)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(contents)?;
        tmp.as_file().set_permissions(permissions)?;
        Ok(tmp.into_temp_path())
    }

    fn backup(&self, original: &Path, dir: &Path) -> io::Result<TempPath> {
        let link = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(".bak")
            .make_in(dir, |p| fs::hard_link(original, p))?;
        Ok(link.into_temp_path())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync(&self, dirs: &[&Path], files: &[&Path]) -> io::Result<()> {
        if !self.fsync {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            if syncfs_each(dirs).is_ok() {
                return Ok(());
            }
        }
        fsync_each(files, false)?;
        fsync_each(dirs, true)
    }
}

/// One `syncfs` per file system among `dirs`.
#[cfg(target_os = "linux")]
fn syncfs_each(dirs: &[&Path]) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let mut done = BTreeSet::new();
    for d in dirs {
        if done.insert(fs::metadata(d)?.dev()) {
            rustix::fs::syncfs(fs::File::open(d)?)?;
        }
    }
    Ok(())
}

/// `fsync` every path, on a few threads (each waits for the disk).
fn fsync_each(paths: &[&Path], dirs: bool) -> io::Result<()> {
    let results = par_map(paths.len(), IO_THREADS, &|i| {
        match fs::File::open(paths[i]).and_then(|f| f.sync_all()) {
            // Directories cannot be opened or synced everywhere (Windows).
            Err(_) if dirs && !cfg!(unix) => Ok(()),
            r => r,
        }
    });
    results.into_iter().collect()
}

/// Threads staging temp files while the caller produces contents (CPU:
/// creating inodes and copying data).
const STAGE_THREADS: usize = 4;

/// Threads for the flush (without `syncfs`), backup and rename steps, which
/// partly wait on the disk.
const IO_THREADS: usize = 16;

/// Threads removing the backups: freeing a file's blocks waits on the disk
/// (synchronously on a file system mounted with `discard`), so many
/// removals in flight finish sooner: 2 threads took 5.2 s for 10,000
/// files on this repository's ext4, 8 took 1.0 s, 32 took 0.5 s.
const DROP_THREADS: usize = 32;

/// Files a thread takes at a time (neighbours share a directory); batches
/// this small run on the calling thread, in order.
const CHUNK: usize = 16;

/// Staged files queued ahead of the stage threads, at most (bounds memory).
const QUEUE: usize = 64;

struct Staged {
    rel: RelPath,
    target: PathBuf,
    temp: TempPath,
}

/// A file to stage, in the order `stage` was called.
struct Job {
    index: usize,
    rel: RelPath,
    target: PathBuf,
    contents: Vec<u8>,
    permissions: Permissions,
}

type Done = Vec<(usize, Result<Staged, Error>)>;

/// The stage threads and their queue.
struct Pool {
    tx: SyncSender<Job>,
    workers: Vec<JoinHandle<Done>>,
}

impl Pool {
    fn start(ops: &Arc<dyn FileOps>, failed: &Arc<AtomicBool>) -> Pool {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let threads = thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, STAGE_THREADS);
        let workers = (0..threads)
            .map(|_| {
                let (rx, ops, failed) = (Arc::clone(&rx), Arc::clone(ops), Arc::clone(failed));
                thread::spawn(move || stage_worker(&rx, &*ops, &failed))
            })
            .collect();
        Pool { tx, workers }
    }

    /// Wait for every queued file; the staged files in `stage` order, or
    /// the first error (every temp file is then removed).
    fn finish(self) -> Result<Vec<Staged>, Error> {
        drop(self.tx);
        let mut done: Done = Vec::new();
        for w in self.workers {
            done.extend(w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        done.sort_by_key(|d| d.0);
        done.into_iter().map(|(_, r)| r).collect()
    }
}

fn stage_worker(rx: &Mutex<Receiver<Job>>, ops: &dyn FileOps, failed: &AtomicBool) -> Done {
    let mut done = Vec::new();
    loop {
        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else {
            return done;
        };
        if failed.load(Ordering::Relaxed) {
            continue; // nothing will be committed: don't write more
        }
        let dir = job.target.parent().unwrap_or(Path::new("."));
        let r = match ops.stage(dir, &job.contents, job.permissions) {
            Ok(temp) => Ok(Staged {
                rel: job.rel,
                target: job.target,
                temp,
            }),
            Err(source) => {
                failed.store(true, Ordering::Relaxed);
                Err(Error::Stage {
                    path: job.rel,
                    source,
                })
            }
        };
        done.push((job.index, r));
    }
}

/// Stages file replacements under a root and commits them all at once.
pub struct Writer {
    root: PathBuf,
    dir: RootDir,
    ops: Arc<dyn FileOps>,
    /// Started by the first `stage`.
    pool: Option<Pool>,
    /// Set by a stage thread that failed.
    failed: Arc<AtomicBool>,
    queued: usize,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("root", &self.root)
            .field("staged", &self.queued)
            .finish_non_exhaustive()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            drop(pool.finish()); // removes the temp files
        }
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
            ops: Arc::from(ops),
            pool: None,
            failed: Arc::new(AtomicBool::new(false)),
            queued: 0,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of staged files.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Stage new `contents` for the existing file `rel`. The target is
    /// checked here; the temp file is written on a stage thread, and a
    /// failure to write it is returned by [`Writer::commit`].
    pub fn stage(&mut self, rel: &RelPath, contents: &[u8]) -> Result<(), Error> {
        let (target, meta) = confined(&self.root, &self.dir, rel)?;
        let job = Job {
            index: self.queued,
            rel: rel.clone(),
            target,
            contents: contents.to_vec(),
            permissions: meta.permissions(),
        };
        let pool = self
            .pool
            .get_or_insert_with(|| Pool::start(&self.ops, &self.failed));
        // The workers only stop once the sender is dropped.
        pool.tx
            .send(job)
            .map_err(|_| io::Error::other("the stage threads are gone"))
            .map_err(|source| Error::Stage {
                path: rel.clone(),
                source,
            })?;
        self.queued += 1;
        Ok(())
    }

    /// Replace every staged file; returns how many. On error every file is
    /// restored (see [`Error`]).
    pub fn commit(mut self) -> Result<usize, Error> {
        let staged = match self.pool.take() {
            Some(pool) => pool.finish()?,
            None => Vec::new(),
        };
        if staged.is_empty() {
            return Ok(0);
        }
        let ops = &*self.ops;
        let dirs: BTreeSet<&Path> = staged
            .iter()
            .map(|s| s.target.parent().unwrap_or(&self.root))
            .collect();
        let dirs: Vec<&Path> = dirs.into_iter().collect();
        let temps: Vec<&Path> = staged.iter().map(|s| &*s.temp).collect();
        ops.sync(&dirs, &temps)
            .map_err(|source| Error::Sync { source })?;
        drop(temps);

        // Re-check confinement right before swapping (the tree may have
        // changed since staging), and link each original to its backup.
        let stop = AtomicBool::new(false);
        let backups = par_map(staged.len(), IO_THREADS, &|i| {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let s = &staged[i];
            let r = confined(&self.root, &self.dir, &s.rel).and_then(|_| {
                let dir = s.target.parent().unwrap_or(&self.root);
                ops.backup(&s.target, dir).map_err(|source| Error::Backup {
                    path: s.rel.clone(),
                    source,
                })
            });
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            Some(r)
        });
        let mut kept = Vec::with_capacity(backups.len());
        let mut first_error = None;
        for b in backups {
            match b {
                Some(Ok(b)) => kept.push(b),
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                None => {}
            }
        }
        if let Some(e) = first_error {
            return Err(e); // dropping `kept` and `staged` removes every link and temp file
        }
        let backups = kept;

        let renamed = par_map(staged.len(), IO_THREADS, &|i| {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let r = ops.rename(&staged[i].temp, &staged[i].target);
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            Some(r)
        });
        if stop.load(Ordering::Relaxed) {
            return Err(roll_back(&staged, backups, renamed));
        }

        let n = staged.len();
        let synced = ops.sync(&dirs, &[]);
        drop(dirs);
        for s in staged {
            // The temp name no longer exists; don't try to remove it.
            let _ = s.temp.keep();
        }
        par_drop(backups, DROP_THREADS); // removes the backup links
        synced.map_err(|source| Error::SyncReplaced { files: n, source })?;
        Ok(n)
    }
}

/// After a failed rename: put back the originals of the files already
/// swapped, and say what failed.
fn roll_back(
    staged: &[Staged],
    backups: Vec<TempPath>,
    renamed: Vec<Option<io::Result<()>>>,
) -> Error {
    let mut failed = None;
    let mut restore_failures = Vec::new();
    for (j, r) in renamed.into_iter().enumerate() {
        match r {
            Some(Ok(())) => {
                if let Err(e) = fs::rename(&backups[j], &staged[j].target) {
                    restore_failures.push((j, e));
                }
            }
            Some(Err(e)) => {
                failed.get_or_insert((j, e));
            }
            None => {}
        }
    }
    if !restore_failures.is_empty() {
        // Keep every backup whose restore failed; report the first.
        let mut backups: Vec<Option<TempPath>> = backups.into_iter().map(Some).collect();
        let mut kept = restore_failures.into_iter().map(|(j, e)| {
            let path = backups[j]
                .take()
                .and_then(|b| b.keep().ok())
                .unwrap_or_default();
            (j, path, e)
        });
        let first = kept.next();
        kept.for_each(drop);
        if let Some((j, backup, source)) = first {
            return Error::Rollback {
                path: staged[j].rel.clone(),
                backup,
                source,
            };
        }
    }
    let (j, source) = failed.unwrap_or_else(|| (0, io::Error::other("rename failed")));
    Error::Replace {
        path: staged[j].rel.clone(),
        source,
    }
}

/// Check that `rel` is an existing regular file reached without symlinks,
/// and return its on-disk path and metadata.
fn confined(root: &Path, dir: &RootDir, rel: &RelPath) -> Result<(PathBuf, fs::Metadata), Error> {
    if rel.is_root() {
        return Err(Error::NotAFile {
            path: rel.clone(),
            reason: "is the root directory",
        });
    }
    // One system call when the kernel can check the whole path (no
    // symlink anywhere, beneath the root); the walk below otherwise.
    if let Some(meta) = dir
        .open_beneath(rel, false, true)
        .and_then(|f| f.metadata().ok())
        .filter(fs::Metadata::is_file)
    {
        return Ok((rel.to_path(root), meta));
    }
    let mut p = root.to_path_buf();
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

/// `f(0..n)` on up to `threads` threads, [`CHUNK`] indices at a time (in
/// order within a chunk; on the calling thread, in order, for one chunk);
/// the results in index order.
fn par_map<T: Send>(n: usize, threads: usize, f: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let threads = threads.min(n.div_ceil(CHUNK));
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<T>)> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= n {
                            return out;
                        }
                        let range: Range<usize> = start..n.min(start + CHUNK);
                        out.push((start, range.map(f).collect::<Vec<T>>()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parts.sort_by_key(|p| p.0);
    parts.into_iter().flat_map(|p| p.1).collect()
}

/// Drop `items` on up to `threads` threads (dropping a [`TempPath`]
/// removes its file).
fn par_drop<T: Send>(mut items: Vec<T>, threads: usize) {
    let threads = threads.min(items.len().div_ceil(CHUNK));
    if threads <= 1 {
        return;
    }
    let per = items.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    while items.len() > per {
        parts.push(items.split_off(items.len() - per));
    }
    parts.push(items);
    thread::scope(|s| {
        for p in parts {
            s.spawn(move || drop(p));
        }
    });
}
