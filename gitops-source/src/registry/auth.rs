//! Registry credentials: anonymous, basic, bearer token, and Docker's
//! `config.json`.
//!
//! ```
//! use gitops_source::registry::{Credentials, Keychain};
//!
//! let config = br#"{"auths": {"localhost:5000": {"auth": "dXNlcjpzM2NyZXQ="}}}"#;
//! let keychain = Keychain::from_docker_config(config, "config.json")?;
//! assert_eq!(
//!     keychain.get("localhost:5000"),
//!     Credentials::basic("user", "s3cret")
//! );
//! assert_eq!(keychain.get("ghcr.io"), Credentials::Anonymous);
//! // Secrets never show up in debug output.
//! assert!(!format!("{keychain:?}").contains("s3cret"));
//! # Ok::<(), gitops_source::registry::Error>(())
//! ```
//!
//! # Credential helpers
//! Docker credential helpers (`credHelpers` per registry, `credsStore` for all)
//! are programs named `docker-credential-<name>`. [`Keychain::resolve`] runs
//! one as Docker does (`get`, the registry host on stdin, JSON
//! `{"Username", "Secret"}` on stdout; "credentials not found" means
//! anonymous), at most once per host and client, and bounded in time. The
//! order: a per-registry helper, then inline `auths` credentials, then the
//! `credsStore` helper, then the default. [`Keychain::get`] never runs a
//! program: it only sees inline credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;

use super::Error;

/// How long a credential helper may take to answer.
const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How to authenticate to one registry.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials; anonymous bearer tokens are still fetched when the
    /// registry asks for them.
    #[default]
    Anonymous,
    /// User name and password (or a personal access token as password): sent
    /// as HTTP basic auth, or exchanged for a bearer token.
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// A ready bearer token (an identity/registry token), sent as is.
    Bearer {
        /// The token.
        token: String,
    },
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// A bearer token.
    pub fn bearer(token: &str) -> Credentials {
        Credentials::Bearer {
            token: token.to_owned(),
        }
    }

    /// True for [`Credentials::Anonymous`].
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credentials::Anonymous)
    }

    /// The `Authorization` header value for HTTP basic auth, if basic.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

/// Credentials per registry host, with a default for every other host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Keychain {
    hosts: BTreeMap<String, Credentials>,
    default: Credentials,
    helpers: BTreeMap<String, String>,
    helper_dir: Option<std::path::PathBuf>,
}

impl Keychain {
    /// A keychain that is anonymous everywhere.
    pub fn anonymous() -> Keychain {
        Keychain::default()
    }

    /// A keychain that uses `credentials` for every registry.
    pub fn with_default(credentials: Credentials) -> Keychain {
        Keychain {
            default: credentials,
            ..Keychain::default()
        }
    }

    /// Set the credentials of one registry host (`host[:port]`).
    #[must_use]
    pub fn with(mut self, host: &str, credentials: Credentials) -> Keychain {
        self.hosts.insert(normalize_host(host), credentials);
        self
    }

    /// The credentials for `host` (`host[:port]`).
    pub fn get(&self, host: &str) -> Credentials {
        let host = normalize_host(host);
        self.hosts
            .get(&host)
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }

    /// Registry hosts whose credentials a Docker credential helper holds
    /// (host → helper name; `*` is the `credsStore` for every host).
    pub fn helpers(&self) -> &BTreeMap<String, String> {
        &self.helpers
    }

    /// Look for `docker-credential-<name>` programs in `dir` instead of `PATH`.
    #[must_use]
    pub fn with_helper_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Keychain {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The credentials for `host`, running a Docker credential helper when the
    /// config names one for it (see the module docs for the order).
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper cannot be run, fails, times
    /// out or answers something that is not its JSON; the message never holds
    /// the secret.
    pub fn resolve(&self, host: &str) -> Result<Credentials, Error> {
        let host = normalize_host(host);
        if let Some(helper) = self.helpers.get(&host) {
            return self.run_helper(helper, &host);
        }
        if let Some(c) = self.hosts.get(&host) {
            return Ok(c.clone());
        }
        if let Some(helper) = self.helpers.get("*") {
            return self.run_helper(helper, &host);
        }
        Ok(self.default.clone())
    }

    fn run_helper(&self, helper: &str, host: &str) -> Result<Credentials, Error> {
        use std::io::{Read as _, Write as _};
        use std::process::{Command, Stdio};

        let fail = |reason: String| Error::CredentialHelper {
            helper: helper.to_owned(),
            host: host.to_owned(),
            reason,
        };
        if helper.is_empty()
            || !helper
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(fail(
                "the helper name may only hold letters, digits, '-', '_' and '.'".to_owned(),
            ));
        }
        let program = format!("docker-credential-{helper}");
        let program = match &self.helper_dir {
            Some(dir) => dir.join(program),
            None => std::path::PathBuf::from(program),
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is judged by its output.
            let _ = stdin.write_all(host.as_bytes());
        }
        let mut stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(1 << 20).read_to_end(&mut out);
            }
            out
        });
        let deadline = std::time::Instant::now() + HELPER_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "no answer within {} s",
                        HELPER_TIMEOUT.as_secs()
                    )));
                }
                Err(e) => return Err(fail(format!("cannot wait for it: {e}"))),
            }
        };
        let out = reader.join().unwrap_or_default();
        if !status.success() {
            // Docker's helpers say "credentials not found" on stdout for a
            // registry they hold nothing for: anonymous access, as in Docker.
            if String::from_utf8_lossy(&out).contains("credentials not found") {
                return Ok(Credentials::Anonymous);
            }
            return Err(fail(format!("it exited with {status}")));
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&out).map_err(|_| fail("its answer is not JSON".to_owned()))?;
        let field = |name: &str| doc.get(name).and_then(|v| v.as_str()).unwrap_or("");
        match (field("Username"), field("Secret")) {
            (_, "") => Ok(Credentials::Anonymous),
            (user, secret) => Ok(Credentials::basic(user, secret)),
        }
    }

    /// Read a Docker `config.json` (`auths` with `auth` = base64
    /// `user:password`, or `username`/`password`, or `identitytoken`/
    /// `registrytoken`). `origin` names the file in errors.
    ///
    /// # Errors
    /// [`Error::DockerConfig`] when the JSON or an `auth` entry is malformed.
    pub fn from_docker_config(json: &[u8], origin: &str) -> Result<Keychain, Error> {
        let bad = |reason: String| Error::DockerConfig {
            path: origin.to_owned(),
            reason,
        };
        let doc: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let mut keychain = Keychain::default();
        if let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) {
            for (key, entry) in auths {
                let host = normalize_host(key);
                let field = |name: &str| {
                    entry
                        .get(name)
                        .and_then(|v| v.as_str())
                        .filter(|s| !s.is_empty())
                };
                let creds = if let Some(token) = field("registrytoken") {
                    Credentials::bearer(token)
                } else if let Some(encoded) = field("auth") {
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .map_err(|_| bad(format!("auths.{key:?}.auth is not base64")))?;
                    let text = String::from_utf8(raw)
                        .map_err(|_| bad(format!("auths.{key:?}.auth is not UTF-8")))?;
                    let (user, pass) = text.split_once(':').ok_or_else(|| {
                        bad(format!(
                            "auths.{key:?}.auth does not decode to user:password"
                        ))
                    })?;
                    match field("identitytoken") {
                        // Docker sends the identity token as a refresh token
                        // to the token service; basic with it works for
                        // distribution-compatible token servers.
                        Some(token) => Credentials::basic(user, token),
                        None => Credentials::basic(user, pass),
                    }
                } else if let (Some(user), Some(pass)) = (field("username"), field("password")) {
                    Credentials::basic(user, pass)
                } else if let Some(token) = field("identitytoken") {
                    Credentials::basic("<token>", token)
                } else {
                    continue;
                };
                keychain.hosts.insert(host, creds);
            }
        }
        if let Some(store) = doc.get("credsStore").and_then(|s| s.as_str()) {
            keychain.helpers.insert("*".to_owned(), store.to_owned());
        }
        if let Some(helpers) = doc.get("credHelpers").and_then(|h| h.as_object()) {
            for (host, helper) in helpers {
                if let Some(name) = helper.as_str() {
                    keychain
                        .helpers
                        .insert(normalize_host(host), name.to_owned());
                }
            }
        }
        Ok(keychain)
    }

    /// Read a Docker `config.json` from disk.
    ///
    /// # Errors
    /// [`Error::DockerConfig`] when the file cannot be read or parsed.
    pub fn from_docker_config_file(path: &Path) -> Result<Keychain, Error> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| Error::DockerConfig {
            path: origin.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Keychain::from_docker_config(&bytes, &origin)
    }

    /// The Docker config Docker itself would read: `$DOCKER_CONFIG/config.json`
    /// or `$HOME/.docker/config.json`; anonymous when neither exists.
    ///
    /// # Errors
    /// [`Error::DockerConfig`] when the file exists but cannot be parsed.
    pub fn from_default_docker_config() -> Result<Keychain, Error> {
        let dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(d) => std::path::PathBuf::from(d),
            None => match std::env::var_os("HOME") {
                Some(h) => std::path::PathBuf::from(h).join(".docker"),
                None => return Ok(Keychain::anonymous()),
            },
        };
        let path = dir.join("config.json");
        if path.is_file() {
            Keychain::from_docker_config_file(&path)
        } else {
            Ok(Keychain::anonymous())
        }
    }
}

impl fmt::Debug for Keychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keychain")
            .field("hosts", &self.hosts)
            .field("default", &self.default)
            .field("helpers", &self.helpers)
            .finish()
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/x` → `host:5000`.
fn normalize_host(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=…`.
    Basic,
    /// `Bearer realm=…,service=…,scope=…`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse the first Basic or Bearer challenge of a `WWW-Authenticate` value.
pub(crate) fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// `k="v", k2=v2` → pairs; quoted values may hold commas and `\"`.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    _ => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_owned(), val.trim().to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn docker_config() {
        let json = br#"{
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dTpw"},
                "ghcr.io": {"username": "me", "password": "tok"},
                "quay.io": {"registrytoken": "rt"},
                "empty.io": {}
            },
            "credHelpers": {"gcr.io": "gcloud"}
        }"#;
        let k = Keychain::from_docker_config(json, "c.json").unwrap();
        assert_eq!(k.get("docker.io"), Credentials::basic("u", "p"));
        assert_eq!(k.get("GHCR.io"), Credentials::basic("me", "tok"));
        assert_eq!(k.get("quay.io"), Credentials::bearer("rt"));
        assert_eq!(k.get("empty.io"), Credentials::Anonymous);
        assert_eq!(
            k.helpers().get("gcr.io").map(String::as_str),
            Some("gcloud")
        );
        let err = Keychain::from_docker_config(br#"{"auths": {"x": {"auth": "!!"}}}"#, "c.json")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "docker config c.json: auths.\"x\".auth is not base64"
        );
        let err =
            Keychain::from_docker_config(br#"{"auths": {"x": {"auth": "dXNlcg=="}}}"#, "c.json")
                .unwrap_err();
        assert!(err.to_string().contains("does not decode to user:password"));
    }

    #[test]
    fn basic_header() {
        assert_eq!(
            Credentials::basic("user", "pass").basic_header().unwrap(),
            "Basic dXNlcjpwYXNz"
        );
        assert!(!format!("{:?}", Credentials::bearer("s3cr3t")).contains("s3cr3t"));
    }

    /// Write an executable `docker-credential-<name>` shell script into `dir`.
    fn helper(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write helper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod helper");
    }

    #[test]
    fn credential_helpers_run_as_docker_runs_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Answers for the host it reads on stdin, "not found" for others.
        helper(
            dir.path(),
            "pass",
            r#"[ "$1" = get ] || exit 3
read host
case "$host" in
  ghcr.io) printf '{"ServerURL":"%s","Username":"bot","Secret":"s3cret"}' "$host" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#,
        );
        helper(dir.path(), "broken", "echo 's3cret leaked?' >&2; exit 4");
        let config = br#"{
            "auths": {"localhost:5000": {"auth": "dXNlcjpzM2NyZXQ="}},
            "credsStore": "pass",
            "credHelpers": {"quay.io": "broken"}
        }"#;
        let keychain = Keychain::from_docker_config(config, "config.json")
            .expect("config")
            .with_helper_dir(dir.path());
        // The store answers for ghcr.io and knows nothing of docker.io.
        assert_eq!(
            keychain.resolve("ghcr.io").expect("ghcr"),
            Credentials::basic("bot", "s3cret")
        );
        assert_eq!(
            keychain.resolve("docker.io").expect("docker.io"),
            Credentials::Anonymous
        );
        // Inline credentials win over the store.
        assert_eq!(
            keychain.resolve("localhost:5000").expect("inline"),
            Credentials::basic("user", "s3cret")
        );
        // A failing per-registry helper is an error that names it, no secret.
        let err = keychain.resolve("quay.io").expect_err("broken helper");
        let msg = err.to_string();
        assert!(
            msg.contains("docker-credential-broken") && msg.contains("quay.io"),
            "{msg}"
        );
        assert!(!msg.contains("s3cret"), "{msg}");
        // `get` never runs a program.
        assert_eq!(keychain.get("ghcr.io"), Credentials::Anonymous);
    }

    #[test]
    fn credential_helper_names_cannot_be_paths() {
        let config = br#"{"credHelpers": {"ghcr.io": "../../bin/sh"}}"#;
        let keychain = Keychain::from_docker_config(config, "config.json").expect("config");
        let err = keychain.resolve("ghcr.io").expect_err("path as helper");
        assert!(err.to_string().contains("may only hold"), "{err}");
        let missing = Keychain::from_docker_config(br#"{"credsStore": "nope-xyz"}"#, "c")
            .expect("config")
            .resolve("ghcr.io")
            .expect_err("missing helper");
        assert!(
            missing
                .to_string()
                .contains("cannot run docker-credential-nope-xyz"),
            "{missing}"
        );
    }
}
