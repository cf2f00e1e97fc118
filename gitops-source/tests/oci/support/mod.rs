//! Real servers on 127.0.0.1 for the OCI tests: CNCF distribution
//! (`docker-registry`), a fault-injecting HTTP proxy, a static file server,
//! and moto's S3 server. Every server stops when its handle drops (server
//! processes with everything they started, see `server`).

#![allow(dead_code)]

pub mod http;
pub mod registry;
pub mod s3;
pub use gitops_test_support::server;

use std::path::Path;
use std::time::{Duration, Instant};

pub use gitops_test_support::free_port;

/// Wait until `addr` accepts TCP connections, or panic after `limit`.
pub fn wait_for_port(addr: &str, limit: Duration, what: &str) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {addr} within {limit:?}");
}

/// Absolute path of a required binary, or a panic naming the package.
pub fn require_binary(candidates: &[&str], package: &str) -> std::path::PathBuf {
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() && p.is_file() {
            return p.to_path_buf();
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let full = dir.join(c);
                if full.is_file() {
                    return full;
                }
            }
        }
    }
    panic!(
        "required test server binary {candidates:?} not found: install {package} \
         (the OCI tests never skip; see gitops-source/OCI.md)"
    );
}

/// Write `files` (relative path → content) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}
