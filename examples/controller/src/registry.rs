//! The controller's view of a container registry: list tags, look up a
//! digest. [`gitops_source::registry::AsyncClient`] answers in production,
//! [`FixedTags`] in tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use gitops_core::ImageRef;

/// A boxed `Send` future (the reconcilers run on kube-runtime's tokio tasks).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the reconcilers ask a registry. Errors are messages: they end up in
/// a condition.
pub trait Registry: Send + Sync + 'static {
    /// Every tag of `image`'s repository, complete or an error.
    fn list_tags<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Vec<String>, String>>;
    /// The manifest digest `image:tag` points at (`sha256:…`).
    fn manifest_digest<'a>(
        &'a self,
        image: &'a ImageRef,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<String, String>>;
}

#[cfg(feature = "registry")]
impl Registry for gitops_source::registry::AsyncClient {
    fn list_tags<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            gitops_source::registry::AsyncClient::list_tags(self, image)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn manifest_digest<'a>(
        &'a self,
        image: &'a ImageRef,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            gitops_source::registry::AsyncClient::manifest_digest(self, image, tag)
                .await
                .map(|d| d.as_str().to_owned())
                .map_err(|e| e.to_string())
        })
    }
}

/// A registry with fixed answers: image name (`ImageRef::name`, e.g.
/// `ghcr.io/org/app`) → tags and their digests.
#[derive(Debug, Clone, Default)]
pub struct FixedTags {
    repos: BTreeMap<String, Vec<(String, String)>>,
}

impl FixedTags {
    /// An empty registry (every listing fails with "not found").
    #[must_use]
    pub fn new() -> FixedTags {
        FixedTags::default()
    }

    /// Add `tag` of `image` with `digest`.
    #[must_use]
    pub fn with(mut self, image: &str, tag: &str, digest: &str) -> FixedTags {
        self.repos
            .entry(image.to_owned())
            .or_default()
            .push((tag.to_owned(), digest.to_owned()));
        self
    }
}

impl Registry for FixedTags {
    fn list_tags<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Vec<String>, String>> {
        let r = self
            .repos
            .get(image.name())
            .map(|t| t.iter().map(|(t, _)| t.clone()).collect())
            .ok_or_else(|| format!("repository {} not found", image.name()));
        Box::pin(std::future::ready(r))
    }

    fn manifest_digest<'a>(
        &'a self,
        image: &'a ImageRef,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        let r = self
            .repos
            .get(image.name())
            .and_then(|t| t.iter().find(|(t, _)| t == tag))
            .map(|(_, d)| d.clone())
            .ok_or_else(|| format!("manifest {}:{tag} not found", image.name()));
        Box::pin(std::future::ready(r))
    }
}
