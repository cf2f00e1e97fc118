//! Validation of chart values against a chart's `values.schema.json`, as
//! Helm v4.1.4 does it for one chart (`ValidateAgainstSingleSchema` in
//! `pkg/chart/common/util/jsonschema.go`).
//!
//! Helm compiles the schema with `santhosh-tekuri/jsonschema/v6` (the draft
//! named by `$schema`, else draft 2020-12; `format` asserted for drafts 4, 6
//! and 7 only) and prints that library's error tree without its first line:
//!
//! ```text
//! - at '': missing property 'employmentInfo'
//! - at '/age': minimum: got -5, want 0
//! ```
//!
//! Values that the schema plainly admits are accepted by a walk of the
//! schema and the values (the `quick` module: no compilation, checked
//! against the compiled schema in the tests); otherwise validity is
//! decided by the [`jsonschema`] crate, and its flat list of errors
//! is rebuilt into the same tree (one line per failing keyword, `validation
//! failed` where one subschema has several failures, `'allOf' failed`,
//! `'anyOf' failed`, `'oneOf' failed, …` with their branches indented under
//! them, `$ref` targets inlined) with the library's wording: instance
//! locations as quoted JSON pointers, numbers printed as Go's
//! `golang.org/x/text/message` English printer does (`1,234`,
//! `1.5×10⁰⁶`), strings quoted with single quotes.
//!
//! ```
//! use gitops_render::helm::schema::validate;
//! use serde_json::json;
//!
//! let schema = br#"{"properties": {"replicas": {"type": "integer", "minimum": 1}}, "required": ["image"]}"#;
//! let err = validate(schema, &json!({"replicas": 0})).unwrap_err();
//! assert_eq!(err, "- at '': missing property 'image'\n- at '/replicas': minimum: got 0, want 1\n");
//! assert!(validate(schema, &json!({"replicas": 2, "image": "nginx"})).is_ok());
//! ```
//!
//! # Deviation
//! - Helm walks object properties in Go map order (random from run to run);
//!   sibling failures under different properties are listed here in the
//!   values' own key order.
//! - `enum`/`const` values from the schema print as JSON numbers
//!   (`2.5`), where Helm repeats the schema's literal (`2.50`).
//! - `format` failures carry the library's reason for `date-time`, `date`,
//!   `time`, `email`, `hostname`, `ipv4`, `ipv6` and `uuid`; other formats
//!   print `invalid <format>` as the reason.
//! - The Go library asserts every format it knows under drafts 4, 6 and 7;
//!   here a format is asserted only where the schema's draft defines it
//!   (`uuid`, `duration` are not checked under draft 7).
//! - Schemas that fetch `$ref`s over the network or from files are not
//!   supported: such a reference is an error naming it.

use std::fmt::Write as _;

mod quick;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError};
use serde_json::Value;

/// The URI Helm registers the schema under.
const SCHEMA_URI: &str = "file:///values.schema.json";

/// Validate `values` against the JSON schema `schema_json`; `Err` holds the
/// text Helm prints under the chart's name (one `- at '…': …` line per
/// violation, nested ones indented, ending with a newline).
pub fn validate(schema_json: &[u8], values: &Value) -> Result<(), String> {
    validate_parsed(&parse(schema_json)?, values)
}

/// A schema file as JSON; `Err` holds what [`validate`] reports.
pub(crate) fn parse(schema_json: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(schema_json).map_err(|e| format!("{e}\n"))
}

/// [`validate`] of a parsed schema: values the schema plainly admits (see
/// [`quick::admits`]) pass without compiling it; otherwise the compiled
/// schema decides and reports.
pub(crate) fn validate_parsed(schema: &Value, values: &Value) -> Result<(), String> {
    if quick::admits(schema, values) {
        return Ok(());
    }
    Compiled::new(schema.clone())?.check(values)
}

/// A compiled schema.
struct Compiled {
    schema: Value,
    draft: Draft,
    validator: jsonschema::Validator,
}

impl Compiled {
    /// Compile `schema`; `Err` holds what [`validate`] reports.
    fn new(schema: Value) -> Result<Compiled, String> {
        let draft = draft_of(&schema);
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_base_uri(SCHEMA_URI)
            .build(&schema)
            .map_err(|e| format!("{e}\n"))?;
        Ok(Compiled {
            schema,
            draft,
            validator,
        })
    }

    /// [`validate`] with this schema.
    fn check(&self, values: &Value) -> Result<(), String> {
        let errors: Vec<ValidationError<'_>> = self.validator.iter_errors(values).collect();
        if errors.is_empty() {
            return Ok(());
        }
        let ctx = Ctx {
            root: &self.schema,
            draft: self.draft,
        };
        let mut scope = Scope::default();
        for e in &errors {
            let eval = tokens(e.evaluation_path().as_str());
            let inst = tokens(e.instance_path().as_str());
            ctx.insert(&mut scope, e, &eval, 0, &inst, 0);
        }
        let nodes = ctx.render(&scope, values);
        let mut out = String::new();
        for n in &nodes {
            n.display(&mut out, 1);
        }
        out.push('\n');
        Err(out.trim_start_matches('\n').to_owned())
    }
}

/// The draft named by `$schema` (draft 2020-12 when absent or unknown).
fn draft_of(schema: &Value) -> Draft {
    let uri = schema
        .get("$schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let uri = uri.trim_end_matches('#');
    if uri.contains("draft-04") {
        Draft::Draft4
    } else if uri.contains("draft-06") {
        Draft::Draft6
    } else if uri.contains("draft-07") {
        Draft::Draft7
    } else if uri.contains("2019-09") {
        Draft::Draft201909
    } else {
        Draft::Draft202012
    }
}

/// The tokens of a JSON pointer (`~1` and `~0` decoded).
fn tokens(ptr: &str) -> Vec<String> {
    if ptr.is_empty() {
        return Vec::new();
    }
    ptr.trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// One line of the error tree (and the lines nested under it).
#[derive(Debug, Clone)]
struct Node {
    inst: Vec<String>,
    msg: String,
    causes: Vec<Node>,
}

impl Node {
    fn leaf(inst: &[String], msg: String) -> Node {
        Node {
            inst: inst.to_vec(),
            msg,
            causes: Vec::new(),
        }
    }

    fn display(&self, out: &mut String, indent: usize) {
        out.push('\n');
        for _ in 1..indent {
            out.push_str("  ");
        }
        let _ = write!(out, "- at {}: {}", quote(&json_ptr(&self.inst)), self.msg);
        for c in &self.causes {
            c.display(out, indent + 1);
        }
    }
}

/// How a subschema is entered from its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A child instance value (`properties/x`, `items`, …).
    Val { kw: String, arg: String },
    /// The same instance, its failure added as is (`then`, `dependentSchemas/x`).
    Same { kw: String, arg: String },
    /// One branch of `allOf`.
    AllOf(usize),
    /// `$ref`, `$dynamicRef`, `$recursiveRef`.
    Ref(String),
}

/// The failures of one schema applied to one instance location.
#[derive(Default)]
struct Scope<'e> {
    inst: Vec<String>,
    /// The evaluation path that leads here.
    eval: Vec<String>,
    leaves: Vec<Leaf<'e>>,
    kids: Vec<(Step, Scope<'e>)>,
}

/// A failing keyword of a scope.
struct Leaf<'e> {
    kw: String,
    err: &'e ValidationError<'e>,
    /// Evaluation path of the keyword (for nested errors).
    eval: Vec<String>,
}

struct Ctx<'s> {
    root: &'s Value,
    draft: Draft,
}

const VAL_WITH_ARG: &[&str] = &["properties", "patternProperties", "prefixItems"];
const VAL_PLAIN: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
];

impl<'s> Ctx<'s> {
    /// Walk `eval[at..]` from `scope`, creating child scopes, and record `e`.
    fn insert<'e>(
        &self,
        scope: &mut Scope<'e>,
        e: &'e ValidationError<'e>,
        eval: &[String],
        at: usize,
        inst: &[String],
        inst_at: usize,
    ) {
        let rest = &eval[at..];
        let is_false = matches!(e.kind(), ValidationErrorKind::FalseSchema);
        let (step, used) = match rest {
            [] => (None, 0),
            [kw, arg, ..] if VAL_WITH_ARG.contains(&kw.as_str()) => (
                Some(Step::Val {
                    kw: kw.clone(),
                    arg: arg.clone(),
                }),
                2,
            ),
            [kw, arg, _, ..] if kw == "items" && arg.parse::<usize>().is_ok() => (
                Some(Step::Val {
                    kw: kw.clone(),
                    arg: arg.clone(),
                }),
                2,
            ),
            [kw, arg] if kw == "items" && arg.parse::<usize>().is_ok() && is_false => (
                Some(Step::Val {
                    kw: kw.clone(),
                    arg: arg.clone(),
                }),
                2,
            ),
            [kw, _, ..] if kw == "items" || VAL_PLAIN.contains(&kw.as_str()) => (
                Some(Step::Val {
                    kw: kw.clone(),
                    arg: String::new(),
                }),
                1,
            ),
            [kw] if (kw == "items" || VAL_PLAIN.contains(&kw.as_str())) && is_false => (
                Some(Step::Val {
                    kw: kw.clone(),
                    arg: String::new(),
                }),
                1,
            ),
            [kw, arg, _, ..] if kw == "dependencies" || kw == "dependentSchemas" => (
                Some(Step::Same {
                    kw: kw.clone(),
                    arg: arg.clone(),
                }),
                2,
            ),
            [kw, ..] if kw == "then" || kw == "else" => (
                Some(Step::Same {
                    kw: kw.clone(),
                    arg: String::new(),
                }),
                1,
            ),
            [kw, i, ..] if kw == "allOf" && i.parse::<usize>().is_ok() => {
                (Some(Step::AllOf(i.parse().unwrap_or(0))), 2)
            }
            [kw, ..] if kw == "$ref" || kw == "$dynamicRef" || kw == "$recursiveRef" => {
                (Some(Step::Ref(kw.clone())), 1)
            }
            _ => (None, 0),
        };
        let Some(step) = step else {
            scope.leaves.push(Leaf {
                kw: rest.first().cloned().unwrap_or_default(),
                err: e,
                eval: eval.to_vec(),
            });
            return;
        };
        let (child_inst, next_inst_at) = if matches!(step, Step::Val { .. }) {
            let mut ci = scope.inst.clone();
            if let Some(t) = inst.get(inst_at) {
                ci.push(t.clone());
            }
            (ci, inst_at + 1)
        } else {
            (scope.inst.clone(), inst_at)
        };
        let idx = match scope
            .kids
            .iter()
            .position(|(s, k)| *s == step && k.inst == child_inst)
        {
            Some(i) => i,
            None => {
                scope.kids.push((
                    step.clone(),
                    Scope {
                        inst: child_inst,
                        eval: eval[..at + used].to_vec(),
                        leaves: Vec::new(),
                        kids: Vec::new(),
                    },
                ));
                scope.kids.len() - 1
            }
        };
        self.insert(
            &mut scope.kids[idx].1,
            e,
            eval,
            at + used,
            inst,
            next_inst_at,
        );
    }

    /// The schema node reached by an evaluation path (local `$ref`s followed).
    fn schema_at(&self, eval: &[String]) -> Option<&'s Value> {
        let mut cur = self.root;
        for t in eval {
            if t == "$ref" || t == "$dynamicRef" || t == "$recursiveRef" {
                let r = cur.get(t.as_str())?.as_str()?;
                let frag = r.strip_prefix('#')?;
                cur = self.pointer(frag)?;
            } else {
                cur = match cur {
                    Value::Object(m) => m.get(t)?,
                    Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
        }
        Some(cur)
    }

    fn pointer(&self, frag: &str) -> Option<&'s Value> {
        let decoded = percent_decode(frag);
        if decoded.is_empty() {
            return Some(self.root);
        }
        if !decoded.starts_with('/') {
            return find_anchor(self.root, &decoded);
        }
        self.root.pointer(&decoded)
    }

    /// The failures of a scope, in the order the Go library reports them.
    fn render(&self, scope: &Scope<'_>, instance_root: &Value) -> Vec<Node> {
        // Keywords whose failure ends the scope's validation early.
        for early in ["type", "const", "enum", "format"] {
            if let Some(l) = scope.leaves.iter().find(|l| l.kw == early) {
                return vec![self.leaf_node(scope, l, instance_root)];
            }
        }
        if scope
            .leaves
            .iter()
            .any(|l| l.kw.is_empty() && matches!(l.err.kind(), ValidationErrorKind::FalseSchema))
        {
            return vec![Node::leaf(&scope.inst, "false schema".into())];
        }
        let instance = value_at(instance_root, &scope.inst);
        let key_index = |k: &str| -> usize {
            instance
                .and_then(Value::as_object)
                .and_then(|m| m.keys().position(|x| x == k))
                .unwrap_or(usize::MAX)
        };
        let mut out: Vec<(u32, usize, usize, Node)> = Vec::new();
        let mut seq = 0usize;
        let mut push =
            |out: &mut Vec<(u32, usize, usize, Node)>, rank: u32, sub: usize, n: Node| {
                seq += 1;
                out.push((rank, sub, seq, n));
            };
        // Merged keywords.
        let missing: Vec<String> = scope
            .leaves
            .iter()
            .filter(|l| l.kw == "required")
            .filter_map(|l| match l.err.kind() {
                ValidationErrorKind::Required { property } => property.as_str().map(str::to_owned),
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            let msg = if missing.len() == 1 {
                format!("missing property {}", quote(&missing[0]))
            } else {
                format!("missing properties {}", join_quoted(&missing))
            };
            push(
                &mut out,
                rank_of("required"),
                0,
                Node::leaf(&scope.inst, msg),
            );
        }
        for kw in ["dependencies", "dependentRequired"] {
            if scope.leaves.iter().any(|l| l.kw == kw) {
                for (i, n) in self
                    .dependency_nodes(scope, kw, instance)
                    .into_iter()
                    .enumerate()
                {
                    push(&mut out, rank_of(kw), i, n);
                }
            }
        }
        for l in &scope.leaves {
            if matches!(
                l.kw.as_str(),
                "required" | "dependencies" | "dependentRequired"
            ) {
                continue;
            }
            for n in self.leaf_nodes(scope, l, instance_root) {
                push(&mut out, rank_of(&l.kw), 0, n);
            }
        }
        // allOf branches, gathered into one node.
        let mut all_of: Vec<(usize, Node)> = Vec::new();
        for (step, kid) in &scope.kids {
            match step {
                Step::Val { kw, arg } => {
                    let Some(n) = self.finalize(kid, instance_root) else {
                        continue;
                    };
                    let sub = match kw.as_str() {
                        "properties" => key_index(arg) * 3,
                        "patternProperties" => {
                            key_index(kid.inst.last().map_or("", String::as_str)) * 3 + 1
                        }
                        "additionalProperties" | "unevaluatedProperties" => {
                            key_index(kid.inst.last().map_or("", String::as_str)) * 3 + 2
                        }
                        _ => kid
                            .inst
                            .last()
                            .and_then(|t| t.parse::<usize>().ok())
                            .unwrap_or(0),
                    };
                    let rank = match kw.as_str() {
                        "properties" | "patternProperties" | "additionalProperties" => {
                            rank_of("properties")
                        }
                        k => rank_of(k),
                    };
                    let n = self.shift_items_index(scope, kw, n);
                    push(&mut out, rank, sub, n);
                }
                Step::Same { kw, .. } => {
                    if let Some(n) = self.finalize(kid, instance_root) {
                        push(&mut out, rank_of(kw), 0, n);
                    }
                }
                Step::AllOf(i) => {
                    if let Some(n) = self.finalize(kid, instance_root) {
                        all_of.push((*i, n));
                    }
                }
                Step::Ref(kw) => {
                    let causes = self.render(kid, instance_root);
                    let n = match causes.len() {
                        0 => continue,
                        1 => causes.into_iter().next().expect("one cause"),
                        _ => Node {
                            inst: scope.inst.clone(),
                            msg: "validation failed".into(),
                            causes,
                        },
                    };
                    let rank = if kw == "$ref" {
                        rank_of("$ref")
                    } else {
                        rank_of("$dynamicRef")
                    };
                    push(&mut out, rank, 0, n);
                }
            }
        }
        if !all_of.is_empty() {
            all_of.sort_by_key(|(i, _)| *i);
            let n = Node {
                inst: scope.inst.clone(),
                msg: "'allOf' failed".into(),
                causes: all_of.into_iter().map(|(_, n)| n).collect(),
            };
            push(&mut out, rank_of("allOf"), 0, n);
        }
        out.sort_by_key(|(r, s, q, _)| (*r, *s, *q));
        out.into_iter().map(|(_, _, _, n)| n).collect()
    }

    /// A scope's failure as its parent sees it: the one failure, or a
    /// `validation failed` group of several.
    fn finalize(&self, scope: &Scope<'_>, instance_root: &Value) -> Option<Node> {
        let mut nodes = self.render(scope, instance_root);
        match nodes.len() {
            0 => None,
            1 => nodes.pop(),
            _ => Some(Node {
                inst: scope.inst.clone(),
                msg: "validation failed".into(),
                causes: nodes,
            }),
        }
    }

    /// The Go library numbers the items checked by `items` (after
    /// `prefixItems`) and by `additionalItems` from 0 at the first such item.
    fn shift_items_index(&self, scope: &Scope<'_>, kw: &str, mut n: Node) -> Node {
        let offset = match kw {
            "items" => self
                .schema_at(&scope.eval)
                .and_then(|s| s.get("prefixItems"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            "additionalItems" => self
                .schema_at(&scope.eval)
                .and_then(|s| s.get("items"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            _ => 0,
        };
        if offset > 0 {
            let depth = scope.inst.len();
            shift_index(&mut n, depth, offset);
        }
        n
    }

    /// `dependencies` / `dependentRequired` failures: one line per property
    /// whose dependants are missing.
    fn dependency_nodes(&self, scope: &Scope<'_>, kw: &str, instance: Option<&Value>) -> Vec<Node> {
        let (Some(schema), Some(obj)) = (
            self.schema_at(&scope.eval),
            instance.and_then(Value::as_object),
        ) else {
            return Vec::new();
        };
        let Some(deps) = schema.get(kw).and_then(Value::as_object) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (prop, want) in deps {
            let Some(want) = want.as_array() else {
                continue;
            };
            if !obj.contains_key(prop) {
                continue;
            }
            let missing: Vec<String> = want
                .iter()
                .filter_map(Value::as_str)
                .filter(|m| !obj.contains_key(*m))
                .map(str::to_owned)
                .collect();
            if !missing.is_empty() {
                out.push(Node::leaf(
                    &scope.inst,
                    format!(
                        "properties {} required, if {} exists",
                        join_quoted(&missing),
                        quote(prop)
                    ),
                ));
            }
        }
        out
    }

    /// Errors of a branch (`anyOf`/`oneOf` context), rebuilt as a scope.
    fn branch<'e>(
        &self,
        parent: &Scope<'_>,
        leaf_eval: &[String],
        i: usize,
        errs: &'e [ValidationError<'e>],
        instance_root: &Value,
    ) -> Option<Node> {
        let mut prefix = leaf_eval.to_vec();
        prefix.push(i.to_string());
        let mut scope = Scope {
            inst: parent.inst.clone(),
            eval: prefix.clone(),
            leaves: Vec::new(),
            kids: Vec::new(),
        };
        for e in errs {
            let eval = tokens(e.evaluation_path().as_str());
            let inst = tokens(e.instance_path().as_str());
            let at = if eval.starts_with(&prefix) {
                prefix.len()
            } else {
                // Context errors carry the branch's own path; align on the
                // combinator keyword.
                eval.len().min(prefix.len())
            };
            self.insert(&mut scope, e, &eval, at, &inst, parent.inst.len());
        }
        self.finalize(&scope, instance_root)
    }

    /// The lines of a failing keyword (unevaluated properties and items
    /// fail one by one).
    fn leaf_nodes(&self, scope: &Scope<'_>, l: &Leaf<'_>, instance_root: &Value) -> Vec<Node> {
        let each = |keys: Vec<String>| -> Vec<Node> {
            keys.into_iter()
                .map(|k| {
                    let mut inst = scope.inst.clone();
                    inst.push(k);
                    Node::leaf(&inst, "false schema".into())
                })
                .collect()
        };
        match l.err.kind() {
            ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                return each(unexpected.clone());
            }
            ValidationErrorKind::UnevaluatedItems { .. } => {
                let n = len_of(l.err.instance()) as usize;
                let unexpected = match l.err.kind() {
                    ValidationErrorKind::UnevaluatedItems { unexpected } => unexpected.len(),
                    _ => 0,
                };
                let from = n.saturating_sub(unexpected);
                return each((from..n).map(|i| i.to_string()).collect());
            }
            _ => {}
        }
        vec![self.leaf_node(scope, l, instance_root)]
    }

    fn leaf_node(&self, scope: &Scope<'_>, l: &Leaf<'_>, instance_root: &Value) -> Node {
        let inst = &scope.inst;
        let v = l.err.instance();
        let msg = match l.err.kind() {
            ValidationErrorKind::Type { kind } => {
                let want: Vec<&str> = match kind {
                    jsonschema::error::TypeKind::Single(t) => vec![t.as_str()],
                    jsonschema::error::TypeKind::Multiple(set) => {
                        set.iter().map(|t| t.as_str()).collect()
                    }
                };
                let order = [
                    "null", "boolean", "number", "integer", "string", "array", "object",
                ];
                let want: Vec<&str> = order.iter().copied().filter(|t| want.contains(t)).collect();
                format!("got {}, want {}", type_name(v), want.join(" or "))
            }
            ValidationErrorKind::Constant { expected_value } => match &**expected_value {
                Value::Array(_) | Value::Object(_) => "'const' failed".into(),
                w => format!("value must be {}", display(w)),
            },
            ValidationErrorKind::Enum { options } => {
                let opts = options.as_array().cloned().unwrap_or_default();
                if opts.iter().any(|o| o.is_array() || o.is_object()) {
                    "'enum' failed".into()
                } else if opts.len() == 1 {
                    format!("value must be {}", display(&opts[0]))
                } else {
                    let all: Vec<String> = opts.iter().map(display).collect();
                    format!("value must be one of {}", all.join(", "))
                }
            }
            ValidationErrorKind::Format { format } => {
                let s = v.as_str().unwrap_or_default();
                format!(
                    "{} is not valid {format}: {}",
                    display(v),
                    format_reason(format, s)
                )
            }
            ValidationErrorKind::FalseSchema => "false schema".into(),
            ValidationErrorKind::MinProperties { limit } => {
                format!(
                    "minProperties: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::MaxProperties { limit } => {
                format!(
                    "maxProperties: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::MinItems { limit } => {
                format!(
                    "minItems: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::MaxItems { limit } => {
                format!(
                    "maxItems: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::MinLength { limit } => {
                format!(
                    "minLength: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::MaxLength { limit } => {
                format!(
                    "maxLength: got {}, want {}",
                    go_int(len_of(v)),
                    go_int(*limit)
                )
            }
            ValidationErrorKind::Minimum { limit } => num_msg("minimum", v, limit),
            ValidationErrorKind::Maximum { limit } => num_msg("maximum", v, limit),
            ValidationErrorKind::ExclusiveMinimum { limit } => {
                num_msg("exclusiveMinimum", v, limit)
            }
            ValidationErrorKind::ExclusiveMaximum { limit } => {
                num_msg("exclusiveMaximum", v, limit)
            }
            ValidationErrorKind::MultipleOf { multiple_of } => {
                let want = serde_json::to_value(multiple_of).unwrap_or(Value::Null);
                num_msg("multipleOf", v, &want)
            }
            ValidationErrorKind::Pattern { pattern } => format!(
                "{} does not match pattern {}",
                quote(v.as_str().unwrap_or_default()),
                quote(pattern)
            ),
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                format!(
                    "additional properties {} not allowed",
                    join_quoted(unexpected)
                )
            }
            ValidationErrorKind::AdditionalItems { limit } => {
                let extra = len_of(v).saturating_sub(*limit as u64);
                format!("last {} additionalItem(s) not allowed", go_int(extra))
            }
            ValidationErrorKind::UniqueItems => {
                let (i, j) = duplicate_pair(v);
                format!(
                    "items at {} and {} are equal",
                    go_int(i as u64),
                    go_int(j as u64)
                )
            }
            ValidationErrorKind::Not { .. } => "'not' failed".into(),
            ValidationErrorKind::AnyOf { context } => {
                return Node {
                    inst: inst.clone(),
                    msg: "'anyOf' failed".into(),
                    causes: context
                        .iter()
                        .enumerate()
                        .filter_map(|(i, errs)| self.branch(scope, &l.eval, i, errs, instance_root))
                        .collect(),
                };
            }
            ValidationErrorKind::OneOfNotValid { context } => {
                return Node {
                    inst: inst.clone(),
                    msg: "'oneOf' failed, none matched".into(),
                    causes: context
                        .iter()
                        .enumerate()
                        .filter_map(|(i, errs)| self.branch(scope, &l.eval, i, errs, instance_root))
                        .collect(),
                };
            }
            ValidationErrorKind::OneOfMultipleValid { context } => {
                let valid: Vec<usize> = context
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.is_empty())
                    .map(|(i, _)| i)
                    .collect();
                let (a, b) = (
                    valid.first().copied().unwrap_or(0),
                    valid.get(1).copied().unwrap_or(1),
                );
                format!(
                    "'oneOf' failed, subschemas {}, {} matched",
                    go_int(a as u64),
                    go_int(b as u64)
                )
            }
            ValidationErrorKind::Contains => {
                return Node {
                    inst: inst.clone(),
                    msg: self.contains_msg(scope, v),
                    causes: self.contains_causes(scope, v, instance_root),
                };
            }
            ValidationErrorKind::PropertyNames { error } => {
                let name = error.instance().as_str().unwrap_or_default().to_owned();
                let inner = tokens(error.evaluation_path().as_str());
                let at = inner
                    .iter()
                    .rposition(|t| t == "propertyNames")
                    .map_or(inner.len(), |p| p + 1);
                let mut sub = Scope {
                    eval: inner[..at].to_vec(),
                    ..Scope::default()
                };
                self.insert(&mut sub, error, &inner, at, &[], 0);
                let causes = self.render(&sub, error.instance());
                return Node {
                    inst: Vec::new(),
                    msg: format!("invalid propertyName {}", quote(&name)),
                    causes,
                };
            }
            ValidationErrorKind::Required { property } => {
                format!(
                    "missing property {}",
                    quote(property.as_str().unwrap_or_default())
                )
            }
            ValidationErrorKind::ContentEncoding { content_encoding } => {
                format!("value is not {} encoded", quote(content_encoding))
            }
            ValidationErrorKind::ContentMediaType { content_media_type } => {
                format!("value if not of mediatype {}", quote(content_media_type))
            }
            ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                format!(
                    "additional properties {} not allowed",
                    join_quoted(unexpected)
                )
            }
            ValidationErrorKind::UnevaluatedItems { .. } => "false schema".into(),
            ValidationErrorKind::Referencing(e) => format!("{e}"),
            _ => l.err.to_string(),
        };
        Node::leaf(inst, msg)
    }

    /// `contains`, `minContains`, `maxContains`: the message and, when no
    /// item matched, what each item failed.
    fn contains_msg(&self, scope: &Scope<'_>, v: &Value) -> String {
        let schema = self.schema_at(&scope.eval);
        let min = schema
            .and_then(|s| s.get("minContains"))
            .and_then(Value::as_u64);
        let max = schema
            .and_then(|s| s.get("maxContains"))
            .and_then(Value::as_u64);
        let matched = self.matching_items(scope, v);
        let list = matched
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        match (min, max) {
            (Some(m), _) if (matched.len() as u64) < m => {
                if matched.is_empty() {
                    format!(
                        "min {} items required to match contains schema, but none matched",
                        go_int(m)
                    )
                } else {
                    format!(
                        "min {} items required to match contains schema, but matched {} items at {list}",
                        go_int(m),
                        go_int(matched.len() as u64)
                    )
                }
            }
            (_, Some(m)) if (matched.len() as u64) > m => format!(
                "max {} items required to match contains schema, but matched {} items at {list}",
                go_int(m),
                go_int(matched.len() as u64)
            ),
            _ => "no items match contains schema".into(),
        }
    }

    /// What each item that `contains` rejects fails (listed under a
    /// `contains`/`minContains` failure).
    fn contains_causes(&self, scope: &Scope<'_>, v: &Value, instance_root: &Value) -> Vec<Node> {
        let schema = self.schema_at(&scope.eval);
        let min = schema
            .and_then(|s| s.get("minContains"))
            .and_then(Value::as_u64);
        let max = schema
            .and_then(|s| s.get("maxContains"))
            .and_then(Value::as_u64);
        let matched = self.matching_items(scope, v);
        if max.is_some_and(|m| matched.len() as u64 > m)
            && min.is_none_or(|m| matched.len() as u64 >= m)
        {
            return Vec::new();
        }
        let Some(sub) = schema.and_then(|s| s.get("contains")) else {
            return Vec::new();
        };
        let Ok(check) = jsonschema::options().with_draft(self.draft).build(sub) else {
            return Vec::new();
        };
        let mut prefix = scope.eval.clone();
        prefix.push("contains".into());
        let mut out = Vec::new();
        for (i, item) in v
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if matched.contains(&i) {
                continue;
            }
            let errs: Vec<ValidationError<'_>> = check.iter_errors(item).collect();
            let mut item_inst = scope.inst.clone();
            item_inst.push(i.to_string());
            let mut sub_scope = Scope {
                inst: item_inst.clone(),
                eval: prefix.clone(),
                leaves: Vec::new(),
                kids: Vec::new(),
            };
            let paths: Vec<(Vec<String>, Vec<String>)> = errs
                .iter()
                .map(|e| {
                    let mut eval = prefix.clone();
                    eval.extend(tokens(e.evaluation_path().as_str()));
                    let mut inst = item_inst.clone();
                    inst.extend(tokens(e.instance_path().as_str()));
                    (eval, inst)
                })
                .collect();
            for (e, (eval, inst)) in errs.iter().zip(&paths) {
                self.insert(&mut sub_scope, e, eval, prefix.len(), inst, item_inst.len());
            }
            if let Some(n) = self.finalize(&sub_scope, instance_root) {
                out.push(n);
            }
        }
        out
    }

    /// Indexes of the items of `v` that the scope's `contains` accepts.
    fn matching_items(&self, scope: &Scope<'_>, v: &Value) -> Vec<usize> {
        let Some(sub) = self.schema_at(&scope.eval).and_then(|s| s.get("contains")) else {
            return Vec::new();
        };
        let Ok(check) = jsonschema::options().with_draft(self.draft).build(sub) else {
            return Vec::new();
        };
        v.as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .filter(|(_, x)| check.is_valid(x))
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Sort rank of a keyword's failure within one scope (the Go library's
/// evaluation order).
fn rank_of(kw: &str) -> u32 {
    match kw {
        "$ref" => 5,
        "minProperties" => 10,
        "maxProperties" => 11,
        "required" => 12,
        "dependencies" => 13,
        "properties" => 14,
        "additionalProperties" => 15,
        "propertyNames" => 16,
        "dependentSchemas" => 17,
        "dependentRequired" => 18,
        "minItems" => 20,
        "maxItems" => 21,
        "uniqueItems" => 22,
        "items" | "prefixItems" => 23,
        "additionalItems" => 24,
        "contains" | "minContains" => 25,
        "maxContains" => 26,
        "minLength" => 30,
        "maxLength" => 31,
        "pattern" => 32,
        "contentEncoding" => 33,
        "contentMediaType" => 34,
        "contentSchema" => 35,
        "minimum" => 40,
        "maximum" => 41,
        "exclusiveMinimum" => 42,
        "exclusiveMaximum" => 43,
        "multipleOf" => 44,
        "$dynamicRef" | "$recursiveRef" => 50,
        "not" => 51,
        "allOf" => 52,
        "anyOf" => 53,
        "oneOf" => 54,
        "then" | "else" => 55,
        "unevaluatedProperties" => 56,
        "unevaluatedItems" => 57,
        _ => 60,
    }
}

/// Renumber the array index at `depth` of every location under `n`.
fn shift_index(n: &mut Node, depth: usize, offset: usize) {
    if let Some(t) = n.inst.get_mut(depth)
        && let Ok(i) = t.parse::<usize>()
    {
        *t = i.saturating_sub(offset).to_string();
    }
    for c in &mut n.causes {
        shift_index(c, depth, offset);
    }
}

fn value_at<'v>(root: &'v Value, inst: &[String]) -> Option<&'v Value> {
    let mut cur = root;
    for t in inst {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn find_anchor<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => {
            if m.get("$anchor").and_then(Value::as_str) == Some(name)
                || m.get("$id").and_then(Value::as_str) == Some(&format!("#{name}"))
            {
                return Some(v);
            }
            m.values().find_map(|x| find_anchor(x, name))
        }
        Value::Array(a) => a.iter().find_map(|x| find_anchor(x, name)),
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Go library's JSON type name of an instance value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Length as the keyword counts it (characters, items, properties).
fn len_of(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.chars().count() as u64,
        Value::Array(a) => a.len() as u64,
        Value::Object(m) => m.len() as u64,
        _ => 0,
    }
}

fn duplicate_pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().map(Vec::as_slice).unwrap_or_default();
    for i in 1..a.len() {
        for j in 0..i {
            if json_equal(&a[i], &a[j]) {
                return (j, i);
            }
        }
    }
    (0, 0)
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| json_equal(p, q)))
        }
        _ => a == b,
    }
}

fn num_msg(kw: &str, got: &Value, want: &Value) -> String {
    format!(
        "{kw}: got {}, want {}",
        go_float(got.as_f64().unwrap_or(0.0)),
        go_float(want.as_f64().unwrap_or(0.0))
    )
}

/// `%d` of the English `x/text/message` printer: digits grouped by commas.
fn go_int(n: u64) -> String {
    group(&n.to_string())
}

fn group(digits: &str) -> String {
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `%v` of a `float64` by the English `x/text/message` printer: Go's
/// shortest `%g` (exponent form from 1e6 up and below 1e-4) with grouped
/// integer digits and the exponent written `×10⁰⁶`.
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Shortest round-trip digits and decimal exponent.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_owned();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let sup = |c: char| match c {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        };
        let e: String = format!("{:02}", exp.unsigned_abs())
            .chars()
            .map(sup)
            .collect();
        let neg = if exp < 0 { "⁻" } else { "" };
        return format!("{sign}{m}×10{neg}{e}");
    }
    let (int, frac) = if exp >= 0 {
        let n = exp as usize + 1;
        if digits.len() <= n {
            (format!("{digits:0<n$}"), String::new())
        } else {
            (digits[..n].to_owned(), digits[n..].to_owned())
        }
    } else {
        let zeros = (-exp - 1) as usize;
        ("0".to_owned(), format!("{}{digits}", "0".repeat(zeros)))
    };
    let mut out = format!("{sign}{}", group(&int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

/// `display` of the Go library: strings quoted, containers as `value`,
/// `null` as `<nil>`.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".into(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn join_quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go's `%q` with `"` left alone and `'` escaped, in single quotes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn json_ptr(inst: &[String]) -> String {
    let mut out = String::new();
    for t in inst {
        out.push('/');
        out.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// The Go library's reason for a `format` failure.
fn format_reason(format: &str, s: &str) -> String {
    match format {
        "date-time" => date_time_reason(s),
        "date" => date_reason(s).unwrap_or_else(|| "invalid date".into()),
        "time" => time_reason(s).unwrap_or_else(|| "invalid time".into()),
        "email" | "idn-email" => email_reason(s),
        "hostname" | "idn-hostname" => {
            hostname_reason(s).unwrap_or_else(|| "invalid hostname".into())
        }
        "ipv4" => ipv4_reason(s),
        "ipv6" => "invalid ipv6 address".into(),
        "uuid" => uuid_reason(s),
        other => format!("invalid {other}"),
    }
}

fn date_time_reason(s: &str) -> String {
    if s.len() < 20 {
        return "less than 20 characters long".into();
    }
    let b = s.as_bytes();
    if b[10] != b't' && b[10] != b'T' {
        return "11th character must be t or T".into();
    }
    if let Some(r) = date_reason(&s[..10]) {
        return format!("invalid date element: {r}");
    }
    match time_reason(&s[11..]) {
        Some(r) => format!("invalid time element: {r}"),
        None => "invalid date-time".into(),
    }
}

fn date_reason(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !ok {
        return Some(format!(
            "parsing time {:?} as \"2006-01-02\": cannot parse {:?} as \"2006\"",
            s, s
        ));
    }
    None
}

fn time_reason(s: &str) -> Option<String> {
    if s.len() < 9 {
        return Some("less than 9 characters long".into());
    }
    let b = s.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return Some("missing colon in correct place".into());
    }
    None
}

fn email_reason(s: &str) -> String {
    if s.len() > 254 {
        return "more than 255 characters long".into();
    }
    let Some(at) = s.rfind('@') else {
        return "missing @".into();
    };
    let local = &s[..at];
    if local.len() > 64 {
        return "local part more than 64 characters long".into();
    }
    if local.starts_with('.') {
        return "starts with dot".into();
    }
    if local.ends_with('.') {
        return "ends with dot".into();
    }
    if local.contains("..") {
        return "consecutive dots".into();
    }
    match hostname_reason(&s[at + 1..]) {
        Some(r) => format!("invalid domain: {r}"),
        None => "invalid email".into(),
    }
}

fn hostname_reason(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Some("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Some("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Some("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!("invalid character {}", go_char(c)));
        }
    }
    None
}

fn ipv4_reason(s: &str) -> String {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return "expected four decimals".into();
    }
    for p in parts {
        if p.len() > 1 && p.starts_with('0') {
            return "leading zeros".into();
        }
        if p.parse::<u8>().is_err() {
            return "decimal must be between 0 and 255".into();
        }
    }
    "invalid ipv4".into()
}

fn uuid_reason(s: &str) -> String {
    let groups: Vec<&str> = s.split('-').collect();
    let want = [8, 4, 4, 4, 12];
    if groups.len() != want.len() {
        return "must have 5 elements".into();
    }
    for (i, (g, n)) in groups.iter().zip(want).enumerate() {
        if g.len() != n {
            return format!("element {} must be {n} characters long", i + 1);
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return format!("non-hex character {}", go_char(c));
        }
    }
    "invalid uuid".into()
}

/// Go's `%q` of a rune.
fn go_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(schema: Value, values: Value) -> String {
        validate(schema.to_string().as_bytes(), &values).expect_err("invalid values")
    }

    #[test]
    fn helm_chart_with_schema_negative() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {
                "addresses": {"items": {"properties": {"city": {"type": "string"}, "number": {"type": "number"}}, "type": "object"}, "type": "array"},
                "age": {"minimum": 0, "type": "integer"},
                "employmentInfo": {"properties": {"salary": {"minimum": 0, "type": "number"}}, "required": ["salary"], "type": "object"},
                "firstname": {"type": "string"},
            },
            "required": ["firstname", "addresses", "employmentInfo"],
            "type": "object"
        });
        let values =
            json!({"firstname": "John", "age": -5, "addresses": [{"city": "x", "number": 12345}]});
        assert_eq!(
            err(schema, values),
            "- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n"
        );
    }

    #[test]
    fn null_against_string() {
        let schema =
            json!({"properties": {"policy": {"type": "string", "enum": ["sync", "upsert-only"]}}});
        assert_eq!(
            err(schema, json!({"policy": null})),
            "- at '/policy': got null, want string\n"
        );
    }

    #[test]
    fn valid_values_pass() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        assert!(validate(schema.to_string().as_bytes(), &json!({"a": 3})).is_ok());
        assert!(validate(b"true", &json!({"a": "x"})).is_ok());
    }

    #[test]
    fn groups_and_combinators() {
        let schema = json!({
            "properties": {
                "c": {"type": "string", "minLength": 12345, "pattern": "^x'y$"},
                "e": {"allOf": [{"type": "string"}, {"minimum": 3}]},
                "f": {"anyOf": [{"type": "string"}, {"type": "object", "required": ["q", "r"]}]},
                "g": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
                "h": {"$ref": "#/definitions/h"},
                "i": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true, "maxItems": 2},
                "o": {"type": ["string", "null"]},
                "d": {"enum": ["a", 1, null, true]},
            },
            "definitions": {"h": {"type": "object", "properties": {"z": {"type": "boolean"}}, "required": ["w"]}}
        });
        let values = json!({"c": "abc", "e": 1, "f": {"q": 1}, "g": 3, "h": {"z": 1}, "i": [1, 1, "x"], "o": 5, "d": "zz"});
        let want = "\
- at '/c': validation failed
  - at '/c': minLength: got 3, want 12,345
  - at '/c': 'abc' does not match pattern '^x\\'y$'
- at '/e': 'allOf' failed
  - at '/e': got number, want string
  - at '/e': minimum: got 1, want 3
- at '/f': 'anyOf' failed
  - at '/f': got object, want string
  - at '/f': missing property 'r'
- at '/g': 'oneOf' failed, subschemas 0, 1 matched
- at '/h': validation failed
  - at '/h': missing property 'w'
  - at '/h/z': got number, want boolean
- at '/i': validation failed
  - at '/i': maxItems: got 3, want 2
  - at '/i': items at 0 and 1 are equal
  - at '/i/2': got string, want integer
- at '/o': got number, want null or string
- at '/d': value must be one of 'a', 1, <nil>, true
";
        assert_eq!(err(schema, values), want);
    }

    #[test]
    fn draft7_keywords() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {
                "l": {"format": "email"},
                "l2": {"format": "date-time"},
                "dep": {"dependencies": {"a": ["b", "c"], "x": {"required": ["y"]}}},
                "pn": {"propertyNames": {"maxLength": 2}},
                "co": {"const": {"a": 1}},
                "a/b": {"type": "string"},
                "q'x": {"type": "string"},
                "ai": {"items": [{"type": "string"}], "additionalItems": false},
                "g": {"oneOf": [{"type": "boolean"}, {"type": "integer"}]},
                "fs": false,
            },
            "required": ["zz", "aa"]
        });
        let values = json!({"l": "not-an-email", "l2": "yesterday", "dep": {"a": 1, "x": 1},
            "pn": {"abc": 1, "d": 2}, "co": {"a": 2}, "a/b": 1, "q'x": 1, "ai": ["a", 1, 2], "g": "x", "fs": 1});
        let want = "\
- at '': missing properties 'zz', 'aa'
- at '/l': 'not-an-email' is not valid email: missing @
- at '/l2': 'yesterday' is not valid date-time: less than 20 characters long
- at '/dep': validation failed
  - at '/dep': properties 'b', 'c' required, if 'a' exists
  - at '/dep': missing property 'y'
- at '': invalid propertyName 'abc'
  - at '': maxLength: got 3, want 2
- at '/co': 'const' failed
- at '/a~1b': got number, want string
- at '/q\\'x': got number, want string
- at '/ai': last 2 additionalItem(s) not allowed
- at '/g': 'oneOf' failed, none matched
  - at '/g': got string, want boolean
  - at '/g': got string, want integer
- at '/fs': false schema
";
        // propertyNames: the Go library prints the name's location as ''.
        assert_eq!(err(schema, values), want);
    }

    #[test]
    fn contains_and_prefix_items() {
        let schema = json!({"properties": {
            "mc": {"contains": {"type": "string"}, "minContains": 2},
            "pi": {"prefixItems": [{"type": "string"}], "items": false},
            "nn": {"not": {"type": "string"}},
        }});
        let values = json!({"mc": ["a", 1, 2], "pi": ["a", 1], "nn": "s"});
        let got = err(schema, values);
        assert!(got.contains("- at '/mc': min 2 items required to match contains schema, but matched 1 items at 0\n"), "{got}");
        assert!(got.contains("- at '/pi/0': false schema\n"), "{got}");
        assert!(got.contains("- at '/nn': 'not' failed\n"), "{got}");
    }

    #[test]
    fn numbers_print_like_go() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (-5.0, "-5"),
            (1234.0, "1,234"),
            (999_999.0, "999,999"),
            (1_000_000.0, "1×10⁰⁶"),
            (1_234_567.0, "1.234567×10⁰⁶"),
            (-1_234_567.5, "-1.2345675×10⁰⁶"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1×10⁻⁰⁵"),
            (0.000_012_345, "1.2345×10⁻⁰⁵"),
            (1.5e25, "1.5×10²⁵"),
            (123_456.789, "123,456.789"),
            (1.234_567_891_234_5, "1.2345678912345"),
            (100_000.5, "100,000.5"),
            (-0.001, "-0.001"),
            (12_345_678_901_234_567_890.0, "1.2345678901234567×10¹⁹"),
            (2.5e-10, "2.5×10⁻¹⁰"),
            (1e100, "1×10¹⁰⁰"),
            (-1e301, "-1×10³⁰¹"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(f), want, "{f}");
        }
        assert_eq!(go_int(12345), "12,345");
        assert_eq!(go_int(100), "100");
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(quote("a'b\"c\n"), "'a\\'b\"c\\n'");
        assert_eq!(quote("ü"), "'ü'");
    }
}
