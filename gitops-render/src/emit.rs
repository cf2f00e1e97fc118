//! YAML output byte-identical to `kubectl kustomize`.
//!
//! kustomize prints each resource as JSON re-read and re-written by Go's
//! yaml.v2 (`sigs.k8s.io/yaml.JSONToYAML`). This module is our own rewrite of
//! the parts of that path that matter for a tree of typed values: yaml.v2's
//! key order (a "natural" order: non-letters before letters, digit runs
//! compared as numbers), its choice of scalar style (plain, single-quoted,
//! double-quoted, literal block), the 80-column folding of long flow
//! scalars, 2-space indentation and sequences not indented under their key.

use std::cmp::Ordering;

use crate::value::{Map, Value, go_parse_float, go_parse_int, is_yaml_style_float};

const BEST_WIDTH: usize = 80;
const BEST_INDENT: usize = 2;

/// Render one document (no leading `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    append_yaml(value, &mut out);
    out
}

/// [`to_yaml`], appended to `out` (which is reused for many documents when
/// the output is streamed).
pub(crate) fn append_yaml(value: &Value, out: &mut String) {
    append_yaml_width(value, out, BEST_WIDTH);
}

/// [`append_yaml`] without folding long scalars, as yaml.v3 (kyaml) prints
/// a document it re-reads: what Helm makes of post-rendered output.
pub(crate) fn append_yaml_unfolded(value: &Value, out: &mut String) {
    append_yaml_width(value, out, usize::MAX);
}

fn append_yaml_width(value: &Value, out: &mut String, width: usize) {
    let mut w = Writer {
        out,
        column: 0,
        whitespace: false,
        indention: false,
        width,
    };
    match value {
        Value::Map(m) if !m.is_empty() => w.block_map(m, 0, false),
        Value::Seq(s) if !s.is_empty() => w.block_seq(s, 0, false),
        other => {
            // A scalar or empty collection at the root.
            w.whitespace = true;
            w.indention = true;
            w.node_inline(other, 0);
        }
    }
    if w.column > 0 {
        w.out.push('\n');
    }
}

/// Compare two mapping keys the way Go's yaml.v2 orders them.
pub fn key_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        // Fast path: bytes are characters.
        return natural_order(a.as_bytes(), b.as_bytes(), |c| char::from(*c));
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_order(&ar, &br, |c| *c)
}

fn natural_order<T: PartialEq>(ar: &[T], br: &[T], ch: impl Fn(&T) -> char) -> Ordering {
    let is_digit = |c: char| c.is_ascii_digit();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let (ca, cb) = (ch(&ar[i]), ch(&br[i]));
        let al = ca.is_alphabetic();
        let bl = cb.is_alphabetic();
        if al && bl {
            return ca.cmp(&cb);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn): (i128, i128) = (0, 0);
        if ca == '0' || cb == '0' {
            let mut j = i;
            while j > 0 && is_digit(ch(&ar[j - 1])) {
                j -= 1;
                if ch(&ar[j]) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ch(&ar[ai])) {
            an = an
                .saturating_mul(10)
                .saturating_add(i128::from(ch(&ar[ai]) as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(ch(&br[bi])) {
            bn = bn
                .saturating_mul(10)
                .saturating_add(i128::from(ch(&br[bi]) as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ca.cmp(&cb);
    }
    ar.len().cmp(&br.len())
}

struct Writer<'o> {
    out: &'o mut String,
    column: usize,
    whitespace: bool,
    indention: bool,
    /// Column past which long scalars fold (yaml.v2's best width).
    width: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Writer<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// Start a new line at `indent` (for block entries).
    fn line_at(&mut self, indent: usize) {
        if self.column > 0 {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn block_map(&mut self, m: &Map, indent: usize, inline_first: bool) {
        let mut entries: Vec<(&str, &Value)> = m.iter().collect();
        entries.sort_by(|a, b| key_order(a.0, b.0));
        for (i, (k, v)) in entries.into_iter().enumerate() {
            if !(i == 0 && inline_first) {
                self.line_at(indent);
            }
            self.scalar(k, indent + BEST_INDENT, true);
            self.put(':');
            self.whitespace = false;
            self.indention = false;
            match v {
                Value::Map(sub) if !sub.is_empty() => {
                    self.block_map(sub, indent + BEST_INDENT, false)
                }
                Value::Seq(items) if !items.is_empty() => self.block_seq(items, indent, false),
                other => self.node_inline(other, indent + BEST_INDENT),
            }
        }
    }

    fn block_seq(&mut self, items: &[Value], indent: usize, inline_first: bool) {
        for (i, item) in items.iter().enumerate() {
            if !(i == 0 && inline_first) {
                self.line_at(indent);
            }
            self.put('-');
            self.whitespace = false;
            self.indention = false;
            match item {
                Value::Map(sub) if !sub.is_empty() => {
                    self.put(' ');
                    self.whitespace = true;
                    self.block_map(sub, indent + BEST_INDENT, true);
                }
                Value::Seq(sub) if !sub.is_empty() => {
                    self.put(' ');
                    self.whitespace = true;
                    self.block_seq(sub, indent + BEST_INDENT, true);
                }
                other => self.node_inline(other, indent + BEST_INDENT),
            }
        }
    }

    /// A scalar or empty collection after `key:` or `-`; `indent` is the
    /// continuation indent.
    fn node_inline(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Map(_) => self.flow(" {}"),
            Value::Seq(_) => self.flow(" []"),
            Value::Null => self.plain_text("null"),
            Value::Bool(b) => self.plain_text(if *b { "true" } else { "false" }),
            Value::Int(i) => self.plain_text(&i.to_string()),
            Value::Float(f) => self.plain_text(&format_float(*f)),
            Value::Str(s) => self.scalar(s, indent, false),
        }
    }

    fn flow(&mut self, s: &str) {
        if self.whitespace {
            self.put_str(s.trim_start());
        } else {
            self.put_str(s);
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn plain_text(&mut self, s: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        self.put_str(s);
        self.whitespace = false;
        self.indention = false;
    }

    fn scalar(&mut self, s: &str, indent: usize, simple_key: bool) {
        // Fast path: a word-like string (letters first; letters, digits and
        // `-_./` after) that reads back as a string is always written plain.
        if s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
            && resolves_to_str(s)
        {
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(s);
            self.column += s.len();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let analysis = analyze(s);
        let can_plain = resolves_to_str(s) && !is_base60_float(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if can_plain {
            Style::Plain
        } else {
            Style::Double
        };
        if simple_key && analysis.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!analysis.block_plain_allowed || (s.is_empty() && simple_key))
        {
            style = Style::Single;
        }
        if style == Style::Single && !analysis.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!analysis.block_allowed || simple_key) {
            style = Style::Double;
        }
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(s, indent, allow_breaks),
            Style::Single => self.write_single(s, indent, allow_breaks),
            Style::Double => self.write_double(s, indent, allow_breaks),
            Style::Literal => self.write_literal(s, indent),
        }
    }

    fn write_plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.width
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        self.put('\'');
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for i in 0..n {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.width
                    && i > 0
                    && i < n - 1
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.put('\'');
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        self.put('"');
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for i in 0..n {
            let c = chars[i];
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let v = c as u32;
                        let text = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        self.put_str(&text);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.width && i > 0 && i < n - 1 {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &str, indent: usize) {
        if !self.whitespace {
            self.put(' ');
        }
        self.put('|');
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.put_str(&BEST_INDENT.to_string());
        }
        match chars.last() {
            None => self.put('-'),
            Some(&last) if !is_break(last) => self.put('-'),
            Some(_) if chars.len() == 1 => self.put('+'),
            Some(_) => {
                if is_break(chars[chars.len() - 2]) {
                    self.put('+');
                }
            }
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    let is_blank = |c: char| c == ' ' || c == '\t';
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = i + 1 >= n || is_blank(chars[i + 1]) || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blank(c) || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// True when Go's yaml.v2 would read `s`, written plain, back as a string.
fn resolves_to_str(s: &str) -> bool {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | ""
        | "~" | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => return false,
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => go_parse_float(s).is_none(),
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            if go_parses_int_or_uint(&plain) {
                return false;
            }
            if is_yaml_style_float(&plain) && go_parse_float(&plain).is_some() {
                return false;
            }
            if let Some(b) = plain.strip_prefix("0b")
                && !b.is_empty()
                && b.bytes().all(|c| c == b'0' || c == b'1')
            {
                return false;
            }
            if let Some(b) = plain.strip_prefix("-0b")
                && !b.is_empty()
                && b.bytes().all(|c| c == b'0' || c == b'1')
            {
                return false;
            }
            true
        }
        _ => true,
    }
}

fn go_parses_int_or_uint(s: &str) -> bool {
    if go_parse_int(s).is_some() {
        return true;
    }
    // ParseUint: no sign, up to u64::MAX.
    if s.starts_with(['+', '-']) {
        return false;
    }
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (16, h)
    } else if let Some(o) = s.strip_prefix("0o").or(s.strip_prefix("0O")) {
        (8, o)
    } else if let Some(b) = s.strip_prefix("0b").or(s.strip_prefix("0B")) {
        (2, b)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    !digits.is_empty()
        && digits.chars().all(|c| c.is_digit(radix))
        && u64::from_str_radix(digits, radix).is_ok()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let len = i - start;
        let ok = match len {
            1 => true,
            2 => b[start] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go yaml.v2's timestamp detection (`parseTimestamp`), for quoting decisions.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        s[start..*i].parse().ok()
    };
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days_in {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    let time_ok = |i: &mut usize| -> bool {
        let Some(h) = num(i, 2) else { return false };
        if *i >= b.len() || b[*i] != b':' {
            return false;
        }
        *i += 1;
        let Some(m) = num(i, 2) else { return false };
        if *i >= b.len() || b[*i] != b':' {
            return false;
        }
        *i += 1;
        let Some(sec) = num(i, 2) else { return false };
        if *i < b.len() && b[*i] == b'.' {
            *i += 1;
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i == start {
                return false;
            }
        }
        h < 24 && m < 60 && sec < 60
    };
    if !time_ok(&mut i) {
        return false;
    }
    if sep == b' ' {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let rest = &s[i + 1..];
            rest.len() == 5
                && rest.as_bytes()[2] == b':'
                && rest
                    .bytes()
                    .enumerate()
                    .all(|(k, c)| k == 2 || c.is_ascii_digit())
        }
        _ => false,
    }
}

/// A float as it comes out of kustomize's JSON → yaml.v2 round trip.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= i64::MIN as f64 && f < i64::MAX as f64 {
            return (f as i64).to_string();
        }
        if f >= 0.0 && f < u64::MAX as f64 {
            return (f as u64).to_string();
        }
    }
    go_format_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn go_format_g(f: f64) -> String {
    let (digits, exp) = shortest_digits(f);
    let neg = f.is_sign_negative() && f != 0.0;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        go_exp_format(&mut out, &digits, exp);
    } else {
        fixed_format(&mut out, &digits, exp);
    }
    out
}

/// Go `encoding/json`'s float encoding.
pub(crate) fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    let (digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if f.is_sign_negative() && f != 0.0 {
        out.push('-');
    }
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        go_exp_format(&mut out, &digits, exp);
        if let Some(pos) = out.rfind("e-0") {
            out.remove(pos + 2);
        }
    } else {
        fixed_format(&mut out, &digits, exp);
    }
    out
}

fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn go_exp_format(out: &mut String, digits: &str, exp: i32) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn fixed_format(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::yaml::parse_documents;

    fn round(src: &str) -> String {
        to_yaml(&Value::from_node(
            &parse_documents(src, "t").unwrap()[0].root,
        ))
    }

    #[test]
    fn sorts_and_indents() {
        assert_eq!(
            round("b: 1\na:\n  - x: 1\n    z: [1, [2]]\n  - {}\nc: {}\n"),
            "a:\n- x: 1\n  z:\n  - 1\n  - - 2\n- {}\nb: 1\nc: {}\n"
        );
    }

    #[test]
    fn quotes_strings_that_read_as_other_types() {
        assert_eq!(
            round("a: 'true'\nb: 'yes'\nc: '1.5'\nd: ''\ne: '2021-01-02'\nf: ': x'\ng: '1:20'\n"),
            "a: \"true\"\nb: \"yes\"\nc: \"1.5\"\nd: \"\"\ne: \"2021-01-02\"\nf: ': x'\ng: \"1:20\"\n"
        );
    }

    #[test]
    fn literal_blocks() {
        assert_eq!(round("a: \"\\nx\\ny\\n\"\n"), "a: |2\n\n  x\n  y\n");
        assert_eq!(round("a: \"x\\ny\"\n"), "a: |-\n  x\n  y\n");
        assert_eq!(round("a: \"x \\ny\"\n"), "a: \"x \\ny\"\n");
    }

    #[test]
    fn folds_long_strings() {
        let long = "word ".repeat(20);
        let out = round(&format!("k: '{}x'\n", long));
        assert!(out.starts_with("k: word word"), "{out}");
        assert!(out.contains("\n  word"), "{out}");
    }

    #[test]
    fn natural_key_order() {
        let mut keys = vec!["item10", "item9", "a_b", "aB", "-x", "b"];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, ["-x", "a_b", "aB", "b", "item9", "item10"]);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(1234567.5), "1.2345675e+06");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float_json(1e-7), "1e-7");
        assert_eq!(format_float_json(2.5), "2.5");
    }
}
