//! S3-compatible buckets (Flux `Bucket`, provider `generic`/`aws`), through
//! the `object_store` crate.
//!
//! Like source-controller: the root `.sourceignore` object is read first and,
//! with `spec.ignore`, decides which keys are skipped; every other object
//! under `spec.prefix` is downloaded to the destination at its key path;
//! the revision is `sha256:` of the sorted `"<key> <etag>\n"` index; the
//! artifact is the destination packed with [`crate::archive`].
//!
//! ```no_run
//! use std::path::Path;
//! use gitops_core::flux::BucketSpec;
//! use gitops_source::bucket::{self, BucketCredentials};
//! use gitops_source::registry::Options;
//!
//! let spec: BucketSpec = serde_json::from_str(
//!     r#"{"bucketName": "manifests", "endpoint": "127.0.0.1:9000", "interval": "1m", "prefix": "prod/"}"#,
//! )?;
//! let creds = BucketCredentials::new("access-key", "secret-key");
//! let fetched = bucket::fetch(&spec, Some(&creds), &Options::default(), Path::new("/tmp/bucket"))?;
//! println!("{} objects at {}", fetched.objects, fetched.revision);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Async and blocking
//! [`fetch`] is blocking: it runs [`fetch_async`] on a tokio runtime made
//! for the call, and on a thread inside a tokio runtime's context it
//! refuses with [`Error::InsideAsyncRuntime`] (see [`crate::registry`]).
//! In async code, `.await` [`fetch_async`] (its future is `Send`):
//!
//! ```no_run
//! # use std::path::Path;
//! # use gitops_core::flux::BucketSpec;
//! # use gitops_source::bucket::{self, BucketCredentials};
//! # use gitops_source::registry::Options;
//! # async fn reconcile(spec: BucketSpec, creds: BucketCredentials) -> Result<(), bucket::Error> {
//! let fetched = bucket::fetch_async(&spec, Some(&creds), &Options::default(), Path::new("/tmp/bucket")).await?;
//! println!("{} objects at {}", fetched.objects, fetched.revision);
//! # Ok(())
//! # }
//! ```
//!
//! # Deviation
//! - Plain HTTP is used for loopback endpoints even without `spec.insecure`.
//! - Only S3-compatible providers (`generic`, `aws` with static keys) are
//!   supported; `gcp`/`azure` and STS are an error.
//! - Keys with empty, `.` or `..` path segments are refused rather than
//!   written.

use std::fmt;
use std::path::Path;

use futures_util::StreamExt as _;
use gitops_core::flux::BucketSpec;
use gitops_core::revision::Algorithm;
use gitops_core::{Artifact, Revision};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore as _, ObjectStoreExt as _, RetryConfig};
use sha2::Digest as _;

use crate::archive;
use crate::registry::{Options, is_loopback, transport::install_crypto_provider};
use crate::sourceignore::{self, Filter};

/// Errors of bucket access.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider is not S3-compatible.
    #[error("bucket provider {0:?} is not supported (only generic and aws)")]
    Provider(String),
    /// The client could not be configured.
    #[error("bucket {bucket} at {endpoint}: invalid configuration")]
    Config {
        /// Bucket name.
        bucket: String,
        /// Endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// Listing or downloading failed (missing bucket, auth, network).
    #[error("bucket {bucket}: cannot {action}")]
    Store {
        /// Bucket name.
        bucket: String,
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An object key cannot be a relative path.
    #[error("bucket {bucket}: unsafe object key {key:?}")]
    UnsafeKey {
        /// Bucket name.
        bucket: String,
        /// The key.
        key: String,
    },
    /// An object is above the size limit.
    #[error("bucket {bucket}: object {key:?} is {size} bytes, above the limit of {limit}")]
    TooLarge {
        /// Bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The ignore rules do not parse.
    #[error("bucket {bucket}: invalid ignore rules")]
    Ignore {
        /// Bucket name.
        bucket: String,
        /// The cause.
        #[source]
        source: sourceignore::Error,
    },
    /// Writing the objects or packing the artifact failed.
    #[error("bucket {bucket}: cannot write the artifact")]
    Archive {
        /// Bucket name.
        bucket: String,
        /// The cause.
        #[source]
        source: archive::Error,
    },
    /// Writing a downloaded object failed.
    #[error("bucket {bucket}: cannot write {path}")]
    Io {
        /// Bucket name.
        bucket: String,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The destination is not a new or empty directory.
    #[error("{0}: destination must be a new or empty directory")]
    Destination(String),
    /// The tokio runtime could not be started.
    #[error("cannot start the I/O runtime")]
    Runtime(#[source] std::io::Error),
    /// The blocking [`fetch`] was called on a thread inside a tokio runtime
    /// (an async task or `spawn_blocking`), where it would block the
    /// runtime or panic; nothing was fetched. Use [`fetch_async`].
    #[error(
        "the blocking bucket::fetch was called inside an async runtime; use bucket::fetch_async \
         and .await it there (or call the blocking form from a thread outside the runtime)"
    )]
    InsideAsyncRuntime,
}

/// Static S3 credentials (the `accesskey`/`secretkey` of a Flux secret).
#[derive(Clone, PartialEq, Eq)]
pub struct BucketCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl BucketCredentials {
    /// Access key and secret.
    pub fn new(access_key_id: &str, secret_access_key: &str) -> BucketCredentials {
        BucketCredentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
        }
    }
}

impl fmt::Debug for BucketCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// What [`fetch`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// `sha256:` of the `"<key> <etag>\n"` index of the downloaded objects.
    pub revision: Revision,
    /// The packed destination.
    pub artifact: Artifact,
    /// Objects downloaded.
    pub objects: usize,
    /// Objects skipped by the ignore rules.
    pub ignored: usize,
}

/// Largest object downloaded.
pub const MAX_OBJECT_SIZE: u64 = archive::DEFAULT_MAX_FILE_SIZE;

/// Build the S3 client of a `Bucket.spec`.
///
/// # Errors
/// [`Error::Provider`], [`Error::Config`].
pub fn store(
    spec: &BucketSpec,
    creds: Option<&BucketCredentials>,
    options: &Options,
) -> Result<object_store::aws::AmazonS3, Error> {
    install_crypto_provider();
    match spec.provider.as_deref().unwrap_or("generic") {
        "" | "generic" | "aws" => {}
        other => return Err(Error::Provider(other.to_owned())),
    }
    let endpoint = spec.endpoint.trim_end_matches('/');
    let host = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let plain = spec.insecure.unwrap_or(false) || options.insecure || is_loopback(host);
    let url = if endpoint.contains("://") {
        endpoint.to_owned()
    } else if plain {
        format!("http://{host}")
    } else {
        format!("https://{host}")
    };
    let mut b = AmazonS3Builder::new()
        .with_endpoint(url)
        .with_bucket_name(&spec.bucket_name)
        .with_region(
            spec.region
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "us-east-1".to_owned()),
        )
        .with_virtual_hosted_style_request(false)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(plain)
                .with_timeout(options.timeout)
                .with_connect_timeout(options.connect_timeout),
        )
        .with_retry(RetryConfig {
            max_retries: usize::try_from(options.max_retries).unwrap_or(usize::MAX),
            retry_timeout: options.timeout,
            ..RetryConfig::default()
        });
    match creds {
        Some(c) => {
            b = b
                .with_access_key_id(&c.access_key_id)
                .with_secret_access_key(&c.secret_access_key);
        }
        None => b = b.with_skip_signature(true),
    }
    b.build().map_err(|source| Error::Config {
        bucket: spec.bucket_name.clone(),
        endpoint: spec.endpoint.clone(),
        source,
    })
}

/// True when `key` is a safe relative path.
fn safe_key(key: &str) -> bool {
    !key.is_empty()
        && !key.contains('\\')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Download the bucket into `dest` (new or empty) and pack it. The objects
/// go into a staging directory beside `dest`, renamed to `dest` only on
/// success: a failed fetch leaves `dest` as it was.
///
/// Blocking: runs [`fetch_async`] on a tokio runtime made for the call.
///
/// # Errors
/// See [`Error`]: missing bucket, refused credentials, unsafe keys,
/// oversized objects, write failures; [`Error::InsideAsyncRuntime`] inside
/// a tokio runtime (use [`fetch_async`]).
pub fn fetch(
    spec: &BucketSpec,
    creds: Option<&BucketCredentials>,
    options: &Options,
    dest: &Path,
) -> Result<Fetched, Error> {
    match crate::blocking::run_once(fetch_async(spec, creds, options, dest)) {
        Ok(Ok(fetched)) => fetched,
        Ok(Err(e)) => Err(Error::Runtime(e)),
        Err(crate::blocking::InsideRuntime) => Err(Error::InsideAsyncRuntime),
    }
}

/// [`fetch`] for async code (any tokio runtime); the future is `Send`.
/// Objects are written as they arrive; the final packing runs on tokio's
/// blocking pool.
///
/// # Errors
/// As [`fetch`], without [`Error::InsideAsyncRuntime`].
pub async fn fetch_async(
    spec: &BucketSpec,
    creds: Option<&BucketCredentials>,
    options: &Options,
    dest: &Path,
) -> Result<Fetched, Error> {
    let bucket = spec.bucket_name.clone();
    // Objects are downloaded beside `dest` and moved into place only when
    // all of them are there and packed: a refused key, an oversized object
    // or a failed download leaves `dest` as it was.
    let staging_err = |e: archive::Error| match e {
        archive::Error::Destination { path } => Error::Destination(path.display().to_string()),
        archive::Error::Io { path, source } => Error::Io {
            bucket: bucket.clone(),
            path: path.display().to_string(),
            source,
        },
        source => Error::Archive {
            bucket: bucket.clone(),
            source,
        },
    };
    let staging = archive::Staging::new(dest).map_err(staging_err)?;
    let (fetched, filter) = download(spec, creds, options, staging.path(), dest).await?;
    let root = staging.path().to_path_buf();
    let packed = crate::blocking::off_runtime(move || {
        let mut bytes = Vec::new();
        let summary = archive::write_filtered(&root, &filter, MAX_OBJECT_SIZE, &mut bytes)?;
        Ok((summary, bytes))
    })
    .await;
    let (summary, bytes) = packed.map_err(|source| Error::Archive {
        bucket: bucket.clone(),
        source,
    })?;
    staging.commit().map_err(staging_err)?;
    Ok(Fetched {
        artifact: Artifact::new(
            fetched.revision.clone(),
            summary.digest,
            gitops_core::artifact::Content::Bytes(bytes),
        ),
        revision: fetched.revision,
        objects: fetched.objects,
        ignored: fetched.ignored,
    })
}

/// What [`download`] wrote (the artifact is packed afterwards).
struct Downloaded {
    revision: Revision,
    objects: usize,
    ignored: usize,
}

/// Download the bucket into the empty directory `root`; `dest` is where
/// `root` goes on success (for messages). Returns the ignore rules too,
/// for packing.
async fn download(
    spec: &BucketSpec,
    creds: Option<&BucketCredentials>,
    options: &Options,
    root: &Path,
    dest: &Path,
) -> Result<(Downloaded, Filter), Error> {
    let bucket = spec.bucket_name.clone();
    let store = store(spec, creds, options)?;
    let store_err = |action: &str| {
        let bucket = bucket.clone();
        let action = action.to_owned();
        move |source| Error::Store {
            bucket,
            action,
            source,
        }
    };
    // The root .sourceignore, when there is one.
    let ignore_text = match store.get(&ObjectPath::from(".sourceignore")).await {
        Ok(r) => Some(
            r.bytes()
                .await
                .map_err(store_err("read .sourceignore"))?
                .to_vec(),
        ),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => return Err(store_err("read .sourceignore")(e)),
    };
    let mut patterns = String::new();
    if let Some(t) = &ignore_text {
        patterns.push_str(&String::from_utf8_lossy(t));
        patterns.push('\n');
    }
    if let Some(extra) = &spec.ignore {
        patterns.push_str(extra);
    }
    let filter = Filter::from_patterns((!patterns.trim().is_empty()).then_some(&*patterns))
        .map_err(|source| Error::Ignore {
            bucket: bucket.clone(),
            source,
        })?;

    let prefix = spec.prefix.clone().unwrap_or_default();
    // object_store lists by whole path segments; S3 prefixes are plain
    // string prefixes, so list the enclosing directory and filter.
    let dir = prefix.rfind('/').map(|i| &prefix[..i]).unwrap_or("");
    let list_prefix = (!dir.is_empty()).then(|| ObjectPath::from(dir));
    let mut listing = store.list(list_prefix.as_ref());
    let mut objects = Vec::new();
    while let Some(item) = listing.next().await {
        let meta = item.map_err(store_err("list objects"))?;
        let key = meta.location.to_string();
        if key.starts_with(&prefix) && !key.ends_with('/') {
            objects.push(meta);
        }
    }
    drop(listing);
    objects.sort_by(|a, b| a.location.cmp(&b.location));

    let mut index = sha2::Sha256::new();
    let mut ignored = 0;
    let mut downloaded = 0;
    for meta in &objects {
        let key = meta.location.to_string();
        if !safe_key(&key) {
            return Err(Error::UnsafeKey {
                bucket: bucket.clone(),
                key,
            });
        }
        if key == ".sourceignore" || filter.is_ignored(&key, false) {
            ignored += 1;
            continue;
        }
        if meta.size > MAX_OBJECT_SIZE {
            return Err(Error::TooLarge {
                bucket: bucket.clone(),
                key,
                size: meta.size,
                limit: MAX_OBJECT_SIZE,
            });
        }
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(store_err(&format!("download {key:?}")))?
            .bytes()
            .await
            .map_err(store_err(&format!("download {key:?}")))?;
        let path = root.join(&key);
        let io_err = |source| Error::Io {
            bucket: bucket.clone(),
            path: dest.join(&key).display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        std::fs::write(&path, &bytes).map_err(io_err)?;
        index.update(format!("{key} {}\n", meta.e_tag.as_deref().unwrap_or("")).as_bytes());
        downloaded += 1;
    }
    let hex = hex::encode(index.finalize());
    let revision = Revision::new(None, Algorithm::Sha256, &hex)
        .expect("a sha256 hex digest is a valid revision");
    Ok((
        Downloaded {
            revision,
            objects: downloaded,
            ignored,
        },
        filter,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(safe_key("a/b.yaml"));
        for bad in ["", "/a", "a//b", "../a", "a/./b", "a\\b"] {
            assert!(!safe_key(bad), "{bad}");
        }
    }

    #[test]
    fn providers() {
        let spec: BucketSpec = serde_json::from_value(serde_json::json!({
            "bucketName": "b", "endpoint": "x", "interval": "1m", "provider": "gcp"
        }))
        .unwrap();
        assert_eq!(
            store(&spec, None, &Options::default())
                .unwrap_err()
                .to_string(),
            "bucket provider \"gcp\" is not supported (only generic and aws)"
        );
    }
}
