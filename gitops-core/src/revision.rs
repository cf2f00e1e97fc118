//! Flux source revisions.
//!
//! Flux v2 (source-controller ≥ v1) writes a revision as `<name>@<algo>:<hex>`
//! (`main@sha1:…`, `refs/heads/main@sha1:…`, `v1.2.3@sha1:…`, `latest@sha256:…`)
//! or as a bare digest `<algo>:<hex>`. Older controllers wrote `<name>/<hex>`;
//! [`Revision::parse`] accepts that legacy form and [`fmt::Display`] writes the
//! current one, as Flux's `TransformLegacyRevision` does.
//!
//! ```
//! use gitops_core::Revision;
//!
//! let r = Revision::parse("main/0123456789abcdef0123456789abcdef01234567")?;
//! assert_eq!(r.to_string(), "main@sha1:0123456789abcdef0123456789abcdef01234567");
//! assert_eq!(r.algorithm().as_str(), "sha1");
//! # Ok::<(), gitops_core::revision::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// Why a revision was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text has no digest part.
    #[error(
        "invalid revision {0:?}: expected <name>@<algo>:<hex>, <algo>:<hex> or the legacy <name>/<hex>"
    )]
    Format(String),
    /// The algorithm is not one Flux writes.
    #[error(
        "invalid revision {input:?}: unknown digest algorithm {algorithm:?} (expected sha1, sha256, sha384 or sha512)"
    )]
    Algorithm {
        /// The whole revision.
        input: String,
        /// The algorithm found.
        algorithm: String,
    },
    /// The hex part has the wrong length or characters.
    #[error("invalid revision {input:?}: {algorithm} digest must be {want} lower-case hex digits")]
    Hex {
        /// The whole revision.
        input: String,
        /// The algorithm.
        algorithm: Algorithm,
        /// Expected number of hex digits.
        want: usize,
    },
}

/// A digest algorithm of a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// Git SHA-1 commit ids (40 hex digits).
    Sha1,
    /// SHA-256 (64 hex digits): OCI digests and SHA-256 Git repositories.
    Sha256,
    /// SHA-384 (96 hex digits).
    Sha384,
    /// SHA-512 (128 hex digits).
    Sha512,
}

impl Algorithm {
    /// The name as written in revisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex digits of a digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(s: &str) -> Option<Algorithm> {
        Some(match s {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    fn from_hex_len(n: usize) -> Option<Algorithm> {
        [
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ]
        .into_iter()
        .find(|a| a.hex_len() == n)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revision {
    name: Option<String>,
    algorithm: Algorithm,
    hex: String,
}

impl Revision {
    /// Build a revision; `hex` is validated against the algorithm.
    pub fn new(name: Option<&str>, algorithm: Algorithm, hex: &str) -> Result<Revision, Error> {
        let input = match name {
            Some(n) => format!("{n}@{algorithm}:{hex}"),
            None => format!("{algorithm}:{hex}"),
        };
        check_hex(&input, algorithm, hex)?;
        Ok(Revision {
            name: name.filter(|n| !n.is_empty()).map(str::to_owned),
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// Parse any revision form Flux writes or wrote.
    pub fn parse(input: &str) -> Result<Revision, Error> {
        // Current form: the digest follows the last '@'.
        let (name, digest) = match input.rsplit_once('@') {
            Some((n, d)) => (Some(n), d),
            None => (None, input),
        };
        if let Some((algo, hex)) = digest.split_once(':') {
            let algorithm = Algorithm::from_name(algo).ok_or_else(|| Error::Algorithm {
                input: input.to_owned(),
                algorithm: algo.to_owned(),
            })?;
            check_hex(input, algorithm, hex)?;
            if name == Some("") {
                return Err(Error::Format(input.to_owned()));
            }
            return Ok(Revision {
                name: name.map(str::to_owned),
                algorithm,
                hex: hex.to_owned(),
            });
        }
        if name.is_some() {
            return Err(Error::Format(input.to_owned()));
        }
        // Legacy `<name>/<hex>`; the name may itself contain '/'.
        if let Some((n, hex)) = input.rsplit_once('/')
            && !n.is_empty()
            && let Some(algorithm) = Algorithm::from_hex_len(hex.len())
            && is_lower_hex(hex)
        {
            return Ok(Revision {
                name: Some(n.to_owned()),
                algorithm,
                hex: hex.to_owned(),
            });
        }
        Err(Error::Format(input.to_owned()))
    }

    /// The ref or tag name (`main`, `refs/heads/main`, `v1.2.3`, `latest`), if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The digest algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex digest.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// `<algo>:<hex>` without the name.
    pub fn digest(&self) -> String {
        format!("{}:{}", self.algorithm, self.hex)
    }

    /// Whether two revisions point at the same content (names ignored), the
    /// check pollers use for "no change since revision X".
    pub fn same_content(&self, other: &Revision) -> bool {
        self.algorithm == other.algorithm && self.hex == other.hex
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn check_hex(input: &str, algorithm: Algorithm, hex: &str) -> Result<(), Error> {
    if hex.len() == algorithm.hex_len() && is_lower_hex(hex) {
        Ok(())
    } else {
        Err(Error::Hex {
            input: input.to_owned(),
            algorithm,
            want: algorithm.hex_len(),
        })
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.name {
            write!(f, "{n}@")?;
        }
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Revision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Revision::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
    const SHA256: &str = "7173b809ca12ec5dee4506cd86be934c4596dd234ee82c0662eac04a8c2c71dc";

    #[test]
    fn forms() {
        for s in [
            format!("main@sha1:{SHA1}"),
            format!("refs/heads/main@sha1:{SHA1}"),
            format!("v1.2.3@sha1:{SHA1}"),
            format!("sha1:{SHA1}"),
            format!("latest@sha256:{SHA256}"),
            format!("sha256:{SHA256}"),
        ] {
            assert_eq!(Revision::parse(&s).unwrap().to_string(), s);
        }
        let legacy = Revision::parse(&format!("feature/x/{SHA1}")).unwrap();
        assert_eq!(legacy.name(), Some("feature/x"));
        assert_eq!(legacy.to_string(), format!("feature/x@sha1:{SHA1}"));
        let oci = Revision::parse(&format!("latest/{SHA256}")).unwrap();
        assert_eq!(oci.algorithm(), Algorithm::Sha256);
    }

    #[test]
    fn exact_errors() {
        assert_eq!(
            Revision::parse("main").unwrap_err().to_string(),
            "invalid revision \"main\": expected <name>@<algo>:<hex>, <algo>:<hex> or the legacy <name>/<hex>"
        );
        assert_eq!(
            Revision::parse("main@md5:abc").unwrap_err().to_string(),
            "invalid revision \"main@md5:abc\": unknown digest algorithm \"md5\" (expected sha1, sha256, sha384 or sha512)"
        );
        assert_eq!(
            Revision::parse("main@sha1:ABC").unwrap_err().to_string(),
            "invalid revision \"main@sha1:ABC\": sha1 digest must be 40 lower-case hex digits"
        );
        assert!(Revision::parse(&format!("@sha1:{SHA1}")).is_err());
    }

    #[test]
    fn same_content() {
        let a = Revision::parse(&format!("main@sha1:{SHA1}")).unwrap();
        let b = Revision::parse(&format!("sha1:{SHA1}")).unwrap();
        assert!(a.same_content(&b));
        assert_ne!(a, b);
    }
}
