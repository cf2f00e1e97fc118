//! Error messages, byte for byte as Go prints them.

use crate::check_table;

#[test]
fn parse_errors() {
    check_table(
        "missingkey=default",
        &[
            (
                "unclosed action",
                "{{.X",
                Err("template: t:1: unclosed action"),
            ),
            (
                "unclosed action later line",
                "a\n{{.X\n",
                Err("template: t:3: unclosed action started at t:2"),
            ),
            (
                "unexpected end",
                "{{end}}",
                Err("template: t:1: unexpected {{end}}"),
            ),
            (
                "unexpected else",
                "{{else}}",
                Err("template: t:1: unexpected {{else}}"),
            ),
            (
                "missing end",
                "{{if .X}}",
                Err("template: t:1: unexpected EOF"),
            ),
            (
                "undefined function",
                "{{nope 1}}",
                Err("template: t:1: function \"nope\" not defined"),
            ),
            (
                "undefined variable",
                "{{$x}}",
                Err("template: t:1: undefined variable \"$x\""),
            ),
            (
                "variable out of scope",
                "{{if true}}{{$x := 1}}{{end}}{{$x}}",
                Err("template: t:1: undefined variable \"$x\""),
            ),
            (
                "bad number",
                "{{3k}}",
                Err("template: t:1: bad number syntax: \"3k\""),
            ),
            (
                "illegal number",
                "{{0x}}",
                Err("template: t:1: illegal number syntax: \"0x\""),
            ),
            (
                "octal overflow",
                "{{089}}",
                Err("template: t:1: integer overflow: \"089\""),
            ),
            (
                "unterminated string",
                "{{\"abc}}",
                Err("template: t:1: unterminated quoted string"),
            ),
            (
                "unterminated raw",
                "{{`abc}}",
                Err("template: t:1: unterminated raw quoted string"),
            ),
            (
                "bad escape",
                "{{\"\\q\"}}",
                Err("template: t:1: invalid syntax"),
            ),
            (
                "bad char constant",
                "{{'ab'}}",
                Err("template: t:1: malformed character constant: 'ab'"),
            ),
            (
                "unclosed comment",
                "{{/* x }}",
                Err("template: t:1: unclosed comment"),
            ),
            (
                "comment not closing",
                "{{/* x */ .X}}",
                Err("template: t:1: comment ends before closing delimiter"),
            ),
            (
                "empty action",
                "{{}}",
                Err("template: t:1: missing value for command"),
            ),
            (
                "empty paren",
                "{{()}}",
                Err("template: t:1: missing value for parenthesized pipeline"),
            ),
            (
                "unclosed paren",
                "{{(1}}",
                Err("template: t:1: unclosed left paren"),
            ),
            (
                "extra paren",
                "{{1)}}",
                Err("template: t:1: unexpected right paren"),
            ),
            (
                "bad character",
                "{{.X#}}",
                Err("template: t:1: bad character U+0023 '#'"),
            ),
            (
                "unrecognized",
                "{{\u{1}}}",
                Err("template: t:1: unrecognized character in action: U+0001"),
            ),
            (
                "pipe to literal",
                "{{.X | 1}}",
                Err("template: t:1: non executable command in pipeline stage 2"),
            ),
            (
                "dot after literal",
                "{{1.X}}",
                Err("template: t:1: bad number syntax: \"1.X\""),
            ),
            (
                "dot after string",
                "{{\"a\".X}}",
                Err("template: t:1: unexpected . after term \"\\\"a\\\"\""),
            ),
            (
                "break outside range",
                "{{break}}",
                Err("template: t:1: {{break}} outside {{range}}"),
            ),
            (
                "continue outside range",
                "{{if 1}}{{continue}}{{end}}",
                Err("template: t:1: {{continue}} outside {{range}}"),
            ),
            (
                "break with args",
                "{{range .SI}}{{break 1}}{{end}}",
                Err("template: t:1: unexpected \"1\" in {{break}}"),
            ),
            (
                "too many decls",
                "{{$a, $b := 1}}",
                Err("template: t:1: too many declarations in command"),
            ),
            (
                "range three decls",
                "{{range $a, $b, $c := .SI}}{{end}}",
                Err("template: t:1: too many declarations in range"),
            ),
            (
                "range init only variables",
                "{{range $a, 1}}{{end}}",
                Err("template: t:1: range can only initialize variables"),
            ),
            (
                "define in if",
                "{{if 1}}{{define \"x\"}}{{end}}{{end}}",
                Err("template: t:1: unexpected <define> in command"),
            ),
            (
                "define bad name",
                "{{define x}}{{end}}",
                Err("template: t:1: unexpected \"x\" in define clause"),
            ),
            (
                "define number name",
                "{{define 1}}{{end}}",
                Err("template: t:1: unexpected \"1\" in define clause"),
            ),
            (
                "else in define",
                "{{define \"x\"}}{{else}}{{end}}",
                Err("template: t:1: unexpected {{else}} in define clause"),
            ),
            (
                "double else",
                "{{if 1}}{{else}}{{else}}{{end}}",
                Err("template: t:1: expected end; found {{else}}"),
            ),
            (
                "template no name",
                "{{template .X}}",
                Err("template: t:1: unexpected \".X\" in template clause"),
            ),
            (
                "block no pipe",
                "{{block \"b\"}}{{end}}",
                Err("template: t:1: missing value for block clause"),
            ),
            (
                "long token",
                "{{if 1}}{{end}}{{end \"abcdefghijklmn\"}}",
                Err("template: t:1: unexpected \"\\\"abcdefghi\"... in end"),
            ),
            (
                "multi line action error",
                "{{if\n.X\n)}}{{end}}",
                Err("template: t:3: unexpected right paren in action started at t:1"),
            ),
            (
                "unclosed multi line",
                "{{if\n.X",
                Err("template: t:2: unclosed action started at t:1"),
            ),
            (
                "colon",
                "{{$x := 1}}{{$x : 1}}",
                Err("template: t:1: expected :="),
            ),
        ],
    );
}

#[test]
fn exec_errors() {
    check_table(
        "missingkey=default",
        &[
            (
                "field of string",
                "{{.X.Y}}",
                Err(
                    "template: t:1:4: executing \"t\" at <.X.Y>: can't evaluate field Y in type interface {}",
                ),
            ),
            (
                "field of var string",
                "{{$s := \"a\"}}{{$s.Y}}",
                Err(
                    "template: t:1:17: executing \"t\" at <$s.Y>: can't evaluate field Y in type string",
                ),
            ),
            (
                "field of int dot",
                "{{with 1}}{{.Y}}{{end}}",
                Err(
                    "template: t:1:12: executing \"t\" at <.Y>: can't evaluate field Y in type int",
                ),
            ),
            (
                "nil pointer",
                "{{.Nil.Y}}",
                Err(
                    "template: t:1:6: executing \"t\" at <.Nil.Y>: nil pointer evaluating interface {}.Y",
                ),
            ),
            (
                "args to field",
                "{{.X 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <.X>: X is not a method but has arguments",
                ),
            ),
            (
                "args to non-function",
                "{{1 2}}",
                Err(
                    "template: t:1:2: executing \"t\" at <1>: can't give argument to non-function 1",
                ),
            ),
            (
                "nil command",
                "{{nil}}",
                Err("template: t:1:2: executing \"t\" at <nil>: nil is not a command"),
            ),
            (
                "eq incompatible",
                "{{eq .Three 3}}",
                Err(
                    "template: t:1:2: executing \"t\" at <eq .Three 3>: error calling eq: incompatible types for comparison: float64 and int",
                ),
            ),
            (
                "eq missing arg",
                "{{eq 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <eq 1>: error calling eq: missing argument for comparison",
                ),
            ),
            (
                "eq non-comparable",
                "{{eq .SI .SI}}",
                Err(
                    "template: t:1:2: executing \"t\" at <eq .SI .SI>: error calling eq: non-comparable type [%!s(int=3) %!s(int=4) %!s(int=5)]: []interface {}",
                ),
            ),
            (
                "lt bool",
                "{{lt true false}}",
                Err(
                    "template: t:1:2: executing \"t\" at <lt true false>: error calling lt: invalid type for comparison",
                ),
            ),
            (
                "lt nil",
                "{{lt .Missing 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <lt .Missing 1>: error calling lt: invalid type for comparison",
                ),
            ),
            (
                "ne arity",
                "{{ne 1 2 3}}",
                Err(
                    "template: t:1:2: executing \"t\" at <ne>: wrong number of args for ne: want 2 got 3",
                ),
            ),
            (
                "and arity",
                "{{and}}",
                Err(
                    "template: t:1:2: executing \"t\" at <and>: wrong number of args for and: want at least 1 got 0",
                ),
            ),
            (
                "index out of range",
                "{{index .SI 5}}",
                Err(
                    "template: t:1:2: executing \"t\" at <index .SI 5>: error calling index: index out of range: 5",
                ),
            ),
            (
                "index nil",
                "{{index .Missing 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <index .Missing 1>: error calling index: index of untyped nil",
                ),
            ),
            (
                "index int",
                "{{index .I 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <index .I 1>: error calling index: can't index item of type int",
                ),
            ),
            (
                "index map with int",
                "{{index .MSI 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <index .MSI 1>: error calling index: value has type int; should be string",
                ),
            ),
            (
                "slice bad",
                "{{slice .SI 2 1}}",
                Err(
                    "template: t:1:2: executing \"t\" at <slice .SI 2 1>: error calling slice: invalid slice index: 2 > 1",
                ),
            ),
            (
                "slice string 3",
                "{{slice .S 1 2 3}}",
                Err(
                    "template: t:1:2: executing \"t\" at <slice .S 1 2 3>: error calling slice: cannot 3-index slice a string",
                ),
            ),
            (
                "len int",
                "{{len 3}}",
                Err(
                    "template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int",
                ),
            ),
            (
                "len nil pointer",
                "{{len .Nil}}",
                Err(
                    "template: t:1:2: executing \"t\" at <len .Nil>: error calling len: len of nil pointer",
                ),
            ),
            (
                "printf non-string format",
                "{{printf 1}}",
                Err("template: t:1:9: executing \"t\" at <1>: expected string; found 1"),
            ),
            (
                "printf nil format",
                "{{printf .Nil}}",
                Err(
                    "template: t:1:9: executing \"t\" at <.Nil>: wrong type for value; expected string; got interface {}",
                ),
            ),
            (
                "printf piped no value",
                "{{.Missing | printf}}",
                Err(
                    "template: t:1:13: executing \"t\" at <printf>: invalid value; expected string",
                ),
            ),
            (
                "range over string",
                "{{range .S}}{{end}}",
                Err("template: t:1:8: executing \"t\" at <.S>: range can't iterate over xyz"),
            ),
            (
                "range int two vars",
                "{{range $i, $v := 3}}{{end}}",
                Err(
                    "template: t:1:18: executing \"t\" at <3>: can't use 3 to iterate over more than one variable",
                ),
            ),
            (
                "template not defined",
                "{{template \"z\"}}",
                Err(
                    "template: t:1:11: executing \"t\" at <{{template \"z\"}}>: template \"z\" not defined",
                ),
            ),
            (
                "call of nil",
                "{{call .Missing}}",
                Err(
                    "template: t:1:2: executing \"t\" at <call .Missing>: error calling call: call of nil",
                ),
            ),
            (
                "call non-function",
                "{{call .X}}",
                Err(
                    "template: t:1:2: executing \"t\" at <call .X>: error calling call: non-function .X of type string",
                ),
            ),
            (
                "overflow",
                "{{18446744073709551615}}",
                Err(
                    "template: t:1:2: executing \"t\" at <18446744073709551615>: 18446744073709551615 overflows int",
                ),
            ),
            (
                "missing inside define",
                "{{define \"d\"}}\n  {{.Q.R}}{{end}}{{template \"d\" .}}",
                Ok("\n  <no value>"),
            ),
        ],
    );
}

#[test]
fn error_in_define_with_zero_missingkey() {
    // With missingkey=zero a field of a missing key fails, and the location
    // names the file while the message names the defined template.
    let got = crate::run_with(
        "{{define \"d\"}}\n  {{.Q.R}}{{end}}{{template \"d\" .}}",
        &crate::data(),
        "missingkey=zero",
    );
    assert_eq!(
        got.unwrap_err().to_string(),
        "template: t:2:6: executing \"d\" at <.Q.R>: nil pointer evaluating interface {}.R"
    );
}

#[test]
fn bounds() {
    use gitops_gotemplate::{Error, Limit, Template, Value};

    let mut t = Template::new("gotpl");
    t.options_mut().max_depth = 50;
    t.parse(
        "r",
        r#"{{define "loop"}}{{template "loop" .}}{{end}}{{template "loop" .}}"#,
    )
    .unwrap();
    assert_eq!(
        t.render("r", &Value::Nil).unwrap_err().to_string(),
        "template: r:1:28: executing \"loop\" at <{{template \"loop\" .}}>: exceeded maximum template depth (50)"
    );

    let mut t = Template::new("gotpl");
    t.options_mut().max_output = Some(100);
    t.parse("o", "{{range 1000}}xx{{end}}").unwrap();
    let err = t.render("o", &Value::Nil).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: Limit::Output,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "template: o: output exceeds the limit of 100 bytes"
    );

    let mut t = Template::new("gotpl");
    t.options_mut().max_steps = Some(1000);
    t.parse("s", "{{range 100000}}{{end}}").unwrap();
    let err = t.render("s", &Value::Nil).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: Limit::Steps,
                ..
            }
        ),
        "{err}"
    );

    let mut t = Template::new("gotpl");
    t.options_mut().deadline = Some(std::time::Instant::now());
    t.parse("d", "{{range 100000}}{{end}}").unwrap();
    let err = t.render("d", &Value::Nil).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: Limit::Time,
                ..
            }
        ),
        "{err}"
    );

    let deep = format!("{}1{}", "(".repeat(2000), ")".repeat(2000));
    let err = Template::from_text("p", &format!("{{{{{deep}}}}}")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: p:1: max expression depth exceeded"
    );
    let deep_if = format!("{}{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    assert!(Template::from_text("p", &deep_if).is_err());
}
