//! Setter markers: the `{"$imagepolicy": "<ns>:<name>[:tag|:name|:digest]"}` comment.
//!
//! A marker is a YAML comment whose text (after the leading `#` characters) is
//! a JSON object of strings with a non-empty `$imagepolicy` entry, exactly what
//! kyaml's `fieldmeta` accepts. The entry names an image policy
//! (`<namespace>:<name>`) and optionally which part of the image the marked
//! scalar holds.
//!
//! ```
//! use gitops_setters::marker::{Field, Setter};
//!
//! let s = Setter::from_comment(r#" {"$imagepolicy": "flux-system:podinfo:tag"}"#)?.unwrap();
//! assert_eq!(s.policy.namespace, "flux-system");
//! assert_eq!(s.policy.name, "podinfo");
//! assert_eq!(s.field, Field::Tag);
//! assert_eq!(s.to_string(), "flux-system:podinfo:tag");
//!
//! // An ordinary comment is not a marker at all.
//! assert_eq!(Setter::from_comment(" the comment must stay!")?, None);
//! // A comment that mentions the key but is not a valid marker is an error.
//! assert!(Setter::from_comment(r#" {"$imagepolicy": "podinfo"}"#).is_err());
//! # Ok::<(), gitops_setters::marker::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The JSON key of a setter marker.
pub const MARKER_KEY: &str = "$imagepolicy";

/// Why a comment that mentions `$imagepolicy` is not a usable marker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The comment is not a JSON object whose values are all strings.
    #[error(
        "marker is not a JSON object of strings: expected {{\"$imagepolicy\": \"<namespace>:<name>\"}}"
    )]
    NotJson,
    /// The object has no `$imagepolicy` entry, or it is empty.
    #[error("marker has no non-empty \"$imagepolicy\" entry")]
    MissingKey,
    /// The policy reference is not `<namespace>:<name>[:tag|:name|:digest]`.
    #[error("invalid policy reference {0:?}: expected <namespace>:<name>[:tag|:name|:digest]")]
    Reference(String),
}

/// An image policy, named by namespace and name (`<ns>:<name>` in markers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyId {
    /// Namespace of the ImagePolicy.
    pub namespace: String,
    /// Name of the ImagePolicy.
    pub name: String,
}

impl PolicyId {
    /// A policy id from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> PolicyId {
        PolicyId {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

impl FromStr for PolicyId {
    type Err = Error;

    /// Parse `<namespace>:<name>`.
    fn from_str(s: &str) -> Result<PolicyId, Error> {
        match s.split_once(':') {
            Some((ns, name)) if valid_part(ns) && valid_part(name) => Ok(PolicyId::new(ns, name)),
            _ => Err(Error::Reference(s.to_owned())),
        }
    }
}

/// Which part of the image a marked scalar holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Field {
    /// No suffix: the whole reference, `name:tag` (or `name:tag@digest`).
    Image,
    /// `:tag`: only the tag.
    Tag,
    /// `:name`: only the image name (registry and repository).
    Name,
    /// `:digest`: only the digest.
    Digest,
}

impl Field {
    /// The marker suffix (`""`, `":tag"`, `":name"`, `":digest"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Field::Image => "",
            Field::Tag => ":tag",
            Field::Name => ":name",
            Field::Digest => ":digest",
        }
    }
}

/// A parsed marker: the policy and the part of the image it sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Setter {
    /// The image policy.
    pub policy: PolicyId,
    /// Which part of the image the scalar holds.
    pub field: Field,
}

impl Setter {
    /// Read a marker from a comment's text (what follows `#`; extra leading `#`
    /// are ignored, as in kyaml).
    ///
    /// Returns `Ok(None)` when the comment does not mention `$imagepolicy` at
    /// all (an ordinary comment), and an error when it does but is not a valid
    /// marker.
    pub fn from_comment(text: &str) -> Result<Option<Setter>, Error> {
        if !text.contains(MARKER_KEY) {
            return Ok(None);
        }
        let json = text.trim_start_matches('#');
        let map: BTreeMap<String, String> =
            serde_json::from_str(json).map_err(|_| Error::NotJson)?;
        let value = map
            .get(MARKER_KEY)
            .filter(|v| !v.is_empty())
            .ok_or(Error::MissingKey)?;
        value.parse().map(Some)
    }
}

impl fmt::Display for Setter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.policy, self.field.suffix())
    }
}

impl FromStr for Setter {
    type Err = Error;

    /// Parse `<namespace>:<name>[:tag|:name|:digest]`.
    fn from_str(s: &str) -> Result<Setter, Error> {
        let bad = || Error::Reference(s.to_owned());
        let mut parts = s.split(':');
        let ns = parts.next().ok_or_else(bad)?;
        let name = parts.next().ok_or_else(bad)?;
        let field = match parts.next() {
            None => Field::Image,
            Some("tag") => Field::Tag,
            Some("name") => Field::Name,
            Some("digest") => Field::Digest,
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() || !valid_part(ns) || !valid_part(name) {
            return Err(bad());
        }
        Ok(Setter {
            policy: PolicyId::new(ns, name),
            field,
        })
    }
}

/// Serialised as its marker text, `<ns>:<name>`.
impl serde::Serialize for PolicyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Serialised as its marker text, `<ns>:<name>[:tag|:name|:digest]` (Flux's `Setter`).
impl serde::Serialize for Setter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A Kubernetes object name: non-empty, no whitespace, no `:`.
fn valid_part(s: &str) -> bool {
    !s.is_empty() && !s.contains(|c: char| c == ':' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_suffixes() {
        for (text, field) in [
            ("a:b", Field::Image),
            ("a:b:tag", Field::Tag),
            ("a:b:name", Field::Name),
            ("a:b:digest", Field::Digest),
        ] {
            let s: Setter = text.parse().unwrap();
            assert_eq!(s.field, field);
            assert_eq!(s.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_references() {
        for text in ["", "a", ":b", "a:", "a:b:c", "a:b:tag:x", "a b:c"] {
            assert_eq!(
                text.parse::<Setter>(),
                Err(Error::Reference(text.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn comment_forms() {
        let ok = |c: &str| Setter::from_comment(c).unwrap().unwrap().to_string();
        assert_eq!(ok(r#" {"$imagepolicy": "ns:p"}"#), "ns:p");
        assert_eq!(ok(r#"{"$imagepolicy":"ns:p:tag"}   "#), "ns:p:tag");
        assert_eq!(ok(r#"## {"$imagepolicy": "ns:p", "other": "x"}"#), "ns:p");
        assert_eq!(Setter::from_comment(" plain comment"), Ok(None));
        assert_eq!(
            Setter::from_comment(r#" {"$imagepolicy": "ns:p""#),
            Err(Error::NotJson)
        );
        assert_eq!(
            Setter::from_comment(r#" {"$imagepolicy": 1}"#),
            Err(Error::NotJson)
        );
        assert_eq!(
            Setter::from_comment(r#" {"$imagepolicy": ""}"#),
            Err(Error::MissingKey)
        );
        assert_eq!(
            Setter::from_comment(r#" {"x": "$imagepolicy"}"#),
            Err(Error::MissingKey)
        );
        assert_eq!(
            Setter::from_comment(r#" $imagepolicy: ns:p"#),
            Err(Error::NotJson)
        );
    }
}
