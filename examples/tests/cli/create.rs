//! `gitops create … --export`: expected YAML written by hand from reading
//! the Flux v2 CLI (`cmd/flux/create_*.go`, the controllers' API types and
//! `sigs.k8s.io/yaml`), for Flux-docs-style invocations.

use crate::{gitops, stderr, stdout};

fn export(args: &[&str]) -> String {
    let o = gitops(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn fails(args: &[&str]) -> String {
    let o = gitops(args);
    assert!(!o.status.success(), "{args:?} should fail: {}", stdout(&o));
    assert!(stdout(&o).is_empty(), "nothing on stdout: {}", stdout(&o));
    stderr(&o)
}

#[test]
fn source_git_semver_with_labels() {
    let got = export(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--url=https://github.com/stefanprodan/podinfo",
        "--tag-semver=>=3.2.0 <3.3.0",
        "--label=env=dev,team=a",
        "--interval=30s",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  labels:
    env: dev
    team: a
  name: podinfo
  namespace: flux-system
spec:
  interval: 30s
  ref:
    semver: '>=3.2.0 <3.3.0'
  url: https://github.com/stefanprodan/podinfo
"
    );
}

#[test]
fn source_git_commit_keeps_branch_and_options() {
    let got = export(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--url=ssh://git@github.com/stefanprodan/podinfo",
        "--branch=main",
        "--commit=c88a2f41",
        "--tag=ignored-when-commit-is-set",
        "--secret-ref=podinfo-auth",
        "--provider=github",
        "--recurse-submodules",
        "--fetch-timeout=90s",
        "--interval=1h",
        "-n",
        "apps",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 1h0m0s
  provider: github
  recurseSubmodules: true
  ref:
    branch: main
    commit: c88a2f41
  secretRef:
    name: podinfo-auth
  timeout: 1m30s
  url: ssh://git@github.com/stefanprodan/podinfo
"
    );
}

#[test]
fn source_helm_https_and_oci() {
    let got = export(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=https://stefanprodan.github.io/podinfo",
        "--interval=10m",
        "--pass-credentials",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m0s
  url: https://stefanprodan.github.io/podinfo
"
    );
    let got = export(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/charts",
        "--secret-ref=ghcr-auth",
        "--pass-credentials",
        "--oci-provider=aws",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m0s
  passCredentials: true
  provider: aws
  secretRef:
    name: ghcr-auth
  type: oci
  url: oci://ghcr.io/stefanprodan/charts
"
    );
}

#[test]
fn source_oci_with_cosign_verification() {
    let got = export(&[
        "create",
        "source",
        "oci",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/manifests/podinfo",
        "--tag=6.6.2",
        "--interval=10m",
        "--verify-provider=cosign",
        "--verify-subject=^https://github.com/stefanprodan/podinfo.*$",
        "--verify-issuer=^https://token.actions.githubusercontent.com$",
        "--layer-selector=application/vnd.cncf.flux.content.v1.tar+gzip:extract",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m0s
  layerSelector:
    mediaType: application/vnd.cncf.flux.content.v1.tar+gzip
    operation: extract
  provider: generic
  ref:
    tag: 6.6.2
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  verify:
    matchOIDCIdentity:
    - issuer: ^https://token.actions.githubusercontent.com$
      subject: ^https://github.com/stefanprodan/podinfo.*$
    provider: cosign
"
    );
}

#[test]
fn kustomization_with_dependencies_and_wait() {
    let got = export(&[
        "create",
        "kustomization",
        "podinfo",
        "--source=GitRepository/podinfo.flux-system",
        "--path=./kustomize/",
        "--prune=true",
        "--interval=5m",
        "--wait",
        "--health-check=Deployment/ignored.default",
        "--health-check-timeout=3m",
        "--depends-on=infra,apps/base",
        "--target-namespace=default",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: flux-system
spec:
  dependsOn:
  - name: infra
  - name: base
    namespace: apps
  interval: 5m0s
  path: ./kustomize
  prune: true
  sourceRef:
    kind: GitRepository
    name: podinfo
    namespace: flux-system
  targetNamespace: default
  timeout: 3m0s
  wait: true
"
    );
}

#[test]
fn kustomization_health_checks_and_defaults() {
    let got = export(&[
        "create",
        "ks",
        "apps",
        "--source=OCIRepository/manifests",
        "--health-check=Deployment/podinfo.apps,HelmRelease/redis.apps",
        "--decryption-provider=sops",
        "--decryption-secret=sops-gpg",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-gpg
  healthChecks:
  - kind: Deployment
    name: podinfo
    namespace: apps
  - apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    name: redis
    namespace: apps
  interval: 1m0s
  path: ./
  prune: false
  sourceRef:
    kind: OCIRepository
    name: manifests
  timeout: 2m0s
"
    );
}

#[test]
fn helmrelease_with_values_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("values.yaml");
    let prod = dir.path().join("prod.yaml");
    std::fs::write(
        &base,
        "replicaCount: 2\nimage:\n  tag: \"6.0.0\"\ningress:\n  enabled: yes\n",
    )
    .unwrap();
    std::fs::write(&prod, "replicaCount: 3\n").unwrap();
    let values = format!("--values={},{}", base.display(), prod.display());
    let got = export(&[
        "create",
        "hr",
        "podinfo",
        "--interval=10m",
        "--source=HelmRepository/podinfo",
        "--chart=podinfo",
        "--chart-version=>4.0.0",
        &values,
        "--target-namespace=apps",
        "--create-target-namespace",
        "--crds=CreateReplace",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: flux-system
spec:
  chart:
    spec:
      chart: podinfo
      reconcileStrategy: ChartVersion
      sourceRef:
        kind: HelmRepository
        name: podinfo
      version: '>4.0.0'
  install:
    crds: Create
    createNamespace: true
  interval: 10m0s
  storageNamespace: apps
  targetNamespace: apps
  upgrade:
    crds: CreateReplace
  values:
    image:
      tag: 6.0.0
    ingress:
      enabled: true
    replicaCount: 3
"
    );
}

#[test]
fn helmrelease_chart_ref_and_values_from() {
    let got = export(&[
        "create",
        "helmrelease",
        "podinfo",
        "--chart-ref=OCIRepository/podinfo.flux-system",
        "--values-from=secret/podinfo-values,ConfigMap/podinfo-defaults",
        "--depends-on=redis",
        "--release-name=web",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: flux-system
spec:
  chartRef:
    kind: OCIRepository
    name: podinfo
    namespace: flux-system
  dependsOn:
  - name: redis
  interval: 1m0s
  releaseName: web
  valuesFrom:
  - kind: Secret
    name: podinfo-values
  - kind: ConfigMap
    name: podinfo-defaults
"
    );
}

#[test]
fn image_repository() {
    let got = export(&[
        "create",
        "image",
        "repository",
        "podinfo",
        "--image=ghcr.io/stefanprodan/podinfo",
        "--interval=5m",
        "--scan-timeout=30s",
        "--secret-ref=regcred",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m0s
  secretRef:
    name: regcred
  timeout: 30s
"
    );
}

#[test]
fn image_policy_semver_filter_and_numeric() {
    let got = export(&[
        "create",
        "image",
        "policy",
        "podinfo",
        "--image-ref=podinfo",
        "--select-semver=5.0.x",
        "--filter-regex=^main-[a-f0-9]+-(?P<ts>[0-9]+)",
        "--filter-extract=$ts",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  filterTags:
    extract: $ts
    pattern: ^main-[a-f0-9]+-(?P<ts>[0-9]+)
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: 5.0.x
"
    );
    let got = export(&[
        "create",
        "image",
        "policy",
        "build",
        "--image-ref=app",
        "--select-numeric=asc",
        "--filter-regex=^[0-9]+$",
        "--reflect-digest=Always",
        "--interval=10m",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: build
  namespace: flux-system
spec:
  digestReflectionPolicy: Always
  filterTags:
    extract: \"\"
    pattern: ^[0-9]+$
  imageRepositoryRef:
    name: app
  interval: 10m0s
  policy:
    numerical:
      order: asc
"
    );
}

#[test]
fn image_update_with_long_template_folded_like_yaml_v2() {
    let got = export(&[
        "create",
        "image",
        "update",
        "flux-system",
        "--interval=30m",
        "--git-repo-ref=flux-system",
        "--git-repo-path=./clusters/my-cluster",
        "--checkout-branch=main",
        "--push-branch=image-updates",
        "--author-name=fluxcdbot",
        "--author-email=fluxcdbot@users.noreply.github.com",
        "--commit-template={{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}",
        "--signing-key-secret=signing-key",
        "--signing-key-type=ssh",
        "--export",
    ]);
    assert_eq!(
        got,
        "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
spec:
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: '{{range .Changed.Changes}}{{print .OldValue}} -> {{println
        .NewValue}}{{end}}'
      signingKey:
        secretRef:
          name: signing-key
        type: ssh
    push:
      branch: image-updates
  interval: 30m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  update:
    path: ./clusters/my-cluster
    strategy: Setters
"
    );
}

#[test]
fn output_file_is_written_instead_of_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repo.yaml");
    let o = gitops(&[
        "create",
        "image",
        "repository",
        "app",
        "--image=registry.local/app",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"),
        "{text}"
    );
    assert!(text.contains("  image: registry.local/app\n"), "{text}");
}

#[test]
fn flag_errors_match_flux() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "create",
                "source",
                "git",
                "podinfo",
                "--url=ftp://example.com/repo",
                "--branch=main",
            ],
            "error: git URL scheme 'ftp' not supported, can be: ssh, http and https\n",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "podinfo",
                "--url=https://example.com/repo",
            ],
            "error: a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver\n",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "podinfo",
                "--url=https://example.com/repo",
                "--branch=main",
                "--provider=dummy",
            ],
            "error: invalid argument \"dummy\" for \"--provider\" flag: source Git provider 'dummy' is not supported, must be one of: generic|github|aws|azure\n",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "podinfo",
                "--url=ssh://git@example.com/repo",
                "--branch=main",
                "--ca-file=ca.crt",
            ],
            "error: specifying a CA file is not supported for Git over SSH\n",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "--url=https://example.com/repo",
                "--branch=main",
            ],
            "error: name is required\n",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "Pod_Info",
                "--url=https://example.com/repo",
                "--branch=main",
            ],
            "error: name 'Pod_Info' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'\n",
        ),
        (
            &[
                "create",
                "source",
                "helm",
                "podinfo",
                "--url=ftp://example.com/charts",
            ],
            "error: url scheme 'ftp' not supported, can be: http, https and oci\n",
        ),
        (
            &[
                "create",
                "source",
                "helm",
                "podinfo",
                "--url=https:///charts",
            ],
            "error: url host is required\n",
        ),
        (
            &[
                "create",
                "source",
                "oci",
                "podinfo",
                "--url=oci://ghcr.io/org/app",
            ],
            "error: --tag, --tag-semver or --digest is required\n",
        ),
        (
            &[
                "create",
                "source",
                "oci",
                "podinfo",
                "--url=oci://ghcr.io/org/app",
                "--tag=1",
                "--verify-secret-ref=keys",
            ],
            "error: a verification provider must be specified when a secret is specified\n",
        ),
        (
            &["create", "kustomization", "podinfo", "--path=./deploy"],
            "error: source is required\n",
        ),
        (
            &["create", "kustomization", "podinfo", "--source=Bucket"],
            "error: invalid argument \"Bucket\" for \"--source\" flag: no kind specified for source 'Bucket'\n",
        ),
        (
            &[
                "create",
                "kustomization",
                "podinfo",
                "--source=HelmRepository/charts",
            ],
            "error: invalid argument \"HelmRepository/charts\" for \"--source\" flag: source kind 'HelmRepository' is not supported, must be one of: OCIRepository, GitRepository, Bucket\n",
        ),
        (
            &[
                "create",
                "helmrelease",
                "podinfo",
                "--source=HelmRepository/podinfo",
            ],
            "error: chart or chart-ref is required\n",
        ),
        (
            &[
                "create",
                "helmrelease",
                "podinfo",
                "--chart=podinfo",
                "--reconcile-strategy=Always",
            ],
            "error: 'Always' is an invalid reconcile strategy(valid: Revision, ChartVersion)\n",
        ),
        (
            &["create", "image", "repository", "podinfo"],
            "error: an image repository (--image) is required\n",
        ),
        (
            &[
                "create",
                "image",
                "policy",
                "podinfo",
                "--image-ref=podinfo",
            ],
            "error: a policy must be provided with either --select-semver or --select-alpha\n",
        ),
        (
            &[
                "create",
                "image",
                "policy",
                "podinfo",
                "--image-ref=podinfo",
                "--select-alpha=up",
            ],
            "error: --select-alpha must be one of [\"asc\", \"desc\"]\n",
        ),
        (
            &[
                "create",
                "image",
                "policy",
                "podinfo",
                "--image-ref=podinfo",
                "--select-semver=1.x",
                "--filter-regex=^(?P<v>.*)$",
                "--filter-extract=$x",
            ],
            "error: capture group $x used in --filter-extract not found in --filter-regex\n",
        ),
        (
            &[
                "create",
                "image",
                "update",
                "podinfo",
                "--git-repo-ref=flux-system",
                "--checkout-branch=main",
                "--author-name=bot",
            ],
            "error: the author email is required (--author-email)\n",
        ),
        (
            &[
                "create",
                "image",
                "repository",
                "podinfo",
                "--image=ghcr.io/org/app",
                "--label=team",
            ],
            "error: invalid label format 'team', must be key=value\n",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(&fails(args), want, "{args:?}");
    }
}

#[test]
fn credential_flags_are_accepted_and_ignored_like_flux_export() {
    let base = [
        "create",
        "source",
        "git",
        "podinfo",
        "--url=https://github.com/stefanprodan/podinfo",
        "--branch=master",
        "--export",
    ];
    let plain = export(&base);
    let with_creds = export(
        &[
            &base[..],
            &["--username=username", "--password=password", "-s"],
        ]
        .concat(),
    );
    assert_eq!(plain, with_creds);
    assert!(!with_creds.contains("password"));
}
