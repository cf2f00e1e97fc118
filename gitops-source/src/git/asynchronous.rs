//! [`AsyncClient`]: the Git client for async code.

use std::path::Path;

use gitops_core::fs::MemTree;
use gitops_core::git::{AsyncGitTransport, CommitRequest, GitTransport, PushOutcome, RemoteRef};

use super::{CheckoutOptions, CheckoutOutcome, Client, Error, redact_url};

/// The Git [`Client`] for async code: every operation runs the blocking
/// client on tokio's blocking pool (`tokio::task::spawn_blocking`), so the
/// runtime's threads never wait on the network, `gix` or the `git` binary.
///
/// Works inside any tokio runtime (multi-thread or current-thread; it must
/// be called from within one); its futures are `Send`. It implements
/// gitops-core's [`AsyncGitTransport`]. Dropping a future does not stop an
/// operation already running on the blocking pool: it completes (a checkout
/// still fills its destination, a push still lands).
///
/// ```no_run
/// use gitops_source::git::{AsyncClient, CheckoutOptions, CheckoutOutcome, Client};
/// use gitops_source::git::reference::Reference;
///
/// # async fn reconcile() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// // Inside `#[tokio::main] async fn main()`, a controller's reconcile, …
/// let git = AsyncClient::new(Client::new());
/// let dir = tempfile::tempdir()?;
/// let opts = CheckoutOptions::new(Reference::Branch("main".into()));
/// if let CheckoutOutcome::Checked { revision, .. } =
///     git.checkout("https://example.com/org/repo.git", &opts, dir.path()).await?
/// {
///     println!("checked out {revision}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct AsyncClient {
    inner: Client,
}

impl From<Client> for AsyncClient {
    fn from(inner: Client) -> AsyncClient {
        AsyncClient { inner }
    }
}

impl AsyncClient {
    /// Run `client`'s operations on tokio's blocking pool.
    pub fn new(client: Client) -> AsyncClient {
        AsyncClient { inner: client }
    }

    /// The blocking client the operations run.
    pub fn blocking(&self) -> &Client {
        &self.inner
    }

    /// Run `op` with a clone of the client on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        url: &str,
        op: impl FnOnce(Client) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let client = self.inner.clone();
        match tokio::task::spawn_blocking(move || op(client)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::RuntimeShutdown {
                url: redact_url(url),
            }),
        }
    }

    /// [`Client::list_refs`]: the refs a remote advertises.
    ///
    /// # Errors
    /// As [`Client::list_refs`]; [`Error::RuntimeShutdown`].
    pub async fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Error> {
        let owned = url.to_owned();
        self.run(url, move |c| c.list_refs(&owned)).await
    }

    /// [`Client::checkout`]: resolve, fetch and write the tree into `dest`.
    ///
    /// # Errors
    /// As [`Client::checkout`]; [`Error::RuntimeShutdown`].
    pub async fn checkout(
        &self,
        url: &str,
        opts: &CheckoutOptions,
        dest: &Path,
    ) -> Result<CheckoutOutcome, Error> {
        let (owned, opts, dest) = (url.to_owned(), opts.clone(), dest.to_path_buf());
        self.run(url, move |c| c.checkout(&owned, &opts, &dest))
            .await
    }

    /// [`GitTransport::fetch_tree`]: the files of `commit`.
    ///
    /// # Errors
    /// As the blocking client; [`Error::RuntimeShutdown`].
    pub async fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Error> {
        let (owned, commit) = (url.to_owned(), commit.to_owned());
        self.run(url, move |c| GitTransport::fetch_tree(&c, &owned, &commit))
            .await
    }

    /// [`GitTransport::push_commit`]: commit `req` and push it, never forced.
    ///
    /// # Errors
    /// As the blocking client; [`Error::RuntimeShutdown`].
    pub async fn push_commit(&self, url: &str, req: &CommitRequest) -> Result<PushOutcome, Error> {
        let (owned, req) = (url.to_owned(), req.clone());
        self.run(url, move |c| GitTransport::push_commit(&c, &owned, &req))
            .await
    }
}

impl AsyncGitTransport for AsyncClient {
    type Error = Error;

    fn list_refs(&self, url: &str) -> impl Future<Output = Result<Vec<RemoteRef>, Error>> + Send {
        AsyncClient::list_refs(self, url)
    }

    fn fetch_tree(
        &self,
        url: &str,
        commit: &str,
    ) -> impl Future<Output = Result<MemTree, Error>> + Send {
        AsyncClient::fetch_tree(self, url, commit)
    }

    fn push_commit(
        &self,
        url: &str,
        req: &CommitRequest,
    ) -> impl Future<Output = Result<PushOutcome, Error>> + Send {
        AsyncClient::push_commit(self, url, req)
    }
}
