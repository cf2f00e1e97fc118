//! The template set: parse texts into it, execute templates by name.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::Error;
use crate::exec;
use crate::funcs::{Func, Funcs, builtin};
use crate::parse::{self, ParseOptions, Tree};
use crate::value::Value;

/// What a missing map key yields (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingKey {
    /// `missingkey=default` (or `invalid`): no value, printed `<no value>`;
    /// fields of it are no value too.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type, a nil
    /// `interface{}` for Helm's values. Printed `<no value>` as well, but a
    /// field of it fails with `nil pointer evaluating interface {}.x`.
    /// `helm template` uses this unless `--strict` is given.
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key`.
    Error,
}

/// Parse and execution options, with bounds against hostile templates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// What a missing map key yields.
    pub missing_key: MissingKey,
    /// The left action delimiter, `{{` by default (used by later parses).
    pub left_delim: String,
    /// The right action delimiter, `}}` by default (used by later parses).
    pub right_delim: String,
    /// How deep `{{template}}` calls (and [`CallContext::execute`]) may
    /// nest. Go allows 100000 and Helm bounds `include` at 1000; every
    /// level uses native stack, so the default, 256, is sized for a 2 MiB
    /// thread stack in a debug build. Raise it on a larger stack.
    ///
    /// [`CallContext::execute`]: crate::CallContext::execute
    pub max_depth: usize,
    /// How deep parentheses and `if`/`range`/`with` blocks may nest in a
    /// text; 100 by default, for the same reason. Go bounds parentheses at
    /// 10000 and blocks not at all.
    pub max_parse_depth: usize,
    /// The most bytes an execution may write, nested calls included.
    pub max_output: Option<usize>,
    /// The most steps (nodes walked and commands evaluated) an execution may take.
    pub max_steps: Option<u64>,
    /// A point in time after which execution stops.
    pub deadline: Option<Instant>,
    /// Parse without checking that called functions exist (Go's `SkipFuncCheck`).
    pub skip_func_check: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            missing_key: MissingKey::Default,
            left_delim: "{{".into(),
            right_delim: "}}".into(),
            max_depth: 256,
            max_parse_depth: 100,
            max_output: None,
            max_steps: None,
            deadline: None,
            skip_func_check: false,
        }
    }
}

/// A set of named templates sharing functions and options, like a Go
/// `*template.Template` and its associated templates.
///
/// Every text parsed into the set adds a template under the name it was
/// parsed with, plus one per `{{define}}` and `{{block}}` in it. A later
/// non-empty definition replaces an earlier one; an empty one (only space
/// and comments) never replaces anything.
///
/// ```
/// use gitops_gotemplate::{Template, Value};
///
/// let mut t = Template::new("gotpl");
/// t.parse("_helpers.tpl", r#"{{ define "name" }}{{ .Values.name | default "x" }}{{ end }}"#)
///     .unwrap_err(); // `default` is not a Go builtin
/// t.parse("_helpers.tpl", r#"{{- define "name" -}} app-{{ .name }} {{- end }}"#)?;
/// t.parse("deploy.yaml", "name: {{ template \"name\" .Values }}\nreplicas: {{ .Values.replicas }}")?;
/// let data = Value::map([(
///     "Values",
///     Value::map([("name", Value::from("web")), ("replicas", Value::from(3.0))]),
/// )]);
/// assert_eq!(t.render("deploy.yaml", &data)?, "name: app-web\nreplicas: 3");
/// # Ok::<(), gitops_gotemplate::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    trees: HashMap<String, Arc<Tree>>,
    funcs: Funcs,
    options: Options,
}

fn builtins() -> &'static HashMap<&'static str, Func> {
    static BUILTINS: OnceLock<HashMap<&'static str, Func>> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        [
            "and", "or", "call", "html", "index", "slice", "js", "len", "not", "print", "printf",
            "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
        ]
        .into_iter()
        .filter_map(|n| builtin(n).map(|f| (n, f)))
        .collect()
    })
}

impl Template {
    /// An empty set named `name` (the name appears in "no template"
    /// errors; Helm names its set `gotpl`).
    pub fn new(name: impl Into<String>) -> Template {
        Template::with_funcs(name, Funcs::new())
    }

    /// An empty set with these functions.
    pub fn with_funcs(name: impl Into<String>, funcs: Funcs) -> Template {
        Template {
            name: name.into(),
            trees: HashMap::new(),
            funcs,
            options: Options::default(),
        }
    }

    /// A set holding one parsed text, named after it.
    pub fn from_text(name: &str, text: &str) -> Result<Template, Error> {
        let mut t = Template::new(name);
        t.parse(name, text)?;
        Ok(t)
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The functions templates may call (add to them before parsing).
    pub fn funcs_mut(&mut self) -> &mut Funcs {
        &mut self.funcs
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The options, to change.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// Applies a Go option string: `missingkey=default|invalid|zero|error`.
    pub fn set_option(&mut self, option: &str) -> Result<&mut Template, Error> {
        self.options.missing_key = match option {
            "missingkey=default" | "missingkey=invalid" => MissingKey::Default,
            "missingkey=zero" => MissingKey::Zero,
            "missingkey=error" => MissingKey::Error,
            other => return Err(Error::Option(other.to_string())),
        };
        Ok(self)
    }

    /// Parses `text` as the template `name`, adding it and the templates it
    /// defines to the set. On error the set is unchanged.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<&mut Template, Error> {
        let funcs = &self.funcs;
        let has_function = |n: &str| funcs.contains(n) || builtins().contains_key(n);
        let opts = ParseOptions {
            left: &self.options.left_delim,
            right: &self.options.right_delim,
            max_depth: self.options.max_parse_depth,
            has_function: &has_function,
            skip_func_check: self.options.skip_func_check,
        };
        let trees = parse::parse(name, text, &opts).map_err(|f| Error::Parse(f.0))?;
        for tree in trees {
            if tree.is_empty() && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), Arc::new(tree));
        }
        Ok(self)
    }

    /// Whether a template of that name is in the set.
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of the templates in the set, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Go's `DefinedTemplates`: `; defined templates are: "a", "b"` or empty
    /// (sorted here; Go lists them in map order).
    pub fn defined_templates(&self) -> String {
        let names = self.template_names();
        if names.is_empty() {
            return String::new();
        }
        let quoted: Vec<String> = names.iter().map(|n| crate::fmt::go_quote(n)).collect();
        format!("; defined templates are: {}", quoted.join(", "))
    }

    /// Executes the template `name` with `data` as dot, appending to `out`.
    /// On error, `out` holds what was written before it.
    pub fn execute(&self, name: &str, data: &Value, out: &mut String) -> Result<(), Error> {
        exec::execute(self, name, data, out)
    }

    /// Executes the template `name` into a new string.
    pub fn render(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute(name, data, &mut out)?;
        Ok(out)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<&Tree> {
        self.trees.get(name).map(Arc::as_ref)
    }

    pub(crate) fn funcs(&self) -> &Funcs {
        &self.funcs
    }

    pub(crate) fn builtin(&self, name: &str) -> Option<&'static Func> {
        builtins().get(name)
    }
}
