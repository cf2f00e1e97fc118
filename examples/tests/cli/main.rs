//! End-to-end tests of the `gitops` binary.

mod automate;
mod bootstrap;
mod build;
mod cluster;
mod create;
mod demo;
mod flux_layout;
mod flux_yaml;
mod helm_template;
mod hostile;
mod hostile_fs;
mod hostile_sources;
mod hostile_yaml;
mod image;
mod papercuts;
mod policy;
mod setters;
mod source;
mod ssh;
mod v1;
mod values;
mod values_render;
mod version;

use gitops_test_support::{hostile_http, server};
use server::ServerProcess;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Run `gitops` with `args`.
pub fn gitops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .output()
        .expect("the gitops binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub use gitops_test_support::git;

/// `git daemon` serving `root` on loopback with push enabled; stopped on
/// drop, with every process it started (see `server`).
pub struct Daemon {
    _server: ServerProcess,
    /// The port it listens on.
    pub port: u16,
}

impl Daemon {
    /// Start it (retrying on a port taken meanwhile).
    pub fn start(root: &Path) -> Daemon {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("an ephemeral port")
                .port();
            let mut server = ServerProcess::spawn(
                Command::new("git")
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .args([
                        "daemon",
                        "--reuseaddr",
                        "--export-all",
                        "--enable=receive-pack",
                        "--listen=127.0.0.1",
                        &format!("--port={port}"),
                        &format!("--base-path={}", root.display()),
                        &root.display().to_string(),
                    ]),
            )
            .expect("git daemon must be available");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Daemon {
                        _server: server,
                        port,
                    };
                }
                if let Ok(Some(_)) = server.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    panic!("git daemon did not listen within 10 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not start git daemon");
    }
}
