//! A hostile repository — 100,000 files, odd names, a file far above the
//! size limit — neither crashes the CLI nor takes memory in proportion to it.

use std::path::Path;
use std::process::Command;

use super::stderr;

/// Run `gitops args…` under python's `resource` and return (exit code,
/// stdout, stderr, max RSS of the child in KiB).
pub(crate) fn run_measured(args: &[&str]) -> (Option<i32>, String, String, u64) {
    let script = "import resource, subprocess, sys\n\
r = subprocess.run(sys.argv[1:], capture_output=True)\n\
sys.stdout.buffer.write(r.stdout)\n\
sys.stderr.buffer.write(r.stderr)\n\
sys.stderr.write('\\nMAXRSS=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
sys.exit(r.returncode)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .output()
        .expect("python3 runs");
    let err = stderr(&out);
    let rss = err
        .rsplit("MAXRSS=")
        .next()
        .and_then(|s| s.trim().parse().ok())
        .expect("max RSS reported");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        rss,
    )
}

fn hostile_tree(root: &Path) {
    let odd = ["with space", "-dash", "ünï", "new\nline", "tab\t", "..dots"];
    for d in 0..100 {
        let dir = root.join(format!("apps/{d:03}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..1000 {
            let name = if f < odd.len() {
                format!("{}-{f}.yaml", odd[f])
            } else {
                format!("{f:04}.yaml")
            };
            let text = if f == 0 {
                format!(
                    "image: ghcr.io/org/app-{d}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app-{d}\"}}\n"
                )
            } else {
                "kind: ConfigMap\n".to_owned()
            };
            std::fs::write(dir.join(name), text).expect("write");
        }
    }
}

#[test]
fn a_hundred_thousand_files_and_a_huge_one() {
    let t = tempfile::tempdir().expect("tempdir");
    hostile_tree(t.path());
    let dir = t.path().to_str().expect("utf-8");

    let (code, out, err, rss) = run_measured(&["setters", "scan", dir, "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["markers"].as_array().map(Vec::len), Some(100), "{doc}");
    // Memory follows the largest file, not the 100,000 files of the tree.
    eprintln!("setters scan, 100,000 files: max RSS {rss} KiB");
    assert!(rss < 100 * 1024, "max RSS {rss} KiB");

    // A 100 GiB (sparse) manifest: refused by name, never read.
    let huge = std::fs::File::create(t.path().join("apps/huge.yaml")).expect("create");
    huge.set_len(100 << 30).expect("sparse");
    let (code, _, err, rss) = run_measured(&["setters", "scan", dir]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("apps/huge.yaml") && err.contains("above the limit"),
        "{err}"
    );
    eprintln!("setters scan with a 100 GiB file: max RSS {rss} KiB");
    assert!(rss < 100 * 1024, "max RSS {rss} KiB");
}
