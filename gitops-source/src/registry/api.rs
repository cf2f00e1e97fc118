//! Registry HTTP API v2 calls (async), on top of the transport.

use std::collections::HashSet;

use gitops_core::quote::truncated;
use gitops_core::{Digest, ImageRef};
use reqwest::header;
use reqwest::{StatusCode, Url};
use sha2::Digest as _;

use super::origin::{Host, next_page_url, same_host};
use super::transport::{Request, Response, Transport, redact};
use super::{Error, ListingLimit, Options};

/// Media types asked for when reading a manifest.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest read (distribution's own limit is 4 MiB).
pub(crate) const MANIFEST_LIMIT: u64 = 4 << 20;
/// Largest tag page read (the whole listing is bounded by
/// [`Options::max_listing_bytes`] too).
const TAG_PAGE_LIMIT: u64 = 32 << 20;

/// What one tag listing has used of its bounds (pages, tags, bytes; the
/// deadline is kept by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListingBudget {
    max_pages: usize,
    max_tags: usize,
    max_bytes: u64,
    pages: usize,
    tags: usize,
    bytes: u64,
}

impl ListingBudget {
    pub(crate) fn new(opts: &Options) -> ListingBudget {
        ListingBudget {
            max_pages: opts.max_pages,
            max_tags: opts.max_tags,
            max_bytes: opts.max_listing_bytes,
            pages: 0,
            tags: 0,
            bytes: 0,
        }
    }

    /// Account for asking one more page.
    pub(crate) fn ask_page(&mut self) -> Result<(), ListingLimit> {
        if self.pages >= self.max_pages {
            return Err(ListingLimit::Pages(self.max_pages));
        }
        self.pages += 1;
        Ok(())
    }

    /// The most bytes the next page may have.
    pub(crate) fn page_limit(&self) -> u64 {
        TAG_PAGE_LIMIT.min(self.max_bytes.saturating_sub(self.bytes))
    }

    /// Account for a page of `bytes` bytes holding `tags` tags.
    pub(crate) fn add_page(&mut self, bytes: u64, tags: usize) -> Result<(), ListingLimit> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(ListingLimit::Bytes(self.max_bytes));
        }
        self.tags = self.tags.saturating_add(tags);
        if self.tags > self.max_tags {
            return Err(ListingLimit::Tags(self.max_tags));
        }
        Ok(())
    }
}

/// Where an image lives: host to connect to, repository path, and the
/// credential key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `host[:port]` to connect to.
    pub host: String,
    /// Repository path, e.g. `library/nginx`.
    pub repository: String,
    /// The name as written (for errors).
    pub name: String,
}

impl Endpoint {
    pub fn of(image: &ImageRef) -> Endpoint {
        let normalized = image.normalized_name();
        let (host, repo) = normalized
            .split_once('/')
            .map_or(("docker.io", normalized.as_str()), |(h, r)| (h, r));
        let host = if host == "docker.io" {
            "registry-1.docker.io"
        } else {
            host
        };
        Endpoint {
            host: host.to_owned(),
            repository: repo.to_owned(),
            name: image.name().to_owned(),
        }
    }

    /// Key of the keychain entry (Docker Hub is `docker.io`).
    pub fn credential_host(&self) -> &str {
        if self.host == "registry-1.docker.io" {
            "docker.io"
        } else {
            &self.host
        }
    }

    pub fn base(&self, t: &Transport) -> String {
        format!(
            "{}://{}/v2/{}",
            t.scheme_for(&self.host),
            self.host,
            self.repository
        )
    }

    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }

    pub fn push_scope(&self) -> String {
        format!("repository:{}:pull,push", self.repository)
    }
}

/// A manifest as read: its bytes, media type and verified digest.
#[derive(Debug, Clone)]
pub(crate) struct RawManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> Digest {
    let sum: [u8; 32] = sha2::Sha256::digest(bytes).into();
    Digest::from_sha256_bytes(&sum)
}

/// Map a registry error status to an [`Error`].
fn status_error(ep: &Endpoint, resp: &Response, what: Option<&str>) -> Error {
    let code = error_code(&resp.body);
    match resp.status {
        StatusCode::FORBIDDEN => Error::Denied {
            url: resp.url.clone(),
        },
        StatusCode::NOT_FOUND => match (what, code.as_deref()) {
            (Some(reference), Some("MANIFEST_UNKNOWN")) | (Some(reference), None) => {
                Error::ManifestNotFound {
                    repository: ep.name.clone(),
                    reference: reference.to_owned(),
                }
            }
            _ => Error::RepositoryNotFound {
                repository: ep.name.clone(),
                url: resp.url.clone(),
            },
        },
        s => Error::Status {
            url: resp.url.clone(),
            status: s.as_u16(),
            code,
        },
    }
}

/// The first `errors[].code` of a registry error body.
fn error_code(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get("errors")?
        .get(0)?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

/// `<…>; rel="next"` of a `Link` header.
pub(crate) fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let part = part.trim();
        let (target, params) = part.strip_prefix('<')?.split_once('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            })
            .then(|| target.to_owned())
    })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Transport {
    /// Every tag of the repository, following `Link` pagination to the end,
    /// within the listing bounds of the options (pages, tags, bytes, and
    /// [`Options::listing_deadline`] for the whole).
    pub(crate) async fn list_tags(&self, ep: &Endpoint) -> Result<Vec<String>, Error> {
        let deadline = self.options.listing_deadline;
        match tokio::time::timeout(deadline, self.list_tags_within_bounds(ep)).await {
            Ok(result) => result,
            Err(_) => Err(Error::ListingLimit {
                repository: ep.name.clone(),
                limit: ListingLimit::Deadline(deadline),
            }),
        }
    }

    async fn list_tags_within_bounds(&self, ep: &Endpoint) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let scope = ep.pull_scope();
        let host = ep.credential_host();
        let page_size = self.options.page_size.max(1);
        let origin = format!("{}://{}", self.scheme_for(&ep.host), ep.host);
        let registry = Url::parse(&origin).map_err(|_| Error::InvalidResponse {
            url: origin.clone(),
            reason: "the registry address is not a URL".to_owned(),
        })?;
        let limit = |limit| Error::ListingLimit {
            repository: ep.name.clone(),
            limit,
        };
        let mut budget = ListingBudget::new(&self.options);
        let first = format!("{}/tags/list?n={page_size}", ep.base(self));
        let mut url = first;
        let mut seen = HashSet::new();
        let mut tags: Vec<String> = Vec::new();
        // True when the current URL is our own `last=` follow-up.
        let mut via_fallback = false;
        let mut prev_bounds: Option<(Option<String>, Option<String>)> = None;
        for page_no in 0.. {
            budget.ask_page().map_err(limit)?;
            if !seen.insert(url.clone()) {
                return Err(Error::Pagination {
                    url: redact(&url),
                    reason: "the registry sent the same page link twice".to_owned(),
                });
            }
            let page_limit = budget.page_limit();
            let req = Request::get(url.clone(), host, Some(&scope), page_limit)
                .header(header::ACCEPT, "application/json");
            let resp = match self.send(&req).await {
                Err(Error::BodyTooLarge { .. }) if page_limit < TAG_PAGE_LIMIT => {
                    return Err(limit(ListingLimit::Bytes(self.options.max_listing_bytes)));
                }
                other => other?,
            };
            if !resp.status.is_success() {
                return Err(status_error(ep, &resp, None));
            }
            budget.add_page(resp.body.len() as u64, 0).map_err(limit)?;
            let page: Page =
                serde_json::from_slice(&resp.body).map_err(|e| Error::InvalidResponse {
                    url: resp.url.clone(),
                    reason: format!("tag list page {} is not valid JSON: {e}", page_no + 1),
                })?;
            let page_tags = page.tags.unwrap_or_default();
            let bounds = (page_tags.first().cloned(), page_tags.last().cloned());
            if via_fallback && prev_bounds.as_ref() == Some(&bounds) {
                // The registry ignores `last` (distribution 2.x does, and
                // ignores `n` too): its first answer was the whole list.
                break;
            }
            budget.add_page(0, page_tags.len()).map_err(limit)?;
            // More than `n` tags means `n` was ignored: the list is whole.
            let full = page_tags.len() == page_size;
            let last = page_tags.last().cloned();
            tags.extend(page_tags);
            prev_bounds = Some(bounds);
            via_fallback = false;
            url = match resp.header("link").and_then(next_link) {
                Some(next) => {
                    let page = Url::parse(&url).map_err(|_| Error::Pagination {
                        url: redact(&url),
                        reason: "the page URL does not parse".to_owned(),
                    })?;
                    next_page_url(&registry, &page, &next)
                        .map_err(|reason| Error::LinkRefused {
                            url: resp.url.clone(),
                            link: truncated(&redact(&next)).into_owned(),
                            reason,
                        })?
                        .to_string()
                }
                // No link but a full page: the registry may cap pages
                // without announcing more; ask for the next page ourselves.
                None if full => match last {
                    Some(last) => {
                        via_fallback = true;
                        format!(
                            "{}/tags/list?n={page_size}&last={}",
                            ep.base(self),
                            percent_encode(&last)
                        )
                    }
                    None => break,
                },
                None => break,
            };
        }
        Ok(tags)
    }

    /// The digest of `reference` (a tag or digest) by `HEAD`, falling back to
    /// `GET` and hashing when the registry sends no `Docker-Content-Digest`.
    pub(crate) async fn manifest_digest(
        &self,
        ep: &Endpoint,
        reference: &str,
    ) -> Result<Digest, Error> {
        let scope = ep.pull_scope();
        let url = format!("{}/manifests/{reference}", ep.base(self));
        let mut req = Request::get(url, ep.credential_host(), Some(&scope), MANIFEST_LIMIT)
            .header(header::ACCEPT, MANIFEST_ACCEPT);
        req.method = reqwest::Method::HEAD;
        let resp = self.send(&req).await?;
        if resp.status.is_success()
            && let Some(d) = resp
                .header("docker-content-digest")
                .and_then(|d| Digest::parse(d.trim()).ok())
        {
            return Ok(d);
        }
        if resp.status == StatusCode::NOT_FOUND {
            return Err(Error::ManifestNotFound {
                repository: ep.name.clone(),
                reference: reference.to_owned(),
            });
        }
        Ok(self.get_manifest(ep, reference).await?.digest)
    }

    /// Read a manifest and verify its digest (against the requested digest,
    /// and against `Docker-Content-Digest` when sent).
    pub(crate) async fn get_manifest(
        &self,
        ep: &Endpoint,
        reference: &str,
    ) -> Result<RawManifest, Error> {
        let scope = ep.pull_scope();
        let url = format!("{}/manifests/{reference}", ep.base(self));
        let req = Request::get(url, ep.credential_host(), Some(&scope), MANIFEST_LIMIT)
            .header(header::ACCEPT, MANIFEST_ACCEPT);
        let resp = self.send(&req).await?;
        if !resp.status.is_success() {
            return Err(status_error(ep, &resp, Some(reference)));
        }
        let digest = sha256_digest(&resp.body);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            resp.header("docker-content-digest")
                .map(|d| d.trim().to_owned())
                .filter(|d| d.starts_with("sha256:"))
        };
        if let Some(expected) = expected
            && expected != digest.as_str()
        {
            return Err(Error::DigestMismatch {
                url: resp.url.clone(),
                expected,
                actual: digest.to_string(),
            });
        }
        let media_type = resp
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
            .filter(|c| !c.is_empty() && c != "application/json")
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&resp.body)
                    .ok()?
                    .get("mediaType")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        Ok(RawManifest {
            bytes: resp.body,
            media_type,
            digest,
        })
    }

    /// Read a blob (up to `limit` bytes) and verify its digest.
    pub(crate) async fn get_blob(
        &self,
        ep: &Endpoint,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let scope = ep.pull_scope();
        let url = format!("{}/blobs/{digest}", ep.base(self));
        let req = Request::get(url, ep.credential_host(), Some(&scope), limit);
        let resp = self.send(&req).await?;
        if !resp.status.is_success() {
            return Err(status_error(ep, &resp, Some(digest)));
        }
        let actual = sha256_digest(&resp.body);
        if actual.as_str() != digest {
            return Err(Error::DigestMismatch {
                url: resp.url.clone(),
                expected: digest.to_owned(),
                actual: actual.to_string(),
            });
        }
        Ok(resp.body)
    }

    /// Upload a blob unless the registry has it (monolithic upload).
    pub(crate) async fn push_blob(&self, ep: &Endpoint, data: &[u8]) -> Result<Digest, Error> {
        let digest = sha256_digest(data);
        let scope = ep.push_scope();
        let host = ep.credential_host();
        let mut head = Request::get(
            format!("{}/blobs/{digest}", ep.base(self)),
            host,
            Some(&scope),
            0,
        );
        head.method = reqwest::Method::HEAD;
        if self.send(&head).await?.status.is_success() {
            return Ok(digest);
        }
        let mut start = Request::get(
            format!("{}/blobs/uploads/", ep.base(self)),
            host,
            Some(&scope),
            1 << 20,
        );
        start.method = reqwest::Method::POST;
        start.body = Some(Vec::new());
        let resp = self.send(&start).await?;
        if resp.status != StatusCode::ACCEPTED {
            return Err(status_error(ep, &resp, None));
        }
        let location = resp
            .header("location")
            .ok_or_else(|| Error::InvalidResponse {
                url: resp.url.clone(),
                reason: "upload started without a Location header".to_owned(),
            })?;
        let bad_location = |reason: &str| Error::InvalidResponse {
            url: resp.url.clone(),
            reason: format!("upload Location {}: {reason}", truncated(&redact(location))),
        };
        let asked = Url::parse(&start.url).map_err(|_| bad_location("no base URL"))?;
        let mut put_url = asked
            .join(location)
            .map_err(|_| bad_location("not a URL"))?;
        if !matches!(put_url.scheme(), "http" | "https") {
            return Err(bad_location("not an HTTP(S) URL"));
        }
        // An upload location on another host gets that host's own
        // credentials (usually none), not the registry's.
        let other_host = (!same_host(&asked, &put_url))
            .then(|| Host::of(&put_url).map(|h| h.to_string()))
            .flatten();
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let put = Request {
            method: reqwest::Method::PUT,
            url: put_url.to_string(),
            headers: vec![(header::CONTENT_TYPE, "application/octet-stream".to_owned())],
            body: Some(data.to_vec()),
            scope: Some(&scope),
            host: other_host.as_deref().unwrap_or(host),
            limit: 1 << 20,
        };
        let resp = self.send(&put).await?;
        if resp.status != StatusCode::CREATED {
            return Err(status_error(ep, &resp, None));
        }
        Ok(digest)
    }

    /// Store a manifest under `reference` (a tag); returns its digest.
    pub(crate) async fn push_manifest(
        &self,
        ep: &Endpoint,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, Error> {
        let scope = ep.push_scope();
        let req = Request {
            method: reqwest::Method::PUT,
            url: format!("{}/manifests/{reference}", ep.base(self)),
            headers: vec![(header::CONTENT_TYPE, media_type.to_owned())],
            body: Some(bytes.to_vec()),
            scope: Some(&scope),
            host: ep.credential_host(),
            limit: 1 << 20,
        };
        let resp = self.send(&req).await?;
        if resp.status != StatusCode::CREATED && !resp.status.is_success() {
            return Err(status_error(ep, &resp, None));
        }
        let digest = sha256_digest(bytes);
        if let Some(sent) = resp.header("docker-content-digest")
            && sent.trim() != digest.as_str()
        {
            return Err(Error::DigestMismatch {
                url: resp.url.clone(),
                expected: digest.to_string(),
                actual: sent.trim().to_owned(),
            });
        }
        Ok(digest)
    }

    /// Creation time of an image: the `created` field of its config (for an
    /// index, of its linux/amd64 entry or else its first entry).
    pub(crate) async fn created(
        &self,
        ep: &Endpoint,
        reference: &str,
    ) -> Result<Option<i64>, Error> {
        let mut manifest = self.get_manifest(ep, reference).await?;
        let mut doc: serde_json::Value = parse_json(&manifest.bytes, &ep.name)?;
        if let Some(entries) = doc.get("manifests").and_then(|m| m.as_array()) {
            let pick = entries
                .iter()
                .find(|e| {
                    let p = e.get("platform");
                    p.and_then(|p| p.get("os")).and_then(|v| v.as_str()) == Some("linux")
                        && p.and_then(|p| p.get("architecture"))
                            .and_then(|v| v.as_str())
                            == Some("amd64")
                })
                .or_else(|| entries.first())
                .and_then(|e| e.get("digest"))
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            let Some(digest) = pick else {
                return Ok(None);
            };
            manifest = self.get_manifest(ep, &digest).await?;
            doc = parse_json(&manifest.bytes, &ep.name)?;
        }
        let Some(config) = doc
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(|d| d.as_str())
        else {
            return Ok(None);
        };
        let blob = self.get_blob(ep, config, MANIFEST_LIMIT).await?;
        let config: serde_json::Value = parse_json(&blob, &ep.name)?;
        Ok(config
            .get("created")
            .and_then(|c| c.as_str())
            .and_then(gitops_core::time::parse_rfc3339))
    }
}

fn parse_json(bytes: &[u8], name: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidResponse {
        url: name.to_owned(),
        reason: format!("invalid JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"<https://x/prev>; rel="prev""#), None);
    }

    #[test]
    fn listing_budget() {
        let opts =
            Options::default().with_listing_limits(2, 5, 100, std::time::Duration::from_secs(1));
        let mut b = ListingBudget::new(&opts);
        assert_eq!(b.page_limit(), 100);
        b.ask_page().expect("page 1");
        b.add_page(60, 3).expect("60 bytes, 3 tags");
        assert_eq!(b.page_limit(), 40);
        b.ask_page().expect("page 2");
        assert_eq!(b.ask_page(), Err(ListingLimit::Pages(2)));
        assert_eq!(b.clone().add_page(41, 0), Err(ListingLimit::Bytes(100)));
        assert_eq!(b.add_page(40, 3), Err(ListingLimit::Tags(5)));
        assert_eq!(
            ListingLimit::Deadline(std::time::Duration::from_secs(300)).to_string(),
            "not complete within 300s (listing_deadline)"
        );
        assert_eq!(
            ListingBudget::new(&Options::default()).page_limit(),
            TAG_PAGE_LIMIT
        );
    }

    #[test]
    fn endpoints() {
        let ep = Endpoint::of(&ImageRef::parse("nginx").unwrap());
        assert_eq!(ep.host, "registry-1.docker.io");
        assert_eq!(ep.repository, "library/nginx");
        assert_eq!(ep.credential_host(), "docker.io");
        let ep = Endpoint::of(&ImageRef::parse("localhost:5000/a/b:1").unwrap());
        assert_eq!(
            (ep.host.as_str(), ep.repository.as_str()),
            ("localhost:5000", "a/b")
        );
        assert_eq!(percent_encode("a+b/c"), "a%2Bb%2Fc");
    }
}
