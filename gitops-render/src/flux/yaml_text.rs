//! A JSON value as the YAML text Flux substitutes on.
//!
//! kustomize-controller marshals each object with `sigs.k8s.io/yaml` (Go
//! yaml.v2 underneath) before running envsubst, and reads the result back
//! with yaml.v2's YAML 1.1 typing. The text shape decides what users see:
//! strings that would read as another type are double-quoted (so a quoted
//! `"${PORT}"` in Git loses its quotes, and `8080` substituted into it
//! becomes a number), other strings are plain when YAML allows, then
//! single-quoted, and multi-line strings are literal blocks.

use gitops_core::yaml::{Scalar, Schema};
use serde_json::Value;

/// Block-style YAML for `v` (keys sorted, sequences not indented under keys).
pub(crate) fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => emit_seq(&mut out, a, 0),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn emit_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let mut first = true;
    for k in keys {
        if !first {
            pad(out, indent);
        }
        first = false;
        if k.contains('\n') {
            out.push_str(&double_quoted(k));
        } else {
            out.push_str(&scalar_string(k, indent));
        }
        out.push(':');
        emit_value_after_key(out, &m[k.as_str()], indent);
    }
}

fn emit_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            emit_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent);
            emit_seq(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, indent + 2));
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, a: &[Value], indent: usize) {
    let mut first = true;
    for item in a {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => emit_map(out, m, indent + 2),
            Value::Array(s) if !s.is_empty() => emit_seq(out, s, indent + 2),
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn inline(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s, indent),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn is_printable(c: char) -> bool {
    c == '\n'
        || ('\u{20}'..='\u{7e}').contains(&c)
        || c == '\u{85}'
        || ('\u{a0}'..='\u{d7ff}').contains(&c)
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
        || ('\u{10000}'..='\u{10ffff}').contains(&c)
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

fn is_base60_float(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut parts = t.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    let mut rest: Vec<&str> = parts.collect();
    if rest.is_empty()
        || head.is_empty()
        || !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let last = rest.pop().unwrap_or_default();
    let (last_int, frac) = last.split_once('.').unwrap_or((last, ""));
    let sexa = |p: &str| {
        !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()) && {
            let v: u32 = p.parse().unwrap_or(99);
            v < 60
        }
    };
    rest.iter().all(|p| sexa(p))
        && sexa(last_int)
        && frac.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// How libyaml would write `s`: plain, single-quoted, literal block or
/// double-quoted, after yaml.v2 asked for double quotes on strings that
/// would read back as another type.
fn scalar_string(s: &str, indent: usize) -> String {
    let retyped = Scalar::plain_would_change_type(s, Schema::Yaml11)
        || is_base60_float(s)
        || looks_like_timestamp(s)
        || s == "<<"
        || s == "=";
    let special = s.chars().any(|c| !is_printable(c));
    if !retyped && s.contains('\n') && !special {
        if let Some(block) = literal_block(s, indent) {
            return block;
        }
        return double_quoted(s);
    }
    if retyped || special || s.contains('\n') {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn plain_allowed(s: &str) -> bool {
    if s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.starts_with("---")
        || s.starts_with("...")
    {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t');
        let preceded_by_ws = i > 0 && matches!(chars[i - 1], ' ' | '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => return false,
                '?' | ':' | '-' if followed_by_ws => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => return false,
                '#' if preceded_by_ws => return false,
                _ => {}
            }
        }
    }
    true
}

fn literal_block(s: &str, indent: usize) -> Option<String> {
    if s.ends_with(' ') || s.contains(" \n") {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let indicator = if s.starts_with(' ') || s.starts_with('\n') {
        "2"
    } else {
        ""
    };
    let mut out = format!("|{indicator}{chomp}");
    let lines: Vec<&str> = if trailing > 1 {
        s[..s.len() - 1].split('\n').collect()
    } else {
        body.split('\n').collect()
    };
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent.max(2)));
            out.push_str(line);
        }
    }
    Some(out)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::yaml::parse_documents;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml(v);
        let docs = parse_documents(&text, "t").unwrap_or_else(|e| panic!("{e}\n{text}"));
        docs[0].root.to_json(Schema::Yaml11)
    }

    #[test]
    fn shapes() {
        let v = json!({"b": [1, {"x": "y", "a": []}], "a": {"k": "v"}, "c": "on"});
        assert_eq!(
            to_yaml(&v),
            "a:\n  k: v\nb:\n- 1\n- a: []\n  x: \"y\"\nc: \"on\"\n"
        );
    }

    #[test]
    fn strings_round_trip() {
        for s in [
            "",
            " x",
            "x ",
            "a: b",
            "#c",
            "a #c",
            "- x",
            "-x",
            "1.0",
            "010",
            "yes",
            "~",
            "null",
            "it's",
            "multi\nline\n",
            "multi\nline",
            "tail\n\n",
            " lead\nx",
            "tab\there",
            "${VAR}",
            "\"q\"",
            "2024-01-01",
            "1:30",
            "<<",
            "ünï",
            "a\u{1}b",
            "x:",
            "[x]",
            "{x}",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "|x",
            ">x",
            "?x",
            "? x",
            ": x",
        ] {
            let v = json!({"k": s, s: 1});
            assert_eq!(round_trip(&v), v, "{s:?}\n{}", to_yaml(&v));
        }
    }
}
