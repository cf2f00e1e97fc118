//! Atomic writes of setter changes through gitops-core's writer: all or
//! nothing, root-confined, symlinks refused.

use std::fs::Permissions;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gitops_core::fs::atomic::{self as write, FileOps, OsOps, Writer};
use gitops_core::fs::{OsTree, RelPath};
use gitops_setters::apply::{apply_dir, apply_tree};
use tempfile::TempPath;

use crate::{fixture, policies, rel};

/// Real operations that fail the `n`-th call of one kind (calls come from
/// several threads; `n` counts them all).
struct Failing {
    op: &'static str,
    at: usize,
    seen: Arc<AtomicUsize>,
}

impl Failing {
    fn new(op: &'static str, at: usize) -> Failing {
        Failing {
            op,
            at,
            seen: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn tick(&self, op: &str) -> io::Result<()> {
        if op == self.op {
            let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.at {
                return Err(io::Error::other(format!("injected {op} failure")));
            }
        }
        Ok(())
    }
}

impl FileOps for Failing {
    fn stage(&self, dir: &Path, contents: &[u8], p: Permissions) -> io::Result<TempPath> {
        self.tick("stage")?;
        OsOps::default().stage(dir, contents, p)
    }
    fn backup(&self, original: &Path, dir: &Path) -> io::Result<TempPath> {
        self.tick("backup")?;
        OsOps::default().backup(original, dir)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.tick("rename")?;
        OsOps::default().rename(from, to)
    }
    fn sync(&self, dirs: &[&Path], files: &[&Path]) -> io::Result<()> {
        self.tick("sync")?;
        OsOps::default().sync(dirs, files)
    }
}

/// Every file (path, bytes) under `dir`, sorted, hidden files included.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("flux-setters/original");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

fn fixture_policies() -> gitops_setters::Policies {
    policies(&[
        (
            "automation:worker",
            "registry.example.com/team/worker:1.5.2",
        ),
        ("automation:podinfo", "ghcr.io/stefanprodan/podinfo:6.10"),
        ("automation:api", "registry.example.com/team/api:3.1.0"),
    ])
}

#[test]
fn apply_dir_writes_every_changed_file() {
    let dir = copy_fixture();
    let tree = OsTree::new(dir.path()).unwrap();
    let report = apply_dir(&tree, &fixture_policies(), Box::new(OsOps::default())).unwrap();
    assert_eq!(report.files_changed.len(), 6);
    let after = snapshot(dir.path());
    // No temp or backup files are left behind.
    assert_eq!(
        after.len(),
        8,
        "{:?}",
        after.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let marked = std::fs::read_to_string(dir.path().join("marked.yaml")).unwrap();
    assert!(marked.contains("worker:1.5.2"));
}

#[test]
fn injected_failures_leave_every_file_as_it_was() {
    for (op, at) in [
        ("stage", 1),
        ("stage", 4),
        ("backup", 1),
        ("backup", 6),
        ("rename", 1),
        ("rename", 3),
        ("rename", 6),
        ("sync", 1),
    ] {
        let dir = copy_fixture();
        let before = snapshot(dir.path());
        let tree = OsTree::new(dir.path()).unwrap();
        let ops = Failing::new(op, at);
        let mut writer = Writer::with_ops(dir.path(), Box::new(ops)).unwrap();
        let staged = apply_tree(
            &tree,
            &RelPath::root(),
            &fixture_policies(),
            &mut |p, _, new| writer.stage(p, new.as_bytes()),
        );
        let result = match staged {
            Ok(_) => writer.commit().map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => {
                drop(writer);
                Err(e.to_string())
            }
        };
        let err = result.expect_err("the injected failure must surface");
        assert!(!err.is_empty());
        assert_eq!(snapshot(dir.path()), before, "{op} #{at}: tree changed");
    }
}

#[test]
fn rename_failure_reports_restoration() {
    let dir = copy_fixture();
    let ops = Failing::new("rename", 2);
    let mut w = Writer::with_ops(dir.path(), Box::new(ops)).unwrap();
    w.stage(&rel("marked.yaml"), b"a: 1\n").unwrap();
    w.stage(&rel("list.yaml"), b"b: 2\n").unwrap();
    assert_eq!(w.len(), 2);
    let e = w.commit().unwrap_err();
    assert_eq!(
        e.to_string(),
        "list.yaml: cannot replace the file (all files restored)"
    );
    assert!(matches!(e, write::Error::Replace { .. }));
    assert!(
        std::fs::read_to_string(dir.path().join("marked.yaml"))
            .unwrap()
            .contains("CronJob")
    );
}

#[cfg(unix)]
#[test]
fn symlinks_and_escapes_are_refused() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim.yaml"), "keep\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real.yaml"), "x\n").unwrap();
    std::fs::set_permissions(dir.path().join("real.yaml"), Permissions::from_mode(0o640)).unwrap();
    symlink(
        outside.path().join("victim.yaml"),
        dir.path().join("link.yaml"),
    )
    .unwrap();
    symlink(outside.path(), dir.path().join("linkdir")).unwrap();

    let mut w = Writer::new(dir.path()).unwrap();
    assert!(matches!(
        w.stage(&rel("link.yaml"), b"pwned\n"),
        Err(write::Error::Symlink { .. })
    ));
    assert!(matches!(
        w.stage(&rel("linkdir/victim.yaml"), b"pwned\n"),
        Err(write::Error::Symlink { .. })
    ));
    assert!(matches!(
        w.stage(&rel("missing.yaml"), b"x"),
        Err(write::Error::Inspect { .. })
    ));
    w.stage(&rel("real.yaml"), b"y\n").unwrap();
    assert_eq!(w.commit().unwrap(), 1);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim.yaml")).unwrap(),
        "keep\n"
    );
    let meta = std::fs::metadata(dir.path().join("real.yaml")).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o640,
        "permissions are kept"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("real.yaml")).unwrap(),
        "y\n"
    );
}

#[test]
fn dropping_a_writer_removes_its_temp_files() {
    let dir = copy_fixture();
    let before = snapshot(dir.path());
    let mut w = Writer::new(dir.path()).unwrap();
    w.stage(&rel("marked.yaml"), b"new\n").unwrap();
    drop(w);
    assert_eq!(snapshot(dir.path()), before);
}

/// A tree of `n` files in directories of 7, big enough for the writer's
/// threads (they take 16 files at a time).
fn wide_tree(n: usize) -> (tempfile::TempDir, Vec<gitops_core::fs::RelPath>) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..n {
        let sub = format!("d{:02}", i / 7);
        std::fs::create_dir_all(dir.path().join(&sub)).unwrap();
        let path = format!("{sub}/f{i:03}.yaml");
        std::fs::write(dir.path().join(&path), format!("image: app:{i}\n")).unwrap();
        files.push(rel(&path));
    }
    (dir, files)
}

#[test]
fn large_batches_replace_every_file_and_leave_nothing_behind() {
    let (dir, files) = wide_tree(300);
    let mut w = Writer::new(dir.path()).unwrap();
    for f in &files {
        w.stage(f, format!("new {f}\n").as_bytes()).unwrap();
    }
    assert_eq!(w.len(), 300);
    assert_eq!(w.commit().unwrap(), 300);
    let after = snapshot(dir.path());
    assert_eq!(after.len(), 300, "temp or backup files left behind");
    for (path, bytes) in after {
        assert_eq!(bytes, format!("new {path}\n").into_bytes());
    }
}

#[test]
fn failures_in_large_batches_leave_every_file_as_it_was() {
    // Failures after some files were staged, linked or renamed, on the
    // threaded path: every original stays, no temp or backup file remains.
    for (op, at) in [
        ("stage", 1),
        ("stage", 150),
        ("stage", 300),
        ("sync", 1),
        ("backup", 2),
        ("backup", 299),
        ("rename", 1),
        ("rename", 170),
        ("rename", 300),
    ] {
        let (dir, files) = wide_tree(300);
        let before = snapshot(dir.path());
        let mut w = Writer::with_ops(dir.path(), Box::new(Failing::new(op, at))).unwrap();
        for f in &files {
            w.stage(f, b"new\n").unwrap();
        }
        let e = w.commit().expect_err("the injected failure must surface");
        let expected = match op {
            "stage" => matches!(e, write::Error::Stage { .. }),
            "sync" => matches!(e, write::Error::Sync { .. }),
            "backup" => matches!(e, write::Error::Backup { .. }),
            _ => matches!(e, write::Error::Replace { .. }),
        };
        assert!(expected, "{op} #{at}: {e:?}");
        assert_eq!(snapshot(dir.path()), before, "{op} #{at}: tree changed");
    }
}

#[test]
fn a_failed_flush_after_the_renames_is_reported() {
    let (dir, files) = wide_tree(40);
    let mut w = Writer::with_ops(dir.path(), Box::new(Failing::new("sync", 2))).unwrap();
    for f in &files {
        w.stage(f, b"new\n").unwrap();
    }
    let e = w.commit().unwrap_err();
    assert!(
        matches!(e, write::Error::SyncReplaced { files: 40, .. }),
        "{e:?}"
    );
    // The files are replaced; nothing else is left.
    let after = snapshot(dir.path());
    assert_eq!(after.len(), 40);
    assert!(after.iter().all(|(_, b)| b == b"new\n"));
}

#[test]
fn dropping_a_writer_with_a_large_batch_removes_its_temp_files() {
    let (dir, files) = wide_tree(200);
    let before = snapshot(dir.path());
    let mut w = Writer::new(dir.path()).unwrap();
    for f in &files {
        w.stage(f, b"new\n").unwrap();
    }
    drop(w);
    assert_eq!(snapshot(dir.path()), before);
}
