//! Execution results, as Go's `text/template` produces them.

use gitops_gotemplate::{ArgType, Func, Funcs, Object, Template, Value};
use std::sync::Arc;

use crate::{check_table, data};

#[test]
fn basics() {
    check_table(
        "missingkey=default",
        &[
            ("empty", "", Ok("")),
            ("text", "some text", Ok("some text")),
            ("dot int", "{{.I}}", Ok("17")),
            ("dot string", "{{.X}}", Ok("x")),
            ("float", "{{.F}}", Ok("1.5")),
            ("float whole", "{{.Three}}", Ok("3")),
            ("float big", "{{.Big}}", Ok("1e+06")),
            ("bool", "{{.T}} {{.FF}}", Ok("true false")),
            ("nil value", "{{.Nil}}", Ok("<no value>")),
            ("missing", "{{.Missing}}", Ok("<no value>")),
            (
                "missing chain default",
                "{{.Missing.Deeper}}",
                Ok("<no value>"),
            ),
            ("nested", "{{.Nested.A.B}}", Ok("deep")),
            ("list", "{{.SI}}", Ok("[3 4 5]")),
            ("map", "{{.MSI}}", Ok("map[one:1 three:3 two:2]")),
            ("mixed", "{{.Mixed}}", Ok("[1 <nil> s map[k:true]]")),
            ("empty map", "{{.MSIEmpty}}", Ok("map[]")),
            (
                "dollar",
                "{{$}}",
                Ok(
                    "map[Big:1e+06 Empty: F:1.5 FF:false I:17 MSI:map[one:1 three:3 two:2] MSIEmpty:map[] Mixed:[1 <nil> s map[k:true]] Nested:map[A:map[B:deep]] Nil:<nil> S:xyz SI:[3 4 5] SIEmpty:[] SS:[a b] T:true Three:3 X:x Zero:0]",
                ),
            ),
            ("dollar field", "{{$.I}}", Ok("17")),
            (
                "constants",
                "{{1}} {{-1}} {{1.5}} {{1e3}} {{0x10}} {{'a'}} {{\"s\"}} {{`raw`}} {{true}}",
                Ok("1 -1 1.5 1000 16 97 s raw true"),
            ),
            (
                "number forms",
                "{{0o17}} {{017}} {{0b101}} {{1_000}} {{0x1p4}} {{1e-7}}",
                Ok("15 15 5 1000 16 1e-07"),
            ),
            ("paren", "{{(1)}} {{(.I)}}", Ok("1 17")),
            ("paren chain", "{{(.Nested).A.B}}", Ok("deep")),
            ("variable", "{{$x := 1}}{{$x}}", Ok("1")),
            ("variable assign", "{{$x := 1}}{{$x = 2}}{{$x}}", Ok("2")),
            ("variable field", "{{$n := .Nested}}{{$n.A.B}}", Ok("deep")),
            (
                "variable scope if",
                "{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{end}}{{$x}}",
                Ok("2"),
            ),
            (
                "variable shadow",
                "{{$x := 1}}{{with 5}}{{$x := 2}}{{$x}}{{end}}{{$x}}",
                Ok("21"),
            ),
            ("pipeline", "{{.I | print}}", Ok("17")),
            ("pipeline args", "{{\"b\" | print \"a\"}}", Ok("ab")),
            ("pipeline multi", "{{1 | printf \"%d-%d\" 2}}", Ok("2-1")),
            ("comment", "a{{/* c */}}b", Ok("ab")),
        ],
    );
}

#[test]
fn control() {
    check_table(
        "missingkey=default",
        &[
            ("if true", "{{if true}}T{{end}}", Ok("T")),
            ("if false", "{{if false}}T{{else}}F{{end}}", Ok("F")),
            ("if zero", "{{if .Zero}}T{{else}}F{{end}}", Ok("F")),
            ("if empty str", "{{if .Empty}}T{{else}}F{{end}}", Ok("F")),
            ("if empty list", "{{if .SIEmpty}}T{{else}}F{{end}}", Ok("F")),
            ("if empty map", "{{if .MSIEmpty}}T{{else}}F{{end}}", Ok("F")),
            ("if nil", "{{if .Nil}}T{{else}}F{{end}}", Ok("F")),
            ("if missing", "{{if .Missing}}T{{else}}F{{end}}", Ok("F")),
            ("if map", "{{if .MSI}}T{{end}}", Ok("T")),
            ("if float", "{{if .F}}T{{end}}", Ok("T")),
            (
                "else if",
                "{{if false}}a{{else if .T}}b{{else}}c{{end}}",
                Ok("b"),
            ),
            (
                "else if chain",
                "{{if false}}a{{else if false}}b{{else if false}}c{{else}}d{{end}}",
                Ok("d"),
            ),
            ("with", "{{with .Nested.A}}{{.B}}{{end}}", Ok("deep")),
            (
                "with else",
                "{{with .Empty}}x{{else}}{{.I}}{{end}}",
                Ok("17"),
            ),
            (
                "with else with",
                "{{with .Empty}}x{{else with .X}}{{.}}{{end}}",
                Ok("x"),
            ),
            (
                "with var",
                "{{with $x := .I}}{{$x}}{{.}}{{end}}",
                Ok("1717"),
            ),
            ("range list", "{{range .SI}}<{{.}}>{{end}}", Ok("<3><4><5>")),
            (
                "range vars",
                "{{range $i, $v := .SI}}{{$i}}={{$v}} {{end}}",
                Ok("0=3 1=4 2=5 "),
            ),
            (
                "range one var",
                "{{range $v := .SI}}{{$v}}{{end}}",
                Ok("345"),
            ),
            (
                "range map sorted",
                "{{range $k, $v := .MSI}}{{$k}}={{$v}} {{end}}",
                Ok("one=1 three=3 two=2 "),
            ),
            ("range map values", "{{range .MSI}}{{.}}{{end}}", Ok("132")),
            (
                "range empty else",
                "{{range .SIEmpty}}x{{else}}empty{{end}}",
                Ok("empty"),
            ),
            (
                "range nil else",
                "{{range .Missing}}x{{else}}none{{end}}",
                Ok("none"),
            ),
            ("range int", "{{range 3}}{{.}}{{end}}", Ok("012")),
            ("range int var", "{{range $i := 3}}{{$i}}{{end}}", Ok("012")),
            (
                "range zero int",
                "{{range 0}}x{{else}}none{{end}}",
                Ok("none"),
            ),
            (
                "range negative int",
                "{{range -2}}x{{else}}none{{end}}",
                Ok("none"),
            ),
            (
                "range break",
                "{{range .SI}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}",
                Ok("3"),
            ),
            (
                "range continue",
                "{{range .SI}}{{if eq . 4}}{{continue}}{{end}}{{.}}{{end}}",
                Ok("35"),
            ),
            (
                "range nested break",
                "{{range .SS}}{{range $.SI}}{{break}}{{end}}{{.}}{{end}}",
                Ok("ab"),
            ),
            (
                "range assign",
                "{{$i := 0}}{{$v := 0}}{{range $i, $v = .SI}}{{end}}{{$i}}{{$v}}",
                Ok("25"),
            ),
            ("range dollar", "{{range .SI}}{{$.I}}{{end}}", Ok("171717")),
            (
                "range var persists per iteration",
                "{{range .SI}}{{$x := .}}{{$x}}{{end}}",
                Ok("345"),
            ),
            (
                "template",
                "{{define \"x\"}}[{{.}}]{{end}}{{template \"x\" .I}}",
                Ok("[17]"),
            ),
            (
                "template no pipe",
                "{{define \"x\"}}[{{.}}]{{end}}{{template \"x\"}}",
                Ok("[<no value>]"),
            ),
            (
                "template no vars",
                "{{define \"x\"}}{{$}}{{end}}{{$y := 1}}{{template \"x\" 2}}",
                Ok("2"),
            ),
            ("block", "{{block \"b\" .X}}<{{.}}>{{end}}", Ok("<x>")),
            (
                "recursion",
                "{{define \"r\"}}{{if .}}{{index . 0}}{{template \"r\" (slice . 1)}}{{end}}{{end}}{{template \"r\" .SI}}",
                Ok("345"),
            ),
        ],
    );
}

#[test]
fn builtins() {
    check_table(
        "missingkey=default",
        &[
            (
                "and",
                "{{and 1 0 2}} {{and 1 2}} {{and .T .X}}",
                Ok("0 2 x"),
            ),
            (
                "or",
                "{{or 0 \"\" 3}} {{or 0 \"\"}} {{or .Empty .X}}",
                Ok("3  x"),
            ),
            (
                "and short-circuit",
                "{{and false (index .SI 10)}}",
                Ok("false"),
            ),
            ("or short-circuit", "{{or true (index .SI 10)}}", Ok("true")),
            ("and pipeline", "{{1 | and 2}}", Ok("1")),
            (
                "not",
                "{{not 0}} {{not 1}} {{not .Missing}}",
                Ok("true false true"),
            ),
            (
                "len",
                "{{len .SI}} {{len .MSI}} {{len .S}} {{len \"héllo\"}}",
                Ok("3 3 3 6"),
            ),
            ("index list", "{{index .SI 1}}", Ok("4")),
            ("index map", "{{index .MSI \"two\"}}", Ok("2")),
            (
                "index missing key",
                "{{index .MSI \"nope\"}}",
                Ok("<no value>"),
            ),
            ("index multi", "{{index .Nested \"A\" \"B\"}}", Ok("deep")),
            ("index string", "{{index .S 1}}", Ok("121")),
            ("index none", "{{index .SI}}", Ok("[3 4 5]")),
            (
                "slice",
                "{{slice .SI 1}} {{slice .SI 1 2}} {{slice .SI}} {{slice .S 1 2}}",
                Ok("[4 5] [4] [3 4 5] y"),
            ),
            (
                "eq",
                "{{eq 1 1}} {{eq .X \"x\"}} {{eq .I 1 2 17}} {{eq .T true}}",
                Ok("true true true true"),
            ),
            (
                "eq nil",
                "{{eq .Missing .Nil}} {{eq nil nil}}",
                Ok("true true"),
            ),
            ("eq nil and value", "{{eq .Missing 1}}", Ok("false")),
            ("ne", "{{ne 1 2}} {{ne \"a\" \"a\"}}", Ok("true false")),
            (
                "lt",
                "{{lt 1 2}} {{lt \"b\" \"a\"}} {{lt 1.5 2.5}}",
                Ok("true false true"),
            ),
            (
                "le ge gt",
                "{{le 2 2}} {{ge 1 2}} {{gt 3 2}}",
                Ok("true false true"),
            ),
            ("print", "{{print 1 2 \"a\" 3 \"b\" \"c\"}}", Ok("1 2a3bc")),
            ("print nil", "{{print nil .Missing}}", Ok("<nil> <nil>")),
            ("println", "{{println 1 \"a\"}}", Ok("1 a\n")),
            (
                "printf",
                "{{printf \"%s=%d %v %q %x %5.2f|%-4s|%t %%\" \"a\" 3 .SI \"q\" 255 3.14159 \"ab\" true}}",
                Ok("a=3 [3 4 5] \"q\" ff  3.14|ab  |true %"),
            ),
            (
                "printf bad verb",
                "{{printf \"%d\" \"s\"}}",
                Ok("%!d(string=s)"),
            ),
            (
                "printf missing",
                "{{printf \"%s %s\" \"a\"}}",
                Ok("a %!s(MISSING)"),
            ),
            ("printf extra", "{{printf \"x\" 1}}", Ok("x%!(EXTRA int=1)")),
            (
                "printf float",
                "{{printf \"%v %v\" .Big .F}}",
                Ok("1e+06 1.5"),
            ),
            (
                "printf nil",
                "{{printf \"%v %s\" .Missing nil}}",
                Ok("<nil> %!s(<nil>)"),
            ),
            (
                "html",
                "{{html \"<a href='x'>&\\\"</a>\"}}",
                Ok("&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"),
            ),
            ("html no value", "{{html .Missing}}", Ok("&lt;no value&gt;")),
            (
                "js",
                "{{js \"it's <b> = \\\"x\\\"\\n\"}}",
                Ok("it\\'s \\u003Cb\\u003E \\u003D \\\"x\\\"\\u000A"),
            ),
            (
                "urlquery",
                "{{urlquery \"a b&c=d/é\"}}",
                Ok("a+b%26c%3Dd%2F%C3%A9"),
            ),
            ("print args", "{{html 1 2}}", Ok("1 2")),
        ],
    );
}

#[test]
fn missingkey_zero_as_helm() {
    check_table(
        "missingkey=zero",
        &[
            ("missing prints no value", "{{.Missing}}", Ok("<no value>")),
            ("nil prints no value", "{{.Nil}}", Ok("<no value>")),
            (
                "chain through missing",
                "{{.Missing.Deeper}}",
                Err(
                    "template: t:1:10: executing \"t\" at <.Missing.Deeper>: nil pointer evaluating interface {}.Deeper",
                ),
            ),
            (
                "variable of missing",
                "{{$m := .Missing}}{{$m.Deeper}}",
                Ok("<no value>"),
            ),
            ("index missing", "{{index .MSI \"x\"}}", Ok("<no value>")),
            (
                "default of missing in if",
                "{{if .Missing}}a{{else}}b{{end}}",
                Ok("b"),
            ),
        ],
    );
    check_table(
        "missingkey=error",
        &[(
            "missing errors",
            "{{.Missing}}",
            Err(
                "template: t:1:2: executing \"t\" at <.Missing>: map has no entry for key \"Missing\"",
            ),
        )],
    );
}

#[test]
fn set_semantics() {
    let mut t = Template::new("gotpl");
    t.parse("a.tpl", r#"{{define "x"}}one{{end}}"#).unwrap();
    t.parse("b.tpl", r#"{{define "x"}}two{{end}}"#).unwrap();
    t.parse("c.tpl", r#"{{define "x"}}  {{end}}"#).unwrap();
    t.parse("main", r#"{{template "x"}}"#).unwrap();
    assert_eq!(t.render("main", &Value::Nil).unwrap(), "two");
    assert_eq!(t.template_names(), ["a.tpl", "b.tpl", "c.tpl", "main", "x"]);
    assert_eq!(
        t.render("nope", &Value::Nil).unwrap_err().to_string(),
        "template: no template \"nope\" associated with template \"gotpl\""
    );
    let err =
        Template::from_text("d", r#"{{define "x"}}a{{end}}{{define "x"}}b{{end}}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: d:1: template: multiple definition of template \"x\""
    );
}

#[test]
fn registered_functions() {
    let mut funcs = Funcs::new();
    funcs.insert_fn("quote", |args| {
        Ok(Value::from(
            args.iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    });
    funcs.insert(
        "add",
        Func::new(|args| match (&args[0], &args[1]) {
            (Value::Int(a), Value::Int(b)) => Ok(Value::from(a + b)),
            _ => Err("bad".into()),
        })
        .params([ArgType::Int, ArgType::Int]),
    );
    funcs.insert("fail", Func::new(|_| Err("boom".into())));
    funcs.insert(
        "include",
        Func::with_context(|ctx, args| {
            let name = args[0].as_str().ok_or("name must be a string")?;
            ctx.execute(name, &args[1])
                .map(Value::from)
                .map_err(|e| e.to_string())
        })
        .params([ArgType::String, ArgType::Any]),
    );
    // A registered function shadows the builtin of the same name.
    funcs.insert_fn("len", |_| Ok(Value::from(-1)));
    let mut t = Template::with_funcs("gotpl", funcs);
    t.parse("h", r#"{{define "lbl"}}app: {{.}}{{end}}"#)
        .unwrap();
    t.parse(
        "m",
        r#"{{quote .X 1}} {{add 1 2}} {{include "lbl" .X | len}} {{include "lbl" .S}}"#,
    )
    .unwrap();
    assert_eq!(t.render("m", &data()).unwrap(), "\"x\" \"1\" 3 -1 app: xyz");

    t.parse("f", "{{fail 1}}").unwrap();
    assert_eq!(
        t.render("f", &data()).unwrap_err().to_string(),
        "template: f:1:2: executing \"f\" at <fail 1>: error calling fail: boom"
    );
    t.parse("a", "{{add 1}}").unwrap();
    assert_eq!(
        t.render("a", &data()).unwrap_err().to_string(),
        "template: a:1:2: executing \"a\" at <add>: wrong number of args for add: want 2 got 1"
    );
    t.parse("a2", "{{add 1 .F}}").unwrap();
    assert_eq!(
        t.render("a2", &data()).unwrap_err().to_string(),
        "template: a2:1:8: executing \"a2\" at <.F>: wrong type for value; expected int; got interface {}"
            .replace("got interface {}", "got float64")
    );
    t.parse("a3", "{{add 1 1.5}}").unwrap();
    assert_eq!(
        t.render("a3", &data()).unwrap_err().to_string(),
        "template: a3:1:8: executing \"a3\" at <1.5>: expected integer; found 1.5"
    );
    t.parse("inc", r#"{{include "nope" .}}"#).unwrap();
    assert_eq!(
        t.render("inc", &data()).unwrap_err().to_string(),
        "template: inc:1:2: executing \"inc\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\""
    );
}

#[derive(Debug)]
struct Chart;

impl Object for Chart {
    fn type_name(&self) -> &str {
        "*chart.Metadata"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "Name").then(|| Value::from("mychart"))
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, _name: &str, args: &[Value]) -> Result<Value, String> {
        Ok(Value::from(
            args.first().and_then(Value::as_str) == Some("apps/v1"),
        ))
    }
    fn format(&self) -> String {
        "{mychart}".into()
    }
}

#[test]
fn objects() {
    let data = Value::map([("Chart", Value::Object(Arc::new(Chart)))]);
    let t = Template::from_text(
        "o",
        r#"{{.Chart.Name}} {{.Chart.Has "apps/v1"}} {{.Chart}}"#,
    )
    .unwrap();
    assert_eq!(t.render("o", &data).unwrap(), "mychart true {mychart}");
    let t = Template::from_text("o", "{{.Chart.Version}}").unwrap();
    assert_eq!(
        t.render("o", &data).unwrap_err().to_string(),
        "template: o:1:8: executing \"o\" at <.Chart.Version>: can't evaluate field Version in type interface {}"
    );
}
