//! Hostile YAML — alias bombs spread over many files, a million documents,
//! a setters file of empty documents — is refused by the run's YAML budget,
//! quickly, in bounded memory, with an error naming the file and the limit.

use super::hostile::run_measured;

/// Max RSS (KiB) a refused run may reach in a debug build.
const REFUSED_RSS_KIB: u64 = 120 * 1024;

/// A resource whose `spec` expands to about 900,000 nodes through aliases:
/// under the 1,000,000-node limit of one stream, in 300 bytes.
fn bomb(name: &str, indent: usize) -> String {
    let p = " ".repeat(indent);
    let mut s = format!("{p}a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e'] {
        let refs = vec![format!("*{prev}"); 10].join(",");
        s.push_str(&format!("{p}{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    s.push_str(&format!("{p}f_{name}: [{}]\n", ["*e"; 7].join(",")));
    s
}

use gitops_test_support::write;

#[test]
fn build_of_many_small_alias_bombs_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut kust = String::from("resources:\n");
    for i in 0..32 {
        let name = format!("b{i:02}.yaml");
        let text = format!(
            "apiVersion: example.com/v1\nkind: Bomb\nmetadata:\n  name: b{i:02}\nspec:\n{}",
            bomb(&i.to_string(), 2)
        );
        write(t.path(), &name, &text);
        kust.push_str(&format!("- {name}\n"));
    }
    write(t.path(), "kustomization.yaml", &kust);
    let dir = t.path().to_str().expect("utf-8");
    let (code, out, err, rss) = run_measured(&["build", dir, "--max-yaml-nodes", "100000000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty());
    assert!(err.contains("b00.yaml:9: excessive aliasing: "), "{err}");
    assert!(rss < REFUSED_RSS_KIB, "max RSS {rss} KiB");
}

#[test]
fn values_compose_of_many_alias_bombs_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut refs = String::new();
    let mut cms = Vec::new();
    for i in 0..16 {
        refs.push_str(&format!("    - kind: ConfigMap\n      name: v{i:02}\n"));
        cms.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v{i:02}\n  namespace: apps\ndata:\n  values.yaml: |\n{}",
            bomb(&i.to_string(), 4)
        ));
    }
    write(
        t.path(),
        "release.yaml",
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r\n  namespace: apps\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: c\n      sourceRef: {{kind: HelmRepository, name: r}}\n  valuesFrom:\n{refs}"
        ),
    );
    write(t.path(), "cms.yaml", cms.join("---\n"));
    let release = t.path().join("release.yaml");
    let cms = t.path().join("cms.yaml");
    let (code, _, err, rss) = run_measured(&[
        "values",
        "compose",
        release.to_str().expect("utf-8"),
        "--from",
        cms.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("ConfigMap/v00/values.yaml:5: excessive aliasing: "),
        "{err}"
    );
    assert!(rss < REFUSED_RSS_KIB, "max RSS {rss} KiB");
}

#[test]
fn node_budget_is_per_run_and_names_file_limit_and_flag() {
    // Two files of 5,000 objects (40,000 nodes each): each fits a budget of
    // 60,000 nodes, the two together do not.
    let t = tempfile::tempdir().expect("tempdir");
    for file in ["one", "two"] {
        let docs: String = (0..5_000)
            .map(|i| format!("---\nkind: A\nmetadata: {{name: {file}-{i}}}\n"))
            .collect();
        write(t.path(), &format!("{file}.yaml"), &docs);
    }
    write(
        t.path(),
        "kustomization.yaml",
        "resources:\n- one.yaml\n- two.yaml\n",
    );
    let dir = t.path().to_str().expect("utf-8");
    let (code, _, err, _) = run_measured(&["build", dir, "--max-yaml-nodes", "60000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("the YAML node budget of 60000 is exhausted (--max-yaml-nodes raises it"),
        "{err}"
    );
    assert!(
        err.contains("two.yaml:") && err.contains(": more than 60000 YAML nodes in this run"),
        "{err}"
    );
    // Within a larger budget the build succeeds.
    let (code, out, err, _) = run_measured(&["build", dir, "--max-yaml-nodes", "100000"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches("kind: A").count(), 10_000);
    // Bytes are counted per run too.
    let (code, _, err, _) = run_measured(&["build", dir, "--max-yaml-bytes", "300000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("two.yaml:1: more than 300000 bytes of YAML in this run")
            && err.contains("--max-yaml-bytes raises it"),
        "{err}"
    );
}

#[test]
fn setters_file_of_empty_documents_is_refused() {
    // A marker, then 2,000,000 empty documents (8 MB): every document
    // counts against the run's node budget in the fast path.
    let t = tempfile::tempdir().expect("tempdir");
    let mut text =
        String::from("image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n");
    text.push_str(&"---\n".repeat(2_000_000));
    write(t.path(), "m.yaml", &text);
    let dir = t.path().to_str().expect("utf-8");
    for args in [
        vec!["setters", "scan", dir],
        vec![
            "setters",
            "apply",
            "--dry-run",
            "--policy",
            "flux-system:app=ghcr.io/org/app:2.0.0",
            dir,
        ],
    ] {
        let (code, _, err, rss) = run_measured(&args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("m.yaml:") && err.contains(": more than 1000000 YAML nodes in this run"),
            "{args:?}: {err}"
        );
        assert!(err.contains("--max-yaml-nodes"), "{err}");
        assert!(rss < REFUSED_RSS_KIB, "{args:?}: max RSS {rss} KiB");
    }
    // Raised for trusted input, the file is read.
    let (code, out, err, _) =
        run_measured(&["setters", "scan", dir, "--max-yaml-nodes", "5000000"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("flux-system:app"), "{out}");
}

/// The setters keep nothing of a file once it is scanned, so their budget
/// bounds each file: a repository whose files add up to more nodes than
/// one budget holds scans and applies with the defaults.
#[test]
fn setters_bound_each_file_not_the_repository() {
    let t = tempfile::tempdir().expect("tempdir");
    // 30 files of about 40,000 nodes each: 1.2 million in all.
    let body: String = (0..20_000).map(|i| format!("k{i}: v\n")).collect();
    for i in 0..30 {
        std::fs::write(
            t.path().join(format!("f{i:02}.yaml")),
            format!(
                "image: ghcr.io/org/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n{body}"
            ),
        )
        .expect("write");
    }
    let dir = t.path().to_str().expect("utf8");
    let o = super::gitops(&["setters", "scan", dir]);
    assert!(o.status.success(), "{}", super::stderr(&o));
    assert!(
        super::stdout(&o).contains("30 markers in 30 of 30 files"),
        "{}",
        super::stdout(&o)
    );
    let o = super::gitops(&[
        "setters",
        "apply",
        dir,
        "--policy",
        "flux-system:app=ghcr.io/org/app:1.1.0",
        "--no-fsync",
    ]);
    assert!(o.status.success(), "{}", super::stderr(&o));
    let f = std::fs::read_to_string(t.path().join("f29.yaml")).expect("read");
    assert!(
        f.starts_with("image: ghcr.io/org/app:1.1.0 #"),
        "{}",
        &f[..80]
    );
}
