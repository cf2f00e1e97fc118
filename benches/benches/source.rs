//! Source benchmarks (gitops-source):
//!
//! - artifact creation for a generated 50 MB / 20,000-file tree, against
//!   `tar --sort=name … | gzip` on the same tree;
//! - checkout of a 1,000-commit repository (depth 1, `file://`), against
//!   `git clone --depth 1`.
//!
//! Run: `cargo bench -p gitops-benches --bench source`. The external
//! commands run under `sh -c`; `tar`, `gzip` and `git` must be installed.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gitops_source::archive::{self, Options};
use gitops_source::git::reference::Reference;
use gitops_source::git::{CheckoutOptions, Client};

const FILES: usize = 20_000;
const FILE_SIZE: usize = 2_500;

/// 20,000 YAML-like files of 2,500 bytes (50 MB) in 200 directories.
fn generate_tree(root: &Path) -> u64 {
    let mut total = 0u64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..FILES {
        let dir = root.join(format!("apps/team{:02}/app{:03}", i % 20, (i / 20) % 10));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut text = String::with_capacity(FILE_SIZE);
        while text.len() < FILE_SIZE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(&format!(
                "key{}: value-{:x}\n",
                state % 97,
                state % 1_000_003
            ));
        }
        text.truncate(FILE_SIZE);
        std::fs::write(dir.join(format!("res{i:05}.yaml")), &text).expect("write");
        total += text.len() as u64;
    }
    total
}

fn sh(script: &str) {
    let st = Command::new("sh")
        .args(["-c", script])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("sh runs");
    assert!(st.success(), "{script}");
}

/// A bare repository with 1,000 commits over a 200-file tree, via fast-import.
fn generate_repo(dir: &Path) {
    sh(&format!("git init -q --bare -b main '{}'", dir.display()));
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut stream = Vec::new();
    for c in 1..=1000usize {
        let msg = format!("commit {c}");
        writeln!(stream, "commit refs/heads/main\nmark :{c}").ok();
        writeln!(
            stream,
            "committer Bench <bench@example.com> {} +0000",
            1_600_000_000 + c
        )
        .ok();
        writeln!(stream, "data {}\n{msg}", msg.len()).ok();
        if c > 1 {
            writeln!(stream, "from :{}", c - 1).ok();
        }
        let files: Vec<usize> = if c == 1 {
            (0..200).collect()
        } else {
            vec![c % 200]
        };
        for f in files {
            let body = format!(
                "replicas: {c}\nimage: app{f}:{c}.0.0\n{}\n",
                "x".repeat(400)
            );
            writeln!(
                stream,
                "M 644 inline apps/f{f:03}.yaml\ndata {}\n{body}",
                body.len()
            )
            .ok();
        }
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&stream).expect("feed fast-import");
    drop(stdin);
    assert!(child.wait().expect("fast-import").success());
}

fn artifact(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    let bytes = generate_tree(&tree);
    let mut g = c.benchmark_group("source/archive_50MB_20k_files");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("gitops", |b| {
        b.iter(|| archive::write(&tree, &Options::default(), std::io::sink()).expect("archive"))
    });
    let script = format!(
        "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - -C '{}' . | gzip -6 > /dev/null",
        tree.display()
    );
    g.bench_function("tar_sort_name_gzip", |b| b.iter(|| sh(&script)));
    g.finish();
}

fn fetch(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo.git");
    generate_repo(&repo);
    let url = format!("file://{}", repo.display());
    let mut g = c.benchmark_group("source/fetch_1000_commits_depth1");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    let client = Client::new();
    let opts = CheckoutOptions::new(Reference::Branch("main".into()));
    g.bench_function("gitops", |b| {
        b.iter(|| {
            let dest = tempfile::tempdir().expect("tempdir");
            client.checkout(&url, &opts, dest.path()).expect("checkout")
        })
    });
    g.bench_function("git_clone_depth1", |b| {
        b.iter(|| {
            let dest = tempfile::tempdir().expect("tempdir");
            sh(&format!(
                "git clone -q --depth 1 '{url}' '{}/c'",
                dest.path().display()
            ));
        })
    });
    g.finish();
}

criterion_group!(benches, artifact, fetch);
criterion_main!(benches);
