//! The behaviours of Flux's own setters tests (image-automation-controller
//! `internal/update`), with byte-exact expected outputs written by us.

use std::collections::BTreeMap;

use gitops_core::fs::{FileTree, RelPath};
use gitops_setters::apply::apply_tree;
use gitops_setters::report::ObjectChanges;

use crate::{fixture, mem_tree, policies};

const DIGEST2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn flux_policies() -> gitops_setters::Policies {
    policies(&[
        (
            "automation:worker",
            "registry.example.com/team/worker:1.5.2",
        ),
        (
            "automation:sidecar",
            "registry.example.com/team/sidecar:2.0.0",
        ),
        (
            "automation:pinned",
            &format!("registry.example.com/team/api:3.1.0@{DIGEST2}"),
        ),
        ("automation:podinfo", "ghcr.io/stefanprodan/podinfo:6.10"),
        ("automation:api", "registry.example.com/team/api:3.1.0"),
    ])
}

#[test]
fn fixture_tree_matches_expected_bytes() {
    let original = mem_tree(&fixture("flux-setters/original"));
    let expected = mem_tree(&fixture("flux-setters/expected"));
    let mut written: BTreeMap<String, String> = BTreeMap::new();
    let report = apply_tree(
        &original,
        &RelPath::root(),
        &flux_policies(),
        &mut |p, _, new| {
            written.insert(p.to_string(), new.to_owned());
            Ok(())
        },
    )
    .unwrap();

    // Exactly the files that have an expected version were written...
    let expected_names: Vec<String> = expected.files().map(|(p, _)| p.to_string()).collect();
    assert_eq!(written.keys().cloned().collect::<Vec<_>>(), expected_names);
    // ...and each byte-for-byte.
    for (p, bytes) in expected.files() {
        assert_eq!(
            written[p.as_str()].as_bytes(),
            bytes,
            "{p}:\n{}",
            written[p.as_str()]
        );
    }
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.files_scanned, 8);
    // unmarked.yaml does not mention the marker key and is not parsed.
    assert_eq!(report.files_parsed, 7);
    assert_eq!(report.files_changed.len(), 6);
}

#[test]
fn result_lists_changes_by_file_and_object() {
    let original = mem_tree(&fixture("flux-setters/original"));
    let report = apply_tree(
        &original,
        &RelPath::root(),
        &flux_policies(),
        &mut |_, _, _| Ok(()),
    )
    .unwrap();
    let files = report.file_changes();
    let k = files
        .iter()
        .find(|f| f.file == "kustomization.yml")
        .unwrap();
    assert_eq!(
        k.objects,
        [ObjectChanges {
            api_version: "kustomize.config.k8s.io/v1beta1".into(),
            kind: "Kustomization".into(),
            namespace: String::new(),
            name: String::new(),
            changes: vec![
                summary(
                    "old.example.com/worker",
                    "registry.example.com/team/worker",
                    "automation:worker:name"
                ),
                summary("1.4", "1.5.2", "automation:worker:tag"),
                summary(
                    "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                    DIGEST2,
                    "automation:pinned:digest"
                ),
                summary(
                    "api",
                    &format!("registry.example.com/team/api:3.1.0@{DIGEST2}"),
                    "automation:pinned"
                ),
            ],
        }]
    );
    let marked = files.iter().find(|f| f.file == "marked.yaml").unwrap();
    assert_eq!(marked.objects.len(), 1);
    assert_eq!(
        (
            marked.objects[0].kind.as_str(),
            marked.objects[0].namespace.as_str(),
            marked.objects[0].name.as_str()
        ),
        ("CronJob", "jobs", "nightly")
    );
    // The unchanged policy (same image) produces no change.
    assert_eq!(
        marked.objects[0].changes,
        [summary(
            "registry.example.com/team/worker:1.4.0",
            "registry.example.com/team/worker:1.5.2",
            "automation:worker"
        )]
    );
    // Multi-document files attribute changes to the right document.
    let multi = files.iter().find(|f| f.file == "multidoc.yaml").unwrap();
    let names: Vec<&str> = multi.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["api", "worker"]);
    // Lines are the scalar's lines.
    let lines: Vec<(String, usize)> = report
        .changes
        .iter()
        .map(|c| (c.file.to_string(), c.line))
        .collect();
    assert!(lines.contains(&("kustomization.yml".into(), 20)));
    assert!(lines.contains(&("multidoc.yaml".into(), 26)));
}

fn summary(old: &str, new: &str, setter: &str) -> gitops_setters::report::ChangeSummary {
    gitops_setters::report::ChangeSummary {
        old_value: old.into(),
        new_value: new.into(),
        setter: setter.into(),
    }
}

#[test]
fn unknown_policies_change_nothing() {
    let original = mem_tree(&fixture("flux-setters/original"));
    let none = policies(&[("elsewhere:thing", "nginx:1")]);
    let report = apply_tree(&original, &RelPath::root(), &none, &mut |p, _, _| {
        panic!("{p} should not be written")
    })
    .unwrap();
    assert!(report.changes.is_empty());
    assert!(report.markers > 10);
}

#[test]
fn applying_twice_is_a_no_op() {
    let expected = mem_tree(&fixture("flux-setters/expected"));
    let report = apply_tree(
        &expected,
        &RelPath::root(),
        &flux_policies(),
        &mut |p, _, _| panic!("{p} should already be up to date"),
    )
    .unwrap();
    assert!(report.changes.is_empty());
    assert!(expected.read(&crate::rel("marked.yaml")).is_ok());
}
