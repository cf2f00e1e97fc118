//! Sprig functions: outputs and errors as Sprig (Go) gives them, with
//! Helm's `missingkey=zero`.

use gitops_gotemplate::{Template, Value, sprig};

use crate::data;

fn run(text: &str) -> Result<String, String> {
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.set_option("missingkey=zero").map_err(|e| e.to_string())?;
    t.parse("t", text).map_err(|e| e.to_string())?;
    t.render("t", &data()).map_err(|e| e.to_string())
}

fn table(cases: &[(&str, Result<&str, &str>)]) {
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text);
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g.ends_with(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn strings() {
    table(&[
        (r#"{{ trim "  a b \n" }}"#, Ok("a b")),
        (r#"{{ trimAll "$" "$$5.00$" }}"#, Ok("5.00")),
        (r#"{{ "$5" | trimall "$" }}"#, Ok("5")),
        (
            r#"{{ trimPrefix "-" "--a" }} {{ trimSuffix "-" "a--" }}"#,
            Ok("-a a-"),
        ),
        (r#"{{ upper "aé" }} {{ lower "HÉ" }}"#, Ok("AÉ hé")),
        (
            r#"{{ title "hello wORLD-x_y z9a" }}"#,
            Ok("Hello WORLD-X_y Z9a"),
        ),
        (r#"{{ untitle "Hello World" }}"#, Ok("hello world")),
        (r#"{{ repeat 3 "ab" }}|{{ "x" | repeat 0 }}"#, Ok("ababab|")),
        (
            r#"{{ repeat -1 "ab" }}"#,
            Err("error calling repeat: strings: negative Repeat count"),
        ),
        (
            r#"{{ substr 1 3 "hello" }}|{{ substr -1 2 "hello" }}|{{ substr 2 -1 "hello" }}|{{ substr 2 99 "hello" }}"#,
            Ok("el|he|llo|llo"),
        ),
        (r#"{{ substr 0 9 "" }}"#, Ok("")),
        (
            r#"{{ substr -1 9 "abc" }}"#,
            Err(
                "error calling substr: runtime error: slice bounds out of range [:9] with length 3",
            ),
        ),
        (
            r#"{{ substr 3 2 "abcd" }}"#,
            Err("error calling substr: runtime error: slice bounds out of range [3:2]"),
        ),
        (
            r#"{{ substr 5 9 "abc" }}"#,
            Err("error calling substr: runtime error: slice bounds out of range [5:3]"),
        ),
        (r#"{{ nospace " a b\tc\n" }}"#, Ok("abc")),
        (r#"{{ nospace "é" }}|{{ nospace "é x" }}"#, Ok("é|Ã©x")),
        (
            r#"{{ trunc 3 "hello" }}|{{ trunc -2 "hello" }}|{{ trunc 10 "hi" }}|{{ trunc -10 "hi" }}"#,
            Ok("hel|lo|hi|hi"),
        ),
        (
            r#"{{ abbrev 5 "hello world" }}|{{ abbrev 3 "hello" }}|{{ abbrev 20 "hello" }}"#,
            Ok("he...|hello|hello"),
        ),
        (
            r#"{{ abbrevboth 5 10 "1234 5678 9123" }}"#,
            Ok("...5678..."),
        ),
        (r#"{{ abbrevboth 0 6 "hello world" }}"#, Ok("hel...")),
        (r#"{{ initials "First try  now" }}"#, Ok("Ftn")),
        (
            r#"{{ wrap 5 "Hello world, here" }}"#,
            Ok("Hello\nworld,\nhere"),
        ),
        (r#"{{ wrapWith 5 "\t" "Hello World" }}"#, Ok("Hello\tWorld")),
        (r#"{{ wrapWith 3 "|" "abcdefgh" }}"#, Ok("abc|def|gh")),
        (r#"{{ wrap 3 "abcdefgh ij" }}"#, Ok("abcdefgh\nij")),
        (
            r#"{{ contains "cat" "catch" }} {{ hasPrefix "ca" "cat" }} {{ hasSuffix "x" "cat" }}"#,
            Ok("true true false"),
        ),
        (r#"{{ quote "a\"b" 1 nil .F }}"#, Ok(r#""a\"b" "1" "1.5""#)),
        (r#"{{ squote "a" 2 nil }}"#, Ok("'a' '2'")),
        (r#"{{ cat "a" nil 1 .SS }}"#, Ok("a 1 [a b]")),
        (
            r#"{{ indent 2 "a\nb" }}|{{ nindent 1 "x" }}"#,
            Ok("  a\n  b|\n x"),
        ),
        (
            r#"{{ "aaa" | replace "a" "b" }}|{{ replace "" "-" "ab" }}"#,
            Ok("bbb|-a-b-"),
        ),
        (
            r#"{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}"#,
            Ok("one many"),
        ),
        (r#"{{ swapcase "Hello World" }}"#, Ok("hELLO wORLD")),
        (
            r#"{{ toString 1.5 }} {{ toString .MSI }} {{ toString nil }} {{ toString .SS }}"#,
            Ok("1.5 map[one:1 three:3 two:2] <nil> [a b]"),
        ),
        (
            r#"{{ toStrings .Mixed }} {{ toStrings 3 | len }} {{ toStrings nil | len }}"#,
            Ok("[1 s map[k:true]] 1 0"),
        ),
        (
            r#"{{ $s := split "/" "a/b/c" }}{{ $s._1 }} {{ $s }}"#,
            Ok("b map[_0:a _1:b _2:c]"),
        ),
        (
            r#"{{ splitList "," "a,b,,c" }} {{ splitList "," "" | len }}"#,
            Ok("[a b  c] 1"),
        ),
        (r#"{{ splitn "/" 2 "a/b/c" }}"#, Ok("map[_0:a _1:b/c]")),
        (
            r#"{{ join "-" .Mixed }} {{ join "," "x" }} {{ join "," nil }}|"#,
            Ok("1-s-map[k:true] x |"),
        ),
        (
            r#"{{ sortAlpha (list "b" "a" 10 2) }} {{ sortAlpha "x" }} {{ sortAlpha nil }}"#,
            Ok("[10 2 a b] [x] [<nil>]"),
        ),
        (r#"{{ upper 3 }}"#, Err("expected string; found 3")),
    ]);
}

#[test]
fn logic() {
    table(&[
        (
            r#"{{ default "d" "" }} {{ default "d" "x" }} {{ default "d" 0 }} {{ default "d" .Missing }} {{ default "d" }}"#,
            Ok("d x d d d"),
        ),
        (
            r#"{{ .Empty | default "d" }} {{ .SIEmpty | default "d" }} {{ .FF | default "d" }} {{ .T | default "d" }}"#,
            Ok("d d d true"),
        ),
        (
            r#"{{ empty "" }} {{ empty 0.0 }} {{ empty .MSI }} {{ empty nil }} {{ empty false }} {{ empty (list) }}"#,
            Ok("true true false true true true"),
        ),
        (
            r#"{{ coalesce 0 "" "x" 1 }} {{ coalesce 0 "" }}"#,
            Ok("x <no value>"),
        ),
        (
            r#"{{ all 1 "a" .T }} {{ all 1 "" }} {{ any 0 "" }} {{ any 0 "a" }} {{ all }} {{ any }}"#,
            Ok("true false false true true false"),
        ),
        (
            r#"{{ ternary "y" "n" true }} {{ true | ternary "y" "n" }} {{ ternary 1 2 false }}"#,
            Ok("y y 2"),
        ),
        (r#"{{ fail "boom" }}"#, Err("error calling fail: boom")),
        (
            r#"{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf "s" }} {{ typeOf .SS }} {{ typeOf .MSI }} {{ typeOf nil }} {{ typeOf true }}"#,
            Ok("int float64 string []interface {} map[string]interface {} <nil> bool"),
        ),
        (
            r#"{{ kindOf 1 }} {{ kindOf 1.5 }} {{ kindOf "s" }} {{ kindOf .SS }} {{ kindOf .MSI }} {{ kindOf nil }}"#,
            Ok("int float64 string slice map invalid"),
        ),
        (
            r#"{{ kindIs "map" .MSI }} {{ kindIs "slice" "x" }} {{ typeIs "int" 3 }} {{ typeIs "int" 3.0 }}"#,
            Ok("true false true false"),
        ),
        (
            r#"{{ deepEqual .SS (list "a" "b") }} {{ deepEqual 1 1.0 }} {{ deepEqual (dict "a" 1) (dict "a" 1) }} {{ deepEqual nil nil }}"#,
            Ok("true false true true"),
        ),
    ]);
}

#[test]
fn numbers() {
    table(&[
        (
            r#"{{ add 1 2 "3" 1.9 }} {{ add }} {{ add1 "7" }} {{ sub 5 7 }} {{ div 7 2 }} {{ div -7 2 }} {{ mod -7 3 }} {{ mul 2 3 "x" }} {{ mul 2 3.5 }}"#,
            Ok("7 0 8 -2 3 -3 -1 0 6"),
        ),
        (
            r#"{{ div 1 0 }}"#,
            Err("error calling div: runtime error: integer divide by zero"),
        ),
        (
            r#"{{ mod 1 "0" }}"#,
            Err("error calling mod: runtime error: integer divide by zero"),
        ),
        (
            r#"{{ int "12.000" }} {{ int "12.5" }} {{ int "0x1F" }} {{ int "010" }} {{ int "1_000" }} {{ int true }} {{ int nil }} {{ int64 -3.9 }} {{ int " 1" }}"#,
            Ok("12 0 31 8 1000 1 0 -3 0"),
        ),
        (
            r#"{{ atoi "42" }} {{ atoi "-1" }} {{ atoi "0x10" }} {{ atoi "4.0" }}"#,
            Ok("42 -1 0 0"),
        ),
        (
            r#"{{ float64 "1.5" }} {{ float64 3 }} {{ float64 "x" }} {{ float64 "1e3" }} {{ float64 true }}"#,
            Ok("1.5 3 0 1000 1"),
        ),
        (
            r#"{{ max 1 5 "3" }} {{ min 4 2 9 }} {{ max 7 }} {{ biggest 1 2 }}"#,
            Ok("5 2 7 2"),
        ),
        (
            r#"{{ maxf 1 5.5 "3" }} {{ minf 4 2.25 9 }}"#,
            Ok("5.5 2.25"),
        ),
        (
            r#"{{ floor 1.7 }} {{ ceil "1.2" }} {{ floor -1.5 }}"#,
            Ok("1 2 -2"),
        ),
        (
            r#"{{ round 3.14159 2 }} {{ round 2.5 0 }} {{ round 2.4 0 }} {{ round 2.55 1 0.6 }} {{ round -2.5 0 }}"#,
            Ok("3.14 3 2 2.5 -3"),
        ),
        (
            r#"{{ seq 3 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 7 }}|{{ seq 7 -2 0 }}|{{ seq 7 2 0 }}|{{ seq }}|{{ seq 0 }}"#,
            Ok("1 2 3|2 3 4 5|5 4 3 2|0 2 4 6|7 5 3 1|||1 0"),
        ),
        (
            r#"{{ until 3 }} {{ until -2 }} {{ untilStep 0 10 3 }} {{ untilStep 5 0 -2 }} {{ untilStep 0 5 0 }}"#,
            Ok("[0 1 2] [0 -1] [0 3 6 9] [5 3 1] []"),
        ),
        (r#"{{ range until 2 }}{{ . }}{{ end }}"#, Ok("01")),
        (
            r#"{{ addf 0.1 0.2 }} {{ addf 1 "2.5" }} {{ subf 1.5 0.2 }} {{ mulf 1.1 3 }} {{ divf 10 4 }} {{ divf 1 3 }} {{ add1f 0.1 }}"#,
            Ok("0.3 3.5 1.3 3.3 2.5 0.3333333333333333 1.1"),
        ),
        (
            r#"{{ divf 1 0 }}"#,
            Err("error calling divf: decimal division by zero"),
        ),
        (r#"{{ until 1.5 }}"#, Err("expected integer; found 1.5")),
    ]);
}

#[test]
fn lists() {
    table(&[
        (
            r#"{{ list 1 "a" nil }} {{ list | len }} {{ tuple 1 2 }}"#,
            Ok("[1 a <nil>] 0 [1 2]"),
        ),
        (
            r#"{{ first .SI }} {{ last .SI }} {{ rest .SI }} {{ initial .SI }}"#,
            Ok("3 5 [4 5] [3 4]"),
        ),
        (
            r#"{{ first .SIEmpty }} {{ rest .SIEmpty }} {{ initial .SIEmpty }}"#,
            Ok("<no value> [] []"),
        ),
        (
            r#"{{ first "abc" }}"#,
            Err("error calling first: Cannot find first on type string"),
        ),
        (
            r#"{{ mustLast 3 }}"#,
            Err("error calling mustLast: Cannot find last on type int"),
        ),
        (
            r#"{{ first nil }}"#,
            Err(
                "error calling first: runtime error: invalid memory address or nil pointer dereference",
            ),
        ),
        (
            r#"{{ append .SS "c" }} {{ push .SS 1 }} {{ prepend .SS "z" }} {{ .SS }}"#,
            Ok("[a b c] [a b 1] [z a b] [a b]"),
        ),
        (
            r#"{{ append .MSI 1 }}"#,
            Err("error calling append: Cannot push on type map"),
        ),
        (
            r#"{{ prepend "x" 1 }}"#,
            Err("error calling prepend: Cannot prepend on type string"),
        ),
        (
            r#"{{ concat .SS .SI (list) }} {{ concat }}"#,
            Ok("[a b 3 4 5] []"),
        ),
        (
            r#"{{ concat .SS 1 }}"#,
            Err("error calling concat: Cannot concat type int as list"),
        ),
        (
            r#"{{ reverse .SI }} {{ reverse (list) }}"#,
            Ok("[5 4 3] []"),
        ),
        (r#"{{ uniq (list 1 1 "1" 2 1.0 1) }}"#, Ok("[1 1 2 1]")),
        (
            r#"{{ without .SI 4 "5" }} {{ without (list 1 2 1) 1 }}"#,
            Ok("[3 5] [2]"),
        ),
        (
            r#"{{ has 4 .SI }} {{ has "4" .SI }} {{ has 1 nil }} {{ .SS | has "a" }}"#,
            Ok("true false false true"),
        ),
        (
            r#"{{ has 1 "x" }}"#,
            Err("error calling has: Cannot find has on type string"),
        ),
        (
            r#"{{ compact (list 0 "" "a" nil false 1 (list)) }}"#,
            Ok("[a 1]"),
        ),
        (
            r#"{{ slice .SI 1 }} {{ slice .SI 1 2 }} {{ slice .SI }} {{ slice .SI "1" "3" }} {{ slice .SIEmpty 0 }}"#,
            Ok("[4 5] [4] [3 4 5] [4 5] <no value>"),
        ),
        (
            r#"{{ slice .SI 2 1 }}"#,
            Err("error calling slice: reflect.Value.Slice: slice index out of bounds"),
        ),
        (
            r#"{{ slice "abc" 1 }}"#,
            Err("error calling slice: list should be type of slice or array but string"),
        ),
        (
            r#"{{ chunk 2 (list 1 2 3 4 5) }} {{ chunk 3 .SI }} {{ chunk 2 (list) }}"#,
            Ok("[[1 2] [3 4] [5]] [[3 4 5]] []"),
        ),
        (
            r#"{{ chunk 2 "x" }}"#,
            Err("error calling chunk: Cannot chunk type string"),
        ),
    ]);
}

#[test]
fn dicts() {
    table(&[
        (
            r#"{{ dict "b" 2 "a" 1 }} {{ dict "k" }} {{ dict 1 2 }} {{ dict }}"#,
            Ok("map[a:1 b:2] map[k:] map[1:2] map[]"),
        ),
        (
            r#"{{ get .MSI "one" }} {{ get .MSI "nine" | quote }} {{ get nil "x" | quote }}"#,
            Ok(r#"1 "" """#),
        ),
        (
            r#"{{ hasKey .MSI "two" }} {{ hasKey .MSI "x" }} {{ hasKey nil "x" }}"#,
            Ok("true false false"),
        ),
        (
            r#"{{ set (dict "a" 1) "b" 2 }} {{ unset .MSI "one" }}"#,
            Ok("map[a:1 b:2] map[three:3 two:2]"),
        ),
        (
            r#"{{ set nil "a" 1 }}"#,
            Err("error calling set: assignment to entry in nil map"),
        ),
        (
            r#"{{ get "x" "a" }}"#,
            Err(
                "error calling get: wrong type for value; expected map[string]interface {}; got string",
            ),
        ),
        (
            r#"{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}"#,
            Ok("[1 3]"),
        ),
        (
            r#"{{ keys .MSI (dict "z" 1) }} {{ values .MSI }}"#,
            Ok("[one three two z] [1 3 2]"),
        ),
        (
            r#"{{ pick .MSI "one" "x" }} {{ omit .MSI "one" "x" }}"#,
            Ok("map[one:1] map[three:3 two:2]"),
        ),
        (
            r#"{{ merge (dict "a" 1 "n" (dict "x" 1) "e" "") (dict "a" 2 "b" 3 "n" (dict "x" 2 "y" 2) "e" "f") }}"#,
            Ok("map[a:1 b:3 e:f n:map[x:1 y:2]]"),
        ),
        (
            r#"{{ mergeOverwrite (dict "a" 1 "n" (dict "x" 1) "l" (list 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2) "l" (list 2)) (dict "a" "" "z" nil) }}"#,
            Ok("map[a: b:3 l:[2] n:map[x:1 y:2] z:<nil>]"),
        ),
        (
            r#"{{ merge (dict "a" (list 1)) (dict "a" (list 2) "m" (dict)) }}"#,
            Ok("map[a:[1] m:map[]]"),
        ),
        (r#"{{ deepCopy .MSI }}"#, Ok("map[one:1 three:3 two:2]")),
        (
            r#"{{ dig "A" "B" "def" .Nested }} {{ dig "A" "X" "def" .Nested }} {{ dig "Q" "def" .Nested }}"#,
            Ok("deep def def"),
        ),
        (
            r#"{{ dig "A" "B" "C" "def" .Nested }}"#,
            Err(
                "error calling dig: interface conversion: interface {} is string, not map[string]interface {}",
            ),
        ),
        (
            r#"{{ dig "a" "def" }}"#,
            Err("error calling dig: dig needs at least three arguments"),
        ),
        (
            r#"{{ dig 1 "def" .MSI }}"#,
            Err("error calling dig: interface conversion: interface {} is int, not string"),
        ),
    ]);
}

#[test]
fn encoding() {
    table(&[
        (
            r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b64enc "" }}|{{ b64enc "ab" }}"#,
            Ok("aGVsbG8= hello |YWI="),
        ),
        (
            r#"{{ b64dec "aGVs\nbG8=" }}|{{ b64dec "abc" }}|{{ b64dec "a$" }}|{{ b64dec "YQ==YQ==" }}|{{ b64dec "YQ=" }}"#,
            Ok(
                "hello|illegal base64 data at input byte 0|illegal base64 data at input byte 1|illegal base64 data at input byte 4|illegal base64 data at input byte 3",
            ),
        ),
        (
            r#"{{ b32enc "hello" }} {{ b32enc "a" }} {{ b32dec "NBSWY3DP" }} {{ b32dec "ME======" }}"#,
            Ok("NBSWY3DP ME====== hello a"),
        ),
        (
            r#"{{ b32dec "M1" }}|{{ b32dec "ME" }}"#,
            Ok("illegal base32 data at input byte 1|illegal base32 data at input byte 0"),
        ),
        (
            r#"{{ sha1sum "abc" }}"#,
            Ok("a9993e364706816aba3e25717850c26c9cd0d89d"),
        ),
        (
            r#"{{ sha256sum "abc" }}"#,
            Ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ),
        (r#"{{ adler32sum "Wikipedia" }}"#, Ok("300286872")),
        (
            r#"{{ toJson (dict "b" 1.5 "a" (list 1 nil true "<&>") "c" (dict)) }}"#,
            Ok(r#"{"a":[1,null,true,"\u003c\u0026\u003e"],"b":1.5,"c":{}}"#),
        ),
        (
            r#"{{ toRawJson (dict "a" "<&>\u2028") }}"#,
            Ok(r#"{"a":"<&>\u2028"}"#),
        ),
        (
            r#"{{ toJson 1e21 }} {{ toJson 1e20 }} {{ toJson 0.0000001 }} {{ toJson 0.000001 }} {{ toJson -0.0 }} {{ toJson "\t\b\x01" }} {{ toJson nil }}"#,
            Ok(r#"1e+21 100000000000000000000 1e-7 0.000001 -0 "\t\b\u0001" null"#),
        ),
        (
            r#"{{ toPrettyJson (dict "a" (list 1 2) "b" (dict) "c" (list)) }}"#,
            Ok("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}"),
        ),
        (r#"{{ toJson (float64 "NaN") }}|"#, Ok("|")),
        (
            r#"{{ mustToJson (float64 "NaN") }}"#,
            Err("error calling mustToJson: json: unsupported value: NaN"),
        ),
    ]);
}

#[test]
fn regexes() {
    table(&[
        (
            r#"{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^[a-z]+$" "ab1" }} {{ regexMatch "(" "x" }}"#,
            Ok("true false false"),
        ),
        (
            r#"{{ regexFindAll "[2,4,6,8]" "123456789" -1 }} {{ regexFindAll "[2,4,6,8]" "123456789" 2 }} {{ regexFindAll "a" "b" -1 }}"#,
            Ok("[2 4 6 8] [2 4] []"),
        ),
        (
            r#"{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }}|{{ regexFind "x" "abc" }}|"#,
            Ok("d1||"),
        ),
        (
            r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}"#,
            Ok("-W-xxW- ---"),
        ),
        (
            r#"{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#,
            Ok("-${1}-${1}-"),
        ),
        (
            r#"{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "z+" "pizza" 1 }} {{ regexSplit "z+" "pizza" 0 }} {{ regexSplit "" "abc" -1 }} {{ regexSplit "a" "" -1 | len }}"#,
            Ok("[pi a] [pizza] [] [a b c] 1"),
        ),
        (r#"{{ regexQuoteMeta "1.2+[x]" }}"#, Ok(r"1\.2\+\[x\]")),
        (
            r#"{{ regexFind "(" "x" }}"#,
            Err(
                "error calling regexFind: regexp: Compile(`(`): error parsing regexp: unclosed group",
            ),
        ),
        (
            r#"{{ mustRegexFind "(" "x" }}"#,
            Err("error calling mustRegexFind: error parsing regexp: unclosed group"),
        ),
    ]);
}

#[test]
fn pipelines_helm_style() {
    let got = run(
        r#"{{- $name := default "app" .Missing | trunc 63 | trimSuffix "-" -}}
{{ $name }}: {{ list "b" "a" | sortAlpha | join "," | quote }}
labels: {{- dict "x" "1" "y" (int "2") | toYaml | nindent 2 }}"#,
    );
    // toYaml is Helm's, not Sprig's.
    assert!(got.unwrap_err().contains("function \"toYaml\" not defined"));
    assert_eq!(
        run(r#"{{ $d := dict "a" 1 }}{{ $d = set $d "b" 2 }}{{ $d | toJson }} {{ .I | add 3 | mul 2 }}"#).unwrap(),
        r#"{"a":1,"b":2} 40"#
    );
    let v = Value::map([("n", Value::from(2.0))]);
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.parse("t", "{{ until (int .n) }} {{ .n | int | add1 }}")
        .unwrap();
    assert_eq!(t.render("t", &v).unwrap(), "[0 1] 3");
}

#[test]
fn maps_are_references() {
    table(&[
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d.b }}"#,
            Ok("2"),
        ),
        (
            r#"{{ $d := dict "a" 1 "b" 2 }}{{ $_ := unset $d "a" }}{{ hasKey $d "a" }} {{ $d }}"#,
            Ok("false map[b:2]"),
        ),
        (
            r#"{{ $d := dict "a" 1 "n" (dict "x" 1) }}{{ $r := merge $d (dict "a" 2 "b" 3 "n" (dict "y" 2)) }}{{ $d }} {{ $r }}"#,
            Ok("map[a:1 b:3 n:map[x:1 y:2]] map[a:1 b:3 n:map[x:1 y:2]]"),
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := mergeOverwrite $d (dict "a" 2) (dict "c" 4) }}{{ $d.a }} {{ $d.c }}"#,
            Ok("2 4"),
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := mustMerge $d $d (dict "b" 2) }}{{ $d }}"#,
            Ok("map[a:1 b:2]"),
        ),
        (
            r#"{{ $n := dict "x" 1 }}{{ $d := dict "n" $n }}{{ $_ := merge $d (dict "n" (dict "y" 2)) }}{{ $n }}"#,
            Ok("map[x:1 y:2]"),
        ),
        (
            r#"{{ $d := dict "n" (dict "x" 1) }}{{ $c := deepCopy $d }}{{ $_ := set $c.n "x" 2 }}{{ $_ := set $c "y" 3 }}{{ $d }} {{ $c }}"#,
            Ok("map[n:map[x:1]] map[n:map[x:2] y:3]"),
        ),
        (
            r#"{{ $d := dict }}{{ $e := $d }}{{ $_ := set $e "k" "v" }}{{ $d.k }}"#,
            Ok("v"),
        ),
        (
            r#"{{ $d := dict "n" (dict) }}{{ $_ := set $d.n "x" 1 }}{{ $d }} {{ dig "n" "x" 0 $d }}"#,
            Ok("map[n:map[x:1]] 1"),
        ),
        (
            r#"{{ $a := dict }}{{ $b := dict }}{{ $_ := set $a "k" 1 }}{{ $b }}"#,
            Ok("map[]"),
        ),
        (
            r#"{{ $d := dict "a" 1 "b" 2 }}{{ range $k, $v := $d }}{{ $_ := set $d "z" 0 }}{{ $k }}{{ end }} {{ len $d }}"#,
            Ok("ab 3"),
        ),
        (
            r#"{{ $d := dict }}{{ $_ := set $d "k" 1 }}{{ index $d "k" }} {{ len $d }} {{ keys $d }} {{ values $d }} {{ $d | toJson }} {{ get $d "k" }} {{ pick $d "k" }} {{ omit $d "k" }}"#,
            Ok(r#"1 1 [k] [1] {"k":1} 1 map[k:1] map[]"#),
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ $o := omit $d "a" }}{{ $_ := set $o "b" 2 }}{{ $d }}"#,
            Ok("map[a:1]"),
        ),
        (
            r#"{{ $_ := set .MSI "x" 1 }}{{ .MSI.x }} {{ $_ := unset $.MSI "one" }}{{ .MSI }}"#,
            Ok("1 map[three:3 two:2 x:1]"),
        ),
    ]);
}

#[test]
fn caller_data_is_changed_in_place() {
    let values = Value::map([("replicas", Value::from(1))]);
    let top = Value::map([("Values", values.clone())]);
    let mut t = Template::with_funcs("t", sprig::funcs());
    t.parse(
        "t",
        r#"{{ define "read" }}{{ .Values.x }}{{ end }}{{ $_ := set .Values "x" "set" }}{{ template "read" . }} {{ .Values }}"#,
    )
    .unwrap();
    assert_eq!(t.render("t", &top).unwrap(), "set map[replicas:1 x:set]");
    // The caller's map is the template's map.
    assert_eq!(values.as_map().unwrap().get("x"), Some(Value::from("set")));
}

#[test]
fn cyclic_maps_are_bounded() {
    let cycle = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#;
    let with = |rest: &str| format!("{cycle}{rest}");
    let cases = [
        (
            with("{{ $d }}"),
            Err("can't print value: value contains itself (a cycle via map[string]interface {})"),
        ),
        (
            with("{{ print $d }}"),
            Err(
                "error calling print: can't print value: value contains itself (a cycle via map[string]interface {})",
            ),
        ),
        (
            with("{{ mustToJson $d }}"),
            Err(
                "error calling mustToJson: json: unsupported value: encountered a cycle via map[string]interface {}",
            ),
        ),
        (with("{{ toJson $d | quote }}"), Ok(r#""""#)),
        (
            with("{{ deepCopy $d }}"),
            Err("error calling deepCopy: encountered a cycle via map[string]interface {}"),
        ),
        (
            with(r#"{{ $_ := set $d "b" $d }}{{ toString $d }}"#),
            Ok("map[a:1 b:%!(CYCLE) self:%!(CYCLE)]"),
        ),
        (
            with("{{ $d.self.self.a }} {{ len $d.self }} {{ hasKey $d.self \"self\" }}"),
            Ok("1 2 true"),
        ),
        (with("{{ $_ := merge $d $d.self }}{{ len $d }}"), Ok("2")),
        (
            r#"{{ $d := dict }}{{ range until 300 }}{{ $d = dict "x" $d }}{{ end }}{{ $d }}"#
                .to_string(),
            Err("can't print value: value nested deeper than 256 levels"),
        ),
    ];
    let cases: Vec<(&str, Result<&str, &str>)> =
        cases.iter().map(|(t, w)| (t.as_str(), *w)).collect();
    table(&cases);
}

#[test]
fn cyclic_map_debug_and_thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Value>();
    let m = gitops_gotemplate::MapRef::default();
    m.insert("a", Value::Map(m.clone()));
    m.insert("b", Value::Map(m.clone()));
    assert_eq!(format!("{m:?}"), r#"{"a": Map({..}), "b": Map({..})}"#);
    assert_eq!(Value::Map(m.clone()), Value::Map(m.clone()));
    // Break the cycle so the map is freed.
    m.remove("a");
    m.remove("b");
}
