//! Go text/template parsing and execution: never panics, stays within its
//! bounds, and a text that parses once parses again into the same set of
//! template names.
#![no_main]

use gitops_gotemplate::{Template, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut t = Template::new("gotpl");
    t.options_mut().max_steps = Some(100_000);
    t.options_mut().max_output = Some(1 << 20);
    t.set_option("missingkey=zero").expect("a Go option");
    if t.parse("fuzz", text).is_err() {
        return;
    }
    let names: Vec<String> = t.template_names().into_iter().map(String::from).collect();
    let mut again = Template::new("gotpl");
    again
        .parse("fuzz", text)
        .expect("a text that parsed once parses again");
    assert_eq!(again.template_names(), names);
    let data = Value::map([(
        "Values",
        Value::map([
            ("a", Value::from(1.5)),
            ("b", Value::list([Value::from("x")])),
        ]),
    )]);
    if let Ok(out) = t.render("fuzz", &data) {
        assert!(out.len() <= 1 << 20);
    }
});
