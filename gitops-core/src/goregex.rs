//! Go RE2 syntax on top of the `regex` crate: what Go's `regexp` means by a
//! pattern (Flux's `filterTags`, `exclusionList`, `semverFilter`; Sprig's
//! regex functions), compiled by the `regex` crate.
//!
//! Both engines are RE2-style and unanchored, but a few escapes mean
//! different things: Go's `\d`, `\w`, `\s`, `\b` are ASCII-only (`\s` without
//! `\v`), Rust's are Unicode; inside a Go character class `[`, `&&`, `~~` are
//! literal, while Rust reads nested classes and set operations. `\Q…\E`
//! quoting exists only in Go. [`translate`] rewrites a Go pattern into a Rust
//! pattern with the Go meaning; [`compile`] builds it.

use std::borrow::Cow;

/// Compile a Go regular expression.
///
/// ```
/// let re = gitops_core::goregex::compile(r"^\d+$")?;
/// assert!(re.is_match("123"));
/// assert!(!re.is_match("١٢٣")); // Go's `\d` is ASCII only
/// # Ok::<(), regex::Error>(())
/// ```
///
/// # Errors
/// The `regex` crate's error for a pattern that does not compile.
pub fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&translate(pattern))
}

/// Rewrite Go RE2 syntax into `regex` crate syntax with the same meaning.
pub fn translate(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains(['\\', '[']) {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    // Position inside the class: true right after `[` or `[^`, where `]` is literal.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        if c == '\\' {
            let Some(e) = chars.next() else {
                out.push('\\');
                break;
            };
            match (e, in_class) {
                ('d', false) => out.push_str("[0-9]"),
                ('D', false) => out.push_str("[^0-9]"),
                ('w', false) => out.push_str("[0-9A-Za-z_]"),
                ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                ('s', false) => out.push_str(r"[\t\n\x0C\r ]"),
                ('S', false) => out.push_str(r"[^\t\n\x0C\r ]"),
                ('b', false) => out.push_str(r"(?-u:\b)"),
                ('B', false) => out.push_str(r"(?-u:\B)"),
                ('d' | 'D' | 'w' | 'W' | 's' | 'S', true) => {
                    out.push_str(match e {
                        'd' => "0-9",
                        'D' => "[^0-9]",
                        'w' => "0-9A-Za-z_",
                        'W' => "[^0-9A-Za-z_]",
                        's' => r"\t\n\x0C\r ",
                        _ => r"[^\t\n\x0C\r ]",
                    });
                    // Go reads a `-` after a class escape as a literal
                    // (`[\w-.]`); spelled out, it would start a range.
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        out.push_str(r"\-");
                    }
                }
                ('Q', false) => {
                    let mut lit = String::new();
                    while let Some(q) = chars.next() {
                        if q == '\\' && chars.peek() == Some(&'E') {
                            chars.next();
                            break;
                        }
                        lit.push(q);
                    }
                    out.push_str(&regex::escape(&lit));
                }
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
            continue;
        }
        if !in_class {
            out.push(c);
            if c == '[' {
                in_class = true;
                class_start = true;
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            continue;
        }
        match c {
            ']' if at_class_start => out.push(']'),
            ']' => {
                out.push(']');
                in_class = false;
            }
            '[' if chars.peek() == Some(&':') => {
                // POSIX class `[:alpha:]`: same in both engines.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str(r"\["),
            '&' => out.push_str(r"\&"),
            '~' => out.push_str(r"\~"),
            '-' if chars.peek() == Some(&'-') => out.push_str(r"\-"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_classes() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣")); // Arabic-Indic digits are \d in Rust, not in Go
        assert!(compile(r"^[\w.]+$").unwrap().is_match("a_b.c"));
        assert!(!compile(r"^\s$").unwrap().is_match("\u{0b}"));
    }

    #[test]
    fn literal_brackets_and_quotes() {
        assert!(compile(r"^[[]$").unwrap().is_match("["));
        assert!(compile(r"^[a&&b]+$").unwrap().is_match("&a"));
        assert!(compile(r"^\Qa.b\E$").unwrap().is_match("a.b"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"^[]a]+$").unwrap().is_match("]a"));
        assert!(compile(r"^[[:digit:]x]+$").unwrap().is_match("1x"));
        // A `-` after a class escape is a literal in Go.
        let re = compile(r"^[\w-\.]+$").unwrap();
        assert!(re.is_match("a-b.c_1"));
        assert!(!re.is_match("a/b"));
        assert!(compile(r"^[\d-]+$").unwrap().is_match("1-2"));
    }
}
