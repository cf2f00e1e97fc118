//! Integration and property tests of gitops-core.

mod fuzzed;
mod hostile;
mod roundtrip;
