//! A real OpenSSH server on 127.0.0.1 for Git-over-SSH tests: a throwaway
//! host key, one authorized key forced through `git-shell`, no passwords,
//! no PAM. It runs as root (the tests' user in CI), so every path is
//! absolute; stopped on drop with its process group (see `server`).
//!
//! When it cannot run (no `/usr/sbin/sshd`, not root) [`Sshd::start`]
//! returns `None` after printing one line, and panics instead under
//! `CI=true`, where `.ci/run` installs `openssh-server`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::free_port;
use crate::server::ServerProcess;

const SSHD: &str = "/usr/sbin/sshd";

/// A running `sshd`.
pub struct Sshd {
    _server: ServerProcess,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `known_hosts` line of its host key: `[127.0.0.1]:PORT TYPE KEY`.
    pub known_hosts: String,
    /// Its log file (`-E`), for failure messages.
    pub log: PathBuf,
    authorized: PathBuf,
}

/// Skip (one line on stderr) or, under `CI=true`, fail.
fn unavailable(why: &str) -> Option<Sshd> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("sshd is required under CI=true (.ci/run installs openssh-server): {why}");
    }
    eprintln!("skipped: the SSH test needs a local sshd: {why}");
    None
}

impl Sshd {
    /// Start `sshd` with its files in `dir`, letting in `authorized_key`
    /// (an `authorized_keys` line, `TYPE KEY`) as root, every command run
    /// by `git-shell`.
    pub fn start(dir: &Path, authorized_key: &str) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            return unavailable(&format!(
                "{SSHD} is not installed (Debian package openssh-server)"
            ));
        }
        if !rustix::process::geteuid().is_root() {
            return unavailable("not running as root");
        }
        if which("git-shell").is_none() {
            return unavailable("git-shell is not on PATH");
        }
        // The privilege separation directory sshd insists on.
        if let Err(e) = std::fs::create_dir_all("/run/sshd") {
            return unavailable(&format!("cannot create /run/sshd: {e}"));
        }
        let host_key = dir.join("ssh_host_ed25519_key");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f"])
            .arg(&host_key)
            .status();
        if !st.is_ok_and(|s| s.success()) {
            return unavailable("ssh-keygen could not make a host key");
        }
        let host_pub = std::fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let authorized = dir.join("authorized_keys");
        write_authorized(&authorized, authorized_key);
        let log = dir.join("sshd.log");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                     StrictModes no\nPermitRootLogin prohibit-password\nPidFile none\n\
                     AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel VERBOSE\n",
                    host_key.display(),
                    authorized.display()
                ),
            )
            .expect("sshd_config");
            let mut cmd = Command::new(SSHD);
            cmd.arg("-D").arg("-f").arg(&config).arg("-E").arg(&log);
            let mut server = match ServerProcess::spawn(&cmd) {
                Ok(s) => s,
                Err(e) => return unavailable(&format!("cannot start {SSHD}: {e}")),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Sshd {
                        _server: server,
                        port,
                        known_hosts: format!("[127.0.0.1]:{port} {} {}", host_pub[0], host_pub[1]),
                        log,
                        authorized,
                    });
                }
                if let Ok(Some(s)) = server.try_wait() {
                    last = format!(
                        "sshd exited with {s}: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    panic!("sshd did not listen within 10 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("could not start sshd: {last}");
        }
        unavailable(&last)
    }

    /// Let in `authorized_key` (in place of the key given to [`Sshd::start`];
    /// sshd reads the file at each connection).
    pub fn authorize(&self, authorized_key: &str) {
        write_authorized(&self.authorized, authorized_key);
    }

    /// `ssh://root@127.0.0.1:PORT<path>` (an absolute path on this machine).
    pub fn url(&self, path: &Path) -> String {
        format!("ssh://root@127.0.0.1:{}{}", self.port, path.display())
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// Write `authorized_keys`: each key line of `keys` forced through
/// `git-shell`, no forwarding, no terminal.
fn write_authorized(path: &Path, keys: &str) {
    let git_shell = which("git-shell").expect("git-shell on PATH");
    let text: String = keys
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|k| {
            format!(
                "command=\"{} -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty {}\n",
                git_shell.display(),
                k.trim()
            )
        })
        .collect();
    std::fs::write(path, text).expect("authorized_keys");
}
