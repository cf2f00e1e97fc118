//! Fetch and checkout over git://, http:// (basic and bearer auth) and file://.

use std::path::Path;

use gitops_source::git::reference::{self, Reference};
use gitops_source::git::{Auth, CheckoutOptions, CheckoutOutcome, Client, Error};

use crate::support::{Daemon, HttpAuth, HttpServer, Repos, Work, git};

fn checkout(
    client: &Client,
    url: &str,
    r: Reference,
    dest: &Path,
) -> Result<CheckoutOutcome, Error> {
    client.checkout(url, &CheckoutOptions::new(r), dest)
}

fn revision(out: &CheckoutOutcome) -> String {
    match out {
        CheckoutOutcome::Checked { revision, .. } | CheckoutOutcome::Unchanged { revision } => {
            revision.to_string()
        }
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn read(dir: &Path, p: &str) -> String {
    std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// main: 3 commits; tags v1.0.0 (annotated), v1.1.0 (lightweight), v2.0.0-rc.1; branch dev.
fn fixture(repos: &Repos) -> (Work, Vec<String>) {
    let w = repos.work("app");
    let c1 = w.commit(&[("app.yaml", "version: 1.0.0\n")], "one");
    w.git(&["tag", "-a", "v1.0.0", "-m", "release 1.0.0"]);
    let c2 = w.commit(&[("app.yaml", "version: 1.1.0\n")], "two");
    w.git(&["tag", "v1.1.0"]);
    let c3 = w.commit(&[("app.yaml", "version: 2.0.0-rc.1\n")], "three");
    w.git(&["tag", "v2.0.0-rc.1"]);
    w.git(&["checkout", "-q", "-b", "dev", &c1]);
    let c4 = w.commit(&[("dev.yaml", "dev: true\n")], "dev");
    w.git(&["checkout", "-q", "main"]);
    w.publish();
    (w, vec![c1, c2, c3, c4])
}

#[test]
fn refs_over_git_daemon() {
    let repos = Repos::new();
    let (_w, c) = fixture(&repos);
    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("app");
    let client = Client::new();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            Reference::Branch("main".into()),
            format!("main@sha1:{}", c[2]),
            "version: 2.0.0-rc.1\n",
        ),
        (
            Reference::Branch("dev".into()),
            format!("dev@sha1:{}", c[3]),
            "version: 1.0.0\n",
        ),
        (
            Reference::Tag("v1.0.0".into()),
            format!("v1.0.0@sha1:{}", c[0]),
            "version: 1.0.0\n",
        ),
        (
            Reference::Tag("v1.1.0".into()),
            format!("v1.1.0@sha1:{}", c[1]),
            "version: 1.1.0\n",
        ),
        (
            Reference::Semver("1.x".into()),
            format!("v1.1.0@sha1:{}", c[1]),
            "version: 1.1.0\n",
        ),
        (
            Reference::Semver(">=2.0.0-0".into()),
            format!("v2.0.0-rc.1@sha1:{}", c[2]),
            "version: 2.0.0-rc.1\n",
        ),
        (
            Reference::Name("refs/heads/dev".into()),
            format!("refs/heads/dev@sha1:{}", c[3]),
            "version: 1.0.0\n",
        ),
        (
            Reference::Commit {
                commit: c[1].clone(),
                branch: None,
            },
            format!("sha1:{}", c[1]),
            "version: 1.1.0\n",
        ),
        (
            Reference::Commit {
                commit: c[0].clone(),
                branch: Some("main".into()),
            },
            format!("main@sha1:{}", c[0]),
            "version: 1.0.0\n",
        ),
    ];
    for (i, (r, want, content)) in cases.into_iter().enumerate() {
        let dest = tmp.path().join(i.to_string());
        let out =
            checkout(&client, &url, r.clone(), &dest).unwrap_or_else(|e| panic!("{r:?}: {e:?}"));
        assert_eq!(revision(&out), want, "{r:?}");
        assert_eq!(read(&dest, "app.yaml"), content, "{r:?}");
        assert!(!dest.join(".git").exists());
        if let CheckoutOutcome::Checked { shallow, .. } = out {
            match r {
                Reference::Commit { .. } => {
                    assert!(!shallow, "commit checkouts fetch full history")
                }
                Reference::Branch(_) => assert!(shallow, "branches are fetched with depth 1"),
                _ => {}
            }
        }
    }
    // A commit that is on no branch.
    let err = checkout(
        &client,
        &url,
        Reference::Commit {
            commit: "0".repeat(40),
            branch: None,
        },
        &tmp.path().join("missing"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("commit {} not found in {url}", "0".repeat(40))
    );
}

#[test]
fn unchanged_force_pushed_branch_and_deleted_tag() {
    let repos = Repos::new();
    let (w, c) = fixture(&repos);
    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("app");
    let client = Client::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = CheckoutOptions::new(Reference::Branch("main".into()));
    let first = client.checkout(&url, &opts, &tmp.path().join("a")).unwrap();
    opts.last_revision = Some(format!("main@sha1:{}", c[2]).parse().unwrap());
    let again = client.checkout(&url, &opts, &tmp.path().join("b")).unwrap();
    assert_eq!(revision(&first), revision(&again));
    assert!(
        matches!(again, CheckoutOutcome::Unchanged { .. }),
        "{again:?}"
    );
    assert!(
        !tmp.path().join("b").exists(),
        "nothing is written when unchanged"
    );

    // Rewrite main's history and force-push it.
    w.git(&["checkout", "-q", "--orphan", "rewritten"]);
    w.git(&["rm", "-rq", "--cached", "."]);
    let new = w.commit(&[("app.yaml", "version: rewritten\n")], "rewrite");
    w.git(&["push", "-q", "--force", "origin", "rewritten:main"]);
    let after = client.checkout(&url, &opts, &tmp.path().join("c")).unwrap();
    assert_eq!(revision(&after), format!("main@sha1:{new}"));
    assert_eq!(
        read(&tmp.path().join("c"), "app.yaml"),
        "version: rewritten\n"
    );

    // Delete a tag on the server.
    git(&w.bare, &["tag", "-d", "v1.1.0"]);
    let err = checkout(
        &client,
        &url,
        Reference::Tag("v1.1.0".into()),
        &tmp.path().join("d"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Reference(reference::Error::TagNotFound { tag, .. }) if tag == "v1.1.0"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("tag \"v1.1.0\" not found in {url}")
    );
    // The semver range now resolves to the older tag.
    let out = checkout(
        &client,
        &url,
        Reference::Semver("1.x".into()),
        &tmp.path().join("e"),
    )
    .unwrap();
    assert_eq!(revision(&out), format!("v1.0.0@sha1:{}", c[0]));
}

#[test]
fn shallow_by_default_full_on_request() {
    let repos = Repos::new();
    let w = repos.work("long");
    for i in 0..50 {
        w.commit(&[("n.txt", &format!("{i}\n"))], &format!("c{i}"));
    }
    w.publish();
    let daemon = Daemon::start(&repos.root());
    let tmp = tempfile::tempdir().unwrap();
    let shallow = checkout(
        &Client::new(),
        &daemon.url("long"),
        Reference::Branch("main".into()),
        &tmp.path().join("s"),
    )
    .unwrap();
    assert!(
        matches!(
            shallow,
            CheckoutOutcome::Checked {
                shallow: true,
                files: 1,
                ..
            }
        ),
        "{shallow:?}"
    );
    let full = checkout(
        &Client::new().with_depth(0),
        &daemon.url("long"),
        Reference::Branch("main".into()),
        &tmp.path().join("f"),
    )
    .unwrap();
    assert!(
        matches!(full, CheckoutOutcome::Checked { shallow: false, .. }),
        "{full:?}"
    );
    assert_eq!(read(&tmp.path().join("f"), "n.txt"), "49\n");
}

#[test]
fn http_basic_auth_and_wrong_credentials() {
    let repos = Repos::new();
    let (_w, c) = fixture(&repos);
    let server = HttpServer::start(
        &repos.root(),
        HttpAuth::Basic {
            user: "bot".into(),
            password: "s3cret-pw".into(),
        },
    );
    let url = server.url("app");
    let tmp = tempfile::tempdir().unwrap();
    let good = Client::new().with_auth(Auth::Basic {
        username: "bot".into(),
        password: "s3cret-pw".into(),
    });
    let out = checkout(
        &good,
        &url,
        Reference::Tag("v1.1.0".into()),
        &tmp.path().join("a"),
    )
    .unwrap();
    assert_eq!(revision(&out), format!("v1.1.0@sha1:{}", c[1]));

    // Credentials embedded in the URL work too and never show up in errors.
    let embedded = format!("http://bot:s3cret-pw@127.0.0.1:{}/app.git", server.port);
    let out = checkout(
        &Client::new(),
        &embedded,
        Reference::Branch("main".into()),
        &tmp.path().join("b"),
    )
    .unwrap();
    assert_eq!(revision(&out), format!("main@sha1:{}", c[2]));

    let bad = Client::new().with_auth(Auth::Basic {
        username: "bot".into(),
        password: "wrong-pw".into(),
    });
    let err = checkout(
        &bad,
        &url,
        Reference::Branch("main".into()),
        &tmp.path().join("c"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    let chain = format!("{:?} / {}", err, error_chain(&err));
    assert_eq!(err.to_string(), format!("authentication failed for {url}"));
    assert!(
        !chain.contains("wrong-pw") && !chain.contains("s3cret"),
        "{chain}"
    );

    let bad_url = format!("http://bot:wrong-pw@127.0.0.1:{}/app.git", server.port);
    let err = checkout(
        &Client::new(),
        &bad_url,
        Reference::Branch("main".into()),
        &tmp.path().join("d"),
    )
    .unwrap_err();
    let chain = format!("{:?} / {}", err, error_chain(&err));
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert!(!chain.contains("wrong-pw"), "{chain}");

    let none = checkout(
        &Client::new(),
        &url,
        Reference::Branch("main".into()),
        &tmp.path().join("e"),
    )
    .unwrap_err();
    assert!(matches!(none, Error::Authentication { .. }), "{none:?}");
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[test]
fn http_bearer_token_and_file_url() {
    let repos = Repos::new();
    let (w, c) = fixture(&repos);
    let server = HttpServer::start(&repos.root(), HttpAuth::Bearer("tok-123".into()));
    let tmp = tempfile::tempdir().unwrap();
    let client = Client::new().with_auth(Auth::Bearer {
        token: "tok-123".into(),
    });
    let out = checkout(
        &client,
        &server.url("app"),
        Reference::Branch("dev".into()),
        &tmp.path().join("a"),
    )
    .unwrap();
    assert_eq!(revision(&out), format!("dev@sha1:{}", c[3]));
    let bad = Client::new().with_auth(Auth::Bearer {
        token: "nope-456".into(),
    });
    let err = checkout(
        &bad,
        &server.url("app"),
        Reference::Branch("dev".into()),
        &tmp.path().join("b"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert!(!error_chain(&err).contains("nope-456"));

    let file_url = format!("file://{}", w.bare.display());
    let out = checkout(
        &Client::new(),
        &file_url,
        Reference::Semver("<1.1".into()),
        &tmp.path().join("c"),
    )
    .unwrap();
    assert_eq!(revision(&out), format!("v1.0.0@sha1:{}", c[0]));
}

#[test]
fn submodules_on_request() {
    let repos = Repos::new();
    let sub = repos.work("sub");
    sub.commit(&[("lib.yaml", "lib: 1\n")], "lib");
    sub.publish();
    let sup = repos.work("super");
    sup.commit(&[("app.yaml", "app: 1\n")], "app");
    git(
        &sup.path,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            sub.bare.to_str().unwrap(),
            "vendor/lib",
        ],
    );
    // Point .gitmodules at the relative URL the servers understand.
    git(
        &sup.path,
        &[
            "config",
            "-f",
            ".gitmodules",
            "submodule.vendor/lib.url",
            "../sub.git",
        ],
    );
    sup.commit(&[], "add submodule");
    sup.publish();
    let daemon = Daemon::start(&repos.root());
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = CheckoutOptions::new(Reference::Branch("main".into()));
    let plain = Client::new()
        .checkout(&daemon.url("super"), &opts, &tmp.path().join("a"))
        .unwrap();
    assert!(
        matches!(plain, CheckoutOutcome::Checked { files: 2, .. }),
        "{plain:?}"
    );
    assert!(!tmp.path().join("a/vendor/lib/lib.yaml").exists());
    opts.recurse_submodules = true;
    let deep = Client::new()
        .checkout(&daemon.url("super"), &opts, &tmp.path().join("b"))
        .unwrap();
    assert!(
        matches!(deep, CheckoutOutcome::Checked { files: 3, .. }),
        "{deep:?}"
    );
    assert_eq!(
        read(&tmp.path().join("b"), "vendor/lib/lib.yaml"),
        "lib: 1\n"
    );
}

#[test]
fn symlinks_and_dotdot_tricks() {
    let repos = Repos::new();
    let w = repos.work("tricks");
    std::fs::create_dir_all(w.path.join("apps")).unwrap();
    std::fs::write(w.path.join("apps/app.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", w.path.join("passwd")).unwrap();
    std::os::unix::fs::symlink("../../../../outside", w.path.join("apps/up")).unwrap();
    std::os::unix::fs::symlink("apps", w.path.join("alias")).unwrap();
    let good = w.commit(&[], "symlinks");
    w.publish();
    // A hand-made tree with a `..` entry, pushed on its own branch.
    let evil_blob = crate::support::git_cmd(&w.bare)
        .args(["hash-object", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(b"pwned\n")?;
            ch.wait_with_output()
        })
        .unwrap();
    let evil_blob = String::from_utf8(evil_blob.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let mut inner = Vec::new();
    inner.extend_from_slice(b"100644 escaped\0");
    inner.extend_from_slice(&hex::decode(&evil_blob).unwrap());
    let inner_tree = hash_literally(&w.bare, "tree", &inner);
    let mut outer = Vec::new();
    outer.extend_from_slice(b"40000 ..\0");
    outer.extend_from_slice(&hex::decode(&inner_tree).unwrap());
    let outer_tree = hash_literally(&w.bare, "tree", &outer);
    let evil = git(&w.bare, &["commit-tree", &outer_tree, "-m", "evil"]);
    git(&w.bare, &["update-ref", "refs/heads/evil", &evil]);

    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("tricks");
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("ok");
    let out = checkout(
        &Client::new(),
        &url,
        Reference::Branch("main".into()),
        &dest,
    )
    .unwrap();
    assert_eq!(revision(&out), format!("main@sha1:{good}"));
    assert!(
        std::fs::symlink_metadata(dest.join("passwd"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let bytes = {
        let mut b = Vec::new();
        gitops_source::archive::write(&dest, &Default::default(), &mut b).unwrap();
        b
    };
    let names = crate::artifact::entry_names(&bytes);
    assert_eq!(
        names,
        [".", "apps", "apps/app.yaml"],
        "symlinks never reach the artifact"
    );

    let evil_dest = tmp.path().join("evil");
    let err = checkout(
        &Client::new(),
        &url,
        Reference::Branch("evil".into()),
        &evil_dest,
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unsafe path \"..\" in repository: `.` or `..` entry"
    );
    assert!(!tmp.path().join("escaped").exists());
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
