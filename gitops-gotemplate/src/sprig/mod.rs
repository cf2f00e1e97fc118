//! Sprig v3's template functions (`github.com/Masterminds/sprig/v3`, the
//! "generic" map Helm registers), exact to Sprig's Go behaviour: argument
//! order, `spf13/cast` conversions (`"12"` → 12, `"x"` → 0), `empty`
//! rules, Go's `fmt` for `toString`, `encoding/json` output, and the
//! messages of Go's runtime panics (which `text/template` turns into
//! `error calling NAME: …`).
//!
//! ```
//! use gitops_gotemplate::{Template, Value, sprig};
//!
//! let mut t = Template::with_funcs("gotpl", sprig::funcs());
//! t.parse("t", r#"{{ .name | default "app" | upper | quote }} {{ list 1 "a" nil | toJson }}"#)?;
//! assert_eq!(t.render("t", &Value::map([("name", Value::from(""))]))?, r#""APP" [1,"a",null]"#);
//! # Ok::<(), gitops_gotemplate::Error>(())
//! ```
//!
//! # Deviation
//! - Printing, `mustToJson` and `deepCopy` of a map that contains itself
//!   (`{{ $_ := set $d "self" $d }}`) fail with an error (`toJson` gives
//!   `""`), as does nesting beyond [`MAX_NESTING`](crate::MAX_NESTING)
//!   levels; Go recurses without end (`encoding/json` reports the cycle, as
//!   here).
//! - `keys` and `values` return map order (sorted by key); Go's order is
//!   random.
//! - A non-map argument where Sprig declares `map[string]interface{}`
//!   fails as `error calling NAME: wrong type for value; expected
//!   map[string]interface {}; got T`; Go reports it without the
//!   `error calling` prefix. `nil` is taken as an empty map.
//! - Regular expressions have Go's RE2 meaning (`\d`, `\w`, `\s`, `\b`
//!   ASCII-only, Go's character classes), run by the `regex` crate;
//!   compile error texts differ from Go's.
//! - `until`, `untilStep`, `seq` and `repeat` fail beyond 2^24 elements or
//!   bytes instead of allocating without bound.
//!
//! - `now`, `date`, `randAlphaNum`, `uuidv4`, `genCA` and the other
//!   functions that need a clock, entropy, environment variables or time
//!   zones take them from an [`Environment`] ([`funcs_with`]); [`funcs`]
//!   uses the operating system's ([`OsEnvironment`], feature `os`).
//! - `env` and `expandenv` read the environment's variables; Helm removes
//!   both from its function map (see [`Funcs::remove`]).
//! - `getHostByName` fails with an error: no DNS lookups while rendering
//!   (Sprig returns a random address of the name, or panics with
//!   `invalid argument to Intn` when the lookup fails).
//! - `genPrivateKey`, `genCAWithKey` and the other `…WithKey` functions
//!   read RSA, P-256 ECDSA, Ed25519 and DSA keys; other elliptic curves
//!   (P-224, P-384, P-521, which Go also reads) fail with an error naming
//!   the supported kinds. Certificates are built as Go 1.25's
//!   `x509.CreateCertificate` does (extension order, criticality, the
//!   truncated SHA-256 subject key id of CA certificates).
//! - Time values (`now`, `toDate`, `dateModify`) print as Go's
//!   `time.Time` (`2019-06-13 20:39:39 +0000 UTC`, with `m=+…` for `now`)
//!   and offer the methods `Format`, `Unix`, `UnixMilli`, `UnixMicro`,
//!   `UnixNano`, `UTC`, `Local`, `Year`, `Month`, `Day`, `Hour`, `Minute`,
//!   `Second`, `Nanosecond`, `YearDay`, `Weekday`, `IsZero`, `AddDate`,
//!   `Before`, `After`, `Equal`; `Month` and `Weekday` return their names
//!   as strings (Go: `time.Month` and `time.Weekday` numbers that print as
//!   names).
//! - `duration` and `durationRound` read an `int64` in Sprig; template
//!   numbers are Go `int`s, which Sprig turns into `0s`, and so does this
//!   implementation for every integer (including `int64`'s result, which
//!   Go would honour).
//! - `randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii` and
//!   `randBytes` fail beyond 2^24 characters.
//! - `osBase`, `osDir`, `osClean`, `osExt` and `osIsAbs` follow Unix path
//!   rules (as Helm on Linux and macOS).

mod conv;
mod crypto;
mod encode;
mod env;
mod extra;
mod json;
mod text;
mod time;
#[cfg(feature = "os")]
mod zone;

#[cfg(feature = "os")]
pub use env::OsEnvironment;
pub use env::{Environment, NoEnvironment};

use std::collections::BTreeMap;

use sha1::Digest as _;

use crate::fmt::{go_quote, sprint};
use crate::funcs::{ArgType, Func, FuncResult, Funcs};
use crate::value::{MapRef, Value};
use conv::{NIL_DEREF, empty, kind, strval, to_float64, to_int64};
use encode::Dec;

use ArgType::{Any, Bool, Float, Int, String as Str};

/// Bound on elements or bytes built by `until`, `seq`, `repeat`.
const MAX_BUILD: i64 = 1 << 24;

/// Every Sprig v3 function, ready to pass to
/// [`Template::with_funcs`](crate::Template::with_funcs) or
/// [`Funcs::extend`]. The clock, entropy, environment variables and time
/// zones are the operating system's ([`OsEnvironment`]) with the `os`
/// feature; without it, functions that need them fail with an error (use
/// [`funcs_with`]).
pub fn funcs() -> Funcs {
    #[cfg(feature = "os")]
    let env: env::Env = std::sync::Arc::new(OsEnvironment::new());
    #[cfg(not(feature = "os"))]
    let env: env::Env = std::sync::Arc::new(NoEnvironment);
    funcs_with(env)
}

/// Every Sprig v3 function, with the clock, entropy, environment variables
/// and time zones taken from `env`.
pub fn funcs_with(env: std::sync::Arc<dyn Environment>) -> Funcs {
    let mut f = Funcs::new();
    strings(&mut f);
    logic(&mut f);
    numbers(&mut f);
    lists(&mut f);
    dicts(&mut f);
    encoding(&mut f);
    regexes(&mut f);
    extra::dates(&mut f, &env);
    extra::randoms(&mut f, &env);
    extra::cryptos(&mut f, &env);
    extra::others(&mut f, &env);
    f
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn string(v: impl Into<String>) -> FuncResult {
    Ok(Value::from(v.into()))
}

fn strings_list(v: impl IntoIterator<Item = String>) -> Value {
    Value::list(v.into_iter().map(Value::from))
}

fn str_fn(f: &mut Funcs, name: &str, g: fn(&str) -> String) {
    f.insert(name, Func::new(move |a| string(g(s(&a[0])))).params([Str]));
}

fn str2_fn(f: &mut Funcs, name: &str, g: fn(&str, &str) -> FuncResult) {
    f.insert(
        name,
        Func::new(move |a| g(s(&a[0]), s(&a[1]))).params([Str, Str]),
    );
}

fn strings(f: &mut Funcs) {
    str_fn(f, "trim", |x| x.trim().to_string());
    str_fn(f, "upper", go_upper);
    str_fn(f, "lower", go_lower);
    str_fn(f, "title", title);
    str_fn(f, "untitle", untitle);
    str_fn(f, "nospace", nospace);
    str_fn(f, "initials", initials);
    str_fn(f, "swapcase", swapcase);
    let trim_all: fn(&str, &str) -> FuncResult =
        |cut, x| string(x.trim_matches(|c| cut.contains(c)));
    str2_fn(f, "trimAll", trim_all);
    str2_fn(f, "trimall", trim_all);
    str2_fn(f, "trimPrefix", |p, x| {
        string(x.strip_prefix(p).unwrap_or(x))
    });
    str2_fn(f, "trimSuffix", |p, x| {
        string(x.strip_suffix(p).unwrap_or(x))
    });
    str2_fn(f, "contains", |p, x| Ok(Value::Bool(x.contains(p))));
    str2_fn(f, "hasPrefix", |p, x| Ok(Value::Bool(x.starts_with(p))));
    str2_fn(f, "hasSuffix", |p, x| Ok(Value::Bool(x.ends_with(p))));
    str2_fn(f, "splitList", |sep, x| {
        Ok(strings_list(go_split(x, sep, -1)))
    });
    str2_fn(f, "split", |sep, x| Ok(split_map(go_split(x, sep, -1))));
    f.insert(
        "splitn",
        Func::new(|a| Ok(split_map(go_split(s(&a[2]), s(&a[0]), i(&a[1])))))
            .params([Str, Int, Str]),
    );
    f.insert(
        "repeat",
        Func::new(|a| {
            let n = i(&a[0]);
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            let len = i64::try_from(s(&a[1]).len()).unwrap_or(i64::MAX);
            if len.saturating_mul(n) > MAX_BUILD {
                return Err(format!("repeat: result longer than {MAX_BUILD} bytes"));
            }
            string(s(&a[1]).repeat(usize::try_from(n).unwrap_or(0)))
        })
        .params([Int, Str]),
    );
    f.insert(
        "substr",
        Func::new(|a| {
            let (start, end, x) = (i(&a[0]), i(&a[1]), s(&a[2]));
            let len = i64::try_from(x.len()).unwrap_or(i64::MAX);
            if start < 0 {
                return conv::slice_str(x, 0, Some(end)).map(Value::from);
            }
            if end < 0 || end > len {
                return conv::slice_str(x, start, None).map(Value::from);
            }
            conv::slice_str(x, start, Some(end)).map(Value::from)
        })
        .params([Int, Int, Str]),
    );
    f.insert(
        "trunc",
        Func::new(|a| {
            let (c, x) = (i(&a[0]), s(&a[1]));
            let len = i64::try_from(x.len()).unwrap_or(i64::MAX);
            if c < 0 && len + c > 0 {
                return conv::slice_str(x, len + c, None).map(Value::from);
            }
            if c >= 0 && len > c {
                return conv::slice_str(x, 0, Some(c)).map(Value::from);
            }
            string(x)
        })
        .params([Int, Str]),
    );
    f.insert(
        "abbrev",
        Func::new(|a| {
            let (w, x) = (i(&a[0]), s(&a[1]));
            if w < 4 {
                return string(x);
            }
            string(abbreviate_full(x.as_bytes(), 0, w))
        })
        .params([Int, Str]),
    );
    f.insert(
        "abbrevboth",
        Func::new(|a| {
            let (l, r, x) = (i(&a[0]), i(&a[1]), s(&a[2]));
            if r < 4 || l > 0 && r < 7 {
                return string(x);
            }
            string(abbreviate_full(x.as_bytes(), l, r))
        })
        .params([Int, Int, Str]),
    );
    f.insert(
        "wrap",
        Func::new(|a| string(wrap_custom(s(&a[1]), i(&a[0]), "\n", false))).params([Int, Str]),
    );
    f.insert(
        "wrapWith",
        Func::new(|a| string(wrap_custom(s(&a[2]), i(&a[0]), s(&a[1]), true)))
            .params([Int, Str, Str]),
    );
    f.insert_fn("quote", |a| {
        let out: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| go_quote(&strval(v)))
            .collect();
        string(out.join(" "))
    });
    f.insert_fn("squote", |a| {
        let out: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", sprint(std::slice::from_ref(v))))
            .collect();
        string(out.join(" "))
    });
    f.insert_fn("cat", |a| {
        let out: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| sprint(std::slice::from_ref(v)))
            .collect();
        string(out.join(" "))
    });
    f.insert(
        "indent",
        Func::new(|a| string(indent(i(&a[0]), s(&a[1])))).params([Int, Str]),
    );
    f.insert(
        "nindent",
        Func::new(|a| string(format!("\n{}", indent(i(&a[0]), s(&a[1]))))).params([Int, Str]),
    );
    f.insert(
        "replace",
        Func::new(|a| string(go_replace(s(&a[2]), s(&a[0]), s(&a[1])))).params([Str, Str, Str]),
    );
    f.insert(
        "plural",
        Func::new(|a| {
            Ok(if i(&a[2]) == 1 {
                a[0].clone()
            } else {
                a[1].clone()
            })
        })
        .params([Str, Str, Int]),
    );
    f.insert(
        "toString",
        Func::new(|a| string(strval(&a[0]))).params([Any]),
    );
    f.insert(
        "toStrings",
        Func::new(|a| Ok(strings_list(strslice(&a[0])))).params([Any]),
    );
    f.insert(
        "join",
        Func::new(|a| string(strslice(&a[1]).join(s(&a[0])))).params([Str, Any]),
    );
    f.insert(
        "sortAlpha",
        Func::new(|a| {
            Ok(strings_list(match &a[0] {
                Value::List(_) => {
                    let mut v = strslice(&a[0]);
                    v.sort();
                    v
                }
                other => vec![strval(other)],
            }))
        })
        .params([Any]),
    );
}

/// Go's `strings.ToUpper` (one rune per rune).
fn go_upper(x: &str) -> String {
    x.chars().map(|c| single(c.to_uppercase(), c)).collect()
}

fn go_lower(x: &str) -> String {
    x.chars().map(|c| single(c.to_lowercase(), c)).collect()
}

/// The mapping if it is one character (Go's case mappings are rune to rune).
fn single(mut m: impl Iterator<Item = char>, c: char) -> char {
    match (m.next(), m.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Go's `strings.Title`.
fn title(x: &str) -> String {
    let sep = |r: char| {
        if r.is_ascii() {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphabetic() || r.is_numeric() {
            return false;
        }
        r.is_whitespace()
    };
    let mut prev = ' ';
    x.chars()
        .map(|c| {
            let out = if sep(prev) {
                single(c.to_uppercase(), c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: lower-cases the first letter of each
/// space-separated word.
fn untitle(x: &str) -> String {
    let mut next = true;
    x.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                single(c.to_lowercase(), c)
            } else {
                c
            }
        })
        .collect()
}

/// Whether a byte, read as a Latin-1 rune, is `unicode.IsSpace`.
fn latin1_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// goutils `DeleteWhiteSpace`: byte-wise, each byte read as a Latin-1
/// rune (so non-ASCII text is re-encoded when any space is removed).
fn nospace(x: &str) -> String {
    if !x.bytes().any(latin1_space) {
        return x.to_string();
    }
    x.bytes()
        .filter(|&b| !latin1_space(b))
        .map(char::from)
        .collect()
}

/// goutils `Initials` (byte-wise, as Go's code is).
fn initials(x: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for &b in x.as_bytes() {
        let c = char::from(b);
        if latin1_space(b) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils `SwapCase`.
fn swapcase(x: &str) -> String {
    x.chars()
        .map(|c| {
            if c.is_uppercase() {
                single(c.to_lowercase(), c)
            } else if c.is_lowercase() {
                single(c.to_uppercase(), c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `AbbreviateFull` (byte offsets); `width` is at least 4.
fn abbreviate_full(x: &[u8], offset: i64, width: i64) -> String {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let len = i64::try_from(x.len()).unwrap_or(i64::MAX);
    if x.is_empty() || width < 4 {
        return String::new();
    }
    if len <= width {
        return lossy(x);
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let at = |n: i64| usize::try_from(n).unwrap_or(0);
    if offset <= 4 {
        return format!("{}...", lossy(&x[..at(width - 3)]));
    }
    if width < 7 {
        return String::new();
    }
    if offset + width - 3 < len {
        return format!("...{}", abbreviate_full(&x[at(offset)..], 0, width - 3));
    }
    format!("...{}", lossy(&x[at(len - (width - 3))..]))
}

/// goutils `WrapCustom` (byte offsets).
fn wrap_custom(x: &str, width: i64, nl: &str, long_words: bool) -> String {
    if x.is_empty() {
        return String::new();
    }
    let nl = if nl.is_empty() { "\n" } else { nl };
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX);
    let b = x.as_bytes();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = String::new();
    let mut offset = 0usize;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(b.len());
        match b[offset..end].iter().rposition(|&c| c == b' ') {
            Some(p) => {
                out.push_str(&lossy(&b[offset..offset + p]));
                out.push_str(nl);
                offset += p + 1;
            }
            None if long_words => {
                out.push_str(&lossy(&b[offset..offset + width]));
                out.push_str(nl);
                offset += width;
            }
            None => {
                let end = width + offset;
                match b[end..].iter().position(|&c| c == b' ') {
                    None => {
                        out.push_str(&lossy(&b[offset..]));
                        offset = b.len();
                    }
                    Some(p) => {
                        out.push_str(&lossy(&b[offset..end + p]));
                        out.push_str(nl);
                        offset = end + p + 1;
                    }
                }
            }
        }
    }
    out.push_str(&lossy(&b[offset..]));
    out
}

fn indent(n: i64, x: &str) -> String {
    let pad = " ".repeat(usize::try_from(n).unwrap_or(0));
    format!("{pad}{}", x.replace('\n', &format!("\n{pad}")))
}

/// Go's `strings.Replace(src, old, new, -1)` (an empty `old` inserts
/// between characters).
fn go_replace(src: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in src.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    src.replace(old, new)
}

/// Go's `strings.SplitN` (`n < 0`: all; an empty separator splits into
/// characters).
fn go_split(x: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let n = if n < 0 {
        usize::MAX
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    if sep.is_empty() {
        let chars: Vec<char> = x.chars().collect();
        let mut out: Vec<String> = Vec::new();
        for (k, c) in chars.iter().enumerate() {
            if out.len() + 1 == n {
                out.push(chars[k..].iter().collect());
                return out;
            }
            out.push(c.to_string());
        }
        return out;
    }
    x.splitn(n, sep).map(str::to_string).collect()
}

fn split_map(parts: Vec<String>) -> Value {
    Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(k, p)| (format!("_{k}"), Value::from(p))),
    )
}

/// Sprig's `strslice`: a list's non-nil elements as strings.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|e| !e.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn logic(f: &mut Funcs) {
    f.insert(
        "default",
        Func::new(|a| {
            let given = &a[1..];
            Ok(match given.first() {
                Some(g) if !empty(g) => g.clone(),
                _ => a[0].clone(),
            })
        })
        .params([Any])
        .variadic(Any),
    );
    f.insert(
        "empty",
        Func::new(|a| Ok(Value::Bool(empty(&a[0])))).params([Any]),
    );
    f.insert_fn("coalesce", |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    f.insert_fn("all", |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))));
    f.insert_fn("any", |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))));
    f.insert(
        "ternary",
        Func::new(|a| {
            Ok(if a[2].is_true() {
                a[0].clone()
            } else {
                a[1].clone()
            })
        })
        .params([Any, Any, Bool]),
    );
    f.insert(
        "fail",
        Func::new(|a| Err(s(&a[0]).to_string())).params([Str]),
    );
    f.insert(
        "typeOf",
        Func::new(|a| string(a[0].type_name())).params([Any]),
    );
    f.insert(
        "typeIs",
        Func::new(|a| Ok(Value::Bool(s(&a[0]) == a[1].type_name()))).params([Str, Any]),
    );
    f.insert("kindOf", Func::new(|a| string(kind(&a[0]))).params([Any]));
    f.insert(
        "kindIs",
        Func::new(|a| Ok(Value::Bool(s(&a[0]) == kind(&a[1])))).params([Str, Any]),
    );
    f.insert(
        "deepEqual",
        Func::new(|a| Ok(Value::Bool(a[0] == a[1]))).params([Any, Any]),
    );
}

fn int_list(v: Vec<i64>) -> Value {
    Value::list(v.into_iter().map(Value::Int))
}

/// Sprig's `untilStep` (ints; empty for a step going the wrong way).
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let count = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        (i128::from(start) - i128::from(stop) + i128::from(-step) - 1) / i128::from(-step)
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        (i128::from(stop) - i128::from(start) + i128::from(step) - 1) / i128::from(step)
    };
    if count > i128::from(MAX_BUILD) {
        return Err(format!("more than {MAX_BUILD} elements"));
    }
    let mut v = Vec::new();
    let mut x = start;
    for _ in 0..count {
        v.push(x);
        x = x.wrapping_add(step);
    }
    Ok(v)
}

fn seq(p: &[i64]) -> Result<String, String> {
    let r = match *p {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            until_step(1, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return Ok(String::new());
                }
            }
            until_step(start, end.wrapping_add(inc), step)?
        }
        _ => return Ok(String::new()),
    };
    Ok(r.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

fn dec_op(
    first: &Value,
    rest: &[Value],
    op: fn(Dec, Dec) -> Option<Dec>,
    fop: fn(f64, f64) -> f64,
) -> FuncResult {
    for v in std::iter::once(first).chain(rest) {
        let f = to_float64(v);
        if !f.is_finite() {
            return Err(format!(
                "Cannot create a Decimal from {}",
                sprint(&[Value::Float(f)])
            ));
        }
    }
    let mut acc = to_float64(first);
    let mut dec = Dec::from_f64(acc);
    for x in rest {
        let fx = to_float64(x);
        let dx = Dec::from_f64(fx);
        dec = match (dec, dx) {
            (Some(a), Some(b)) => {
                if b.is_zero() && fop(1.0, 2.0) == 0.5 {
                    return Err("decimal division by zero".into());
                }
                op(a, b)
            }
            _ => None,
        };
        acc = match dec {
            Some(d) => d.to_f64(),
            None => fop(acc, fx),
        };
    }
    Ok(Value::Float(dec.map_or(acc, Dec::to_f64)))
}

fn numbers(f: &mut Funcs) {
    let int = |v: i64| Ok(Value::Int(v));
    f.insert(
        "atoi",
        Func::new(|a| Ok(Value::Int(conv::parse_int(s(&a[0]), false).unwrap_or(0)))).params([Str]),
    );
    f.insert(
        "int",
        Func::new(|a| Ok(Value::Int(to_int64(&a[0])))).params([Any]),
    );
    f.insert(
        "int64",
        Func::new(|a| Ok(Value::Int(to_int64(&a[0])))).params([Any]),
    );
    f.insert(
        "float64",
        Func::new(|a| Ok(Value::Float(to_float64(&a[0])))).params([Any]),
    );
    f.insert(
        "add1",
        Func::new(move |a| int(to_int64(&a[0]).wrapping_add(1))).params([Any]),
    );
    f.insert_fn("add", move |a| {
        int(a.iter().fold(0i64, |x, v| x.wrapping_add(to_int64(v))))
    });
    f.insert(
        "sub",
        Func::new(move |a| int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))).params([Any, Any]),
    );
    let zero = "runtime error: integer divide by zero";
    f.insert(
        "div",
        Func::new(move |a| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err(zero.into());
            }
            int(to_int64(&a[0]).wrapping_div(d))
        })
        .params([Any, Any]),
    );
    f.insert(
        "mod",
        Func::new(move |a| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err(zero.into());
            }
            int(to_int64(&a[0]).wrapping_rem(d))
        })
        .params([Any, Any]),
    );
    f.insert(
        "mul",
        Func::new(move |a| {
            int(a[1..]
                .iter()
                .fold(to_int64(&a[0]), |x, v| x.wrapping_mul(to_int64(v))))
        })
        .params([Any])
        .variadic(Any),
    );
    for name in ["max", "biggest"] {
        f.insert(
            name,
            Func::new(move |a| int(a.iter().map(to_int64).fold(to_int64(&a[0]), i64::max)))
                .params([Any])
                .variadic(Any),
        );
    }
    f.insert(
        "min",
        Func::new(move |a| int(a.iter().map(to_int64).fold(to_int64(&a[0]), i64::min)))
            .params([Any])
            .variadic(Any),
    );
    f.insert(
        "maxf",
        Func::new(|a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_max),
            ))
        })
        .params([Any])
        .variadic(Any),
    );
    f.insert(
        "minf",
        Func::new(|a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_min),
            ))
        })
        .params([Any])
        .variadic(Any),
    );
    f.insert(
        "floor",
        Func::new(|a| Ok(Value::Float(to_float64(&a[0]).floor()))).params([Any]),
    );
    f.insert(
        "ceil",
        Func::new(|a| Ok(Value::Float(to_float64(&a[0]).ceil()))).params([Any]),
    );
    f.insert(
        "round",
        Func::new(|a| {
            let round_on = a.get(2).map_or(0.5, to_float64);
            let val = to_float64(&a[0]);
            #[allow(clippy::cast_precision_loss)]
            let pow = 10f64.powf(i(&a[1]) as f64);
            let digit = pow * val;
            let frac = digit.fract();
            let r = if frac >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        })
        .params([Any, Int])
        .variadic(Float),
    );
    f.insert(
        "seq",
        Func::new(|a| string(seq(&a.iter().map(i).collect::<Vec<_>>())?))
            .params([])
            .variadic(Int),
    );
    f.insert(
        "until",
        Func::new(|a| {
            let n = i(&a[0]);
            Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?))
        })
        .params([Int]),
    );
    f.insert(
        "untilStep",
        Func::new(|a| Ok(int_list(until_step(i(&a[0]), i(&a[1]), i(&a[2]))?)))
            .params([Int, Int, Int]),
    );
    f.insert_fn("addf", |a| {
        dec_op(&Value::Float(0.0), a, Dec::add, |x, y| x + y)
    });
    f.insert(
        "add1f",
        Func::new(|a| dec_op(&a[0], &[Value::Int(1)], Dec::add, |x, y| x + y)).params([Any]),
    );
    f.insert(
        "subf",
        Func::new(|a| dec_op(&a[0], &a[1..], Dec::sub, |x, y| x - y))
            .params([Any])
            .variadic(Any),
    );
    f.insert(
        "mulf",
        Func::new(|a| dec_op(&a[0], &a[1..], Dec::mul, |x, y| x * y))
            .params([Any])
            .variadic(Any),
    );
    f.insert(
        "divf",
        Func::new(|a| dec_op(&a[0], &a[1..], Dec::div, |x, y| x / y))
            .params([Any])
            .variadic(Any),
    );
}

/// Go's `math.Max` (NaN wins, +0 over -0).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_positive() { a } else { b };
    }
    a.max(b)
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    a.min(b)
}

/// The list, or Sprig's error for another kind (`Cannot … on type K`).
fn as_list<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match v {
        Value::List(l) => Ok(l),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("{what} {}", kind(other))),
    }
}

fn list_fn(
    f: &mut Funcs,
    names: &[&str],
    g: fn(&[Value], &[Value]) -> FuncResult,
    what: &'static str,
    params: &[ArgType],
    variadic: bool,
) {
    for name in names {
        let mut func =
            Func::new(move |a| g(as_list(&a[0], what)?, &a[1..])).params(params.iter().copied());
        if variadic {
            func = func.variadic(Any);
        }
        f.insert(*name, func);
    }
}

fn lists(f: &mut Funcs) {
    f.insert_fn("list", |a| Ok(Value::list(a.iter().cloned())));
    f.insert_fn("tuple", |a| Ok(Value::list(a.iter().cloned())));
    list_fn(
        f,
        &["append", "push", "mustAppend", "mustPush"],
        |l, a| Ok(Value::list(l.iter().chain(a).cloned())),
        "Cannot push on type",
        &[Any, Any],
        false,
    );
    list_fn(
        f,
        &["prepend", "mustPrepend"],
        |l, a| Ok(Value::list(a.iter().chain(l).cloned())),
        "Cannot prepend on type",
        &[Any, Any],
        false,
    );
    list_fn(
        f,
        &["first", "mustFirst"],
        |l, _| Ok(l.first().cloned().unwrap_or(Value::Nil)),
        "Cannot find first on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["last", "mustLast"],
        |l, _| Ok(l.last().cloned().unwrap_or(Value::Nil)),
        "Cannot find last on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["rest", "mustRest"],
        |l, _| Ok(Value::list(l.iter().skip(1).cloned())),
        "Cannot find rest on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["initial", "mustInitial"],
        |l, _| {
            Ok(Value::list(
                l.iter().take(l.len().saturating_sub(1)).cloned(),
            ))
        },
        "Cannot find initial on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["reverse", "mustReverse"],
        |l, _| Ok(Value::list(l.iter().rev().cloned())),
        "Cannot find reverse on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["compact", "mustCompact"],
        |l, _| Ok(Value::list(l.iter().filter(|v| !empty(v)).cloned())),
        "Cannot compact on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["uniq", "mustUniq"],
        |l, _| {
            let mut out: Vec<Value> = Vec::new();
            for v in l {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::list(out))
        },
        "Cannot find uniq on type",
        &[Any],
        false,
    );
    list_fn(
        f,
        &["without", "mustWithout"],
        |l, omit| Ok(Value::list(l.iter().filter(|v| !omit.contains(v)).cloned())),
        "Cannot find without on type",
        &[Any],
        true,
    );
    for name in ["has", "mustHas"] {
        f.insert(
            name,
            Func::new(|a| match &a[1] {
                Value::Nil => Ok(Value::Bool(false)),
                Value::List(l) => Ok(Value::Bool(l.contains(&a[0]))),
                other => Err(format!("Cannot find has on type {}", kind(other))),
            })
            .params([Any, Any]),
        );
    }
    for name in ["slice", "mustSlice"] {
        f.insert(
            name,
            Func::new(|a| {
                let l = as_list(&a[0], "list should be type of slice or array but")?;
                if l.is_empty() {
                    return Ok(Value::Nil);
                }
                let len = i64::try_from(l.len()).unwrap_or(i64::MAX);
                let start = a.get(1).map_or(0, to_int64);
                let end = if a.len() < 3 { len } else { to_int64(&a[2]) };
                if start < 0 || end < start || end > len {
                    return Err("reflect.Value.Slice: slice index out of bounds".into());
                }
                let at = |n: i64| usize::try_from(n).unwrap_or(0);
                Ok(Value::list(l[at(start)..at(end)].iter().cloned()))
            })
            .params([Any])
            .variadic(Any),
        );
    }
    f.insert_fn("concat", |a| {
        let mut out = Vec::new();
        for v in a {
            match v {
                Value::List(l) => out.extend(l.iter().cloned()),
                Value::Nil => return Err(NIL_DEREF.into()),
                other => return Err(format!("Cannot concat type {} as list", kind(other))),
            }
        }
        Ok(Value::list(out))
    });
    for name in ["chunk", "mustChunk"] {
        f.insert(
            name,
            Func::new(|a| {
                let size = i(&a[0]);
                let l = as_list(&a[1], "Cannot chunk type")?;
                if size <= 0 {
                    return Err("runtime error: makeslice: len out of range".into());
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::list(
                    l.chunks(size).map(|c| Value::list(c.iter().cloned())),
                ))
            })
            .params([Int, Any]),
        );
    }
}

const MAP_TYPE: &str = "map[string]interface {}";

/// A `map[string]interface{}` argument (`nil` is no map).
fn map_ref(v: &Value) -> Result<Option<&MapRef>, String> {
    match v {
        Value::Map(m) => Ok(Some(m)),
        Value::Nil => Ok(None),
        other => Err(format!(
            "wrong type for value; expected {MAP_TYPE}; got {}",
            other.type_name()
        )),
    }
}

fn dicts(f: &mut Funcs) {
    f.insert_fn("dict", |a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            m.insert(
                strval(&pair[0]),
                pair.get(1).cloned().unwrap_or_else(|| Value::from("")),
            );
        }
        Ok(Value::from(m))
    });
    f.insert(
        "get",
        Func::new(|a| {
            Ok(map_ref(&a[0])?
                .and_then(|m| m.get(s(&a[1])))
                .unwrap_or_else(|| Value::from("")))
        })
        .params([Any, Str]),
    );
    f.insert(
        "hasKey",
        Func::new(|a| {
            Ok(Value::Bool(
                map_ref(&a[0])?.is_some_and(|m| m.contains_key(s(&a[1]))),
            ))
        })
        .params([Any, Str]),
    );
    f.insert(
        "set",
        Func::new(|a| {
            let Some(m) = map_ref(&a[0])? else {
                return Err("assignment to entry in nil map".into());
            };
            m.insert(s(&a[1]), a[2].clone());
            Ok(a[0].clone())
        })
        .params([Any, Str, Any]),
    );
    f.insert(
        "unset",
        Func::new(|a| {
            if let Some(m) = map_ref(&a[0])? {
                m.remove(s(&a[1]));
            }
            Ok(a[0].clone())
        })
        .params([Any, Str]),
    );
    f.insert(
        "pluck",
        Func::new(|a| {
            let mut out = Vec::new();
            for d in &a[1..] {
                if let Some(v) = map_ref(d)?.and_then(|m| m.get(s(&a[0]))) {
                    out.push(v);
                }
            }
            Ok(Value::list(out))
        })
        .params([Str])
        .variadic(Any),
    );
    f.insert_fn("keys", |a| {
        let mut out = Vec::new();
        for d in a {
            if let Some(m) = map_ref(d)? {
                out.extend(m.keys());
            }
        }
        Ok(strings_list(out))
    });
    f.insert(
        "values",
        Func::new(|a| {
            Ok(Value::list(
                map_ref(&a[0])?.map(MapRef::values).unwrap_or_default(),
            ))
        })
        .params([Any]),
    );
    f.insert(
        "pick",
        Func::new(|a| {
            let m = map_ref(&a[0])?;
            let mut out = BTreeMap::new();
            for k in &a[1..] {
                if let Some(v) = m.and_then(|m| m.get(s(k))) {
                    out.insert(s(k).to_string(), v);
                }
            }
            Ok(Value::from(out))
        })
        .params([Any])
        .variadic(Str),
    );
    f.insert(
        "omit",
        Func::new(|a| {
            let mut m = map_ref(&a[0])?
                .map(MapRef::to_btree_map)
                .unwrap_or_default();
            for k in &a[1..] {
                m.remove(s(k));
            }
            Ok(Value::from(m))
        })
        .params([Any])
        .variadic(Str),
    );
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        f.insert(
            name,
            Func::new(move |a| {
                let dst = match map_ref(&a[0])? {
                    Some(m) => m.clone(),
                    None => MapRef::default(),
                };
                for src in &a[1..] {
                    if let Some(src) = map_ref(src)? {
                        merge_into(&dst, src, overwrite, 0)?;
                    }
                }
                Ok(Value::Map(dst))
            })
            .params([Any])
            .variadic(Any),
        );
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        f.insert(name, Func::new(|a| a[0].deep_copy()).params([Any]));
    }
    f.insert_fn("dig", |a| {
        if a.len() < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let conv_err = |v: &Value, want: &str| {
            let t = if v.is_nil() { "nil" } else { v.type_name() };
            format!("interface conversion: interface {{}} is {t}, not {want}")
        };
        let Value::Map(mut m) = a[a.len() - 1].clone() else {
            return Err(conv_err(&a[a.len() - 1], MAP_TYPE));
        };
        let default = &a[a.len() - 2];
        let keys = &a[..a.len() - 2];
        for k in keys {
            if k.as_str().is_none() {
                return Err(conv_err(k, "string"));
            }
        }
        for (n, k) in keys.iter().enumerate() {
            let Some(step) = m.get(s(k)) else {
                return Ok(default.clone());
            };
            if n + 1 == keys.len() {
                return Ok(step);
            }
            match step {
                Value::Map(next) => m = next,
                other => return Err(conv_err(&other, MAP_TYPE)),
            }
        }
        Ok(default.clone())
    });
}

/// mergo's `Merge` / `MergeWithOverwrite` of one map into another, in
/// place: nested maps present in both are merged into the destination's
/// nested map, which is changed for every holder, as in Go.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) -> Result<(), String> {
    if MapRef::ptr_eq(dst, src) {
        // Merging a map into itself changes nothing.
        return Ok(());
    }
    crate::value::nesting(depth)?;
    for (k, sv) in src.entries() {
        if sv.is_nil() {
            if overwrite {
                dst.insert(k, Value::Nil);
            }
            continue;
        }
        match (dst.get(&k), &sv) {
            (Some(Value::Map(d)), Value::Map(s)) => merge_into(&d, s, overwrite, depth + 1)?,
            (Some(d), _) if !overwrite && !empty(&d) => {}
            _ => {
                dst.insert(k, sv);
            }
        }
    }
    Ok(())
}

fn encoding(f: &mut Funcs) {
    str_fn(f, "b64enc", |x| encode::b64_encode(x.as_bytes()));
    str_fn(f, "b64dec", |x| match encode::b64_decode(x.as_bytes()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => e,
    });
    str_fn(f, "b32enc", |x| encode::b32_encode(x.as_bytes()));
    str_fn(f, "b32dec", |x| match encode::b32_decode(x.as_bytes()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => e,
    });
    str_fn(f, "sha1sum", |x| {
        hex::encode(sha1::Sha1::digest(x.as_bytes()))
    });
    str_fn(f, "sha256sum", |x| {
        hex::encode(sha2::Sha256::digest(x.as_bytes()))
    });
    str_fn(f, "sha512sum", |x| {
        hex::encode(sha2::Sha512::digest(x.as_bytes()))
    });
    str_fn(f, "adler32sum", |x| {
        encode::adler32(x.as_bytes()).to_string()
    });
    f.insert(
        "toJson",
        Func::new(|a| string(encode::to_json(&a[0], true, false).unwrap_or_default()))
            .params([Any]),
    );
    f.insert(
        "mustToJson",
        Func::new(|a| string(encode::to_json(&a[0], true, false)?)).params([Any]),
    );
    f.insert(
        "toPrettyJson",
        Func::new(|a| string(encode::to_json(&a[0], true, true).unwrap_or_default())).params([Any]),
    );
    f.insert(
        "mustToPrettyJson",
        Func::new(|a| string(encode::to_json(&a[0], true, true)?)).params([Any]),
    );
    for name in ["toRawJson", "mustToRawJson"] {
        f.insert(
            name,
            Func::new(|a| string(encode::to_json(&a[0], false, false)?)).params([Any]),
        );
    }
}

/// Compiles a regular expression; `must` gives `regexp.Compile`'s error,
/// otherwise `regexp.MustCompile`'s panic.
fn compile(re: &str, must: bool) -> Result<regex::Regex, String> {
    if let Some(r) = cached_regex(re) {
        return Ok(r);
    }
    let compiled = compile_uncached(re, must)?;
    cache_regex(re, &compiled);
    Ok(compiled)
}

/// Patterns up to this many bytes are kept compiled, at most
/// [`REGEX_CACHE_ENTRIES`] of them (the cache is emptied when full).
const REGEX_CACHE_PATTERN_MAX: usize = 1024;
/// How many compiled patterns the cache holds.
const REGEX_CACHE_ENTRIES: usize = 256;

type RegexCache = std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>;

fn regex_cache() -> &'static RegexCache {
    static CACHE: std::sync::OnceLock<RegexCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached_regex(re: &str) -> Option<regex::Regex> {
    regex_cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(re)
        .cloned()
}

fn cache_regex(re: &str, compiled: &regex::Regex) {
    if re.len() > REGEX_CACHE_PATTERN_MAX {
        return;
    }
    let mut c = regex_cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if c.len() >= REGEX_CACHE_ENTRIES {
        c.clear();
    }
    c.insert(re.to_string(), compiled.clone());
}

fn compile_uncached(re: &str, must: bool) -> Result<regex::Regex, String> {
    gitops_core::goregex::compile(re).map_err(|e| {
        let msg = e.to_string();
        let last = msg
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        let err = format!("error parsing regexp: {last}");
        if must {
            err
        } else {
            let quoted = if re.contains('`') || re.chars().any(|c| c.is_control() && c != '\t') {
                go_quote(re)
            } else {
                format!("`{re}`")
            };
            format!("regexp: Compile({quoted}): {err}")
        }
    })
}

/// Go's `FindAllString(s, n)` match ranges (`n < 0`: all).
fn find_all(re: &regex::Regex, x: &str, n: i64) -> Vec<(usize, usize)> {
    if n == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut prev_end: Option<usize> = None;
    for m in re.find_iter(x) {
        if m.start() == m.end() && prev_end == Some(m.start()) {
            continue;
        }
        out.push((m.start(), m.end()));
        prev_end = Some(m.end());
        if out.len() == limit {
            break;
        }
    }
    out
}

/// Go's `Regexp.Split`.
fn re_split(re: &regex::Regex, x: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && x.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (a, b) in find_all(re, x, n) {
        if n > 0 && i64::try_from(out.len()).unwrap_or(i64::MAX) == n - 1 {
            break;
        }
        end = a;
        if b != 0 {
            out.push(x[beg..end].to_string());
        }
        beg = b;
    }
    if end != x.len() {
        out.push(x[beg..].to_string());
    }
    out
}

fn regexes(f: &mut Funcs) {
    for (name, must) in [("regexMatch", false), ("mustRegexMatch", true)] {
        f.insert(
            name,
            Func::new(move |a| match compile(s(&a[0]), true) {
                Ok(re) => Ok(Value::Bool(re.is_match(s(&a[1])))),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::Bool(false)),
            })
            .params([Str, Str]),
        );
    }
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        f.insert(
            name,
            Func::new(move |a| {
                let re = compile(s(&a[0]), must)?;
                let x = s(&a[1]);
                Ok(strings_list(
                    find_all(&re, x, i(&a[2]))
                        .into_iter()
                        .map(|(b, e)| x[b..e].to_string()),
                ))
            })
            .params([Str, Str, Int]),
        );
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        f.insert(
            name,
            Func::new(move |a| {
                string(
                    compile(s(&a[0]), must)?
                        .find(s(&a[1]))
                        .map_or("", |m| m.as_str()),
                )
            })
            .params([Str, Str]),
        );
    }
    for (name, must) in [("regexReplaceAll", false), ("mustRegexReplaceAll", true)] {
        f.insert(
            name,
            Func::new(move |a| {
                string(
                    compile(s(&a[0]), must)?
                        .replace_all(s(&a[1]), s(&a[2]))
                        .into_owned(),
                )
            })
            .params([Str, Str, Str]),
        );
    }
    for (name, must) in [
        ("regexReplaceAllLiteral", false),
        ("mustRegexReplaceAllLiteral", true),
    ] {
        f.insert(
            name,
            Func::new(move |a| {
                string(
                    compile(s(&a[0]), must)?
                        .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                        .into_owned(),
                )
            })
            .params([Str, Str, Str]),
        );
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        f.insert(
            name,
            Func::new(move |a| {
                Ok(strings_list(re_split(
                    &compile(s(&a[0]), must)?,
                    s(&a[1]),
                    i(&a[2]),
                )))
            })
            .params([Str, Str, Int]),
        );
    }
    str_fn(f, "regexQuoteMeta", |x| {
        let mut out = String::new();
        for c in x.chars() {
            if r"\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    });
}
