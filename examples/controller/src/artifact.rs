//! Source artifacts of Kustomizations: download `status.artifact.url`
//! over HTTP(S), check `status.artifact.digest` (`sha256:<hex>`) and unpack
//! the tar.gz into a fresh temp dir with gitops-source's
//! [`gitops_source::archive`] module, which refuses absolute paths,
//! `..`, symlinks, hard links, devices, duplicates and archives expanding
//! beyond its limits.

use gitops_core::error::chain;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gitops_core::Digest;
use gitops_source::archive::{self, Limits};

/// Downloads and unpacks artifacts; the HTTP client is built on first use.
#[derive(Clone, Default)]
pub struct Fetcher {
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
    limits: Limits,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// An unpacked artifact; the directory is removed when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Unpacked {
    /// The root of the unpacked tree.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Fetcher {
    /// With other extraction limits (the download is bounded by `max_total` too).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Fetcher {
        self.limits = limits;
        self
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                // reqwest is built with `rustls-no-provider`: install ring
                // (another part of the process may have done it: fine).
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(15))
                    .timeout(Duration::from_secs(300))
                    .user_agent(concat!("gitops-controller/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("HTTP client: {}", chain(&e)))
            })
            .clone()
    }

    /// Download `url`, check that its bytes have `digest` and unpack them.
    ///
    /// # Errors
    /// A message for the `ArtifactFailed` condition: download, digest
    /// mismatch, refused or corrupt archive.
    pub async fn fetch(&self, url: &str, digest: &str) -> Result<Unpacked, String> {
        let expected = Digest::parse(digest)
            .map_err(|e| format!("invalid artifact digest {digest:?}: {e}"))?;
        let client = self.client()?;
        let failed =
            |e: reqwest::Error| format!("failed to download artifact from {url}: {}", chain(&e));
        let mut resp = client.get(url).send().await.map_err(failed)?;
        if !resp.status().is_success() {
            return Err(format!(
                "failed to download artifact from {url}, status: {}",
                resp.status()
            ));
        }
        let max = self.limits.max_total;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(format!(
                    "failed to download artifact from {url}: larger than {max} bytes"
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            archive::verify(&bytes[..], &expected)
                .map_err(|e| format!("failed to verify artifact: {}", chain(&e)))?;
            let dir = tempfile::Builder::new()
                .prefix("kustomization-")
                .tempdir()
                .map_err(|e| format!("tmp dir error: {e}"))?;
            let root = dir.path().join("source");
            archive::extract(&bytes[..], &root, &limits).map_err(|e| {
                format!(
                    "failed to extract archive (check whether file format is correct): {}",
                    chain(&e)
                )
            })?;
            Ok(Unpacked { _dir: dir, root })
        })
        .await
        .map_err(|e| format!("artifact task: {e}"))?
    }
}
