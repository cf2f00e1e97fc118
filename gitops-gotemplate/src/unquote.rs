//! Go's `strconv.Unquote` and `strconv.UnquoteChar` for string and
//! character literals.

const SYNTAX: &str = "invalid syntax";

/// Unquotes a `"…"` or `` `…` `` literal. Errors read as Go's (`invalid syntax`).
pub(crate) fn unquote(lit: &str) -> Result<String, String> {
    unquote_cow(lit).map(std::borrow::Cow::into_owned)
}

/// [`unquote`], borrowing the body of a raw string without carriage
/// returns and of an interpreted one without escapes.
pub(crate) fn unquote_cow(lit: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    use std::borrow::Cow;
    let b = lit.as_bytes();
    if b.len() < 2 {
        return Err(SYNTAX.into());
    }
    let quote = b[0];
    if quote != b[b.len() - 1] {
        return Err(SYNTAX.into());
    }
    let body = &lit[1..lit.len() - 1];
    match quote {
        b'`' => {
            if body.contains('`') {
                return Err(SYNTAX.into());
            }
            // Go drops carriage returns from raw strings.
            Ok(if body.contains('\r') {
                Cow::Owned(body.replace('\r', ""))
            } else {
                Cow::Borrowed(body)
            })
        }
        b'"' if !body.contains(['\\', '"', '\n']) => Ok(Cow::Borrowed(body)),
        b'"' => {
            let mut out: Vec<u8> = Vec::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with('"') || rest.starts_with('\n') {
                    return Err(SYNTAX.into());
                }
                let (v, tail) = unquote_value(rest, '"')?;
                match v {
                    Unq::Char(c) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Unq::Byte(x) => out.push(x),
                }
                rest = tail;
            }
            Ok(Cow::Owned(match String::from_utf8(out) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }))
        }
        _ => Err(SYNTAX.into()),
    }
}

enum Unq {
    Char(char),
    Byte(u8),
}

/// Decodes the first character or escape of `s` inside a literal quoted
/// with `quote`; returns it and the rest.
pub(crate) fn unquote_char(s: &str, quote: char) -> Result<(char, &str), String> {
    let (v, tail) = unquote_value(s, quote)?;
    Ok(match v {
        Unq::Char(c) => (c, tail),
        Unq::Byte(b) => (char::from(b), tail),
    })
}

fn unquote_value(s: &str, quote: char) -> Result<(Unq, &str), String> {
    let mut chars = s.chars();
    let Some(c) = chars.next() else {
        return Err(SYNTAX.into());
    };
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX.into());
    }
    if c != '\\' {
        return Ok((Unq::Char(c), chars.as_str()));
    }
    let Some(e) = chars.next() else {
        return Err(SYNTAX.into());
    };
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(SYNTAX.into());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((Unq::Char(c), rest));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return Err(SYNTAX.into());
            }
            let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| SYNTAX.to_string())?;
            if rest[..n].starts_with(['+', '-']) {
                return Err(SYNTAX.into());
            }
            if e == 'x' {
                let b = u8::try_from(v).map_err(|_| SYNTAX.to_string())?;
                return Ok((
                    if b < 0x80 {
                        Unq::Char(char::from(b))
                    } else {
                        Unq::Byte(b)
                    },
                    &rest[n..],
                ));
            }
            let c = char::from_u32(v).ok_or_else(|| SYNTAX.to_string())?;
            Ok((Unq::Char(c), &rest[n..]))
        }
        '0'..='7' => {
            let digits = format!("{e}{}", rest.get(..2).ok_or_else(|| SYNTAX.to_string())?);
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(SYNTAX.into());
            }
            let v = u32::from_str_radix(&digits, 8).map_err(|_| SYNTAX.to_string())?;
            let b = u8::try_from(v).map_err(|_| SYNTAX.to_string())?;
            Ok((
                if b < 0x80 {
                    Unq::Char(char::from(b))
                } else {
                    Unq::Byte(b)
                },
                &rest[2..],
            ))
        }
        _ => Err(SYNTAX.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_unquote() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41\101""#).unwrap(), "a\tbéAA");
        assert_eq!(unquote("`a\\n\r`").unwrap(), "a\\n");
        // Literals without escapes (or carriage returns) are borrowed.
        for lit in ["`a\\n`", "\"héllo\"", "\"\""] {
            let u = unquote_cow(lit).unwrap();
            assert!(matches!(u, std::borrow::Cow::Borrowed(_)), "{lit}");
            assert_eq!(u, lit[1..lit.len() - 1]);
        }
        assert_eq!(unquote("\"a\nb\"").unwrap_err(), "invalid syntax");
        assert_eq!(unquote(r#""\'""#).unwrap_err(), "invalid syntax");
        assert_eq!(unquote(r#""\q""#).unwrap_err(), "invalid syntax");
        assert_eq!(unquote_char(r"\n'", '\'').unwrap(), ('\n', "'"));
    }
}
