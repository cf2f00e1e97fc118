//! Sprig's dates, random values, crypto, semver, URLs, paths, OS and
//! network functions, and the rest of `genericMap`.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use gitops_core::semver::{Range, Version};

use super::crypto::{self, Template};
use super::env::{self, Env, Environment};
use super::time::{self as gotime, GoTime, as_time};
use super::{MAX_BUILD, i, s, string};
use crate::funcs::{ArgType, Func, FuncResult, Funcs};
use crate::value::{Object, Value};

use ArgType::{Any, Int, String as Str};

/// `time.Now()` in the Local zone, with the monotonic reading.
fn now(env: &dyn Environment) -> Result<GoTime, String> {
    let t = env.now()?;
    let (secs, nsec) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let mut secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let mut nsec = d.subsec_nanos();
            if nsec > 0 {
                secs -= 1;
                nsec = 1_000_000_000 - nsec;
            }
            (secs, nsec)
        }
    };
    let mut g = GoTime::utc(secs, nsec).in_zone(env, "Local");
    g.mono = env
        .monotonic()
        .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    Ok(g)
}

/// Sprig's date argument: a `time.Time`, an `int` of Unix seconds, or
/// anything else for now.
fn date_arg(env: &dyn Environment, v: &Value) -> Result<GoTime, String> {
    if let Some(t) = as_time(v) {
        return Ok(t);
    }
    match v {
        Value::Int(n) => Ok(GoTime::utc(*n, 0)),
        _ => now(env),
    }
}

fn time_param(v: &Value) -> Result<GoTime, String> {
    as_time(v).ok_or_else(|| {
        format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        )
    })
}

fn date_in_zone(env: &dyn Environment, layout: &str, date: &Value, zone: &str) -> FuncResult {
    let t = date_arg(env, date)?;
    string(t.in_zone(env, zone).format(layout))
}

pub(super) fn dates(f: &mut Funcs, env: &Env) {
    let e = env.clone();
    f.insert(
        "now",
        Func::new(move |_| Ok(now(&*e)?.value(Some(e.clone())))).params([]),
    );
    let e = env.clone();
    f.insert(
        "date",
        Func::new(move |a| date_in_zone(&*e, s(&a[0]), &a[1], "Local")).params([Str, Any]),
    );
    for name in ["dateInZone", "date_in_zone"] {
        let e = env.clone();
        f.insert(
            name,
            Func::new(move |a| date_in_zone(&*e, s(&a[0]), &a[1], s(&a[2])))
                .params([Str, Any, Str]),
        );
    }
    let e = env.clone();
    f.insert(
        "htmlDate",
        Func::new(move |a| date_in_zone(&*e, "2006-01-02", &a[0], "Local")).params([Any]),
    );
    let e = env.clone();
    f.insert(
        "htmlDateInZone",
        Func::new(move |a| date_in_zone(&*e, "2006-01-02", &a[0], s(&a[1]))).params([Any, Str]),
    );
    for name in ["dateModify", "date_modify"] {
        let e = env.clone();
        f.insert(
            name,
            Func::new(move |a| {
                let t = time_param(&a[1])?;
                Ok(match gotime::parse_duration(s(&a[0])) {
                    Ok(d) => t.add(d, Some(&*e)),
                    Err(_) => t,
                }
                .value(Some(e.clone())))
            })
            .params([Str, Any]),
        );
    }
    for name in ["mustDateModify", "must_date_modify"] {
        let e = env.clone();
        f.insert(
            name,
            Func::new(move |a| {
                let t = time_param(&a[1])?;
                let d = gotime::parse_duration(s(&a[0]))?;
                Ok(t.add(d, Some(&*e)).value(Some(e.clone())))
            })
            .params([Str, Any]),
        );
    }
    let e = env.clone();
    f.insert(
        "ago",
        Func::new(move |a| {
            let t = match as_time(&a[0]) {
                Some(t) => t,
                None => match &a[0] {
                    Value::Int(n) => GoTime::utc(*n, 0),
                    _ => now(&*e)?,
                },
            };
            let d = t.until(&now(&*e)?);
            string(gotime::duration_string(gotime::round_duration(
                d,
                1_000_000_000,
            )))
        })
        .params([Any]),
    );
    f.insert(
        "duration",
        Func::new(|a| {
            // Sprig reads a string or an int64; Go's `int` (template
            // numbers) gives 0.
            let n = match &a[0] {
                Value::String(x) => super::conv::parse_int(x, false).unwrap_or(0),
                _ => 0,
            };
            string(gotime::duration_string(n.saturating_mul(1_000_000_000)))
        })
        .params([Any]),
    );
    let e = env.clone();
    f.insert(
        "durationRound",
        Func::new(move |a| {
            let d = if let Some(t) = as_time(&a[0]) {
                t.until(&now(&*e)?)
            } else {
                match &a[0] {
                    Value::String(x) => gotime::parse_duration(x).unwrap_or(0),
                    _ => 0,
                }
            };
            string(duration_round(d))
        })
        .params([Any]),
    );
    let e = env.clone();
    f.insert(
        "toDate",
        Func::new(move |a| {
            let t = gotime::parse_local(s(&a[0]), s(&a[1]), &*e).unwrap_or_else(|_| GoTime::zero());
            Ok(t.value(Some(e.clone())))
        })
        .params([Str, Str]),
    );
    let e = env.clone();
    f.insert(
        "mustToDate",
        Func::new(
            move |a| Ok(gotime::parse_local(s(&a[0]), s(&a[1]), &*e)?.value(Some(e.clone()))),
        )
        .params([Str, Str]),
    );
    f.insert(
        "unixEpoch",
        Func::new(|a| string(time_param(&a[0])?.secs.to_string())).params([Any]),
    );
}

/// Sprig's `durationRound` ladder.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let steps: [(u64, &str); 6] = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (unit, name) in steps {
        if u > unit {
            return format!("{}{name}", u / unit);
        }
    }
    "0s".into()
}

fn count(n: i64) -> Result<usize, String> {
    if n > MAX_BUILD {
        return Err(format!("more than {MAX_BUILD} characters"));
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

fn random_from(env: &dyn Environment, n: i64, chars: &[u8]) -> FuncResult {
    let n = count(n)?;
    let mut out = String::with_capacity(n);
    for _ in 0..n {
        let k = env::below(env, chars.len() as u64)?;
        out.push(char::from(chars[usize::try_from(k).unwrap_or(0)]));
    }
    string(out)
}

pub(super) fn randoms(f: &mut Funcs, env: &Env) {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"0123456789";
    let ascii: Vec<u8> = (32u8..127).collect();
    let ascii: &'static [u8] = Box::leak(ascii.into_boxed_slice());
    for (name, chars) in [
        ("randAlphaNum", ALNUM),
        ("randAlpha", ALPHA),
        ("randNumeric", DIGITS),
        ("randAscii", ascii),
    ] {
        let e = env.clone();
        f.insert(
            name,
            Func::new(move |a| random_from(&*e, i(&a[0]), chars)).params([Int]),
        );
    }
    let e = env.clone();
    f.insert(
        "randBytes",
        Func::new(move |a| {
            let n = i(&a[0]);
            if n < 0 {
                return Err("runtime error: makeslice: len out of range".into());
            }
            let bytes = env::random(&*e, count(n)?)?;
            string(super::encode::b64_encode(&bytes))
        })
        .params([Int]),
    );
    let e = env.clone();
    f.insert(
        "randInt",
        Func::new(move |a| {
            let (lo, hi) = (i(&a[0]), i(&a[1]));
            let span = hi.wrapping_sub(lo);
            if span <= 0 {
                return Err("invalid argument to Intn".into());
            }
            let k = env::below(&*e, span.unsigned_abs())?;
            Ok(Value::Int(lo.wrapping_add_unsigned(k)))
        })
        .params([Int, Int]),
    );
    let e = env.clone();
    f.insert(
        "shuffle",
        Func::new(move |a| {
            let mut chars: Vec<char> = s(&a[0]).chars().collect();
            for k in (1..chars.len()).rev() {
                let j = env::below(&*e, k as u64 + 1)?;
                chars.swap(k, usize::try_from(j).unwrap_or(0));
            }
            string(chars.into_iter().collect::<String>())
        })
        .params([Str]),
    );
    let e = env.clone();
    f.insert(
        "uuidv4",
        Func::new(move |_| {
            let mut b = [0u8; 16];
            e.fill_random(&mut b)?;
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex::encode(b);
            string(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        })
        .params([]),
    );
}

fn cert_template(
    cn: &Value,
    ips: &Value,
    dns: &Value,
    days: &Value,
    is_ca: bool,
) -> Result<Template, String> {
    let (ips, dns) = crypto::sans(ips, dns)?;
    Ok(Template {
        cn: s(cn).to_string(),
        ips,
        dns,
        days: i(days),
        is_ca,
    })
}

fn with_key(pem: &Value) -> Result<crypto::PrivKey, String> {
    crypto::parse_private_key(s(pem)).map_err(|e| format!("parsing private key: {e}"))
}

pub(super) fn cryptos(f: &mut Funcs, env: &Env) {
    let e = env.clone();
    f.insert(
        "bcrypt",
        Func::new(move |a| string(crypto::bcrypt(&*e, s(&a[0]))?)).params([Str]),
    );
    let e = env.clone();
    f.insert(
        "htpasswd",
        Func::new(move |a| {
            let user = s(&a[0]);
            if user.contains(':') {
                return string(format!("invalid username: {user}"));
            }
            string(format!("{user}:{}", crypto::bcrypt(&*e, s(&a[1]))?))
        })
        .params([Str, Str]),
    );
    f.insert(
        "derivePassword",
        Func::new(|a| {
            let n = i(&a[0]);
            let counter =
                u32::try_from(n).map_err(|_| format!("expected unsigned integer; found {n}"))?;
            string(crypto::derive_password(
                counter,
                s(&a[1]),
                s(&a[2]),
                s(&a[3]),
                s(&a[4]),
            ))
        })
        .params([Int, Str, Str, Str, Str]),
    );
    let e = env.clone();
    f.insert(
        "genPrivateKey",
        Func::new(move |a| string(crypto::generate_private_key(&*e, s(&a[0]))?)).params([Str]),
    );
    f.insert(
        "buildCustomCert",
        Func::new(|a| Ok(crypto::build_custom(s(&a[0]), s(&a[1]))?.value())).params([Str, Str]),
    );
    let e = env.clone();
    f.insert(
        "genCA",
        Func::new(move |a| {
            let key = crypto::rsa_2048(&*e)?;
            let t = cert_template(&a[0], &Value::Nil, &Value::Nil, &a[1], true)?;
            Ok(crypto::make_certificate(&*e, &t, key, None)?.value())
        })
        .params([Str, Int]),
    );
    let e = env.clone();
    f.insert(
        "genCAWithKey",
        Func::new(move |a| {
            let key = with_key(&a[2])?;
            let t = cert_template(&a[0], &Value::Nil, &Value::Nil, &a[1], true)?;
            Ok(crypto::make_certificate(&*e, &t, key, None)?.value())
        })
        .params([Str, Int, Str]),
    );
    let e = env.clone();
    f.insert(
        "genSelfSignedCert",
        Func::new(move |a| {
            let key = crypto::rsa_2048(&*e)?;
            let t = cert_template(&a[0], &a[1], &a[2], &a[3], false)?;
            Ok(crypto::make_certificate(&*e, &t, key, None)?.value())
        })
        .params([Str, Any, Any, Int]),
    );
    let e = env.clone();
    f.insert(
        "genSelfSignedCertWithKey",
        Func::new(move |a| {
            let key = with_key(&a[4])?;
            let t = cert_template(&a[0], &a[1], &a[2], &a[3], false)?;
            Ok(crypto::make_certificate(&*e, &t, key, None)?.value())
        })
        .params([Str, Any, Any, Int, Str]),
    );
    let e = env.clone();
    f.insert(
        "genSignedCert",
        Func::new(move |a| {
            let ca = crypto::as_certificate(&a[4])?;
            let key = crypto::rsa_2048(&*e)?;
            let issuer = crypto::issuer(&ca)?;
            let t = cert_template(&a[0], &a[1], &a[2], &a[3], false)?;
            Ok(crypto::make_certificate(&*e, &t, key, Some(&issuer))?.value())
        })
        .params([Str, Any, Any, Int, Any]),
    );
    let e = env.clone();
    f.insert(
        "genSignedCertWithKey",
        Func::new(move |a| {
            let ca = crypto::as_certificate(&a[4])?;
            let key = with_key(&a[5])?;
            let issuer = crypto::issuer(&ca)?;
            let t = cert_template(&a[0], &a[1], &a[2], &a[3], false)?;
            Ok(crypto::make_certificate(&*e, &t, key, Some(&issuer))?.value())
        })
        .params([Str, Any, Any, Int, Any, Str]),
    );
    let e = env.clone();
    f.insert(
        "encryptAES",
        Func::new(move |a| string(crypto::encrypt_aes(&*e, s(&a[0]), s(&a[1]))?))
            .params([Str, Str]),
    );
    f.insert(
        "decryptAES",
        Func::new(|a| string(crypto::decrypt_aes(s(&a[0]), s(&a[1]))?)).params([Str, Str]),
    );
}

/// Masterminds `NewVersion`'s error texts.
fn version_error(e: &gitops_core::semver::version::Error) -> String {
    use gitops_core::semver::version::Error as E;
    match e {
        E::Empty => "Version string empty".into(),
        E::InvalidCharacters { .. } => "Invalid characters in version".into(),
        E::SegmentStartsZero { .. } => "Version segment starts with 0".into(),
        E::SegmentOverflow { segment, .. } => format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::fmt::go_quote(segment)
        ),
        E::InvalidPrerelease { .. } => "Invalid Prerelease string".into(),
        E::InvalidMetadata { .. } => "Invalid Metadata string".into(),
        _ => "Invalid Semantic Version".into(),
    }
}

/// Masterminds `NewConstraint`'s error texts.
fn constraint_error(input: &str, e: &gitops_core::semver::range::Error) -> String {
    use gitops_core::semver::range::Error as E;
    let column = match e {
        E::InvalidVersion { .. } => return "constraint Parser Error".into(),
        E::EmptyAlternative { column }
        | E::UnknownOperator { column, .. }
        | E::ExpectedVersion { column, .. }
        | E::Unexpected { column, .. } => *column,
        _ => 1,
    };
    // The `||` alternative holding the offending column.
    let chars: Vec<char> = input.chars().collect();
    let at = column.saturating_sub(1).min(chars.len());
    let before: String = chars[..at].iter().collect();
    let start = before.rfind("||").map_or(0, |p| p + 2);
    let rest = &input[start..];
    let end = rest.find("||").unwrap_or(rest.len());
    format!("improper constraint: {}", &rest[..end])
}

/// A Masterminds `*semver.Version`.
#[derive(Debug)]
struct SemverObject(Version);

impl Object for SemverObject {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major"
                | "Minor"
                | "Patch"
                | "Prerelease"
                | "Metadata"
                | "Original"
                | "String"
                | "Compare"
                | "LessThan"
                | "LessThanEqual"
                | "GreaterThan"
                | "GreaterThanEqual"
                | "Equal"
                | "MarshalJSON"
                | "MarshalText"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let v = &self.0;
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                ))
            }
        };
        let num = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let text = || v.as_ref().to_string();
        if matches!(
            name,
            "Compare" | "LessThan" | "LessThanEqual" | "GreaterThan" | "GreaterThanEqual" | "Equal"
        ) {
            want(1)?;
            let other = match &args[0] {
                Value::Object(o) => o.as_any().and_then(|a| a.downcast_ref::<SemverObject>()),
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    args[0].type_name()
                )
            })?;
            let ord = v.as_ref().compare(&other.0.as_ref());
            use std::cmp::Ordering::{Equal, Greater, Less};
            return Ok(match name {
                "Compare" => Value::Int(match ord {
                    Less => -1,
                    Equal => 0,
                    Greater => 1,
                }),
                "LessThan" => Value::Bool(ord == Less),
                "LessThanEqual" => Value::Bool(ord != Greater),
                "GreaterThan" => Value::Bool(ord == Greater),
                "GreaterThanEqual" => Value::Bool(ord != Less),
                _ => Value::Bool(ord == Equal),
            });
        }
        want(0)?;
        Ok(match name {
            "Major" => num(v.major()),
            "Minor" => num(v.minor()),
            "Patch" => num(v.patch()),
            "Prerelease" => Value::from(v.prerelease()),
            "Metadata" => Value::from(v.metadata()),
            "Original" => Value::from(v.original()),
            "String" | "MarshalText" => Value::from(text()),
            "MarshalJSON" => Value::from(format!("\"{}\"", text())),
            _ => return Err(format!("no method {name}")),
        })
    }

    fn format(&self) -> String {
        self.0.as_ref().to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// `os.Expand` with a lookup.
fn expand_env(s: &str, get: impl Fn(&str) -> String) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'$' && k + 1 < b.len() {
            out.push_str(&s[last..k]);
            let rest = &s[k + 1..];
            let (name, w) = shell_name(rest);
            if name.is_none() && w > 0 {
                // Bad syntax (`${}`): dropped, as Go does.
            } else if let Some(n) = name {
                out.push_str(&get(n));
            } else {
                out.push('$');
            }
            k += 1 + w;
            last = k;
        } else {
            k += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Go's `getShellName`: (name, bytes consumed).
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        for k in 1..b.len() {
            if b[k] == b'}' {
                if k == 1 {
                    return (None, 2);
                }
                return (Some(&s[1..k]), k + 1);
            }
        }
        return (None, 1);
    }
    if is_special(b[0]) {
        return (Some(&s[..1]), 1);
    }
    let n = b
        .iter()
        .position(|&c| !(c == b'_' || c.is_ascii_alphanumeric()))
        .unwrap_or(b.len());
    (Some(&s[..n]).filter(|x| !x.is_empty()), n)
}

fn is_special(c: u8) -> bool {
    matches!(
        c,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
}

pub(super) fn others(f: &mut Funcs, env: &Env) {
    f.insert("hello", Func::new(|_| string("Hello!")).params([]));
    f.insert(
        "semver",
        Func::new(|a| {
            let v = Version::parse(s(&a[0])).map_err(|e| version_error(&e))?;
            Ok(Value::Object(Arc::new(SemverObject(v))))
        })
        .params([Str]),
    );
    f.insert(
        "semverCompare",
        Func::new(|a| {
            let c = s(&a[0]);
            let range = Range::parse(c).map_err(|e| constraint_error(c, &e))?;
            let v = Version::parse(s(&a[1])).map_err(|e| version_error(&e))?;
            Ok(Value::Bool(range.matches(v.as_ref())))
        })
        .params([Str, Str]),
    );
    f.insert(
        "urlParse",
        Func::new(|a| {
            let u = super::text::parse_url(s(&a[0]))
                .map_err(|e| format!("unable to parse url: {e}"))?;
            Ok(Value::map([
                ("scheme", Value::from(u.scheme.as_str())),
                ("host", Value::from(u.host.as_str())),
                ("hostname", Value::from(u.hostname())),
                ("path", Value::from(u.path.as_str())),
                ("query", Value::from(u.raw_query.as_str())),
                ("opaque", Value::from(u.opaque.as_str())),
                ("fragment", Value::from(u.fragment.as_str())),
                ("userinfo", Value::from(u.userinfo())),
            ]))
        })
        .params([Str]),
    );
    f.insert(
        "urlJoin",
        Func::new(|a| {
            let m = super::map_ref(&a[0])?;
            let get = |k: &str| -> Result<String, String> {
                match m.and_then(|m| m.get(k)) {
                    None => Ok(String::new()),
                    Some(Value::String(v)) => Ok(v.to_string()),
                    Some(Value::Nil) => Err(super::conv::NIL_DEREF.into()),
                    Some(other) => Err(format!(
                        "unable to parse {k} key, must be of type string, but {} found",
                        super::conv::kind(&other)
                    )),
                }
            };
            let mut u = super::text::Url {
                scheme: get("scheme")?,
                host: get("host")?,
                path: get("path")?,
                raw_query: get("query")?,
                opaque: get("opaque")?,
                fragment: get("fragment")?,
                ..Default::default()
            };
            let info = get("userinfo")?;
            if !info.is_empty() {
                let t = super::text::parse_url(&format!("proto://{info}@host"))
                    .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
                u.user = t.user;
            }
            string(u.to_go_string())
        })
        .params([Any]),
    );
    f.insert(
        "getHostByName",
        Func::new(|a| {
            Err(format!(
                "getHostByName {}: DNS lookups are not available in templates rendered here",
                crate::fmt::go_quote(s(&a[0]))
            ))
        })
        .params([Str]),
    );
    for (name, g) in [
        ("base", super::text::base as fn(&str) -> String),
        ("dir", super::text::dir),
        ("clean", super::text::clean),
        ("ext", super::text::ext),
        ("osBase", super::text::base),
        ("osDir", super::text::dir),
        ("osClean", super::text::clean),
        ("osExt", super::text::ext),
    ] {
        f.insert(name, Func::new(move |a| string(g(s(&a[0])))).params([Str]));
    }
    for name in ["isAbs", "osIsAbs"] {
        f.insert(
            name,
            Func::new(|a| Ok(Value::Bool(s(&a[0]).starts_with('/')))).params([Str]),
        );
    }
    let e = env.clone();
    f.insert(
        "env",
        Func::new(move |a| string(e.getenv(s(&a[0])).unwrap_or_default())).params([Str]),
    );
    let e = env.clone();
    f.insert(
        "expandenv",
        Func::new(move |a| string(expand_env(s(&a[0]), |k| e.getenv(k).unwrap_or_default())))
            .params([Str]),
    );
    f.insert(
        "typeIsLike",
        Func::new(|a| {
            let t = a[1].type_name();
            let target = s(&a[0]);
            Ok(Value::Bool(
                t == target || t.strip_prefix('*') == Some(target),
            ))
        })
        .params([Str, Any]),
    );
    f.insert(
        "toDecimal",
        Func::new(|a| Ok(Value::Int(parse_octal(&crate::fmt::sprint(&a[..1]))))).params([Any]),
    );
    f.insert(
        "fromJson",
        Func::new(|a| Ok(super::json::from_json(s(&a[0])).unwrap_or(Value::Nil))).params([Str]),
    );
    f.insert(
        "mustFromJson",
        Func::new(|a| super::json::from_json(s(&a[0]))).params([Str]),
    );
    f.insert(
        "camelcase",
        Func::new(|a| string(super::text::pascal_case(s(&a[0])))).params([Str]),
    );
    f.insert(
        "snakecase",
        Func::new(|a| string(super::text::lower_case(s(&a[0]), '_'))).params([Str]),
    );
    f.insert(
        "kebabcase",
        Func::new(|a| string(super::text::lower_case(s(&a[0]), '-'))).params([Str]),
    );
}

/// `strconv.ParseInt(s, 8, 64)`, 0 on error.
fn parse_octal(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return 0;
    }
    let mut mag: u64 = 0;
    for c in digits.bytes() {
        if !(b'0'..=b'7').contains(&c) {
            return 0;
        }
        match mag
            .checked_mul(8)
            .and_then(|m| m.checked_add(u64::from(c - b'0')))
        {
            Some(m) => mag = m,
            None => return 0,
        }
    }
    if neg {
        if mag > 1 << 63 {
            return 0;
        }
        0i64.wrapping_sub_unsigned(mag)
    } else {
        i64::try_from(mag).unwrap_or(0)
    }
}
