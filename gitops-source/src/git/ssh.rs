//! SSH deploy keys: generate and read them in the formats Flux uses, read
//! the Secret `flux create secret git` writes, and hand a key to the `ssh`
//! binary safely.
//!
//! A Flux Git Secret for SSH holds `identity` (the private key),
//! `identity.pub` (the public key, one `authorized_keys` line) and
//! `known_hosts` (the server's host key). Flux writes `identity` as PKCS#8
//! PEM (`-----BEGIN PRIVATE KEY-----`) for every algorithm; keys given by
//! the user may also be in the OpenSSH format, SEC1 (`EC PRIVATE KEY`) or
//! PKCS#1 (`RSA PRIVATE KEY`). Keys are generated and parsed with RustCrypto
//! (`ssh-key`, `ed25519-dalek`, `p256`/`p384`/`p521`, `rsa`), never by
//! running `ssh-keygen`.
//!
//! ```
//! use gitops_source::git::ssh::{EcdsaCurve, KeyAlgorithm, KeyPair};
//!
//! let pair = KeyPair::generate(KeyAlgorithm::Ecdsa(EcdsaCurve::P384))?;
//! assert!(pair.private_key().starts_with("-----BEGIN PRIVATE KEY-----\n"));
//! assert!(pair.public_key().starts_with("ecdsa-sha2-nistp384 AAAA"));
//! // The public key is derived again from the private key alone.
//! assert_eq!(KeyPair::from_private_key(pair.private_key())?.public_key(), pair.public_key());
//! # Ok::<(), gitops_source::git::ssh::KeyError>(())
//! ```
//!
//! # Deviations
//! - Passphrase-protected keys are refused ([`KeyError::Encrypted`]); Flux
//!   reads them with `--password`.
//! - OpenSSH 9 cannot read Ed25519 keys in PKCS#8 (the format Flux writes);
//!   such a key is converted to the OpenSSH format in the temporary file
//!   given to `ssh`. The Secret itself is never rewritten.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use gitops_core::yaml::{NodeKind, parse_documents};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::{CryptoRngCore, OsRng};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use ssh_key::private::{EcdsaKeypair, Ed25519Keypair, KeypairData, RsaKeypair};
use zeroize::Zeroizing;

use super::{Auth, Error};

/// Why a key could not be generated or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a private key in a supported format.
    #[error(
        "not a supported private key (expected an OpenSSH, PKCS#8, SEC1 or PKCS#1 PEM block): {reason}"
    )]
    Format {
        /// What is wrong.
        reason: String,
    },
    /// The key is protected by a passphrase.
    #[error("passphrase-protected private keys are not supported; decrypt it first")]
    Encrypted,
    /// The key uses an algorithm other than RSA, ECDSA (P-256, P-384,
    /// P-521) or Ed25519.
    #[error("unsupported key algorithm {algorithm}")]
    Algorithm {
        /// The algorithm found.
        algorithm: String,
    },
    /// RSA key size not accepted (at least 1024, a multiple of 8).
    #[error("RSA key bit size must be at least 1024 and a multiple of 8, not {bits}")]
    RsaBits {
        /// The size asked for.
        bits: usize,
    },
    /// The key generator or encoder failed.
    #[error("key generation failed: {reason}")]
    Generate {
        /// The cause.
        reason: String,
    },
}

/// An ECDSA curve (`--ssh-ecdsa-curve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcdsaCurve {
    /// NIST P-256.
    P256,
    /// NIST P-384 (Flux's default).
    P384,
    /// NIST P-521.
    P521,
}

/// The algorithm of a generated key (`--ssh-key-algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA with this many bits (Flux's default: 2048).
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA on a NIST curve (Flux's default algorithm, on P-384).
    Ecdsa(EcdsaCurve),
    /// Ed25519.
    Ed25519,
}

impl Default for KeyAlgorithm {
    /// ECDSA P-384, as `flux create secret git`.
    fn default() -> KeyAlgorithm {
        KeyAlgorithm::Ecdsa(EcdsaCurve::P384)
    }
}

/// A private key and its public key, as Flux stores them in `identity` and
/// `identity.pub`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    private: Zeroizing<String>,
    public: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("private", &"<redacted>")
            .field("public", &self.public)
            .finish()
    }
}

fn gen_err(e: impl fmt::Display) -> KeyError {
    KeyError::Generate {
        reason: e.to_string(),
    }
}

fn format_err(e: impl fmt::Display) -> KeyError {
    KeyError::Format {
        reason: e.to_string(),
    }
}

impl KeyPair {
    /// A new key from the operating system's random source, its private half
    /// in PKCS#8 PEM like Flux's.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<KeyPair, KeyError> {
        KeyPair::generate_with(&mut OsRng, algorithm)
    }

    /// A new key from `rng`.
    pub fn generate_with(
        rng: &mut impl CryptoRngCore,
        algorithm: KeyAlgorithm,
    ) -> Result<KeyPair, KeyError> {
        let private = match algorithm {
            KeyAlgorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(seed.as_mut());
                // PKCS#8 v1 without the public key, as Go's
                // x509.MarshalPKCS8PrivateKey writes it.
                ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: *seed,
                    public_key: None,
                }
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(gen_err)?
            }
            KeyAlgorithm::Ecdsa(EcdsaCurve::P256) => p256::SecretKey::random(rng)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(gen_err)?,
            KeyAlgorithm::Ecdsa(EcdsaCurve::P384) => p384::SecretKey::random(rng)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(gen_err)?,
            KeyAlgorithm::Ecdsa(EcdsaCurve::P521) => p521::SecretKey::random(rng)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(gen_err)?,
            KeyAlgorithm::Rsa { bits } => {
                if bits < 1024 || bits % 8 != 0 {
                    return Err(KeyError::RsaBits { bits });
                }
                rsa::RsaPrivateKey::new(rng, bits)
                    .map_err(gen_err)?
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(gen_err)?
            }
        };
        KeyPair::from_private_key(&private)
    }

    /// Read a private key (OpenSSH, PKCS#8, SEC1 or PKCS#1 PEM, no
    /// passphrase) and derive its public key. The private key text is kept
    /// as given, as `flux create secret git --private-key-file` does.
    pub fn from_private_key(text: &str) -> Result<KeyPair, KeyError> {
        let key = parse_private(text)?;
        let public = key.public_key().to_openssh().map_err(format_err)?;
        Ok(KeyPair {
            private: Zeroizing::new(text.to_owned()),
            public: format!("{public}\n"),
        })
    }

    /// The private key (Secret key `identity`).
    pub fn private_key(&self) -> &str {
        &self.private
    }

    /// The public key, `<algorithm> <base64>` and a newline (Secret key
    /// `identity.pub`; what a Git host takes as a deploy key).
    pub fn public_key(&self) -> &str {
        &self.public
    }
}

/// The PEM label of the first block in `text`.
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    Some(&rest[..rest.find("-----")?])
}

fn ecdsa<C>(public: C::PublicKey, private: C) -> EcdsaKeypair
where
    C: EcdsaSecret,
{
    C::keypair(private, public)
}

/// The RustCrypto secret key types ssh-key can wrap.
trait EcdsaSecret: Sized {
    type PublicKey;
    fn keypair(self, public: Self::PublicKey) -> EcdsaKeypair;
}

macro_rules! ecdsa_secret {
    ($curve:ident, $variant:ident) => {
        impl EcdsaSecret for $curve::SecretKey {
            type PublicKey = $curve::PublicKey;
            fn keypair(self, public: $curve::PublicKey) -> EcdsaKeypair {
                EcdsaKeypair::$variant {
                    public: public.into(),
                    private: self.into(),
                }
            }
        }
    };
}
ecdsa_secret!(p256, NistP256);
ecdsa_secret!(p384, NistP384);
ecdsa_secret!(p521, NistP521);

fn from_pkcs8(text: &str) -> Result<KeypairData, KeyError> {
    if let Ok(k) = ed25519_dalek::pkcs8::KeypairBytes::from_pkcs8_pem(text) {
        return Ok(Ed25519Keypair::from_seed(&k.secret_key).into());
    }
    if let Ok(k) = p256::SecretKey::from_pkcs8_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    if let Ok(k) = p384::SecretKey::from_pkcs8_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    if let Ok(k) = p521::SecretKey::from_pkcs8_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    match rsa::RsaPrivateKey::from_pkcs8_pem(text) {
        Ok(k) => Ok(RsaKeypair::try_from(k).map_err(format_err)?.into()),
        Err(rsa::pkcs8::Error::KeyMalformed) | Err(rsa::pkcs8::Error::Asn1(_)) => {
            Err(KeyError::Format {
                reason: "malformed PKCS#8 private key".into(),
            })
        }
        Err(_) => Err(KeyError::Algorithm {
            algorithm: "in the PKCS#8 key (RSA, ECDSA P-256/P-384/P-521 and Ed25519 are)".into(),
        }),
    }
}

fn from_sec1(text: &str) -> Result<KeypairData, KeyError> {
    use p256::elliptic_curve::SecretKey;
    if let Ok(k) = SecretKey::<p256::NistP256>::from_sec1_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    if let Ok(k) = SecretKey::<p384::NistP384>::from_sec1_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    if let Ok(k) = SecretKey::<p521::NistP521>::from_sec1_pem(text) {
        return Ok(ecdsa(k.public_key(), k).into());
    }
    Err(KeyError::Format {
        reason: "malformed or unsupported EC private key (P-256, P-384 and P-521 are supported)"
            .into(),
    })
}

fn parse_private(text: &str) -> Result<ssh_key::PrivateKey, KeyError> {
    let label = pem_label(text).ok_or_else(|| KeyError::Format {
        reason: "no PEM block".into(),
    })?;
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(KeyError::Encrypted);
    }
    let data = match label {
        "OPENSSH PRIVATE KEY" => {
            let key = ssh_key::PrivateKey::from_openssh(text).map_err(format_err)?;
            if key.is_encrypted() {
                return Err(KeyError::Encrypted);
            }
            key.key_data().clone()
        }
        "PRIVATE KEY" => from_pkcs8(text)?,
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
        "EC PRIVATE KEY" => from_sec1(text)?,
        "RSA PRIVATE KEY" => {
            RsaKeypair::try_from(rsa::RsaPrivateKey::from_pkcs1_pem(text).map_err(format_err)?)
                .map_err(format_err)?
                .into()
        }
        other => {
            return Err(KeyError::Format {
                reason: format!("PEM block {other:?}"),
            });
        }
    };
    match &data {
        KeypairData::Ed25519(_) | KeypairData::Ecdsa(_) | KeypairData::Rsa(_) => {}
        other => {
            return Err(KeyError::Algorithm {
                algorithm: other
                    .algorithm()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "unknown".into()),
            });
        }
    }
    ssh_key::PrivateKey::new(data, "").map_err(format_err)
}

/// `text` in a format OpenSSH's `ssh` reads: unchanged, except Ed25519 keys
/// in PKCS#8, which are rewritten in the OpenSSH format.
fn for_openssh(text: &str) -> Result<Zeroizing<String>, KeyError> {
    if pem_label(text) == Some("PRIVATE KEY") {
        let key = parse_private(text)?;
        if matches!(key.key_data(), KeypairData::Ed25519(_)) {
            return key.to_openssh(LineEnding::LF).map_err(format_err);
        }
    } else {
        // Refuse what `ssh` would refuse, with a clearer message.
        parse_private(text)?;
    }
    Ok(Zeroizing::new(text.to_owned()))
}

// ------------------------------------------------------------------ Secret

/// Why a Secret manifest cannot be used as Git credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The text is not YAML.
    #[error("{origin}: {reason}")]
    Yaml {
        /// The file.
        origin: String,
        /// The parser's message.
        reason: String,
    },
    /// No document is a `kind: Secret`.
    #[error("{origin}: no Secret (kind: Secret) found")]
    NoSecret {
        /// The file.
        origin: String,
    },
    /// A `data` value is not base64.
    #[error("{origin}: data.{key} is not valid base64")]
    Base64 {
        /// The file.
        origin: String,
        /// The key.
        key: String,
    },
    /// The keys present do not make credentials.
    #[error("{origin}: {reason}")]
    Keys {
        /// The file.
        origin: String,
        /// What is missing or contradictory.
        reason: &'static str,
    },
}

/// The Git credentials in a Kubernetes Secret manifest, read like
/// source-controller reads `spec.secretRef`: `identity` + `known_hosts`
/// (SSH), `username` + `password` (HTTP basic) or `bearerToken`. Values come
/// from `data` (base64) and `stringData` (plain text, taking precedence, as
/// the API server merges them). `origin` names the file in messages.
pub fn auth_from_secret(yaml: &str, origin: &str) -> Result<Auth, SecretError> {
    let docs = parse_documents(yaml, origin).map_err(|e| SecretError::Yaml {
        origin: origin.to_owned(),
        reason: e.to_string(),
    })?;
    let secret = docs
        .iter()
        .find(|d| d.root.get("kind").and_then(|k| k.as_str()) == Some("Secret"))
        .ok_or_else(|| SecretError::NoSecret {
            origin: origin.to_owned(),
        })?;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let entries = |field: &str| {
        secret
            .root
            .get(field)
            .and_then(|n| n.as_map())
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| match (&k.kind, &v.kind) {
                (NodeKind::Scalar(k), NodeKind::Scalar(v)) => {
                    Some((k.value.clone(), v.value.clone()))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    for (k, v) in entries("data") {
        let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| SecretError::Base64 {
                origin: origin.to_owned(),
                key: k.clone(),
            })?;
        values.insert(k, String::from_utf8_lossy(&bytes).into_owned());
    }
    values.extend(entries("stringData"));
    let keys_err = |reason| SecretError::Keys {
        origin: origin.to_owned(),
        reason,
    };
    let get = |k: &str| values.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("identity"), get("known_hosts")) {
        (Some(identity), Some(known_hosts)) => {
            return Ok(Auth::SshKey {
                identity,
                known_hosts,
            });
        }
        (Some(_), None) => {
            return Err(keys_err(
                "the Secret has an 'identity' but no 'known_hosts': the server's host key is required",
            ));
        }
        (None, Some(_)) => {
            return Err(keys_err("the Secret has 'known_hosts' but no 'identity'"));
        }
        (None, None) => {}
    }
    match (get("username"), get("password"), get("bearerToken")) {
        (Some(_), Some(_), Some(_)) => Err(keys_err(
            "user credentials and bearer token cannot be used together",
        )),
        (Some(username), Some(password), None) => Ok(Auth::Basic { username, password }),
        (None, None, Some(token)) | (Some(_), None, Some(token)) | (None, Some(_), Some(token)) => {
            Ok(Auth::Bearer { token })
        }
        _ => Err(keys_err(
            "the Secret has no Git credentials: expected 'identity' and 'known_hosts', 'username' and 'password', or 'bearerToken'",
        )),
    }
}

/// The public key of a Secret manifest: `identity.pub`, or derived from
/// `identity` when that key is missing. When both are present they must
/// belong together.
pub fn public_key_from_secret(yaml: &str, origin: &str) -> Result<String, PublicKeyError> {
    let docs = parse_documents(yaml, origin).map_err(|e| SecretError::Yaml {
        origin: origin.to_owned(),
        reason: e.to_string(),
    })?;
    let secret = docs
        .iter()
        .find(|d| d.root.get("kind").and_then(|k| k.as_str()) == Some("Secret"))
        .ok_or_else(|| SecretError::NoSecret {
            origin: origin.to_owned(),
        })?;
    let value = |key: &str| -> Result<Option<String>, SecretError> {
        if let Some(v) = secret
            .root
            .get("stringData")
            .and_then(|m| m.get(key))
            .and_then(|v| v.as_scalar())
        {
            return Ok(Some(v.value.clone()));
        }
        match secret
            .root
            .get("data")
            .and_then(|m| m.get(key))
            .and_then(|v| v.as_scalar())
        {
            Some(v) => {
                let compact: String = v.value.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|_| SecretError::Base64 {
                        origin: origin.to_owned(),
                        key: key.to_owned(),
                    })?;
                Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
            }
            None => Ok(None),
        }
    };
    let public = value("identity.pub")?.filter(|v| !v.trim().is_empty());
    let identity = value("identity")?.map(Zeroizing::new);
    match (public, identity) {
        (Some(public), Some(identity)) => {
            let derived = KeyPair::from_private_key(&identity)?;
            if key_body(&public) != key_body(derived.public_key()) {
                return Err(PublicKeyError::Mismatch {
                    origin: origin.to_owned(),
                });
            }
            Ok(public)
        }
        (Some(public), None) => Ok(public),
        (None, Some(identity)) => Ok(KeyPair::from_private_key(&identity)?.public.clone()),
        (None, None) => Err(SecretError::Keys {
            origin: origin.to_owned(),
            reason: "the Secret has neither 'identity.pub' nor 'identity'",
        }
        .into()),
    }
}

/// The SHA-256 fingerprint of a public key line (`SHA256:<base64>`, as
/// `ssh-keygen -l` prints it).
pub fn fingerprint(public_key: &str) -> Result<String, KeyError> {
    let key = ssh_key::PublicKey::from_openssh(public_key.trim()).map_err(format_err)?;
    Ok(key.fingerprint(ssh_key::HashAlg::Sha256).to_string())
}

/// `<algorithm> <base64>` of an `authorized_keys` line (no comment).
fn key_body(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why [`public_key_from_secret`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The Secret cannot be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// `identity` is not a usable private key.
    #[error("invalid 'identity'")]
    Key(#[from] KeyError),
    /// `identity.pub` is not the public key of `identity`.
    #[error("{origin}: 'identity.pub' is not the public key of 'identity'")]
    Mismatch {
        /// The file.
        origin: String,
    },
}

// ------------------------------------------------------------- ssh binary

/// Refuse a private key file that others can read or write, as `ssh` does
/// (it would ignore the key and fail later with a less clear message).
pub(crate) fn check_key_file(path: &Path) -> Result<(), Error> {
    let meta = fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Key and known-hosts files written for one operation, removed on drop.
pub(crate) struct SshFiles {
    dir: tempfile::TempDir,
}

impl SshFiles {
    /// Write `identity` (owner-only, in a format `ssh` reads) and
    /// `known_hosts` into a new private temporary directory.
    pub(crate) fn write(identity: &str, known_hosts: &str) -> Result<SshFiles, Error> {
        let key = for_openssh(identity).map_err(Error::Identity)?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-ssh-")
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let files = SshFiles { dir };
        write_private(&files.identity(), key.as_bytes())?;
        let mut hosts = known_hosts.trim_end().to_owned();
        hosts.push('\n');
        write_private(&files.known_hosts(), hosts.as_bytes())?;
        Ok(files)
    }

    pub(crate) fn identity(&self) -> PathBuf {
        self.dir.path().join("identity")
    }

    pub(crate) fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Where `ssh` writes its stderr: beside the known-hosts file, which the
/// [`super::Client`] always writes into a private directory of its own
/// ([`SshFiles`]).
pub(crate) fn log_path(known_hosts: &Path) -> PathBuf {
    known_hosts.with_file_name("ssh.log")
}

/// True when `ssh` refused the server's host key (unknown or changed).
fn is_host_key_failure(text: &str) -> bool {
    text.contains("Host key verification failed")
        || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
}

/// Replace a transport error of an SSH operation by what `ssh` said: a
/// refused host key, refused credentials, or its last lines.
pub(crate) fn explain(files: Option<&SshFiles>, url: &str, err: Error) -> Error {
    let Some(files) = files else { return err };
    if !matches!(
        err,
        Error::Fetch { .. } | Error::Authentication { .. } | Error::GitCommand { .. }
    ) {
        return err;
    }
    let log = fs::read_to_string(log_path(&files.known_hosts())).unwrap_or_default();
    let url = super::redact_url(url);
    if is_host_key_failure(&log) {
        return Error::HostKey { url };
    }
    if log.contains("Permission denied") {
        return Error::Authentication { url };
    }
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '@'))
        .collect();
    if lines.is_empty() || matches!(err, Error::GitCommand { .. } if !log.contains("ssh:")) {
        return err;
    }
    Error::Ssh {
        url,
        stderr: lines[lines.len().saturating_sub(5)..].join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip() {
        for alg in [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Ecdsa(EcdsaCurve::P256),
            KeyAlgorithm::Ecdsa(EcdsaCurve::P384),
            KeyAlgorithm::Ecdsa(EcdsaCurve::P521),
        ] {
            let pair = KeyPair::generate(alg).unwrap();
            assert!(
                pair.private_key()
                    .starts_with("-----BEGIN PRIVATE KEY-----\n"),
                "{alg:?}"
            );
            assert!(pair.public_key().ends_with('\n'));
            assert_eq!(pair.public_key().split(' ').count(), 2, "{alg:?}");
            let again = KeyPair::from_private_key(pair.private_key()).unwrap();
            assert_eq!(again.public_key(), pair.public_key());
        }
        let ed = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
        assert!(ed.public_key().starts_with("ssh-ed25519 AAAA"));
        // Go writes PKCS#8 v1 without the public key: 48 bytes of DER.
        let b64: String = ed
            .private_key()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
                .len(),
            48
        );
        let converted = for_openssh(ed.private_key()).unwrap();
        assert!(converted.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert_eq!(
            KeyPair::from_private_key(&converted).unwrap().public_key(),
            ed.public_key()
        );
    }

    #[test]
    fn rsa_bits_are_checked() {
        assert_eq!(
            KeyPair::generate(KeyAlgorithm::Rsa { bits: 1000 }),
            Err(KeyError::RsaBits { bits: 1000 })
        );
        assert_eq!(
            KeyPair::generate(KeyAlgorithm::Rsa { bits: 1028 }),
            Err(KeyError::RsaBits { bits: 1028 })
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            KeyPair::from_private_key("hello"),
            Err(KeyError::Format { .. })
        ));
        assert_eq!(
            KeyPair::from_private_key(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            ),
            Err(KeyError::Encrypted)
        );
        assert!(matches!(
            KeyPair::from_private_key(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(KeyError::Format { .. })
        ));
    }

    #[test]
    fn secrets_become_auth() {
        let pair = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
        let indented: String = pair
            .private_key()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        let yaml = format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  identity: |\n{indented}  identity.pub: |\n    {}  known_hosts: github.com ssh-ed25519 AAAA\n",
            pair.public_key()
        );
        let auth = auth_from_secret(&yaml, "s.yaml").unwrap();
        let Auth::SshKey {
            identity,
            known_hosts,
        } = &auth
        else {
            panic!("{auth:?}");
        };
        assert_eq!(identity.as_str(), pair.private_key());
        assert_eq!(known_hosts, "github.com ssh-ed25519 AAAA");
        assert!(!format!("{auth:?}").contains("PRIVATE"));
        assert_eq!(
            public_key_from_secret(&yaml, "s.yaml").unwrap(),
            pair.public_key()
        );

        let data = "kind: Secret\ndata:\n  username: Ym90\n  password: czNjcmV0\n";
        assert_eq!(
            auth_from_secret(data, "d").unwrap(),
            Auth::Basic {
                username: "bot".into(),
                password: "s3cret".into()
            }
        );
        let token = "kind: Secret\nstringData:\n  bearerToken: t0k\n";
        assert_eq!(
            auth_from_secret(token, "t").unwrap(),
            Auth::Bearer {
                token: "t0k".into()
            }
        );
        let no_hosts = "kind: Secret\nstringData:\n  identity: x\n";
        assert!(matches!(
            auth_from_secret(no_hosts, "n"),
            Err(SecretError::Keys { .. })
        ));
        assert!(matches!(
            auth_from_secret("kind: ConfigMap\n", "c"),
            Err(SecretError::NoSecret { .. })
        ));
    }

    #[test]
    fn mismatched_public_key_is_refused() {
        let a = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
        let b = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let yaml = format!(
            "kind: Secret\ndata:\n  identity: {}\n  identity.pub: {}\n",
            enc(a.private_key()),
            enc(b.public_key())
        );
        assert!(matches!(
            public_key_from_secret(&yaml, "s"),
            Err(PublicKeyError::Mismatch { .. })
        ));
    }
}
