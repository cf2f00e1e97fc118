//! Charts built in memory (and a few hostile ones on disk) rendered end to
//! end.

use std::io::Write as _;
use std::sync::Arc;

use gitops_core::fs::{MemTree, OsTree, RelPath};
use serde_json::{Map, Value as Json, json};

use super::{Error, RenderOptions, load, load_archive, load_values, render_chart};

const CHART_YAML: &str = "apiVersion: v2\nname: t\nversion: 0.1.0\n";

fn chart(files: &[(&str, &str)]) -> MemTree {
    let mut tree = MemTree::new();
    tree.insert("t/Chart.yaml", CHART_YAML).unwrap();
    for (p, c) in files {
        tree.insert(&format!("t/{p}"), c).unwrap();
    }
    tree
}

fn render_with(tree: &MemTree, values: &Map<String, Json>, opts: &RenderOptions) -> String {
    let m = render_chart(tree, &RelPath::new("t").unwrap(), values, opts).unwrap();
    let text = m.to_helm_template(opts);
    let mut written = Vec::new();
    m.write_helm_template(opts, &mut written).unwrap();
    assert_eq!(
        String::from_utf8(written).unwrap(),
        text,
        "write_helm_template"
    );
    text
}

#[test]
fn written_output_is_the_text_output() {
    let tree = chart(&[
        ("crds/c.yaml", "kind: CustomResourceDefinition\n\n\n"),
        (
            "templates/hook.yaml",
            "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n",
        ),
        (
            "templates/cm.yaml",
            "kind: ConfigMap\n---\nkind: Secret\n  \n",
        ),
    ]);
    for crds in [false, true] {
        let opts = RenderOptions::new("r", "ns").with_include_crds(crds);
        let out = render_with(&tree, &Map::new(), &opts);
        assert!(out.contains("kind: Job"), "{out}");
        assert_eq!(out.contains("CustomResourceDefinition"), crds, "{out}");
    }
    let only_crds = chart(&[("crds/c.yaml", "kind: CustomResourceDefinition\n \n")]);
    let opts = RenderOptions::new("r", "ns").with_include_crds(true);
    assert_eq!(
        render_with(&only_crds, &Map::new(), &opts),
        "---\n# Source: t/crds/c.yaml\nkind: CustomResourceDefinition\n"
    );
    assert_eq!(render(&only_crds), "\n");
}

fn render(tree: &MemTree) -> String {
    render_with(tree, &Map::new(), &RenderOptions::new("r", "ns"))
}

/// The body of the only template, `templates/x.yaml`.
fn body(out: &str) -> &str {
    out.strip_prefix("---\n# Source: t/templates/x.yaml\n")
        .unwrap_or(out)
        .trim_end()
}

#[test]
fn range_over_files_glob() {
    let tree = chart(&[
        ("files/b.txt", "bee"),
        ("files/a.txt", "hi"),
        ("other.txt", "x"),
        (
            "templates/x.yaml",
            "{{- range $path, $bytes := .Files.Glob \"files/*\" }}\n# {{ $path }} {{ $.Files.Get $path }} {{ $bytes }} {{ printf \"%T\" $bytes }}\n{{- end }}\n{{- range .Files.Glob \"none/*\" }}x{{ else }}\n# empty{{ end }}",
        ),
    ]);
    assert_eq!(
        body(&render(&tree)),
        "# files/a.txt hi [104 105] []uint8\n# files/b.txt bee [98 101 101] []uint8\n# empty"
    );
}

#[test]
fn set_integers_stay_int64_file_numbers_are_float64() {
    let tree = chart(&[
        ("values.yaml", "fromChart: 1\n"),
        (
            "templates/x.yaml",
            "# {{ printf \"%T %T %T\" .Values.fromChart .Values.fromFile .Values.fromSet }} {{ kindOf .Values.fromSet }} {{ .Values.big }}",
        ),
    ]);
    let mut values = load_values("fromFile: 2\n").unwrap();
    // `--set fromSet=3,big=100000000000000000000` as strvals types them.
    values.insert("fromSet".into(), json!(3));
    values.insert("big".into(), json!(1e20));
    let out = render_with(&tree, &values, &RenderOptions::new("r", "ns"));
    // Helm: `int64` (see the module's deviations).
    assert_eq!(body(&out), "# float64 float64 int int 1e+20");
}

#[test]
fn toml_round_trip() {
    let tree = chart(&[
        (
            "values.yaml",
            "cfg:\n  name: x\n  port: 80\n  tls:\n    enabled: true\n",
        ),
        (
            "templates/x.yaml",
            "a: |\n{{ toToml .Values.cfg | indent 2 }}\n{{- $m := fromToml \"a = 1\\n[b]\\nc = 'd'\" }}\nb: {{ $m.a }} {{ $m.b.c }} {{ printf \"%T\" $m.a }} {{ (fromToml \"=\").Error | empty | not }}",
        ),
    ]);
    assert_eq!(
        body(&render(&tree)),
        "a: |\n  name = \"x\"\n  port = 80.0\n  \n  [tls]\n    enabled = true\n  \nb: 1 d int true"
    );
}

#[test]
fn tpl_defines_stay_in_their_call() {
    let tree = chart(&[
        ("templates/_h.tpl", "{{ define \"n\" }}base{{ end }}"),
        (
            "templates/x.yaml",
            "# {{ tpl \"{{ define \\\"n\\\" }}mine{{ end }}{{ include \\\"n\\\" . }}\" . }} {{ include \"n\" . }} {{ tpl \"{{ .Release.Name }}\" . }}",
        ),
    ]);
    assert_eq!(body(&render(&tree)), "# mine base r");
}

#[test]
fn env_functions_are_removed_and_environment_is_the_callers() {
    let tree = chart(&[("templates/x.yaml", "# {{ env \"HOME\" }}")]);
    let err = render_chart(
        &tree,
        &RelPath::new("t").unwrap(),
        &Map::new(),
        &RenderOptions::new("r", "ns"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("function \"env\" not defined"),
        "{err}"
    );

    #[derive(Debug)]
    struct Fixed;
    impl gitops_gotemplate::sprig::Environment for Fixed {
        fn now(&self) -> Result<std::time::SystemTime, String> {
            Ok(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400))
        }
        fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
            buf.fill(0);
            Ok(())
        }
    }
    let tree = chart(&[(
        "templates/x.yaml",
        "# {{ now | date \"2006-01-02\" }} {{ randAlpha 3 | len }}",
    )]);
    let opts = RenderOptions::new("r", "ns").with_environment(Arc::new(Fixed));
    assert_eq!(
        body(&render_with(&tree, &Map::new(), &opts)),
        "# 1970-01-02 3"
    );

    let opts = RenderOptions::new("r", "ns")
        .with_environment(Arc::new(gitops_gotemplate::sprig::NoEnvironment));
    let err = render_chart(&tree, &RelPath::new("t").unwrap(), &Map::new(), &opts).unwrap_err();
    assert!(err.to_string().contains("no clock"), "{err}");
}

#[test]
fn files_are_the_charts_only() {
    let tree = chart(&[
        ("a.txt", "in"),
        (
            "templates/x.yaml",
            "# [{{ .Files.Get \"../outside.txt\" }}] [{{ .Files.Get \"/etc/passwd\" }}] [{{ .Files.Get \"a.txt\" }}]",
        ),
    ]);
    let mut tree = tree;
    tree.insert("outside.txt", "secret").unwrap();
    assert_eq!(body(&render(&tree)), "# [] [] [in]");
}

fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Raw names: `set_path` refuses `..`.
        let raw = name.as_bytes();
        h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn load_err(bytes: &[u8]) -> String {
    match load_archive(bytes) {
        Err(Error::Load(e)) => e,
        other => panic!("expected a load error, got {other:?}"),
    }
}

#[test]
fn hostile_archives_are_refused() {
    let ok = tgz(&[("t/Chart.yaml", CHART_YAML.as_bytes())]);
    assert_eq!(load_archive(&ok).unwrap().name(), "t");

    let up = tgz(&[
        ("t/Chart.yaml", CHART_YAML.as_bytes()),
        ("t/../../etc/passwd", b"x"),
    ]);
    assert_eq!(load_err(&up), "chart illegally references parent directory");
    let abs = tgz(&[
        ("t/Chart.yaml", CHART_YAML.as_bytes()),
        ("t//etc/passwd", b"x"),
    ]);
    assert_eq!(load_err(&abs), "chart illegally contains absolute paths");

    // A gzip bomb: one entry declaring 1 GiB of zeros (about 1 MiB
    // compressed). It is refused from its header, before anything is
    // inflated beyond the bounds.
    let mut tar = Vec::new();
    {
        let mut h = tar::Header::new_gnu();
        h.set_path("t/big").unwrap();
        h.set_size(1 << 30);
        h.set_mode(0o644);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let t0 = std::time::Instant::now();
    let e = load_err(&bomb);
    assert!(e.contains("is larger than the maximum"), "{e}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));

    // Many small entries adding up beyond the chart bound.
    let chunk = vec![b'a'; 4 << 20];
    let mut entries: Vec<(String, &[u8])> = vec![("t/Chart.yaml".into(), CHART_YAML.as_bytes())];
    for i in 0..30 {
        entries.push((format!("t/f{i}"), &chunk));
    }
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let e = load_err(&tgz(&refs));
    assert!(e.contains("larger than the maximum size"), "{e}");

    assert_eq!(load_err(b"not gzip"), "gzip: invalid header");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_chart_are_refused() {
    use std::os::unix::fs::symlink;

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/secret.yaml"), "kind: Secret\n").unwrap();
    let mk = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            CHART_YAML.replace("name: t", &format!("name: {name}")),
        )
        .unwrap();
        dir
    };
    let tree = || OsTree::new(root).unwrap();
    let err = |name: &str| match load(&tree(), &RelPath::new(name).unwrap()) {
        Err(Error::Load(e)) => e,
        other => panic!("{name}: expected a load error, got {other:?}"),
    };

    // templates/ is a link to a directory outside the chart.
    let d = mk("linked-dir");
    symlink(root.join("outside"), d.join("templates")).unwrap();
    assert!(err("linked-dir").contains("symlink points outside the chart"));

    // A file links outside the chart (but inside the tree).
    let d = mk("linked-file");
    std::fs::create_dir_all(d.join("files")).unwrap();
    symlink("../../outside/secret.yaml", d.join("files/s.yaml")).unwrap();
    assert!(err("linked-file").contains("symlink points outside the chart"));

    // A link outside the tree altogether.
    let d = mk("linked-abs");
    symlink("/etc/hostname", d.join("h")).unwrap();
    assert!(!err("linked-abs").is_empty());

    // A link cycle inside the chart.
    let d = mk("cycle");
    std::fs::create_dir_all(d.join("a")).unwrap();
    symlink("..", d.join("a/up")).unwrap();
    assert!(err("cycle").contains("symlink cycle"), "{}", err("cycle"));

    // Links that stay inside the chart are followed.
    let d = mk("inside");
    std::fs::create_dir_all(d.join("real")).unwrap();
    std::fs::write(d.join("real/a.txt"), "a").unwrap();
    symlink("real", d.join("alias")).unwrap();
    let c = load(&tree(), &RelPath::new("inside").unwrap()).unwrap();
    let names: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alias/a.txt", "real/a.txt"]);
}

/// The values files parsed while the directory is walked: a chart's and
/// its subcharts' values arrive where they belong, a broken one fails with
/// the error and in the order of a walk that parses them in place (the
/// archive path does), and files named `values.yaml` elsewhere stay files.
#[test]
fn values_parsed_during_the_walk_behave_as_in_place() {
    let sub = "apiVersion: v2\nname: sub\nversion: 0.1.0\n";
    // Large enough to be handed to the loading thread.
    let pad = format!(
        "# {}\n",
        "x".repeat(super::loader::LOADING_THREAD_MIN_BYTES)
    );
    let big = |text: &str| format!("{pad}{text}");
    let root_values = big("a: 1\n---\nb: two\n");
    let sub_values = big("s: from-sub\n");
    let broken_values = big("s: [unclosed\n");
    let tree = chart(&[
        ("values.yaml", &root_values),
        ("files/values.yaml", "not: [values\n"),
        (
            "templates/values.yaml",
            "kind: ConfigMap\ndata:\n  a: {{ .Values.a | quote }}\n  b: {{ .Values.b }}\n  s: {{ .Values.sub.s }}\n",
        ),
        ("charts/sub/Chart.yaml", sub),
        ("charts/sub/values.yaml", &sub_values),
        (
            "charts/sub/templates/cm.yaml",
            "kind: Secret\nmetadata:\n  name: {{ .Values.s }}\n",
        ),
    ]);
    let opts = RenderOptions::new("r", "ns");
    let out = render_with(&tree, &Map::new(), &opts);
    assert!(out.contains("a: \"1\"\n  b: two\n  s: from-sub\n"), "{out}");
    assert!(out.contains("name: from-sub"), "{out}");
    let loaded = load(&tree, &RelPath::new("t").unwrap()).unwrap();
    assert!(loaded.files.iter().any(|f| f.name == "files/values.yaml"));

    // The same broken subchart as a directory and as an archive.
    let broken = chart(&[
        ("values.yaml", &root_values),
        ("charts/sub/Chart.yaml", sub),
        ("charts/sub/values.yaml", &broken_values),
    ]);
    let dir_err = load(&broken, &RelPath::new("t").unwrap())
        .unwrap_err()
        .to_string();
    let mut tgz = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tgz, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (p, c) in [
            ("t/Chart.yaml", CHART_YAML),
            ("t/values.yaml", root_values.as_str()),
            ("t/charts/sub/Chart.yaml", sub),
            ("t/charts/sub/values.yaml", broken_values.as_str()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(c.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, p, c.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }
    let tgz_err = load_archive(&tgz).unwrap_err().to_string();
    assert_eq!(dir_err, tgz_err);
    assert!(
        dir_err.starts_with("error unpacking subchart sub in t: cannot load values.yaml:"),
        "{dir_err}"
    );
}

/// A schema read on the loading thread checks values as one read in
/// place does, and a schema the caller puts in its place is the one used.
#[test]
fn schemas_read_ahead_are_the_chart_schemas() {
    let pad = "x".repeat(super::loader::LOADING_THREAD_MIN_BYTES);
    let schema = format!(
        r#"{{"description": "{pad}", "type": "object", "required": ["image"], "properties": {{"replicas": {{"type": "integer"}}}}}}"#
    );
    let tree = chart(&[
        ("values.schema.json", &schema),
        ("templates/cm.yaml", "kind: ConfigMap\n"),
    ]);
    let opts = RenderOptions::new("r", "ns");
    let mut values = Map::new();
    values.insert("replicas".into(), json!("two"));
    let err = render_chart(&tree, &RelPath::new("t").unwrap(), &values, &opts)
        .unwrap_err()
        .to_string();
    let in_place =
        crate::helm::schema::validate(schema.as_bytes(), &json!({"replicas": "two"})).unwrap_err();
    assert_eq!(
        err,
        format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\nt:\n{in_place}"
        )
    );
    let mut loaded = load(&tree, &RelPath::new("t").unwrap()).unwrap();
    loaded.schema = Some(br#"{"type": "object"}"#.to_vec());
    super::render_loaded(&loaded, &values, &opts).expect("the replaced schema admits the values");
}

/// The error of rendering chart `t` of `tree` with no values.
fn render_err(tree: &MemTree, opts: &RenderOptions) -> String {
    render_chart(tree, &RelPath::new("t").unwrap(), &Map::new(), opts)
        .unwrap_err()
        .to_string()
}

/// [`chart`] of files whose paths and texts were built.
fn owned_chart(files: &[(String, String)]) -> MemTree {
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    chart(&borrowed)
}

/// A chart of `n` templates `t/templates/tNN.yaml` (run from the highest
/// number down, Helm's order) and a subchart `sub` (run first), each
/// printing the values it sees; template `writer`, if any, changes the
/// values and the chart's top-level data first, as `set` does in Helm.
fn writing_chart(n: usize, writer: Option<usize>) -> MemTree {
    let mut files = vec![
        (
            "charts/sub/Chart.yaml".to_string(),
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n".to_string(),
        ),
        (
            "charts/sub/templates/s.yaml".to_string(),
            "kind: ConfigMap\nmetadata:\n  name: s\ndata:\n  x: {{ .Values.x | default \"unset\" }}\n"
                .to_string(),
        ),
    ];
    for i in 0..n {
        let set = if writer == Some(i) {
            "{{- $_ := set .Values \"x\" \"by-writer\" }}{{- $_ := set .Values.sub \"x\" \"sub-by-writer\" }}{{- $_ := set . \"top\" \"top-by-writer\" }}\n"
        } else {
            ""
        };
        files.push((
            format!("templates/t{i:02}.yaml"),
            format!(
                "{set}kind: ConfigMap\nmetadata:\n  name: t{i:02}\ndata:\n  x: {{{{ .Values.x | default \"unset\" }}}}\n  sub: {{{{ .Values.sub.x | default \"unset\" }}}}\n  top: {{{{ .top | default \"none\" }}}}\n  self: {{{{ .Template.Name }}}}\n"
            ),
        ));
    }
    owned_chart(&files)
}

/// Templates run side by side render what they render one after the
/// other, also when one of them changes values the others read: those
/// before it see the values unchanged, itself and those after it see the
/// change, as in Helm.
#[test]
fn templates_side_by_side_render_as_one_after_the_other() {
    let n = 24;
    for writer in [None, Some(n - 1), Some(13), Some(0)] {
        let tree = writing_chart(n, writer);
        let one = render_with(
            &tree,
            &Map::new(),
            &RenderOptions::new("r", "ns").with_threads(1),
        );
        // Run from t23 down to t00 after the subchart's template, printed
        // in Helm's install order (kind, then name).
        let mut expected = "---\n# Source: t/charts/sub/templates/s.yaml\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  x: unset\n".to_string();
        for i in 0..n {
            let changed = writer.is_some_and(|w| i <= w);
            let (x, sub, top) = if changed {
                ("by-writer", "sub-by-writer", "top-by-writer")
            } else {
                ("unset", "unset", "none")
            };
            expected.push_str(&format!(
                "---\n# Source: t/templates/t{i:02}.yaml\nkind: ConfigMap\nmetadata:\n  name: t{i:02}\ndata:\n  x: {x}\n  sub: {sub}\n  top: {top}\n  self: t/templates/t{i:02}.yaml\n"
            ));
        }
        assert_eq!(one, expected, "one thread, writer {writer:?}");
        for threads in [2, 3, 8] {
            for _ in 0..4 {
                let opts = RenderOptions::new("r", "ns").with_threads(threads);
                assert_eq!(
                    render_with(&tree, &Map::new(), &opts),
                    one,
                    "{threads} threads, writer {writer:?}"
                );
            }
        }
    }
}

/// Side by side, the error reported is the first in template order, and
/// the output budget fails where it fails one after the other.
#[test]
fn templates_side_by_side_fail_as_one_after_the_other() {
    let mut files: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("templates/t{i:02}.yaml"),
                format!("kind: ConfigMap\nmetadata:\n  name: t{i:02}\n"),
            )
        })
        .collect();
    // Run from t19 down: t12 fails first, t03 would fail later.
    files[12].1 = "{{ fail \"twelve\" }}".into();
    files[3].1 = "{{ fail \"three\" }}".into();
    let tree = owned_chart(&files);
    for threads in [1, 2, 5] {
        let err = render_err(&tree, &RenderOptions::new("r", "ns").with_threads(threads));
        assert!(
            err.contains("twelve") && err.contains("t/templates/t12.yaml"),
            "{err}"
        );
    }
    let fine = writing_chart(20, None);
    let one = render_err(
        &fine,
        &RenderOptions::new("r", "ns")
            .with_threads(1)
            .with_max_output_bytes(1000),
    );
    assert!(one.contains("rendered output exceeds 1000 bytes"), "{one}");
    for threads in [2, 4] {
        let opts = RenderOptions::new("r", "ns")
            .with_threads(threads)
            .with_max_output_bytes(1000);
        assert_eq!(render_err(&fine, &opts), one);
    }
}

/// `include` depth is counted per chain of calls: templates recursing on
/// two threads at once do not add up to the bound.
#[test]
fn include_depth_is_per_template_side_by_side() {
    let mut files = vec![(
        "templates/_down.tpl".to_string(),
        "{{- define \"down\" }}{{ if gt (int .) 0 }}{{ include \"down\" (sub (int .) 1) }}{{ end }}{{ . }}{{ end }}".to_string(),
    )];
    for i in 0..16 {
        files.push((
            format!("templates/t{i:02}.yaml"),
            format!("kind: ConfigMap\nmetadata:\n  name: t{i:02}\ndata:\n  d: \"{{{{ include \"down\" 30 | len }}}}\"\n"),
        ));
    }
    let tree = owned_chart(&files);
    let one = render_with(
        &tree,
        &Map::new(),
        &RenderOptions::new("r", "ns")
            .with_threads(1)
            .with_max_include_depth(40),
    );
    for _ in 0..8 {
        let opts = RenderOptions::new("r", "ns")
            .with_threads(2)
            .with_max_include_depth(40);
        assert_eq!(render_with(&tree, &Map::new(), &opts), one);
    }
    let err = render_err(
        &tree,
        &RenderOptions::new("r", "ns")
            .with_threads(2)
            .with_max_include_depth(20),
    );
    assert!(err.contains("nested reference name: down"), "{err}");
}
