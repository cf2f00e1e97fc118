//! Reproducible artifacts: deterministic tar.gz of a directory, digest
//! verification and safe extraction.
//!
//! [`write`](fn@write) packs a directory the way source-controller does: a depth-first
//! walk with the entries of each directory in byte order of their names,
//! directory entries included (the root as `.`), uid/gid 0, no user or group
//! names, zero modification times, modes normalised to `0750` for
//! directories and `0600` / `0700` (any execute bit) for files; symlinks and
//! special files are left out, and so is everything a [`Filter`] ignores.
//! Files above [`Options::max_file_size`] are an error. The gzip stream has a
//! fixed header (no name, mtime 0, OS "unknown") and a fixed compression
//! level, so the same tree gives byte-identical artifacts on any machine,
//! whatever the umask, owner or timestamps of the checkout.
//!
//! [`extract`] unpacks an artifact into a new directory and refuses anything
//! that could escape it or exhaust the disk: absolute paths, `..`,
//! symlinks, hard links, devices, duplicate entries, and archives that
//! expand beyond [`Limits`]. It unpacks into a staging directory beside the
//! destination and renames it into place only on success, so a refused
//! archive leaves no partial tree behind.
//!
//! ```no_run
//! use gitops_source::archive::{self, Limits, Options};
//!
//! let out = std::fs::File::create("/tmp/artifact.tar.gz")?;
//! let summary = archive::write(std::path::Path::new("./checkout"), &Options::default(), out)?;
//! println!("{} ({} bytes, {} files)", summary.digest.as_str(), summary.size, summary.files);
//!
//! let bytes = std::fs::read("/tmp/artifact.tar.gz")?;
//! archive::verify(&bytes[..], &summary.digest)?;
//! archive::extract(&bytes[..], std::path::Path::new("/tmp/unpacked"), &Limits::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use gitops_core::artifact::Content;
use gitops_core::fs::RelPath;
use gitops_core::{Artifact, Digest, Revision};
use sha2::{Digest as _, Sha256};

use crate::sourceignore::{self, Filter};

/// Default largest file accepted into (or out of) an artifact: 64 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;

/// Mode of directories in an artifact.
pub const DIR_MODE: u32 = 0o750;
/// Mode of files in an artifact.
pub const FILE_MODE: u32 = 0o600;
/// Mode of files with any execute bit in an artifact.
pub const EXEC_FILE_MODE: u32 = 0o700;

/// Why packing, verifying or unpacking an artifact failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the tree or writing the output failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The ignore rules could not be loaded.
    #[error("cannot load ignore rules")]
    Ignore(#[from] sourceignore::Error),
    /// A file is larger than the limit; raise the limit or ignore the file.
    #[error("{path}: file is {size} bytes, above the limit of {limit} bytes")]
    FileTooLarge {
        /// Path inside the artifact.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The artifact's digest is not the expected one.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest asked for.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// An archive entry would land outside the destination.
    #[error("unsafe path {path:?} in archive: {reason}")]
    UnsafePath {
        /// The entry's path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An archive entry is neither a regular file nor a directory.
    #[error("unsupported entry {path:?} in archive: {kind}")]
    UnsupportedEntry {
        /// The entry's path.
        path: String,
        /// Its type (symlink, hard link, device…).
        kind: &'static str,
    },
    /// The same path appears twice.
    #[error("duplicate entry {path:?} in archive")]
    DuplicateEntry {
        /// The entry's path.
        path: String,
    },
    /// The archive expands beyond the total size limit (a decompression bomb
    /// or simply too big).
    #[error("archive expands beyond {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The archive has more entries than allowed.
    #[error("archive has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a gzip-compressed tar stream.
    #[error("not a valid tar.gz artifact")]
    Corrupt(#[source] io::Error),
    /// The destination of an extraction exists and is not an empty directory.
    #[error("{path}: destination must be a new or empty directory")]
    Destination {
        /// The destination.
        path: PathBuf,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How to pack a directory.
#[derive(Debug, Clone)]
pub struct Options {
    /// Extra ignore patterns (a GitRepository's `spec.ignore`).
    pub ignore: Option<String>,
    /// Read `.sourceignore` files of the tree (default true).
    pub sourceignore_files: bool,
    /// Files larger than this are an error ([`DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ignore: None,
            sourceignore_files: true,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// What [`write`](fn@write) produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `sha256:<hex>` of the tar.gz bytes.
    pub digest: Digest,
    /// Number of tar.gz bytes.
    pub size: u64,
    /// Regular files packed.
    pub files: u64,
    /// Directory entries packed (the root included).
    pub dirs: u64,
}

/// Forwards writes and hashes/counts them.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn finish_digest(hasher: Sha256) -> Digest {
    let bytes: [u8; 32] = hasher.finalize().into();
    Digest::from_sha256_bytes(&bytes)
}

/// Pack `dir` into `out` as a deterministic tar.gz.
pub fn write(dir: &Path, opts: &Options, out: impl Write) -> Result<Summary, Error> {
    let filter = if opts.sourceignore_files {
        Filter::load(dir, opts.ignore.as_deref())?
    } else {
        Filter::from_patterns(opts.ignore.as_deref())?
    };
    write_filtered(dir, &filter, opts.max_file_size, out)
}

/// Pack `dir` with an explicit [`Filter`].
pub fn write_filtered(
    dir: &Path,
    filter: &Filter,
    max_file_size: u64,
    out: impl Write,
) -> Result<Summary, Error> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    if !meta.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let hashing = Hashing {
        inner: out,
        hasher: Sha256::new(),
        count: 0,
    };
    // GzEncoder::new writes a fixed header: no file name, mtime 0, OS 255.
    let gz = GzEncoder::new(hashing, Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut walk = Walk {
        filter,
        max_file_size,
        files: 0,
        dirs: 0,
    };
    walk.dir_entry(&mut tar, dir, ".")?;
    walk.visit(&mut tar, dir, "")?;
    let out_err = |source| Error::Io {
        path: PathBuf::from("<artifact output>"),
        source,
    };
    let gz = tar.into_inner().map_err(out_err)?;
    let mut hashing = gz.finish().map_err(out_err)?;
    hashing.flush().map_err(out_err)?;
    Ok(Summary {
        digest: finish_digest(hashing.hasher),
        size: hashing.count,
        files: walk.files,
        dirs: walk.dirs,
    })
}

struct Walk<'a> {
    filter: &'a Filter,
    max_file_size: u64,
    files: u64,
    dirs: u64,
}

fn base_header(mode: u32, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

impl Walk<'_> {
    fn dir_entry<W: Write>(
        &mut self,
        tar: &mut tar::Builder<W>,
        abs: &Path,
        name: &str,
    ) -> Result<(), Error> {
        let mut h = base_header(DIR_MODE, tar::EntryType::Directory, 0);
        tar.append_data(&mut h, name, io::empty())
            .map_err(io_err(abs))?;
        self.dirs += 1;
        Ok(())
    }

    fn visit<W: Write>(
        &mut self,
        tar: &mut tar::Builder<W>,
        abs: &Path,
        rel: &str,
    ) -> Result<(), Error> {
        let mut entries: Vec<(String, PathBuf, fs::FileType)> = Vec::new();
        for e in fs::read_dir(abs).map_err(io_err(abs))? {
            let e = e.map_err(io_err(abs))?;
            let ft = e.file_type().map_err(io_err(&e.path()))?;
            let Ok(name) = e.file_name().into_string() else {
                // Names that are not UTF-8 cannot be matched by ignore rules
                // nor addressed as RelPath; they are left out like symlinks.
                continue;
            };
            entries.push((name, e.path(), ft));
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (name, path, ft) in entries {
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if ft.is_dir() {
                if self.filter.is_ignored(&child, true) {
                    continue;
                }
                self.dir_entry(tar, &path, &child)?;
                self.visit(tar, &path, &child)?;
            } else if ft.is_file() {
                if self.filter.is_ignored(&child, false) {
                    continue;
                }
                self.file_entry(tar, &path, &child)?;
            }
            // Symlinks, sockets, fifos and devices are never packed.
        }
        Ok(())
    }

    fn file_entry<W: Write>(
        &mut self,
        tar: &mut tar::Builder<W>,
        abs: &Path,
        rel: &str,
    ) -> Result<(), Error> {
        let f = File::open(abs).map_err(io_err(abs))?;
        let meta = f.metadata().map_err(io_err(abs))?;
        let size = meta.len();
        if size > self.max_file_size {
            return Err(Error::FileTooLarge {
                path: rel.to_owned(),
                size,
                limit: self.max_file_size,
            });
        }
        let mode = if meta.mode() & 0o111 != 0 {
            EXEC_FILE_MODE
        } else {
            FILE_MODE
        };
        let mut h = base_header(mode, tar::EntryType::Regular, size);
        tar.append_data(&mut h, rel, f.take(size))
            .map_err(io_err(abs))?;
        self.files += 1;
        Ok(())
    }
}

/// Pack `dir` into the file `dest`, atomically (temp file in the same
/// directory, then rename).
pub fn write_file(dir: &Path, opts: &Options, dest: &Path) -> Result<Summary, Error> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(parent).map_err(io_err(parent))?;
    let summary = write(dir, opts, BufWriter::new(tmp.as_file()))?;
    tmp.as_file().sync_all().map_err(io_err(dest))?;
    tmp.persist(dest).map_err(|e| Error::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    Ok(summary)
}

/// Pack `dir` in memory into an [`Artifact`] of `revision`.
pub fn artifact(dir: &Path, opts: &Options, revision: Revision) -> Result<Artifact, Error> {
    let mut bytes = Vec::new();
    let summary = write(dir, opts, &mut bytes)?;
    Ok(Artifact::new(
        revision,
        summary.digest,
        Content::Bytes(bytes),
    ))
}

/// `sha256:<hex>` of everything `r` yields.
pub fn digest_of(mut r: impl Read) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(finish_digest(hasher))
}

/// Check that the bytes of `r` have the digest `expected`.
pub fn verify(r: impl Read, expected: &Digest) -> Result<(), Error> {
    let actual = digest_of(r).map_err(Error::Corrupt)?;
    if &actual == expected {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            expected: expected.as_str().to_owned(),
            actual: actual.as_str().to_owned(),
        })
    }
}

/// Bounds for [`extract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest total of decompressed bytes (tar headers included).
    pub max_total: u64,
    /// Largest single file.
    pub max_file: u64,
    /// Most entries.
    pub max_entries: u64,
}

impl Default for Limits {
    /// 1 GiB in total, [`DEFAULT_MAX_FILE_SIZE`] per file, 500,000 entries.
    fn default() -> Limits {
        Limits {
            max_total: 1 << 30,
            max_file: DEFAULT_MAX_FILE_SIZE,
            max_entries: 500_000,
        }
    }
}

/// What [`extract`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Reads at most `limit` bytes, then fails (instead of ending quietly).
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Probe one byte: a stream that ends exactly at the limit is fine.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(io::Error::other("archive exceeds the size limit"))
                }
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Validate an entry path: relative, no `..`, no root; `.`-only is the root.
fn entry_rel_path(raw: &Path) -> Result<Option<RelPath>, Error> {
    let shown = raw.to_string_lossy().into_owned();
    let unsafe_path = |reason| Error::UnsafePath {
        path: shown.clone(),
        reason,
    };
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => {
                let s = p.to_str().ok_or_else(|| unsafe_path("name is not UTF-8"))?;
                parts.push(s);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_path("contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_path("absolute path"));
            }
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    RelPath::new(&parts.join("/"))
        .map(Some)
        .map_err(|_| unsafe_path("not a valid relative path"))
}

/// Unpack the tar.gz `r` into `dest` (created when missing; it must be
/// empty otherwise). Only regular files and directories are accepted.
///
/// The archive is unpacked into a staging directory beside `dest` (named
/// `<dest>.tmp-XXXXXX`) that is renamed to `dest` only once every entry
/// has been written: when the archive is refused or unpacking fails, `dest`
/// is left as it was (missing, or empty) and the staging directory is
/// removed.
pub fn extract(r: impl Read, dest: &Path, limits: &Limits) -> Result<Extracted, Error> {
    let staging = Staging::new(dest)?;
    let out = extract_into(r, staging.path(), limits)?;
    staging.commit()?;
    Ok(out)
}

/// Unpack the tar.gz `r` into the existing, empty directory `dir`, with no
/// staging: on error, `dir` holds whatever was written before it.
pub(crate) fn extract_into(r: impl Read, dir: &Path, limits: &Limits) -> Result<Extracted, Error> {
    let mut bounded = Bounded {
        inner: GzDecoder::new(r),
        left: limits.max_total,
        limit: limits.max_total,
        exceeded: false,
    };
    let result = extract_entries(&mut bounded, dir, limits);
    match result {
        Err(_) if bounded.exceeded => Err(Error::TooLarge {
            limit: bounded.limit,
        }),
        other => other,
    }
}

/// A directory filled beside its destination and moved into place only
/// when complete.
///
/// [`Staging::new`] checks that the destination is a new or empty directory
/// (not a symlink) and creates `<dest>.tmp-XXXXXX` in the same parent, so
/// that [`Staging::commit`] is a single `rename` on one filesystem. Until
/// then the destination is untouched; dropping a `Staging` without
/// committing it (an error, a panic) removes the staging directory.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    dest: PathBuf,
    /// The permissions of an existing (empty) destination, kept on commit.
    existing: Option<fs::Permissions>,
}

impl Staging {
    /// Check `dest` and create the staging directory beside it (creating
    /// the missing parents of `dest`).
    pub(crate) fn new(dest: &Path) -> Result<Staging, Error> {
        let refused = || Error::Destination {
            path: dest.to_path_buf(),
        };
        let existing = match fs::symlink_metadata(dest) {
            Ok(m) if m.is_dir() => {
                let mut entries = fs::read_dir(dest).map_err(io_err(dest))?;
                if entries.next().is_some() {
                    return Err(refused());
                }
                Some(m.permissions())
            }
            Ok(_) => return Err(refused()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Err(refused()),
            Err(source) => {
                return Err(Error::Io {
                    path: dest.to_path_buf(),
                    source,
                });
            }
        };
        // `dest` may end in `.` or `..`; its real name is needed beside it.
        let dest = match dest.file_name() {
            Some(_) => dest.to_path_buf(),
            None if existing.is_some() => fs::canonicalize(dest).map_err(io_err(dest))?,
            None => return Err(refused()),
        };
        let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
            return Err(refused());
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let mut prefix = name.to_os_string();
        prefix.push(".tmp-");
        // 0o777 before the umask: what `create_dir` gives a new destination.
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .tempdir_in(parent)
            .map_err(io_err(parent))?;
        Ok(Staging {
            dir,
            dest,
            existing,
        })
    }

    /// The staging directory to fill.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Move the staging directory to the destination (replacing it when it
    /// is an empty directory). A destination that was created or filled in
    /// the meantime is refused, and the staging directory removed.
    pub(crate) fn commit(self) -> Result<(), Error> {
        if let Some(perms) = &self.existing {
            fs::set_permissions(self.dir.path(), perms.clone()).map_err(io_err(self.dir.path()))?;
        }
        match fs::rename(self.dir.path(), &self.dest) {
            Ok(()) => {
                // Renamed away: nothing left to clean up.
                let _ = self.dir.keep();
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::DirectoryNotEmpty
                        | io::ErrorKind::AlreadyExists
                        | io::ErrorKind::NotADirectory
                ) =>
            {
                Err(Error::Destination { path: self.dest })
            }
            Err(source) => Err(Error::Io {
                path: self.dest,
                source,
            }),
        }
    }
}

fn extract_entries<R: Read>(r: &mut R, dest: &Path, limits: &Limits) -> Result<Extracted, Error> {
    let mut archive = tar::Archive::new(r);
    let mut out = Extracted::default();
    let mut seen = std::collections::HashSet::new();
    let mut count = 0u64;
    for entry in archive.entries().map_err(Error::Corrupt)? {
        let mut entry = entry.map_err(Error::Corrupt)?;
        count += 1;
        if count > limits.max_entries {
            return Err(Error::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let raw = entry.path().map_err(Error::Corrupt)?.into_owned();
        let shown = raw.to_string_lossy().into_owned();
        let kind = entry.header().entry_type();
        let unsupported = |kind| Error::UnsupportedEntry {
            path: shown.clone(),
            kind,
        };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => return Err(unsupported("symlink")),
            tar::EntryType::Link => return Err(unsupported("hard link")),
            tar::EntryType::Char | tar::EntryType::Block => return Err(unsupported("device")),
            tar::EntryType::Fifo => return Err(unsupported("fifo")),
            _ => return Err(unsupported("unknown entry type")),
        }
        let Some(rel) = entry_rel_path(&raw)? else {
            if kind == tar::EntryType::Directory {
                continue; // the root itself
            }
            return Err(Error::UnsafePath {
                path: shown,
                reason: "a file needs a name",
            });
        };
        if !seen.insert(rel.clone()) {
            return Err(Error::DuplicateEntry { path: shown });
        }
        let target = rel.to_path(dest);
        if kind == tar::EntryType::Directory {
            fs::create_dir_all(&target).map_err(io_err(&target))?;
            out.dirs += 1;
            continue;
        }
        let size = entry.header().size().map_err(Error::Corrupt)?;
        if size > limits.max_file {
            return Err(Error::FileTooLarge {
                path: rel.as_str().to_owned(),
                size,
                limit: limits.max_file,
            });
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let exec = entry.header().mode().map_err(Error::Corrupt)? & 0o111 != 0;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if exec { EXEC_FILE_MODE } else { FILE_MODE })
            .open(&target)
            .map_err(io_err(&target))?;
        let written = io::copy(&mut (&mut entry).take(limits.max_file), &mut f).map_err(|e| {
            if e.kind() == io::ErrorKind::Other {
                Error::Corrupt(e)
            } else {
                Error::Io {
                    path: target.clone(),
                    source: e,
                }
            }
        })?;
        out.files += 1;
        out.bytes += written;
    }
    Ok(out)
}

/// Copy the subtree `from_path` of the artifact `r` into `dest_root/to_path`
/// (what a GitRepository `include` does before packing). Existing files are
/// replaced; a symlink on the way to `to_path` is an error.
pub fn include(
    r: impl Read,
    from_path: &RelPath,
    dest_root: &Path,
    to_path: &RelPath,
    limits: &Limits,
) -> Result<Extracted, Error> {
    let staging = tempfile::tempdir().map_err(io_err(dest_root))?;
    let unpacked = staging.path().join("a");
    extract(r, &unpacked, limits)?;
    let src = from_path.to_path(&unpacked);
    let mut dst = dest_root.to_path_buf();
    for c in to_path.components() {
        dst.push(c);
        match fs::symlink_metadata(&dst) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::UnsafePath {
                    path: to_path.as_str().to_owned(),
                    reason: "include target goes through a symlink",
                });
            }
            _ => {}
        }
    }
    let mut out = Extracted::default();
    match fs::symlink_metadata(&src) {
        Ok(m) if m.is_dir() => copy_tree(&src, &dst, &mut out)?,
        Ok(_) => {
            if let Some(p) = dst.parent() {
                fs::create_dir_all(p).map_err(io_err(p))?;
            }
            replace_file(&src, &dst, &mut out)?;
        }
        Err(source) => {
            return Err(Error::Io {
                path: PathBuf::from(from_path.to_string()),
                source,
            });
        }
    }
    Ok(out)
}

fn replace_file(src: &Path, dst: &Path, out: &mut Extracted) -> Result<(), Error> {
    if let Ok(m) = fs::symlink_metadata(dst) {
        if m.is_dir() && !m.file_type().is_symlink() {
            fs::remove_dir_all(dst).map_err(io_err(dst))?;
        } else {
            fs::remove_file(dst).map_err(io_err(dst))?;
        }
    }
    out.bytes += fs::copy(src, dst).map_err(io_err(dst))?;
    out.files += 1;
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path, out: &mut Extracted) -> Result<(), Error> {
    match fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            fs::remove_file(dst).map_err(io_err(dst))?;
            fs::create_dir_all(dst).map_err(io_err(dst))?;
            out.dirs += 1;
        }
        Err(_) => {
            fs::create_dir_all(dst).map_err(io_err(dst))?;
            out.dirs += 1;
        }
    }
    for e in fs::read_dir(src).map_err(io_err(src))? {
        let e = e.map_err(io_err(src))?;
        let ft = e.file_type().map_err(io_err(&e.path()))?;
        let target = dst.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &target, out)?;
        } else if ft.is_file() {
            replace_file(&e.path(), &target, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("a/b")).unwrap();
        fs::write(d.path().join("a/b/c.yaml"), "c").unwrap();
        fs::write(d.path().join("a.txt"), "t").unwrap();
        fs::write(d.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            d.path().join("run.sh"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        fs::write(d.path().join("logo.png"), "png").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("leak")).unwrap();
        d
    }

    fn listing(bytes: &[u8]) -> Vec<(String, u32, u64, u64, u64)> {
        let mut a = tar::Archive::new(GzDecoder::new(bytes));
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn walk_order_modes_and_filtering() {
        let d = tree();
        let mut bytes = Vec::new();
        let s = write(d.path(), &Options::default(), &mut bytes).unwrap();
        assert_eq!(s.size, bytes.len() as u64);
        assert_eq!((s.files, s.dirs), (3, 3));
        let names: Vec<_> = listing(&bytes)
            .into_iter()
            .map(|(n, m, u, g, t)| {
                assert_eq!((u, g, t), (0, 0, 0));
                (n, m)
            })
            .collect();
        assert_eq!(
            names,
            [
                (".".to_owned(), 0o750),
                ("a".to_owned(), 0o750),
                ("a/b".to_owned(), 0o750),
                ("a/b/c.yaml".to_owned(), 0o600),
                ("a.txt".to_owned(), 0o600),
                ("run.sh".to_owned(), 0o700),
            ]
        );
        verify(&bytes[..], &s.digest).unwrap();
        let other = Digest::from_sha256_bytes(&[0; 32]);
        assert!(matches!(
            verify(&bytes[..], &other),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn size_limit() {
        let d = tree();
        let opts = Options {
            max_file_size: 2,
            ..Options::default()
        };
        let err = write(d.path(), &opts, io::sink()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "run.sh: file is 10 bytes, above the limit of 2 bytes"
        );
    }

    #[test]
    fn round_trip_and_include() {
        let d = tree();
        let mut bytes = Vec::new();
        write(d.path(), &Options::default(), &mut bytes).unwrap();
        let out = tempfile::tempdir().unwrap();
        let x = extract(&bytes[..], &out.path().join("x"), &Limits::default()).unwrap();
        assert_eq!(x.files, 3);
        assert_eq!(fs::read(out.path().join("x/a/b/c.yaml")).unwrap(), b"c");
        let mode = fs::metadata(out.path().join("x/run.sh")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Not empty any more.
        assert!(matches!(
            extract(&bytes[..], &out.path().join("x"), &Limits::default()),
            Err(Error::Destination { .. })
        ));
        let inc = include(
            &bytes[..],
            &RelPath::new("a").unwrap(),
            out.path(),
            &RelPath::new("vendor/a").unwrap(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(inc.files, 1);
        assert_eq!(
            fs::read(out.path().join("vendor/a/b/c.yaml")).unwrap(),
            b"c"
        );
    }
}
