//! moto's S3-compatible server (`moto_server`, PyPI `moto[server]`) on a
//! free loopback port; stopped on drop.

use std::process::Command;
use std::time::Duration;

use super::server::ServerProcess;
use super::{free_port, require_binary, wait_for_port};

pub struct S3 {
    _server: ServerProcess,
    pub port: u16,
}

impl S3 {
    pub fn start() -> S3 {
        let bin = require_binary(
            &["moto_server"],
            "the PyPI package moto[server] (pip install 'moto[server]')",
        );
        let port = free_port();
        let server = ServerProcess::spawn(Command::new(bin).args([
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]))
        .expect("moto_server starts");
        wait_for_port(
            &format!("127.0.0.1:{port}"),
            Duration::from_secs(30),
            "moto_server",
        );
        S3 {
            _server: server,
            port,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}
