//! Container registries, as the image crates see them: a tag lister, in a
//! blocking ([`TagLister`]) and an async ([`AsyncTagLister`]) form.
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
use std::future::Future;

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

/// The async form of [`TagLister`], for code running on an async runtime
/// (a Kubernetes controller): the same contract, with futures that are
/// `Send`, so they can be spawned on a multi-thread runtime.
///
/// The trait names no runtime (gitops-core has no async dependency).
/// Implementations: [`MemRegistry`] (its futures are ready at once), and
/// gitops-source's `registry::AsyncClient`, a real registry client over
/// tokio.
///
/// # Adapting a blocking [`TagLister`]
/// No blanket adapter is provided, because running blocking I/O from async
/// code is a choice of the caller's runtime: with tokio, wrap each call in
/// `tokio::task::spawn_blocking` (the lister must then be `Send + Sync +
/// 'static`, e.g. in an `Arc`). Prefer a native async implementation where
/// there is one: gitops-source's blocking `registry::Client` refuses to run
/// on any thread inside a tokio runtime, `spawn_blocking` threads included,
/// and its `registry::AsyncClient` is the one to use there.
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use gitops_core::registry::{AsyncTagLister, MemRegistry};
/// use gitops_core::ImageRef;
///
/// let mut reg = MemRegistry::new();
/// reg.add("ghcr.io/org/app", "1.0.0", None);
/// let image = ImageRef::parse("ghcr.io/org/app")?;
/// // In async code: `reg.list_tags(&image).await?`. MemRegistry's futures
/// // are ready on the first poll.
/// let mut fut = pin!(AsyncTagLister::list_tags(&reg, &image));
/// let Poll::Ready(tags) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
///     unreachable!("MemRegistry answers at once")
/// };
/// assert_eq!(tags?, ["1.0.0"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncTagLister {
    /// The implementation's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Every tag of `image`'s repository (tag and digest of `image` are
    /// ignored); the complete list or an error, never a partial list.
    fn list_tags(
        &self,
        image: &ImageRef,
    ) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send;
    /// Digest and creation time of `image:tag`.
    fn tag_info(
        &self,
        image: &ImageRef,
        tag: &str,
    ) -> impl Future<Output = Result<TagInfo, Self::Error>> + Send;
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

impl AsyncTagLister for MemRegistry {
    type Error = Error;

    fn list_tags(
        &self,
        image: &ImageRef,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        std::future::ready(TagLister::list_tags(self, image))
    }

    fn tag_info(
        &self,
        image: &ImageRef,
        tag: &str,
    ) -> impl Future<Output = Result<TagInfo, Error>> + Send {
        std::future::ready(TagLister::tag_info(self, image, tag))
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
