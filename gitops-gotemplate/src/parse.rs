//! The parse tree and the parser: Go's `text/template/parse` grammar.
//!
//! A parse of one text yields one tree per template: the text itself under
//! its name, plus one per `{{define}}` and `{{block}}`. Every node keeps its
//! byte position so that execution errors can say `NAME:LINE:COL`, and
//! prints back the way Go's `Node.String` does (used as the `<…>` context of
//! execution errors).

use std::collections::HashMap;
use std::sync::Arc;

use crate::fmt::go_quote;
use crate::lex::{Item, Lexer, Tok};
use crate::number::{Number, parse_number};
use crate::unquote::{unquote, unquote_char, unquote_cow};

/// Source shared by all trees of one parse: its name (for error locations)
/// and its text (to turn byte positions into lines and columns).
#[derive(Debug)]
pub(crate) struct Source {
    pub parse_name: String,
    pub text: Arc<str>,
}

impl Source {
    /// Go's `ErrorContext` location: `NAME:LINE:COL`, COL a zero-based byte offset.
    pub(crate) fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// A piece of a parsed text (a text node, a name, a literal as written):
/// the text is shared with the parse, not copied, so that parse trees are
/// few allocations to build and to free.
#[derive(Clone)]
pub(crate) struct Slice {
    text: Arc<str>,
    start: usize,
    end: usize,
}

impl Slice {
    pub(crate) fn as_str(&self) -> &str {
        &self.text[self.start..self.end]
    }
}

impl std::ops::Deref for Slice {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for Slice {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// A parsed template: a name and its body.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    pub source: Arc<Source>,
    /// The body, shared by the trees of texts parsed more than once.
    pub root: Arc<Vec<Node>>,
}

impl Tree {
    /// Go's `IsEmptyTree`: only space text and comments.
    pub(crate) fn is_empty(&self) -> bool {
        self.root.iter().all(Node::is_empty)
    }
}

/// A node of a template body.
#[derive(Debug)]
pub(crate) enum Node {
    Text {
        pos: usize,
        text: Slice,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline: optional declarations, then commands joined by `|`.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

/// A `$name` reference, possibly followed by fields (`$x.A.B`, as
/// written).
#[derive(Debug)]
pub(crate) struct Variable {
    pub pos: usize,
    pub ident: Slice,
}

impl Variable {
    /// The variable's name (`$x`).
    pub(crate) fn name(&self) -> &str {
        self.ident.split('.').next().unwrap_or_default()
    }

    /// The fields after the name (`A.B`), if any.
    pub(crate) fn fields(&self) -> Option<&str> {
        self.ident.split_once('.').map(|(_, f)| f)
    }
}

/// One command of a pipeline: a function, field or value and its arguments.
#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// An operand.
#[derive(Debug)]
pub(crate) enum Arg {
    /// `.A.B`: the field names as written, without the leading dot (`A.B`).
    Field {
        pos: usize,
        ident: Slice,
    },
    /// `(…).A.B`: the fields as written, without the leading dot.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Slice,
    },
    Identifier {
        pos: usize,
        name: Slice,
    },
    Variable(Variable),
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        number: Number,
    },
    String {
        pos: usize,
        quoted: Slice,
        text: Arc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Node {
    fn is_empty(&self) -> bool {
        match self {
            Node::Text { text, .. } => text.trim_matches(|c: char| c.is_whitespace()).is_empty(),
            _ => false,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        }
    }

    pub(crate) fn write_to(&self, out: &mut String) {
        match self {
            Node::Text { text, .. } => out.push_str(text),
            Node::Action { pipe, .. } => {
                out.push_str("{{");
                pipe.write_to(out);
                out.push_str("}}");
            }
            Node::If(b) => b.write_to("if", out),
            Node::Range(b) => b.write_to("range", out),
            Node::With(b) => b.write_to("with", out),
            Node::Template { name, pipe, .. } => {
                out.push_str("{{template ");
                out.push_str(&go_quote(name));
                if let Some(pipe) = pipe {
                    out.push(' ');
                    pipe.write_to(out);
                }
                out.push_str("}}");
            }
            Node::Break { .. } => out.push_str("{{break}}"),
            Node::Continue { .. } => out.push_str("{{continue}}"),
        }
    }
}

fn write_list(list: &[Node], out: &mut String) {
    for n in list {
        n.write_to(out);
    }
}

impl Branch {
    fn write_to(&self, name: &str, out: &mut String) {
        out.push_str("{{");
        out.push_str(name);
        out.push(' ');
        self.pipe.write_to(out);
        out.push_str("}}");
        write_list(&self.list, out);
        if let Some(e) = &self.else_list {
            out.push_str("{{else}}");
            write_list(e, out);
        }
        out.push_str("{{end}}");
    }
}

impl Pipe {
    pub(crate) fn write_to(&self, out: &mut String) {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                v.write_to(out);
            }
            out.push_str(if self.is_assign { " = " } else { " := " });
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            c.write_to(out);
        }
    }
}

impl Variable {
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push_str(&self.ident);
    }
}

impl Command {
    pub(crate) fn write_to(&self, out: &mut String) {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if let Arg::Pipe(p) = a {
                out.push('(');
                p.write_to(out);
                out.push(')');
            } else {
                a.write_to(out);
            }
        }
    }
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    pub(crate) fn write_to(&self, out: &mut String) {
        match self {
            Arg::Field { ident, .. } => {
                out.push('.');
                out.push_str(ident);
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    out.push('(');
                    p.write_to(out);
                    out.push(')');
                } else {
                    node.write_to(out);
                }
                out.push('.');
                out.push_str(fields);
            }
            Arg::Identifier { name, .. } => out.push_str(name),
            Arg::Variable(v) => v.write_to(out),
            Arg::Dot { .. } => out.push('.'),
            Arg::Nil { .. } => out.push_str("nil"),
            Arg::Bool { value, .. } => out.push_str(if *value { "true" } else { "false" }),
            Arg::Number { number, .. } => out.push_str(&number.text),
            Arg::String { quoted, .. } => out.push_str(quoted),
            Arg::Pipe(p) => p.write_to(out),
        }
    }

    pub(crate) fn to_text(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

/// Limits and options of one parse.
pub(crate) struct ParseOptions<'f> {
    pub left: &'f str,
    pub right: &'f str,
    pub max_depth: usize,
    pub has_function: &'f dyn Fn(&str) -> bool,
    pub skip_func_check: bool,
}

/// A parse-time failure: the message is already in Go's format.
#[derive(Debug)]
pub(crate) struct ParseFailure(pub String);

pub(crate) type PResult<T> = Result<T, ParseFailure>;

enum Ended {
    End,
    Else,
}

enum ListItem {
    Node(Node),
    End,
    Else,
}

struct Parser<'a, 'f> {
    lex: Lexer<'a>,
    token: [Item<'a>; 3],
    peek_count: usize,
    vars: Vec<&'a str>,
    action_line: usize,
    range_depth: usize,
    depth: usize,
    opts: &'f ParseOptions<'f>,
    source: Arc<Source>,
    trees: Vec<Tree>,
    index: HashMap<String, usize>,
}

/// Parses `text` (named `name`) into its trees, in Go's `treeSet` order
/// semantics: a second non-empty definition of one name in the same text is
/// an error, an empty one never replaces a non-empty one.
pub(crate) fn parse(name: &str, text: &str, opts: &ParseOptions<'_>) -> PResult<Vec<Tree>> {
    parse_shared(name, Arc::from(text), opts)
}

/// [`parse`] of a text already held in an `Arc`.
pub(crate) fn parse_shared(
    name: &str,
    shared: Arc<str>,
    opts: &ParseOptions<'_>,
) -> PResult<Vec<Tree>> {
    let text: &str = &shared;
    let source = Arc::new(Source {
        parse_name: name.to_string(),
        text: shared.clone(),
    });
    let mut lex = Lexer::new(text, opts.left, opts.right);
    lex.break_ok = !(opts.has_function)("break");
    lex.continue_ok = !(opts.has_function)("continue");
    let blank = Item {
        typ: Tok::Eof,
        pos: 0,
        val: "",
        line: 1,
    };
    let mut p = Parser {
        lex,
        token: [blank; 3],
        peek_count: 0,
        vars: vec!["$"],
        action_line: 0,
        range_depth: 0,
        depth: 0,
        opts,
        source,
        trees: Vec::new(),
        index: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_string(), root)?;
    Ok(p.trees)
}

impl<'a> Parser<'a, '_> {
    /// `piece` (a part of the text being parsed) as a [`Slice`] of it.
    fn slice(&self, piece: &str) -> Slice {
        let text = &self.source.text;
        let start = (piece.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        debug_assert!(start + piece.len() <= text.len(), "a piece of the text");
        Slice {
            text: text.clone(),
            start,
            end: start + piece.len(),
        }
    }

    /// `piece` followed by the text up to the end of `to` (a later piece),
    /// as one [`Slice`].
    fn slice_through(&self, piece: &Slice, to: &str) -> Slice {
        let end =
            (to.as_ptr() as usize).wrapping_sub(self.source.text.as_ptr() as usize) + to.len();
        debug_assert!(end <= self.source.text.len(), "a piece of the text");
        Slice {
            end,
            ..piece.clone()
        }
    }

    fn next(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count]
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'a>) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'a>, t1: Item<'a>) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1];
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0]
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.typ != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, message: impl std::fmt::Display) -> ParseFailure {
        ParseFailure(format!(
            "template: {}:{}: {}",
            self.source.parse_name, self.token[0].line, message
        ))
    }

    fn unexpected(&self, token: &Item<'_>, context: &str) -> ParseFailure {
        if token.typ == Tok::Error {
            let message = self.lex.error();
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.source.parse_name, self.action_line
                );
                if message.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format_args!("{message}{extra}"));
        }
        self.errorf(format_args!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: Tok, context: &str) -> PResult<Item<'a>> {
        let token = self.next_non_space();
        if token.typ != expected {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> PResult<()> {
        let tree = Tree {
            name: name.clone(),
            source: self.source.clone(),
            root: Arc::new(root),
        };
        match self.index.get(&name) {
            None => {
                self.index.insert(name, self.trees.len());
                self.trees.push(tree);
            }
            Some(&i) if self.trees[i].is_empty() => self.trees[i] = tree,
            Some(_) => {
                if !tree.is_empty() {
                    return Err(self.errorf(format_args!(
                        "template: multiple definition of template {}",
                        go_quote(&name)
                    )));
                }
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                ListItem::Node(n) => root.push(n),
                ListItem::End => return Err(self.errorf("unexpected {{end}}")),
                ListItem::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    /// Runs `f` with a fresh variable scope and range depth, as Go does for
    /// the separate trees of `define` and `block`.
    fn in_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        self.in_new_tree(|p| {
            let name = p.next_non_space();
            if name.typ != Tok::String && name.typ != Tok::RawString {
                return Err(p.unexpected(&name, CONTEXT));
            }
            let name = unquote(name.val).map_err(|e| p.errorf(e))?;
            p.expect(Tok::RightDelim, CONTEXT)?;
            let (root, end) = p.item_list()?;
            if let Ended::Else = end {
                return Err(p.errorf(format_args!("unexpected {{{{else}}}} in {CONTEXT}")));
            }
            p.add(name, root)
        })
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Ended)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != Tok::Eof {
            match self.text_or_action()? {
                ListItem::Node(n) => list.push(n),
                ListItem::End => return Ok((list, Ended::End)),
                ListItem::Else => return Ok((list, Ended::Else)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<ListItem> {
        let token = self.next_non_space();
        match token.typ {
            Tok::Text => Ok(ListItem::Node(Node::Text {
                pos: token.pos,
                text: self.slice(token.val),
            })),
            Tok::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<ListItem> {
        let token = self.next_non_space();
        let node = match token.typ {
            Tok::Block => self.block_control()?,
            Tok::Break | Tok::Continue => {
                let what = if token.typ == Tok::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let next = self.next_non_space();
                if next.typ != Tok::RightDelim {
                    return Err(self.unexpected(&next, what));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format_args!("{what} outside {{{{range}}}}")));
                }
                if token.typ == Tok::Break {
                    Node::Break { pos: token.pos }
                } else {
                    Node::Continue { pos: token.pos }
                }
            }
            Tok::Else => {
                let peek = self.peek_non_space();
                if peek.typ == Tok::If || peek.typ == Tok::With {
                    return Ok(ListItem::Else);
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(ListItem::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(ListItem::End);
            }
            Tok::If => Node::If(Box::new(self.parse_control("if")?)),
            Tok::Range => Node::Range(Box::new(self.parse_control("range")?)),
            Tok::With => Node::With(Box::new(self.parse_control("with")?)),
            Tok::Template => self.template_control()?,
            _ => {
                self.backup();
                let t = self.peek();
                Node::Action {
                    pos: t.pos,
                    pipe: self.pipeline("command", Tok::RightDelim)?,
                }
            }
        };
        Ok(ListItem::Node(node))
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        self.enter()?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = listed?;
        let mut else_list = None;
        if let Ended::Else = next {
            let peek = self.peek().typ;
            if context == "if" && peek == Tok::If {
                self.next();
                else_list = Some(vec![Node::If(Box::new(self.parse_control("if")?))]);
            } else if context == "with" && peek == Tok::With {
                self.next();
                else_list = Some(vec![Node::With(Box::new(self.parse_control("with")?))]);
            } else {
                let (l, next) = self.item_list()?;
                if let Ended::Else = next {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        self.depth -= 1;
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn enter(&mut self) -> PResult<()> {
        if self.depth >= self.opts.max_depth {
            return Err(self.errorf("max expression depth exceeded"));
        }
        self.depth += 1;
        Ok(())
    }

    fn template_name(&mut self, token: &Item<'_>, context: &str) -> PResult<String> {
        match token.typ {
            Tok::String | Tok::RawString => unquote(token.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        self.in_new_tree(|p| {
            let (root, end) = p.item_list()?;
            if let Ended::Else = end {
                return Err(p.errorf(format_args!("unexpected {{{{else}}}} in {CONTEXT}")));
            }
            p.add(name.clone(), root)
        })?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Tok::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.typ == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: self.slice(v.val),
                    });
                    self.vars.push(v.val);
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: self.slice(v.val),
                    });
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue 'decls,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format_args!("too many declarations in {context}")));
                }
                _ if after.typ == Tok::Space => self.backup3(v, after),
                _ => self.backup2(v),
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format_args!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format_args!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != Tok::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        // Fields follow one another without space: one piece of the text.
        let first = self.next().val;
        let mut last = first;
        while self.peek().typ == Tok::Field {
            last = self.next().val;
        }
        Ok(Some(match node {
            Arg::Field { ident, .. } => Arg::Field {
                pos,
                ident: self.slice_through(&ident, last),
            },
            Arg::Variable(Variable { ident, .. }) => Arg::Variable(Variable {
                pos,
                ident: self.slice_through(&ident, last),
            }),
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format_args!(
                    "unexpected . after term {}",
                    go_quote(&node.to_text())
                )));
            }
            other => {
                let fields = self.slice(&first[1..]);
                Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields: self.slice_through(&fields, last),
                }
            }
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let arg = match token.typ {
            Tok::Identifier => {
                if !self.opts.skip_func_check && !(self.opts.has_function)(token.val) {
                    return Err(
                        self.errorf(format_args!("function {} not defined", go_quote(token.val)))
                    );
                }
                Arg::Identifier {
                    pos: token.pos,
                    name: self.slice(token.val),
                }
            }
            Tok::Dot => Arg::Dot { pos: token.pos },
            Tok::Nil => Arg::Nil { pos: token.pos },
            Tok::Variable => {
                if !self.vars.contains(&token.val) {
                    return Err(
                        self.errorf(format_args!("undefined variable {}", go_quote(token.val)))
                    );
                }
                Arg::Variable(Variable {
                    pos: token.pos,
                    ident: self.slice(token.val),
                })
            }
            Tok::Field => Arg::Field {
                pos: token.pos,
                ident: self.slice(&token.val[1..]),
            },
            Tok::Bool => Arg::Bool {
                pos: token.pos,
                value: token.val == "true",
            },
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                let number = if token.typ == Tok::CharConstant {
                    unquote_char_constant(token.val)
                } else {
                    parse_number(token.val, token.typ == Tok::Complex)
                };
                Arg::Number {
                    pos: token.pos,
                    number: number.map_err(|e| self.errorf(e))?,
                }
            }
            Tok::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", Tok::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            Tok::String | Tok::RawString => {
                let text = unquote_cow(token.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: token.pos,
                    quoted: self.slice(token.val),
                    text: Arc::from(text),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

fn unquote_char_constant(text: &str) -> Result<Number, String> {
    let inner = &text[1..];
    let (c, tail) = unquote_char(inner, '\'')?;
    if tail != "'" {
        return Err(format!("malformed character constant: {text}"));
    }
    Ok(Number::from_rune(text, c))
}
