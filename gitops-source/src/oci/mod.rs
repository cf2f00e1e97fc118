//! Flux OCI artifacts: push a directory, pull by tag, SemVer range or digest.
//!
//! An artifact is an OCI image manifest with one layer of media type
//! [`FLUX_CONTENT_MEDIA_TYPE`] (the directory as a deterministic tar.gz from
//! [`crate::archive`]), a config of media type [`FLUX_CONFIG_MEDIA_TYPE`]
//! (`{}`), and the annotations `org.opencontainers.image.source`,
//! `.revision` and `.created` — what `flux push artifact` writes.
//!
//! Pulling follows source-controller's `OCIRepository`: the reference
//! precedence is digest > semver > tag (default `latest`); the
//! `layerSelector` picks the first layer with the given media type (the first
//! layer when unset) and either extracts it (`extract`, the default: the
//! layer must be a tar.gz) or keeps it as is (`copy`). The revision is
//! `<tag>@sha256:<manifest digest>` (`sha256:<digest>` for digest
//! references). Every manifest and blob is checked against its digest.
//!
//! ```no_run
//! use std::path::Path;
//! use std::time::SystemTime;
//! use gitops_source::oci::{self, Metadata, OciRef, PullSpec};
//! use gitops_source::registry::{Client, Keychain, Options};
//!
//! let client = Client::new(Keychain::anonymous(), Options::default())?;
//! let target = OciRef::parse("oci://localhost:5000/manifests/app:v1.0.0")?;
//! let meta = Metadata::new("https://github.com/org/repo", "main@sha1:0123456789abcdef0123456789abcdef01234567", SystemTime::now());
//! let pushed = oci::push(&client, Path::new("./deploy"), &target, &meta)?;
//! println!("pushed {}", pushed.revision);
//!
//! let spec = PullSpec::tag("oci://localhost:5000/manifests/app", "v1.0.0")?;
//! let pulled = oci::pull(&client, &spec, Path::new("/tmp/app"))?;
//! assert_eq!(pulled.revision.to_string(), pushed.revision.to_string());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Async and blocking
//! Each function has an async form for code on a tokio runtime, taking a
//! [`AsyncClient`]: [`push_async`], [`pull_async`],
//! [`pull_with_limits_async`], [`resolve_semver_async`]; their futures are
//! `Send`, and packing/unpacking runs on tokio's blocking pool. The
//! blocking forms take a [`Client`] and refuse on a thread inside a tokio
//! runtime's context with [`Error::InsideAsyncRuntime`] (see
//! [`crate::registry`]).
//!
//! ```no_run
//! use std::path::Path;
//! use gitops_source::oci::{self, PullSpec};
//! use gitops_source::registry::{AsyncClient, Keychain, Options};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = AsyncClient::new(Keychain::anonymous(), Options::default())?;
//!     let spec = PullSpec::tag("oci://localhost:5000/manifests/app", "v1.0.0")?;
//!     let pulled = oci::pull_async(&client, &spec, Path::new("/tmp/app")).await?;
//!     println!("pulled {}", pulled.revision);
//!     Ok(())
//! }
//! ```
//!
//! # Deviation
//! - Layer tarballs come from [`crate::archive`]; their bytes (and digests)
//!   differ from Flux's Go-written ones, but are reproducible.
//! - Cosign/notation verification (`spec.verify`) is not implemented.
//! - Multi-arch image indexes are refused for pulling: Flux artifacts are
//!   single manifests.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::SystemTime;

use gitops_core::artifact::Content;
use gitops_core::flux::OCIRepositorySpec;
use gitops_core::revision::Algorithm;
use gitops_core::semver::{Range, VersionRef};
use gitops_core::{Artifact, Digest, ImageRef, Revision};
use oci_client::manifest::{OciDescriptor, OciImageManifest};

use crate::archive;
use crate::registry::{self, AsyncClient, Client, Endpoint};

/// Media type of the layer holding a Flux artifact's tarball.
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// Media type of a Flux artifact's config.
pub const FLUX_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
/// OCI image manifest media type.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Annotation: where the content came from.
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
/// Annotation: the source revision.
pub const ANNOTATION_REVISION: &str = "org.opencontainers.image.revision";
/// Annotation: creation time (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// Largest layer pulled (1 GiB).
pub const MAX_LAYER_SIZE: u64 = 1 << 30;

/// Errors of OCI artifact operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not `oci://host/repository[:tag]`.
    #[error("invalid OCI URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Registry access failed.
    #[error("registry access failed for {image}")]
    Registry {
        /// The image.
        image: String,
        /// The cause.
        #[source]
        source: registry::Error,
    },
    /// Packing or unpacking the layer failed.
    #[error("artifact {image}")]
    Archive {
        /// The image.
        image: String,
        /// The cause.
        #[source]
        source: archive::Error,
    },
    /// The manifest is not an OCI/Docker image manifest.
    #[error("{image}: unsupported manifest: {reason}")]
    Manifest {
        /// The image.
        image: String,
        /// What is wrong.
        reason: String,
    },
    /// No layer matches the layer selector.
    #[error("{image}: no layer with media type {media_type:?} (layers: {available})")]
    NoLayer {
        /// The image.
        image: String,
        /// The media type asked for.
        media_type: String,
        /// The media types present.
        available: String,
    },
    /// The SemVer range does not parse.
    #[error("invalid semver range {range:?}")]
    Range {
        /// The range.
        range: String,
        /// The cause.
        #[source]
        source: gitops_core::semver::range::Error,
    },
    /// The `semverFilter` pattern is not a Go regular expression.
    #[error("invalid semverFilter pattern {pattern:?}")]
    SemverFilter {
        /// The pattern.
        pattern: String,
        /// The cause.
        #[source]
        source: regex::Error,
    },
    /// No tag satisfies the SemVer range.
    #[error("{image}: no tag matches semver range {range:?}")]
    NoMatchingTag {
        /// The image.
        image: String,
        /// The range.
        range: String,
        /// Why.
        #[source]
        source: NoCandidate,
    },
    /// `layerSelector.operation` is not `extract` or `copy`.
    #[error("invalid layer operation {0:?}, must be one of: extract, copy")]
    Operation(String),
    /// The digest reference is malformed.
    #[error("invalid digest {0:?}")]
    Digest(String),
    /// The spec asks for something this crate does not do (named).
    #[error("OCIRepository {0} is not supported")]
    Unsupported(&'static str),
    /// A blocking function was called on a thread inside a tokio runtime
    /// (an async task or `spawn_blocking`), where it would block the
    /// runtime or panic; nothing was done. Use the async form named.
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

/// An `oci://host/repository[:tag]` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    image: ImageRef,
}

impl OciRef {
    /// Parse `oci://host/repository[:tag][@digest]`.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] without the `oci://` scheme or with a bad name.
    pub fn parse(url: &str) -> Result<OciRef, Error> {
        let bad = |reason: String| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| bad("expected the oci:// scheme".to_owned()))?;
        let image = ImageRef::parse(rest.trim_end_matches('/')).map_err(|e| bad(e.to_string()))?;
        if image.registry().is_none() {
            return Err(bad("expected oci://<host>/<repository>".to_owned()));
        }
        Ok(OciRef { image })
    }

    /// The image reference (registry, repository, optional tag/digest).
    pub fn image(&self) -> &ImageRef {
        &self.image
    }

    /// The URL without tag and digest.
    pub fn url(&self) -> String {
        format!("oci://{}", self.image.name())
    }
}

/// Metadata annotations of a pushed artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `org.opencontainers.image.source`.
    pub source: String,
    /// `org.opencontainers.image.revision`.
    pub revision: String,
    /// `org.opencontainers.image.created`.
    pub created: SystemTime,
    /// Extra manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Extra ignore patterns for packing (gitignore syntax).
    pub ignore: Option<String>,
}

impl Metadata {
    /// Source URL, source revision and creation time.
    pub fn new(source: &str, revision: &str, created: SystemTime) -> Metadata {
        Metadata {
            source: source.to_owned(),
            revision: revision.to_owned(),
            created,
            annotations: BTreeMap::new(),
            ignore: None,
        }
    }
}

/// What [`push`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `<tag>@sha256:<manifest digest>`.
    pub revision: Revision,
    /// The manifest digest.
    pub digest: Digest,
    /// The layer digest (of the tarball).
    pub layer_digest: Digest,
    /// The layer size.
    pub layer_size: u64,
}

fn registry_err(image: &ImageRef) -> impl FnOnce(registry::Error) -> Error + '_ {
    move |source| Error::Registry {
        image: image.name().to_owned(),
        source,
    }
}

fn secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Pack `dir` and push it to `target` (which must carry a tag).
///
/// # Errors
/// [`Error::InvalidUrl`] without a tag; packing and registry errors;
/// [`Error::InsideAsyncRuntime`] inside a tokio runtime (use [`push_async`]).
pub fn push(
    client: &Client,
    dir: &Path,
    target: &OciRef,
    meta: &Metadata,
) -> Result<Pushed, Error> {
    run(client, "oci::push", "oci::push_async", |c| {
        push_async(c, dir, target, meta)
    })
}

/// [`push`] for async code: pack `dir` (on tokio's blocking pool) and push
/// it to `target` (which must carry a tag) with an [`AsyncClient`].
///
/// # Errors
/// [`Error::InvalidUrl`] without a tag; packing and registry errors.
pub async fn push_async(
    client: &AsyncClient,
    dir: &Path,
    target: &OciRef,
    meta: &Metadata,
) -> Result<Pushed, Error> {
    let image = target.image();
    let tag = image.tag().ok_or_else(|| Error::InvalidUrl {
        url: format!("oci://{image}"),
        reason: "a tag is required to push".to_owned(),
    })?;
    let opts = archive::Options {
        ignore: meta.ignore.clone(),
        ..archive::Options::default()
    };
    let packed = {
        let dir = dir.to_path_buf();
        crate::blocking::off_runtime(move || {
            let mut layer = Vec::new();
            archive::write(&dir, &opts, &mut layer).map(|summary| (layer, summary))
        })
        .await
    };
    let (layer, summary) = packed.map_err(|source| Error::Archive {
        image: image.name().to_owned(),
        source,
    })?;
    let config = b"{}".to_vec();
    let mut annotations = meta.annotations.clone();
    annotations.insert(ANNOTATION_SOURCE.to_owned(), meta.source.clone());
    annotations.insert(ANNOTATION_REVISION.to_owned(), meta.revision.clone());
    annotations.insert(
        ANNOTATION_CREATED.to_owned(),
        gitops_core::time::format_rfc3339(secs(meta.created)),
    );
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_owned()),
        config: OciDescriptor {
            media_type: FLUX_CONFIG_MEDIA_TYPE.to_owned(),
            digest: registry::sha256_digest(&config).to_string(),
            size: i64::try_from(config.len()).unwrap_or(i64::MAX),
            urls: None,
            annotations: None,
            artifact_type: None,
        },
        layers: vec![OciDescriptor {
            media_type: FLUX_CONTENT_MEDIA_TYPE.to_owned(),
            digest: summary.digest.to_string(),
            size: i64::try_from(summary.size).unwrap_or(i64::MAX),
            urls: None,
            annotations: None,
            artifact_type: None,
        }],
        subject: None,
        artifact_type: None,
        annotations: Some(annotations),
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| Error::Manifest {
        image: image.name().to_owned(),
        reason: format!("cannot serialise: {e}"),
    })?;
    let ep = Endpoint::of(image);
    let t = client.transport();
    let digest = async {
        t.push_blob(&ep, &layer).await?;
        t.push_blob(&ep, &config).await?;
        t.push_manifest(&ep, tag.as_str(), OCI_MANIFEST_MEDIA_TYPE, &bytes)
            .await
    }
    .await
    .map_err(registry_err(image))?;
    Ok(Pushed {
        revision: revision(Some(tag.as_str()), &digest),
        digest,
        layer_digest: summary.digest,
        layer_size: summary.size,
    })
}

/// Run a blocking operation's async form on `client`'s private runtime, or
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

fn revision(tag: Option<&str>, digest: &Digest) -> Revision {
    // A validated sha256 digest always makes a valid revision.
    Revision::new(tag, Algorithm::Sha256, digest.hex())
        .expect("a validated sha256 digest is a valid revision")
}

/// Which artifact version to pull (precedence digest > semver > tag).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// The highest tag in a Masterminds SemVer range, among the tags the
    /// optional regex `filter` keeps.
    Semver {
        /// The range.
        range: String,
        /// `semverFilter`.
        filter: Option<String>,
    },
    /// A manifest digest.
    Digest(Digest),
}

/// What to do with the selected layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Operation {
    /// Unpack the tar.gz layer into the destination (the default).
    #[default]
    Extract,
    /// Keep the layer bytes as they are.
    Copy,
}

/// Which layer to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerSelector {
    /// The layer media type; `None` selects the first layer.
    pub media_type: Option<String>,
    /// Extract or copy.
    pub operation: Operation,
}

/// What to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSpec {
    /// `oci://host/repository`.
    pub url: OciRef,
    /// The version.
    pub reference: Reference,
    /// The layer.
    pub layer_selector: LayerSelector,
    /// Extra ignore patterns when re-packing an extracted layer.
    pub ignore: Option<String>,
}

impl PullSpec {
    /// Pull `url` at `tag`.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`].
    pub fn tag(url: &str, tag: &str) -> Result<PullSpec, Error> {
        Ok(PullSpec {
            url: OciRef::parse(url)?,
            reference: Reference::Tag(tag.to_owned()),
            layer_selector: LayerSelector::default(),
            ignore: None,
        })
    }

    /// From an `OCIRepository.spec`, like source-controller.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Digest`], [`Error::Operation`];
    /// [`Error::Unsupported`] for `spec.verify`.
    pub fn from_spec(spec: &OCIRepositorySpec) -> Result<PullSpec, Error> {
        // Pulling without the verification the spec asks for would be silently
        // weaker than Flux; refuse instead.
        if spec.verify.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(Error::Unsupported(
                "spec.verify (cosign/notation signature verification)",
            ));
        }
        let url = OciRef::parse(&spec.url)?;
        let r = spec.r#ref.clone().unwrap_or_default();
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let reference = if let Some(d) = nonempty(&r.digest) {
            Reference::Digest(Digest::parse(&d).map_err(|_| Error::Digest(d.clone()))?)
        } else if let Some(range) = nonempty(&r.semver) {
            Reference::Semver {
                range,
                filter: nonempty(&r.semver_filter),
            }
        } else {
            Reference::Tag(nonempty(&r.tag).unwrap_or_else(|| "latest".to_owned()))
        };
        let sel = spec.layer_selector.clone().unwrap_or_default();
        let operation = match sel.operation.as_deref().unwrap_or("") {
            "" | "extract" => Operation::Extract,
            "copy" => Operation::Copy,
            other => return Err(Error::Operation(other.to_owned())),
        };
        Ok(PullSpec {
            url,
            reference,
            layer_selector: LayerSelector {
                media_type: nonempty(&sel.media_type),
                operation,
            },
            ignore: nonempty(&spec.ignore),
        })
    }
}

/// What [`pull`] fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// `<tag>@sha256:<manifest digest>`, or `sha256:<digest>` for digest refs.
    pub revision: Revision,
    /// The tag pulled, if any.
    pub tag: Option<String>,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// The selected layer's media type.
    pub layer_media_type: String,
    /// The selected layer's digest (verified).
    pub layer_digest: Digest,
    /// The artifact: for `extract`, the destination re-packed with
    /// [`crate::archive`]; for `copy`, the layer bytes.
    pub artifact: Artifact,
}

/// Resolve the tag a SemVer range selects from the repository's tags.
///
/// # Errors
/// [`Error::Range`], [`Error::NoMatchingTag`], registry errors;
/// [`Error::InsideAsyncRuntime`] inside a tokio runtime (use
/// [`resolve_semver_async`]).
pub fn resolve_semver(
    client: &Client,
    image: &ImageRef,
    range: &str,
    filter: Option<&str>,
) -> Result<String, Error> {
    run(
        client,
        "oci::resolve_semver",
        "oci::resolve_semver_async",
        |c| resolve_semver_async(c, image, range, filter),
    )
}

/// [`resolve_semver`] for async code.
///
/// # Errors
/// [`Error::Range`], [`Error::NoMatchingTag`], registry errors.
pub async fn resolve_semver_async(
    client: &AsyncClient,
    image: &ImageRef,
    range: &str,
    filter: Option<&str>,
) -> Result<String, Error> {
    let parsed = Range::parse(range).map_err(|source| Error::Range {
        range: range.to_owned(),
        source,
    })?;
    let filter = filter
        .map(|pattern| {
            gitops_core::goregex::compile(pattern)
                .map(|re| (pattern, re))
                .map_err(|source| Error::SemverFilter {
                    pattern: pattern.to_owned(),
                    source,
                })
        })
        .transpose()?;
    let tags = client.list_tags(image).await.map_err(registry_err(image))?;
    highest_in_range(&tags, &parsed, filter.as_ref().map(|(p, re)| (*p, re)))
        .map(str::to_owned)
        .map_err(|source| Error::NoMatchingTag {
            image: image.name().to_owned(),
            range: range.to_owned(),
            source,
        })
}

/// Why no tag was selected for a SemVer reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoCandidate {
    /// The repository has no tags.
    #[error("the tag list is empty")]
    EmptyList,
    /// No tag matches the `semverFilter` pattern.
    #[error("none of the {count} tags matches the filterTags pattern {pattern:?}")]
    NoFilterMatch {
        /// The pattern.
        pattern: String,
        /// How many tags were tried.
        count: usize,
    },
    /// No candidate is a version inside the range.
    #[error("none of the {count} candidate tags is a version in range {range:?}")]
    NoVersionInRange {
        /// The range, in canonical form.
        range: String,
        /// How many candidates there were.
        count: usize,
    },
}

/// source-controller's `OCIRepository` SemVer rule: keep the tags the
/// filter matches, read each with Flux's tag parser (at least two dots),
/// and take the greatest version inside the range; the first seen of equal
/// versions wins.
fn highest_in_range<'t>(
    tags: &'t [String],
    range: &Range,
    filter: Option<(&str, &regex::Regex)>,
) -> Result<&'t str, NoCandidate> {
    if tags.is_empty() {
        return Err(NoCandidate::EmptyList);
    }
    let mut candidates = 0;
    let mut best: Option<VersionRef<'t>> = None;
    for tag in tags {
        if filter.is_some_and(|(_, f)| !f.is_match(tag)) {
            continue;
        }
        candidates += 1;
        let Some(v) = VersionRef::try_parse_tag(tag) else {
            continue;
        };
        if range.matches(v) && best.is_none_or(|b| v > b) {
            best = Some(v);
        }
    }
    match (best, filter) {
        (Some(v), _) => Ok(v.original()),
        (None, Some((pattern, _))) if candidates == 0 => Err(NoCandidate::NoFilterMatch {
            pattern: pattern.to_owned(),
            count: tags.len(),
        }),
        (None, _) => Err(NoCandidate::NoVersionInRange {
            range: range.to_string(),
            count: candidates,
        }),
    }
}

/// Pull an artifact; with [`Operation::Extract`] the layer is unpacked into
/// `dest` (a new or empty directory) within [`archive::Limits::default`].
///
/// The layer is unpacked and re-packed in a staging directory beside `dest`
/// that is renamed to `dest` only when both succeed: a failed pull leaves
/// `dest` as it was (missing, or empty).
///
/// # Errors
/// Registry errors (auth, not found, digest mismatch), [`Error::NoLayer`],
/// [`Error::Manifest`], archive errors; [`Error::InsideAsyncRuntime`]
/// inside a tokio runtime (use [`pull_async`]).
pub fn pull(client: &Client, spec: &PullSpec, dest: &Path) -> Result<Pulled, Error> {
    pull_with_limits(client, spec, dest, &archive::Limits::default())
}

/// [`pull`] for async code, with an [`AsyncClient`]; unpacking and
/// re-packing run on tokio's blocking pool. When the future is dropped
/// while they run, they still finish (and `dest` appears).
///
/// # Errors
/// As [`pull`], without [`Error::InsideAsyncRuntime`].
pub async fn pull_async(
    client: &AsyncClient,
    spec: &PullSpec,
    dest: &Path,
) -> Result<Pulled, Error> {
    pull_with_limits_async(client, spec, dest, &archive::Limits::default()).await
}

/// [`pull`] with explicit bounds on the extracted layer (total size, file
/// size, entries).
///
/// # Errors
/// As [`pull`]; [`archive::Error::TooLarge`], [`archive::Error::FileTooLarge`]
/// or [`archive::Error::TooManyEntries`] (in [`Error::Archive`]) beyond
/// `limits`.
pub fn pull_with_limits(
    client: &Client,
    spec: &PullSpec,
    dest: &Path,
    limits: &archive::Limits,
) -> Result<Pulled, Error> {
    run(client, "oci::pull", "oci::pull_async", |c| {
        pull_with_limits_async(c, spec, dest, limits)
    })
}

/// [`pull_with_limits`] for async code.
///
/// # Errors
/// As [`pull_with_limits`], without [`Error::InsideAsyncRuntime`].
pub async fn pull_with_limits_async(
    client: &AsyncClient,
    spec: &PullSpec,
    dest: &Path,
    limits: &archive::Limits,
) -> Result<Pulled, Error> {
    let image = spec.url.image().clone().without_tag_and_digest();
    let (tag, reference) = match &spec.reference {
        Reference::Digest(d) => (None, d.to_string()),
        Reference::Tag(t) => (Some(t.clone()), t.clone()),
        Reference::Semver { range, filter } => {
            let t = resolve_semver_async(client, &image, range, filter.as_deref()).await?;
            (Some(t.clone()), t)
        }
    };
    let layer = fetch_layer(
        client,
        &image,
        &reference,
        spec.layer_selector.media_type.as_deref(),
    )
    .await?;
    let revision = revision(tag.as_deref(), &layer.manifest_digest);
    let arch_err = |source| Error::Archive {
        image: image.name().to_owned(),
        source,
    };
    let artifact = match spec.layer_selector.operation {
        Operation::Copy => Artifact::new(
            revision.clone(),
            layer.digest.clone(),
            Content::Bytes(layer.bytes),
        ),
        Operation::Extract => {
            let staging = archive::Staging::new(dest).map_err(arch_err)?;
            let opts = archive::Options {
                ignore: spec.ignore.clone(),
                ..archive::Options::default()
            };
            let limits = *limits;
            let bytes = layer.bytes;
            let rev = revision.clone();
            crate::blocking::off_runtime(move || {
                archive::extract_into(&bytes[..], staging.path(), &limits)?;
                let artifact = archive::artifact(staging.path(), &opts, rev)?;
                staging.commit()?;
                Ok(artifact)
            })
            .await
            .map_err(arch_err)?
        }
    };
    Ok(Pulled {
        revision,
        tag,
        digest: layer.manifest_digest,
        annotations: layer.annotations,
        layer_media_type: layer.media_type,
        layer_digest: layer.digest,
        artifact,
    })
}

/// A layer as pulled.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub manifest_digest: Digest,
    pub annotations: BTreeMap<String, String>,
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Vec<u8>,
}

/// Fetch the manifest at `reference` and its first layer of `media_type`
/// (the first layer when `None`); both digests are verified.
pub(crate) async fn fetch_layer(
    client: &AsyncClient,
    image: &ImageRef,
    reference: &str,
    media_type: Option<&str>,
) -> Result<Layer, Error> {
    let ep = Endpoint::of(image);
    let t = client.transport();
    let raw = t
        .get_manifest(&ep, reference)
        .await
        .map_err(registry_err(image))?;
    let manifest_err = |reason: String| Error::Manifest {
        image: format!("{}@{}", image.name(), raw.digest),
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(&raw.bytes)
        .map_err(|e| manifest_err(format!("invalid JSON: {e}")))?;
    if value.get("manifests").is_some() {
        return Err(manifest_err(format!(
            "{reference} is an image index ({}), not an artifact manifest",
            raw.media_type
        )));
    }
    let manifest: OciImageManifest =
        serde_json::from_value(value).map_err(|e| manifest_err(format!("{e}")))?;
    let layer = match media_type {
        Some(mt) => manifest.layers.iter().find(|l| l.media_type == mt),
        None => manifest.layers.first(),
    }
    .ok_or_else(|| Error::NoLayer {
        image: image.name().to_owned(),
        media_type: media_type.unwrap_or("<any>").to_owned(),
        available: manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let digest = Digest::parse(&layer.digest)
        .map_err(|_| manifest_err(format!("layer digest {:?} is not sha256", layer.digest)))?;
    let size = u64::try_from(layer.size).unwrap_or(0);
    if size > MAX_LAYER_SIZE {
        return Err(manifest_err(format!(
            "layer is {size} bytes, above the limit of {MAX_LAYER_SIZE}"
        )));
    }
    let bytes = t
        .get_blob(&ep, digest.as_str(), MAX_LAYER_SIZE)
        .await
        .map_err(registry_err(image))?;
    Ok(Layer {
        manifest_digest: raw.digest,
        annotations: manifest.annotations.unwrap_or_default(),
        media_type: layer.media_type.clone(),
        digest,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = OciRef::parse("oci://localhost:5000/a/b:v1").unwrap();
        assert_eq!(r.image().tag().unwrap().as_str(), "v1");
        assert_eq!(r.url(), "oci://localhost:5000/a/b");
        assert_eq!(
            OciRef::parse("https://x/y").unwrap_err().to_string(),
            "invalid OCI URL \"https://x/y\": expected the oci:// scheme"
        );
        assert!(OciRef::parse("oci://app").is_err());
    }

    #[test]
    fn verification_is_refused_not_skipped() {
        let spec: OCIRepositorySpec = serde_json::from_value(serde_json::json!({
            "url": "oci://ghcr.io/org/app", "interval": "1m",
            "verify": {"provider": "cosign"}
        }))
        .unwrap();
        assert_eq!(
            PullSpec::from_spec(&spec).unwrap_err().to_string(),
            "OCIRepository spec.verify (cosign/notation signature verification) is not supported"
        );
    }

    #[test]
    fn spec_precedence() {
        let spec: OCIRepositorySpec = serde_json::from_value(serde_json::json!({
            "url": "oci://ghcr.io/org/app", "interval": "1m",
            "ref": {"tag": "v1", "semver": ">=1.0.0", "semverFilter": ".*-rc.*"},
            "layerSelector": {"mediaType": "application/x", "operation": "copy"}
        }))
        .unwrap();
        let p = PullSpec::from_spec(&spec).unwrap();
        assert_eq!(
            p.reference,
            Reference::Semver {
                range: ">=1.0.0".into(),
                filter: Some(".*-rc.*".into())
            }
        );
        assert_eq!(p.layer_selector.operation, Operation::Copy);
        let spec: OCIRepositorySpec = serde_json::from_value(serde_json::json!({
            "url": "oci://ghcr.io/org/app", "interval": "1m",
            "layerSelector": {"operation": "unpack"}
        }))
        .unwrap();
        assert_eq!(
            PullSpec::from_spec(&spec).unwrap_err().to_string(),
            "invalid layer operation \"unpack\", must be one of: extract, copy"
        );
        let spec: OCIRepositorySpec = serde_json::from_value(serde_json::json!({
            "url": "oci://ghcr.io/org/app", "interval": "1m"
        }))
        .unwrap();
        assert_eq!(
            PullSpec::from_spec(&spec).unwrap().reference,
            Reference::Tag("latest".into())
        );
    }
}
