//! Container registries, as the image crates see them: a tag lister.
//!
//! ```
//! use gitops_core::registry::{MemRegistry, TagLister};
//! use gitops_core::ImageRef;
//!
//! let mut reg = MemRegistry::new();
//! reg.add("ghcr.io/org/app", "1.0.0", None);
//! reg.add("ghcr.io/org/app", "1.1.0", Some(1_700_000_000));
//! let image = ImageRef::parse("ghcr.io/org/app")?;
//! assert_eq!(reg.list_tags(&image)?, ["1.0.0", "1.1.0"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use crate::{Digest, ImageRef};

/// What a registry knows about one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// The manifest digest the tag points at.
    pub digest: Option<Digest>,
    /// Image creation time (seconds since the Unix epoch), from the image config.
    pub created: Option<i64>,
}

/// Lists the tags of an image repository and describes a tag.
///
/// Implementations must return the *complete* tag list or an error, never a
/// partial list.
pub trait TagLister {
    /// The implementation's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Every tag of `image`'s repository (tag and digest of `image` are ignored).
    fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, Self::Error>;
    /// Digest and creation time of `image:tag`.
    fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, Self::Error>;
}

/// Which tags an image repository scan drops: Flux's
/// `ImageRepository.spec.exclusionList`. gitops-image's `Exclusions`
/// implements it with Flux's Go regular expressions.
pub trait TagExclusion {
    /// Whether `tag` is dropped.
    fn is_excluded(&self, tag: &str) -> bool;
}

/// Keep every tag.
impl TagExclusion for () {
    fn is_excluded(&self, _tag: &str) -> bool {
        false
    }
}

/// Errors of [`MemRegistry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such repository.
    #[error("repository {0:?} not found")]
    UnknownRepository(String),
    /// No such tag.
    #[error("tag {tag:?} not found in repository {repository:?}")]
    UnknownTag {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
    },
}

/// An in-memory registry: repository name → tags in insertion order.
#[derive(Debug, Clone, Default)]
pub struct MemRegistry {
    repos: BTreeMap<String, Vec<(String, TagInfo)>>,
}

impl MemRegistry {
    /// An empty registry.
    pub fn new() -> MemRegistry {
        MemRegistry::default()
    }

    /// Add a tag with an optional creation time; the digest is derived from the name.
    pub fn add(&mut self, repository: &str, tag: &str, created: Option<i64>) {
        let seed = format!("{repository}:{tag}");
        let mut bytes = [0u8; 32];
        for (i, b) in seed.bytes().enumerate() {
            bytes[i % 32] = bytes[i % 32].wrapping_mul(31).wrapping_add(b);
        }
        self.add_with(
            repository,
            tag,
            TagInfo {
                digest: Some(Digest::from_sha256_bytes(&bytes)),
                created,
            },
        );
    }

    /// Add a tag with full information (replaces an existing tag of that name).
    pub fn add_with(&mut self, repository: &str, tag: &str, info: TagInfo) {
        let tags = self.repos.entry(repository.to_owned()).or_default();
        match tags.iter_mut().find(|(t, _)| t == tag) {
            Some(slot) => slot.1 = info,
            None => tags.push((tag.to_owned(), info)),
        }
    }
}

impl TagLister for MemRegistry {
    type Error = Error;

    fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, Error> {
        self.repos
            .get(image.name())
            .map(|tags| tags.iter().map(|(t, _)| t.clone()).collect())
            .ok_or_else(|| Error::UnknownRepository(image.name().to_owned()))
    }

    fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, Error> {
        let tags = self
            .repos
            .get(image.name())
            .ok_or_else(|| Error::UnknownRepository(image.name().to_owned()))?;
        tags.iter()
            .find(|(t, _)| t == tag)
            .map(|(_, i)| i.clone())
            .ok_or_else(|| Error::UnknownTag {
                repository: image.name().to_owned(),
                tag: tag.to_owned(),
            })
    }
}
