//! Integration tests of gitops-cluster.

mod render;
