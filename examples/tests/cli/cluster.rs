//! `gitops cluster get|build|diff|test` on repository layouts of our own,
//! with charts served by real servers: a Helm repository over HTTP
//! (`python3 -m http.server`), an OCI registry (Debian's
//! `docker-registry`, charts pushed with the real `helm push`) and Git
//! sources from `git daemon`; rendered objects checked against the real
//! `kubectl kustomize` and `helm template`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::ServerProcess;
use crate::{Daemon, git, gitops, stderr, stdout};
use gitops_test_support::{oracle, write};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gitops-cluster/tests/fixtures"
);

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().expect("runs");
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(name)
}

/// `gitops cluster …`; returns (exit ok, stdout, stderr).
fn cluster(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["cluster"];
    all.extend_from_slice(args);
    let o = gitops(&all);
    (o.status.success(), stdout(&o), stderr(&o))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn classic_layout_offline_passes_kustomizations_and_skips_remote_charts() {
    let root = fixture("classic");
    let path = root.join("clusters/staging");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let junit = tmp.path().join("report.xml");
    let base = [
        "--path",
        path.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let mut args = vec!["test", "all"];
    args.extend(base);
    args.extend(["--junit-xml", junit.to_str().unwrap()]);
    let (ok, out, err) = cluster(&args);
    assert!(ok, "{out}{err}");
    for ks in ["flux-system", "apps", "infra-configs", "infra-controllers"] {
        assert!(
            out.contains(&format!("PASS Kustomization flux-system/{ks}\n")),
            "{out}"
        );
    }
    assert!(out.contains("SKIP HelmRelease podinfo/podinfo: chart podinfo >=1.0.0-alpha of HelmRepository/podinfo/podinfo (https://stefanprodan.github.io/podinfo) is not cached: pass --fetch"), "{out}");
    assert!(out.ends_with("4 passed, 0 failed, 3 skipped\n"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"tests="7" failures="0" skipped="3""#),
        "{xml}"
    );

    // get: the table, and JSON with the graph.
    let mut args = vec!["get", "ks"];
    args.extend(base);
    let (ok, out, _) = cluster(&args);
    assert!(ok);
    assert!(
        out.starts_with("NAMESPACE     NAME                PATH"),
        "{out}"
    );
    assert!(out.contains("apps                ./apps/staging"), "{out}");
    let mut args = vec!["get", "all", "-o", "json"];
    args.extend(base);
    let (_, out, _) = cluster(&args);
    let rows = json(&out);
    let apps = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "apps")
        .unwrap();
    assert_eq!(
        apps["dependsOn"],
        serde_json::json!(["flux-system/infra-configs"])
    );
    assert_eq!(apps["parent"], "flux-system/flux-system");
    assert_eq!(apps["status"], "PASS");

    // build: the Kustomization objects themselves are part of the stream,
    // substituted as kustomize-controller applies them.
    let mut args = vec!["build", "ks", "apps"];
    args.extend(base);
    let (ok, out, _) = cluster(&args);
    assert!(ok);
    assert!(
        out.contains("- host: podinfo.staging.example.com\n"),
        "{out}"
    );
    assert!(
        out.contains("kustomize.toolkit.fluxcd.io/name: apps\n"),
        "{out}"
    );
    let mut args = vec!["build", "all", "--skip-kinds", "Namespace,HelmRepository"];
    args.extend(base);
    let (ok, out, _) = cluster(&args);
    assert!(ok);
    assert!(!out.contains("\nkind: Namespace\n") && !out.contains("\nkind: HelmRepository\n"));
    assert!(out.contains("\nkind: ClusterIssuer\n") && out.contains("\nkind: Kustomization\n"));
    let mut args = vec!["build", "hr", "nope"];
    args.extend(base);
    let (ok, _, err) = cluster(&args);
    assert!(
        !ok && err.contains("no HelmRelease named \"nope\""),
        "{err}"
    );
}

/// A small chart of our own, with a values file and a helper.
fn write_chart(dir: &Path, version: &str) {
    write(
        dir,
        "Chart.yaml",
        format!("apiVersion: v2\nname: hello\nversion: {version}\n"),
    );
    write(
        dir,
        "values.yaml",
        "greeting: hi\nimage: ghcr.io/example/hello:1.0.0\n",
    );
    write(
        dir,
        "templates/_helpers.tpl",
        "{{- define \"hello.name\" -}}{{ .Release.Name }}-hello{{- end }}\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include \"hello.name\" . }}
spec:
  template:
    spec:
      containers:
      - name: hello
        image: {{ .Values.image }}
        env:
        - name: GREETING
          value: {{ .Values.greeting | quote }}
",
    );
}

fn helm_package(chart: &Path, dest: &Path) -> PathBuf {
    let out = run_ok(
        Command::new(oracle("helm"))
            .arg("package")
            .arg(chart)
            .arg("-d")
            .arg(dest),
    );
    let tgz = out.trim().rsplit(' ').next().unwrap().to_owned();
    PathBuf::from(tgz)
}

/// `python3 -m http.server` serving `dir` on loopback.
fn http_server(dir: &Path) -> (ServerProcess, u16) {
    let port = gitops_test_support::free_port();
    let server = ServerProcess::spawn(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir),
    )
    .expect("python3 runs");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "http.server did not start"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    (server, port)
}

fn ks(name: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: 10m
  prune: true
  path: {path}
  sourceRef: {{kind: GitRepository, name: flux-system}}
"
    )
}

#[test]
fn helm_repository_charts_are_fetched_over_http_then_served_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("helmrepo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    write_chart(&tmp.path().join("src/hello"), "0.1.0");
    helm_package(&tmp.path().join("src/hello"), &repo_dir);
    write_chart(&tmp.path().join("src2/hello"), "0.2.0");
    helm_package(&tmp.path().join("src2/hello"), &repo_dir);
    let (server, port) = http_server(&repo_dir);
    let url = format!("http://127.0.0.1:{port}");
    run_ok(
        Command::new(oracle("helm"))
            .args(["repo", "index"])
            .arg(&repo_dir)
            .args(["--url", &url]),
    );

    let repo = tmp.path().join("repo");
    write(&repo, "clusters/dev/apps.yaml", ks("apps", "./apps"));
    write(
        &repo,
        "apps/release.yaml",
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: charts, namespace: web}}
spec: {{interval: 1h, url: {url}}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: hello, namespace: web}}
spec:
  interval: 10m
  chart:
    spec:
      chart: hello
      version: 0.1.x
      sourceRef: {{kind: HelmRepository, name: charts}}
  values: {{greeting: from-release}}
"
        ),
    );
    let cache = tmp.path().join("cache");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["build", "hr", "hello", "--path"]
            .map(String::from)
            .to_vec();
        a.push(repo.join("clusters/dev").display().to_string());
        a.extend(["--root".to_owned(), repo.display().to_string()]);
        if !extra.contains(&"--cache-dir") {
            a.extend(["--cache-dir".to_owned(), cache.display().to_string()]);
        }
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        cluster(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (ok, out, err) = run(&["--fetch"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("name: hello-hello\n"), "{out}");
    assert!(out.contains("value: from-release\n"), "{out}");
    assert!(
        out.contains("helm.toolkit.fluxcd.io/name: hello\n"),
        "{out}"
    );
    drop(server);
    // The server is gone: the cached chart serves.
    let (ok, out2, err) = run(&[]);
    assert!(ok, "{err}");
    assert_eq!(out, out2);
    // Another cache, offline: skipped, and said so.
    let empty = tmp.path().join("empty-cache");
    let a = args(&["--cache-dir", empty.to_str().unwrap()]);
    let (ok, out, err) = cluster(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "a skipped chart is not a failure");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("warning: HelmRelease web/hello skipped: chart hello 0.1.x"),
        "{err}"
    );
}

#[test]
fn oci_charts_from_a_registry_by_helm_repository_and_oci_repository() {
    let registry = crate::image::start_registry();
    let tmp = tempfile::tempdir().unwrap();
    write_chart(&tmp.path().join("src/hello"), "0.1.0");
    let tgz = helm_package(&tmp.path().join("src/hello"), tmp.path());
    run_ok(
        Command::new(oracle("helm"))
            .arg("push")
            .arg(&tgz)
            .arg(format!("oci://{}/charts", registry.host))
            .arg("--plain-http")
            .env("HELM_REGISTRY_CONFIG", tmp.path().join("registry.json"))
            .env("HELM_CACHE_HOME", tmp.path().join("helm-cache")),
    );
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "kubernetes/main/apps.yaml",
        ks("apps", "./kubernetes/apps"),
    );
    write(
        &repo,
        "kubernetes/apps/releases.yaml",
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: charts, namespace: default}}
spec: {{type: oci, interval: 1h, url: oci://{host}/charts}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: by-repo, namespace: default}}
spec:
  interval: 10m
  chart:
    spec:
      chart: hello
      version: 0.1.x
      sourceRef: {{kind: HelmRepository, name: charts}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {{name: hello, namespace: default}}
spec:
  interval: 1h
  url: oci://{host}/charts/hello
  ref: {{tag: 0.1.0}}
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: by-ref, namespace: default}}
spec:
  interval: 10m
  chartRef: {{kind: OCIRepository, name: hello}}
  values: {{greeting: by-ref}}
",
            host = registry.host
        ),
    );
    let cache = tmp.path().join("cache");
    let (ok, out, err) = cluster(&[
        "test",
        "all",
        "--path",
        repo.join("kubernetes/main").to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--fetch",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("PASS HelmRelease default/by-repo\n"), "{out}");
    assert!(out.contains("PASS HelmRelease default/by-ref\n"), "{out}");
    let (ok, out, err) = cluster(&[
        "get",
        "images",
        "--path",
        repo.join("kubernetes/main").to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let line = |owner: &str| {
        out.lines()
            .find(|l| l.starts_with(owner))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(
        line("HelmRelease default/by-ref"),
        Some(vec![
            "HelmRelease",
            "default/by-ref",
            "ghcr.io/example/hello:1.0.0"
        ]),
        "{out}"
    );
}

#[test]
fn git_sources_of_tenants_are_fetched_from_git_or_mapped() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    let team = served.join("team.git");
    std::fs::create_dir_all(&team).unwrap();
    git(&team, &["init", "-q", "-b", "main"]);
    write(
        &team,
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: team}\ndata:\n  owner: ${owner}\n",
    );
    git(&team, &["add", "-A"]);
    git(&team, &["commit", "-qm", "team"]);
    let daemon = Daemon::start(&served);

    let repo = tmp.path().join("repo");
    write(
        &repo,
        "clusters/dev/tenant.yaml",
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: team, namespace: tenants}}
spec: {{interval: 1m, url: git://127.0.0.1:{}/team.git, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: team, namespace: tenants}}
spec:
  interval: 5m
  prune: true
  path: ./deploy
  targetNamespace: team
  sourceRef: {{kind: GitRepository, name: team}}
  postBuild: {{substitute: {{owner: alice}}}}
",
            daemon.port
        ),
    );
    let path = repo.join("clusters/dev");
    let cache = tmp.path().join("cache");
    let base = |extra: &[&str]| -> (bool, String, String) {
        let mut a = vec![
            "build",
            "ks",
            "tenants/team",
            "--path",
            path.to_str().unwrap(),
            "--root",
            repo.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        cluster(&a)
    };
    let (ok, out, err) = base(&[]);
    assert!(ok, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(
            "Kustomization tenants/team skipped: GitRepository/tenants/team (git://127.0.0.1:"
        ),
        "{err}"
    );
    assert!(
        err.contains("map it with --source tenants/team=DIR or pass --fetch"),
        "{err}"
    );
    let (ok, out, err) = base(&["--fetch"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("owner: alice\n") && out.contains("namespace: team\n"),
        "{out}"
    );
    // A mapping wins, and needs no network.
    let local = tmp.path().join("local-team");
    write(
        &local,
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\n",
    );
    let (ok, out, err) = base(&["--source", &format!("tenants/team={}", local.display())]);
    assert!(ok, "{err}");
    assert!(out.contains("name: local\n"), "{out}");
}

/// Strip the labels Flux's controllers add, to compare with the plain tools.
fn strip_owner_labels(v: &mut Value) {
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.retain(|k, _| {
            !k.starts_with("kustomize.toolkit.fluxcd.io/")
                && !k.starts_with("helm.toolkit.fluxcd.io/")
        });
        if labels.is_empty()
            && let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut)
        {
            m.remove("labels");
        }
    }
}

/// Test hooks are named with `randAlphaNum`: the random suffix goes.
fn strip_random_test_names(v: &mut Value) {
    let is_test = v
        .pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(Value::as_str)
        .is_some_and(|h| h.contains("test"));
    if let Some(name) = v.pointer_mut("/metadata/name").filter(|_| is_test)
        && let Some((stem, _)) = name.as_str().and_then(|n| n.rsplit_once('-'))
    {
        *name = Value::String(stem.to_owned());
    }
}

fn yaml_stream(text: &str) -> Vec<Value> {
    gitops_core::yaml::parse_documents(text, "oracle")
        .unwrap()
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.root.to_json(gitops_core::yaml::Schema::Yaml11))
        .collect()
}

#[test]
fn classic_layout_with_real_charts_renders_as_kubectl_and_helm_do() {
    let Some(corpus) =
        gitops_test_support::conformance_dir("cluster-classic", "helm-charts/charts")
    else {
        return;
    };
    let charts = corpus.join("helm-charts/charts");
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    helm_package(&charts.join("podinfo__podinfo"), &served);
    helm_package(&charts.join("ingress-nginx__ingress-nginx"), &served);
    run_ok(
        Command::new(oracle("helm"))
            .arg("package")
            .arg(charts.join("cert-manager__cert-manager"))
            .args(["--version", "1.16.1", "-d"])
            .arg(&served),
    );
    let (_server, port) = http_server(&served);
    let url = format!("http://127.0.0.1:{port}");
    run_ok(
        Command::new(oracle("helm"))
            .args(["repo", "index"])
            .arg(&served)
            .args(["--url", &url]),
    );
    let repo = tmp.path().join("repo");
    copy_dir(&fixture("classic"), &repo);
    for f in [
        "infrastructure/controllers/cert-manager.yaml",
        "infrastructure/controllers/ingress-nginx.yaml",
        "apps/base/podinfo/repository.yaml",
    ] {
        let p = repo.join(f);
        let t = std::fs::read_to_string(&p).unwrap();
        let t = [
            "https://charts.jetstack.io",
            "https://kubernetes.github.io/ingress-nginx",
            "https://stefanprodan.github.io/podinfo",
        ]
        .iter()
        .fold(t, |t, u| t.replace(u, &url));
        std::fs::write(&p, t).unwrap();
    }
    let cache = tmp.path().join("cache");
    let common = |args: &[&str]| -> (bool, String, String) {
        let mut a = args.to_vec();
        let path = repo.join("clusters/production");
        let p = path.to_str().unwrap().to_owned();
        let r = repo.to_str().unwrap().to_owned();
        let c = cache.to_str().unwrap().to_owned();
        a.extend(["--path", &p, "--root", &r, "--cache-dir", &c, "--fetch"]);
        cluster(&a)
    };
    let (ok, out, err) = common(&["test", "all"]);
    assert!(ok, "{out}{err}");
    assert!(out.ends_with("7 passed, 0 failed, 0 skipped\n"), "{out}");

    // A Kustomization without patches or postBuild is what kubectl
    // kustomize builds of its path.
    let (ok, ours, err) = common(&["build", "ks", "infra-controllers", "-o", "json"]);
    assert!(ok, "{err}");
    let mut ours = json(&ours);
    ours.as_array_mut()
        .unwrap()
        .iter_mut()
        .for_each(strip_owner_labels);
    let theirs = run_ok(
        Command::new(oracle("kubectl"))
            .arg("kustomize")
            .arg(repo.join("infrastructure/controllers")),
    );
    assert_eq!(ours, Value::Array(yaml_stream(&theirs)));

    // Each HelmRelease is what helm template renders with its values.
    // helm-controller installs CRDs of crds/ by default (policy Create).
    for (hr, ns, chart) in [
        ("podinfo", "podinfo", "podinfo-6.14.1.tgz"),
        ("ingress-nginx", "ingress-nginx", "ingress-nginx-4.15.1.tgz"),
        ("cert-manager", "cert-manager", "cert-manager-1.16.1.tgz"),
    ] {
        let (ok, objs, err) = common(&["build", "hr", hr, "-o", "json"]);
        assert!(ok, "{err}");
        let mut ours = json(&objs);
        for o in ours.as_array_mut().unwrap() {
            strip_owner_labels(o);
            strip_random_test_names(o);
        }
        // The HelmRelease object as its Kustomization rendered it.
        let (_, everything, _) = common(&["build", "all", "-o", "json"]);
        let everything = json(&everything);
        let hr_obj = everything
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "HelmRelease" && o["metadata"]["name"] == hr)
            .unwrap()
            .clone();
        let values = tmp.path().join(format!("{hr}-values.json"));
        std::fs::write(&values, hr_obj["spec"]["values"].to_string()).unwrap();
        let mut cmd = Command::new(oracle("helm"));
        cmd.args(["template", hr])
            .arg(served.join(chart))
            .args(["--namespace", ns, "-f"])
            .arg(&values)
            .arg("--include-crds");
        if hr_obj["spec"]["test"]["enable"] != true {
            cmd.arg("--skip-tests");
        }
        let mut theirs = yaml_stream(&run_ok(&mut cmd));
        for o in &mut theirs {
            strip_random_test_names(o);
            // helm-controller's post-renderer (kustomize, adding the origin
            // labels) drops null metadata fields.
            if let Some(m) = o.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.retain(|_, v| !v.is_null());
            }
        }
        assert_eq!(ours, Value::Array(theirs), "{hr}");
    }
}

fn git_repo_copy(from: &Path, to: &Path) {
    copy_dir(from, to);
    git(to, &["init", "-q", "-b", "main"]);
    git(to, &["add", "-A"]);
    git(to, &["commit", "-qm", "base"]);
}

#[test]
fn diff_shows_what_changed_in_each_format_rendering_only_that() {
    let tmp = tempfile::tempdir().unwrap();
    let orig = tmp.path().join("orig");
    let new = tmp.path().join("new");
    copy_dir(&fixture("classic"), &orig);
    copy_dir(&fixture("classic"), &new);
    let issuers = new.join("infrastructure/configs/cluster-issuers.yaml");
    let t = std::fs::read_to_string(&issuers).unwrap();
    std::fs::write(
        &issuers,
        t.replace("fluxcdbot@users.noreply.github.com", "ops@example.com"),
    )
    .unwrap();
    let args = |fmt: &str| -> (bool, String, String) {
        cluster(&[
            "diff",
            "ks",
            "--path",
            new.join("clusters/staging").to_str().unwrap(),
            "--path-orig",
            orig.join("clusters/staging").to_str().unwrap(),
            "--cache-dir",
            tmp.path().join("cache").to_str().unwrap(),
            "-o",
            fmt,
        ])
    };
    let (ok, out, err) = args("diff");
    assert!(ok, "{err}");
    assert!(out.starts_with("--- Kustomization flux-system/infra-configs ClusterIssuer/letsencrypt\n+++ Kustomization flux-system/infra-configs ClusterIssuer/letsencrypt\n@@"), "{out}");
    assert!(
        out.contains(
            "\n-    email: fluxcdbot@users.noreply.github.com\n+    email: ops@example.com\n"
        ),
        "{out}"
    );
    assert_eq!(
        out.matches("\n--- ").count() + 1,
        1,
        "one object changed: {out}"
    );
    // `ks` renders no HelmRelease.
    assert!(err.is_empty(), "{err}");
    // The Kustomizations holding Flux objects are rendered (they define
    // the rest), and infra-configs, whose file changed; the HelmReleases,
    // whose inputs did not change, are not.
    let (ok, all, err) = cluster(&[
        "diff",
        "all",
        "--path",
        new.join("clusters/staging").to_str().unwrap(),
        "--path-orig",
        orig.join("clusters/staging").to_str().unwrap(),
        "--cache-dir",
        tmp.path().join("cache").to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(all, out);
    assert!(err.contains("note: 3 unchanged, not rendered: HelmRelease cert-manager/cert-manager, HelmRelease ingress-nginx/ingress-nginx, HelmRelease podinfo/podinfo"), "{err}");

    let (ok, md, _) = args("github");
    assert!(ok);
    assert!(md.starts_with("### 1 objects changed\n"), "{md}");
    assert!(md.contains("<summary>Kustomization flux-system/infra-configs: 0 added, 1 changed, 0 removed</summary>"), "{md}");
    assert!(md.contains("```diff\n"), "{md}");

    let (ok, j, _) = args("json");
    assert!(ok);
    let j = json(&j);
    assert_eq!(j["changes"][0]["kind"], "ClusterIssuer");
    assert_eq!(j["changes"][0]["change"], "changed");
    assert_eq!(j["skipped"], serde_json::json!([]));

    // No change at all: no output.
    let (ok, out, _) = cluster(&[
        "diff",
        "all",
        "--path",
        orig.join("clusters/staging").to_str().unwrap(),
        "--path-orig",
        orig.join("clusters/staging").to_str().unwrap(),
        "--cache-dir",
        tmp.path().join("cache").to_str().unwrap(),
    ]);
    assert!(ok);
    assert_eq!(out, "");
}

#[test]
fn diff_against_a_git_base_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    git_repo_copy(&fixture("classic"), &repo);
    // A HelmRelease value change and a reorder that is no change.
    let values = repo.join("apps/staging/podinfo-values.yaml");
    let t = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, t.replace("enable: true", "enable: false")).unwrap();
    let path = repo.join("clusters/staging");
    let (ok, out, err) = cluster(&[
        "diff",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--base",
        "HEAD",
        "--cache-dir",
        tmp.path().join("cache").to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("--- Kustomization flux-system/apps HelmRelease/podinfo/podinfo\n"),
        "{out}"
    );
    assert!(
        out.contains("\n-    enable: true\n+    enable: false\n"),
        "{out}"
    );
    let (ok, _, err) = cluster(&[
        "diff",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--base",
        "no-such-rev",
    ]);
    assert!(!ok);
    assert!(err.contains("error: git ls-tree no-such-rev in"), "{err}");
    let (ok, _, err) = cluster(&["diff", "all", "--path", path.to_str().unwrap()]);
    assert!(!ok && err.contains("--path-orig"), "{err}");
}

#[test]
fn a_failing_kustomization_fails_test_with_its_file_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&fixture("classic"), &repo);
    write(
        &repo,
        "infrastructure/configs/kustomization.yaml",
        "resources:\n- cluster-issuers.yaml\n- missing.yaml\n",
    );
    let (ok, out, _) = cluster(&[
        "test",
        "ks",
        "--path",
        repo.join("clusters/staging").to_str().unwrap(),
        "--cache-dir",
        tmp.path().join("cache").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(out.contains("FAIL Kustomization flux-system/infra-configs: Kustomization flux-system/infra-configs (path ./infrastructure/configs):"), "{out}");
    assert!(out.contains("missing.yaml"), "{out}");
    // apps needs the ConfigMap infra-configs no longer renders.
    assert!(
        out.contains("FAIL Kustomization flux-system/apps:") && out.contains("cluster-settings"),
        "{out}"
    );
    assert!(
        out.contains("PASS Kustomization flux-system/infra-controllers\n"),
        "{out}"
    );
    assert!(out.ends_with("2 passed, 2 failed, 0 skipped\n"), "{out}");
}

#[test]
fn multi_tenant_layout_with_the_tenant_repository_mapped() {
    let root = fixture("multi-tenant");
    let tenant = fixture("multi-tenant-dev-team");
    let path = root.join("clusters/production");
    let mapping = format!("apps/dev-team={}", tenant.display());
    let (ok, out, err) = cluster(&[
        "test",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--source",
        &mapping,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("PASS Kustomization apps/dev-team\n"), "{out}");
    assert!(out.ends_with("4 passed, 0 failed, 0 skipped\n"), "{out}");
    // The tenant's objects: in its target namespace, substituted from the
    // ConfigMap the tenants Kustomization patched.
    let (ok, out, _) = cluster(&[
        "build",
        "ks",
        "apps/dev-team",
        "--path",
        path.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--source",
        &mapping,
    ]);
    assert!(ok);
    assert!(out.contains("production"), "{out}");
    assert!(out.contains("namespace: apps\n"), "{out}");
    // Unmapped, offline: skipped with the way out, nothing fails.
    let (ok, out, _) = cluster(&[
        "test",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("SKIP Kustomization apps/dev-team: GitRepository/apps/dev-team"),
        "{out}"
    );
    assert!(out.ends_with("3 passed, 0 failed, 1 skipped\n"), "{out}");
}

#[test]
fn home_lab_layout_with_oci_releases_a_local_chart_and_a_parents_patch() {
    let root = fixture("home-lab");
    let path = root.join("kubernetes/clusters/main");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let common = [
        "--path",
        path.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let mut a = vec!["test", "all"];
    a.extend(common);
    let (ok, out, err) = cluster(&a);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("PASS HelmRelease kube-system/hello\n"),
        "{out}"
    );
    assert!(
        out.contains("SKIP HelmRelease default/echo: chart of OCIRepository/default/echo"),
        "{out}"
    );
    assert!(
        out.contains("SKIP HelmRelease observability/metrics-server: chart metrics-server 3.x"),
        "{out}"
    );
    assert!(out.ends_with("6 passed, 0 failed, 2 skipped\n"), "{out}");
    // The value reaches the chart only through the patch cluster-apps
    // puts on its children (substituteFrom cluster-settings).
    let mut a = vec!["build", "hr", "hello"];
    a.extend(common);
    let (ok, out, err) = cluster(&a);
    assert!(ok, "{err}");
    assert!(
        out.contains("home.example") && out.contains("Europe/Paris"),
        "{out}"
    );
    assert!(err.is_empty(), "only what was asked for is reported: {err}");
}

#[test]
fn nothing_outside_the_repository_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    write(
        &outside,
        "secret.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {token: hunter2}\n",
    );
    write(
        &outside,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: leaked\nversion: 0.1.0\n",
    );
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "clusters/dev/ks.yaml",
        ks("escape", "../../outside") + "---\n" + &ks("linked", "./apps/linked"),
    );
    std::fs::create_dir_all(repo.join("apps")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("apps/linked")).unwrap();
    std::os::unix::fs::symlink(outside.join("chart"), repo.join("chart")).unwrap();
    write(
        &repo,
        "clusters/dev/hr.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: up, namespace: default}
spec:
  interval: 1m
  chart:
    spec:
      chart: ../outside/chart
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: linked, namespace: default}
spec:
  interval: 1m
  chart:
    spec:
      chart: ./chart
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
",
    );
    let path = repo.join("clusters/dev");
    let (ok, out, err) = cluster(&[
        "test",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
    ]);
    assert!(!ok);
    for name in [
        "Kustomization flux-system/escape",
        "Kustomization flux-system/linked",
        "HelmRelease default/up",
        "HelmRelease default/linked",
    ] {
        assert!(out.contains(&format!("FAIL {name}: ")), "{name}: {out}");
    }
    assert!(out.ends_with("1 passed, 4 failed, 0 skipped\n"), "{out}");
    let (_, out, err2) = cluster(&[
        "build",
        "all",
        "--path",
        path.to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
    ]);
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2") && !err2.contains("hunter2"),
        "{out}{err2}"
    );
    assert!(!out.contains("leaked"), "{out}");
}

#[test]
fn artifact_generator_layout_builds_external_artifacts_from_the_repository() {
    // The layout as it stands with source-watcher: the Kustomizations read
    // ExternalArtifacts an ArtifactGenerator copies out of the repository.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&fixture("classic"), &repo);
    write(
        &repo,
        "clusters/staging/artifacts.yaml",
        "apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
    - alias: monorepo
      kind: GitRepository
      name: flux-system
  artifacts:
    - name: infrastructure
      originRevision: \"@monorepo\"
      copy:
        - from: \"@monorepo/infrastructure/**\"
          to: \"@artifact/\"
    - name: apps
      originRevision: \"@monorepo\"
      copy:
        - from: \"@monorepo/apps/base/**\"
          to: \"@artifact/base/\"
        - from: \"@monorepo/apps/staging/**\"
          to: \"@artifact/staging/\"
",
    );
    for f in [
        "clusters/staging/apps.yaml",
        "clusters/staging/infrastructure.yaml",
    ] {
        let p = repo.join(f);
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("path: ./infrastructure/controllers", "path: ./controllers")
            .replace("path: ./infrastructure/configs", "path: ./configs")
            .replace(
                "kind: GitRepository\n    name: flux-system\n  path: ./controllers",
                "kind: ExternalArtifact\n    name: infrastructure\n  path: ./controllers",
            )
            .replace(
                "kind: GitRepository\n    name: flux-system\n  path: ./configs",
                "kind: ExternalArtifact\n    name: infrastructure\n  path: ./configs",
            )
            .replace(
                "kind: GitRepository\n    name: flux-system\n  path: ./apps/staging",
                "kind: ExternalArtifact\n    name: apps\n  path: ./staging",
            );
        std::fs::write(&p, t).unwrap();
    }
    let path = repo.join("clusters/staging");
    let (ok, out, err) = cluster(&[
        "get",
        "ks",
        "-o",
        "json",
        "--path",
        path.to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let rows = json(&out);
    let sources: Vec<(String, String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, source) in [
        ("apps", "ExternalArtifact/flux-system/apps"),
        (
            "infra-configs",
            "ExternalArtifact/flux-system/infrastructure",
        ),
        (
            "infra-controllers",
            "ExternalArtifact/flux-system/infrastructure",
        ),
    ] {
        assert!(
            sources.contains(&(name.to_owned(), source.to_owned(), "PASS".to_owned())),
            "{name}: {sources:?}"
        );
    }
    // The same objects as from the repository directly.
    let (_, from_artifacts, _) = cluster(&[
        "build",
        "ks",
        "apps",
        "--path",
        path.to_str().unwrap(),
        "--root",
        repo.to_str().unwrap(),
    ]);
    let classic = fixture("classic");
    let (_, direct, _) = cluster(&[
        "build",
        "ks",
        "apps",
        "--path",
        classic.join("clusters/staging").to_str().unwrap(),
        "--root",
        classic.to_str().unwrap(),
    ]);
    let strip = |t: &str| {
        t.replace("path: ./staging", "")
            .replace("path: ./apps/staging", "")
    };
    assert!(
        from_artifacts.contains("- host: podinfo.staging.example.com\n"),
        "{from_artifacts}"
    );
    assert_eq!(strip(&from_artifacts), strip(&direct));
}

#[test]
fn bucket_sources_are_fetched_from_s3() {
    let bin = ["moto_server"]
        .iter()
        .find_map(|b| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(b))
                    .find(|c| c.is_file())
            })
        })
        .expect("this test needs moto_server (pip install 'moto[server]')");
    let port = gitops_test_support::free_port();
    let _server =
        ServerProcess::spawn(Command::new(bin).args(["-H", "127.0.0.1", "-p", &port.to_string()]))
            .expect("moto_server starts");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Seeded with boto3 (moto's own dependency).
    run_ok(Command::new("python3").arg("-c").arg(format!(
        "import boto3\n\
         s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{port}', aws_access_key_id='k', aws_secret_access_key='s', region_name='us-east-1')\n\
         s3.create_bucket(Bucket='manifests')\n\
         s3.put_object(Bucket='manifests', Key='prod/cm.yaml', Body=b'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: from-bucket}}\\n')\n"
    )));
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "clusters/dev/bucket.yaml",
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {{name: manifests, namespace: flux-system}}
spec: {{interval: 5m, provider: generic, bucketName: manifests, endpoint: '127.0.0.1:{port}', insecure: true}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: from-bucket, namespace: flux-system}}
spec:
  interval: 5m
  prune: true
  path: ./prod
  sourceRef: {{kind: Bucket, name: manifests}}
"
        ),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["cluster", "build", "ks", "from-bucket", "--fetch", "--path"])
        .arg(repo.join("clusters/dev"))
        .arg("--root")
        .arg(&repo)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("name: from-bucket\n"), "{}", stdout(&o));
}

#[test]
fn secret_values_are_masked_unless_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write(&repo, "clusters/dev/apps.yaml", ks("apps", "./apps"));
    write(
        &repo,
        "apps/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: default}\ndata: {token: aHVudGVyMg==}\nstringData: {plain: hunter3}\n",
    );
    let run = |extra: &[&str]| {
        let mut a = vec!["build", "all", "--path"];
        let p = repo.join("clusters/dev");
        let p = p.to_str().unwrap().to_owned();
        let r = repo.to_str().unwrap().to_owned();
        a.push(&p);
        a.extend(["--root", &r]);
        a.extend_from_slice(extra);
        cluster(&a)
    };
    let (ok, out, _) = run(&[]);
    assert!(ok);
    assert!(
        !out.contains("aHVudGVyMg==") && !out.contains("hunter3"),
        "{out}"
    );
    assert!(
        out.contains("token: '**redacted**'") || out.contains("token: \"**redacted**\""),
        "{out}"
    );
    let (_, out, _) = run(&["-o", "json"]);
    assert!(!out.contains("aHVudGVyMg=="), "{out}");
    let (_, out, _) = run(&["--show-secrets"]);
    assert!(
        out.contains("aHVudGVyMg==") && out.contains("hunter3"),
        "{out}"
    );
    let (_, out, _) = run(&["--skip-secrets"]);
    assert!(!out.contains("\nkind: Secret\n"), "{out}");
}
