//! Helm's `--set` family of value expressions (`helm.sh/helm/v4/pkg/strvals`).
//!
//! | flag | function | values |
//! |---|---|---|
//! | `--set` | [`parse`], [`parse_into`] | typed: `true`/`false`/`null` (any case), `int64` unless the text starts with `0`, `{a,b}` lists |
//! | `--set-string` | [`parse_string`], [`parse_into_string`] | strings (lists still split) |
//! | `--set-literal` | [`parse_literal`], [`parse_literal_into`] | the whole rest of the line, verbatim |
//! | `--set-json` | [`parse_json_into`] | one JSON value per key |
//!
//! Keys are `.`-separated map keys and `[n]` list indices; `\` escapes the
//! next character in keys and values (not under `--set-literal`); `,`
//! separates assignments. Nesting is limited to 30 levels and indices to
//! 65536, as in Helm.
//!
//! ```
//! use gitops_render::helm::strvals;
//! use serde_json::json;
//!
//! let v = strvals::parse("image.tag=1.2.3,replicas=3,ports={80,443},name=a\\,b")?;
//! assert_eq!(serde_json::Value::Object(v), json!({
//!     "image": {"tag": "1.2.3"}, "replicas": 3, "ports": [80, 443], "name": "a,b"
//! }));
//!
//! let err = strvals::parse("a.b").unwrap_err();
//! assert_eq!(err.to_string(), r#"failed parsing --set data "a.b": key "b" has no value"#);
//! # Ok::<(), strvals::Error>(())
//! ```
//!
//! # Deviation
//! - `--set-json` numbers keep their integer precision; Go decodes every JSON
//!   number as `float64` (so `12345678901234567891` is rounded there).
//! - The `{`, `[` and `"` JSON values are decoded by `serde_json`, whose error
//!   texts differ from Go's `encoding/json`.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Number, Value};

use super::goval::{GoList, GoMap, GoVal, map_from_json, map_to_json};

/// Deepest key nesting Helm accepts (`MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Largest list index Helm accepts (`MaxIndex`).
pub const MAX_INDEX: i64 = 65536;

/// Which `--set` flavour an expression uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetKind {
    /// `--set`: typed scalars.
    Set,
    /// `--set-string`: string scalars.
    String,
    /// `--set-literal`: the value is the rest of the expression, verbatim.
    Literal,
    /// `--set-json`: JSON values.
    Json,
}

impl SetKind {
    /// The Helm flag name, e.g. `--set-string`.
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Set => "--set",
            SetKind::String => "--set-string",
            SetKind::Literal => "--set-literal",
            SetKind::Json => "--set-json",
        }
    }
}

/// Why an expression could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The expression is malformed or does not fit the existing values; the
    /// message is Helm's.
    #[error("failed parsing {flag} data {input:?}: {message}")]
    Syntax {
        /// The flag (`--set`, `--set-string`, `--set-literal`, `--set-json`).
        flag: &'static str,
        /// The whole expression.
        input: String,
        /// What went wrong, in Helm's words.
        message: String,
    },
}

/// Parse a `--set` expression into a new map.
pub fn parse(s: &str) -> Result<Map<String, Value>, Error> {
    let mut m = Map::new();
    parse_into(s, &mut m)?;
    Ok(m)
}

/// Parse a `--set-string` expression into a new map.
pub fn parse_string(s: &str) -> Result<Map<String, Value>, Error> {
    let mut m = Map::new();
    parse_into_string(s, &mut m)?;
    Ok(m)
}

/// Parse a `--set-literal` expression into a new map.
pub fn parse_literal(s: &str) -> Result<Map<String, Value>, Error> {
    let mut m = Map::new();
    parse_literal_into(s, &mut m)?;
    Ok(m)
}

/// Apply a `--set` expression to `dest`.
pub fn parse_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), Error> {
    apply(SetKind::Set, s, dest)
}

/// Apply a `--set-string` expression to `dest`.
pub fn parse_into_string(s: &str, dest: &mut Map<String, Value>) -> Result<(), Error> {
    apply(SetKind::String, s, dest)
}

/// Apply a `--set-literal` expression to `dest`.
pub fn parse_literal_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), Error> {
    apply(SetKind::Literal, s, dest)
}

/// Apply a `--set-json` expression to `dest`.
pub fn parse_json_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), Error> {
    apply(SetKind::Json, s, dest)
}

/// Apply an expression of any flavour to `dest`. On error `dest` is left
/// unchanged.
pub fn apply(kind: SetKind, s: &str, dest: &mut Map<String, Value>) -> Result<(), Error> {
    let data = map_from_json(dest);
    apply_go(kind, s, &data)?;
    *dest = map_to_json(&data);
    Ok(())
}

/// Flux `chartutil.ReplacePathValue`: set `value` at the strvals `path` as
/// `--set path=value` would; a value that starts and ends with `'` (or with
/// `"`) has every leading and trailing quote trimmed and is set as a string.
pub fn replace_path_value(
    dest: &mut Map<String, Value>,
    path: &str,
    value: &str,
) -> Result<(), Error> {
    let data = map_from_json(dest);
    replace_path_value_go(&data, path, value)?;
    *dest = map_to_json(&data);
    Ok(())
}

/// Flux `chartutil.ReplacePathLiteralValue`: set `value` verbatim (a string)
/// at `path`; `\.` escapes in the path still work.
pub fn replace_path_literal_value(
    dest: &mut Map<String, Value>,
    path: &str,
    value: &str,
) -> Result<(), Error> {
    let data = map_from_json(dest);
    replace_path_literal_value_go(&data, path, value)?;
    *dest = map_to_json(&data);
    Ok(())
}

pub(crate) fn replace_path_value_go(data: &GoMap, path: &str, value: &str) -> Result<(), Error> {
    let single = value.starts_with('\'') && value.ends_with('\'');
    let double = value.starts_with('"') && value.ends_with('"');
    if single || double {
        let trimmed = value.trim_matches(|c| c == '\'' || c == '"');
        apply_go(SetKind::String, &format!("{path}={trimmed}"), data)
    } else {
        apply_go(SetKind::Set, &format!("{path}={value}"), data)
    }
}

pub(crate) fn replace_path_literal_value_go(
    data: &GoMap,
    path: &str,
    value: &str,
) -> Result<(), Error> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '[' | ']' | '{' | '}') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    apply_go(SetKind::String, &format!("{path}={escaped}"), data)
}

pub(crate) fn apply_go(kind: SetKind, s: &str, data: &GoMap) -> Result<(), Error> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        kind,
    };
    let result = if kind == SetKind::Literal {
        p.parse_literal(data)
    } else {
        p.parse(data)
    };
    result.map_err(|e| Error::Syntax {
        flag: kind.flag(),
        input: s.to_owned(),
        message: e.msg,
    })
}

/// An internal error: Helm's message, and whether it wraps `io.EOF` (which
/// ends parsing successfully).
#[derive(Debug)]
struct PErr {
    msg: String,
    eof: bool,
}

impl PErr {
    fn eof() -> PErr {
        PErr {
            msg: "EOF".to_owned(),
            eof: true,
        }
    }
    fn msg(msg: String) -> PErr {
        PErr { msg, eof: false }
    }
    fn wrap(self, prefix: &str) -> PErr {
        PErr {
            msg: format!("{prefix}{}", self.msg),
            eof: self.eof,
        }
    }
    fn not_a(v: &GoVal, want: &str) -> PErr {
        PErr::msg(format!(
            "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
            v.type_name()
        ))
    }
}

type PResult<T> = Result<T, PErr>;

/// Quote like Go's `%q`.
fn go_quote(chars: &[char]) -> String {
    let mut out = String::from("\"");
    for &c in chars {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text(chars: &[char]) -> String {
    chars.iter().collect()
}

/// Which stop character ended a scan; `None` at the end of input.
type Stop = Option<char>;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
}

enum ListResult {
    List(Vec<GoVal>),
    NotList,
}

impl Parser {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// `runesUntil`: collect until a stop rune; `\` takes the next rune
    /// literally. Returns the text and the stop (`None` at end of input).
    fn until(&mut self, stop: &[char]) -> (Vec<char>, Stop) {
        let mut v = Vec::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    /// `runesUntilLiteral`: no escapes.
    fn until_literal(&mut self, stop: &[char]) -> (Vec<char>, Stop) {
        let mut v = Vec::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some(c) => v.push(c),
            }
        }
    }

    fn typed(&self, rs: &[char]) -> GoVal {
        let val = text(rs);
        if self.kind == SetKind::String {
            return GoVal::Str(val);
        }
        if val.eq_ignore_ascii_case("true") {
            return GoVal::Bool(true);
        }
        if val.eq_ignore_ascii_case("false") {
            return GoVal::Bool(false);
        }
        if val.eq_ignore_ascii_case("null") {
            return GoVal::Null;
        }
        if val == "0" {
            return GoVal::Num(Number::from(0));
        }
        if !val.is_empty()
            && !val.starts_with('0')
            && let Some(i) = parse_go_int(&val)
        {
            return GoVal::Num(Number::from(i));
        }
        GoVal::Str(val)
    }

    fn parse(&mut self, data: &GoMap) -> PResult<()> {
        loop {
            match self.key(data, 0) {
                Ok(()) => continue,
                Err(e) if e.eof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn key(&mut self, data: &GoMap, mut level: usize) -> PResult<()> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        let Some(last) = last else {
            if k.is_empty() {
                return Err(PErr::eof());
            }
            return Err(PErr::msg(format!("key {} has no value", go_quote(&k))));
        };
        let kk = text(&k);
        match last {
            '[' => {
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index: "))?;
                let list = existing_list(data, &kk)?;
                let (list, err) = self.list_item(list, i, level);
                set(data, &kk, GoVal::List(list));
                err.map_or(Ok(()), Err)
            }
            '=' => {
                if self.kind == SetKind::Json {
                    if self.empty_val() {
                        set(data, &kk, GoVal::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &kk, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(ListResult::List(vl)) => {
                        set(data, &kk, GoVal::List(Rc::new(RefCell::new(vl))));
                        Ok(())
                    }
                    Err(e) if e.eof => {
                        set(data, &kk, GoVal::Str(String::new()));
                        Err(e)
                    }
                    Err(e) => Err(e),
                    Ok(ListResult::NotList) => {
                        // Helm returns the (nil) reader error here, not the
                        // end of input: the next key() call sees that.
                        let (rs, _) = self.until(&[',']);
                        let v = self.typed(&rs);
                        set(data, &kk, v);
                        Ok(())
                    }
                }
            }
            ',' => {
                set(data, &kk, GoVal::Str(String::new()));
                Err(PErr::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    go_quote(&k)
                )))
            }
            _ => {
                // '.'
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(nested_error());
                }
                let inner = existing_map(data, &kk)?;
                let e = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return Err(PErr::msg(format!("key map {} has no value", go_quote(&k))));
                }
                if !empty {
                    set(data, &kk, GoVal::Map(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> PResult<i64> {
        let (v, stop) = if self.kind == SetKind::Literal {
            self.until_literal(&[']'])
        } else {
            self.until(&[']'])
        };
        if stop.is_none() {
            return Err(PErr::eof());
        }
        let s = text(&v);
        parse_go_int(&s).ok_or_else(|| {
            let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
            let reason = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            PErr::msg(format!("strconv.Atoi: parsing {}: {reason}", go_quote(&v)))
        })
    }

    /// `listItem`: returns the (possibly new) list and the error, as Go does.
    fn list_item(&mut self, list: GoList, i: i64, level: usize) -> (GoList, Option<PErr>) {
        if i < 0 {
            return (
                list,
                Some(PErr::msg(format!("negative {i} index not allowed"))),
            );
        }
        let (k, last) = if self.kind == SetKind::Literal {
            self.until_literal(&['[', '.', '='])
        } else {
            self.until(&['[', '.', '='])
        };
        if !k.is_empty() {
            return (
                list,
                Some(PErr::msg(format!(
                    "unexpected data at end of array index: {}",
                    go_quote(&k)
                ))),
            );
        }
        let Some(last) = last else {
            return (list, Some(PErr::eof()));
        };
        match last {
            '=' => {
                let v = match self.kind {
                    SetKind::Literal => {
                        let (rs, _) = self.until_literal(&[]);
                        GoVal::Str(text(&rs))
                    }
                    SetKind::Json => {
                        if self.empty_val() {
                            GoVal::Null
                        } else {
                            match self.json_value() {
                                Ok(v) => {
                                    let (l, e) = set_index(list, i, v);
                                    if e.is_some() {
                                        return (l, e);
                                    }
                                    self.empty_val();
                                    return (l, None);
                                }
                                Err(e) => return (list, Some(e)),
                            }
                        }
                    }
                    SetKind::Set | SetKind::String => match self.val_list() {
                        Ok(ListResult::List(vl)) => GoVal::List(Rc::new(RefCell::new(vl))),
                        Err(e) if e.eof => GoVal::Str(String::new()),
                        Err(e) => return (list, Some(e)),
                        Ok(ListResult::NotList) => {
                            let (rs, _) = self.until(&[',']);
                            self.typed(&rs)
                        }
                    },
                };
                set_index(list, i, v)
            }
            '[' => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Some(e.wrap("error parsing index: "))),
                };
                let existing = list.borrow().get(index_usize(i)).cloned();
                let crt = match existing {
                    None | Some(GoVal::Null) => Rc::new(RefCell::new(Vec::new())),
                    Some(GoVal::List(l)) => l,
                    Some(other) => return (list, Some(PErr::not_a(&other, "[]interface {}"))),
                };
                let (list2, err) = self.list_item(crt, next, level);
                if err.is_some() {
                    return (list, err);
                }
                set_index(list, i, GoVal::List(list2))
            }
            _ => {
                // '.'
                let idx = index_usize(i);
                let inner = {
                    let mut l = list.borrow_mut();
                    match l.get(idx) {
                        Some(GoVal::Map(m)) => m.clone(),
                        Some(_) => {
                            let m = GoVal::new_map();
                            l[idx] = GoVal::Map(m.clone());
                            m
                        }
                        None => GoVal::new_map(),
                    }
                };
                let e = if self.kind == SetKind::Literal {
                    self.literal_key(&inner, level)
                } else {
                    self.key(&inner, level)
                };
                if let Err(e) = e {
                    return (list, Some(e));
                }
                set_index(list, i, GoVal::Map(inner))
            }
        }
    }

    /// `valList`: a `{a,b}` list, or `NotList` (nothing consumed).
    fn val_list(&mut self) -> PResult<ListResult> {
        match self.read() {
            None => return Err(PErr::eof()),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Ok(ListResult::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(PErr::msg("list must terminate with '}'".to_owned())),
                Some('}') => {
                    if let Some(c) = self.read()
                        && c != ','
                    {
                        self.unread();
                    }
                    list.push(self.typed(&rs));
                    return Ok(ListResult::List(list));
                }
                Some(_) => list.push(self.typed(&rs)),
            }
        }
    }

    /// `emptyVal`: skip spaces; true at end of input or after a `,`.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    /// Decode one JSON value from the rest of the input, as Go's
    /// `json.Decoder` does, and consume exactly its text.
    fn json_value(&mut self) -> PResult<GoVal> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let (value, used) = decode_json_prefix(&rest).map_err(PErr::msg)?;
        self.pos += rest[..used].chars().count();
        Ok(GoVal::from_json(&value))
    }

    fn parse_literal(&mut self, data: &GoMap) -> PResult<()> {
        loop {
            match self.literal_key(data, 0) {
                Ok(()) => continue,
                Err(e) if e.eof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn literal_key(&mut self, data: &GoMap, mut level: usize) -> PResult<()> {
        let (k, last) = self.until_literal(&['=', '[', '.']);
        let Some(last) = last else {
            if k.is_empty() {
                return Err(PErr::eof());
            }
            return Err(PErr::msg(format!("key {} has no value", go_quote(&k))));
        };
        let kk = text(&k);
        match last {
            '=' => {
                let (rs, _) = self.until_literal(&[]);
                set(data, &kk, GoVal::Str(text(&rs)));
                Ok(())
            }
            '.' => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(nested_error());
                }
                let inner = existing_map(data, &kk)?;
                let e = self.literal_key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return Err(PErr::msg(format!("key map {} has no value", go_quote(&k))));
                }
                if !empty {
                    set(data, &kk, GoVal::Map(inner));
                }
                e
            }
            _ => {
                // '['
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index: "))?;
                let list = existing_list(data, &kk)?;
                let (list, err) = self.list_item(list, i, level);
                set(data, &kk, GoVal::List(list));
                err.map_or(Ok(()), Err)
            }
        }
    }
}

fn nested_error() -> PErr {
    PErr::msg(format!(
        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
    ))
}

fn index_usize(i: i64) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// `data[k].([]any)` when present.
fn existing_list(data: &GoMap, k: &str) -> PResult<GoList> {
    match data.borrow().get(k) {
        None => Ok(Rc::new(RefCell::new(Vec::new()))),
        Some(GoVal::List(l)) => Ok(l.clone()),
        Some(other) => Err(PErr::not_a(other, "[]interface {}")),
    }
}

/// `data[k].(map[string]any)` when present.
fn existing_map(data: &GoMap, k: &str) -> PResult<GoMap> {
    match data.borrow().get(k) {
        None => Ok(GoVal::new_map()),
        Some(GoVal::Map(m)) => Ok(m.clone()),
        Some(other) => Err(PErr::not_a(other, "map[string]interface {}")),
    }
}

/// `set`: an empty key is ignored.
fn set(data: &GoMap, key: &str, val: GoVal) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_owned(), val);
}

/// `setIndex`: write in place below the length, else grow into a new list.
fn set_index(list: GoList, index: i64, val: GoVal) -> (GoList, Option<PErr>) {
    if index < 0 {
        return (
            list,
            Some(PErr::msg(format!("negative {index} index not allowed"))),
        );
    }
    if index > MAX_INDEX {
        return (
            list,
            Some(PErr::msg(format!(
                "index of {index} is greater than maximum supported index of {MAX_INDEX}"
            ))),
        );
    }
    let idx = index_usize(index);
    let len = list.borrow().len();
    if len <= idx {
        let mut grown = list.borrow().clone();
        grown.resize(idx + 1, GoVal::Null);
        grown[idx] = val;
        return (Rc::new(RefCell::new(grown)), None);
    }
    list.borrow_mut()[idx] = val;
    (list, None)
}

/// Go `strconv.ParseInt(s, 10, 64)` / `Atoi`: optional sign, ASCII digits.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let body = if let Some(d) = s.strip_prefix('+') {
        d
    } else {
        s
    };
    body.parse::<i64>().ok()
}

/// Decode the JSON value at the start of `s` (after JSON whitespace) the way
/// Go's `json.Decoder.Decode` does: numbers and literals end at the first
/// byte that cannot continue them. Returns the value and the bytes used.
fn decode_json_prefix(s: &str) -> Result<(Value, usize), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    let Some(&first) = b.get(i) else {
        return Err("EOF".to_owned());
    };
    match first {
        b'{' | b'[' | b'"' => {
            let mut stream = serde_json::Deserializer::from_str(&s[i..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(v)) => Ok((v, i + stream.byte_offset())),
                Some(Err(e)) if e.is_eof() => Err("unexpected EOF".to_owned()),
                Some(Err(e)) => Err(e.to_string()),
                None => Err("unexpected EOF".to_owned()),
            }
        }
        b't' | b'f' | b'n' => {
            let (word, value) = match first {
                b't' => ("true", Value::Bool(true)),
                b'f' => ("false", Value::Bool(false)),
                _ => ("null", Value::Null),
            };
            for (j, expect) in word.bytes().enumerate() {
                match b.get(i + j) {
                    None => return Err("unexpected EOF".to_owned()),
                    Some(&c) if c == expect => {}
                    Some(&c) => {
                        return Err(format!(
                            "invalid character {} in literal {word} (expecting {})",
                            go_char(c),
                            go_char(expect)
                        ));
                    }
                }
            }
            Ok((value, i + word.len()))
        }
        b'-' | b'0'..=b'9' => {
            let end = scan_number(b, i)?;
            let text = &s[i..end];
            let v: Value = serde_json::from_str(text).map_err(|e| {
                format!("json: cannot unmarshal number {text} into Go value of type float64 ({e})")
            })?;
            Ok((v, end))
        }
        c => Err(format!(
            "invalid character {} looking for beginning of value",
            go_char(c)
        )),
    }
}

fn go_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        c if c.is_ascii_graphic() || c == b' ' => format!("'{}'", c as char),
        c => format!("'\\x{c:02x}'"),
    }
}

/// The end of the JSON number starting at `i`.
fn scan_number(b: &[u8], mut i: usize) -> Result<usize, String> {
    let digits = |b: &[u8], mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let need_digit = |b: &[u8], i: usize, what: &str| match b.get(i) {
        None => Err("unexpected EOF".to_owned()),
        Some(c) if c.is_ascii_digit() => Ok(()),
        Some(&c) => Err(format!("invalid character {} {what}", go_char(c))),
    };
    if b[i] == b'-' {
        i += 1;
        need_digit(b, i, "in numeric literal")?;
    }
    if b[i] == b'0' {
        i += 1;
    } else {
        i = digits(b, i);
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        need_digit(b, i, "after decimal point in numeric literal")?;
        i = digits(b, i);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        need_digit(b, i, "in exponent of numeric literal")?;
        i = digits(b, i);
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn typed_values() {
        let m = parse("a=TRUE,b=-5,c=+7,d=007,e=0,f=1.5,g=,h=nULL").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": true, "b": -5, "c": 7, "d": "007", "e": 0, "f": "1.5", "g": "", "h": null})
        );
    }

    #[test]
    fn errors_have_helm_text() {
        let e = parse("a=1,a.b=2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed parsing --set data \"a=1,a.b=2\": unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        let e = parse("a[x]=1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed parsing --set data \"a[x]=1\": error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        let e = parse("a[70000]=1").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("index of 70000 is greater than maximum supported index of 65536"),
            "{e}"
        );
    }

    #[test]
    fn unterminated_index_is_silently_ignored_like_helm() {
        assert_eq!(parse("a[1").unwrap(), Map::new());
    }

    #[test]
    fn json_prefix_rules() {
        let mut m = Map::new();
        parse_json_into("a=1x=2", &mut m).unwrap();
        assert_eq!(Value::Object(m), json!({"a": 1, "x": 2}));
        let mut m = Map::new();
        let e = parse_json_into("a=tru", &mut m).unwrap_err();
        assert!(e.to_string().ends_with("unexpected EOF"), "{e}");
        let mut m = Map::new();
        parse_json_into("a= [1, {\"b\": null}] , c=\"x\"", &mut m).unwrap();
        // Like Go: spaces after the comma belong to the next key.
        assert_eq!(Value::Object(m), json!({"a": [1, {"b": null}], " c": "x"}));
    }

    #[test]
    fn into_existing_keeps_other_keys() {
        let mut m = obj(json!({"x": {"y": 1, "z": [1, 2, 3]}}));
        parse_into("x.z[1]=9,x.w=a", &mut m).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"x": {"y": 1, "z": [1, 9, 3], "w": "a"}})
        );
    }

    #[test]
    fn failed_apply_leaves_dest_unchanged() {
        let mut m = obj(json!({"x": "s"}));
        assert!(parse_into("y=1,x.a=1", &mut m).is_err());
        assert_eq!(Value::Object(m), json!({"x": "s"}));
    }
}
