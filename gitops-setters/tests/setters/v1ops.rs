//! Flux v1 operations (fluxctl parity) on a fixture repository, checked
//! against hand-written expected files (`tests/fixtures/v1ops/expected`).

use std::convert::Infallible;

use gitops_core::fs::MemTree;
use gitops_core::{ImageRef, Tag};
use gitops_setters::v1::TagChooser;
use gitops_setters::v1ops::policy::{self, AnyFilter, FilterCheck, PolicyUpdate};
use gitops_setters::v1ops::release::{self, ImageSpec, ReleaseSpec, Status, Workloads};
use gitops_setters::v1ops::{Error, Repository, WorkloadId};

use crate::{fixture, mem_tree, rel};

fn repo() -> Repository {
    Repository::load(&mem_tree(&fixture("v1ops/repo")), &rel("")).expect("load")
}

fn id(s: &str) -> WorkloadId {
    s.parse().expect("valid id")
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture("v1ops/expected").join(name)).expect("expected file")
}

fn input(name: &str) -> String {
    std::fs::read_to_string(fixture("v1ops/repo").join(name)).expect("input file")
}

/// Rejects patterns with `[` (stands in for an invalid regexp).
struct NoBrackets;

#[derive(Debug, thiserror::Error)]
#[error("unbalanced [")]
struct Bracket;

impl FilterCheck for NoBrackets {
    type Error = Bracket;
    fn check(&self, pattern: &str) -> Result<(), Bracket> {
        if pattern.contains('[') {
            Err(Bracket)
        } else {
            Ok(())
        }
    }
}

/// Assert that `edit` rewrote exactly `file` into `expected/<want>`.
fn assert_edit(files: &[gitops_setters::v1ops::FileEdit], file: &str, want: &str) {
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].path.as_str(), file);
    assert_eq!(files[0].old, input(file));
    assert_eq!(files[0].new, expected(want), "{want}");
}

#[test]
fn lists_every_workload_fluxd_sees() {
    let r = repo();
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
    let ids: Vec<String> = r.workloads().iter().map(|w| w.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "default:cronjob/backup",
            "legacy:helmrelease/old",
            "monitoring:daemonset/agent",
            "prod:deployment/web",
            "prod:helmrelease/podinfo",
            "prod:job/migrate",
        ]
    );
    let web = r.workload(&id("prod:deployment/web")).unwrap();
    assert_eq!((web.file.as_str(), web.line), ("web.yaml", 3));
    assert!(web.policy.automated && !web.policy.locked);
    assert_eq!(web.policy.tags["app"], "glob:1.*");
    let c: Vec<(&str, String, &str)> = web
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.image.to_string(), c.filter.as_str()))
        .collect();
    assert_eq!(
        c,
        [
            ("app", "ghcr.io/org/web:1.0.0".to_owned(), "glob:1.*"),
            ("sidecar", "envoyproxy/envoy:v1.29.0".to_owned(), "glob:*"),
        ]
    );
    let agent = r.workload(&id("monitoring:daemonset/agent")).unwrap();
    assert!(agent.policy.locked);
    assert_eq!(
        agent.policy.locked_msg.as_deref(),
        Some("waiting for CVE fix")
    );
    assert_eq!(agent.policy.summary(), "locked");
    let podinfo = r.workload(&id("prod:helmrelease/podinfo")).unwrap();
    assert!(!podinfo.policy.automated);
    let c: Vec<(&str, String)> = podinfo
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.image.to_string()))
        .collect();
    assert_eq!(
        c,
        [
            (
                "chart-image",
                "ghcr.io/stefanprodan/podinfo:6.5.0".to_owned()
            ),
            // Mapped by the repository.fluxcd.io/tag.fluxcd.io annotations.
            ("cache", "docker.io/library/redis:7.2.3".to_owned()),
            ("ui", "ghcr.io/stefanprodan/podinfo-ui:1.0.0".to_owned()),
        ]
    );
    let old = r.workload(&id("legacy:helmrelease/old")).unwrap();
    assert_eq!(old.containers[0].image.to_string(), "nginx:1.25");
    let backup = r.workload(&id("default:cronjob/backup")).unwrap();
    assert_eq!(backup.containers[0].name, "backup");
}

#[test]
fn automate_creates_an_annotations_block_in_a_list_item() {
    let e = policy::update(
        &repo(),
        &id("default:cronjob/backup"),
        &PolicyUpdate::automate(),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "jobs.yaml", "jobs.automate-backup.yaml");
    assert_eq!(e.message, "Automated: default:cronjob/backup\n");
    assert_eq!(e.changes[0].key, "fluxcd.io/automated");
}

#[test]
fn lock_appends_in_the_blocks_style() {
    let e = policy::update(
        &repo(),
        &id("prod:deployment/web"),
        &PolicyUpdate::lock(Some("jane"), Some("deploy freeze")),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "web.yaml", "web.lock.yaml");
    assert_eq!(
        e.message,
        "Updated workload policies\n\n- Locked: prod:deployment/web\n- Updated policies: prod:deployment/web\n"
    );
}

#[test]
fn deautomate_removes_the_line_and_its_comment() {
    let e = policy::update(
        &repo(),
        &id("prod:deployment/web"),
        &PolicyUpdate::deautomate(),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "web.yaml", "web.deautomate.yaml");
    assert_eq!(e.message, "Deautomated: prod:deployment/web\n");
}

#[test]
fn tag_all_and_tag() {
    let u = PolicyUpdate::default()
        .tag_all("v1.*")
        .tag("app", "semver:~1");
    let e = policy::update(&repo(), &id("prod:deployment/web"), &u, &NoBrackets).unwrap();
    assert_edit(&e.files, "web.yaml", "web.tag-all.yaml");
    assert_eq!(e.message, "Updated policies: prod:deployment/web\n");
    // `--tag-all '*'` removes every filter.
    let e = policy::update(
        &repo(),
        &id("prod:deployment/web"),
        &PolicyUpdate::default().tag_all("*"),
        &AnyFilter,
    )
    .unwrap();
    assert!(!e.files[0].new.contains("tag.app"));
}

#[test]
fn tag_in_a_flow_metadata_mapping() {
    let e = policy::update(
        &repo(),
        &id("prod:job/migrate"),
        &PolicyUpdate::default().tag("migrate", "regex:^1\\."),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "jobs.yaml", "jobs.tag-migrate.yaml");
}

#[test]
fn legacy_prefix_and_indentation_are_kept() {
    let r = repo();
    let e = policy::update(
        &r,
        &id("monitoring:daemonset/agent"),
        &PolicyUpdate::automate(),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "legacy.yaml", "legacy.automate.yaml");
    let e = policy::update(
        &r,
        &id("monitoring:daemonset/agent"),
        &PolicyUpdate::unlock(),
        &AnyFilter,
    )
    .unwrap();
    assert_edit(&e.files, "legacy.yaml", "legacy.unlock.yaml");
}

#[test]
fn nothing_to_change_is_no_edit() {
    let e = policy::update(
        &repo(),
        &id("prod:deployment/web"),
        &PolicyUpdate::automate(),
        &AnyFilter,
    )
    .unwrap();
    assert!(e.files.is_empty() && e.changes.is_empty());
}

#[test]
fn bad_input_is_a_clear_error() {
    let r = repo();
    let err = |id_: &str, u: PolicyUpdate| {
        policy::update(&r, &id(id_), &u, &NoBrackets)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("default:deployment/web", PolicyUpdate::automate()),
        "workload default:deployment/web not found (did you mean prod:deployment/web?)"
    );
    assert_eq!(
        err("default:service/agent", PolicyUpdate::automate()),
        "legacy.yaml:1: default:service/agent is a Service, not a workload Flux v1 updates"
    );
    assert_eq!(
        err(
            "prod:deployment/web",
            PolicyUpdate::default().tag("db", "1.*")
        ),
        "prod:deployment/web has no container \"db\" (containers: app, sidecar)"
    );
    assert_eq!(
        err(
            "prod:deployment/web",
            PolicyUpdate::default().tag("app", "regexp:[")
        ),
        "prod:deployment/web: invalid tag pattern \"regexp:[\" for container \"app\""
    );
    assert_eq!(
        err("prod:deployment/web", PolicyUpdate::default()),
        "nothing to change: give a policy to add or remove"
    );
    assert!("web".parse::<WorkloadId>().is_err());

    // Malformed annotations, and a duplicate id.
    let mut tree = MemTree::new();
    tree.insert(
        "a.yaml",
        "kind: Deployment\nmetadata:\n  name: a\n  annotations: [x]\nspec: {template: {spec: {containers: [{name: c, image: 'n:1'}]}}}\n",
    )
    .unwrap();
    let r = Repository::load(&tree, &rel("")).unwrap();
    let e = policy::update(
        &r,
        &id("deployment/a"),
        &PolicyUpdate::automate(),
        &AnyFilter,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "a.yaml:4: default:deployment/a: metadata.annotations is not a mapping"
    );
    tree.insert(
        "b.yaml",
        "kind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: []}}}\n",
    )
    .unwrap();
    let e = Repository::load(&tree, &rel("")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "duplicate definition of default:deployment/a (a.yaml:1 and b.yaml:1)"
    );
}

#[test]
fn crlf_files_get_crlf_lines() {
    let src = "kind: Deployment\r\nmetadata:\r\n  name: a\r\nspec: {template: {spec: {containers: [{name: c, image: 'n:1'}]}}}\r\n";
    let mut tree = MemTree::new();
    tree.insert("a.yaml", src).unwrap();
    let r = Repository::load(&tree, &rel("")).unwrap();
    let e = policy::update(
        &r,
        &id("deployment/a"),
        &PolicyUpdate::automate(),
        &AnyFilter,
    )
    .unwrap();
    assert_eq!(
        e.files[0].new,
        src.replace(
            "name: a\r\n",
            "name: a\r\n  annotations:\r\n    fluxcd.io/automated: \"true\"\r\n"
        )
    );
}

/// Fixed tags for `--update-all-images`.
struct Latest;

impl TagChooser for Latest {
    type Error = Infallible;
    fn choose(&self, image: &ImageRef, _filter: &str) -> Result<Option<Tag>, Infallible> {
        let t = match image.name() {
            "ghcr.io/stefanprodan/podinfo" => "6.6.0",
            "ghcr.io/stefanprodan/podinfo-ui" => "1.1.0",
            "docker.io/library/redis" => "7.2.4",
            "nginx" => "1.27",
            _ => return Ok(None),
        };
        Ok(Some(Tag::parse(t).expect("valid tag")))
    }
}

/// Glob filters only (`glob:1.*` style), enough for these fixtures.
struct Globs;

impl release::TagFilter for Globs {
    type Error = Infallible;
    fn matches(&self, filter: &str, tag: &str) -> Result<bool, Infallible> {
        let g = filter.strip_prefix("glob:").unwrap_or(filter);
        Ok(match g.strip_suffix('*') {
            Some(prefix) => tag.starts_with(prefix),
            None => g == tag,
        })
    }
}

#[test]
fn release_a_specific_image() {
    let r = repo();
    let spec = ReleaseSpec::workloads(
        vec![id("prod:deployment/web")],
        ImageSpec::parse("ghcr.io/org/web:1.2.0").unwrap(),
    );
    let out = release::release(&r, &spec, &Globs, &Latest, None).unwrap();
    assert_edit(&out.files, "web.yaml", "web.release.yaml");
    assert_eq!(
        out.message,
        "Release ghcr.io/org/web:1.2.0 to prod:deployment/web"
    );
    assert_eq!(out.results[0].status, Status::Success);
    assert_eq!(out.changed_images(), ["ghcr.io/org/web:1.2.0"]);

    // The container's filter (glob:1.*) refuses 2.0.0 unless forced.
    let spec2 = ReleaseSpec {
        image: ImageSpec::parse("ghcr.io/org/web:2.0.0").unwrap(),
        ..spec.clone()
    };
    let out = release::release(&r, &spec2, &Globs, &Latest, None).unwrap();
    assert!(out.files.is_empty());
    assert_eq!(out.results[0].status, Status::Skipped);
    assert_eq!(
        out.results[0].reason.as_deref(),
        Some("tag 2.0.0 does not match the filter glob:1.* of container app")
    );
    let forced = ReleaseSpec {
        force: true,
        ..spec2
    };
    let out = release::release(&r, &forced, &Globs, &Latest, None).unwrap();
    assert!(out.files[0].new.contains("image: ghcr.io/org/web:2.0.0\n"));
}

#[test]
fn release_to_all_skips_locked_and_other_images() {
    let spec = ReleaseSpec {
        workloads: Workloads::All,
        image: ImageSpec::parse("ghcr.io/org/web:1.2.0").unwrap(),
        excludes: vec![],
        force: false,
    };
    let out = release::release(&repo(), &spec, &Globs, &Latest, Some("ship it")).unwrap();
    let got: Vec<(String, Status, Option<String>)> = out
        .results
        .iter()
        .map(|w| (w.workload.to_string(), w.status, w.reason.clone()))
        .collect();
    let s = |x: &str| x.to_owned();
    let other = Some(s("a different image"));
    assert_eq!(
        got,
        [
            (s("default:cronjob/backup"), Status::Ignored, other.clone()),
            (s("legacy:helmrelease/old"), Status::Ignored, other.clone()),
            (
                s("monitoring:daemonset/agent"),
                Status::Ignored,
                other.clone()
            ),
            (s("prod:deployment/web"), Status::Success, None),
            (s("prod:helmrelease/podinfo"), Status::Ignored, other),
            (s("prod:job/migrate"), Status::Success, None),
        ]
    );
    assert_eq!(out.files.len(), 2);
    assert_eq!(out.message, "ship it");
}

#[test]
fn locked_workloads_are_refused_unless_forced() {
    let r = repo();
    let spec = ReleaseSpec::workloads(
        vec![id("monitoring:daemonset/agent")],
        ImageSpec::parse("quay.io/prometheus/node-exporter:v1.8.0").unwrap(),
    );
    let e = release::release(&r, &spec, &Globs, &Latest, None).unwrap_err();
    assert!(matches!(e, Error::Locked { .. }));
    assert_eq!(
        e.to_string(),
        "legacy.yaml:9: monitoring:daemonset/agent is locked: \"waiting for CVE fix\"; unlock it or release with --force"
    );
    let forced = ReleaseSpec {
        force: true,
        ..spec
    };
    let out = release::release(&r, &forced, &Globs, &Latest, None).unwrap();
    assert!(
        out.files[0]
            .new
            .contains("image: quay.io/prometheus/node-exporter:v1.8.0\n")
    );
    // An unknown workload, and a release without a tag.
    let spec = ReleaseSpec::workloads(vec![id("prod:deployment/nope")], ImageSpec::AllLatest);
    assert!(matches!(
        release::release(&r, &spec, &Globs, &Latest, None),
        Err(Error::UnknownWorkload { .. })
    ));
    assert_eq!(
        ImageSpec::parse("nginx").unwrap_err().to_string(),
        "invalid image \"nginx\": blank tag (if you want latest, explicitly state the tag :latest)"
    );
}

#[test]
fn release_all_latest_to_helm_releases() {
    let spec = ReleaseSpec::workloads(
        vec![id("prod:helmrelease/podinfo"), id("legacy:helmrelease/old")],
        ImageSpec::AllLatest,
    );
    let out = release::release(&repo(), &spec, &Globs, &Latest, None).unwrap();
    assert_edit(&out.files, "helm.yaml", "helm.release-all.yaml");
    assert_eq!(
        out.message,
        "Release all latest to prod:helmrelease/podinfo, legacy:helmrelease/old"
    );
}
