//! Commit and push (write-back) against real servers: git daemon with
//! receive-pack, and git http-backend behind basic auth.

use std::convert::Infallible;
use std::sync::{Arc, Barrier};

use gitops_automate::writeback::{self, Change, Options, Outcome};
use gitops_core::fs::{FileTree, MemTree, RelPath};
use gitops_core::git::{GitTransport, Signature};
use gitops_source::git::{Auth, Client, Error, SshSigner};

use crate::support::{Daemon, HttpAuth, HttpServer, Repos, git, git_cmd};

fn bot() -> Signature {
    Signature {
        name: "Flux Bot".into(),
        email: "bot@example.com".into(),
    }
}

fn bump(
    path: &'static str,
    from: &'static str,
    to: &'static str,
) -> impl FnMut(&MemTree) -> Result<Change, Infallible> {
    move |tree: &MemTree| {
        let p = RelPath::new(path).expect("valid path");
        let text = tree.read_to_string(&p).unwrap_or_default();
        Ok(Change {
            files: vec![(p, text.replace(from, to).into_bytes())],
            message: format!("Update {path} to {to}"),
        })
    }
}

#[test]
fn push_over_git_daemon_with_push_branch_and_signoff() {
    let repos = Repos::new();
    let w = repos.work("app");
    w.commit(
        &[
            ("apps/a.yaml", "image: a:1.0\n"),
            ("apps/b.yaml", "image: b:1.0\n"),
        ],
        "init",
    );
    std::fs::set_permissions(
        w.path.join("apps/b.yaml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let base = w.commit(&[], "exec bit");
    w.publish();
    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("app");
    let client = Client::new();
    assert_eq!(
        client.resolve_branch(&url, "main").unwrap().as_deref(),
        Some(base.as_str())
    );

    let mut opts = Options::new("main", bot());
    opts.signoff = true;
    let out = writeback::commit_and_push(&client, &url, &opts, bump("apps/a.yaml", "1.0", "1.1"))
        .unwrap();
    let Outcome::Pushed {
        commit,
        attempts: 1,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(w.show("main:apps/a.yaml"), "image: a:1.1");
    assert_eq!(git(&w.bare, &["rev-parse", "main^"]), base);
    assert_eq!(git(&w.bare, &["rev-parse", "main"]), commit);
    assert_eq!(
        git(&w.bare, &["log", "-1", "--format=%an <%ae>%n%B", "main"]),
        "Flux Bot <bot@example.com>\nUpdate apps/a.yaml to 1.1\n\nSigned-off-by: Flux Bot <bot@example.com>"
    );
    git(&w.bare, &["fsck", "--no-progress", "--no-dangling"]);

    // Nothing left to change: no empty commit.
    let again = writeback::commit_and_push(&client, &url, &opts, bump("apps/a.yaml", "1.0", "1.1"))
        .unwrap();
    assert!(matches!(again, Outcome::UpToDate { .. }), "{again:?}");

    // A push branch is created from the checkout branch, then stacked on.
    opts.push_branch = Some("auto/update".into());
    let out = writeback::commit_and_push(&client, &url, &opts, bump("apps/b.yaml", "1.0", "2.0"))
        .unwrap();
    assert!(
        matches!(&out, Outcome::Pushed { branch, .. } if branch == "auto/update"),
        "{out:?}"
    );
    assert_eq!(w.show("auto/update:apps/b.yaml"), "image: b:2.0");
    assert_eq!(w.show("main:apps/b.yaml"), "image: b:1.0");
    assert_eq!(git(&w.bare, &["rev-parse", "auto/update^"]), commit);
    // The executable bit of an existing file is kept.
    let ls = git(&w.bare, &["ls-tree", "auto/update", "apps/b.yaml"]);
    assert!(ls.starts_with("100755 "), "{ls}");
}

#[test]
fn racing_writers_both_land() {
    let repos = Repos::new();
    let w = repos.work("race");
    w.commit(
        &[("a.yaml", "image: a:1.0\n"), ("b.yaml", "image: b:1.0\n")],
        "init",
    );
    w.publish();
    let daemon = Daemon::start(&repos.root());
    let url = Arc::new(daemon.url("race"));
    // Both writers compute their change on the same head before either pushes.
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [("a.yaml", "a:1.0", "a:2.0"), ("b.yaml", "b:1.0", "b:2.0")]
        .into_iter()
        .map(|(path, from, to)| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let client = Client::new();
                let mut first = true;
                let mut change = bump(path, from, to);
                writeback::commit_and_push(
                    &client,
                    &url,
                    &Options::new("main", bot()),
                    |tree: &MemTree| {
                        if std::mem::replace(&mut first, false) {
                            barrier.wait();
                        }
                        change(tree)
                    },
                )
                .unwrap()
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut attempts: Vec<u32> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Pushed { attempts, .. } => *attempts,
            other => panic!("{other:?}"),
        })
        .collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2], "one writer lost the race and retried");
    assert_eq!(w.show("main:a.yaml"), "image: a:2.0");
    assert_eq!(w.show("main:b.yaml"), "image: b:2.0");
    assert_eq!(git(&w.bare, &["rev-list", "--count", "main"]), "3");
}

#[test]
fn push_over_http_with_basic_auth_signed_and_wrong_credentials() {
    let repos = Repos::new();
    let w = repos.work("secure");
    w.commit(&[("app.yaml", "image: app:1.0\n")], "init");
    w.publish();
    let server = HttpServer::start(
        &repos.root(),
        HttpAuth::Basic {
            user: "bot".into(),
            password: "pa55-word".into(),
        },
    );
    let url = server.url("secure");

    // An SSH signing key and the allowed-signers file git verifies with.
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id_ed25519");
    let st = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "bot",
            "-f",
            key.to_str().unwrap(),
        ])
        .status()
        .expect("ssh-keygen must be installed");
    assert!(st.success());
    let public = std::fs::read_to_string(keys.path().join("id_ed25519.pub")).unwrap();
    let allowed = keys.path().join("allowed");
    std::fs::write(&allowed, format!("bot@example.com {public}")).unwrap();

    let client = Client::new()
        .with_auth(Auth::Basic {
            username: "bot".into(),
            password: "pa55-word".into(),
        })
        .with_signer(SshSigner::new(&key));
    let out = writeback::commit_and_push(
        &client,
        &url,
        &Options::new("main", bot()),
        bump("app.yaml", "1.0", "1.1"),
    )
    .unwrap();
    let Outcome::Pushed { commit, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(w.show("main:app.yaml"), "image: app:1.1");
    let verify = git_cmd(&w.bare)
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("gpg.ssh.allowedSignersFile={}", allowed.display()))
        .args(["verify-commit", &commit])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stderr).contains("Good \"git\" signature"));

    let bad = Client::new().with_auth(Auth::Basic {
        username: "bot".into(),
        password: "wrong-pa55".into(),
    });
    let err = writeback::commit_and_push(
        &bad,
        &url,
        &Options::new("main", bot()),
        bump("app.yaml", "1.1", "1.2"),
    )
    .unwrap_err();
    let chain = error_chain(&err);
    assert!(
        chain.contains(&format!("authentication failed for {url}")),
        "{chain}"
    );
    assert!(
        !chain.contains("wrong-pa55") && !chain.contains("pa55-word"),
        "{chain}"
    );

    // The push itself with wrong credentials (objects already cached by a good fetch).
    let tree_client = Client::new().with_auth(Auth::Basic {
        username: "bot".into(),
        password: "pa55-word".into(),
    });
    let head = tree_client.resolve_branch(&url, "main").unwrap().unwrap();
    tree_client.fetch_tree(&url, &head).unwrap();
    let req = gitops_core::git::CommitRequest {
        branch: "main".into(),
        parent: head,
        files: vec![(RelPath::new("app.yaml").unwrap(), b"x\n".to_vec())],
        author: bot(),
        message: "m".into(),
    };
    let err = bad.push_commit(&url, &req).unwrap_err();
    let text = error_chain(&err);
    assert!(
        matches!(err, Error::Authentication { .. } | Error::GitCommand { .. }),
        "{err:?}"
    );
    assert!(!text.contains("wrong-pa55"), "{text}");
}

/// `e` and its sources, joined with `: `.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
