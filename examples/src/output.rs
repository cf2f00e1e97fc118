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

/// The most characters of one cause the CLI prints: a last fence for
/// errors that quote hostile input (the libraries truncate what they
/// quote; this bounds whatever slips through).
pub const MAX_CAUSE_CHARS: usize = 1000;

/// `err` and its causes as `a: b: c` (anyhow's `{:#}`), each cause cut to
/// [`MAX_CAUSE_CHARS`] characters with an ellipsis and its byte length. A
/// cause whose text its parent already ends with (an error that prints its
/// source, as `"{object}: {source}"` does) is not repeated.
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut parent = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        if i > 0 && parent.ends_with(&text) {
            continue;
        }
        if i > 0 {
            out.push_str(": ");
        }
        parent.clone_from(&text);
        match text.char_indices().nth(MAX_CAUSE_CHARS) {
            None => out.push_str(&text),
            Some((cut, _)) => {
                out.push_str(&text[..cut]);
                out.push_str(&format!("… ({} bytes)", text.len()));
            }
        }
    }
    out
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn long_causes_are_cut() {
        let err = anyhow::anyhow!("x".repeat(5000)).context("building app");
        let text = error_chain(&err);
        assert!(text.starts_with("building app: xxx"));
        assert!(text.ends_with("… (5000 bytes)"));
        assert!(text.len() < MAX_CAUSE_CHARS + 40);
        let short = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&short), format!("{short:#}"));
        // A cause its parent already printed is not printed twice.
        #[derive(Debug, thiserror::Error)]
        #[error("post build failed for ConfigMap/c: {source}")]
        struct Outer {
            source: std::io::Error,
        }
        let inner = std::io::Error::other("variable not set (strict mode): \"X\"");
        let err = anyhow::Error::new(Outer { source: inner }).context("building");
        assert_eq!(
            error_chain(&err),
            "building: post build failed for ConfigMap/c: variable not set (strict mode): \"X\""
        );
    }
}
