//! One test per transition of the pure reconcilers.

use std::time::{Duration, SystemTime};

use gitops_core::flux::{
    GitRepository, ImagePolicy, ImageRepository, ImageUpdateAutomation, Kustomization,
    OCIRepository,
};
use gitops_core::fs::MemTree;
use gitops_reconcile::conditions::{self, READY, RECONCILING, STALLED};
use gitops_reconcile::image_policy::{self, ImageRef, Inputs, Repository};
use gitops_reconcile::image_repository::{self, Scan};
use gitops_reconcile::image_update_automation::{self as iua, Update};
use gitops_reconcile::kustomization::{self, Action, Outcome};
use gitops_reconcile::source::{Artifact, Fetch};
use gitops_reconcile::{EventType, Requeue, Run, git_repository, oci_repository};
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> Run {
    Run::new(1, SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

fn with_status<T: serde::de::DeserializeOwned>(
    mut obj: Value,
    status: &impl serde::Serialize,
) -> T {
    obj["status"] = serde_json::to_value(status).unwrap();
    serde_json::from_value(obj).unwrap()
}

fn cond<'a>(list: &'a [gitops_core::flux::Condition], t: &str) -> (&'a str, &'a str, &'a str) {
    let c = conditions::get(list, t).unwrap_or_else(|| panic!("no {t} condition in {list:?}"));
    (
        c.status.as_str(),
        c.reason.as_deref().unwrap_or(""),
        c.message.as_deref().unwrap_or(""),
    )
}

// ---------------------------------------------------------------- ImageRepository

fn repo_json(image: &str) -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageRepository",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {"image": image, "interval": "5m"}
    })
}

fn repo(image: &str) -> ImageRepository {
    serde_json::from_value(repo_json(image)).unwrap()
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn image_repository_first_scan_is_ready() {
    let r = repo("nginx");
    let out = image_repository::reconcile(&r, &at(T0), Scan::Tags(tags(&["1.0", "1.1", "x.sig"])))
        .unwrap();
    let s = out.reconciled.status.unwrap();
    assert_eq!(
        s.canonical_image_name.as_deref(),
        Some("index.docker.io/library/nginx")
    );
    let scan = s.last_scan_result.unwrap();
    assert_eq!(scan.tag_count, 2);
    assert_eq!(scan.latest_tags, ["1.1", "1.0"]);
    assert_eq!(scan.scan_time, "2023-11-14T22:13:20Z");
    assert_eq!(
        scan.revision,
        image_repository::tags_revision(&tags(&["1.1", "1.0"]))
    );
    assert_eq!(s.observed_exclusion_list, [r"^.*\.sig$"]);
    assert_eq!(s.observed_generation, 1);
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "True",
            "Succeeded",
            format!(
                "successful scan: found 2 tags with checksum {}",
                scan.revision
            )
            .as_str()
        )
    );
    assert!(conditions::get(&s.conditions, RECONCILING).is_none());
    assert_eq!(
        out.reconciled.requeue,
        Requeue::After(Duration::from_secs(300))
    );
    assert_eq!(out.reconciled.events.len(), 1);
    assert_eq!(out.reconciled.events[0].r#type, EventType::Normal);
}

#[test]
fn image_repository_waits_until_the_interval_then_scans() {
    let first =
        image_repository::reconcile(&repo("nginx"), &at(T0), Scan::Tags(tags(&["1.0"]))).unwrap();
    let status = first.reconciled.status.unwrap();
    let r: ImageRepository = with_status(repo_json("nginx"), &status);
    let d = image_repository::should_scan(&r, &at(T0 + 60), true).unwrap();
    assert!(!d.scan);
    assert_eq!(d.next, Duration::from_secs(240));
    // A wait refreshes nothing and records no event.
    let out = image_repository::reconcile(&r, &at(T0 + 60), Scan::NotDue).unwrap();
    assert!(out.reconciled.events.is_empty());
    assert_eq!(
        out.reconciled.requeue,
        Requeue::After(Duration::from_secs(240))
    );
    let s = out.reconciled.status.unwrap();
    assert_eq!(s.last_scan_result, status.last_scan_result);
    // Ready is recomputed at the end of the run (deleted, then set), as
    // image-reflector-controller does: same state, new transition time.
    assert_eq!(cond(&s.conditions, READY), cond(&status.conditions, READY));
    assert_eq!(
        conditions::get(&s.conditions, READY)
            .unwrap()
            .last_transition_time
            .as_deref(),
        Some("2023-11-14T22:14:20Z")
    );
    assert_eq!(
        image_repository::should_scan(&r, &at(T0 + 300), true)
            .unwrap()
            .reason,
        "triggered by interval"
    );
    assert_eq!(
        image_repository::should_scan(&r, &at(T0 + 60), false)
            .unwrap()
            .reason,
        "no tags in database"
    );
}

#[test]
fn image_repository_scans_on_request_and_records_it() {
    let first =
        image_repository::reconcile(&repo("nginx"), &at(T0), Scan::Tags(tags(&["1.0"]))).unwrap();
    let mut j = repo_json("nginx");
    j["metadata"]["annotations"] = json!({"reconcile.fluxcd.io/requestedAt": "now-1"});
    let r: ImageRepository = with_status(j, &first.reconciled.status.unwrap());
    let run = at(T0 + 10).with_meta(&r.metadata);
    let d = image_repository::should_scan(&r, &run, true).unwrap();
    assert_eq!((d.scan, d.reason), (true, "reconcile requested"));
    let out = image_repository::reconcile(&r, &run, Scan::Tags(tags(&["1.0", "2.0"]))).unwrap();
    let s = out.reconciled.status.unwrap();
    assert_eq!(s.last_handled_reconcile_at.as_deref(), Some("now-1"));
    // A new ready message is told.
    assert_eq!(out.reconciled.events.len(), 1);
    assert!(out.reconciled.events[0].message.contains("found 2 tags"));
}

#[test]
fn image_repository_changed_exclusions_and_image_rescan() {
    let first =
        image_repository::reconcile(&repo("nginx"), &at(T0), Scan::Tags(tags(&["1.0"]))).unwrap();
    let status = first.reconciled.status.unwrap();
    let mut j = repo_json("nginx");
    j["spec"]["exclusionList"] = json!(["^dev-"]);
    let r: ImageRepository = with_status(j, &status);
    assert_eq!(
        image_repository::should_scan(&r, &at(T0 + 1), true)
            .unwrap()
            .reason,
        "updated exclusion list"
    );
    let r: ImageRepository = with_status(repo_json("ghcr.io/org/app"), &status);
    assert_eq!(
        image_repository::should_scan(&r, &at(T0 + 1), true)
            .unwrap()
            .reason,
        "new image name"
    );
}

#[test]
fn image_repository_scan_failure_then_recovery() {
    let first =
        image_repository::reconcile(&repo("nginx"), &at(T0), Scan::Tags(tags(&["1.0"]))).unwrap();
    let r: ImageRepository = with_status(repo_json("nginx"), &first.reconciled.status.unwrap());
    let out = image_repository::reconcile(
        &r,
        &at(T0 + 300),
        Scan::Failed("503 Service Unavailable".into()),
    )
    .unwrap();
    let s = out.reconciled.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "ReadOperationFailed",
            "scan failed: 503 Service Unavailable"
        )
    );
    assert_eq!(cond(&s.conditions, RECONCILING).1, "ProgressingWithRetry");
    assert_eq!(out.reconciled.events[0].r#type, EventType::Warning);
    assert_eq!(out.reconciled.events[0].reason, "ReadOperationFailed");
    // Recovery.
    let r: ImageRepository = with_status(repo_json("nginx"), &s);
    let out = image_repository::reconcile(&r, &at(T0 + 600), Scan::Tags(tags(&["1.0"]))).unwrap();
    let s = out.reconciled.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).0, "True");
    assert!(conditions::get(&s.conditions, RECONCILING).is_none());
    assert_eq!(out.reconciled.events[0].r#type, EventType::Normal);
}

#[test]
fn image_repository_auth_failure() {
    let out = image_repository::reconcile(
        &repo("nginx"),
        &at(T0),
        Scan::AuthFailed("secret 'regcred' not found".into()),
    )
    .unwrap();
    let s = out.reconciled.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).1, "AuthenticationFailed");
    assert_eq!(s.observed_generation, 0);
}

#[test]
fn image_repository_invalid_image_stalls() {
    for (image, msg) in [
        (
            "https://ghcr.io/org/app",
            "image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'",
        ),
        (
            "ghcr.io/org/app:1.0",
            "image 'ghcr.io/org/app:1.0' should not include a tag; remove ':1.0'",
        ),
    ] {
        let out = image_repository::reconcile(&repo(image), &at(T0), Scan::NotDue).unwrap();
        let s = out.reconciled.status.unwrap();
        assert_eq!(
            cond(&s.conditions, STALLED),
            ("True", "ImageURLInvalid", msg)
        );
        assert_eq!(
            cond(&s.conditions, READY),
            ("False", "ImageURLInvalid", msg)
        );
        assert!(conditions::get(&s.conditions, RECONCILING).is_none());
        assert_eq!(out.reconciled.requeue, Requeue::Never);
        assert_eq!(s.observed_generation, 1);
    }
}

#[test]
fn image_repository_suspended_changes_nothing() {
    let mut j = repo_json("nginx");
    j["spec"]["suspend"] = json!(true);
    let r: ImageRepository = serde_json::from_value(j).unwrap();
    let out = image_repository::reconcile(&r, &at(T0), Scan::NotDue).unwrap();
    assert_eq!(out.reconciled.status, None);
    assert_eq!(out.reconciled.requeue, Requeue::Never);
}

// ---------------------------------------------------------------- ImagePolicy

fn policy_json(policy: Value) -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImagePolicy",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "app"}, "policy": policy}
    })
}

fn policy(p: Value) -> ImagePolicy {
    serde_json::from_value(policy_json(p)).unwrap()
}

#[test]
fn image_policy_selects_and_records_previous() {
    let r = repo("ghcr.io/org/app");
    let t = tags(&["1.0.0", "1.2.0", "2.0.0"]);
    let p = policy(json!({"semver": {"range": "1.x"}}));
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        }),
    );
    let s = out.status.unwrap();
    assert_eq!(s.latest_image().as_deref(), Some("ghcr.io/org/app:1.2.0"));
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "True",
            "Succeeded",
            "Latest image tag for ghcr.io/org/app resolved to 1.2.0"
        )
    );
    assert_eq!(out.requeue, Requeue::Never);
    // A new tag moves latestRef and keeps the old one as previous.
    let p2: ImagePolicy = with_status(policy_json(json!({"semver": {"range": "1.x"}})), &s);
    let t2 = tags(&["1.0.0", "1.2.0", "1.3.0"]);
    let out = image_policy::reconcile(
        &p2,
        &at(T0 + 60),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t2,
        }),
    );
    let s = out.status.unwrap();
    assert_eq!(s.observed_previous_ref.as_ref().unwrap().tag, "1.2.0");
    assert_eq!(
        cond(&s.conditions, READY).2,
        "Latest image tag for ghcr.io/org/app resolved to 1.3.0 (previously ghcr.io/org/app:1.2.0)"
    );
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].r#type, EventType::Normal);
}

#[test]
fn image_policy_waits_for_tags() {
    let r = repo("ghcr.io/org/app");
    let p = policy(json!({"alphabetical": {}}));
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &[],
        }),
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "DependencyNotReady",
            "retrying in 30s error: no tags in database"
        )
    );
    assert_eq!(cond(&s.conditions, RECONCILING).1, "ProgressingWithRetry");
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(30)));
}

#[test]
fn image_policy_missing_repository() {
    let p = policy(json!({"alphabetical": {}}));
    let out = image_policy::reconcile(&p, &at(T0), Inputs::new(Repository::NotFound));
    let s = out.status.unwrap();
    let (st, reason, msg) = cond(&s.conditions, READY);
    assert_eq!((st, reason), ("False", "DependencyNotReady"));
    assert!(
        msg.contains("imagerepositories.image.toolkit.fluxcd.io \"app\" not found"),
        "{msg}"
    );
    assert_eq!(out.events[0].r#type, EventType::Warning);
}

#[test]
fn image_policy_invalid_policy_stalls() {
    let r = repo("ghcr.io/org/app");
    let t = tags(&["1.0.0"]);
    let p = policy(json!({"semver": {"range": "not a range"}}));
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        }),
    );
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, STALLED).1, "InvalidPolicy");
    assert!(
        cond(&s.conditions, STALLED)
            .2
            .starts_with("invalid policy: ")
    );
    assert_eq!(out.requeue, Requeue::Never);
}

#[test]
fn image_policy_no_matching_tag_fails() {
    let r = repo("ghcr.io/org/app");
    let t = tags(&["latest"]);
    let p = policy(json!({"semver": {"range": ">=1.0.0"}}));
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        }),
    );
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).1, "Failure");
    assert_eq!(out.events[0].r#type, EventType::Warning);
}

#[test]
fn image_policy_digest_reflection() {
    let r = repo("ghcr.io/org/app");
    let t = tags(&["1.0.0"]);
    let mut j = policy_json(json!({"semver": {"range": "1.x"}}));
    j["spec"]["digestReflectionPolicy"] = json!("IfNotPresent");
    let p: ImagePolicy = serde_json::from_value(j.clone()).unwrap();
    assert!(image_policy::digest_needed(&p, &r, "1.0.0"));
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        })
        .with_digest(Ok("sha256:aa".into())),
    );
    let s = out.status.unwrap();
    assert_eq!(
        s.latest_image().as_deref(),
        Some("ghcr.io/org/app:1.0.0@sha256:aa")
    );
    assert!(
        cond(&s.conditions, READY)
            .2
            .ends_with("with digest sha256:aa")
    );
    // IfNotPresent: the recorded digest is kept without a lookup.
    let p: ImagePolicy = with_status(j, &s);
    assert!(!image_policy::digest_needed(&p, &r, "1.0.0"));
    let out = image_policy::reconcile(
        &p,
        &at(T0 + 1),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        }),
    );
    assert_eq!(out.status.unwrap().latest_ref.unwrap().digest, "sha256:aa");
}

#[test]
fn image_policy_always_needs_an_interval() {
    let r = repo("ghcr.io/org/app");
    let t = tags(&["1.0.0"]);
    let mut j = policy_json(json!({"semver": {"range": "1.x"}}));
    j["spec"]["digestReflectionPolicy"] = json!("Always");
    let p: ImagePolicy = serde_json::from_value(j.clone()).unwrap();
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        }),
    );
    assert_eq!(
        cond(&out.status.unwrap().conditions, STALLED).1,
        "IntervalNotConfigured"
    );
    j["spec"]["interval"] = json!("2m");
    let p: ImagePolicy = serde_json::from_value(j).unwrap();
    let out = image_policy::reconcile(
        &p,
        &at(T0),
        Inputs::new(Repository::Found {
            object: &r,
            tags: &t,
        })
        .with_digest(Err("unauthorized".into())),
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "Failure",
            "failed fetching digest of ghcr.io/org/app:1.0.0: unauthorized"
        )
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(120)));
}

// ---------------------------------------------------------------- ImageUpdateAutomation

fn automation() -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1beta2", "kind": "ImageUpdateAutomation",
        "metadata": {"name": "auto", "namespace": "flux-system"},
        "spec": {"interval": "30m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                 "git": {"commit": {"author": {"email": "bot@example.com"}}},
                 "update": {"strategy": "Setters"}}
    })
}

fn observed(tag: &str) -> std::collections::BTreeMap<String, ImageRef> {
    serde_json::from_value(json!({"app": {"name": "ghcr.io/org/app", "tag": tag}})).unwrap()
}

#[test]
fn automation_up_to_date_then_skipped() {
    let a: ImageUpdateAutomation = serde_json::from_value(automation()).unwrap();
    let out = iua::reconcile(
        &a,
        &at(T0),
        iua::Inputs::new(
            observed("1.0"),
            Update::UpToDate {
                source_revision: "main@sha1:aa".into(),
            },
        ),
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        ("True", "Succeeded", "repository up-to-date")
    );
    assert_eq!(s.observed_source_revision.as_deref(), Some("main@sha1:aa"));
    assert_eq!(s.last_push_commit, None);
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(1800)));
    let a: ImageUpdateAutomation = with_status(automation(), &s);
    assert!(!iua::sync_needed(&a, &observed("1.0")));
    assert!(iua::sync_needed(&a, &observed("1.1")));
    let out = iua::reconcile(
        &a,
        &at(T0 + 1800),
        iua::Inputs::new(observed("1.0"), Update::Skipped),
    );
    assert!(out.events.is_empty());
    assert_eq!(
        out.status.unwrap().last_automation_run_time.as_deref(),
        Some("2023-11-14T22:43:20Z")
    );
}

#[test]
fn automation_push_failure_then_push() {
    let a: ImageUpdateAutomation = serde_json::from_value(automation()).unwrap();
    let out = iua::reconcile(
        &a,
        &at(T0),
        iua::Inputs::new(
            observed("1.1"),
            Update::PushFailed("non-fast-forward".into()),
        ),
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "GitOperationFailed",
            "failed to update source: non-fast-forward"
        )
    );
    assert_eq!(out.events[0].r#type, EventType::Warning);
    assert!(s.observed_policies.is_empty());
    let a: ImageUpdateAutomation = with_status(automation(), &s);
    let out = iua::reconcile(
        &a,
        &at(T0 + 60),
        iua::Inputs::new(
            observed("1.1"),
            Update::Pushed {
                commit: "abcdef0123".into(),
                branch: "main".into(),
                refspecs: vec!["refs/heads/main:refs/heads/auto".into()],
                message: String::new(),
                source_revision: "main@sha1:abcdef0123".into(),
            },
        ),
    );
    assert_eq!(
        out.events[0].message,
        "pushed commit 'abcdef0' to branch 'main' and refspecs 'refs/heads/main:refs/heads/auto'"
    );
    let s = out.status.unwrap();
    assert_eq!(s.last_push_time.as_deref(), Some("2023-11-14T22:14:20Z"));
    assert_eq!(s.observed_policies, observed("1.1"));
}

#[test]
fn automation_invalid_strategy_stalls() {
    let a: ImageUpdateAutomation = serde_json::from_value(automation()).unwrap();
    let out = iua::reconcile(
        &a,
        &at(T0),
        iua::Inputs::new(
            observed("1"),
            Update::InvalidUpdateStrategy("unsupported strategy".into()),
        ),
    );
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, STALLED).1, "InvalidUpdateStrategy");
    assert_eq!(cond(&s.conditions, READY).1, "InvalidUpdateStrategy");
    assert_eq!(out.requeue, Requeue::Never);
}

// ---------------------------------------------------------------- sources

fn git_json() -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "flux-system"},
        "spec": {"url": "https://example.com/app.git", "interval": "1m", "ref": {"branch": "main"}}
    })
}

fn artifact(rev: &str, digest: &str) -> Artifact {
    Artifact::new(
        "sc",
        "gitrepository/flux-system/app/x.tar.gz",
        rev,
        digest,
        "2023-11-14T22:13:20Z",
    )
}

#[test]
fn git_repository_new_artifact_then_unchanged() {
    let g: GitRepository = serde_json::from_value(git_json()).unwrap();
    let out = git_repository::reconcile(
        &g,
        &at(T0),
        Fetch::Stored {
            artifact: artifact("main@sha1:aa", "sha256:11"),
            message: Some("init".into()),
        },
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "True",
            "Succeeded",
            "stored artifact for revision 'main@sha1:aa'"
        )
    );
    assert_eq!(cond(&s.conditions, "ArtifactInStorage").0, "True");
    assert_eq!(out.events[0].reason, "NewArtifact");
    assert_eq!(
        out.events[0].metadata["source.toolkit.fluxcd.io/revision"],
        "main@sha1:aa"
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(60)));
    let g: GitRepository = with_status(git_json(), &s);
    let out = git_repository::reconcile(&g, &at(T0 + 60), Fetch::Unchanged);
    assert!(out.events.is_empty());
    assert_eq!(
        out.status.unwrap().artifact.unwrap().revision,
        "main@sha1:aa"
    );
}

#[test]
fn git_repository_failure_keeps_artifact_and_recovers() {
    let g: GitRepository = serde_json::from_value(git_json()).unwrap();
    let s = git_repository::reconcile(
        &g,
        &at(T0),
        Fetch::Stored {
            artifact: artifact("main@sha1:aa", "sha256:11"),
            message: None,
        },
    )
    .status
    .unwrap();
    let g: GitRepository = with_status(git_json(), &s);
    let out = git_repository::reconcile(
        &g,
        &at(T0 + 60),
        Fetch::Failed {
            reason: "GitOperationFailed".into(),
            message: "failed to checkout and determine revision: timeout".into(),
        },
    );
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).1, "GitOperationFailed");
    assert_eq!(cond(&s.conditions, "FetchFailed").0, "True");
    assert_eq!(cond(&s.conditions, RECONCILING).1, "ProgressingWithRetry");
    assert_eq!(s.artifact.as_ref().unwrap().revision, "main@sha1:aa");
    assert_eq!(out.events[0].r#type, EventType::Warning);
    let g: GitRepository = with_status(git_json(), &s);
    let out = git_repository::reconcile(&g, &at(T0 + 120), Fetch::Unchanged);
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).0, "True");
    assert!(conditions::get(&s.conditions, "FetchFailed").is_none());
    assert_eq!(out.events[0].reason, "Succeeded");
}

#[test]
fn git_repository_invalid_url_stalls() {
    let g: GitRepository = serde_json::from_value(git_json()).unwrap();
    let out =
        git_repository::reconcile(&g, &at(T0), Fetch::InvalidUrl("invalid URL scheme".into()));
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, STALLED).1, "URLInvalid");
    assert_eq!(out.requeue, Requeue::Never);
}

#[test]
fn oci_repository_event_names_origin() {
    let o: OCIRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository",
        "metadata": {"name": "app", "namespace": "flux-system"},
        "spec": {"url": "oci://r.example/app", "interval": "5m"}
    }))
    .unwrap();
    let mut a = artifact("latest@sha256:bb", "sha256:22");
    a.metadata.insert(
        "org.opencontainers.image.source".into(),
        "https://github.com/org/app".into(),
    );
    a.metadata.insert(
        "org.opencontainers.image.revision".into(),
        "main@sha1:cc".into(),
    );
    let out = oci_repository::reconcile(
        &o,
        &at(T0),
        Fetch::Stored {
            artifact: a,
            message: None,
        },
    );
    assert_eq!(
        out.events[0].message,
        "stored artifact with revision 'latest@sha256:bb' from 'oci://r.example/app', origin source 'https://github.com/org/app', origin revision 'main@sha1:cc'"
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY).2,
        "stored artifact for digest 'latest@sha256:bb'"
    );
    assert_eq!(s.url.as_deref(), Some("oci://r.example/app"));
}

// ---------------------------------------------------------------- Kustomization

fn ks_json(prune: bool) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "10m", "retryInterval": "1m", "prune": prune, "path": "./apps",
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    })
}

fn tree(files: &[(&str, &str)]) -> MemTree {
    let mut t = MemTree::new();
    for (p, c) in files {
        t.insert(p, c).unwrap();
    }
    t
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n";
const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: web\ndata:\n  a: b\n";
const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  replicas: 1\n";

#[test]
fn kustomization_plan_orders_and_diffs_against_live() {
    let ks: Kustomization = serde_json::from_value(ks_json(true)).unwrap();
    let t = tree(&[
        ("apps/deploy.yaml", DEPLOY),
        ("apps/cm.yaml", CM),
        ("apps/ns.yaml", NS),
    ]);
    let plan = kustomization::plan(&ks, &t, "main@sha1:aa", &Default::default(), &[]).unwrap();
    let order: Vec<&str> = plan
        .objects
        .iter()
        .map(|o| o.planned.id.kind.as_str())
        .collect();
    assert_eq!(order, ["Namespace", "ConfigMap", "Deployment"]);
    assert!(plan.objects.iter().all(|o| o.action == Action::Created));
    // Owner labels are set as kustomize-controller sets them.
    assert_eq!(
        plan.objects[2].planned.object["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "apps"
    );
    // Live objects: the namespace as built (plus server fields), the
    // ConfigMap with other data.
    let mut ns = plan.objects[0].planned.object.clone();
    ns["metadata"]["uid"] = json!("123");
    ns["status"] = json!({"phase": "Active"});
    let mut cm = plan.objects[1].planned.object.clone();
    cm["data"]["a"] = json!("changed");
    let plan =
        kustomization::plan(&ks, &t, "main@sha1:aa", &Default::default(), &[ns, cm]).unwrap();
    let actions: Vec<Action> = plan.objects.iter().map(|o| o.action).collect();
    assert_eq!(
        actions,
        [Action::Unchanged, Action::Configured, Action::Created]
    );
}

#[test]
fn kustomization_success_records_inventory_and_prunes() {
    let ks: Kustomization = serde_json::from_value(ks_json(true)).unwrap();
    let t = tree(&[
        ("apps/deploy.yaml", DEPLOY),
        ("apps/cm.yaml", CM),
        ("apps/ns.yaml", NS),
    ]);
    let plan = kustomization::plan(&ks, &t, "main@sha1:aa", &Default::default(), &[]).unwrap();
    let out = kustomization::reconcile(&ks, &at(T0), Outcome::applied(&plan));
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:aa"
        )
    );
    assert!(conditions::get(&s.conditions, RECONCILING).is_none());
    let ids: Vec<&str> = s
        .inventory
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "_web__Namespace",
            "web_cfg__ConfigMap",
            "web_web_apps_Deployment"
        ]
    );
    assert_eq!(
        out.events[0].message,
        "Namespace/web created\nConfigMap/web/cfg created\nDeployment/web/web created"
    );
    assert_eq!(
        out.events[0].metadata["kustomize.toolkit.fluxcd.io/revision"],
        "main@sha1:aa"
    );
    assert_eq!(
        out.events.last().unwrap().message,
        "Reconciliation finished, next run in 10m0s"
    );
    // The Deployment leaves the source: it is pruned.
    let ks2: Kustomization = with_status(ks_json(true), &s);
    let t2 = tree(&[("apps/cm.yaml", CM), ("apps/ns.yaml", NS)]);
    let plan2 = kustomization::plan(&ks2, &t2, "main@sha1:bb", &Default::default(), &[]).unwrap();
    assert_eq!(plan2.prune.len(), 1);
    assert_eq!(plan2.prune[0].id.name, "web");
    let out = kustomization::reconcile(&ks2, &at(T0 + 600), Outcome::applied(&plan2));
    assert!(
        out.events
            .iter()
            .any(|e| e.message == "Deployment/web/web deleted")
    );
    // Without spec.prune nothing is deleted.
    let ks3: Kustomization = with_status(ks_json(false), &s);
    assert!(
        kustomization::plan(&ks3, &t2, "main@sha1:bb", &Default::default(), &[])
            .unwrap()
            .prune
            .is_empty()
    );
}

#[test]
fn kustomization_prune_failure_keeps_tracking() {
    let ks: Kustomization = serde_json::from_value(ks_json(true)).unwrap();
    let t = tree(&[("apps/deploy.yaml", DEPLOY), ("apps/ns.yaml", NS)]);
    let plan = kustomization::plan(&ks, &t, "main@sha1:aa", &Default::default(), &[]).unwrap();
    let s = kustomization::reconcile(&ks, &at(T0), Outcome::applied(&plan))
        .status
        .unwrap();
    let ks2: Kustomization = with_status(ks_json(true), &s);
    let plan2 = kustomization::plan(
        &ks2,
        &tree(&[("apps/ns.yaml", NS)]),
        "main@sha1:bb",
        &Default::default(),
        &[],
    )
    .unwrap();
    let out = kustomization::reconcile(
        &ks2,
        &at(T0 + 1),
        Outcome::Applied {
            plan: &plan2,
            apply_error: None,
            prune_error: Some("forbidden".into()),
            health_error: None,
        },
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        ("False", "PruneFailed", "forbidden")
    );
    assert_eq!(s.inventory.unwrap().entries.len(), 2);
    assert_eq!(s.last_applied_revision.as_deref(), Some("main@sha1:aa"));
    assert_eq!(s.last_attempted_revision.as_deref(), Some("main@sha1:bb"));
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(60)));
}

#[test]
fn kustomization_failures_and_waits() {
    let ks: Kustomization = serde_json::from_value(ks_json(true)).unwrap();
    let out = kustomization::reconcile(&ks, &at(T0), Outcome::SourceNotFound);
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "ArtifactFailed",
            "Source 'GitRepository/flux-system/flux-system' not found"
        )
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(60)));

    let out = kustomization::reconcile(&ks, &at(T0), Outcome::ArtifactMissing);
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(30)));

    let out = kustomization::reconcile(
        &ks,
        &at(T0),
        Outcome::DependencyNotReady("dependency 'flux-system/infra' is not ready".into()),
    );
    let s = out.status.unwrap();
    assert_eq!(cond(&s.conditions, READY).1, "DependencyNotReady");
    assert_eq!(
        out.events[0].message,
        "Dependencies do not meet ready condition, retrying in 30s"
    );

    let err = kustomization::plan(
        &ks,
        &tree(&[("apps/kustomization.yaml", "resources: [missing.yaml]\n")]),
        "main@sha1:aa",
        &Default::default(),
        &[],
    )
    .unwrap_err();
    let out = kustomization::reconcile(
        &ks,
        &at(T0),
        Outcome::BuildFailed {
            revision: "main@sha1:aa".into(),
            message: err.clone(),
        },
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        ("False", "BuildFailed", err.as_str())
    );
    assert_eq!(cond(&s.conditions, RECONCILING).1, "ProgressingWithRetry");
    assert_eq!(s.last_attempted_revision.as_deref(), Some("main@sha1:aa"));
    assert_eq!(out.events[0].r#type, EventType::Warning);
    assert_eq!(s.observed_generation, 0);
}

#[test]
fn kustomization_suspended() {
    let mut j = ks_json(true);
    j["spec"]["suspend"] = json!(true);
    let ks: Kustomization = serde_json::from_value(j).unwrap();
    let out = kustomization::reconcile(&ks, &at(T0), Outcome::SourceNotFound);
    assert!(out.status.is_none());
}

#[test]
fn kustomization_artifact_failure() {
    let ks: Kustomization = serde_json::from_value(ks_json(true)).unwrap();
    let out = kustomization::reconcile(
        &ks,
        &at(T0),
        Outcome::ArtifactFailed {
            revision: "main@sha1:aa".into(),
            message: "failed to verify artifact: digest mismatch".into(),
        },
    );
    let s = out.status.unwrap();
    assert_eq!(
        cond(&s.conditions, READY),
        (
            "False",
            "ArtifactFailed",
            "failed to verify artifact: digest mismatch"
        )
    );
    assert_eq!(cond(&s.conditions, RECONCILING).1, "ProgressingWithRetry");
    assert!(
        cond(&s.conditions, RECONCILING)
            .2
            .starts_with("Fetching manifests for revision main@sha1:aa")
    );
    assert_eq!(s.last_attempted_revision, None);
    assert_eq!(out.events[0].r#type, EventType::Warning);
    assert_eq!(out.events[0].reason, "ArtifactFailed");
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(60)));
}
