//! A Git revision of a local repository as a [`FileTree`], read lazily:
//! the listing from one `git ls-tree`, file contents from a long-running
//! `git cat-file --batch` as they are asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use gitops_core::fs::{DirEntry, EntryKind, Error, FileTree, RelPath, check_beneath};

/// What a path of the revision is.
#[derive(Debug, Clone)]
enum Entry {
    /// A regular file and its blob id.
    File(String),
    /// A symbolic link (not followed: a revision is read as data).
    Symlink,
}

struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// A revision's tree.
pub struct GitRevTree {
    root: std::path::PathBuf,
    entries: BTreeMap<RelPath, Entry>,
    dirs: BTreeSet<RelPath>,
    cat: Mutex<Option<CatFile>>,
}

fn io_error(path: &RelPath, message: String) -> Error {
    Error::Io {
        path: path.clone(),
        source: Arc::new(std::io::Error::other(message)),
    }
}

impl GitRevTree {
    /// The tree of `rev` in the repository at `root`.
    pub fn open(root: &Path, rev: &str) -> anyhow::Result<GitRevTree> {
        if rev.starts_with('-') {
            bail!("--base {rev:?}: a revision cannot start with '-'");
        }
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["ls-tree", "-r", "-z", "--full-tree", rev])
            .output()
            .context("running git ls-tree (is git installed?)")?;
        if !out.status.success() {
            bail!(
                "git ls-tree {rev} in {}: {}",
                root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut entries = BTreeMap::new();
        let mut dirs = BTreeSet::from([RelPath::root()]);
        for rec in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            // `<mode> <type> <oid>\t<path>`
            let rec = std::str::from_utf8(rec).context("a path of the revision is not UTF-8")?;
            let Some((meta, path)) = rec.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split(' ');
            let (Some(mode), Some(_), Some(oid)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let entry = match mode {
                "100644" | "100755" => Entry::File(oid.to_owned()),
                "120000" => Entry::Symlink,
                // Submodules are other repositories.
                _ => continue,
            };
            let path = RelPath::new(path)?;
            let mut d = path.parent();
            while dirs.insert(d.clone()) && !d.is_root() {
                d = d.parent();
            }
            entries.insert(path, entry);
        }
        Ok(GitRevTree {
            root: root.to_path_buf(),
            entries,
            dirs,
            cat: Mutex::new(None),
        })
    }

    fn blob(&self, path: &RelPath, oid: &str) -> Result<Vec<u8>, Error> {
        let mut cat = self
            .cat
            .lock()
            .map_err(|_| io_error(path, "git cat-file failed earlier".to_owned()))?;
        if cat.is_none() {
            let mut child = Command::new("git")
                .arg("-C")
                .arg(&self.root)
                .args(["cat-file", "--batch"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| io_error(path, format!("running git cat-file: {e}")))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(io_error(path, "git cat-file has no pipes".to_owned()));
            };
            *cat = Some(CatFile {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            });
        }
        let Some(c) = cat.as_mut() else {
            return Err(io_error(path, "git cat-file is not running".to_owned()));
        };
        let fail = |e: std::io::Error| io_error(path, format!("git cat-file: {e}"));
        writeln!(c.stdin, "{oid}").map_err(fail)?;
        c.stdin.flush().map_err(fail)?;
        let mut header = String::new();
        c.stdout.read_line(&mut header).map_err(fail)?;
        // `<oid> blob <size>`
        let size: usize = header
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io_error(
                    path,
                    format!("git cat-file answered {:?}", header.trim_end()),
                )
            })?;
        let mut data = vec![0; size + 1];
        c.stdout.read_exact(&mut data).map_err(fail)?;
        data.truncate(size);
        Ok(data)
    }
}

impl Drop for GitRevTree {
    fn drop(&mut self) {
        if let Some(mut c) = self.cat.get_mut().ok().and_then(Option::take) {
            drop(c.stdin);
            let _ = c.child.wait();
        }
    }
}

impl FileTree for GitRevTree {
    fn read(&self, path: &RelPath) -> Result<Vec<u8>, Error> {
        match self.entries.get(path) {
            Some(Entry::File(oid)) => self.blob(path, oid),
            Some(Entry::Symlink) => Err(Error::NotRegular {
                path: path.clone(),
                what: "a symbolic link in the base revision",
            }),
            None if self.dirs.contains(path) => Err(Error::WrongKind {
                path: path.clone(),
                reason: "is a directory",
            }),
            None => Err(Error::NotFound { path: path.clone() }),
        }
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<DirEntry>, Error> {
        if !self.dirs.contains(dir) {
            return Err(if self.entries.contains_key(dir) {
                Error::WrongKind {
                    path: dir.clone(),
                    reason: "not a directory",
                }
            } else {
                Error::NotFound { path: dir.clone() }
            });
        }
        let prefix = if dir.is_root() {
            String::new()
        } else {
            format!("{}/", dir.as_str())
        };
        let mut out: Vec<DirEntry> = Vec::new();
        // Paths below `dir/` sort before `dir0` ('0' follows '/'); others
        // in between (`dir-x`, `dir.x`) are skipped.
        let end = format!("{}0", dir.as_str());
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (p, e) in self.entries.range(dir.clone()..) {
            let Some(rest) = p.as_str().strip_prefix(&prefix) else {
                if !dir.is_root() && p.as_str() >= end.as_str() {
                    break;
                }
                continue;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((d, _)) => (d, EntryKind::Dir),
                None => match e {
                    Entry::File(_) => (rest, EntryKind::File),
                    Entry::Symlink => (rest, EntryKind::Symlink),
                },
            };
            if seen.insert(name.to_owned()) {
                out.push(DirEntry {
                    path: dir.join(name)?,
                    kind,
                });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn kind(&self, path: &RelPath) -> Result<Option<EntryKind>, Error> {
        Ok(match self.entries.get(path) {
            Some(Entry::File(_)) => Some(EntryKind::File),
            Some(Entry::Symlink) => Some(EntryKind::Symlink),
            None if self.dirs.contains(path) => Some(EntryKind::Dir),
            None => None,
        })
    }

    fn real_path(&self, path: &RelPath) -> Result<RelPath, Error> {
        Ok(path.clone())
    }

    fn read_beneath(&self, base: &RelPath, path: &RelPath) -> Result<Vec<u8>, Error> {
        check_beneath(base, path)?;
        self.read(path)
    }
}
