//! Masterminds/semver v3 versions and ranges: what Flux's image policies,
//! `GitRepository`/`OCIRepository` `ref.semver` and Helm chart version
//! ranges use.
//!
//! - [`Version`] (owned) and [`VersionRef`] (borrowing the text it was parsed
//!   from) with Masterminds' parsers and ordering, and Flux's tag parser
//!   ([`Version::parse_tag`]: at least two dots).
//! - [`Range`]: Masterminds constraints (`>=1.2 <2`, `~1.4`, `^2`, `1.x`,
//!   `1.0 - 1.5`, `||`), with its prerelease rule.
//!
//! ```
//! use gitops_core::semver::{Range, Version};
//!
//! let range = Range::parse("~1.4")?;
//! assert!(range.matches(Version::parse("1.4.9")?.as_ref()));
//! assert!(!range.matches(Version::parse("1.5.0")?.as_ref()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `semver` crate is re-exported as [`semver_crate`]:
//! [`Version::as_semver`] and the `From` conversions use its `Version`.

pub mod range;
pub mod version;

pub use range::Range;
pub use version::{Version, VersionRef};

/// The `semver` crate, whose `Version` [`Version::as_semver`] returns.
pub use ::semver as semver_crate;
