//! Error text for people: an error with its sources.
//!
//! ```
//! use gitops_core::error::chain;
//!
//! let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
//! let outer = std::io::Error::new(std::io::ErrorKind::Other, inner);
//! // The outer error displays as its source: the repeat is left out.
//! assert_eq!(chain(&outer), "no such file");
//! ```

/// `e` and its sources joined with `: `, leaving out a source whose text
/// is already in the message (many errors repeat their source's text).
#[must_use]
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
