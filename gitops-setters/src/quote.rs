//! Writing a new value into the place of an existing scalar.
//!
//! The scalar keeps its style (plain, single- or double-quoted) when the new
//! value can be written in it and still reads back as the same *string*;
//! otherwise it is double-quoted. A plain `1.10` would read back as a float
//! and `yes` as a boolean (YAML 1.1, Go yaml.v2), so those get quotes.

use gitops_core::yaml::{Scalar, Schema};

use crate::scan::ScalarStyle;

/// The source text for `value` replacing a scalar written in `style`, in flow
/// context when `flow`. `None` for block scalars (never rewritten).
pub(crate) fn render(value: &str, style: ScalarStyle, flow: bool) -> Option<String> {
    match style {
        ScalarStyle::Plain if plain_ok(value, flow) && !changes_type(value) => {
            Some(value.to_owned())
        }
        ScalarStyle::SingleQuoted if single_ok(value) => {
            Some(format!("'{}'", value.replace('\'', "''")))
        }
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            Some(double_quoted(value))
        }
        ScalarStyle::Literal | ScalarStyle::Folded => None,
    }
}

/// True when a plain scalar with this text would not read back as a string
/// under YAML 1.2 core (yaml.v3, kyaml) or YAML 1.1 (yaml.v2, Kubernetes
/// clients, Helm): null, booleans, ints, floats, and — conservatively —
/// YAML 1.1 timestamps, base-60 numbers and the merge key.
pub(crate) fn changes_type(v: &str) -> bool {
    Scalar::plain_would_change_type(v, Schema::Core)
        || Scalar::plain_would_change_type(v, Schema::Yaml11)
        || is_timestamp(v)
        || is_sexagesimal(v)
        || v == "<<"
        || v == "="
}

/// `YYYY-M-D`, optionally followed by a time part (YAML 1.1 timestamp).
fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let n = b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (min..=max).contains(&n).then_some(from + n)
    };
    let Some(i) = digits(0, 4, 4) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    matches!(b.get(i), None | Some(b'T' | b't' | b' ' | b'\t'))
}

/// `[-+]?[0-9][0-9_]*(:[0-9_]+)+(\.[0-9_]*)?` (YAML 1.1 base 60).
fn is_sexagesimal(v: &str) -> bool {
    let body = v.strip_prefix(['-', '+']).unwrap_or(v);
    body.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && body.contains(':')
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'_' | b':' | b'.'))
}

fn printable(c: char) -> bool {
    !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
}

/// Can `v` be written as a plain scalar (on one line) in this context?
pub(crate) fn plain_ok(v: &str, flow: bool) -> bool {
    let Some(first) = v.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first == ' ' || first == '\t' {
        return false;
    }
    if v.ends_with([' ', '\t', ':']) || v.starts_with("...") {
        return false;
    }
    if !v.chars().all(|c| printable(c) && c != '\t') {
        return false;
    }
    if v.contains(": ") || v.contains(" #") {
        return false;
    }
    if flow && v.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    true
}

fn single_ok(v: &str) -> bool {
    v.chars().all(|c| c == '\t' || printable(c))
}

/// `v` as a double-quoted scalar.
pub(crate) fn double_quoted(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_kept_when_string() {
        for v in [
            "v1.0.1",
            "1.2.3",
            "ghcr.io/a/b:1.2@sha256:00",
            "sha256:abc",
            "main-2024",
        ] {
            assert_eq!(
                render(v, ScalarStyle::Plain, false).as_deref(),
                Some(v),
                "{v}"
            );
        }
    }

    #[test]
    fn plain_quoted_when_type_changes() {
        for v in [
            "1.10",
            "10",
            "0x1F",
            "1e3",
            "true",
            "yes",
            "on",
            "null",
            "~",
            "",
            "2024-01-02",
            "1:20",
            ".inf",
            "0755",
        ] {
            assert_eq!(
                render(v, ScalarStyle::Plain, false),
                Some(format!("\"{v}\"")),
                "{v}"
            );
        }
    }

    #[test]
    fn plain_quoted_when_syntax_needs_it() {
        assert_eq!(
            render("a: b", ScalarStyle::Plain, false).unwrap(),
            "\"a: b\""
        );
        assert_eq!(
            render("a #b", ScalarStyle::Plain, false).unwrap(),
            "\"a #b\""
        );
        assert_eq!(render("*x", ScalarStyle::Plain, false).unwrap(), "\"*x\"");
        assert_eq!(render("a,b", ScalarStyle::Plain, false).unwrap(), "a,b");
        assert_eq!(render("a,b", ScalarStyle::Plain, true).unwrap(), "\"a,b\"");
    }

    #[test]
    fn quoted_styles() {
        assert_eq!(
            render("it's", ScalarStyle::SingleQuoted, false).unwrap(),
            "'it''s'"
        );
        assert_eq!(
            render("1.10", ScalarStyle::SingleQuoted, false).unwrap(),
            "'1.10'"
        );
        assert_eq!(
            render("a\nb", ScalarStyle::SingleQuoted, false).unwrap(),
            "\"a\\nb\""
        );
        assert_eq!(
            render("a\"\\", ScalarStyle::DoubleQuoted, false).unwrap(),
            "\"a\\\"\\\\\""
        );
        assert_eq!(render("x", ScalarStyle::Literal, false), None);
    }
}
