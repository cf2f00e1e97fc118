//! The error type.

use crate::fmt::go_quote;

/// What went wrong parsing or executing a template.
///
/// Parse and execution messages are Go's, byte for byte where the behaviour
/// is the same (`template: NAME:LINE: …` and `template: NAME:LINE:COL:
/// executing "NAME" at <…>: …`), because Helm prints them to users.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a valid template.
    #[error("{0}")]
    Parse(String),
    /// Execution failed; `name` is the template being executed.
    #[error("{message}")]
    Exec {
        /// The template executing when the error happened.
        name: String,
        /// The full message, in Go's format.
        message: String,
    },
    /// No template of that name is in the set.
    #[error(
        "template: no template {} associated with template {}",
        go_quote(name),
        go_quote(set)
    )]
    NoTemplate {
        /// The name asked for.
        name: String,
        /// The name of the set.
        set: String,
    },
    /// A configured bound was reached.
    #[error("{message}")]
    Limit {
        /// Which bound.
        limit: Limit,
        /// What to tell the user.
        message: String,
    },
    /// An option string is not one Go knows.
    #[error("unrecognized option: {0}")]
    Option(String),
}

/// The bounds an execution can reach (template depth is reported as Go
/// reports it, as an [`Error::Exec`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Options::max_output`](crate::Options::max_output).
    Output,
    /// [`Options::max_steps`](crate::Options::max_steps).
    Steps,
    /// [`Options::deadline`](crate::Options::deadline).
    Time,
}
