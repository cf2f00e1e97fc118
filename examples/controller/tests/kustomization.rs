//! The Kustomization reconciler (`--enable-kustomizations`) against a
//! mocked API server (`tower_test`), with the source artifact served over
//! loopback HTTP: a tar.gz made by `gitops_source::archive::write`. Every
//! request to the API server is checked — method, path, query, content
//! type, body — and answered by the test. Every test is bounded in time.

mod api;

use api::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gitops_controller::context::Context;
use gitops_controller::kustomization;
use gitops_controller::metrics::Metrics;
use gitops_controller::registry::FixedTags;
use gitops_core::flux::{GitRepositoryResource, KustomizationResource};
use http::{Method, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_test::mock::SendResponse;

const REV1: &str = "main@sha1:1111111111111111111111111111111111111111";
const REV2: &str = "main@sha1:2222222222222222222222222222222222222222";
const APPLY_QUERY: &str = "&force=true&fieldManager=kustomize-controller";

fn context(client: kube::Client) -> Arc<Context> {
    Arc::new(
        Context::new(
            client,
            Arc::new(FixedTags::new()),
            Arc::new(Metrics::new()),
            Some("pod-a".to_owned()),
        )
        .with_clock(Arc::new(now)),
    )
}

fn not_found(reply: SendResponse<Response<Body>>) {
    respond(
        reply,
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"}),
    );
}

/// Expect a GET of `path` and answer it (`None`: 404).
async fn expect_get(api: &mut ApiHandle, path: &str, answer: Option<Value>) {
    let seen = next(api).await;
    assert_eq!(
        (seen.method.clone(), seen.path.as_str()),
        (Method::GET, path),
        "query {}",
        seen.query
    );
    match answer {
        Some(v) => respond(seen.reply, StatusCode::OK, &v),
        None => not_found(seen.reply),
    }
}

/// Expect a server-side apply of `body` to `path` and echo it.
async fn expect_apply(api: &mut ApiHandle, path: &str, body: &Value) {
    let seen = next(api).await;
    assert_eq!(
        (seen.method.clone(), seen.path.as_str()),
        (Method::PATCH, path)
    );
    assert_eq!(seen.query, APPLY_QUERY);
    assert_eq!(seen.content_type, "application/apply-patch+yaml");
    assert_eq!(&seen.body, body);
    respond(seen.reply, StatusCode::OK, body);
}

const KS_STATUS: &str =
    "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps/status";
const GITREPO: &str =
    "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/podinfo";
const VARS: &str = "/api/v1/namespaces/flux-system/configmaps/vars";
const NO_SECRET: &str = "/api/v1/namespaces/flux-system/secrets/missing";
const NS: &str = "/api/v1/namespaces/apps";
const CM: &str = "/api/v1/namespaces/apps/configmaps/web";

/// Expect the status merge patch; answer with the object carrying it.
async fn expect_status(api: &mut ApiHandle, ks: &Value, status: &Value) {
    let seen = next(api).await;
    assert_eq!(
        (seen.method.clone(), seen.path.as_str()),
        (Method::PATCH, KS_STATUS)
    );
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(seen.body, json!({ "status": status }));
    let mut obj = ks.clone();
    obj["status"] = status.clone();
    respond(seen.reply, StatusCode::OK, &obj);
}

/// Expect an Event POST of kustomize-controller about the Kustomization.
async fn expect_event(api: &mut ApiHandle, r#type: &str, reason: &str, note: &str) {
    let seen = next(api).await;
    assert_eq!(
        (seen.method.clone(), seen.path.as_str()),
        (
            Method::POST,
            "/apis/events.k8s.io/v1/namespaces/flux-system/events"
        )
    );
    let b = &seen.body;
    assert_eq!(
        (b["type"].as_str(), b["reason"].as_str(), b["note"].as_str()),
        (Some(r#type), Some(reason), Some(note))
    );
    assert_eq!(b["action"], "Reconcile");
    assert_eq!(b["reportingController"], "kustomize-controller");
    assert_eq!(b["reportingInstance"], "pod-a");
    assert_eq!(
        b["regarding"],
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "apps", "namespace": "flux-system", "uid": "uid-ks"})
    );
    respond(seen.reply, StatusCode::CREATED, b);
}

/// Nothing more reaches the API server.
async fn quiet(api: &mut ApiHandle) {
    let pending = tokio::time::timeout(Duration::from_millis(200), api.next_request()).await;
    assert!(
        pending.is_err() || pending.unwrap().is_none(),
        "unexpected request"
    );
}

/// A one-file-per-connection HTTP/1.1 server on loopback answering every
/// GET with `body`; returns its base URL.
async fn serve(body: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut n = 0;
                while n < buf.len() {
                    match s.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

/// The artifact of a tree with `files` under `apps/`, and its digest.
fn artifact(files: &[(&str, &str)]) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("apps")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("apps").join(name), text).unwrap();
    }
    let mut bytes = Vec::new();
    let summary = gitops_source::archive::write(
        Path::new(dir.path()),
        &gitops_source::archive::Options::default(),
        &mut bytes,
    )
    .unwrap();
    (bytes, summary.digest.as_str().to_owned())
}

const NAMESPACE_YAML: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n";
const CONFIGMAP_YAML: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: apps\ndata:\n  greeting: ${GREETING}\n";

fn kustomization() -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1, "uid": "uid-ks", "resourceVersion": "300"},
        "spec": {
            "interval": "10m", "prune": true, "path": "./apps",
            "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
            "postBuild": {"substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "missing", "optional": true}
            ]}
        }
    })
}

fn git_repository(url: &str, digest: &str, revision: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 1},
        "spec": {"url": "https://github.com/stefanprodan/podinfo", "interval": "1m"},
        "status": {"artifact": {
            "url": format!("{url}/gitrepository/flux-system/podinfo/{}.tar.gz", &revision[10..]),
            "digest": digest, "revision": revision,
            "path": "gitrepository/flux-system/podinfo/x.tar.gz",
            "lastUpdateTime": NOW_RFC3339
        }}
    })
}

fn vars() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "vars", "namespace": "flux-system"},
           "data": {"GREETING": "hello"}})
}

fn owner_labels() -> Value {
    json!({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"})
}

fn namespace_object() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": owner_labels()}})
}

fn configmap_object() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "web", "namespace": "apps", "labels": owner_labels()},
           "data": {"greeting": "hello"}})
}

fn ready(reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": "True", "reason": reason, "message": message,
           "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1})
}

/// The status after applying `revision` with `entries`.
fn applied_status(revision: &str, entries: Value) -> Value {
    json!({
        "observedGeneration": 1,
        "conditions": [ready("ReconciliationSucceeded", &format!("Applied revision: {revision}"))],
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "inventory": {"entries": entries}
    })
}

fn run(
    ks: Value,
    ctx: &Arc<Context>,
) -> tokio::task::JoinHandle<Result<Action, gitops_controller::Error>> {
    let obj: KustomizationResource = serde_json::from_value(ks).unwrap();
    tokio::spawn(kustomization::reconcile(Arc::new(obj), ctx.clone()))
}

/// First apply: source, substitutions, live objects (absent), the two
/// server-side applies in stage order, the status, the events. Then a
/// second revision without the ConfigMap: the Namespace is applied again
/// and the ConfigMap, found live with the owner labels, is deleted.
#[tokio::test]
async fn applies_the_artifact_then_prunes_what_left_the_source() {
    let (bytes, digest) = artifact(&[("ns.yaml", NAMESPACE_YAML), ("cm.yaml", CONFIGMAP_YAML)]);
    let (url, server) = serve(bytes).await;
    let (client, mut api) = mock();
    let ctx = context(client);
    let ks = kustomization();
    let entries = json!([
        {"id": "_apps__Namespace", "v": "v1"},
        {"id": "apps_web__ConfigMap", "v": "v1"}
    ]);
    let first = applied_status(REV1, entries);
    let task = run(ks.clone(), &ctx);
    bounded(async {
        expect_get(&mut api, GITREPO, Some(git_repository(&url, &digest, REV1))).await;
        expect_get(&mut api, VARS, Some(vars())).await;
        expect_get(&mut api, NO_SECRET, None).await;
        expect_get(&mut api, NS, None).await;
        expect_get(&mut api, CM, None).await;
        expect_apply(&mut api, NS, &namespace_object()).await;
        expect_apply(&mut api, CM, &configmap_object()).await;
        expect_status(&mut api, &ks, &first).await;
        expect_event(
            &mut api,
            "Normal",
            "Progressing",
            "Namespace/apps created\nConfigMap/apps/web created",
        )
        .await;
        expect_event(
            &mut api,
            "Normal",
            "ReconciliationSucceeded",
            "Reconciliation finished, next run in 10m0s",
        )
        .await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(600)));
        quiet(&mut api).await;
    })
    .await;
    server.abort();

    // Revision 2: the ConfigMap left the source.
    let (bytes, digest) = artifact(&[("ns.yaml", NAMESPACE_YAML)]);
    let (url, server) = serve(bytes).await;
    let mut ks2 = ks.clone();
    ks2["status"] = first;
    let second = applied_status(REV2, json!([{"id": "_apps__Namespace", "v": "v1"}]));
    // A new context (another pod): the same context would send the repeated
    // "Reconciliation finished" as an Event series PATCH (kube-runtime's cache).
    let (client, mut api) = mock();
    let ctx = context(client);
    let task = run(ks2.clone(), &ctx);
    bounded(async {
        expect_get(&mut api, GITREPO, Some(git_repository(&url, &digest, REV2))).await;
        expect_get(&mut api, VARS, Some(vars())).await;
        expect_get(&mut api, NO_SECRET, None).await;
        expect_get(&mut api, NS, Some(namespace_object())).await;
        expect_get(&mut api, CM, Some(configmap_object())).await;
        expect_apply(&mut api, NS, &namespace_object()).await;
        let del = next(&mut api).await;
        assert_eq!(
            (del.method.clone(), del.path.as_str()),
            (Method::DELETE, CM)
        );
        assert_eq!(del.body["propagationPolicy"], "Background");
        respond(del.reply, StatusCode::OK, &configmap_object());
        expect_status(&mut api, &ks2, &second).await;
        expect_event(
            &mut api,
            "Normal",
            "Progressing",
            "ConfigMap/apps/web deleted",
        )
        .await;
        expect_event(
            &mut api,
            "Normal",
            "ReconciliationSucceeded",
            "Reconciliation finished, next run in 10m0s",
        )
        .await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(600)));
        quiet(&mut api).await;
    })
    .await;
    server.abort();
}

/// The API server refuses the first apply: Ready=False
/// ReconciliationFailed naming the object, a Warning, no further apply, no
/// prune, the inventory not written.
#[tokio::test]
async fn apply_error_stops_the_run() {
    let (bytes, digest) = artifact(&[("ns.yaml", NAMESPACE_YAML), ("cm.yaml", CONFIGMAP_YAML)]);
    let (url, server) = serve(bytes).await;
    let (client, mut api) = mock();
    let ctx = context(client);
    let ks = kustomization();
    let task = run(ks.clone(), &ctx);
    bounded(async {
        expect_get(&mut api, GITREPO, Some(git_repository(&url, &digest, REV1))).await;
        expect_get(&mut api, VARS, Some(vars())).await;
        expect_get(&mut api, NO_SECRET, None).await;
        expect_get(&mut api, NS, None).await;
        expect_get(&mut api, CM, None).await;
        let seen = next(&mut api).await;
        assert_eq!((seen.method.clone(), seen.path.as_str()), (Method::PATCH, NS));
        respond(
            seen.reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422, "message": "namespace is invalid"}),
        );
        let patch = next(&mut api).await;
        assert_eq!((patch.method.clone(), patch.path.as_str()), (Method::PATCH, KS_STATUS));
        let st = &patch.body["status"];
        assert_eq!(st["lastAttemptedRevision"], REV1);
        assert!(st.get("lastAppliedRevision").is_none() && st.get("inventory").is_none(), "{st}");
        let ready = st["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("False"), Some("ReconciliationFailed")));
        let message = ready["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with("Namespace/apps apply failed: "), "{message}");
        assert!(message.contains("namespace is invalid"), "{message}");
        respond(patch.reply, StatusCode::OK, &ks);
        expect_event(&mut api, "Warning", "ReconciliationFailed", &message).await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(600)));
        quiet(&mut api).await;
    })
    .await;
    server.abort();
}

/// No GitRepository: Ready=False ArtifactFailed, nothing built or applied.
#[tokio::test]
async fn missing_source_is_artifact_failed() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let ks = kustomization();
    let task = run(ks.clone(), &ctx);
    bounded(async {
        expect_get(&mut api, GITREPO, None).await;
        let status = json!({"conditions": [{
            "type": "Ready", "status": "False", "reason": "ArtifactFailed",
            "message": "Source 'GitRepository/flux-system/podinfo' not found",
            "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1
        }]});
        expect_status(&mut api, &ks, &status).await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(600)));
        quiet(&mut api).await;
    })
    .await;
}

/// The served bytes do not have the artifact's digest: nothing is read,
/// built or applied; Ready=False ArtifactFailed with the mismatch, a
/// Warning, the retry interval.
#[tokio::test]
async fn digest_mismatch_refuses_to_build() {
    let (_, digest) = artifact(&[("ns.yaml", NAMESPACE_YAML)]);
    let (other, _) = artifact(&[("ns.yaml", CONFIGMAP_YAML)]);
    let actual = gitops_source::archive::digest_of(&other[..]).unwrap();
    let (url, server) = serve(other).await;
    let (client, mut api) = mock();
    let ctx = context(client);
    let mut ks = kustomization();
    ks["spec"]["retryInterval"] = json!("1m");
    let task = run(ks.clone(), &ctx);
    bounded(async {
        expect_get(&mut api, GITREPO, Some(git_repository(&url, &digest, REV1))).await;
        let message = format!(
            "failed to verify artifact: digest mismatch: expected {digest}, got {}",
            actual.as_str()
        );
        let status = json!({"conditions": [
            {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
             "message": format!("Fetching manifests for revision {REV1} with a timeout of 10m0s"),
             "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1},
            {"type": "Ready", "status": "False", "reason": "ArtifactFailed", "message": message,
             "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1}
        ]});
        expect_status(&mut api, &ks, &status).await;
        expect_event(&mut api, "Warning", "ArtifactFailed", &message).await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(60)));
        quiet(&mut api).await;
    })
    .await;
    server.abort();
}

/// A dependency whose Ready condition is for an older generation is not
/// ready: DependencyNotReady, the dependency requeue, no download.
#[tokio::test]
async fn dependency_not_ready_waits() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let mut ks = kustomization();
    ks["spec"]["dependsOn"] = json!([{"name": "infra"}]);
    let task = run(ks.clone(), &ctx);
    bounded(async {
        let digest = format!("sha256:{}", "0".repeat(64));
        expect_get(
            &mut api,
            GITREPO,
            Some(git_repository("http://127.0.0.1:9", &digest, REV1)),
        )
        .await;
        let mut infra = kustomization();
        infra["metadata"]["name"] = json!("infra");
        infra["metadata"]["generation"] = json!(2);
        infra["status"] = applied_status(REV1, json!([]));
        expect_get(
            &mut api,
            "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/infra",
            Some(infra),
        )
        .await;
        let status = json!({"conditions": [{
            "type": "Ready", "status": "False", "reason": "DependencyNotReady",
            "message": "dependency 'flux-system/infra' is not ready",
            "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1
        }]});
        expect_status(&mut api, &ks, &status).await;
        expect_event(
            &mut api,
            "Normal",
            "DependencyNotReady",
            "Dependencies do not meet ready condition, retrying in 30s",
        )
        .await;
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Duration::from_secs(30)));
        quiet(&mut api).await;
    })
    .await;
}

#[test]
fn kustomizations_follow_their_git_repository() {
    let a: KustomizationResource = serde_json::from_value(kustomization()).unwrap();
    let mut other = kustomization();
    other["metadata"]["name"] = json!("other");
    other["spec"]["sourceRef"] =
        json!({"kind": "GitRepository", "name": "podinfo", "namespace": "apps"});
    let other: KustomizationResource = serde_json::from_value(other).unwrap();
    let repo: GitRepositoryResource =
        serde_json::from_value(git_repository("http://x", "sha256:0", REV1)).unwrap();
    let refs = kustomization::kustomizations_of(&[Arc::new(a), Arc::new(other)], &repo);
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].name, "apps");
}
