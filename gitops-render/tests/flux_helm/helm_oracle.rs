//! Differential tests against the real `helm` (v4.1.4): `helm template` of
//! a chart whose only template dumps `.Values` as JSON must give exactly what
//! our strvals parser + coalescing compute.

use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_render::helm::coalesce::{Chart, coalesce_values};
use gitops_render::helm::strvals::{self, SetKind};
use gitops_render::helm::values::read_values;
use serde_json::{Map, Value, json};

use crate::values_equal;

/// The `helm` binary; panics (never skips) when it is missing.
fn helm() -> PathBuf {
    let dir = std::env::var_os("GITOPS_ORACLES").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/gitops-oracles")
        },
        PathBuf::from,
    );
    let bin = dir.join("helm");
    assert!(
        bin.is_file(),
        "helm oracle not found at {}: run tools/fetch-oracles.sh (or set GITOPS_ORACLES)",
        bin.display()
    );
    bin
}

const DUMP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  values: {{ toJson .Values | quote }}\n";

/// Write a chart (with optional subcharts, each `(name, values)`) into `dir`.
fn write_chart(dir: &Path, values: &Value, subcharts: &[(&str, Value)]) {
    let w = |p: PathBuf, s: &str| {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, s).expect("write");
    };
    let mut chart_yaml = String::from("apiVersion: v2\nname: top\nversion: 0.1.0\n");
    if !subcharts.is_empty() {
        chart_yaml.push_str("dependencies:\n");
        for (name, _) in subcharts {
            chart_yaml.push_str(&format!("  - name: {name}\n    version: 0.1.0\n"));
        }
    }
    w(dir.join("Chart.yaml"), &chart_yaml);
    w(dir.join("values.yaml"), &values.to_string());
    w(dir.join("templates/dump.yaml"), DUMP);
    for (name, v) in subcharts {
        let sub = dir.join("charts").join(name);
        w(
            sub.join("Chart.yaml"),
            &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
        );
        w(sub.join("values.yaml"), &v.to_string());
    }
}

/// `helm template` the chart with extra args; the dumped `.Values` or stderr.
fn helm_values(chart: &Path, args: &[String]) -> Result<Value, String> {
    let out = Command::new(helm())
        .arg("template")
        .arg("x")
        .arg(chart)
        .args(args)
        .env("HELM_CACHE_HOME", chart.join(".cache"))
        .env("HELM_CONFIG_HOME", chart.join(".config"))
        .env("HELM_DATA_HOME", chart.join(".data"))
        .output()
        .map_err(|e| format!("running helm: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = gitops_core::yaml::parse_documents(&text, "helm output")
        .map_err(|e| format!("{e}\n{text}"))?;
    for d in docs {
        if let Some(v) = d
            .root
            .get_path(&["data", "values"])
            .and_then(|n| n.as_str())
        {
            return serde_json::from_str(v).map_err(|e| format!("{e}: {v}"));
        }
    }
    Err(format!("no dump in helm output:\n{text}"))
}

#[test]
fn strvals_cases_match_helm_cli() {
    let Some(dir) = crate::conformance_dir("helm_strvals (oracle)") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("helm/strvals_cases.json")).expect("read cases");
    let rows: Vec<Value> = serde_json::from_str(&text).expect("json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    write_chart(&chart, &json!({}), &[]);
    let mut failures = Vec::new();
    let mut ran = 0;
    for (i, row) in rows.iter().enumerate() {
        let Some(flag) = row["helm_flag"].as_str() else {
            continue;
        };
        ran += 1;
        let kind = match flag {
            "--set" => SetKind::Set,
            "--set-string" => SetKind::String,
            "--set-literal" => SetKind::Literal,
            _ => SetKind::Json,
        };
        let mut args = Vec::new();
        let mut ours: Result<Map<String, Value>, String> =
            Ok(row["initial"].as_object().cloned().unwrap_or_default());
        if let Some(initial) = row["initial"].as_object() {
            let f = tmp.path().join(format!("initial-{i}.yaml"));
            std::fs::write(&f, Value::Object(initial.clone()).to_string()).expect("write");
            args.push("-f".to_owned());
            args.push(f.display().to_string());
        }
        for input in row["inputs"].as_array().into_iter().flatten() {
            let input = input.as_str().unwrap_or("");
            args.push(flag.to_owned());
            args.push(input.to_owned());
            if let Ok(m) = &mut ours
                && let Err(e) = strvals::apply(kind, input, m)
            {
                ours = Err(e.to_string());
            }
        }
        let ours = ours.and_then(|m| {
            coalesce_values(&Chart::new("top", json!({})), &m)
                .map(|c| Value::Object(c.values))
                .map_err(|e| e.to_string())
        });
        let theirs = helm_values(&chart, &args);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) if values_equal(a, b) => {}
            (Err(_), Err(_)) => {}
            _ => failures.push(format!("row {i} {args:?}: ours {ours:?}, helm {theirs:?}")),
        }
    }
    println!(
        "helm_strvals: {} passed, {} failed (helm CLI oracle)",
        ran - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 117, "only {ran} rows have a helm flag");
}

/// A small deterministic generator (xorshift) for value trees.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn scalar(&mut self) -> Value {
        match self.below(6) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => json!(self.below(100)),
            3 => json!(format!("s{}", self.below(10))),
            4 => json!([self.below(3), "x"]),
            _ => json!("10"),
        }
    }
    fn tree(&mut self, depth: u32) -> Value {
        let keys = ["a", "b", "c", "d"];
        let mut m = Map::new();
        for k in keys {
            match self.below(4) {
                0 => {}
                1 if depth > 0 => {
                    m.insert(k.to_owned(), self.tree(depth - 1));
                }
                _ => {
                    m.insert(k.to_owned(), self.scalar());
                }
            }
        }
        Value::Object(m)
    }
    fn with_global(&mut self, depth: u32) -> Value {
        let mut t = self.tree(depth);
        if self.below(2) == 0
            && let Value::Object(m) = &mut t
        {
            m.insert("global".to_owned(), self.tree(1));
        }
        t
    }
}

#[test]
fn generated_value_trees_coalesce_like_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    let cases = 24;
    for case in 0..cases {
        let chart_dir = tmp.path().join(format!("chart{case}"));
        let defaults = g.with_global(2);
        let with_sub = case % 2 == 1;
        let sub_defaults = g.with_global(2);
        let subs: Vec<(&str, Value)> = if with_sub {
            vec![("sub", sub_defaults.clone())]
        } else {
            Vec::new()
        };
        write_chart(&chart_dir, &defaults, &subs);
        let mut user = g.with_global(2);
        if with_sub && let Value::Object(m) = &mut user {
            m.insert("sub".to_owned(), g.with_global(2));
        }
        let user_file = tmp.path().join(format!("user{case}.yaml"));
        std::fs::write(&user_file, user.to_string()).expect("write");
        let mut chart = Chart::new("top", defaults.clone());
        if with_sub {
            chart = chart.with_dependency(Chart::new("sub", sub_defaults));
        }
        let ours = coalesce_values(&chart, user.as_object().expect("map"))
            .map(|c| Value::Object(c.values))
            .map_err(|e| e.to_string());
        let theirs = helm_values(
            &chart_dir,
            &["-f".to_owned(), user_file.display().to_string()],
        );
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) if values_equal(a, b) => {}
            (Err(_), Err(_)) => {}
            _ => failures.push(format!(
                "case {case}\n  defaults {defaults}\n  sub {subs:?}\n  user {user}\n  ours {ours:?}\n  helm {theirs:?}"
            )),
        }
    }
    println!(
        "helm_coalesce: {} passed, {} failed (generated trees vs helm)",
        cases - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn yaml11_values_files_read_like_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart_dir = tmp.path().join("chart");
    write_chart(&chart_dir, &json!({}), &[]);
    let text = "a: yes\nb: on\nc: 010\nd: 0x1F\ne: 1_000\nf: ~\ng: 1e3\nh: 'yes'\ni: N\nj: -.5\nk: 0o17\nl: +12\n";
    let file = tmp.path().join("v.yaml");
    std::fs::write(&file, text).expect("write");
    let ours = read_values(text, "v.yaml").expect("values");
    let ours = coalesce_values(&Chart::new("top", json!({})), &ours).expect("coalesce");
    let theirs = helm_values(&chart_dir, &["-f".to_owned(), file.display().to_string()])
        .expect("helm template");
    assert!(
        values_equal(&Value::Object(ours.values.clone()), &theirs),
        "ours {:?}\nhelm {theirs}",
        Value::Object(ours.values)
    );
}
