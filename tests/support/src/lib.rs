//! Helpers shared by the integration tests of the workspace's crates (a
//! dev-dependency only; never published).
//!
//! - [`conformance_dir`]: the shared conformance data, or one line saying a
//!   suite did not run (a failure under `CI=true`).
//! - [`free_port`]: a free loopback TCP port.
//! - [`write()`]: a file with its parent directories.
//! - [`git`], [`git_cmd`]: the `git` binary with no user or system
//!   configuration and a fixed identity.
//! - [`server`]: test servers (git daemon, registries, sshd, moto) that
//!   stop with every process they started.
//! - [`hostile_http`]: an HTTP server that misbehaves on purpose.
//! - [`sshd`]: a real OpenSSH server on loopback for Git over SSH.

pub mod hostile_http;
pub mod server;
pub mod sshd;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The conformance data directory: `$GITOPS_CONFORMANCE_DIR`, else
/// `../shared/conformance` beside the workspace. `suite` names the suite in
/// the notice; `subdir` (may be empty) is the part of the data it needs.
///
/// Returns `None` after printing `<suite>: suite did not run: …` when the
/// data is absent; panics instead when `CI=true`, so CI never passes a suite
/// that did not run.
#[must_use]
pub fn conformance_dir(suite: &str, subdir: &str) -> Option<PathBuf> {
    let base = std::env::var_os("GITOPS_CONFORMANCE_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/conformance"
            ))
        },
        PathBuf::from,
    );
    let needed = if subdir.is_empty() {
        base.clone()
    } else {
        base.join(subdir)
    };
    if needed.is_dir() {
        return Some(base);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{suite}: conformance data not found at {} (CI=true; set GITOPS_CONFORMANCE_DIR)",
        needed.display()
    );
    println!(
        "{suite}: suite did not run: conformance data not found at {} (set GITOPS_CONFORMANCE_DIR)",
        needed.display()
    );
    None
}

/// The path of an oracle binary (`kubectl`, `helm`) installed by
/// `tools/fetch-oracles.sh` in `$GITOPS_ORACLES` (default
/// `~/.cache/gitops-oracles`); a missing one fails the test, never a
/// silent skip.
#[must_use]
pub fn oracle(name: &str) -> PathBuf {
    let dir = std::env::var_os("GITOPS_ORACLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/gitops-oracles")
        });
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{name} oracle not found at {}: run `bash tools/fetch-oracles.sh` (or set GITOPS_ORACLES)",
        p.display()
    );
    p
}

/// A free loopback port (bound, then released for the caller's server).
///
/// # Panics
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Write `text` to `dir/rel`, creating the parent directories.
///
/// # Panics
/// On any I/O error.
pub fn write(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A `git` command in `dir` with no user or system configuration, no
/// prompt, no inherited `GIT_DIR`, and a fixed author and committer
/// (`T <t@example.com>`; set the variables again to change them).
#[must_use]
pub fn git_cmd(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com");
    c
}

/// Run `git args…` in `dir` (see [`git_cmd`]); its standard output without
/// the trailing newline.
///
/// # Panics
/// When git is missing or fails (with git's standard error).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = git_cmd(dir);
    cmd.args(args);
    output_of(cmd)
}

/// Run a `git` command built by the caller (for example [`git_cmd`] with
/// other variables); its standard output without the trailing newline.
///
/// # Panics
/// When git is missing or fails (with git's standard error).
pub fn output_of(mut cmd: Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("the git binary must be installed to run these tests: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}
