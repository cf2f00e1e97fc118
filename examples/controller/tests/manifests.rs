//! `manifests`, `crds-diff` (checked against docs/controller.md), the
//! metrics endpoint and the flags.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use gitops_controller::cli::{Cli, Command};
use gitops_controller::manifests::{self, Options};
use gitops_controller::metrics::{Metrics, Outcome};
use serde_json::{Value, json};

fn options(shards: &[&str]) -> Options {
    Options {
        namespace: "flux-system".to_owned(),
        image: "registry.example/gitops-controller:dev".to_owned(),
        shards: shards.iter().map(|s| (*s).to_owned()).collect(),
        namespace_object: false,
        crds: true,
        kustomizations: false,
    }
}

#[test]
fn rbac_has_exactly_the_verbs_used() {
    let objs = manifests::objects(&options(&[]));
    let role = objs.iter().find(|o| o["kind"] == "ClusterRole").unwrap();
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories", "imagepolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories/status", "imagepolicies/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}
        ])
    );
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment"
        ]
    );
}

/// `manifests --enable-kustomizations`: the image rules, then the
/// Kustomization rules ending in `*` on `*` (cluster-admin-like, as Flux's
/// kustomize-controller); the Deployment runs the flag with a writable
/// `/tmp`. Without the flag none of it is printed (above).
#[test]
fn kustomizations_flag_adds_rbac_flag_and_tmp() {
    let mut o = options(&["shard1"]);
    o.kustomizations = true;
    let objs = manifests::objects(&o);
    let role = objs.iter().find(|o| o["kind"] == "ClusterRole").unwrap();
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories", "imagepolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["image.toolkit.fluxcd.io"], "resources": ["imagerepositories/status", "imagepolicies/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
            {"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations/status"], "verbs": ["patch"]},
            {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["gitrepositories"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["ocirepositories"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
        ])
    );
    let deployments: Vec<&Value> = objs.iter().filter(|o| o["kind"] == "Deployment").collect();
    assert_eq!(deployments.len(), 2);
    for d in deployments {
        let pod = &d["spec"]["template"]["spec"];
        let args = pod["containers"][0]["args"].as_array().unwrap();
        assert_eq!(args.last().unwrap(), "--enable-kustomizations");
        assert_eq!(pod["volumes"], json!([{"name": "temp", "emptyDir": {}}]));
        assert_eq!(
            pod["containers"][0]["volumeMounts"],
            json!([{"name": "temp", "mountPath": "/tmp"}])
        );
    }
    // No Kustomization or source CRDs: those are Flux's.
    let crds = objs
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .count();
    assert_eq!(crds, 2);
    let cli =
        Cli::try_parse_from(["gitops-controller", "manifests", "--enable-kustomizations"]).unwrap();
    let Some(Command::Manifests(m)) = cli.command else {
        panic!()
    };
    assert!(m.enable_kustomizations);
}

#[test]
fn shards_get_their_own_deployment_selector_and_lease() {
    let objs = manifests::objects(&options(&["shard1", "shard2"]));
    let args: Vec<(String, Value)> = objs
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap().to_owned(),
                d["spec"]["template"]["spec"]["containers"][0]["args"].clone(),
            )
        })
        .collect();
    assert_eq!(args.len(), 3);
    assert_eq!(args[0].0, "gitops-controller");
    assert_eq!(
        args[0].1[4],
        "--watch-label-selector=!sharding.fluxcd.io/key"
    );
    assert_eq!(args[1].0, "gitops-controller-shard1");
    assert_eq!(
        args[1].1[2],
        "--leader-election-lease-name=gitops-controller-shard1-leader-election"
    );
    assert_eq!(
        args[1].1[4],
        "--watch-label-selector=sharding.fluxcd.io/key=shard1"
    );
    assert_eq!(
        args[2].1[4],
        "--watch-label-selector=sharding.fluxcd.io/key=shard2"
    );
    // Unsharded: no selector at all.
    let one = manifests::objects(&options(&[]));
    let d = one.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// Every schema node of the printed CRDs has a type, fields or
/// `x-kubernetes-preserve-unknown-fields` (the API server refuses others),
/// and status keeps the fields gitops-core does not describe.
#[test]
fn printed_crds_are_structural_and_keep_status_fields() {
    fn check(path: &str, node: &Value) {
        let m = node.as_object().unwrap();
        assert!(
            m.contains_key("type")
                || m.contains_key("x-kubernetes-preserve-unknown-fields")
                || m.contains_key("x-kubernetes-int-or-string"),
            "{path} has no type"
        );
        if let Some(p) = m.get("properties").and_then(Value::as_object) {
            for (k, v) in p {
                check(&format!("{path}.{k}"), v);
            }
        }
        if let Some(i) = m.get("items") {
            check(&format!("{path}[]"), i);
        }
    }
    for crd in manifests::objects(&options(&[]))
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
    {
        let v = &crd["spec"]["versions"][0];
        assert_eq!(v["name"], "v1beta2");
        assert_eq!(v["subresources"], json!({"status": {}}));
        let schema = &v["schema"]["openAPIV3Schema"];
        check("", schema);
        assert_eq!(
            schema["properties"]["status"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
    }
    // The YAML reads back as the same objects.
    let objs = manifests::objects(&options(&["shard1"]));
    let yaml = manifests::to_yaml(&objs).unwrap();
    let docs = gitops_core::yaml::parse_documents(&yaml, "manifests.yaml").unwrap();
    let back: Vec<Value> = docs
        .iter()
        .map(|d| d.root.to_json(gitops_core::yaml::Schema::Core))
        .collect();
    assert_eq!(back, objs);
}

/// The list in docs/controller.md is what `crds-diff` prints.
#[test]
fn crds_diff_matches_the_doc() {
    let dir = gitops_controller::crds::default_conformance_dir();
    let Some(lines) = gitops_controller::crds::diff_conformance(&dir).unwrap() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "conformance data missing at {} under CI=true",
            dir.display()
        );
        println!(
            "crds-diff: no conformance data at {}; the suite did not run",
            dir.display()
        );
        return;
    };
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/controller.md"),
    )
    .unwrap();
    let start = doc.find("<!-- crds-diff:begin -->").expect("begin marker");
    let end = doc.find("<!-- crds-diff:end -->").expect("end marker");
    let block: Vec<&str> = doc[start..end]
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("```"))
        .collect();
    assert_eq!(
        block, lines,
        "docs/controller.md is stale: paste `gitops-controller crds-diff`"
    );
}

#[tokio::test]
async fn metrics_endpoint_serves_controller_runtime_names() {
    let metrics = Arc::new(Metrics::new());
    metrics.reconciled("imagepolicy", Outcome::Success, Duration::from_millis(3));
    metrics.reconciled("imagepolicy", Outcome::Error, Duration::from_millis(7));
    metrics.leading("gitops-controller-leader-election", true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(gitops_controller::metrics::serve(listener, metrics));
    let text = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    })
    .await
    .unwrap();
    server.abort();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    for line in [
        "controller_runtime_reconcile_total{controller=\"imagepolicy\",result=\"success\"} 1",
        "controller_runtime_reconcile_total{controller=\"imagepolicy\",result=\"error\"} 1",
        "controller_runtime_reconcile_errors_total{controller=\"imagepolicy\"} 1",
        "controller_runtime_reconcile_time_seconds_count{controller=\"imagepolicy\"} 2",
        "leader_election_master_status{name=\"gitops-controller-leader-election\"} 1",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    assert_eq!(
        gitops_controller::metrics::listen_addr(":8080")
            .unwrap()
            .to_string(),
        "0.0.0.0:8080"
    );
}

#[test]
fn flags_default_like_flux_and_run_is_the_default_command() {
    let cli = Cli::try_parse_from(["gitops-controller"]).unwrap();
    assert!(cli.command.is_none());
    assert!(cli.run.watch_all_namespaces);
    assert!(!cli.run.enable_leader_election);
    assert!(!cli.run.enable_kustomizations);
    assert_eq!(cli.run.metrics_addr, ":8080");
    assert_eq!(cli.run.concurrent, 4);
    assert_eq!(cli.run.requeue_dependency, Duration::from_secs(30));
    assert_eq!(
        cli.run.leader_election_lease_duration,
        Duration::from_secs(35)
    );
    let cli = Cli::try_parse_from([
        "gitops-controller",
        "--watch-all-namespaces=false",
        "--watch-namespace=apps",
        "--watch-label-selector=!sharding.fluxcd.io/key",
        "--enable-leader-election",
        "--requeue-dependency=5s",
        "--enable-kustomizations",
    ])
    .unwrap();
    assert!(!cli.run.watch_all_namespaces);
    assert_eq!(cli.run.watch_namespace, "apps");
    assert_eq!(cli.run.watch_label_selector, "!sharding.fluxcd.io/key");
    assert!(cli.run.enable_leader_election);
    assert_eq!(cli.run.requeue_dependency, Duration::from_secs(5));
    assert!(cli.run.enable_kustomizations);
    let cli = Cli::try_parse_from(["gitops-controller", "manifests", "--shards", "a,b"]).unwrap();
    let Some(Command::Manifests(m)) = cli.command else {
        panic!()
    };
    assert_eq!(m.shards, ["a", "b"]);
}

/// docs/controller.md's "Write your own controller" is the compiled
/// `examples/minimal.rs`, verbatim.
#[test]
fn minimal_controller_in_the_doc_is_the_compiled_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../../docs/controller.md")).unwrap();
    let code = std::fs::read_to_string(root.join("examples/minimal.rs")).unwrap();
    let start = doc
        .find("<!-- minimal:begin -->\n```rust\n")
        .expect("begin marker");
    let end = doc.find("```\n<!-- minimal:end -->").expect("end marker");
    let block = &doc[start + "<!-- minimal:begin -->\n```rust\n".len()..end];
    assert_eq!(
        block, code,
        "docs/controller.md is stale: paste examples/minimal.rs"
    );
}
