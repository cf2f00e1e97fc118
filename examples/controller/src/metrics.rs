//! Prometheus metrics with controller-runtime's names, served on
//! `/metrics` (plus `/healthz` and `/readyz` for the probes) by a small
//! HTTP/1.1 responder on tokio.
//!
//! | metric | labels |
//! |---|---|
//! | `controller_runtime_reconcile_total` | `controller`, `result` (`success`, `error`, `requeue_after`) |
//! | `controller_runtime_reconcile_errors_total` | `controller` |
//! | `controller_runtime_reconcile_time_seconds` (histogram) | `controller` |
//! | `leader_election_master_status` (gauge, 1 when leading) | `name` |

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    // controller-runtime's buckets start at 5 ms; ten doublings reach ~5 s,
    // then the registry's slow scans.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The controller's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    reconcile_total: Family<Labels, Counter>,
    reconcile_errors: Family<Labels, Counter>,
    reconcile_time: Family<Labels, Histogram, fn() -> Histogram>,
    leader: Family<Labels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// How a reconcile ended, for `controller_runtime_reconcile_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, wait for a change.
    Success,
    /// Done, run again after a while.
    RequeueAfter,
    /// Failed.
    Error,
}

impl Metrics {
    /// The metrics, registered.
    #[must_use]
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let reconcile_total = Family::<Labels, Counter>::default();
        let reconcile_errors = Family::<Labels, Counter>::default();
        let reconcile_time = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            histogram as fn() -> Histogram,
        );
        let leader = Family::<Labels, Gauge>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconcile_total.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            reconcile_errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            reconcile_time.clone(),
        );
        registry.register(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
            leader.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            reconcile_total,
            reconcile_errors,
            reconcile_time,
            leader,
        }
    }

    /// Count one reconcile of `controller` (the kind, lower case) that took `took`.
    pub fn reconciled(&self, controller: &str, outcome: Outcome, took: Duration) {
        let c = vec![("controller", controller.to_owned())];
        let result = match outcome {
            Outcome::Success => "success",
            Outcome::RequeueAfter => "requeue_after",
            Outcome::Error => "error",
        };
        let mut with_result = c.clone();
        with_result.push(("result", result.to_owned()));
        self.reconcile_total.get_or_create(&with_result).inc();
        if outcome == Outcome::Error {
            self.reconcile_errors.get_or_create(&c).inc();
        }
        self.reconcile_time
            .get_or_create(&c)
            .observe(took.as_secs_f64());
    }

    /// Set `leader_election_master_status{name=lease}`.
    pub fn leading(&self, lease: &str, leading: bool) {
        self.leader
            .get_or_create(&vec![("name", lease.to_owned())])
            .set(i64::from(leading));
    }

    /// The text exposition (`text/plain; version=0.0.4` compatible OpenMetrics).
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing to a String does not fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

/// Parse a Go-style listen address: `:8080` means every interface.
///
/// # Errors
/// When the address is not `host:port`.
pub fn listen_addr(s: &str) -> Result<std::net::SocketAddr, std::net::AddrParseError> {
    if let Some(port) = s.strip_prefix(':') {
        format!("0.0.0.0:{port}").parse()
    } else {
        s.parse()
    }
}

/// The answer to one request line.
#[must_use]
pub fn respond(metrics: &Metrics, request_line: &str) -> (u16, &'static str, String) {
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return (405, "text/plain", "method not allowed\n".to_owned());
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        "/healthz" | "/readyz" => (200, "text/plain", "ok\n".to_owned()),
        _ => (404, "text/plain", "not found\n".to_owned()),
    }
}

/// Serve `/metrics`, `/healthz` and `/readyz` on `listener` until the task
/// is dropped. Requests are read up to 8 KiB and 10 s; one per connection.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut n = 0;
            let read = tokio::time::timeout(Duration::from_secs(10), async {
                while n < buf.len() {
                    match stream.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let head = String::from_utf8_lossy(&buf[..n]);
            let line = head.lines().next().unwrap_or("");
            let (code, ctype, body) = respond(&metrics, line);
            let reason = match code {
                200 => "OK",
                404 => "Not Found",
                _ => "Method Not Allowed",
            };
            let resp = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
