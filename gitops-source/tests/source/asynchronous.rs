//! The Git client from async code: `git::AsyncClient` on multi-thread and
//! current-thread runtimes, and the blocking `Client` on a runtime thread.

use gitops_core::fs::{FileTree as _, RelPath};
use gitops_core::git::{AsyncGitTransport, CommitRequest, PushOutcome, Signature};
use gitops_source::git::reference::Reference;
use gitops_source::git::{AsyncClient, Auth, CheckoutOptions, CheckoutOutcome, Client};

use crate::support::{Daemon, HttpAuth, HttpServer, Repos, git};

fn fixture(repos: &Repos) -> String {
    let w = repos.work("app");
    let head = w.commit(&[("app.yaml", "version: 1.0.0\n")], "one");
    w.git(&["tag", "v1.0.0"]);
    w.publish();
    head
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_checks_out_fetches_and_pushes_on_a_multi_thread_runtime() {
    let repos = Repos::new();
    let head = fixture(&repos);
    let daemon = Daemon::start(&repos.root());
    let url = daemon.url("app");
    let client = AsyncClient::new(Client::new());

    // Spawned: the futures are Send.
    let task = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.list_refs(&url).await }
    });
    let refs = task.await.expect("task").expect("list refs");
    assert!(
        refs.iter()
            .any(|r| r.name == "refs/heads/main" && r.target == head)
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let dest = tmp.path().join("co");
    let opts = CheckoutOptions::new(Reference::Tag("v1.0.0".into()));
    let out = assert_send(client.checkout(&url, &opts, &dest))
        .await
        .expect("checkout");
    assert!(matches!(out, CheckoutOutcome::Checked { .. }), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dest.join("app.yaml")).expect("read"),
        "version: 1.0.0\n"
    );

    // Through gitops-core's async trait, as a controller would.
    let head_now = AsyncGitTransport::resolve_branch(&client, &url, "main")
        .await
        .expect("resolve")
        .expect("main exists");
    assert_eq!(head_now, head);
    let tree = assert_send(AsyncGitTransport::fetch_tree(&client, &url, &head))
        .await
        .expect("fetch tree");
    assert_eq!(
        tree.read(&RelPath::new("app.yaml").expect("path"))
            .expect("file"),
        b"version: 1.0.0\n"
    );
    let req = CommitRequest {
        branch: "main".into(),
        parent: head.clone(),
        files: vec![(
            RelPath::new("app.yaml").expect("path"),
            b"version: 1.1.0\n".to_vec(),
        )],
        author: Signature {
            name: "bot".into(),
            email: "bot@example.com".into(),
        },
        message: "Update app".into(),
    };
    let pushed = assert_send(AsyncGitTransport::push_commit(&client, &url, &req))
        .await
        .expect("push");
    let PushOutcome::Pushed { commit } = pushed else {
        panic!("expected a push, got {pushed:?}")
    };
    let bare = repos.root().join("app.git");
    assert_eq!(git(&bare, &["rev-parse", "refs/heads/main"]), commit);
    // Another change on the same parent: the branch moved, nothing is forced.
    let stale = CommitRequest {
        message: "Another update".into(),
        ..req
    };
    let again = client.push_commit(&url, &stale).await.expect("push again");
    assert_eq!(
        again,
        PushOutcome::Rejected {
            remote_head: commit
        }
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_client_lists_refs_over_http_on_a_current_thread_runtime() {
    let repos = Repos::new();
    let head = fixture(&repos);
    let server = HttpServer::start(&repos.root(), HttpAuth::Bearer("tok-9".into()));
    let client = AsyncClient::new(Client::new().with_auth(Auth::Bearer {
        token: "tok-9".into(),
    }));
    let refs = client
        .list_refs(&server.url("app"))
        .await
        .expect("list refs");
    assert!(
        refs.iter()
            .any(|r| r.name == "refs/tags/v1.0.0" && r.target == head)
    );
}

/// gix runs reqwest's blocking client on a thread of its own, so the
/// blocking Git client does not panic on a runtime thread (it blocks that
/// thread for the whole operation; async code uses `AsyncClient`).
#[tokio::test(flavor = "current_thread")]
async fn blocking_client_does_not_panic_inside_a_runtime() {
    let repos = Repos::new();
    let head = fixture(&repos);
    let server = HttpServer::start(
        &repos.root(),
        HttpAuth::Basic {
            user: "bot".into(),
            password: "pw".into(),
        },
    );
    let client = Client::new().with_auth(Auth::Basic {
        username: "bot".into(),
        password: "pw".into(),
    });
    let refs = client.list_refs(&server.url("app")).expect("list refs");
    assert!(refs.iter().any(|r| r.target == head));
    let daemon = Daemon::start(&repos.root());
    let tmp = tempfile::tempdir().expect("tmp");
    let out = client
        .checkout(
            &daemon.url("app"),
            &CheckoutOptions::new(Reference::Branch("main".into())),
            &tmp.path().join("co"),
        )
        .expect("checkout");
    assert!(matches!(out, CheckoutOutcome::Checked { .. }), "{out:?}");
}
