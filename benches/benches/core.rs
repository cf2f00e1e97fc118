//! Benches of gitops-core: image reference parsing and the YAML reader.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_core::ImageRef;
use gitops_core::yaml::parse_documents;
use std::hint::black_box;

fn image_ref(c: &mut Criterion) {
    let refs: Vec<String> = (0..1000)
        .map(|i| format!("registry-{}.example.com:5000/team/app-{i}:v1.{i}.0", i % 7))
        .collect();
    c.bench_function("core/image_ref_parse_1000", |b| {
        b.iter(|| {
            for r in &refs {
                black_box(ImageRef::parse(r).ok());
            }
        })
    });
}

fn yaml_reader(c: &mut Criterion) {
    let mut src = String::new();
    for i in 0..200 {
        src.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  labels: {{app: app-{i}}}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:1.{i}.0\n          ports: [{{containerPort: 8080}}]\n"
        ));
    }
    c.bench_function("core/yaml_200_deployments", |b| {
        b.iter(|| black_box(parse_documents(&src, "bench.yaml").map(|d| d.len()).ok()))
    });
}

criterion_group!(benches, image_ref, yaml_reader);
criterion_main!(benches);
