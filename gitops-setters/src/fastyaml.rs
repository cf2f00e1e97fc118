//! A fast path for the YAML that Kubernetes manifests are written in.
//!
//! [`parse`] reads the block-structured subset of YAML that nearly every
//! manifest, kustomization and HelmRelease uses: block mappings and
//! sequences indented with spaces, single-line plain and quoted scalars,
//! single-line flow collections, literal and folded block scalars, comments,
//! `---`/`...` and CRLF line breaks. It feeds the same events, with the same
//! spans, into the same [`Builder`] as the `granit-parser` path, so the tree
//! it returns is the tree `granit-parser` would have given.
//!
//! Anything outside that subset (anchors, aliases, tags, multi-line flow
//! collections and quoted scalars, plain scalars continued on the next line,
//! escapes in double-quoted scalars, tabs, directives, explicit keys) and
//! every syntax error makes it return `None`, and the caller parses the file
//! with `granit-parser` instead. Being wrong is therefore never an option
//! here: when in doubt, it declines. The differential tests (unit tests
//! below, the `setters_fast_yaml` fuzz target and the fixture sweep in
//! `tests/setters/fast_yaml.rs`) compare both paths on every input.

use std::borrow::Cow;

use gitops_core::yaml::Budget;

use crate::scan::ScalarStyle;
use crate::syntax::{Builder, ParseError, Tree};

/// Parse `src` when it lies inside the subset; `None` sends the caller to the
/// full parser. Counts nothing against a run's budget.
pub(crate) fn parse(src: &str) -> Option<Tree<'_>> {
    parse_in(src, &Budget::unlimited()).ok().flatten()
}

/// [`parse`], counting every node and document against `budget`: running
/// out is an error (the full parser would run out too), and what was
/// counted before declining is taken back out of the budget.
pub(crate) fn parse_in<'a>(src: &'a str, budget: &Budget) -> Result<Option<Tree<'a>>, ParseError> {
    if !chars_ok(src) {
        return Ok(None);
    }
    let mut p = Fast {
        src,
        b: src.as_bytes(),
        out: Builder::new(src, budget),
        ctx: Vec::new(),
        expect: Expect::NoDoc,
        pos: 0,
        line_no: 0,
    };
    if p.run().is_some() {
        return p.out.finish().map(Some);
    }
    if let Some((line, exhausted)) = p.out.over() {
        return Err(ParseError::Budget { line, exhausted });
    }
    p.out.abandon();
    Ok(None)
}

/// Characters the subset admits: printable YAML characters without tabs,
/// byte order marks, lone carriage returns or the Unicode line separators.
fn chars_ok(src: &str) -> bool {
    let b = src.as_bytes();
    // Branch-free over the bytes (vectorised): C0 controls other than line
    // breaks, and DEL.
    let bad = b.iter().fold(false, |acc, &c| {
        acc | ((c < 0x20) & (c != b'\n') & (c != b'\r')) | (c == 0x7f)
    });
    if bad {
        return false;
    }
    // Every carriage return starts a CRLF pair.
    let mut from = 0;
    while let Some(k) = b[from..].iter().position(|&c| c == b'\r') {
        let at = from + k;
        if b.get(at + 1) != Some(&b'\n') {
            return false;
        }
        from = at + 2;
    }
    src.is_ascii()
        || src.chars().all(|c| {
            !matches!(
                c,
                '\u{80}'
                    ..='\u{a0}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CtxKind {
    Map,
    Seq,
}

/// An open block collection.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    kind: CtxKind,
    /// Column of its keys or dashes.
    indent: usize,
}

/// What the parser waits for at the start of the next content line.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// No document is open.
    NoDoc,
    /// No document is open and `...` was seen: only `---` or comments may follow.
    AfterEnd,
    /// `---` opened a document; its root may follow on any later line.
    Root { at: usize, line: usize, col: usize },
    /// A mapping key at column `indent` waits for its value; `colon` is
    /// where an empty value is placed.
    Value {
        indent: usize,
        colon: usize,
        line: usize,
        col: usize,
    },
    /// A `-` at column `indent` waits for its item; `eol` is where an
    /// empty item is placed.
    Item {
        indent: usize,
        eol: usize,
        line: usize,
        col: usize,
    },
    /// The last node is complete.
    Done,
}

struct Fast<'a> {
    src: &'a str,
    b: &'a [u8],
    out: Builder<'a>,
    ctx: Vec<Ctx>,
    expect: Expect,
    /// Start of the current line.
    pos: usize,
    /// 1-based number of the current line.
    line_no: usize,
}

/// One line: `start..end` without its line break; `next` is where the
/// following line starts.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

fn is_blank_or_end(b: &[u8], i: usize, end: usize) -> bool {
    i >= end || b[i] == b' '
}

impl<'a> Fast<'a> {
    fn line_at(&self, start: usize) -> Line {
        let b = self.b;
        let nl = b[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |k| start + k);
        let end = if nl > start && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        Line {
            start,
            end,
            next: (nl + 1).min(b.len()).max(nl),
        }
    }

    /// 1-based column in characters of byte `at` on the line starting at
    /// `start`.
    fn col(&self, start: usize, at: usize) -> usize {
        1 + self.b[start..at]
            .iter()
            .filter(|&&c| (c & 0xc0) != 0x80)
            .count()
    }

    fn run(&mut self) -> Option<()> {
        while self.pos < self.b.len() {
            if self.out.over().is_some() {
                return None;
            }
            self.line_no += 1;
            let line = self.line_at(self.pos);
            let next = self.line(line)?;
            self.pos = next;
        }
        self.finish_doc(self.b.len());
        Some(())
    }

    /// Handle the line; returns where the next unread line starts.
    fn line(&mut self, line: Line) -> Option<usize> {
        let b = self.b;
        let mut p = line.start;
        while p < line.end && b[p] == b' ' {
            p += 1;
        }
        if p == line.end {
            return Some(line.next);
        }
        if b[p] == b'#' {
            self.comment(p, line.end);
            return Some(line.next);
        }
        if p == line.start {
            let rest = &b[p..line.end];
            let marker = rest.len() >= 3 && is_blank_or_end(b, p + 3, line.end);
            if marker && rest.starts_with(b"---") {
                self.finish_doc(p);
                self.out.doc_start(self.line_no);
                self.expect = Expect::Root {
                    at: p + 3,
                    line: self.line_no,
                    col: 4,
                };
                self.trailing(p + 3, line.end)?;
                return Some(line.next);
            }
            if marker && rest.starts_with(b"...") {
                if matches!(self.expect, Expect::NoDoc | Expect::AfterEnd) {
                    return None;
                }
                self.finish_doc(p);
                self.expect = Expect::AfterEnd;
                self.trailing(p + 3, line.end)?;
                return Some(line.next);
            }
            if b[p] == b'%' {
                return None;
            }
        }
        let indent = p - line.start;
        match self.expect {
            Expect::AfterEnd => return None,
            Expect::NoDoc => {
                self.out.doc_start(self.line_no);
                return self.node_line(line, p, indent, None);
            }
            Expect::Root { .. } => return self.node_line(line, p, indent, None),
            Expect::Value { indent: k, .. } => {
                if indent > k || (indent == k && self.is_dash(p, line.end)) {
                    return self.node_line(line, p, indent, Some(k));
                }
                self.close_pending();
            }
            Expect::Item { indent: d, .. } => {
                if indent > d {
                    return self.node_line(line, p, indent, Some(d));
                }
                self.close_pending();
            }
            Expect::Done => {}
        }
        // A new entry of an open collection.
        while let Some(top) = self.ctx.last() {
            if top.indent > indent
                || (top.indent == indent && top.kind == CtxKind::Seq && !self.is_dash(p, line.end))
            {
                self.ctx.pop();
                self.out.end(p);
            } else {
                break;
            }
        }
        let top = *self.ctx.last()?;
        if top.indent != indent {
            return None;
        }
        match top.kind {
            CtxKind::Seq => self.dash(line, p),
            CtxKind::Map => {
                let key = self.find_key(p, line.end)?;
                self.entry(line, p, key)
            }
        }
    }

    fn is_dash(&self, p: usize, end: usize) -> bool {
        self.b[p] == b'-' && is_blank_or_end(self.b, p + 1, end)
    }

    /// A node starting at `p` (column `indent`) as the value awaited by the
    /// current state; `parent` is the column of the key or dash it belongs
    /// to (`None` for a document root).
    fn node_line(
        &mut self,
        line: Line,
        p: usize,
        indent: usize,
        parent: Option<usize>,
    ) -> Option<usize> {
        let col = self.col(line.start, p);
        if self.is_dash(p, line.end) {
            // An indentless sequence (`key:` then `- item` at the key's
            // column) starts, for the parser, at its first item's content,
            // or at the line break when that is empty.
            let at = if parent == Some(indent) {
                let mut r = p + 1;
                while r < line.end && self.b[r] == b' ' {
                    r += 1;
                }
                if r < line.end && self.b[r] == b'#' {
                    line.end
                } else {
                    r
                }
            } else {
                p
            };
            let col = self.col(line.start, at);
            self.out.start(false, false, at..at, self.line_no, col);
            self.ctx.push(Ctx {
                kind: CtxKind::Seq,
                indent,
            });
            return self.dash(line, p);
        }
        if let Some(key) = self.find_key(p, line.end) {
            self.out.start(true, false, p..p, self.line_no, col);
            self.ctx.push(Ctx {
                kind: CtxKind::Map,
                indent,
            });
            return self.entry(line, p, key);
        }
        // A scalar or flow collection on a line of its own.
        let parent = match parent {
            Some(k) => k,
            None => {
                // A root scalar could continue on the following lines.
                let next = self.value(line, p, None)?;
                self.expect = Expect::Done;
                return self.after_root(next);
            }
        };
        let next = self.value(line, p, Some(parent))?;
        self.expect = Expect::Done;
        Some(next)
    }

    /// After a root scalar: only comments, blank lines and document markers
    /// may follow.
    fn after_root(&mut self, next: usize) -> Option<usize> {
        let mut at = next;
        while at < self.b.len() {
            let l = self.line_at(at);
            let mut p = l.start;
            while p < l.end && self.b[p] == b' ' {
                p += 1;
            }
            if p < l.end && self.b[p] != b'#' {
                if p == l.start
                    && l.end - p >= 3
                    && (self.b[p..].starts_with(b"---") || self.b[p..].starts_with(b"..."))
                    && is_blank_or_end(self.b, p + 3, l.end)
                {
                    return Some(at);
                }
                return None;
            }
            self.line_no += 1;
            if p < l.end {
                self.comment(p, l.end);
            }
            at = l.next;
        }
        Some(at)
    }

    /// A `- ` entry at `p` of the sequence on top of the stack.
    fn dash(&mut self, line: Line, p: usize) -> Option<usize> {
        let b = self.b;
        let mut r = p + 1;
        while r < line.end && b[r] == b' ' {
            r += 1;
        }
        let dash_indent = p - line.start;
        if r == line.end || b[r] == b'#' {
            if r < line.end {
                if r == p + 1 {
                    return None;
                }
                self.comment(r, line.end);
            }
            // Where an empty item is placed: the line break.
            let eol = line.end;
            self.expect = Expect::Item {
                indent: dash_indent,
                eol,
                line: self.line_no,
                col: self.col(line.start, eol),
            };
            return Some(line.next);
        }
        if self.is_dash(r, line.end) {
            return None;
        }
        if let Some(key) = self.find_key(r, line.end) {
            let indent = r - line.start;
            self.out
                .start(true, false, r..r, self.line_no, self.col(line.start, r));
            self.ctx.push(Ctx {
                kind: CtxKind::Map,
                indent,
            });
            return self.entry(line, r, key);
        }
        let next = self.value(line, r, Some(dash_indent))?;
        self.expect = Expect::Done;
        Some(next)
    }

    /// Find an implicit key starting at `p`: returns the key's end (after
    /// the closing quote or the plain text) and the position of its `:`.
    fn find_key(&self, p: usize, end: usize) -> Option<(usize, usize)> {
        let b = self.b;
        let key_end = match b[p] {
            b'\'' | b'"' => {
                let close = quoted_end(b, p, end)?;
                let mut c = close;
                while c < end && b[c] == b' ' {
                    c += 1;
                }
                if c < end && b[c] == b':' && is_blank_or_end(b, c + 1, end) {
                    return Some((close, c));
                }
                return None;
            }
            _ if !plain_first(b, p, end) => return None,
            _ => {
                let mut i = p;
                loop {
                    if i >= end {
                        return None;
                    }
                    match b[i] {
                        b':' if is_blank_or_end(b, i + 1, end) => break i,
                        b'#' if i > p && b[i - 1] == b' ' => return None,
                        _ => i += 1,
                    }
                }
            }
        };
        let colon = key_end;
        let mut k = key_end;
        while k > p && b[k - 1] == b' ' {
            k -= 1;
        }
        if k - p > 1000 {
            return None;
        }
        Some((k, colon))
    }

    /// A mapping entry whose key starts at `p`.
    fn entry(&mut self, line: Line, p: usize, (key_end, colon): (usize, usize)) -> Option<usize> {
        let b = self.b;
        let key_indent = p - line.start;
        let col = self.col(line.start, p);
        self.scalar_at(p, key_end, col);
        let mut r = colon + 1;
        while r < line.end && b[r] == b' ' {
            r += 1;
        }
        if r == line.end || b[r] == b'#' {
            if r < line.end {
                if r == colon + 1 {
                    return None;
                }
                self.comment(r, line.end);
            }
            self.expect = Expect::Value {
                indent: key_indent,
                colon,
                line: self.line_no,
                col: self.col(line.start, colon),
            };
            return Some(line.next);
        }
        let next = self.value(line, r, Some(key_indent))?;
        self.expect = Expect::Done;
        Some(next)
    }

    /// A key scalar (plain or quoted) spanning `p..end`.
    fn scalar_at(&mut self, p: usize, end: usize, col: usize) {
        let text = &self.src[p..end];
        let (value, style) = match self.b[p] {
            b'\'' => (
                single_value(&text[1..text.len() - 1]),
                ScalarStyle::SingleQuoted,
            ),
            b'"' => (
                Cow::Borrowed(&text[1..text.len() - 1]),
                ScalarStyle::DoubleQuoted,
            ),
            _ => (Cow::Borrowed(text), ScalarStyle::Plain),
        };
        self.out.scalar(value, style, p..end, self.line_no, col);
    }

    /// A value starting at `p` on `line` that ends on this line (a scalar or
    /// flow collection) or is a block scalar; `parent` is the column of the
    /// key or dash it belongs to. Returns where the next unread line starts.
    fn value(&mut self, line: Line, p: usize, parent: Option<usize>) -> Option<usize> {
        let b = self.b;
        let col = self.col(line.start, p);
        match b[p] {
            b'|' | b'>' => {
                let parent = parent?;
                return self.block_scalar(line, p, parent);
            }
            b'[' | b'{' => {
                let mut i = p;
                self.flow(&mut i, line.end, line.start, 0)?;
                self.trailing(i, line.end)?;
                return Some(line.next);
            }
            b'\'' | b'"' => {
                let close = quoted_end(b, p, line.end)?;
                self.scalar_at(p, close, col);
                self.trailing(close, line.end)?;
                return Some(line.next);
            }
            _ => {}
        }
        if !plain_first(b, p, line.end) {
            return None;
        }
        let mut i = p;
        let mut end = p;
        while i < line.end {
            match b[i] {
                b'#' if b[i - 1] == b' ' => {
                    self.comment(i, line.end);
                    break;
                }
                b':' if is_blank_or_end(b, i + 1, line.end) => return None,
                b' ' => {}
                _ => end = i + 1,
            }
            i += 1;
        }
        self.out.scalar(
            Cow::Borrowed(&self.src[p..end]),
            ScalarStyle::Plain,
            p..end,
            self.line_no,
            col,
        );
        Some(line.next)
    }

    /// After a complete value at `i`: only blanks and a comment may follow.
    fn trailing(&mut self, i: usize, end: usize) -> Option<()> {
        let b = self.b;
        let mut j = i;
        while j < end && b[j] == b' ' {
            j += 1;
        }
        if j == end {
            return Some(());
        }
        if b[j] == b'#' && j > i {
            self.comment(j, end);
            return Some(());
        }
        None
    }

    /// A single-line flow collection at `*i`; leaves `*i` after its closing
    /// bracket.
    fn flow(&mut self, i: &mut usize, end: usize, line_start: usize, depth: usize) -> Option<()> {
        let b = self.b;
        if depth > 32 {
            return None;
        }
        let open = *i;
        let map = b[open] == b'{';
        let close = if map { b'}' } else { b']' };
        self.out.start(
            map,
            true,
            open..open + 1,
            self.line_no,
            self.col(line_start, open),
        );
        *i += 1;
        let mut first = true;
        loop {
            skip_spaces(b, i, end);
            if *i >= end {
                return None;
            }
            if b[*i] == close {
                break;
            }
            if !first {
                if b[*i] != b',' {
                    return None;
                }
                *i += 1;
                skip_spaces(b, i, end);
                // A trailing comma is left to the full parser.
                if *i >= end || b[*i] == close || b[*i] == b',' {
                    return None;
                }
            }
            first = false;
            // An entry: a node, and in a mapping `: node` after it. Keys
            // that are collections are left to the full parser.
            if map && matches!(b[*i], b'[' | b'{') {
                return None;
            }
            self.flow_node(i, end, line_start, depth)?;
            skip_spaces(b, i, end);
            if *i < end && b[*i] == b':' {
                if !map {
                    return None;
                }
                *i += 1;
                if *i >= end || b[*i] != b' ' {
                    return None;
                }
                skip_spaces(b, i, end);
                if *i >= end || matches!(b[*i], b',' | b'}' | b']') {
                    return None;
                }
                self.flow_node(i, end, line_start, depth)?;
            } else if map {
                return None;
            }
        }
        let at = *i;
        *i += 1;
        self.out.end(at + 1);
        Some(())
    }

    fn flow_node(
        &mut self,
        i: &mut usize,
        end: usize,
        line_start: usize,
        depth: usize,
    ) -> Option<()> {
        let b = self.b;
        let p = *i;
        let col = self.col(line_start, p);
        match b[p] {
            b'[' | b'{' => self.flow(i, end, line_start, depth + 1),
            b'\'' | b'"' => {
                let close = quoted_end(b, p, end)?;
                self.scalar_at(p, close, col);
                *i = close;
                Some(())
            }
            _ => {
                let flow_safe =
                    |k: usize| k < end && !matches!(b[k], b' ' | b',' | b'[' | b']' | b'{' | b'}');
                if !plain_first(b, p, end) || (matches!(b[p], b'-') && !flow_safe(p + 1)) {
                    return None;
                }
                let mut j = p;
                let mut last = p;
                while j < end {
                    match b[j] {
                        b',' | b'[' | b']' | b'{' | b'}' => break,
                        b':' if j + 1 >= end
                            || matches!(b[j + 1], b' ' | b',' | b'[' | b']' | b'{' | b'}') =>
                        {
                            break;
                        }
                        b'#' if b[j - 1] == b' ' => return None,
                        b' ' => {}
                        _ => last = j + 1,
                    }
                    j += 1;
                }
                if last == p {
                    return None;
                }
                self.out.scalar(
                    Cow::Borrowed(&self.src[p..last]),
                    ScalarStyle::Plain,
                    p..last,
                    self.line_no,
                    col,
                );
                *i = last;
                Some(())
            }
        }
    }

    /// A literal or folded block scalar whose header starts at `h`; `parent`
    /// is the column of its key or dash.
    fn block_scalar(&mut self, line: Line, h: usize, parent: usize) -> Option<usize> {
        let b = self.b;
        let literal = b[h] == b'|';
        let mut i = h + 1;
        let chomp = match b.get(i) {
            Some(b'-') if i < line.end => {
                i += 1;
                Chomp::Strip
            }
            Some(b'+') if i < line.end => {
                i += 1;
                Chomp::Keep
            }
            _ => Chomp::Clip,
        };
        if i < line.end && b[i] != b' ' {
            // Indentation indicators and anything else: the full parser.
            return None;
        }
        self.trailing(i, line.end)?;
        // Content lines.
        let mut at = line.next;
        let mut indent = None::<usize>;
        let mut value = String::new();
        let mut start = None::<(usize, usize, usize)>;
        let mut breaks = 0usize; // pending blank lines
        let mut had_text = false;
        let mut line_no = self.line_no;
        let mut folded_pending_space = false;
        let (end, next) = loop {
            if at >= b.len() {
                break (b.len(), b.len());
            }
            let l = self.line_at(at);
            let mut p = l.start;
            while p < l.end && b[p] == b' ' {
                p += 1;
            }
            let n = p - l.start;
            if p == l.end {
                // A blank line; one longer than the indentation is left to
                // the full parser.
                if indent.map_or(n > 0, |k| n > k) {
                    return None;
                }
                breaks += 1;
                line_no += 1;
                at = l.next;
                continue;
            }
            let k = match indent {
                Some(k) => k,
                None => {
                    if n <= parent {
                        // An empty block scalar.
                        return None;
                    }
                    indent = Some(n);
                    start = Some((p, line_no + 1, self.col(l.start, p)));
                    n
                }
            };
            if n < k {
                break (p, l.start);
            }
            line_no += 1;
            let text = &self.src[l.start + k..l.end];
            if literal {
                if had_text {
                    value.push('\n');
                }
                for _ in 0..breaks {
                    value.push('\n');
                }
                value.push_str(text);
            } else {
                if n > k {
                    // More-indented lines in folded scalars: the full parser.
                    return None;
                }
                if had_text {
                    if breaks == 0 {
                        folded_pending_space = true;
                    }
                    if folded_pending_space {
                        value.push(' ');
                        folded_pending_space = false;
                    }
                    for _ in 0..breaks {
                        value.push('\n');
                    }
                } else {
                    for _ in 0..breaks {
                        value.push('\n');
                    }
                }
                value.push_str(text);
            }
            breaks = 0;
            had_text = true;
            at = l.next;
        };
        let (s, s_line, s_col) = start?;
        if end == b.len() && b.last() != Some(&b'\n') {
            // A block scalar ending the input without a line break.
            return None;
        }
        // The final line break and trailing blank lines.
        let ended_with_break = at > 0 && b[at.min(b.len()) - 1] == b'\n' || breaks > 0;
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => {
                if ended_with_break || breaks > 0 {
                    value.push('\n');
                }
            }
            Chomp::Keep => {
                if ended_with_break {
                    value.push('\n');
                }
                for _ in 0..breaks {
                    value.push('\n');
                }
            }
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        self.out
            .scalar(Cow::Owned(value), style, s..end, s_line, s_col);
        self.expect = Expect::Done;
        self.line_no = line_no;
        // The terminating line (or end of input) is read next by the caller;
        // `line_no` counts the lines consumed so far.
        Some(next)
    }

    fn comment(&mut self, hash: usize, end: usize) {
        let text = &self.src[hash + 1..end];
        self.out
            .comment(Cow::Borrowed(text), hash..end, self.line_no);
    }

    /// Give a waiting key, item or root its empty value (the parser's
    /// `~`, placed where the parser places it).
    fn close_pending(&mut self) {
        let (at, line, col) = match self.expect {
            Expect::Root { at, line, col } => (at, line, col),
            Expect::Value {
                colon, line, col, ..
            } => (colon, line, col),
            Expect::Item { eol, line, col, .. } => (eol, line, col),
            Expect::NoDoc | Expect::AfterEnd | Expect::Done => return,
        };
        self.out
            .scalar(Cow::Borrowed("~"), ScalarStyle::Plain, at..at, line, col);
        self.expect = Expect::Done;
    }

    /// Close the open document at `at`: complete what waits for a value and
    /// end every open collection.
    fn finish_doc(&mut self, at: usize) {
        self.close_pending();
        while self.ctx.pop().is_some() {
            self.out.end(at);
        }
        self.expect = Expect::NoDoc;
    }
}

#[derive(Debug, Clone, Copy)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

fn skip_spaces(b: &[u8], i: &mut usize, end: usize) {
    while *i < end && b[*i] == b' ' {
        *i += 1;
    }
}

/// Can a plain scalar start at `p`? Indicators may not start one, except
/// `-`, `?` and `:` followed by a non-blank.
fn plain_first(b: &[u8], p: usize, end: usize) -> bool {
    match b[p] {
        b'-' => !is_blank_or_end(b, p + 1, end),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' => false,
        _ => true,
    }
}

/// The end (after the closing quote) of a quoted scalar starting at `p`
/// that closes on the same line; double-quoted scalars with escapes are
/// left to the full parser.
fn quoted_end(b: &[u8], p: usize, end: usize) -> Option<usize> {
    let q = b[p];
    let mut i = p + 1;
    while i < end {
        let c = b[i];
        if c == q {
            if q == b'\'' && i + 1 < end && b[i + 1] == b'\'' {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        if q == b'"' && c == b'\\' {
            return None;
        }
        i += 1;
    }
    None
}

fn single_value(inner: &str) -> Cow<'_, str> {
    if inner.contains("''") {
        Cow::Owned(inner.replace("''", "'"))
    } else {
        Cow::Borrowed(inner)
    }
}

/// Compare the fast path with the full parser on `src`: `Ok(true)` when the
/// fast path took it and built the identical tree, `Ok(false)` when it
/// declined, `Err` with the first difference otherwise.
pub(crate) fn differential(src: &str) -> Result<bool, String> {
    let Some(fast) = parse(src) else {
        return Ok(false);
    };
    let full = Tree::parse_full(src)
        .map_err(|e| format!("the fast path accepted invalid YAML {src:?}: {e:?}"))?;
    for (i, (a, b)) in fast.nodes.iter().zip(&full.nodes).enumerate() {
        let (a, b) = (format!("{a:?}"), format!("{b:?}"));
        if a != b {
            return Err(format!(
                "node {i} differs for {src:?}:\n fast: {a}\n full: {b}"
            ));
        }
    }
    let pairs = [
        (
            format!("{}", fast.nodes.len()),
            format!("{}", full.nodes.len()),
        ),
        (format!("{:?}", fast.docs), format!("{:?}", full.docs)),
        (format!("{:?}", fast.scalars), format!("{:?}", full.scalars)),
        (
            format!("{:?}", fast.marker_comments),
            format!("{:?}", full.marker_comments),
        ),
    ];
    for (a, b) in pairs {
        if a != b {
            return Err(format!("trees differ for {src:?}:\n fast: {a}\n full: {b}"));
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(src: &str) -> bool {
        match differential(src) {
            Ok(accepted) => accepted,
            Err(diff) => panic!("{diff}"),
        }
    }

    const M: &str = r#"# {"$imagepolicy": "ns:p"}"#;

    #[test]
    fn accepted_and_identical() {
        let cases = [
            String::new(),
            "a: 1\n".into(),
            "a: 1".into(),
            "# only a comment\n".into(),
            "a: 1\nb:\nc:\n  - x\n  - \n  -\n  - y: 2 # c1\n    z: |\n      lit\n\n      more\n    w: \"q\" # m\nd: [1, {e: f}]\ng: {}\n".into(),
            "b :\nc:   # c\nd:\n  - # c\n  -   \n  -\n  - a:\n  - a: \n    x:\ne:\n\nf:".into(),
            "---\n--- # c\n---\n...\n---\na\n...\n".into(),
            "a:\n  b: 1\n# comment\nc: |\n\n  x\n   y\n  # not\n # comment\nd: >-\n  f1\n  f2\n\n  f3\ne: |+\n  k\n\n\nf: 2\r\ng: v #x\r\nh: | # m\n  z\n".into(),
            format!("image: nginx:1.0 {M}\n"),
            format!("spec:\n  containers:\n  - name: a\n    image: 'nginx:1.0' {M}\n    args: [\"--a=b\", \"--c\"]\n"),
            format!("images:\n  - name: a\n    {M}\n    newTag: \"1.0\"\r\n"),
            "k: v\r\nl:\r\n- a\r\n-\r\n- b\r\n".into(),
            "a: 'it''s'\nb: \"x\"\n'q k': 1\n\"d k\" : 2\n".into(),
            "- a\n- - b\n".into(),
            "- [a, [b, c], {d: e, f: [g]}]\n- {}\n- []\n".into(),
            "a: é # ü\nb: 日本\n".into(),
            "---\na: 1\n---\n- b\n...\n---\nc\n".into(),
            "a:\n- b\n- c\nd: e\n".into(),
            "a: |-\n  x\nb: >\n  y\n  z\n\nc: |\n  end".into(),
            "a: |\r\n  x\r\n  y\r\nb: 1\r\n".into(),
            "  a: 1\n  b: 2\n".into(),
            "x\n".into(),
            "url: http://example.com/a#b\n".into(),
            "- -1\n- :x\n".into(),
            "a: [-1, x]\n".into(),
        ];
        let mut accepted = 0;
        for src in &cases {
            if same(src) {
                accepted += 1;
            }
        }
        // The common shapes must take the fast path.
        for src in [
            "a: 1\n".to_string(),
            format!(
                "spec:\n  containers:\n  - name: a\n    image: 'nginx:1.0' {M}\n    args: [\"--a=b\", \"--c\"]\n"
            ),
            "k: v\r\nl:\r\n- a\r\n-\r\n- b\r\n".into(),
        ] {
            assert!(parse(&src).is_some(), "declined {src:?}");
        }
        assert!(accepted >= 15, "only {accepted} accepted");
    }

    #[test]
    fn declines_what_it_does_not_know() {
        for src in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: \"x\\ny\"\n",
            "a: b\n  c\n",
            "a: [1,\n  2]\n",
            "%YAML 1.2\n---\na: 1\n",
            "? a\n: b\n",
            "a:\tb\n",
            "a: |2\n   x\n",
            "a: b: c\n",
            "a: [1, 2, ]\n",
            "\u{feff}a: 1\n",
        ] {
            assert!(parse(src).is_none(), "accepted {src:?}");
        }
    }
}
