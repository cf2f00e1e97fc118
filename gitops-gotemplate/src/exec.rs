//! The executor: Go's `text/template/exec.go` semantics over [`Value`].
//!
//! Go distinguishes an invalid `reflect.Value` (no value at all: a missing
//! key with the default `missingkey` option, `nil` data) from a value of
//! interface type (an element of a `map[string]interface{}` or
//! `[]interface{}`, possibly a nil interface). The difference shows in
//! output (`<no value>`) and in errors (`nil pointer evaluating
//! interface {}.x`, `can't evaluate field x in type interface {}`), so the
//! executor tracks it in [`Rv`].

use std::time::Instant;

use crate::Error;
use crate::error::Limit;
use crate::fmt::{go_quote, sprint};
use std::sync::Arc;

use crate::funcs::{Body, Builtin, Func, Kind, call_builtin};
use crate::number::Ideal;
use crate::parse::{Arg, Branch, Command, Node, Pipe, Slice, Tree, Variable};
use crate::template::{MissingKey, Options, Template};
use crate::value::{Object, Value};

/// A value as the executor sees it (Go's `reflect.Value`).
#[derive(Clone, Debug)]
pub(crate) enum Rv {
    /// No value (Go's zero `reflect.Value`); prints as `<no value>`.
    Invalid,
    /// A value held in an `interface{}` (map and list elements); may be nil.
    Iface(Value),
    /// A value of its own concrete type; never [`Value::Nil`].
    Val(Value),
}

impl Rv {
    fn concrete(v: Value) -> Rv {
        if v.is_nil() { Rv::Invalid } else { Rv::Val(v) }
    }

    /// A function's result, typed `interface{}` when nil.
    fn returned(v: Value) -> Rv {
        if v.is_nil() { Rv::Iface(v) } else { Rv::Val(v) }
    }

    /// Go's `indirectInterface`: the concrete value, `None` for nil.
    pub(crate) fn indirect(&self) -> Option<&Value> {
        match self {
            Rv::Invalid | Rv::Iface(Value::Nil) => None,
            Rv::Iface(v) | Rv::Val(v) => Some(v),
        }
    }

    /// The value handed to registered functions: no value becomes `nil`.
    pub(crate) fn to_value(&self) -> Value {
        self.indirect().cloned().unwrap_or(Value::Nil)
    }

    /// Go's truth of the value (`isTrue(indirectInterface(v))`).
    pub(crate) fn truth(&self) -> bool {
        self.indirect().is_some_and(Value::is_true)
    }

    /// What `evalPipeline` does after each command: dig into `interface{}`.
    fn unwrap_iface(self) -> Rv {
        match self {
            Rv::Iface(v) => Rv::concrete(v),
            other => other,
        }
    }

    fn type_name(&self) -> String {
        match self {
            Rv::Invalid => "<invalid reflect.Value>".into(),
            Rv::Iface(_) => "interface {}".into(),
            Rv::Val(v) => v.type_name().to_string(),
        }
    }
}

/// The node execution is at, for error messages.
#[derive(Clone, Copy)]
enum At<'a> {
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
    Var(&'a Variable),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Node(n) => n.pos(),
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Arg(a) => a.pos(),
            At::Var(v) => v.pos,
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        match self {
            At::Node(n) => n.write_to(&mut s),
            At::Pipe(p) => p.write_to(&mut s),
            At::Cmd(c) => c.write_to(&mut s),
            At::Arg(a) => a.write_to(&mut s),
            At::Var(v) => v.write_to(&mut s),
        }
        s
    }
}

/// Why a walk stopped early.
pub(crate) enum Flow {
    Break,
    Continue,
    Err(Box<Error>),
}

impl From<Error> for Flow {
    fn from(e: Error) -> Flow {
        Flow::Err(Box::new(e))
    }
}

type R<T> = Result<T, Flow>;

/// Counters shared by one execution and every template it runs.
pub(crate) struct Shared {
    written: usize,
    steps: u64,
    limit_error: Option<Error>,
}

/// What a function made with [`Func::with_context`] can do: execute
/// templates of the set it was called from, within the same limits.
pub struct CallContext<'c, 'a> {
    set: &'a Template,
    shared: &'c mut Shared,
    depth: usize,
}

impl<'a> CallContext<'_, 'a> {
    /// The template set being executed.
    pub fn template(&self) -> &'a Template {
        self.set
    }

    /// How many template calls deep this call is.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Executes the named template with `data` as dot into a string (what
    /// Helm's `include` does). The nesting counts towards the depth limit.
    pub fn execute(&mut self, name: &str, data: &Value) -> Result<String, Error> {
        self.execute_in(self.set, name, data)
    }

    /// Executes the named template of another set (for example a clone
    /// with one more template parsed, as Helm's `tpl` does), within the
    /// same limits.
    pub fn execute_in(
        &mut self,
        set: &Template,
        name: &str,
        data: &Value,
    ) -> Result<String, Error> {
        let mut out = String::new();
        run(set, name, data, &mut out, self.shared, self.depth + 1)?;
        Ok(out)
    }
}

/// Executes the named template of `set` into `out`.
pub(crate) fn execute(
    set: &Template,
    name: &str,
    data: &Value,
    out: &mut String,
) -> Result<(), Error> {
    let mut shared = Shared {
        written: 0,
        steps: 0,
        limit_error: None,
    };
    run(set, name, data, out, &mut shared, 0)
}

fn run(
    set: &Template,
    name: &str,
    data: &Value,
    out: &mut String,
    shared: &mut Shared,
    depth: usize,
) -> Result<(), Error> {
    let Some(tree) = set.tree(name) else {
        return Err(Error::NoTemplate {
            name: name.to_string(),
            set: set.name().to_string(),
        });
    };
    let dot = Rv::concrete(data.clone());
    let mut state = State {
        set,
        opts: set.options(),
        tree,
        node: None,
        vars: vec![("$", dot.clone())],
        depth,
        shared,
        out,
    };
    if depth > state.opts.max_depth {
        return Err(state.error(format!(
            "exceeded maximum template depth ({})",
            state.opts.max_depth
        )));
    }
    match state.walk_list(&dot, &tree.root) {
        Ok(()) => Ok(()),
        Err(Flow::Err(e)) => Err(*e),
        Err(Flow::Break | Flow::Continue) => Ok(()),
    }
}

struct State<'a, 's> {
    set: &'a Template,
    opts: &'a Options,
    tree: &'a Tree,
    node: Option<At<'a>>,
    vars: Vec<(&'a str, Rv)>,
    depth: usize,
    shared: &'s mut Shared,
    out: &'s mut String,
}

enum Callee<'a> {
    Func(&'a Func, bool),
    Method(Arc<dyn Object>),
}

impl<'a> State<'a, '_> {
    fn at(&mut self, at: At<'a>) {
        self.node = Some(at);
    }

    fn error(&self, message: String) -> Error {
        let name = &self.tree.name;
        let message = match self.node {
            None => format!("template: {name}: {message}"),
            Some(at) => format!(
                "template: {}: executing {} at <{}>: {message}",
                self.tree.source.location(at.pos()),
                go_quote(name),
                at.text()
            ),
        };
        Error::Exec {
            name: name.clone(),
            message,
        }
    }

    fn errorf<T>(&self, message: String) -> R<T> {
        Err(Flow::Err(Box::new(self.error(message))))
    }

    fn limit(&mut self, limit: Limit, message: String) -> Flow {
        let e = Error::Limit {
            limit,
            message: format!("template: {}: {message}", self.tree.name),
        };
        self.shared.limit_error = Some(e.clone());
        Flow::Err(Box::new(e))
    }

    fn step(&mut self) -> R<()> {
        self.shared.steps += 1;
        if let Some(max) = self.opts.max_steps
            && self.shared.steps > max
        {
            return Err(self.limit(
                Limit::Steps,
                format!("execution exceeds the limit of {max} steps"),
            ));
        }
        if self.shared.steps.is_multiple_of(256)
            && let Some(deadline) = self.opts.deadline
            && Instant::now() >= deadline
        {
            return Err(self.limit(Limit::Time, "execution exceeds its deadline".into()));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.shared.written += s.len();
        if let Some(max) = self.opts.max_output
            && self.shared.written > max
        {
            return Err(self.limit(
                Limit::Output,
                format!("output exceeds the limit of {max} bytes"),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn var_value(&self, name: &str) -> R<Rv> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Rv) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Rv) {
        let len = self.vars.len();
        self.vars[len - n].1 = value;
    }

    fn walk_list(&mut self, dot: &Rv, list: &'a [Node]) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Rv, node: &'a Node) -> R<()> {
        self.step()?;
        self.at(At::Node(node));
        match node {
            Node::Text { text, .. } => self.write(text),
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &val)?;
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(node, dot, b),
            Node::Template { name, pipe, .. } => self.walk_template(node, dot, name, pipe.as_ref()),
            Node::Break { .. } => Err(Flow::Break),
            Node::Continue { .. } => Err(Flow::Continue),
        }
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Rv, b: &'a Branch) -> R<()> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truth() {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, node: &'a Node, dot: &Rv, b: &'a Branch) -> R<()> {
        self.at(At::Node(node));
        let mark0 = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark0);
        match r {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn one_iteration(&mut self, b: &'a Branch, mark: usize, index: Rv, elem: Rv) -> R<()> {
        self.step()?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(decl[0].name(), index.clone())?;
                } else {
                    self.set_var(decl[0].name(), elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(decl[1].name(), elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        match r {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Rv, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        match val.indirect() {
            Some(Value::Int(n)) => {
                if b.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                if *n > 0 {
                    for i in 0..*n {
                        self.one_iteration(b, mark, Rv::Invalid, Rv::Val(Value::Int(i)))?;
                    }
                    return Ok(());
                }
            }
            Some(Value::List(l)) if !l.is_empty() => {
                let l = l.clone();
                for (i, e) in l.iter().enumerate() {
                    let i = i64::try_from(i).unwrap_or(i64::MAX);
                    self.one_iteration(b, mark, Rv::Val(Value::Int(i)), Rv::Iface(e.clone()))?;
                }
                return Ok(());
            }
            Some(Value::Map(m)) if !m.is_empty() => {
                let entries = m.entries();
                for (k, v) in entries {
                    self.one_iteration(b, mark, Rv::Val(Value::from(k.as_str())), Rv::Iface(v))?;
                }
                return Ok(());
            }
            Some(obj @ Value::Object(o)) => match o.range_entries() {
                Some(entries) if !entries.is_empty() => {
                    for (k, v) in entries {
                        // A typed map's elements are of their own type,
                        // not `interface{}`.
                        let key = Rv::Val(Value::from(k.as_str()));
                        self.one_iteration(b, mark, key, Rv::concrete(v))?;
                    }
                    return Ok(());
                }
                Some(_) => {}
                None => return self.errorf(format!("range can't iterate over {obj}")),
            },
            Some(Value::List(_) | Value::Map(_)) | None => {}
            Some(other) => return self.errorf(format!("range can't iterate over {other}")),
        }
        if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        node: &'a Node,
        dot: &Rv,
        name: &str,
        pipe: Option<&'a Pipe>,
    ) -> R<()> {
        self.at(At::Node(node));
        let Some(tmpl) = self.set.tree(name) else {
            return self.errorf(format!("template {} not defined", go_quote(name)));
        };
        if self.depth >= self.opts.max_depth {
            return self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.opts.max_depth
            ));
        }
        let dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::Invalid,
        };
        let saved_tree = std::mem::replace(&mut self.tree, tmpl);
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let saved_node = self.node.take();
        self.depth += 1;
        let r = self.walk_list(&dot, &tmpl.root);
        self.depth -= 1;
        self.tree = saved_tree;
        self.vars = saved_vars;
        self.node = saved_node;
        r
    }

    fn eval_pipeline(&mut self, dot: &Rv, pipe: &'a Pipe) -> R<Rv> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unwrap_iface());
        }
        let value = value.unwrap_or(Rv::Invalid);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v.name(), value.clone())?;
            } else {
                self.vars.push((v.name(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: Option<&Rv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!(
                "can't give argument to non-function {}",
                args[0].to_text()
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'a Command, fin: Option<Rv>) -> R<Rv> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                return self.eval_field_node(dot, first, ident, &cmd.args, fin);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain_node(dot, first, node, fields, &cmd.args, fin);
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, fin.as_ref())?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(v) => return self.eval_variable_node(dot, v, &cmd.args, fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, fin.as_ref())?;
        match first {
            Arg::Bool { value, .. } => Ok(Rv::Val(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command".into()),
            Arg::Number { number, .. } => self.ideal_constant(first, number),
            Arg::String { text, .. } => Ok(Rv::Val(Value::String(text.clone()))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                go_quote(&first.to_text())
            )),
        }
    }

    fn ideal_constant(&mut self, arg: &'a Arg, number: &crate::number::Number) -> R<Rv> {
        self.at(At::Arg(arg));
        match number.ideal() {
            Ok(Ideal::Int(i)) => Ok(Rv::Val(Value::Int(i))),
            Ok(Ideal::Float(f)) => Ok(Rv::Val(Value::Float(f))),
            Ok(Ideal::Complex) => {
                self.errorf(format!("complex constant {} is not supported", number.text))
            }
            Ok(Ideal::Invalid) => Ok(Rv::Invalid),
            Err(msg) => self.errorf(msg),
        }
    }

    fn eval_field_node(
        &mut self,
        dot: &Rv,
        field: &'a Arg,
        ident: &'a Slice,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(field));
        self.eval_field_chain(dot, dot.clone(), ident, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Rv,
        chain: &'a Arg,
        node: &'a Arg,
        fields: &'a Slice,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(chain));
        if let Arg::Nil { .. } = node {
            return self.errorf(format!(
                "indirection through explicit nil in {}",
                chain.to_text()
            ));
        }
        let pipe = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, pipe, fields, args, fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Rv,
        var: &'a Variable,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Var(var));
        let value = self.var_value(var.name())?;
        let Some(fields) = var.fields() else {
            self.not_a_function(args, fin.as_ref())?;
            return Ok(value);
        };
        self.eval_field_chain(dot, value, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Rv,
        mut receiver: Rv,
        path: &'a str,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let last = match path.rsplit_once('.') {
            Some((init, last)) => {
                for name in init.split('.') {
                    receiver = self.eval_field(dot, name, &[], None, receiver)?;
                }
                last
            }
            None => path,
        };
        self.eval_field(dot, last, args, fin, receiver)
    }

    fn eval_function(
        &mut self,
        dot: &Rv,
        ident: &'a Arg,
        name: &'a str,
        node: At<'a>,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(ident));
        let (func, is_builtin) = match self.set.funcs().get(name) {
            Some(f) => (f, false),
            None => match self.set.builtin(name) {
                Some(f) => (f, true),
                None => {
                    return self.errorf(format!("{} is not a defined function", go_quote(name)));
                }
            },
        };
        self.eval_call(dot, Callee::Func(func, is_builtin), node, name, args, fin)
    }

    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &'a str,
        args: &'a [Arg],
        fin: Option<Rv>,
        receiver: Rv,
    ) -> R<Rv> {
        let was_iface = matches!(receiver, Rv::Iface(_));
        let value = match receiver {
            Rv::Invalid => {
                if self.opts.missing_key == MissingKey::Error {
                    return self.errorf(format!("nil data; no entry for key {}", go_quote(name)));
                }
                return Ok(Rv::Invalid);
            }
            Rv::Iface(Value::Nil) => {
                return self.errorf(format!("nil pointer evaluating interface {{}}.{name}"));
            }
            Rv::Iface(v) | Rv::Val(v) => v,
        };
        // Go's type of the receiver before indirection, for error messages.
        let typ = if was_iface {
            "interface {}"
        } else {
            value.type_name()
        };
        if let Value::Object(o) = &value
            && o.has_method(name)
        {
            let Some(node) = self.node else {
                return self.errorf(format!("can't evaluate field {name} in type {typ}"));
            };
            return self.eval_call(dot, Callee::Method(o.clone()), node, name, args, fin);
        }
        let has_args = args.len() > 1 || fin.is_some();
        match &value {
            Value::Map(m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                match m.get(name) {
                    Some(v) => Ok(Rv::Iface(v)),
                    None => match self.opts.missing_key {
                        MissingKey::Default => Ok(Rv::Invalid),
                        MissingKey::Zero => Ok(Rv::Iface(Value::Nil)),
                        MissingKey::Error => {
                            self.errorf(format!("map has no entry for key {}", go_quote(name)))
                        }
                    },
                }
            }
            Value::Object(o) => match o.field(name) {
                Some(v) => {
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    Ok(Rv::returned(v))
                }
                None => self.errorf(format!("can't evaluate field {name} in type {typ}")),
            },
            _ => self.errorf(format!("can't evaluate field {name} in type {typ}")),
        }
    }

    fn signature<'f>(callee: &'f Callee<'_>) -> (Option<Kind>, &'f [Kind]) {
        match callee {
            Callee::Func(f, _) => (f.variadic, &f.params),
            Callee::Method(_) => (Some(Kind::Any), &[]),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Rv,
        callee: Callee<'a>,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let (variadic, params) = Self::signature(&callee);
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if variadic.is_some() {
            params.len()
        } else {
            args.len()
        };
        if variadic.is_some() {
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    params.len(),
                    args.len()
                ));
            }
        } else if num_in != params.len() {
            return self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                params.len()
            ));
        }
        let builtin = match callee {
            Callee::Func(
                Func {
                    body: Body::Builtin(b),
                    ..
                },
                true,
            ) => Some(*b),
            _ => None,
        };
        if let Some(b @ (Builtin::And | Builtin::Or)) = builtin {
            let want = b == Builtin::Or;
            let mut v = Rv::Invalid;
            for arg in args {
                v = self.eval_arg(dot, Some(Kind::Reflect), arg)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(params[i]), &args[i])?);
            i += 1;
        }
        if let Some(t) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(t), &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = match variadic {
                Some(t) if num_in > num_fixed => t,
                _ => params[num_in - 1],
            };
            argv.push(self.validate_type(f, Some(t))?);
        }
        let result = match (&callee, builtin) {
            (_, Some(Builtin::Call)) => {
                let callee_name = match args.first() {
                    Some(a) => a.to_text(),
                    None => format!("<{} Value>", argv[0].type_name()),
                };
                match argv[0].indirect() {
                    None => Err("call of nil".to_string()),
                    Some(v) => Err(format!(
                        "non-function {callee_name} of type {}",
                        v.type_name()
                    )),
                }
            }
            (_, Some(b)) => call_builtin(b, &argv),
            (Callee::Func(f, _), None) => {
                let values: Vec<Value> = argv.iter().map(Rv::to_value).collect();
                match &f.body {
                    Body::Plain(p) => p(&values).map(Rv::returned),
                    Body::Context(c) => {
                        let mut ctx = CallContext {
                            set: self.set,
                            shared: &mut *self.shared,
                            depth: self.depth,
                        };
                        c(&mut ctx, &values).map(Rv::returned)
                    }
                    Body::Builtin(b) => call_builtin(*b, &argv),
                }
            }
            (Callee::Method(o), None) => {
                let values: Vec<Value> = argv.iter().map(Rv::to_value).collect();
                o.call_method(name, &values).map(Rv::returned)
            }
        };
        match result {
            Ok(v) => Ok(v),
            Err(msg) => {
                if let Some(e) = self.shared.limit_error.clone() {
                    return Err(Flow::Err(Box::new(e)));
                }
                self.at(node);
                self.errorf(format!("error calling {name}: {msg}"))
            }
        }
    }

    fn validate_type(&self, value: Rv, typ: Option<Kind>) -> R<Rv> {
        let Some(typ) = typ else {
            return Ok(value);
        };
        match (&value, typ) {
            (Rv::Invalid, Kind::Any) => Ok(Rv::Iface(Value::Nil)),
            (Rv::Invalid, Kind::Reflect) => Ok(Rv::Invalid),
            (Rv::Invalid, _) => self.errorf(format!("invalid value; expected {}", typ.go_name())),
            (_, Kind::Reflect | Kind::Any) => Ok(value),
            (Rv::Iface(Value::Nil), _) => self.errorf(format!(
                "wrong type for value; expected {}; got interface {{}}",
                typ.go_name()
            )),
            (Rv::Iface(v) | Rv::Val(v), _) => {
                let ok = matches!(
                    (v, typ),
                    (Value::String(_), Kind::String)
                        | (Value::Int(_), Kind::Int)
                        | (Value::Float(_), Kind::Float)
                        | (Value::Bool(_), Kind::Bool)
                );
                if ok {
                    Ok(Rv::Val(v.clone()))
                } else {
                    self.errorf(format!(
                        "wrong type for value; expected {}; got {}",
                        typ.go_name(),
                        v.type_name()
                    ))
                }
            }
        }
    }

    fn eval_arg(&mut self, dot: &Rv, typ: Option<Kind>, n: &'a Arg) -> R<Rv> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), typ),
            Arg::Nil { .. } => {
                return match typ {
                    Some(Kind::Any) => Ok(Rv::Iface(Value::Nil)),
                    Some(Kind::Reflect) | None => Ok(Rv::Invalid),
                    Some(t) => self.errorf(format!("cannot assign nil to {}", t.go_name())),
                };
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_node(dot, n, ident, std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(var) => {
                let v = self.eval_variable_node(dot, var, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, At::Arg(n), &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { node, fields, .. } => {
                let v = self.eval_chain_node(dot, n, node, fields, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        let found = || n.to_text();
        match typ {
            Some(Kind::Bool) => match n {
                Arg::Bool { value, .. } => Ok(Rv::Val(Value::Bool(*value))),
                _ => self.errorf(format!("expected bool; found {}", found())),
            },
            Some(Kind::Float) => match n {
                Arg::Number { number, .. } if number.is_float => {
                    Ok(Rv::Val(Value::Float(number.float)))
                }
                _ => self.errorf(format!("expected float; found {}", found())),
            },
            Some(Kind::Int) => match n {
                Arg::Number { number, .. } if number.is_int => Ok(Rv::Val(Value::Int(number.int))),
                _ => self.errorf(format!("expected integer; found {}", found())),
            },
            Some(Kind::String) => match n {
                Arg::String { text, .. } => Ok(Rv::Val(Value::String(text.clone()))),
                _ => self.errorf(format!("expected string; found {}", found())),
            },
            Some(Kind::Any | Kind::Reflect) | None => match n {
                Arg::Bool { value, .. } => Ok(Rv::Val(Value::Bool(*value))),
                Arg::Number { number, .. } => self.ideal_constant(n, number),
                Arg::String { text, .. } => Ok(Rv::Val(Value::String(text.clone()))),
                _ => self.errorf(format!(
                    "can't handle {} for arg of type interface {{}}",
                    found()
                )),
            },
        }
    }

    fn print_value(&mut self, node: &'a Node, v: &Rv) -> R<()> {
        self.at(At::Node(node));
        match v.indirect() {
            None => self.write("<no value>"),
            Some(v) => {
                let s = match v {
                    Value::String(s) => return self.write(s),
                    Value::List(_) | Value::Map(_) => {
                        if let Err(e) = v.check_nesting() {
                            return self.errorf(format!("can't print value: {e}"));
                        }
                        sprint(std::slice::from_ref(v))
                    }
                    _ => sprint(std::slice::from_ref(v)),
                };
                self.write(&s)
            }
        }
    }
}
