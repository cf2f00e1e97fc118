//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's
//! `leaderelection` does it with a `LeaseLock`:
//!
//! - read the Lease; absent → create it holding it (`holderIdentity`,
//!   `leaseDurationSeconds`, `acquireTime`, `renewTime`,
//!   `leaderTransitions: 0`);
//! - held by someone else whose `renewTime + leaseDurationSeconds` is still
//!   ahead → not leader, try again after the retry period;
//! - ours → renew (`renewTime = now`), expired or released → take it over
//!   (`acquireTime = now`, `leaderTransitions + 1`), both by a replace (PUT)
//!   carrying the `resourceVersion` read, so a concurrent writer gets a 409
//!   and loses;
//! - on shutdown, release: `holderIdentity: ""`, `leaseDurationSeconds: 1`,
//!   so the next instance takes over without waiting for expiry.
//!
//! Time is an argument (`now`) so the tests pin every timestamp.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// Flux's defaults (`--leader-election-lease-duration` 35 s,
/// `--leader-election-renew-deadline` 30 s,
/// `--leader-election-retry-period` 5 s).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a lease is valid after its renew time.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Wait between tries.
    pub retry_period: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            lease_duration: Duration::from_secs(35),
            renew_deadline: Duration::from_secs(30),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// One Lease and who we are.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
}

impl std::fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseLock")
            .field("name", &self.name)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn micro(t: SystemTime) -> MicroTime {
    // SystemTime within jiff's range (years -9999..=9999) always converts.
    MicroTime(Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

impl LeaseLock {
    /// The Lease `name` in `namespace`, held as `identity` (the pod name).
    #[must_use]
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        lease_duration: Duration,
    ) -> LeaseLock {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration,
        }
    }

    /// The lease name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Acquire or renew the lease at `now`. `Ok(true)`: we lead until
    /// `now + lease_duration`.
    ///
    /// # Errors
    /// API failures other than a lost race (409), which is `Ok(false)`.
    pub async fn try_acquire_or_renew(&self, now: SystemTime) -> Result<bool, kube::Error> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(secs(self.lease_duration)),
                    acquire_time: Some(micro(now)),
                    renew_time: Some(micro(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.identity;
        if !ours && !holder.is_empty() {
            let duration = Duration::from_secs(
                u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
            );
            let renewed = spec
                .renew_time
                .as_ref()
                .map(|t| SystemTime::from(t.0))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if renewed + duration > now {
                return Ok(false);
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(secs(self.lease_duration)),
            acquire_time: if ours {
                spec.acquire_time.clone()
            } else {
                Some(micro(now))
            },
            renew_time: Some(micro(now)),
            lease_transitions: Some(if ours { transitions } else { transitions + 1 }),
            ..spec
        };
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: current.metadata.resource_version.clone(),
                ..ObjectMeta::default()
            },
            spec: Some(new_spec),
        };
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Give the lease up at `now` if we hold it.
    ///
    /// # Errors
    /// API failures.
    pub async fn release(&self, now: SystemTime) -> Result<(), kube::Error> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let spec = current.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: current.metadata.resource_version.clone(),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(String::new()),
                lease_duration_seconds: Some(1),
                acquire_time: Some(micro(now)),
                renew_time: Some(micro(now)),
                ..spec
            }),
        };
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }
}

/// Wait until `lock` is ours (retrying every `timing.retry_period`), or
/// until `stop` resolves (`false`).
pub async fn acquire(
    lock: &LeaseLock,
    timing: Timing,
    stop: impl std::future::Future<Output = ()>,
) -> bool {
    let mut stop = std::pin::pin!(stop);
    loop {
        match lock.try_acquire_or_renew(SystemTime::now()).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => crate::log::warn(&format!("lease {}: {e}", lock.name())),
        }
        tokio::select! {
            () = &mut stop => return false,
            () = tokio::time::sleep(timing.retry_period) => {}
        }
    }
}

/// Renew `lock` every retry period; returns when a renewal has failed for
/// longer than the renew deadline (leadership lost).
pub async fn keep(lock: &LeaseLock, timing: Timing) {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(timing.retry_period).await;
        match lock.try_acquire_or_renew(SystemTime::now()).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => return,
            Err(e) => crate::log::warn(&format!("lease {} renewal: {e}", lock.name())),
        }
        if last_ok.elapsed() > timing.renew_deadline {
            return;
        }
    }
}
