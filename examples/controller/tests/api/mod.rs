//! The mocked API server the controller tests talk to (kube-rs's way: a
//! `tower_test` mock service behind `kube::Client`), and the test clock.
#![allow(dead_code)] // each test file uses its own part

use std::future::Future;
use std::time::{Duration, SystemTime};

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::Value;
use tower_test::mock::{Handle, SendResponse};

pub type ApiHandle = Handle<Request<Body>, Response<Body>>;

pub const NOW: u64 = 1_700_000_000;
pub const NOW_RFC3339: &str = "2023-11-14T22:13:20Z";

pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
}

/// A client whose API server is the returned handle.
pub fn mock() -> (kube::Client, ApiHandle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), handle)
}

/// Bound a test's future in time.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test timed out")
}

/// One request as the server saw it.
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
    pub reply: SendResponse<Response<Body>>,
}

/// The next request the controller sends.
pub async fn next(handle: &mut ApiHandle) -> Seen {
    let (req, reply) = handle
        .next_request()
        .await
        .expect("the controller sent no request");
    let (parts, body) = req.into_parts();
    let bytes = body.collect_bytes().await.expect("request body");
    Seen {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default(),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        },
        reply,
    }
}

/// Answer with `code` and a JSON body.
pub fn respond(reply: SendResponse<Response<Body>>, code: StatusCode, body: &Value) {
    reply.send_response(
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}
