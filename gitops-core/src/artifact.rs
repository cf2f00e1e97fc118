//! A fetched, verified source.
//!
//! ```
//! use gitops_core::{Artifact, Digest, Revision};
//! use gitops_core::artifact::Content;
//!
//! let revision: Revision = "main@sha1:0123456789abcdef0123456789abcdef01234567".parse()?;
//! let digest = Digest::from_sha256_bytes(&[0; 32]);
//! let a = Artifact::new(revision, digest, Content::Bytes(vec![1, 2, 3]));
//! assert_eq!(a.size, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use crate::{Digest, Revision};

/// Where an artifact's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// A tarball on disk.
    Path(PathBuf),
    /// The tarball in memory.
    Bytes(Vec<u8>),
}

/// A packaged source: its revision, the digest of its bytes, its size, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The source revision it was made from.
    pub revision: Revision,
    /// `sha256:<hex>` of the packaged bytes.
    pub digest: Digest,
    /// Size of the packaged bytes.
    pub size: u64,
    /// The bytes.
    pub content: Content,
}

impl Artifact {
    /// Build an artifact; the size is taken from `content` when in memory, else 0
    /// until [`Artifact::with_size`] sets it.
    pub fn new(revision: Revision, digest: Digest, content: Content) -> Artifact {
        let size = match &content {
            Content::Bytes(b) => b.len() as u64,
            Content::Path(_) => 0,
        };
        Artifact {
            revision,
            digest,
            size,
            content,
        }
    }

    /// Set the size (for artifacts on disk).
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Artifact {
        self.size = size;
        self
    }
}
