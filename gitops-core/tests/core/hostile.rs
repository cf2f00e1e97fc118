//! Hostile repository content: huge files, deep nesting, odd names. Nothing
//! here may crash, hang or take memory in proportion to the attack.

use std::time::{Duration, Instant};

use gitops_core::fs::{self, DEFAULT_MAX_FILE_SIZE, FileTree, OsTree, RelPath};
use gitops_core::yaml::parse_documents;

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 100 GiB, sparse: reading it whole would exhaust memory.
    let f = std::fs::File::create(dir.path().join("deploy.yaml")).expect("create");
    f.set_len(100 << 30).expect("sparse file");
    let tree = OsTree::new(dir.path()).expect("tree");
    let start = Instant::now();
    let err = tree
        .read(&RelPath::new("deploy.yaml").expect("path"))
        .expect_err("too large");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, fs::Error::TooLarge { size, limit, .. }
        if size == 100 << 30 && limit == DEFAULT_MAX_FILE_SIZE));
    assert_eq!(
        err.to_string(),
        format!(
            "deploy.yaml: file is {} bytes, above the limit of {DEFAULT_MAX_FILE_SIZE} bytes",
            100u64 << 30
        )
    );
    // The limit is the caller's to set.
    std::fs::write(dir.path().join("small.yaml"), "a: b\n").expect("write");
    let strict = OsTree::new(dir.path()).expect("tree").with_max_file_size(4);
    assert!(matches!(
        strict.read(&RelPath::new("small.yaml").expect("path")),
        Err(fs::Error::TooLarge {
            size: 5,
            limit: 4,
            ..
        })
    ));
}

#[test]
fn nesting_is_bounded_without_overflowing_the_stack() {
    // 100 levels: a legitimate (if odd) document parses.
    let hundred = format!("{}x{}", "[".repeat(100), "]".repeat(100));
    parse_documents(&hundred, "deep.yaml").expect("100 levels parse");
    let block: String = (0..100)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    parse_documents(
        &format!("{block}{}leaf: 1\n", "  ".repeat(100)),
        "block.yaml",
    )
    .expect("100 block levels parse");
    // 100,000 levels: a clear error, quickly, no stack overflow.
    let start = Instant::now();
    let deep = format!("{}x{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse_documents(&deep, "deep.yaml").expect_err("too deep");
    assert!(err.to_string().starts_with("deep.yaml"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
    let deep_map = "{a: ".repeat(100_000);
    assert!(parse_documents(&deep_map, "deep.yaml").is_err());
}

#[test]
fn odd_names_are_listed_or_skipped_never_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names = [
        "with space.yaml",
        "-leading-dash.yaml",
        "ünïcödé.yaml",
        "new\nline.yaml",
        "..dots.yaml",
        "tab\t.yaml",
    ];
    for n in names {
        std::fs::write(dir.path().join(n), "a: b\n").expect("write");
    }
    // A name that is not UTF-8 cannot be addressed; it is skipped.
    use std::os::unix::ffi::OsStrExt as _;
    std::fs::write(
        dir.path()
            .join(std::ffi::OsStr::from_bytes(b"bad-\xff.yaml")),
        "a: b\n",
    )
    .expect("write");
    let tree = OsTree::new(dir.path()).expect("tree");
    let files = fs::walk_files(&tree, &RelPath::root()).expect("walk");
    let mut listed: Vec<&str> = files.iter().map(RelPath::as_str).collect();
    listed.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    for f in &files {
        assert_eq!(tree.read(f).expect("read"), b"a: b\n");
    }
}
