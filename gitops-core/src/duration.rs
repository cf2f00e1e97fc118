//! Go's `time.Duration` text forms: [`GoDuration`] parses like Go's
//! `time.ParseDuration` (its [`FromStr`]) and prints like
//! `Duration.String()` (its [`Display`](fmt::Display)).
//!
//! Kubernetes and Flux write durations this way (`metav1.Duration`, the
//! Flux CLI's `--interval` and `--timeout` flags): `1m` prints as `1m0s`,
//! `90s` as `1m30s`, `1.5s` stays `1.5s`, `500ms` stays `500ms`.
//!
//! ```
//! use gitops_core::duration::GoDuration;
//!
//! let d: GoDuration = "90s".parse()?;
//! assert_eq!(d, GoDuration(90_000_000_000));
//! assert_eq!(d.to_string(), "1m30s");
//! assert_eq!(GoDuration::minutes(1).to_string(), "1m0s");
//! assert!("1x".parse::<GoDuration>().is_err());
//! # Ok::<(), gitops_core::duration::DurationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// A signed span of nanoseconds with Go's text forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub i64);

/// Why a duration did not parse (Go's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not of the form `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit (other than a lone `0`).
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit Go does not know.
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
}

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

impl GoDuration {
    /// `n` minutes.
    pub const fn minutes(n: i64) -> GoDuration {
        GoDuration(n * MINUTE as i64)
    }

    /// True for the zero duration.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

fn unit_of(u: &str) -> Option<u64> {
    Some(match u {
        "ns" => NANOSECOND,
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

impl FromStr for GoDuration {
    type Err = DurationError;

    /// Go's `time.ParseDuration`.
    fn from_str(input: &str) -> Result<GoDuration, DurationError> {
        let invalid = || DurationError::Invalid(input.to_owned());
        let mut s = input;
        let mut neg = false;
        if let Some(rest) = s.strip_prefix('-') {
            neg = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(GoDuration(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            let b = s.as_bytes();
            if !(b[0] == b'.' || b[0].is_ascii_digit()) {
                return Err(invalid());
            }
            let int_end = b
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(b.len());
            let int_part = &s[..int_end];
            let mut rest = &s[int_end..];
            let mut frac_part = "";
            if let Some(after) = rest.strip_prefix('.') {
                let fe = after
                    .bytes()
                    .position(|c| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                frac_part = &after[..fe];
                rest = &after[fe..];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_end = rest
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(rest.len(), |(i, _)| i);
            let unit = &rest[..unit_end];
            if unit.is_empty() {
                return Err(DurationError::MissingUnit(input.to_owned()));
            }
            let scale = unit_of(unit).ok_or_else(|| DurationError::UnknownUnit {
                unit: unit.to_owned(),
                input: input.to_owned(),
            })?;
            let whole: u64 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
            if !frac_part.is_empty() {
                // Fraction scaled to the unit, truncated like Go.
                let mut f: f64 = 0.0;
                let mut div = 1.0;
                for d in frac_part.bytes().take(18) {
                    div *= 10.0;
                    f += f64::from(d - b'0') / div;
                }
                let add = (f * scale as f64) as u64;
                v = v.checked_add(add).ok_or_else(invalid)?;
            }
            total = total.checked_add(v).ok_or_else(invalid)?;
            if total > i64::MAX as u64 {
                return Err(invalid());
            }
            s = &rest[unit_end..];
        }
        let t = total as i64;
        Ok(GoDuration(if neg { -t } else { t }))
    }
}

fn frac(mut v: u64, prec: u32) -> (String, u64) {
    // Digits after the point, trailing zeros dropped, like Go's fmtFrac.
    let mut digits = Vec::new();
    let mut print = false;
    for _ in 0..prec {
        let d = v % 10;
        print = print || d != 0;
        if print {
            digits.push(char::from(b'0' + d as u8));
        }
        v /= 10;
    }
    let mut s = String::new();
    if print {
        s.push('.');
        s.extend(digits.iter().rev());
    }
    (s, v)
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u < SECOND {
            if u == 0 {
                return f.write_str("0s");
            }
            let (prec, unit) = if u < MICROSECOND {
                return write!(f, "{sign}{u}ns");
            } else if u < MILLISECOND {
                (3, "\u{b5}s")
            } else {
                (6, "ms")
            };
            let (fr, whole) = frac(u, prec);
            return write!(f, "{sign}{whole}{fr}{unit}");
        }
        let (fr, secs) = frac(u, 9);
        let s = secs % 60;
        let mins = secs / 60;
        if mins == 0 {
            return write!(f, "{sign}{s}{fr}s");
        }
        let m = mins % 60;
        let h = mins / 60;
        if h == 0 {
            return write!(f, "{sign}{m}m{s}{fr}s");
        }
        write!(f, "{sign}{h}h{m}m{s}{fr}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str) -> String {
        s.parse::<GoDuration>()
            .map(|d| d.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn go_forms() {
        assert_eq!(round("1m"), "1m0s");
        assert_eq!(round("90s"), "1m30s");
        assert_eq!(round("1h"), "1h0m0s");
        assert_eq!(round("1.5s"), "1.5s");
        assert_eq!(round("500ms"), "500ms");
        assert_eq!(round("1.5ms"), "1.5ms");
        assert_eq!(round("2us"), "2\u{b5}s");
        assert_eq!(round("10ns"), "10ns");
        assert_eq!(round("0"), "0s");
        assert_eq!(round("1h2m3.25s"), "1h2m3.25s");
        assert_eq!(round("-5m"), "-5m0s");
        assert_eq!(round("24h"), "24h0m0s");
        assert_eq!(round("1"), "time: missing unit in duration \"1\"");
        assert_eq!(round("1x"), "time: unknown unit \"x\" in duration \"1x\"");
        assert_eq!(round(""), "time: invalid duration \"\"");
        assert_eq!(round("m"), "time: invalid duration \"m\"");
    }
}
