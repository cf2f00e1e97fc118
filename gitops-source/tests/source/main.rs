//! Integration tests of gitops-source against real Git servers (`git daemon`,
//! `git http-backend` behind a tiny CGI server) started on 127.0.0.1 by the
//! tests themselves.

mod artifact;
mod asynchronous;
mod fetch;
mod ssh;
mod submodules;
mod support;
