//! Where the files of sources other than the viewed repository come from.
//!
//! The crate reads no network and no disk of its own: the repository being
//! viewed is a [`FileTree`], and everything else (other Git repositories,
//! OCI artifacts, buckets, Helm repositories) is asked of a [`Sources`]
//! implementation. The `gitops cluster` command implements it with
//! `--source NAME=DIR` mappings, an on-disk cache and, with `--fetch`,
//! gitops-source's clients.

use std::fmt;
use std::sync::Arc;

use gitops_core::fs::FileTree;
use serde_json::Value;

/// A source object, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceRef {
    /// `GitRepository`, `OCIRepository`, `Bucket`, `HelmRepository`,
    /// `HelmChart` or `ExternalArtifact`.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl SourceRef {
    /// A reference.
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> SourceRef {
        SourceRef {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Why a source could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// Not available in this run (offline, not mapped): the objects that
    /// need it are reported as skipped with this reason.
    #[error("{0}")]
    Skipped(String),
    /// Fetching or reading it failed: the objects that need it fail.
    #[error("{0}")]
    Failed(String),
}

/// A packaged chart a HelmRelease needs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ChartRequest<'a> {
    /// A chart of a Helm repository (an HTTP index, or `oci://` for an OCI
    /// HelmRepository) at the version a SemVer range selects.
    Repository {
        /// The HelmRepository.
        repository: &'a SourceRef,
        /// Its `spec.url`.
        url: &'a str,
        /// The chart name.
        chart: &'a str,
        /// The version or range (`*` when the HelmRelease gives none).
        version: &'a str,
    },
    /// The chart an OCIRepository points at (a HelmRelease's `chartRef`).
    Oci {
        /// The OCIRepository.
        repository: &'a SourceRef,
        /// The OCIRepository object as the cluster defines it.
        object: &'a Value,
    },
}

/// Source artifacts and charts beyond the viewed repository.
pub trait Sources {
    /// The file tree of a source artifact (GitRepository, OCIRepository,
    /// Bucket, ExternalArtifact). `object` is the source object when the
    /// rendered cluster defines it.
    fn tree(
        &self,
        source: &SourceRef,
        object: Option<&Value>,
    ) -> Result<Arc<dyn FileTree>, Unavailable>;

    /// A packaged chart (`.tgz` bytes).
    fn chart(&self, request: &ChartRequest<'_>) -> Result<Vec<u8>, Unavailable>;
}

/// No source beyond the viewed repository: whatever needs one is skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl Sources for Offline {
    fn tree(
        &self,
        source: &SourceRef,
        _object: Option<&Value>,
    ) -> Result<Arc<dyn FileTree>, Unavailable> {
        Err(Unavailable::Skipped(format!(
            "source {source} is not available offline"
        )))
    }

    fn chart(&self, request: &ChartRequest<'_>) -> Result<Vec<u8>, Unavailable> {
        Err(Unavailable::Skipped(match request {
            ChartRequest::Repository {
                repository,
                chart,
                version,
                ..
            } => format!("chart {chart} {version} of {repository} is not available offline"),
            ChartRequest::Oci { repository, .. } => {
                format!("the chart of {repository} is not available offline")
            }
        }))
    }
}
