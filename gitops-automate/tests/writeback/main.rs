//! Integration tests of the write-back over gitops-source's real Git
//! client, against Git servers (`git daemon`, `git http-backend` behind a
//! tiny CGI server) started on 127.0.0.1 by the tests themselves.

mod push;
// The Git servers of gitops-source's own integration tests; not every
// helper is used here.
#[allow(dead_code)]
#[path = "../../../gitops-source/tests/source/support.rs"]
mod support;
