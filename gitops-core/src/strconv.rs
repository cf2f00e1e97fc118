//! Go's `strconv` number parsing, for every place that reads numbers the
//! way a Go program does (Flux's Numerical image policy, Go templates).
//!
//! [`parse_float`] is `strconv.ParseFloat(s, 64)`; [`underscore_ok`] is the
//! digit-separator rule of `ParseInt` (base 0) and `ParseFloat`.
//!
//! Accepted: optional sign, decimal digits with an optional `.` and exponent,
//! hexadecimal `0x1.8p3` (binary exponent required), `_` between digits,
//! `inf`/`infinity` (any case, optional sign) and `nan` (any case, no sign).
//! Values that overflow are an error, as in Go.

/// Parse like Go `strconv.ParseFloat(s, 64)`; `None` when Go returns an error.
///
/// ```
/// use gitops_core::strconv::parse_float;
///
/// assert_eq!(parse_float("1_000.5"), Some(1000.5));
/// assert_eq!(parse_float("0x1.8p3"), Some(12.0));
/// assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
/// assert_eq!(parse_float("1e400"), None); // out of range, as in Go
/// assert_eq!(parse_float("1__0"), None);
/// ```
#[inline]
#[must_use]
pub fn parse_float(s: &str) -> Option<f64> {
    if let Some(v) = fast_path(s.as_bytes()) {
        return Some(v);
    }
    slow_path(s)
}

const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `[+-]?digits(.digits)?`: integers of up to 19 digits convert exactly
/// once (u64 -> f64 rounds to nearest, as Go's correctly rounded parse does);
/// decimals with at most 15 significant digits use Clinger's fast path
/// (mantissa < 2^53, one correctly rounded division).
#[inline]
fn fast_path(b: &[u8]) -> Option<f64> {
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    // At most 19 digits plus a dot: no u64 overflow.
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut mant: u64 = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mant = mant * 10 + u64::from(d);
        i += 1;
    }
    #[allow(clippy::cast_precision_loss)] // one correctly rounded conversion
    if i == b.len() {
        let v = mant as f64;
        return Some(if neg { -v } else { v });
    }
    let int_digits = i;
    if b[i] != b'.' {
        return None;
    }
    i += 1;
    let start = i;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        mant = mant * 10 + u64::from(d);
        i += 1;
    }
    let frac = i - start;
    let digits = int_digits + frac;
    if digits == 0 || digits > 15 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // mant < 10^15 < 2^53: exact
    let v = mant as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

fn slow_path(s: &str) -> Option<f64> {
    if let Some(v) = special(s) {
        return Some(v);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let hex = b.len() >= i + 2 && b[i] == b'0' && (b[i + 1] | 0x20) == b'x';
    if b.contains(&b'_') && !underscore_ok(s) {
        return None;
    }
    let v = if hex {
        parse_hex(&b[i + 2..])?
    } else {
        parse_decimal(&b[i..])?
    };
    Some(if neg { -v } else { v })
}

/// Go `special`: `[+-]?inf(inity)?` or `nan`, case-insensitive, whole input.
fn special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

/// Go's `underscoreOK`: whether the underscores in the number `s` (an
/// optional sign, an optional `0b`/`0o`/`0x` prefix, digits) stand only
/// between digits or after the base prefix, as `ParseInt` with base 0 and
/// `ParseFloat` require.
///
/// ```
/// use gitops_core::strconv::underscore_ok;
///
/// assert!(underscore_ok("1_000") && underscore_ok("0x_ff"));
/// assert!(!underscore_ok("_1") && !underscore_ok("1__0") && !underscore_ok("1_"));
/// ```
#[must_use]
pub fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(&c) = b.first()
        && (c == b'-' || c == b'+')
    {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = (b[1] | 0x20) == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Decimal body (after the sign): digits/underscores with one optional dot,
/// at least one digit, optional `e[+-]digits`.
fn parse_decimal(b: &[u8]) -> Option<f64> {
    let mut clean = String::with_capacity(b.len());
    let mut i = 0;
    let mut digits = false;
    let mut dot = false;
    while i < b.len() {
        match b[i] {
            b'_' => {}
            b'.' if !dot => {
                dot = true;
                clean.push('.');
            }
            c if c.is_ascii_digit() => {
                digits = true;
                clean.push(char::from(c));
            }
            _ => break,
        }
        i += 1;
    }
    if !digits {
        return None;
    }
    if i < b.len() && (b[i] | 0x20) == b'e' {
        clean.push('e');
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            clean.push(char::from(b[i]));
            i += 1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] != b'_' {
                clean.push(char::from(b[i]));
            }
            i += 1;
        }
    }
    if i != b.len() {
        return None;
    }
    let v: f64 = clean.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Hexadecimal body (after `0x`): hex digits with an optional dot, then a
/// mandatory `p[+-]digits`; rounded to nearest even like Go's `atofHex`.
fn parse_hex(b: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut trunc = false;
    let mut digits = false;
    let mut dot = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'_' {
            i += 1;
            continue;
        }
        if c == b'.' && !dot {
            dot = true;
            i += 1;
            continue;
        }
        let Some(d) = char::from(c).to_digit(16) else {
            break;
        };
        digits = true;
        if mant >> 60 == 0 {
            mant = (mant << 4) | u64::from(d);
            if dot {
                exp -= 4;
            }
        } else {
            trunc |= d != 0;
            if !dot {
                exp += 4;
            }
        }
        i += 1;
    }
    if !digits || i >= b.len() || (b[i] | 0x20) != b'p' {
        return None;
    }
    i += 1;
    let mut eneg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        eneg = b[i] == b'-';
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return None;
    }
    let mut e: i64 = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        if b[i] != b'_' && e < 100_000 {
            e = e * 10 + i64::from(b[i] - b'0');
        }
        i += 1;
    }
    if i != b.len() {
        return None;
    }
    exp += if eneg { -e } else { e };
    if mant == 0 {
        return Some(0.0);
    }
    compose(mant, exp, trunc)
}

/// `mant * 2^exp` rounded to the nearest f64 (ties to even); `None` on overflow.
fn compose(mant: u64, exp: i64, sticky_in: bool) -> Option<f64> {
    let shift = mant.leading_zeros();
    let m = mant << shift;
    // value = m * 2^(exp - shift), m in [2^63, 2^64): top bit weight 2^e_top.
    let e_top = exp - i64::from(shift) + 63;
    if e_top > 1023 {
        return None;
    }
    // Number of mantissa bits we can keep (53 for normals, fewer below).
    let keep: i64 = if e_top >= -1022 {
        53
    } else {
        53 - (-1022 - e_top)
    };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly rounding to it.
        let half = keep == 0 && (m > (1 << 63) || (m == 1 << 63 && sticky_in));
        return Some(if half { f64::from_bits(1) } else { 0.0 });
    }
    let drop = u32::try_from(64 - keep).ok()?;
    let mut kept = m >> drop;
    let rest = m & ((1u64 << drop) - 1);
    let halfway = 1u64 << (drop - 1);
    let round_up = rest > halfway || (rest == halfway && (sticky_in || kept & 1 == 1));
    if round_up {
        kept += 1;
    }
    let bits = if e_top >= -1022 {
        let mut e = e_top;
        if kept == 1 << 53 {
            kept >>= 1;
            e += 1;
            if e > 1023 {
                return None;
            }
        }
        let biased = u64::try_from(e + 1023).ok()?;
        (biased << 52) | (kept & ((1 << 52) - 1))
    } else {
        // Subnormal: exponent field 0; a carry into bit 52 yields the
        // smallest normal, which the bit pattern encodes naturally.
        kept
    };
    Some(f64::from_bits(bits))
}

#[cfg(test)]
mod tests {
    use super::parse_float as p;

    #[test]
    fn go_parse_float_grammar() {
        assert_eq!(p("1"), Some(1.0));
        assert_eq!(p("-62"), Some(-62.0));
        assert_eq!(p("47.40896403322944"), Some(47.408_964_033_229_44));
        assert_eq!(p("1_000"), Some(1000.0));
        assert_eq!(p("1__0"), None);
        assert_eq!(p("_1"), None);
        assert_eq!(p("1e3"), Some(1000.0));
        assert_eq!(p(".5"), Some(0.5));
        assert_eq!(p("5."), Some(5.0));
        assert_eq!(p("1e"), None);
        assert_eq!(p("1e400"), None);
        assert_eq!(p("1e-400"), Some(0.0));
        assert_eq!(p("Inf"), Some(f64::INFINITY));
        assert_eq!(p("-infinity"), Some(f64::NEG_INFINITY));
        assert!(p("NaN").unwrap().is_nan());
        assert_eq!(p("+nan"), None);
        assert_eq!(p("infin"), None);
        assert_eq!(p("0x1p-2"), Some(0.25));
        assert_eq!(p("0x1.8p1"), Some(3.0));
        assert_eq!(p("0x_1p0"), Some(1.0));
        assert_eq!(p("0x1"), None);
        assert_eq!(p("0x1p1024"), None);
        assert_eq!(p("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(p("0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(p("1a"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("-"), None);
        assert_eq!(p("."), None);
        assert_eq!(p(" 1"), None);
        assert_eq!(p("1606364286"), Some(1_606_364_286.0));
        assert_eq!(p("12345678901234567890"), Some(1.234_567_890_123_456_8e19));
    }

    proptest::proptest! {
        /// The fast paths agree with a correctly rounded parser on the plain
        /// decimal forms they accept (integers up to 19 digits, decimals).
        #[test]
        fn fast_paths_are_correctly_rounded(
            neg in proptest::bool::ANY,
            int in "[0-9]{0,19}",
            frac in proptest::option::of("[0-9]{0,12}"),
        ) {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = &frac {
                s.push('.');
                s.push_str(f);
            }
            let expected = s.parse::<f64>().ok().filter(|_| int.len() + frac.as_ref().map_or(0, String::len) > 0);
            proptest::prop_assert_eq!(p(&s), expected, "{}", s);
        }
    }
}
