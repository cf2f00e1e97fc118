//! Go's `fmt` printing for template values: `Sprint`, `Sprintln`,
//! `Sprintf` (flags `+ - # 0 space`, width, precision, `*`, the verbs
//! `v s q d b o O x X c U t e E f F g G T %`), and `strconv.Quote`.
//!
//! Errors print inline as Go does: `%!d(string=x)`, `%!s(MISSING)`,
//! `%!(EXTRA int=1)`, `%!(NOVERB)`.

use crate::value::Value;

/// Go's `unicode.IsPrint`, approximated outside ASCII.
pub(crate) fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF)
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if (ascii_only && c.is_ascii() && is_print(c)) || (!ascii_only && is_print(c)) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
        _ if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        _ => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    quote_with(s, '"', false)
}

fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_escaped(&mut out, c, quote, ascii_only);
    }
    out.push(quote);
    out
}

/// `%.Nq`: the first `n` characters, quoted.
pub(crate) fn go_quote_truncated(s: &str, n: usize) -> String {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    go_quote(&s[..end])
}

/// `%#U`: `U+0041 'A'`, or `U+0007` for an unprintable rune.
pub(crate) fn unicode_rune(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `fmt.Sprint`: operands separated by a space when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Flags::default());
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: operands always separated by a space, newline appended.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Flags::default());
    }
    out.push('\n');
    out
}

#[derive(Clone, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut arg_num = 0;
    let mut rest = format;
    while !rest.is_empty() {
        let Some(pct) = rest.find('%') else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..pct]);
        rest = &rest[pct + 1..];
        let mut f = Flags::default();
        // Flags.
        loop {
            match rest.as_bytes().first() {
                Some(b'#') => f.sharp = true,
                Some(b'0') => f.zero = !f.minus,
                Some(b'+') => f.plus = true,
                Some(b'-') => {
                    f.minus = true;
                    f.zero = false;
                }
                Some(b' ') => f.space = true,
                _ => break,
            }
            rest = &rest[1..];
        }
        // Width.
        if rest.starts_with('*') {
            rest = &rest[1..];
            match args.get(arg_num) {
                Some(Value::Int(n)) => {
                    arg_num += 1;
                    if *n < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.wid = usize::try_from(n.unsigned_abs())
                        .ok()
                        .filter(|&w| w <= 1_000_000);
                    if f.wid.is_none() {
                        out.push_str("%!(BADWIDTH)");
                    }
                }
                other => {
                    if other.is_some() {
                        arg_num += 1;
                    }
                    out.push_str("%!(BADWIDTH)");
                }
            }
        } else {
            let (n, used) = parse_num(rest);
            if used > 0 {
                f.wid = Some(n);
                rest = &rest[used..];
            }
        }
        // Precision.
        if rest.starts_with('.') {
            rest = &rest[1..];
            if rest.starts_with('*') {
                rest = &rest[1..];
                match args.get(arg_num) {
                    Some(Value::Int(n)) => {
                        arg_num += 1;
                        f.prec = usize::try_from(*n).ok().filter(|&p| p <= 1_000_000);
                        if *n > 1_000_000 {
                            out.push_str("%!(BADPREC)");
                        }
                    }
                    other => {
                        if other.is_some() {
                            arg_num += 1;
                        }
                        out.push_str("%!(BADPREC)");
                    }
                }
            } else {
                let (n, used) = parse_num(rest);
                f.prec = Some(n);
                rest = &rest[used..];
            }
        }
        let Some(verb) = rest.chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        rest = &rest[verb.len_utf8()..];
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(arg_num) else {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(MISSING)");
            continue;
        };
        arg_num += 1;
        if verb == 'v' {
            f.plus = false;
            f.sharp = false;
        }
        print_arg(&mut out, arg, verb, &f);
    }
    if arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[arg_num..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(a.type_name());
                out.push('=');
                print_arg(&mut out, a, 'v', &Flags::default());
            }
        }
        out.push(')');
    }
    out
}

fn parse_num(s: &str) -> (usize, usize) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut n: usize = 0;
    for b in s[..digits].bytes() {
        n = n.saturating_mul(10).saturating_add(usize::from(b - b'0'));
    }
    (n.min(1_000_000), digits)
}

fn print_arg(out: &mut String, v: &Value, verb: char, f: &Flags) {
    if verb == 'T' {
        pad(out, v.type_name(), f);
        return;
    }
    if v.is_nil() {
        match verb {
            'v' => pad(out, "<nil>", f),
            _ => bad_verb(out, verb, v),
        }
        return;
    }
    print_value(out, v, verb, f);
}

fn print_value(out: &mut String, v: &Value, verb: char, f: &Flags) {
    print_value_in(out, v, verb, f, &mut Vec::new());
}

/// Prints a value; `seen` holds the maps and lists being printed around it,
/// so a map that contains itself prints `%!(CYCLE)` and nesting beyond
/// [`MAX_NESTING`](crate::MAX_NESTING) prints `%!(DEPTH)` (the executor
/// reports both as errors before printing).
fn print_value_in(out: &mut String, v: &Value, verb: char, f: &Flags, seen: &mut Vec<*const ()>) {
    if matches!(v, Value::List(_) | Value::Map(_)) && seen.len() >= crate::value::MAX_NESTING {
        out.push_str("%!(DEPTH)");
        return;
    }
    match v {
        Value::Nil => pad(out, "<nil>", f),
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, f),
            _ => bad_verb(out, verb, v),
        },
        Value::Int(i) => fmt_int(out, *i, verb, f, v),
        Value::Float(x) => fmt_float_verb(out, *x, verb, f, v),
        Value::String(s) => fmt_string(out, s, verb, f, v),
        Value::Object(o) => match verb {
            'v' | 's' | 'x' | 'X' | 'q' => fmt_string(out, &o.format(), verb, f, v),
            _ => bad_verb(out, verb, v),
        },
        Value::List(items) => {
            out.push('[');
            seen.push(std::ptr::null());
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value_in(out, item, verb, f, seen);
            }
            seen.pop();
            out.push(']');
        }
        Value::Map(m) => {
            if seen.contains(&m.as_ptr()) {
                out.push_str("%!(CYCLE)");
                return;
            }
            out.push_str("map[");
            seen.push(m.as_ptr());
            for (i, (k, item)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_string(out, k, verb, f, &Value::from(k.as_str()));
                out.push(':');
                print_value_in(out, item, verb, f, seen);
            }
            seen.pop();
            out.push(']');
        }
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(v.type_name());
        out.push('=');
        print_value(out, v, 'v', &Flags::default());
    }
    out.push(')');
}

fn write_padding(out: &mut String, n: usize, zero: bool) {
    let c = if zero { '0' } else { ' ' };
    out.extend(std::iter::repeat_n(c, n));
}

/// Pads to the width, counting characters (Go counts runes).
fn pad(out: &mut String, s: &str, f: &Flags) {
    let width = f.wid.unwrap_or(0);
    let n = s.chars().count();
    if n >= width {
        out.push_str(s);
        return;
    }
    if f.minus {
        out.push_str(s);
        write_padding(out, width - n, false);
    } else {
        write_padding(out, width - n, f.zero);
        out.push_str(s);
    }
}

fn truncate_prec<'s>(s: &'s str, f: &Flags) -> &'s str {
    match f.prec {
        Some(p) => s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]),
        None => s,
    }
}

fn fmt_string(out: &mut String, s: &str, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' | 's' => pad(out, truncate_prec(s, f), f),
        'q' => {
            let s = truncate_prec(s, f);
            let q = if f.sharp
                && !s.contains('`')
                && s.chars()
                    .all(|c| c == '\t' || (is_print(c) && c != '\u{feff}'))
            {
                format!("`{s}`")
            } else {
                quote_with(s, '"', f.plus)
            };
            pad(out, &q, f);
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = match f.prec {
                Some(p) if p < bytes.len() => &bytes[..p],
                _ => bytes,
            };
            let mut h = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if f.space && i > 0 {
                    h.push(' ');
                }
                if f.sharp && (f.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, f);
        }
        _ => bad_verb(out, verb, v),
    }
}

fn fmt_int(out: &mut String, i: i64, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' | 'd' => fmt_integer(out, i, 10, verb, f, false),
        'b' => fmt_integer(out, i, 2, verb, f, false),
        'o' | 'O' => fmt_integer(out, i, 8, verb, f, false),
        'x' => fmt_integer(out, i, 16, verb, f, false),
        'X' => fmt_integer(out, i, 16, verb, f, true),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), f);
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let q = if f.sharp && is_print(c) && c != '\'' {
                format!("'{c}'")
            } else {
                quote_with(&c.to_string(), '\'', f.plus)
            };
            pad(out, &q, f);
        }
        'U' => {
            let mut s = format!("U+{:04X}", i as u64);
            if f.sharp
                && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
                && is_print(c)
            {
                s.push_str(&format!(" '{c}'"));
            }
            pad(out, &s, f);
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, verb, v),
        _ => bad_verb(out, verb, v),
    }
}

fn fmt_integer(out: &mut String, i: i64, base: u32, verb: char, f: &Flags, upper: bool) {
    let negative = i < 0;
    let u = i.unsigned_abs();
    let mut prec = 0;
    if let Some(p) = f.prec {
        prec = p;
        if p == 0 && u == 0 {
            write_padding(out, f.wid.unwrap_or(0), false);
            return;
        }
    } else if f.zero && !f.minus && f.wid.is_some() {
        prec = f.wid.unwrap_or(0);
        if negative || f.plus || f.space {
            prec = prec.saturating_sub(1);
        }
    }
    let mut digits = match base {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        16 if upper => format!("{u:X}"),
        16 => format!("{u:x}"),
        _ => u.to_string(),
    };
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    let mut prefix = String::new();
    if f.sharp {
        match base {
            2 => prefix.push_str("0b"),
            8 if !digits.starts_with('0') => prefix.push('0'),
            16 => prefix.push_str(if upper { "0X" } else { "0x" }),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix = "0o".into();
    }
    let sign = if negative {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    pad(
        out,
        &s,
        &Flags {
            zero: false,
            ..f.clone()
        },
    );
}

fn fmt_float_verb(out: &mut String, x: f64, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' => fmt_float(out, x, 'g', f.prec, f),
        'g' | 'G' | 'b' | 'x' | 'X' => fmt_float(
            out,
            x,
            if verb == 'G' || verb == 'X' { 'G' } else { 'g' },
            f.prec,
            f,
        ),
        'e' | 'E' | 'f' | 'F' => fmt_float(out, x, verb, Some(f.prec.unwrap_or(6)), f),
        _ => bad_verb(out, verb, v),
    }
}

/// Digits of |x| and the decimal point position: x = 0.d1d2… × 10^dp.
/// `sig`: significant digits (rounded half to even on the exact value), or
/// the shortest representation that reads back.
fn decimal_digits(x: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let x = x.abs();
    if x == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1), x),
        None => format!("{x:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        return (Vec::new(), 0);
    }
    (digits, exp + 1)
}

fn digits_e(digits: &[u8], dp: i32, prec: usize, upper: bool) -> String {
    let mut s = String::new();
    s.push(char::from(b'0' + digits.first().copied().unwrap_or(0)));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(char::from(b'0' + digits.get(i).copied().unwrap_or(0)));
        }
    }
    s.push(if upper { 'E' } else { 'e' });
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

fn digits_f(digits: &[u8], dp: i32, prec: usize) -> String {
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(char::from(b'0' + digits.get(i).copied().unwrap_or(0)));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            let j = dp as i64 + i as i64;
            let d = if j >= 0 {
                digits.get(j as usize).copied().unwrap_or(0)
            } else {
                0
            };
            s.push(char::from(b'0' + d));
        }
    }
    s
}

/// `strconv.FormatFloat(x, verb, prec, 64)` without the sign.
fn format_float_abs(x: f64, verb: char, prec: Option<usize>) -> String {
    let x = x.abs();
    if x.is_infinite() {
        return "Inf".into();
    }
    match verb {
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), x),
        'e' | 'E' => {
            let p = prec.unwrap_or(6);
            let (d, dp) = decimal_digits(x, Some(p + 1));
            digits_e(&d, dp, p, verb == 'E')
        }
        _ => {
            let upper = verb == 'G';
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                None => decimal_digits(x, None),
                Some(p) => decimal_digits(x, Some(p.max(1))),
            };
            let nd = d.len() as i64;
            let mut p = match prec {
                None => nd,
                Some(p) => p.max(1) as i64,
            };
            let mut eprec = p;
            if eprec > nd && nd >= i64::from(dp) {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = i64::from(dp) - 1;
            if nd == 0 {
                // Zero.
                return "0".into();
            }
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return digits_e(&d, dp, (p - 1).max(0) as usize, upper);
            }
            if p > i64::from(dp) {
                p = nd;
            }
            digits_f(&d, dp, (p - i64::from(dp)).max(0) as usize)
        }
    }
}

fn fmt_float(out: &mut String, x: f64, verb: char, prec: Option<usize>, f: &Flags) {
    if x.is_nan() {
        let s = if f.plus {
            "+NaN"
        } else if f.space {
            " NaN"
        } else {
            "NaN"
        };
        pad(
            out,
            s,
            &Flags {
                zero: false,
                ..f.clone()
            },
        );
        return;
    }
    let body = format_float_abs(x, verb, prec);
    let negative = x.is_sign_negative();
    let sign = if negative {
        '-'
    } else if f.plus {
        '+'
    } else if f.space {
        ' '
    } else {
        '+'
    };
    let show_sign = negative || f.plus || f.space || x.is_infinite();
    if x.is_infinite() {
        let s = format!("{sign}{body}");
        pad(
            out,
            &s,
            &Flags {
                zero: false,
                ..f.clone()
            },
        );
        return;
    }
    if show_sign {
        let width = f.wid.unwrap_or(0);
        let len = body.chars().count() + 1;
        if f.zero && !f.minus && width > len {
            out.push(sign);
            write_padding(out, width - len, true);
            out.push_str(&body);
            return;
        }
        pad(out, &format!("{sign}{body}"), f);
        return;
    }
    pad(out, &body, f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let v = |x: f64| Value::Float(x).to_string();
        assert_eq!(v(1e6), "1e+06");
        assert_eq!(v(100000.0), "100000");
        assert_eq!(v(3.0), "3");
        assert_eq!(v(0.1), "0.1");
        assert_eq!(v(0.00001), "1e-05");
        assert_eq!(v(123456789.0), "1.23456789e+08");
        assert_eq!(v(-0.0), "-0");
        assert_eq!(v(f64::INFINITY), "+Inf");
        assert_eq!(v(f64::NAN), "NaN");
        assert_eq!(
            sprintf(
                "%.2f|%e|%g|%.3g|%8.3f|%-8.2f|%08.3f",
                &[
                    Value::Float(2.34567),
                    Value::Float(1234.5678),
                    Value::Float(1e21),
                    Value::Float(1234.5678),
                    Value::Float(2.34567),
                    Value::Float(2.5),
                    Value::Float(-2.34567)
                ]
            ),
            "2.35|1.234568e+03|1e+21|1.23e+03|   2.346|2.50    |-002.346"
        );
    }

    #[test]
    fn verbs_like_go() {
        let s = |f: &str, a: Vec<Value>| sprintf(f, &a);
        assert_eq!(
            s(
                "%d %5d %-5d| %05d %x %X %o %#x %+d",
                vec![
                    1.into(),
                    2.into(),
                    3.into(),
                    (-4).into(),
                    255.into(),
                    255.into(),
                    8.into(),
                    255.into(),
                    5.into()
                ]
            ),
            "1     2 3    | -0004 ff FF 10 0xff +5"
        );
        assert_eq!(
            s(
                "%s %q %v %t %%",
                vec!["a".into(), "b\n".into(), Value::Nil, true.into()]
            ),
            "a \"b\\n\" <nil> true %"
        );
        assert_eq!(s("%d", vec!["x".into()]), "%!d(string=x)");
        assert_eq!(s("%s", vec![]), "%!s(MISSING)");
        assert_eq!(s("%s", vec![Value::Nil]), "%!s(<nil>)");
        assert_eq!(
            s("a", vec![1.into(), "x".into()]),
            "a%!(EXTRA int=1, string=x)"
        );
        assert_eq!(s("%", vec![]), "%!(NOVERB)");
        assert_eq!(
            s("%c %U %#U", vec![65.into(), 65.into(), 0x263a.into()]),
            "A U+0041 U+263A '☺'"
        );
        assert_eq!(
            s(
                "%5s|%-5s|%.2s|%x",
                vec!["ab".into(), "ab".into(), "abc".into(), "hi".into()]
            ),
            "   ab|ab   |ab|6869"
        );
        assert_eq!(
            s(
                "%v %d",
                vec![
                    Value::list([1.into(), "a".into()]),
                    Value::list(["a".into()])
                ]
            ),
            "[1 a] [%!d(string=a)]"
        );
        assert_eq!(
            s("%T %T %T", vec![1.into(), Value::list([]), Value::Nil]),
            "int []interface {} <nil>"
        );
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[
                1.into(),
                2.into(),
                "a".into(),
                3.into(),
                "b".into(),
                "c".into()
            ]),
            "1 2a3bc"
        );
        assert_eq!(sprintln(&["a".into(), 1.into()]), "a 1\n");
        assert_eq!(go_quote("a\u{7}é\u{200b}\"\\"), "\"a\\aé\\u200b\\\"\\\\\"");
    }
}
