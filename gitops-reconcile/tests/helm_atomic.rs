//! helm-controller v2's atomic release scenarios, one row per Go case and
//! named like it: `TestAtomicRelease_Reconcile_Scenarios`
//! (internal/reconcile/atomic_release_test.go), driven over an in-memory
//! Helm that writes release records the way Helm's install, upgrade, test,
//! rollback, uninstall and unlock do.

use gitops_core::flux::HelmReleaseSpec;
use gitops_reconcile::helm::atomic::{AtomicError, HelmActions, Request, reconcile};
use gitops_reconcile::helm::lifecycle::{
    Desired, HelmReleaseStatus, Options, Outcome, Storage, StoredRelease,
};
use gitops_reconcile::helm::release::Release;
use gitops_reconcile::helm::snapshot::{Snapshot, test_hooks, values_digest};
use serde_json::{Map, Value, json};

const NAME: &str = "mock-release";
const NS: &str = "mock-ns";
const NOW: &str = "2026-01-01T00:00:00Z";

/// The chart asked for: `testutil.BuildChart` with its options.
#[derive(Clone, Copy)]
struct Chart {
    version: &'static str,
    failing_hook: bool,
    failing_test: bool,
}

const CHART: Chart = Chart {
    version: "0.1.0",
    failing_hook: false,
    failing_test: false,
};

fn record(version: i64, status: &str, chart: Chart, config: Option<&Value>) -> Release {
    let mut hooks = Vec::new();
    if chart.failing_hook {
        hooks.push(
            json!({"name": "failing-hook", "kind": "Pod", "path": "templates/hook.yaml",
            "events": ["post-install", "post-upgrade"], "last_run": {"phase": "Failed"}}),
        );
    }
    if chart.failing_test {
        hooks.push(
            json!({"name": "failing-test", "kind": "Pod", "path": "templates/test.yaml",
            "events": ["test"], "last_run": {"phase": ""}}),
        );
    }
    serde_json::from_value(json!({
        "name": NAME,
        "namespace": NS,
        "version": version,
        "info": {"status": status, "first_deployed": NOW, "last_deployed": NOW},
        "chart": {"metadata": {"name": "hello", "version": chart.version, "apiVersion": "v2"}},
        "config": config.cloned().unwrap_or(Value::Null),
        "manifest": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        "hooks": hooks,
    }))
    .unwrap()
}

fn set_status(r: &mut Release, status: &str) {
    let mut v = serde_json::to_value(&*r).unwrap();
    v["info"]["status"] = json!(status);
    *r = serde_json::from_value(v).unwrap();
}

fn status_of(r: &Release) -> String {
    r.status().to_string()
}

/// An in-memory Helm: storage is a list of records; every write is
/// reported in the outcome, as helm-controller's storage observer sees it.
struct FakeHelm {
    store: Vec<Release>,
    chart: Chart,
    values: Option<Value>,
    keep_history: bool,
}

impl FakeHelm {
    fn next_version(&self) -> i64 {
        self.store.iter().map(|r| r.version).max().unwrap_or(0) + 1
    }

    fn write(&mut self, r: Release, writes: &mut Vec<Release>) {
        match self.store.iter_mut().find(|s| s.version == r.version) {
            Some(s) => *s = r.clone(),
            None => self.store.push(r.clone()),
        }
        writes.push(r);
    }

    fn latest(&self) -> Option<Release> {
        self.store.iter().max_by_key(|r| r.version).cloned()
    }

    /// Install or upgrade: a pending record, then deployed (superseding the
    /// deployed ones, or the last one when none is) or failed.
    fn release(&mut self, pending: &str) -> Outcome {
        let mut writes = Vec::new();
        let v = self.next_version();
        let mut rls = record(v, pending, self.chart, self.values.as_ref());
        self.write(rls.clone(), &mut writes);
        if self.chart.failing_hook {
            set_status(&mut rls, "failed");
            self.write(rls, &mut writes);
            return Outcome::failed(
                &format!(
                    "failed post-{}: 1 error occurred:\n\t* pod failing-hook failed",
                    &pending[8..]
                ),
                writes,
            );
        }
        let mut old: Vec<Release> = self
            .store
            .iter()
            .filter(|r| r.version != v && status_of(r) == "deployed")
            .cloned()
            .collect();
        if old.is_empty()
            && pending == "pending-upgrade"
            && let Some(last) = self
                .store
                .iter()
                .filter(|r| r.version != v)
                .max_by_key(|r| r.version)
            && status_of(last) == "failed"
        {
            old.push(last.clone());
        }
        for mut o in old {
            set_status(&mut o, "superseded");
            self.write(o, &mut writes);
        }
        set_status(&mut rls, "deployed");
        self.write(rls, &mut writes);
        Outcome::succeeded(writes)
    }
}

impl HelmActions for FakeHelm {
    fn storage(&mut self) -> Result<Storage, String> {
        Ok(Storage::new(
            self.store.iter().map(StoredRelease::from_release).collect(),
        ))
    }

    fn install(&mut self) -> Outcome {
        self.release("pending-install")
    }

    fn upgrade(&mut self) -> Outcome {
        self.release("pending-upgrade")
    }

    fn test(&mut self) -> Outcome {
        let mut rls = self.latest().unwrap();
        let mut v = serde_json::to_value(&rls).unwrap();
        let mut failed = false;
        for h in v["hooks"].as_array_mut().into_iter().flatten() {
            if h["events"].as_array().unwrap().contains(&json!("test")) {
                h["last_run"] = json!({"started_at": NOW, "completed_at": NOW, "phase": "Failed"});
                failed = true;
            }
        }
        rls = serde_json::from_value(v).unwrap();
        let mut writes = Vec::new();
        self.write(rls, &mut writes);
        if failed {
            Outcome::failed("1 error occurred:\n\t* pod failing-test failed", writes)
        } else {
            Outcome::succeeded(writes)
        }
    }

    fn rollback(&mut self, version: i64) -> Outcome {
        let target = self
            .store
            .iter()
            .find(|r| r.version == version)
            .unwrap()
            .clone();
        let v = self.next_version();
        let mut new = target.clone();
        new.version = v;
        set_status(&mut new, "pending-rollback");
        let mut writes = Vec::new();
        self.write(new.clone(), &mut writes);
        let deployed: Vec<Release> = self
            .store
            .iter()
            .filter(|r| r.version != v && status_of(r) == "deployed")
            .cloned()
            .collect();
        for mut d in deployed {
            set_status(&mut d, "superseded");
            self.write(d, &mut writes);
        }
        set_status(&mut new, "deployed");
        self.write(new, &mut writes);
        Outcome::succeeded(writes)
    }

    fn uninstall(&mut self) -> Outcome {
        let mut rls = self.latest().unwrap();
        let mut writes = Vec::new();
        set_status(&mut rls, "uninstalling");
        self.write(rls.clone(), &mut writes);
        if self.keep_history {
            set_status(&mut rls, "uninstalled");
            self.write(rls, &mut writes);
        } else {
            self.store.clear();
        }
        Outcome::succeeded(writes)
    }

    fn unlock(&mut self) -> Outcome {
        let mut rls = self.latest().unwrap();
        set_status(&mut rls, "failed");
        let mut writes = Vec::new();
        self.write(rls, &mut writes);
        Outcome::succeeded(writes)
    }
}

/// A `status.history` entry of a row.
enum H {
    /// The snapshot of stored revision `v`.
    Stored(i64),
    /// The snapshot of stored revision `v` observed in another status.
    StoredAs(i64, &'static str),
    /// The snapshot of a revision no longer in storage.
    Gone(i64, &'static str),
}

#[derive(Debug, PartialEq)]
enum Want {
    Ok,
    ExceededMaxRetries,
    RetryAfterInterval,
    MustRequeue,
}

struct Scenario {
    name: &'static str,
    /// Stored revisions and their status.
    releases: Vec<(i64, &'static str)>,
    /// Config of the stored revisions (`None`: Helm's mock default).
    config: Option<Value>,
    spec: Value,
    history: Vec<H>,
    counters: (&'static str, i64, i64, i64),
    chart: Chart,
    values: Option<Value>,
    /// `(revision, action, tested)` of the expected history, newest first;
    /// `None`: not asserted.
    want_history: Option<Vec<(i64, &'static str, bool)>>,
    want: Want,
}

fn row(name: &'static str) -> Scenario {
    Scenario {
        name,
        releases: vec![],
        config: None,
        spec: json!({}),
        history: vec![],
        counters: ("", 0, 0, 0),
        chart: CHART,
        values: None,
        want_history: None,
        want: Want::Ok,
    }
}

fn mock_config() -> Value {
    json!({"name": "value"})
}

fn run(s: &Scenario) {
    let cfg = s.config.clone().unwrap_or_else(mock_config);
    let cfg = (!cfg.is_null()).then_some(cfg);
    let store: Vec<Release> = s
        .releases
        .iter()
        .map(|(v, st)| record(*v, st, CHART, cfg.as_ref()))
        .collect();
    let mut spec = json!({"interval": "1m", "timeout": "200ms"});
    for (k, v) in s.spec.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let spec: HelmReleaseSpec = serde_json::from_value(spec).unwrap();
    let options = Options::from_spec(&spec).unwrap();
    let mut status = HelmReleaseStatus::default();
    for h in &s.history {
        let snap = match h {
            H::Stored(v) => {
                Snapshot::observe(store.iter().find(|r| r.version == *v).unwrap(), None)
            }
            H::StoredAs(v, st) => {
                let mut r = store.iter().find(|r| r.version == *v).unwrap().clone();
                set_status(&mut r, st);
                Snapshot::observe(&r, None)
            }
            H::Gone(v, st) => Snapshot::observe(&record(*v, st, CHART, cfg.as_ref()), None),
        };
        status.history.push(snap);
    }
    let (last, failures, install, upgrade) = s.counters;
    last.clone_into(&mut status.last_attempted_release_action);
    status.failures = failures;
    status.install_failures = install;
    status.upgrade_failures = upgrade;
    let values: Option<Map<String, Value>> = s.values.as_ref().and_then(|v| v.as_object().cloned());
    let desired = Desired::new("hello", s.chart.version, &values_digest(values.as_ref()))
        .with_release(NS, NAME);
    let mut helm = FakeHelm {
        store,
        chart: s.chart,
        values: s.values.clone(),
        keep_history: spec
            .uninstall
            .as_ref()
            .and_then(|u| u.get("keepHistory"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    let out = reconcile(
        &Request::new(&options, &desired, NOW),
        &mut status,
        &mut helm,
    );
    let got = match &out.result {
        Ok(()) => Want::Ok,
        Err(e) if e.is_exceeded_max_retries() => Want::ExceededMaxRetries,
        Err(AtomicError::RetryAfterInterval(_)) => Want::RetryAfterInterval,
        Err(AtomicError::MustRequeue) => Want::MustRequeue,
        Err(e) => panic!("{}: unexpected error {e:?}", s.name),
    };
    let names: Vec<&str> = out.actions.iter().map(|a| a.name()).collect();
    assert_eq!(
        got, s.want,
        "{}: actions {names:?}, status {status:#?}",
        s.name
    );
    if let Some(want) = &s.want_history {
        let want: Vec<Snapshot> = want
            .iter()
            .map(|(v, action, tested)| {
                let r = helm.store.iter().find(|r| r.version == *v).unwrap();
                let mut snap = Snapshot::observe(r, Some(action));
                if *tested {
                    snap.test_hooks = Some(test_hooks(r, &[]));
                }
                snap
            })
            .collect();
        assert_eq!(status.history, want, "{}: actions {names:?}", s.name);
    }
}

/// TestAtomicRelease_Reconcile_Scenarios
#[test]
fn atomic_release_reconcile_scenarios() {
    let failing_hook = Chart {
        failing_hook: true,
        ..CHART
    };
    let failing_test = Chart {
        failing_test: true,
        ..CHART
    };
    let rows = vec![
        Scenario {
            releases: vec![(1, "deployed")],
            config: Some(Value::Null),
            history: vec![H::Stored(1)],
            want_history: Some(vec![(1, "", false)]),
            ..row("release is in-sync")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            config: Some(Value::Null),
            history: vec![H::Stored(1)],
            chart: Chart {
                version: "0.2.0",
                ..CHART
            },
            want_history: Some(vec![(2, "upgrade", false), (1, "", false)]),
            ..row("release is out-of-sync (chart)")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            config: Some(json!({"foo": "bar"})),
            history: vec![H::Stored(1)],
            values: Some(json!({"foo": "baz"})),
            want_history: Some(vec![(2, "upgrade", false), (1, "", false)]),
            ..row("release is out-of-sync (values)")
        },
        Scenario {
            releases: vec![(1, "pending-install")],
            config: Some(Value::Null),
            want_history: Some(vec![(2, "upgrade", false)]),
            ..row("release is locked (pending-install)")
        },
        Scenario {
            releases: vec![(1, "deployed"), (2, "pending-upgrade")],
            config: Some(Value::Null),
            history: vec![H::Stored(1)],
            want_history: Some(vec![(3, "upgrade", false)]),
            ..row("release is locked (pending-upgrade)")
        },
        Scenario {
            releases: vec![(1, "deployed"), (2, "failed"), (3, "pending-rollback")],
            config: Some(Value::Null),
            history: vec![H::Stored(2), H::Stored(1)],
            want_history: Some(vec![(4, "upgrade", false)]),
            ..row("release is locked (pending-rollback)")
        },
        Scenario {
            want_history: Some(vec![(1, "install", false)]),
            ..row("release is not installed")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            want_history: Some(vec![(2, "upgrade", false)]),
            ..row("release exists but is not managed")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "deployed")],
            history: vec![H::StoredAs(2, "deployed")],
            want_history: Some(vec![(4, "upgrade", false)]),
            ..row("release was upgraded outside of the reconciler")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "deployed")],
            history: vec![H::StoredAs(2, "failed")],
            want_history: Some(vec![(4, "upgrade", false)]),
            ..row("release was rolled back outside of the reconciler")
        },
        Scenario {
            history: vec![H::Gone(1, "deployed")],
            want_history: Some(vec![(1, "install", false)]),
            ..row("release was deleted outside of the reconciler")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "deployed")],
            history: vec![H::Gone(4, "failed"), H::Stored(2)],
            want_history: Some(vec![(4, "upgrade", false)]),
            ..row("part of the release history was deleted outside of the reconciler")
        },
        Scenario {
            chart: failing_hook,
            want_history: Some(vec![(1, "install", false)]),
            want: Want::ExceededMaxRetries,
            ..row("install failure")
        },
        Scenario {
            spec: json!({"install": {"remediation": {"remediateLastFailure": true}},
                "uninstall": {"keepHistory": true}}),
            chart: failing_hook,
            want_history: Some(vec![(1, "uninstall-remediation", false)]),
            want: Want::ExceededMaxRetries,
            ..row("install failure with remediation")
        },
        Scenario {
            spec: json!({"install": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}},
                "uninstall": {"keepHistory": true}}),
            chart: failing_hook,
            want_history: Some(vec![(1, "install", false)]),
            want: Want::RetryAfterInterval,
            ..row("install failure with retry")
        },
        Scenario {
            spec: json!({"install": {"remediation": {"remediateLastFailure": true}},
                "test": {"enable": true}, "uninstall": {"keepHistory": true}}),
            chart: failing_test,
            want_history: Some(vec![(1, "uninstall-remediation", true)]),
            want: Want::ExceededMaxRetries,
            ..row("install test failure with remediation")
        },
        Scenario {
            spec: json!({"install": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}},
                "test": {"enable": true}, "uninstall": {"keepHistory": true}}),
            chart: failing_test,
            want_history: Some(vec![(1, "install", true)]),
            want: Want::RetryAfterInterval,
            ..row("install test failure with retry")
        },
        Scenario {
            spec: json!({"test": {"enable": true, "ignoreFailures": true}}),
            chart: failing_test,
            want_history: Some(vec![(1, "install", true)]),
            ..row("install test failure with test ignore")
        },
        Scenario {
            history: vec![H::Gone(1, "uninstalling")],
            counters: ("install", 1, 1, 0),
            want: Want::ExceededMaxRetries,
            ..row("install with exhausted retries after remediation")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            history: vec![H::Stored(1)],
            chart: failing_hook,
            want_history: Some(vec![(2, "upgrade", false), (1, "", false)]),
            want: Want::ExceededMaxRetries,
            ..row("upgrade failure")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"upgrade": {"remediation": {"remediateLastFailure": true}}}),
            history: vec![H::Stored(1)],
            chart: failing_hook,
            want_history: Some(vec![
                (3, "rollback", false),
                (2, "upgrade", false),
                (1, "rollback", false),
            ]),
            want: Want::ExceededMaxRetries,
            ..row("upgrade failure with rollback remediation")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"upgrade": {"remediation": {"strategy": "uninstall", "remediateLastFailure": true}},
                "uninstall": {"keepHistory": true}}),
            history: vec![H::Stored(1)],
            chart: failing_hook,
            want_history: Some(vec![(2, "uninstall-remediation", false), (1, "", false)]),
            want: Want::MustRequeue,
            ..row("upgrade failure with uninstall remediation")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"upgrade": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}}}),
            history: vec![H::Stored(1)],
            chart: failing_hook,
            want_history: Some(vec![(2, "upgrade", false), (1, "", false)]),
            want: Want::RetryAfterInterval,
            ..row("upgrade failure with retry")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"upgrade": {"remediation": {"remediateLastFailure": true}}, "test": {"enable": true}}),
            history: vec![H::Stored(1)],
            chart: failing_test,
            want_history: Some(vec![
                (3, "rollback", false),
                (2, "rollback", true),
                (1, "", false),
            ]),
            want: Want::ExceededMaxRetries,
            ..row("upgrade test failure with remediation")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"upgrade": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}},
                "test": {"enable": true}}),
            history: vec![H::Stored(1)],
            chart: failing_test,
            want_history: Some(vec![(2, "upgrade", true), (1, "", false)]),
            want: Want::RetryAfterInterval,
            ..row("upgrade test failure with retry")
        },
        Scenario {
            releases: vec![(1, "deployed")],
            spec: json!({"test": {"enable": true, "ignoreFailures": true}}),
            history: vec![H::Stored(1)],
            chart: failing_test,
            want_history: Some(vec![(2, "upgrade", true), (1, "", false)]),
            ..row("upgrade test failure with test ignore")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "deployed")],
            history: vec![H::Stored(3), H::Stored(2), H::Stored(1)],
            counters: ("upgrade", 1, 0, 1),
            want_history: Some(vec![(3, "", false), (2, "", false), (1, "", false)]),
            want: Want::ExceededMaxRetries,
            ..row("upgrade with exhausted retries after remediation")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "failed")],
            spec: json!({"upgrade": {"remediation": {"retries": 1}}}),
            history: vec![H::Stored(3), H::Stored(2), H::Stored(1)],
            counters: ("upgrade", 2, 0, 2),
            want: Want::ExceededMaxRetries,
            ..row("upgrade remediation results in exhausted retries")
        },
        Scenario {
            releases: vec![(1, "superseded"), (2, "superseded"), (3, "failed")],
            spec: json!({"upgrade": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}}}),
            history: vec![H::Stored(3), H::Stored(2), H::Stored(1)],
            counters: ("upgrade", 2, 0, 2),
            ..row("upgrade retry does not result in exhausted retries")
        },
    ];
    for s in &rows {
        run(s);
    }
}
