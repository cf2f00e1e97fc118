//! The controller against a mocked API server (kube-rs's way: a
//! `tower_test` mock service behind `kube::Client`): every request the
//! controller sends is checked — method, path, query, content type, body —
//! and answered by the test. Every test is bounded by a timeout.

mod api;

use api::*;
use std::sync::Arc;
use std::time::Duration;

use gitops_controller::context::Context;
use gitops_controller::metrics::Metrics;
use gitops_controller::registry::FixedTags;
use gitops_controller::run::{Scope, Shutdown};
use gitops_controller::{image_policy, image_repository};
use gitops_core::flux::{ImagePolicyResource, ImageRepositoryResource};
use http::{Method, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::SendResponse;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn context(client: kube::Client) -> Arc<Context> {
    let registry = FixedTags::new()
        .with("ghcr.io/stefanprodan/podinfo", "6.0.0", DIGEST)
        .with("ghcr.io/stefanprodan/podinfo", "6.1.0", DIGEST)
        .with("ghcr.io/stefanprodan/podinfo", "6.1.0.sig", DIGEST);
    Arc::new(
        Context::new(
            client,
            Arc::new(registry),
            Arc::new(Metrics::new()),
            Some("pod-a".to_owned()),
        )
        .with_clock(Arc::new(now)),
    )
}

fn not_found(reply: SendResponse<Response<Body>>, what: &str) {
    respond(
        reply,
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": format!("{what} not found")}),
    );
}

fn repository() -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1beta2",
        "kind": "ImageRepository",
        "metadata": {
            "name": "podinfo", "namespace": "flux-system", "generation": 1,
            "uid": "uid-repo", "resourceVersion": "100",
            "labels": {"sharding.fluxcd.io/key": "shard1"}
        },
        "spec": {"image": "ghcr.io/stefanprodan/podinfo", "interval": "5m"}
    })
}

fn policy() -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1beta2",
        "kind": "ImagePolicy",
        "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 2, "uid": "uid-policy", "resourceVersion": "200"},
        "spec": {
            "imageRepositoryRef": {"name": "podinfo"},
            "policy": {"semver": {"range": "6.x"}},
            "digestReflectionPolicy": "IfNotPresent"
        }
    })
}

fn revision() -> String {
    gitops_reconcile::image_repository::tags_revision(&["6.1.0".to_owned(), "6.0.0".to_owned()])
}

/// The status merge patch of the first scan of `repository()`.
fn scan_patch() -> Value {
    let rev = revision();
    json!({"status": {
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "Succeeded",
            "message": format!("successful scan: found 2 tags with checksum {rev}"),
            "lastTransitionTime": NOW_RFC3339, "observedGeneration": 1
        }],
        "observedGeneration": 1,
        "canonicalImageName": "ghcr.io/stefanprodan/podinfo",
        "lastScanResult": {"revision": rev, "tagCount": 2, "scanTime": NOW_RFC3339, "latestTags": ["6.1.0", "6.0.0"]},
        "observedExclusionList": ["^.*\\.sig$"]
    }})
}

/// Check the status PATCH of the first scan and answer it.
fn check_status_patch(seen: Seen) {
    assert_eq!(seen.method, Method::PATCH);
    assert_eq!(
        seen.path,
        "/apis/image.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/imagerepositories/podinfo/status"
    );
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(seen.body, scan_patch());
    let mut obj = repository();
    obj["status"] = seen.body["status"].clone();
    respond(seen.reply, StatusCode::OK, &obj);
}

/// Check an Event POST and answer it.
fn check_event(seen: Seen, kind: &str, uid: &str, r#type: &str, reason: &str, note: &str) {
    assert_eq!(seen.method, Method::POST);
    assert_eq!(
        seen.path,
        "/apis/events.k8s.io/v1/namespaces/flux-system/events"
    );
    assert_eq!(seen.content_type, "application/json");
    let b = &seen.body;
    assert_eq!(b["apiVersion"], "events.k8s.io/v1");
    assert_eq!(b["kind"], "Event");
    assert_eq!(b["type"], r#type);
    assert_eq!(b["reason"], reason);
    assert_eq!(b["note"], note);
    assert_eq!(b["action"], "Reconcile");
    assert_eq!(b["reportingController"], "image-reflector-controller");
    assert_eq!(b["reportingInstance"], "pod-a");
    assert_eq!(b["metadata"]["namespace"], "flux-system");
    assert!(
        b["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("podinfo.")
    );
    assert_eq!(
        b["regarding"],
        json!({"apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": kind, "name": "podinfo", "namespace": "flux-system", "uid": uid})
    );
    respond(seen.reply, StatusCode::CREATED, b);
}

#[tokio::test]
async fn image_repository_scan_patches_status_and_records_event() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let obj: ImageRepositoryResource = serde_json::from_value(repository()).unwrap();
    let task = tokio::spawn(image_repository::reconcile(Arc::new(obj), ctx.clone()));
    bounded(async {
        check_status_patch(next(&mut api).await);
        let note = format!("successful scan: found 2 tags with checksum {}", revision());
        check_event(
            next(&mut api).await,
            "ImageRepository",
            "uid-repo",
            "Normal",
            "Succeeded",
            &note,
        );
        let action = task.await.unwrap().unwrap();
        assert_eq!(
            action,
            kube::runtime::controller::Action::requeue(Duration::from_secs(300))
        );
    })
    .await;
    assert_eq!(ctx.tags.get("flux-system", "podinfo"), ["6.1.0", "6.0.0"]);
}

#[tokio::test]
async fn image_repository_unchanged_status_sends_nothing() {
    // A run right after the scan: not due, same status → no PATCH, no event.
    let (client, mut api) = mock();
    let ctx = context(client);
    ctx.tags.set(
        "flux-system",
        "podinfo",
        vec!["6.1.0".to_owned(), "6.0.0".to_owned()],
    );
    let mut v = repository();
    v["status"] = scan_patch()["status"].clone();
    let obj: ImageRepositoryResource = serde_json::from_value(v).unwrap();
    let action = bounded(image_repository::reconcile(Arc::new(obj), ctx))
        .await
        .unwrap();
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(300))
    );
    // No request reached the server.
    let pending = tokio::time::timeout(Duration::from_millis(200), api.next_request()).await;
    assert!(
        pending.is_err() || pending.unwrap().is_none(),
        "unexpected request"
    );
}

#[tokio::test]
async fn image_policy_reads_repository_patches_latest_ref_and_records_event() {
    let (client, mut api) = mock();
    let ctx = context(client);
    ctx.tags.set(
        "flux-system",
        "podinfo",
        vec!["6.1.0".to_owned(), "6.0.0".to_owned()],
    );
    let obj: ImagePolicyResource = serde_json::from_value(policy()).unwrap();
    let task = tokio::spawn(image_policy::reconcile(Arc::new(obj), ctx.clone()));
    bounded(async {
        let get = next(&mut api).await;
        assert_eq!(get.method, Method::GET);
        assert_eq!(get.path, "/apis/image.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/imagerepositories/podinfo");
        let mut repo = repository();
        repo["status"] = scan_patch()["status"].clone();
        respond(get.reply, StatusCode::OK, &repo);

        let patch = next(&mut api).await;
        assert_eq!(patch.method, Method::PATCH);
        assert_eq!(patch.path, "/apis/image.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/imagepolicies/podinfo/status");
        assert_eq!(patch.content_type, "application/merge-patch+json");
        let message = format!("Latest image tag for ghcr.io/stefanprodan/podinfo resolved to 6.1.0 with digest {DIGEST}");
        assert_eq!(
            patch.body,
            json!({"status": {
                "latestRef": {"name": "ghcr.io/stefanprodan/podinfo", "tag": "6.1.0", "digest": DIGEST},
                "observedGeneration": 2,
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Succeeded", "message": message,
                    "lastTransitionTime": NOW_RFC3339, "observedGeneration": 2
                }]
            }})
        );
        let mut obj = policy();
        obj["status"] = patch.body["status"].clone();
        respond(patch.reply, StatusCode::OK, &obj);

        check_event(next(&mut api).await, "ImagePolicy", "uid-policy", "Normal", "Succeeded", &message);
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, kube::runtime::controller::Action::await_change());
    })
    .await;
}

#[tokio::test]
async fn image_policy_without_repository_is_dependency_not_ready() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let obj: ImagePolicyResource = serde_json::from_value(policy()).unwrap();
    let task = tokio::spawn(image_policy::reconcile(Arc::new(obj), ctx));
    bounded(async {
        let get = next(&mut api).await;
        assert_eq!(get.method, Method::GET);
        not_found(get.reply, "imagerepositories.image.toolkit.fluxcd.io \"podinfo\"");
        let patch = next(&mut api).await;
        let message = "failed to get the referred ImageRepository: referenced ImageRepository does not exist: imagerepositories.image.toolkit.fluxcd.io \"podinfo\" not found";
        assert_eq!(
            patch.body,
            json!({"status": {"conditions": [
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
                 "message": "processing object: new generation 0 -> 2", "lastTransitionTime": NOW_RFC3339, "observedGeneration": 2},
                {"type": "Ready", "status": "False", "reason": "DependencyNotReady",
                 "message": message, "lastTransitionTime": NOW_RFC3339, "observedGeneration": 2}
            ]}})
        );
        respond(patch.reply, StatusCode::OK, &policy());
        let ev = next(&mut api).await;
        assert_eq!(ev.body["type"], "Warning");
        assert_eq!(ev.body["reason"], "DependencyNotReady");
        respond(ev.reply, StatusCode::CREATED, &ev.body.clone());
        // Retried after the repository-dependency wait (the error's retry).
        let action = task.await.unwrap().unwrap();
        assert_eq!(action, kube::runtime::controller::Action::requeue(Duration::from_secs(30)));
    })
    .await;
}

#[test]
fn policies_follow_their_repository() {
    let p: ImagePolicyResource = serde_json::from_value(policy()).unwrap();
    let mut other = policy();
    other["metadata"]["name"] = json!("other");
    other["spec"]["imageRepositoryRef"] = json!({"name": "podinfo", "namespace": "apps"});
    let other: ImagePolicyResource = serde_json::from_value(other).unwrap();
    let repo: ImageRepositoryResource = serde_json::from_value(repository()).unwrap();
    let refs = image_policy::policies_of(&[Arc::new(p), Arc::new(other)], &repo);
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].name, "podinfo");
    assert_eq!(refs[0].namespace.as_deref(), Some("flux-system"));
}

/// The whole ImageRepository controller on the mock: the sharded list and
/// watch (label selector on both), one reconcile (status PATCH, Event),
/// then graceful shutdown.
#[tokio::test]
async fn controller_lists_with_shard_selector_reconciles_and_shuts_down() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let scope = Scope {
        namespace: None,
        label_selector: Some("sharding.fluxcd.io/key=shard1".to_owned()),
        concurrent: 2,
        kustomizations: false,
    };
    let (stop, shutdown) = Shutdown::new();
    let controller = tokio::spawn(gitops_controller::run::image_repositories(
        ctx.clone(),
        &scope,
        &shutdown,
    ));
    bounded(async {
        let (mut listed, mut watched, mut patched, mut evented) = (false, false, false, false);
        while !(listed && watched && patched && evented) {
            let seen = next(&mut api).await;
            let path = "/apis/image.toolkit.fluxcd.io/v1beta2/imagerepositories";
            match (seen.method.clone(), seen.path.as_str()) {
                (Method::GET, p) if p == path && !seen.query.contains("watch=true") => {
                    assert_eq!(seen.query, "&labelSelector=sharding.fluxcd.io%2Fkey%3Dshard1&limit=500");
                    listed = true;
                    respond(
                        seen.reply,
                        StatusCode::OK,
                        &json!({"apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageRepositoryList",
                                "metadata": {"resourceVersion": "100"}, "items": [repository()]}),
                    );
                }
                (Method::GET, p) if p == path => {
                    assert!(seen.query.contains("labelSelector=sharding.fluxcd.io%2Fkey%3Dshard1"), "{}", seen.query);
                    assert!(seen.query.contains("resourceVersion=100"), "{}", seen.query);
                    assert!(seen.query.contains("allowWatchBookmarks=true"), "{}", seen.query);
                    watched = true;
                    // An empty stream: the watcher reconnects later.
                    seen.reply.send_response(Response::builder().body(Body::from(Vec::new())).unwrap());
                }
                (Method::PATCH, _) => {
                    patched = true;
                    check_status_patch(seen);
                }
                (Method::POST, _) => {
                    evented = true;
                    let note = format!("successful scan: found 2 tags with checksum {}", revision());
                    check_event(seen, "ImageRepository", "uid-repo", "Normal", "Succeeded", &note);
                }
                (m, p) => panic!("unexpected request {m} {p}?{}", seen.query),
            }
        }
        stop.send(true).unwrap();
        // Keep answering reconnecting watches until the controller stops.
        let mut controller = controller;
        loop {
            tokio::select! {
                r = &mut controller => { r.unwrap(); break; }
                req = api.next_request() => {
                    let Some((req, reply)) = req else { break };
                    assert_eq!(req.method(), Method::GET, "only watches after shutdown");
                    reply.send_response(Response::builder().body(Body::from(Vec::new())).unwrap());
                }
            }
        }
    })
    .await;
    let text = ctx.metrics.render();
    assert!(
        text.contains("controller_runtime_reconcile_total{controller=\"imagerepository\",result=\"requeue_after\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "controller_runtime_reconcile_time_seconds_count{controller=\"imagerepository\"} 1"
        ),
        "{text}"
    );
}

/// `spec.secretRef`: the docker config Secret is read (GET in the
/// repository's namespace) and its credentials used for the scan; a
/// registry that refuses anonymous requests answers with them.
#[tokio::test]
async fn image_repository_scans_with_its_secret_ref() {
    const CONFIG: &str = r#"{"auths":{"ghcr.io":{"username":"bot","password":"s3cret"}}}"#;
    let (client, mut api) = mock();
    let registry = FixedTags::new()
        .with("ghcr.io/stefanprodan/podinfo", "6.0.0", DIGEST)
        .with("ghcr.io/stefanprodan/podinfo", "6.1.0", DIGEST)
        .requiring(CONFIG);
    let ctx = Arc::new(
        Context::new(
            client,
            Arc::new(registry),
            Arc::new(Metrics::new()),
            Some("pod-a".to_owned()),
        )
        .with_clock(Arc::new(now)),
    );
    let mut v = repository();
    v["spec"]["secretRef"] = json!({"name": "regcred"});
    let obj: ImageRepositoryResource = serde_json::from_value(v).unwrap();
    let task = tokio::spawn(image_repository::reconcile(Arc::new(obj), ctx.clone()));
    bounded(async {
        let seen = next(&mut api).await;
        assert_eq!(seen.method, Method::GET);
        assert_eq!(seen.path, "/api/v1/namespaces/flux-system/secrets/regcred");
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(CONFIG);
        respond(
            seen.reply,
            StatusCode::OK,
            &json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                    "metadata": {"name": "regcred", "namespace": "flux-system"},
                    "data": {".dockerconfigjson": data}}),
        );
        check_status_patch(next(&mut api).await);
        let event = next(&mut api).await;
        assert_eq!(event.body["reason"], "Succeeded");
        respond(event.reply, StatusCode::CREATED, &event.body.clone());
        task.await.unwrap().unwrap();
    })
    .await;
    assert_eq!(ctx.tags.get("flux-system", "podinfo"), ["6.1.0", "6.0.0"]);
}

/// A missing `secretRef` Secret is an authentication failure, not a scan.
#[tokio::test]
async fn image_repository_with_missing_secret_is_authentication_failed() {
    let (client, mut api) = mock();
    let ctx = context(client);
    let mut v = repository();
    v["spec"]["secretRef"] = json!({"name": "regcred"});
    let obj: ImageRepositoryResource = serde_json::from_value(v).unwrap();
    let task = tokio::spawn(image_repository::reconcile(Arc::new(obj), ctx.clone()));
    bounded(async {
        let seen = next(&mut api).await;
        assert_eq!(seen.path, "/api/v1/namespaces/flux-system/secrets/regcred");
        not_found(seen.reply, "secrets \"regcred\"");
        let patch = next(&mut api).await;
        let conditions = patch.body["status"]["conditions"].as_array().unwrap();
        let ready = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(ready["type"], "Ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "AuthenticationFailed");
        assert_eq!(
            ready["message"],
            "failed to configure authentication options: secrets \"regcred\" not found"
        );
        respond(patch.reply, StatusCode::OK, &repository());
        let event = next(&mut api).await;
        assert_eq!(event.body["type"], "Warning");
        respond(event.reply, StatusCode::CREATED, &event.body.clone());
        task.await.unwrap().unwrap();
    })
    .await;
}
