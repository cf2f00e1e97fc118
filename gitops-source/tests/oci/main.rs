//! Integration tests of the OCI side of gitops-source (feature `oci`)
//! against real servers started on 127.0.0.1: CNCF distribution
//! (`docker-registry`), a fault-injecting proxy, a static HTTP server for
//! Helm repositories, and moto's S3 server. A missing server binary fails
//! the test with the package to install.

mod support;

mod artifacts;
mod asynchronous;
mod bucket;
mod helm;
mod hostile;
mod partial;
mod scan;
