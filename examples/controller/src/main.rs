//! `gitops-controller`: flags in, library calls out (see the library docs).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use gitops_controller::cli::{Cli, Command, RunArgs};
use gitops_controller::leader::{self, LeaseLock, Timing};
use gitops_controller::metrics::Metrics;
use gitops_controller::run::{Scope, Shutdown};
use gitops_controller::{Context, crds, log, manifests, registry::Registry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Manifests(a)) => {
            let o = manifests::Options {
                namespace: a.namespace,
                image: a.image,
                shards: a.shards,
                namespace_object: a.with_namespace,
                crds: !a.no_crds,
                kustomizations: a.enable_kustomizations,
            };
            match manifests::to_yaml(&manifests::objects(&o)) {
                Ok(y) => {
                    print!("{y}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("gitops-controller: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::CrdsDiff(a)) => {
            let dir = a
                .conformance_dir
                .unwrap_or_else(crds::default_conformance_dir);
            match crds::diff_conformance(&dir) {
                Ok(Some(lines)) => {
                    for l in lines {
                        println!("{l}");
                    }
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    eprintln!("gitops-controller: no Flux chart under {}", dir.display());
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("gitops-controller: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Run(a)) => run(a),
        None => run(cli.run),
    }
}

#[cfg(feature = "registry")]
fn registry() -> anyhow::Result<Arc<dyn Registry>> {
    use gitops_source::registry::{AsyncClient, Keychain, Options};
    Ok(Arc::new(AsyncClient::new(
        Keychain::from_default_docker_config()?,
        Options::default(),
    )?))
}

#[cfg(not(feature = "registry"))]
fn registry() -> anyhow::Result<Arc<dyn Registry>> {
    anyhow::bail!("built without the `registry` feature: no registry client")
}

fn run(a: RunArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error(&format!("tokio: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run_async(a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

async fn run_async(a: RunArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let identity = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "gitops-controller".to_owned());
    let metrics = Arc::new(Metrics::new());
    let addr = gitops_controller::metrics::listen_addr(&a.metrics_addr)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let server = tokio::spawn(gitops_controller::metrics::serve(listener, metrics.clone()));
    log::info(&format!("metrics on {addr}"));

    let (stop, shutdown) = Shutdown::new();
    let stop = Arc::new(stop);
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            signal().await;
            log::info("signal: shutting down");
            let _ = stop.send(true);
        });
    }

    let timing = Timing {
        lease_duration: a.leader_election_lease_duration,
        renew_deadline: a.leader_election_renew_deadline,
        retry_period: a.leader_election_retry_period,
    };
    let lock = a.enable_leader_election.then(|| {
        LeaseLock::new(
            client.clone(),
            &a.leader_election_lease_namespace,
            &a.leader_election_lease_name,
            &identity,
            timing.lease_duration,
        )
    });
    let mut lost = None;
    let lost_lease = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(lock) = &lock {
        log::info(&format!("waiting for lease {} as {identity}", lock.name()));
        if !leader::acquire(lock, timing, shutdown.wait()).await {
            server.abort();
            return Ok(());
        }
        log::info(&format!("leading on lease {}", lock.name()));
        metrics.leading(lock.name(), true);
        let (lock, stop, metrics) = (lock.clone(), stop.clone(), metrics.clone());
        let flag = lost_lease.clone();
        lost = Some(tokio::spawn(async move {
            leader::keep(&lock, timing).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            metrics.leading(lock.name(), false);
            log::error(&format!("lost lease {}: stopping", lock.name()));
            let _ = stop.send(true);
        }));
    }

    let ctx = Arc::new(
        Context::new(client, registry()?, metrics, Some(identity))
            .with_requeue_dependency(a.requeue_dependency),
    );
    let scope = Scope {
        namespace: (!a.watch_all_namespaces).then_some(a.watch_namespace),
        label_selector: Some(a.watch_label_selector).filter(|s| !s.is_empty()),
        concurrent: a.concurrent,
        kustomizations: a.enable_kustomizations,
    };
    gitops_controller::run::controllers(ctx, &scope, &shutdown).await;

    if let Some(l) = lost {
        l.abort();
    }
    if let Some(lock) = &lock {
        match lock.release(std::time::SystemTime::now()).await {
            Ok(()) => log::info(&format!("released lease {}", lock.name())),
            Err(e) => log::warn(&format!("lease {} not released: {e}", lock.name())),
        }
    }
    server.abort();
    if lost_lease.load(std::sync::atomic::Ordering::SeqCst) {
        // Exit non-zero: the pod restarts as a follower, as controller-runtime does.
        anyhow::bail!("lost the leader election lease");
    }
    Ok(())
}
