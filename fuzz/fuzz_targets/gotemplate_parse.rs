//! Go text/template parsing and execution, with and without Sprig's
//! functions: never panics, stays within its bounds (steps, output, nesting,
//! time), and a text that parses once parses again into the same set of
//! template names.
//!
//! The first byte picks the function set (even: none, `skip_func_check`
//! off; odd: Sprig with no clock or entropy) and the `missingkey` option;
//! the rest is the template text. `tools/fuzz-sweep.sh` seeds it with the
//! templates of the Helm chart corpus.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_gotemplate::sprig::{self, NoEnvironment};
use gitops_gotemplate::{Template, Value};
use libfuzzer_sys::fuzz_target;

const MAX_OUTPUT: usize = 1 << 20;

fn template(with_sprig: bool, missing: &str) -> Template {
    let mut t = if with_sprig {
        Template::with_funcs("gotpl", sprig::funcs_with(Arc::new(NoEnvironment)))
    } else {
        Template::new("gotpl")
    };
    let o = t.options_mut();
    o.max_steps = Some(100_000);
    o.max_output = Some(MAX_OUTPUT);
    o.deadline = Some(Instant::now() + Duration::from_secs(2));
    t.set_option(missing).expect("a Go option");
    t
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let with_sprig = mode & 1 == 1;
    let missing = ["missingkey=zero", "missingkey=default", "missingkey=error"][usize::from(mode >> 1) % 3];
    let mut t = template(with_sprig, missing);
    if t.parse("fuzz", text).is_err() {
        return;
    }
    let names: Vec<String> = t.template_names().into_iter().map(String::from).collect();
    let mut again = template(with_sprig, missing);
    again
        .parse("fuzz", text)
        .expect("a text that parsed once parses again");
    assert_eq!(again.template_names(), names);
    let data = Value::map([
        (
            "Values",
            Value::map([
                ("a", Value::from(1.5)),
                ("b", Value::list([Value::from("x"), Value::from(2)])),
                ("c", Value::map([("d", Value::from(true))])),
                ("s", Value::from("text")),
            ]),
        ),
        ("Release", Value::map([("Name", Value::from("rel"))])),
    ]);
    if let Ok(out) = t.render("fuzz", &data) {
        assert!(out.len() <= MAX_OUTPUT);
    }
});
