//! A span-keeping YAML syntax tree built from `granit-parser` events.
//!
//! Scan, apply and the v1 workload engine all need the same three things
//! from a file: where every scalar is (byte range, including quotes), how it
//! was written (style, flow or block context) and what it means structurally
//! (mapping key or value, sequence item, which document). This module builds
//! exactly that in one pass, without expanding aliases and without copying
//! scalar text that needs no unescaping.

use std::borrow::Cow;
use std::ops::Range;

use gitops_core::yaml::{Budget, Exhausted, Meter};
use granit_parser::{Event, Parser, ScalarStyle as GStyle};

use crate::scan::ScalarStyle;

/// Index of a node in [`Tree::nodes`].
pub(crate) type NodeId = usize;

/// What position a node takes in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The root node of a document.
    Root,
    /// A mapping key.
    Key,
    /// A mapping value.
    Value,
    /// A sequence item.
    Item,
}

/// The content of a node.
#[derive(Debug)]
pub(crate) enum Kind<'a> {
    /// A scalar with its decoded value.
    Scalar {
        /// The value after escape processing.
        value: Cow<'a, str>,
        /// How it was written.
        style: ScalarStyle,
    },
    /// A mapping: `(key, value)` pairs in source order.
    Map(Vec<(NodeId, NodeId)>),
    /// A sequence.
    Seq(Vec<NodeId>),
    /// An alias (`*name`), not expanded.
    Alias,
}

/// One node with its source position.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    /// The content.
    pub kind: Kind<'a>,
    /// Byte range in the source (for scalars: including quotes; empty for
    /// implicit nulls).
    pub range: Range<usize>,
    /// 1-based line of the node's start.
    pub line: usize,
    /// 1-based column (in characters) of the node's start.
    pub column: usize,
    /// Its role in the parent.
    pub role: Role,
    /// Index of the document it belongs to.
    pub doc: usize,
    /// True inside a flow collection (`[..]`, `{..}`).
    pub flow: bool,
    /// For a mapping key: its value.
    pub value: Option<NodeId>,
}

impl<'a> Node<'a> {
    /// The scalar value and style, when this is a scalar.
    pub fn scalar(&self) -> Option<(&str, ScalarStyle)> {
        match &self.kind {
            Kind::Scalar { value, style } => Some((value, *style)),
            _ => None,
        }
    }
}

/// One document of the stream.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    /// Its root node (absent for an empty document).
    pub root: Option<NodeId>,
}

/// A comment that mentions `$imagepolicy`.
#[derive(Debug)]
pub(crate) struct MarkerComment<'a> {
    /// Byte range of the comment, `#` included, line break excluded.
    pub range: Range<usize>,
    /// The text after the `#`.
    pub text: Cow<'a, str>,
    /// 1-based line.
    pub line: usize,
}

/// The parsed file.
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    /// The source text.
    pub src: &'a str,
    /// All nodes; ids are assigned in source order.
    pub nodes: Vec<Node<'a>>,
    /// Documents in order.
    pub docs: Vec<Doc>,
    /// Scalar node ids in source order.
    pub scalars: Vec<NodeId>,
    /// Comments mentioning `$imagepolicy`, in source order.
    pub marker_comments: Vec<MarkerComment<'a>>,
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser expected.
    pub message: String,
}

/// Why [`Tree::parse_in`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The text is not valid YAML.
    Syntax(SyntaxError),
    /// The run's YAML budget ran out at `line`.
    Budget {
        /// 1-based line.
        line: usize,
        /// Which limit.
        exhausted: Exhausted,
    },
}

impl ParseError {
    /// As a syntax error (for callers without a run budget of their own).
    fn into_syntax(self) -> SyntaxError {
        match self {
            ParseError::Syntax(e) => e,
            ParseError::Budget { line, exhausted } => SyntaxError {
                line,
                column: 1,
                message: exhausted.to_string(),
            },
        }
    }
}

struct Frame {
    node: NodeId,
    /// Written in flow style.
    flow: bool,
    /// For mappings: the key waiting for its value.
    pending_key: Option<NodeId>,
}

fn options() -> granit_parser::Options {
    granit_parser::options! {
        // Long comment blocks (licence headers) must not fail the parse.
        max_buffered_comment_events: usize::MAX,
    }
}

/// Builds a [`Tree`] from a stream of parse events; fed by `granit-parser`
/// or by the fast path in [`crate::fastyaml`], which must feed it the same
/// events for the same input.
///
/// Every node and every document counts against the run's YAML budget
/// (through `meter`); once it runs out, [`Builder::over`] says where and the
/// builder takes no more nodes.
pub(crate) struct Builder<'a> {
    tree: Tree<'a>,
    stack: Vec<Frame>,
    flow_depth: usize,
    meter: Meter,
    over: Option<(usize, Exhausted)>,
}

impl<'a> Builder<'a> {
    /// A builder for `src`, counting against `budget`.
    pub fn new(src: &'a str, budget: &Budget) -> Builder<'a> {
        // About one node per 12 bytes and one scalar per 16 in manifests:
        // reserve once instead of growing six times, but never more than
        // the budget admits.
        let room = budget.remaining_nodes();
        Builder {
            tree: Tree {
                src,
                nodes: Vec::with_capacity((src.len() / 12).min(room) + 4),
                docs: Vec::new(),
                scalars: Vec::with_capacity((src.len() / 16).min(room) + 4),
                marker_comments: Vec::new(),
            },
            stack: Vec::new(),
            flow_depth: 0,
            meter: budget.meter(),
            over: None,
        }
    }

    /// Where and why the budget ran out, once it has.
    pub fn over(&self) -> Option<(usize, Exhausted)> {
        self.over
    }

    /// Count one node (or document) starting at `line`.
    #[inline]
    fn count(&mut self, line: usize) {
        if self.over.is_none()
            && let Err(e) = self.meter.nodes(1)
        {
            self.over = Some((line, e));
        }
    }

    /// The finished tree (its nodes stay counted in the budget).
    pub fn finish(mut self) -> Result<Tree<'a>, ParseError> {
        if let Some((line, exhausted)) = self.over {
            return Err(ParseError::Budget { line, exhausted });
        }
        let line = self.tree.nodes.last().map_or(1, |n| n.line);
        self.meter
            .finish()
            .map_err(|exhausted| ParseError::Budget { line, exhausted })?;
        // Comments arrive in event order, which puts a comment on a block
        // scalar's header after the scalar.
        self.tree.marker_comments.sort_by_key(|c| c.range.start);
        Ok(self.tree)
    }

    /// Give up on the tree and take its nodes back out of the budget (the
    /// caller parses the text another way).
    pub fn abandon(self) {
        self.meter.refund();
    }

    /// A document starts.
    pub fn doc_start(&mut self, line: usize) {
        self.count(line);
        self.tree.docs.push(Doc::default());
        self.stack.clear();
        self.flow_depth = 0;
    }

    /// A comment (its text after `#`; `range` from `#` to the line end).
    pub fn comment(&mut self, text: Cow<'a, str>, range: Range<usize>, line: usize) {
        if text.contains(crate::marker::MARKER_KEY) {
            self.tree
                .marker_comments
                .push(MarkerComment { range, text, line });
        }
    }

    /// A scalar.
    pub fn scalar(
        &mut self,
        value: Cow<'a, str>,
        style: ScalarStyle,
        range: Range<usize>,
        line: usize,
        column: usize,
    ) {
        let flow = self.flow_depth > 0;
        let id = self.push(Kind::Scalar { value, style }, range, line, column, flow);
        self.tree.scalars.push(id);
    }

    /// An alias.
    pub fn alias(&mut self, range: Range<usize>, line: usize, column: usize) {
        let flow = self.flow_depth > 0;
        self.push(Kind::Alias, range, line, column, flow);
    }

    /// A mapping (`map`) or sequence starts.
    pub fn start(
        &mut self,
        map: bool,
        is_flow: bool,
        range: Range<usize>,
        line: usize,
        column: usize,
    ) {
        let kind = if map {
            Kind::Map(Vec::with_capacity(4))
        } else {
            Kind::Seq(Vec::with_capacity(4))
        };
        let flow = self.flow_depth > 0;
        let id = self.push(kind, range, line, column, flow);
        if is_flow {
            self.flow_depth += 1;
        }
        self.stack.push(Frame {
            node: id,
            flow: is_flow,
            pending_key: None,
        });
    }

    /// The innermost open mapping or sequence ends at `end`.
    pub fn end(&mut self, end: usize) {
        if let Some(frame) = self.stack.pop() {
            if frame.flow {
                self.flow_depth = self.flow_depth.saturating_sub(1);
            }
            let node = &mut self.tree.nodes[frame.node];
            node.range.end = node.range.end.max(end);
        }
    }

    fn push(
        &mut self,
        kind: Kind<'a>,
        range: Range<usize>,
        line: usize,
        column: usize,
        flow: bool,
    ) -> NodeId {
        self.count(line);
        let tree = &mut self.tree;
        let id = tree.nodes.len();
        let doc = tree.docs.len().saturating_sub(1);
        let role = match self.stack.last_mut() {
            None => {
                if let Some(d) = tree.docs.last_mut() {
                    d.root = Some(id);
                }
                Role::Root
            }
            Some(frame) => match &mut tree.nodes[frame.node].kind {
                Kind::Map(pairs) => match frame.pending_key.take() {
                    None => {
                        frame.pending_key = Some(id);
                        Role::Key
                    }
                    Some(key) => {
                        pairs.push((key, id));
                        tree.nodes[key].value = Some(id);
                        Role::Value
                    }
                },
                Kind::Seq(items) => {
                    items.push(id);
                    Role::Item
                }
                Kind::Scalar { .. } | Kind::Alias => Role::Item,
            },
        };
        tree.nodes.push(Node {
            kind,
            range,
            line,
            column,
            role,
            doc,
            flow,
            value: None,
        });
        id
    }
}

impl<'a> Tree<'a> {
    /// Parse `src` with a budget of its own; fails on the first syntax error.
    pub fn parse(src: &'a str) -> Result<Tree<'a>, SyntaxError> {
        Tree::parse_in(src, &Budget::default()).map_err(ParseError::into_syntax)
    }

    /// Parse `src`, counting it against the run's `budget`.
    ///
    /// Files written in the common subset of YAML that Kubernetes manifests
    /// use go through [`crate::fastyaml`], which builds the same tree many
    /// times faster; anything outside that subset (and every syntax error)
    /// goes through `granit-parser`. What the fast path counted before it
    /// declined is taken back out of the budget.
    pub fn parse_in(src: &'a str, budget: &Budget) -> Result<Tree<'a>, ParseError> {
        let mut bytes = budget.meter();
        bytes
            .bytes(src.len())
            .map_err(|exhausted| ParseError::Budget { line: 1, exhausted })?;
        if let Some(tree) = crate::fastyaml::parse_in(src, budget)? {
            return Ok(tree);
        }
        Tree::parse_full_in(src, budget)
    }

    /// Parse `src` with `granit-parser` only, without a budget.
    pub fn parse_full(src: &'a str) -> Result<Tree<'a>, SyntaxError> {
        Tree::parse_full_in(src, &Budget::unlimited()).map_err(ParseError::into_syntax)
    }

    /// Parse `src` with `granit-parser` only.
    fn parse_full_in(src: &'a str, budget: &Budget) -> Result<Tree<'a>, ParseError> {
        let mut b = Builder::new(src, budget);
        let parser = Parser::new_from_str_with_options(src, options());
        for next in parser {
            let (event, span) = next.map_err(|e| {
                ParseError::Syntax(SyntaxError {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                    message: e.info(),
                })
            })?;
            let range = span.byte_range().unwrap_or(0..0);
            let line = span.start.line();
            let column = span.start.col() + 1;
            match event {
                Event::DocumentStart(..) => b.doc_start(line),
                Event::Comment(text, _) => b.comment(text, range, line),
                Event::Scalar(value, style, _, _) => {
                    let style = match style {
                        GStyle::Plain => ScalarStyle::Plain,
                        GStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                        GStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                        GStyle::Literal => ScalarStyle::Literal,
                        GStyle::Folded => ScalarStyle::Folded,
                    };
                    b.scalar(value, style, range, line, column);
                }
                Event::Alias(_) | Event::UnresolvedAlias(_) => b.alias(range, line, column),
                Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                    let is_flow = style == granit_parser::StructureStyle::Flow;
                    b.start(
                        matches!(event, Event::MappingStart(..)),
                        is_flow,
                        range,
                        line,
                        column,
                    );
                }
                Event::MappingEnd | Event::SequenceEnd => b.end(range.end),
                _ => {}
            }
            if let Some((line, exhausted)) = b.over() {
                return Err(ParseError::Budget { line, exhausted });
            }
        }
        b.finish()
    }

    /// The scalar value of `key` in the mapping `map`.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        match &self.nodes.get(map)?.kind {
            Kind::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| self.nodes[*k].scalar().is_some_and(|(v, _)| v == key))
                .map(|&(_, v)| v),
            _ => None,
        }
    }

    /// Follow a path of mapping keys from `node`.
    pub fn get_path(&self, node: NodeId, path: &[&str]) -> Option<NodeId> {
        path.iter().try_fold(node, |n, key| self.get(n, key))
    }

    /// The string value of a scalar node.
    pub fn str(&self, node: NodeId) -> Option<&str> {
        self.nodes.get(node)?.scalar().map(|(v, _)| v)
    }

    /// The pairs of a mapping node.
    pub fn pairs(&self, node: NodeId) -> &[(NodeId, NodeId)] {
        match self.nodes.get(node).map(|n| &n.kind) {
            Some(Kind::Map(pairs)) => pairs,
            _ => &[],
        }
    }

    /// The items of a sequence node.
    pub fn items(&self, node: NodeId) -> &[NodeId] {
        match self.nodes.get(node).map(|n| &n.kind) {
            Some(Kind::Seq(items)) => items,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_ranges() {
        let src = "a: 'x' # c\nl:\n  - [p, {q: r}]\n---\n- s\n";
        let t = Tree::parse(src).unwrap();
        assert_eq!(t.docs.len(), 2);
        let roles: Vec<_> = t
            .scalars
            .iter()
            .map(|&i| {
                let n = &t.nodes[i];
                (&src[n.range.clone()], n.role, n.flow, n.doc)
            })
            .collect();
        assert_eq!(
            roles,
            [
                ("a", Role::Key, false, 0),
                ("'x'", Role::Value, false, 0),
                ("l", Role::Key, false, 0),
                ("p", Role::Item, true, 0),
                ("q", Role::Key, true, 0),
                ("r", Role::Value, true, 0),
                ("s", Role::Item, false, 1),
            ]
        );
        let root = t.docs[0].root.unwrap();
        let a = t.get(root, "a").unwrap();
        assert_eq!(t.str(a), Some("x"));
        assert!(t.marker_comments.is_empty());
    }

    #[test]
    fn syntax_error_has_position() {
        let e = Tree::parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1);
        assert!(!e.message.is_empty());
    }

    fn budget(max_nodes: usize) -> Budget {
        Budget::new(gitops_core::yaml::BudgetLimits {
            max_nodes,
            ..Default::default()
        })
    }

    #[test]
    fn both_paths_count_documents_and_nodes() {
        // The fast path takes the first text, granit-parser the second
        // (an anchor); both count the same nodes, plus one per document.
        for src in ["a: b\n---\n---\nc: [d]\n", "a: &x b\n---\n---\nc: [d]\n"] {
            let b = budget(100);
            let t = Tree::parse_in(src, &b).unwrap();
            assert_eq!(b.nodes(), t.nodes.len() + t.docs.len(), "{src}");
            assert_eq!(b.bytes(), src.len());
        }
        // What the fast path counted before declining is not counted twice.
        let src = "a: b\n".repeat(2_000) + "z: &x b\n";
        let b = budget(10_000);
        let t = Tree::parse_in(&src, &b).unwrap();
        assert_eq!(b.nodes(), t.nodes.len() + 1);
    }

    #[test]
    fn empty_documents_exhaust_the_budget() {
        let src = "---\n".repeat(10_000);
        for parse in [Tree::parse_in, Tree::parse_full_in] {
            let err = parse(&src, &budget(5_000)).unwrap_err();
            let ParseError::Budget { line, exhausted } = err else {
                panic!("{err:?}");
            };
            assert_eq!(exhausted, Exhausted::Nodes { limit: 5_000 });
            assert!((2_000..=3_100).contains(&line), "{line}");
        }
    }
}
