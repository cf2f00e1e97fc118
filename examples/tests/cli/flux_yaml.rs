//! `gitops setters flux-yaml`: Flux v1 `.flux.yaml` with files written here.

use std::path::Path;

use crate::{gitops, stderr, stdout};

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
}

const APP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.app: semver:~1
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/org/app:1.0.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.web: semver:~1.25
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25.0
";

const PATCH: &str = "\
# replicas and the app image are managed here
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: 'ghcr.io/org/app:1.0.1'   # pinned by hand
";

fn fixture(dir: &Path, generator: &str) -> (String, String) {
    write(
        dir,
        &[
            (
                ".flux.yaml",
                &format!(
                    "version: 1\npatchUpdated:\n  generators:\n  - command: {generator}\n  patchFile: patches/flux-patch.yaml\n"
                ),
            ),
            ("kustomization.yaml", "resources:\n- app.yaml\n"),
            ("app.yaml", APP),
            ("patches/flux-patch.yaml", PATCH),
            ("app.tags", "1.0.0\n1.0.1\n1.2.0\n2.0.0\n"),
            ("nginx.tags", "1.25.0\n1.25.3\n1.27.0\n"),
        ],
    );
    (
        format!("ghcr.io/org/app={}", dir.join("app.tags").display()),
        format!("nginx={}", dir.join("nginx.tags").display()),
    )
}

#[test]
fn patch_updated_writes_into_the_patch_file_then_is_a_noop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (app, nginx) = fixture(dir, "kustomize build .");
    let d = dir.to_str().unwrap();
    let args = ["setters", "flux-yaml", d, "--tags", &app, "--tags", &nginx];

    let dry = gitops(&[&args[..], &["--dry-run"]].concat());
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("would update patches/flux-patch.yaml\n"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("patches/flux-patch.yaml")).unwrap(),
        PATCH
    );

    let first = gitops(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "apps:deployment/app app: ghcr.io/org/app:1.0.1 -> ghcr.io/org/app:1.2.0\n\
         apps:deployment/web web: nginx:1.25.0 -> nginx:1.25.3\n\
         updated patches/flux-patch.yaml\n"
    );
    let want = format!(
        "{}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
      - image: nginx:1.25.3
        name: web
",
        PATCH.replace("'ghcr.io/org/app:1.0.1'", "'ghcr.io/org/app:1.2.0'")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("patches/flux-patch.yaml")).unwrap(),
        want
    );
    // The generated sources are not touched.
    assert_eq!(std::fs::read_to_string(dir.join("app.yaml")).unwrap(), APP);

    let second = gitops(&args);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&second), "up to date\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("patches/flux-patch.yaml")).unwrap(),
        want
    );
}

#[test]
fn other_generators_need_allow_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (app, nginx) = fixture(dir, "cat app.yaml");
    let d = dir.to_str().unwrap();
    let refused = gitops(&["setters", "flux-yaml", d, "--tags", &app, "--tags", &nginx]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("running \"cat app.yaml\" needs --allow-commands"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("patches/flux-patch.yaml")).unwrap(),
        PATCH
    );

    let ok = gitops(&[
        "setters",
        "flux-yaml",
        d,
        "--tags",
        &app,
        "--tags",
        &nginx,
        "--allow-commands",
        "-o",
        "json",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let v: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!(v["updates"].as_array().unwrap().len(), 2);
    assert_eq!(v["patch_file"], "patches/flux-patch.yaml");
}

#[test]
fn patch_for_a_missing_resource_is_an_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (app, _) = fixture(dir, "kustomize build .");
    let bad = PATCH.replace("name: app\n  namespace", "name: gone\n  namespace");
    write(dir, &[("patches/flux-patch.yaml", &bad)]);
    let o = gitops(&[
        "setters",
        "flux-yaml",
        dir.to_str().unwrap(),
        "--tags",
        &app,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o)
            .contains("cannot apply patchFile \"patches/flux-patch.yaml\" to generated resources"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("patches/flux-patch.yaml")).unwrap(),
        bad
    );
}

#[test]
fn invalid_config_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[(
            ".flux.yaml",
            "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n",
        )],
    );
    let o = gitops(&["setters", "flux-yaml", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        "error: .flux.yaml:3: config file is not valid: patchUpdated.patchFile: a required string\n"
    );
}

#[test]
fn command_updated_runs_updaters_with_flux_env_only_when_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        &[
            (
                ".flux.yaml",
                "version: 1
commandUpdated:
  generators:
  - command: cat manifests/*.yaml
  updaters:
  - containerImage:
      command: >-
        echo \"$FLUX_WORKLOAD|$FLUX_WL_NS|$FLUX_WL_KIND|$FLUX_WL_NAME|$FLUX_CONTAINER|$FLUX_IMG|$FLUX_TAG\" >> updates.log
      timeout: 10s
",
            ),
            ("manifests/app.yaml", APP),
            ("app.tags", "1.0.0\n1.2.0\n"),
            ("nginx.tags", "1.25.0\n"),
        ],
    );
    let app = format!("ghcr.io/org/app={}", dir.join("app.tags").display());
    let nginx = format!("nginx={}", dir.join("nginx.tags").display());
    let d = dir.to_str().unwrap();

    let refused = gitops(&["setters", "flux-yaml", d, "--tags", &app, "--tags", &nginx]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("pass --allow-commands"),
        "{}",
        stderr(&refused)
    );
    assert!(!dir.join("updates.log").exists());

    let ok = gitops(&[
        "setters",
        "flux-yaml",
        d,
        "--tags",
        &app,
        "--tags",
        &nginx,
        "--allow-commands",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(
        stdout(&ok),
        "apps:deployment/app app: ghcr.io/org/app:1.0.0 -> ghcr.io/org/app:1.2.0\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("updates.log")).unwrap(),
        "apps:deployment/app|apps|deployment|app|app|ghcr.io/org/app|1.2.0\n"
    );
}

#[test]
fn patch_file_outside_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let (app, _) = fixture(&dir, "kustomize build .");
    write(
        &dir,
        &[(
            ".flux.yaml",
            "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: ../outside.yaml\n",
        )],
    );
    let o = gitops(&[
        "setters",
        "flux-yaml",
        dir.to_str().unwrap(),
        "--tags",
        &app,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("patchFile \"../outside.yaml\" is not inside the repository"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("outside.yaml").exists());

    // A symlinked patch directory pointing outside is refused too.
    std::fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
    std::fs::remove_dir_all(dir.join("patches")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), dir.join("patches")).unwrap();
    write(
        &dir,
        &[(
            ".flux.yaml",
            "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: patches/flux-patch.yaml\n",
        )],
    );
    let o = gitops(&[
        "setters",
        "flux-yaml",
        dir.to_str().unwrap(),
        "--tags",
        &app,
    ]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(!tmp.path().join("elsewhere/flux-patch.yaml").exists());
}
