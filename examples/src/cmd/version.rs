//! `gitops version`.

use std::io::Write;
use std::process::ExitCode;

use crate::output::OutputFormat;

/// Flags of `gitops version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// The reference tools whose semantics gitops-rs follows.
const REFERENCES: &[(&str, &str)] = &[
    ("kustomize", "v5.7.1"),
    ("helm", "v4.1"),
    ("flux", "v2 (source, kustomize, helm, image controllers)"),
    ("masterminds-semver", "v3"),
];

/// Print the version.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    match args.output {
        OutputFormat::Text => {
            writeln!(out, "gitops {version}")?;
            for (tool, v) in REFERENCES {
                writeln!(out, "  follows {tool} {v}")?;
            }
        }
        OutputFormat::Json => {
            let refs: serde_json::Map<String, serde_json::Value> = REFERENCES
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect();
            let doc = serde_json::json!({ "version": version, "references": refs });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
