//! Kubernetes object identity and Flux inventory ids.
//!
//! ```
//! use gitops_core::ObjectId;
//! use gitops_core::yaml::parse_documents;
//!
//! let docs = parse_documents(
//!     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n",
//!     "web.yaml",
//! )?;
//! let id = ObjectId::from_node(&docs[0].root, "web.yaml")?;
//! assert_eq!(id.group, "apps");
//! assert_eq!(id.inventory_id(), "prod_web_apps_Deployment");
//! assert_eq!(ObjectId::from_inventory_id("prod_web_apps_Deployment", "v1")?, id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::yaml::Node;

/// Why an object id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required field is missing or is not a string.
    #[error("{origin}:{line}: {field} must be a non-empty string")]
    Field {
        /// File or other origin.
        origin: String,
        /// Line of the document.
        line: usize,
        /// `apiVersion`, `kind` or `metadata.name`.
        field: &'static str,
    },
    /// An inventory id does not have four `_`-separated fields.
    #[error("invalid inventory id {0:?}: expected <namespace>_<name>_<group>_<kind>")]
    InventoryId(String),
}

/// Group, version, kind, namespace and name of a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// API group (`""` for the core group).
    pub group: String,
    /// API version (`v1`); empty when unknown (ids read from an inventory without version).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects (or when unset).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

impl ObjectId {
    /// Build an id from `apiVersion`, kind, namespace and name.
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        let (group, version) = split_api_version(api_version);
        ObjectId {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// Read `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` of a document.
    pub fn from_node(doc: &Node, origin: &str) -> Result<ObjectId, Error> {
        let field = |path: &[&str], field: &'static str| {
            doc.get_path(path)
                .and_then(|n| n.as_scalar())
                .map(|s| s.value.as_str())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Field {
                    origin: origin.to_owned(),
                    line: doc.line,
                    field,
                })
        };
        let api_version = field(&["apiVersion"], "apiVersion")?;
        let kind = field(&["kind"], "kind")?;
        let name = field(&["metadata", "name"], "metadata.name")?;
        let namespace = doc
            .get_path(&["metadata", "namespace"])
            .and_then(|n| n.as_scalar())
            .map(|s| s.value.as_str());
        Ok(ObjectId::new(api_version, kind, namespace, name))
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn is_rbac(group: &str, kind: &str) -> bool {
        group == RBAC_GROUP && RBAC_KINDS.contains(&kind)
    }

    /// Flux's inventory id `<namespace>_<name>_<group>_<kind>`; `:` in RBAC
    /// object names is written as `__` (fluxcd/cli-utils `ObjMetadata`).
    pub fn inventory_id(&self) -> String {
        let name = if Self::is_rbac(&self.group, &self.kind) {
            self.name.replace(':', "__")
        } else {
            self.name.clone()
        };
        format!(
            "{}_{}_{}_{}",
            self.namespace.as_deref().unwrap_or(""),
            name,
            self.group,
            self.kind
        )
    }

    /// Parse an inventory id (and the version Flux stores next to it as `v`).
    pub fn from_inventory_id(id: &str, version: &str) -> Result<ObjectId, Error> {
        let bad = || Error::InventoryId(id.to_owned());
        let (namespace, rest) = id.split_once('_').ok_or_else(bad)?;
        let (rest, kind) = rest.rsplit_once('_').ok_or_else(bad)?;
        let (name, group) = rest.rsplit_once('_').ok_or_else(bad)?;
        let name = if Self::is_rbac(group, kind) {
            name.replace("__", ":")
        } else {
            name.to_owned()
        };
        if name.is_empty() || kind.is_empty() || name.contains('_') {
            return Err(bad());
        }
        Ok(ObjectId {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
            name,
        })
    }
}

/// Split `apiVersion` into group and version (`v1` → `("", "v1")`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl fmt::Display for ObjectId {
    /// `Kind/namespace/name` (or `Kind/name`), as Flux logs objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    #[test]
    fn core_group_and_cluster_scope() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n",
            "n",
        )
        .unwrap();
        let id = ObjectId::from_node(&docs[0].root, "n").unwrap();
        assert_eq!(id.group, "");
        assert_eq!(id.inventory_id(), "_prod__Namespace");
        assert_eq!(
            ObjectId::from_inventory_id("_prod__Namespace", "v1").unwrap(),
            id
        );
        assert_eq!(id.to_string(), "Namespace/prod");
    }

    #[test]
    fn rbac_colons() {
        let id = ObjectId::new(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "system:controller:flux",
        );
        let inv = id.inventory_id();
        assert_eq!(
            inv,
            "_system__controller__flux_rbac.authorization.k8s.io_ClusterRole"
        );
        assert_eq!(ObjectId::from_inventory_id(&inv, "v1").unwrap(), id);
    }

    #[test]
    fn errors() {
        let docs = parse_documents("apiVersion: v1\nkind: ConfigMap\n", "cm.yaml").unwrap();
        assert_eq!(
            ObjectId::from_node(&docs[0].root, "cm.yaml")
                .unwrap_err()
                .to_string(),
            "cm.yaml:1: metadata.name must be a non-empty string"
        );
        assert_eq!(
            ObjectId::from_inventory_id("a_b", "")
                .unwrap_err()
                .to_string(),
            "invalid inventory id \"a_b\": expected <namespace>_<name>_<group>_<kind>"
        );
        assert!(ObjectId::from_inventory_id("ns_a_b_apps_Deployment", "v1").is_err());
    }
}
