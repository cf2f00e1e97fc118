//! `gitops create`: Flux objects as `flux create … --export` prints them.
//!
//! Same flag names and defaults as the Flux v2 CLI. There is no cluster:
//! the object is printed (or written to `--output-file`), never applied.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use gitops_core::fs::atomic;
use gitops_render::flux::create::secret::{self, GitSecret, GitSecretKind, SshKeyPair};
use gitops_render::flux::create::{
    self, GitSource, GoDuration, HelmReleaseFlags, HelmSource, ImagePolicyFlags,
    ImageRepositoryFlags, ImageUpdateFlags, KustomizationFlags, Meta, OciSource, ValuesFile,
};
use gitops_source::git::ssh::{EcdsaCurve, KeyAlgorithm, KeyPair};

const NO_CLUSTER: &str = "gitops has no cluster: the manifest is printed \
(or written to --output-file), never applied; --export prints it exactly as \
`flux create … --export` does.";

/// Subcommands of `gitops create`.
#[derive(Debug, clap::Subcommand)]
pub enum CreateCmd {
    /// Create Flux sources (GitRepository, HelmRepository, OCIRepository).
    #[command(subcommand)]
    Source(SourceCmd),
    /// Create a Kustomization (kustomize.toolkit.fluxcd.io/v1).
    #[command(alias = "ks", after_help = NO_CLUSTER)]
    Kustomization(KustomizationArgs),
    /// Create a HelmRelease (helm.toolkit.fluxcd.io/v2).
    #[command(alias = "hr", after_help = NO_CLUSTER)]
    Helmrelease(HelmReleaseArgs),
    /// Create image automation objects (image.toolkit.fluxcd.io/v1).
    #[command(subcommand)]
    Image(ImageCmd),
    /// Create Secrets for Flux sources.
    #[command(subcommand)]
    Secret(SecretCmd),
}

/// Subcommands of `gitops create secret`.
#[derive(Debug, clap::Subcommand)]
pub enum SecretCmd {
    /// Create a Git credentials Secret: for ssh:// URLs a new deploy key
    /// (`identity`, `identity.pub`) and the server's `known_hosts`; for
    /// http(s):// basic auth or a bearer token.
    #[command(after_help = SECRET_NOTE)]
    Git(SecretGitArgs),
}

const SECRET_NOTE: &str = "gitops has no cluster: the Secret is printed \
(or written to --output-file, mode 0600), never applied; --export prints it \
exactly as `flux create secret git … --export` does. The host is not scanned: \
give its keys with --known-hosts FILE (e.g. from `ssh-keyscan -p PORT HOST`). \
Print the deploy key with `gitops v1 identity --secret FILE`.";

/// Flags of `gitops create secret git`.
#[derive(Debug, clap::Args)]
pub struct SecretGitArgs {
    /// The Secret name.
    pub name: Option<String>,
    /// Print the Secret as `flux create secret git … --export` does.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    pub export: bool,
    /// Labels on the Secret (`key=value`, comma-separated or repeated).
    #[arg(long = "label", value_delimiter = ',')]
    pub label: Vec<String>,
    /// The Secret's namespace.
    #[arg(long, short = 'n', default_value = "flux-system")]
    pub namespace: String,
    /// Write the YAML to this file (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    url: String,
    /// Basic authentication username (HTTP/S).
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// Basic authentication password (HTTP/S).
    #[arg(long, short = 'p')]
    password: Option<String>,
    /// Bearer authentication token (HTTP/S).
    #[arg(long = "bearer-token")]
    bearer_token: Option<String>,
    /// TLS CA certificate file for self-signed servers (HTTP/S).
    #[arg(long = "ca-crt-file", value_name = "FILE")]
    ca_crt_file: Option<PathBuf>,
    /// SSH public key algorithm: rsa, ecdsa or ed25519.
    #[arg(long = "ssh-key-algorithm", default_value = "ecdsa", value_parser = key_algorithm)]
    ssh_key_algorithm: String,
    /// SSH RSA public key bit size (multiples of 8, min 1024).
    #[arg(long = "ssh-rsa-bits", default_value = "2048", value_parser = rsa_bits)]
    ssh_rsa_bits: usize,
    /// SSH ECDSA public key curve: p256, p384 or p521.
    #[arg(long = "ssh-ecdsa-curve", default_value = "p384", value_parser = ecdsa_curve)]
    ssh_ecdsa_curve: EcdsaCurve,
    /// Passwordless private key file to use instead of generating one.
    #[arg(long = "private-key-file", value_name = "FILE")]
    private_key_file: Option<PathBuf>,
    /// known_hosts file with the server's host keys (required for SSH; the
    /// lines for the URL's host are kept).
    #[arg(long = "known-hosts", value_name = "FILE")]
    known_hosts: Option<PathBuf>,
}

fn key_algorithm(v: &str) -> Result<String, String> {
    const ALL: &str = "rsa, ecdsa, ed25519";
    match v {
        "rsa" | "ecdsa" | "ed25519" => Ok(v.to_owned()),
        _ if v.trim().is_empty() => Err(format!(
            "no public key algorithm given, must be one of: {ALL}"
        )),
        _ => Err(format!(
            "unsupported public key algorithm '{v}', must be one of: {ALL}"
        )),
    }
}

fn rsa_bits(v: &str) -> Result<usize, String> {
    if v.trim().is_empty() {
        return Ok(2048);
    }
    let bits: i64 = v
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {v:?}: invalid syntax"))?;
    if bits < 1024 {
        return Err("RSA key bit size must be at least 1024".into());
    }
    if bits % 8 != 0 {
        return Err("RSA key bit size must be a multiples of 8".into());
    }
    usize::try_from(bits).map_err(|e| e.to_string())
}

fn ecdsa_curve(v: &str) -> Result<EcdsaCurve, String> {
    match v {
        "p256" => Ok(EcdsaCurve::P256),
        "p384" => Ok(EcdsaCurve::P384),
        "p521" => Ok(EcdsaCurve::P521),
        _ => Err(format!(
            "unsupported curve '{v}', must be one of: p256, p384, p521"
        )),
    }
}

/// Subcommands of `gitops create source`.
#[derive(Debug, clap::Subcommand)]
pub enum SourceCmd {
    /// Create a GitRepository source.
    #[command(after_help = NO_CLUSTER)]
    Git(GitArgs),
    /// Create a HelmRepository source.
    #[command(after_help = NO_CLUSTER)]
    Helm(HelmArgs),
    /// Create an OCIRepository source.
    #[command(after_help = NO_CLUSTER)]
    Oci(OciArgs),
}

/// Subcommands of `gitops create image`.
#[derive(Debug, clap::Subcommand)]
pub enum ImageCmd {
    /// Create an ImageRepository.
    #[command(after_help = NO_CLUSTER)]
    Repository(ImageRepositoryArgs),
    /// Create an ImagePolicy.
    #[command(after_help = NO_CLUSTER)]
    Policy(ImagePolicyArgs),
    /// Create an ImageUpdateAutomation.
    #[command(after_help = NO_CLUSTER)]
    Update(ImageUpdateArgs),
}

fn duration(v: &str) -> Result<GoDuration, String> {
    v.parse::<GoDuration>().map_err(|e| e.to_string())
}

/// Flags every `create` command has.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The object name.
    pub name: Option<String>,
    /// Print the object as `flux create … --export` does (always the case
    /// here: there is no cluster to apply it to).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    pub export: bool,
    /// Labels on the object (`key=value`, comma-separated or repeated).
    #[arg(long = "label", value_delimiter = ',')]
    pub label: Vec<String>,
    /// The object's namespace.
    #[arg(long, short = 'n', default_value = "flux-system")]
    pub namespace: String,
    /// Write the YAML to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// `--interval` with Flux's default.
#[derive(Debug, clap::Args)]
pub struct Interval {
    /// Reconciliation interval (Go duration).
    #[arg(long, default_value = "1m0s", value_parser = duration)]
    pub interval: GoDuration,
}

/// `--fetch-timeout` of the source commands.
#[derive(Debug, clap::Args)]
pub struct FetchTimeout {
    /// Timeout of fetch operations done by source-controller.
    #[arg(long, value_parser = duration)]
    pub fetch_timeout: Option<GoDuration>,
}

/// Flags of `gitops create source git`.
#[derive(Debug, clap::Args)]
pub struct GitArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    #[command(flatten)]
    timeout: FetchTimeout,
    /// Git address: ssh://, http:// or https://.
    #[arg(long, default_value = "")]
    url: String,
    /// Git branch.
    #[arg(long)]
    branch: Option<String>,
    /// Git tag.
    #[arg(long)]
    tag: Option<String>,
    /// Git tag semver range.
    #[arg(long = "tag-semver")]
    tag_semver: Option<String>,
    /// Git reference name.
    #[arg(long = "ref-name")]
    ref_name: Option<String>,
    /// Git commit.
    #[arg(long)]
    commit: Option<String>,
    /// Existing secret with SSH or basic credentials.
    #[arg(long = "secret-ref")]
    secret_ref: Option<String>,
    /// Existing secret with the proxy address and credentials.
    #[arg(long = "proxy-secret-ref")]
    proxy_secret_ref: Option<String>,
    /// Git provider: generic, github, aws or azure.
    #[arg(long)]
    provider: Option<String>,
    /// TLS CA file (refused for SSH URLs; its content is not used here).
    #[arg(long = "ca-file")]
    ca_file: Option<String>,
    /// Include Git submodules.
    #[arg(long = "recurse-submodules", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    recurse_submodules: bool,
    /// Paths to ignore (comma-separated or repeated).
    #[arg(long = "ignore-paths", value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// Paths to sparse checkout (comma-separated or repeated).
    #[arg(long = "sparse-checkout-paths", value_delimiter = ',')]
    sparse_checkout_paths: Vec<String>,
    #[command(flatten)]
    apply_only: GitApplyOnly,
}

/// Flags `flux create source git` only uses to create a Secret in the
/// cluster; accepted and ignored, as with `flux … --export`.
#[derive(Debug, clap::Args)]
pub struct GitApplyOnly {
    /// Basic auth username (cluster Secret only; ignored here).
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// Basic auth password (cluster Secret only; ignored here).
    #[arg(long, short = 'p')]
    password: Option<String>,
    /// SSH private key file (cluster Secret only; ignored here).
    #[arg(long = "private-key-file")]
    private_key_file: Option<String>,
    /// SSH key algorithm (cluster Secret only; ignored here).
    #[arg(long = "ssh-key-algorithm")]
    ssh_key_algorithm: Option<String>,
    /// SSH RSA key bits (cluster Secret only; ignored here).
    #[arg(long = "ssh-rsa-bits")]
    ssh_rsa_bits: Option<String>,
    /// SSH ECDSA curve (cluster Secret only; ignored here).
    #[arg(long = "ssh-ecdsa-curve")]
    ssh_ecdsa_curve: Option<String>,
    /// Skip the deploy key prompt (ignored here).
    #[arg(long, short = 's', num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    silent: bool,
}

/// Flags `flux create source helm` only uses to create a Secret in the
/// cluster; accepted and ignored, as with `flux … --export`.
#[derive(Debug, clap::Args)]
pub struct HelmApplyOnly {
    /// Basic auth username (cluster Secret only; ignored here).
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// Basic auth password (cluster Secret only; ignored here).
    #[arg(long, short = 'p')]
    password: Option<String>,
    /// TLS cert file (cluster Secret only; ignored here).
    #[arg(long = "cert-file")]
    cert_file: Option<String>,
    /// TLS key file (cluster Secret only; ignored here).
    #[arg(long = "key-file")]
    key_file: Option<String>,
    /// TLS CA file (cluster Secret only; ignored here).
    #[arg(long = "ca-file")]
    ca_file: Option<String>,
}

/// Flags of `gitops create source helm`.
#[derive(Debug, clap::Args)]
pub struct HelmArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    #[command(flatten)]
    timeout: FetchTimeout,
    /// Helm repository address (http, https or oci).
    #[arg(long, default_value = "")]
    url: String,
    /// Existing secret with TLS, basic auth or docker-config credentials.
    #[arg(long = "secret-ref")]
    secret_ref: Option<String>,
    /// OCI provider for authentication.
    #[arg(long = "oci-provider")]
    oci_provider: Option<String>,
    #[command(flatten)]
    apply_only: HelmApplyOnly,
    /// Pass credentials to all domains.
    #[arg(long = "pass-credentials", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    pass_credentials: bool,
}

/// Flags of `gitops create source oci`.
#[derive(Debug, clap::Args)]
pub struct OciArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    #[command(flatten)]
    timeout: FetchTimeout,
    /// The OCI repository URL.
    #[arg(long, default_value = "")]
    url: String,
    /// The OCI artifact tag.
    #[arg(long)]
    tag: Option<String>,
    /// The OCI artifact tag semver range.
    #[arg(long = "tag-semver")]
    tag_semver: Option<String>,
    /// The OCI artifact digest.
    #[arg(long)]
    digest: Option<String>,
    /// Image pull secret name.
    #[arg(long = "secret-ref")]
    secret_ref: Option<String>,
    /// Existing secret with the proxy address and credentials.
    #[arg(long = "proxy-secret-ref")]
    proxy_secret_ref: Option<String>,
    /// Service account referring to an image pull secret.
    #[arg(long = "service-account")]
    service_account: Option<String>,
    /// Secret with TLS certificates.
    #[arg(long = "cert-ref")]
    cert_ref: Option<String>,
    /// Signature verification provider: cosign.
    #[arg(long = "verify-provider")]
    verify_provider: Option<String>,
    /// Secret used for signature verification.
    #[arg(long = "verify-secret-ref")]
    verify_secret_ref: Option<String>,
    /// OIDC subject regex for verification.
    #[arg(long = "verify-subject")]
    verify_subject: Option<String>,
    /// OIDC issuer regex for verification.
    #[arg(long = "verify-issuer")]
    verify_issuer: Option<String>,
    /// Paths to ignore (comma-separated or repeated).
    #[arg(long = "ignore-paths", value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// OCI provider: generic (default), aws, azure or gcp.
    #[arg(long)]
    provider: Option<String>,
    /// Plain-HTTP registry.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    insecure: bool,
    /// Layer selector `<media-type>:<extract|copy>`.
    #[arg(long = "layer-selector")]
    layer_selector: Option<String>,
}

/// Flags of `gitops create kustomization`.
#[derive(Debug, clap::Args)]
pub struct KustomizationArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    /// Source `[<kind>/]<name>[.<namespace>]` (kind defaults to GitRepository).
    #[arg(long)]
    source: Option<String>,
    /// Path to the directory with the manifests (default `./`).
    #[arg(long)]
    path: Option<String>,
    /// Enable garbage collection.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    prune: bool,
    /// Health-check all applied resources.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    wait: bool,
    /// Workloads to health-check, `<kind>/<name>.<namespace>`.
    #[arg(long = "health-check", value_delimiter = ',')]
    health_check: Vec<String>,
    /// Timeout of health checks.
    #[arg(long = "health-check-timeout", value_parser = duration)]
    health_check_timeout: Option<GoDuration>,
    /// Kustomizations this one depends on, `<name>` or `<namespace>/<name>`.
    #[arg(long = "depends-on", value_delimiter = ',')]
    depends_on: Vec<String>,
    /// Service account to impersonate.
    #[arg(long = "service-account")]
    service_account: Option<String>,
    /// Decryption provider: sops.
    #[arg(long = "decryption-provider")]
    decryption_provider: Option<String>,
    /// Secret with the decryption keys.
    #[arg(long = "decryption-secret")]
    decryption_secret: Option<String>,
    /// Namespace overriding the objects' namespaces.
    #[arg(long = "target-namespace")]
    target_namespace: Option<String>,
    /// Secret holding a kubeconfig for a remote cluster.
    #[arg(long = "kubeconfig-secret-ref")]
    kubeconfig_secret_ref: Option<String>,
    /// Retry interval after a failed reconciliation.
    #[arg(long = "retry-interval", value_parser = duration)]
    retry_interval: Option<GoDuration>,
}

/// Flags of `gitops create helmrelease`.
#[derive(Debug, clap::Args)]
pub struct HelmReleaseArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    /// Helm release name.
    #[arg(long = "release-name")]
    release_name: Option<String>,
    /// Chart source `<kind>/<name>[.<namespace>]`.
    #[arg(long)]
    source: Option<String>,
    /// Chart name or path.
    #[arg(long)]
    chart: Option<String>,
    /// Chart version (semver range).
    #[arg(long = "chart-version")]
    chart_version: Option<String>,
    /// Chart reference `<kind>/<name>[.<namespace>]` (OCIRepository or HelmChart).
    #[arg(long = "chart-ref")]
    chart_ref: Option<String>,
    /// HelmReleases this one depends on.
    #[arg(long = "depends-on", value_delimiter = ',')]
    depends_on: Vec<String>,
    /// Namespace to install into.
    #[arg(long = "target-namespace")]
    target_namespace: Option<String>,
    /// Namespace storing the release (defaults to the target namespace).
    #[arg(long = "storage-namespace")]
    storage_namespace: Option<String>,
    /// Create the target namespace.
    #[arg(long = "create-target-namespace", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false, require_equals = true)]
    create_target_namespace: bool,
    /// Service account to impersonate.
    #[arg(long = "service-account")]
    service_account: Option<String>,
    /// Chart reconcile strategy: ChartVersion (default) or Revision.
    #[arg(long = "reconcile-strategy")]
    reconcile_strategy: Option<String>,
    /// Interval of chart version checks.
    #[arg(long = "chart-interval", value_parser = duration)]
    chart_interval: Option<GoDuration>,
    /// Local values files, merged in order (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    values: Vec<PathBuf>,
    /// Values references `<kind>/<name>` (Secret or ConfigMap).
    #[arg(long = "values-from", value_delimiter = ',')]
    values_from: Vec<String>,
    /// CRDs upgrade policy: Skip, Create or CreateReplace.
    #[arg(long)]
    crds: Option<String>,
    /// Secret holding a kubeconfig for a remote cluster.
    #[arg(long = "kubeconfig-secret-ref")]
    kubeconfig_secret_ref: Option<String>,
}

/// Flags of `gitops create image repository`.
#[derive(Debug, clap::Args)]
pub struct ImageRepositoryArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    /// Image repository to scan, e.g. `library/alpine`.
    #[arg(long, default_value = "")]
    image: String,
    /// docker-registry secret for credentials.
    #[arg(long = "secret-ref")]
    secret_ref: Option<String>,
    /// Secret with TLS certificates.
    #[arg(long = "cert-ref")]
    cert_ref: Option<String>,
    /// Scan timeout (defaults to the interval when unset).
    #[arg(long = "scan-timeout", value_parser = duration)]
    scan_timeout: Option<GoDuration>,
}

/// Flags of `gitops create image policy`.
#[derive(Debug, clap::Args)]
pub struct ImagePolicyArgs {
    #[command(flatten)]
    common: Common,
    /// Name of the ImageRepository.
    #[arg(long = "image-ref", default_value = "")]
    image_ref: String,
    /// Semver range to select tags, e.g. `1.x`.
    #[arg(long = "select-semver", allow_hyphen_values = true)]
    select_semver: Option<String>,
    /// Alphabetical selection: asc or desc.
    #[arg(long = "select-alpha")]
    select_alpha: Option<String>,
    /// Numerical selection: asc or desc.
    #[arg(long = "select-numeric")]
    select_numeric: Option<String>,
    /// Regular expression filtering the tags.
    #[arg(long = "filter-regex", allow_hyphen_values = true)]
    filter_regex: Option<String>,
    /// Replacement pattern (capture groups of --filter-regex) used for sorting.
    #[arg(long = "filter-extract", allow_hyphen_values = true)]
    filter_extract: Option<String>,
    /// Digest reflection policy: Never, IfNotPresent or Always.
    #[arg(long = "reflect-digest")]
    reflect_digest: Option<String>,
    /// Digest check interval (only with --reflect-digest=Always; no default).
    #[arg(long, value_parser = duration)]
    interval: Option<GoDuration>,
}

/// Flags of `gitops create image update`.
#[derive(Debug, clap::Args)]
pub struct ImageUpdateArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    interval: Interval,
    /// Name of the GitRepository.
    #[arg(long = "git-repo-ref", default_value = "")]
    git_repo_ref: String,
    /// Namespace of the GitRepository.
    #[arg(long = "git-repo-namespace")]
    git_repo_namespace: Option<String>,
    /// Directory with the manifests to update.
    #[arg(long = "git-repo-path")]
    git_repo_path: Option<String>,
    /// Branch to check out.
    #[arg(long = "checkout-branch", default_value = "")]
    checkout_branch: String,
    /// Branch to push to.
    #[arg(long = "push-branch")]
    push_branch: Option<String>,
    /// Commit message template.
    #[arg(long = "commit-template", allow_hyphen_values = true)]
    commit_template: Option<String>,
    /// Commit author name.
    #[arg(long = "author-name", default_value = "")]
    author_name: String,
    /// Commit author email.
    #[arg(long = "author-email", default_value = "")]
    author_email: String,
    /// Secret holding the commit signing key.
    #[arg(long = "signing-key-secret")]
    signing_key_secret: Option<String>,
    /// Signing key type: gpg or ssh.
    #[arg(long = "signing-key-type")]
    signing_key_type: Option<String>,
}

fn meta(common: &Common, interval: GoDuration) -> Meta {
    Meta {
        name: common.name.clone().unwrap_or_default(),
        namespace: common.namespace.clone(),
        labels: create::split_list(&common.label),
        interval,
    }
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("unable to read {what} {}", path.display()))
}

/// `gitops create secret git`.
fn secret_git(a: SecretGitArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let meta = Meta {
        name: a.name.clone().unwrap_or_default(),
        namespace: a.namespace.clone(),
        labels: create::split_list(&a.label),
        interval: GoDuration(0),
    };
    let mut flags = GitSecret {
        url: a.url.clone(),
        username: a.username.clone(),
        password: a.password.clone(),
        bearer_token: a.bearer_token.clone(),
        ca_crt: None,
        known_hosts: None,
    };
    let scheme = a.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if let Some(f) = a
        .known_hosts
        .as_deref()
        .filter(|_| scheme.as_deref() == Some("ssh"))
    {
        flags.known_hosts = Some(read_text(f, "known_hosts file")?);
    }
    let kind = secret::git_secret_kind(&meta, &flags)?;
    let key = match kind {
        GitSecretKind::Ssh => {
            let pair = match &a.private_key_file {
                Some(f) => {
                    let text = std::fs::read_to_string(f).with_context(|| {
                        format!("failed to open private key file {}", f.display())
                    })?;
                    KeyPair::from_private_key(&text)
                        .with_context(|| format!("invalid private key file {}", f.display()))?
                }
                None => {
                    let algorithm = match a.ssh_key_algorithm.as_str() {
                        "rsa" => KeyAlgorithm::Rsa {
                            bits: a.ssh_rsa_bits,
                        },
                        "ed25519" => KeyAlgorithm::Ed25519,
                        _ => KeyAlgorithm::Ecdsa(a.ssh_ecdsa_curve),
                    };
                    KeyPair::generate(algorithm).context("key pair generation failed")?
                }
            };
            Some(SshKeyPair {
                private_key: pair.private_key().to_owned(),
                public_key: pair.public_key().to_owned(),
            })
        }
        GitSecretKind::Http => {
            if let Some(f) = &a.ca_crt_file {
                flags.ca_crt = Some(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("unable to read TLS CA file {}", f.display()))?,
                );
            }
            None
        }
    };
    let obj = secret::git_secret(&meta, &flags, key.as_ref())?;
    let yaml = secret::export(&obj);
    match &a.output_file {
        Some(path) => {
            write_atomic(path, yaml.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            if !a.export {
                eprintln!("note: no cluster to apply to; printing the Secret");
            }
            out.write_all(yaml.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `gitops create …`.
pub fn run(cmd: CreateCmd, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (common, obj) = match cmd {
        CreateCmd::Secret(SecretCmd::Git(a)) => return secret_git(a, out),
        CreateCmd::Source(SourceCmd::Git(a)) => {
            let o = GitSource {
                url: a.url,
                branch: a.branch,
                tag: a.tag,
                semver: a.tag_semver,
                ref_name: a.ref_name,
                commit: a.commit,
                secret_ref: a.secret_ref,
                proxy_secret_ref: a.proxy_secret_ref,
                provider: a.provider,
                ca_file: a.ca_file,
                recurse_submodules: a.recurse_submodules,
                ignore_paths: a.ignore_paths,
                sparse_checkout_paths: a.sparse_checkout_paths,
                fetch_timeout: a.timeout.fetch_timeout,
            };
            let obj = create::git_repository(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Source(SourceCmd::Helm(a)) => {
            let o = HelmSource {
                url: a.url,
                secret_ref: a.secret_ref,
                pass_credentials: a.pass_credentials,
                oci_provider: a.oci_provider,
                fetch_timeout: a.timeout.fetch_timeout,
            };
            let obj = create::helm_repository(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Source(SourceCmd::Oci(a)) => {
            let o = OciSource {
                url: a.url,
                tag: a.tag,
                semver: a.tag_semver,
                digest: a.digest,
                secret_ref: a.secret_ref,
                proxy_secret_ref: a.proxy_secret_ref,
                service_account: a.service_account,
                cert_ref: a.cert_ref,
                verify_provider: a.verify_provider,
                verify_secret_ref: a.verify_secret_ref,
                verify_subject: a.verify_subject,
                verify_issuer: a.verify_issuer,
                ignore_paths: a.ignore_paths,
                provider: a.provider,
                insecure: a.insecure,
                layer_selector: a.layer_selector,
                fetch_timeout: a.timeout.fetch_timeout,
            };
            let obj = create::oci_repository(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Kustomization(a) => {
            let o = KustomizationFlags {
                source: a.source,
                path: a.path,
                prune: a.prune,
                wait: a.wait,
                health_check: a.health_check,
                health_check_timeout: a.health_check_timeout,
                depends_on: a.depends_on,
                service_account: a.service_account,
                decryption_provider: a.decryption_provider,
                decryption_secret: a.decryption_secret,
                target_namespace: a.target_namespace,
                kubeconfig_secret_ref: a.kubeconfig_secret_ref,
                retry_interval: a.retry_interval,
            };
            let obj = create::kustomization(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Helmrelease(a) => {
            let mut values = Vec::new();
            for p in &a.values {
                let text = std::fs::read_to_string(p).map_err(|e| create::Error::Values {
                    action: "reading",
                    prep: "from",
                    file: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                values.push(ValuesFile {
                    name: p.display().to_string(),
                    text,
                });
            }
            let o = HelmReleaseFlags {
                release_name: a.release_name,
                source: a.source,
                chart: a.chart,
                chart_version: a.chart_version,
                chart_ref: a.chart_ref,
                depends_on: a.depends_on,
                target_namespace: a.target_namespace,
                storage_namespace: a.storage_namespace,
                create_target_namespace: a.create_target_namespace,
                service_account: a.service_account,
                reconcile_strategy: a.reconcile_strategy,
                chart_interval: a.chart_interval,
                values,
                values_from: a.values_from,
                crds: a.crds,
                kubeconfig_secret_ref: a.kubeconfig_secret_ref,
            };
            let obj = create::helm_release(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Image(ImageCmd::Repository(a)) => {
            let o = ImageRepositoryFlags {
                image: a.image,
                secret_ref: a.secret_ref,
                cert_ref: a.cert_ref,
                scan_timeout: a.scan_timeout,
            };
            let obj = create::image_repository(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
        CreateCmd::Image(ImageCmd::Policy(a)) => {
            let o = ImagePolicyFlags {
                image_ref: a.image_ref,
                select_semver: a.select_semver,
                select_alpha: a.select_alpha,
                select_numeric: a.select_numeric,
                filter_regex: a.filter_regex,
                filter_extract: a.filter_extract,
                reflect_digest: a.reflect_digest,
                interval: a.interval,
            };
            let obj = create::image_policy(&meta(&a.common, GoDuration(0)), &o)?;
            (a.common, obj)
        }
        CreateCmd::Image(ImageCmd::Update(a)) => {
            let o = ImageUpdateFlags {
                git_repo_ref: a.git_repo_ref,
                git_repo_namespace: a.git_repo_namespace,
                git_repo_path: a.git_repo_path,
                checkout_branch: a.checkout_branch,
                push_branch: a.push_branch,
                commit_template: a.commit_template,
                author_name: a.author_name,
                author_email: a.author_email,
                signing_key_secret: a.signing_key_secret,
                signing_key_type: a.signing_key_type,
            };
            let obj = create::image_update(&meta(&a.common, a.interval.interval), &o)?;
            (a.common, obj)
        }
    };
    let yaml = create::export(&obj);
    match &common.output_file {
        Some(path) => {
            write_atomic(path, yaml.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            if !common.export {
                eprintln!("note: no cluster to apply to; printing the manifest");
            }
            out.write_all(yaml.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Write `bytes` to `path` through a temporary file in the same directory
/// (created with mode 0600, which the file keeps).
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    atomic::write_file(path, bytes).map_err(|e| {
        let context = match e.step {
            atomic::FileStep::Create => {
                format!("creating a temporary file in {}", e.dir.display())
            }
            _ => format!("writing {}", path.display()),
        };
        anyhow::Error::new(e.source).context(context)
    })
}
