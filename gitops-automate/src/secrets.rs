//! Keeping a remote's credentials out of error texts.
//!
//! URLs are shown through [`gitops_core::url::redact`]. An error a
//! transport returns may still quote the URL it was given, credentials
//! included; [`Scrubbed`] wraps such an error and removes the user and
//! password of the URL ([`secrets_of`]) from its whole cause chain.
//!
//! ```
//! use gitops_automate::secrets::{Scrubbed, scrub, secrets_of};
//!
//! let secrets = secrets_of("https://bot:p%40ss@example.com/o/r.git");
//! assert_eq!(secrets, ["p%40ss", "p@ss", "bot"]);
//! assert_eq!(scrub("auth failed for bot:p@ss", &secrets), "auth failed for ***:***");
//!
//! let e = std::io::Error::other("cannot reach https://bot:p%40ss@example.com");
//! let shown = Scrubbed::new(Box::new(e), &secrets);
//! assert_eq!(shown.to_string(), "cannot reach https://***:***@example.com");
//! ```

use crate::{BoxError, chain};

/// The user and password of `url`'s user info (raw and percent-decoded),
/// which must never be shown.
pub fn secrets_of(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let Some((userinfo, _)) = rest[..end].rsplit_once('@') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in userinfo.split(':').filter(|p| !p.is_empty()) {
        out.push(part.to_owned());
        let decoded = percent_decode(part);
        if decoded != part {
            out.push(decoded);
        }
    }
    // Longest first, so a secret containing another is removed whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every secret replaced by `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_owned();
    for s in secrets {
        t = t.replace(s.as_str(), "***");
    }
    t
}

/// A transport error whose text may hold the remote's credentials: it
/// displays its whole cause chain with them removed and exposes no further
/// source, so no reporter can print them. [`Scrubbed::inner`] keeps the
/// typed error for programs.
#[derive(Debug)]
pub struct Scrubbed {
    text: String,
    inner: BoxError,
}

impl Scrubbed {
    /// Wrap `e`, removing `secrets` from its text.
    pub fn new(e: BoxError, secrets: &[String]) -> Scrubbed {
        Scrubbed {
            text: scrub(&chain(e.as_ref()), secrets),
            inner: e,
        }
    }

    /// The original error (its text may contain credentials: do not print it).
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.inner.as_ref()
    }
}

impl std::fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Scrubbed {}
