//! Flux's `envsubst` (fluxcd/pkg `envsubst`, a fork of drone/envsubst): bash
//! parameter expansion on text, used by `postBuild` substitution.
//!
//! Only braced forms expand; `$var` stays as written and `$$` becomes `$`
//! (so `$${var}` gives `${var}`).
//!
//! | form | result |
//! |---|---|
//! | `${v}` | the value |
//! | `${v=d}`, `${v:=d}`, `${v:-d}` | `d` when the value is empty or unset (`d` may contain `${…}`) |
//! | `${#v}` | length in bytes |
//! | `${v^}`, `${v^^}`, `${v,}`, `${v,,}` | upper/lower case first / all |
//! | `${v:pos}`, `${v:pos:len}` | substring (byte offsets, negative `pos` from the end) |
//! | `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}` | strip shortest/longest glob match from start/end |
//! | `${v/a/b}`, `${v//a/b}`, `${v/#a/b}`, `${v/%a/b}` | replace first/all/prefix/suffix |
//!
//! Flux's glob: `*` and `?` also match `/`. `${v-d}` and `${v+d}` are
//! syntax errors in Flux (`missing closing brace`); `${v:+d}` and `${v:?d}`
//! parse but act like `${v:-d}`.
//!
//! In strict mode ([`eval`] with a lookup that returns `None` for unset
//! variables) an unset variable fails, unless the form supplies a default.
//!
//! ```
//! use gitops_render::flux::envsubst::eval;
//!
//! let vars = |k: &str| (k == "region").then(|| "eu-west-1".to_owned());
//! assert_eq!(eval("r: ${region^^}, z: ${zone:=a}, $$HOME, $region", &vars)?,
//!            "r: EU-WEST-1, z: a, $HOME, $region");
//! let err = eval("${cluster}", &vars).unwrap_err();
//! assert_eq!(err.to_string(), r#"variable not set (strict mode): "cluster""#);
//! # Ok::<(), gitops_render::flux::envsubst::Error>(())
//! ```
//!
//! # Deviation
//! Go slices strings at byte offsets and can cut a multi-byte character; the
//! invalid bytes are replaced by U+FFFD here. A substring with a negative
//! length panics in Go; here it is [`Error::SliceBounds`].

/// Why a text could not be expanded (Flux's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed `${…}`.
    #[error("bad substitution")]
    BadSubstitution,
    /// A `${name` not followed by `}` or a known operator.
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` not followed by a variable name.
    #[error("unable to parse variable name")]
    VariableName,
    /// A nested expansion inside an operator argument is malformed.
    #[error("unable to parse substitution within function")]
    FuncSubstitution,
    /// A default operator is malformed.
    #[error("unable to parse default function")]
    DefaultFunction,
    /// Strict mode: the variable is not defined and the form has no default.
    #[error("variable not set (strict mode): {0:?}")]
    VariableNotSet(String),
    /// `${v:pos:len}` with a negative length that ends before `pos`.
    #[error("slice bounds out of range [{start}:{end}] in ${{{name}:…}}")]
    SliceBounds {
        /// The variable.
        name: String,
        /// Start offset.
        start: i64,
        /// End offset.
        end: i64,
    },
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Func {
        param: String,
        name: String,
        args: Vec<Node>,
    },
}

const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;
const ESC_DOLLAR: u8 = 1;
const ESC_ALL: u8 = 3;
const EOF: char = '\0';

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

type Accept = fn(char, usize) -> bool;

fn accept_rune(_: char, _: usize) -> bool {
    true
}
fn accept_ident(r: char, _: usize) -> bool {
    r.is_alphabetic() || r.is_numeric() || r == '_'
}
fn accept_colon(r: char, _: usize) -> bool {
    r == ':'
}
fn accept_one_hash(r: char, i: usize) -> bool {
    r == '#' && i == 1
}
fn accept_not_closing(r: char, _: usize) -> bool {
    r != '}'
}
fn accept_hash_func(r: char, i: usize) -> bool {
    r == '#' && i < 3
}
fn accept_percent_func(r: char, i: usize) -> bool {
    r == '%' && i < 3
}
fn accept_default_func(r: char, i: usize) -> bool {
    (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
}
fn accept_replace_func(r: char, i: usize) -> bool {
    (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%'))
}
fn accept_one_equal(r: char, i: usize) -> bool {
    i == 1 && r == '='
}
fn accept_one_colon(r: char, i: usize) -> bool {
    i == 1 && r == ':'
}
fn reject_colon_close(r: char, _: usize) -> bool {
    r != ':' && r != '}'
}
fn accept_slash(r: char, _: usize) -> bool {
    r == '/'
}
fn accept_not_slash(r: char, _: usize) -> bool {
    r != '/'
}
fn accept_casing_func(r: char, i: usize) -> bool {
    (r == ',' || r == '^') && i < 3
}

/// The scanner of fluxcd/pkg `envsubst/parse`, one `char` per position.
struct Scanner {
    buf: Vec<char>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape: u8,
    accept: Accept,
}

impl Scanner {
    fn read(&mut self) -> char {
        match self.buf.get(self.pos) {
            None => {
                self.width = 0;
                EOF
            }
            Some(&c) => {
                self.width = 1;
                self.pos += 1;
                c
            }
        }
    }
    fn unread(&mut self) {
        self.pos -= self.width;
    }
    /// Drop the character just read (an escape), keeping the position.
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }
    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }
    fn string(&self) -> String {
        self.buf[self.start..self.pos].iter().collect()
    }
    fn scan(&mut self) -> Tok {
        self.start = self.pos;
        let r = self.read();
        if r == EOF {
            return Tok::Eof;
        }
        if self.scan_lbrack(r) {
            return Tok::Lbrack;
        }
        if self.scan_rbrack(r) {
            return Tok::Rbrack;
        }
        if self.scan_ident(r) {
            return Tok::Ident;
        }
        Tok::Illegal
    }
    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !(self.accept)(r, self.pos - self.start) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !(self.accept)(r, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }
    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' {
                return true;
            }
            self.unread();
        }
        false
    }
    fn scan_rbrack(&mut self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }
    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escape & ESC_DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        if r == '\\' && self.escape & 2 != 0 {
            return matches!(self.peek(), '/' | '\\');
        }
        false
    }
}

struct Parser {
    s: Scanner,
}

impl Parser {
    fn parse_any(&mut self) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            self.s.accept = accept_rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape = ESC_DOLLAR;
            match self.s.scan() {
                Tok::Ident => nodes.push(Node::Text(self.s.string())),
                Tok::Eof => return Ok(nodes),
                Tok::Lbrack => nodes.push(self.parse_func()?),
                _ => return Err(Error::BadSubstitution),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, Error> {
        self.s.escape = ESC_ALL;
        if self.s.peek() == '#' {
            return self.parse_len_func();
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Tok::Ident => self.s.string(),
            _ => return Err(Error::VariableName),
        };
        match self.s.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_casing_func(name),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, accept_hash_func),
            '%' => return self.parse_remove_func(name, accept_percent_func),
            _ => {}
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Tok::Rbrack => Ok(Node::Func {
                param: name,
                name: String::new(),
                args: Vec::new(),
            }),
            _ => Err(Error::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, Error> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Tok::Lbrack => self.parse_func(),
            Tok::Ident | Tok::Rbrack => Ok(Node::Text(self.s.string())),
            _ => Err(Error::FuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Result<Node, Error> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        match r {
            '=' | '-' | '?' | '+' => self.parse_default_func(name),
            _ => self.parse_substr_func(name),
        }
    }

    fn op(&mut self, accept: Accept, err: Error) -> Result<String, Error> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Tok::Ident => Ok(self.s.string()),
            _ => Err(err),
        }
    }

    fn parse_substr_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.op(accept_one_colon, Error::BadSubstitution)?;
        let mut args = vec![self.parse_param(reject_colon_close, SCAN_IDENT)?];
        self.s.accept = accept_colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Tok::Rbrack => return Ok(Node::Func { param, name, args }),
            Tok::Ident => {}
            _ => return Err(Error::BadSubstitution),
        }
        args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Result<Node, Error> {
        let name = self.op(accept, Error::BadSubstitution)?;
        let args = vec![self.parse_param(accept_not_closing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_replace_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.op(accept_replace_func, Error::BadSubstitution)?;
        let mut args = vec![self.parse_param(accept_not_slash, SCAN_IDENT | SCAN_ESCAPE)?];
        self.op(accept_slash, Error::BadSubstitution)?;
        if self.s.peek() != '}' {
            args.push(self.parse_param(accept_not_closing, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_default_func(&mut self, param: String) -> Result<Node, Error> {
        let accept: Accept = if self.s.peek() == '=' {
            accept_one_equal
        } else {
            accept_default_func
        };
        let name = self.op(accept, Error::DefaultFunction)?;
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(Node::Func { param, name, args });
            }
            args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        }
    }

    fn parse_casing_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.op(accept_casing_func, Error::BadSubstitution)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn parse_len_func(&mut self) -> Result<Node, Error> {
        let name = self.op(accept_one_hash, Error::BadSubstitution)?;
        let param = self.op(accept_ident, Error::BadSubstitution)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn consume_rbrack(&mut self) -> Result<(), Error> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Tok::Rbrack {
            return Err(Error::BadSubstitution);
        }
        Ok(())
    }
}

/// Expand `text`. `lookup` returns a variable's value, or `None` when it is
/// not defined; a `None` for a form without a default is
/// [`Error::VariableNotSet`] (strict mode). For Flux's non-strict mode pass a
/// lookup that returns `Some(String::new())` for unknown names.
pub fn eval(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    let mut p = Parser {
        s: Scanner {
            buf: text.chars().collect(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escape: 0,
            accept: accept_rune,
        },
    };
    let nodes = p.parse_any()?;
    let mut out = String::with_capacity(text.len());
    for n in &nodes {
        eval_node(n, lookup, &mut out)?;
    }
    Ok(out)
}

/// True when `text` contains nothing `eval` would change (no `${` and no `$$`).
pub fn is_plain(text: &str) -> bool {
    !text.contains("${") && !text.contains("$$") && !text.contains('\0')
}

fn eval_node(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), Error> {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Func { param, name, args } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                let mut buf = String::new();
                eval_node(a, lookup, &mut buf)?;
                vals.push(buf);
            }
            let is_default = matches!(
                name.as_str(),
                "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?"
            );
            let v = match lookup(param) {
                Some(v) => v,
                None if is_default => String::new(),
                None => return Err(Error::VariableNotSet(param.clone())),
            };
            out.push_str(&apply_func(param, name, &v, &vals)?);
        }
    }
    Ok(())
}

fn map_first(s: &str, upper: bool) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some(c) => {
            let mut out = String::new();
            out.push(simple_case(c, upper));
            out.extend(chars);
            out
        }
    }
}

/// One-to-one case mapping (Go `unicode.ToUpper`/`ToLower`).
fn simple_case(c: char, upper: bool) -> char {
    let mut m: Vec<char> = if upper {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    };
    if m.len() == 1 { m.remove(0) } else { c }
}

fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn apply_func(param: &str, name: &str, s: &str, args: &[String]) -> Result<String, Error> {
    Ok(match name {
        "," => map_first(s, false),
        ",," => s.chars().map(|c| simple_case(c, false)).collect(),
        "^" => map_first(s, true),
        "^^" => s.chars().map(|c| simple_case(c, true)).collect(),
        "#" if args.is_empty() => s.len().to_string(),
        "#" => trim_prefix(s, &args[0], false),
        "##" => trim_prefix(s, &args[0], true),
        "%" => trim_suffix(s, args.first(), false),
        "%%" => trim_suffix(s, args.first(), true),
        ":" => substr(param, s, args)?,
        "/#" => match args {
            [a, b] if s.starts_with(a.as_str()) => s.replacen(a.as_str(), b, 1),
            _ => s.to_owned(),
        },
        "/%" => match args {
            [a, b] if s.ends_with(a.as_str()) => {
                format!("{}{b}", &s[..s.len() - a.len()])
            }
            _ => s.to_owned(),
        },
        "/" => match args {
            [] => s.to_owned(),
            [a] => s.replacen(a.as_str(), "", 1),
            [a, b, ..] => s.replacen(a.as_str(), b, 1),
        },
        "//" => match args {
            [] => s.to_owned(),
            [a] => s.replace(a.as_str(), ""),
            [a, b, ..] => s.replace(a.as_str(), b),
        },
        _ => {
            if s.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                s.to_owned()
            }
        }
    })
}

fn substr(param: &str, s: &str, args: &[String]) -> Result<String, Error> {
    let b = s.as_bytes();
    let len = i64::try_from(b.len()).unwrap_or(i64::MAX);
    let Some(first) = args.first() else {
        return Ok(s.to_owned());
    };
    let Some(mut pos) = go_atoi(first) else {
        return Ok(s.to_owned());
    };
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let at = |i: i64| usize::try_from(i).unwrap_or(0);
    let Some(second) = args.get(1) else {
        return Ok(if pos < len {
            lossy(&b[at(pos)..])
        } else {
            String::new()
        });
    };
    let Some(length) = go_atoi(second) else {
        return Ok(s.to_owned());
    };
    let end = pos.saturating_add(length);
    if end >= len {
        return Ok(if pos < len {
            lossy(&b[at(pos)..])
        } else {
            String::new()
        });
    }
    if end < pos || end < 0 {
        return Err(Error::SliceBounds {
            name: param.to_owned(),
            start: pos,
            end,
        });
    }
    Ok(lossy(&b[at(pos)..at(end)]))
}

fn trim_prefix(s: &str, pattern: &str, longest: bool) -> String {
    let b = s.as_bytes();
    let p = pattern.as_bytes();
    let mut shortest: Option<usize> = None;
    for i in 0..b.len() {
        let cut = b.len() - i;
        match glob_match(p, &b[..cut]) {
            Err(()) => return s.to_owned(),
            Ok(true) if longest => return lossy(&b[cut..]),
            Ok(true) => shortest = Some(cut),
            Ok(false) => {}
        }
    }
    match shortest {
        Some(cut) => lossy(&b[cut..]),
        None => s.to_owned(),
    }
}

fn trim_suffix(s: &str, pattern: Option<&String>, longest: bool) -> String {
    let Some(pattern) = pattern else {
        return s.to_owned();
    };
    let rev = |t: &str| t.chars().rev().collect::<String>();
    rev(&trim_prefix(&rev(s), &rev(pattern), longest))
}

/// Flux's `envsubst/path.Match`: Go's `path.Match` where `*` and `?` also
/// match `/`. `Err(())` is a malformed pattern.
fn glob_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let (t, ok, err) = match_chunk(chunk, name);
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if err {
            return Err(());
        }
        if star {
            for i in 0..name.len() {
                let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if err {
                    return Err(());
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pattern {
        pattern = rest;
        star = true;
    }
    let mut inrange = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => inrange = true,
            b']' => inrange = false,
            b'*' if !inrange => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

fn decode_rune(s: &[u8]) -> (char, usize) {
    let n = match s.first() {
        None => return ('\u{fffd}', 0),
        Some(b) if *b < 0x80 => 1,
        Some(b) if *b >= 0xf0 => 4,
        Some(b) if *b >= 0xe0 => 3,
        Some(b) if *b >= 0xc0 => 2,
        Some(_) => 1,
    };
    match s.get(..n).and_then(|p| std::str::from_utf8(p).ok()) {
        Some(t) => (t.chars().next().unwrap_or('\u{fffd}'), n),
        None => ('\u{fffd}', 1),
    }
}

/// `(rest, ok, bad_pattern)`.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> (&'a [u8], bool, bool) {
    while !chunk.is_empty() {
        if s.is_empty() {
            return (s, false, false);
        }
        match chunk[0] {
            b'[' => {
                let (r, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Some((lo, rest)) = get_esc(chunk) else {
                        return (s, false, true);
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let Some((h, rest)) = get_esc(&chunk[1..]) else {
                            return (s, false, true);
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    return (s, false, false);
                }
            }
            b'?' => {
                let (_, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        None => return (s, false, true),
                        Some(&e) => e,
                    }
                } else {
                    c
                };
                if c != s[0] {
                    return (s, false, false);
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    (s, true, false)
}

fn get_esc(mut chunk: &[u8]) -> Option<(char, &[u8])> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return None,
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return None;
            }
        }
        _ => {}
    }
    let (r, n) = decode_rune(chunk);
    if r == '\u{fffd}' && n == 1 {
        return None;
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return None;
    }
    Some((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn table() {
        let v = vars(&[
            ("app", "podInfo"),
            ("file", "dir/sub/app.tar.gz"),
            ("empty", ""),
            ("d", "x"),
            ("neg", "-4"),
        ]);
        let cases = [
            ("plain text", "plain text"),
            ("${app}", "podInfo"),
            ("${#app}", "7"),
            (
                "${app^}-${app^^}-${app,}-${app,,}",
                "PodInfo-PODINFO-podInfo-podinfo",
            ),
            ("${app:3}", "Info"),
            ("${app:0:3}", "pod"),
            ("${app:-4}", "podInfo"),
            ("${app:-4:2}", "podInfo"),
            // Go's Atoi does not trim: an offset with a space leaves the value.
            ("${app: -4:2}", "podInfo"),
            ("${app:-3:2}", "podInfo"),
            ("${app:${neg}:2}", "In"),
            ("${app:10}", ""),
            ("${app:x}", "podInfo"),
            ("${file#*/}", "sub/app.tar.gz"),
            ("${file##*/}", "app.tar.gz"),
            ("${file%.*}", "dir/sub/app.tar"),
            ("${file%%.*}", "dir/sub/app"),
            ("${file/\\//-}", "dir-sub/app.tar.gz"),
            ("${file//\\//-}", "dir-sub-app.tar.gz"),
            ("${file/#dir/DIR}", "DIR/sub/app.tar.gz"),
            ("${file/%gz/xz}", "dir/sub/app.tar.xz"),
            ("${file/#dir/}", "dir/sub/app.tar.gz"),
            ("${file/sub/}", "dir//app.tar.gz"),
            ("${empty:=def}|${empty=def}|${empty:-def}", "def|def|def"),
            ("${unset:=a${d}b}", "axb"),
            ("${unset=${app^^}}", "PODINFO"),
            ("$${app} $$ $app $", "${app} $ $app $"),
            ("a$${x$${app}", "a${x${app}"),
            ("\\\\${d}", "\\\\x"),
        ];
        for (input, want) in cases {
            assert_eq!(eval(input, &v).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn errors() {
        let v = vars(&[("a", "1")]);
        let cases = [
            ("${}", Error::VariableName),
            ("${a-d}", Error::MissingClosingBrace),
            ("${a+d}", Error::MissingClosingBrace),
            ("${a", Error::MissingClosingBrace),
            ("${a:1", Error::BadSubstitution),
            ("${missing}", Error::VariableNotSet("missing".into())),
            ("${#missing}", Error::VariableNotSet("missing".into())),
            ("${missing/a/b}", Error::VariableNotSet("missing".into())),
        ];
        for (input, want) in cases {
            assert_eq!(eval(input, &v), Err(want), "{input}");
        }
        assert_eq!(
            eval("${a:0:-2}", &v).unwrap_err().to_string(),
            "slice bounds out of range [0:-2] in ${a:…}"
        );
    }

    #[test]
    fn globs() {
        assert_eq!(glob_match(b"*", b"a/b"), Ok(true));
        assert_eq!(glob_match(b"a?c", b"a/c"), Ok(true));
        assert_eq!(glob_match(b"[a-c]x", b"bx"), Ok(true));
        assert_eq!(glob_match(b"[^a-c]x", b"bx"), Ok(false));
        assert_eq!(glob_match(b"[", b"x"), Err(()));
        assert_eq!(glob_match(b"\\*", b"*"), Ok(true));
    }
}
