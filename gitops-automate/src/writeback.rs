//! Commit and push changes back (image automation write-back), over any
//! [`GitTransport`].
//!
//! [`commit_and_push`] reads the branch head, asks the caller to compute the
//! change on that tree (typically: run gitops-setters and render the commit
//! message), and pushes one commit on top of the head **without force**.
//! When the push is rejected because the branch moved (another writer won
//! the race), it reads the new head, re-applies the change to the new tree
//! and tries again, up to [`Options::max_attempts`] times. Nothing is lost:
//! either the change lands on top of everyone else's, or an error says it
//! did not.
//!
//! ```
//! use gitops_core::fs::{FileTree, MemTree, RelPath};
//! use gitops_core::git::{GitTransport, MemRemote, Signature};
//! use gitops_automate::writeback::{self, Change, Options, Outcome};
//!
//! let remote = MemRemote::new();
//! let mut tree = MemTree::new();
//! tree.insert("app.yaml", "image: app:1.0\n")?;
//! remote.seed("mem://repo", "main", tree, "initial");
//!
//! let opts = Options::new("main", Signature { name: "bot".into(), email: "bot@example.com".into() });
//! let outcome = writeback::commit_and_push(&remote, "mem://repo", &opts, |tree: &MemTree| {
//!     let path = RelPath::new("app.yaml").expect("valid");
//!     let text = tree.read_to_string(&path).unwrap_or_default();
//!     Ok::<_, std::convert::Infallible>(Change {
//!         files: vec![(path, text.replace("1.0", "1.1").into_bytes())],
//!         message: "Update app to 1.1".into(),
//!     })
//! })?;
//! let Outcome::Pushed { commit, .. } = outcome else { panic!("expected a push") };
//! let tree = remote.fetch_tree("mem://repo", &commit)?;
//! assert_eq!(tree.read(&RelPath::new("app.yaml")?)?, b"image: app:1.1\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviation
//! Flux pushes once per reconciliation and requeues on failure; when
//! `push.branch` differs from the checkout branch it rebuilds the push branch
//! from the checkout branch and force-pushes it. Here a push is never forced:
//! an existing push branch is updated on top of its own head, a missing one
//! is created from the checkout branch, and a rejected push is retried on the
//! new head.

use gitops_core::fs::{FileTree, MemTree, RelPath};
use gitops_core::git::{CommitRequest, GitTransport, PushOutcome, Signature};

/// Default number of push attempts.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Where and how to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The branch the change is made from (`spec.git.checkout.ref.branch`).
    pub checkout_branch: String,
    /// The branch to push to (`spec.git.push.branch`); `None` = the checkout
    /// branch. Created from the checkout branch when missing.
    pub push_branch: Option<String>,
    /// Author and committer.
    pub author: Signature,
    /// Append a `Signed-off-by:` trailer with the author.
    pub signoff: bool,
    /// Push attempts before giving up (at least 1).
    pub max_attempts: u32,
}

impl Options {
    /// Push to `branch` as `author`, no signoff, [`DEFAULT_MAX_ATTEMPTS`].
    pub fn new(branch: &str, author: Signature) -> Options {
        Options {
            checkout_branch: branch.to_owned(),
            push_branch: None,
            author,
            signoff: false,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The branch that receives the commit.
    pub fn target_branch(&self) -> &str {
        self.push_branch.as_deref().unwrap_or(&self.checkout_branch)
    }
}

/// What the caller wants committed, computed from a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Full new contents of each file to write (unchanged files are dropped).
    pub files: Vec<(RelPath, Vec<u8>)>,
    /// The commit message.
    pub message: String,
}

/// What [`commit_and_push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A commit was pushed.
    Pushed {
        /// The new commit.
        commit: String,
        /// The branch it was pushed to.
        branch: String,
        /// How many push attempts it took (1 = no race).
        attempts: u32,
    },
    /// The tree already has the change; nothing was pushed.
    UpToDate {
        /// The head the change was computed on.
        head: String,
    },
}

/// Why the write-back failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<T: std::error::Error + 'static, A: std::error::Error + 'static> {
    /// The transport failed.
    #[error("git operation on {url} failed")]
    Transport {
        /// The remote (credentials removed).
        url: String,
        /// The cause.
        #[source]
        source: T,
    },
    /// Neither the push branch nor the checkout branch exists.
    #[error("branch {branch:?} not found in {url}")]
    BranchNotFound {
        /// The remote.
        url: String,
        /// The checkout branch.
        branch: String,
    },
    /// The caller's change function failed.
    #[error("applying the change failed")]
    Apply(#[source] A),
    /// Every attempt was rejected because the branch kept moving; try later.
    #[error("push to {branch:?} of {url} rejected {attempts} times (the branch keeps moving)")]
    Exhausted {
        /// The remote.
        url: String,
        /// The branch.
        branch: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// `message` with a `Signed-off-by:` trailer for `who` (not duplicated).
pub fn with_signoff(message: &str, who: &Signature) -> String {
    let trailer = format!("Signed-off-by: {} <{}>", who.name, who.email);
    let body = message.trim_end();
    if body.lines().any(|l| l == trailer) {
        return format!("{body}\n");
    }
    let last_is_trailer = body
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("Signed-off-by: ") || l.starts_with("Co-authored-by: "));
    if last_is_trailer {
        format!("{body}\n{trailer}\n")
    } else {
        format!("{body}\n\n{trailer}\n")
    }
}

/// Commit the change computed by `apply` and push it without force,
/// re-applying on the new head when the push is rejected.
pub fn commit_and_push<G, A, F>(
    git: &G,
    url: &str,
    opts: &Options,
    mut apply: F,
) -> Result<Outcome, Error<G::Error, A>>
where
    G: GitTransport,
    A: std::error::Error + 'static,
    F: FnMut(&MemTree) -> Result<Change, A>,
{
    let target = opts.target_branch();
    let attempts = opts.max_attempts.max(1);
    let shown = gitops_core::url::redact(url);
    let transport = |source| Error::Transport {
        url: shown.clone(),
        source,
    };
    for attempt in 1..=attempts {
        let head = match git.resolve_branch(url, target).map_err(transport)? {
            Some(h) => h,
            None if target != opts.checkout_branch => git
                .resolve_branch(url, &opts.checkout_branch)
                .map_err(transport)?
                .ok_or_else(|| Error::BranchNotFound {
                    url: shown.clone(),
                    branch: opts.checkout_branch.clone(),
                })?,
            None => {
                return Err(Error::BranchNotFound {
                    url: shown.clone(),
                    branch: target.to_owned(),
                });
            }
        };
        let tree = git.fetch_tree(url, &head).map_err(transport)?;
        let change = apply(&tree).map_err(Error::Apply)?;
        let files: Vec<(RelPath, Vec<u8>)> = change
            .files
            .into_iter()
            .filter(|(p, bytes)| tree.read(p).ok().as_deref() != Some(bytes.as_slice()))
            .collect();
        if files.is_empty() {
            return Ok(Outcome::UpToDate { head });
        }
        let message = if opts.signoff {
            with_signoff(&change.message, &opts.author)
        } else {
            change.message
        };
        let req = CommitRequest {
            branch: target.to_owned(),
            parent: head,
            files,
            author: opts.author.clone(),
            message,
        };
        // Anything but a push (a rejection: the branch moved) is re-applied
        // on the new head.
        if let PushOutcome::Pushed { commit } = git.push_commit(url, &req).map_err(transport)? {
            return Ok(Outcome::Pushed {
                commit,
                branch: target.to_owned(),
                attempts: attempt,
            });
        }
    }
    Err(Error::Exhausted {
        url: shown,
        branch: target.to_owned(),
        attempts,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::convert::Infallible;

    use gitops_core::git::{MemRemote, RemoteRef};

    use super::*;

    const URL: &str = "mem://r";

    fn bot() -> Signature {
        Signature {
            name: "bot".into(),
            email: "bot@example.com".into(),
        }
    }

    fn seeded() -> MemRemote {
        let r = MemRemote::new();
        let mut t = MemTree::new();
        t.insert("a.yaml", "a: 1\n").unwrap();
        t.insert("b.yaml", "b: 1\n").unwrap();
        r.seed(URL, "main", t, "init");
        r
    }

    fn set(path: &str, text: &str, msg: &str) -> Change {
        Change {
            files: vec![(RelPath::new(path).unwrap(), text.as_bytes().to_vec())],
            message: msg.into(),
        }
    }

    #[test]
    fn signoff_trailer() {
        assert_eq!(
            with_signoff("Update\n", &bot()),
            "Update\n\nSigned-off-by: bot <bot@example.com>\n"
        );
        let once = with_signoff("Update", &bot());
        assert_eq!(with_signoff(&once, &bot()), once);
    }

    #[test]
    fn no_change_is_up_to_date() {
        let r = seeded();
        let out = commit_and_push(&r, URL, &Options::new("main", bot()), |_: &MemTree| {
            Ok::<_, Infallible>(set("a.yaml", "a: 1\n", "noop"))
        })
        .unwrap();
        assert!(matches!(out, Outcome::UpToDate { .. }));
    }

    /// A transport whose first push always loses a race against another writer.
    struct Racy<'a> {
        inner: &'a MemRemote,
        raced: Cell<bool>,
    }

    impl GitTransport for Racy<'_> {
        type Error = gitops_core::git::Error;
        fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Self::Error> {
            self.inner.list_refs(url)
        }
        fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Self::Error> {
            self.inner.fetch_tree(url, commit)
        }
        fn push_commit(&self, url: &str, req: &CommitRequest) -> Result<PushOutcome, Self::Error> {
            if !self.raced.replace(true) {
                let other = CommitRequest {
                    files: vec![(RelPath::new("b.yaml").unwrap(), b"b: 2\n".to_vec())],
                    message: "other writer".into(),
                    ..req.clone()
                };
                assert!(matches!(
                    self.inner.push_commit(url, &other)?,
                    PushOutcome::Pushed { .. }
                ));
            }
            self.inner.push_commit(url, req)
        }
    }

    #[test]
    fn rejected_push_is_reapplied_on_new_head() {
        let mem = seeded();
        let racy = Racy {
            inner: &mem,
            raced: Cell::new(false),
        };
        let mut opts = Options::new("main", bot());
        opts.signoff = true;
        let out = commit_and_push(&racy, URL, &opts, |_: &MemTree| {
            Ok::<_, Infallible>(set("a.yaml", "a: 2\n", "Update a"))
        })
        .unwrap();
        let Outcome::Pushed {
            commit, attempts, ..
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(attempts, 2);
        let tree = mem.fetch_tree(URL, &commit).unwrap();
        assert_eq!(
            tree.read(&RelPath::new("a.yaml").unwrap()).unwrap(),
            b"a: 2\n"
        );
        assert_eq!(
            tree.read(&RelPath::new("b.yaml").unwrap()).unwrap(),
            b"b: 2\n"
        );
        let (parent, msg) = mem.commit_info(URL, &commit).unwrap();
        assert!(msg.ends_with("Signed-off-by: bot <bot@example.com>\n"));
        let (_, parent_msg) = mem.commit_info(URL, &parent.unwrap()).unwrap();
        assert_eq!(parent_msg, "other writer");
    }

    #[test]
    fn bounded_attempts_and_missing_branch() {
        let mem = seeded();
        let racy = Racy {
            inner: &mem,
            raced: Cell::new(false),
        };
        let mut opts = Options::new("main", bot());
        opts.max_attempts = 1;
        let err = commit_and_push(&racy, URL, &opts, |_: &MemTree| {
            Ok::<_, Infallible>(set("a.yaml", "a: 3\n", "x"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "push to \"main\" of mem://r rejected 1 times (the branch keeps moving)"
        );
        let err = commit_and_push(&mem, URL, &Options::new("nope", bot()), |_: &MemTree| {
            Ok::<_, Infallible>(set("a.yaml", "a: 3\n", "x"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "branch \"nope\" not found in mem://r");
        let err = commit_and_push(
            &mem,
            "mem://bot:pw@r",
            &Options::new("main", bot()),
            |_: &MemTree| Ok::<_, Infallible>(set("a.yaml", "a: 3\n", "x")),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "git operation on mem://r failed");
    }

    #[test]
    fn push_branch_is_created_from_checkout_then_stacked() {
        let mem = seeded();
        let mut opts = Options::new("main", bot());
        opts.push_branch = Some("auto".into());
        let first = commit_and_push(&mem, URL, &opts, |_: &MemTree| {
            Ok::<_, Infallible>(set("a.yaml", "a: 5\n", "one"))
        })
        .unwrap();
        let second = commit_and_push(&mem, URL, &opts, |_: &MemTree| {
            Ok::<_, Infallible>(set("b.yaml", "b: 5\n", "two"))
        })
        .unwrap();
        let (
            Outcome::Pushed { commit: c1, .. },
            Outcome::Pushed {
                commit: c2, branch, ..
            },
        ) = (first, second)
        else {
            panic!()
        };
        assert_eq!(branch, "auto");
        assert_eq!(mem.commit_info(URL, &c2).unwrap().0, Some(c1));
        let main = mem.resolve_branch(URL, "main").unwrap().unwrap();
        let t = mem.fetch_tree(URL, &main).unwrap();
        assert_eq!(t.read(&RelPath::new("a.yaml").unwrap()).unwrap(), b"a: 1\n");
    }
}
