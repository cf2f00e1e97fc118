//! Go's `time.Time` as a template value, `Time.Format` and `time.Parse`
//! with Go's reference-time layouts, and `time.Duration` printing and
//! parsing.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{Datelike as _, Timelike as _};

use super::env::Environment;
use crate::value::{Object, Value};

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero `time.Time`).
const ZERO_UNIX: i64 = -62_135_596_800;

/// Where a time is shown: the zone it was made in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loc {
    Utc,
    /// `time.Local` or a named zone, with the offsets resolved at creation.
    Named(String),
    /// `time.FixedZone(name, offset)`.
    Fixed,
}

/// A Go `time.Time`.
#[derive(Debug, Clone)]
pub(crate) struct GoTime {
    pub(crate) secs: i64,
    pub(crate) nsec: u32,
    pub(crate) offset: i32,
    pub(crate) abbrev: String,
    pub(crate) loc: Loc,
    /// The monotonic clock reading (`m=+…`), nanoseconds.
    pub(crate) mono: Option<i128>,
}

impl GoTime {
    pub(crate) fn utc(secs: i64, nsec: u32) -> GoTime {
        GoTime {
            secs,
            nsec,
            offset: 0,
            abbrev: "UTC".into(),
            loc: Loc::Utc,
            mono: None,
        }
    }

    /// Go's zero time (`time.Time{}`).
    pub(crate) fn zero() -> GoTime {
        GoTime::utc(ZERO_UNIX, 0)
    }

    /// The same instant in another zone (`t.In(loc)`), as Sprig loads
    /// zones: unknown names are UTC.
    pub(crate) fn in_zone(&self, env: &dyn Environment, zone: &str) -> GoTime {
        let mut t = self.clone();
        t.mono = None;
        if zone.is_empty() || zone == "UTC" {
            t.loc = Loc::Utc;
            t.offset = 0;
            t.abbrev = "UTC".into();
            return t;
        }
        match env.zone(zone, self.secs) {
            Some((off, abbrev)) => {
                t.loc = Loc::Named(zone.to_string());
                t.offset = off;
                t.abbrev = abbrev;
            }
            None if zone == "Local" => {
                // No zone information: Local is UTC.
                t.loc = Loc::Named("Local".into());
                t.offset = 0;
                t.abbrev = "UTC".into();
            }
            None => return self.in_zone(env, "UTC"),
        }
        t
    }

    /// Re-resolves the zone offset after a change of instant.
    fn rezone(mut self, env: Option<&dyn Environment>) -> GoTime {
        if let (Loc::Named(name), Some(env)) = (&self.loc, env)
            && let Some((off, abbrev)) = env.zone(name, self.secs)
        {
            self.offset = off;
            self.abbrev = abbrev;
        }
        self
    }

    fn civil(&self) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp(self.secs + i64::from(self.offset), self.nsec)
            .map_or_else(chrono::NaiveDateTime::default, |d| d.naive_utc())
    }

    /// Go's `Time.Format`.
    pub(crate) fn format(&self, layout: &str) -> String {
        format(self, layout)
    }

    /// Go's `Time.String`.
    pub(crate) fn go_string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let (sign, m) = if m < 0 { ('-', -m) } else { ('+', m) };
            let (secs, frac) = (m / 1_000_000_000, m % 1_000_000_000);
            let _ = write!(s, " m={sign}{secs}.{frac:09}");
        }
        s
    }

    /// `t.Add(d)` (nanoseconds).
    pub(crate) fn add(&self, d: i64, env: Option<&dyn Environment>) -> GoTime {
        let total = i128::from(self.nsec) + i128::from(d);
        let mut t = self.clone();
        let secs = i128::from(self.secs) + total.div_euclid(1_000_000_000);
        t.secs = i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX });
        t.nsec = u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0);
        t.mono = self.mono.map(|m| m + i128::from(d));
        t.rezone(env)
    }

    /// Nanoseconds from `self` to `later`, saturated to Go's Duration range.
    pub(crate) fn until(&self, later: &GoTime) -> i64 {
        let d = (i128::from(later.secs) - i128::from(self.secs)) * 1_000_000_000
            + i128::from(later.nsec)
            - i128::from(self.nsec);
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    pub(crate) fn value(self, env: Option<Arc<dyn Environment>>) -> Value {
        Value::Object(Arc::new(TimeObject { t: self, env }))
    }
}

/// The `time.Time` template value.
#[derive(Debug)]
pub(crate) struct TimeObject {
    pub(crate) t: GoTime,
    env: Option<Arc<dyn Environment>>,
}

/// The Go time in a value, if it is one.
pub(crate) fn as_time(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o
            .as_any()?
            .downcast_ref::<TimeObject>()
            .map(|t| t.t.clone()),
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl Object for TimeObject {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Format"
                | "String"
                | "Unix"
                | "UnixMilli"
                | "UnixMicro"
                | "UnixNano"
                | "UTC"
                | "Local"
                | "Year"
                | "Month"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Nanosecond"
                | "YearDay"
                | "Weekday"
                | "IsZero"
                | "AddDate"
                | "Before"
                | "After"
                | "Equal"
                | "MarshalJSON"
                | "MarshalText"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let t = &self.t;
        let c = t.civil();
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
        let env = self.env.as_deref();
        let other = |v: &Value| {
            as_time(v).ok_or_else(|| {
                format!(
                    "wrong type for value; expected time.Time; got {}",
                    v.type_name()
                )
            })
        };
        let nanos = || i128::from(t.secs) * 1_000_000_000 + i128::from(t.nsec);
        let sat = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
        match name {
            "Format" => {
                want(1)?;
                let layout = args[0].as_str().ok_or_else(|| {
                    format!(
                        "wrong type for value; expected string; got {}",
                        args[0].type_name()
                    )
                })?;
                return Ok(Value::from(t.format(layout)));
            }
            "AddDate" => {
                want(3)?;
                let n = |v: &Value| match v {
                    Value::Int(i) => Ok(*i),
                    other => Err(format!(
                        "wrong type for value; expected int; got {}",
                        other.type_name()
                    )),
                };
                let (y, m, d) = (n(&args[0])?, n(&args[1])?, n(&args[2])?);
                let total_m = i64::from(c.month0()) + m;
                let year = i64::from(c.year()) + y + total_m.div_euclid(12);
                let month = total_m.rem_euclid(12) + 1;
                let base = date_to_unix(year, month, 1, 0).unwrap_or(t.secs);
                let day = i64::from(c.day()) - 1 + d;
                let wall = base + day * 86400 + i64::from(c.num_seconds_from_midnight());
                let mut out = t.clone();
                out.mono = None;
                out.secs = wall - i64::from(t.offset);
                return Ok(out.rezone(env).value(self.env.clone()));
            }
            "Before" | "After" | "Equal" => {
                want(1)?;
                let o = other(&args[0])?;
                let (a, b) = (
                    nanos(),
                    i128::from(o.secs) * 1_000_000_000 + i128::from(o.nsec),
                );
                return Ok(Value::Bool(match name {
                    "Before" => a < b,
                    "After" => a > b,
                    _ => a == b,
                }));
            }
            _ => want(0)?,
        }
        Ok(match name {
            "String" => Value::from(t.go_string()),
            "Unix" => Value::Int(t.secs),
            "UnixMilli" => Value::Int(sat(nanos() / 1_000_000)),
            "UnixMicro" => Value::Int(sat(nanos() / 1_000)),
            "UnixNano" => Value::Int(sat(nanos())),
            "UTC" => {
                let mut u = GoTime::utc(t.secs, t.nsec);
                u.mono = None;
                u.value(self.env.clone())
            }
            "Local" => match env {
                Some(e) => t.in_zone(e, "Local").value(self.env.clone()),
                None => GoTime::utc(t.secs, t.nsec).value(None),
            },
            "Year" => Value::Int(i64::from(c.year())),
            "Month" => Value::from(MONTHS[c.month0() as usize]),
            "Day" => Value::Int(i64::from(c.day())),
            "Hour" => Value::Int(i64::from(c.hour())),
            "Minute" => Value::Int(i64::from(c.minute())),
            "Second" => Value::Int(i64::from(c.second())),
            "Nanosecond" => Value::Int(i64::from(t.nsec)),
            "YearDay" => Value::Int(i64::from(c.ordinal())),
            "Weekday" => Value::from(DAYS[c.weekday().num_days_from_sunday() as usize]),
            "IsZero" => Value::Bool(t.secs == ZERO_UNIX && t.nsec == 0),
            "MarshalJSON" => {
                if !(0..=9999).contains(&c.year()) {
                    return Err("Time.MarshalJSON: year outside of range [0,9999]".into());
                }
                Value::from(format!(
                    "\"{}\"",
                    t.format("2006-01-02T15:04:05.999999999Z07:00")
                ))
            }
            "MarshalText" => Value::from(t.format("2006-01-02T15:04:05.999999999Z07:00")),
            _ => return Err(format!("no method {name}")),
        })
    }

    fn format(&self) -> String {
        self.t.go_string()
    }
}

/// Unix seconds of a civil date and seconds of the day (UTC).
fn date_to_unix(year: i64, month: i64, day: i64, secs: i64) -> Option<i64> {
    let y = i32::try_from(year).ok()?;
    let m = u32::try_from(month).ok()?;
    let first = chrono::NaiveDate::from_ymd_opt(y, m, 1)?;
    let days = first.signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?);
    Some((days.num_days() + day - 1) * 86400 + secs)
}

/// Layout elements (Go's `std*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm(bool),
    Tz,
    Iso(TzForm),
    Num(TzForm),
    /// `.000` (`true`) or `.999` (`false`), digits, separator.
    Frac(bool, usize, u8),
}

/// Numeric zone forms: `-0700`, `-07:00`, `-07`, `-070000`, `-07:00:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TzForm {
    HhMm,
    ColonHhMm,
    Hh,
    HhMmSs,
    ColonHhMmSs,
}

fn lower_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: (prefix length, element, element length).
fn next_std(layout: &str) -> Option<(usize, Std, usize)> {
    let l = layout.as_bytes();
    let has = |i: usize, p: &str| l[i..].starts_with(p.as_bytes());
    for i in 0..l.len() {
        let found = match l[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !lower_at(l, i + 3) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' => {
                if has(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if has(i, "Mon") && !lower_at(l, i + 3) {
                    Some((Std::WeekDay, 3))
                } else if has(i, "MST") {
                    Some((Std::Tz, 3))
                } else {
                    None
                }
            }
            b'0' => match l.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if l.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' => {
                if l.get(i + 1) == Some(&b'5') {
                    Some((Std::Hour, 2))
                } else {
                    Some((Std::NumMonth, 1))
                }
            }
            b'2' => {
                if has(i, "2006") {
                    Some((Std::LongYear, 4))
                } else {
                    Some((Std::Day, 1))
                }
            }
            b'_' => {
                if l.get(i + 1) == Some(&b'2') {
                    if has(i + 1, "2006") {
                        return Some((i + 1, Std::LongYear, 4));
                    }
                    Some((Std::UnderDay, 2))
                } else if has(i, "__2") {
                    Some((Std::UnderYearDay, 3))
                } else {
                    None
                }
            }
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if l.get(i + 1) == Some(&b'M') => Some((Std::Pm(true), 2)),
            b'p' if l.get(i + 1) == Some(&b'm') => Some((Std::Pm(false), 2)),
            c @ (b'-' | b'Z') => {
                let rest = &layout[i + 1..];
                let form = if rest.starts_with("070000") {
                    Some((TzForm::HhMmSs, 7))
                } else if rest.starts_with("07:00:00") {
                    Some((TzForm::ColonHhMmSs, 9))
                } else if rest.starts_with("0700") {
                    Some((TzForm::HhMm, 5))
                } else if rest.starts_with("07:00") {
                    Some((TzForm::ColonHhMm, 6))
                } else if rest.starts_with("07") {
                    Some((TzForm::Hh, 3))
                } else {
                    None
                };
                form.map(|(f, n)| {
                    if c == b'Z' {
                        (Std::Iso(f), n)
                    } else {
                        (Std::Num(f), n)
                    }
                })
            }
            c @ (b'.' | b',') => match l.get(i + 1) {
                Some(&d @ (b'0' | b'9')) => {
                    let mut j = i + 1;
                    while j < l.len() && l[j] == d {
                        j += 1;
                    }
                    if l.get(j).is_some_and(u8::is_ascii_digit) {
                        None
                    } else {
                        Some((Std::Frac(d == b'0', j - i - 1, c), j - i))
                    }
                }
                _ => None,
            },
            _ => None,
        };
        if let Some((std, n)) = found {
            return Some((i, std, n));
        }
    }
    None
}

fn pad(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
        let _ = write!(out, "{:0width$}", x.unsigned_abs());
    } else {
        let _ = write!(out, "{x:0width$}");
    }
}

fn format(t: &GoTime, layout: &str) -> String {
    let c = t.civil();
    let year = i64::from(c.year());
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    while let Some((pre, std, n)) = next_std(rest) {
        out.push_str(&rest[..pre]);
        rest = &rest[pre + n..];
        let hour = i64::from(c.hour());
        match std {
            Std::Year => pad(&mut out, year.rem_euclid(100), 2),
            Std::LongYear => pad(&mut out, year, 4),
            Std::Month => out.push_str(&MONTHS[c.month0() as usize][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month0() as usize]),
            Std::NumMonth => pad(&mut out, i64::from(c.month()), 0),
            Std::ZeroMonth => pad(&mut out, i64::from(c.month()), 2),
            Std::WeekDay => {
                out.push_str(&DAYS[c.weekday().num_days_from_sunday() as usize][..3]);
            }
            Std::LongWeekDay => out.push_str(DAYS[c.weekday().num_days_from_sunday() as usize]),
            Std::Day => pad(&mut out, i64::from(c.day()), 0),
            Std::UnderDay => {
                if c.day() < 10 {
                    out.push(' ');
                }
                pad(&mut out, i64::from(c.day()), 0);
            }
            Std::ZeroDay => pad(&mut out, i64::from(c.day()), 2),
            Std::UnderYearDay => {
                let _ = write!(out, "{:>3}", c.ordinal());
            }
            Std::ZeroYearDay => pad(&mut out, i64::from(c.ordinal()), 3),
            Std::Hour => pad(&mut out, hour, 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                pad(&mut out, h, if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => pad(&mut out, i64::from(c.minute()), 0),
            Std::ZeroMinute => pad(&mut out, i64::from(c.minute()), 2),
            Std::Second => pad(&mut out, i64::from(c.second()), 0),
            Std::ZeroSecond => pad(&mut out, i64::from(c.second()), 2),
            Std::Pm(upper) => out.push_str(match (hour >= 12, upper) {
                (true, true) => "PM",
                (false, true) => "AM",
                (true, false) => "pm",
                (false, false) => "am",
            }),
            Std::Iso(_) if t.offset == 0 => out.push('Z'),
            Std::Iso(form) | Std::Num(form) => {
                let mut zone = t.offset / 60;
                let mut abs = t.offset;
                if zone < 0 {
                    out.push('-');
                    zone = -zone;
                    abs = -abs;
                } else {
                    out.push('+');
                }
                pad(&mut out, i64::from(zone / 60), 2);
                if matches!(form, TzForm::ColonHhMm | TzForm::ColonHhMmSs) {
                    out.push(':');
                }
                if form != TzForm::Hh {
                    pad(&mut out, i64::from(zone % 60), 2);
                }
                if matches!(form, TzForm::HhMmSs | TzForm::ColonHhMmSs) {
                    if form == TzForm::ColonHhMmSs {
                        out.push(':');
                    }
                    pad(&mut out, i64::from(abs % 60), 2);
                }
            }
            Std::Tz => {
                if t.abbrev.is_empty() {
                    let mut zone = t.offset / 60;
                    if zone < 0 {
                        out.push('-');
                        zone = -zone;
                    } else {
                        out.push('+');
                    }
                    pad(&mut out, i64::from(zone / 60), 2);
                    pad(&mut out, i64::from(zone % 60), 2);
                } else {
                    out.push_str(&t.abbrev);
                }
            }
            Std::Frac(zeros, digits, sep) => {
                let frac = format!("{:09}", t.nsec);
                let digits = digits.min(9);
                let mut f = &frac[..digits];
                if !zeros {
                    f = f.trim_end_matches('0');
                    if f.is_empty() {
                        continue;
                    }
                }
                out.push(char::from(sep));
                out.push_str(f);
            }
        }
    }
    out.push_str(rest);
    out
}

/// Go's `time` package quoting for error messages.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        if !ch.is_ascii() || ch < ' ' {
            let mut buf = [0; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if ch == '"' || ch == '\\' {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out.push('"');
    out
}

fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &v[2..],
    ))
}

fn getnum3(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < 3 && b.get(i).is_some_and(u8::is_ascii_digit) {
        n = n * 10 + i64::from(b[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &v[i..]))
}

fn lookup<'a>(tab: &[&str], v: &'a str, short: bool) -> Option<(i64, &'a str)> {
    for (k, name) in tab.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if v.len() >= name.len() && v.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            return Some((i64::try_from(k).unwrap_or(0), &v[name.len()..]));
        }
    }
    None
}

/// Go's `parseNanoseconds`: `(nanoseconds, range error)`.
fn parse_nanos(v: &str, n: usize) -> Option<(i64, bool)> {
    let b = v.as_bytes();
    if !matches!(b.first(), Some(b'.' | b',')) {
        return None;
    }
    let n = n.min(10);
    let digits = v.get(1..n)?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut ns: i64 = digits.parse().unwrap_or(0);
    for _ in 0..10 - n {
        ns *= 10;
    }
    Some((ns, false))
}

fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let mut x: u64 = 0;
    for c in s[..end].bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[end..]))
}

fn parse_signed_offset(v: &str) -> usize {
    let Some(rest) = v.strip_prefix(['-', '+']) else {
        return 0;
    };
    match leading_int(rest) {
        Some((x, rem)) if rem.len() != rest.len() && x <= 23 => v.len() - rem.len(),
        _ => 0,
    }
}

fn parse_time_zone(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if v.starts_with("ChST") || v.starts_with("MeST") {
        return Some(4);
    }
    if let Some(rest) = v.strip_prefix("GMT") {
        return Some(if b.len() == 3 {
            3
        } else {
            3 + parse_signed_offset(rest)
        });
    }
    if b[0] == b'+' || b[0] == b'-' {
        let n = parse_signed_offset(v);
        return (n > 0).then_some(n);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if b[4] == b'T' => Some(5),
        4 if b[3] == b'T' || v.starts_with("WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Result<&'a str, ()> {
    while let Some(p) = prefix.as_bytes().first() {
        if *p == b' ' {
            if value.as_bytes().first().is_some_and(|c| *c != b' ') {
                return Err(());
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        if value.as_bytes().first() != Some(p) {
            return Err(());
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.ParseInLocation(layout, value, time.Local)`, with `Local`
/// taken from the environment.
pub(crate) fn parse_local(
    layout: &str,
    value: &str,
    env: &dyn Environment,
) -> Result<GoTime, String> {
    let err = |lay: &str, val: &str, msg: &str| {
        if msg.is_empty() {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                quote(value),
                quote(layout),
                quote(val),
                quote(lay)
            )
        } else {
            format!("parsing time {}{msg}", quote(value))
        }
    };
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut am, mut pm) = (false, false);
    let mut utc = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name = String::new();
    let mut lay = layout;
    let mut val = value;
    loop {
        let Some((pre, std, n)) = next_std(lay) else {
            val = skip(val, lay).map_err(|()| err(lay, val, ""))?;
            if !val.is_empty() {
                return Err(err("", "", &format!(": extra text: {}", quote(val))));
            }
            break;
        };
        let prefix = &lay[..pre];
        let stdstr = &lay[pre..pre + n];
        val = skip(val, prefix).map_err(|()| err(prefix, val, ""))?;
        lay = &lay[pre + n..];
        let hold = val;
        let mut range = "";
        let ok: Option<()> = (|| {
            match std {
                Std::Year => {
                    let p = val.get(..2)?;
                    if !p.bytes().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    val = &val[2..];
                    year = p.parse::<i64>().ok()?;
                    year += if year >= 69 { 1900 } else { 2000 };
                }
                Std::LongYear => {
                    let p = val.get(..4)?;
                    if !p.bytes().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    val = &val[4..];
                    year = p.parse().ok()?;
                }
                Std::Month | Std::LongMonth => {
                    let (m, rest) = lookup(&MONTHS, val, std == Std::Month)?;
                    month = m + 1;
                    val = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(val, std == Std::ZeroMonth)?;
                    month = m;
                    val = rest;
                    if !(1..=12).contains(&month) {
                        range = "month";
                    }
                }
                Std::WeekDay | Std::LongWeekDay => {
                    val = lookup(&DAYS, val, std == Std::WeekDay)?.1;
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay {
                        val = val.strip_prefix(' ').unwrap_or(val);
                    }
                    let (d, rest) = getnum(val, std == Std::ZeroDay)?;
                    day = d;
                    val = rest;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    if std == Std::UnderYearDay {
                        for _ in 0..2 {
                            val = val.strip_prefix(' ').unwrap_or(val);
                        }
                    }
                    let (d, rest) = getnum3(val, std == Std::ZeroYearDay)?;
                    yday = d;
                    val = rest;
                }
                Std::Hour => {
                    let (h, rest) = getnum(val, false)?;
                    hour = h;
                    val = rest;
                    if hour >= 24 {
                        range = "hour";
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    let (h, rest) = getnum(val, std == Std::ZeroHour12)?;
                    hour = h;
                    val = rest;
                    if hour > 12 {
                        range = "hour";
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    let (m, rest) = getnum(val, std == Std::ZeroMinute)?;
                    min = m;
                    val = rest;
                    if min >= 60 {
                        range = "minute";
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    let (s, rest) = getnum(val, std == Std::ZeroSecond)?;
                    sec = s;
                    val = rest;
                    if sec >= 60 {
                        range = "second";
                        return Some(());
                    }
                    let b = val.as_bytes();
                    if b.len() >= 2
                        && matches!(b[0], b'.' | b',')
                        && b[1].is_ascii_digit()
                        && !matches!(next_std(lay), Some((_, Std::Frac(..), _)))
                    {
                        let mut k = 2;
                        while k < b.len() && b[k].is_ascii_digit() {
                            k += 1;
                        }
                        nsec = parse_nanos(val, k)?.0;
                        val = &val[k..];
                    }
                }
                Std::Pm(upper) => {
                    let p = val.get(..2)?;
                    val = &val[2..];
                    match (p, upper) {
                        ("PM", true) | ("pm", false) => pm = true,
                        ("AM", true) | ("am", false) => am = true,
                        _ => return None,
                    }
                }
                Std::Iso(_) if val.starts_with('Z') => {
                    val = &val[1..];
                    utc = true;
                }
                Std::Iso(form) | Std::Num(form) => {
                    let b = val.as_bytes();
                    let (sign, h, m, s, used) = match form {
                        TzForm::ColonHhMm => {
                            if b.len() < 6 || b[3] != b':' {
                                return None;
                            }
                            (b[0], &val[1..3], &val[4..6], "00", 6)
                        }
                        TzForm::Hh => {
                            if b.len() < 3 {
                                return None;
                            }
                            (b[0], val.get(1..3)?, "00", "00", 3)
                        }
                        TzForm::ColonHhMmSs => {
                            if b.len() < 9 || b[3] != b':' || b[6] != b':' {
                                return None;
                            }
                            (b[0], &val[1..3], &val[4..6], &val[7..9], 9)
                        }
                        TzForm::HhMmSs => {
                            if b.len() < 7 {
                                return None;
                            }
                            (b[0], val.get(1..3)?, val.get(3..5)?, val.get(5..7)?, 7)
                        }
                        TzForm::HhMm => {
                            if b.len() < 5 {
                                return None;
                            }
                            (b[0], val.get(1..3)?, val.get(3..5)?, "00", 5)
                        }
                    };
                    val = val.get(used..)?;
                    let (hr, mm, ss) = (getnum(h, true)?.0, getnum(m, true)?.0, getnum(s, true)?.0);
                    if hr > 24 {
                        range = "time zone offset hour";
                    }
                    if mm > 60 {
                        range = "time zone offset minute";
                    }
                    if ss > 60 {
                        range = "time zone offset second";
                    }
                    let off = (hr * 60 + mm) * 60 + ss;
                    zone_offset = Some(match sign {
                        b'+' => off,
                        b'-' => -off,
                        _ => return None,
                    });
                }
                Std::Tz => {
                    if val.starts_with("UTC") {
                        utc = true;
                        val = &val[3..];
                        return Some(());
                    }
                    let n = parse_time_zone(val)?;
                    zone_name = val[..n].to_string();
                    val = &val[n..];
                }
                Std::Frac(true, digits, _) => {
                    let n = 1 + digits;
                    if val.len() < n {
                        return None;
                    }
                    nsec = parse_nanos(val, n)?.0;
                    val = &val[n..];
                }
                Std::Frac(false, _, _) => {
                    let b = val.as_bytes();
                    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                        return Some(());
                    }
                    let mut k = 0;
                    while k + 1 < b.len() && b[k + 1].is_ascii_digit() {
                        k += 1;
                    }
                    nsec = parse_nanos(val, 1 + k)?.0;
                    val = &val[1 + k..];
                }
            }
            Some(())
        })();
        if !range.is_empty() {
            return Err(err("", "", &format!(": {range} out of range")));
        }
        if ok.is_none() {
            return Err(err(stdstr, hold, ""));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
        let (mut d, mut m) = (0, 0);
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(err("", "", ": day-of-year out of range"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if BEFORE[usize::try_from(m).unwrap_or(0)] < yday {
                m += 1;
            }
            d = yday - BEFORE[usize::try_from(m - 1).unwrap_or(0)];
        }
        if month >= 0 && month != m {
            return Err(err("", "", ": day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(err("", "", ": day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(err("", "", ": day out of range"));
    }
    let wall = date_to_unix(year, month, day, hour * 3600 + min * 60 + sec)
        .ok_or_else(|| err("", "", ": year out of range"))?;
    let nsec = u32::try_from(nsec).unwrap_or(0);
    if utc {
        return Ok(GoTime::utc(wall, nsec));
    }
    let local = |unix: i64| {
        env.zone("Local", unix)
            .unwrap_or_else(|| (0, "UTC".to_string()))
    };
    let local_time = |unix: i64, off: i32, abbrev: String| GoTime {
        secs: unix,
        nsec,
        offset: off,
        abbrev,
        loc: Loc::Named("Local".into()),
        mono: None,
    };
    let fixed = |unix: i64, off: i64, name: String| GoTime {
        secs: unix,
        nsec,
        offset: i32::try_from(off).unwrap_or(0),
        abbrev: name,
        loc: Loc::Fixed,
        mono: None,
    };
    if let Some(off) = zone_offset {
        let unix = wall - off;
        let (loff, lname) = local(unix);
        if i64::from(loff) == off && (zone_name.is_empty() || lname == zone_name) {
            return Ok(local_time(unix, loff, lname));
        }
        return Ok(fixed(unix, off, zone_name));
    }
    if !zone_name.is_empty() {
        for guess in [wall, wall - i64::from(local(wall).0)] {
            let (loff, lname) = local(guess);
            if lname == zone_name {
                let unix = wall - i64::from(loff);
                return Ok(local_time(unix, loff, lname));
            }
        }
        let mut off = 0;
        if zone_name.len() > 3 && zone_name.starts_with("GMT") {
            off = zone_name[3..].parse::<i64>().unwrap_or(0) * 3600;
        }
        return Ok(fixed(wall - off, off, zone_name));
    }
    // Go's `Date` in Local: the offset in force at that wall time.
    let (off1, _) = local(wall);
    let mut unix = wall - i64::from(off1);
    let (off2, name2) = local(unix);
    if off2 != off1 {
        unix = wall - i64::from(off2);
    }
    let (off, name) = local(unix);
    let _ = name2;
    Ok(local_time(unix, off, name))
}

/// Go's `Duration.String`.
pub(crate) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    let frac = |u: u64, prec: u32| -> (String, u64) {
        let p = 10u64.pow(prec);
        let f = u % p;
        if f == 0 {
            return (String::new(), u / p);
        }
        let s = format!("{f:0width$}", width = prec as usize);
        (format!(".{}", s.trim_end_matches('0')), u / p)
    };
    if u < 1_000_000_000 {
        let (unit, prec) = match u {
            0 => return "0s".into(),
            1..=999 => ("ns", 0),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        let (f, whole) = frac(u, prec);
        let _ = write!(out, "{whole}{f}{unit}");
    } else {
        let (f, secs) = frac(u, 9);
        u = secs;
        let s = format!("{}{f}s", u % 60);
        u /= 60;
        if u > 0 {
            let m = format!("{}m", u % 60);
            u /= 60;
            if u > 0 {
                let _ = write!(out, "{u}h");
            }
            out.push_str(&m);
        }
        out.push_str(&s);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Go's `time.ParseDuration` (nanoseconds).
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let end = rest
                .bytes()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let mut overflow = false;
            for c in rest[..end].bytes() {
                if overflow {
                    continue;
                }
                if f > (i64::MAX as u64) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > 1 << 63 {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = end > 0;
            s = &rest[end..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let end = s
            .bytes()
            .position(|c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if end == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let u = &s[..end];
        s = &s[end..];
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(u),
                    quote(orig)
                ));
            }
        };
        if v > (1 << 63) / unit {
            return Err(invalid());
        }
        let mut v = v * unit;
        if f > 0 {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let add = (f as f64 * (unit as f64 / scale)) as u64;
            v += add;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        d += v;
        if d > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok(0i64.wrapping_sub_unsigned(d));
    }
    i64::try_from(d).map_err(|_| invalid())
}

/// Go's `Duration.Round(m)`.
pub(crate) fn round_duration(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let half = |x: i64| (x.unsigned_abs()) * 2 < m.unsigned_abs();
    let r = d % m;
    if d < 0 {
        let r = -r;
        if half(r) {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if half(r) {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = GoTime::utc(1_560_458_379, 123_456_789);
        assert_eq!(t.go_string(), "2019-06-13 20:39:39.123456789 +0000 UTC");
        assert_eq!(
            t.format("Mon Jan _2 3:4:5 PM 2006 .000 ,99"),
            "Thu Jun 13 8:39:39 PM 2019 .123 ,12"
        );
        assert_eq!(
            t.format("02/01/06 15h Z07:00 -07 -070000 002 __2"),
            "13/06/19 20h Z +00 +000000 164 164"
        );
        assert_eq!(t.format("January Monday Janet"), "June Thursday Janet");
        let mut f = t.clone();
        f.offset = -(3 * 3600 + 30 * 60);
        f.abbrev = String::new();
        assert_eq!(f.format("Z07:00 MST -07:00:00"), "-03:30 -0330 -03:30:00");
        f.mono = Some(1_500_000_123);
        assert!(f.go_string().ends_with(" m=+1.500000123"));
    }

    #[test]
    fn durations_like_go() {
        for (d, s) in [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (61_000_000_000, "1m1s"),
            (3_600_000_000_000, "1h0m0s"),
            (-5_000_000_000, "-5s"),
            (93_784_000_000_000, "26h3m4s"),
        ] {
            assert_eq!(duration_string(d), s);
        }
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("-1.5s").unwrap(), -1_500_000_000);
        assert_eq!(parse_duration(".5ms").unwrap(), 500_000);
        assert_eq!(
            parse_duration("1f").unwrap_err(),
            "time: unknown unit \"f\" in duration \"1f\""
        );
        assert_eq!(
            parse_duration("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_duration("12").unwrap_err(),
            "time: missing unit in duration \"12\""
        );
        assert_eq!(
            round_duration(125_400_000_000, 1_000_000_000),
            125_000_000_000
        );
        assert_eq!(
            round_duration(-4_600_000_000, 1_000_000_000),
            -5_000_000_000
        );
    }

    #[test]
    fn parses_like_go() {
        let env = super::super::env::NoEnvironment;
        let t = parse_local("02 Jan 06 15:04:05 MST", "13 Jun 19 20:39:39 GMT", &env).unwrap();
        assert_eq!(t.secs, 1_560_458_379);
        assert_eq!(t.go_string(), "2019-06-13 20:39:39 +0000 GMT");
        let t = parse_local(
            "2006-01-02T15:04:05Z07:00",
            "2019-06-13T22:39:39.5+02:00",
            &env,
        )
        .unwrap();
        assert_eq!(t.secs, 1_560_458_379);
        assert_eq!(t.nsec, 500_000_000);
        assert_eq!(t.go_string(), "2019-06-13 22:39:39.5 +0200 +0200");
        assert_eq!(
            parse_local("2006-01-02", "2019-13-01", &env).unwrap_err(),
            "parsing time \"2019-13-01\": month out of range"
        );
        assert_eq!(
            parse_local("2006-01-02", "2019-02-30", &env).unwrap_err(),
            "parsing time \"2019-02-30\": day out of range"
        );
        assert_eq!(
            parse_local("2006-01-02", "x", &env).unwrap_err(),
            "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\""
        );
        assert_eq!(
            parse_local("2006-01-02", "2019-01-02x", &env).unwrap_err(),
            "parsing time \"2019-01-02x\": extra text: \"x\""
        );
        assert_eq!(
            parse_local("2006-01-02 3PM", "2019-01-02 3PM", &env)
                .unwrap()
                .secs,
            1_546_441_200
        );
    }
}
