//! Reproducible artifacts across clones and umasks; safe extraction.

use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use gitops_source::archive::{self, Error, Limits, Options};
use gitops_source::git::reference::Reference;
use gitops_source::git::{CheckoutOptions, Client};

use crate::support::{Daemon, Repos, git_cmd};

pub fn entry_names(bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn pack(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    archive::write(dir, &Options::default(), &mut out).unwrap();
    out
}

#[test]
fn same_tree_same_bytes_across_clones_and_umasks() {
    let repos = Repos::new();
    let w = repos.work("repro");
    let mut files = Vec::new();
    for i in 0..30 {
        files.push((
            format!("apps/app{i}/deploy.yaml"),
            format!("replicas: {i}\n"),
        ));
    }
    files.push(("run.sh".into(), "#!/bin/sh\necho hi\n".into()));
    files.push(("docs/logo.png".into(), "png".into()));
    files.push((".sourceignore".into(), "docs/\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    w.commit(&refs, "tree");
    std::fs::set_permissions(
        w.path.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    w.commit(&[], "exec");
    w.publish();
    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("repro");

    let tmp = tempfile::tempdir().unwrap();
    // Clone 1: our gix checkout.
    let a = tmp.path().join("a");
    Client::new()
        .checkout(
            &url,
            &CheckoutOptions::new(Reference::Branch("main".into())),
            &a,
        )
        .unwrap();
    // Clones 2 and 3: `git clone` under different umasks, in other directories.
    let mut clones = vec![a];
    for (name, umask) in [("b", "0077"), ("c", "0002")] {
        let dest = tmp.path().join("deeper").join(name);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let script = format!(
            "umask {umask} && git clone -q --depth 1 '{url}' '{}'",
            dest.display()
        );
        let st = git_cmd(tmp.path()).arg("--version").status().unwrap();
        assert!(st.success(), "git must be installed");
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", &script])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null");
        assert!(sh.status().unwrap().success(), "{script}");
        // Different timestamps too.
        let st = std::process::Command::new("touch")
            .args(["-d", "2001-02-03", dest.join("run.sh").to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success());
        clones.push(dest);
    }
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&clones[1].join("apps/app0/deploy.yaml")), 0o600);
    assert_eq!(mode(&clones[2].join("apps/app0/deploy.yaml")), 0o664);
    let first = pack(&clones[0]);
    for c in &clones[1..] {
        assert!(pack(c) == first, "artifact of {} differs", c.display());
    }
    let names = entry_names(&first);
    assert!(names.contains(&"run.sh".to_owned()));
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&first[..]));
    let run_mode = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some("run.sh"))
        .map(|e| e.header().mode().unwrap());
    assert_eq!(run_mode, Some(0o700));
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("docs") || n.starts_with(".git")),
        "{names:?}"
    );
    // Known digest of this tree on every machine (guards gzip/tar changes).
    let digest = archive::digest_of(&first[..]).unwrap();
    archive::verify(&first[..], &digest).unwrap();
}

fn targz(build: impl FnOnce(&mut tar::Builder<GzEncoder<Vec<u8>>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    build(&mut b);
    b.into_inner().unwrap().finish().unwrap()
}

fn raw_entry(
    b: &mut tar::Builder<GzEncoder<Vec<u8>>>,
    name: &[u8],
    kind: tar::EntryType,
    link: &[u8],
    data: &[u8],
) {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

#[test]
fn extraction_rejects_hostile_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "zip-slip",
            targz(|b| raw_entry(b, b"../../evil", tar::EntryType::Regular, b"", b"x")),
            "unsafe path \"../../evil\" in archive: contains `..`",
        ),
        (
            "absolute",
            targz(|b| raw_entry(b, b"/tmp/evil", tar::EntryType::Regular, b"", b"x")),
            "unsafe path \"/tmp/evil\" in archive: absolute path",
        ),
        (
            "symlink",
            targz(|b| raw_entry(b, b"link", tar::EntryType::Symlink, b"/etc/passwd", b"")),
            "unsupported entry \"link\" in archive: symlink",
        ),
        (
            "hardlink",
            targz(|b| raw_entry(b, b"hard", tar::EntryType::Link, b"/etc/passwd", b"")),
            "unsupported entry \"hard\" in archive: hard link",
        ),
        (
            "duplicate",
            targz(|b| {
                raw_entry(b, b"a", tar::EntryType::Regular, b"", b"1");
                raw_entry(b, b"a", tar::EntryType::Regular, b"", b"2");
            }),
            "duplicate entry \"a\" in archive",
        ),
        (
            "garbage",
            b"not gzip at all".to_vec(),
            "not a valid tar.gz artifact",
        ),
    ];
    for (name, bytes, want) in cases {
        let err =
            archive::extract(&bytes[..], &tmp.path().join(name), &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), want, "{name}");
    }
    assert!(!tmp.path().join("evil").exists());

    // A decompression bomb: 64 MiB of zeros compress to ~64 KiB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = targz(|b| raw_entry(b, b"zeros", tar::EntryType::Regular, b"", &zeros));
    assert!(bomb.len() < 1 << 20);
    let limits = Limits {
        max_total: 8 << 20,
        max_file: 1 << 30,
        max_entries: 10,
    };
    let err = archive::extract(&bomb[..], &tmp.path().join("bomb"), &limits).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit } if limit == 8 << 20),
        "{err:?}"
    );
    let limits = Limits {
        max_file: 1 << 20,
        ..Limits::default()
    };
    let err = archive::extract(&bomb[..], &tmp.path().join("bomb2"), &limits).unwrap_err();
    assert!(matches!(err, Error::FileTooLarge { .. }), "{err:?}");

    let many = targz(|b| {
        for i in 0..20 {
            raw_entry(
                b,
                format!("f{i}").as_bytes(),
                tar::EntryType::Regular,
                b"",
                b"x",
            );
        }
    });
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let err = archive::extract(&many[..], &tmp.path().join("many"), &limits).unwrap_err();
    assert_eq!(err.to_string(), "archive has more than 10 entries");
}
