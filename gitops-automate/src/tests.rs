//! Unit tests of the loop, over `MemRemote` and `MemRegistry`.

use gitops_core::fs::{FileTree, MemTree, RelPath};
use gitops_core::git::{GitTransport, MemRemote};
use gitops_core::registry::MemRegistry;
use gitops_core::url::redact;

use super::*;

const URL: &str = "mem://repo";

fn automation(extra_git: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 5m
  sourceRef: {{kind: GitRepository, name: flux-system}}
  git:
    commit:
      author: {{name: bot, email: bot@example.com}}
{extra_git}  update: {{path: ./apps, strategy: Setters}}
{extra_spec}"
    )
}

const IMAGES: &str = "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/org/app, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app, namespace: flux-system, labels: {team: a}}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: 1.x}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: gone, namespace: flux-system}
spec: {image: ghcr.io/org/gone, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: gone, namespace: flux-system, labels: {team: b}}
spec:
  imageRepositoryRef: {name: gone}
  policy: {alphabetical: {}}
";

const APP: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: prod}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}
      - name: gone
        image: ghcr.io/org/gone:a # {\"$imagepolicy\": \"flux-system:gone\"}
";

const V1: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.web: semver:~1.0
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/org/web:1.0.0
";

fn setup(automation_yaml: &str) -> (MemRemote, MemRegistry) {
    let mut tree = MemTree::new();
    tree.insert("clusters/dev/automation.yaml", automation_yaml)
        .unwrap();
    tree.insert("clusters/dev/images.yaml", IMAGES).unwrap();
    tree.insert("apps/app.yaml", APP).unwrap();
    tree.insert("apps/web.yaml", V1).unwrap();
    tree.insert("other/app.yaml", APP).unwrap();
    let remote = MemRemote::new();
    remote.seed(URL, "main", tree, "initial");
    let mut reg = MemRegistry::new();
    for t in ["1.0.0", "1.1.0", "1.1.1-rc.1", "2.0.0", "sha256-x.sig"] {
        reg.add("ghcr.io/org/app", t, None);
    }
    for t in ["1.0.0", "1.0.7", "1.1.0"] {
        reg.add("ghcr.io/org/web", t, None);
    }
    (remote, reg)
}

fn read(remote: &MemRemote, branch: &str, path: &str) -> String {
    let head = remote.resolve_branch(URL, branch).unwrap().unwrap();
    remote
        .fetch_tree(URL, &head)
        .unwrap()
        .read_to_string(&RelPath::new(path).unwrap())
        .unwrap()
}

#[test]
fn pushes_then_is_idempotent() {
    let (remote, reg) = setup(&automation("", ""));
    let mut steps = Vec::new();
    let report = run(&remote, &reg, &Options::new(URL), &mut |p| steps.push(p)).unwrap();
    let Outcome::Pushed {
        commit,
        branch,
        attempts,
    } = &report.outcome
    else {
        panic!("{report:?}")
    };
    assert_eq!((branch.as_str(), *attempts), ("main", 1));
    assert_eq!(report.automation, "flux-system/apps");
    assert_eq!(report.files_changed, ["apps/app.yaml", "apps/web.yaml"]);
    let app = &report.policies[0];
    assert_eq!(app.policy, "flux-system:app");
    assert_eq!(app.previous, ["1.0.0"]);
    assert_eq!(app.latest.as_deref(), Some("ghcr.io/org/app:1.1.0"));
    assert_eq!(app.files, ["apps/app.yaml"]);
    assert_eq!(app.changes[0].line, 9);
    // The policy whose repository is not in the registry is reported, not fatal.
    let gone = &report.policies[1];
    assert!(
        gone.error
            .as_deref()
            .unwrap()
            .contains("cannot list tags of ghcr.io/org/gone"),
        "{gone:?}"
    );
    assert_eq!(report.workloads.len(), 1);
    assert_eq!(report.workloads[0].object, "Deployment/prod/web");
    assert_eq!(report.workloads[0].new, "ghcr.io/org/web:1.0.7");
    assert_eq!(
        report.message.as_deref(),
        Some(message::DEFAULT_TEMPLATE),
        "Flux's default message"
    );
    let (_, msg) = remote.commit_info(URL, commit).unwrap();
    assert_eq!(msg, message::DEFAULT_TEMPLATE);
    assert_eq!(
        read(&remote, "main", "apps/app.yaml"),
        APP.replace("app:1.0.0", "app:1.1.0")
    );
    assert_eq!(
        read(&remote, "main", "apps/web.yaml"),
        V1.replace("web:1.0.0", "web:1.0.7")
    );
    // Outside update.path: untouched.
    assert_eq!(read(&remote, "main", "other/app.yaml"), APP);
    assert!(steps.contains(&Progress::Pushing {
        branch: "main".into()
    }));
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Progress::Scanning { total: 2, .. }))
    );

    let again = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap();
    assert!(
        matches!(again.outcome, Outcome::UpToDate { .. }),
        "{again:?}"
    );
    assert!(again.files_changed.is_empty());
    assert!(again.message.is_none());
    assert_eq!(
        remote.resolve_branch(URL, "main").unwrap().as_ref(),
        Some(commit)
    );
}

#[test]
fn dry_run_writes_nothing_and_returns_the_diff() {
    let (remote, reg) = setup(&automation("", ""));
    let before = remote.resolve_branch(URL, "main").unwrap();
    let mut opts = Options::new(URL);
    opts.dry_run = true;
    let report = run(&remote, &reg, &opts, &mut |_| {}).unwrap();
    assert!(matches!(report.outcome, Outcome::WouldPush { .. }));
    assert!(report.changed());
    let diff = report.diff.unwrap();
    assert!(
        diff.contains("--- a/apps/app.yaml\n+++ b/apps/app.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-        image: ghcr.io/org/app:1.0.0 #"),
        "{diff}"
    );
    assert!(
        diff.contains("+        image: ghcr.io/org/app:1.1.0 #"),
        "{diff}"
    );
    assert!(
        diff.contains("+        image: ghcr.io/org/web:1.0.7\n"),
        "{diff}"
    );
    assert_eq!(remote.resolve_branch(URL, "main").unwrap(), before);
}

#[test]
fn push_branch_template_selector_and_digest() {
    let git = "      messageTemplate: |-\n        [{{ values.env }}] {{ automation_object }}\n        {% for c in changed.changes %}{{ c.setter }}: {{ c.old_value }} -> {{ c.new_value }}\n        {% endfor %}\n      messageTemplateValues: {env: dev}\n    push: {branch: auto}\n";
    let spec = "  policySelector: {matchLabels: {team: a}}\n";
    let (remote, reg) = setup(&automation(git, spec));
    let images = IMAGES.replace(
        "policy: {semver: {range: 1.x}}",
        "policy: {semver: {range: 1.x}}\n  digestReflectionPolicy: Always",
    );
    let mut opts = Options::new(URL);
    opts.flux_v1 = false;
    let mut tree = MemTree::new();
    tree.insert("x.yaml", &images).unwrap();
    opts.objects = read_objects(&tree)
        .policies
        .into_iter()
        .map(Object::ImagePolicy)
        .collect();
    let report = run(&remote, &reg, &opts, &mut |_| {}).unwrap();
    let Outcome::Pushed { branch, .. } = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(branch, "auto");
    assert_eq!(report.push_branch, "auto");
    // Only the selected policy is considered; v1 is off.
    assert_eq!(report.policies.len(), 1);
    assert!(report.workloads.is_empty());
    let latest = report.policies[0].latest.clone().unwrap();
    assert!(
        latest.starts_with("ghcr.io/org/app:1.1.0@sha256:"),
        "{latest}"
    );
    let msg = report.message.unwrap();
    assert_eq!(
        msg,
        format!("[dev] flux-system/apps\nflux-system:app: ghcr.io/org/app:1.0.0 -> {latest}\n")
    );
    // main is untouched; the change is on the push branch.
    assert_eq!(read(&remote, "main", "apps/app.yaml"), APP);
    assert!(read(&remote, "auto", "apps/app.yaml").contains(&latest));
}

#[test]
fn go_template_is_refused_before_anything_is_pushed() {
    let git =
        "      messageTemplate: 'Update {{ range .Changed.Changes }}{{ .NewValue }}{{ end }}'\n";
    let (remote, reg) = setup(&automation(git, ""));
    let before = remote.resolve_branch(URL, "main").unwrap();
    let err = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap_err();
    assert_eq!(err.reason(), "RemovedTemplateField");
    let Error::Message {
        source: message::Error::GoTemplate { construct, .. },
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(construct, "{{ range .Changed.Changes }}");
    assert_eq!(remote.resolve_branch(URL, "main").unwrap(), before);
}

#[test]
fn configuration_errors() {
    let (remote, reg) = setup(&automation("    checkout: {ref: {tag: v1.0.0}}\n", ""));
    let err = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ImageUpdateAutomation flux-system/apps: checkout ref tag v1.0.0 is not a branch; only branch checkouts can be updated"
    );
    let (remote, reg) = setup(&automation(
        "",
        "  policySelector: {matchExpressions: [{key: a, operator: Near}]}\n",
    ));
    let err = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap_err();
    assert_eq!(err.reason(), "InvalidPolicySelector");
    assert!(err.to_string().contains("\"Near\" is not one of"), "{err}");

    let remote = MemRemote::new();
    let mut t = MemTree::new();
    t.insert("a.yaml", "kind: ConfigMap\n").unwrap();
    remote.seed(URL, "master", t, "init");
    let err = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no ImageUpdateAutomation found in mem://repo (branch \"master\"); give one with --automation FILE"
    );
    let mut opts = Options::new(URL);
    opts.branch = Some("nope".into());
    let err = run(&remote, &reg, &opts, &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "none of the branches [\"nope\"] exists in mem://repo"
    );
}

#[test]
fn credentials_never_appear_in_errors_or_reports() {
    let (_, reg) = setup(&automation("", ""));
    let remote = MemRemote::new();
    let url = "mem://bot:s3cr3t-token@host/repo";
    let err = run(&remote, &reg, &Options::new(url), &mut |_| {}).unwrap_err();
    let text = chain(&err);
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!text.contains("bot"), "{text}");
    assert_eq!(
        redact("https://x-access-token:abc@github.com/o/r"),
        "https://github.com/o/r"
    );
    assert_eq!(redact("https://tok@h/r"), "https://h/r");
    assert_eq!(redact("/srv/repo.git"), "/srv/repo.git");
}

#[test]
fn label_selector() {
    let sel = LabelSelector::from_json(Some(&serde_json::json!({
        "matchLabels": {"a": "1"},
        "matchExpressions": [
            {"key": "b", "operator": "In", "values": ["x", "y"]},
            {"key": "c", "operator": "DoesNotExist"}
        ]
    })))
    .unwrap();
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert!(sel.matches(Some(&labels(&[("a", "1"), ("b", "y")]))));
    assert!(!sel.matches(Some(&labels(&[("a", "1"), ("b", "z")]))));
    assert!(!sel.matches(Some(&labels(&[("a", "1"), ("b", "x"), ("c", "")]))));
    assert!(!sel.matches(None));
    assert!(LabelSelector::from_json(None).unwrap().matches(None));
    assert_eq!(
        LabelSelector::from_json(Some(
            &serde_json::json!({"matchExpressions": [{"key": "b", "operator": "In"}]})
        ))
        .unwrap_err(),
        "matchExpressions[0]: In and NotIn need values"
    );
}

/// A transport whose first `races` pushes lose against another writer that
/// changes an unrelated file.
struct Racy<'a> {
    inner: &'a MemRemote,
    races: std::cell::Cell<u32>,
}

impl GitTransport for Racy<'_> {
    type Error = gitops_core::git::Error;
    fn list_refs(&self, url: &str) -> Result<Vec<gitops_core::git::RemoteRef>, Self::Error> {
        self.inner.list_refs(url)
    }
    fn fetch_tree(&self, url: &str, commit: &str) -> Result<MemTree, Self::Error> {
        self.inner.fetch_tree(url, commit)
    }
    fn push_commit(
        &self,
        url: &str,
        req: &gitops_core::git::CommitRequest,
    ) -> Result<gitops_core::git::PushOutcome, Self::Error> {
        if self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            let n = self.races.get();
            let other = gitops_core::git::CommitRequest {
                files: vec![(
                    RelPath::new("other/app.yaml").unwrap(),
                    format!("# other writer {n}\n{APP}").into_bytes(),
                )],
                message: format!("other writer {n}"),
                ..req.clone()
            };
            self.inner.push_commit(url, &other)?;
        }
        self.inner.push_commit(url, req)
    }
}

#[test]
fn rejected_pushes_are_reapplied_on_the_new_head_then_bounded() {
    let (remote, reg) = setup(&automation("", ""));
    let racy = Racy {
        inner: &remote,
        races: std::cell::Cell::new(2),
    };
    let report = run(&racy, &reg, &Options::new(URL), &mut |_| {}).unwrap();
    let Outcome::Pushed {
        commit, attempts, ..
    } = &report.outcome
    else {
        panic!("{report:?}")
    };
    assert_eq!(*attempts, 3);
    // Both the other writer's change and ours are on main.
    assert!(read(&remote, "main", "other/app.yaml").starts_with("# other writer 0\n"));
    assert_eq!(
        read(&remote, "main", "apps/app.yaml"),
        APP.replace("app:1.0.0", "app:1.1.0")
    );
    let (parent, _) = remote.commit_info(URL, commit).unwrap();
    let (_, parent_msg) = remote.commit_info(URL, &parent.unwrap()).unwrap();
    assert_eq!(parent_msg, "other writer 0");

    // Bounded: a branch that keeps moving ends in an error, nothing of ours lands.
    let (remote, reg) = setup(&automation("", ""));
    let racy = Racy {
        inner: &remote,
        races: std::cell::Cell::new(10),
    };
    let mut opts = Options::new(URL);
    opts.max_attempts = 3;
    let err = run(&racy, &reg, &opts, &mut |_| {}).unwrap_err();
    assert_eq!(err.reason(), "GitOperationFailed");
    assert_eq!(
        err.to_string(),
        "push to \"main\" of mem://repo rejected 3 times (the branch keeps moving)"
    );
    assert_eq!(read(&remote, "main", "apps/app.yaml"), APP);
}

#[test]
fn update_path_stays_inside_the_repository() {
    let (remote, reg) = setup(&automation("", "").replace("path: ./apps", "path: ../outside"));
    let err = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ImageUpdateAutomation flux-system/apps: spec.update.path: "),
        "{err}"
    );
}

#[test]
fn suspended_automation_does_nothing() {
    let (remote, reg) = setup(&automation("", "  suspend: true\n"));
    let before = remote.resolve_branch(URL, "main").unwrap();
    let report = run(&remote, &reg, &Options::new(URL), &mut |_| {}).unwrap();
    assert_eq!(report.outcome, Outcome::Suspended);
    assert!(!report.changed());
    assert!(report.policies.is_empty());
    assert_eq!(remote.resolve_branch(URL, "main").unwrap(), before);
}
