//! The `openapi` kustomization field: `{path: <schema file>}` replaces the
//! built-in Kubernetes schema used by strategic merge, `{version: v1.21.2}`
//! names the built-in one (the only version kustomize v5.7.1 embeds).
//!
//! kustomize keeps the schema in a process-wide variable: the top
//! kustomization always sets it, a base or component only while nothing set
//! it yet, so the first kustomization (top first, then depth-first in load
//! order) with the field wins. A custom schema replaces the built-in one
//! entirely (built-in kinds then merge lists by replacing them), unless the
//! built-in one was already loaded: by an earlier patch, or by a scope
//! lookup of a kind outside the built-in schema.

use std::sync::Arc;

use crate::budget::parse_documents;
use gitops_core::fs::{FileTree, RelPath};

use crate::Error;
use crate::kustomize::kustomization::Kustomization;
use crate::kustomize::loader::{display, read_in_root};
use crate::schema::{CustomSchema, Schemas};
use crate::value::Value;

/// The one schema version kustomize v5.7.1 has built in.
const BUILTIN_VERSION: &str = "v1.21.2";

/// The schema state of one build.
#[derive(Debug, Default)]
pub(crate) struct OpenApi {
    /// A custom schema, once one is set.
    custom: Option<Arc<CustomSchema>>,
    /// True once a kustomization set a schema (custom or a version).
    set: bool,
    /// True once the top kustomization was seen.
    top_seen: bool,
    /// True once a patch ran with the built-in schema.
    builtin_used: bool,
}

/// An owned handle on the schemas in force; borrow with [`Current::schemas`].
pub(crate) struct Current {
    custom: Option<Arc<CustomSchema>>,
    builtin_too: bool,
}

impl Current {
    /// The schemas to merge with.
    pub(crate) fn schemas(&self) -> Schemas<'_> {
        match &self.custom {
            None => Schemas::Builtin,
            Some(c) => Schemas::Custom {
                custom: c,
                builtin_too: self.builtin_too,
            },
        }
    }
}

fn openapi_error(dir: &RelPath, message: &str) -> Error {
    Error::Kustomization {
        file: display(dir),
        message: message.to_owned(),
    }
}

impl OpenApi {
    /// Apply a kustomization's `openapi` field (kustomize's `SetSchema`).
    pub(crate) fn set_schema(
        &mut self,
        tree: &dyn FileTree,
        dir: &RelPath,
        kust: &Kustomization,
    ) -> Result<(), Error> {
        let top = !self.top_seen;
        self.top_seen = true;
        let get = |k: &str| {
            kust.openapi
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let (path, version) = (get("path"), get("version"));
        for (key, _) in &kust.openapi {
            if key != "path" && key != "version" {
                return Err(openapi_error(
                    dir,
                    &format!("unknown openapi field {key:?} (expected path or version)"),
                ));
            }
        }
        // The file is read before the "already set" check, as in kustomize.
        let custom = match path {
            Some(p) => {
                let (file, text) = read_in_root(tree, dir, p)?;
                let docs = parse_documents(&text, &display(&file))?;
                let doc = docs
                    .into_iter()
                    .find(|d| !d.is_empty())
                    .map(|d| Value::from_node(&d.root))
                    .unwrap_or(Value::Null);
                Some(CustomSchema::from_document(&doc).unwrap_or_default())
            }
            None => None,
        };
        if self.set && !top {
            return Ok(());
        }
        if let Some(custom) = custom {
            if version.is_some() {
                return Err(openapi_error(
                    dir,
                    "builtin version and custom schema provided, cannot use both",
                ));
            }
            self.custom = Some(Arc::new(custom));
            self.set = true;
            return Ok(());
        }
        match version {
            None | Some("") => {}
            Some(BUILTIN_VERSION) => {
                self.custom = None;
                self.set = true;
            }
            Some(_) => {
                return Err(openapi_error(
                    dir,
                    "the specified OpenAPI version is not built in",
                ));
            }
        }
        Ok(())
    }

    /// Note resources just loaded: kustomize looks up the scope of a kind it
    /// has no precomputed answer for, which loads the whole built-in schema
    /// while no custom one is set; a custom schema set later then sits on
    /// top of the built-in one instead of replacing it.
    pub(crate) fn note_loaded(&mut self, resources: &[crate::resource::Resource]) {
        if self.custom.is_none()
            && !self.builtin_used
            && resources
                .iter()
                .any(|r| crate::schema::Schema::for_gvk(&r.gvk()).is_none())
        {
            self.builtin_used = true;
        }
    }

    /// The schemas in force now (marks the built-in one as used).
    pub(crate) fn current_schemas(&mut self) -> Current {
        if self.custom.is_none() {
            self.builtin_used = true;
        }
        Current {
            custom: self.custom.clone(),
            builtin_too: self.builtin_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Gvk;

    /// Checked against kubectl v1.35: a custom schema set by the top
    /// kustomization hides the built-in one, so a Deployment's containers
    /// are replaced by a strategic merge patch instead of merged.
    #[test]
    fn top_level_custom_schema_hides_builtin_merge_keys() {
        use crate::{Options, render};
        use gitops_core::fs::MemTree;
        let patch = "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: d\n    spec:\n      template:\n        spec:\n          containers:\n          - name: b\n            image: b2\n";
        let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: a\n      - name: b\n        image: b\n";
        let count = |with_schema: bool| {
            let mut t = MemTree::new();
            let openapi = if with_schema {
                "openapi:\n  path: s.json\n"
            } else {
                ""
            };
            t.insert(
                "kustomization.yaml",
                format!("resources: [d.yaml]\n{openapi}{patch}"),
            )
            .unwrap();
            t.insert("d.yaml", dep).unwrap();
            t.insert("s.json", "{\"definitions\": {}}").unwrap();
            let out = render(&t, &RelPath::root(), &Options::default()).unwrap();
            out.matches("- image:").count()
        };
        assert_eq!(count(false), 2, "merged by name with the built-in schema");
        assert_eq!(count(true), 1, "replaced under a custom schema");
    }

    #[test]
    fn openapi_errors_like_kustomize() {
        use crate::{Options, render};
        use gitops_core::fs::MemTree;
        let mut t = MemTree::new();
        t.insert("kustomization.yaml", "openapi:\n  version: v1.14.1\n")
            .unwrap();
        let err = render(&t, &RelPath::root(), &Options::default()).unwrap_err();
        assert!(err.to_string().contains("not built in"), "{err}");
        let mut t = MemTree::new();
        t.insert(
            "kustomization.yaml",
            "openapi:\n  version: v1.21.2\n  path: s.json\n",
        )
        .unwrap();
        t.insert("s.json", "{}").unwrap();
        let err = render(&t, &RelPath::root(), &Options::default()).unwrap_err();
        assert!(err.to_string().contains("cannot use both"), "{err}");
    }

    #[test]
    fn custom_schema_reads_merge_keys_and_gvks() {
        let doc = Value::from_node(
            &parse_documents(
                r##"{"definitions": {
  "v1.My": {"properties": {"spec": {"$ref": "#/definitions/v1.Spec"}},
            "x-kubernetes-group-version-kind": [{"group": "ex.com", "version": "v1", "kind": "My"}]},
  "v1.Spec": {"properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/v1.Item"},
            "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}}},
  "v1.Item": {"properties": {"id": {"type": "string"}}}
}}"##,
                "s.json",
            )
            .unwrap()[0]
                .root,
        );
        let custom = CustomSchema::from_document(&doc).unwrap();
        let schemas = Schemas::Custom {
            custom: &custom,
            builtin_too: false,
        };
        let my = schemas.for_gvk(&Gvk::new("ex.com/v1", "My")).unwrap();
        let items = my.field("spec").and_then(|s| s.field("items")).unwrap();
        assert_eq!(items.strategy_and_keys(), ("merge", vec!["id"]));
        assert!(items.items().is_some());
        assert!(
            schemas
                .for_gvk(&Gvk::new("apps/v1", "Deployment"))
                .is_none()
        );
        let with_builtin = Schemas::Custom {
            custom: &custom,
            builtin_too: true,
        };
        assert!(
            with_builtin
                .for_gvk(&Gvk::new("apps/v1", "Deployment"))
                .is_some()
        );
    }
}
