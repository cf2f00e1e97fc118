//! wip
pub mod range;
pub mod version;
pub use range::Range;
pub use version::{Version, VersionRef};
