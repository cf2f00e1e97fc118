//! Flux v1 workload automation.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Mutex;

use gitops_core::fs::RelPath;
use gitops_core::{ImageRef, Tag};
use gitops_setters::v1::{TagChooser, discover_str, discover_tree, update_str, update_tree};

use crate::{fixture, mem_tree, rel};

/// Picks a fixed tag per image name and records what it was asked.
#[derive(Default)]
struct Table {
    tags: BTreeMap<&'static str, &'static str>,
    asked: Mutex<Vec<(String, String)>>,
}

impl TagChooser for Table {
    type Error = Infallible;
    fn choose(&self, image: &ImageRef, filter: &str) -> Result<Option<Tag>, Infallible> {
        self.asked
            .lock()
            .expect("not poisoned")
            .push((image.to_string(), filter.to_owned()));
        Ok(self
            .tags
            .get(image.name())
            .map(|t| Tag::parse(t).expect("valid tag")))
    }
}

fn table() -> Table {
    Table {
        tags: [
            ("ghcr.io/org/init", "1.9"),
            ("ghcr.io/org/app", "1.3.0"),
            ("nginx", "1.25"),
            ("ghcr.io/org/side", "2.1"),
            ("docker.io/org/worker", "3.1.0"),
            ("ghcr.io/org/extra", "v4.1.0"),
        ]
        .into_iter()
        .collect(),
        asked: Mutex::default(),
    }
}

#[test]
fn fixture_tree_matches_expected_bytes() {
    let original = mem_tree(&fixture("v1/original"));
    let expected = mem_tree(&fixture("v1/expected"));
    let chooser = table();
    let mut written = BTreeMap::new();
    let report = update_tree(&original, &RelPath::root(), &chooser, &mut |p, _, new| {
        written.insert(p.to_string(), new.to_owned());
        Ok(())
    })
    .unwrap();
    let names: Vec<String> = expected.files().map(|(p, _)| p.to_string()).collect();
    assert_eq!(written.keys().cloned().collect::<Vec<_>>(), names);
    for (p, bytes) in expected.files() {
        assert_eq!(
            written[p.as_str()].as_bytes(),
            bytes,
            "{p}:\n{}",
            written[p.as_str()]
        );
    }
    let sources: Vec<String> = report
        .changes
        .iter()
        .map(|c| format!("{} {}", c.object, c.setter))
        .collect();
    assert_eq!(
        sources,
        [
            "CronJob/report app",
            "Deployment/prod/web init",
            "Deployment/prod/web app",
            "HelmRelease/apps/shop chart-image:tag",
            "HelmRelease/apps/shop sidecar:tag",
            "HelmRelease/apps/shop worker:repository",
            "HelmRelease/apps/shop extra:tag",
        ]
    );
    // The Service is automated but has no containers.
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(
        report.warnings[0].to_string(),
        "plain.yaml:1: Service/svc: automated, but Flux v1 automates only Deployment, DaemonSet, StatefulSet, CronJob and HelmRelease"
    );
    // Filters reach the chooser; locked and non-automated workloads are not asked.
    let asked = chooser.asked.lock().unwrap();
    assert!(asked.contains(&("ghcr.io/org/init:1.0".into(), "glob:1.*".into())));
    assert!(asked.contains(&(
        "ghcr.io/org/app:1.2.0@sha256:1111111111111111111111111111111111111111111111111111111111111111".into(),
        "semver:~1".into()
    )));
    assert!(asked.contains(&("nginx:1.25".into(), "glob:*".into())));
    assert_eq!(asked.len(), 8, "{asked:?}");
}

#[test]
fn discovery_lists_containers_and_fields() {
    let src = std::fs::read_to_string(fixture("v1/original/helmrelease.yaml")).unwrap();
    let (ws, warnings) = discover_str(&rel("hr.yaml"), &src);
    assert!(warnings.is_empty());
    let c: Vec<(String, String, Vec<String>)> = ws[0]
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.image.to_string(), c.fields.clone()))
        .collect();
    assert_eq!(
        c,
        [
            (
                "chart-image".into(),
                "ghcr.io/org/app:1.2.0".into(),
                vec!["image".into(), "tag".into()]
            ),
            (
                "extra".into(),
                "ghcr.io/org/extra:v4.0.0".into(),
                vec!["extra.img.repo".into(), "extra.img.version".into()]
            ),
            (
                "sidecar".into(),
                "ghcr.io/org/side:2.0".into(),
                vec![
                    "sidecar.image.registry".into(),
                    "sidecar.image.repository".into(),
                    "sidecar.image.tag".into()
                ]
            ),
            (
                "worker".into(),
                "docker.io/org/worker:3.0.0".into(),
                vec!["worker.registry".into(), "worker.image".into()]
            ),
        ]
    );
    assert!(ws[0].automation.enabled());

    let tree = mem_tree(&fixture("v1/original"));
    let (all, _) = discover_tree(&tree, &RelPath::root()).unwrap();
    let enabled: Vec<String> = all
        .iter()
        .map(|w| format!("{}={}", w.object, w.automation.enabled()))
        .collect();
    assert_eq!(
        enabled,
        [
            "CronJob/report=true",
            "Deployment/prod/web=true",
            "HelmRelease/apps/shop=true",
            "DaemonSet/agent=false",
            "StatefulSet/db=false"
        ]
    );
}

#[test]
fn helm_whole_image_and_non_string_tags() {
    let src = "apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: x\n  annotations: {fluxcd.io/automated: \"true\"}\nspec:\n  values:\n    image:\n      repository: ghcr.io/org/app:1.2.0\n    other:\n      image: ghcr.io/org/app\n      tag: 1.0\n";
    let out = update_str(&rel("x.yaml"), src, &table());
    // `tag: 1.0` is a float for yaml.v2, so Flux v1 ignores it and the image has no tag.
    assert_eq!(
        out.contents.unwrap(),
        src.replace(
            "repository: ghcr.io/org/app:1.2.0",
            "repository: ghcr.io/org/app:1.3.0"
        )
        .replace("image: ghcr.io/org/app\n", "image: ghcr.io/org/app:1.3.0\n")
    );
}

#[test]
fn list_kinds_and_bad_images() {
    let src = "apiVersion: v1\nkind: List\nitems:\n- kind: Deployment\n  metadata:\n    name: a\n    annotations:\n      fluxcd.io/automated: \"true\"\n  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: ghcr.io/org/app:1.0.0\n        - name: bad\n          image: \"Not A Valid Image\"\n";
    let out = update_str(&rel("l.yaml"), src, &table());
    assert_eq!(
        out.contents.unwrap(),
        src.replace("ghcr.io/org/app:1.0.0", "ghcr.io/org/app:1.3.0")
    );
    assert_eq!(out.warnings.len(), 1);
    assert!(
        out.warnings[0]
            .to_string()
            .starts_with("l.yaml:16: Deployment/a: container \"bad\": invalid image reference"),
        "{}",
        out.warnings[0]
    );
}

#[test]
fn chooser_errors_are_warnings() {
    struct Broken;
    #[derive(Debug)]
    struct Oops;
    impl std::fmt::Display for Oops {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no tags known for this image")
        }
    }
    impl std::error::Error for Oops {}
    impl TagChooser for Broken {
        type Error = Oops;
        fn choose(&self, _: &ImageRef, _: &str) -> Result<Option<Tag>, Oops> {
            Err(Oops)
        }
    }
    let src = std::fs::read_to_string(fixture("v1/original/cronjob.yaml")).unwrap();
    let out = update_str(&rel("c.yaml"), &src, &Broken);
    assert_eq!(out.contents, None);
    assert_eq!(
        out.warnings[0].to_string(),
        "c.yaml:15: CronJob/report: container \"app\": cannot choose a tag: no tags known for this image"
    );
}
