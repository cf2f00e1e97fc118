//! Input generators shared by the gitops-rs criterion benches.

pub mod setters_tree;
