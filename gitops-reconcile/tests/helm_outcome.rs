//! How the status records an action's outcome, one row per Go case that
//! asserts status or conditions, named like it (internal/reconcile/
//! install_test.go, upgrade_test.go, test_test.go,
//! rollback_remediation_test.go, uninstall_remediation_test.go,
//! unlock_test.go), and the values digest of fluxcd/pkg's
//! `TestDigestValues` (chartutil/digest_test.go), which helm-controller's
//! `configDigest` is.
//!
//! The Go `_failure`/`_success` tests call the reconciler's helper without
//! the final `summarize`; here [`record_outcome`] also summarizes (sets
//! `Ready`, drops `TestSuccess` when tests are off, so test rows enable
//! them), and the rows assert the condition the Go case asserts.

use gitops_core::flux::Condition;
use gitops_reconcile::helm::lifecycle::{
    Action, Desired, HelmReleaseStatus, Input, Options, Outcome, Storage, StoredRelease,
    record_outcome,
};
use gitops_reconcile::helm::release::Release;
use gitops_reconcile::helm::snapshot::{Snapshot, TestHookStatus, values_digest};
use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:00:00Z";

fn rel(version: i64, status: &str) -> Release {
    serde_json::from_value(json!({
        "name": "release", "namespace": "default", "version": version,
        "info": {"status": status},
        "chart": {"metadata": {"name": "hello", "version": "0.1.0", "apiVersion": "v2"}},
    }))
    .unwrap()
}

fn opts(spec: Value) -> Options {
    let mut full = json!({"interval": "1m"});
    for (k, v) in spec.as_object().unwrap() {
        full[k] = v.clone();
    }
    Options::from_spec(&serde_json::from_value(full).unwrap()).unwrap()
}

struct Row {
    name: &'static str,
    options: Options,
    status: HelmReleaseStatus,
    storage: Vec<Release>,
    action: Action,
    outcome: Outcome,
    /// `(type, status, reason, message substring)`.
    want: (&'static str, &'static str, &'static str, &'static str),
    /// `(failures, installFailures, upgradeFailures)`.
    counters: (i64, i64, i64),
}

fn cond<'a>(l: &'a [Condition], t: &str) -> &'a Condition {
    l.iter()
        .find(|c| c.r#type == t)
        .unwrap_or_else(|| panic!("no {t} in {l:?}"))
}

fn check(r: Row) {
    let desired =
        Desired::new("hello", "0.1.0", &values_digest(None)).with_release("default", "release");
    let storage = Storage::new(r.storage.iter().map(StoredRelease::from_release).collect());
    let input = Input::new(&r.options, &storage, &desired);
    let mut status = r.status;
    record_outcome(&input, &mut status, &r.action, &r.outcome, NOW);
    let (t, s, reason, msg) = r.want;
    let c = cond(&status.conditions, t);
    assert_eq!(c.status, s, "{}", r.name);
    assert_eq!(c.reason.as_deref(), Some(reason), "{}", r.name);
    let got = c.message.as_deref().unwrap_or_default();
    assert!(got.contains(msg), "{}: {got:?} lacks {msg:?}", r.name);
    assert_eq!(
        (
            status.failures,
            status.install_failures,
            status.upgrade_failures
        ),
        r.counters,
        "{}",
        r.name
    );
}

fn with_history(s: Vec<Snapshot>, last: &str) -> HelmReleaseStatus {
    let mut st = HelmReleaseStatus::default();
    st.history = s;
    last.clone_into(&mut st.last_attempted_release_action);
    st
}

fn tested(r: &Release, hooks: &[(&str, &str)]) -> Snapshot {
    let mut s = Snapshot::observe(r, None);
    s.test_hooks = Some(
        hooks
            .iter()
            .map(|(n, p)| ((*n).to_owned(), Some(TestHookStatus::in_phase(p))))
            .collect(),
    );
    s
}

/// TestInstall_failure, TestInstall_success, TestUpgrade_failure,
/// TestUpgrade_success
#[test]
fn install_and_upgrade_outcomes() {
    let r1 = rel(1, "deployed");
    let mut retry_status = HelmReleaseStatus::default();
    retry_status.failures = 3;
    retry_status.install_failures = 3;
    retry_status.upgrade_failures = 3;
    let rows = vec![
        Row {
            name: "TestInstall_failure/records failure",
            options: Options::default(),
            status: HelmReleaseStatus::default(),
            storage: vec![],
            action: Action::Install,
            outcome: Outcome::failed("installation error", vec![rel(1, "failed")]),
            want: (
                "Released",
                "False",
                "InstallFailed",
                "Helm install failed for release default/release with chart hello@0.1.0: installation error",
            ),
            counters: (1, 1, 0),
        },
        Row {
            name: "TestInstall_success/records success",
            options: Options::default(),
            status: HelmReleaseStatus::default(),
            storage: vec![],
            action: Action::Install,
            outcome: Outcome::succeeded(vec![r1.clone()]),
            want: (
                "Released",
                "True",
                "InstallSucceeded",
                "Helm install succeeded for release default/release.v1 with chart hello@0.1.0",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestInstall_success/records success with retry strategy",
            options: opts(json!({"install": {"strategy": {"name": "RetryOnFailure"}}})),
            status: retry_status.clone(),
            storage: vec![],
            action: Action::Install,
            outcome: Outcome::succeeded(vec![r1.clone()]),
            want: (
                "Released",
                "True",
                "InstallSucceeded",
                "Helm install succeeded",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestInstall_success/records success with test enabled",
            options: opts(json!({"test": {"enable": true}})),
            status: HelmReleaseStatus::default(),
            storage: vec![],
            action: Action::Install,
            outcome: Outcome::succeeded(vec![r1.clone()]),
            want: (
                "TestSuccess",
                "Unknown",
                "AwaitingTests",
                "Helm release default/release.v1 with chart hello@0.1.0 is awaiting tests",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestUpgrade_failure/records failure",
            options: Options::default(),
            status: HelmReleaseStatus::default(),
            storage: vec![],
            action: Action::Upgrade,
            outcome: Outcome::failed("upgrade error", vec![rel(2, "failed")]),
            want: (
                "Released",
                "False",
                "UpgradeFailed",
                "Helm upgrade failed for release default/release with chart hello@0.1.0: upgrade error",
            ),
            counters: (1, 0, 1),
        },
        Row {
            name: "install failure without storage update",
            options: Options::default(),
            status: HelmReleaseStatus::default(),
            storage: vec![],
            action: Action::Install,
            outcome: Outcome::failed("storage create error", vec![]),
            want: ("Released", "False", "InstallFailed", "storage create error"),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestUpgrade_success/records success",
            options: Options::default(),
            status: with_history(vec![Snapshot::observe(&r1, None)], ""),
            storage: vec![r1.clone()],
            action: Action::Upgrade,
            outcome: Outcome::succeeded(vec![rel(2, "deployed"), rel(1, "superseded")]),
            want: (
                "Released",
                "True",
                "UpgradeSucceeded",
                "Helm upgrade succeeded for release default/release.v2 with chart hello@0.1.0",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestUpgrade_success/records success with retry strategy",
            options: opts(json!({"upgrade": {"strategy": {"name": "RetryOnFailure"}}})),
            status: retry_status,
            storage: vec![],
            action: Action::Upgrade,
            outcome: Outcome::succeeded(vec![rel(2, "deployed")]),
            want: (
                "Released",
                "True",
                "UpgradeSucceeded",
                "Helm upgrade succeeded",
            ),
            counters: (0, 0, 0),
        },
    ];
    for r in rows {
        check(r);
    }
}

/// TestTest_failure, TestTest_success
#[test]
fn test_outcomes() {
    let r1 = rel(1, "deployed");
    let with_test = |phase: &str| -> Release {
        serde_json::from_value(json!({
            "name": "release", "namespace": "default", "version": 1,
            "info": {"status": "deployed"},
            "chart": {"metadata": {"name": "hello", "version": "0.1.0", "apiVersion": "v2"}},
            "hooks": [{"name": "test", "kind": "Pod", "events": ["test"], "last_run": {"phase": phase}}],
        }))
        .unwrap()
    };
    let rows = vec![
        Row {
            name: "TestTest_failure/records failure",
            options: opts(json!({"test": {"enable": true}})),
            status: with_history(vec![Snapshot::observe(&r1, None)], ""),
            storage: vec![r1.clone()],
            action: Action::Test,
            outcome: Outcome::failed("test error", vec![]),
            want: (
                "TestSuccess",
                "False",
                "TestFailed",
                "Helm test failed for release default/release.v1 with chart hello@0.1.0: test error",
            ),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestTest_failure/increases remediation failure count",
            options: opts(json!({"test": {"enable": true}})),
            status: with_history(vec![tested(&r1, &[])], "install"),
            storage: vec![r1.clone()],
            action: Action::Test,
            outcome: Outcome::failed("test error", vec![]),
            want: ("TestSuccess", "False", "TestFailed", "test error"),
            counters: (1, 1, 0),
        },
        Row {
            name: "TestTest_failure/follows ignore failure instructions",
            options: opts(json!({"test": {"enable": true, "ignoreFailures": true}})),
            status: with_history(vec![tested(&r1, &[])], "install"),
            storage: vec![r1.clone()],
            action: Action::Test,
            outcome: Outcome::failed("test error", vec![]),
            want: ("TestSuccess", "False", "TestFailed", "test error"),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestTest_success/records success",
            options: opts(json!({"test": {"enable": true}})),
            status: with_history(
                vec![tested(
                    &r1,
                    &[("test", "Succeeded"), ("test-2", "Succeeded")],
                )],
                "",
            ),
            storage: vec![r1.clone()],
            action: Action::Test,
            outcome: Outcome::succeeded(vec![]),
            want: (
                "TestSuccess",
                "True",
                "TestSucceeded",
                "Helm test succeeded for release default/release.v1 with chart hello@0.1.0: 2 test hooks completed successfully",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestTest_success/records success without hooks",
            options: opts(json!({"test": {"enable": true}})),
            status: with_history(vec![tested(&r1, &[])], ""),
            storage: vec![r1.clone()],
            action: Action::Test,
            outcome: Outcome::succeeded(vec![]),
            want: ("TestSuccess", "True", "TestSucceeded", "no test hooks"),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestTest_Reconcile/test success (observed hooks)",
            options: opts(json!({"test": {"enable": true}})),
            status: with_history(vec![Snapshot::observe(&with_test(""), None)], "install"),
            storage: vec![with_test("")],
            action: Action::Test,
            outcome: Outcome::succeeded(vec![with_test("Succeeded")]),
            want: (
                "TestSuccess",
                "True",
                "TestSucceeded",
                "1 test hook completed successfully",
            ),
            counters: (0, 0, 0),
        },
    ];
    for r in rows {
        check(r);
    }
}

/// TestRollbackRemediation_failure, TestRollbackRemediation_success,
/// TestUninstallRemediation_failure, TestUninstallRemediation_success,
/// TestUnlock_failure, TestUnlock_success
#[test]
fn remediation_and_unlock_outcomes() {
    let (r1, r2) = (rel(1, "deployed"), rel(2, "failed"));
    let hist = || {
        with_history(
            vec![Snapshot::observe(&r2, None), Snapshot::observe(&r1, None)],
            "upgrade",
        )
    };
    let pending = rel(1, "pending-install");
    let rows = vec![
        Row {
            name: "TestRollbackRemediation_failure",
            options: Options::default(),
            status: hist(),
            storage: vec![r1.clone(), r2.clone()],
            action: Action::RollbackRemediation { version: 1 },
            outcome: Outcome::failed("rollback error", vec![]),
            want: (
                "Remediated",
                "False",
                "RollbackFailed",
                "Helm rollback to previous release default/release.v1 with chart hello@0.1.0 failed: rollback error",
            ),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestRollbackRemediation_success",
            options: Options::default(),
            status: hist(),
            storage: vec![r1.clone(), r2.clone()],
            action: Action::RollbackRemediation { version: 1 },
            outcome: Outcome::succeeded(vec![rel(3, "deployed"), rel(1, "superseded")]),
            want: (
                "Remediated",
                "True",
                "RollbackSucceeded",
                "Helm rollback to previous release default/release.v1 with chart hello@0.1.0 succeeded",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestUninstallRemediation_failure",
            options: Options::default(),
            status: hist(),
            storage: vec![r1.clone(), r2.clone()],
            action: Action::UninstallRemediation,
            outcome: Outcome::failed("uninstall error", vec![]),
            want: (
                "Remediated",
                "False",
                "UninstallFailed",
                "Helm uninstall remediation for release default/release.v2 with chart hello@0.1.0 failed: uninstall error",
            ),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestUninstallRemediation_success",
            options: Options::default(),
            status: hist(),
            storage: vec![r1.clone(), r2.clone()],
            action: Action::UninstallRemediation,
            outcome: Outcome::succeeded(vec![rel(2, "uninstalling"), rel(2, "uninstalled")]),
            want: (
                "Remediated",
                "True",
                "UninstallSucceeded",
                "Helm uninstall remediation for release default/release.v2 with chart hello@0.1.0 succeeded",
            ),
            counters: (0, 0, 0),
        },
        Row {
            name: "TestUnlock_failure",
            options: Options::default(),
            status: with_history(vec![Snapshot::observe(&pending, None)], "install"),
            storage: vec![pending.clone()],
            action: Action::Unlock,
            outcome: Outcome::failed("storage update error", vec![]),
            want: (
                "Released",
                "False",
                "PendingRelease",
                "Unlock of Helm release default/release.v1 with chart hello@0.1.0 in pending-install state failed: storage update error",
            ),
            counters: (1, 0, 0),
        },
        Row {
            name: "TestUnlock_success",
            options: Options::default(),
            status: with_history(vec![Snapshot::observe(&pending, None)], "install"),
            storage: vec![pending.clone()],
            action: Action::Unlock,
            outcome: Outcome::succeeded(vec![rel(1, "failed")]),
            want: (
                "Released",
                "False",
                "PendingRelease",
                "Unlocked Helm release default/release.v1 with chart hello@0.1.0 in pending-install state",
            ),
            counters: (0, 0, 0),
        },
    ];
    for r in rows {
        check(r);
    }
}

/// TestDigestValues (fluxcd/pkg chartutil/digest_test.go): the digests
/// helm-controller records as `configDigest`.
#[test]
fn digest_values() {
    let rows = [
        (
            "empty",
            json!({}),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            "value map",
            json!({"replicas": 3, "image": {"tag": "latest", "repository": "nginx"},
            "ports": [{"protocol": "TCP", "port": 8080}, {"port": 9090, "protocol": "UDP"}]}),
            "sha256:fcdc2b0de1581a3633ada4afee3f918f6eaa5b5ab38c3fef03d5b48d3f85d9f6",
        ),
        (
            "value map in different order",
            json!({"image": {"repository": "nginx", "tag": "latest"},
            "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "UDP"}], "replicas": 3}),
            "sha256:fcdc2b0de1581a3633ada4afee3f918f6eaa5b5ab38c3fef03d5b48d3f85d9f6",
        ),
        (
            "values map with numeric keys",
            json!({"replicas": 3, "test": {
            "632bd80235a05f4192aefade": "value1", "632bd80ddf416cf32fd50679": "value2",
            "632bd817c559818a52307da2": "value3", "632bd82398e71231a98004b6": "value4"}}),
            "sha256:8a980fcbeadd6f05818f07e8aec14070c22250ca3d96af1fcd5f93b3e85b4d70",
        ),
        (
            "values map with numeric keys in different order",
            json!({"test": {
            "632bd82398e71231a98004b6": "value4", "632bd817c559818a52307da2": "value3",
            "632bd80ddf416cf32fd50679": "value2", "632bd80235a05f4192aefade": "value1"}, "replicas": 3}),
            "sha256:8a980fcbeadd6f05818f07e8aec14070c22250ca3d96af1fcd5f93b3e85b4d70",
        ),
    ];
    for (name, values, want) in &rows {
        assert_eq!(values_digest(values.as_object()), *want, "{name}");
    }
    assert_eq!(values_digest(None), rows[0].2, "nil");
}
