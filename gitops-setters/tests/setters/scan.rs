//! Finding markers: placements, styles, and every kind of warning.

use gitops_core::fs::{MemTree, RelPath};
use gitops_setters::scan::{self, Placement, ScalarStyle, WarningKind, scan_bytes, scan_str};

use crate::rel;

fn warnings(src: &str) -> Vec<String> {
    scan_str(&rel("f.yaml"), src)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn values(src: &str) -> Vec<(usize, String, ScalarStyle, Placement, String)> {
    scan_str(&rel("f.yaml"), src)
        .markers
        .into_iter()
        .map(|m| (m.line, m.value, m.style, m.placement, m.setter.to_string()))
        .collect()
}

const M: &str = r#"{"$imagepolicy": "ns:p"}"#;

#[test]
fn line_markers_in_all_scalar_styles() {
    let src = format!(
        "a: plain:1 # {M}\nb: 'single:1' # {M}\nc: \"double:1\" # {M}\nd: [x, \"flow:1\", # {M}\n  y]\n"
    );
    let v = values(&src);
    assert_eq!(
        v.iter()
            .map(|x| (x.0, x.1.as_str(), x.2))
            .collect::<Vec<_>>(),
        [
            (1, "plain:1", ScalarStyle::Plain),
            (2, "single:1", ScalarStyle::SingleQuoted),
            (3, "double:1", ScalarStyle::DoubleQuoted),
            (4, "flow:1", ScalarStyle::DoubleQuoted),
        ]
    );
    assert!(warnings(&src).is_empty());
}

#[test]
fn head_markers_above_entries_and_items() {
    let src = format!(
        "spec:\n  # {M}\n  image: app:1\n  list:\n    # other comment\n    # {M}\n    - app:2\n  value:\n    # {M}\n    app:3\n"
    );
    let v = values(&src);
    assert_eq!(
        v.iter()
            .map(|x| (x.0, x.1.as_str(), x.3))
            .collect::<Vec<_>>(),
        [
            (3, "app:1", Placement::Head),
            (7, "app:2", Placement::Head),
            (10, "app:3", Placement::Head),
        ]
    );
}

#[test]
fn head_marker_above_a_sequence_entry_mapping() {
    let src = format!("containers:\n# {M}\n- image: app:1\n  name: c\n");
    assert_eq!(values(&src)[0].1, "app:1");
}

#[test]
fn multi_line_quoted_scalar_ends_on_the_marker_line() {
    let src = format!("a: \"first\n  second\" # {M}\n");
    let f = scan_str(&rel("f.yaml"), &src);
    assert_eq!(f.markers[0].value, "first second");
    assert_eq!(f.markers[0].line, 1);
    assert_eq!(&src[f.markers[0].span.clone()], "\"first\n  second\"");
}

#[test]
fn crlf_and_bom_files() {
    let src = format!("\u{feff}a: 1\r\nimage: app:1 # {M}\r\n# {M}\r\nnext: 'app:2'\r\n");
    let f = scan_str(&rel("f.yaml"), &src);
    assert_eq!(f.markers.len(), 2, "{:?}", f.warnings);
    assert_eq!(&src[f.markers[0].span.clone()], "app:1");
    assert_eq!(&src[f.markers[1].span.clone()], "'app:2'");
    assert_eq!((f.markers[0].line, f.markers[1].line), (2, 4));
}

#[test]
fn objects_per_document() {
    let src = format!(
        "kind: A\nmetadata: {{name: a}}\nx: v # {M}\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n  namespace: n\nx: v # {M}\n---\n- v # {M}\n"
    );
    let f = scan_str(&rel("f.yaml"), &src);
    let objs: Vec<String> = f.markers.iter().map(|m| m.object.to_string()).collect();
    assert_eq!(objs, ["A/a", "B/n/b", "<unknown object>"]);
    assert_eq!(
        f.markers[1].object.object_id().unwrap().inventory_id(),
        "n_b__B"
    );
    assert!(f.markers[0].object.object_id().is_none());
}

#[test]
fn malformed_markers_are_reported_with_line() {
    let src = "a: x # {\"$imagepolicy\": \"nonamespace\"}\nb: y # {\"$imagepolicy\": ns:p}\nc: z # {\"$imagepolicy\": \"ns:p:weird\"}\nd: w # $imagepolicy is mentioned\n";
    assert_eq!(
        warnings(src),
        [
            "f.yaml:1: malformed setter marker: invalid policy reference \"nonamespace\": expected <namespace>:<name>[:tag|:name|:digest]",
            "f.yaml:2: malformed setter marker: marker is not a JSON object of strings: expected {\"$imagepolicy\": \"<namespace>:<name>\"}",
            "f.yaml:3: malformed setter marker: invalid policy reference \"ns:p:weird\": expected <namespace>:<name>[:tag|:name|:digest]",
            "f.yaml:4: malformed setter marker: marker is not a JSON object of strings: expected {\"$imagepolicy\": \"<namespace>:<name>\"}",
        ]
    );
}

#[test]
fn markers_not_attached_to_a_scalar_are_reported() {
    let cases = [
        (
            format!("a: # {M}\n  b: c\n"),
            "it follows a mapping key without a value on that line",
        ),
        (
            format!("a: [x, y] # {M}\n"),
            "the node before it on its line is not a scalar",
        ),
        (
            format!("a: &x v\nb: *x # {M}\n"),
            "the node before it on its line is not a scalar",
        ),
        (format!("# {M}\na:\n  b: c\n"), "the value is a mapping"),
        (
            format!("# {M}\n\na: b\n"),
            "a blank line separates it from the next node",
        ),
        (format!("a: b\n# {M}\n"), "nothing follows it"),
        (
            format!("# {M}\n- [a]\n"),
            "the next line does not start a scalar or a mapping entry",
        ),
        (format!("# {M}\na:\nb: c\n"), "the value is empty"),
        (
            format!("a: b\n# {M}\n---\nc: d\n"),
            "a document marker follows it",
        ),
    ];
    for (src, reason) in cases {
        let w = scan_str(&rel("f.yaml"), &src);
        assert!(w.markers.is_empty(), "{src}");
        assert_eq!(w.warnings.len(), 1, "{src}: {:?}", w.warnings);
        match &w.warnings[0].kind {
            WarningKind::NotAttached { reason: r, setter } => {
                assert_eq!(*r, reason, "{src}");
                assert_eq!(setter.to_string(), "ns:p");
            }
            other => panic!("{src}: {other:?}"),
        }
    }
}

#[test]
fn block_scalars_are_not_rewritten() {
    for src in [
        format!("a: | # {M}\n  text\n"),
        format!("a: >- # {M}\n  text\n"),
        format!("# {M}\na: |\n  text\n"),
    ] {
        assert_eq!(
            warnings(&src),
            ["f.yaml:1: setter marker ns:p is on a block scalar (| or >), which is not supported"],
            "{src}"
        );
    }
}

#[test]
fn marker_text_inside_strings_is_not_a_marker() {
    let src = format!(
        "a: \"# {}\"\nb: |\n  # {M}\nc: '# {M}'\n",
        M.replace('"', "\\\"")
    );
    let f = scan_str(&rel("f.yaml"), &src);
    assert!(f.markers.is_empty());
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
}

#[test]
fn line_marker_wins_over_head_marker() {
    let src = "# {\"$imagepolicy\": \"ns:head\"}\nimage: app:1 # {\"$imagepolicy\": \"ns:line\"}\n";
    let f = scan_str(&rel("f.yaml"), src);
    assert_eq!(f.markers.len(), 1);
    assert_eq!(f.markers[0].setter.to_string(), "ns:line");
    assert_eq!(
        f.warnings[0].to_string(),
        "f.yaml:1: setter marker ns:head is ignored: the scalar already has marker ns:line"
    );
}

#[test]
fn unparsable_and_non_utf8_files_are_warnings() {
    let f = scan_str(
        &rel("bad.yaml"),
        "a: [1, 2 # {\"$imagepolicy\": \"ns:p\"}\nb: c\n",
    );
    assert!(f.markers.is_empty());
    assert_eq!(f.warnings.len(), 1);
    assert!(matches!(f.warnings[0].kind, WarningKind::Syntax { .. }));
    assert!(
        f.warnings[0].to_string().starts_with("bad.yaml:"),
        "{}",
        f.warnings[0]
    );
    assert!(f.warnings[0].to_string().ends_with("; file skipped"));

    let f = scan_bytes(
        &rel("bin.yaml"),
        b"a: \xff # {\"$imagepolicy\": \"ns:p\"}\n",
    );
    assert_eq!(
        f.warnings[0].to_string(),
        "bin.yaml: file is not valid UTF-8; skipped"
    );
}

#[test]
fn tree_scan_selects_candidates_like_flux() {
    let marked = format!("image: app:1 # {M}\n");
    let mut tree = MemTree::new();
    for name in [
        "a.yaml",
        "b.yml",
        "Kustomization",
        "c/d.yaml",
        "e.json",
        "kustomization",
        "f.yaml.bak",
        "README.md",
    ] {
        tree.insert(name, &marked).unwrap();
    }
    tree.insert("g.yaml", "image: app:1\n").unwrap();
    let s = scan::scan(&tree, &RelPath::root()).unwrap();
    let files: Vec<&str> = s.markers.iter().map(|m| m.file.as_str()).collect();
    assert_eq!(files, ["Kustomization", "a.yaml", "b.yml", "c/d.yaml"]);
    assert_eq!((s.files_scanned, s.files_parsed), (5, 4));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["markers"][0]["setter"], "ns:p");
    assert_eq!(json["markers"][0]["style"], "plain");
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_scan() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("x.yaml"),
        format!("image: app:1 # {M}\n"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.yaml"), format!("image: app:1 # {M}\n")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.yaml"), dir.path().join("link.yaml"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    let tree = gitops_core::fs::OsTree::new(dir.path()).unwrap();
    let s = scan::scan(&tree, &RelPath::root()).unwrap();
    assert_eq!(s.markers.len(), 1);
    assert_eq!(s.markers[0].file.as_str(), "in.yaml");
}

#[test]
fn hostile_inputs_are_bounded() {
    let start = std::time::Instant::now();
    // Deep nesting hits the parser's nesting limit: a warning, no panic.
    let deep = format!("a: {}x{} # {M}\n", "[".repeat(10_000), "]".repeat(10_000));
    let f = scan_str(&rel("deep.yaml"), &deep);
    assert!(f.markers.is_empty());
    assert!(matches!(f.warnings[0].kind, WarningKind::Syntax { .. }));
    // A long licence header (more comments than the parser buffers by default).
    let header: String = (0..500).map(|i| format!("# licence line {i}\n")).collect();
    // Comments between a key and its block sequence are buffered by the parser.
    let src = format!("{header}x: {{a: b,\n c: d}}\nimages:\n{header}  - app:1 # {M}\n");
    let f = scan_str(&rel("long.yaml"), &format!("---\n{src}"));
    assert_eq!(f.warnings, []);
    assert_eq!(f.markers.len(), 1);
    assert_eq!(f.markers[0].line, 1005);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn hostile_nesting_and_alias_bombs_are_warnings_not_crashes() {
    let marker = "# {\"$imagepolicy\": \"ns:app\"}\n";
    let path = rel("deep.yaml");
    // 100,000 levels of flow nesting after a marker.
    let deep = format!("{marker}{}x{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let start = std::time::Instant::now();
    let found = scan_str(&path, &deep);
    assert!(found.markers.is_empty());
    assert!(!found.warnings.is_empty(), "a deep file is reported");
    // An alias bomb: aliases are not expanded by the scanner.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 0..30 {
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}]\n",
            p = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            }
        ));
    }
    bomb.push_str("image: nginx:1.0 # {\"$imagepolicy\": \"ns:app\"}\n");
    let found = scan_str(&path, &bomb);
    assert_eq!(found.markers.len(), 1);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
