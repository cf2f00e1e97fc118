//! The lexer: Go's `text/template/parse` scanner rules, as a pull scanner.
//!
//! Trim markers (`{{- ` and ` -}}`, where the space may be any of space, tab,
//! carriage return or newline) are handled here, so the parser never sees
//! them. Item positions are byte offsets into the template text and lines
//! count from one, as in Go.

use crate::fmt::{go_quote, go_quote_truncated, unicode_rune};

/// The kind of a lexed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

fn keyword(word: &str) -> Option<Tok> {
    // Every keyword starts with one of these letters and has 2 to 8 bytes.
    let b = word.as_bytes();
    if !(2..=8).contains(&b.len())
        || !matches!(
            b[0],
            b'b' | b'c' | b'd' | b'e' | b'i' | b'n' | b'r' | b't' | b'w'
        )
    {
        return None;
    }
    Some(match word {
        "block" => Tok::Block,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "define" => Tok::Define,
        "else" => Tok::Else,
        "end" => Tok::End,
        "if" => Tok::If,
        "range" => Tok::Range,
        "nil" => Tok::Nil,
        "template" => Tok::Template,
        "with" => Tok::With,
        _ => return None,
    })
}

/// One lexed item: its kind, byte position, text (a slice of the input;
/// empty for an error, whose message is [`Lexer::error`]) and line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item<'a> {
    pub typ: Tok,
    pub pos: usize,
    pub val: &'a str,
    pub line: usize,
}

impl<'a> Item<'a> {
    fn eof() -> Item<'a> {
        Item {
            typ: Tok::Eof,
            pos: 0,
            val: "",
            line: 1,
        }
    }
}

impl std::fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            Tok::Eof => f.write_str("EOF"),
            Tok::Error => f.write_str("error"),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                write!(f, "{}...", go_quote_truncated(self.val, 10))
            }
            _ => f.write_str(&go_quote(self.val)),
        }
    }
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

/// Go's `isSpace` inside actions: space, tab, carriage return, newline.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Go's `isAlphaNumeric`: underscore, letter or decimal digit.
pub(crate) fn is_alphanumeric(c: char) -> bool {
    c == '_' || is_letter(c) || is_digit(c)
}

/// An approximation of Go's `unicode.IsLetter` (general category L).
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !c.is_numeric()
}

/// An approximation of Go's `unicode.IsDigit` (general category Nd).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    c.is_numeric() && !c.is_alphabetic()
}

/// `s.starts_with(prefix)` for the short prefixes of delimiters, without a
/// call to `memcmp`.
#[inline]
fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s.iter().zip(prefix).all(|(a, b)| a == b)
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn right_trim_length(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_length(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
}

/// Scanner over one template text.
pub(crate) struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: i64,
    line: usize,
    start_line: usize,
    item: Option<Item<'a>>,
    error: String,
    inside_action: bool,
    done: bool,
    pub break_ok: bool,
    pub continue_ok: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str, left: &'a str, right: &'a str) -> Self {
        Lexer {
            input,
            left,
            right,
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            item: None,
            error: String::new(),
            inside_action: false,
            done: false,
            break_ok: true,
            continue_ok: true,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let Some(&b) = self.input.as_bytes().get(self.pos) else {
            self.at_eof = true;
            return None;
        };
        if b.is_ascii() {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
            return Some(char::from(b));
        }
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        if !self.at_eof && self.pos > 0 {
            let b = self.input.as_bytes()[self.pos - 1];
            if b.is_ascii() {
                self.pos -= 1;
                if b == b'\n' {
                    self.line -= 1;
                }
                return;
            }
            let c = self.input[..self.pos].chars().next_back().unwrap_or('\0');
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    fn this_item(&mut self, typ: Tok) -> Item<'a> {
        let item = Item {
            typ,
            pos: self.start,
            val: &self.input[self.start..self.pos],
            line: self.start_line,
        };
        self.start = self.pos;
        self.start_line = self.line;
        item
    }

    fn emit(&mut self, typ: Tok) -> Option<State> {
        let item = self.this_item(typ);
        self.emit_item(item)
    }

    fn emit_item(&mut self, item: Item<'a>) -> Option<State> {
        self.item = Some(item);
        None
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, message: String) -> Option<State> {
        self.error = message;
        self.item = Some(Item {
            typ: Tok::Error,
            pos: self.start,
            val: "",
            line: self.start_line,
        });
        self.done = true;
        None
    }

    /// The message of the error item, once one was returned.
    pub(crate) fn error(&self) -> &str {
        &self.error
    }

    /// The next item. After an error or EOF every call returns EOF.
    pub(crate) fn next_item(&mut self) -> Item<'a> {
        if self.done {
            return Item {
                pos: self.pos,
                line: self.start_line,
                ..Item::eof()
            };
        }
        self.item = Some(Item {
            typ: Tok::Eof,
            pos: self.pos,
            val: "EOF",
            line: self.start_line,
        });
        let mut state = if self.inside_action {
            State::InsideAction
        } else {
            State::Text
        };
        loop {
            match self.step(state) {
                Some(next) => state = next,
                None => {
                    let item = self.item.take().unwrap_or_else(Item::eof);
                    if item.typ == Tok::Eof {
                        self.done = true;
                    }
                    return item;
                }
            }
        }
    }

    fn step(&mut self, state: State) -> Option<State> {
        match state {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(Tok::Field),
            State::Variable => self.lex_variable(),
            State::Char => self.lex_char(),
            State::Number => self.lex_number(),
            State::Quote => self.lex_quote(),
            State::RawQuote => self.lex_raw_quote(),
        }
    }

    /// Where the left delimiter next starts in the rest of the input.
    fn find_left(&self) -> Option<usize> {
        let rest = self.rest();
        let Some(&first) = self.left.as_bytes().first() else {
            return Some(0);
        };
        if !first.is_ascii() {
            return rest.find(self.left);
        }
        let bytes = rest.as_bytes();
        let mut from = 0;
        // `str::find(char)` runs `memchr` for the delimiter's first byte.
        while let Some(i) = rest[from..].find(char::from(first)) {
            let at = from + i;
            if bytes[at..].starts_with(self.left.as_bytes()) {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }

    fn lex_text(&mut self) -> Option<State> {
        if let Some(x) = self.find_left() {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + self.left.len();
                let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                    right_trim_length(&self.input[self.start..self.pos])
                } else {
                    0
                };
                self.pos -= trim;
                self.line += self.input[self.start..self.pos]
                    .bytes()
                    .filter(|&b| b == b'\n')
                    .count();
                let item = self.this_item(Tok::Text);
                self.pos += trim;
                self.ignore();
                if !item.val.is_empty() {
                    return self.emit_item(item);
                }
            }
            return Some(State::LeftDelim);
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos]
                .bytes()
                .filter(|&b| b == b'\n')
                .count();
            return self.emit(Tok::Text);
        }
        self.emit(Tok::Eof)
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.input.as_bytes()[self.pos..];
        let right = self.right.as_bytes();
        if rest.len() >= TRIM_MARKER_LEN
            && is_space(char::from(rest[0]))
            && rest[1] == b'-'
            && starts_with(&rest[TRIM_MARKER_LEN..], right)
        {
            return (true, true);
        }
        (starts_with(rest, right), false)
    }

    fn lex_left_delim(&mut self) -> Option<State> {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return Some(State::Comment);
        }
        let item = self.this_item(Tok::LeftDelim);
        self.inside_action = true;
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.emit_item(item)
    }

    fn lex_comment(&mut self) -> Option<State> {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        self.line += self.input[self.start..self.pos]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        let _comment = self.this_item(Tok::Comment);
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += self.right.len();
        if trim {
            self.pos += left_trim_length(self.rest());
        }
        self.ignore();
        Some(State::Text)
    }

    fn lex_right_delim(&mut self) -> Option<State> {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += self.right.len();
        let item = self.this_item(Tok::RightDelim);
        if trim {
            self.pos += left_trim_length(self.rest());
            self.ignore();
        }
        self.inside_action = false;
        self.emit_item(item)
    }

    fn lex_inside_action(&mut self) -> Option<State> {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return Some(State::RightDelim);
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(r) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match r {
            _ if is_space(r) => {
                self.backup();
                Some(State::Space)
            }
            '=' => self.emit(Tok::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(Tok::Declare)
            }
            '|' => self.emit(Tok::Pipe),
            '"' => Some(State::Quote),
            '`' => Some(State::RawQuote),
            '$' => Some(State::Variable),
            '\'' => Some(State::Char),
            '.' if self
                .input
                .as_bytes()
                .get(self.pos)
                .is_some_and(|b| !b.is_ascii_digit()) =>
            {
                Some(State::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.backup();
                Some(State::Number)
            }
            _ if is_alphanumeric(r) => {
                self.backup();
                Some(State::Identifier)
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(Tok::LeftParen)
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(Tok::RightParen)
            }
            _ if (' '..='~').contains(&r) => self.emit(Tok::Char),
            _ => self.errorf(format!(
                "unrecognized character in action: {}",
                unicode_rune(r)
            )),
        }
    }

    fn lex_space(&mut self) -> Option<State> {
        let mut spaces = 0;
        let bytes = self.input.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !is_space(char::from(b)) {
                break;
            }
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
            spaces += 1;
        }
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[TRIM_MARKER_LEN..].starts_with(self.right) {
            self.backup();
            if spaces == 1 {
                return Some(State::RightDelim);
            }
        }
        self.emit(Tok::Space)
    }

    /// Skips the ASCII letters, digits and underscores at the position:
    /// the common case of [`is_alphanumeric`], without decoding characters.
    fn skip_ascii_word(&mut self) {
        let bytes = self.input.as_bytes();
        while bytes
            .get(self.pos)
            .is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric())
        {
            self.pos += 1;
        }
    }

    fn lex_identifier(&mut self) -> Option<State> {
        self.skip_ascii_word();
        loop {
            let r = self.next();
            if r.is_some_and(is_alphanumeric) {
                continue;
            }
            self.backup();
            if !self.at_terminator() {
                return self.errorf(format!(
                    "bad character {}",
                    unicode_rune(r.unwrap_or('\u{fffd}'))
                ));
            }
            let word = &self.input[self.start..self.pos];
            return match keyword(word) {
                Some(Tok::Break) if !self.break_ok => self.emit(Tok::Identifier),
                Some(Tok::Continue) if !self.continue_ok => self.emit(Tok::Identifier),
                Some(k) => self.emit(k),
                None if word == "true" || word == "false" => self.emit(Tok::Bool),
                None => self.emit(Tok::Identifier),
            };
        }
    }

    fn lex_variable(&mut self) -> Option<State> {
        if self.at_terminator() {
            return self.emit(Tok::Variable);
        }
        self.lex_field_or_variable(Tok::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: Tok) -> Option<State> {
        if self.at_terminator() {
            return self.emit(if typ == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
        }
        self.skip_ascii_word();
        let mut r;
        loop {
            r = self.next();
            if !r.is_some_and(is_alphanumeric) {
                self.backup();
                break;
            }
        }
        if !self.at_terminator() {
            return self.errorf(format!(
                "bad character {}",
                unicode_rune(r.unwrap_or('\u{fffd}'))
            ));
        }
        self.emit(typ)
    }

    fn at_terminator(&mut self) -> bool {
        match self.input.as_bytes().get(self.pos) {
            None => return true,
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => {
                return true;
            }
            Some(b) if b.is_ascii() => {
                return starts_with(&self.input.as_bytes()[self.pos..], self.right.as_bytes());
            }
            Some(_) => {}
        }
        match self.peek() {
            None => true,
            Some(r) if is_space(r) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => starts_with(&self.input.as_bytes()[self.pos..], self.right.as_bytes()),
        }
    }

    fn lex_char(&mut self) -> Option<State> {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => {
                        return self.errorf("unterminated character constant".into());
                    }
                    Some(_) => {}
                },
                None | Some('\n') => return self.errorf("unterminated character constant".into()),
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::CharConstant)
    }

    fn lex_number(&mut self) -> Option<State> {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.errorf(format!("bad number syntax: {}", go_quote(&text)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.errorf(format!("bad number syntax: {}", go_quote(&text)));
            }
            return self.emit(Tok::Complex);
        }
        self.emit(Tok::Number)
    }

    fn scan_number(&mut self) -> bool {
        const DEC: &str = "0123456789_";
        const HEX: &str = "0123456789abcdefABCDEF_";
        self.accept("+-");
        let mut digits = DEC;
        if self.accept("0") {
            if self.accept("xX") {
                digits = HEX;
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits == DEC && self.accept("eE") {
            self.accept("+-");
            self.accept_run(DEC);
        }
        if digits == HEX && self.accept("pP") {
            self.accept("+-");
            self.accept_run(DEC);
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> Option<State> {
        // Bytes, not chars: no byte of a multi-byte character is one of
        // these ASCII bytes, and a closed string holds no newline.
        let bytes = self.input.as_bytes();
        let mut i = self.pos;
        loop {
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') if !matches!(bytes.get(i + 1), None | Some(b'\n')) => i += 2,
                None | Some(b'\n' | b'\\') => {
                    self.pos = i;
                    return self.errorf("unterminated quoted string".into());
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::String)
    }

    fn lex_raw_quote(&mut self) -> Option<State> {
        let Some(end) = self.rest().find('`') else {
            self.pos = self.input.len();
            return self.errorf("unterminated raw quoted string".into());
        };
        let body = &self.input[self.pos..self.pos + end];
        self.line += body.bytes().filter(|&b| b == b'\n').count();
        self.pos += end + 1;
        self.emit(Tok::RawString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(text: &str) -> Vec<(Tok, String)> {
        let mut l = Lexer::new(text, "{{", "}}");
        let mut out = Vec::new();
        loop {
            let item = l.next_item();
            let stop = matches!(item.typ, Tok::Eof | Tok::Error);
            let val = if item.typ == Tok::Error {
                l.error().to_owned()
            } else {
                item.val.to_owned()
            };
            out.push((item.typ, val));
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn trim_markers_and_negative_numbers() {
        let items = lex_all("a  {{- 3 -}}  b{{-3}}");
        let kinds: Vec<Tok> = items.iter().map(|i| i.0).collect();
        assert_eq!(
            kinds,
            [
                Tok::Text,
                Tok::LeftDelim,
                Tok::Number,
                Tok::RightDelim,
                Tok::Text,
                Tok::LeftDelim,
                Tok::Number,
                Tok::RightDelim,
                Tok::Eof
            ]
        );
        assert_eq!(items[0].1, "a");
        assert_eq!(items[4].1, "b");
        assert_eq!(items[6].1, "-3");
    }

    #[test]
    fn fields_split_at_dots() {
        let items = lex_all("{{.A.B $x.C}}");
        let vals: Vec<&str> = items.iter().map(|i| i.1.as_str()).collect();
        assert_eq!(vals, ["{{", ".A", ".B", " ", "$x", ".C", "}}", ""]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            lex_all("{{ 3k }}").last().map(|i| i.1.clone()).unwrap(),
            "bad number syntax: \"3k\""
        );
        assert_eq!(
            lex_all("{{ \"abc }}").last().map(|i| i.1.clone()).unwrap(),
            "unterminated quoted string"
        );
        assert_eq!(
            lex_all("{{ a").last().map(|i| i.1.clone()).unwrap(),
            "unclosed action"
        );
        assert_eq!(
            lex_all("{{/* a */ b}}")
                .last()
                .map(|i| i.1.clone())
                .unwrap(),
            "comment ends before closing delimiter"
        );
    }
}
