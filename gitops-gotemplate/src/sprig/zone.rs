//! Time zones as Go's `time` package reads them: TZif files with their
//! POSIX `TZ` footer for times after the last transition.

/// A POSIX `TZ` rule day.
#[derive(Debug, Clone, Copy)]
enum RuleDay {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: day 0..=365, February 29 counted.
    DayOfYear(i64),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { mon: i64, week: i64, day: i64 },
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    day: RuleDay,
    /// Seconds after local midnight.
    time: i64,
}

/// A parsed POSIX `TZ` string (`CET-1CEST,M3.5.0,M10.5.0/3`).
#[derive(Debug, Clone)]
struct PosixTz {
    std_name: String,
    std_offset: i32,
    dst: Option<(String, i32, Rule, Rule)>,
}

/// One zone: transitions with their types, and the footer rule.
#[derive(Debug, Clone)]
pub(crate) struct Tz {
    /// `(offset, is_dst, abbreviation)`.
    types: Vec<(i32, bool, String)>,
    /// `(unix time, type index)`, ascending.
    transitions: Vec<(i64, usize)>,
    footer: Option<PosixTz>,
}

impl Tz {
    /// The offset and abbreviation in force at a Unix time.
    pub(crate) fn lookup(&self, unix: i64) -> (i32, String) {
        let ty = |i: usize| {
            self.types
                .get(i)
                .map_or((0, "UTC".to_string()), |t| (t.0, t.2.clone()))
        };
        if self.transitions.is_empty() || unix < self.transitions[0].0 {
            if self.transitions.is_empty()
                && let Some(f) = &self.footer
                && self.types.len() <= 1
            {
                return f.lookup(unix);
            }
            return ty(self.first_type());
        }
        let last = self.transitions[self.transitions.len() - 1];
        if unix >= last.0 {
            if let Some(f) = &self.footer {
                return f.lookup(unix);
            }
            return ty(last.1);
        }
        let k = self.transitions.partition_point(|&(t, _)| t <= unix);
        ty(self.transitions[k - 1].1)
    }

    /// Go's `lookupFirstZone`.
    fn first_type(&self) -> usize {
        let first_is_dst = self
            .transitions
            .first()
            .and_then(|&(_, i)| self.types.get(i))
            .is_some_and(|t| t.1);
        if !first_is_dst {
            return 0;
        }
        let start = self.transitions[0].1;
        (0..start)
            .rev()
            .find(|&i| !self.types[i].1)
            .or_else(|| (0..self.types.len()).find(|&i| !self.types[i].1))
            .unwrap_or(0)
    }
}

/// Parses a TZif file (versions 1 to 4).
pub(crate) fn parse_tzif(data: &[u8]) -> Option<Tz> {
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Some(a)
        }
        fn u32(&mut self) -> Option<u32> {
            self.take(4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn usize(&mut self) -> Option<usize> {
            self.u32().and_then(|n| usize::try_from(n).ok())
        }
    }
    let mut r = Reader(data);
    if r.take(4)? != b"TZif" {
        return None;
    }
    let version = r.take(1)?[0];
    r.take(15)?;
    let counts = |r: &mut Reader<'_>| -> Option<[usize; 6]> {
        Some([
            r.usize()?,
            r.usize()?,
            r.usize()?,
            r.usize()?,
            r.usize()?,
            r.usize()?,
        ])
    };
    let [isut, isstd, leap, time, typ, chars] = counts(&mut r)?;
    let mut wide = false;
    let [isut, isstd, leap, time, typ, chars] = if version >= b'2' {
        r.take(time * 5 + typ * 6 + chars + leap * 8 + isstd + isut)?;
        if r.take(4)? != b"TZif" {
            return None;
        }
        r.take(16)?;
        wide = true;
        counts(&mut r)?
    } else {
        [isut, isstd, leap, time, typ, chars]
    };
    let tsize = if wide { 8 } else { 4 };
    let times = r.take(time * tsize)?;
    let idx = r.take(time)?;
    let ttinfo = r.take(typ * 6)?;
    let abbrev = r.take(chars)?;
    r.take(leap * (tsize + 4) + isstd + isut)?;
    let mut types = Vec::with_capacity(typ);
    for t in ttinfo.chunks(6) {
        let off = i32::from_be_bytes([t[0], t[1], t[2], t[3]]);
        let at = usize::from(t[5]);
        let name = abbrev.get(at..).map_or(String::new(), |s| {
            let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
            String::from_utf8_lossy(&s[..end]).into_owned()
        });
        types.push((off, t[4] != 0, name));
    }
    let mut transitions = Vec::with_capacity(time);
    for (k, &i) in idx.iter().enumerate() {
        let b = &times[k * tsize..(k + 1) * tsize];
        let t = if wide {
            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        } else {
            i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if usize::from(i) >= types.len() {
            return None;
        }
        transitions.push((t, usize::from(i)));
    }
    if types.is_empty() {
        types.push((0, false, "UTC".into()));
    }
    let footer = if wide {
        let rest = r.0;
        let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end])
            .ok()
            .filter(|s| !s.is_empty())
            .and_then(parse_posix)
    } else {
        None
    };
    Some(Tz {
        types,
        transitions,
        footer,
    })
}

fn parse_posix(s: &str) -> Option<PosixTz> {
    let mut p = Posix(s.as_bytes());
    let std_name = p.name()?;
    let std_offset = -p.offset()?;
    if p.0.is_empty() {
        return Some(PosixTz {
            std_name,
            std_offset,
            dst: None,
        });
    }
    let dst_name = p.name()?;
    let dst_offset = if p.0.is_empty() || p.0[0] == b',' {
        std_offset + 3600
    } else {
        -p.offset()?
    };
    let (start, end) = if p.0.is_empty() {
        // Go's default rules (tzcode's): second Sunday of March, first of
        // November.
        let m = |mon, week| Rule {
            day: RuleDay::Month { mon, week, day: 0 },
            time: 7200,
        };
        (m(3, 2), m(11, 1))
    } else {
        p.expect(b',')?;
        let start = p.rule()?;
        p.expect(b',')?;
        let end = p.rule()?;
        (start, end)
    };
    if !p.0.is_empty() {
        return None;
    }
    Some(PosixTz {
        std_name,
        std_offset,
        dst: Some((dst_name, dst_offset, start, end)),
    })
}

struct Posix<'a>(&'a [u8]);

impl Posix<'_> {
    fn expect(&mut self, c: u8) -> Option<()> {
        if self.0.first() == Some(&c) {
            self.0 = &self.0[1..];
            Some(())
        } else {
            None
        }
    }

    fn name(&mut self) -> Option<String> {
        if self.0.first() == Some(&b'<') {
            let end = self.0.iter().position(|&c| c == b'>')?;
            let name = String::from_utf8_lossy(&self.0[1..end]).into_owned();
            self.0 = &self.0[end + 1..];
            return Some(name);
        }
        let end = self
            .0
            .iter()
            .position(|c| !c.is_ascii_alphabetic())
            .unwrap_or(self.0.len());
        if end < 3 {
            return None;
        }
        let name = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end..];
        Some(name)
    }

    fn num(&mut self) -> Option<i64> {
        let end = self
            .0
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(self.0.len());
        if end == 0 {
            return None;
        }
        let n = std::str::from_utf8(&self.0[..end]).ok()?.parse().ok()?;
        self.0 = &self.0[end..];
        Some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn hms(&mut self) -> Option<i64> {
        let neg = match self.0.first() {
            Some(b'-') => {
                self.0 = &self.0[1..];
                true
            }
            Some(b'+') => {
                self.0 = &self.0[1..];
                false
            }
            _ => false,
        };
        let mut secs = self.num()? * 3600;
        for mul in [60, 1] {
            if self.expect(b':').is_none() {
                break;
            }
            secs += self.num()? * mul;
        }
        Some(if neg { -secs } else { secs })
    }

    fn offset(&mut self) -> Option<i32> {
        i32::try_from(self.hms()?).ok()
    }

    fn rule(&mut self) -> Option<Rule> {
        let day = match self.0.first()? {
            b'J' => {
                self.0 = &self.0[1..];
                RuleDay::Julian(self.num()?)
            }
            b'M' => {
                self.0 = &self.0[1..];
                let mon = self.num()?;
                self.expect(b'.')?;
                let week = self.num()?;
                self.expect(b'.')?;
                let day = self.num()?;
                RuleDay::Month { mon, week, day }
            }
            _ => RuleDay::DayOfYear(self.num()?),
        };
        let time = if self.expect(b'/').is_some() {
            self.hms()?
        } else {
            7200
        };
        Some(Rule { day, time })
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(mon: i64, year: i64) -> i64 {
    match mon {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `tzruleTime`: seconds after the start of the year (UTC).
fn rule_time(year: i64, r: Rule, off: i32) -> i64 {
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let s = match r.day {
        RuleDay::Julian(d) => {
            let mut s = (d - 1) * 86400;
            if is_leap(year) && d >= 60 {
                s += 86400;
            }
            s
        }
        RuleDay::DayOfYear(d) => d * 86400,
        RuleDay::Month { mon, week, day } => {
            let m1 = (mon + 9) % 12 + 1;
            let yy0 = if mon <= 2 { year - 1 } else { year };
            let (yy1, yy2) = (yy0 / 100, yy0 % 100);
            let mut dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
            if dow < 0 {
                dow += 7;
            }
            let mut d = day - dow;
            if d < 0 {
                d += 7;
            }
            for _ in 1..week {
                if d + 7 >= days_in(mon, year) {
                    break;
                }
                d += 7;
            }
            d += BEFORE[usize::try_from((mon - 1).clamp(0, 11)).unwrap_or(0)];
            if is_leap(year) && mon > 2 {
                d += 1;
            }
            d * 86400
        }
    };
    s + r.time - i64::from(off)
}

impl PosixTz {
    fn lookup(&self, unix: i64) -> (i32, String) {
        let Some((dst_name, dst_off, start, end)) = &self.dst else {
            return (self.std_offset, self.std_name.clone());
        };
        let days = unix.div_euclid(86400);
        let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_signed(chrono::TimeDelta::try_days(days)?));
        let Some(date) = date else {
            return (self.std_offset, self.std_name.clone());
        };
        let year = i64::from(chrono::Datelike::year(&date));
        let yday = i64::from(chrono::Datelike::ordinal0(&date));
        let ysec = yday * 86400 + unix.rem_euclid(86400);
        let mut start_sec = rule_time(year, *start, self.std_offset);
        let mut end_sec = rule_time(year, *end, *dst_off);
        let (mut in_dst_is_dst, mut out_is_dst) = (true, false);
        if end_sec < start_sec {
            std::mem::swap(&mut start_sec, &mut end_sec);
            std::mem::swap(&mut in_dst_is_dst, &mut out_is_dst);
        }
        let dst = if ysec < start_sec || ysec >= end_sec {
            out_is_dst
        } else {
            in_dst_is_dst
        };
        if dst {
            (*dst_off, dst_name.clone())
        } else {
            (self.std_offset, self.std_name.clone())
        }
    }
}

/// Loads a zone as Go's `time.LoadLocation` does on Unix (`"Local"`: `$TZ`
/// or `/etc/localtime`).
#[cfg(feature = "os")]
pub(crate) fn load_os(name: &str) -> Option<Tz> {
    if name == "Local" {
        return match std::env::var("TZ") {
            Err(_) => read_tzif(std::path::Path::new("/etc/localtime")),
            Ok(tz) if tz.is_empty() || tz == "UTC" || tz == ":UTC" => None,
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz).to_string();
                if tz.starts_with('/') {
                    read_tzif(std::path::Path::new(&tz))
                } else {
                    load_named(&tz)
                }
            }
        };
    }
    load_named(name)
}

#[cfg(feature = "os")]
fn load_named(name: &str) -> Option<Tz> {
    if name.contains("..") || name.starts_with(['/', '\\']) || name.is_empty() {
        return None;
    }
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    if let Some(z) = std::env::var_os("ZONEINFO") {
        dirs.push(z.into());
    }
    for d in [
        "/usr/share/zoneinfo/",
        "/usr/share/lib/zoneinfo/",
        "/usr/lib/locale/TZ/",
        "/etc/zoneinfo/",
    ] {
        dirs.push(d.into());
    }
    dirs.iter().find_map(|d| read_tzif(&d.join(name)))
}

#[cfg(feature = "os")]
fn read_tzif(path: &std::path::Path) -> Option<Tz> {
    use std::io::Read as _;
    let mut data = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut data)
        .ok()?;
    parse_tzif(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_rules_like_go() {
        let tz = parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2019-06-13T20:39:39Z: summer time.
        assert_eq!(tz.lookup(1_560_458_379), (7200, "CEST".into()));
        // 2019-01-13: winter.
        assert_eq!(tz.lookup(1_547_337_600), (3600, "CET".into()));
        // 2019-03-31T01:00:00Z: the switch to summer time.
        assert_eq!(tz.lookup(1_553_994_000), (7200, "CEST".into()));
        assert_eq!(tz.lookup(1_553_993_999), (3600, "CET".into()));
        let south = parse_posix("<-03>3").unwrap();
        assert_eq!(south.lookup(0), (-10800, "-03".into()));
        let au = parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(au.lookup(1_547_337_600), (39600, "AEDT".into()));
        assert_eq!(au.lookup(1_560_458_379), (36000, "AEST".into()));
    }
}
