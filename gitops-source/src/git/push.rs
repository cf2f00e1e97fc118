//! Commit and push through the `git` binary.
//!
//! gix cannot push (gitoxide#306), so [`super::Client`] writes the commit
//! with `git` plumbing in its cache repository (`read-tree`, `hash-object`,
//! `update-index`, `write-tree`, and the commit object written by hand so a
//! [`Signer`] can add a `gpgsig` header), then runs a plain `git push` —
//! never `--force`: a push whose parent is no longer the branch head is
//! rejected by the server as non-fast-forward and reported as
//! [`PushOutcome::Rejected`].
//!
//! `git` runs isolated from the user's configuration (`GIT_CONFIG_NOSYSTEM`,
//! `GIT_CONFIG_GLOBAL=/dev/null`, no terminal prompt); credentials travel in
//! `GIT_CONFIG_*` environment variables or `GIT_SSH_COMMAND`, never on the
//! command line, and are scrubbed from anything git prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use gitops_core::git::{CommitRequest, PushOutcome};

use super::{Auth, Error, redact_url};

/// Why a [`Signer`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signing program could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The signing program failed.
    #[error("{program} failed: {stderr}")]
    Failed {
        /// The program.
        program: PathBuf,
        /// What it printed.
        stderr: String,
    },
}

/// A commit signing hook: returns the armored detached signature of the
/// commit object `payload`, stored in the commit's `gpgsig` header.
/// Implement it for GPG (`gpg --detach-sign --armor`) or use [`SshSigner`].
pub trait Signer: Send + Sync {
    /// Sign `payload`.
    fn sign(&self, payload: &[u8]) -> Result<String, SignError>;
}

/// Signs with an SSH key through `ssh-keygen -Y sign -n git`, like git's
/// `gpg.format=ssh`.
#[derive(Debug, Clone)]
pub struct SshSigner {
    key: PathBuf,
    program: PathBuf,
}

impl SshSigner {
    /// Sign with the private key file `key`.
    pub fn new(key: impl Into<PathBuf>) -> SshSigner {
        SshSigner {
            key: key.into(),
            program: PathBuf::from("ssh-keygen"),
        }
    }
}

impl Signer for SshSigner {
    fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        let out = run_with_input(
            Command::new(&self.program)
                .args(["-Y", "sign", "-n", "git", "-f"])
                .arg(&self.key),
            payload,
        )
        .map_err(|source| SignError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        if !out.status.success() {
            return Err(SignError::Failed {
                program: self.program.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn run_with_input(cmd: &mut Command, input: &[u8]) -> std::io::Result<std::process::Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let data = input.to_vec();
    // Write from a thread so a child that fills its stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| std::io::Error::other("stdin writer panicked"))??;
    Ok(out)
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// The `ssh` command line for a key and a known-hosts file: no user or
/// system configuration, no agent keys, no prompt, only these host keys.
/// Git and gix run it through the shell with the arguments after it; its
/// stderr goes to [`super::ssh::log_path`] so a failure can be explained.
pub(crate) fn ssh_command(identity: &Path, known_hosts: &Path) -> String {
    format!(
        "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null 2>>{}",
        shell_quote(identity),
        shell_quote(known_hosts),
        shell_quote(&super::ssh::log_path(known_hosts))
    )
}

/// One `git` invocation context.
pub(crate) struct Git<'a> {
    pub program: &'a Path,
    pub git_dir: &'a Path,
    pub url: &'a str,
    pub auth: &'a Auth,
}

impl Git<'_> {
    fn command(&self, index: Option<&Path>) -> Command {
        let mut c = Command::new(self.program);
        c.env("GIT_DIR", self.git_dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env_remove("GIT_SSH")
            .env_remove("GIT_SSH_COMMAND")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_PROTOCOL_FROM_USER", "0");
        if let Some(i) = index {
            c.env("GIT_INDEX_FILE", i);
        }
        let mut config: Vec<(String, String)> = vec![("protocol.version".into(), "2".into())];
        // GIT_PROTOCOL_FROM_USER=0 keeps `file://` off for URLs git finds
        // on its own (submodules); the remote pushed to is the caller's own
        // choice, so a `file://` remote is allowed explicitly.
        if self.url.starts_with("file://") {
            config.push(("protocol.file.allow".into(), "always".into()));
        }
        match self.auth {
            Auth::Basic { username, password } => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                config.push((
                    "http.extraHeader".into(),
                    format!("Authorization: Basic {token}"),
                ));
            }
            Auth::Bearer { token } => {
                config.push((
                    "http.extraHeader".into(),
                    format!("Authorization: Bearer {token}"),
                ));
            }
            Auth::Ssh {
                identity_file,
                known_hosts,
            } => {
                c.env("GIT_SSH_COMMAND", ssh_command(identity_file, known_hosts));
            }
            Auth::None | Auth::SshKey { .. } => {}
        }
        c.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (k, v)) in config.iter().enumerate() {
            c.env(format!("GIT_CONFIG_KEY_{i}"), k);
            c.env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        c
    }

    fn scrub(&self, text: &str) -> String {
        let mut t = text.trim().to_owned();
        for s in self.auth.secrets() {
            if !s.is_empty() {
                t = t.replace(s, "<redacted>");
            }
        }
        t
    }

    /// Run `git args…`, feeding `input`, and return stdout.
    fn run(&self, args: &[&str], index: Option<&Path>, input: &[u8]) -> Result<Vec<u8>, Error> {
        let out = run_with_input(self.command(index).args(args), input).map_err(|source| {
            Error::Spawn {
                program: self.program.to_path_buf(),
                source,
            }
        })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(Error::GitCommand {
                url: redact_url(self.url),
                command: args.first().copied().unwrap_or_default().to_owned(),
                stderr: self.scrub(&String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    fn run_text(&self, args: &[&str], index: Option<&Path>, input: &[u8]) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.run(args, index, input)?)
            .trim()
            .to_owned())
    }
}

fn check_ident(s: &str) -> Result<(), Error> {
    if s.contains(['<', '>', '\n', '\r', '\0']) {
        Err(Error::InvalidAuthor(s.to_owned()))
    } else {
        Ok(())
    }
}

/// Build the commit of `req` in the cache repository and push it.
/// `remote_head` is asked after a rejection.
pub(crate) fn commit_and_push(
    git: &Git<'_>,
    req: &CommitRequest,
    signer: Option<&dyn Signer>,
    remote_head: impl FnOnce() -> Result<Option<String>, Error>,
) -> Result<PushOutcome, Error> {
    check_ident(&req.author.name)?;
    check_ident(&req.author.email)?;
    let scratch = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let index = scratch.path().join("index");
    git.run(&["read-tree", &req.parent], Some(&index), b"")?;
    // Keep the executable bit of files that exist already.
    let staged = git.run(&["ls-files", "-s", "-z"], Some(&index), b"")?;
    let mut modes = std::collections::HashMap::new();
    for rec in staged.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        if let Some((meta, path)) = rec.split_once('\t') {
            let mode = meta.split(' ').next().unwrap_or("100644").to_owned();
            modes.insert(path.to_owned(), mode);
        }
    }
    let mut index_info = Vec::new();
    for (path, bytes) in &req.files {
        let blob = git.run_text(&["hash-object", "-w", "--stdin"], None, bytes)?;
        let mode = match modes.get(path.as_str()).map(String::as_str) {
            Some("100755") => "100755",
            _ => "100644",
        };
        index_info.extend_from_slice(format!("{mode} {blob}\t{}", path.as_str()).as_bytes());
        index_info.push(0);
    }
    git.run(
        &["update-index", "-z", "--index-info"],
        Some(&index),
        &index_info,
    )?;
    let tree = git.run_text(&["write-tree"], Some(&index), b"")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let who = format!("{} <{}> {now} +0000", req.author.name, req.author.email);
    let header = format!(
        "tree {tree}\nparent {}\nauthor {who}\ncommitter {who}\n",
        req.parent
    );
    let mut message = req.message.clone();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    let object = match signer {
        Some(s) => {
            let payload = format!("{header}\n{message}");
            let sig = s.sign(payload.as_bytes())?;
            let sig = sig.trim_end().replace('\n', "\n ");
            format!("{header}gpgsig {sig}\n\n{message}")
        }
        None => format!("{header}\n{message}"),
    };
    let commit = git.run_text(
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        None,
        object.as_bytes(),
    )?;
    let refspec = format!("{commit}:refs/heads/{}", req.branch);
    match git.run(&["push", git.url, &refspec], None, b"") {
        Ok(_) => Ok(PushOutcome::Pushed { commit }),
        Err(Error::GitCommand {
            stderr,
            url,
            command,
        }) => {
            // Lost the race: the server refused a non-fast-forward, or two
            // receive-packs collided on the ref lock.
            let rejected = stderr.contains("[rejected]")
                || (stderr.contains("[remote rejected]")
                    && (stderr.contains("cannot lock ref")
                        || stderr.contains("failed to update ref")));
            if rejected {
                let head = remote_head()?.unwrap_or_default();
                Ok(PushOutcome::Rejected { remote_head: head })
            } else {
                Err(Error::GitCommand {
                    url,
                    command,
                    stderr,
                })
            }
        }
        Err(e) => Err(e),
    }
}
