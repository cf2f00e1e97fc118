//! Output helpers shared by the commands.

use clap::ValueEnum;

/// How a command prints a structured result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text (tables, one item per line).
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// True when the error chain ends in a broken pipe (e.g. `gitops … | head`),
/// which we treat as success, like ripgrep does.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
