//! `gitops source git` / `gitops source verify` against a file:// repository.

use super::{git, gitops, stderr, stdout};

#[test]
fn git_then_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("apps")).unwrap();
    git(
        tmp.path(),
        &["init", "-q", "-b", "main", repo.to_str().unwrap()],
    );
    std::fs::write(repo.join("apps/app.yaml"), "kind: Deployment\n").unwrap();
    std::fs::write(repo.join("README.md"), "# readme\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "init"]);
    git(&repo, &["tag", "v1.2.3"]);
    let url = format!("file://{}", repo.display());
    let art = tmp.path().join("artifact.tar.gz");

    let out = gitops(&[
        "source",
        "git",
        &url,
        "--semver",
        "^1",
        "--ignore",
        "*.md",
        "-o",
        art.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let rev = lines.next().unwrap();
    assert!(rev.starts_with("revision: v1.2.3@sha1:"), "{text}");
    let digest = lines
        .next()
        .unwrap()
        .strip_prefix("digest: ")
        .unwrap()
        .to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{text}"
    );

    let ok = gitops(&["source", "verify", art.to_str().unwrap(), &digest]);
    assert!(ok.status.success());
    assert_eq!(stdout(&ok), format!("ok: {digest}\n"));

    let wrong = format!("sha256:{}", "0".repeat(64));
    let bad = gitops(&[
        "source",
        "verify",
        art.to_str().unwrap(),
        &wrong,
        "--output-format",
        "json",
    ]);
    assert!(!bad.status.success());
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["actual"], digest.as_str());

    // Same tree again: byte-identical artifact.
    let art2 = tmp.path().join("again.tar.gz");
    let out = gitops(&[
        "source",
        "git",
        &url,
        "--branch",
        "main",
        "--ignore",
        "*.md",
        "-o",
        art2.to_str().unwrap(),
        "--output-format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["digest"], digest.as_str());
    assert_eq!(std::fs::read(&art).unwrap(), std::fs::read(&art2).unwrap());

    let missing = gitops(&[
        "source",
        "git",
        &url,
        "--tag",
        "v9",
        "-o",
        art2.to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("tag \"v9\" not found in file://"),
        "{}",
        stderr(&missing)
    );

    let noref = gitops(&["source", "git", &url, "-o", art2.to_str().unwrap()]);
    assert!(!noref.status.success());
}
