//! `gitops demo`, with a real docker-registry and with the embedded tag list.

use std::process::Command;

use crate::{stderr, stdout};

fn demo(args: &[&str], no_registry_env: bool) -> (bool, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gitops"));
    c.arg("demo").args(args);
    if no_registry_env {
        c.env("GITOPS_DEMO_NO_REGISTRY", "1");
    } else {
        c.env_remove("GITOPS_DEMO_NO_REGISTRY");
    }
    let out = c.output().expect("the gitops binary runs");
    (out.status.success(), stdout(&out), stderr(&out))
}

/// What every demo run must show, whatever the tag source.
fn assert_loop(text: &str, host: &str) {
    for want in [
        "pushed 12 files to file://",
        "policy flux-system:podinfo: 6.4.0 -> 6.5.3 (apps/base/podinfo-deployment.yaml)",
        &format!(
            "workload Deployment/web container nginx: {host}/demo/web:1.0.0 -> {host}/demo/web:1.0.4"
        ),
        "dry run: would push 2 file(s) to branch main",
        &format!(
            "-        image: {host}/stefanprodan/podinfo:6.4.0 # {{\"$imagepolicy\": \"flux-system:podinfo\"}}"
        ),
        &format!(
            "+        image: {host}/stefanprodan/podinfo:6.5.3 # {{\"$imagepolicy\": \"flux-system:podinfo\"}}"
        ),
        "Author: fluxcdbot <fluxcdbot@users.noreply.example>",
        "    Automated image update by flux-system/flux-system",
        " 2 files changed, 2 insertions(+), 2 deletions(-)",
        "== 5. gitops automate again (idempotent)",
        ": nothing to commit",
        "value: Hello from dev-eu1 (eu-west-1)",
        &format!("image: {host}/stefanprodan/podinfo:6.5.3"),
        "# stage definitions\napply Namespace/dev\n# stage resources\napply Service/dev/podinfo\napply Deployment/dev/podinfo\napply Deployment/dev/web\n",
        "dev_podinfo_apps_Deployment v1",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(text.matches("pushed commit ").count(), 1, "{text}");
}

#[test]
fn demo_with_local_registry() {
    assert!(
        std::path::Path::new("/usr/bin/docker-registry").is_file(),
        "this test needs the Debian package docker-registry"
    );
    let (ok, text, err) = demo(&[], false);
    assert!(ok, "{err}\n{text}");
    assert!(!text.contains("(embedded tag list, no registry)"), "{text}");
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("docker-registry on "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no registry line in:\n{text}"))
        .to_owned();
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    assert!(text.contains("seeded with 13 tags by OCI push:"), "{text}");
    assert_loop(&text, &host);
    // Progress goes to stderr as plain lines (not a terminal here).
    assert!(
        err.contains(&format!(
            "gitops: [1/1] listing tags of {host}/stefanprodan/podinfo"
        )),
        "{err}"
    );
}

#[test]
fn demo_with_embedded_tag_list() {
    for (args, env) in [(&["--no-registry"][..], false), (&[][..], true)] {
        let (ok, text, err) = demo(args, env);
        assert!(ok, "{err}\n{text}");
        assert!(text.contains("(embedded tag list, no registry)"), "{text}");
        assert!(!text.contains("docker-registry on"), "{text}");
        assert_loop(&text, "registry.demo.local");
    }
}
