//! moto's S3-compatible server (`moto_server`, PyPI `moto[server]`) on a
//! free loopback port; killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, require_binary, wait_for_port};

pub struct S3 {
    child: Child,
    pub port: u16,
}

impl S3 {
    pub fn start() -> S3 {
        let bin = require_binary(
            &["moto_server"],
            "the PyPI package moto[server] (pip install 'moto[server]')",
        );
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        wait_for_port(
            &format!("127.0.0.1:{port}"),
            Duration::from_secs(30),
            "moto_server",
        );
        S3 { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
