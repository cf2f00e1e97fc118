//! `gitops policy` end to end, through the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::{stderr, stdout};

fn gitops(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gitops");
    // The command may exit before reading (bad flags): ignore a broken pipe.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("wait gitops")
}

const TAGS: &str = "1.0.0\nv1.4.2\n\n  1.5.0-rc.1  \n2.0.0\nsha256-ab.sig\nlatest\n";

#[test]
fn select_semver_from_stdin() {
    let o = gitops(
        &[
            "policy",
            "select",
            "--semver",
            ">=1.0.0 <2",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "v1.4.2\n");
}

#[test]
fn select_alphabetical_with_default_exclusion_and_json() {
    let o = gitops(
        &[
            "policy",
            "select",
            "--alphabetical",
            "asc",
            "--tags-file",
            "-",
            "-o",
            "json",
        ],
        TAGS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["tag"], "v1.4.2");
    let o = gitops(
        &[
            "policy",
            "select",
            "--alphabetical",
            "asc",
            "--exclude",
            "^v",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert_eq!(
        stdout(&o),
        "sha256-ab.sig\n",
        "a user list replaces the default"
    );
    let o = gitops(
        &[
            "policy",
            "select",
            "--alphabetical",
            "asc",
            "--no-exclusions",
            "--filter",
            "^[sl]",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert_eq!(stdout(&o), "sha256-ab.sig\n");
    let o = gitops(
        &[
            "policy",
            "select",
            "--alphabetical",
            "desc",
            "--exclude",
            "^1",
            "--exclude",
            "^2",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert_eq!(stdout(&o), "latest\n");
}

#[test]
fn select_numerical_with_filter_extract() {
    let tags = "main-abc-1700000000\nmain-def-1690000000\ndev-xyz-1800000000\n";
    let o = gitops(
        &[
            "policy",
            "select",
            "--numerical",
            "asc",
            "--filter",
            r"^main-[a-f0-9]+-(?P<ts>\d+)$",
            "--extract",
            "$ts",
            "--tags-file",
            "-",
        ],
        tags,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "main-abc-1700000000\n");
}

#[test]
fn explain_table_and_json() {
    let o = gitops(
        &["policy", "explain", "--semver", "^1", "--tags-file", "-"],
        TAGS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("prerelease not allowed"), "{text}");
    assert!(text.contains("winner: v1.4.2"), "{text}");
    let o = gitops(
        &[
            "policy",
            "explain",
            "--semver",
            "^1",
            "--tags-file",
            "-",
            "-o",
            "json",
        ],
        TAGS,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["winner"], "v1.4.2");
    assert_eq!(v["tags"][4]["verdict"], "excluded");
    assert_eq!(v["tags"].as_array().unwrap().len(), 6);
}

#[test]
fn policy_file_with_image_repository() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata:\n  name: app\nspec:\n  image: ghcr.io/x/app\n  interval: 1m\n  exclusionList: ['^v']\n---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: app\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: '>=1.0.0'\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let o = gitops(
        &["policy", "select", "--policy", path, "--tags-file", "-"],
        TAGS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // `^v` replaces the default list, so v1.4.2 is out and 2.0.0 wins.
    assert_eq!(stdout(&o), "2.0.0\n");
}

#[test]
fn errors_exit_1_with_message() {
    let o = gitops(
        &[
            "policy",
            "select",
            "--semver",
            ">=1.0 <2.x.y",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: invalid semver range \">=1.0 <2.x.y\": unexpected \".y\" at column 11 after version \"2.x\"\n"
    );
    let o = gitops(
        &["policy", "select", "--numerical", "asc", "--tags-file", "-"],
        "1\nx\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid numeric value \"x\""),
        "{}",
        stderr(&o)
    );
    let o = gitops(
        &["policy", "select", "--semver", "^9", "--tags-file", "-"],
        TAGS,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is a version in range \"^9\""),
        "{}",
        stderr(&o)
    );
    let o = gitops(
        &[
            "policy",
            "select",
            "--alphabetical",
            "up",
            "--tags-file",
            "-",
        ],
        TAGS,
    );
    assert_eq!(o.status.code(), Some(2), "clap rejects the order");
    let o = gitops(
        &["policy", "explain", "--semver", "^9", "--tags-file", "-"],
        TAGS,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no winner"), "{}", stdout(&o));
}
