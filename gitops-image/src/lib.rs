//! Container image tag policies, compatible with Flux's
//! image-reflector-controller (`ImagePolicy`, `ImageRepository`
//! `exclusionList`) and with Flux v1 tag filters.
//!
//! Given the tags of an image repository, a [`Policy`] picks the latest one:
//!
//! - **SemVer**: the highest version inside a [`Range`] written in
//!   Masterminds/semver v3 syntax (`>=1.2 <2`, `~1.4`, `^2`, `1.x`,
//!   `1.0 - 1.5`, `||`…). Tags are read with Flux's parser (at least two
//!   dots, then Masterminds' lenient rules); tags that are not versions are
//!   skipped.
//! - **Alphabetical**: byte-wise greatest (`asc`) or smallest (`desc`).
//! - **Numerical**: largest (`asc`) or smallest (`desc`) float64; one tag that
//!   is not a number fails the selection, as in Flux.
//! - **filterTags**: a Go RE2 pattern keeps matching tags, and `extract`
//!   (`$ts`, `${1}`) gives the value the policy orders; the original tag is
//!   what is selected.
//!
//! [`Policy::explain`] reports, for every tag, why it was excluded, filtered
//! out, not a version, outside the range, a prerelease the range does not
//! allow, or lost to the winner. [`v1`] holds the Flux v1 `glob:`/`regexp:`/
//! `semver:` filters. The crate does no I/O.
//!
//! ```
//! use gitops_image::{Exclusions, Policy, Range, Version};
//!
//! let tags = ["v1.0.0", "1.4.2", "1.5.0-rc.1", "2.0.0", "latest", "sha256-ab12.sig"];
//!
//! let policy = Policy::semver(">=1.0.0 <2")?;
//! assert_eq!(policy.select_excluding(&tags, &Exclusions::default())?, "1.4.2");
//!
//! // Prereleases count only when the range mentions one.
//! let policy = Policy::semver(">=1.0.0-0 <2")?;
//! assert_eq!(policy.select(&tags)?, "1.5.0-rc.1");
//!
//! let range = Range::parse("~1.4")?;
//! assert!(range.matches(Version::parse("1.4.9")?.as_ref()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The public interface is: [`Policy`] ([`Rule`], [`Order`]), [`TagFilter`],
//! [`Exclusions`], [`Range`] ([`range::Comparator`]), [`Version`] and
//! [`VersionRef`], the [`explain`] report, and the [`v1`] filters. Each
//! module has its own `Error`. The [`semver`] and [`regex`] crates are
//! re-exported: their types appear in that interface.
//!
//! # Performance
//! Selection is a single pass that keeps only the current best; versions
//! are parsed into a [`VersionRef`] borrowing the tag text, so no memory is
//! allocated per tag. SemVer drops a tag after reading its leading numbers
//! when they are below the current best or above the range's ceiling, and
//! long lists are split over the cores with the sequential answer. On a
//! 2-core machine, 1,000,000 tags take about 10 ms for a SemVer range, 6 ms
//! alphabetical and 12 ms numerical; the crate README has the numbers and
//! the command that measures them.
//!
//! # Deviation
//! See the `# Deviation` sections of [`policy`], [`filter`] and [`v1`]:
//! equal-precedence ties that Flux resolves in Go map order are resolved
//! first-seen, unknown `extract` groups are an error, error texts differ.

pub mod explain;
pub mod filter;
pub mod policy;
pub mod select;
pub mod v1;

// The Masterminds engine is shared with the source crates (Git and OCI
// `ref.semver`, Helm chart ranges); it lives in gitops-core.
pub use gitops_core::semver::{range, version};

pub use explain::{Report, TagReport, Verdict};
pub use filter::{Exclusions, TagFilter};
pub use policy::{Order, Policy, Rule};
pub use range::Range;
pub use version::{Version, VersionRef};

// Foreign crates in the public API: `Version::as_semver` and the
// `From` conversions use `semver::Version`, and filter errors carry a
// `regex::Error`.
pub use regex;
pub use semver;
