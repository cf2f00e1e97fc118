//! A deterministic tree of Flux manifests with `$imagepolicy` setter markers.
//!
//! The default shape is the one of the setters issue: 10,000 files holding
//! 50,000 markers. Files cycle through realistic kinds (multi-container
//! Deployments, CronJobs, Kustomization `images:` entries, HelmRelease values,
//! multi-document files, CRLF files, markers above entries), with every scalar
//! style. The same seed always gives the same bytes.
//!
//! ```
//! use gitops_benches::setters_tree::{Shape, files};
//!
//! let shape = Shape { files: 3, markers_per_file: 5, seed: 7 };
//! let all: Vec<_> = files(shape).collect();
//! assert_eq!(all.len(), 3);
//! assert!(all.iter().all(|(_, text)| text.matches("$imagepolicy").count() == 5));
//! assert_eq!(all, files(shape).collect::<Vec<_>>());
//! ```

use std::io;
use std::path::Path;

use gitops_core::ImageRef;
use gitops_setters::Policies;
use gitops_setters::marker::PolicyId;

/// How big a tree to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of files.
    pub files: usize,
    /// Markers in each file.
    pub markers_per_file: usize,
    /// PRNG seed.
    pub seed: u64,
}

impl Default for Shape {
    /// 10,000 files, 5 markers each (50,000 markers).
    fn default() -> Self {
        Shape {
            files: 10_000,
            markers_per_file: 5,
            seed: 1,
        }
    }
}

/// Number of distinct image policies the markers refer to.
pub const POLICIES: usize = 100;

/// A small xorshift generator (deterministic, no dependency).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn image_name(policy: usize) -> String {
    format!("registry.example.com/team-{}/app-{policy}", policy % 7)
}

/// The tag every marked scalar starts with (`1.<minor>.0`).
fn old_tag(policy: usize) -> String {
    format!("1.{}.0", policy % 13)
}

/// Policies that move every image to `2.<generation>.<policy>`: applying
/// `policies(1)` changes every marker; `policies(2)` changes them again.
pub fn policies(generation: u32) -> Policies {
    (0..POLICIES)
        .map(|p| {
            let image = format!("{}:2.{generation}.{p}", image_name(p));
            (
                PolicyId::new("flux-system", format!("app-{p}")),
                ImageRef::parse(&image).expect("generated image is valid"),
            )
        })
        .collect()
}

/// The files of the tree, generated lazily: `(relative path, contents)`.
pub fn files(shape: Shape) -> impl Iterator<Item = (String, String)> {
    let mut rng = Rng::new(shape.seed);
    (0..shape.files).map(move |i| {
        let kind = i % 6;
        let dir = format!("clusters/c{}/apps/app-{}", i % 4, i / 40);
        let (name, text) = match kind {
            0 => (
                "deployment.yaml",
                deployment(&mut rng, i, shape.markers_per_file),
            ),
            1 => (
                "kustomization.yaml",
                kustomization(&mut rng, shape.markers_per_file),
            ),
            2 => (
                "release.yaml",
                helm_release(&mut rng, i, shape.markers_per_file),
            ),
            3 => ("cronjob.yml", cronjob(&mut rng, i, shape.markers_per_file)),
            4 => ("multi.yaml", multi_doc(&mut rng, i, shape.markers_per_file)),
            _ => (
                "crlf.yaml",
                deployment(&mut rng, i, shape.markers_per_file).replace('\n', "\r\n"),
            ),
        };
        (format!("{dir}/{i:05}-{name}"), text)
    })
}

/// Write the tree under `dir` (created if needed), one file at a time.
pub fn write_tree(dir: &Path, shape: Shape) -> io::Result<usize> {
    let mut n = 0;
    for (rel, text) in files(shape) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
        n += 1;
    }
    Ok(n)
}

fn marker(policy: usize, suffix: &str) -> String {
    format!("# {{\"$imagepolicy\": \"flux-system:app-{policy}{suffix}\"}}")
}

/// A full image reference in a random scalar style.
fn full_image(rng: &mut Rng, policy: usize) -> String {
    let v = format!("{}:{}", image_name(policy), old_tag(policy));
    match rng.below(3) {
        0 => v,
        1 => format!("'{v}'"),
        _ => format!("\"{v}\""),
    }
}

fn containers(rng: &mut Rng, n: usize, indent: &str) -> String {
    let mut out = String::new();
    for c in 0..n {
        let p = rng.below(POLICIES);
        out += &format!(
            "{indent}- name: c{c}\n{indent}  image: {} {}\n{indent}  ports:\n{indent}  - containerPort: {}\n{indent}  args: [\"--log-level=info\", \"--port={}\"]\n{indent}  resources:\n{indent}    limits: {{cpu: 500m, memory: 256Mi}}\n",
            full_image(rng, p),
            marker(p, ""),
            8080 + c,
            8080 + c,
        );
    }
    out
}

fn deployment(rng: &mut Rng, i: usize, markers: usize) -> String {
    format!(
        "# Deployment {i}: generated for the setters benchmark.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{}\n  labels:\n    app.kubernetes.io/name: app-{i}\n    app.kubernetes.io/part-of: bench\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: app-{i}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: app-{i}\n    spec:\n      serviceAccountName: app-{i}\n      containers:\n{}",
        i % 10,
        containers(rng, markers, "      "),
    )
}

fn cronjob(rng: &mut Rng, i: usize, markers: usize) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: job-{i}\n  namespace: jobs\nspec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n{}",
        containers(rng, markers, "          "),
    )
}

fn kustomization(rng: &mut Rng, markers: usize) -> String {
    let mut out = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\nimages:\n",
    );
    let mut left = markers;
    let mut k = 0;
    while left > 0 {
        let p = rng.below(POLICIES);
        out += &format!(
            "  - name: app-{k}\n    newName: {} {}\n",
            image_name(p),
            marker(p, ":name")
        );
        left -= 1;
        if left > 0 {
            // A head marker above the entry, and a tag that is quoted.
            out += &format!(
                "    {}\n    newTag: \"{}\"\n",
                marker(p, ":tag"),
                old_tag(p)
            );
            left -= 1;
        }
        k += 1;
    }
    out += "patches:\n  - patch: |\n      - op: add\n        path: /metadata/labels/bench\n        value: \"true\"\n    target:\n      kind: Deployment\n";
    out
}

fn helm_release(rng: &mut Rng, i: usize, markers: usize) -> String {
    let mut values = String::new();
    let mut left = markers;
    let mut k = 0;
    while left > 0 {
        let p = rng.below(POLICIES);
        values += &format!(
            "    component{k}:\n      image:\n        repository: {} {}\n",
            image_name(p),
            marker(p, ":name")
        );
        left -= 1;
        if left > 0 {
            values += &format!("        tag: {} {}\n", old_tag(p), marker(p, ":tag"));
            left -= 1;
        }
        values += "        pullPolicy: IfNotPresent\n";
        k += 1;
    }
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: release-{i}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      version: \">=1.0.0\"\n      sourceRef: {{kind: HelmRepository, name: charts}}\n  values:\n{values}"
    )
}

fn multi_doc(rng: &mut Rng, i: usize, markers: usize) -> String {
    let first = markers / 2;
    let second = markers - first;
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  ports: [{{port: 80, targetPort: 8080}}]\n---\n{}---\n{}...\n",
        deployment(rng, i, first),
        deployment(rng, i + 1, second),
    )
}
