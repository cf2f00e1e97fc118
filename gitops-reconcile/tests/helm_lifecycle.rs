//! helm-controller v2's own lifecycle tables, one row per Go case, named
//! like it: `Test_DetermineReleaseState` (internal/reconcile/state_test.go)
//! and `TestAtomicRelease_actionForState`
//! (internal/reconcile/atomic_release_test.go).

use gitops_reconcile::helm::lifecycle::{
    Action, Desired, DriftChange, DriftMode, DriftedObject, HelmReleaseStatus, Input, NextError,
    Options, ReleaseState, StateKind, Storage, StoredRelease, action_for_state, determine_state,
};
use gitops_reconcile::helm::release::Release;
use gitops_reconcile::helm::snapshot::{Snapshot, TestHookStatus, values_digest};
use serde_json::{Value, json};

const NAME: &str = "mock-release";
const NS: &str = "mock-ns";
const NOW: &str = "2026-01-01T00:00:00Z";

/// `testutil.BuildRelease` with `testutil.BuildChart()` (hello@0.1.0).
fn release(version: i64, status: &str, config: Value, hooks: Value) -> Release {
    serde_json::from_value(json!({
        "name": NAME,
        "namespace": NS,
        "version": version,
        "info": {"status": status, "first_deployed": "2026-01-01T00:00:00Z", "last_deployed": "2026-01-01T00:00:00Z"},
        "chart": {"metadata": {"name": "hello", "version": "0.1.0", "apiVersion": "v1"}},
        "config": config,
        "manifest": "---\napiVersion: v1\nkind: ConfigMap\n",
        "hooks": hooks,
    }))
    .unwrap()
}

fn rel(version: i64, status: &str) -> Release {
    release(version, status, json!({}), json!([]))
}

fn rel_foo(version: i64, status: &str) -> Release {
    release(version, status, json!({"foo": "bar"}), json!([]))
}

fn failed_test_hook() -> Value {
    json!([{"name": "failure-tests", "kind": "Pod", "events": ["test"], "last_run": {"phase": "Failed"}}])
}

fn snap(r: &Release) -> Snapshot {
    Snapshot::observe(r, None)
}

fn foo_bar() -> serde_json::Map<String, Value> {
    json!({"foo": "bar"}).as_object().unwrap().clone()
}

fn desired(chart: &str, values: Option<serde_json::Map<String, Value>>) -> Desired {
    Desired::new(chart, "0.1.0", &values_digest(values.as_ref()))
}

fn hooks(
    pairs: &[(&str, &str)],
) -> Option<std::collections::BTreeMap<String, Option<TestHookStatus>>> {
    Some(
        pairs
            .iter()
            .map(|(n, p)| ((*n).to_owned(), Some(TestHookStatus::in_phase(p))))
            .collect(),
    )
}

fn test_enabled(ignore: bool) -> Options {
    let mut o = Options::default();
    o.test = serde_json::from_value(json!({"enable": true, "ignoreFailures": ignore})).unwrap();
    o
}

struct StateCase {
    name: &'static str,
    releases: Vec<Release>,
    options: Options,
    status: HelmReleaseStatus,
    desired: Desired,
    want: StateKind,
}

/// Test_DetermineReleaseState
#[test]
fn determine_release_state() {
    let mut cases = Vec::new();
    let st = |history: Vec<Snapshot>| {
        let mut s = HelmReleaseStatus::default();
        s.history = history;
        s
    };
    let d_foo = desired("hello", Some(foo_bar()));
    {
        let r = rel_foo(1, "deployed");
        cases.push(StateCase {
            name: "in-sync release",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: Options::default(),
            desired: d_foo.clone(),
            want: StateKind::InSync,
        });
    }
    cases.push(StateCase {
        name: "no release in storage",
        releases: vec![],
        options: Options::default(),
        status: st(vec![]),
        desired: Desired::default(),
        want: StateKind::Absent,
    });
    cases.push(StateCase {
        name: "release disappeared from storage",
        releases: vec![],
        options: Options::default(),
        status: st(vec![snap(&rel(1, "deployed"))]),
        desired: Desired::default(),
        want: StateKind::Absent,
    });
    cases.push(StateCase {
        name: "existing release without current",
        releases: vec![rel(1, "deployed")],
        options: Options::default(),
        status: st(vec![]),
        desired: Desired::default(),
        want: StateKind::Unmanaged,
    });
    {
        let r = rel_foo(1, "deployed");
        let mut s = snap(&r);
        s.digest = "sha256:invalid".into();
        cases.push(StateCase {
            name: "release digest parse error",
            releases: vec![r],
            options: Options::default(),
            status: st(vec![s]),
            desired: d_foo.clone(),
            want: StateKind::Unmanaged,
        });
    }
    {
        let r = rel_foo(1, "deployed");
        let mut s = snap(&r);
        s.digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
        cases.push(StateCase {
            name: "release digest mismatch",
            releases: vec![r],
            options: Options::default(),
            status: st(vec![s]),
            desired: d_foo.clone(),
            want: StateKind::Unmanaged,
        });
    }
    cases.push(StateCase {
        name: "release in pending state",
        releases: vec![rel_foo(1, "pending-install")],
        options: Options::default(),
        status: st(vec![]),
        desired: d_foo.clone(),
        want: StateKind::Locked,
    });
    {
        let r = rel_foo(1, "deployed");
        cases.push(StateCase {
            name: "untested release",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: test_enabled(false),
            desired: d_foo.clone(),
            want: StateKind::Untested,
        });
    }
    {
        let r = rel_foo(1, "deployed");
        let mut s = snap(&r);
        s.test_hooks = hooks(&[("passing-test", "Succeeded"), ("never-run-test", "")]);
        let mut status = st(vec![s]);
        status.last_attempted_release_action = "upgrade".into();
        cases.push(StateCase {
            name: "incomplete test result",
            releases: vec![r],
            options: test_enabled(false),
            status,
            desired: d_foo.clone(),
            want: StateKind::Untested,
        });
    }
    {
        let r1 = rel(1, "superseded");
        let r2 = release(2, "deployed", json!({"foo": "bar"}), failed_test_hook());
        let mut s = snap(&r2);
        s.test_hooks = Some(gitops_reconcile::helm::snapshot::test_hooks(&r2, &[]));
        let mut status = st(vec![s]);
        status.last_attempted_release_action = "upgrade".into();
        cases.push(StateCase {
            name: "failed test",
            releases: vec![r1, r2],
            options: test_enabled(false),
            status,
            desired: d_foo.clone(),
            want: StateKind::Failed,
        });
    }
    {
        let r = rel_foo(2, "deployed");
        let mut s = snap(&r);
        s.test_hooks = hooks(&[("failure-tests", "Failed"), ("never-run-test", "")]);
        let mut status = st(vec![s]);
        status.last_attempted_release_action = "upgrade".into();
        cases.push(StateCase {
            name: "failed test with unstarted remaining test hooks",
            releases: vec![r],
            options: test_enabled(false),
            status,
            desired: d_foo.clone(),
            want: StateKind::Failed,
        });
    }
    {
        let r = release(2, "deployed", json!({"foo": "bar"}), failed_test_hook());
        let mut s = snap(&r);
        s.test_hooks = Some(gitops_reconcile::helm::snapshot::test_hooks(&r, &[]));
        let mut status = st(vec![s]);
        status.last_attempted_release_action = "install".into();
        cases.push(StateCase {
            name: "failed test with ignore failures set",
            releases: vec![r],
            options: test_enabled(true),
            status,
            desired: d_foo.clone(),
            want: StateKind::InSync,
        });
    }
    {
        let r = release(2, "deployed", json!({"foo": "bar"}), failed_test_hook());
        cases.push(StateCase {
            name: "failed test is ignored when not made by controller",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: test_enabled(false),
            desired: d_foo.clone(),
            want: StateKind::Untested,
        });
    }
    {
        let r1 = rel(1, "superseded");
        let r2 = rel_foo(2, "failed");
        cases.push(StateCase {
            name: "failed release",
            status: st(vec![snap(&r2), snap(&r1)]),
            releases: vec![r1, r2],
            options: Options::default(),
            desired: desired("hello", None),
            want: StateKind::Failed,
        });
    }
    {
        let r = rel_foo(1, "uninstalled");
        cases.push(StateCase {
            name: "uninstalled release",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: Options::default(),
            desired: desired("hello", None),
            want: StateKind::Absent,
        });
    }
    cases.push(StateCase {
        name: "uninstalled release without current",
        releases: vec![rel_foo(1, "uninstalled")],
        options: Options::default(),
        status: st(vec![]),
        desired: Desired::default(),
        want: StateKind::Absent,
    });
    {
        let r = rel_foo(1, "deployed");
        cases.push(StateCase {
            name: "chart changed",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: Options::default(),
            desired: desired("other-name", Some(foo_bar())),
            want: StateKind::OutOfSync,
        });
    }
    {
        let r = rel_foo(1, "deployed");
        let other = json!({"bar": "foo"}).as_object().unwrap().clone();
        cases.push(StateCase {
            name: "values changed",
            status: st(vec![snap(&r)]),
            releases: vec![r],
            options: Options::default(),
            desired: desired("hello", Some(other)),
            want: StateKind::OutOfSync,
        });
    }
    for (name, observed_generation, want, post) in [
        ("postRenderers changed", 0, StateKind::OutOfSync, true),
        (
            "postRenderers mismatch ignored for processed generation",
            2,
            StateKind::InSync,
            true,
        ),
        ("commonMetadata changed", 0, StateKind::OutOfSync, false),
        (
            "commonMetadata mismatch ignored for processed generation",
            2,
            StateKind::InSync,
            false,
        ),
    ] {
        let r = rel_foo(1, "deployed");
        let mut status = st(vec![snap(&r)]);
        status.observed_generation = observed_generation;
        let mut d = d_foo.clone();
        if post {
            status.observed_post_renderers_digest = "sha256:postrenderers-1".into();
            d.post_renderers_digest = "sha256:postrenderers-2".into();
        } else {
            status.observed_common_metadata_digest = "sha256:commonmetadata-1".into();
            d.common_metadata_digest = "sha256:commonmetadata-2".into();
        }
        cases.push(StateCase {
            name,
            releases: vec![r],
            options: Options::default(),
            status,
            desired: d,
            want,
        });
    }

    let mut failed = Vec::new();
    for c in &cases {
        let storage = Storage::new(c.releases.iter().map(StoredRelease::from_release).collect());
        let mut input = Input::new(&c.options, &storage, &c.desired);
        input.generation = 2; // as the Go test sets it
        match determine_state(&input, &c.status) {
            Ok(s) if s.kind == c.want => {}
            other => failed.push(format!("{}: want {:?}, got {other:?}", c.name, c.want)),
        }
    }
    println!(
        "Test_DetermineReleaseState: {} passed, {} failed",
        cases.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(cases.len(), 22);
}

#[derive(Debug, PartialEq)]
enum Want {
    Action(Option<Action>),
    Err(NextError),
}

struct ActionCase {
    name: &'static str,
    releases: Vec<Release>,
    force: bool,
    options: Options,
    status: HelmReleaseStatus,
    state: ReleaseState,
    want: Want,
    /// (type, status, reason) of conditions the Go case asserts.
    conditions: Vec<(&'static str, &'static str, &'static str)>,
    event: Option<&'static str>,
}

fn opts(spec: Value) -> Options {
    let spec: gitops_core::flux::HelmReleaseSpec = serde_json::from_value(spec).unwrap();
    Options::from_spec(&spec).unwrap()
}

fn cond(t: &str, s: &str, r: &str, m: &str) -> gitops_core::flux::Condition {
    gitops_reconcile::conditions::new(
        t,
        match s {
            "True" => gitops_reconcile::conditions::State::True,
            _ => gitops_reconcile::conditions::State::False,
        },
        r,
        m,
    )
}

/// TestAtomicRelease_actionForState
#[test]
fn action_for_state_table() {
    use StateKind::*;
    let base = || json!({"interval": "5m", "releaseName": NAME, "targetNamespace": NS, "storageNamespace": NS});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        opts(b)
    };
    let v1 = || {
        let mut s = Snapshot::default();
        s.version = 1;
        vec![s]
    };
    let st = |f: &dyn Fn(&mut HelmReleaseStatus)| {
        let mut s = HelmReleaseStatus::default();
        f(&mut s);
        s
    };
    let state = |k: StateKind| ReleaseState::new(k, "");
    let named_v1 = || {
        let mut s = Snapshot::default();
        s.name = NAME.into();
        s.namespace = NS.into();
        s.version = 1;
        vec![s]
    };
    let drifted = |change: DriftChange| {
        let mut s = ReleaseState::new(Drifted, "");
        s.diff = vec![DriftedObject::new(
            "Deployment",
            "something",
            "mock",
            change,
        )];
        s
    };
    let pair = || vec![rel(1, "superseded"), rel(2, "failed")];
    let c = |name, state, want| ActionCase {
        name,
        releases: vec![],
        force: false,
        options: opts(base()),
        status: HelmReleaseStatus::default(),
        state,
        want,
        conditions: vec![],
        event: None,
    };

    let cases = vec![
        ActionCase {
            status: st(&|s| s.history = v1()),
            ..c(
                "in-sync release does not trigger any action",
                state(InSync),
                Want::Action(None),
            )
        },
        ActionCase {
            force: true,
            status: st(&|s| s.history = v1()),
            ..c(
                "in-sync release with force annotation triggers upgrade action",
                state(InSync),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            status: st(&|s| {
                s.history = v1();
                s.conditions = vec![
                    cond("Released", "False", "UpgradeFailed", "upgrade failed"),
                    cond("Remediated", "True", "RollbackSucceeded", "rolled back"),
                ];
            }),
            conditions: vec![("Released", "True", "UpgradeSucceeded")],
            ..c(
                "in-sync release with stale remediated condition",
                state(InSync),
                Want::Action(None),
            )
        },
        ActionCase {
            status: st(&|s| {
                s.history = v1();
                s.conditions = vec![
                    cond("Released", "False", "UpgradeFailed", "upgrade failed"),
                    cond("Ready", "False", "UpgradeFailed", "upgrade failed"),
                ];
            }),
            conditions: vec![
                ("Released", "True", "UpgradeSucceeded"),
                ("Ready", "True", "UpgradeSucceeded"),
            ],
            ..c(
                "in-sync release with stale ready condition",
                state(InSync),
                Want::Action(None),
            )
        },
        ActionCase {
            status: st(&|s| {
                s.history = v1();
                s.conditions = vec![
                    cond("Released", "False", "InstallFailed", "install failed"),
                    cond("Ready", "False", "InstallFailed", "install failed"),
                ];
            }),
            conditions: vec![
                ("Released", "True", "InstallSucceeded"),
                ("Ready", "True", "InstallSucceeded"),
            ],
            ..c(
                "in-sync release with stale install failed condition",
                state(InSync),
                Want::Action(None),
            )
        },
        c(
            "locked release triggers unlock action",
            state(Locked),
            Want::Action(Some(Action::Unlock)),
        ),
        c(
            "absent release triggers install action",
            state(Absent),
            Want::Action(Some(Action::Install)),
        ),
        ActionCase {
            force: true,
            status: st(&|s| s.install_failures = 1),
            ..c(
                "absent release without remaining retries and force annotation triggers install",
                state(Absent),
                Want::Action(Some(Action::Install)),
            )
        },
        ActionCase {
            status: st(&|s| s.install_failures = 1),
            ..c(
                "absent release without remaining retries returns error",
                state(Absent),
                Want::Err(NextError::ExceededMaxRetries("install")),
            )
        },
        c(
            "unmanaged release triggers upgrade",
            state(Unmanaged),
            Want::Action(Some(Action::Upgrade)),
        ),
        ActionCase {
            options: with("driftDetection", json!({"mode": "enabled"})),
            status: st(&|s| s.history = named_v1()),
            conditions: vec![("Drifted", "True", "DriftDetected")],
            event: Some(
                "Cluster state of release mock-ns/mock-release.v1 has drifted from the desired state:\nDeployment/something/mock removed",
            ),
            ..c(
                "drifted release triggers correction if enabled",
                drifted(DriftChange::Removed),
                Want::Action(Some(Action::CorrectClusterDrift)),
            )
        },
        ActionCase {
            options: with("driftDetection", json!({"mode": "disabled"})),
            status: st(&|s| s.history = named_v1()),
            conditions: vec![("Drifted", "True", "DriftDetected")],
            event: Some(
                "Cluster state of release mock-ns/mock-release.v1 has drifted from the desired state:\nDeployment/something/mock changed (0 additions, 1 changes, 0 removals)",
            ),
            ..c(
                "drifted release only triggers event if mode is warn",
                drifted(DriftChange::Changed {
                    additions: 0,
                    changes: 1,
                    removals: 0,
                }),
                Want::Action(None),
            )
        },
        c(
            "out-of-sync release triggers upgrade",
            state(OutOfSync),
            Want::Action(Some(Action::Upgrade)),
        ),
        ActionCase {
            force: true,
            status: st(&|s| s.upgrade_failures = 1),
            ..c(
                "out-of-sync release with no remaining retries and force annotation triggers upgrade",
                state(OutOfSync),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            status: st(&|s| s.upgrade_failures = 1),
            ..c(
                "out-of-sync release with no remaining retries returns error",
                state(OutOfSync),
                Want::Err(NextError::ExceededMaxRetries("upgrade")),
            )
        },
        c(
            "untested release triggers test action",
            state(Untested),
            Want::Action(Some(Action::Test)),
        ),
        ActionCase {
            status: st(&|s| {
                s.history = v1();
                s.conditions = vec![
                    cond("Released", "False", "UpgradeFailed", "upgrade failed"),
                    cond("Remediated", "True", "RollbackSucceeded", "rolled back"),
                ];
            }),
            conditions: vec![("Released", "True", "UpgradeSucceeded")],
            ..c(
                "untested release with stale remediated condition",
                state(Untested),
                Want::Action(Some(Action::Test)),
            )
        },
        ActionCase {
            status: st(&|s| s.install_failures = 1),
            ..c(
                "failed release without active remediation triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            status: st(&|s| s.last_attempted_release_action = "upgrade".into()),
            ..c(
                "failed release without failure count triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            force: true,
            status: st(&|s| {
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with exhausted retries and force annotation triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            status: st(&|s| {
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with exhausted retries returns error",
                state(Failed),
                Want::Err(NextError::ExceededMaxRetries("remediate failed")),
            )
        },
        ActionCase {
            options: with("install", json!({"remediation": {"retries": 3}})),
            status: st(&|s| {
                s.last_attempted_release_action = "install".into();
                s.install_failures = 2;
            }),
            ..c(
                "failed release with active install remediation triggers uninstall",
                state(Failed),
                Want::Action(Some(Action::UninstallRemediation)),
            )
        },
        ActionCase {
            options: with("install", json!({"strategy": {"name": "RetryOnFailure"}})),
            status: st(&|s| {
                s.last_attempted_release_action = "install".into();
                s.install_failures = 2;
            }),
            ..c(
                "failed release with active install retry triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            releases: pair(),
            options: with("upgrade", json!({"remediation": {"retries": 2}})),
            status: st(&|s| {
                let p = pair();
                s.history = vec![snap(&p[1]), snap(&p[0])];
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with active upgrade remediation triggers rollback",
                state(Failed),
                Want::Action(Some(Action::RollbackRemediation { version: 1 })),
            )
        },
        ActionCase {
            releases: pair(),
            options: with("upgrade", json!({"strategy": {"name": "RetryOnFailure"}})),
            status: st(&|s| {
                let p = pair();
                s.history = vec![snap(&p[1]), snap(&p[0])];
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with active upgrade retry triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            releases: vec![rel(2, "failed")],
            options: with("upgrade", json!({"remediation": {"retries": 2}})),
            status: st(&|s| {
                s.history = vec![snap(&rel(2, "failed"))];
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with active upgrade remediation and no previous release triggers error",
                state(Failed),
                Want::Err(NextError::MissingRollbackTarget),
            )
        },
        ActionCase {
            releases: vec![rel(2, "failed")],
            options: with("upgrade", json!({"remediation": {"retries": 2}})),
            status: st(&|s| {
                s.history = vec![snap(&rel(2, "failed")), snap(&rel(1, "superseded"))];
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "failed release with active upgrade remediation and unverified previous triggers upgrade",
                state(Failed),
                Want::Action(Some(Action::Upgrade)),
            )
        },
        ActionCase {
            releases: vec![rel(1, "superseded")],
            options: with(
                "upgrade",
                json!({"remediation": {"retries": 2, "strategy": "invalid"}}),
            ),
            status: st(&|s| {
                s.history = vec![snap(&rel(1, "superseded"))];
                s.last_attempted_release_action = "upgrade".into();
                s.upgrade_failures = 1;
            }),
            ..c(
                "unknown remediation strategy returns error",
                state(Failed),
                Want::Err(NextError::UnknownRemediationStrategy("invalid".into())),
            )
        },
        c(
            "invalid release status returns error",
            state(Unknown),
            Want::Err(NextError::UnknownReleaseStatus("Unknown")),
        ),
    ];

    let mut failed = Vec::new();
    for mut c in cases {
        let storage = Storage::new(c.releases.iter().map(StoredRelease::from_release).collect());
        let d = Desired::default();
        let mut input = Input::new(&c.options, &storage, &d);
        input.force = c.force;
        let got = match action_for_state(&input, &mut c.status, &c.state, NOW) {
            Ok(next) => {
                let events: Vec<&str> = next.events.iter().map(|e| e.message.as_str()).collect();
                if events != c.event.into_iter().collect::<Vec<_>>() {
                    failed.push(format!("{}: events {events:?}", c.name));
                }
                Want::Action(next.action)
            }
            Err(e) => Want::Err(e),
        };
        if got != c.want {
            failed.push(format!("{}: want {:?}, got {got:?}", c.name, c.want));
        }
        let got_conds: Vec<(&str, &str, &str)> = c
            .status
            .conditions
            .iter()
            .map(|x| {
                (
                    x.r#type.as_str(),
                    x.status.as_str(),
                    x.reason.as_deref().unwrap_or(""),
                )
            })
            .collect();
        if !c.conditions.is_empty() {
            // Go's MatchConditions: exactly these conditions (type, status, reason).
            let mut want = c.conditions.clone();
            let mut have = got_conds.clone();
            want.sort();
            have.sort();
            if want != have {
                failed.push(format!("{}: conditions {have:?}, want {want:?}", c.name));
            }
        }
    }
    println!("TestAtomicRelease_actionForState: {} failed", failed.len());
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn drift_mode_parses() {
    assert_eq!(
        opts(json!({"interval": "1m", "driftDetection": {"mode": "warn"}})).drift,
        DriftMode::Warn
    );
    let spec: gitops_core::flux::HelmReleaseSpec =
        serde_json::from_value(json!({"interval": "1m", "driftDetection": {"mode": "sometimes"}}))
            .unwrap();
    assert!(Options::from_spec(&spec).is_err());
}
