//! Setters: scan and apply on the generated 10,000-file / 50,000-marker tree.
//!
//! `cargo bench -p gitops-benches --bench setters`
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gitops_benches::setters_tree::{Shape, files, policies};
use gitops_core::fs::{MemTree, RelPath};
use gitops_setters::apply::{apply_str, apply_tree};
use gitops_setters::scan::{scan, scan_str};

fn per_file(c: &mut Criterion) {
    let sample: Vec<(RelPath, String)> = files(Shape {
        files: 60,
        ..Shape::default()
    })
    .map(|(p, t)| (RelPath::new(&p).expect("generated path"), t))
    .collect();
    let bytes: usize = sample.iter().map(|(_, t)| t.len()).sum();
    let p = policies(1);
    let mut g = c.benchmark_group("setters/60-files");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("scan_str", |b| {
        b.iter(|| {
            for (path, text) in &sample {
                black_box(scan_str(path, text));
            }
        })
    });
    g.bench_function("apply_str", |b| {
        b.iter(|| {
            for (path, text) in &sample {
                black_box(apply_str(path, text, &p));
            }
        })
    });
    g.finish();
}

fn whole_tree(c: &mut Criterion) {
    let mut tree = MemTree::new();
    for (p, t) in files(Shape::default()) {
        tree.insert(&p, t).expect("generated path");
    }
    let p = policies(1);
    let mut g = c.benchmark_group("setters/10k-files-50k-markers");
    g.sample_size(10);
    g.bench_function("scan", |b| {
        b.iter(|| black_box(scan(&tree, &RelPath::root()).expect("scan")))
    });
    g.bench_function("apply_in_memory", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            let report = apply_tree(&tree, &RelPath::root(), &p, &mut |_, _, new| {
                bytes += new.len();
                Ok(())
            })
            .expect("apply");
            assert_eq!(report.markers, 50_000);
            black_box(bytes)
        })
    });
    g.finish();
}

criterion_group!(benches, per_file, whole_tree);
criterion_main!(benches);
