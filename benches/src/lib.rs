//! Input generators shared by the gitops-rs criterion benches.
