//! Submodule transports: a remote superproject may not reach local
//! repositories (`file://`, paths) nor command-running transports (`ext::`,
//! `fd::`, other remote helpers); a local superproject may use local
//! submodules. A refused checkout leaves its destination untouched.

use std::path::Path;

use gitops_source::git::reference::Reference;
use gitops_source::git::{CheckoutOptions, CheckoutOutcome, Client, Error};

use crate::fetch::error_chain;
use crate::support::{Daemon, Repos, Work};

/// A superproject `name` with a gitlink `vendor/lib` at `commit` whose
/// `.gitmodules` URL is `url` (written as is, never resolved by git).
fn superproject(repos: &Repos, name: &str, commit: &str, url: &str) -> Work {
    let sup = repos.work(name);
    sup.commit(&[("app.yaml", "app: 1\n")], "app");
    sup.git(&[
        "config",
        "-f",
        ".gitmodules",
        "submodule.lib.path",
        "vendor/lib",
    ]);
    sup.git(&["config", "-f", ".gitmodules", "submodule.lib.url", url]);
    sup.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{commit},vendor/lib"),
    ]);
    sup.git(&["add", ".gitmodules"]);
    sup.git(&["commit", "-q", "-m", "add submodule"]);
    sup.publish();
    sup
}

/// The library every superproject vendors: `srv/sub.git`.
fn library(repos: &Repos) -> (Work, String) {
    let sub = repos.work("sub");
    let commit = sub.commit(&[("lib.yaml", "lib: 1\n")], "lib");
    sub.publish();
    (sub, commit)
}

fn recursive() -> CheckoutOptions {
    let mut opts = CheckoutOptions::new(Reference::Branch("main".into()));
    opts.recurse_submodules = true;
    opts
}

fn checkout(url: &str, dest: &Path) -> Result<CheckoutOutcome, Error> {
    Client::new().checkout(url, &recursive(), dest)
}

#[test]
fn remote_superproject_cannot_reach_local_repositories() {
    let repos = Repos::new();
    let (sub, commit) = library(&repos);
    let bare = sub.bare.display().to_string();
    // (name, .gitmodules url, what the error must say)
    let cases = [
        ("file-url", format!("file://{bare}"), "local"),
        ("abs-path", bare.clone(), "local"),
        ("file-colon", format!("file:{bare}"), "local"),
        // Relative URLs resolve against the remote URL: they may not climb
        // out of its path into something else.
        (
            "climb",
            format!("{}srv/sub.git", "../".repeat(30)),
            "climbs above",
        ),
    ];
    for (name, url, _) in &cases {
        superproject(&repos, name, &commit, url);
    }
    let daemon = Daemon::start(&repos.root());
    let tmp = tempfile::tempdir().unwrap();
    for (name, url, want) in &cases {
        let dest = tmp.path().join(name);
        let err = checkout(&daemon.url(name), &dest).expect_err(name);
        let chain = error_chain(&err);
        if *name == "file-url" {
            assert_eq!(
                chain,
                format!(
                    "submodule \"vendor/lib\": url \"{url}\" refused: a remote repository may \
                     not have local submodules (file:// urls and paths are followed only under a \
                     local superproject)"
                )
            );
        }
        assert!(chain.contains("refused"), "{name}: {chain}");
        assert!(chain.contains(want), "{name}: {chain}");
        assert!(chain.contains("vendor/lib"), "{name}: {chain}");
        if url.len() < 100 {
            assert!(chain.contains(url.as_str()), "{name}: {chain}");
        }
        assert!(
            !dest.exists(),
            "{name}: a refused checkout leaves no destination behind"
        );
    }
}

#[test]
fn command_transports_are_refused_even_for_a_local_superproject() {
    let repos = Repos::new();
    let (_, commit) = library(&repos);
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pwned");
    let cases = [
        (
            "ext",
            format!("ext::sh -c touch% {}", marker.display()),
            "ext::",
        ),
        ("fd", "fd::17".to_owned(), "remote helper"),
        (
            "helper",
            "codecommit::eu-west-1://repo".to_owned(),
            "remote helper",
        ),
        ("dash", "-uhelp".to_owned(), "'-'"),
        (
            "dash-ssh",
            "ssh://-oProxyCommand=touch%20x/r".to_owned(),
            "'-'",
        ),
        ("unknown", "gopher://example.com/r.git".to_owned(), "scheme"),
    ];
    let long = format!("ext::{}", "x".repeat(5000));
    for (name, url, _) in &cases {
        superproject(&repos, name, &commit, url);
    }
    superproject(&repos, "long", &commit, &long);
    for (name, url, want) in &cases {
        let local = repos.root().join(format!("{name}.git"));
        let dest = tmp.path().join(name);
        let err = checkout(local.to_str().unwrap(), &dest).expect_err(name);
        let chain = error_chain(&err);
        assert!(chain.contains("refused"), "{name}: {chain}");
        assert!(chain.contains(want), "{name}: {chain}");
        assert!(chain.contains(url.as_str()), "{name}: {chain}");
        assert!(!dest.exists(), "{name}");
    }
    assert!(!marker.exists(), "the ext:: command never ran");
    // Hostile input is quoted only truncated.
    let local = repos.root().join("long.git");
    let err = checkout(local.to_str().unwrap(), &tmp.path().join("long")).unwrap_err();
    let chain = error_chain(&err);
    assert!(chain.contains("refused"), "{chain}");
    assert!(chain.len() < 1000, "{chain}");
    assert!(chain.contains("(5005 bytes)"), "{chain}");
}

#[test]
fn local_superproject_may_use_local_submodules() {
    let repos = Repos::new();
    let (sub, commit) = library(&repos);
    let bare = sub.bare.display().to_string();
    let cases = [
        ("rel", "../sub.git".to_owned()),
        ("abs", bare.clone()),
        ("url", format!("file://{bare}")),
    ];
    for (name, url) in &cases {
        superproject(&repos, name, &commit, url);
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, _) in &cases {
        let local = repos.root().join(format!("{name}.git"));
        for (how, url) in [
            ("path", local.display().to_string()),
            ("file-url", format!("file://{}", local.display())),
        ] {
            let dest = tmp.path().join(format!("{name}-{how}"));
            let out = checkout(&url, &dest).unwrap_or_else(|e| panic!("{name} {how}: {e:?}"));
            assert!(
                matches!(out, CheckoutOutcome::Checked { files: 3, .. }),
                "{name} {how}: {out:?}"
            );
            assert_eq!(
                std::fs::read_to_string(dest.join("vendor/lib/lib.yaml")).unwrap(),
                "lib: 1\n"
            );
        }
    }
    // The same local submodule under a remote superproject is refused, and
    // a relative one resolves to the remote and works.
    let daemon = Daemon::start(&repos.root());
    let err = checkout(&daemon.url("abs"), &tmp.path().join("remote-abs")).unwrap_err();
    assert!(error_chain(&err).contains("refused"), "{err:?}");
    let out = checkout(&daemon.url("rel"), &tmp.path().join("remote-rel")).unwrap();
    assert!(
        matches!(out, CheckoutOutcome::Checked { files: 3, .. }),
        "{out:?}"
    );
}

#[test]
fn unsafe_tree_leaves_no_partial_checkout() {
    let repos = Repos::new();
    let w = repos.work("partial");
    w.commit(
        &[("a/one.yaml", "1\n"), ("b/two.yaml", "2\n")],
        "good files first",
    );
    // A gitlink named `.git` after the good entries: refused while the
    // tree is written.
    let listing = w.git(&["ls-tree", "HEAD"]);
    let head = w.head();
    let mut raw = Vec::new();
    for line in listing.lines() {
        let (meta, name) = line.split_once('\t').unwrap();
        let parts: Vec<&str> = meta.split(' ').collect();
        raw.extend_from_slice(format!("{} {name}\0", parts[0].trim_start_matches('0')).as_bytes());
        raw.extend_from_slice(&hex::decode(parts[2]).unwrap());
    }
    let mut inner = Vec::new();
    inner.extend_from_slice(b"160000 .git\0");
    inner.extend_from_slice(&hex::decode(&head).unwrap());
    let inner = hash_literally(&w.path.join(".git"), "tree", &inner);
    raw.extend_from_slice(b"40000 z\0");
    raw.extend_from_slice(&hex::decode(&inner).unwrap());
    let evil_tree = hash_literally(&w.path.join(".git"), "tree", &raw);
    let evil = w.git(&["commit-tree", &evil_tree, "-p", &head, "-m", "evil"]);
    w.git(&["update-ref", "refs/heads/main", &evil]);
    w.publish();
    let daemon = Daemon::start(&repos.root());
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("new");
    let err = checkout(&daemon.url("partial"), &dest).unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unsafe path \"z/.git\" in repository: `.git` entry"
    );
    assert!(
        !dest.exists(),
        "no partial checkout: {:?}",
        listing_of(&dest)
    );
    // An existing empty destination stays empty.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    checkout(&daemon.url("partial"), &empty).unwrap_err();
    assert_eq!(listing_of(&empty), Vec::<String>::new());
    // Nothing is left beside the destinations either.
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["empty"]);
}

fn listing_of(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn hash_literally(git_dir: &Path, kind: &str, bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = crate::support::git_cmd(git_dir)
        .args(["hash-object", "-w", "--literally", "-t", kind, "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
