//! Which commit a GitRepository `spec.ref` selects, from a remote's refs.
//!
//! Precedence as in source-controller: `commit`, then `name`, `tag`,
//! `semver`, `branch`; no ref at all means branch `master`. Revisions are written in
//! the Flux format: `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`,
//! `refs/heads/main@sha1:<hex>` for `name`, and `sha1:<hex>` for a commit
//! without a branch (`<branch>@sha1:<hex>` with one). Tags are peeled: the
//! revision names the commit, not the annotated tag object.
//!
//! ```
//! use gitops_core::git::RemoteRef;
//! use gitops_source::git::reference::{Reference, resolve};
//!
//! let c = |n: u8| format!("{n:040x}");
//! let refs = vec![
//!     RemoteRef { name: "refs/heads/main".into(), target: c(1) },
//!     RemoteRef { name: "refs/tags/v1.2.0".into(), target: c(2) },
//!     RemoteRef { name: "refs/tags/v1.10.0".into(), target: c(3) },
//!     RemoteRef { name: "refs/tags/v2.0.0".into(), target: c(4) },
//! ];
//! let r = resolve(&Reference::Semver("~1".into()), &refs, "https://example.com/repo")?;
//! assert_eq!(r.revision.to_string(), format!("v1.10.0@sha1:{}", c(3)));
//! assert_eq!(r.fetch_ref.as_deref(), Some("refs/tags/v1.10.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! Among tags that are the same version (`v1.0.0` and `1.0.0`), the first in
//! byte order of the tag names wins; source-controller's pick depends on its
//! sort. Commits must be given as full 40-digit SHA-1 ids.

use gitops_core::Revision;
use gitops_core::flux::GitRepositoryRef;
use gitops_core::git::RemoteRef;
use gitops_core::revision::Algorithm;
use gitops_core::semver::{Range, VersionRef};

/// The branch Flux checks out when `spec.ref` is empty.
pub const DEFAULT_BRANCH: &str = "master";

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The branch does not exist on the remote.
    #[error("branch {branch:?} not found in {url}")]
    BranchNotFound {
        /// The remote.
        url: String,
        /// The branch.
        branch: String,
    },
    /// The tag does not exist (any more) on the remote.
    #[error("tag {tag:?} not found in {url}")]
    TagNotFound {
        /// The remote.
        url: String,
        /// The tag.
        tag: String,
    },
    /// The ref name does not exist on the remote.
    #[error("ref {name:?} not found in {url}")]
    NameNotFound {
        /// The remote.
        url: String,
        /// The full ref name.
        name: String,
    },
    /// No tag satisfies the range.
    #[error("no tag in {url} matches semver range {range:?}")]
    NoMatchingTag {
        /// The remote.
        url: String,
        /// The range.
        range: String,
    },
    /// The range is not Masterminds/semver syntax.
    #[error("invalid semver range {range:?}")]
    InvalidRange {
        /// The range.
        range: String,
        /// The cause.
        #[source]
        source: gitops_core::semver::range::Error,
    },
    /// The commit is not a full lower-case SHA-1.
    #[error("invalid commit {commit:?}: expected 40 lower-case hex digits")]
    InvalidCommit {
        /// The text given.
        commit: String,
    },
}

/// A checkout request, after applying the precedence rules.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reference {
    /// `spec.ref.commit`, optionally on `spec.ref.branch`.
    Commit {
        /// Full SHA-1.
        commit: String,
        /// The branch to fetch it from (else all branches are fetched).
        branch: Option<String>,
    },
    /// `spec.ref.name`: a full ref name.
    Name(String),
    /// `spec.ref.tag`.
    Tag(String),
    /// `spec.ref.semver`: the highest tag in a Masterminds range.
    Semver(String),
    /// `spec.ref.branch`.
    Branch(String),
}

impl Reference {
    /// Apply source-controller's precedence to a spec ref (`None` = branch
    /// [`DEFAULT_BRANCH`]).
    pub fn from_spec(spec: Option<&GitRepositoryRef>) -> Reference {
        let non_empty = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        let Some(r) = spec else {
            return Reference::Branch(DEFAULT_BRANCH.to_owned());
        };
        if let Some(commit) = non_empty(&r.commit) {
            return Reference::Commit {
                commit,
                branch: non_empty(&r.branch),
            };
        }
        if let Some(n) = non_empty(&r.name) {
            return Reference::Name(n);
        }
        if let Some(t) = non_empty(&r.tag) {
            return Reference::Tag(t);
        }
        if let Some(s) = non_empty(&r.semver) {
            return Reference::Semver(s);
        }
        Reference::Branch(non_empty(&r.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_owned()))
    }
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The commit (hex).
    pub commit: String,
    /// The Flux revision string.
    pub revision: Revision,
    /// The full ref to fetch (`None` = fetch all branches, full history).
    pub fetch_ref: Option<String>,
    /// Whether the whole history of `fetch_ref` is needed (commit checkouts).
    pub full_history: bool,
}

fn is_sha1(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn revision(name: Option<&str>, commit: &str) -> Result<Revision, Error> {
    Revision::new(name, Algorithm::Sha1, commit).map_err(|_| Error::InvalidCommit {
        commit: commit.to_owned(),
    })
}

fn find<'a>(refs: &'a [RemoteRef], name: &str) -> Option<&'a RemoteRef> {
    refs.iter().find(|r| r.name == name)
}

/// Pick the commit `reference` selects among `refs` (tag targets peeled).
pub fn resolve(reference: &Reference, refs: &[RemoteRef], url: &str) -> Result<Resolved, Error> {
    match reference {
        Reference::Commit { commit, branch } => {
            if !is_sha1(commit) {
                return Err(Error::InvalidCommit {
                    commit: commit.clone(),
                });
            }
            let fetch_ref = match branch {
                Some(b) => {
                    let full = format!("refs/heads/{b}");
                    if find(refs, &full).is_none() {
                        return Err(Error::BranchNotFound {
                            url: url.to_owned(),
                            branch: b.clone(),
                        });
                    }
                    Some(full)
                }
                None => None,
            };
            Ok(Resolved {
                commit: commit.clone(),
                revision: revision(branch.as_deref(), commit)?,
                fetch_ref,
                full_history: true,
            })
        }
        Reference::Name(name) => {
            let r = find(refs, name).ok_or_else(|| Error::NameNotFound {
                url: url.to_owned(),
                name: name.clone(),
            })?;
            simple(name, name, &r.target)
        }
        Reference::Tag(tag) => {
            let full = format!("refs/tags/{tag}");
            let r = find(refs, &full).ok_or_else(|| Error::TagNotFound {
                url: url.to_owned(),
                tag: tag.clone(),
            })?;
            simple(tag, &full, &r.target)
        }
        Reference::Branch(branch) => {
            let full = format!("refs/heads/{branch}");
            let r = find(refs, &full).ok_or_else(|| Error::BranchNotFound {
                url: url.to_owned(),
                branch: branch.clone(),
            })?;
            simple(branch, &full, &r.target)
        }
        Reference::Semver(range_text) => {
            let range = Range::parse(range_text).map_err(|source| Error::InvalidRange {
                range: range_text.clone(),
                source,
            })?;
            let mut tags: Vec<(&str, &RemoteRef)> = refs
                .iter()
                .filter_map(|r| r.name.strip_prefix("refs/tags/").map(|t| (t, r)))
                .collect();
            tags.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut best: Option<(VersionRef<'_>, &str, &RemoteRef)> = None;
            for (tag, r) in tags {
                let Ok(v) = VersionRef::parse(tag) else {
                    continue;
                };
                if !range.matches(v) {
                    continue;
                }
                if best.as_ref().is_none_or(|(b, _, _)| v > *b) {
                    best = Some((v, tag, r));
                }
            }
            let (_, tag, r) = best.ok_or_else(|| Error::NoMatchingTag {
                url: url.to_owned(),
                range: range_text.clone(),
            })?;
            simple(tag, &r.name, &r.target)
        }
    }
}

fn simple(display: &str, full: &str, target: &str) -> Result<Resolved, Error> {
    Ok(Resolved {
        commit: target.to_owned(),
        revision: revision(Some(display), target)?,
        fetch_ref: Some(full.to_owned()),
        full_history: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u8) -> String {
        format!("{n:040x}")
    }

    fn refs() -> Vec<RemoteRef> {
        [
            ("refs/heads/main", 1),
            ("refs/heads/dev", 2),
            ("refs/tags/v1.0.0", 3),
            ("refs/tags/1.0.0", 4),
            ("refs/tags/v1.1.0-rc.1", 5),
            ("refs/tags/not-a-version", 6),
            ("refs/pull/7/head", 7),
        ]
        .into_iter()
        .map(|(n, t)| RemoteRef {
            name: n.into(),
            target: c(t),
        })
        .collect()
    }

    #[test]
    fn precedence() {
        let all = GitRepositoryRef {
            branch: Some("dev".into()),
            tag: Some("v1.0.0".into()),
            semver: Some("*".into()),
            name: Some("refs/pull/7/head".into()),
            commit: Some(c(9)),
            ..Default::default()
        };
        assert_eq!(
            Reference::from_spec(Some(&all)),
            Reference::Commit {
                commit: c(9),
                branch: Some("dev".into())
            }
        );
        let mut r = all.clone();
        r.commit = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Name("refs/pull/7/head".into())
        );
        r.name = Some(String::new());
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Tag("v1.0.0".into())
        );
        r.tag = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Semver("*".into())
        );
        r.semver = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Branch("dev".into())
        );
        assert_eq!(
            Reference::from_spec(None),
            Reference::Branch("master".into())
        );
        assert_eq!(
            Reference::from_spec(Some(&GitRepositoryRef::default())),
            Reference::Branch("master".into())
        );
    }

    #[test]
    fn revisions() {
        let u = "https://h/r";
        let rev = |r: Reference| resolve(&r, &refs(), u).unwrap().revision.to_string();
        assert_eq!(
            rev(Reference::Branch("main".into())),
            format!("main@sha1:{}", c(1))
        );
        assert_eq!(
            rev(Reference::Tag("v1.0.0".into())),
            format!("v1.0.0@sha1:{}", c(3))
        );
        assert_eq!(
            rev(Reference::Name("refs/pull/7/head".into())),
            format!("refs/pull/7/head@sha1:{}", c(7))
        );
        assert_eq!(
            rev(Reference::Commit {
                commit: c(9),
                branch: None
            }),
            format!("sha1:{}", c(9))
        );
        assert_eq!(
            rev(Reference::Commit {
                commit: c(9),
                branch: Some("dev".into())
            }),
            format!("dev@sha1:{}", c(9))
        );
        // Same version twice: first tag name in byte order wins.
        assert_eq!(
            rev(Reference::Semver("1.x".into())),
            format!("1.0.0@sha1:{}", c(4))
        );
        // Prereleases only when the range asks for them.
        assert_eq!(
            rev(Reference::Semver(">=1.1.0-0".into())),
            format!("v1.1.0-rc.1@sha1:{}", c(5))
        );
    }

    #[test]
    fn errors() {
        let u = "https://h/r";
        let err = |r: Reference| resolve(&r, &refs(), u).unwrap_err().to_string();
        assert_eq!(
            err(Reference::Branch("x".into())),
            "branch \"x\" not found in https://h/r"
        );
        assert_eq!(
            err(Reference::Tag("v9".into())),
            "tag \"v9\" not found in https://h/r"
        );
        assert_eq!(
            err(Reference::Semver(">=5".into())),
            "no tag in https://h/r matches semver range \">=5\""
        );
        assert_eq!(
            err(Reference::Semver(">=x y".into())),
            "invalid semver range \">=x y\""
        );
        assert_eq!(
            err(Reference::Commit {
                commit: "abc".into(),
                branch: None
            }),
            "invalid commit \"abc\": expected 40 lower-case hex digits"
        );
    }
}
