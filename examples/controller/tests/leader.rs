//! Leader election against a mocked API server: the exact Lease requests
//! (get, create, replace with resourceVersion) and bodies.

use std::time::{Duration, SystemTime};

use gitops_controller::leader::LeaseLock;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

const T0: u64 = 1_700_000_000;
const PATH: &str =
    "/apis/coordination.k8s.io/v1/namespaces/flux-system/leases/gitops-controller-leader-election";
const COLLECTION: &str = "/apis/coordination.k8s.io/v1/namespaces/flux-system/leases";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn lock() -> (LeaseLock, ApiHandle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let lock = LeaseLock::new(
        client,
        "flux-system",
        "gitops-controller-leader-election",
        "pod-a",
        Duration::from_secs(35),
    );
    (lock, handle)
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test timed out")
}

async fn next(h: &mut ApiHandle) -> (Method, String, Value, SendResponse<Response<Body>>) {
    let (req, reply) = h.next_request().await.expect("no request");
    let (parts, body) = req.into_parts();
    let bytes = body.collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (parts.method, parts.uri.path().to_owned(), body, reply)
}

fn respond(reply: SendResponse<Response<Body>>, code: StatusCode, body: &Value) {
    reply.send_response(
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

fn lease(holder: &str, renew: &str, transitions: i32) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "gitops-controller-leader-election", "namespace": "flux-system", "resourceVersion": "42"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 35,
                 "acquireTime": "2023-11-14T22:00:00.000000Z", "renewTime": renew, "leaseTransitions": transitions}
    })
}

#[tokio::test]
async fn absent_lease_is_created_holding_it() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(at(T0)).await });
    bounded(async {
        let (m, p, _, reply) = next(&mut api).await;
        assert_eq!((m, p.as_str()), (Method::GET, PATH));
        respond(reply, StatusCode::NOT_FOUND, &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"}));
        let (m, p, body, reply) = next(&mut api).await;
        assert_eq!((m, p.as_str()), (Method::POST, COLLECTION));
        assert_eq!(
            body,
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "gitops-controller-leader-election"},
                   "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 35,
                            "acquireTime": "2023-11-14T22:13:20.000000Z", "renewTime": "2023-11-14T22:13:20.000000Z",
                            "leaseTransitions": 0}})
        );
        respond(reply, StatusCode::CREATED, &body);
        assert!(task.await.unwrap().unwrap());
    })
    .await;
}

#[tokio::test]
async fn lease_held_by_another_is_left_alone_until_it_expires() {
    // Renewed 10 s ago with 35 s: still valid, no write.
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(at(T0)).await });
    bounded(async {
        let (m, _, _, reply) = next(&mut api).await;
        assert_eq!(m, Method::GET);
        respond(
            reply,
            StatusCode::OK,
            &lease("pod-b", "2023-11-14T22:13:10.000000Z", 3),
        );
        assert!(!task.await.unwrap().unwrap());
    })
    .await;
    let pending = tokio::time::timeout(Duration::from_millis(100), api.next_request()).await;
    assert!(
        pending.is_err() || pending.unwrap().is_none(),
        "no write while another pod holds the lease"
    );

    // Renewed 40 s ago: expired, taken over with the resourceVersion read.
    let (lock, mut api) = self::lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(at(T0)).await });
    bounded(async {
        let (_, _, _, reply) = next(&mut api).await;
        respond(reply, StatusCode::OK, &lease("pod-b", "2023-11-14T22:12:40.000000Z", 3));
        let (m, p, body, reply) = next(&mut api).await;
        assert_eq!((m, p.as_str()), (Method::PUT, PATH));
        assert_eq!(
            body,
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "gitops-controller-leader-election", "resourceVersion": "42"},
                   "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 35,
                            "acquireTime": "2023-11-14T22:13:20.000000Z", "renewTime": "2023-11-14T22:13:20.000000Z",
                            "leaseTransitions": 4}})
        );
        respond(reply, StatusCode::OK, &body);
        assert!(task.await.unwrap().unwrap());
    })
    .await;
}

#[tokio::test]
async fn own_lease_is_renewed_and_a_lost_race_is_not_leadership() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(at(T0)).await });
    bounded(async {
        let (_, _, _, reply) = next(&mut api).await;
        respond(reply, StatusCode::OK, &lease("pod-a", "2023-11-14T22:13:15.000000Z", 1));
        let (m, _, body, reply) = next(&mut api).await;
        assert_eq!(m, Method::PUT);
        // Renewal: acquireTime and transitions kept, renewTime moves.
        assert_eq!(body["spec"]["acquireTime"], "2023-11-14T22:00:00.000000Z");
        assert_eq!(body["spec"]["renewTime"], "2023-11-14T22:13:20.000000Z");
        assert_eq!(body["spec"]["leaseTransitions"], 1);
        assert_eq!(body["metadata"]["resourceVersion"], "42");
        respond(
            reply,
            StatusCode::CONFLICT,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"}),
        );
        assert!(!task.await.unwrap().unwrap());
    })
    .await;
}

#[tokio::test]
async fn release_empties_the_holder() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.release(at(T0)).await });
    bounded(async {
        let (_, _, _, reply) = next(&mut api).await;
        respond(reply, StatusCode::OK, &lease("pod-a", "2023-11-14T22:13:15.000000Z", 1));
        let (m, p, body, reply) = next(&mut api).await;
        assert_eq!((m, p.as_str()), (Method::PUT, PATH));
        assert_eq!(
            body["spec"],
            json!({"holderIdentity": "", "leaseDurationSeconds": 1,
                   "acquireTime": "2023-11-14T22:13:20.000000Z", "renewTime": "2023-11-14T22:13:20.000000Z",
                   "leaseTransitions": 1})
        );
        respond(reply, StatusCode::OK, &body);
        task.await.unwrap().unwrap();
    })
    .await;
}
