//! Parsing: what parses, and what the trimmed text becomes.

use crate::check_table;

#[test]
fn parses() {
    check_table(
        "missingkey=default",
        &[
            ("spaces in action", "{{  .X  }}", Ok("x")),
            ("newlines in action", "{{\n.X\n|\nprint\n}}", Ok("x")),
            ("trim left", "a  \n {{- .X}}", Ok("ax")),
            ("trim right", "{{.X -}} \n\t b", Ok("xb")),
            ("trim both", "a {{- .X -}} b", Ok("axb")),
            ("trim needs space", "{{-3}}", Ok("-3")),
            (
                "trim with newline marker",
                "a \n{{-\n.X\n-}}\n b",
                Ok("axb"),
            ),
            ("trim comment", "a  {{- /* c */ -}}  b", Ok("ab")),
            ("trim number", "{{3 -}} < {{- 4}}", Ok("3<4")),
            ("minus number", "{{- -3 -}}", Ok("-3")),
            ("raw string newline", "{{`a\nb`}}", Ok("a\nb")),
            ("raw string cr dropped", "{{`a\r\nb`}}", Ok("a\nb")),
            (
                "char escapes",
                "{{'\\n'}} {{'\\x41'}} {{'\\u00e9'}}",
                Ok("10 65 233"),
            ),
            ("string escapes", "{{\"a\\tb\\u00e9\"}}", Ok("a\tbé")),
            (
                "break as function name",
                "{{range 2}}{{break}}{{end}}x",
                Ok("x"),
            ),
            ("else with spaces", "{{if 0}}a{{ else }}b{{ end }}", Ok("b")),
            ("chained parens", "{{(print \"a\" | print)}}", Ok("a")),
            ("variable decl no print", "{{$x := 5}}", Ok("")),
            ("comment only", "{{/* nothing */}}", Ok("")),
            ("comment multiline", "{{/*\nline\n*/}}x", Ok("x")),
            ("delims in text", "a }} b", Ok("a }} b")),
            (
                "identifier chain",
                "{{with .Nested}}{{.A.B}}{{end}}",
                Ok("deep"),
            ),
        ],
    );
}

#[test]
fn custom_delimiters() {
    use gitops_gotemplate::{Template, Value};
    let mut t = Template::new("gotpl");
    t.options_mut().left_delim = "[[".into();
    t.options_mut().right_delim = "]]".into();
    t.parse("d", "{{.x}} [[- .x -]] ]]").unwrap();
    let data = Value::map([("x", Value::from(1))]);
    assert_eq!(t.render("d", &data).unwrap(), "{{.x}}1]]");
}
