//! Quoting untrusted text in error messages.
//!
//! An error that quotes its input helps whoever reads it, but hostile input
//! can be arbitrarily long (a 50 MB mapping key, a registry's error body).
//! [`truncated`] keeps the first [`MAX_QUOTE_CHARS`] characters and says how
//! long the whole was, so an error line stays readable and bounded.
//!
//! ```
//! use gitops_core::quote::{truncated, MAX_QUOTE_CHARS};
//!
//! assert_eq!(truncated("short"), "short");
//! let long = "x".repeat(10_000);
//! let q = truncated(&long);
//! assert!(q.starts_with(&"x".repeat(MAX_QUOTE_CHARS)));
//! assert!(q.ends_with("… (10000 bytes)"));
//! ```

use std::borrow::Cow;

/// The most characters of untrusted text an error quotes.
pub const MAX_QUOTE_CHARS: usize = 200;

/// `text` whole when it has at most [`MAX_QUOTE_CHARS`] characters; else its
/// first [`MAX_QUOTE_CHARS`] characters, an ellipsis and the byte length.
pub fn truncated(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTE_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} bytes)", &text[..cut], text.len())),
    }
}

/// Like [`truncated`] for bytes that may not be UTF-8 (invalid sequences
/// are replaced, as `String::from_utf8_lossy` does).
pub fn truncated_bytes(bytes: &[u8]) -> String {
    // Enough bytes for MAX_QUOTE_CHARS characters of up to 4 bytes each.
    let head = &bytes[..bytes.len().min(MAX_QUOTE_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    match text.char_indices().nth(MAX_QUOTE_CHARS) {
        None if head.len() == bytes.len() => text.into_owned(),
        None => format!("{text}… ({} bytes)", bytes.len()),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let exact = "é".repeat(MAX_QUOTE_CHARS);
        assert_eq!(truncated(&exact), exact);
        let over = "é".repeat(MAX_QUOTE_CHARS + 1);
        let q = truncated(&over);
        assert_eq!(
            q.chars().count(),
            MAX_QUOTE_CHARS + " (402 bytes)".len() + 1
        );
        assert!(q.ends_with("… (402 bytes)"));
        assert_eq!(truncated_bytes(b"ok\xff"), "ok\u{fffd}");
        let big = vec![b'a'; 5000];
        assert_eq!(
            truncated_bytes(&big),
            format!("{}… (5000 bytes)", "a".repeat(MAX_QUOTE_CHARS))
        );
    }
}
