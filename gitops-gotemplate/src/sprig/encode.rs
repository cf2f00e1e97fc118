//! Go's `encoding/json` marshalling, `encoding/base64` / `base32`
//! decoding errors, Adler-32 and `shopspring/decimal` arithmetic.

use std::fmt::Write as _;

use crate::value::Value;

/// `json.Marshal` (`indent` for `MarshalIndent(v, "", "  ")`).
pub(crate) fn to_json(v: &Value, escape_html: bool, indent: bool) -> Result<String, String> {
    let mut out = String::new();
    write_json(
        &mut out,
        v,
        escape_html,
        indent.then_some(0),
        &mut Vec::new(),
    )?;
    Ok(out)
}

fn newline(out: &mut String, depth: Option<usize>) {
    if let Some(d) = depth {
        out.push('\n');
        for _ in 0..d {
            out.push_str("  ");
        }
    }
}

/// `seen` holds the maps and lists being encoded around `v`: a map that
/// contains itself fails as Go's encoder does, and nesting is bounded.
fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    depth: Option<usize>,
    seen: &mut Vec<*const ()>,
) -> Result<(), String> {
    if matches!(v, Value::List(_) | Value::Map(_)) {
        crate::value::nesting(seen.len()).map_err(|e| format!("json: unsupported value: {e}"))?;
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::String(s) => json_string(out, s, html),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            seen.push(std::ptr::null());
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth.map(|d| d + 1));
                write_json(out, e, html, depth.map(|d| d + 1), seen)?;
            }
            seen.pop();
            newline(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if seen.contains(&m.as_ptr()) {
                return Err(format!(
                    "json: unsupported value: encountered a cycle via {}",
                    v.type_name()
                ));
            }
            let entries = m.entries();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            seen.push(m.as_ptr());
            for (i, (k, e)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth.map(|d| d + 1));
                json_string(out, k, html);
                out.push(':');
                if depth.is_some() {
                    out.push(' ');
                }
                write_json(out, e, html, depth.map(|d| d + 1), seen)?;
            }
            seen.pop();
            newline(out, depth);
            out.push('}');
        }
        Value::Object(o) => {
            if o.has_method("MarshalJSON") {
                let text = o.call_method("MarshalJSON", &[]).map_err(|e| {
                    format!(
                        "json: error calling MarshalJSON for type {}: {e}",
                        o.type_name()
                    )
                })?;
                out.push_str(text.as_str().unwrap_or("null"));
            } else if let (Some(cert), Some(key)) = (o.field("Cert"), o.field("Key"))
                && o.type_name() == "sprig.certificate"
            {
                let m = Value::map([("Cert", cert), ("Key", key)]);
                write_json(out, &m, html, depth, seen)?;
            } else {
                return Err(format!("json: unsupported type: {}", o.type_name()));
            }
        }
    }
    Ok(())
}

/// Go's JSON float format: shortest digits, `e` notation below 1e-6 and
/// from 1e21.
pub(crate) fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::fmt::sprint(&[Value::Float(f)])
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        Ok(if exp < 0 {
            format!("{mant}e-{}", -exp)
        } else {
            format!("{mant}e+{exp:02}")
        })
    } else {
        Ok(format!("{f}"))
    }
}

fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn corrupt(at: usize) -> String {
    format!("illegal base64 data at input byte {at}")
}

/// `base64.StdEncoding.EncodeToString`.
pub(crate) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64.StdEncoding.DecodeString`, with Go's error offsets.
pub(crate) fn b64_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let val = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let mut out = Vec::new();
    let mut si = 0;
    while si < src.len() {
        let mut dbuf = [0u32; 4];
        let mut dlen = 4;
        let mut err = None;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(corrupt(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = val(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(corrupt(si - 1));
            }
            match j {
                0 | 1 => return Err(corrupt(si - 1)),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(corrupt(src.len()));
                    }
                    if src[si] != b'=' {
                        return Err(corrupt(si - 1));
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                err = Some(corrupt(si));
            }
            dlen = j;
            break;
        }
        let n = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(e) = err {
            return Err(e);
        }
    }
    Ok(out)
}

/// `base32.StdEncoding.EncodeToString`.
pub(crate) fn b32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[((n >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`, with Go's error offsets.
pub(crate) fn b32_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    let err = |at: usize| format!("illegal base32 data at input byte {at}");
    let src: Vec<u8> = s
        .iter()
        .copied()
        .filter(|&c| c != b'\n' && c != b'\r')
        .collect();
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut dbuf = [0u64; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            if rest.is_empty() {
                return Err(err(olen - j));
            }
            let c = rest[0];
            rest = &rest[1..];
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(err(olen));
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(err(olen - rest.len() + k - 1));
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(err(olen - rest.len() - 1));
                }
                break;
            }
            match B32.iter().position(|&x| x == c) {
                Some(p) => dbuf[j] = p as u64,
                None => return Err(err(olen - rest.len() - 1)),
            }
            j += 1;
        }
        let n = dbuf.iter().fold(0u64, |a, &x| (a << 5) | x);
        let bytes = [
            (n >> 32) as u8,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ];
        let nbytes = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..nbytes]);
    }
    Ok(out)
}

/// Adler-32 (`hash/adler32`).
pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A `shopspring/decimal` value: `mant × 10^exp`.
#[derive(Clone, Copy)]
pub(crate) struct Dec {
    mant: i128,
    exp: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that rounds to `f`.
    pub(crate) fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        let digits = format!("{int}{frac}");
        Some(Dec {
            mant: digits.parse().ok()?,
            exp: e - i32::try_from(frac.len()).ok()?,
        })
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let sa = a
            .mant
            .checked_mul(10i128.checked_pow(u32::try_from(a.exp - exp).ok()?)?)?;
        let sb = b
            .mant
            .checked_mul(10i128.checked_pow(u32::try_from(b.exp - exp).ok()?)?)?;
        Some((sa, sb, exp))
    }

    pub(crate) fn add(self, o: Dec) -> Option<Dec> {
        let (a, b, exp) = Dec::align(self, o)?;
        Some(Dec {
            mant: a.checked_add(b)?,
            exp,
        })
    }

    pub(crate) fn sub(self, o: Dec) -> Option<Dec> {
        let (a, b, exp) = Dec::align(self, o)?;
        Some(Dec {
            mant: a.checked_sub(b)?,
            exp,
        })
    }

    pub(crate) fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            mant: self.mant.checked_mul(o.mant)?,
            exp: self.exp.checked_add(o.exp)?,
        })
    }

    /// `Div`: rounded half away from zero to 16 decimal places.
    pub(crate) fn div(self, o: Dec) -> Option<Dec> {
        // self/o = (m1/m2) × 10^(e1-e2); want q × 10^-17 then round to -16.
        let shift = self.exp - o.exp + 17;
        let (num, den) = if shift >= 0 {
            (
                self.mant
                    .checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?,
                o.mant,
            )
        } else {
            (
                self.mant,
                o.mant
                    .checked_mul(10i128.checked_pow(u32::try_from(-shift).ok()?)?)?,
            )
        };
        let q = num / den;
        // q is truncated at 10^-17; round that last digit half away from zero.
        let (mut t, last) = (q / 10, (q % 10).abs());
        if last >= 5 {
            t += if q < 0 { -1 } else { 1 };
        }
        Some(Dec { mant: t, exp: -16 })
    }

    pub(crate) fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp).parse().unwrap_or(0.0)
    }

    pub(crate) fn is_zero(self) -> bool {
        self.mant == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_json() {
        for (f, want) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-7"),
            (1.25e-10, "1.25e-10"),
            (123_456_789.0, "123456789"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(json_float(f).unwrap(), want, "{f}");
        }
        assert_eq!(
            json_float(f64::INFINITY).unwrap_err(),
            "json: unsupported value: +Inf"
        );
    }

    #[test]
    fn decimal_ops() {
        let d = |f| Dec::from_f64(f).unwrap();
        assert!((d(0.1).add(d(0.2)).unwrap().to_f64() - 0.3).abs() < f64::EPSILON);
        assert_eq!(d(0.1).add(d(0.2)).unwrap().to_f64().to_string(), "0.3");
        assert_eq!(
            d(2.0).div(d(3.0)).unwrap().to_f64().to_string(),
            "0.6666666666666667"
        );
        assert_eq!(
            d(-2.0).div(d(3.0)).unwrap().to_f64().to_string(),
            "-0.6666666666666667"
        );
        assert_eq!(d(1.1).mul(d(1.1)).unwrap().to_f64().to_string(), "1.21");
        assert_eq!(d(1e-300).add(d(1e300)).map(Dec::to_f64), None);
    }

    #[test]
    fn base64_and_base32() {
        assert_eq!(b64_encode(b"f"), "Zg==");
        assert_eq!(b64_encode(b"foob"), "Zm9vYg==");
        assert_eq!(b64_decode(b"Zm9vYg==").unwrap(), b"foob");
        assert_eq!(
            b64_decode(b"Zg").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            b64_decode(b"Zg=").unwrap_err(),
            "illegal base64 data at input byte 3"
        );
        assert_eq!(
            b64_decode(b"Zg==x").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            b64_decode(b"=").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(b32_encode(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(b32_decode(b"MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(b32_decode(b"MZXW6\nYQ=").unwrap(), b"foob");
        assert_eq!(
            b32_decode(b"MZXW6YQ").unwrap_err(),
            "illegal base32 data at input byte 0"
        );
        assert_eq!(
            b32_decode(b"MZXW6Y==").unwrap_err(),
            "illegal base32 data at input byte 6"
        );
        assert_eq!(adler32(b""), 1);
    }
}
