//! HelmRelease (helm-controller v2): the release lifecycle as a state
//! machine, and Helm's release records.
//!
//! - [`release`]: Helm v4's release records (`sh.helm.release.v1.<name>.v<N>`
//!   Secrets holding `base64(gzip(json))`), typed and re-encoded byte for
//!   byte as Helm's Go encoder writes them.
//! - [`lifecycle`]: what helm-controller's atomic release decides next
//!   (install, upgrade, test, rollback or uninstall remediation, unlock,
//!   drift correction, stop) from the HelmRelease, its status and the
//!   release storage, and how the status changes once the caller has run
//!   the action with any Helm implementation.
//! - [`atomic`]: the atomic release loop driving a caller's
//!   [`atomic::HelmActions`] until the release is done or must be retried.

pub mod atomic;
pub mod lifecycle;
pub mod release;
pub mod snapshot;
