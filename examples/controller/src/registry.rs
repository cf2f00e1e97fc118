//! The controller's view of a container registry: list tags, look up a
//! digest. [`gitops_source::registry::AsyncClient`] answers in production,
//! [`FixedTags`] in tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
    /// The same registry using the credentials of `docker_config` (the
    /// `.dockerconfigjson` of a `kubernetes.io/dockerconfigjson` Secret,
    /// named by `origin` in errors) instead of its own.
    ///
    /// # Errors
    /// The config is not Docker's `config.json` shape.
    fn with_credentials(
        &self,
        docker_config: &[u8],
        origin: &str,
    ) -> Result<Arc<dyn Registry>, String>;
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

    fn with_credentials(
        &self,
        docker_config: &[u8],
        origin: &str,
    ) -> Result<Arc<dyn Registry>, String> {
        use gitops_source::registry::{AsyncClient, Keychain, Options};
        let keychain =
            Keychain::from_docker_config(docker_config, origin).map_err(|e| e.to_string())?;
        let client = AsyncClient::new(keychain, Options::default()).map_err(|e| e.to_string())?;
        Ok(Arc::new(client))
    }
}

/// A registry with fixed answers: image name (`ImageRef::name`, e.g.
/// `ghcr.io/org/app`) → tags and their digests.
#[derive(Debug, Clone, Default)]
pub struct FixedTags {
    repos: BTreeMap<String, Vec<(String, String)>>,
    /// The docker config every request must present (`None`: anonymous).
    required: Option<Vec<u8>>,
    /// The docker config this view presents.
    presented: Option<Vec<u8>>,
}

impl FixedTags {
    /// An empty registry (every listing fails with "not found").
    #[must_use]
    pub fn new() -> FixedTags {
        FixedTags::default()
    }

    /// Answer only requests made with exactly this docker config
    /// (everything else is `401 Unauthorized`).
    #[must_use]
    pub fn requiring(mut self, docker_config: &str) -> FixedTags {
        self.required = Some(docker_config.as_bytes().to_vec());
        self
    }

    fn authorized(&self) -> Result<(), String> {
        match &self.required {
            Some(r) if self.presented.as_ref() != Some(r) => Err("401 Unauthorized".to_owned()),
            _ => Ok(()),
        }
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
        if let Err(e) = self.authorized() {
            return Box::pin(std::future::ready(Err(e)));
        }
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
        if let Err(e) = self.authorized() {
            return Box::pin(std::future::ready(Err(e)));
        }
        let r = self
            .repos
            .get(image.name())
            .and_then(|t| t.iter().find(|(t, _)| t == tag))
            .map(|(_, d)| d.clone())
            .ok_or_else(|| format!("manifest {}:{tag} not found", image.name()));
        Box::pin(std::future::ready(r))
    }

    fn with_credentials(
        &self,
        docker_config: &[u8],
        _origin: &str,
    ) -> Result<Arc<dyn Registry>, String> {
        serde_json::from_slice::<serde_json::Value>(docker_config)
            .map_err(|e| format!("not a docker config: {e}"))?;
        let mut view = self.clone();
        view.presented = Some(docker_config.to_vec());
        Ok(Arc::new(view))
    }
}

/// The registry to read `repo` (in namespace `ns`) with: the shared one,
/// or one with the credentials of its `spec.secretRef` (a
/// `kubernetes.io/dockerconfigjson` Secret in the same namespace, read on
/// every run as image-reflector-controller does).
///
/// # Errors
/// The Secret cannot be read, does not exist, or holds no docker config.
pub async fn for_repository(
    ctx: &crate::context::Context,
    ns: &str,
    repo: &gitops_core::flux::ImageRepository,
) -> Result<Arc<dyn Registry>, String> {
    let Some(r) = &repo.spec.secret_ref else {
        return Ok(ctx.registry.clone());
    };
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(ctx.client.clone(), ns);
    let secret = api
        .get_opt(&r.name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("secrets \"{}\" not found", r.name))?;
    let config = secret
        .data
        .as_ref()
        .and_then(|d| d.get(".dockerconfigjson"))
        .ok_or_else(|| {
            format!(
                "secret '{ns}/{}' has no .dockerconfigjson (type kubernetes.io/dockerconfigjson)",
                r.name
            )
        })?;
    ctx.registry
        .with_credentials(&config.0, &format!("secret {ns}/{}", r.name))
}
