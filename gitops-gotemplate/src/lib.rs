//! Go's `text/template` language, exact: the lexer, parser, executor and
//! builtin functions of Go's standard library, over a dynamic [`Value`]
//! shaped like the data Helm renders charts with.
//!
//! The aim is byte-identical output and error messages to Go (`helm
//! template` prints template errors verbatim). Functions plug in through
//! the [`Funcs`] registry, and [`Func::with_context`] gives a function what
//! Helm's `include` needs (run a named template of the same set into a
//! string). The [`sprig`] module provides Sprig v3.3's whole function
//! library (strings, lists, dicts, math, defaults, reflection, regular
//! expressions with Go's RE2 meaning, semver, URLs, paths, encodings,
//! dates, random values, keys and certificates); Helm's own functions
//! (`include`, `tpl`, `toYaml`, `required`…) are not here.
//!
//! ```
//! use gitops_gotemplate::{Template, Value};
//!
//! let mut t = Template::new("gotpl");
//! t.set_option("missingkey=zero")?;
//! t.parse("list.txt", "{{- range $i, $v := .items }}\n{{ $i }}={{ $v }}{{ end }}\n{{ .missing }}")?;
//! let data = Value::map([("items", Value::list([Value::from("a"), Value::from(1e6)]))]);
//! assert_eq!(t.render("list.txt", &data)?, "\n0=a\n1=1e+06\n<no value>");
//!
//! let t = Template::from_text("bad", "{{ .missing.field }}")?;
//! let mut t2 = t.clone();
//! t2.set_option("missingkey=zero")?;
//! let err = t2.render("bad", &Value::map([("x", Value::Nil)])).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "template: bad:1:11: executing \"bad\" at <.missing.field>: nil pointer evaluating interface {}.field"
//! );
//! # Ok::<(), gitops_gotemplate::Error>(())
//! ```
//!
//! Parsing into a set is incremental and cheap to share: clones of a
//! [`Template`] share its parsed templates and functions,
//! [`Template::overlay`] parses one more text (Helm's `tpl`) without
//! copying the set, and a text parsed again under another name reuses the
//! trees of its first parse.
//!
//! The public interface is: [`Template`] (a set of named templates, with
//! [`Options`] and [`MissingKey`]), [`Value`] (whose maps are shared,
//! mutable [`MapRef`]s, as Go maps are references; a [`Freeze`] holds
//! maps read-only while templates that share them run side by side) and
//! the [`Object`] extension, [`Funcs`] / [`Func`] / [`ArgType`] / [`CallContext`],
//! [`Error`] / [`Limit`], and Go's printing helpers [`sprint`], [`sprintln`],
//! [`sprintf`], [`go_quote`], [`html_escape`], [`js_escape`],
//! [`query_escape`], and [`sprig::funcs`] / [`sprig::funcs_with`] with the
//! [`sprig::Environment`] that supplies Sprig's clock, entropy, environment
//! variables and time zones. The crate does no I/O of its own: with the
//! default feature `os`, [`sprig::funcs`] reads the system clock, the
//! operating system's random source, the process environment and the
//! system time zone files ([`sprig::OsEnvironment`]); without it, those
//! functions fail with an error unless the caller passes an environment.
//!
//! # Bounds
//! Template call depth ([`Options::max_depth`]), nesting in the text
//! ([`Options::max_parse_depth`]), bytes written ([`Options::max_output`]),
//! steps ([`Options::max_steps`]) and a deadline ([`Options::deadline`]);
//! each ends execution with a clear error.
//!
//! # Deviation
//! - Complex constants (`1i`, `1+2i`) parse as in Go but executing one is
//!   an error; Go would print `(0+1i)`.
//! - [`Options::max_depth`] defaults to 256 (Go: 100000) and blocks and
//!   parentheses nest at most [`Options::max_parse_depth`] (100) deep (Go:
//!   blocks unbounded, parentheses 10000), so that execution stays within
//!   a 2 MiB stack.
//! - Values are Helm's shapes: there are no typed Go maps, slices, structs,
//!   channels, function values (`call` always fails, as with no function
//!   value), unsigned or sized integers; [`Object`] stands in for structs
//!   and typed maps (`range` iterates an object that offers
//!   [`Object::range_entries`]).
//! - Identifiers and `%q` printability use Rust's Unicode tables, which
//!   differ from Go's for a few non-ASCII code points.
//! - Strings are UTF-8: `slice` or `"\xff"` escapes that would split a
//!   character produce U+FFFD instead of raw bytes.
//! - `%x`, `%X` and `%b` on floats print as `%g`; `%#v`, argument indexes
//!   (`%[1]d`) are not supported.
//! - Printing a map that contains itself, or maps and lists nested deeper
//!   than [`MAX_NESTING`], is an execution error; Go recurses without end.
//! - Sprig's deviations are listed in [`sprig`]: among them, time zones
//!   come from the [`sprig::Environment`] (with `os`, the system's zone
//!   files as Go reads them; otherwise `Local` is UTC and other IANA names
//!   fall back to UTC as in Sprig), `getHostByName` fails, and `duration`
//!   treats every integer as Go's `int`.

#![deny(missing_docs)]

mod error;
mod exec;
mod fmt;
mod funcs;
mod lex;
mod number;
mod parse;
pub mod sprig;
mod template;
mod unquote;
mod value;

pub use error::{Error, Limit};
pub use exec::CallContext;
pub use fmt::{go_quote, sprint, sprintf, sprintln};
pub use funcs::{ArgType, Func, FuncResult, Funcs, html_escape, js_escape, query_escape};
pub use template::{MissingKey, Options, Template};
pub use value::{Freeze, MAX_NESTING, MapRef, Object, Value};
