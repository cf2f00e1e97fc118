//! Container registry scanning, the way Flux's image-reflector-controller
//! does it: list every tag of a repository (following pagination to the end),
//! drop the `exclusionList` matches, and reflect digests per
//! `digestReflectionPolicy`.
//!
//! # Async and blocking
//! - [`AsyncClient`] is for async code (a Kubernetes controller under
//!   `#[tokio::main]`, any tokio runtime, multi-thread or current-thread):
//!   `async fn`s whose futures are `Send`; it implements gitops-core's
//!   [`AsyncTagLister`].
//! - [`Client`] is for plain threads (the `gitops` CLI, CI jobs): the same
//!   calls, blocking, each run on a private single-threaded tokio runtime.
//!   It implements gitops-core's [`TagLister`], which is what gitops-image's
//!   pure policies consume. On a thread inside a tokio runtime's context
//!   (an async task, or `spawn_blocking`, where tokio enters it too) it
//!   refuses with [`Error::InsideAsyncRuntime`] instead of panicking with
//!   "Cannot start a runtime from within a runtime". Building or dropping a
//!   `Client` is fine anywhere.
//!
//! The OCI, Helm and bucket functions follow the same rule: `oci::pull`
//! takes a [`Client`], `oci::pull_async` an [`AsyncClient`], and so on.
//!
//! - Auth: anonymous, basic, or a bearer token per registry ([`Keychain`],
//!   also read from Docker's `config.json`); registry token services
//!   (`WWW-Authenticate: Bearer realm=…`) are followed with the credentials.
//! - Credentials stay on the registry's host (host name and port, as
//!   containerd and Docker's `config.json` key them): a token service gets
//!   them on that host or over HTTPS, never over plain HTTP to another host
//!   ([`Error::RealmRefused`]); a redirect to another host drops
//!   `Authorization`, and a challenge from there is not answered
//!   ([`Error::ChallengeRefused`]); tag pages are read from the registry's
//!   host only ([`Error::LinkRefused`]).
//! - Plain HTTP only for loopback registries (`localhost`, `127.0.0.0/8`,
//!   `[::1]`) or when [`Options::insecure`] is set; HTTPS (rustls) otherwise.
//! - 429, 408 and 5xx answers and transport errors are retried with bounded
//!   exponential backoff ([`Options::max_retries`], [`Options::initial_backoff`]
//!   doubling up to [`Options::max_backoff`]); a `Retry-After` header
//!   (seconds or an HTTP date) replaces the computed delay. Waits are bounded:
//!   one by `max_backoff`, all of a request's together by
//!   [`Options::max_retry_wait`]; a `Retry-After` beyond either ends the
//!   request at once with the server's answer ([`Error::RetryAfterTooLong`]).
//! - Tag pages follow the `Link: <…>; rel="next"` header; when a full page
//!   comes without one, the next page is asked with `last=`. A registry that
//!   ignores `n`/`last` (CNCF distribution 2.x answers every tag at once) is
//!   recognised and its single answer used. Any failing page fails the whole
//!   listing: a partial list is never returned.
//! - A listing is bounded in pages, tags, bytes and time
//!   ([`Options::max_pages`], [`Options::max_tags`],
//!   [`Options::max_listing_bytes`], [`Options::listing_deadline`]); past
//!   any of them it fails with [`Error::ListingLimit`].
//!
//! ```no_run
//! use std::time::SystemTime;
//! use gitops_core::ImageRef;
//! use gitops_source::registry::{Client, Keychain, Options};
//!
//! let client = Client::new(Keychain::from_default_docker_config()?, Options::default())?;
//! let image = ImageRef::parse("ghcr.io/stefanprodan/podinfo")?;
//! // `()` keeps every tag; gitops-image's `Exclusions` applies a Flux
//! // `exclusionList`.
//! let scan = client.scan_excluding(&image, &(), SystemTime::now())?;
//! println!("{} tags, latest {:?}", scan.tag_count, scan.latest_tags);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same scan from async code:
//!
//! ```no_run
//! use std::time::SystemTime;
//! use gitops_core::ImageRef;
//! use gitops_source::registry::{AsyncClient, Keychain, Options};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = AsyncClient::new(Keychain::from_default_docker_config()?, Options::default())?;
//!     let image = ImageRef::parse("ghcr.io/stefanprodan/podinfo")?;
//!     let scan = client.scan_excluding(&image, &(), SystemTime::now()).await?;
//!     println!("{} tags, latest {:?}", scan.tag_count, scan.latest_tags);
//!     Ok(())
//! }
//! ```
//!
//! # Deviation
//! - The `oci-client` crate is used for its manifest types only: its client
//!   hides response headers, so it can neither follow `Link` pagination (a
//!   registry that caps page sizes would yield a silently partial list) nor
//!   honour `Retry-After`. Requests go through reqwest directly.
//! - Loopback registries use plain HTTP without `insecure`, as Docker does.

mod api;
pub mod auth;
pub(crate) mod origin;
pub(crate) mod transport;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gitops_core::registry::{AsyncTagLister, TagExclusion, TagInfo, TagLister};
use gitops_core::{Digest, ImageRef};

pub use auth::{Credentials, Keychain};
pub use transport::is_loopback;

pub(crate) use api::{Endpoint, sha256_digest};
pub(crate) use transport::Transport;

use crate::blocking::{InsideRuntime, PrivateRuntime};

/// Most pages one tag listing reads (default of [`Options::max_pages`]):
/// with the default page size of 1000 that is the [`MAX_TAGS`] bound, and a
/// registry that caps pages at 100 tags still lists 100,000.
pub const MAX_PAGES: usize = 1_000;
/// Most tags one listing accepts (default of [`Options::max_tags`]). Large
/// CI repositories hold tens of thousands of tags; a million is far above
/// them and keeps the list within about 100 MB.
pub const MAX_TAGS: usize = 1_000_000;
/// Most bytes of tag pages one listing reads (default of
/// [`Options::max_listing_bytes`]): a million tags of 60 characters.
pub const MAX_LISTING_BYTES: u64 = 64 << 20;
/// Time one whole listing may take, retries and `Retry-After` waits included
/// (default of [`Options::listing_deadline`]); Flux scans every few minutes.
pub const LISTING_DEADLINE: Duration = Duration::from_secs(5 * 60);
/// Most time one request spends waiting between its attempts, all waits
/// together (default of [`Options::max_retry_wait`]).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// Network behaviour of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Whole-request timeout (default 60 s).
    pub timeout: Duration,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Retries after the first attempt for 429/408/5xx and transport errors
    /// (default 4).
    pub max_retries: u32,
    /// First backoff delay, doubled on each retry (default 250 ms).
    pub initial_backoff: Duration,
    /// Largest delay between two attempts (default 30 s); a `Retry-After`
    /// asking for more ends the request ([`Error::RetryAfterTooLong`]).
    pub max_backoff: Duration,
    /// Largest sum of the delays between the attempts of one request
    /// (default [`MAX_RETRY_WAIT`]).
    pub max_retry_wait: Duration,
    /// Allow plain HTTP to every host, not only loopback ones (Flux
    /// `spec.insecure`).
    pub insecure: bool,
    /// Tags asked per page (`n`, default 1000).
    pub page_size: usize,
    /// Most pages one tag listing reads (default [`MAX_PAGES`]).
    pub max_pages: usize,
    /// Most tags one listing accepts (default [`MAX_TAGS`]).
    pub max_tags: usize,
    /// Most bytes of tag pages one listing reads (default
    /// [`MAX_LISTING_BYTES`]).
    pub max_listing_bytes: u64,
    /// Time one whole listing may take (default [`LISTING_DEADLINE`]).
    pub listing_deadline: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            max_retry_wait: MAX_RETRY_WAIT,
            insecure: false,
            page_size: 1000,
            max_pages: MAX_PAGES,
            max_tags: MAX_TAGS,
            max_listing_bytes: MAX_LISTING_BYTES,
            listing_deadline: LISTING_DEADLINE,
        }
    }
}

impl Options {
    /// Set [`Options::insecure`].
    #[must_use]
    pub fn with_insecure(mut self, insecure: bool) -> Options {
        self.insecure = insecure;
        self
    }

    /// Set [`Options::timeout`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Options {
        self.timeout = timeout;
        self
    }

    /// Set the retry budget and backoff bounds.
    #[must_use]
    pub fn with_retries(mut self, max_retries: u32, initial: Duration, max: Duration) -> Options {
        self.max_retries = max_retries;
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Set [`Options::page_size`].
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Options {
        self.page_size = page_size;
        self
    }

    /// Set [`Options::max_retry_wait`].
    #[must_use]
    pub fn with_max_retry_wait(mut self, max_retry_wait: Duration) -> Options {
        self.max_retry_wait = max_retry_wait;
        self
    }

    /// Set the bounds of one tag listing: [`Options::max_pages`],
    /// [`Options::max_tags`], [`Options::max_listing_bytes`] and
    /// [`Options::listing_deadline`].
    #[must_use]
    pub fn with_listing_limits(
        mut self,
        max_pages: usize,
        max_tags: usize,
        max_bytes: u64,
        deadline: Duration,
    ) -> Options {
        self.max_pages = max_pages;
        self.max_tags = max_tags;
        self.max_listing_bytes = max_bytes;
        self.listing_deadline = deadline;
        self
    }
}

/// The bound of a tag listing that was passed (see [`Error::ListingLimit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListingLimit {
    /// More pages than [`Options::max_pages`].
    Pages(usize),
    /// More tags than [`Options::max_tags`].
    Tags(usize),
    /// More bytes of pages than [`Options::max_listing_bytes`].
    Bytes(u64),
    /// Not complete within [`Options::listing_deadline`].
    Deadline(Duration),
}

impl std::fmt::Display for ListingLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListingLimit::Pages(n) => write!(f, "more than {n} pages (max_pages)"),
            ListingLimit::Tags(n) => write!(f, "more than {n} tags (max_tags)"),
            ListingLimit::Bytes(n) => {
                write!(f, "more than {n} bytes of tag pages (max_listing_bytes)")
            }
            ListingLimit::Deadline(d) => {
                write!(f, "not complete within {d:?} (listing_deadline)")
            }
        }
    }
}

/// Errors of registry access.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image name does not parse.
    #[error("invalid image {input:?}")]
    InvalidImage {
        /// The text given.
        input: String,
        /// Why.
        #[source]
        source: gitops_core::image_ref::Error,
    },
    /// The HTTP client or runtime could not be set up.
    #[error("cannot set up the HTTP client")]
    Setup {
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The tokio runtime could not be started.
    #[error("cannot start the I/O runtime")]
    Runtime(#[source] std::io::Error),
    /// A blocking client was called on a thread inside a tokio runtime
    /// (an async task or `spawn_blocking`), where it would block the
    /// runtime or panic; nothing was sent. Use the async form named.
    #[error(
        "the blocking {blocking} was called inside an async runtime; use {instead} and .await it \
         there (or call the blocking form from a thread outside the runtime)"
    )]
    InsideAsyncRuntime {
        /// The blocking client or function called.
        blocking: &'static str,
        /// Its async counterpart.
        instead: &'static str,
    },
    /// The request failed in transport (connect, TLS, timeout, truncated body),
    /// after the retries.
    #[error("request to {url} failed")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The registry kept answering 429/5xx.
    #[error("{url} answered {status} on all {attempts} attempts")]
    RetriesExhausted {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last status.
        status: u16,
    },
    /// Credentials missing or refused; check the registry credentials.
    #[error("authentication to {url} failed{}", if *.anonymous { " (no credentials were given)" } else { ": credentials refused" })]
    Unauthorized {
        /// The URL.
        url: String,
        /// True when the request was anonymous.
        anonymous: bool,
    },
    /// Authenticated, but access is denied.
    #[error("access to {url} denied")]
    Denied {
        /// The URL.
        url: String,
    },
    /// The token service failed.
    #[error("token service {realm}: {reason}")]
    Token {
        /// The realm URL.
        realm: String,
        /// What went wrong.
        reason: String,
    },
    /// No such repository.
    #[error("repository {repository} not found ({url})")]
    RepositoryNotFound {
        /// The repository.
        repository: String,
        /// The URL.
        url: String,
    },
    /// No such tag or digest.
    #[error("manifest {reference} not found in {repository}")]
    ManifestNotFound {
        /// The repository.
        repository: String,
        /// The tag or digest.
        reference: String,
    },
    /// Another unexpected status.
    #[error("{url} answered {status}{}", .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The registry error code, if any.
        code: Option<String>,
    },
    /// A body did not parse or lacked something required.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A body exceeded its size limit.
    #[error("response from {url} is larger than {limit} bytes")]
    BodyTooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A tag listing passed one of its bounds; no partial list is returned.
    /// Raise the bound in [`Options`] if the repository is that large.
    #[error("tag list of {repository} abandoned: {limit}")]
    ListingLimit {
        /// The repository.
        repository: String,
        /// The bound passed.
        limit: ListingLimit,
    },
    /// A tag page linked to a next page that is not on the registry's host
    /// (or not a URL); it was not followed.
    #[error("tag list pagination at {url}: refused the next link {link}: {reason}")]
    LinkRefused {
        /// The page that sent the link.
        url: String,
        /// The link, truncated.
        link: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The registry named a token service that may not receive its
    /// credentials (plain HTTP on another host); nothing was sent there.
    #[error("refused to send the credentials for {registry} to token service {realm}: {reason}")]
    RealmRefused {
        /// The registry host whose credentials were kept.
        registry: String,
        /// The token service URL, truncated.
        realm: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A request was redirected to another host, which asked for
    /// credentials; the registry's were not sent to it.
    #[error(
        "refused to authenticate to {host}: the request to {registry} was redirected there, \
         and the credentials for {registry} go to that host only"
    )]
    ChallengeRefused {
        /// The host the request was made to.
        registry: String,
        /// The host that asked for credentials.
        host: String,
    },
    /// The server asked to wait longer before retrying than
    /// [`Options::max_backoff`] allows for one wait, or than what is left of
    /// [`Options::max_retry_wait`]; the request was abandoned at once.
    #[error(
        "{url} answered {status} with Retry-After {retry_after}: that wait is beyond \
         {limit_name} ({limit:?}), so the request is abandoned"
    )]
    RetryAfterTooLong {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The `Retry-After` value, truncated.
        retry_after: String,
        /// The option that bounds the wait (`max_backoff` or `max_retry_wait`).
        limit_name: &'static str,
        /// Its value (for `max_retry_wait`, what was left of it).
        limit: Duration,
    },
    /// The page sequence of a tag list is broken.
    #[error("tag list pagination at {url}: {reason}")]
    Pagination {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Content does not match its digest.
    #[error("digest mismatch for {url}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The URL.
        url: String,
        /// The digest asked for or announced.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// A Docker config file is unreadable or malformed.
    #[error("docker config {path}: {reason}")]
    DockerConfig {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A Docker credential helper failed (the message never holds a secret).
    #[error("credential helper docker-credential-{helper} for {host}: {reason}")]
    CredentialHelper {
        /// The helper's name (`docker-credential-<name>`).
        helper: String,
        /// The registry host asked for.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// `digestReflectionPolicy` is not `Never`, `IfNotPresent` or `Always`.
    #[error("invalid digestReflectionPolicy {0:?}, must be one of: Never, IfNotPresent, Always")]
    ReflectionPolicy(String),
}

/// Flux `ImagePolicy.spec.digestReflectionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DigestReflectionPolicy {
    /// Never look digests up (the default).
    #[default]
    Never,
    /// Look the digest up when none is recorded for the selected tag.
    IfNotPresent,
    /// Look the digest up on every evaluation.
    Always,
}

impl DigestReflectionPolicy {
    /// Parse Flux's spelling; empty means `Never`.
    ///
    /// # Errors
    /// [`Error::ReflectionPolicy`] for any other value.
    pub fn parse(s: &str) -> Result<DigestReflectionPolicy, Error> {
        match s {
            "" | "Never" => Ok(DigestReflectionPolicy::Never),
            "IfNotPresent" => Ok(DigestReflectionPolicy::IfNotPresent),
            "Always" => Ok(DigestReflectionPolicy::Always),
            other => Err(Error::ReflectionPolicy(other.to_owned())),
        }
    }
}

/// The `ImageRepository` status a scan produces, plus the tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResult {
    /// `status.canonicalImageName`, e.g. `docker.io/library/nginx`.
    pub canonical_image_name: String,
    /// `status.lastScanResult.tagCount`: tags kept after the exclusion list.
    pub tag_count: usize,
    /// `status.lastScanResult.scanTime`: the `now` the scan was given.
    pub scan_time: SystemTime,
    /// `status.lastScanResult.latestTags`: up to ten tags, reverse-sorted.
    pub latest_tags: Vec<String>,
    /// Every kept tag, in registry order.
    pub tags: Vec<String>,
    /// Tags the exclusion list dropped.
    pub excluded: usize,
}

/// An async registry client, for code running inside a tokio runtime
/// (multi-thread or current-thread): it owns the HTTP transport and no
/// runtime, and its futures are `Send`.
///
/// Cloning is cheap and shares the connection pool, the token cache and
/// the resolved credentials. Pooled connections belong to the runtime that
/// opened them: use one `AsyncClient` per runtime.
///
/// ```no_run
/// use std::time::SystemTime;
/// use gitops_core::ImageRef;
/// use gitops_source::registry::{AsyncClient, Keychain, Options};
///
/// # async fn controller() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// // Inside `#[tokio::main] async fn main()`, a controller's reconcile, …
/// let client = AsyncClient::new(Keychain::anonymous(), Options::default())?;
/// let image = ImageRef::parse("ghcr.io/stefanprodan/podinfo")?;
/// let scan = client.scan_excluding(&image, &(), SystemTime::now()).await?;
/// println!("{} tags, latest {:?}", scan.tag_count, scan.latest_tags);
/// // The futures are `Send`: they can be spawned on a multi-thread runtime.
/// let task = tokio::spawn({
///     let client = client.clone();
///     async move { client.list_tags(&image).await }
/// });
/// let tags = task.await??;
/// # let _ = tags;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncClient {
    transport: Arc<Transport>,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("keychain", self.transport.keychain())
            .field("options", &self.transport.options)
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// A client using `keychain` for credentials. Needs no runtime: it can
    /// be built before one starts, or inside one.
    ///
    /// # Errors
    /// [`Error::Setup`] when the HTTP stack cannot start.
    pub fn new(keychain: Keychain, options: Options) -> Result<AsyncClient, Error> {
        Ok(AsyncClient {
            transport: Arc::new(Transport::new(keychain, options)?),
        })
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Every tag of `image`'s repository (its tag and digest are ignored).
    ///
    /// # Errors
    /// Any [`Error`]; never a partial list.
    pub async fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, Error> {
        let ep = Endpoint::of(image);
        self.transport.list_tags(&ep).await
    }

    /// The manifest digest `reference` (a tag or `sha256:` digest) points at.
    ///
    /// # Errors
    /// [`Error::ManifestNotFound`], or any transport [`Error`].
    pub async fn manifest_digest(
        &self,
        image: &ImageRef,
        reference: &str,
    ) -> Result<Digest, Error> {
        let ep = Endpoint::of(image);
        self.transport.manifest_digest(&ep, reference).await
    }

    /// Scan an image repository: list its tags and drop those `exclusions`
    /// names (for a Flux `ImageRepository`, gitops-image's
    /// `Exclusions::from_spec` of its spec). `now` becomes the scan time.
    /// The future is `Send` when `exclusions` is `Sync`.
    ///
    /// # Errors
    /// A listing error.
    pub async fn scan_excluding(
        &self,
        image: &ImageRef,
        exclusions: &impl TagExclusion,
        now: SystemTime,
    ) -> Result<ScanResult, Error> {
        let all = self.list_tags(image).await?;
        Ok(scan_result(image, all, exclusions, now))
    }

    /// The digest to record for the selected `tag` under `policy`: `None`
    /// with `Never`; with `IfNotPresent` the `recorded` digest when there is
    /// one (no request), else a lookup; with `Always` a lookup.
    ///
    /// # Errors
    /// A lookup [`Error`].
    pub async fn reflect_digest(
        &self,
        image: &ImageRef,
        tag: &str,
        policy: DigestReflectionPolicy,
        recorded: Option<&Digest>,
    ) -> Result<Option<Digest>, Error> {
        match (policy, recorded) {
            (DigestReflectionPolicy::Never, _) => Ok(None),
            (DigestReflectionPolicy::IfNotPresent, Some(d)) => Ok(Some(d.clone())),
            _ => self.manifest_digest(image, tag).await.map(Some),
        }
    }

    /// Digest and creation time of `image:tag` (the `created` of its image
    /// config; for an index, of its linux/amd64 entry or else its first).
    ///
    /// # Errors
    /// [`Error::ManifestNotFound`], or any transport [`Error`].
    pub async fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, Error> {
        let ep = Endpoint::of(image);
        let digest = self.transport.manifest_digest(&ep, tag).await?;
        let created = self.transport.created(&ep, digest.as_str()).await?;
        Ok(TagInfo {
            digest: Some(digest),
            created,
        })
    }
}

impl AsyncTagLister for AsyncClient {
    type Error = Error;

    fn list_tags(
        &self,
        image: &ImageRef,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        AsyncClient::list_tags(self, image)
    }

    fn tag_info(
        &self,
        image: &ImageRef,
        tag: &str,
    ) -> impl Future<Output = Result<TagInfo, Error>> + Send {
        AsyncClient::tag_info(self, image, tag)
    }
}

/// A blocking registry client, for plain threads (a CLI, a CI job): each
/// call runs the [`AsyncClient`] call of the same name on a private
/// single-threaded tokio runtime.
///
/// Called on a thread inside a tokio runtime's context (an async task, or
/// `spawn_blocking`), it returns [`Error::InsideAsyncRuntime`] instead of
/// blocking the runtime (or panicking); use [`AsyncClient`] there. Building
/// and dropping a `Client` is fine anywhere.
pub struct Client {
    runtime: PrivateRuntime,
    inner: AsyncClient,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("keychain", self.inner.transport.keychain())
            .field("options", &self.inner.transport.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client using `keychain` for credentials.
    ///
    /// # Errors
    /// [`Error::Setup`] / [`Error::Runtime`] when the HTTP stack cannot start.
    pub fn new(keychain: Keychain, options: Options) -> Result<Client, Error> {
        Ok(Client {
            runtime: PrivateRuntime::new().map_err(Error::Runtime)?,
            inner: AsyncClient::new(keychain, options)?,
        })
    }

    /// Run `fut` (a call of [`Client::nonblocking`]) on the private runtime,
    /// or refuse inside a runtime.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, InsideRuntime> {
        self.runtime.block_on(fut)
    }

    /// The async client the blocking calls run.
    pub(crate) fn nonblocking(&self) -> &AsyncClient {
        &self.inner
    }

    fn run<T>(&self, fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        self.block_on(fut).unwrap_or_else(|InsideRuntime| {
            Err(Error::InsideAsyncRuntime {
                blocking: "registry::Client",
                instead: "registry::AsyncClient",
            })
        })
    }

    /// Every tag of `image`'s repository (its tag and digest are ignored).
    ///
    /// # Errors
    /// Any [`Error`]; never a partial list. [`Error::InsideAsyncRuntime`]
    /// inside a tokio runtime.
    pub fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, Error> {
        self.run(self.inner.list_tags(image))
    }

    /// The manifest digest `reference` (a tag or `sha256:` digest) points at.
    ///
    /// # Errors
    /// [`Error::ManifestNotFound`], or any transport [`Error`];
    /// [`Error::InsideAsyncRuntime`] inside a tokio runtime.
    pub fn manifest_digest(&self, image: &ImageRef, reference: &str) -> Result<Digest, Error> {
        self.run(self.inner.manifest_digest(image, reference))
    }

    /// Scan an image repository: list its tags and drop those `exclusions`
    /// names (for a Flux `ImageRepository`, gitops-image's
    /// `Exclusions::from_spec` of its spec). `now` becomes the scan time.
    ///
    /// # Errors
    /// A listing error; [`Error::InsideAsyncRuntime`] inside a tokio runtime.
    pub fn scan_excluding(
        &self,
        image: &ImageRef,
        exclusions: &impl TagExclusion,
        now: SystemTime,
    ) -> Result<ScanResult, Error> {
        let all = self.list_tags(image)?;
        Ok(scan_result(image, all, exclusions, now))
    }

    /// The digest to record for the selected `tag` under `policy`: `None`
    /// with `Never`; with `IfNotPresent` the `recorded` digest when there is
    /// one (no request), else a lookup; with `Always` a lookup.
    ///
    /// # Errors
    /// A lookup [`Error`]; [`Error::InsideAsyncRuntime`] inside a tokio
    /// runtime when a lookup is needed.
    pub fn reflect_digest(
        &self,
        image: &ImageRef,
        tag: &str,
        policy: DigestReflectionPolicy,
        recorded: Option<&Digest>,
    ) -> Result<Option<Digest>, Error> {
        match (policy, recorded) {
            (DigestReflectionPolicy::Never, _) => Ok(None),
            (DigestReflectionPolicy::IfNotPresent, Some(d)) => Ok(Some(d.clone())),
            _ => self.manifest_digest(image, tag).map(Some),
        }
    }
}

/// Build the scan result from the full tag list.
fn scan_result(
    image: &ImageRef,
    all: Vec<String>,
    exclusions: &impl TagExclusion,
    now: SystemTime,
) -> ScanResult {
    let before = all.len();
    let tags: Vec<String> = all
        .into_iter()
        .filter(|t| !exclusions.is_excluded(t))
        .collect();
    let mut latest: Vec<&String> = tags.iter().collect();
    latest.sort_unstable_by(|a, b| b.cmp(a));
    latest.truncate(10);
    ScanResult {
        canonical_image_name: image.normalized_name(),
        tag_count: tags.len(),
        scan_time: now,
        latest_tags: latest.into_iter().cloned().collect(),
        excluded: before - tags.len(),
        tags,
    }
}

impl TagLister for Client {
    type Error = Error;

    fn list_tags(&self, image: &ImageRef) -> Result<Vec<String>, Error> {
        Client::list_tags(self, image)
    }

    fn tag_info(&self, image: &ImageRef, tag: &str) -> Result<TagInfo, Error> {
        self.run(self.inner.tag_info(image, tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct SigTags;
    impl TagExclusion for SigTags {
        fn is_excluded(&self, tag: &str) -> bool {
            tag.ends_with(".sig")
        }
    }

    #[test]
    fn scan_shape() {
        let image = ImageRef::parse("nginx").unwrap();
        let tags: Vec<String> = (0..15)
            .map(|i| format!("1.{i}.0"))
            .chain(["sha256-x.sig".to_owned()])
            .collect();
        let r = scan_result(&image, tags, &SigTags, SystemTime::UNIX_EPOCH);
        assert_eq!(r.canonical_image_name, "docker.io/library/nginx");
        assert_eq!(r.tag_count, 15);
        assert_eq!(r.excluded, 1);
        assert_eq!(r.latest_tags.len(), 10);
        assert_eq!(r.latest_tags[0], "1.9.0");
    }

    #[test]
    fn reflection_policy() {
        assert_eq!(
            DigestReflectionPolicy::parse("").unwrap(),
            DigestReflectionPolicy::Never
        );
        assert_eq!(
            DigestReflectionPolicy::parse("Always").unwrap(),
            DigestReflectionPolicy::Always
        );
        assert_eq!(
            DigestReflectionPolicy::parse("always")
                .unwrap_err()
                .to_string(),
            "invalid digestReflectionPolicy \"always\", must be one of: Never, IfNotPresent, Always"
        );
    }
}
