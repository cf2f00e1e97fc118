//! The Secret `flux create secret git NAME --export` prints (flux2
//! `cmd/flux/create_secret_git.go`, `pkg/manifestgen/sourcesecret`).
//!
//! For `ssh://` URLs the Secret holds `identity` (the private key, PKCS#8
//! PEM when Flux generates it), `identity.pub` (the public key, one
//! `authorized_keys` line) and `known_hosts`; for `http(s)://` it holds
//! `username` + `password` or `bearerToken`, and `ca.crt`. Everything goes
//! in `stringData`, keys sorted, printed as `---`, the YAML and one empty
//! line (the Flux CLI prints the manifest with `Println`).
//!
//! This builder is pure: the key pair comes in as text (generate it at the
//! edge, e.g. with `gitops_source::git::ssh::KeyPair`), and so does the
//! known-hosts file.
//!
//! ```
//! use gitops_render::flux::create::{Meta, secret::{self, GitSecret, GitSecretKind, SshKeyPair}};
//!
//! let meta = Meta::new("podinfo-auth", "flux-system");
//! let flags = GitSecret {
//!     url: "ssh://git@example.com:2222/org/podinfo".into(),
//!     known_hosts: Some("# scanned\n[example.com]:2222 ssh-ed25519 AAAAC3Nza\nother.com ssh-ed25519 AAAAB\n".into()),
//!     ..GitSecret::default()
//! };
//! assert_eq!(secret::git_secret_kind(&meta, &flags)?, GitSecretKind::Ssh);
//! let key = SshKeyPair {
//!     private_key: "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n".into(),
//!     public_key: "ssh-ed25519 AAAAC3Nz\n".into(),
//! };
//! let obj = secret::git_secret(&meta, &flags, Some(&key))?;
//! assert_eq!(
//!     secret::export(&obj),
//!     "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: podinfo-auth\n  namespace: flux-system\n\
//!      stringData:\n  identity: |\n    -----BEGIN PRIVATE KEY-----\n    MC4C\n    -----END PRIVATE KEY-----\n  \
//!      identity.pub: |\n    ssh-ed25519 AAAAC3Nz\n  known_hosts: '[example.com]:2222 ssh-ed25519 AAAAC3Nza'\n\n"
//! );
//! # Ok::<(), gitops_render::flux::create::Error>(())
//! ```
//!
//! # Deviations
//! - Flux scans the server for its host key; here the known-hosts file is
//!   an input ([`GitSecret::known_hosts`], `--known-hosts FILE`), and the
//!   lines for the URL's host are taken from it (every key type listed,
//!   where Flux keeps the one key the scan negotiated). Hashed entries
//!   (`|1|…`) are not matched.
//! - `--password` with an SSH URL (a passphrase for `--private-key-file`)
//!   is refused: encrypted keys are not read.

use super::{Error, Meta, map, nonempty, s, validate};
use crate::value::{Map, Value};

/// Flags of `flux create secret git`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitSecret {
    /// `--url` (`ssh`, `http` or `https`).
    pub url: String,
    /// `--username` (HTTP basic auth).
    pub username: Option<String>,
    /// `--password` (HTTP basic auth).
    pub password: Option<String>,
    /// `--bearer-token`.
    pub bearer_token: Option<String>,
    /// The content of `--ca-crt-file` (HTTPS only).
    pub ca_crt: Option<String>,
    /// The content of the known-hosts file (`--known-hosts`; SSH only).
    pub known_hosts: Option<String>,
}

/// A key pair as text, as it goes into the Secret.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SshKeyPair {
    /// `identity`: the private key.
    pub private_key: String,
    /// `identity.pub`: `<algorithm> <base64>` and a newline.
    pub public_key: String,
}

impl std::fmt::Debug for SshKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshKeyPair")
            .field("private_key", &"<redacted>")
            .field("public_key", &self.public_key)
            .finish()
    }
}

/// What kind of credentials the URL needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitSecretKind {
    /// `ssh://`: a key pair and known hosts.
    Ssh,
    /// `http(s)://`: basic auth or a bearer token.
    Http,
}

/// `knownhosts.Normalize` of Go's x/crypto/ssh for the host of a URL:
/// `host` on port 22, `[host]:port` otherwise.
pub fn known_hosts_entry(url_host: &str) -> String {
    let (host, port) = split_host_port(url_host);
    let port = port.unwrap_or("22");
    if port != "22" {
        format!("[{host}]:{port}")
    } else if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn split_host_port(h: &str) -> (&str, Option<&str>) {
    if let Some(rest) = h.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':').filter(|p| !p.is_empty()));
        }
        return (h, None);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && !port.is_empty() => (host, Some(port)),
        _ => (h, None),
    }
}

/// OpenSSH host pattern matching: `*` and `?` wildcards, case-insensitive.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p.eq_ignore_ascii_case(t) => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// The lines of a known-hosts file that apply to `entry` (see
/// [`known_hosts_entry`]), rewritten as `<entry> <key type> <key>` like
/// Flux's scan writes them; `None` when no line applies.
pub fn select_known_hosts(text: &str, entry: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(patterns), Some(kind), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut matched = false;
        for p in patterns.split(',') {
            if let Some(neg) = p.strip_prefix('!') {
                if glob(neg.as_bytes(), entry.as_bytes()) {
                    matched = false;
                    break;
                }
            } else if glob(p.as_bytes(), entry.as_bytes()) {
                matched = true;
            }
        }
        let l = format!("{entry} {kind} {key}");
        if matched && !out.contains(&l) {
            out.push(l);
        }
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

/// Check the flags in the Flux CLI's order (name, URL, labels, scheme,
/// credentials) and say which credentials the URL takes: call this before
/// generating a key, then [`git_secret`].
pub fn git_secret_kind(meta: &Meta, o: &GitSecret) -> Result<GitSecretKind, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    if o.url.is_empty() {
        return Err(Error::Flags {
            flag: "url",
            message: "url is required",
        });
    }
    if let Some(e) = validate::url_parse_error(&o.url) {
        return Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!("git URL parse failed: {e}"),
        });
    }
    validate::labels(&meta.labels)?;
    let u = validate::url_parts(&o.url);
    match u.scheme.as_str() {
        "ssh" => {
            if nonempty(&o.password).is_some() {
                return Err(Error::Flags {
                    flag: "password",
                    message: "--password (a private key passphrase) is not supported: decrypt the key first",
                });
            }
            let Some(text) = o.known_hosts.as_deref() else {
                return Err(Error::Flags {
                    flag: "known-hosts",
                    message: "--known-hosts is required for Git over SSH (the host is not scanned; write the file with e.g. `ssh-keyscan -p PORT HOST`)",
                });
            };
            let entry = known_hosts_entry(&u.host);
            if select_known_hosts(text, &entry).is_none() {
                return Err(Error::Invalid {
                    flag: "known-hosts",
                    value: entry.clone(),
                    reason: format!(
                        "no host key for {entry} in the known_hosts file (hashed entries are not read)"
                    ),
                });
            }
            Ok(GitSecretKind::Ssh)
        }
        "http" | "https" => {
            let (user, pass, token) = (
                nonempty(&o.username),
                nonempty(&o.password),
                nonempty(&o.bearer_token),
            );
            if (user.is_none() || pass.is_none()) && token.is_none() {
                return Err(Error::Flags {
                    flag: "username",
                    message: "for Git over HTTP/S the username and password, or a bearer token is required",
                });
            }
            if user.is_some() && pass.is_some() && token.is_some() {
                return Err(Error::Flags {
                    flag: "bearer-token",
                    message: "user credentials and bearer token cannot be used together",
                });
            }
            Ok(GitSecretKind::Http)
        }
        other => Err(Error::Invalid {
            flag: "url",
            value: o.url.clone(),
            reason: format!("git URL scheme '{other}' not supported, can be: ssh, http and https"),
        }),
    }
}

/// The Secret of `flux create secret git` (`v1` `Secret`, `stringData`).
/// `key` is required for `ssh://` URLs and ignored otherwise.
pub fn git_secret(meta: &Meta, o: &GitSecret, key: Option<&SshKeyPair>) -> Result<Value, Error> {
    let kind = git_secret_kind(meta, o)?;
    let labels = validate::labels(&meta.labels)?;
    let mut data = Map::new();
    match kind {
        GitSecretKind::Ssh => {
            let Some(key) = key else {
                return Err(Error::Flags {
                    flag: "private-key-file",
                    message: "an SSH key pair is required for Git over SSH",
                });
            };
            let entry = known_hosts_entry(&validate::url_parts(&o.url).host);
            let hosts = o
                .known_hosts
                .as_deref()
                .and_then(|t| select_known_hosts(t, &entry))
                .unwrap_or_default();
            data.insert("identity", s(&key.private_key));
            data.insert("identity.pub", s(&key.public_key));
            data.insert("known_hosts", s(&hosts));
        }
        GitSecretKind::Http => {
            if let (Some(u), Some(p)) = (nonempty(&o.username), nonempty(&o.password)) {
                data.insert("username", s(u));
                data.insert("password", s(p));
            }
            if let Some(t) = nonempty(&o.bearer_token) {
                data.insert("bearerToken", s(t));
            }
            if let Some(ca) = nonempty(&o.ca_crt) {
                data.insert("ca.crt", s(ca));
            }
        }
    }
    let mut md = Map::new();
    md.insert("name", s(&meta.name));
    if !meta.namespace.is_empty() {
        md.insert("namespace", s(&meta.namespace));
    }
    if !labels.is_empty() {
        let mut lm = Map::new();
        for (k, v) in labels {
            lm.insert(k, s(&v));
        }
        md.insert("labels", Value::Map(lm));
    }
    Ok(map(vec![
        ("apiVersion", s("v1")),
        ("kind", s("Secret")),
        ("metadata", Value::Map(md)),
        ("stringData", Value::Map(data)),
    ]))
}

/// The Secret as `flux create secret … --export` prints it: `---`, the
/// YAML, then an empty line.
pub fn export(obj: &Value) -> String {
    format!("---\n{}\n", crate::emit::to_yaml(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_hosts_like_go() {
        assert_eq!(known_hosts_entry("github.com"), "github.com");
        assert_eq!(known_hosts_entry("github.com:22"), "github.com");
        assert_eq!(known_hosts_entry("127.0.0.1:2222"), "[127.0.0.1]:2222");
        assert_eq!(known_hosts_entry("[::1]"), "[::1]");
        assert_eq!(known_hosts_entry("[::1]:2222"), "[::1]:2222");
    }

    #[test]
    fn selects_lines_for_the_host() {
        let text = "\
# comment
|1|abc=|def= ssh-rsa AAAAhashed
@revoked github.com ssh-rsa AAAArevoked
github.com,140.82.121.4 ssh-ed25519 AAAAed comment here
*.example.com ssh-ed25519 AAAAwild
gitlab.com ecdsa-sha2-nistp256 AAAAgl
github.com ecdsa-sha2-nistp256 AAAAec
!bad.example.com,*.example.com ssh-rsa AAAAneg
";
        assert_eq!(
            select_known_hosts(text, "github.com").unwrap(),
            "github.com ssh-ed25519 AAAAed\ngithub.com ecdsa-sha2-nistp256 AAAAec"
        );
        assert_eq!(
            select_known_hosts(text, "git.example.com").unwrap(),
            "git.example.com ssh-ed25519 AAAAwild\ngit.example.com ssh-rsa AAAAneg"
        );
        assert_eq!(
            select_known_hosts(text, "bad.example.com").unwrap(),
            "bad.example.com ssh-ed25519 AAAAwild"
        );
        assert_eq!(select_known_hosts(text, "[github.com]:2222"), None);
    }

    fn meta() -> Meta {
        Meta::new("auth", "flux-system")
    }

    #[test]
    fn flux_checks_in_order() {
        let mut o = GitSecret::default();
        assert_eq!(
            git_secret_kind(&Meta::default(), &o),
            Err(Error::NameRequired)
        );
        assert_eq!(
            git_secret_kind(&meta(), &o).unwrap_err().to_string(),
            "url is required"
        );
        o.url = "ftp://h/r".into();
        assert_eq!(
            git_secret_kind(&meta(), &o).unwrap_err().to_string(),
            "git URL scheme 'ftp' not supported, can be: ssh, http and https"
        );
        o.url = "https://h/r".into();
        assert_eq!(
            git_secret_kind(&meta(), &o).unwrap_err().to_string(),
            "for Git over HTTP/S the username and password, or a bearer token is required"
        );
        o.username = Some("u".into());
        o.password = Some("p".into());
        o.bearer_token = Some("t".into());
        assert_eq!(
            git_secret_kind(&meta(), &o).unwrap_err().to_string(),
            "user credentials and bearer token cannot be used together"
        );
        o.url = "ssh://git@h/r".into();
        o.password = None;
        assert!(
            git_secret_kind(&meta(), &o)
                .unwrap_err()
                .to_string()
                .starts_with("--known-hosts is required")
        );
        o.known_hosts = Some("other ssh-ed25519 AAAA\n".into());
        assert_eq!(
            git_secret_kind(&meta(), &o).unwrap_err().to_string(),
            "no host key for h in the known_hosts file (hashed entries are not read)"
        );
        o.known_hosts = Some("h ssh-ed25519 AAAA\n".into());
        assert_eq!(git_secret_kind(&meta(), &o), Ok(GitSecretKind::Ssh));
        assert!(git_secret(&meta(), &o, None).is_err());
    }

    #[test]
    fn basic_auth_secret() {
        let mut m = meta();
        m.labels = vec!["team=a".into()];
        let o = GitSecret {
            url: "https://github.com/stefanprodan/podinfo".into(),
            username: Some("my-username".into()),
            password: Some("my-password".into()),
            ca_crt: Some("-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".into()),
            ..GitSecret::default()
        };
        let obj = git_secret(&m, &o, None).unwrap();
        assert_eq!(
            export(&obj),
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  labels:\n    team: a\n  name: auth\n  \
             namespace: flux-system\nstringData:\n  ca.crt: |\n    -----BEGIN CERTIFICATE-----\n    MII\n    \
             -----END CERTIFICATE-----\n  password: my-password\n  username: my-username\n\n"
        );
    }
}
