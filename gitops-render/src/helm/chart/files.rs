//! `.Files` (Helm v4.1.4 `pkg/engine/files.go`): the chart's non-template
//! files, with `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use gitops_gotemplate::{Object, Value};

use super::ChartFile;

/// The files of one chart.
#[derive(Debug)]
pub(crate) struct Files(pub(crate) BTreeMap<String, Arc<[u8]>>);

impl Files {
    pub(crate) fn new(files: &[ChartFile]) -> Files {
        Files(
            files
                .iter()
                .map(|f| (f.name.clone(), f.data.clone()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|d| super::utf8_text(d).into_owned())
            .unwrap_or_default()
    }

    fn as_map(&self, f: impl Fn(&[u8]) -> String) -> Value {
        let mut m = BTreeMap::new();
        for (k, v) in &self.0 {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), Value::from(f(v)));
        }
        Value::Map(gitops_gotemplate::MapRef::new(m))
    }
}

fn arg_str<'a>(args: &'a [Value], name: &str) -> Result<&'a str, String> {
    match args {
        [a] => a.as_str().ok_or_else(|| {
            format!(
                "wrong type for value; expected string; got {}",
                a.type_name()
            )
        }),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Get" | "GetBytes" => Ok(Value::from(self.get(arg_str(args, name)?))),
            "Lines" => {
                let p = arg_str(args, name)?;
                let Some(d) = self.0.get(p) else {
                    return Ok(Value::list([]));
                };
                let mut s = super::utf8_text(d).into_owned();
                if s.ends_with('\n') {
                    s.pop();
                }
                Ok(Value::list(s.split('\n').map(Value::from)))
            }
            "Glob" => {
                let p = arg_str(args, name)?;
                let g = Glob::compile(p).unwrap_or_else(|| Glob::compile("**").expect("valid"));
                let mut m = BTreeMap::new();
                for (k, v) in &self.0 {
                    if g.matches(k) {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Ok(Value::Object(Arc::new(Files(m))))
            }
            "AsConfig" => {
                let m = self.as_map(|d| super::utf8_text(d).into_owned());
                super::yaml::to_yaml(&m).map(Value::from)
            }
            "AsSecrets" => {
                let m = self.as_map(|d| base64::engine::general_purpose::STANDARD.encode(d));
                super::yaml::to_yaml(&m).map(Value::from)
            }
            _ => Err(format!("no method {name}")),
        }
    }
    fn format(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}:{}", format_bytes(v)))
            .collect();
        format!("map[{}]", parts.join(" "))
    }
    /// `files` is a `map[string][]byte`: `range` yields the paths in order
    /// and each file's bytes.
    fn range_entries(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::Object(Arc::new(Bytes(v.clone())))))
                .collect(),
        )
    }
}

/// Go's `%v` of a `[]byte`: `[104 105]`.
fn format_bytes(b: &[u8]) -> String {
    let bytes: Vec<String> = b.iter().map(u8::to_string).collect();
    format!("[{}]", bytes.join(" "))
}

/// A file's contents as `range` over `.Files` yields them: a Go `[]byte`,
/// printed as its byte values.
#[derive(Debug)]
pub(crate) struct Bytes(pub(crate) Arc<[u8]>);

impl Object for Bytes {
    fn type_name(&self) -> &str {
        "[]uint8"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn format(&self) -> String {
        format_bytes(&self.0)
    }
}

/// A `gobwas/glob` pattern with `/` as separator: `*` within a segment,
/// `**` across segments, `?`, `[...]`, `[!...]`, `{a,b}`.
struct Glob(Vec<Tok>);

enum Tok {
    Lit(char),
    Any,
    Super,
    Single,
    Class(bool, Vec<(char, char)>),
    Alt(Vec<Glob>),
}

impl Glob {
    fn compile(p: &str) -> Option<Glob> {
        let chars: Vec<char> = p.chars().collect();
        let (g, rest) = Self::parse(&chars, false)?;
        if !rest.is_empty() {
            return None;
        }
        Some(g)
    }

    fn parse(mut s: &[char], in_alt: bool) -> Option<(Glob, &[char])> {
        let mut toks = Vec::new();
        while let Some(&c) = s.first() {
            match c {
                '*' => {
                    if s.get(1) == Some(&'*') {
                        toks.push(Tok::Super);
                        s = &s[2..];
                    } else {
                        toks.push(Tok::Any);
                        s = &s[1..];
                    }
                }
                '?' => {
                    toks.push(Tok::Single);
                    s = &s[1..];
                }
                '\\' => {
                    toks.push(Tok::Lit(*s.get(1)?));
                    s = &s[2..];
                }
                '[' => {
                    let mut i = 1;
                    let neg = s.get(1) == Some(&'!');
                    if neg {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        let c = *s.get(i)?;
                        if c == ']' {
                            break;
                        }
                        if s.get(i + 1) == Some(&'-') && s.get(i + 2).is_some_and(|c| *c != ']') {
                            ranges.push((c, s[i + 2]));
                            i += 3;
                        } else {
                            ranges.push((c, c));
                            i += 1;
                        }
                    }
                    toks.push(Tok::Class(neg, ranges));
                    s = &s[i + 1..];
                }
                '{' => {
                    let mut alts = Vec::new();
                    let mut rest = &s[1..];
                    loop {
                        let (g, r) = Self::parse(rest, true)?;
                        alts.push(g);
                        match r.first() {
                            Some(',') => rest = &r[1..],
                            Some('}') => {
                                rest = &r[1..];
                                break;
                            }
                            _ => return None,
                        }
                    }
                    toks.push(Tok::Alt(alts));
                    s = rest;
                }
                ',' | '}' if in_alt => break,
                c => {
                    toks.push(Tok::Lit(c));
                    s = &s[1..];
                }
            }
        }
        Some((Glob(toks), s))
    }

    fn matches(&self, name: &str) -> bool {
        let n: Vec<char> = name.chars().collect();
        let mut budget = 100_000usize;
        m(&self.0, &n, &mut budget, &[])
    }
}

fn m(toks: &[Tok], n: &[char], budget: &mut usize, cont: &[&[Tok]]) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let Some((t, rest)) = toks.split_first() else {
        return match cont.split_first() {
            Some((next, more)) => m(next, n, budget, more),
            None => n.is_empty(),
        };
    };
    match t {
        Tok::Lit(c) => n.first() == Some(c) && m(rest, &n[1..], budget, cont),
        Tok::Single => n.first().is_some_and(|c| *c != '/') && m(rest, &n[1..], budget, cont),
        Tok::Class(neg, ranges) => {
            n.first().is_some_and(|c| {
                *c != '/' && ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *neg
            }) && m(rest, &n[1..], budget, cont)
        }
        Tok::Any | Tok::Super => {
            let sup = matches!(t, Tok::Super);
            let mut k = 0;
            loop {
                if m(rest, &n[k..], budget, cont) {
                    return true;
                }
                if k >= n.len() || (!sup && n[k] == '/') {
                    return false;
                }
                k += 1;
            }
        }
        Tok::Alt(alts) => {
            let mut c2: Vec<&[Tok]> = Vec::with_capacity(cont.len() + 1);
            c2.push(rest);
            c2.extend_from_slice(cont);
            alts.iter().any(|g| m(&g.0, n, budget, &c2))
        }
    }
}
