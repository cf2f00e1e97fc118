//! The head of a rendered document (`kind`, `metadata.name`,
//! `metadata.annotations`) read line by line, for documents in the plain
//! block style that rendered manifests nearly always have.
//!
//! Helm reads every rendered document with a YAML parser (to sort it and
//! to reject invalid YAML). Most documents are block mappings and
//! sequences of plain or quoted one-line scalars and block scalars, which
//! a line scanner checks and reads several times faster than a parser
//! builds a tree. [`read`] answers only when the document keeps to that
//! subset and the head's fields are plain strings; anything else (flow
//! collections other than `[]` and `{}`, anchors, aliases, tags,
//! directives, multi-line plain or quoted scalars, escapes, tabs outside
//! block scalars, complex or unusual keys, duplicate head fields,
//! non-printable characters) gives `None`, and the caller reads the
//! document with the YAML reader. Whenever [`read`] answers, the document
//! is valid YAML and the answer is the YAML reader's (checked against it on
//! the corpus and on mutated documents in the tests).

use std::borrow::Cow;

use gitops_core::yaml::{Resolved, Schema, resolve_plain};

/// What [`read`] reads: the fields of Helm's `SimpleHead`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FastHead {
    pub kind: String,
    pub name: String,
    /// `None` when absent or null.
    pub annotations: Option<Vec<(String, String)>>,
}

/// Larger documents are left to the YAML reader (and its node limit).
const MAX_BYTES: usize = 1 << 20;

/// Deeper nesting is left to the YAML reader (and its depth limit).
const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Map,
    Seq,
}

/// What the keys of a mapping mean for the head.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Metadata,
    Annotations,
    Other,
}

struct Frame {
    indent: usize,
    block: Block,
    role: Role,
}

/// A key whose value is on the following lines (or is null).
struct Pending {
    /// The indentation of the key (or of the `-` of a sequence item).
    parent: usize,
    role: Role,
    /// Whether a sequence may follow at the key's own indentation.
    compact_seq: bool,
}

/// A block scalar being skipped.
struct BlockScalar {
    parent: usize,
    content: Option<usize>,
    leading_blank: usize,
}

/// A scalar after `key:` or `- `.
enum Val<'a> {
    /// A string (quoted, or plain and typed as a string).
    Str(Cow<'a, str>),
    /// A plain scalar typed as null, a boolean or a number.
    Other,
    /// Nothing (the value follows on the next lines, or is null).
    Empty,
    /// `|` or `>`.
    BlockScalar,
    /// `{}`.
    EmptyMap,
    /// `[]`, or a one-line flow sequence of scalars.
    FlowSeq,
}

/// The head of `doc`, or `None` to read it with the YAML reader.
pub(crate) fn read(doc: &str) -> Option<FastHead> {
    // Larger documents may hold more nodes than the YAML reader admits.
    if doc.len() > MAX_BYTES || !printable(doc) {
        return None;
    }
    let mut r = Reader {
        head: FastHead::default(),
        frames: Vec::new(),
        pending: None,
        scalar: None,
        seen: [false; 4],
    };
    for line in doc.split('\n') {
        r.line(line)?;
    }
    Some(r.head)
}

/// YAML's printable characters, without the line breaks other than `\n`
/// (carriage return, YAML 1.1's next line and line and paragraph
/// separators) and byte order marks.
fn printable(doc: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\t' || b == b'\n' || (0x20..0x7f).contains(&b);
    if doc.bytes().all(ascii_ok) {
        return true;
    }
    doc.chars().all(|c| match c {
        c if c.is_ascii() => ascii_ok(c as u8),
        '\u{2028}' | '\u{2029}' => false,
        '\u{a0}'..='\u{d7ff}' => true,
        '\u{e000}'..='\u{fffd}' => c != '\u{feff}',
        '\u{10000}'..='\u{10ffff}' => true,
        _ => false,
    })
}

struct Reader {
    head: FastHead,
    frames: Vec<Frame>,
    pending: Option<Pending>,
    scalar: Option<BlockScalar>,
    /// `kind`, `metadata`, `metadata.name`, `metadata.annotations` seen.
    seen: [bool; 4],
}

const KIND: usize = 0;
const METADATA: usize = 1;
const NAME: usize = 2;
const ANNOTATIONS: usize = 3;

impl Reader {
    fn line(&mut self, line: &str) -> Option<()> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if let Some(bs) = &mut self.scalar {
            let blank = content.is_empty();
            if blank || indent > bs.parent {
                match bs.content {
                    None if blank => bs.leading_blank = bs.leading_blank.max(indent),
                    None => {
                        if content.starts_with('\t') || bs.leading_blank > indent {
                            return None;
                        }
                        bs.content = Some(indent);
                    }
                    Some(ci) if !blank && indent < ci => return None,
                    Some(_) => {}
                }
                return Some(());
            }
            self.scalar = None;
        }
        if content.starts_with('\t') {
            return None;
        }
        if content.is_empty() || content.starts_with('#') {
            return Some(());
        }
        if indent == 0 && (content.starts_with("---") || content.starts_with("...")) {
            return None;
        }
        let is_item = content == "-" || content.starts_with("- ");
        if let Some(p) = self.pending.take() {
            if indent > p.parent && content.starts_with(['{', '[']) {
                // `{}` or `[…]` on the line after the key: its value.
                return match (value(content)?, p.role) {
                    (Val::EmptyMap, Role::Annotations) => {
                        self.head.annotations = Some(Vec::new());
                        Some(())
                    }
                    (Val::EmptyMap, _) | (Val::FlowSeq, Role::Other) => Some(()),
                    _ => None,
                };
            }
            if indent > p.parent || (indent == p.parent && p.compact_seq && is_item) {
                let block = if is_item { Block::Seq } else { Block::Map };
                if block == Block::Seq && p.role != Role::Other {
                    return None;
                }
                if self.frames.len() >= MAX_DEPTH {
                    return None;
                }
                self.frames.push(Frame {
                    indent,
                    block,
                    role: p.role,
                });
            }
        }
        if self.frames.is_empty() {
            // The document is a mapping at the left margin.
            if indent != 0 || is_item {
                return None;
            }
            self.frames.push(Frame {
                indent: 0,
                block: Block::Map,
                role: Role::Root,
            });
        }
        while self.frames.last().is_some_and(|f| f.indent > indent) {
            self.frames.pop();
        }
        loop {
            let top = self.frames.last()?;
            if top.indent != indent {
                return None;
            }
            match top.block {
                Block::Map if !is_item => return self.entry(indent, content),
                Block::Map => return None,
                Block::Seq if is_item => return self.item(indent, content),
                Block::Seq => {
                    // A compact sequence ends where its mapping goes on.
                    self.frames.pop();
                }
            }
        }
    }

    /// `- …` at `indent`.
    fn item(&mut self, indent: usize, content: &str) -> Option<()> {
        let rest = content[1..].trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            self.pending = Some(Pending {
                parent: indent,
                role: Role::Other,
                compact_seq: false,
            });
            return Some(());
        }
        if rest.starts_with('\t') || rest == "-" || rest.starts_with("- ") {
            return None;
        }
        if entry_parts(rest)?.is_some() {
            // A mapping that starts on the item's line.
            if self.frames.len() >= MAX_DEPTH {
                return None;
            }
            let at = indent + (content.len() - rest.len());
            self.frames.push(Frame {
                indent: at,
                block: Block::Map,
                role: Role::Other,
            });
            return self.entry(at, rest);
        }
        match value(rest)? {
            Val::BlockScalar => self.block_scalar(indent),
            Val::Empty => None,
            _ => Some(()),
        }
    }

    fn block_scalar(&mut self, parent: usize) -> Option<()> {
        self.scalar = Some(BlockScalar {
            parent,
            content: None,
            leading_blank: 0,
        });
        Some(())
    }

    /// `key: value` at `indent`, in the mapping on top.
    fn entry(&mut self, indent: usize, content: &str) -> Option<()> {
        let (key, key_is_str, rest) = entry_parts(content)??;
        let val = value(rest)?;
        let role = self.frames.last()?.role;
        let key = if key_is_str { Some(key.as_ref()) } else { None };
        let pending = |role| Pending {
            parent: indent,
            role,
            compact_seq: false,
        };
        match (role, key) {
            (Role::Root, Some("kind")) => {
                self.once(KIND)?;
                self.head.kind = string(val)?;
            }
            (Role::Root, Some("apiVersion")) => {
                string(val)?;
            }
            (Role::Root, Some("metadata")) => {
                self.once(METADATA)?;
                match val {
                    Val::Empty => self.pending = Some(pending(Role::Metadata)),
                    Val::EmptyMap => {}
                    _ => return None,
                }
            }
            (Role::Metadata, Some("name")) => {
                self.once(NAME)?;
                self.head.name = string(val)?;
            }
            (Role::Metadata, Some("annotations")) => {
                self.once(ANNOTATIONS)?;
                match val {
                    Val::Empty => {
                        self.head.annotations = None;
                        self.pending = Some(pending(Role::Annotations));
                    }
                    Val::EmptyMap => self.head.annotations = Some(Vec::new()),
                    _ => return None,
                }
            }
            (Role::Annotations, key) => {
                let key = key?.to_owned();
                let value = string(val)?;
                let all = self.head.annotations.get_or_insert_with(Vec::new);
                match all.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => all.push((key, value)),
                }
            }
            _ => match val {
                Val::Empty => {
                    self.pending = Some(Pending {
                        parent: indent,
                        role: Role::Other,
                        compact_seq: true,
                    });
                }
                Val::BlockScalar => return self.block_scalar(indent),
                _ => {}
            },
        }
        Some(())
    }

    fn once(&mut self, field: usize) -> Option<()> {
        if std::mem::replace(&mut self.seen[field], true) {
            return None;
        }
        Some(())
    }
}

fn string(val: Val<'_>) -> Option<String> {
    match val {
        Val::Str(s) => Some(s.into_owned()),
        _ => None,
    }
}

/// A key that is a string as written: letters, digits and `_./-`, not
/// starting with `-`.
fn plain_key(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with('-')
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
}

/// The key and the rest after `: ` of a mapping entry: `Some(None)` when
/// the content is not an entry (a scalar), `None` when it is something
/// this reader leaves to the YAML reader. The flag tells whether the key
/// is a string.
fn entry_parts(content: &str) -> Option<Option<(Cow<'_, str>, bool, &str)>> {
    let (key, after) = match content.as_bytes()[0] {
        b'"' | b'\'' => {
            let (s, after) = quoted(content)?;
            if !after.starts_with(':') {
                return Some(None);
            }
            (s, &after[1..])
        }
        _ => {
            let colon = match content.find(": ") {
                Some(i) => i,
                None if content.ends_with(':') => content.len() - 1,
                None => return Some(None),
            };
            let k = &content[..colon];
            if !plain_key(k) {
                return None;
            }
            (Cow::Borrowed(k), &content[colon + 1..])
        }
    };
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let is_str = match &key {
        Cow::Borrowed(k) if !content.starts_with(['"', '\'']) => {
            matches!(resolve_plain(k, Schema::Yaml11), Resolved::Str(_))
        }
        _ => true,
    };
    Some(Some((key, is_str, after.trim_start_matches(' '))))
}

/// A one-line quoted scalar at the start of `s` (double-quoted without
/// escapes): its value and the text after the closing quote.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let q = s.as_bytes()[0];
    let body = &s[1..];
    if q == b'"' {
        let end = body.find(['"', '\\'])?;
        if body.as_bytes()[end] != b'"' {
            return None;
        }
        return Some((Cow::Borrowed(&body[..end]), &body[end + 1..]));
    }
    let mut out: Option<String> = None;
    let mut from = 0;
    loop {
        let end = from + body[from..].find('\'')?;
        if body[end + 1..].starts_with('\'') {
            let o = out.get_or_insert_with(String::new);
            o.push_str(&body[from..=end]);
            from = end + 2;
            continue;
        }
        let text = match out {
            Some(mut o) => {
                o.push_str(&body[from..end]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(&body[..end]),
        };
        return Some((text, &body[end + 1..]));
    }
}

/// A one-line flow sequence of quoted scalars and plain words (letters,
/// digits, `_./-`) after its `[`: the text after its `]`.
fn flow_seq(mut s: &str) -> Option<&str> {
    s = s.trim_start_matches(' ');
    if let Some(after) = s.strip_prefix(']') {
        return Some(after);
    }
    loop {
        s = match s.as_bytes().first()? {
            b'"' | b'\'' => quoted(s)?.1,
            b if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/') => {
                let end = s
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
                    })
                    .unwrap_or(s.len());
                &s[end..]
            }
            _ => return None,
        }
        .trim_start_matches(' ');
        match s.as_bytes().first()? {
            b']' => return Some(&s[1..]),
            b',' => s = s[1..].trim_start_matches(' '),
            _ => return None,
        }
    }
}

/// Whether `rest` is only space and an optional comment.
fn only_comment(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

/// The value after `key: ` or `- `.
fn value(v: &str) -> Option<Val<'_>> {
    let Some(&first) = v.as_bytes().first() else {
        return Some(Val::Empty);
    };
    match first {
        b'#' => Some(Val::Empty),
        b'"' | b'\'' => {
            let (s, after) = quoted(v)?;
            only_comment(after).then_some(Val::Str(s))
        }
        b'|' | b'>' => {
            let rest = v[1..].strip_prefix(['+', '-']).unwrap_or(&v[1..]);
            only_comment(rest).then_some(Val::BlockScalar)
        }
        b'{' => {
            only_comment(v[1..].trim_start_matches(' ').strip_prefix('}')?).then_some(Val::EmptyMap)
        }
        b'[' => only_comment(flow_seq(&v[1..])?).then_some(Val::FlowSeq),
        b'-' | b'?' | b':' if v.len() == 1 || v.as_bytes()[1] == b' ' => None,
        b'?' | b':' | b',' | b']' | b'}' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' => None,
        _ => {
            let end = v.find(" #").unwrap_or(v.len());
            let s = v[..end].trim_end_matches(' ');
            if s.contains(": ") || s.ends_with(':') || s.contains('\t') {
                return None;
            }
            Some(match resolve_plain(s, Schema::Yaml11) {
                Resolved::Str(_) => Val::Str(Cow::Borrowed(s)),
                _ => Val::Other,
            })
        }
    }
}
