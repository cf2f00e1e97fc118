//! Git over SSH against a real `sshd` on 127.0.0.1 (skipped with one line
//! where sshd cannot run, failing under `CI=true`): clone and push with a
//! generated deploy key held in memory, as a Flux Secret carries it; a key
//! file others can read and a changed host key are refused before anything
//! is written or pushed.

use gitops_core::fs::RelPath;
use gitops_core::git::{CommitRequest, GitTransport, PushOutcome, Signature};
use gitops_source::git::reference::Reference;
use gitops_source::git::ssh::{EcdsaCurve, KeyAlgorithm, KeyPair};
use gitops_source::git::{Auth, CheckoutOptions, CheckoutOutcome, Client, Error};

use crate::support::{Repos, git};

// `sshd` finds `server` beside it.
use gitops_test_support::sshd;

use sshd::Sshd;

fn request(parent: &str, text: &str) -> CommitRequest {
    CommitRequest {
        branch: "main".into(),
        parent: parent.into(),
        files: vec![(
            RelPath::new("apps/app.yaml").unwrap(),
            text.as_bytes().to_vec(),
        )],
        author: Signature {
            name: "Flux Bot".into(),
            email: "bot@example.com".into(),
        },
        message: "Update app".into(),
    }
}

#[test]
fn clone_and_push_over_ssh_with_a_generated_key() {
    let repos = Repos::new();
    let w = repos.work("fleet");
    let base = w.commit(&[("apps/app.yaml", "image: app:1.0\n")], "init");
    w.publish();
    // Flux's default algorithm, and Ed25519 (PKCS#8, which OpenSSH cannot
    // read as is).
    let ecdsa = KeyPair::generate(KeyAlgorithm::Ecdsa(EcdsaCurve::P384)).unwrap();
    let ed = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
    let Some(sshd) = Sshd::start(
        repos.dir.path(),
        &format!("{}{}", ecdsa.public_key(), ed.public_key()),
    ) else {
        return;
    };
    let url = sshd.url(&w.bare);

    for pair in [&ecdsa, &ed] {
        let client = Client::new().with_auth(Auth::SshKey {
            identity: pair.private_key().to_owned(),
            known_hosts: sshd.known_hosts.clone(),
        });
        let dest = repos
            .dir
            .path()
            .join(format!("out-{}", pair.public_key().len()));
        let out = client
            .checkout(
                &url,
                &CheckoutOptions::new(Reference::Branch("main".into())),
                &dest,
            )
            .unwrap_or_else(|e| panic!("checkout over ssh: {e:#?}\nsshd log:\n{}", sshd.log()));
        let CheckoutOutcome::Checked { revision, .. } = out else {
            panic!("{out:?}");
        };
        assert_eq!(revision.to_string(), format!("main@sha1:{base}"));
        assert_eq!(
            std::fs::read_to_string(dest.join("apps/app.yaml")).unwrap(),
            "image: app:1.0\n"
        );
    }

    let client = Client::new().with_auth(Auth::SshKey {
        identity: ed.private_key().to_owned(),
        known_hosts: sshd.known_hosts.clone(),
    });
    let pushed = client
        .push_commit(&url, &request(&base, "image: app:1.1\n"))
        .unwrap_or_else(|e| panic!("push over ssh: {e:#?}\nsshd log:\n{}", sshd.log()));
    let PushOutcome::Pushed { commit } = pushed else {
        panic!("{pushed:?}");
    };
    assert_eq!(git(&w.bare, &["rev-parse", "main"]), commit);
    assert_eq!(w.show("main:apps/app.yaml"), "image: app:1.1");
}

#[test]
fn a_changed_host_key_fetches_and_pushes_nothing() {
    let repos = Repos::new();
    let w = repos.work("fleet");
    let base = w.commit(&[("apps/app.yaml", "image: app:1.0\n")], "init");
    w.publish();
    let pair = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
    let Some(sshd) = Sshd::start(repos.dir.path(), pair.public_key()) else {
        return;
    };
    let url = sshd.url(&w.bare);
    // known_hosts names the server with a key it does not have.
    let other = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
    let wrong = format!(
        "[127.0.0.1]:{} {}",
        sshd.port,
        other.public_key().trim_end()
    );
    let client = Client::new().with_auth(Auth::SshKey {
        identity: pair.private_key().to_owned(),
        known_hosts: wrong,
    });
    let dest = repos.dir.path().join("out");
    let err = client
        .checkout(
            &url,
            &CheckoutOptions::new(Reference::Branch("main".into())),
            &dest,
        )
        .unwrap_err();
    assert!(matches!(err, Error::HostKey { .. }), "{err:#?}");
    assert!(
        err.to_string()
            .starts_with(&format!("host key verification failed for {url}")),
        "{err}"
    );
    assert!(!dest.exists(), "nothing is written");

    let err = client
        .push_commit(&url, &request(&base, "image: app:1.1\n"))
        .unwrap_err();
    assert!(matches!(err, Error::HostKey { .. }), "{err:#?}");
    assert_eq!(
        git(&w.bare, &["rev-parse", "main"]),
        base,
        "nothing is pushed"
    );
    assert!(
        !sshd.log().contains("Accepted publickey"),
        "the client never authenticated:\n{}",
        sshd.log()
    );
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pair = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
    let key = dir.path().join("identity");
    let hosts = dir.path().join("known_hosts");
    std::fs::write(&key, pair.private_key()).unwrap();
    std::fs::write(&hosts, "[127.0.0.1]:1 ssh-ed25519 AAAA\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let client = Client::new().with_auth(Auth::Ssh {
        identity_file: key.clone(),
        known_hosts: hosts,
    });
    let dest = dir.path().join("out");
    let err = client
        .checkout(
            "ssh://git@127.0.0.1:1/r.git",
            &CheckoutOptions::new(Reference::Branch("main".into())),
            &dest,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::KeyPermissions { mode: 0o644, .. }),
        "{err:#?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: private key permissions 0644 are too open; it must be accessible by its owner only (chmod 600)",
            key.display()
        )
    );
    assert!(!dest.exists());
    let err = client
        .push_commit(
            "ssh://git@127.0.0.1:1/r.git",
            &request(&"0".repeat(40), "x"),
        )
        .unwrap_err();
    assert!(matches!(err, Error::KeyPermissions { .. }), "{err:#?}");
}
