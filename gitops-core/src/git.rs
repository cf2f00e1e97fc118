//! Git remotes, as the automation loop sees them.
//!
//! A [`GitTransport`] lists a remote's refs, materialises the tree of a commit
//! and pushes a commit made of changed files on top of a known parent with
//! compare-and-swap semantics: when the branch moved, the push is
//! [`PushOutcome::Rejected`] (never forced), and the caller re-fetches and
//! re-applies. [`MemRemote`] implements it in memory for tests.
//!
//! ```
//! use gitops_core::git::{CommitRequest, GitTransport, MemRemote, PushOutcome, Signature};
//! use gitops_core::fs::{FileTree, MemTree, RelPath};
//!
//! let remote = MemRemote::new();
//! let mut tree = MemTree::new();
//! tree.insert("app.yaml", "image: app:1.0\n")?;
//! let first = remote.seed("mem://repo", "main", tree, "initial");
//!
//! let head = remote.resolve_branch("mem://repo", "main")?.expect("branch exists");
//! assert_eq!(head, first);
//! let req = CommitRequest {
//!     branch: "main".into(),
//!     parent: head.clone(),
//!     files: vec![(RelPath::new("app.yaml")?, b"image: app:1.1\n".to_vec())],
//!     author: Signature { name: "bot".into(), email: "bot@example.com".into() },
//!     message: "Update app".into(),
//! };
//! let PushOutcome::Pushed { commit } = remote.push_commit("mem://repo", &req)? else { panic!() };
//! let tree = remote.fetch_tree("mem://repo", &commit)?;
//! assert_eq!(tree.read(&RelPath::new("app.yaml")?)?, b"image: app:1.1\n");
//! // The same request again is rejected: the branch moved.
//! assert!(matches!(remote.push_commit("mem://repo", &req)?, PushOutcome::Rejected { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

use crate::fs::{MemTree, RelPath};

/// A ref advertised by a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full ref name, e.g. `refs/heads/main`, `refs/tags/v1.0.0`.
    pub name: String,
    /// Hex id of the commit it points at (tags peeled).
    pub target: String,
}

/// Author or committer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
}

/// A commit to create on `branch` on top of `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRequest {
    /// Branch to update (short name, e.g. `main`); created when absent.
    pub branch: String,
    /// The commit the change was made on; the push succeeds only while the
    /// branch still points there (or is absent).
    pub parent: String,
    /// Full new contents of every changed file.
    pub files: Vec<(RelPath, Vec<u8>)>,
    /// Author and committer.
    pub author: Signature,
    /// Commit message.
    pub message: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The branch now points at `commit`.
    Pushed {
        /// The new commit id.
        commit: String,
    },
    /// The branch moved since `parent` (non-fast-forward); nothing was changed.
    Rejected {
        /// Where the branch points now.
        remote_head: String,
    },
}

/// Access to Git remotes.
pub trait GitTransport {
    /// The implementation's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Refs advertised by the remote.
    fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Self::Error>;
    /// The files of `commit`.
    fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Self::Error>;
    /// Create a commit from `req` and push it without force.
    fn push_commit(&self, url: &str, req: &CommitRequest) -> Result<PushOutcome, Self::Error>;

    /// Where `refs/heads/<branch>` points, if it exists.
    fn resolve_branch(&self, url: &str, branch: &str) -> Result<Option<String>, Self::Error> {
        let want = format!("refs/heads/{branch}");
        Ok(self
            .list_refs(url)?
            .into_iter()
            .find(|r| r.name == want)
            .map(|r| r.target))
    }
}

/// The async form of [`GitTransport`], for code running on an async
/// runtime: the same contract, with futures that are `Send`.
///
/// The trait names no runtime (gitops-core has no async dependency).
/// Implementations: [`MemRemote`] (its futures are ready at once), and
/// gitops-source's `git::AsyncClient`, which runs its blocking Git client
/// on tokio's blocking pool (`spawn_blocking`): Git fetches and pushes are
/// blocking I/O and CPU work (gix, the `git` binary), so that adapter is the
/// way to call them from async code. Adapting another blocking
/// [`GitTransport`] the same way is the caller's choice.
pub trait AsyncGitTransport {
    /// The implementation's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Refs advertised by the remote.
    fn list_refs(
        &self,
        url: &str,
    ) -> impl Future<Output = Result<Vec<RemoteRef>, Self::Error>> + Send;
    /// The files of `commit`.
    fn fetch_tree(
        &self,
        url: &str,
        commit: &str,
    ) -> impl Future<Output = Result<MemTree, Self::Error>> + Send;
    /// Create a commit from `req` and push it without force.
    fn push_commit(
        &self,
        url: &str,
        req: &CommitRequest,
    ) -> impl Future<Output = Result<PushOutcome, Self::Error>> + Send;

    /// Where `refs/heads/<branch>` points, if it exists.
    fn resolve_branch(
        &self,
        url: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send {
        let refs = self.list_refs(url);
        let want = format!("refs/heads/{branch}");
        async move {
            Ok(refs
                .await?
                .into_iter()
                .find(|r| r.name == want)
                .map(|r| r.target))
        }
    }
}

/// Errors of [`MemRemote`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No repository at that URL.
    #[error("repository {0:?} not found")]
    UnknownRepository(String),
    /// No such commit.
    #[error("commit {commit} not found in {url}")]
    UnknownCommit {
        /// The URL.
        url: String,
        /// The commit.
        commit: String,
    },
}

#[derive(Debug, Default)]
struct Repo {
    refs: BTreeMap<String, String>,
    commits: HashMap<String, (Option<String>, MemTree, String)>,
}

/// An in-memory set of remotes.
#[derive(Debug, Default)]
pub struct MemRemote {
    repos: Mutex<HashMap<String, Repo>>,
    counter: Mutex<u64>,
}

impl MemRemote {
    /// No repositories yet.
    pub fn new() -> MemRemote {
        MemRemote::default()
    }

    fn next_id(&self) -> String {
        let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
        *c += 1;
        format!("{:040x}", *c)
    }

    /// Create (or move) `branch` of `url` to a new root commit holding `tree`.
    pub fn seed(&self, url: &str, branch: &str, tree: MemTree, message: &str) -> String {
        let id = self.next_id();
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let repo = repos.entry(url.to_owned()).or_default();
        repo.commits
            .insert(id.clone(), (None, tree, message.to_owned()));
        repo.refs.insert(format!("refs/heads/{branch}"), id.clone());
        id
    }

    /// Point a tag at a commit.
    pub fn tag(&self, url: &str, tag: &str, commit: &str) {
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let repo = repos.entry(url.to_owned()).or_default();
        repo.refs
            .insert(format!("refs/tags/{tag}"), commit.to_owned());
    }

    /// Message and parent of a commit.
    pub fn commit_info(&self, url: &str, commit: &str) -> Option<(Option<String>, String)> {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let (parent, _, msg) = repos.get(url)?.commits.get(commit)?;
        Some((parent.clone(), msg.clone()))
    }
}

impl AsyncGitTransport for MemRemote {
    type Error = Error;

    fn list_refs(&self, url: &str) -> impl Future<Output = Result<Vec<RemoteRef>, Error>> + Send {
        std::future::ready(GitTransport::list_refs(self, url))
    }

    fn fetch_tree(
        &self,
        url: &str,
        commit: &str,
    ) -> impl Future<Output = Result<MemTree, Error>> + Send {
        std::future::ready(GitTransport::fetch_tree(self, url, commit))
    }

    fn push_commit(
        &self,
        url: &str,
        req: &CommitRequest,
    ) -> impl Future<Output = Result<PushOutcome, Error>> + Send {
        std::future::ready(GitTransport::push_commit(self, url, req))
    }
}

impl GitTransport for MemRemote {
    type Error = Error;

    fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Error> {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let repo = repos
            .get(url)
            .ok_or_else(|| Error::UnknownRepository(url.to_owned()))?;
        Ok(repo
            .refs
            .iter()
            .map(|(name, target)| RemoteRef {
                name: name.clone(),
                target: target.clone(),
            })
            .collect())
    }

    fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Error> {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let repo = repos
            .get(url)
            .ok_or_else(|| Error::UnknownRepository(url.to_owned()))?;
        repo.commits
            .get(commit)
            .map(|(_, t, _)| t.clone())
            .ok_or_else(|| Error::UnknownCommit {
                url: url.to_owned(),
                commit: commit.to_owned(),
            })
    }

    fn push_commit(&self, url: &str, req: &CommitRequest) -> Result<PushOutcome, Error> {
        let id = self.next_id();
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let repo = repos
            .get_mut(url)
            .ok_or_else(|| Error::UnknownRepository(url.to_owned()))?;
        let ref_name = format!("refs/heads/{}", req.branch);
        if let Some(head) = repo.refs.get(&ref_name)
            && *head != req.parent
        {
            return Ok(PushOutcome::Rejected {
                remote_head: head.clone(),
            });
        }
        let (_, parent_tree, _) =
            repo.commits
                .get(&req.parent)
                .ok_or_else(|| Error::UnknownCommit {
                    url: url.to_owned(),
                    commit: req.parent.clone(),
                })?;
        let mut tree = parent_tree.clone();
        for (path, bytes) in &req.files {
            // A RelPath is never the root, so insert cannot fail here.
            let _ = tree.insert(path.as_str(), bytes);
        }
        repo.commits.insert(
            id.clone(),
            (Some(req.parent.clone()), tree, req.message.clone()),
        );
        repo.refs.insert(ref_name, id.clone());
        Ok(PushOutcome::Pushed { commit: id })
    }
}
