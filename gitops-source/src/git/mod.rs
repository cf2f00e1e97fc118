//! Git sources over real remotes (feature `git`).
//!
//! [`Client`] fetches with `gix` over `file://`, `git://`, smart HTTP(S)
//! (rustls with ring; basic auth or a bearer token) and SSH (the `ssh`
//! binary, with a private key and a known-hosts file: paths, or the
//! `identity` and `known_hosts` of a Flux Secret, see [`ssh`](mod@ssh)),
//! shallow by default, and
//! checks out the commit a GitRepository `spec.ref` selects
//! ([`reference`](mod@reference)). It implements [`GitTransport`], so the automation loop
//! can use it in place of [`gitops_core::git::MemRemote`]; pushes go through
//! the `git` binary (gix cannot push), never forced.
//!
//! ```no_run
//! use gitops_source::archive::{self, Options};
//! use gitops_source::git::{Auth, CheckoutOptions, CheckoutOutcome, Client};
//! use gitops_source::git::reference::Reference;
//!
//! let client = Client::new().with_auth(Auth::Bearer { token: "t0ken".into() });
//! let dir = tempfile::tempdir()?;
//! let opts = CheckoutOptions::new(Reference::Semver(">=1.0.0 <2".into()));
//! match client.checkout("https://example.com/org/repo.git", &opts, dir.path())? {
//!     CheckoutOutcome::Checked { revision, .. } => {
//!         let art = archive::artifact(dir.path(), &Options::default(), revision)?;
//!         println!("{} {}", art.revision, art.digest.as_str());
//!     }
//!     CheckoutOutcome::Unchanged { revision } => println!("still at {revision}"),
//!     _ => {}
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Async and blocking
//! [`Client`] is blocking (gix's blocking client, the `git` binary). It
//! does not panic on a thread of a tokio runtime (gix runs its HTTP client
//! on a thread of its own), but it holds that thread for the whole fetch or
//! push, which stalls a current-thread runtime. Async code uses
//! [`AsyncClient`], which runs each operation on tokio's blocking pool
//! (`tokio::task::spawn_blocking`) and implements gitops-core's
//! [`AsyncGitTransport`](gitops_core::git::AsyncGitTransport):
//!
//! ```no_run
//! use gitops_source::git::{AsyncClient, Client};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let git = AsyncClient::new(Client::new());
//!     for r in git.list_refs("https://example.com/org/repo.git").await? {
//!         println!("{} {}", r.target, r.name);
//!     }
//!     Ok(())
//! }
//! ```

pub mod reference;
pub mod ssh;

mod asynchronous;
mod push;
mod submodule;
mod tree;

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use gitops_core::Revision;
use gitops_core::fs::MemTree;
use gitops_core::git::{CommitRequest, GitTransport, PushOutcome, RemoteRef};
use gitops_core::quote::truncated;
use gitops_core::revision::Algorithm;

pub use asynchronous::AsyncClient;
pub use push::{SignError, Signer, SshSigner};

use crate::archive;
use crate::credentials::split_credentials;
use reference::{Reference, Resolved};

type Connection<'a, 'r> = gix::remote::Connection<
    'a,
    'static,
    'r,
    Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
>;

/// How many levels of nested submodules are followed.
pub const MAX_SUBMODULE_DEPTH: usize = 4;

/// Why a Git operation failed. Messages carry the URL without credentials
/// and never a password or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be used.
    #[error("invalid git url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials removed).
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The remote rejected the credentials (or asked for some and none were
    /// configured). Check the username/password or token.
    #[error("authentication failed for {url}")]
    Authentication {
        /// The remote.
        url: String,
    },
    /// Talking to the remote failed (connection, protocol, missing repository).
    #[error("cannot fetch from {url}")]
    Fetch {
        /// The remote.
        url: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// The local object database or a scratch repository failed.
    #[error("cannot read git objects of {url}")]
    Object {
        /// The remote the objects came from.
        url: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// The reference does not resolve on the remote.
    #[error(transparent)]
    Reference(#[from] reference::Error),
    /// The commit is not in the fetched history.
    #[error("commit {commit} not found in {url}")]
    CommitNotFound {
        /// The remote.
        url: String,
        /// The commit.
        commit: String,
    },
    /// A tree entry would be unsafe to write (`..`, `.git`, duplicates…).
    #[error("unsafe path {path:?} in repository: {reason}")]
    UnsafePath {
        /// The entry.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Writing the checkout failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The checkout destination exists and is not empty.
    #[error("{path}: checkout destination must be a new or empty directory")]
    Destination {
        /// The directory.
        path: PathBuf,
    },
    /// A submodule could not be checked out.
    #[error("submodule {path:?} ({url})")]
    Submodule {
        /// Its path in the parent.
        path: String,
        /// Its URL (credentials removed).
        url: String,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// A submodule is not followed: a local repository (`file://`, a path)
    /// under a remote superproject, a transport that runs commands
    /// (`ext::`, `fd::`, other remote helpers), an unknown scheme, a
    /// relative URL that climbs above its superproject's host, or a path
    /// outside the work tree. Hostile input is quoted truncated.
    #[error("submodule {path:?}: url {url:?} refused: {reason}")]
    SubmoduleRefused {
        /// Its path in the superproject.
        path: String,
        /// Its URL, resolved against the superproject's (credentials removed).
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The `.gitmodules` file is invalid or lacks an entry for a submodule.
    #[error("invalid .gitmodules in {url}: {reason}")]
    Gitmodules {
        /// The remote.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The `git` binary failed (push path). `stderr` has secrets removed.
    #[error("`git {command}` failed for {url}: {stderr}")]
    GitCommand {
        /// The remote.
        url: String,
        /// The subcommand.
        command: String,
        /// What git printed.
        stderr: String,
    },
    /// The `git` binary could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Author name or e-mail cannot go into a commit header.
    #[error("invalid author {0:?}: name and e-mail must not contain '<', '>' or newlines")]
    InvalidAuthor(String),
    /// The signing hook failed.
    #[error("cannot sign commit")]
    Sign(#[from] SignError),
    /// The SSH private key file can be read or written by others; `ssh`
    /// would refuse it. Run `chmod 600` on it.
    #[error(
        "{path}: private key permissions {mode:04o} are too open; it must be accessible by its owner only (chmod 600)"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The SSH private key (a Secret's `identity`) cannot be used.
    #[error("invalid SSH private key")]
    Identity(#[source] ssh::KeyError),
    /// `ssh` failed before Git could talk (connection refused, key
    /// refused…); `stderr` is the end of what it printed.
    #[error("ssh to {url} failed: {stderr}")]
    Ssh {
        /// The remote.
        url: String,
        /// The last lines `ssh` printed.
        stderr: String,
    },
    /// `ssh` refused the server: its host key is not in the known-hosts
    /// file, or differs from the one there. Nothing was fetched or pushed.
    /// Check the server, then update `known_hosts`.
    #[error(
        "host key verification failed for {url}: the server's host key does not match known_hosts"
    )]
    HostKey {
        /// The remote.
        url: String,
    },
    /// An [`AsyncClient`] operation could not run on tokio's blocking pool:
    /// the runtime is shutting down.
    #[error("the git operation on {url} did not run: the async runtime is shutting down")]
    RuntimeShutdown {
        /// The remote (credentials removed).
        url: String,
    },
}

/// Credentials for a remote.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials (credentials embedded in an HTTP URL are still used).
    #[default]
    None,
    /// HTTP basic auth.
    Basic {
        /// User name.
        username: String,
        /// Password or personal access token.
        password: String,
    },
    /// HTTP `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// SSH with a private key file, checked against a known-hosts file.
    /// A key file others can read or write is refused
    /// ([`Error::KeyPermissions`]).
    Ssh {
        /// The private key (OpenSSH or PEM format, no passphrase).
        identity_file: PathBuf,
        /// The known-hosts file; unknown hosts are refused.
        known_hosts: PathBuf,
    },
    /// SSH with a key and host keys held in memory: the `identity` and
    /// `known_hosts` of a Flux Git Secret ([`ssh::auth_from_secret`]). They
    /// are written to owner-only temporary files for the length of each
    /// operation.
    SshKey {
        /// The private key (OpenSSH, PKCS#8, SEC1 or PKCS#1 PEM, no passphrase).
        identity: String,
        /// `known_hosts` lines; unknown hosts are refused.
        known_hosts: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .finish(),
            Auth::Ssh {
                identity_file,
                known_hosts,
            } => f
                .debug_struct("Ssh")
                .field("identity_file", identity_file)
                .field("known_hosts", known_hosts)
                .finish(),
            Auth::SshKey { known_hosts, .. } => f
                .debug_struct("SshKey")
                .field("identity", &"<redacted>")
                .field("known_hosts", known_hosts)
                .finish(),
        }
    }
}

impl Auth {
    fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::Basic { password, .. } => vec![password.as_str()],
            Auth::Bearer { token } => vec![token.as_str()],
            Auth::SshKey { identity, .. } => vec![identity.as_str()],
            _ => Vec::new(),
        }
    }
}

pub use gitops_core::url::redact as redact_url;

/// What to check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutOptions {
    /// The reference (see [`Reference::from_spec`]).
    pub reference: Reference,
    /// Check out submodules too (`spec.recurseSubmodules`).
    pub recurse_submodules: bool,
    /// The revision of the last artifact: when the reference still resolves
    /// to it, nothing is fetched ([`CheckoutOutcome::Unchanged`]).
    pub last_revision: Option<Revision>,
}

impl CheckoutOptions {
    /// Check out `reference`, no submodules, no previous revision.
    pub fn new(reference: Reference) -> CheckoutOptions {
        CheckoutOptions {
            reference,
            recurse_submodules: false,
            last_revision: None,
        }
    }
}

/// What [`Client::checkout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckoutOutcome {
    /// The reference still points at [`CheckoutOptions::last_revision`];
    /// nothing was fetched or written.
    Unchanged {
        /// The revision.
        revision: Revision,
    },
    /// The tree was written to the destination.
    Checked {
        /// The Flux revision.
        revision: Revision,
        /// Number of regular files written (submodules included).
        files: u64,
        /// Whether the fetched history is shallow.
        shallow: bool,
    },
}

/// A Git client: fetch/checkout with gix, push with the `git` binary.
#[derive(Clone)]
pub struct Client {
    auth: Auth,
    depth: u32,
    git_program: PathBuf,
    signer: Option<Arc<dyn Signer>>,
    cache: Arc<Mutex<Option<tempfile::TempDir>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("auth", &self.auth)
            .field("depth", &self.depth)
            .field("git_program", &self.git_program)
            .field("signer", &self.signer.is_some())
            .finish()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

fn is_auth_failure(err: &gix::Error) -> bool {
    if err.classify().is_unauthenticated() || err.classify().is_permission_denied() {
        return true;
    }
    let text = format!("{err:#}").to_ascii_lowercase();
    text.contains("401")
        || text.contains("403")
        || text.contains("authenticat")
        || text.contains("permission denied (publickey")
}

fn hex_of(id: gix::ObjectId) -> String {
    id.to_hex().to_string()
}

impl Client {
    /// No credentials, depth 1, `git` from `PATH`.
    pub fn new() -> Client {
        Client {
            auth: Auth::None,
            depth: 1,
            git_program: PathBuf::from("git"),
            signer: None,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// Use these credentials.
    #[must_use]
    pub fn with_auth(mut self, auth: Auth) -> Client {
        self.auth = auth;
        self
    }

    /// History depth of branch/tag fetches; 0 = full history. Default 1.
    #[must_use]
    pub fn with_depth(mut self, depth: u32) -> Client {
        self.depth = depth;
        self
    }

    /// The `git` binary used to push.
    #[must_use]
    pub fn with_git_program(mut self, program: impl Into<PathBuf>) -> Client {
        self.git_program = program.into();
        self
    }

    /// Sign every pushed commit with `signer` (GPG or SSH).
    #[must_use]
    pub fn with_signer(mut self, signer: impl Signer + 'static) -> Client {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The URL to use and the credentials, after moving credentials embedded
    /// in an HTTP URL into basic auth and writing an in-memory SSH key to
    /// files (kept while the returned guard lives).
    fn effective(&self, url: &str) -> Result<(String, Auth, Option<ssh::SshFiles>), Error> {
        let (url, auth) = self.effective_url(url)?;
        match auth {
            Auth::Ssh {
                identity_file,
                known_hosts,
            } => {
                ssh::check_key_file(&identity_file)?;
                let read = |path: &PathBuf| {
                    std::fs::read_to_string(path).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })
                };
                let identity = zeroize::Zeroizing::new(read(&identity_file)?);
                let files = ssh::SshFiles::write(&identity, &read(&known_hosts)?)?;
                let auth = Auth::Ssh {
                    identity_file: files.identity(),
                    known_hosts: files.known_hosts(),
                };
                Ok((url, auth, Some(files)))
            }
            Auth::SshKey {
                identity,
                known_hosts,
            } => {
                let files = ssh::SshFiles::write(&identity, &known_hosts)?;
                let auth = Auth::Ssh {
                    identity_file: files.identity(),
                    known_hosts: files.known_hosts(),
                };
                Ok((url, auth, Some(files)))
            }
            other => Ok((url, other, None)),
        }
    }

    fn effective_url(&self, url: &str) -> Result<(String, Auth), Error> {
        let (clean, creds) = split_credentials(url);
        if url.is_empty() {
            return Err(Error::InvalidUrl {
                url: clean,
                reason: "empty",
            });
        }
        match creds {
            Some((username, password)) if self.auth == Auth::None => {
                // gix must not see the password in the URL: strip the user too
                // and hand both to the credentials callback.
                let bare = match clean.split_once("://") {
                    Some((s, rest)) => {
                        let host = rest.split_once('@').map_or(rest, |(_, h)| h);
                        format!("{s}://{host}")
                    }
                    None => clean.clone(),
                };
                Ok((bare, Auth::Basic { username, password }))
            }
            Some(_) => Ok((clean, self.auth.clone())),
            None => Ok((clean, self.auth.clone())),
        }
    }

    fn overrides(auth: &Auth) -> Vec<String> {
        let mut o = vec![
            "protocol.version=2".to_owned(),
            "gitoxide.credentials.terminalPrompt=false".to_owned(),
        ];
        match auth {
            Auth::Basic { username, password } => {
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                o.push(format!("http.extraHeader=Authorization: Basic {pair}"));
            }
            Auth::Bearer { token } => {
                o.push(format!("http.extraHeader=Authorization: Bearer {token}"))
            }
            Auth::Ssh {
                identity_file,
                known_hosts,
            } => o.push(format!(
                "core.sshCommand={}",
                push::ssh_command(identity_file, known_hosts)
            )),
            Auth::None | Auth::SshKey { .. } => {}
        }
        o
    }

    fn open_repo(path: &Path, auth: &Auth, url: &str) -> Result<gix::Repository, Error> {
        let opts = gix::open::Options::isolated().config_overrides(Client::overrides(auth));
        let repo = if path.join("HEAD").exists() {
            gix::ThreadSafeRepository::open_opts(path, opts)
        } else {
            gix::ThreadSafeRepository::init_opts(
                path,
                gix::create::Kind::Bare,
                gix::create::Options::default(),
                opts,
            )
        };
        repo.map(|r| r.to_thread_local())
            .map_err(|source| Error::Object {
                url: url.to_owned(),
                source,
            })
    }

    fn fetch_err(url: &str, source: gix::Error) -> Error {
        if is_auth_failure(&source) {
            Error::Authentication {
                url: url.to_owned(),
            }
        } else {
            Error::Fetch {
                url: url.to_owned(),
                source,
            }
        }
    }

    fn remote<'r>(
        repo: &'r gix::Repository,
        url: &str,
        refspecs: &[String],
    ) -> Result<gix::Remote<'r>, Error> {
        if url.starts_with("http://") || url.starts_with("https://") {
            // reqwest is built without a default TLS provider; use ring for
            // the whole process unless the application installed one already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let remote = repo
            .remote_at(url)
            .and_then(|r| {
                r.with_refspecs(
                    refspecs.iter().map(String::as_str),
                    gix::remote::Direction::Fetch,
                )
            })
            .map_err(|source| Client::fetch_err(&redact_url(url), source))?;
        Ok(remote.with_fetch_tags(gix::remote::fetch::Tags::None))
    }

    fn connect<'a, 'r>(
        remote: &'a gix::Remote<'r>,
        url: &str,
    ) -> Result<Connection<'a, 'r>, Error> {
        let conn = remote
            .connect(gix::remote::Direction::Fetch)
            .map_err(|source| Client::fetch_err(&redact_url(url), source))?;
        // Credentials travel in `http.extraHeader` (see `overrides`); never
        // ask a helper or a terminal for more.
        Ok(conn.with_credentials(|_| Ok(None)))
    }

    fn list_in(
        repo: &gix::Repository,
        url: &str,
        extra: Option<&str>,
    ) -> Result<Vec<RemoteRef>, Error> {
        let shown = redact_url(url);
        let mut specs = vec![
            "+refs/heads/*:refs/remotes/origin/*".to_owned(),
            "+refs/tags/*:refs/tags/*".to_owned(),
        ];
        if let Some(name) =
            extra.filter(|n| !n.starts_with("refs/heads/") && !n.starts_with("refs/tags/"))
        {
            specs.push(format!("+{name}:refs/gitops/named"));
        }
        let remote = Client::remote(repo, url, &specs)?;
        let conn = Client::connect(&remote, url)?;
        let (map, _) = conn
            .ref_map(gix::progress::Discard, Default::default())
            .map_err(|source| Client::fetch_err(&shown, source))?;
        Ok(map
            .remote_refs
            .iter()
            .filter_map(|r| {
                use gix::protocol::handshake::Ref;
                let (name, target) = match r {
                    Ref::Peeled {
                        full_ref_name,
                        object,
                        ..
                    }
                    | Ref::Direct {
                        full_ref_name,
                        object,
                    }
                    | Ref::Symbolic {
                        full_ref_name,
                        object,
                        ..
                    } => (full_ref_name, object),
                    Ref::Unborn { .. } => return None,
                };
                Some(RemoteRef {
                    name: name.to_string(),
                    target: hex_of(*target),
                })
            })
            .collect())
    }

    fn fetch_in(
        repo: &gix::Repository,
        url: &str,
        refspecs: &[String],
        depth: Option<NonZeroU32>,
    ) -> Result<(), Error> {
        let shown = redact_url(url);
        let remote = Client::remote(repo, url, refspecs)?;
        let conn = Client::connect(&remote, url)?;
        let mut prep = conn
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|source| Client::fetch_err(&shown, source))?;
        if let Some(d) = depth {
            prep = prep.with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(d));
        }
        prep.receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(|source| Client::fetch_err(&shown, source))?;
        Ok(())
    }

    /// The refs a remote advertises (tags peeled to the commit).
    pub fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Error> {
        let (url, auth, keys) = self.effective(url)?;
        let scratch = tempfile::tempdir().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let repo = Client::open_repo(scratch.path(), &auth, &redact_url(&url))?;
        Client::list_in(&repo, &url, None).map_err(|e| ssh::explain(keys.as_ref(), &url, e))
    }

    fn depth(&self, full_history: bool) -> Option<NonZeroU32> {
        if full_history {
            None
        } else {
            NonZeroU32::new(self.depth)
        }
    }

    /// Resolve `opts.reference` on `url`, fetch it and write its tree into
    /// `dest` (created when missing; must be empty otherwise).
    ///
    /// The tree (submodules included) is written into a staging directory
    /// beside `dest`, renamed to `dest` only when complete: a failed or
    /// refused checkout leaves `dest` as it was (missing, or empty).
    ///
    /// With [`CheckoutOptions::recurse_submodules`], submodules are fetched
    /// over `https`, `http`, `ssh` and `git`; local repositories (`file://`
    /// URLs and paths) only when `url` itself is local; `ext::`, `fd::` and
    /// other remote helpers never ([`Error::SubmoduleRefused`]).
    pub fn checkout(
        &self,
        url: &str,
        opts: &CheckoutOptions,
        dest: &Path,
    ) -> Result<CheckoutOutcome, Error> {
        let (url, auth, keys) = self.effective(url)?;
        self.checkout_with(&url, &auth, opts, dest)
            .map_err(|e| ssh::explain(keys.as_ref(), &url, e))
    }

    fn checkout_with(
        &self,
        url: &str,
        auth: &Auth,
        opts: &CheckoutOptions,
        dest: &Path,
    ) -> Result<CheckoutOutcome, Error> {
        let shown = redact_url(url);
        let scratch = tempfile::tempdir().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let repo = Client::open_repo(scratch.path(), auth, &shown)?;
        let extra = match &opts.reference {
            Reference::Name(n) => Some(n.as_str()),
            _ => None,
        };
        let refs = Client::list_in(&repo, url, extra)?;
        let resolved = reference::resolve(&opts.reference, &refs, &shown)?;
        if opts.last_revision.as_ref() == Some(&resolved.revision) {
            return Ok(CheckoutOutcome::Unchanged {
                revision: resolved.revision,
            });
        }
        let staging = archive::Staging::new(dest).map_err(|e| staging_err(dest, e))?;
        let (revision, commit) = self.fetch_resolved(&repo, url, &resolved)?;
        let files = write_commit(
            &repo,
            url,
            auth,
            commit,
            staging.path(),
            opts.recurse_submodules,
            0,
        )?;
        let shallow = repo.is_shallow().map_err(|source| Error::Object {
            url: shown.clone(),
            source,
        })?;
        staging.commit().map_err(|e| staging_err(dest, e))?;
        Ok(CheckoutOutcome::Checked {
            revision,
            files,
            shallow,
        })
    }

    fn fetch_resolved(
        &self,
        repo: &gix::Repository,
        url: &str,
        resolved: &Resolved,
    ) -> Result<(Revision, gix::ObjectId), Error> {
        let shown = redact_url(url);
        let spec = match &resolved.fetch_ref {
            Some(r) => format!("+{r}:refs/gitops/target"),
            None => "+refs/heads/*:refs/gitops/heads/*".to_owned(),
        };
        Client::fetch_in(repo, url, &[spec], self.depth(resolved.full_history))?;
        let obj_err = |source| Error::Object {
            url: shown.clone(),
            source,
        };
        if resolved.full_history {
            let id = gix::ObjectId::from_hex(resolved.commit.as_bytes()).map_err(|_| {
                reference::Error::InvalidCommit {
                    commit: resolved.commit.clone(),
                }
            })?;
            let is_commit = repo
                .try_find_object(id)
                .map_err(obj_err)?
                .is_some_and(|o| o.kind == gix::objs::Kind::Commit);
            if !is_commit {
                return Err(Error::CommitNotFound {
                    url: shown,
                    commit: resolved.commit.clone(),
                });
            }
            return Ok((resolved.revision.clone(), id));
        }
        // The ref may have moved since it was listed: use what was fetched.
        let mut r = repo.find_reference("refs/gitops/target").map_err(obj_err)?;
        let id = r.peel_to_commit().map_err(obj_err)?.id;
        let hex = hex_of(id);
        let revision = if hex == resolved.commit {
            resolved.revision.clone()
        } else {
            Revision::new(resolved.revision.name(), Algorithm::Sha1, &hex).map_err(|_| {
                reference::Error::InvalidCommit {
                    commit: hex.clone(),
                }
            })?
        };
        Ok((revision, id))
    }

    /// Lock the cache and open (or create) the bare repository for `url`.
    fn with_cache<T>(
        &self,
        url: &str,
        auth: &Auth,
        f: impl FnOnce(&gix::Repository, &Path) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(tempfile::tempdir().map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?);
        }
        let base = guard
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_else(std::env::temp_dir);
        let mut h = DefaultHasher::new();
        url.hash(&mut h);
        let path = base.join(format!("{:016x}.git", h.finish()));
        let repo = Client::open_repo(&path, auth, &redact_url(url))?;
        f(&repo, &path)
    }

    /// Make sure `commit` is in `repo`, fetching the ref that points at it
    /// (shallow) or, failing that, every branch with full history.
    fn ensure_commit(
        &self,
        repo: &gix::Repository,
        url: &str,
        commit: gix::ObjectId,
    ) -> Result<(), Error> {
        if repo.has_object(commit) {
            return Ok(());
        }
        let hex = hex_of(commit);
        let refs = Client::list_in(repo, url, None)?;
        match refs.iter().find(|r| r.target == hex) {
            Some(r) => Client::fetch_in(
                repo,
                url,
                &[format!("+{}:refs/gitops/cache/{hex}", r.name)],
                NonZeroU32::new(self.depth),
            )?,
            None => Client::fetch_in(
                repo,
                url,
                &["+refs/heads/*:refs/gitops/heads/*".to_owned()],
                None,
            )?,
        }
        if repo.has_object(commit) {
            Ok(())
        } else {
            Err(Error::CommitNotFound {
                url: redact_url(url),
                commit: hex,
            })
        }
    }
}

/// A staging failure as a checkout error.
fn staging_err(dest: &Path, e: archive::Error) -> Error {
    match e {
        archive::Error::Destination { path } => Error::Destination { path },
        archive::Error::Io { path, source } => Error::Io { path, source },
        other => Error::Io {
            path: dest.to_path_buf(),
            source: std::io::Error::other(other),
        },
    }
}

fn commit_tree(
    repo: &gix::Repository,
    url: &str,
    commit: gix::ObjectId,
) -> Result<gix::ObjectId, Error> {
    let obj_err = |source| Error::Object {
        url: redact_url(url),
        source,
    };
    let c = repo.find_commit(commit).map_err(obj_err)?;
    c.tree_id().map(|t| t.detach()).map_err(obj_err)
}

fn write_commit(
    repo: &gix::Repository,
    url: &str,
    auth: &Auth,
    commit: gix::ObjectId,
    dest: &Path,
    recurse: bool,
    level: usize,
) -> Result<u64, Error> {
    let tree_id = commit_tree(repo, url, commit)?;
    let mut links = Vec::new();
    let mut files = tree::write_dir(repo, url, tree_id, dest, "", &mut links)?;
    if !recurse || links.is_empty() {
        return Ok(files);
    }
    let shown = redact_url(url);
    let modules =
        tree::root_blob(repo, url, tree_id, ".gitmodules")?.ok_or_else(|| Error::Gitmodules {
            url: shown.clone(),
            reason: "submodules present but no .gitmodules file".into(),
        })?;
    let file =
        gix::submodule::File::from_bytes(&modules, None, &Default::default()).map_err(|e| {
            Error::Gitmodules {
                url: shown.clone(),
                reason: e.to_string(),
            }
        })?;
    for link in links {
        let name = file
            .names()
            .find(|n| file.path(n).is_ok_and(|p| p == link.path.as_bytes()))
            .map(ToOwned::to_owned)
            .ok_or_else(|| Error::Gitmodules {
                url: shown.clone(),
                reason: format!("no entry for path {:?}", truncated(&link.path)),
            })?;
        let raw = file
            .config()
            .string_by("submodule", Some(name.as_ref()), "url")
            .ok_or_else(|| Error::Gitmodules {
                url: shown.clone(),
                reason: format!("submodule {:?} has no url", truncated(&name.to_string())),
            })?;
        let raw = raw.to_string();
        let refused = |url: &str, reason| Error::SubmoduleRefused {
            path: truncated(&link.path).into_owned(),
            url: truncated(&redact_url(url)).into_owned(),
            reason,
        };
        submodule::check_path(&link.path).map_err(|reason| refused(&raw, reason))?;
        let sub_url = submodule::resolve(url, &raw).map_err(|reason| refused(&raw, reason))?;
        submodule::check(url, &sub_url).map_err(|reason| refused(&sub_url, reason))?;
        let wrap = |source: Error| Error::Submodule {
            path: truncated(&link.path).into_owned(),
            url: truncated(&redact_url(&sub_url)).into_owned(),
            source: Box::new(source),
        };
        if level + 1 > MAX_SUBMODULE_DEPTH {
            return Err(wrap(Error::Gitmodules {
                url: redact_url(&sub_url),
                reason: format!("more than {MAX_SUBMODULE_DEPTH} levels of submodules"),
            }));
        }
        let scratch = tempfile::tempdir().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let sub_repo =
            Client::open_repo(scratch.path(), auth, &redact_url(&sub_url)).map_err(wrap)?;
        let client = Client::new().with_auth(auth.clone());
        client
            .ensure_commit(&sub_repo, &sub_url, link.commit)
            .map_err(wrap)?;
        let sub_dest = dest.join(&link.path);
        files += write_commit(
            &sub_repo,
            &sub_url,
            auth,
            link.commit,
            &sub_dest,
            true,
            level + 1,
        )
        .map_err(wrap)?;
    }
    Ok(files)
}

impl GitTransport for Client {
    type Error = Error;

    fn list_refs(&self, url: &str) -> Result<Vec<RemoteRef>, Error> {
        Client::list_refs(self, url)
    }

    fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Error> {
        let (url, auth, keys) = self.effective(url)?;
        let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(|_| {
            reference::Error::InvalidCommit {
                commit: commit.to_owned(),
            }
        })?;
        self.with_cache(&url, &auth, |repo, _| {
            self.ensure_commit(repo, &url, id)?;
            let tree_id = commit_tree(repo, &url, id)?;
            let mut out = MemTree::new();
            tree::to_mem(repo, &url, tree_id, "", &mut out)?;
            Ok(out)
        })
        .map_err(|e| ssh::explain(keys.as_ref(), &url, e))
    }

    fn push_commit(&self, url: &str, req: &CommitRequest) -> Result<PushOutcome, Error> {
        let (url, auth, keys) = self.effective(url)?;
        let parent = gix::ObjectId::from_hex(req.parent.as_bytes()).map_err(|_| {
            reference::Error::InvalidCommit {
                commit: req.parent.clone(),
            }
        })?;
        self.with_cache(&url, &auth, |repo, path| {
            self.ensure_commit(repo, &url, parent)?;
            let git = push::Git {
                program: &self.git_program,
                git_dir: path,
                url: &url,
                auth: &auth,
            };
            push::commit_and_push(&git, req, self.signer.as_deref(), || {
                Ok(Client::list_in(repo, &url, None)?
                    .into_iter()
                    .find(|r| r.name == format!("refs/heads/{}", req.branch))
                    .map(|r| r.target))
            })
        })
        .map_err(|e| ssh::explain(keys.as_ref(), &url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_and_redacted() {
        assert_eq!(
            split_credentials("https://bot:s3cret@git.example.com/org/repo.git"),
            (
                "https://bot@git.example.com/org/repo.git".to_owned(),
                Some(("bot".to_owned(), "s3cret".to_owned()))
            )
        );
        assert_eq!(redact_url("git://h/r.git"), "git://h/r.git");
        assert_eq!(redact_url("ssh://git@h/r.git"), "ssh://git@h/r.git");
        let c = Client::new();
        let (u, a, _) = c.effective("https://bot:s3cret@h/r.git").unwrap();
        assert_eq!(u, "https://h/r.git");
        assert!(matches!(a, Auth::Basic { .. }));
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
