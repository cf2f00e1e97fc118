//! Numeric constants: Go's `parse.NumberNode` rules (an ideal constant kept
//! as every type that can represent it) on top of `strconv`'s syntax
//! (base prefixes `0x` `0o` `0b`, legacy octal `017`, `_` separators,
//! hexadecimal floats).

use crate::fmt::go_quote;

/// A numeric constant of a template.
#[derive(Clone, Debug)]
pub(crate) struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
}

impl Number {
    fn new(text: &str) -> Number {
        Number {
            text: text.to_string(),
            is_int: false,
            is_uint: false,
            is_float: false,
            is_complex: false,
            int: 0,
            uint: 0,
            float: 0.0,
        }
    }

    pub(crate) fn from_rune(text: &str, c: char) -> Number {
        let v = c as u32;
        Number {
            is_int: true,
            is_uint: true,
            is_float: true,
            int: i64::from(v),
            uint: u64::from(v),
            float: f64::from(v),
            ..Number::new(text)
        }
    }

    /// The value Go gives the constant where no type is expected
    /// (`idealConstant`): a float if the text looks like one, else an int.
    pub(crate) fn ideal(&self) -> Result<Ideal, String> {
        if self.is_complex {
            return Ok(Ideal::Complex);
        }
        let t = &self.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let rune = t.starts_with('\'');
        if self.is_float && !hex_int && !rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Ideal::Float(self.float));
        }
        if self.is_int {
            return Ok(Ideal::Int(self.int));
        }
        if self.is_uint {
            return Err(format!("{t} overflows int"));
        }
        Ok(Ideal::Invalid)
    }

    fn simplify_complex(&mut self, re: f64, im: f64) {
        self.is_complex = true;
        self.is_float = im == 0.0;
        if self.is_float {
            self.float = re;
            self.is_int = (re as i64) as f64 == re;
            if self.is_int {
                self.int = re as i64;
            }
            self.is_uint = re >= 0.0 && (re as u64) as f64 == re;
            if self.is_uint {
                self.uint = re as u64;
            }
        }
    }
}

/// The untyped value of a constant.
pub(crate) enum Ideal {
    Int(i64),
    Float(f64),
    Complex,
    Invalid,
}

/// Parses a number token (`is_complex`: the `1+2i` form).
pub(crate) fn parse_number(text: &str, is_complex: bool) -> Result<Number, String> {
    let mut n = Number::new(text);
    if is_complex {
        let split = text
            .char_indices()
            .skip(1)
            .find(|&(i, c)| {
                (c == '+' || c == '-')
                    && !matches!(text.as_bytes()[i - 1], b'e' | b'E' | b'p' | b'P')
            })
            .map(|(i, _)| i);
        let (re, im) = match split {
            Some(i) => (&text[..i], &text[i..text.len() - 1]),
            None => return Err("expected integer".into()),
        };
        let (Some(re), Some(im)) = (parse_float(re), parse_float(im)) else {
            return Err("expected integer".into());
        };
        n.simplify_complex(re, im);
        return Ok(n);
    }
    if let Some(body) = text.strip_suffix('i')
        && let Some(f) = parse_float(body)
    {
        n.simplify_complex(0.0, f);
        return Ok(n);
    }
    let u = parse_uint(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
            n.uint = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", go_quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.is_int = true;
            n.int = f as i64;
        }
        if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", go_quote(text)));
    }
    Ok(n)
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `strconv.ParseUint(s, 0, 64)`.
fn parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

fn parse_magnitude(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits, prefixed) = match s.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &s[2..], true),
        [b'0', b'o' | b'O', ..] => (8, &s[2..], true),
        [b'0', b'b' | b'B', ..] => (2, &s[2..], true),
        [b'0', _, ..] => (8, &s[1..], true),
        _ => (10, s, false),
    };
    if digits.contains('_') && !(gitops_core::strconv::underscore_ok(s)) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return if prefixed && base == 8 && digits.is_empty() {
            Some(0)
        } else {
            None
        };
    }
    u64::from_str_radix(&clean, base).ok()
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    if body.starts_with(['+', '-']) {
        return None;
    }
    let u = parse_magnitude(body)?;
    if neg {
        if u > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)` for the forms the lexer produces; `None`
/// on syntax errors and on overflow (Go reports `ErrRange` there).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    gitops_core::strconv::parse_float(s).filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_number_rules() {
        let n = parse_number("0x1F", false).unwrap();
        assert!(n.is_int && n.int == 31);
        let n = parse_number("1_000", false).unwrap();
        assert_eq!(n.int, 1000);
        let n = parse_number("017", false).unwrap();
        assert_eq!(n.int, 15);
        let n = parse_number("0o17", false).unwrap();
        assert_eq!(n.int, 15);
        let n = parse_number("0b101", false).unwrap();
        assert_eq!(n.int, 5);
        let n = parse_number("1e3", false).unwrap();
        assert!(n.is_float && n.is_int && n.int == 1000);
        assert!(matches!(n.ideal(), Ok(Ideal::Float(f)) if f == 1000.0));
        let n = parse_number("0x1p-2", false).unwrap();
        assert_eq!(n.float, 0.25);
        assert_eq!(
            parse_number("089", false).unwrap_err(),
            "integer overflow: \"089\""
        );
        assert_eq!(
            parse_number("1__0", false).unwrap_err(),
            "illegal number syntax: \"1__0\""
        );
        assert_eq!(
            parse_number("99999999999999999999", false).unwrap_err(),
            "integer overflow: \"99999999999999999999\""
        );
        let n = parse_number("18446744073709551615", false).unwrap();
        assert!(n.is_uint && !n.is_int);
        assert_eq!(
            n.ideal().err().unwrap(),
            "18446744073709551615 overflows int"
        );
        assert!(parse_number("1e400", false).is_err());
    }
}
