//! The command line, with Flux's controller flag names where they exist.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

/// `gitops-controller`: Flux's image reconcilers (and, behind a flag,
/// Kustomizations) on kube-runtime.
#[derive(Debug, Parser)]
#[command(
    name = "gitops-controller",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The flags of `run`, when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controllers (the default).
    Run(RunArgs),
    /// Print the RBAC, Deployment and CRD manifests as YAML.
    Manifests(ManifestArgs),
    /// List the differences between our CRDs and Flux's.
    CrdsDiff(CrdsDiffArgs),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: gitops_core::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
    u64::try_from(d.0)
        .map(Duration::from_nanos)
        .map_err(|_| "negative duration".to_owned())
}

/// `run`'s flags.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Watch every namespace; `false` watches `--watch-namespace` only.
    #[arg(long, action = ArgAction::Set, default_value_t = true, num_args = 0..=1, default_missing_value = "true")]
    pub watch_all_namespaces: bool,
    /// The namespace watched when `--watch-all-namespaces=false`.
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub watch_namespace: String,
    /// Label selector of every watch, e.g. `sharding.fluxcd.io/key=shard1`,
    /// or `!sharding.fluxcd.io/key` for the instance of unsharded objects.
    #[arg(long, default_value = "")]
    pub watch_label_selector: String,
    /// Run the controllers only while holding the Lease.
    #[arg(long, action = ArgAction::Set, default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub enable_leader_election: bool,
    /// The Lease's name (give each shard its own).
    #[arg(long, default_value = "gitops-controller-leader-election")]
    pub leader_election_lease_name: String,
    /// The Lease's namespace.
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub leader_election_lease_namespace: String,
    /// How long a Lease is valid without renewal.
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How long the leader retries renewing before giving up.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,
    /// Wait between Lease tries.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` listen (`:8080`: every interface).
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Reconciles at once, per kind.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,
    /// Wait before re-checking a policy whose repository has no tags yet.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub requeue_dependency: Duration,
    /// Also reconcile Kustomizations: download source artifacts, build,
    /// server-side apply and prune (needs the cluster-admin-like RBAC of
    /// `manifests --enable-kustomizations`).
    #[arg(long, action = ArgAction::Set, default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub enable_kustomizations: bool,
}

/// `manifests`' flags.
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// The controller's namespace.
    #[arg(long, default_value = "flux-system")]
    pub namespace: String,
    /// The container image.
    #[arg(long, default_value = "ghcr.io/example/gitops-controller:latest")]
    pub image: String,
    /// Shard keys (comma-separated): one Deployment each, plus the main one
    /// for objects without the label.
    #[arg(long, value_delimiter = ',')]
    pub shards: Vec<String>,
    /// Print the Namespace too.
    #[arg(long)]
    pub with_namespace: bool,
    /// Leave the CRDs out (a cluster where Flux installed its own).
    #[arg(long)]
    pub no_crds: bool,
    /// Run the Kustomization controller too: the Deployments get
    /// `--enable-kustomizations` and a writable `/tmp`, the ClusterRole
    /// `*` on `*` (cluster-admin-like, as Flux's kustomize-controller).
    #[arg(long)]
    pub enable_kustomizations: bool,
}

/// `crds-diff`'s flags.
#[derive(Debug, Clone, Args)]
pub struct CrdsDiffArgs {
    /// The conformance data (default `GITOPS_CONFORMANCE_DIR`, else `../shared/conformance`).
    #[arg(long)]
    pub conformance_dir: Option<std::path::PathBuf>,
}
