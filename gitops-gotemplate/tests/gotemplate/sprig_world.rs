//! Sprig's dates, random values, crypto, semver, URLs, paths, JSON
//! decoding and case conversions; expected outputs from Sprig's own tests
//! where they are deterministic, shapes where they are random.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use der::{Decode as _, Encode as _};
use gitops_gotemplate::{Template, Value, sprig};

/// 2019-06-13T20:39:39Z, a counter for entropy, `TZ`-less (Local = UTC)
/// unless a zone table is given.
#[derive(Debug)]
struct Fixed {
    zone: Option<(i32, &'static str)>,
}

impl sprig::Environment for Fixed {
    fn now(&self) -> Result<SystemTime, String> {
        Ok(UNIX_EPOCH + Duration::from_secs(1_560_458_379))
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        for (k, b) in buf.iter_mut().enumerate() {
            *b = u8::try_from(k % 251).unwrap_or(0);
        }
        Ok(())
    }
    fn getenv(&self, name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/x".to_string())
    }
    fn zone(&self, zone: &str, _unix: i64) -> Option<(i32, String)> {
        match (zone, self.zone) {
            ("Local" | "Europe/Berlin", Some((off, name))) => Some((off, name.to_string())),
            _ => None,
        }
    }
}

fn render_env(
    env: Arc<dyn sprig::Environment>,
    text: &str,
    data: &Value,
) -> Result<String, String> {
    let mut t = Template::with_funcs("t", sprig::funcs_with(env));
    t.set_option("missingkey=zero").map_err(|e| e.to_string())?;
    t.parse("t", text).map_err(|e| e.to_string())?;
    t.render("t", data).map_err(|e| e.to_string())
}

fn fixed(text: &str) -> Result<String, String> {
    render_env(Arc::new(Fixed { zone: None }), text, &Value::Nil)
}

fn os(text: &str) -> Result<String, String> {
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.parse("t", text).map_err(|e| e.to_string())?;
    t.render("t", &Value::Nil).map_err(|e| e.to_string())
}

fn table(run: fn(&str) -> Result<String, String>, cases: &[(&str, Result<&str, &str>)]) {
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text);
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g.ends_with(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The parsed time of Sprig's date tests.
const T: &str = r#"(toDate "02 Jan 06 15:04:05 MST" "13 Jun 19 20:39:39 GMT")"#;

#[test]
fn dates() {
    let cases = [
        (format!("{{{{ {T} | htmlDate }}}}"), Ok("2019-06-13")),
        (format!("{{{{ unixEpoch {T} }}}}"), Ok("1560458379")),
        (
            r#"{{ toDate "2006-01-02" "2017-12-31" | date "02/01/2006" }}"#.to_string(),
            Ok("31/12/2017"),
        ),
        (
            format!(r#"{{{{ date_in_zone "02 Jan 06 15:04 -0700" {T} "UTC" }}}}"#),
            Ok("13 Jun 19 20:39 +0000"),
        ),
        (
            r#"{{ date_in_zone "02 Jan 06 15:04 -0700" 1560458379 "UTC" }}"#.to_string(),
            Ok("13 Jun 19 20:39 +0000"),
        ),
        (
            format!(r#"{{{{ dateInZone "02 Jan 06 15:04 -0700" {T} "foobar" }}}}"#),
            Ok("13 Jun 19 20:39 +0000"),
        ),
        // Anything that is not a time or an int is now.
        (
            r#"{{ dateInZone "2006-01-02 15:04:05" "" "UTC" }} {{ date "15:04" 1.5 }}"#.to_string(),
            Ok("2019-06-13 20:39:39 20:39"),
        ),
        (format!(r#"{{{{ date_modify "24h" {T} }}}}"#), Ok("2019-06-14 20:39:39 +0000 GMT")),
        (format!(r#"{{{{ dateModify "1f" {T} }}}}"#), Ok("2019-06-13 20:39:39 +0000 GMT")),
        (
            format!(r#"{{{{ must_date_modify "1f" {T} }}}}"#),
            Err("error calling must_date_modify: time: unknown unit \"f\" in duration \"1f\""),
        ),
        (
            format!(r#"{{{{ mustDateModify "-1h30m" {T} | date "15:04" }}}}"#),
            Ok("19:09"),
        ),
        (
            r#"{{ dateModify "1h" "x" }}"#.to_string(),
            Err("error calling dateModify: wrong type for value; expected time.Time; got string"),
        ),
        (r#"{{ duration "61" }} {{ duration "3600" }} {{ duration "93784" }}"#.to_string(), Ok("1m1s 1h0m0s 26h3m4s")),
        (r#"{{ duration 61 }} {{ duration "x" }}"#.to_string(), Ok("0s 0s")),
        (
            r#"{{ durationRound "2h5s" }} {{ durationRound "24h5s" }} {{ durationRound "2400h5s" }} {{ durationRound "9000h" }} {{ durationRound "-61s" }} {{ durationRound "1s" }}"#.to_string(),
            Ok("2h 1d 3mo 1y 1m 0s"),
        ),
        (r#"{{ ago 1560458254 }} {{ ago 1560458384 }}"#.to_string(), Ok("2m5s -5s")),
        (format!("{{{{ ago {T} }}}} {{{{ durationRound {T} }}}}"), Ok("0s 0s")),
        (r#"{{ now }}"#.to_string(), Ok("2019-06-13 20:39:39 +0000 UTC")),
        (r#"{{ now | unixEpoch }} {{ (now).Unix }} {{ (now).Year }} {{ (now).Month }} {{ (now).Weekday }}"#.to_string(), Ok("1560458379 1560458379 2019 June Thursday")),
        (r#"{{ now | date "Mon Jan _2 3:04:05PM 2006 MST Z07:00" }}"#.to_string(), Ok("Thu Jun 13 8:39:39PM 2019 UTC Z")),
        (r#"{{ (now).Format "2006-01-02T15:04:05.000Z" }}"#.to_string(), Ok("2019-06-13T20:39:39.000Z")),
        (r#"{{ ((now).AddDate 0 1 20).Format "Jan 2" }}"#.to_string(), Ok("Aug 2")),
        (r#"{{ toJson now }} {{ list now | toJson }}"#.to_string(), Ok(r#""2019-06-13T20:39:39Z" ["2019-06-13T20:39:39Z"]"#)),
        (r#"{{ toDate "2006-01-02" "nope" }}"#.to_string(), Ok("0001-01-01 00:00:00 +0000 UTC")),
        (
            r#"{{ mustToDate "2006-01-02" "nope" }}"#.to_string(),
            Err("error calling mustToDate: parsing time \"nope\" as \"2006-01-02\": cannot parse \"nope\" as \"2006\""),
        ),
        (
            r#"{{ mustToDate "2006-01-02" "2019-02-30" }}"#.to_string(),
            Err("error calling mustToDate: parsing time \"2019-02-30\": day out of range"),
        ),
        (
            r#"{{ toDate "2006-01-02T15:04:05Z07:00" "2019-06-13T22:39:39.25+02:00" }}"#.to_string(),
            Ok("2019-06-13 22:39:39.25 +0200 +0200"),
        ),
        (r#"{{ kindOf now }} {{ typeOf now }} {{ empty now }}"#.to_string(), Ok("struct time.Time false")),
        (
            r#"{{ unixEpoch "x" }}"#.to_string(),
            Err("error calling unixEpoch: wrong type for value; expected time.Time; got string"),
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let got = fixed(text);
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g.ends_with(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn zones_from_the_environment() {
    let env: Arc<dyn sprig::Environment> = Arc::new(Fixed {
        zone: Some((7200, "CEST")),
    });
    let r = |t: &str| render_env(env.clone(), t, &Value::Nil);
    assert_eq!(r("{{ now }}").unwrap(), "2019-06-13 22:39:39 +0200 CEST");
    assert_eq!(
        r(r#"{{ date "15:04 MST -07:00" 1560458379 }} {{ htmlDateInZone 1560458379 "Europe/Berlin" }} {{ dateInZone "15:04 MST" 1560458379 "UTC" }}"#)
            .unwrap(),
        "22:39 CEST +02:00 2019-06-13 20:39 UTC"
    );
    assert_eq!(
        r(r#"{{ (toDate "2006-01-02 15:04" "2019-06-13 22:39").Unix }}"#).unwrap(),
        "1560458340"
    );
    assert_eq!(
        r(r#"{{ toDate "2006-01-02 15:04" "2019-06-13 22:39" | date "MST" }} {{ ((now).UTC).Hour }}"#)
            .unwrap(),
        "CEST 20"
    );
}

#[test]
fn no_environment_fails_clearly() {
    let env: Arc<dyn sprig::Environment> = Arc::new(sprig::NoEnvironment);
    let err = render_env(env.clone(), "{{ now }}", &Value::Nil).unwrap_err();
    assert!(err.contains("error calling now: no clock"), "{err}");
    let err = render_env(env, "{{ randAlpha 3 }}", &Value::Nil).unwrap_err();
    assert!(err.contains("error calling randAlpha: no entropy"), "{err}");
}

#[test]
fn random_strings_have_sprig_shapes() {
    let check = |text: &str, len: usize, ok: fn(char) -> bool| {
        let out = os(text).unwrap();
        assert_eq!(out.chars().count(), len, "{text}: {out:?}");
        assert!(out.chars().all(ok), "{text}: {out:?}");
    };
    check("{{ randAlphaNum 40 }}", 40, |c| c.is_ascii_alphanumeric());
    check("{{ randAlpha 40 }}", 40, |c| c.is_ascii_alphabetic());
    check("{{ randNumeric 40 }}", 40, |c| c.is_ascii_digit());
    check("{{ randAscii 40 }}", 40, |c| (' '..='~').contains(&c));
    check("{{ randAlpha 0 }}{{ randAlpha -3 }}", 0, |_| true);
    let b = os("{{ randBytes 12 }}").unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .unwrap()
            .len(),
        12
    );
    let u = os("{{ uuidv4 }}").unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert!("89ab".contains(&u[19..20]), "{u}");
    assert_ne!(u, os("{{ uuidv4 }}").unwrap());
    for _ in 0..20 {
        let n: i64 = os("{{ randInt 5 8 }}").unwrap().parse().unwrap();
        assert!((5..8).contains(&n));
    }
    let mut s: Vec<char> = os(r#"{{ shuffle "Hello World" }}"#)
        .unwrap()
        .chars()
        .collect();
    s.sort_unstable();
    let mut want: Vec<char> = "Hello World".chars().collect();
    want.sort_unstable();
    assert_eq!(s, want);
    table(
        os,
        &[
            (
                "{{ randInt 5 5 }}",
                Err("error calling randInt: invalid argument to Intn"),
            ),
            (
                "{{ randBytes -1 }}",
                Err("error calling randBytes: runtime error: makeslice: len out of range"),
            ),
        ],
    );
}

#[test]
fn crypto_deterministic() {
    table(
        os,
        &[
            (
                r#"{{derivePassword 1 "long" "password" "user" "example.com"}}"#,
                Ok("ZedaFaxcZaso9*"),
            ),
            (
                r#"{{derivePassword 2 "long" "password" "user" "example.com"}}"#,
                Ok("Fovi2@JifpTupx"),
            ),
            (
                r#"{{derivePassword 1 "maximum" "password" "user" "example.com"}}"#,
                Ok("pf4zS1LjCg&LjhsZ7T2~"),
            ),
            (
                r#"{{derivePassword 1 "medium" "password" "user" "example.com"}}"#,
                Ok("ZedJuz8$"),
            ),
            (
                r#"{{derivePassword 1 "basic" "password" "user" "example.com"}}"#,
                Ok("pIS54PLs"),
            ),
            (
                r#"{{derivePassword 1 "short" "password" "user" "example.com"}}"#,
                Ok("Zed5"),
            ),
            (
                r#"{{derivePassword 1 "pin" "password" "user" "example.com"}}"#,
                Ok("6685"),
            ),
            (
                r#"{{derivePassword 1 "nope" "password" "user" "example.com"}}"#,
                Ok("cannot find password template nope"),
            ),
            (
                r#"{{ "plaintext" | encryptAES "secretkey" | decryptAES "secretkey" }}"#,
                Ok("plaintext"),
            ),
            (
                r#"{{ encryptAES "k" "" }}|{{ decryptAES "k" "" }}"#,
                Ok("|"),
            ),
            (
                r#"{{ decryptAES "k" "YWJj" }}"#,
                Err(
                    "error calling decryptAES: runtime error: slice bounds out of range [:16] with capacity 3",
                ),
            ),
            (
                r#"{{ decryptAES "k" "%%%" }}"#,
                Err("error calling decryptAES: illegal base64 data at input byte 0"),
            ),
            (r#"{{ htpasswd "a:b" "p" }}"#, Ok("invalid username: a:b")),
            (r#"{{ genPrivateKey "x" }}"#, Ok("Unknown type x")),
            (
                r#"{{ buildCustomCert "%%" "" }}"#,
                Err("error calling buildCustomCert: unable to decode base64 certificate"),
            ),
            (
                r#"{{ buildCustomCert "YWJj" "" }}"#,
                Err("error calling buildCustomCert: unable to decode certificate"),
            ),
            (
                r#"{{ genCAWithKey "x" 1 "nope" }}"#,
                Err("error calling genCAWithKey: parsing private key: no PEM data in input"),
            ),
            (
                r#"{{ genSignedCert "x" nil nil 1 "ca" }}"#,
                Err(
                    "error calling genSignedCert: wrong type for value; expected sprig.certificate; got string",
                ),
            ),
        ],
    );
    // Known ciphertext (IV + AES-256-CBC of "plaintext" under "secretkey"),
    // decrypted as Sprig's own test data would be.
    let enc = os(r#"{{ encryptAES "secretkey" "plaintext" }}"#).unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&enc)
        .unwrap();
    assert_eq!(raw.len(), 32);
    let out = os(r#"{{ "$2a$10$" | len }}"#).unwrap();
    assert_eq!(out, "7");
}

#[test]
fn bcrypt_and_htpasswd_shapes() {
    let h = os(r#"{{ bcrypt "secret" }}"#).unwrap();
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
    assert!(bcrypt::verify("secret", &h).unwrap());
    let h = os(r#"{{ htpasswd "user" "secret" }}"#).unwrap();
    let (user, hash) = h.split_once(':').unwrap();
    assert_eq!(user, "user");
    assert!(bcrypt::verify("secret", hash).unwrap());
    let long = "x".repeat(73);
    assert_eq!(
        os(&format!(r#"{{{{ bcrypt "{long}" }}}}"#)).unwrap(),
        "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    );
}

fn parse_cert(pem: &str) -> x509_cert::Certificate {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    x509_cert::Certificate::from_der(&der).unwrap()
}

fn ext_of(cert: &x509_cert::Certificate, oid: &str) -> Option<x509_cert::ext::Extension> {
    let oid = der::oid::ObjectIdentifier::new(oid).unwrap();
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .cloned()
}

#[test]
fn certificates_have_sprig_fields() {
    let text = r#"{{- $ca := genCA "my-ca" 365 -}}
{{- $cert := genSignedCert "srv" (list "10.0.0.1" "::1") (list "a.example" "b.example") 30 $ca -}}
{{- $self := genSelfSignedCert "self" nil (list "s.example") 7 -}}
{{ $ca.Cert }}@@{{ $ca.Key }}@@{{ $cert.Cert }}@@{{ $cert.Key }}@@{{ $self.Cert }}@@{{ typeOf $ca }}"#;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = os(text).unwrap();
    let parts: Vec<&str> = out.split("@@").collect();
    assert_eq!(parts.len(), 6);
    assert_eq!(parts[5], "sprig.certificate");
    assert!(parts[1].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(parts[3].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let ca = parse_cert(parts[0]);
    let cert = parse_cert(parts[2]);
    let selfc = parse_cert(parts[4]);
    assert_eq!(ca.tbs_certificate.subject.to_string(), "CN=my-ca");
    assert_eq!(ca.tbs_certificate.issuer.to_string(), "CN=my-ca");
    assert_eq!(cert.tbs_certificate.subject.to_string(), "CN=srv");
    assert_eq!(cert.tbs_certificate.issuer.to_string(), "CN=my-ca");
    let days = |c: &x509_cert::Certificate| {
        let v = &c.tbs_certificate.validity;
        let nb = v.not_before.to_unix_duration().as_secs();
        let na = v.not_after.to_unix_duration().as_secs();
        assert!(nb >= before && nb <= before + 60);
        (na - nb) / 86_400
    };
    assert_eq!(days(&ca), 365);
    assert_eq!(days(&cert), 30);
    assert_eq!(days(&selfc), 7);
    // Basic constraints: CA true for the CA only; key usages as Sprig sets.
    let bc = |c: &x509_cert::Certificate| {
        let e = ext_of(c, "2.5.29.19").unwrap();
        assert!(e.critical);
        x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
            .unwrap()
            .ca
    };
    assert!(bc(&ca));
    assert!(!bc(&cert));
    let ku = |c: &x509_cert::Certificate| {
        let e = ext_of(c, "2.5.29.15").unwrap();
        x509_cert::ext::pkix::KeyUsage::from_der(e.extn_value.as_bytes())
            .unwrap()
            .0
            .bits()
    };
    use x509_cert::ext::pkix::KeyUsages;
    assert_eq!(
        ku(&ca),
        (KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment | KeyUsages::KeyCertSign).bits()
    );
    assert_eq!(
        ku(&cert),
        (KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment).bits()
    );
    let eku = ext_of(&cert, "2.5.29.37").unwrap();
    let eku = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
    assert_eq!(
        eku.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    );
    let san = ext_of(&cert, "2.5.29.17").unwrap();
    let san = x509_cert::ext::pkix::SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
    let names: Vec<String> = san
        .0
        .iter()
        .map(|n| match n {
            x509_cert::ext::pkix::name::GeneralName::DnsName(d) => d.to_string(),
            x509_cert::ext::pkix::name::GeneralName::IpAddress(ip) => {
                format!("{:?}", ip.as_bytes())
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "a.example".to_string(),
            "b.example".to_string(),
            "[10, 0, 0, 1]".to_string(),
            format!("{:?}", std::net::Ipv6Addr::LOCALHOST.octets()),
        ]
    );
    // The CA has a subject key id, and the signed certificate points at it.
    let ski = ext_of(&ca, "2.5.29.14").unwrap();
    let aki = ext_of(&cert, "2.5.29.35").unwrap();
    let ski = der::asn1::OctetString::from_der(ski.extn_value.as_bytes()).unwrap();
    let aki =
        x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).unwrap();
    assert_eq!(aki.key_identifier.unwrap(), ski);
    assert!(ext_of(&selfc, "2.5.29.35").is_none());
    // The signature verifies with the CA's key (sha256WithRSAEncryption).
    assert_eq!(
        cert.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11"
    );
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::pkcs8::DecodePublicKey as _;
    use signature::Verifier as _;
    let ca_pub = rsa::RsaPublicKey::from_public_key_der(
        &ca.tbs_certificate.subject_public_key_info.to_der().unwrap(),
    )
    .unwrap();
    let sig = rsa::pkcs1v15::Signature::try_from(cert.signature.raw_bytes()).unwrap();
    VerifyingKey::<sha2::Sha256>::new(ca_pub)
        .verify(&cert.tbs_certificate.to_der().unwrap(), &sig)
        .unwrap();
}

#[test]
fn keys_and_certificates_with_keys() {
    let ec = os(r#"{{ genPrivateKey "ecdsa" }}"#).unwrap();
    assert!(
        ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n")
            && ec.ends_with("-----END EC PRIVATE KEY-----\n")
    );
    let ed = os(r#"{{ genPrivateKey "ed25519" }}"#).unwrap();
    assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    for key in [&ec, &ed] {
        let data = Value::map([("Key", Value::from(key.as_str()))]);
        let mut t = Template::with_funcs("t", sprig::funcs());
        t.parse(
            "t",
            r#"{{- $ca := genCAWithKey "ca" 10 .Key -}}
{{- $c := genSelfSignedCertWithKey "self" (list "127.0.0.1") nil 3 .Key -}}
{{- $s := genSignedCertWithKey "leaf" nil (list "x.example") 3 $ca .Key -}}
{{ eq $ca.Key .Key }} {{ eq $c.Key .Key }} {{ eq $s.Key .Key }}@@{{ $s.Cert }}@@{{ (buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc)).Cert | eq $ca.Cert }}"#,
        )
        .unwrap();
        let out = t.render("t", &data).unwrap();
        let parts: Vec<&str> = out.split("@@").collect();
        assert_eq!(parts[0], "true true true");
        assert_eq!(parts[2], "true");
        let leaf = parse_cert(parts[1]);
        assert_eq!(leaf.tbs_certificate.issuer.to_string(), "CN=ca");
    }
    // A key that is not the CA's key.
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.parse(
        "t",
        r#"{{ $ca := genCAWithKey "ca" 1 .A }}{{ $bad := dict }}{{ genSignedCertWithKey "x" nil nil 1 (buildCustomCert ($ca.Cert | b64enc) (.B | b64enc)) .B }}"#,
    )
    .unwrap();
    let err = t
        .render(
            "t",
            &Value::map([
                ("A", Value::from(ec.as_str())),
                ("B", Value::from(ed.as_str())),
            ]),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
        ),
        "{err}"
    );
}

#[test]
fn rsa_private_key_is_4096_bits() {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let pem = os(r#"{{ genPrivateKey "rsa" }}"#).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(&pem).unwrap();
    assert_eq!(key.size() * 8, 4096);
}

#[test]
fn semver() {
    table(
        os,
        &[
            (r#"{{ semverCompare "1.2.3" "1.2.3" }}"#, Ok("true")),
            (r#"{{ semverCompare "^1.2.0" "1.2.3" }}"#, Ok("true")),
            (r#"{{ semverCompare "^1.2.0" "2.2.3" }}"#, Ok("false")),
            (
                r#"{{ semverCompare ">=1.20.0-0" "v1.25.3-gke.100" }}"#,
                Ok("true"),
            ),
            (r#"{{ semverCompare "~1.2" "1.3.0" }}"#, Ok("false")),
            (
                r#"{{ semverCompare "badConstraint" "1.2.3" }}"#,
                Err("error calling semverCompare: improper constraint: badConstraint"),
            ),
            (
                r#"{{ semverCompare "1.2.0" "badVersion" }}"#,
                Err("error calling semverCompare: Invalid Semantic Version"),
            ),
            (
                r#"{{ $s := semver "1.2.3-beta.1+c0ff33" }}{{ $s.Prerelease }}"#,
                Ok("beta.1"),
            ),
            (
                r#"{{ $s := semver "1.2.3-beta.1+c0ff33" }}{{ $s.Major}}"#,
                Ok("1"),
            ),
            (
                r#"{{ semver "1.2.3" | (semver "1.2.3").Compare }}"#,
                Ok("0"),
            ),
            (
                r#"{{ semver "1.2.3" | (semver "1.3.3").Compare }}"#,
                Ok("1"),
            ),
            (
                r#"{{ semver "1.4.3" | (semver "1.2.3").Compare }}"#,
                Ok("-1"),
            ),
            (
                r#"{{ semver "v1.2" }} {{ (semver "v1.2").Original }} {{ (semver "1.2.3+m").Metadata }} {{ typeOf (semver "1.0.0") }} {{ semver "1.0.0" | toJson }}"#,
                Ok(r#"1.2.0 v1.2 m *semver.Version "1.0.0""#),
            ),
            (
                r#"{{ semver "" }}"#,
                Err("error calling semver: Invalid Semantic Version"),
            ),
        ],
    );
}

#[test]
fn urls_paths_and_os() {
    table(
        fixed,
        &[
            (
                r#"{{ index ( urlParse "proto://auth@host:80/path?query#fragment" ) "host" }}"#,
                Ok("host:80"),
            ),
            (
                r#"{{ urlParse "proto://auth@host:80/path?query#fragment" }}"#,
                Ok(
                    "map[fragment:fragment host:host:80 hostname:host opaque: path:/path query:query scheme:proto userinfo:auth]",
                ),
            ),
            (
                r#"{{ urlJoin (dict "fragment" "fragment" "host" "host:80" "path" "/path" "query" "query" "scheme" "proto") }}"#,
                Ok("proto://host:80/path?query#fragment"),
            ),
            (
                r#"{{ urlJoin (dict "fragment" "fragment" "host" "host:80" "path" "/path" "scheme" "proto" "userinfo" "ASDJKJSD") }}"#,
                Ok("proto://ASDJKJSD@host:80/path#fragment"),
            ),
            (
                r#"{{ urlJoin (dict "host" 1) }}"#,
                Err(
                    "error calling urlJoin: unable to parse host key, must be of type string, but int found",
                ),
            ),
            (
                r#"{{ urlParse "http://a b" }}"#,
                Err(
                    "error calling urlParse: unable to parse url: parse \"http://a b\": invalid character \" \" in host name",
                ),
            ),
            (
                r#"{{ base "foo/bar" }} {{ dir "foo/bar/baz" }} {{ clean "foo/../../bar" }} {{ ext "foo.bar" }} {{ isAbs "/foo" }} {{ isAbs "foo" }}"#,
                Ok("bar foo/bar ../bar .bar true false"),
            ),
            (
                r#"{{ osBase "foo/bar" }} {{ osDir "/a" }} {{ osClean "" }} {{ osExt "a/b" }} {{ osIsAbs "/" }}"#,
                Ok("bar / .  true"),
            ),
            (r#"{{ env "HOME" }}|{{ env "NOPE" }}"#, Ok("/home/x|")),
            (
                r#"{{ expandenv "home=$HOME ${HOME}/x $NOPE." }}"#,
                Ok("home=/home/x /home/x/x ."),
            ),
            (
                r#"{{ getHostByName "www.google.com" }}"#,
                Err(
                    "error calling getHostByName: getHostByName \"www.google.com\": DNS lookups are not available in templates rendered here",
                ),
            ),
        ],
    );
}

#[test]
fn strings_reflection_json() {
    table(
        fixed,
        &[
            (
                r#"{{ snakecase "FirstName" }} {{ snakecase "HTTPServer" }} {{ snakecase "NoHTTPS" }} {{ snakecase "GO_PATH" }} {{ snakecase "GO PATH" }} {{ snakecase "GO-PATH" }}"#,
                Ok("first_name http_server no_https go_path go_path go_path"),
            ),
            (
                r#"{{ camelcase "http_server" }} {{ camelcase "_camel_case" }} {{ camelcase "no_https" }} {{ camelcase "_complex__case_" }} {{ camelcase "all" }}"#,
                Ok("HttpServer _CamelCase NoHttps _Complex_Case_ All"),
            ),
            (
                r#"{{ kebabcase "FirstName" }} {{ kebabcase "HTTPServer" }} {{ kebabcase "NoHTTPS" }} {{ kebabcase "GO_PATH" }} {{ kebabcase "GO PATH" }} {{ kebabcase "GO-PATH" }}"#,
                Ok("first-name http-server no-https go-path go-path go-path"),
            ),
            (
                r#"{{ if typeIsLike "string" "x" }}t{{ else }}f{{ end }} {{ typeIsLike "semver.Version" (semver "1.0.0") }} {{ typeIsLike "int" "x" }}"#,
                Ok("t true false"),
            ),
            (
                r#"{{ toDecimal "777" }} {{ toDecimal 10 }} {{ toDecimal "8" }} {{ toDecimal "-17" }}"#,
                Ok("511 8 0 -15"),
            ),
            (r#"{{ hello }}"#, Ok("Hello!")),
            (
                r#"{{ (`{"foo":55}` | fromJson).foo }} {{ fromJson `[1,"a",null]` }} {{ fromJson "nope" }}"#,
                Ok("55 [1 a <nil>] <no value>"),
            ),
            (
                r#"{{ mustFromJson `{"a": {"b": [true]}}` | toJson }}"#,
                Ok(r#"{"a":{"b":[true]}}"#),
            ),
            (
                r#"{{ mustFromJson "{" }}"#,
                Err("error calling mustFromJson: unexpected end of JSON input"),
            ),
            (
                r#"{{ mustFromJson "[1,]" }}"#,
                Err(
                    "error calling mustFromJson: invalid character ']' looking for beginning of value",
                ),
            ),
            (
                r#"{{ regexMatch "^\\d+$" "١٢" }} {{ regexFindAll "\\w+" "héllo wörld" -1 }}"#,
                Ok("false [h llo w rld]"),
            ),
        ],
    );
}

#[test]
fn every_generic_map_function_is_registered() {
    let names = "ago date date_in_zone date_modify dateInZone dateModify duration durationRound \
htmlDate htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev \
abbrevboth trunc trim upper lower title untitle substr repeat trimall trimAll trimSuffix \
trimPrefix nospace initials randAlphaNum randAlpha randAscii randNumeric swapcase shuffle \
snakecase camelcase kebabcase wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent \
nindent replace plural sha1sum sha256sum sha512sum adler32sum toString atoi int64 int float64 seq \
toDecimal split splitList splitn toStrings until untilStep add1 add sub div mod mul randInt add1f \
addf subf divf mulf biggest max min maxf minf ceil floor round join sortAlpha default empty \
coalesce all any compact mustCompact fromJson toJson toPrettyJson toRawJson mustFromJson \
mustToJson mustToPrettyJson mustToRawJson ternary deepCopy mustDeepCopy typeOf typeIs typeIsLike \
kindOf kindIs deepEqual env expandenv getHostByName base dir clean ext isAbs osBase osClean osDir \
osExt osIsAbs b64enc b64dec b32enc b32dec tuple list dict get set unset hasKey pluck keys pick \
omit merge mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush \
prepend mustPrepend first mustFirst rest mustRest last mustLast initial mustInitial reverse \
mustReverse uniq mustUniq without mustWithout has mustHas slice mustSlice concat dig chunk \
mustChunk bcrypt htpasswd genPrivateKey derivePassword buildCustomCert genCA genCAWithKey \
genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES \
decryptAES randBytes uuidv4 semver semverCompare fail regexMatch mustRegexMatch regexFindAll \
mustRegexFindAll regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll \
regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta \
urlParse urlJoin hello";
    let f = sprig::funcs();
    let missing: Vec<&str> = names
        .split_whitespace()
        .filter(|n| !f.contains(n))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    let mut f = f;
    assert!(f.remove("env").is_some());
    assert!(!f.contains("env"));
}

#[test]
fn dsa_private_key_shape() {
    let pem = os(r#"{{ genPrivateKey "dsa" }}"#).unwrap();
    assert!(
        pem.starts_with("-----BEGIN DSA PRIVATE KEY-----\n"),
        "{pem}"
    );
    assert!(pem.ends_with("-----END DSA PRIVATE KEY-----\n"));
    // Go cannot sign certificates with DSA keys; neither can this.
    let data = Value::map([("K", Value::from(pem.as_str()))]);
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.parse("t", r#"{{ genCAWithKey "x" 1 .K }}"#).unwrap();
    let err = t.render("t", &data).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "error creating certificate: x509: unsupported public key type: *dsa.PublicKey"
        ),
        "{err}"
    );
}

#[test]
fn os_time_zones_from_zoneinfo() {
    if !std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
        return;
    }
    table(
        os,
        &[
            (
                r#"{{ dateInZone "2006-01-02 15:04 MST" 1560458379 "Europe/Berlin" }} {{ dateInZone "2006-01-02 15:04 MST" 1547337600 "Europe/Berlin" }}"#,
                Ok("2019-06-13 22:39 CEST 2019-01-13 01:00 CET"),
            ),
            (
                r#"{{ dateInZone "15:04 MST" 4102444800 "America/New_York" }} {{ htmlDateInZone 1560458379 "Asia/Tokyo" }}"#,
                Ok("19:00 EST 2019-06-14"),
            ),
        ],
    );
}
