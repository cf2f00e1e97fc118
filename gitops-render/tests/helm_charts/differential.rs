//! Differential test against the real `helm template` (v4.1.4): small
//! random charts — nested subcharts with conditions, tags, aliases,
//! `import-values` and global values; templates using `if`, `range`,
//! `with`, `define`/`include`, `toYaml`, `default`, `quote`, `printf` and
//! more; random values — rendered by both, compared byte for byte (or, when
//! Helm fails, by the first line of the error).
//!
//! `GITOPS_HELM_DIFF_N` sets the number of charts (default 24),
//! `GITOPS_HELM_DIFF_SEED` the first seed (default 1). The `helm` binary is
//! `$GITOPS_ORACLES/helm` (default `~/.cache/gitops-oracles/helm`, installed
//! by `tools/fetch-oracles.sh`); without it the test prints that it did not
//! run, and fails under `CI=true` like the other oracle tests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_core::fs::{OsTree, RelPath};
use gitops_render::helm::chart::{RenderOptions, render_chart};
use serde_json::{Map, Value, json};

/// The `helm` oracle, or `None` after printing why the test did not run.
fn helm() -> Option<PathBuf> {
    let dir = std::env::var_os("GITOPS_ORACLES").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/gitops-oracles")
        },
        PathBuf::from,
    );
    let bin = dir.join("helm");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "helm oracle not found at {} (CI=true): run tools/fetch-oracles.sh (or set GITOPS_ORACLES)",
        bin.display()
    );
    println!(
        "helm differential: did not run: helm oracle not found at {} (run tools/fetch-oracles.sh)",
        bin.display()
    );
    None
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "web",
    "api",
    "db",
    "cache",
    "x1",
    "Mixed Case",
    "with-dash",
    "v1.2.3",
];
const KEYS: &[&str] = &[
    "name", "port", "enabled", "tag", "replicas", "mode", "labels", "items", "extra", "size",
];

/// A random scalar or small structure.
fn random_value(r: &mut Rng, depth: u32) -> Value {
    match r.below(if depth >= 2 { 5 } else { 7 }) {
        0 => json!(r.below(1000)),
        1 => json!(r.chance(50)),
        2 => json!(format!("{}", r.pick(WORDS))),
        3 => json!(format!("{}-{}", r.pick(WORDS), r.below(10))),
        4 => json!((r.below(1000) as f64) / 4.0),
        5 => {
            let n = r.below(4);
            Value::Array((0..n).map(|_| random_value(r, depth + 1)).collect())
        }
        _ => Value::Object(random_map(r, depth + 1)),
    }
}

fn random_map(r: &mut Rng, depth: u32) -> Map<String, Value> {
    let mut m = Map::new();
    for _ in 0..r.below(4) + 1 {
        m.insert((*r.pick(KEYS)).to_owned(), random_value(r, depth));
    }
    m
}

/// Template snippets (each a few lines under a `data:`-like block at
/// indentation 2) that read `.Values` in different ways.
fn snippet(r: &mut Rng, chart: &str) -> String {
    let k = *r.pick(KEYS);
    match r.below(12) {
        0 => format!("  {k}: {{{{ .Values.{k} | toJson | quote }}}}\n"),
        1 => format!("{{{{- if .Values.{k} }}}}\n  has_{k}: \"yes\"\n{{{{- else }}}}\n  has_{k}: \"no\"\n{{{{- end }}}}\n"),
        2 => "{{- range $i, $v := .Values.list }}\n  item{{ $i }}: {{ $v | toString | quote }}\n{{- end }}\n"
            .to_owned(),
        3 => format!("{{{{- with .Values.{k} }}}}\n  with_{k}: {{{{ toYaml . | nindent 4 }}}}\n{{{{- end }}}}\n"),
        4 => format!("  fullname: {{{{ include \"{chart}.fullname\" . | quote }}}}\n"),
        5 => format!("  dflt_{k}: {{{{ default \"fallback\" .Values.missing_{k} | quote }}}}\n"),
        6 => "  release: {{ printf \"%s-%s\" .Release.Name .Release.Namespace | quote }}\n".to_owned(),
        7 => "  global: {{ .Values.global | toYaml | nindent 4 }}\n".to_owned(),
        8 => format!("  upper_{k}: {{{{ .Values.{k} | toString | upper | quote }}}}\n"),
        9 => "  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n".to_owned(),
        10 => "{{- range $key, $val := .Values }}\n  key_{{ $key }}: {{ kindOf $val | quote }}\n{{- end }}\n"
            .to_owned(),
        _ => "  all: {{ toYaml .Values | nindent 4 }}\n".to_owned(),
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    gitops_test_support::write(dir, rel, text);
}

/// Write a random chart named `name` into `dir` (subcharts under `charts/`
/// down to `depth` levels).
fn write_chart(r: &mut Rng, dir: &Path, name: &str, depth: u32) {
    let mut values = random_map(r, 0);
    values.insert(
        "list".into(),
        json!([r.pick(WORDS), r.below(100), r.chance(50)]),
    );
    if r.chance(50) {
        values.insert(
            "global".into(),
            json!({"g": r.pick(WORDS), "shared": r.below(10)}),
        );
    }
    let mut chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: 0.{}.0\n",
        r.below(9) + 1
    );
    let subs = if depth > 0 { r.below(3) } else { 0 };
    let mut deps = String::new();
    for i in 0..subs {
        let sub = format!("{name}sub{i}");
        write_chart(r, &dir.join("charts").join(&sub), &sub, depth - 1);
        let _ = write!(deps, "  - name: {sub}\n    version: \">=0.0.0\"\n");
        let key = if r.chance(30) {
            let alias = format!("al{i}");
            let _ = writeln!(deps, "    alias: {alias}");
            alias
        } else {
            sub.clone()
        };
        if r.chance(40) {
            let _ = writeln!(deps, "    condition: {key}.enabled");
            values.insert(
                key.clone(),
                json!({"enabled": r.chance(60), "fromParent": r.pick(WORDS)}),
            );
        } else if r.chance(30) {
            let _ = writeln!(deps, "    tags:\n      - t{i}");
            let on = r.chance(50);
            let tags = values.entry("tags").or_insert_with(|| json!({}));
            if let Some(t) = tags.as_object_mut() {
                t.insert(format!("t{i}"), json!(on));
            }
        } else {
            values.insert(key.clone(), json!({"fromParent": r.pick(WORDS)}));
        }
        if r.chance(30) {
            let _ = writeln!(
                deps,
                "    import-values:\n      - child: exports.data\n        parent: imported{i}"
            );
        }
    }
    if !deps.is_empty() {
        chart_yaml.push_str("dependencies:\n");
        chart_yaml.push_str(&deps);
    }
    values.insert(
        "exports".into(),
        json!({"data": {"exported": r.pick(WORDS)}}),
    );
    write(dir, "Chart.yaml", &chart_yaml);
    write(
        dir,
        "values.yaml",
        &serde_json::to_string_pretty(&Value::Object(values)).expect("json"),
    );
    write(
        dir,
        "templates/_helpers.tpl",
        &format!(
            "{{{{- define \"{name}.fullname\" -}}}}\n{{{{- printf \"%s-%s\" .Release.Name .Chart.Name | trunc 63 | trimSuffix \"-\" }}}}\n{{{{- end }}}}\n"
        ),
    );
    for t in 0..r.below(2) + 1 {
        let mut body = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ include \"{name}.fullname\" . }}}}-{t}\ndata:\n"
        );
        for _ in 0..r.below(4) + 1 {
            body.push_str(&snippet(r, name));
        }
        write(dir, &format!("templates/cm{t}.yaml"), &body);
    }
}

fn helm_template(helm: &Path, chart: &Path, scratch: &Path) -> Result<String, String> {
    let out = Command::new(helm)
        .args(["template", "rel"])
        .arg(chart)
        .args(["--namespace", "ns", "--kube-version", "1.31.0"])
        .env("HELM_CACHE_HOME", scratch.join("cache"))
        .env("HELM_CONFIG_HOME", scratch.join("config"))
        .env("HELM_DATA_HOME", scratch.join("data"))
        .env("KUBECONFIG", scratch.join("no-kubeconfig"))
        .output()
        .map_err(|e| format!("running helm: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_default();
        Err(line.trim_start_matches("Error: ").to_owned())
    }
}

fn ours(chart: &Path) -> Result<String, String> {
    let opts = RenderOptions::new("rel", "ns").with_kube_version("1.31.0");
    let tree = OsTree::new(chart).map_err(|e| e.to_string())?;
    render_chart(&tree, &RelPath::root(), &Map::new(), &opts)
        .map(|m| m.to_helm_template(&opts))
        .map_err(|e| e.first_line())
}

#[test]
fn generated_charts_match_helm() {
    let Some(helm) = helm() else { return };
    let n: u64 = std::env::var("GITOPS_HELM_DIFF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let seed0: u64 = std::env::var("GITOPS_HELM_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut both_failed = 0;
    for seed in seed0..seed0 + n {
        let mut r = Rng::new(seed);
        let dir = scratch.path().join(format!("chart{seed}"));
        write_chart(&mut r, &dir, "top", 2);
        let want = helm_template(&helm, &dir, scratch.path());
        let got = ours(&dir);
        let same = match (&want, &got) {
            (Ok(w), Ok(g)) => w == g,
            (Err(w), Err(g)) => {
                both_failed += 1;
                w == g
            }
            _ => false,
        };
        if !same {
            let kept = std::env::temp_dir().join(format!("gitops-helm-diff-{seed}"));
            let _ = std::fs::remove_dir_all(&kept);
            let _ = copy_dir(&dir, &kept);
            let detail = match (&want, &got) {
                (Ok(w), Ok(g)) => first_diff(w, g),
                (Ok(_), Err(g)) => format!("helm renders it; we fail: {g}"),
                (Err(w), Ok(_)) => format!("helm fails ({w}); we render it"),
                (Err(w), Err(g)) => format!("errors differ: helm {w:?}, ours {g:?}"),
            };
            failures.push(format!(
                "seed {seed} (chart kept at {}): {detail}",
                kept.display()
            ));
        }
    }
    println!(
        "helm differential: {} passed, {} failed ({both_failed} charts rejected by both)",
        n as usize - failures.len(),
        failures.len()
    );
    for f in &failures {
        println!("DIFF {f}");
    }
    assert!(
        failures.is_empty(),
        "{} generated charts render differently from helm",
        failures.len()
    );
}

fn first_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "line {}: helm {:?}, ours {:?}",
                i + 1,
                w.get(i).unwrap_or(&"<end>"),
                g.get(i).unwrap_or(&"<end>")
            );
        }
    }
    "outputs differ in line endings".into()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(())
}
