//! `gitops`: the command-line front end of gitops-rs.
//!
//! This binary is only glue: it parses flags with clap, builds the real I/O
//! implementations, calls the library crates and prints. Each command lives in
//! its own module under `cmd/` and writes its result to an `impl Write`, so it
//! can be tested without a terminal.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod output;

/// gitops-rs: GitOps building blocks on the command line.
#[derive(Debug, Parser)]
#[command(name = "gitops", version, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version of gitops and of the reference semantics it follows.
    Version(cmd::version::Args),
    // (commands: add one variant per noun here)
    /// Generate Flux objects like `flux create … --export` (no cluster: printed, never applied).
    #[command(subcommand)]
    Create(Box<cmd::create::CreateCmd>),
    /// Write the flux-system sync manifests into a Git repository and commit them.
    Bootstrap(Box<cmd::bootstrap::Args>),
    /// Run Flux image update automation once: scan registries, update the
    /// repository's setters and Flux v1 workloads, commit and push.
    Automate(cmd::automate::Args),
    /// Run the whole image update loop on an embedded GitOps repository,
    /// locally and offline, then render the cluster.
    Demo(cmd::demo::Args),
    /// Scan image registries and select tags.
    #[command(subcommand)]
    Image(cmd::image::ImageCmd),
    /// Fetch sources into verified artifacts.
    #[command(subcommand)]
    Source(cmd::source::SourceCmd),
    /// Compose Helm values like helm-controller.
    #[command(subcommand)]
    Values(cmd::values::ValuesCmd),
    /// Render local Helm charts like `helm template`.
    #[command(subcommand)]
    Helm(cmd::helm::HelmCmd),
    /// Build a kustomization like `kubectl kustomize`.
    Build(cmd::build::Args),
    /// The whole cluster of a Flux repository offline: list, build, diff
    /// and test every Kustomization and HelmRelease.
    #[command(subcommand)]
    Cluster(cmd::cluster::ClusterCmd),
    /// Find and rewrite Flux image setter markers.
    #[command(subcommand)]
    Setters(cmd::setters::SettersCmd),
    /// Select image tags by Flux ImagePolicy rules.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCmd),
    /// Flux v1 (fluxctl) operations as Git edits: workloads, images,
    /// automate/lock/policy, release, sync garbage collection.
    #[command(subcommand)]
    V1(cmd::v1::V1Cmd),
}

fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Version(args) => cmd::version::run(&args, out),
        // (dispatch: add one arm per noun here)
        Command::Create(c) => cmd::create::run(*c, out),
        Command::Bootstrap(args) => cmd::bootstrap::run(&args, out),
        Command::Automate(args) => cmd::automate::run(&args, out),
        Command::Demo(args) => cmd::demo::run(&args, out),
        Command::Image(c) => cmd::image::run(c, out),
        Command::Source(c) => cmd::source::run(c, out),
        Command::Values(c) => cmd::values::run(c, out),
        Command::Helm(c) => cmd::helm::run(c, out),
        Command::Build(args) => cmd::build::run(&args, out),
        Command::Cluster(c) => cmd::cluster::run(c, out),
        Command::Setters(c) => cmd::setters::run(c, out),
        Command::Policy(c) => cmd::policy::run(c, out),
        Command::V1(c) => cmd::v1::run(c, out),
    }
}

// mimalloc: a large build allocates millions of small nodes; measured in
// docs/performance.md (less time and peak memory than glibc's malloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `gitops helm template …` parsed with that subcommand's flags alone:
/// building every subcommand's flags is a third of the start of a short
/// render. Help requests and whatever the subcommand's parser refuses go
/// through the whole command line parser, which answers them as usual.
fn parse_helm_template(args: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::{Args as _, FromArgMatches as _};
    if args.len() < 3 || args[1] != "helm" || args[2] != "template" {
        return None;
    }
    if args[3..].iter().any(|a| a == "-h" || a == "--help") {
        return None;
    }
    let parser = cmd::helm::TemplateArgs::augment_args(
        clap::Command::new("template")
            .no_binary_name(true)
            .disable_version_flag(true),
    );
    let matches = parser.try_get_matches_from(&args[3..]).ok()?;
    let args = cmd::helm::TemplateArgs::from_arg_matches(&matches).ok()?;
    Some(Cli {
        command: Command::Helm(cmd::helm::HelmCmd::Template(args)),
    })
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = parse_helm_template(&args).unwrap_or_else(|| Cli::parse_from(&args));
    let stdout = std::io::stdout();
    // Results are written in one go; a long-running automation loop writes
    // line by line, so that its progress shows as it happens. The buffer
    // stays below glibc's 64 KiB trim threshold: freeing it at exit must
    // not consolidate the whole heap.
    let mut out: Box<dyn Write> = if matches!(cli.command, Command::Automate(_)) {
        Box::new(stdout.lock())
    } else {
        Box::new(std::io::BufWriter::with_capacity(32 << 10, stdout.lock()))
    };
    let result = run(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", output::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks over every subcommand and flag (they
    /// run only in debug builds, on first use of a command).
    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }

    /// `helm template` parsed alone gives what the whole parser gives, and
    /// leaves help and errors to it.
    #[test]
    fn helm_template_parses_alone_as_in_the_whole_parser() {
        use clap::Parser as _;
        let argv = |s: &str| -> Vec<std::ffi::OsString> {
            std::iter::once("gitops")
                .chain(s.split(' '))
                .map(Into::into)
                .collect()
        };
        for line in [
            "helm template podinfo charts/podinfo --namespace ns --kube-version 1.31.0",
            "helm template chart",
            "helm template r chart -f a.yaml,b.yaml --values c.yaml --set a=1 --set-string b=2 --include-crds --api-versions x/v1 --api-versions y/v1 -n other --show-only templates/a.yaml --skip-tests --no-hooks --is-upgrade --skip-schema-validation",
            "helm template r chart --set-json {\"a\":1} --set-literal a=b --set-file c=d.txt --generate-name",
        ] {
            let args = argv(line);
            let alone = super::parse_helm_template(&args).expect(line);
            let whole = super::Cli::try_parse_from(&args).expect(line);
            assert_eq!(format!("{alone:?}"), format!("{whole:?}"), "{line}");
        }
        for line in [
            "helm template --help",
            "helm template r chart -h",
            "helm template r chart --no-such-flag",
            "helm template",
            "helm",
            "build .",
        ] {
            assert!(super::parse_helm_template(&argv(line)).is_none(), "{line}");
        }
    }
}
