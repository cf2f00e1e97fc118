//! Sprig's crypto functions: bcrypt, the Master Password algorithm, keys,
//! X.509 certificates as Go's `x509.CreateCertificate` builds them, and
//! AES-CBC.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use der::asn1::{BitString, Ia5String, OctetString, SetOfVec};
use der::{Decode as _, Encode as _};
use sha2::Digest as _;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};

use super::env::{EnvRng, Environment};
use crate::value::{Object, Value};

const STD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Go's `bcrypt.GenerateFromPassword(…, DefaultCost)`, errors as Sprig
/// prints them into the output.
pub(crate) fn bcrypt(env: &dyn Environment, input: &str) -> Result<String, String> {
    if input.len() > 72 {
        return Ok(
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".into(),
        );
    }
    let mut salt = [0u8; 16];
    env.fill_random(&mut salt)?;
    match ::bcrypt::hash_with_salt(input, 10, salt) {
        Ok(parts) => Ok(parts.format_for_version(::bcrypt::Version::TwoA)),
        Err(e) => Ok(format!("failed to encrypt string with bcrypt: {e}")),
    }
}

/// Sprig's `derivePassword` (Master Password with scrypt).
pub(crate) fn derive_password(
    counter: u32,
    kind: &str,
    password: &str,
    user: &str,
    site: &str,
) -> String {
    use hmac::Mac as _;
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let templates: &[&str] = match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return format!("cannot find password template {kind}"),
    };
    let len32 = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&len32(user));
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&len32(site));
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: hmac".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let temp = templates[usize::from(seed[0]) % templates.len()];
    temp.bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars: &[u8] = match c {
                b'V' => b"AEIOU",
                b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
                b'v' => b"aeiou",
                b'c' => b"bcdfghjklmnpqrstvwxyz",
                b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
                b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
                b'n' => b"0123456789",
                b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
                _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
            };
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

/// A private key of a type Go's `crypto/x509` handles.
pub(crate) enum PrivKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
    Ed(ed25519_dalek::SigningKey),
    Dsa(Box<dsa::SigningKey>),
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Go's `pem.Decode`: the first block (type, bytes).
fn pem_decode(data: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = data;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + 11..];
        let type_end = after.find("-----")?;
        let label = &after[..type_end];
        let body = &after[type_end + 5..];
        let end_marker = format!("-----END {label}-----");
        if label.contains('\n') || !body.starts_with(['\n', '\r']) || !body.contains(&end_marker) {
            rest = after;
            continue;
        }
        let end = body.find(&end_marker)?;
        let inner: String = body[..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        match STD.decode(inner.as_bytes()) {
            Ok(b) => return Some((label.to_string(), b)),
            Err(_) => rest = after,
        }
    }
}

fn der_int(bytes: &[u8]) -> Vec<u8> {
    let mut b: &[u8] = bytes;
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    let mut v = Vec::new();
    if b.is_empty() {
        v.push(0);
    } else {
        if b[0] & 0x80 != 0 {
            v.push(0);
        }
        v.extend_from_slice(b);
    }
    tlv(0x02, &v)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(u8::try_from(n).unwrap_or(0));
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

impl PrivKey {
    /// Sprig's `pemBlockForKey`.
    pub(crate) fn to_pem(&self) -> Result<String, String> {
        use p256::pkcs8::EncodePrivateKey as _;
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        Ok(match self {
            PrivKey::Rsa(k) => pem_encode(
                "RSA PRIVATE KEY",
                k.to_pkcs1_der().map_err(|e| e.to_string())?.as_bytes(),
            ),
            PrivKey::Ec(k) => pem_encode(
                "EC PRIVATE KEY",
                &k.to_sec1_der().map_err(|e| e.to_string())?,
            ),
            PrivKey::Ed(k) => pem_encode(
                "PRIVATE KEY",
                k.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes(),
            ),
            PrivKey::Dsa(k) => {
                let vk = k.verifying_key();
                let c = vk.components();
                let mut body = der_int(&[0]);
                for n in [c.p(), c.q(), c.g(), vk.y(), k.x()] {
                    body.extend(der_int(&n.to_bytes_be()));
                }
                pem_encode("DSA PRIVATE KEY", &tlv(0x30, &body))
            }
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    fn spki_der(&self) -> Result<Vec<u8>, String> {
        use p256::pkcs8::EncodePublicKey as _;
        Ok(match self {
            PrivKey::Rsa(k) => k
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| e.to_string())?
                .into_vec(),
            PrivKey::Ec(k) => k
                .public_key()
                .to_public_key_der()
                .map_err(|e| e.to_string())?
                .into_vec(),
            PrivKey::Ed(k) => k
                .verifying_key()
                .to_public_key_der()
                .map_err(|e| e.to_string())?
                .into_vec(),
            PrivKey::Dsa(_) => {
                return Err("x509: unsupported public key type: *dsa.PublicKey".into());
            }
        })
    }

    /// The signature algorithm Go picks for the key, and a signature.
    fn sign(
        &self,
        msg: &[u8],
        rng: &mut EnvRng<'_>,
    ) -> Result<(spki::AlgorithmIdentifierOwned, Vec<u8>), String> {
        use signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
        let alg = |oid: &str, null: bool| -> Result<spki::AlgorithmIdentifierOwned, String> {
            Ok(spki::AlgorithmIdentifierOwned {
                oid: der::oid::ObjectIdentifier::new(oid).map_err(|e| e.to_string())?,
                parameters: null.then_some(der::Any::null()),
            })
        };
        match self {
            PrivKey::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                let sig = signer.try_sign(msg).map_err(|e| e.to_string())?;
                Ok((alg("1.2.840.113549.1.1.11", true)?, sig.to_vec()))
            }
            PrivKey::Ec(k) => {
                let signer = p256::ecdsa::SigningKey::from(k.clone());
                let sig: p256::ecdsa::Signature = signer
                    .try_sign_with_rng(rng, msg)
                    .map_err(|e| e.to_string())?;
                Ok((alg("1.2.840.10045.4.3.2", false)?, sig.to_der().to_vec()))
            }
            PrivKey::Ed(k) => Ok((alg("1.3.101.112", false)?, k.sign(msg).to_vec())),
            PrivKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }
}

/// Sprig's `generatePrivateKey`: the PEM text, or Sprig's message.
pub(crate) fn generate_private_key(env: &dyn Environment, kind: &str) -> Result<String, String> {
    let mut rng = EnvRng::new(env);
    let key = match kind {
        "" | "rsa" => rsa::RsaPrivateKey::new(&mut rng, 4096)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| e.to_string()),
        "dsa" => {
            let components = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
            Ok(PrivKey::Dsa(Box::new(dsa::SigningKey::generate(
                &mut rng, components,
            ))))
        }
        "ecdsa" => Ok(PrivKey::Ec(p256::SecretKey::random(&mut rng))),
        "ed25519" => Ok(PrivKey::Ed(ed25519_dalek::SigningKey::generate(&mut rng))),
        other => return Ok(format!("Unknown type {other}")),
    };
    rng.check()?;
    match key {
        Ok(k) => k.to_pem(),
        Err(e) => Ok(format!("failed to generate private key: {e}")),
    }
}

/// Sprig's `parsePrivateKeyPEM`.
pub(crate) fn parse_private_key(pem: &str) -> Result<PrivKey, String> {
    use p256::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    let Some((label, der)) = pem_decode(pem) else {
        return Err("no PEM data in input".into());
    };
    if label == "PRIVATE KEY" {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ec(k));
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ed(k));
        }
        return Err(
            "decoding PEM as PKCS#8: x509: failed to parse private key (an RSA, ECDSA P-256 or Ed25519 PKCS#8 key is supported here)"
                .into(),
        );
    }
    let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {label}"));
    };
    match kind {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(PrivKey::Ec)
            .map_err(|_| {
                "parsing EC private key from PEM: x509: failed to parse EC private key (a P-256 key is supported here)".to_string()
            }),
        "DSA" => parse_dsa(&der).map_err(|e| format!("parsing DSA private key from PEM: {e}")),
        _ => Err(format!("invalid private key type {label}")),
    }
}

fn parse_dsa(der: &[u8]) -> Result<PrivKey, String> {
    use der::Reader as _;
    let mut r = der::SliceReader::new(der).map_err(|e| e.to_string())?;
    let ints: Vec<dsa::BigUint> = r
        .sequence(|seq| {
            let mut out = Vec::new();
            for _ in 0..6 {
                let u = der::asn1::UintRef::decode(seq)?;
                out.push(dsa::BigUint::from_bytes_be(u.as_bytes()));
            }
            Ok(out)
        })
        .map_err(|e| format!("asn1: {e}"))?;
    let bad = |_| "asn1: invalid DSA key".to_string();
    let c = dsa::Components::from_components(ints[1].clone(), ints[2].clone(), ints[3].clone())
        .map_err(bad)?;
    let vk = dsa::VerifyingKey::from_components(c, ints[4].clone()).map_err(bad)?;
    let sk = dsa::SigningKey::from_components(vk, ints[5].clone()).map_err(bad)?;
    Ok(PrivKey::Dsa(Box::new(sk)))
}

/// Sprig's `certificate` struct: `.Cert` and `.Key` in PEM.
#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.as_str())),
            "Key" => Some(Value::from(self.key.as_str())),
            _ => None,
        }
    }

    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl Certificate {
    pub(crate) fn value(self) -> Value {
        Value::Object(Arc::new(self))
    }
}

/// The certificate in a value (`certificate` parameters).
pub(crate) fn as_certificate(v: &Value) -> Result<Certificate, String> {
    if let Value::Object(o) = v
        && let Some(c) = o.as_any().and_then(|a| a.downcast_ref::<Certificate>())
    {
        return Ok(c.clone());
    }
    Err(format!(
        "wrong type for value; expected sprig.certificate; got {}",
        v.type_name()
    ))
}

/// Sprig's `buildCustomCertificate`.
pub(crate) fn build_custom(b64cert: &str, b64key: &str) -> Result<Certificate, String> {
    let cert = STD
        .decode(b64cert.as_bytes())
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = STD
        .decode(b64key.as_bytes())
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let Some((_, der)) = pem_decode(&cert) else {
        return Err("unable to decode certificate".into());
    };
    x509_cert::Certificate::from_der(&der).map_err(|e| {
        format!("error parsing certificate: decodedCert.Bytes: x509: malformed certificate ({e})")
    })?;
    parse_private_key(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Certificate { cert, key })
}

/// What to put in a certificate (Sprig's `getBaseCertTemplate`).
pub(crate) struct Template {
    pub(crate) cn: String,
    pub(crate) ips: Vec<std::net::IpAddr>,
    pub(crate) dns: Vec<String>,
    pub(crate) days: i64,
    pub(crate) is_ca: bool,
}

/// Sprig's `getNetIPs` and `getAlternateDNSStrs`.
pub(crate) fn sans(
    ips: &Value,
    dns: &Value,
) -> Result<(Vec<std::net::IpAddr>, Vec<String>), String> {
    let list = |v: &Value| -> Result<Vec<Value>, String> {
        match v {
            Value::Nil => Ok(Vec::new()),
            Value::List(l) => Ok(l.to_vec()),
            other => Err(format!(
                "wrong type for value; expected []interface {{}}; got {}",
                other.type_name()
            )),
        }
    };
    let mut out_ips = Vec::new();
    for ip in list(ips)? {
        let Some(s) = ip.as_str() else {
            return Err(format!("error parsing ip: {ip} is not a string"));
        };
        let parsed = s
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("error parsing ip: {s}"))?;
        out_ips.push(parsed);
    }
    let mut out_dns = Vec::new();
    for d in list(dns)? {
        let Some(s) = d.as_str() else {
            return Err(format!(
                "error processing alternate dns name: {d} is not a string"
            ));
        };
        out_dns.push(s.to_string());
    }
    Ok((out_ips, out_dns))
}

fn x509_time(t: SystemTime) -> Result<x509_cert::time::Time, String> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "x509: time before 1970 cannot be encoded here".to_string())?;
    let d = Duration::from_secs(d.as_secs());
    // UTCTime up to 2049, GeneralizedTime after, as Go encodes.
    if d.as_secs() < 2_524_608_000 {
        der::asn1::UtcTime::from_unix_duration(d)
            .map(x509_cert::time::Time::UtcTime)
            .map_err(|e| e.to_string())
    } else {
        der::asn1::GeneralizedTime::from_unix_duration(d)
            .map(x509_cert::time::Time::GeneralTime)
            .map_err(|e| e.to_string())
    }
}

/// Go's PrintableString test (`*` and `&` excluded).
fn printable(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&c))
}

fn cn_name(cn: &str) -> Result<x509_cert::name::Name, String> {
    if cn.is_empty() {
        return Ok(x509_cert::name::RdnSequence(Vec::new()));
    }
    let value = if printable(cn) {
        der::Any::from(der::asn1::PrintableStringRef::new(cn).map_err(|e| e.to_string())?)
    } else {
        der::Any::from(der::asn1::Utf8StringRef::new(cn).map_err(|e| e.to_string())?)
    };
    let atv = x509_cert::attr::AttributeTypeAndValue {
        oid: const_oid::db::rfc4519::CN,
        value,
    };
    let set = SetOfVec::try_from(vec![atv]).map_err(|e| e.to_string())?;
    Ok(x509_cert::name::RdnSequence(vec![
        x509_cert::name::RelativeDistinguishedName(set),
    ]))
}

/// The issuer of a signed certificate: its parsed certificate and key.
pub(crate) struct Issuer {
    cert: x509_cert::Certificate,
    key: PrivKey,
}

/// Sprig's checks on the `ca` argument of `genSignedCert`.
pub(crate) fn issuer(ca: &Certificate) -> Result<Issuer, String> {
    let Some((_, der)) = pem_decode(&ca.cert) else {
        return Err("unable to decode certificate".into());
    };
    let cert = x509_cert::Certificate::from_der(&der).map_err(|e| {
        format!(
            "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate ({e})"
        )
    })?;
    let key = parse_private_key(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Issuer { cert, key })
}

fn ext<T: x509_cert::ext::AsExtension>(
    v: &T,
    subject: &x509_cert::name::Name,
) -> Result<Extension, String> {
    v.to_extension(subject, &[]).map_err(|e| e.to_string())
}

/// Sprig's `getCertAndKey`: a certificate for `key` from the template,
/// signed by `issuer` (self-signed without one).
pub(crate) fn make_certificate(
    env: &dyn Environment,
    t: &Template,
    key: PrivKey,
    issuer: Option<&Issuer>,
) -> Result<Certificate, String> {
    let created = |e: String| format!("error creating certificate: {e}");
    let mut rng = EnvRng::new(env);
    let mut serial = [0u8; 16];
    env.fill_random(&mut serial)?;
    let now = env.now()?;
    let not_after = if t.days >= 0 {
        now.checked_add(Duration::from_secs(
            u64::try_from(t.days).unwrap_or(0).saturating_mul(86_400),
        ))
    } else {
        now.checked_sub(Duration::from_secs(
            t.days.unsigned_abs().saturating_mul(86_400),
        ))
    }
    .ok_or_else(|| created("x509: validity out of range".into()))?;
    for d in &t.dns {
        if Ia5String::new(d).is_err() {
            return Err(created(format!(
                "x509: {} cannot be encoded as an IA5String",
                crate::fmt::go_quote(d)
            )));
        }
    }
    let subject = cn_name(&t.cn)?;
    let spki_der = key.spki_der().map_err(created)?;
    let spki =
        spki::SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(|e| created(e.to_string()))?;
    let (issuer_name, parent_ski, signer) = match issuer {
        Some(i) => {
            let parent_spki = i
                .cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| created(e.to_string()))?;
            let signer_spki = i.key.spki_der();
            if let Ok(s) = &signer_spki
                && *s != parent_spki
            {
                return Err(created(
                    "x509: provided PrivateKey doesn't match parent's PublicKey".into(),
                ));
            }
            let ski = i.cert.tbs_certificate.extensions.as_ref().and_then(|exts| {
                exts.iter()
                    .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
                    .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
            });
            (i.cert.tbs_certificate.subject.clone(), ski, &i.key)
        }
        None => (subject.clone(), None, &key),
    };
    let mut usages = KeyUsages::KeyEncipherment | KeyUsages::DigitalSignature;
    if t.is_ca {
        usages |= KeyUsages::KeyCertSign;
    }
    let mut exts = vec![
        ext(&KeyUsage(usages), &subject)?,
        ext(
            &ExtendedKeyUsage(vec![
                const_oid::db::rfc5280::ID_KP_SERVER_AUTH,
                const_oid::db::rfc5280::ID_KP_CLIENT_AUTH,
            ]),
            &subject,
        )?,
        ext(
            &BasicConstraints {
                ca: t.is_ca,
                path_len_constraint: None,
            },
            &subject,
        )?,
    ];
    if t.is_ca {
        // Go 1.25: the truncated SHA-256 of the public key bits.
        let bits = spki.subject_public_key.raw_bytes();
        let digest = sha2::Sha256::digest(bits);
        let ski = OctetString::new(&digest[..20]).map_err(|e| e.to_string())?;
        exts.push(ext(&SubjectKeyIdentifier(ski), &subject)?);
    }
    let self_issued = issuer_name.to_der().ok() == subject.to_der().ok();
    if let Some(ski) = parent_ski
        && !self_issued
    {
        exts.push(ext(
            &AuthorityKeyIdentifier {
                key_identifier: Some(ski),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            &subject,
        )?);
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            names.push(GeneralName::DnsName(
                Ia5String::new(d).map_err(|e| e.to_string())?,
            ));
        }
        for ip in &t.ips {
            let bytes = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => v4.octets().to_vec(),
                    None => v6.octets().to_vec(),
                },
            };
            names.push(GeneralName::IpAddress(
                OctetString::new(bytes).map_err(|e| e.to_string())?,
            ));
        }
        let mut san = ext(&SubjectAltName(names), &subject)?;
        san.critical = subject.0.is_empty();
        exts.push(san);
    }
    let (alg, _) = signer.sign(b"", &mut rng).map_err(created)?;
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: x509_cert::serial_number::SerialNumber::new(&serial)
            .map_err(|e| e.to_string())?,
        signature: alg.clone(),
        issuer: issuer_name,
        validity: x509_cert::time::Validity {
            not_before: x509_time(now).map_err(created)?,
            not_after: x509_time(not_after).map_err(created)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    let tbs_der = tbs.to_der().map_err(|e| created(e.to_string()))?;
    let (_, sig) = signer.sign(&tbs_der, &mut rng).map_err(created)?;
    rng.check()?;
    let cert = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&sig).map_err(|e| e.to_string())?,
    };
    let der = cert.to_der().map_err(|e| created(e.to_string()))?;
    Ok(Certificate {
        cert: pem_encode("CERTIFICATE", &der),
        key: key.to_pem()?,
    })
}

/// A new RSA-2048 key (Sprig's certificate functions without a key).
pub(crate) fn rsa_2048(env: &dyn Environment) -> Result<PrivKey, String> {
    let mut rng = EnvRng::new(env);
    let k = rsa::RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| format!("error generating rsa key: {e}"))?;
    rng.check()?;
    Ok(PrivKey::Rsa(Box::new(k)))
}

/// Sprig's `encryptAES`.
pub(crate) fn encrypt_aes(
    env: &dyn Environment,
    password: &str,
    plain: &str,
) -> Result<String, String> {
    use cbc::cipher::{BlockEncryptMut as _, KeyIvInit as _, block_padding::Pkcs7};
    if plain.is_empty() {
        return Ok(String::new());
    }
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    let mut iv = [0u8; 16];
    env.fill_random(&mut iv)?;
    let enc = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let ct = enc.encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    let mut out = iv.to_vec();
    out.extend(ct);
    Ok(STD.encode(out))
}

/// Sprig's `decryptAES`, with Go's panics for malformed input.
pub(crate) fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    use cbc::cipher::{BlockDecryptMut as _, KeyIvInit as _, block_padding::NoPadding};
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    let crypt = super::encode::b64_decode(crypt64.as_bytes())?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let iv: [u8; 16] = iv.try_into().map_err(|_| "iv".to_string())?;
    let dec = cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let mut buf = body.to_vec();
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|e| e.to_string())?
        .to_vec();
    let Some(&last) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = i64::try_from(plain.len()).unwrap_or(0) - i64::from(last);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    let keep = usize::try_from(keep).unwrap_or(0);
    Ok(String::from_utf8_lossy(&plain[..keep]).into_owned())
}
