//! Serde types of the Flux API objects people keep in Git.
//!
//! | group/version | kinds |
//! |---|---|
//! | `source.toolkit.fluxcd.io/v1` | [`GitRepository`], [`HelmRepository`], [`Bucket`] |
//! | `source.toolkit.fluxcd.io/v1beta2` | [`OCIRepository`] |
//! | `kustomize.toolkit.fluxcd.io/v1` | [`Kustomization`] |
//! | `helm.toolkit.fluxcd.io/v2` | [`HelmRelease`] |
//! | `image.toolkit.fluxcd.io/v1beta2` | [`ImageRepository`], [`ImagePolicy`], [`ImageUpdateAutomation`] |
//! | `notification.toolkit.fluxcd.io/v1beta3` | [`Provider`], [`Alert`] |
//! | `helm.fluxcd.io/v1` (Flux v1) | [`HelmReleaseV1`] |
//!
//! Field names follow the Flux CRDs (`serde(rename_all = "camelCase")`).
//! Fields the CRD requires are plain fields (a missing one is a
//! deserialisation error naming it); optional fields are `Option`s so a
//! document round-trips without gaining `null`s or defaults.
//!
//! **Unknown fields are kept, not rejected**: every struct has an `extra` map
//! (`#[serde(flatten)]`) that holds fields this crate does not model, so a
//! manifest written for a newer Flux minor version reads and writes back
//! unchanged. Linters that want strictness can check `extra.is_empty()`.
//! Deeply version-dependent sub-objects (HelmRelease `install`/`upgrade`/…,
//! `values`) are kept as [`serde_json::Value`].
//!
//! ```
//! use gitops_core::flux::{FluxObject, Object};
//! use gitops_core::yaml::parse_documents;
//!
//! let src = "\
//! apiVersion: image.toolkit.fluxcd.io/v1beta2
//! kind: ImagePolicy
//! metadata:
//!   name: podinfo
//!   namespace: flux-system
//! spec:
//!   imageRepositoryRef:
//!     name: podinfo
//!   policy:
//!     semver:
//!       range: 5.0.x
//! ";
//! let docs = parse_documents(src, "policy.yaml")?;
//! let Some(Object::ImagePolicy(p)) = Object::from_node(&docs[0].root, "policy.yaml")? else { panic!() };
//! assert_eq!(p.spec.policy.semver.unwrap().range, "5.0.x");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `kube` feature each spec also derives `kube::CustomResource`; the
//! generated resource type is named `<Kind>Resource` (e.g.
//! `GitRepositoryResource`) so the plain types above stay the same with and
//! without the feature.

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};

use crate::yaml::{Node, Schema};

/// Define an API struct: required fields as written, optional fields wrapped
/// in `Option` and omitted when `None`, plus the `extra` map.
macro_rules! api_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        api_struct!(@munch [$(#[$m])*] $name [] $($body)*);
    };
    (@munch $attrs:tt $name:ident [$($acc:tt)*] $(#[$fm:meta])* req $f:ident : $t:ty, $($rest:tt)*) => {
        api_struct!(@munch $attrs $name [$($acc)* $(#[$fm])* pub $f: $t,] $($rest)*);
    };
    (@munch $attrs:tt $name:ident [$($acc:tt)*] $(#[$fm:meta])* opt $f:ident : $t:ty, $($rest:tt)*) => {
        api_struct!(@munch $attrs $name [$($acc)*
            $(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $f: Option<$t>,
        ] $($rest)*);
    };
    (@munch [$($attrs:tt)*] $name:ident [$($acc:tt)*]) => {
        $($attrs)*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "kube", derive(schemars::JsonSchema), schemars(transform = $crate::flux::structural))]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($acc)*
            /// Fields not modelled by this crate, kept verbatim.
            #[serde(flatten)]
            #[cfg_attr(feature = "kube", schemars(skip))]
            pub extra: ::std::collections::BTreeMap<String, serde_json::Value>,
        }
    };
}

/// Define the top-level object type `$name` holding `$spec`.
macro_rules! flux_object {
    ($(#[$m:meta])* $name:ident, $spec:ty, $api:literal, $kind:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// `group/version`.
            pub api_version: String,
            /// The kind.
            pub kind: String,
            /// Object metadata.
            pub metadata: $crate::flux::ObjectMeta,
            /// The spec.
            pub spec: $spec,
            /// The status, when present (rare in Git).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<$crate::flux::Status>,
        }

        impl $crate::flux::FluxObject for $name {
            const API_VERSION: &'static str = $api;
            const KIND: &'static str = $kind;
            fn metadata(&self) -> &$crate::flux::ObjectMeta {
                &self.metadata
            }
        }
    };
}

/// The schema rule of every API struct (the `kube` feature): the object
/// keeps fields it does not model (its `extra` map), so its schema says
/// `x-kubernetes-preserve-unknown-fields: true`; a property of any JSON
/// value (`serde_json::Value`, no `type`) says the same, which makes the
/// derived CRDs structural, as the API server requires. Without it the
/// server rejects the CRD, and a status subresource patch would lose the
/// kind's own status fields (`lastScanResult`, `latestRef`, …), which live
/// in [`Status`]'s `extra` map.
#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub fn structural(schema: &mut schemars::Schema) {
    const PRESERVE: &str = "x-kubernetes-preserve-unknown-fields";
    let typed = |m: &serde_json::Map<String, serde_json::Value>| {
        [
            "type",
            "$ref",
            "anyOf",
            "oneOf",
            "allOf",
            "properties",
            "x-kubernetes-int-or-string",
        ]
        .iter()
        .any(|k| m.contains_key(*k))
    };
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.insert(PRESERVE.to_owned(), serde_json::Value::Bool(true));
    let mark = |node: &mut serde_json::Value| match node {
        serde_json::Value::Bool(true) => *node = serde_json::json!({ PRESERVE: true }),
        serde_json::Value::Object(m) if !typed(m) => {
            m.insert(PRESERVE.to_owned(), serde_json::Value::Bool(true));
        }
        _ => {}
    };
    if let Some(serde_json::Value::Object(props)) = obj.get_mut("properties") {
        for prop in props.values_mut() {
            mark(prop);
            // Lists and maps of any JSON value.
            if let serde_json::Value::Object(m) = prop {
                for k in ["items", "additionalProperties"] {
                    if let Some(inner) = m.get_mut(k) {
                        mark(inner);
                    }
                }
            }
        }
    }
}

mod helm;
mod image;
mod kustomize;
mod notification;
mod source;

pub use helm::*;
pub use image::*;
pub use kustomize::*;
pub use notification::*;
pub use source::*;

api_struct! {
    /// The subset of Kubernetes `ObjectMeta` found in Git.
    pub struct ObjectMeta {
        /// Name.
        opt name: String,
        /// Namespace.
        opt namespace: String,
        /// Labels.
        opt labels: BTreeMap<String, String>,
        /// Annotations.
        opt annotations: BTreeMap<String, String>,
    }
}

api_struct! {
    /// A reference to an object in the same namespace.
    pub struct LocalObjectReference {
        /// Name of the referent.
        req name: String,
    }
}

api_struct! {
    /// A reference to an object, optionally in another namespace.
    pub struct NamespacedObjectReference {
        /// Name of the referent.
        req name: String,
        /// Namespace of the referent (defaults to the referrer's).
        opt namespace: String,
    }
}

api_struct! {
    /// A reference to an object of a given kind.
    pub struct CrossNamespaceObjectReference {
        /// API version of the referent.
        opt api_version: String,
        /// Kind of the referent.
        req kind: String,
        /// Name of the referent.
        req name: String,
        /// Namespace of the referent.
        opt namespace: String,
    }
}

api_struct! {
    /// A Kubernetes condition.
    pub struct Condition {
        /// Condition type, e.g. `Ready`.
        req r#type: String,
        /// `True`, `False` or `Unknown`.
        req status: String,
        /// Machine-readable reason.
        opt reason: String,
        /// Human-readable message.
        opt message: String,
        /// RFC 3339 time of the last transition.
        opt last_transition_time: String,
        /// Generation the condition was set for.
        opt observed_generation: i64,
    }
}

api_struct! {
    /// The status common to Flux objects; kind-specific fields stay in `extra`.
    pub struct Status {
        /// Last generation reconciled.
        opt observed_generation: i64,
        /// Conditions.
        opt conditions: Vec<Condition>,
    }
}

/// A Flux API object type.
pub trait FluxObject: Serialize + DeserializeOwned {
    /// `group/version` this type models.
    const API_VERSION: &'static str;
    /// Kind.
    const KIND: &'static str;
    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;

    /// Decode from a YAML node (scalars typed with the YAML 1.2 core schema,
    /// as the Kubernetes API server would see the JSON).
    fn from_node(node: &Node, origin: &str) -> Result<Self, Error> {
        serde_json::from_value(node.to_json(Schema::Core)).map_err(|e| Error::Decode {
            origin: origin.to_owned(),
            line: node.line,
            kind: Self::KIND,
            message: e.to_string(),
        })
    }
}

/// Why a Flux object could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document does not match the type.
    #[error("{origin}:{line}: invalid {kind}: {message}")]
    Decode {
        /// File or origin.
        origin: String,
        /// First line of the document.
        line: usize,
        /// Kind being decoded.
        kind: &'static str,
        /// The decoder's message (names the field).
        message: String,
    },
}

/// Any of the Flux objects this crate models.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Decoded once per document and matched on by value: boxing every variant would
// make matching awkward for no measurable gain.
#[allow(clippy::large_enum_variant)]
pub enum Object {
    /// `GitRepository`.
    GitRepository(GitRepository),
    /// `HelmRepository`.
    HelmRepository(HelmRepository),
    /// `Bucket`.
    Bucket(Bucket),
    /// `OCIRepository`.
    OCIRepository(OCIRepository),
    /// `Kustomization` (kustomize.toolkit.fluxcd.io).
    Kustomization(Kustomization),
    /// `HelmRelease` v2.
    HelmRelease(HelmRelease),
    /// `ImageRepository`.
    ImageRepository(ImageRepository),
    /// `ImagePolicy`.
    ImagePolicy(ImagePolicy),
    /// `ImageUpdateAutomation`.
    ImageUpdateAutomation(ImageUpdateAutomation),
    /// `Provider`.
    Provider(Provider),
    /// `Alert`.
    Alert(Alert),
    /// Flux v1 `HelmRelease`.
    HelmReleaseV1(HelmReleaseV1),
}

impl Object {
    /// Decode a document when its `apiVersion` group and `kind` are a Flux kind;
    /// `Ok(None)` for anything else. Other versions of a known group/kind are
    /// decoded with the modelled version's type (Flux keeps them compatible).
    pub fn from_node(node: &Node, origin: &str) -> Result<Option<Object>, Error> {
        let text = |k: &str| {
            node.get(k)
                .and_then(|n| n.as_scalar())
                .map(|s| s.value.as_str())
        };
        let (Some(api), Some(kind)) = (text("apiVersion"), text("kind")) else {
            return Ok(None);
        };
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        fn d<T: FluxObject>(n: &Node, o: &str) -> Result<T, Error> {
            T::from_node(n, o)
        }
        Ok(Some(match (group, kind) {
            ("source.toolkit.fluxcd.io", "GitRepository") => {
                Object::GitRepository(d(node, origin)?)
            }
            ("source.toolkit.fluxcd.io", "HelmRepository") => {
                Object::HelmRepository(d(node, origin)?)
            }
            ("source.toolkit.fluxcd.io", "Bucket") => Object::Bucket(d(node, origin)?),
            ("source.toolkit.fluxcd.io", "OCIRepository") => {
                Object::OCIRepository(d(node, origin)?)
            }
            ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
                Object::Kustomization(d(node, origin)?)
            }
            ("helm.toolkit.fluxcd.io", "HelmRelease") => Object::HelmRelease(d(node, origin)?),
            ("image.toolkit.fluxcd.io", "ImageRepository") => {
                Object::ImageRepository(d(node, origin)?)
            }
            ("image.toolkit.fluxcd.io", "ImagePolicy") => Object::ImagePolicy(d(node, origin)?),
            ("image.toolkit.fluxcd.io", "ImageUpdateAutomation") => {
                Object::ImageUpdateAutomation(d(node, origin)?)
            }
            ("notification.toolkit.fluxcd.io", "Provider") => Object::Provider(d(node, origin)?),
            ("notification.toolkit.fluxcd.io", "Alert") => Object::Alert(d(node, origin)?),
            ("helm.fluxcd.io", "HelmRelease") => Object::HelmReleaseV1(d(node, origin)?),
            _ => return Ok(None),
        }))
    }

    /// Serialise back to JSON.
    ///
    /// Object keys follow the field order when serde_json's `preserve_order`
    /// feature is on in the build, and are sorted otherwise.
    pub fn to_json(&self) -> serde_json::Value {
        let r = match self {
            Object::GitRepository(o) => serde_json::to_value(o),
            Object::HelmRepository(o) => serde_json::to_value(o),
            Object::Bucket(o) => serde_json::to_value(o),
            Object::OCIRepository(o) => serde_json::to_value(o),
            Object::Kustomization(o) => serde_json::to_value(o),
            Object::HelmRelease(o) => serde_json::to_value(o),
            Object::ImageRepository(o) => serde_json::to_value(o),
            Object::ImagePolicy(o) => serde_json::to_value(o),
            Object::ImageUpdateAutomation(o) => serde_json::to_value(o),
            Object::Provider(o) => serde_json::to_value(o),
            Object::Alert(o) => serde_json::to_value(o),
            Object::HelmReleaseV1(o) => serde_json::to_value(o),
        };
        // Plain structs of strings, maps and JSON values always serialise.
        r.unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests;
