//! One-line logs on stderr (`level=… msg=…`), enough for an example.

/// Log at info level.
pub fn info(msg: &str) {
    eprintln!("level=info msg={msg:?}");
}

/// Log at warning level.
pub fn warn(msg: &str) {
    eprintln!("level=warn msg={msg:?}");
}

/// Log at error level.
pub fn error(msg: &str) {
    eprintln!("level=error msg={msg:?}");
}
