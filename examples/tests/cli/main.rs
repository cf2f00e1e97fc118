//! End-to-end tests of the `gitops` binary.

mod automate;
mod bootstrap;
mod build;
mod create;
mod demo;
mod flux_layout;
mod flux_yaml;
mod hostile;
mod image;
mod policy;
mod setters;
mod source;
mod values;
mod version;

use std::process::{Command, Output};

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
