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
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let max = options.max_include_depth;
    let c2 = counts.clone();
    extra.insert(
        "include",
        Func::with_context(move |ctx, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            {
                let mut c = c2.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let v = c.entry(name.clone()).or_insert(0);
                if *v > max {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *v += 1;
            }
            let r = ctx.execute(&name, &a[1]);
            if let Some(v) = c2
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_mut(&name)
            {
                *v = v.saturating_sub(1);
            }
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

/// Render every template of the chart tree, handing each (template path,
/// output) to `emit` in Helm's execution order, partials excluded. `emit`
/// is dropped as soon as the last template is rendered. Returns the parsed
/// templates, for the caller to drop where it suits it (they are many
/// small allocations).
pub(crate) fn render(
    chart: &Chart,
    values: &Map<String, Json>,
    caps: &Capabilities,
    options: &RenderOptions,
    mut emit: impl FnMut(String, String),
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
    let mut total = 0usize;
    for r in &tpls {
        let base = r.name.rsplit('/').next().unwrap_or(&r.name);
        if base.starts_with('_') {
            continue;
        }
        let data = &datas[r.chart];
        if let Value::Map(m) = data {
            m.insert(
                "Template",
                Value::map([
                    ("Name", s(r.name.as_str())),
                    ("BasePath", s(r.base_path.as_str())),
                ]),
            );
        }
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
        let rendered = if buf.contains("<no value>") {
            buf.replace("<no value>", "")
        } else {
            buf
        };
        total += rendered.len();
        if total > options.max_output_bytes {
            return Err(Error::Limit(format!(
                "rendered output exceeds {} bytes",
                options.max_output_bytes
            )));
        }
        emit(r.name.clone(), rendered);
    }
    drop(emit);
    Ok(t)
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
        o.parse_threads = std::thread::available_parallelism().map_or(1, usize::from);
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
