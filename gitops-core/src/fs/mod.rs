//! Read-only file trees confined to a root.
//!
//! Every path handed to a [`FileTree`] is a [`RelPath`]: relative,
//! `/`-separated, without `.` or `..` components. [`RelPath::join`] resolves
//! `..` lexically and refuses to climb above the root, so "nothing outside the
//! root is ever read" holds by construction. [`OsTree`] is the real
//! implementation over a directory (it refuses symlinks that lead outside the
//! root); [`MemTree`] is the in-memory one used in tests and for generated
//! content.
//!
//! Writing goes through [`atomic`]: an all-or-nothing, root-confined
//! [`atomic::Writer`] for batches of existing files, and
//! [`atomic::write_file`] for one file.
//!
//! ```
//! use gitops_core::fs::{FileTree, MemTree, RelPath, walk_files};
//!
//! let mut tree = MemTree::new();
//! tree.insert("apps/base/deploy.yaml", "kind: Deployment\n")?;
//! tree.insert("apps/base/kustomization.yaml", "resources: [deploy.yaml]\n")?;
//!
//! let base = RelPath::new("apps/base")?;
//! let file = base.join("deploy.yaml")?;
//! assert_eq!(tree.read(&file)?, b"kind: Deployment\n");
//! assert!(base.join("../../../etc/passwd").is_err());
//! assert_eq!(walk_files(&tree, &RelPath::root())?.len(), 2);
//! # Ok::<(), gitops_core::fs::Error>(())
//! ```

pub mod atomic;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a file-tree operation failed. Every variant names the path (long
/// ones cut, as [`crate::quote::truncated`] does).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path is absolute, empty where a name is needed, or has a NUL byte.
    #[error("invalid path {:?}: {reason}", crate::quote::truncated(path))]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path climbs above the root with `..`.
    #[error("path {:?} escapes the root", crate::quote::truncated(path))]
    Escape {
        /// The path as given.
        path: String,
    },
    /// Nothing at that path.
    #[error("{}: no such file or directory", crate::quote::truncated(&path.to_string()))]
    NotFound {
        /// The path.
        path: RelPath,
    },
    /// A file was expected, a directory found (or the reverse).
    #[error("{}: {reason}", crate::quote::truncated(&path.to_string()))]
    WrongKind {
        /// The path.
        path: RelPath,
        /// `is a directory` or `not a directory`.
        reason: &'static str,
    },
    /// A symlink leads outside the root.
    #[error("{}: symlink points outside the root", crate::quote::truncated(&path.to_string()))]
    SymlinkEscape {
        /// The path.
        path: RelPath,
    },
    /// A symlink on the path resolves it outside the directory it must stay
    /// in (the tree's root, or the base given to [`FileTree::read_beneath`]).
    #[error("{}: refused: symlinks resolve it to {target}, outside {}", crate::quote::truncated(&path.to_string()), crate::quote::truncated(&base.to_string()))]
    SymlinkOutside {
        /// The path as asked for.
        path: RelPath,
        /// The directory it had to stay in or below.
        base: RelPath,
        /// Where the symlinks lead (a path in the tree, or an absolute path
        /// outside it; truncated when long).
        target: String,
    },
    /// A symlink on the path points at nothing.
    #[error("{}: dangling symlink (to {target})", crate::quote::truncated(&path.to_string()))]
    DanglingSymlink {
        /// The path.
        path: RelPath,
        /// The link's text (truncated when long).
        target: String,
    },
    /// Not a regular file: a FIFO, socket or device is never read (a FIFO
    /// would block the reader forever, a device never ends).
    #[error("{}: not a regular file ({what}); refused", crate::quote::truncated(&path.to_string()))]
    NotRegular {
        /// The path.
        path: RelPath,
        /// `a FIFO`, `a socket`, `a character device`, `a block device`.
        what: &'static str,
    },
    /// The file is larger than the tree allows ([`OsTree::with_max_file_size`]).
    #[error("{}: file is {size} bytes, above the limit of {limit} bytes", crate::quote::truncated(&path.to_string()))]
    TooLarge {
        /// The path.
        path: RelPath,
        /// Its size (at least; a growing file may be larger).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An operating-system error.
    #[error("{}: {source}", crate::quote::truncated(&path.to_string()))]
    Io {
        /// The path.
        path: RelPath,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
}

/// A validated path relative to a tree's root (`""` is the root itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RelPath(String);

impl RelPath {
    /// The root.
    pub fn root() -> RelPath {
        RelPath(String::new())
    }

    /// Validate a relative path; `.` components are dropped and `..` resolved
    /// lexically. Leading `/`, NUL bytes and escapes above the root are errors.
    pub fn new(path: &str) -> Result<RelPath, Error> {
        RelPath::root().join(path)
    }

    /// Resolve `rel` against this directory (`..` allowed while it stays inside the root).
    pub fn join(&self, rel: &str) -> Result<RelPath, Error> {
        if rel.starts_with('/') {
            return Err(Error::InvalidPath {
                path: rel.to_owned(),
                reason: "absolute paths are not allowed",
            });
        }
        if rel.contains('\0') {
            return Err(Error::InvalidPath {
                path: rel.to_owned(),
                reason: "NUL byte in path",
            });
        }
        let mut parts: Vec<&str> = self.components().collect();
        for c in rel.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(Error::Escape {
                            path: if self.0.is_empty() {
                                rel.to_owned()
                            } else {
                                format!("{}/{}", self.0, rel)
                            },
                        });
                    }
                }
                c => parts.push(c),
            }
        }
        Ok(RelPath(parts.join("/")))
    }

    /// The path text (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last component (`""` for the root).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The parent directory (the root is its own parent).
    pub fn parent(&self) -> RelPath {
        match self.0.rfind('/') {
            Some(i) => RelPath(self.0[..i].to_owned()),
            None => RelPath::root(),
        }
    }

    /// The path on disk under `root`.
    pub fn to_path(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        for c in self.components() {
            p.push(c);
        }
        p
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed by listings).
    Symlink,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Path from the tree's root.
    pub path: RelPath,
    /// What it is (symlinks are reported as such, not followed).
    pub kind: EntryKind,
}

/// A read-only tree of files confined to a root.
pub trait FileTree {
    /// Read a whole file.
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, Error>;
    /// List a directory, sorted by name.
    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, Error>;
    /// What is at `path`, or `None` when nothing is. A symlink as the last
    /// component is reported as [`EntryKind::Symlink`], not followed.
    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, Error>;
    /// `path` with every symlink on it resolved, as a path in the tree
    /// (trees without symlinks return it unchanged). A link that leads
    /// outside the tree is [`Error::SymlinkOutside`], one that leads
    /// nowhere [`Error::DanglingSymlink`] (or [`Error::NotFound`]).
    fn real_path(&self, path: &RelPath) -> Result<RelPath, Error>;
    /// Read `path` only when, with every symlink on it resolved, it lies in
    /// or below `base` (kustomize's `rootOnly` rule for the files of a
    /// kustomization): otherwise [`Error::SymlinkOutside`] (or
    /// [`Error::Escape`] when `path` is not below `base` as written).
    fn read_beneath(&self, base: &RelPath, path: &RelPath) -> Result<Vec<u8>, Error>;

    /// [`FileTree::read_beneath`] into shared bytes. The operating system's
    /// tree ([`OsTree`]) reads the file straight into the shared buffer
    /// (it knows the size before it reads) instead of copying a vector
    /// into one.
    fn read_beneath_shared(&self, base: &RelPath, path: &RelPath) -> Result<Arc<[u8]>, Error> {
        self.read_beneath(base, path).map(Arc::from)
    }

    /// Read a file as UTF-8 text.
    fn read_to_string(&self, path: &RelPath) -> Result<String, Error> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|_| Error::Io {
            path: path.clone(),
            source: Arc::new(io::Error::new(
                io::ErrorKind::InvalidData,
                "file is not valid UTF-8",
            )),
        })
    }
}

impl<T: FileTree + ?Sized> FileTree for &T {
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, Error> {
        (**self).read(path)
    }
    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, Error> {
        (**self).list(dir)
    }
    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, Error> {
        (**self).kind(path)
    }
    fn real_path(&self, path: &RelPath) -> Result<RelPath, Error> {
        (**self).real_path(path)
    }
    fn read_beneath(&self, base: &RelPath, path: &RelPath) -> Result<Vec<u8>, Error> {
        (**self).read_beneath(base, path)
    }
    fn read_beneath_shared(&self, base: &RelPath, path: &RelPath) -> Result<Arc<[u8]>, Error> {
        (**self).read_beneath_shared(base, path)
    }
}

impl RelPath {
    /// True when `self` is `dir` or lies below it (the root contains everything).
    pub fn is_within(&self, dir: &RelPath) -> bool {
        dir.is_root()
            || self == dir
            || self
                .0
                .strip_prefix(dir.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The lexical half of [`FileTree::read_beneath`]: `path` must be written
/// in or below `base`.
pub fn check_beneath(base: &RelPath, path: &RelPath) -> Result<(), Error> {
    if path.is_within(base) {
        Ok(())
    } else {
        Err(Error::Escape {
            path: crate::quote::truncated(path.as_str()).into_owned(),
        })
    }
}

/// Every regular file below `dir`, depth first, sorted; symlinks are skipped.
pub fn walk_files(tree: &dyn FileTree, dir: &RelPath) -> Result<Vec<RelPath>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = tree.list(&d)?;
        // Push directories in reverse so they pop in order.
        for e in entries.iter().rev() {
            if e.kind == EntryKind::Dir {
                stack.push(e.path.clone());
            }
        }
        out.extend(
            entries
                .into_iter()
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.path),
        );
    }
    out.sort();
    Ok(out)
}

/// An in-memory tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemTree {
    files: BTreeMap<RelPath, Arc<[u8]>>,
}

impl MemTree {
    /// An empty tree.
    pub fn new() -> MemTree {
        MemTree::default()
    }

    /// Add or replace a file (parent directories are implied).
    pub fn insert(&mut self, path: &str, contents: impl AsRef<[u8]>) -> Result<(), Error> {
        let p = RelPath::new(path)?;
        if p.is_root() {
            return Err(Error::InvalidPath {
                path: path.to_owned(),
                reason: "a file needs a name",
            });
        }
        self.files.insert(p, Arc::from(contents.as_ref()));
        Ok(())
    }

    /// Remove a file; returns whether it existed.
    pub fn remove(&mut self, path: &RelPath) -> bool {
        self.files.remove(path).is_some()
    }

    /// All files, sorted.
    pub fn files(&self) -> impl Iterator<Item = (&RelPath, &[u8])> {
        self.files.iter().map(|(p, b)| (p, &**b))
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the tree has no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn is_dir(&self, dir: &RelPath) -> bool {
        if dir.is_root() {
            return true;
        }
        let prefix = format!("{}/", dir.as_str());
        self.files
            .range(RelPath(prefix.clone())..)
            .next()
            .is_some_and(|(p, _)| p.as_str().starts_with(&prefix))
    }
}

impl FileTree for MemTree {
    fn real_path(&self, path: &RelPath) -> Result<RelPath, Error> {
        Ok(path.clone())
    }

    fn read_beneath(&self, base: &RelPath, path: &RelPath) -> Result<Vec<u8>, Error> {
        check_beneath(base, path)?;
        self.read(path)
    }

    fn read(&self, path: &RelPath) -> Result<Vec<u8>, Error> {
        match self.files.get(path) {
            Some(b) => Ok(b.to_vec()),
            None if self.is_dir(path) => Err(Error::WrongKind {
                path: path.clone(),
                reason: "is a directory",
            }),
            None => Err(Error::NotFound { path: path.clone() }),
        }
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, Error> {
        if self.files.contains_key(dir) {
            return Err(Error::WrongKind {
                path: dir.clone(),
                reason: "not a directory",
            });
        }
        if !self.is_dir(dir) {
            return Err(Error::NotFound { path: dir.clone() });
        }
        let prefix = if dir.is_root() {
            String::new()
        } else {
            format!("{}/", dir.as_str())
        };
        let mut out: Vec<DirEntry> = Vec::new();
        for (p, _) in self.files.range(RelPath(prefix.clone())..) {
            let Some(rest) = p.as_str().strip_prefix(&prefix) else {
                break;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((d, _)) => (d, EntryKind::Dir),
                None => (rest, EntryKind::File),
            };
            if out.last().is_some_and(|e| e.path.file_name() == name) {
                continue;
            }
            out.push(DirEntry {
                path: RelPath(format!("{prefix}{name}")),
                kind,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, Error> {
        Ok(if self.files.contains_key(path) {
            Some(EntryKind::File)
        } else if self.is_dir(path) {
            Some(EntryKind::Dir)
        } else {
            None
        })
    }
}

/// A directory on disk, read-only, confined to its root.
///
/// Reads go through symlinks only when the link's target stays inside the
/// root; listings report symlinks as [`EntryKind::Symlink`] without following.
#[derive(Debug, Clone)]
pub struct OsTree {
    root: PathBuf,
    dir: RootDir,
    max_file_size: u64,
}

/// An open handle on a root directory, for opening files beneath it in one
/// system call.
///
/// On Linux 5.6 and later, [`RootDir::open_beneath`] uses `openat2` with
/// `RESOLVE_BENEATH`, so the kernel refuses any path that would leave the
/// root, symlinks included, atomically. Elsewhere (other systems, older
/// kernels, sandboxes that forbid the call) it returns `None` and callers
/// use their path-based checks instead. It never gives an answer the
/// path-based checks would refuse.
#[derive(Debug, Clone)]
pub struct RootDir {
    #[cfg(target_os = "linux")]
    fd: Option<Arc<rustix::fd::OwnedFd>>,
}

impl RootDir {
    /// Open `root` (a directory). Failure is not an error: the handle is
    /// then empty and every `open_beneath` returns `None`.
    pub fn open(root: &Path) -> RootDir {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::open(
                root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
            .map(Arc::new);
            RootDir { fd }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = root;
            RootDir {}
        }
    }

    /// Open `path` beneath the root for reading. With `follow`, symlinks
    /// that stay beneath the root are followed; without it, a symlink
    /// anywhere on the path fails. `path_only` opens an `O_PATH` handle
    /// (enough for `metadata`, not for reading). `None` means "not
    /// decided here" (any failure included): check the path the slow way.
    pub fn open_beneath(
        &self,
        path: &RelPath,
        follow: bool,
        path_only: bool,
    ) -> Option<std::fs::File> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags, ResolveFlags};
            let dir = self.fd.as_ref()?;
            // `openat2` refuses `O_PATH` with any flag but these three.
            let mut flags = OFlags::CLOEXEC;
            flags |= if path_only {
                OFlags::PATH
            } else {
                OFlags::RDONLY | OFlags::NOCTTY
            };
            let mut resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            if !follow {
                // Also refuses a symlink as the last component (with
                // `O_NOFOLLOW`, `O_PATH` would open the link itself).
                resolve |= ResolveFlags::NO_SYMLINKS;
            }
            let rel = if path.is_root() { "." } else { path.as_str() };
            rustix::fs::openat2(&**dir, rel, flags, Mode::empty(), resolve)
                .ok()
                .map(std::fs::File::from)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (path, follow, path_only);
            None
        }
    }
}

/// The default largest file an [`OsTree`] reads: 64 MiB. A GitOps repository
/// holds manifests; a bigger file is hostile or a mistake, and reading it
/// whole would put the process's memory at the repository's mercy.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;

impl OsTree {
    /// Open `root` (it is canonicalised once, here).
    pub fn new(root: impl AsRef<Path>) -> Result<OsTree, Error> {
        let root = root.as_ref().canonicalize().map_err(|e| Error::Io {
            path: RelPath::root(),
            source: Arc::new(io::Error::new(
                e.kind(),
                format!("{}: {e}", root.as_ref().display()),
            )),
        })?;
        Ok(OsTree {
            dir: RootDir::open(&root),
            root,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        })
    }

    /// Refuse to read files larger than `bytes` ([`Error::TooLarge`]);
    /// the default is [`DEFAULT_MAX_FILE_SIZE`].
    #[must_use]
    pub fn with_max_file_size(mut self, bytes: u64) -> OsTree {
        self.max_file_size = bytes;
        self
    }

    /// The same tree deciding by path checks only, as on systems without
    /// `openat2` (tests compare both ways).
    #[cfg(test)]
    fn path_checks_only(mut self) -> OsTree {
        self.dir = RootDir {
            #[cfg(target_os = "linux")]
            fd: None,
        };
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The on-disk path of `path`, after checking that symlinks on the way stay in the root.
    pub fn resolve(&self, path: &RelPath) -> Result<PathBuf, Error> {
        let p = path.to_path(&self.root);
        match std::fs::canonicalize(&p) {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(real) => Err(Error::SymlinkOutside {
                path: path.clone(),
                base: RelPath::root(),
                target: self.show_real(&real),
            }),
            Err(e) => Err(self.missing_or_io(path, e)),
        }
    }

    /// A real path for an error: relative to the root when inside it
    /// (`.` for the root), else absolute; truncated.
    fn show_real(&self, real: &Path) -> String {
        let text = match real.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => real.to_string_lossy().into_owned(),
        };
        crate::quote::truncated(&text).into_owned()
    }

    /// `NotFound`, or `DanglingSymlink` when a symlink on the path leads nowhere.
    fn missing_or_io(&self, path: &RelPath, e: io::Error) -> Error {
        if e.kind() != io::ErrorKind::NotFound {
            return io_err(path, e);
        }
        let mut p = self.root.clone();
        for c in path.components() {
            p.push(c);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() && std::fs::metadata(&p).is_err() => {
                    let target = std::fs::read_link(&p)
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    return Error::DanglingSymlink {
                        path: path.clone(),
                        target: crate::quote::truncated(&target).into_owned(),
                    };
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Error::NotFound { path: path.clone() }
    }

    /// Why `path` could not be opened beneath `base`: the kernel said the
    /// path crosses out of `base` (or through a magic link), so find where
    /// its symlinks lead.
    fn outside(&self, base: &RelPath, path: &RelPath, e: io::Error) -> Error {
        match std::fs::canonicalize(path.to_path(&self.root)) {
            Ok(real) => Error::SymlinkOutside {
                path: path.clone(),
                base: base.clone(),
                target: self.show_real(&real),
            },
            Err(e2) if e2.kind() == io::ErrorKind::NotFound => self.missing_or_io(path, e2),
            Err(_) => io_err(path, e),
        }
    }

    /// Open `path` for reading, refusing it unless its real path lies in or
    /// below `base`'s real path and it is a regular file.
    fn open_beneath_checked(
        &self,
        base: &RelPath,
        path: &RelPath,
    ) -> Result<(std::fs::File, std::fs::Metadata), Error> {
        check_beneath(base, path)?;
        let file = match self.dir.open_file_beneath(base, path) {
            Beneath::Opened(file) => file,
            Beneath::Refused(e) => {
                return Err(match e.raw_os_error() {
                    Some(code) if code == EXDEV || code == ELOOP => self.outside(base, path, e),
                    Some(code) if code == ENOTDIR => Error::WrongKind {
                        path: path.clone(),
                        reason: "not a directory",
                    },
                    _ => self.missing_or_io(path, e),
                });
            }
            Beneath::Unsupported => {
                // The path-based check: both real paths, then containment.
                let real = self.resolve(path)?;
                let real_base = self.resolve(base)?;
                if !real.starts_with(&real_base) {
                    return Err(Error::SymlinkOutside {
                        path: path.clone(),
                        base: base.clone(),
                        target: self.show_real(&real),
                    });
                }
                open_nonblocking(&real).map_err(|e| self.missing_or_io(path, e))?
            }
        };
        let meta = file.metadata().map_err(|e| io_err(path, e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            return Err(Error::WrongKind {
                path: path.clone(),
                reason: "is a directory",
            });
        }
        if !ft.is_file() {
            return Err(Error::NotRegular {
                path: path.clone(),
                what: special_kind(&ft),
            });
        }
        Ok((file, meta))
    }
}

fn io_err(path: &RelPath, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        Error::NotFound { path: path.clone() }
    } else {
        Error::Io {
            path: path.clone(),
            source: Arc::new(e),
        }
    }
}

// errno values (the same on every Linux architecture).
const ELOOP: i32 = 40;
const EXDEV: i32 = 18;
const ENOTDIR: i32 = 20;

/// Open for reading without blocking on a FIFO (its type is checked next).
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    o.open(path)
}

/// What a file that is neither a regular file nor a directory is.
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    let _ = ft;
    "a special file"
}

/// The answer of [`RootDir::open_file_beneath`].
enum Beneath {
    Opened(std::fs::File),
    /// The kernel refused (the error says why).
    Refused(io::Error),
    /// No `openat2` here: decide with path checks.
    Unsupported,
}

impl RootDir {
    /// The entries of directory `dir` opened with the kernel resolving it
    /// beneath the root (symlinks followed while they stay inside), as
    /// (name, kind) pairs, unsorted; sockets, FIFOs, devices and names that
    /// are not UTF-8 left out. `None` on any refusal or error, and where
    /// `openat2` is missing: the caller then takes the path-based way,
    /// which also words the errors.
    fn list_beneath(&self, dir: &RelPath) -> Option<Vec<(String, EntryKind)>> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
            let root = self.fd.as_ref()?;
            let path = if dir.is_root() { "." } else { dir.as_str() };
            let fd = rustix::fs::openat2(
                &**root,
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
            )
            .ok()?;
            let mut d = rustix::fs::Dir::read_from(&fd).ok()?;
            let mut out = Vec::new();
            while let Some(entry) = d.read() {
                let entry = entry.ok()?;
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let Ok(name) = std::str::from_utf8(name) else {
                    continue; // not addressable by RelPath
                };
                let ft = match entry.file_type() {
                    FileType::Unknown => rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW)
                        .ok()
                        .map(|st| FileType::from_raw_mode(st.st_mode))?,
                    ft => ft,
                };
                let kind = match ft {
                    FileType::Symlink => EntryKind::Symlink,
                    FileType::Directory => EntryKind::Dir,
                    FileType::RegularFile => EntryKind::File,
                    _ => continue, // sockets, fifos, devices
                };
                out.push((name.to_owned(), kind));
            }
            Some(out)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            None
        }
    }

    /// Open `path` for reading (non-blocking, so a FIFO cannot hang) with
    /// the kernel resolving it beneath `base`, which is itself resolved
    /// beneath the root: symlinks are followed while they stay inside.
    fn open_file_beneath(&self, base: &RelPath, path: &RelPath) -> Beneath {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags, ResolveFlags};
            let Some(dir) = self.fd.as_ref() else {
                return Beneath::Unsupported;
            };
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            let unsupported = |e: rustix::io::Errno| {
                e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::PERM
                    || e == rustix::io::Errno::INVAL
            };
            let base_fd;
            let from: &rustix::fd::OwnedFd = if base.is_root() {
                dir
            } else {
                match rustix::fs::openat2(
                    &**dir,
                    base.as_str(),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                    resolve,
                ) {
                    Ok(fd) => {
                        base_fd = fd;
                        &base_fd
                    }
                    Err(e) if unsupported(e) => return Beneath::Unsupported,
                    Err(e) => return Beneath::Refused(e.into()),
                }
            };
            let rest = path.as_str()[base.as_str().len()..].trim_start_matches('/');
            let rest = if rest.is_empty() { "." } else { rest };
            match rustix::fs::openat2(
                from,
                rest,
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
                resolve,
            ) {
                Ok(fd) => Beneath::Opened(std::fs::File::from(fd)),
                Err(e) if unsupported(e) => Beneath::Unsupported,
                Err(e) => Beneath::Refused(e.into()),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (base, path);
            Beneath::Unsupported
        }
    }
}

impl FileTree for OsTree {
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, Error> {
        self.read_beneath(&RelPath::root(), path)
    }

    fn real_path(&self, path: &RelPath) -> Result<RelPath, Error> {
        let real = self.resolve(path)?;
        let rel = real.strip_prefix(&self.root).unwrap_or(&real);
        match rel.to_str() {
            Some(text) => RelPath::new(text),
            None => Err(Error::InvalidPath {
                path: rel.to_string_lossy().into_owned(),
                reason: "the real path is not UTF-8",
            }),
        }
    }

    fn read_beneath(&self, base: &RelPath, path: &RelPath) -> Result<Vec<u8>, Error> {
        let (file, meta) = self.open_beneath_checked(base, path)?;
        let size = meta.len();
        let too_large = |size| Error::TooLarge {
            path: path.clone(),
            size,
            limit: self.max_file_size,
        };
        if size > self.max_file_size {
            return Err(too_large(size));
        }
        // The file may grow while it is read: never take more than the limit.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        io::Read::read_to_end(
            &mut io::Read::take(file, self.max_file_size + 1),
            &mut bytes,
        )
        .map_err(|e| io_err(path, e))?;
        if bytes.len() as u64 > self.max_file_size {
            return Err(too_large(bytes.len() as u64));
        }
        Ok(bytes)
    }

    fn read_beneath_shared(&self, base: &RelPath, path: &RelPath) -> Result<Arc<[u8]>, Error> {
        let (mut file, meta) = self.open_beneath_checked(base, path)?;
        let size = meta.len();
        if size > self.max_file_size {
            return Err(Error::TooLarge {
                path: path.clone(),
                size,
                limit: self.max_file_size,
            });
        }
        // One zeroed allocation of the size the file has, read into.
        let mut shared: Arc<[u8]> =
            std::iter::repeat_n(0u8, usize::try_from(size).unwrap_or(0)).collect();
        let Some(buf) = Arc::get_mut(&mut shared) else {
            return self.read_beneath(base, path).map(Arc::from);
        };
        let mut filled = 0;
        while filled < buf.len() {
            match io::Read::read(&mut file, &mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(path, e)),
            }
        }
        if filled < buf.len() {
            // The file shrank while it was read.
            return Ok(Arc::from(&buf[..filled]));
        }
        let mut more = [0u8; 1];
        loop {
            match io::Read::read(&mut file, &mut more) {
                Ok(0) => return Ok(shared),
                // The file grew: read it the general way.
                Ok(_) => return self.read_beneath(base, path).map(Arc::from),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(path, e)),
            }
        }
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, Error> {
        if let Some(entries) = self.dir.list_beneath(dir) {
            let mut out = Vec::with_capacity(entries.len());
            for (name, kind) in entries {
                out.push(DirEntry {
                    path: dir.join(&name)?,
                    kind,
                });
            }
            out.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(out);
        }
        let real = self.resolve(dir)?;
        let rd = std::fs::read_dir(&real).map_err(|e| {
            if e.kind() == io::ErrorKind::NotADirectory {
                Error::WrongKind {
                    path: dir.clone(),
                    reason: "not a directory",
                }
            } else {
                io_err(dir, e)
            }
        })?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| io_err(dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // names that are not UTF-8 cannot be addressed by RelPath
            };
            let ft = entry.file_type().map_err(|e| io_err(dir, e))?;
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                continue; // sockets, fifos, devices
            };
            out.push(DirEntry {
                path: dir.join(&name)?,
                kind,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, Error> {
        let p = path.to_path(&self.root);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => Ok(Some(EntryKind::Symlink)),
            Ok(m) if m.is_dir() => Ok(Some(EntryKind::Dir)),
            Ok(_) => Ok(Some(EntryKind::File)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relpath_rules() {
        assert_eq!(RelPath::new("a/./b//c").unwrap().as_str(), "a/b/c");
        assert_eq!(RelPath::new("a/b/../c").unwrap().as_str(), "a/c");
        assert_eq!(
            RelPath::new("../x").unwrap_err().to_string(),
            "path \"../x\" escapes the root"
        );
        assert_eq!(
            RelPath::new("/etc/passwd").unwrap_err().to_string(),
            "invalid path \"/etc/passwd\": absolute paths are not allowed"
        );
        let base = RelPath::new("apps/base").unwrap();
        assert_eq!(base.join("../dev").unwrap().as_str(), "apps/dev");
        assert_eq!(
            base.join("../../../x").unwrap_err().to_string(),
            "path \"apps/base/../../../x\" escapes the root"
        );
        assert_eq!(base.parent().as_str(), "apps");
        assert_eq!(base.file_name(), "base");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn root_dir_opens_only_beneath() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        std::fs::write(tmp.path().join("d/f.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("d/f.yaml", tmp.path().join("in")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), tmp.path().join("out")).unwrap();
        std::os::unix::fs::symlink("../../", tmp.path().join("d/up")).unwrap();
        let dir = RootDir::open(tmp.path());
        let rel = |s: &str| RelPath::new(s).unwrap();
        // A kernel without openat2 (or a sandbox that forbids it) declines
        // everything; then there is nothing more to check here.
        if dir.open_beneath(&rel("d/f.yaml"), true, false).is_none() {
            return;
        }
        assert!(dir.open_beneath(&rel("in"), true, false).is_some());
        assert!(dir.open_beneath(&rel("in"), false, true).is_none());
        assert!(dir.open_beneath(&rel("out"), true, false).is_none());
        assert!(dir.open_beneath(&rel("d/up/secret"), true, false).is_none());
        assert!(dir.open_beneath(&rel("d/f.yaml"), false, true).is_some());
        // Through OsTree: inside links read, escaping ones are refused.
        let tree = OsTree::new(tmp.path()).unwrap();
        assert_eq!(tree.read(&rel("in")).unwrap(), b"a: 1\n");
        assert!(matches!(
            tree.read(&rel("out")),
            Err(Error::SymlinkOutside { .. })
        ));
    }

    #[cfg(unix)]
    /// The shared read gives the bytes and the refusals of the plain one.
    #[test]
    fn shared_reads_are_plain_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(dir.path().join("app/a.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("app/empty"), "").unwrap();
        std::fs::write(dir.path().join("app/big"), vec![b'x'; 100]).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink("../secret", dir.path().join("app/out")).unwrap();
        let rel = |s: &str| RelPath::new(s).unwrap();
        let app = rel("app");
        let t = OsTree::new(dir.path()).unwrap().with_max_file_size(99);
        for f in ["app/a.yaml", "app/empty"] {
            assert_eq!(
                &*t.read_beneath_shared(&app, &rel(f)).unwrap(),
                &t.read_beneath(&app, &rel(f)).unwrap()[..]
            );
        }
        for f in ["app/out", "app/big", "app/missing", "secret"] {
            assert_eq!(
                t.read_beneath_shared(&app, &rel(f))
                    .unwrap_err()
                    .to_string(),
                t.read_beneath(&app, &rel(f)).unwrap_err().to_string(),
                "{f}"
            );
        }
        // Trees without their own shared read copy the plain one.
        let mut m = MemTree::new();
        m.insert("app/a.yaml", "a").unwrap();
        assert_eq!(
            &*m.read_beneath_shared(&app, &rel("app/a.yaml")).unwrap(),
            b"a"
        );
    }

    #[test]
    fn read_beneath_compares_real_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/sub")).unwrap();
        std::fs::create_dir(dir.path().join("other")).unwrap();
        std::fs::write(dir.path().join("app/sub/a.yaml"), "a").unwrap();
        std::fs::write(dir.path().join("other/b.yaml"), "b").unwrap();
        std::os::unix::fs::symlink("sub", dir.path().join("app/s")).unwrap();
        std::os::unix::fs::symlink("../other", dir.path().join("app/o")).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("app/r")).unwrap();
        let rel = |s: &str| RelPath::new(s).unwrap();
        let app = rel("app");
        for t in [
            OsTree::new(dir.path()).unwrap(),
            OsTree::new(dir.path()).unwrap().path_checks_only(),
        ] {
            assert_eq!(t.read_beneath(&app, &rel("app/s/a.yaml")).unwrap(), b"a");
            // In the tree, but outside `app` once `o` is resolved.
            assert_eq!(
                t.read_beneath(&app, &rel("app/o/b.yaml"))
                    .unwrap_err()
                    .to_string(),
                "app/o/b.yaml: refused: symlinks resolve it to other/b.yaml, outside app"
            );
            assert_eq!(t.read(&rel("app/o/b.yaml")).unwrap(), b"b");
            assert!(matches!(
                t.read_beneath(&app, &rel("app/r/etc/passwd")),
                Err(Error::SymlinkOutside { .. })
            ));
            assert!(matches!(
                t.read_beneath(&app, &rel("other/b.yaml")),
                Err(Error::Escape { .. })
            ));
            assert_eq!(
                t.real_path(&rel("app/s/a.yaml")).unwrap(),
                rel("app/sub/a.yaml")
            );
            assert!(matches!(
                t.real_path(&rel("app/r/etc")),
                Err(Error::SymlinkOutside { .. })
            ));
            // Special files are refused by type, without blocking.
            let fifo = dir.path().join("app/f.yaml");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                assert_eq!(
                    t.read(&rel("app/f.yaml")).unwrap_err().to_string(),
                    "app/f.yaml: not a regular file (a FIFO); refused"
                );
            }
            std::fs::remove_file(&fifo).ok();
        }
    }

    #[test]
    fn mem_tree() {
        let mut t = MemTree::new();
        t.insert("a/b.yaml", "1").unwrap();
        t.insert("a/c/d.yaml", "2").unwrap();
        t.insert("a.txt", "3").unwrap();
        let l = t.list(&RelPath::root()).unwrap();
        assert_eq!(
            l.iter()
                .map(|e| (e.path.as_str(), e.kind))
                .collect::<Vec<_>>(),
            [("a", EntryKind::Dir), ("a.txt", EntryKind::File)]
        );
        assert_eq!(
            t.kind(&RelPath::new("a/c").unwrap()).unwrap(),
            Some(EntryKind::Dir)
        );
        assert_eq!(
            t.read(&RelPath::new("a").unwrap()).unwrap_err().to_string(),
            "a: is a directory"
        );
        assert_eq!(
            t.read(&RelPath::new("zz").unwrap())
                .unwrap_err()
                .to_string(),
            "zz: no such file or directory"
        );
        let all = walk_files(&t, &RelPath::root()).unwrap();
        assert_eq!(
            all.iter().map(RelPath::as_str).collect::<Vec<_>>(),
            ["a.txt", "a/b.yaml", "a/c/d.yaml"]
        );
    }

    #[test]
    fn os_tree_confinement() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak")).unwrap();
        std::os::unix::fs::symlink("sub/f.yaml", dir.path().join("inside")).unwrap();
        let t = OsTree::new(dir.path()).unwrap();
        assert_eq!(t.read(&RelPath::new("sub/f.yaml").unwrap()).unwrap(), b"x");
        assert_eq!(t.read(&RelPath::new("inside").unwrap()).unwrap(), b"x");
        assert_eq!(
            t.read(&RelPath::new("leak").unwrap())
                .unwrap_err()
                .to_string(),
            format!(
                "leak: refused: symlinks resolve it to {}, outside .",
                outside
                    .path()
                    .canonicalize()
                    .unwrap()
                    .join("secret")
                    .display()
            )
        );
        let kinds: Vec<_> = t
            .list(&RelPath::root())
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [EntryKind::Symlink, EntryKind::Symlink, EntryKind::Dir]
        );
        assert_eq!(walk_files(&t, &RelPath::root()).unwrap().len(), 1);
    }
}
