//! `gitops v1 identity`: print the SSH public key (the deploy key to add to
//! the Git host) of a Git Secret, as `fluxctl identity` printed Flux v1's.
//!
//! ```text
//! gitops create secret git flux-system --url ssh://git@github.com/org/fleet --known-hosts kh -o secret.yaml
//! gitops v1 identity secret.yaml
//! gitops v1 identity -l secret.yaml
//! ```

use std::io::{Read as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gitops_source::git::ssh;

/// Flags of `gitops v1 identity`.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// The Secret manifest (`gitops create secret git`, `flux create secret
    /// git --export`); `-` reads standard input. Its `identity.pub` is
    /// printed, or the public key of its `identity` when there is none.
    #[arg(value_name = "SECRET_FILE")]
    pub secret: PathBuf,
    /// Print the key's SHA-256 fingerprint instead of the key.
    #[arg(long, short = 'l')]
    pub fingerprint: bool,
}

/// Run `gitops v1 identity`.
pub fn run(args: &IdentityArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (text, origin) = if args.secret.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the Secret from standard input")?;
        (text, "<stdin>".to_owned())
    } else {
        let text = std::fs::read_to_string(&args.secret)
            .with_context(|| format!("reading {}", args.secret.display()))?;
        (text, args.secret.display().to_string())
    };
    let public = ssh::public_key_from_secret(&text, &origin)?;
    if args.fingerprint {
        writeln!(out, "{}", ssh::fingerprint(&public)?)?;
    } else {
        writeln!(out, "{}", public.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
