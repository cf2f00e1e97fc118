//! The template engine (Helm v4.1.4 `pkg/engine`): every template of the
//! chart tree in one set, Helm's functions (`include`, `tpl`, `required`,
//! `fail`, `toYaml`, `fromYaml`…) over Sprig, the per-chart render data
//! (`.Values`, `.Chart`, `.Release`, `.Capabilities`, `.Files`,
//! `.Subcharts`, `.Template`), and Helm's rewording of template errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use gitops_gotemplate::{ArgType, Func, Funcs, MapRef, Template, Value};
use serde_json::{Map, Value as Json};

use super::caps::Capabilities;
use super::files::Files;
use super::yaml::{go_json_map_to_tv, go_json_to_tv, json_to_tv, map_to_tv, to_yaml};
use super::{Chart, Error, Metadata, RenderOptions};

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

struct Renderable {
    name: String,
    text: Arc<[u8]>,
    /// Which chart's data it renders with: an index in [`all_data`]'s order.
    chart: usize,
    base_path: String,
}

fn s(v: impl Into<String>) -> Value {
    Value::from(v.into())
}

fn strs(v: &[String]) -> Value {
    Value::list(v.iter().map(|x| s(x.as_str())))
}

/// Helm `MetadataAsMap` (Go field names) plus `IsRoot`.
fn metadata_map(md: &Metadata, is_root: bool) -> Value {
    let maintainers = Value::list(md.maintainers.iter().map(|m| {
        Value::map([
            ("Name", s(m.name.as_str())),
            ("Email", s(m.email.as_str())),
            ("URL", s(m.url.as_str())),
        ])
    }));
    let deps = Value::list(md.dependencies.iter().map(|d| {
        Value::map([
            ("Name", s(d.name.as_str())),
            ("Version", s(d.version.as_str())),
            ("Repository", s(d.repository.as_str())),
            ("Condition", s(d.condition.as_str())),
            ("Tags", strs(&d.tags)),
            ("Enabled", Value::Bool(d.enabled)),
            (
                "ImportValues",
                Value::list(d.import_values.iter().map(json_to_tv)),
            ),
            ("Alias", s(d.alias.as_str())),
        ])
    }));
    let annotations = if md.annotations.is_empty() {
        Value::Nil
    } else {
        Value::map(
            md.annotations
                .iter()
                .map(|(k, v)| (k.clone(), s(v.as_str()))),
        )
    };
    Value::map([
        ("Name", s(md.name.as_str())),
        ("Home", s(md.home.as_str())),
        ("Sources", strs(&md.sources)),
        ("Version", s(md.version.as_str())),
        ("Description", s(md.description.as_str())),
        ("Keywords", strs(&md.keywords)),
        ("Maintainers", maintainers),
        ("Icon", s(md.icon.as_str())),
        ("APIVersion", s(md.api_version.as_str())),
        ("Condition", s(md.condition.as_str())),
        ("Tags", s(md.tags.as_str())),
        ("AppVersion", s(md.app_version.as_str())),
        ("Deprecated", Value::Bool(md.deprecated)),
        ("Annotations", annotations),
        ("KubeVersion", s(md.kube_version.as_str())),
        ("Dependencies", deps),
        ("Type", s(md.chart_type.as_str())),
        ("IsRoot", Value::Bool(is_root)),
    ])
}

/// Helm `recAllTpls`, first half: the templates of `c` and its subcharts
/// (a library chart's partials only), each with the index of its chart in
/// [`all_data`]'s order.
fn all_templates(c: &Chart, full_path: &str, charts: &mut usize, out: &mut Vec<Renderable>) {
    let index = *charts;
    *charts += 1;
    for child in &c.dependencies {
        let sub_path = format!("{full_path}/charts/{}", child.name());
        all_templates(child, &sub_path, charts, out);
    }
    let library = c.is_library();
    for t in &c.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if library && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{full_path}/{}", t.name),
            text: t.data.clone(),
            chart: index,
            base_path: format!("{full_path}/templates"),
        });
    }
}

/// Helm `recAllTpls`, second half: the render data of `c` and of its
/// subcharts, in [`all_templates`]'s chart order.
fn all_data(
    c: &Chart,
    parent_values: Option<&Value>,
    root_values: &Value,
    release: &Value,
    caps: &Value,
    out: &mut Vec<Value>,
) -> Value {
    let is_root = parent_values.is_none();
    let values = match parent_values {
        None => root_values.clone(),
        Some(pv) => match pv.as_map().and_then(|m| m.get(c.name())) {
            Some(v @ Value::Map(_)) => v,
            _ => Value::map::<String>([]),
        },
    };
    let subcharts = MapRef::new(BTreeMap::new());
    let next = Value::map([
        ("Chart", metadata_map(&c.metadata, is_root)),
        ("Files", Value::Object(Arc::new(Files::new(&c.files)))),
        ("Release", release.clone()),
        ("Capabilities", caps.clone()),
        ("Values", values.clone()),
        ("Subcharts", Value::Map(subcharts.clone())),
    ]);
    let index = out.len();
    out.push(Value::Nil);
    for child in &c.dependencies {
        let v = all_data(child, Some(&values), root_values, release, caps, out);
        subcharts.insert(child.name(), v);
    }
    out[index] = next.clone();
    next
}

/// Helm `sortTemplates`: more path segments first, then names descending.
fn sort_templates(t: &mut [Renderable]) {
    t.sort_by(|a, b| {
        let ca = a.name.matches('/').count();
        let cb = b.name.matches('/').count();
        cb.cmp(&ca).then_with(|| b.name.cmp(&a.name))
    });
}

fn warn_wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

fn funcs(options: &RenderOptions) -> Funcs {
    // pkg/engine/funcs.go funcMap: Sprig without `env` and `expandenv`.
    let mut f = gitops_gotemplate::sprig::funcs_with(options.environment.clone());
    f.remove("env");
    f.remove("expandenv");
    let mut extra = Funcs::new();
    extra.insert(
        "toYaml",
        Func::new(|a| Ok(Value::from(to_yaml(&a[0]).unwrap_or_default()))).params([ArgType::Any]),
    );
    extra.insert(
        "mustToYaml",
        Func::new(|a| to_yaml(&a[0]).map(Value::from)).params([ArgType::Any]),
    );
    extra.insert(
        "toYamlPretty",
        Func::new(|_| Err("toYamlPretty is not supported by this implementation".into()))
            .params([ArgType::Any]),
    );
    // Helm returns the encoder's error text as the result.
    extra.insert(
        "toToml",
        Func::new(|a| Ok(s(super::toml::to_toml(&a[0]).unwrap_or_else(|e| e))))
            .params([ArgType::Any]),
    );
    extra.insert(
        "fromToml",
        Func::new(|a| {
            Ok(
                match super::toml::from_toml(a[0].as_str().unwrap_or_default()) {
                    Ok(v) => v,
                    Err(e) => Value::map([("Error", s(e))]),
                },
            )
        })
        .params([ArgType::String]),
    );
    extra.insert(
        "fromYaml",
        Func::new(|a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match super::yaml::parse_first(text) {
                Ok(Json::Object(m)) => map_to_tv(&m),
                Ok(Json::Null) => Value::map::<String>([]),
                Ok(other) => Value::map([(
                    "Error",
                    s(format!(
                        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(&other)
                    )),
                )]),
                Err(e) => Value::map([("Error", s(format!("error converting YAML to JSON: {e}")))]),
            })
        })
        .params([ArgType::String]),
    );
    extra.insert(
        "fromYamlArray",
        Func::new(|a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match super::yaml::parse_first(text) {
                Ok(Json::Array(l)) => Value::list(l.iter().map(json_to_tv)),
                Ok(Json::Null) => Value::list([]),
                Ok(other) => Value::list([s(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                ))]),
                Err(e) => Value::list([s(format!("error converting YAML to JSON: {e}"))]),
            })
        })
        .params([ArgType::String]),
    );
    extra.insert(
        "fromJson",
        Func::new(|a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match serde_json::from_str::<Json>(text) {
                Ok(Json::Object(m)) => go_json_map_to_tv(&m),
                Ok(Json::Null) => Value::map::<String>([]),
                Ok(other) => Value::map([(
                    "Error",
                    s(format!(
                        "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(&other)
                    )),
                )]),
                Err(e) => Value::map([("Error", s(e.to_string()))]),
            })
        })
        .params([ArgType::String]),
    );
    extra.insert(
        "fromJsonArray",
        Func::new(|a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match serde_json::from_str::<Json>(text) {
                Ok(Json::Array(l)) => Value::list(l.iter().map(go_json_to_tv)),
                Ok(Json::Null) => Value::list([]),
                Ok(other) => Value::list([s(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                ))]),
                Err(e) => Value::list([s(e.to_string())]),
            })
        })
        .params([ArgType::String]),
    );
    extra.insert(
        "required",
        Func::new(|a| {
            let warn = a[0].as_str().unwrap_or_default();
            match &a[1] {
                Value::Nil => Err(warn_wrap(warn)),
                Value::String(x) if x.is_empty() => Err(warn_wrap(warn)),
                v => Ok(v.clone()),
            }
        })
        .params([ArgType::String, ArgType::Any]),
    );
    extra.insert(
        "fail",
        Func::new(|a| Err(warn_wrap(a[0].as_str().unwrap_or_default()))).params([ArgType::String]),
    );
    extra.insert(
        "lookup",
        Func::new(|_| Ok(Value::map::<String>([]))).params([
            ArgType::String,
            ArgType::String,
            ArgType::String,
            ArgType::String,
        ]),
    );
    extra.insert(
        "getHostByName",
        Func::new(|_| Ok(s(""))).params([ArgType::String]),
    );
    let max = options.max_include_depth;
    extra.insert(
        "include",
        Func::with_context(move |ctx, a| {
            let name = a[0].as_str().unwrap_or_default();
            let Some(_nested) = Including::enter(name, max) else {
                return Err(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                ));
            };
            let r = ctx.execute(name, &a[1]);
            r.map(Value::from).map_err(|e| e.to_string())
        })
        .params([ArgType::String, ArgType::Any]),
    );
    extra.insert(
        "tpl",
        Func::with_context(|ctx, a| {
            let text = a[0].as_str().unwrap_or_default();
            if !text.contains("{{") {
                // No actions: the text is its own output.
                return Ok(s(text.replace("<no value>", "")));
            }
            // Helm clones the set and parses the text into the clone under
            // the set's name; an overlay shares the set instead of copying it.
            let mut t = ctx.template().overlay();
            let name = t.name().to_string();
            t.parse(&name, text).map_err(|e| {
                format!(
                    "cannot parse template {}: {e}",
                    gitops_gotemplate::go_quote(text)
                )
            })?;
            let out = ctx.execute_in(&t, &name, &a[1]).map_err(|e| {
                format!(
                    "error during tpl function execution for {}: {e}",
                    gitops_gotemplate::go_quote(text)
                )
            })?;
            Ok(s(out.replace("<no value>", "")))
        })
        .params([ArgType::String, ArgType::Any]),
    );
    if !f.contains("toJson") {
        extra.insert(
            "toJson",
            Func::new(|a| {
                Ok(s(super::yaml::tv_to_json(&a[0], 0)
                    .map(|j| j.to_string())
                    .unwrap_or_default()))
            })
            .params([ArgType::Any]),
        );
    }
    f.extend(extra);
    f
}

thread_local! {
    /// Helm's `includedNames`: how many `include` calls of each template
    /// name are in progress. A template runs on one thread, so the count
    /// of its thread is the count of its calls.
    static INCLUDING: std::cell::RefCell<HashMap<String, usize>> = Default::default();
}

/// One `include` call in progress, counted in [`INCLUDING`] until dropped.
struct Including<'n>(&'n str);

impl<'n> Including<'n> {
    /// Counts a call of `name`; `None` when more than `max` are in
    /// progress already.
    fn enter(name: &'n str, max: usize) -> Option<Including<'n>> {
        INCLUDING.with(|c| {
            let mut c = c.borrow_mut();
            match c.get_mut(name) {
                Some(v) if *v > max => return None,
                Some(v) => *v += 1,
                None => {
                    c.insert(name.to_string(), 1);
                }
            }
            Some(Including(name))
        })
    }
}

impl Drop for Including<'_> {
    fn drop(&mut self) {
        INCLUDING.with(|c| {
            let mut c = c.borrow_mut();
            match c.get_mut(self.0) {
                Some(v) if *v > 1 => *v -= 1,
                // A name no call is in progress for is counted as new.
                _ => {
                    c.remove(self.0);
                }
            }
        });
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Render every template of the chart tree: `prepare` turns each (template
/// path, output) into what `emit` takes, on the thread that rendered it,
/// and `emit` gets them in Helm's execution order, partials excluded. `emit`
/// is dropped as soon as the last template is rendered. Returns the parsed
/// templates, for the caller to drop where it suits it (they are many
/// small allocations).
pub(crate) fn render<P: Send>(
    chart: &Chart,
    values: &Map<String, Json>,
    caps: &Capabilities,
    options: &RenderOptions,
    prepare: impl Fn(String, String) -> P + Sync,
    mut emit: impl FnMut(P),
) -> Result<Template, Error> {
    let mut tpls = Vec::new();
    all_templates(chart, chart.name(), &mut 0, &mut tpls);
    sort_templates(&mut tpls);
    let texts: Vec<(&str, std::borrow::Cow<'_, str>)> = tpls
        .iter()
        .map(|r| (r.name.as_str(), super::utf8_text(&r.text)))
        .collect();
    let datas = {
        let release = Value::map([
            ("Name", s(options.release_name.as_str())),
            ("Namespace", s(options.namespace.as_str())),
            ("IsUpgrade", Value::Bool(options.is_upgrade)),
            ("IsInstall", Value::Bool(!options.is_upgrade)),
            ("Revision", Value::Int(1)),
            ("Service", s("Helm")),
        ]);
        let mut datas = Vec::new();
        all_data(
            chart,
            None,
            &map_to_tv(values),
            &release,
            &caps.value(),
            &mut datas,
        );
        datas
    };
    let t = parse_templates(&texts, options).map_err(|(i, e)| match tpls.get(i) {
        Some(r) => Error::Template(cleanup_parse_error(&r.name, &e.to_string())),
        None => Error::Template(e.to_string()),
    })?;
    drop(texts);
    // Partials (`_*.tpl`) are only ever included.
    let todo: Vec<&Renderable> = tpls
        .iter()
        .filter(|r| {
            !r.name
                .rsplit('/')
                .next()
                .unwrap_or(&r.name)
                .starts_with('_')
        })
        .collect();
    let mut total = 0usize;
    // Counts the output of one template (its length) against the budget.
    let mut emit_checked = |len: usize, prepared: P| {
        total += len;
        if total > options.max_output_bytes {
            return Err(Error::Limit(format!(
                "rendered output exceeds {} bytes",
                options.max_output_bytes
            )));
        }
        emit(prepared);
        Ok(())
    };
    let threads = exec_threads(&todo, options);
    let from = if threads > 1 {
        side_by_side(
            &t,
            &todo,
            &datas,
            options,
            threads,
            &prepare,
            &mut emit_checked,
        )?
    } else {
        0
    };
    for r in &todo[from..] {
        let data = &datas[r.chart];
        if let Value::Map(m) = data {
            m.insert("Template", template_value(r));
        }
        let rendered = execute(&t, r, data)?;
        emit_checked(rendered.len(), prepare(r.name.clone(), rendered))?;
    }
    drop(emit);
    Ok(t)
}

/// Helm's `.Template` of a template.
fn template_value(r: &Renderable) -> Value {
    Value::map([
        ("Name", s(r.name.as_str())),
        ("BasePath", s(r.base_path.as_str())),
    ])
}

/// Runs one template: its output with Helm's `<no value>` removal, or
/// the error as Helm words it.
fn execute(t: &Template, r: &Renderable, data: &Value) -> Result<String, Error> {
    let mut buf = String::new();
    match t.execute(&r.name, data, &mut buf) {
        Ok(()) => {}
        Err(gitops_gotemplate::Error::Limit { message, .. }) => {
            return Err(Error::Limit(format!("{}: {message}", r.name)));
        }
        Err(e @ gitops_gotemplate::Error::Exec { .. }) => {
            return Err(Error::Template(reformat_exec_error(
                &r.name,
                &e.to_string(),
            )));
        }
        Err(e) => return Err(Error::Template(e.to_string())),
    }
    Ok(if buf.contains("<no value>") {
        buf.replace("<no value>", "")
    } else {
        buf
    })
}

/// Template text per thread from which rendering on more than one thread
/// pays for starting them.
const EXEC_THREADS_MIN_BYTES: usize = 64 << 10;

/// How many threads to render `todo` on: as many as cores, one per
/// [`EXEC_THREADS_MIN_BYTES`] of template text, unless the options say.
fn exec_threads(todo: &[&Renderable], options: &RenderOptions) -> usize {
    let n = match options.threads {
        Some(n) => n,
        None => {
            let bytes: usize = todo.iter().map(|r| r.text.len()).sum();
            std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(bytes / EXEC_THREADS_MIN_BYTES)
        }
    };
    n.min(todo.len()).max(1)
}

/// What one template gave when run beside others: the length of its
/// output and the output prepared.
struct Outcome<P> {
    rendered: Result<(usize, P), Error>,
    /// It tried to change data shared with other templates.
    refused: bool,
}

/// Runs the templates of `todo` on `threads` threads, each output
/// `prepare`d where it was rendered, and hands them to `emit` in order.
/// Returns how many were handed over; the caller runs the rest one after
/// the other.
///
/// Helm runs templates one after the other over data they share (`.Values`
/// of every chart, each chart's top-level data), and a template may
/// change it (`set .Values …`) for those after it. Here every shared map
/// is frozen (`gitops_gotemplate::Freeze`) and each template gets its own
/// copy of its chart's top-level map with its `.Template`. A template whose
/// write was refused, and every one after it, is run again one after the
/// other once the freeze is over; those before it read exactly what they
/// would have read one after the other. The first error in order is the
/// one returned, as when run one by one.
fn side_by_side<P: Send>(
    t: &Template,
    todo: &[&Renderable],
    datas: &[Value],
    options: &RenderOptions,
    threads: usize,
    prepare: &(dyn Fn(String, String) -> P + Sync),
    emit: &mut dyn FnMut(usize, P) -> Result<(), Error>,
) -> Result<usize, Error> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mut freeze = gitops_gotemplate::Freeze::new();
    datas.iter().for_each(|d| freeze.add(d));
    let own: Vec<Value> = todo
        .iter()
        .map(|r| {
            let mut top = match &datas[r.chart] {
                Value::Map(m) => m.to_btree_map(),
                _ => BTreeMap::new(),
            };
            top.insert("Template".to_string(), template_value(r));
            let v = Value::Map(MapRef::new(top));
            freeze.add(&v);
            v
        })
        .collect();
    let n = todo.len();
    let next = AtomicUsize::new(0);
    // Templates from this index on are not started: one before it failed,
    // was refused, or the output budget is spent.
    let stop = AtomicUsize::new(n);
    let produced = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome<P>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    // Runs the next template; false when there is none to start.
    let step = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= stop.load(Ordering::Acquire) {
            return false;
        }
        let before = gitops_gotemplate::Freeze::refused_on_this_thread();
        let rendered = execute(t, todo[i], &own[i]);
        let refused = gitops_gotemplate::Freeze::refused_on_this_thread() != before;
        let len = rendered.as_ref().map_or(0, String::len);
        let rendered = rendered.map(|r| (len, prepare(todo[i].name.clone(), r)));
        let spent = produced.fetch_add(len, Ordering::Relaxed) + len > options.max_output_bytes;
        if refused || rendered.is_err() || spent {
            stop.fetch_min(i + 1, Ordering::Release);
        }
        *lock(&slots[i]) = Some(Outcome { rendered, refused });
        true
    };
    // Hands over the finished outcomes from `done` on, in order. `Some(i)`:
    // the template at `i` is to run again one by one (refused, or, when
    // `last`, never started).
    let mut done = 0usize;
    let mut hand_over = |last: bool| -> Result<Option<usize>, Error> {
        while done < n {
            let Some(o) = lock(&slots[done]).take() else {
                return Ok(last.then_some(done));
            };
            if o.refused {
                return Ok(Some(done));
            }
            let (len, prepared) = o.rendered?;
            emit(len, prepared)?;
            done += 1;
        }
        Ok(None)
    };
    let mut ended = Ok(None);
    std::thread::scope(|s| {
        for _ in 1..threads {
            // Without a second thread this one does all the work.
            let _ = std::thread::Builder::new()
                .name("helm-render".into())
                .stack_size(super::RENDER_STACK)
                .spawn_scoped(s, || while step() {});
        }
        while step() {
            // Outputs go on to be sorted while the others render.
            match hand_over(false) {
                Ok(None) => {}
                other => {
                    stop.store(0, Ordering::Release);
                    ended = other;
                    break;
                }
            }
        }
    });
    let again = match ended {
        Ok(None) => hand_over(true)?,
        other => other?,
    };
    drop(freeze);
    Ok(again.unwrap_or(n))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The template set with every template parsed (Helm's functions, options
/// and limits); the index of the text that failed (`usize::MAX`: none).
fn parse_templates(
    texts: &[(&str, std::borrow::Cow<'_, str>)],
    options: &RenderOptions,
) -> Result<Template, (usize, gitops_gotemplate::Error)> {
    let mut t = Template::with_funcs("gotpl", funcs(options));
    t.set_option("missingkey=zero")
        .map_err(|e| (usize::MAX, e))?;
    {
        let o = t.options_mut();
        o.max_depth = options.max_include_depth + 100;
        o.max_output = Some(options.max_output_bytes);
        o.max_steps = Some(options.max_steps);
        o.deadline = options.deadline;
        o.parse_threads = options
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    }
    t.parse_all(texts)?;
    Ok(t)
}

/// Helm `cleanupParseError`.
fn cleanup_parse_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {err}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

#[derive(PartialEq, Eq)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

impl Traceable {
    fn render(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed.is_empty() {
            out.push_str(&self.executed);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
    }
}

fn cut_template(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// One link of Go's error chain: the parsed form, and the wrapped error's
/// text when this link wraps one (`error calling NAME: %w`).
fn parse_link(s: &str) -> Option<(Traceable, Option<&str>)> {
    let rem = s.strip_prefix("template: ")?;
    if rem.starts_with("no template ") {
        return Some((
            Traceable {
                location: String::new(),
                message: s.to_string(),
                executed: String::new(),
            },
            None,
        ));
    }
    if let Some(idx) = rem.find(": executing ") {
        let name = &rem[..idx];
        let after = &rem[idx + ": executing ".len()..];
        let after_q = after.strip_prefix('"')?;
        let endq = after_q.find('"')?;
        let func = &after_q[..endq];
        let after_at = after_q[endq + 1..].strip_prefix(" at <")?;
        let end_loc = after_at.find(">: ")?;
        let loc = &after_at[..end_loc];
        let full_msg = &after_at[end_loc + 3..];
        let wrapped = full_msg
            .strip_prefix("error calling ")
            .and_then(|r| r.find(": ").map(|i| &r[i + 2..]));
        return Some((
            Traceable {
                location: name.to_string(),
                message: cut_template(full_msg).to_string(),
                executed: format!("executing \"{func}\" at <{loc}>:"),
            },
            wrapped,
        ));
    }
    let sep = rem.rfind(": ")?;
    Some((
        Traceable {
            location: rem[..sep].to_string(),
            message: cut_template(&rem[sep + 2..]).to_string(),
            executed: String::new(),
        },
        None,
    ))
}

/// Helm `reformatExecErrorMsg`.
fn reformat_exec_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {err}");
    }
    let location = tokens[1];
    if let Some(start) = tokens[2].find(WARN_START) {
        let rest = &tokens[2][start + WARN_START.len()..];
        if let Some(end) = rest.rfind(WARN_END) {
            return format!("execution error at ({location}): {}", &rest[..end]);
        }
    }
    let mut links: Vec<Traceable> = Vec::new();
    let mut cur = Some(err);
    while let Some(c) = cur {
        let Some((t, wrapped)) = parse_link(c) else {
            return err.to_string();
        };
        if links.last() != Some(&t) {
            links.push(t);
        }
        cur = wrapped;
    }
    let mut out = String::new();
    for l in &links {
        l.render(&mut out);
    }
    out.trim_matches(super::is_go_space).to_string()
}
