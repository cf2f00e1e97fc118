//! The HelmRelease lifecycle end to end with the SDK's own parts: a Helm
//! whose install and upgrade render the chart with gitops-render and keep
//! the release records as the Secrets Helm v4 writes (encoded, then read
//! back from the Secrets on every step), driven by `helm::atomic`.

use std::collections::BTreeMap;
use std::path::Path;

use gitops_core::flux::HelmReleaseSpec;
use gitops_core::fs::{OsTree, RelPath};
use gitops_reconcile::helm::atomic::{self, HelmActions, Request};
use gitops_reconcile::helm::lifecycle::{
    Desired, HelmReleaseStatus, Options, Outcome, Storage, StoredRelease, mark_attempted,
};
use gitops_reconcile::helm::release::{self, Release, Stamp, Status};
use gitops_reconcile::helm::snapshot::values_digest;
use gitops_render::helm::chart::{RenderOptions, render_chart};
use serde_json::{Map, Value, json};

const NOW: &str = "2026-01-01T00:00:00Z";

/// Helm on gitops-render, storing its records as Secrets by name.
struct RenderingHelm {
    chart: OsTree,
    values: Map<String, Value>,
    secrets: BTreeMap<String, Value>,
    stamp: i64,
}

impl RenderingHelm {
    fn records(&self) -> Vec<Release> {
        let mut all: Vec<Release> = self
            .secrets
            .values()
            .map(|s| release::from_secret(s).expect("a record we wrote reads back"))
            .collect();
        all.sort_by_key(|r| r.version);
        all
    }

    fn store(&mut self, rls: &Release) {
        self.stamp += 1;
        let secret = release::to_secret(rls, Stamp::Created(self.stamp));
        let name = secret["metadata"]["name"].as_str().unwrap().to_owned();
        self.secrets.insert(name, secret);
    }

    /// Render and record a new revision, superseding the deployed one.
    fn release(&mut self, description: &str) -> Outcome {
        let options = RenderOptions::new("demo", "apps");
        let manifest = match render_chart(
            &self.chart,
            &RelPath::new("tiny").unwrap(),
            &self.values,
            &options,
        ) {
            Ok(m) => m,
            Err(e) => return Outcome::failed(&e.to_string(), Vec::new()),
        };
        let text: String = manifest
            .resources
            .iter()
            .map(|f| format!("---\n# Source: {}\n{}\n", f.path, f.content))
            .collect();
        let mut written = Vec::new();
        for mut old in self.records() {
            if old.status() == Status::Deployed {
                let mut v = serde_json::to_value(&old).unwrap();
                v["info"]["status"] = json!("superseded");
                old = serde_json::from_value(v).unwrap();
                self.store(&old);
                written.push(old);
            }
        }
        let version = self.records().last().map_or(1, |r| r.version + 1);
        let rls: Release = serde_json::from_value(json!({
            "name": "demo",
            "namespace": "apps",
            "version": version,
            "info": {"status": "deployed", "first_deployed": NOW, "last_deployed": NOW,
                     "description": description, "notes": manifest.notes.clone().unwrap_or_default()},
            "chart": {"metadata": {"name": "tiny", "version": "0.1.0", "apiVersion": "v2", "appVersion": "1.2.3"}},
            "config": self.values,
            "manifest": text,
        }))
        .unwrap();
        self.store(&rls);
        written.push(rls);
        Outcome::succeeded(written)
    }
}

impl HelmActions for RenderingHelm {
    fn storage(&mut self) -> Result<Storage, String> {
        Ok(Storage::new(
            self.records()
                .iter()
                .map(StoredRelease::from_release)
                .collect(),
        ))
    }
    fn install(&mut self) -> Outcome {
        self.release("Install complete")
    }
    fn upgrade(&mut self) -> Outcome {
        self.release("Upgrade complete")
    }
    fn test(&mut self) -> Outcome {
        Outcome::failed("not used: tests are off", Vec::new())
    }
    fn rollback(&mut self, _version: i64) -> Outcome {
        Outcome::failed("not used: nothing fails", Vec::new())
    }
    fn uninstall(&mut self) -> Outcome {
        Outcome::failed("not used: nothing fails", Vec::new())
    }
    fn unlock(&mut self) -> Outcome {
        Outcome::failed("not used: nothing is pending", Vec::new())
    }
}

fn reconcile(
    helm: &mut RenderingHelm,
    status: &mut HelmReleaseStatus,
    generation: i64,
) -> atomic::Run {
    let spec: HelmReleaseSpec = serde_json::from_value(json!({
        "interval": "10m",
        "chart": {"spec": {"chart": "tiny", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}
    }))
    .unwrap();
    let options = Options::from_spec(&spec).unwrap();
    let desired = Desired::new("tiny", "0.1.0", &values_digest(Some(&helm.values)))
        .with_release("apps", "demo");
    mark_attempted(status, &desired, generation);
    let mut req = Request::new(&options, &desired, NOW);
    req.generation = generation;
    atomic::reconcile(&req, status, helm)
}

#[test]
fn install_then_upgrade_render_with_gitops_render_and_store_helm_records() {
    let mut helm = RenderingHelm {
        chart: OsTree::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm")).unwrap(),
        values: serde_json::from_value(json!({"replicas": 2})).unwrap(),
        secrets: BTreeMap::new(),
        stamp: 0,
    };
    let mut status = HelmReleaseStatus::default();

    let run = reconcile(&mut helm, &mut status, 1);
    assert_eq!(run.result, Ok(()), "{run:?}");
    assert_eq!(
        run.actions.iter().map(|a| a.name()).collect::<Vec<_>>(),
        ["install"]
    );
    assert_eq!(
        helm.secrets.keys().collect::<Vec<_>>(),
        ["sh.helm.release.v1.demo.v1"]
    );
    let v1 = release::from_secret(&helm.secrets["sh.helm.release.v1.demo.v1"]).unwrap();
    assert!(v1.manifest.contains("name: demo-config"), "{}", v1.manifest);
    assert!(v1.manifest.contains("replicas: \"2\""), "{}", v1.manifest);
    assert_eq!(status.history.len(), 1);

    // The same desired state again: in sync, nothing runs.
    let run = reconcile(&mut helm, &mut status, 1);
    assert_eq!(run.result, Ok(()));
    assert!(run.actions.is_empty(), "{run:?}");

    // New values: an upgrade, v1 superseded.
    helm.values = serde_json::from_value(json!({"replicas": 3})).unwrap();
    let run = reconcile(&mut helm, &mut status, 2);
    assert_eq!(run.result, Ok(()), "{run:?}");
    assert_eq!(
        run.actions.iter().map(|a| a.name()).collect::<Vec<_>>(),
        ["upgrade"]
    );
    let records = helm.records();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.version, r.status()))
            .collect::<Vec<_>>(),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert!(records[1].manifest.contains("replicas: \"3\""));
    assert_eq!(status.history.len(), 2);
    assert_eq!(status.history[0].version, 2);
    let ready = status
        .conditions
        .iter()
        .find(|c| c.r#type == "Ready")
        .expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("True", Some("UpgradeSucceeded"))
    );
}
