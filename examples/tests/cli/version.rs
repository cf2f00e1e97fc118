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
fn help_lists_the_verbs() {
    let out = gitops(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for verb in ["version", "automate", "demo", "build", "setters"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(verb)),
            "--help does not list {verb}:\n{text}"
        );
    }
}

/// The binary is linked position-dependent on Linux with glibc, as
/// docs/security.md says (ELF type `EXEC`, not `DYN`), unless built with
/// `GITOPS_PIE=1`.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_binary_is_position_dependent() {
    let mut bin = [0u8; 18];
    std::io::Read::read_exact(
        &mut std::fs::File::open(env!("CARGO_BIN_EXE_gitops")).unwrap(),
        &mut bin,
    )
    .unwrap();
    assert_eq!(&bin[..4], b"\x7fELF");
    let e_type = u16::from_le_bytes([bin[16], bin[17]]);
    let pie = option_env!("GITOPS_PIE") == Some("1");
    assert_eq!(
        e_type,
        if pie { 3 } else { 2 },
        "ELF type of the gitops binary"
    );
}
