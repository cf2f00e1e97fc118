//! RFC 3339 timestamps, as Kubernetes (`metav1.Time`), OCI image configs and
//! Flux events write them, to and from Unix seconds.
//!
//! ```
//! use gitops_core::time::{format_rfc3339, parse_rfc3339};
//!
//! assert_eq!(parse_rfc3339("2023-11-15T00:13:20.5+02:00"), Some(1_700_000_000));
//! assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
//! assert_eq!(parse_rfc3339("yesterday"), None);
//! ```
//!
//! Nothing here reads the clock: callers pass the time.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

/// Seconds since the Unix epoch of an RFC 3339 timestamp
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `t` or a space allowed for `T`);
/// a fraction is dropped (the time is rounded down to its second). `None`
/// when `s` is not such a timestamp.
#[must_use]
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// [`parse_rfc3339`] as a [`SystemTime`].
#[must_use]
pub fn parse_rfc3339_system_time(s: &str) -> Option<SystemTime> {
    let secs = parse_rfc3339(s)?;
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC, seconds precision: how
/// Kubernetes writes a `metav1.Time`). Times chrono cannot represent (beyond
/// ±262,000 years) are clamped to its range.
#[must_use]
pub fn format_rfc3339(secs: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(if secs < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    });
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// [`format_rfc3339`] of a [`SystemTime`] (rounded down to its second).
#[must_use]
pub fn format_system_time(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            // Round down: -0.5 s is second -1.
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    format_rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123456789Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("2023-11-14t22:13:20z"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("2023-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339(""), None);
    }

    #[test]
    fn formats() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        for secs in [0, 1, 86_399, 1_700_000_000, -86_401, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some(secs));
        }
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(
            format_system_time(at(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            format_system_time(SystemTime::UNIX_EPOCH - Duration::from_millis(500)),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            parse_rfc3339_system_time("2023-11-14T22:13:20Z"),
            Some(at(1_700_000_000))
        );
    }
}
