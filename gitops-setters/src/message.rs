//! Commit messages from a template, with the data Flux gives its templates.
//!
//! Flux's ImageUpdateAutomation renders `spec.git.commit.messageTemplate`
//! (Go `text/template` + sprig's hermetic functions) with this data; we render
//! [MiniJinja](https://docs.rs/minijinja) templates with the same fields under
//! Rust-style names:
//!
//! | Flux (Go template)                          | here (MiniJinja)                                  |
//! |---------------------------------------------|---------------------------------------------------|
//! | `{{ .AutomationObject }}`                   | `{{ automation_object }}` (renders `namespace/name`) |
//! | `.AutomationObject.Namespace` / `.Name`     | `automation_object.namespace` / `.name`           |
//! | `range .Changed.Changes` → `.OldValue`, `.NewValue`, `.Setter` | `for c in changed.changes` → `c.old_value`, `c.new_value`, `c.setter` |
//! | `range $file, $objs := .Changed.FileChanges` | `for f in changed.file_changes` → `f.file`, `f.objects` |
//! | `range $obj, $changes := .Changed.Objects` → `$obj.Kind`, `$obj.Name`, `$obj.Namespace`, `$obj.APIVersion` | `for o in changed.objects` → `o.kind`, `o.name`, `o.namespace`, `o.api_version`, `o.changes` |
//! | `.Values.key`, `index .Values "key"`        | `values.key`, `values["key"]`                     |
//!
//! Go maps iterate in key order; our lists are sorted the same way (files by
//! path, objects by apiVersion, kind, namespace, name). Each change in a
//! file's object list also has `c.old_value`, `c.new_value`, `c.setter`.
//! Sprig functions map onto MiniJinja filters (`lower`, `upper`, `title`,
//! `trim`, `replace`, `join`, `default`, `length`, `first`, `last`, `sort`,
//! `unique`…). An undefined field is an error (as a missing field is in Go).
//!
//! A template written for Flux (Go `text/template`: `{{ .Field }}`,
//! `{{ range … }}`, `{{ $x := … }}`, `{{ printf … .X }}`, `{{/* */}}`) is
//! not rendered: [`render`] and [`check`] return [`Error::GoTemplate`] with
//! the construct, its line and the MiniJinja equivalent, instead of a
//! confusing syntax error or, worse, a silently wrong message.
//!
//! ```
//! use gitops_setters::message::{self, AutomationObject, TemplateData};
//! use gitops_setters::Report;
//!
//! let data = TemplateData::new(&Report::default(), AutomationObject::new("flux-system", "apps"))
//!     .with_value("cluster", "prod");
//! assert_eq!(message::render(None, &data)?, "Update from image update automation");
//! assert_eq!(
//!     message::render(Some("[{{ values.cluster }}] {{ automation_object }}\n"), &data)?,
//!     "[prod] flux-system/apps\n",
//! );
//! assert!(message::render(Some("{{ changed.nope.x }}"), &data).is_err());
//! # Ok::<(), message::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::report::{ChangeSummary, FileChanges, ObjectChanges, Report};

/// Flux's default commit message template.
pub const DEFAULT_TEMPLATE: &str = "Update from image update automation";

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The template does not parse or fails while rendering (names the line).
    #[error("cannot render commit message template")]
    Template(#[from] minijinja::Error),
    /// The template is a Go `text/template` (Flux's syntax), which this crate
    /// does not render: rewrite it in MiniJinja (see the table above).
    #[error(
        "line {line}: Go template syntax {construct:?} is not supported: commit message templates are MiniJinja; {hint}"
    )]
    GoTemplate {
        /// The action as written, e.g. `{{ range .Changed.Changes }}`.
        construct: String,
        /// 1-based line of the template where it starts.
        line: usize,
        /// The MiniJinja equivalent.
        hint: &'static str,
    },
}

const GO_KEYWORDS: [&str; 10] = [
    "range", "end", "if", "else", "with", "define", "template", "block", "break", "continue",
];

/// `inner` with the text of quoted strings removed.
fn without_strings(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut quote = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                }
            }
            None => {
                if c == '"' || c == '\'' || c == '`' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// Whether an action's body is Go template syntax, and the hint for it.
fn go_action(inner: &str) -> Option<&'static str> {
    let body = inner.trim_start_matches('-').trim_end_matches('-').trim();
    let body = without_strings(body);
    let first = body.split_whitespace().next().unwrap_or("");
    let field_hint = |f: &str| {
        if f.starts_with(".AutomationObject") {
            "use {{ automation_object }} (or automation_object.namespace / .name)"
        } else if f.starts_with(".Changed") {
            "use changed.changes, changed.file_changes or changed.objects with snake_case fields"
        } else if f.starts_with(".Values") {
            "use values.<key> or values[\"<key>\"]"
        } else if f.starts_with(".Updated") {
            "Flux removed .Updated; use changed.* (changes, file_changes, objects)"
        } else {
            "fields are snake_case without a leading dot (automation_object, changed, values)"
        }
    };
    if GO_KEYWORDS.contains(&first) {
        return Some(match first {
            "range" => "use {% for x in … %}…{% endfor %}",
            "if" | "else" => "use {% if … %}…{% else %}…{% endif %}",
            "end" => "close blocks with {% endfor %} / {% endif %}",
            "with" => "use {% with x = … %}…{% endwith %} or plain attribute access",
            _ => "use MiniJinja blocks and macros",
        });
    }
    if body.starts_with("/*") {
        return Some("write comments as {# … #}");
    }
    if first.starts_with('.') {
        return Some(field_hint(first));
    }
    if first.starts_with('$') || body.contains(":=") {
        return Some("use {% set x = … %} or loop variables instead of $variables");
    }
    // A `.Field` argument after a function name: `printf "%s" .X`, `index .Values "k"`.
    let b = body.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'.'
            && matches!(b[i - 1], b' ' | b'\t' | b'(' | b'|')
            && b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic())
        {
            let rest = &body[i..];
            let field = rest.split_whitespace().next().unwrap_or(rest);
            return Some(field_hint(field));
        }
    }
    None
}

/// The first Go template construct in `template`: (action text, line, hint).
fn find_go_construct(template: &str) -> Option<(String, usize, &'static str)> {
    let mut at = 0;
    while let Some(start) = template[at..].find("{{").map(|i| i + at) {
        let end = template[start + 2..].find("}}").map(|i| i + start + 2)?;
        let inner = &template[start + 2..end];
        if let Some(hint) = go_action(inner) {
            let line = template[..start].matches('\n').count() + 1;
            return Some((template[start..end + 2].to_owned(), line, hint));
        }
        at = end + 2;
    }
    None
}

/// The automation the commit is made for (Flux's `.AutomationObject`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AutomationObject {
    /// Namespace of the ImageUpdateAutomation.
    pub namespace: String,
    /// Name of the ImageUpdateAutomation.
    pub name: String,
}

impl AutomationObject {
    /// An automation object from its namespace and name.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> AutomationObject {
        AutomationObject {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for AutomationObject {
    /// `namespace/name`, as Go's `types.NamespacedName` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl Object for AutomationObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "namespace" => Some(Value::from(self.namespace.as_str())),
            "name" => Some(Value::from(self.name.as_str())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["namespace", "name"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// What changed (Flux's `.Changed`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// Distinct changes (Flux's `.Changed.Changes`).
    pub changes: Vec<ChangeSummary>,
    /// Changes by file, then object (Flux's `.Changed.FileChanges`).
    pub file_changes: Vec<FileChanges>,
    /// Changes by object (Flux's `.Changed.Objects`).
    pub objects: Vec<ObjectChanges>,
}

/// The value a commit message template is rendered with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TemplateData {
    /// Flux's `.AutomationObject`.
    pub automation_object: AutomationObject,
    /// Flux's `.Changed`.
    pub changed: Changed,
    /// Flux's `.Values` (`spec.git.commit.messageTemplateValues`).
    pub values: BTreeMap<String, String>,
}

impl TemplateData {
    /// The data for `report`, made by `automation`.
    pub fn new(report: &Report, automation: AutomationObject) -> TemplateData {
        TemplateData {
            automation_object: automation,
            changed: Changed {
                changes: report.unique_changes(),
                file_changes: report.file_changes(),
                objects: report.objects(),
            },
            values: BTreeMap::new(),
        }
    }

    /// Add a template value.
    #[must_use]
    pub fn with_value(mut self, key: impl Into<String>, value: impl Into<String>) -> TemplateData {
        self.values.insert(key.into(), value.into());
        self
    }
}

/// Check `template` without rendering it: Go template syntax
/// ([`Error::GoTemplate`]) and MiniJinja syntax errors ([`Error::Template`]).
/// Lets a caller refuse a bad template before doing any work.
///
/// ```
/// use gitops_setters::message;
///
/// assert!(message::check(Some("{% for c in changed.changes %}{{ c.new_value }}{% endfor %}")).is_ok());
/// assert!(message::check(Some("{{ .AutomationObject }}")).is_err());
/// assert!(message::check(Some("{% for c in %}")).is_err());
/// ```
pub fn check(template: Option<&str>) -> Result<(), Error> {
    let template = template
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TEMPLATE);
    if let Some((construct, line, hint)) = find_go_construct(template) {
        return Err(Error::GoTemplate {
            construct,
            line,
            hint,
        });
    }
    let env = Environment::new();
    env.template_from_str(template)?;
    Ok(())
}

/// Render `template` (Flux's default message when `None` or empty) with `data`.
///
/// A Go template (Flux's syntax: `{{ .Field }}`, `{{ range … }}`,
/// `{{ $x := … }}`, `{{ printf "%s" .X }}`) is refused with
/// [`Error::GoTemplate`] naming the construct and its line, never rendered
/// wrongly:
///
/// ```
/// use gitops_setters::message::{self, AutomationObject, Error, TemplateData};
///
/// let data = TemplateData::new(&Default::default(), AutomationObject::new("flux-system", "apps"));
/// let err = message::render(Some("Automated\n{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}"), &data).unwrap_err();
/// let Error::GoTemplate { construct, line, .. } = &err else { panic!() };
/// assert_eq!((construct.as_str(), *line), ("{{ range .Changed.Changes }}", 2));
/// assert!(err.to_string().contains("{% for x in … %}"));
/// ```
pub fn render(template: Option<&str>, data: &TemplateData) -> Result<String, Error> {
    let template = template
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TEMPLATE);
    if let Some((construct, line, hint)) = find_go_construct(template) {
        return Err(Error::GoTemplate {
            construct,
            line,
            hint,
        });
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let ctx = minijinja::context! {
        automation_object => Value::from_object(data.automation_object.clone()),
        changed => Value::from_serialize(&data.changed),
        values => Value::from_serialize(&data.values),
    };
    Ok(env.render_str(template, ctx)?)
}
