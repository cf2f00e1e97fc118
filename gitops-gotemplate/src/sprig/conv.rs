//! Go conversions Sprig relies on: `spf13/cast` numbers, `strval`,
//! `empty`, reflect kinds, `strconv` parsing.

use crate::fmt::sprint;
use crate::value::Value;

/// Sprig's `strval`: strings as is, everything else as `fmt.Sprint`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => sprint(std::slice::from_ref(other)),
    }
}

/// Sprig's `empty` (reflection-based emptiness).
pub(crate) fn empty(v: &Value) -> bool {
    !matches!(v, Value::Object(_)) && !v.is_true()
}

/// `reflect.Value.Kind().String()` of the value.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => {
            if o.type_name().starts_with('*') {
                "ptr"
            } else {
                "struct"
            }
        }
    }
}

/// The panic of `reflect.TypeOf(nil).Kind()`.
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// `strconv.ParseInt(s, base, 64)` with `base` 0 (prefixes and
/// underscores) or 10.
pub(crate) fn parse_int(s: &str, base0: bool) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if !base0 {
        (10, body, false)
    } else if lower.starts_with("0x") {
        (16, &body[2..], true)
    } else if lower.starts_with("0o") {
        (8, &body[2..], true)
    } else if lower.starts_with("0b") {
        (2, &body[2..], true)
    } else if body.starts_with('0') && body.len() > 1 {
        (8, &body[1..], true)
    } else {
        (10, body, false)
    };
    if digits.is_empty() && !(prefixed && radix == 8 && !lower.starts_with("0o")) {
        return None;
    }
    if digits.contains('_') && (!base0 || !gitops_core::strconv::underscore_ok(body)) {
        return None;
    }
    let mut mag: u64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = u64::from(c.to_digit(radix)?);
        mag = mag.checked_mul(u64::from(radix))?.checked_add(d)?;
    }
    if neg {
        if mag > 1 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(mag))
    } else {
        i64::try_from(mag).ok()
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` → `"12"`.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToInt64` (errors give 0).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        // Go's float-to-int conversion truncates; out of range is undefined.
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int(trim_zero_decimal(s), true).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64` (errors give 0).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => gitops_core::strconv::parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `s[lo:hi]` on a string's bytes, with Go's panic messages.
pub(crate) fn slice_str(s: &str, lo: i64, hi: Option<i64>) -> Result<String, String> {
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    let bad = || match hi {
        None => format!("runtime error: slice bounds out of range [{lo}:{len}]"),
        Some(h) if h < 0 => format!("runtime error: slice bounds out of range [:{h}]"),
        Some(h) if h > len => {
            format!("runtime error: slice bounds out of range [:{h}] with length {len}")
        }
        Some(h) => format!("runtime error: slice bounds out of range [{lo}:{h}]"),
    };
    let h = hi.unwrap_or(len);
    if h < 0 || h > len || lo < 0 || lo > h {
        return Err(bad());
    }
    let (lo, h) = (
        usize::try_from(lo).unwrap_or(0),
        usize::try_from(h).unwrap_or(0),
    );
    Ok(String::from_utf8_lossy(&s.as_bytes()[lo..h]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_like_strconv() {
        let cases: &[(&str, bool, Option<i64>)] = &[
            ("0", true, Some(0)),
            ("-12", true, Some(-12)),
            ("+7", false, Some(7)),
            ("0x_1F", true, Some(31)),
            ("0o17", true, Some(15)),
            ("017", true, Some(15)),
            ("017", false, Some(17)),
            ("0b101", true, Some(5)),
            ("1_000", true, Some(1000)),
            ("1_000", false, None),
            ("1__0", true, None),
            ("_1", true, None),
            ("0x", true, None),
            ("", true, None),
            ("-", true, None),
            ("9223372036854775807", true, Some(i64::MAX)),
            ("-9223372036854775808", true, Some(i64::MIN)),
            ("9223372036854775808", true, None),
            ("1.5", true, None),
        ];
        for (s, base0, want) in cases {
            assert_eq!(parse_int(s, *base0), *want, "{s:?}");
        }
    }

    #[test]
    fn cast_conversions() {
        assert_eq!(to_int64(&Value::from("12.000")), 12);
        assert_eq!(to_int64(&Value::from("12.")), 0);
        assert_eq!(to_int64(&Value::from("100")), 100);
        assert_eq!(to_int64(&Value::from(2.9)), 2);
        assert_eq!(to_int64(&Value::list([])), 0);
        assert!((to_float64(&Value::from("2.5e1")) - 25.0).abs() < f64::EPSILON);
        assert!(to_float64(&Value::from("-Inf")).is_infinite());
        assert!(to_float64(&Value::from("nan")).is_nan());
        // strconv.ParseFloat takes Go's digit separators.
        assert!((to_float64(&Value::from("1_0")) - 10.0).abs() < f64::EPSILON);
        assert!(to_float64(&Value::from("0x10")).abs() < f64::EPSILON);
    }

    #[test]
    fn emptiness_and_kinds() {
        assert!(empty(&Value::Nil));
        assert!(empty(&Value::from(0.0)));
        assert!(!empty(&Value::from(" ")));
        assert_eq!(kind(&Value::list([])), "slice");
        assert_eq!(strval(&Value::Nil), "<nil>");
        assert_eq!(strval(&Value::from(1e6)), "1e+06");
    }

    #[test]
    fn go_slicing_messages() {
        assert_eq!(slice_str("héllo", 0, Some(2)).unwrap(), "h\u{FFFD}");
        assert_eq!(
            slice_str("abc", 0, Some(-1)).unwrap_err(),
            "runtime error: slice bounds out of range [:-1]"
        );
    }
}
