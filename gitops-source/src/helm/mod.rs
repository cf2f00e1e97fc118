//! Helm repositories: `index.yaml` parsing, chart version selection, chart
//! downloads with digest verification, and OCI charts (`oci://`).
//!
//! Follows source-controller's `HelmRepository`/`HelmChart`:
//!
//! - the index is `<url>/index.yaml`, at most [`MAX_INDEX_SIZE`] (50 MiB);
//!   a bigger one is a clear [`Error::IndexTooLarge`];
//! - a chart version is picked by an exact version match first, else the
//!   highest version inside a Masterminds range ([`Range`]);
//!   the default `*` excludes prereleases; versions that do not parse are
//!   skipped, as Helm does when loading an index;
//! - chart URLs are absolute, or relative to the repository URL;
//!   credentials (basic auth, from the client's [`Keychain`]) go to the
//!   repository host only, unless the keychain has a default entry (Flux
//!   `passCredentials`); a redirect to another host (name or port) drops
//!   them, and a 401 from that host is refused rather than answered with
//!   them;
//! - the tarball's SHA-256 must equal the index `digest` when there is one;
//! - `oci://host/path` repositories resolve `host/path/<chart>:<version>`
//!   through the registry (tags with `_` read as `+`, as Helm writes them),
//!   and take the layer of media type [`HELM_CHART_MEDIA_TYPE`].
//!
//! ```
//! use gitops_source::helm::Index;
//!
//! let index = Index::parse(br#"
//! apiVersion: v1
//! entries:
//!   app:
//!     - {name: app, version: 1.1.0, urls: [app-1.1.0.tgz]}
//!     - {name: app, version: 1.2.0-rc.1, urls: [app-1.2.0-rc.1.tgz]}
//!     - {name: app, version: 1.0.0, urls: [app-1.0.0.tgz]}
//! "#, "index.yaml")?;
//! assert_eq!(index.get("app", "*")?.version, "1.1.0");
//! assert_eq!(index.get("app", ">=1.2.0-0")?.version, "1.2.0-rc.1");
//! assert_eq!(index.get("app", "1.0.0")?.version, "1.0.0");
//! # Ok::<(), gitops_source::helm::Error>(())
//! ```
//!
//! # Async and blocking
//! The fetching functions take a blocking [`Client`]; each has an async
//! form taking a [`AsyncClient`] ([`fetch_index_async`], [`download_async`],
//! [`fetch_chart_async`], [`fetch_oci_chart_async`]) for code on a tokio
//! runtime, with `Send` futures. The blocking forms refuse on a thread
//! inside a tokio runtime's context with [`Error::InsideAsyncRuntime`]
//! (see [`crate::registry`]).
//!
//! ```no_run
//! use gitops_source::helm;
//! use gitops_source::registry::{AsyncClient, Keychain, Options};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = AsyncClient::new(Keychain::anonymous(), Options::default())?;
//!     let chart =
//!         helm::fetch_chart_async(&client, "https://stefanprodan.github.io/podinfo", "podinfo", "6.x")
//!             .await?;
//!     println!("{} {} ({} bytes)", chart.name, chart.version, chart.bytes.len());
//!     Ok(())
//! }
//! ```
//!
//! [`Keychain`]: crate::registry::Keychain
//! [`Range`]: gitops_core::semver::Range
//!
//! # Deviation
//! Helm drops index entries whose version does not parse and logs them; we
//! drop them too and count them in [`Index::skipped`]. TLS client
//! certificates (`certSecretRef`) are not supported.

use std::collections::BTreeMap;
use std::future::Future;

use gitops_core::Digest;
use gitops_core::semver::{Range, Version};
use reqwest::header;

use crate::oci;
use crate::registry::transport::{Request, redact};
use crate::registry::{self, AsyncClient, Client, sha256_digest};

/// Largest `index.yaml` accepted (Flux's default).
pub const MAX_INDEX_SIZE: u64 = 50 << 20;
/// Largest chart tarball accepted.
pub const MAX_CHART_SIZE: u64 = 100 << 20;
/// Media type of the chart layer of an OCI Helm chart.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Errors of Helm repository access.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The index is bigger than [`MAX_INDEX_SIZE`].
    #[error("index {url} is larger than {limit} bytes")]
    IndexTooLarge {
        /// The index URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The index is not valid YAML of the expected shape.
    #[error("invalid index {origin}: {reason}")]
    InvalidIndex {
        /// The index URL or file.
        origin: String,
        /// The parser's message.
        reason: String,
    },
    /// The chart is not in the index.
    #[error("chart {name:?} not found in the repository index")]
    ChartNotFound {
        /// The chart name.
        name: String,
    },
    /// No version of the chart satisfies the range.
    #[error("no version of chart {name:?} matches {range:?} (versions: {available})")]
    NoMatchingVersion {
        /// The chart.
        name: String,
        /// The range.
        range: String,
        /// Up to ten versions present.
        available: String,
    },
    /// The range does not parse.
    #[error("invalid version range {range:?}")]
    Range {
        /// The range.
        range: String,
        /// The cause.
        #[source]
        source: Box<gitops_core::semver::range::Error>,
    },
    /// The chart entry has no URL.
    #[error("chart {name:?} version {version} has no download URL")]
    NoUrl {
        /// The chart.
        name: String,
        /// The version.
        version: String,
    },
    /// A URL does not parse.
    #[error("invalid URL {url:?}")]
    InvalidUrl {
        /// The URL.
        url: String,
    },
    /// The downloaded chart does not match the index digest.
    #[error(
        "chart {url}: digest mismatch: index says sha256:{expected}, downloaded sha256:{actual}"
    )]
    DigestMismatch {
        /// The chart URL.
        url: String,
        /// The digest in the index.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// An HTTP request failed.
    #[error("cannot fetch {url}")]
    Fetch {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: registry::Error,
    },
    /// The server answered with an error status.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// An OCI chart could not be pulled.
    #[error("cannot pull OCI chart")]
    Oci(#[source] Box<oci::Error>),
    /// A blocking function was called on a thread inside a tokio runtime
    /// (an async task or `spawn_blocking`), where it would block the
    /// runtime or panic; nothing was fetched. Use the async form named.
    #[error(
        "the blocking {blocking} was called inside an async runtime; use {instead} with a \
         registry::AsyncClient and .await it there (or call the blocking form from a thread \
         outside the runtime)"
    )]
    InsideAsyncRuntime {
        /// The blocking function called.
        blocking: &'static str,
        /// Its async counterpart.
        instead: &'static str,
    },
}

impl From<oci::Error> for Error {
    fn from(e: oci::Error) -> Error {
        Error::Oci(Box::new(e))
    }
}

/// One chart version of an index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChartVersion {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Chart version.
    pub version: String,
    /// Download URLs (the first is used).
    #[serde(default)]
    pub urls: Vec<String>,
    /// SHA-256 (hex) of the tarball, when the index records it.
    #[serde(default)]
    pub digest: Option<String>,
    /// Application version.
    #[serde(default)]
    pub app_version: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Deprecated flag.
    #[serde(default)]
    pub deprecated: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIndex {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    entries: Option<BTreeMap<String, Option<Vec<ChartVersion>>>>,
}

/// A parsed `index.yaml`: chart name → versions, highest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Index {
    /// `apiVersion`.
    pub api_version: String,
    entries: BTreeMap<String, Vec<ChartVersion>>,
    skipped: usize,
}

impl Index {
    /// Parse an index (YAML or JSON). `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::IndexTooLarge`] above [`MAX_INDEX_SIZE`],
    /// [`Error::InvalidIndex`] when it does not parse or has no `apiVersion`.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Index, Error> {
        if bytes.len() as u64 > MAX_INDEX_SIZE {
            return Err(Error::IndexTooLarge {
                url: origin.to_owned(),
                limit: MAX_INDEX_SIZE,
            });
        }
        let invalid = |reason: String| Error::InvalidIndex {
            origin: origin.to_owned(),
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8".to_owned()))?;
        let mut options = serde_saphyr::Options::default();
        // Big public indexes hold millions of YAML events; the input size is
        // already bounded above.
        let mut budget = serde_saphyr::Budget::default();
        budget.max_events = 100_000_000;
        budget.max_nodes = 50_000_000;
        budget.max_reader_input_bytes = Some(usize::try_from(MAX_INDEX_SIZE).unwrap_or(usize::MAX));
        options.budget = Some(budget);
        let raw: RawIndex = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| invalid(e.to_string()))?;
        let api_version = raw
            .api_version
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid("no apiVersion".to_owned()))?;
        let mut skipped = 0;
        let mut entries = BTreeMap::new();
        for (name, versions) in raw.entries.unwrap_or_default() {
            let mut parsed: Vec<(Version, ChartVersion)> = Vec::new();
            for mut cv in versions.unwrap_or_default() {
                match Version::parse(&cv.version) {
                    Ok(v) => {
                        if cv.name.is_empty() {
                            cv.name.clone_from(&name);
                        }
                        parsed.push((v, cv));
                    }
                    Err(_) => skipped += 1,
                }
            }
            // Highest first; the sort is stable, so equal versions keep
            // index order.
            parsed.sort_by(|a, b| b.0.cmp(&a.0));
            entries.insert(name, parsed.into_iter().map(|(_, cv)| cv).collect());
        }
        Ok(Index {
            api_version,
            entries,
            skipped,
        })
    }

    /// Chart names.
    pub fn charts(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Versions of `name`, highest first.
    pub fn versions(&self, name: &str) -> &[ChartVersion] {
        self.entries.get(name).map_or(&[], Vec::as_slice)
    }

    /// Entries dropped because their version does not parse.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The version of `name` that `range` selects: an exact match of the
    /// version text first, else the highest version in the range (`""`
    /// means `*`).
    ///
    /// # Errors
    /// [`Error::ChartNotFound`], [`Error::Range`], [`Error::NoMatchingVersion`].
    pub fn get(&self, name: &str, range: &str) -> Result<&ChartVersion, Error> {
        let versions = self.entries.get(name).ok_or_else(|| Error::ChartNotFound {
            name: name.to_owned(),
        })?;
        select(
            name,
            range,
            versions.iter().map(|cv| (cv.version.as_str(), cv)),
        )
    }
}

/// Exact text match first, else the highest version in `range`.
fn select<'a, T>(
    name: &str,
    range: &str,
    candidates: impl Iterator<Item = (&'a str, T)> + Clone,
) -> Result<T, Error> {
    let range_text = if range.trim().is_empty() { "*" } else { range };
    if let Some((_, hit)) = candidates.clone().find(|(v, _)| *v == range_text) {
        return Ok(hit);
    }
    let parsed = Range::parse(range_text).map_err(|source| Error::Range {
        range: range_text.to_owned(),
        source: Box::new(source),
    })?;
    let mut best: Option<(Version, T)> = None;
    let mut available = Vec::new();
    for (text, item) in candidates {
        let Ok(v) = Version::parse(text) else {
            continue;
        };
        if available.len() < 10 {
            available.push(text.to_owned());
        }
        if parsed.matches(v.as_ref()) && best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, item));
        }
    }
    best.map(|(_, item)| item)
        .ok_or_else(|| Error::NoMatchingVersion {
            name: name.to_owned(),
            range: range_text.to_owned(),
            available: if available.is_empty() {
                "none".to_owned()
            } else {
                available.join(", ")
            },
        })
}

/// A downloaded, verified chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// Where it was downloaded from (`oci://…` for OCI charts).
    pub url: String,
    /// `sha256:` of the tarball.
    pub digest: Digest,
    /// The `.tgz` bytes.
    pub bytes: Vec<u8>,
}

/// Resolve a chart URL against the repository URL like Helm: absolute URLs
/// stay, relative ones are joined to the repository URL as a directory.
///
/// # Errors
/// [`Error::InvalidUrl`].
pub fn resolve_chart_url(repo_url: &str, chart_url: &str) -> Result<String, Error> {
    if let Ok(u) = reqwest::Url::parse(chart_url) {
        return Ok(u.to_string());
    }
    let mut base = reqwest::Url::parse(repo_url).map_err(|_| Error::InvalidUrl {
        url: redact(repo_url),
    })?;
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(chart_url)
        .map(|u| u.to_string())
        .map_err(|_| Error::InvalidUrl {
            url: chart_url.to_owned(),
        })
}

fn host_of(url: &str) -> Result<String, Error> {
    let u = reqwest::Url::parse(url).map_err(|_| Error::InvalidUrl { url: redact(url) })?;
    let host = u
        .host_str()
        .ok_or_else(|| Error::InvalidUrl { url: redact(url) })?;
    Ok(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// GET `url` with the client's credentials for its host.
async fn get(client: &AsyncClient, url: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let host = host_of(url)?;
    let req = Request::get(url.to_owned(), &host, None, limit).header(header::ACCEPT, "*/*");
    let resp = client
        .transport()
        .send(&req)
        .await
        .map_err(|source| match source {
            registry::Error::BodyTooLarge { url, limit } if limit == MAX_INDEX_SIZE => {
                Error::IndexTooLarge { url, limit }
            }
            source => Error::Fetch {
                url: redact(url),
                source,
            },
        })?;
    if !resp.status.is_success() {
        return Err(Error::Status {
            url: resp.url,
            status: resp.status.as_u16(),
        });
    }
    Ok(resp.body)
}

/// Run a blocking function's async form on `client`'s private runtime, or
/// refuse inside a runtime with [`Error::InsideAsyncRuntime`].
fn run<'c, T, F>(
    client: &'c Client,
    blocking: &'static str,
    instead: &'static str,
    call: impl FnOnce(&'c AsyncClient) -> F,
) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    client
        .block_on(call(client.nonblocking()))
        .unwrap_or(Err(Error::InsideAsyncRuntime { blocking, instead }))
}

/// Download and parse `<repo_url>/index.yaml`.
///
/// # Errors
/// [`Error::IndexTooLarge`], [`Error::InvalidIndex`], fetch errors;
/// [`Error::InsideAsyncRuntime`] inside a tokio runtime (use
/// [`fetch_index_async`]).
pub fn fetch_index(client: &Client, repo_url: &str) -> Result<Index, Error> {
    run(
        client,
        "helm::fetch_index",
        "helm::fetch_index_async",
        |c| fetch_index_async(c, repo_url),
    )
}

/// [`fetch_index`] for async code. The index is parsed on the calling
/// task (it is at most [`MAX_INDEX_SIZE`]).
///
/// # Errors
/// [`Error::IndexTooLarge`], [`Error::InvalidIndex`], fetch errors.
pub async fn fetch_index_async(client: &AsyncClient, repo_url: &str) -> Result<Index, Error> {
    let url = format!("{}/index.yaml", repo_url.trim_end_matches('/'));
    let bytes = get(client, &url, MAX_INDEX_SIZE).await?;
    Index::parse(&bytes, &redact(&url))
}

/// Download `chart` (its first URL, resolved against `repo_url`) and
/// verify it against the index digest.
///
/// # Errors
/// [`Error::NoUrl`], [`Error::DigestMismatch`], fetch errors;
/// [`Error::InsideAsyncRuntime`] inside a tokio runtime (use
/// [`download_async`]).
pub fn download(client: &Client, repo_url: &str, chart: &ChartVersion) -> Result<Chart, Error> {
    run(client, "helm::download", "helm::download_async", |c| {
        download_async(c, repo_url, chart)
    })
}

/// [`download`] for async code.
///
/// # Errors
/// [`Error::NoUrl`], [`Error::DigestMismatch`], fetch errors.
pub async fn download_async(
    client: &AsyncClient,
    repo_url: &str,
    chart: &ChartVersion,
) -> Result<Chart, Error> {
    let first = chart.urls.first().ok_or_else(|| Error::NoUrl {
        name: chart.name.clone(),
        version: chart.version.clone(),
    })?;
    let url = resolve_chart_url(repo_url, first)?;
    let bytes = get(client, &url, MAX_CHART_SIZE).await?;
    let digest = sha256_digest(&bytes);
    if let Some(expected) = chart.digest.as_deref().filter(|d| !d.is_empty()) {
        let expected = expected.trim_start_matches("sha256:").to_ascii_lowercase();
        if expected != digest.hex() {
            return Err(Error::DigestMismatch {
                url: redact(&url),
                expected,
                actual: digest.hex().to_owned(),
            });
        }
    }
    Ok(Chart {
        name: chart.name.clone(),
        version: chart.version.clone(),
        url: redact(&url),
        digest,
        bytes,
    })
}

/// Fetch chart `name` at the version `range` selects from `repo_url`, an
/// HTTP(S) repository or an `oci://` registry path.
///
/// # Errors
/// Any of the module's errors; [`Error::InsideAsyncRuntime`] inside a
/// tokio runtime (use [`fetch_chart_async`]).
pub fn fetch_chart(
    client: &Client,
    repo_url: &str,
    name: &str,
    range: &str,
) -> Result<Chart, Error> {
    run(
        client,
        "helm::fetch_chart",
        "helm::fetch_chart_async",
        |c| fetch_chart_async(c, repo_url, name, range),
    )
}

/// [`fetch_chart`] for async code.
///
/// # Errors
/// Any of the module's errors but [`Error::InsideAsyncRuntime`].
pub async fn fetch_chart_async(
    client: &AsyncClient,
    repo_url: &str,
    name: &str,
    range: &str,
) -> Result<Chart, Error> {
    if repo_url.starts_with("oci://") {
        return fetch_oci_chart_async(client, repo_url, name, range).await;
    }
    let index = fetch_index_async(client, repo_url).await?;
    let chart = index.get(name, range)?;
    download_async(client, repo_url, chart).await
}

/// Pull an OCI chart `oci://host/path/<name>` at the version `range` selects.
///
/// # Errors
/// Registry and selection errors; [`Error::InsideAsyncRuntime`] inside a
/// tokio runtime (use [`fetch_oci_chart_async`]).
pub fn fetch_oci_chart(
    client: &Client,
    repo_url: &str,
    name: &str,
    range: &str,
) -> Result<Chart, Error> {
    run(
        client,
        "helm::fetch_oci_chart",
        "helm::fetch_oci_chart_async",
        |c| fetch_oci_chart_async(c, repo_url, name, range),
    )
}

/// [`fetch_oci_chart`] for async code.
///
/// # Errors
/// Registry and selection errors.
pub async fn fetch_oci_chart_async(
    client: &AsyncClient,
    repo_url: &str,
    name: &str,
    range: &str,
) -> Result<Chart, Error> {
    let url = format!("{}/{name}", repo_url.trim_end_matches('/'));
    let target = oci::OciRef::parse(&url)?;
    let image = target.image().clone().without_tag_and_digest();
    let tags = client
        .list_tags(&image)
        .await
        .map_err(|source| Error::Fetch {
            url: url.clone(),
            source,
        })?;
    let versions: Vec<(String, &str)> = tags
        .iter()
        .map(|t| (t.replace('_', "+"), t.as_str()))
        .collect();
    if versions.is_empty() {
        return Err(Error::ChartNotFound {
            name: name.to_owned(),
        });
    }
    let tag = select(name, range, versions.iter().map(|(v, t)| (v.as_str(), *t)))?;
    let layer = oci::fetch_layer(client, &image, tag, Some(HELM_CHART_MEDIA_TYPE)).await?;
    Ok(Chart {
        name: name.to_owned(),
        version: tag.replace('_', "+"),
        url: format!("oci://{}:{tag}", image.name()),
        digest: layer.digest,
        bytes: layer.bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            resolve_chart_url("https://h/charts", "app-1.0.0.tgz").unwrap(),
            "https://h/charts/app-1.0.0.tgz"
        );
        assert_eq!(
            resolve_chart_url("https://h/charts/", "../x/app.tgz").unwrap(),
            "https://h/x/app.tgz"
        );
        assert_eq!(
            resolve_chart_url("https://h/charts", "https://cdn/a.tgz").unwrap(),
            "https://cdn/a.tgz"
        );
    }

    #[test]
    fn selection() {
        let idx = Index::parse(
            br#"
apiVersion: v1
entries:
  a:
    - {version: "2.0.0-beta.1", urls: [a.tgz]}
    - {version: 1.5.0, urls: [a.tgz]}
    - {version: not-a-version, urls: [a.tgz]}
    - {version: v1.10.0, urls: [a.tgz]}
"#,
            "mem",
        )
        .unwrap();
        assert_eq!(idx.skipped(), 1);
        assert_eq!(idx.get("a", "").unwrap().version, "v1.10.0");
        assert_eq!(idx.get("a", "~1.5").unwrap().version, "1.5.0");
        assert_eq!(
            idx.get("a", "2.0.0-beta.1").unwrap().version,
            "2.0.0-beta.1"
        );
        assert_eq!(idx.get("a", "v1.10.0").unwrap().name, "a");
        assert_eq!(
            idx.get("a", ">=3").unwrap_err().to_string(),
            "no version of chart \"a\" matches \">=3\" (versions: 2.0.0-beta.1, v1.10.0, 1.5.0)"
        );
        assert_eq!(
            idx.get("b", "*").unwrap_err().to_string(),
            "chart \"b\" not found in the repository index"
        );
        assert!(matches!(idx.get("a", ">>1"), Err(Error::Range { .. })));
    }

    #[test]
    fn invalid_and_oversized() {
        assert!(matches!(
            Index::parse(b"entries: {}", "x"),
            Err(Error::InvalidIndex { .. })
        ));
        assert!(matches!(
            Index::parse(b"apiVersion: v1\nentries: [1, 2]", "x"),
            Err(Error::InvalidIndex { .. })
        ));
        let big = vec![b' '; (MAX_INDEX_SIZE + 1) as usize];
        assert_eq!(
            Index::parse(&big, "x").unwrap_err().to_string(),
            "index x is larger than 52428800 bytes"
        );
    }
}
