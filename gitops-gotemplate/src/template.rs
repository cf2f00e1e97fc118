//! The template set: parse texts into it, execute templates by name.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// How many threads [`Template::parse_all`] may use, the calling thread
    /// included; 1 by default. Texts are parsed on several threads only
    /// when there is enough text to pay for starting them.
    pub parse_threads: usize,
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
            parse_threads: 1,
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
///
/// Cloning a set is cheap: its templates and functions are shared until
/// one of the copies changes them. [`Template::overlay`] gives a copy whose
/// later parses go to a small map of its own, looked up before the shared
/// templates, so that parsing one more text into it (Helm's `tpl`) costs
/// only that text's parse.
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    /// Templates parsed into this copy after [`Template::overlay`]; looked
    /// up first.
    overlay: Option<HashMap<String, Arc<Tree>>>,
    trees: Arc<HashMap<String, Arc<Tree>>>,
    /// Texts parsed into this set, with the trees they gave: a text parsed
    /// again (the same library chart vendored by several subcharts) shares
    /// the bodies instead of being lexed and parsed again.
    parsed: Arc<HashMap<ParseKey, Arc<Parsed>>>,
    funcs: Arc<Funcs>,
    options: Options,
}

/// What a parse depends on besides the name: the text and the options.
/// The hash covers the text's length and its ends only (texts are long,
/// and equal keys compare the whole text), computed once.
#[derive(Clone, Debug)]
struct ParseKey {
    hash: u64,
    text: Arc<str>,
    left: String,
    right: String,
    max_depth: usize,
    skip_func_check: bool,
}

impl ParseKey {
    fn new(text: Arc<str>, options: &Options) -> ParseKey {
        const ENDS: usize = 512;
        let b = text.as_bytes();
        let mut h = std::hash::DefaultHasher::new();
        b.len().hash(&mut h);
        b[..b.len().min(ENDS)].hash(&mut h);
        b[b.len().saturating_sub(ENDS)..].hash(&mut h);
        ParseKey {
            hash: h.finish(),
            text,
            left: options.left_delim.clone(),
            right: options.right_delim.clone(),
            max_depth: options.max_parse_depth,
            skip_func_check: options.skip_func_check,
        }
    }
}

impl PartialEq for ParseKey {
    fn eq(&self, other: &ParseKey) -> bool {
        self.hash == other.hash
            && self.text == other.text
            && self.left == other.left
            && self.right == other.right
            && self.max_depth == other.max_depth
            && self.skip_func_check == other.skip_func_check
    }
}

impl Eq for ParseKey {}

impl Hash for ParseKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The trees of one successful parse, under the name it was parsed with.
#[derive(Debug)]
struct Parsed {
    name: String,
    trees: Vec<Arc<Tree>>,
}

/// Texts below this size are parsed every time (the lookup would cost
/// about as much as the parse).
const SHARE_MIN_TEXT: usize = 256;

/// [`Template::parse_all`] starts a thread per this much text at most:
/// below it, starting a thread costs about as much as the parse.
const PARALLEL_MIN_BYTES: usize = 32 << 10;

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

impl Parsed {
    /// The trees as a parse of the same text under `name` gives them: the
    /// text's own tree renamed, every tree's errors located in `name`.
    /// `None` when a definition in the text is named like either parse,
    /// where the outcome depends on the name.
    fn renamed(&self, name: &str) -> Option<Vec<Arc<Tree>>> {
        if name == self.name {
            return Some(self.trees.clone());
        }
        let own = |t: &Tree| t.name == self.name;
        if self.trees.iter().filter(|t| own(t)).count() != 1
            || self.trees.iter().any(|t| t.name == name)
        {
            return None;
        }
        let first = self.trees.first()?;
        let source = Arc::new(parse::Source {
            parse_name: name.to_string(),
            text: first.source.text.clone(),
        });
        Some(
            self.trees
                .iter()
                .map(|t| {
                    Arc::new(Tree {
                        name: if own(t) {
                            name.to_string()
                        } else {
                            t.name.clone()
                        },
                        source: source.clone(),
                        root: t.root.clone(),
                    })
                })
                .collect(),
        )
    }
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
            overlay: None,
            trees: Arc::new(HashMap::new()),
            parsed: Arc::default(),
            funcs: Arc::new(funcs),
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
        // Which names are functions decides what parses.
        self.parsed = Arc::default();
        Arc::make_mut(&mut self.funcs)
    }

    /// A copy of the set whose later parses go to a map of its own, in
    /// front of the templates it shares with this set: parsing into it does
    /// not copy the set's templates. Templates, functions and options are
    /// those of this set; the set itself is unchanged by parses into the
    /// copy.
    ///
    /// ```
    /// use gitops_gotemplate::{Template, Value};
    ///
    /// let mut base = Template::new("gotpl");
    /// base.parse("_h.tpl", r#"{{ define "x" }}base{{ end }}"#)?;
    /// let mut t = base.overlay();
    /// t.parse("gotpl", r#"{{ define "x" }}mine{{ end }}{{ template "x" }}"#)?;
    /// assert_eq!(t.render("gotpl", &Value::Nil)?, "mine");
    /// assert_eq!(base.render("_h.tpl", &Value::Nil)?, "");
    /// assert!(!base.has_template("gotpl"));
    /// # Ok::<(), gitops_gotemplate::Error>(())
    /// ```
    pub fn overlay(&self) -> Template {
        Template {
            name: self.name.clone(),
            overlay: Some(self.overlay.clone().unwrap_or_default()),
            trees: self.trees.clone(),
            parsed: Arc::default(),
            funcs: self.funcs.clone(),
            options: self.options.clone(),
        }
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
        let key = self.share_key(text);
        let reused = key
            .as_ref()
            .and_then(|k| self.parsed.get(k))
            .and_then(|p| p.renamed(name));
        let trees = match reused {
            Some(t) => t,
            None => self.parse_text(name, text, key.as_ref())?,
        };
        self.add_trees(name, trees, key);
        Ok(self)
    }

    /// Parses each `(name, text)` of `texts` into the set, as calling
    /// [`Template::parse`] on each in order does: a later definition
    /// replaces an earlier one. The texts are parsed on up to
    /// [`Options::parse_threads`] threads (helpers with stacks sized for
    /// [`Options::max_parse_depth`]) and added in order.
    ///
    /// On error, the texts before the first one that fails are in the set,
    /// and the error comes with that text's index.
    ///
    /// ```
    /// use gitops_gotemplate::{Template, Value};
    ///
    /// let mut t = Template::new("gotpl");
    /// t.options_mut().parse_threads = 2;
    /// t.parse_all(&[
    ///     ("a.tpl", r#"{{ define "x" }}a{{ end }}"#),
    ///     ("b.tpl", r#"{{ define "x" }}b{{ end }}"#),
    ///     ("c", r#"{{ template "x" }}"#),
    /// ])
    /// .map_err(|(_, e)| e)?;
    /// assert_eq!(t.render("c", &Value::Nil)?, "b");
    /// let (index, _) = t.parse_all(&[("d", "{{ ok }}"), ("e", "{{ end }}")]).unwrap_err();
    /// assert_eq!(index, 0);
    /// # Ok::<(), gitops_gotemplate::Error>(())
    /// ```
    pub fn parse_all<N, T>(&mut self, texts: &[(N, T)]) -> Result<&mut Template, (usize, Error)>
    where
        N: AsRef<str> + Sync,
        T: AsRef<str> + Sync,
    {
        // Only a text as long as another (in `texts` or parsed before) can
        // be a repeat: the others are neither copied nor hashed for sharing.
        let mut lengths: HashMap<usize, usize> = HashMap::new();
        for len in texts
            .iter()
            .map(|(_, t)| t.as_ref().len())
            .chain(self.parsed.keys().map(|k| k.text.len()))
        {
            *lengths.entry(len).or_default() += 1;
        }
        let keys: Vec<Option<ParseKey>> = texts
            .iter()
            .map(|(_, text)| {
                let text = text.as_ref();
                if lengths.get(&text.len()).is_some_and(|&n| n > 1) {
                    self.share_key(text)
                } else {
                    None
                }
            })
            .collect();
        // A text seen before (in the set or earlier in `texts`) is parsed
        // once; the others are parsed ahead, largest first.
        let mut todo: Vec<usize> = Vec::new();
        {
            let mut first: HashMap<&ParseKey, usize> = HashMap::new();
            for (i, key) in keys.iter().enumerate() {
                match key {
                    Some(k) if self.parsed.contains_key(k) => {}
                    Some(k) => {
                        if first.insert(k, i).is_none() {
                            todo.push(i);
                        }
                    }
                    None => todo.push(i),
                }
            }
        }
        let mut ahead = self.parse_ahead(texts, &keys, todo);
        for (i, ((name, text), key)) in texts.iter().zip(keys).enumerate() {
            let (name, text) = (name.as_ref(), text.as_ref());
            let reused = key
                .as_ref()
                .and_then(|k| self.parsed.get(k))
                .and_then(|p| p.renamed(name));
            let trees = match (reused, ahead[i].take()) {
                (Some(t), _) => t,
                (None, Some(parsed)) => parsed
                    .map(|trees| trees.into_iter().map(Arc::new).collect())
                    .map_err(|f| (i, Error::Parse(f.0)))?,
                (None, None) => self
                    .parse_text(name, text, key.as_ref())
                    .map_err(|e| (i, e))?,
            };
            self.add_trees(name, trees, key);
        }
        Ok(self)
    }

    /// The trees of the texts at `todo`, parsed on up to
    /// [`Options::parse_threads`] threads: a slot per text, filled for the
    /// texts of `todo`.
    fn parse_ahead<N, T>(
        &self,
        texts: &[(N, T)],
        keys: &[Option<ParseKey>],
        mut todo: Vec<usize>,
    ) -> Vec<Option<parse::PResult<Vec<Tree>>>>
    where
        N: AsRef<str> + Sync,
        T: AsRef<str> + Sync,
    {
        let mut slots: Vec<Option<parse::PResult<Vec<Tree>>>> = Vec::new();
        slots.resize_with(texts.len(), || None);
        let bytes: usize = todo.iter().map(|&i| texts[i].1.as_ref().len()).sum();
        let threads = self
            .options
            .parse_threads
            .min(bytes / PARALLEL_MIN_BYTES)
            .min(todo.len());
        if threads < 2 {
            return slots;
        }
        todo.sort_by_key(|&i| std::cmp::Reverse(texts[i].1.as_ref().len()));
        let next = AtomicUsize::new(0);
        let done = Mutex::new(&mut slots);
        let work = || {
            let funcs = &*self.funcs;
            let has_function = |n: &str| funcs.contains(n) || builtins().contains_key(n);
            let opts = self.parse_options(&has_function);
            let mut mine = Vec::new();
            while let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                let (name, text) = (texts[i].0.as_ref(), texts[i].1.as_ref());
                let parsed = match &keys[i] {
                    Some(k) => parse::parse_shared(name, k.text.clone(), &opts),
                    None => parse::parse(name, text, &opts),
                };
                let failed = parsed.is_err();
                mine.push((i, parsed));
                if failed {
                    break;
                }
            }
            let mut slots = done
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (i, parsed) in mine {
                slots[i] = Some(parsed);
            }
        };
        // Each nesting level of a text is a few native frames.
        let stack = (1 << 20) + self.options.max_parse_depth.saturating_mul(64 << 10);
        std::thread::scope(|s| {
            for _ in 1..threads {
                // A helper that cannot start leaves its share to the others
                // (and texts nobody parsed are parsed in order afterwards).
                let _ = std::thread::Builder::new()
                    .name("gotemplate-parse".into())
                    .stack_size(stack)
                    .spawn_scoped(s, work);
            }
            work();
        });
        slots
    }

    /// The key under which a parse of `text` is shared, when it is.
    fn share_key(&self, text: &str) -> Option<ParseKey> {
        (self.overlay.is_none() && text.len() >= SHARE_MIN_TEXT)
            .then(|| ParseKey::new(Arc::from(text), &self.options))
    }

    fn parse_options<'f>(&'f self, has_function: &'f dyn Fn(&str) -> bool) -> ParseOptions<'f> {
        ParseOptions {
            left: &self.options.left_delim,
            right: &self.options.right_delim,
            max_depth: self.options.max_parse_depth,
            has_function,
            skip_func_check: self.options.skip_func_check,
        }
    }

    /// Parses `text` as `name` on this thread.
    fn parse_text(
        &self,
        name: &str,
        text: &str,
        key: Option<&ParseKey>,
    ) -> Result<Vec<Arc<Tree>>, Error> {
        let funcs = &*self.funcs;
        let has_function = |n: &str| funcs.contains(n) || builtins().contains_key(n);
        let opts = self.parse_options(&has_function);
        let parsed = match key {
            Some(k) => parse::parse_shared(name, k.text.clone(), &opts),
            None => parse::parse(name, text, &opts),
        };
        Ok(parsed
            .map_err(|f| Error::Parse(f.0))?
            .into_iter()
            .map(Arc::new)
            .collect())
    }

    /// Adds the trees of a successful parse of a text as `name`, and
    /// remembers the parse under `key`.
    fn add_trees(&mut self, name: &str, trees: Vec<Arc<Tree>>, key: Option<ParseKey>) {
        if let Some(k) = key
            && !self.parsed.contains_key(&k)
        {
            Arc::make_mut(&mut self.parsed).insert(
                k,
                Arc::new(Parsed {
                    name: name.to_string(),
                    trees: trees.clone(),
                }),
            );
        }
        for tree in trees {
            if tree.is_empty() && self.has_template(&tree.name) {
                continue;
            }
            let name = tree.name.clone();
            match &mut self.overlay {
                Some(o) => o.insert(name, tree),
                None => Arc::make_mut(&mut self.trees).insert(name, tree),
            };
        }
    }

    /// Whether a template of that name is in the set.
    pub fn has_template(&self, name: &str) -> bool {
        self.tree(name).is_some()
    }

    /// The names of the templates in the set, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        if let Some(o) = &self.overlay {
            names.extend(
                o.keys()
                    .map(String::as_str)
                    .filter(|n| !self.trees.contains_key(*n)),
            );
        }
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
        if let Some(t) = self.overlay.as_ref().and_then(|o| o.get(name)) {
            return Some(t);
        }
        self.trees.get(name).map(Arc::as_ref)
    }

    pub(crate) fn funcs(&self) -> &Funcs {
        &self.funcs
    }

    pub(crate) fn builtin(&self, name: &str) -> Option<&'static Func> {
        builtins().get(name)
    }
}
