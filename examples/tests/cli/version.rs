use super::{gitops, stderr, stdout};

#[test]
fn version_text() {
    let out = gitops(&["version"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("gitops {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("follows kustomize v5.7.1"), "{text}");
}

#[test]
fn version_json() {
    let out = gitops(&["version", "--output", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["references"]["kustomize"], "v5.7.1");
}

#[test]
fn bad_flag_is_an_error_on_stderr() {
    let out = gitops(&["version", "--output", "yaml"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).starts_with("error: invalid value 'yaml' for '--output <OUTPUT>'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_lists_only_working_verbs() {
    let out = gitops(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("version"), "{text}");
    for planned in ["automate", "demo"] {
        assert!(
            !text.contains(planned),
            "--help lists {planned}, which does not work yet:\n{text}"
        );
    }
}
