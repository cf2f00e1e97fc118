//! Go's `json.Unmarshal` into `interface{}` (numbers are `float64`), with
//! the scanner's error messages.

use std::collections::BTreeMap;

use crate::value::Value;

const EOF: &str = "unexpected end of JSON input";
const MAX_DEPTH: usize = 10_000;

/// Go's `quoteChar`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => r"'\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = crate::fmt::go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn bad(&self, context: &str) -> String {
        match self.peek() {
            None => EOF.into(),
            Some(c) => format!("invalid character {} {context}", quote_char(c)),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.peek() {
            None => Err(EOF.into()),
            Some('{') => self.object(),
            Some('[') => self.array(),
            Some('"') => Ok(Value::from(self.string()?)),
            Some('-' | '0'..='9') => self.number(),
            Some('t') => self.literal("true", Value::Bool(true)),
            Some('f') => self.literal("false", Value::Bool(false)),
            Some('n') => self.literal("null", Value::Nil),
            Some(_) => Err(self.bad("looking for beginning of value")),
        }
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, String> {
        self.nest()?;
        self.i += 1;
        let mut m = BTreeMap::new();
        self.ws();
        if self.peek() == Some('}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(Value::from(m));
        }
        loop {
            self.ws();
            if self.peek() != Some('"') {
                return Err(self.bad("looking for beginning of object key string"));
            }
            let k = self.string()?;
            self.ws();
            if self.peek() != Some(':') {
                return Err(self.bad("after object key"));
            }
            self.i += 1;
            let v = self.value()?;
            m.insert(k, v);
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some('}') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Value::from(m));
                }
                _ => return Err(self.bad("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.nest()?;
        self.i += 1;
        let mut out = Vec::new();
        self.ws();
        if self.peek() == Some(']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(Value::list(out));
        }
        loop {
            out.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(']') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Value::list(out));
                }
                _ => return Err(self.bad("after array element")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut x = 0;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    x = x * 16 + d;
                    self.i += 1;
                }
                None => return Err(self.bad("in \\u hexadecimal character escape")),
            }
        }
        Ok(x)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(EOF.into());
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(EOF.into());
                    };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        'u' => None,
                        _ => return Err(self.bad("in string escape code")),
                    };
                    self.i += 1;
                    if let Some(c) = simple {
                        out.push(c);
                        continue;
                    }
                    let hi = self.hex4()?;
                    if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with("\\u") {
                        let save = self.i;
                        self.i += 2;
                        let lo = self.hex4()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        out.push('\u{FFFD}');
                        self.i = save;
                        continue;
                    }
                    out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                }
                c if c < ' ' => return Err(self.bad("in string literal")),
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self
            .s
            .as_bytes()
            .get(self.i)
            .is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some('-') {
            self.i += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.bad("in numeric literal"));
            }
        }
        if self.peek() == Some('0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some('.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.bad("after decimal point in numeric literal"));
            }
        }
        if let Some('e' | 'E') = self.peek() {
            self.i += 1;
            if let Some('+' | '-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.bad("in exponent of numeric literal"));
            }
        }
        let text = &self.s[start..self.i];
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            )),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (k, want) in word.chars().enumerate() {
            match self.peek() {
                None => return Err(EOF.into()),
                Some(c) if c == want => self.i += 1,
                Some(_) => {
                    return Err(self.bad(&format!(
                        "in literal {word} (expecting {})",
                        quote_char(want)
                    )));
                }
            }
            let _ = k;
        }
        Ok(v)
    }
}

/// Go's `json.Unmarshal([]byte(s), &interface{})`.
pub(crate) fn from_json(s: &str) -> Result<Value, String> {
    let mut p = Parser { s, i: 0, depth: 0 };
    p.ws();
    if p.peek().is_none() {
        return Err(EOF.into());
    }
    // Go's scanner checks the whole input before decoding; a syntax error
    // after a number in range wins over the number's range error.
    let v = p.value();
    if let Err(e) = &v
        && e.starts_with("json: cannot unmarshal")
    {
        p.ws();
        if p.peek().is_some() {
            return Err(p.bad("after top-level value"));
        }
    }
    let v = v?;
    p.ws();
    if p.peek().is_some() {
        return Err(p.bad("after top-level value"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_go() {
        let v = from_json(r#"{"b":[1,2.5,"x",true,null],"a":{"c":"\u00e9\ud83d\ude00"}}"#).unwrap();
        assert_eq!(v.to_string(), "map[a:map[c:é😀] b:[1 2.5 x true <nil>]]");
        for (input, err) in [
            ("", "unexpected end of JSON input"),
            ("{", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            (
                "{1}",
                "invalid character '1' looking for beginning of object key string",
            ),
            (r#"{"a" 1}"#, "invalid character '1' after object key"),
            (
                r#"{"a":1 x"#,
                "invalid character 'x' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("1 2", "invalid character '2' after top-level value"),
            ("-x", "invalid character 'x' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            ("tru", "unexpected end of JSON input"),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("\"\\q\"", "invalid character 'q' in string escape code"),
            ("\"a\nb\"", "invalid character '\\n' in string literal"),
            (
                "'a'",
                "invalid character '\\'' looking for beginning of value",
            ),
        ] {
            assert_eq!(from_json(input).unwrap_err(), err, "{input:?}");
        }
    }
}
