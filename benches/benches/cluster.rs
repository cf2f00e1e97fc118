//! Benches of gitops-cluster: a whole cluster rendered, and a changed-only
//! render of a one-file change in a 500-Kustomization repository.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_cluster::changed::render_changed;
use gitops_cluster::{Offline, Options, render_cluster};
use gitops_core::fs::{MemTree, OsTree, RelPath};

/// `n` Kustomizations under `clusters/prod`, each building its own app
/// directory on a shared base, every fifth substituting from a ConfigMap.
fn fleet(n: usize) -> MemTree {
    let mut t = MemTree::new();
    let ins = |t: &mut MemTree, p: &str, c: String| t.insert(p, c).expect("insert");
    ins(
        &mut t,
        "clusters/prod/vars.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-vars, namespace: flux-system}\ndata: {cluster: prod}\n".into(),
    );
    ins(
        &mut t,
        "apps/base/kustomization.yaml",
        "resources: [deployment.yaml, service.yaml]\n".into(),
    );
    ins(
        &mut t,
        "apps/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: ghcr.io/example/web:1.0.0\n".into(),
    );
    ins(
        &mut t,
        "apps/base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n"
            .into(),
    );
    for chunk in 0..n.div_ceil(50) {
        let mut file = String::new();
        for i in chunk * 50..((chunk + 1) * 50).min(n) {
            let post = if i % 5 == 0 {
                "  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"
            } else {
                ""
            };
            file.push_str(&format!(
                "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: app-{i:03}, namespace: flux-system}}\nspec:\n  interval: 10m\n  prune: true\n  path: ./apps/app-{i:03}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n{post}"
            ));
            ins(
                &mut t,
                &format!("apps/app-{i:03}/kustomization.yaml"),
                format!(
                    "namespace: app-{i:03}\nnamePrefix: app-{i:03}-\nresources: [../base, settings.yaml]\n"
                ),
            );
            ins(
                &mut t,
                &format!("apps/app-{i:03}/settings.yaml"),
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{id: \"{i}\", cluster: \"${{cluster:=none}}\"}}\n"
                ),
            );
        }
        ins(&mut t, &format!("clusters/prod/apps-{chunk}.yaml"), file);
    }
    t
}

fn cluster(c: &mut Criterion) {
    let path = RelPath::new("clusters/prod").expect("path");
    let old = fleet(500);
    let mut new = old.clone();
    new.insert(
        "apps/app-250/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {id: \"changed\"}\n",
    )
    .expect("insert");
    let changed = BTreeSet::from([RelPath::new("apps/app-250/settings.yaml").expect("path")]);
    let options = Options::default();
    c.bench_function("cluster/render_500_kustomizations", |b| {
        b.iter(|| {
            black_box(
                render_cluster(&new, &path, &Offline, &options)
                    .kustomizations
                    .len(),
            )
        })
    });
    c.bench_function("cluster/changed_only_500_one_file", |b| {
        b.iter(|| {
            let v = render_changed(&old, &new, &path, Some(&changed), &Offline, &options)
                .expect("compared");
            black_box(v.skipped.len())
        })
    });
    let classic = OsTree::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gitops-cluster/tests/fixtures/classic"
    ))
    .expect("fixture");
    let staging = RelPath::new("clusters/staging").expect("path");
    c.bench_function("cluster/classic_staging_kustomizations", |b| {
        b.iter(|| {
            black_box(
                render_cluster(&classic, &staging, &Offline, &options)
                    .kustomizations
                    .len(),
            )
        })
    });
}

criterion_group!(benches, cluster);
criterion_main!(benches);
