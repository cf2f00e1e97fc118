//! Helm's `toToml` and `fromToml` (`pkg/engine/funcs.go`): the
//! `github.com/BurntSushi/toml` v1.6 encoder's output for template values,
//! and TOML documents read into template values.
//!
//! The encoder writes a table's plain keys first, then its tables and
//! arrays of tables, each group sorted; nested table headers and their
//! keys are indented two spaces per level; top-level tables are preceded by
//! a blank line. Floats print as Go's `strconv.FormatFloat(f, 'g', -1, 64)`
//! with `.0` added when there is neither a `.` nor an exponent.
//!
//! # Deviation
//! - `fromToml` reads with the `toml_edit` parser: the `Error` text of an
//!   invalid document is that parser's, not BurntSushi's (`toml: line N
//!   …`), and date-times become strings (RFC 3339 text) instead of Go
//!   `time.Time` values.
//! - `toToml` of a value holding a Go object other than maps, lists and
//!   scalars (`.Files`, a date) fails with an error; Go would encode the
//!   struct's fields.

use gitops_gotemplate::Value;

const ERR_NIL_ELEMENT: &str = "toml: cannot encode array with nil element";
const ERR_NO_KEY: &str = "toml: top-level values must be Go maps or structs";

/// The TOML type of a value, as the encoder classifies it (`tomlTypeOfGo`).
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Nil,
    Scalar,
    Array,
    Table,
    ArrayOfTables,
}

fn kind(v: &Value) -> Result<Kind, String> {
    Ok(match v {
        Value::Nil => Kind::Nil,
        Value::Map(_) => Kind::Table,
        Value::List(l) => {
            if l.is_empty() {
                return Ok(Kind::Array);
            }
            let mut all_tables = true;
            for e in l.iter() {
                match kind(e)? {
                    Kind::Nil => return Err(ERR_NIL_ELEMENT.into()),
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables {
                Kind::ArrayOfTables
            } else {
                Kind::Array
            }
        }
        Value::Object(o) => {
            return Err(format!("toml: unsupported type: {}", o.type_name()));
        }
        _ => Kind::Scalar,
    })
}

/// `toml.NewEncoder(b).Encode(v)`: the document, or the encoder's error.
pub(crate) fn to_toml(v: &Value) -> Result<String, String> {
    let mut enc = Encoder {
        out: String::new(),
        written: false,
    };
    match v {
        Value::Nil => {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        Value::Map(_) => enc.table(&[], v)?,
        other => {
            kind(other)?;
            return Err(ERR_NO_KEY.into());
        }
    }
    Ok(enc.out)
}

struct Encoder {
    out: String,
    written: bool,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(&mut self, key: &[&str]) {
        for _ in 1..key.len() {
            self.write("  ");
        }
    }

    fn encode(&mut self, key: &[&str], v: &Value) -> Result<(), String> {
        match kind(v)? {
            Kind::Nil => Ok(()),
            Kind::Scalar | Kind::Array => self.key_value(key, v),
            Kind::Table => {
                if key.len() == 1 {
                    self.newline();
                }
                self.indent(key);
                let header = format!("[{}]", key_string(key));
                self.write(&header);
                self.newline();
                self.table(key, v)
            }
            Kind::ArrayOfTables => {
                let Value::List(l) = v else { return Ok(()) };
                for t in l.iter() {
                    self.newline();
                    self.indent(key);
                    let header = format!("[[{}]]", key_string(key));
                    self.write(&header);
                    self.newline();
                    self.table(key, t)?;
                }
                Ok(())
            }
        }
    }

    /// `eMap`, not inline: plain keys, then tables.
    fn table(&mut self, key: &[&str], v: &Value) -> Result<(), String> {
        let Value::Map(m) = v else { return Ok(()) };
        let entries = m.entries();
        let (direct, sub) = plain_then_tables(&entries)?;
        for (k, e) in direct.into_iter().chain(sub) {
            if e.is_nil() {
                continue;
            }
            let mut path = key.to_vec();
            path.push(k);
            self.encode(&path, e)?;
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[&str], v: &Value) -> Result<(), String> {
        self.indent(key);
        let k = maybe_quoted(key.last().copied().unwrap_or_default());
        self.write(&k);
        self.write(" = ");
        self.element(v)?;
        self.newline();
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::String(s) => {
                let q = quoted(s);
                self.write(&q);
            }
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Int(i) => self.write(&i.to_string()),
            Value::Float(f) => {
                let s = float_text(*f);
                self.write(&s);
            }
            Value::List(l) => {
                self.write("[");
                for (i, e) in l.iter().enumerate() {
                    self.element(e)?;
                    if i + 1 != l.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Map(m) => {
                // `eMap` inline: `{k = v, …}`, plain keys then tables.
                let entries = m.entries();
                let (direct, sub) = plain_then_tables(&entries)?;
                let has_sub = !sub.is_empty();
                self.write("{");
                for (group, trail) in [(direct, has_sub), (sub, false)] {
                    let n = group.len();
                    for (i, (k, e)) in group.into_iter().enumerate() {
                        if e.is_nil() {
                            continue;
                        }
                        self.write(&maybe_quoted(k));
                        self.write(" = ");
                        self.element(e)?;
                        if trail || i + 1 != n {
                            self.write(", ");
                        }
                    }
                }
                self.write("}");
            }
            Value::Nil => return Err(ERR_NIL_ELEMENT.into()),
            Value::Object(o) => {
                return Err(format!("toml: unsupported type: {}", o.type_name()));
            }
            _ => return Err("toml: unsupported value".into()),
        }
        Ok(())
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, then `floatAddDecimal`.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    let s = gitops_gotemplate::sprintf("%g", &[Value::Float(f)]);
    if s.contains(['e', '.']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn is_bare(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn maybe_quoted(k: &str) -> String {
    if is_bare(k) { k.to_string() } else { quoted(k) }
}

fn key_string(key: &[&str]) -> String {
    key.iter()
        .map(|k| maybe_quoted(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// `writeQuoted`: `"…"` with BurntSushi's replacements.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `toml.Unmarshal` into a `map[string]interface{}`: the document's
/// table, or the parser's error text.
pub(crate) fn from_toml(text: &str) -> Result<Value, String> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let msg = e.to_string();
        msg.lines()
            .next()
            .unwrap_or("invalid TOML")
            .trim()
            .to_string()
    })?;
    Ok(table_value(doc.as_table()))
}

fn table_value(t: &toml_edit::Table) -> Value {
    Value::map(
        t.iter()
            .filter_map(|(k, item)| Some((k, item_value(item)?))),
    )
}

fn item_value(item: &toml_edit::Item) -> Option<Value> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(value(v)),
        toml_edit::Item::Table(t) => Some(table_value(t)),
        toml_edit::Item::ArrayOfTables(a) => Some(Value::list(a.iter().map(table_value))),
    }
}

fn value(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::from(s.value().as_str()),
        toml_edit::Value::Integer(i) => Value::Int(*i.value()),
        toml_edit::Value::Float(f) => Value::Float(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::from(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::list(a.iter().map(value)),
        toml_edit::Value::InlineTable(t) => {
            Value::map(t.iter().map(|(k, v)| (k.to_string(), value(v))))
        }
    }
}

/// A map entry, borrowed.
type Entry<'a> = (&'a str, &'a Value);

/// A map's entries split as `eMap` writes them: plain keys first, then
/// tables and arrays of tables, each in key order.
fn plain_then_tables(
    entries: &[(String, Value)],
) -> Result<(Vec<Entry<'_>>, Vec<Entry<'_>>), String> {
    let mut direct = Vec::new();
    let mut sub = Vec::new();
    for (k, e) in entries {
        match kind(e)? {
            Kind::Table | Kind::ArrayOfTables => sub.push((k.as_str(), e)),
            _ => direct.push((k.as_str(), e)),
        }
    }
    Ok((direct, sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(entries: Vec<(&str, Value)>) -> Value {
        Value::map(entries)
    }

    #[test]
    fn encodes_like_burntsushi() {
        let v = m(vec![
            (
                "t",
                m(vec![
                    ("b", Value::Float(2.0)),
                    ("s", m(vec![("c", Value::from("x\"y"))])),
                ]),
            ),
            ("a", Value::Int(1)),
            ("f", Value::Float(1.5e6)),
            ("l", Value::list([Value::Float(1.0), Value::from("a")])),
            ("n", Value::Nil),
            (
                "arr",
                Value::list([m(vec![("x", Value::Bool(true))]), m(vec![])]),
            ),
            ("my key", Value::Float(0.25)),
        ]);
        assert_eq!(
            to_toml(&v).unwrap(),
            "a = 1\nf = 1.5e+06\nl = [1.0, \"a\"]\n\"my key\" = 0.25\n\n[[arr]]\n  x = true\n\n[[arr]]\n\n[t]\n  b = 2.0\n  [t.s]\n    c = \"x\\\"y\"\n"
        );
        assert_eq!(
            to_toml(&Value::from("x")).unwrap_err(),
            "toml: top-level values must be Go maps or structs"
        );
        assert_eq!(
            to_toml(&m(vec![("l", Value::list([Value::Nil]))])).unwrap_err(),
            "toml: cannot encode array with nil element"
        );
        assert_eq!(
            to_toml(&m(vec![(
                "l",
                Value::list([
                    Value::Int(1),
                    m(vec![("a", Value::Int(2)), ("b", Value::Nil)])
                ])
            )]))
            .unwrap(),
            "l = [1, {a = 2, }]\n"
        );
    }

    #[test]
    fn decodes_tables_and_types() {
        let v = from_toml("a = 1\nb = 1.5\n[t]\nc = \"x\"\n[[arr]]\nd = true\n").unwrap();
        assert_eq!(
            gitops_gotemplate::sprint(&[v]),
            "map[a:1 arr:[map[d:true]] b:1.5 t:map[c:x]]"
        );
        assert!(from_toml("a = ").is_err());
    }
}
