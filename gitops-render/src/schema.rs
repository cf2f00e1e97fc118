//! Strategic-merge metadata of the Kubernetes v1.21 API: which lists merge
//! by which keys. The data is the generated table in `schema_table.rs`.

use crate::resource::Gvk;
use crate::schema_table::{DEFS, GVKS, NAMES};
use crate::value::Value;

/// "No definition".
pub(crate) const NONE: u16 = u16::MAX;

/// One field of a definition: name, definition of the value (or of the
/// list items), whether it is a list, patch strategy and merge keys.
#[derive(Debug)]
pub(crate) struct F(
    pub &'static str,
    pub u16,
    pub bool,
    pub &'static str,
    pub &'static [&'static str],
);

/// A custom OpenAPI schema (kustomization field `openapi: {path: …}`):
/// the same strategic-merge facts as the built-in table, read at build time.
#[derive(Debug, Default)]
pub(crate) struct CustomSchema {
    defs: Vec<Vec<CustomField>>,
    gvks: Vec<(Gvk, usize)>,
}

/// Where a custom `$ref` points: a custom or a built-in definition.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Def {
    Custom(usize),
    Builtin(u16),
}

#[derive(Debug)]
struct CustomField {
    name: String,
    def: Option<Def>,
    list: bool,
    strategy: String,
    keys: Vec<String>,
}

impl CustomSchema {
    /// Read the `definitions` of a Swagger/OpenAPI v2 document (JSON or YAML,
    /// already parsed), `$ref`s and inline object schemas alike. Returns
    /// `None` when there is no `definitions` mapping.
    pub(crate) fn from_document(doc: &Value) -> Option<CustomSchema> {
        let defs = doc.get("definitions")?.as_map()?;
        let names: Vec<&str> = defs.keys().collect();
        let mut out = CustomSchema {
            defs: (0..names.len()).map(|_| Vec::new()).collect(),
            gvks: Vec::new(),
        };
        for (i, (_, d)) in defs.iter().enumerate() {
            out.defs[i] = out.fields_of(d, &names, 0);
            if let Some(gvks) = d
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_seq)
            {
                for g in gvks {
                    let s = |k: &str| g.get(k).and_then(Value::scalar_text).unwrap_or_default();
                    out.gvks.push((
                        Gvk {
                            group: s("group").into(),
                            version: s("version").into(),
                            kind: s("kind").into(),
                        },
                        i,
                    ));
                }
            }
        }
        Some(out)
    }

    /// The definition a schema node stands for: a `$ref`, or a new
    /// anonymous definition for inline `properties`.
    fn node_def(&mut self, node: &Value, names: &[&str], depth: usize) -> Option<Def> {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/definitions/")?;
            return match names.iter().position(|n| *n == name) {
                Some(i) => Some(Def::Custom(i)),
                None => NAMES
                    .iter()
                    .position(|n| *n == name)
                    .and_then(|i| u16::try_from(i).ok())
                    .map(Def::Builtin),
            };
        }
        if depth > 64 || node.get("properties").is_none() {
            return None;
        }
        let fields = self.fields_of(node, names, depth + 1);
        self.defs.push(fields);
        Some(Def::Custom(self.defs.len() - 1))
    }

    fn fields_of(&mut self, d: &Value, names: &[&str], depth: usize) -> Vec<CustomField> {
        let mut fields = Vec::new();
        let Some(props) = d.get("properties").and_then(Value::as_map) else {
            return fields;
        };
        for (name, p) in props.iter() {
            let list = p.get("type").and_then(Value::as_str) == Some("array");
            let target = if list { p.get("items") } else { Some(p) };
            let def = target.and_then(|t| self.node_def(t, names, depth));
            let strategy = p
                .get("x-kubernetes-patch-strategy")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let mut keys = Vec::new();
            if !strategy.is_empty() {
                if let Some(list) = p.get("x-kubernetes-list-map-keys").and_then(Value::as_seq) {
                    keys = list.iter().filter_map(Value::scalar_text).collect();
                } else if let Some(k) = p
                    .get("x-kubernetes-patch-merge-key")
                    .and_then(Value::as_str)
                {
                    keys.push(k.to_owned());
                }
            }
            fields.push(CustomField {
                name: name.to_string(),
                def,
                list,
                strategy,
                keys,
            });
        }
        fields
    }
}

/// The schemas a build merges with: kustomize's built-in table, or a custom
/// schema (which replaces the built-in one, as in kustomize, unless the
/// built-in one was already in use when the custom one was set).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Schemas<'a> {
    /// The built-in Kubernetes v1.21 table.
    Builtin,
    /// A custom schema, with or without the built-in table behind it.
    Custom {
        /// The custom definitions.
        custom: &'a CustomSchema,
        /// Whether built-in definitions are still found.
        builtin_too: bool,
    },
}

impl<'a> Schemas<'a> {
    /// The schema of a top-level object.
    pub(crate) fn for_gvk(self, gvk: &Gvk) -> Option<Schema<'a>> {
        match self {
            Schemas::Builtin => Schema::for_gvk(gvk),
            Schemas::Custom {
                custom,
                builtin_too,
            } => custom
                .gvks
                .iter()
                .find(|(g, _)| g == gvk)
                .map(|&(_, d)| Schema::CustomObject(custom, d, builtin_too))
                .or_else(|| {
                    if builtin_too {
                        Schema::for_gvk(gvk)
                    } else {
                        None
                    }
                }),
        }
    }
}

/// A position in the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Schema<'a> {
    /// An object of a definition.
    Object(u16),
    /// A list; items are objects of `items` (or scalars when `NONE`).
    List {
        items: u16,
        strategy: &'static str,
        keys: &'static [&'static str],
    },
    /// A scalar field with a strategy (rare).
    Leaf,
    /// An object of a custom definition; the flag says whether `$ref`s to
    /// built-in definitions resolve.
    CustomObject(&'a CustomSchema, usize, bool),
    /// A list in a custom schema.
    CustomList {
        schema: &'a CustomSchema,
        items: Option<Def>,
        strategy: &'a str,
        keys: &'a [String],
        builtin_too: bool,
    },
}

impl<'a> Schema<'a> {
    /// The schema of a top-level object in the built-in table.
    pub(crate) fn for_gvk(gvk: &Gvk) -> Option<Schema<'a>> {
        type Index = std::collections::HashMap<(&'static str, &'static str, &'static str), u16>;
        static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
        let index = INDEX.get_or_init(|| GVKS.iter().map(|&(g, v, k, d)| ((g, v, k), d)).collect());
        index
            .get(&(gvk.group.as_str(), gvk.version.as_str(), gvk.kind.as_str()))
            .map(|&d| Schema::Object(d))
    }

    /// The schema of a field of this object.
    pub(crate) fn field(self, name: &str) -> Option<Schema<'a>> {
        match self {
            Schema::Object(d) => {
                let f = DEFS.get(usize::from(d))?.iter().find(|f| f.0 == name)?;
                Some(if f.2 {
                    Schema::List {
                        items: f.1,
                        strategy: f.3,
                        keys: f.4,
                    }
                } else if f.1 != NONE {
                    Schema::Object(f.1)
                } else {
                    Schema::Leaf
                })
            }
            Schema::CustomObject(schema, d, builtin_too) => {
                let f = schema.defs.get(d)?.iter().find(|f| f.name == name)?;
                Some(if f.list {
                    Schema::CustomList {
                        schema,
                        items: f.def,
                        strategy: &f.strategy,
                        keys: &f.keys,
                        builtin_too,
                    }
                } else {
                    match f.def {
                        Some(Def::Custom(def)) => Schema::CustomObject(schema, def, builtin_too),
                        Some(Def::Builtin(def)) if builtin_too => Schema::Object(def),
                        Some(Def::Builtin(_)) => return None,
                        None => Schema::Leaf,
                    }
                })
            }
            _ => None,
        }
    }

    /// The schema of list items.
    pub(crate) fn items(self) -> Option<Schema<'a>> {
        match self {
            Schema::List { items, .. } if items != NONE => Some(Schema::Object(items)),
            Schema::CustomList {
                schema,
                items: Some(Def::Custom(d)),
                builtin_too,
                ..
            } => Some(Schema::CustomObject(schema, d, builtin_too)),
            Schema::CustomList {
                items: Some(Def::Builtin(d)),
                builtin_too: true,
                ..
            } => Some(Schema::Object(d)),
            _ => None,
        }
    }

    /// Patch strategy and merge keys of a list.
    pub(crate) fn strategy_and_keys(self) -> (&'a str, Vec<&'a str>) {
        match self {
            Schema::List { strategy, keys, .. } => (strategy, keys.to_vec()),
            Schema::CustomList { strategy, keys, .. } => {
                (strategy, keys.iter().map(String::as_str).collect())
            }
            _ => ("", Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_merge_by_name() {
        let d = Schema::for_gvk(&Gvk::new("apps/v1", "Deployment")).unwrap();
        let c = d
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|s| s.field("spec"))
            .and_then(|s| s.field("containers"))
            .unwrap();
        assert_eq!(c.strategy_and_keys(), ("merge", vec!["name"]));
        let ports = c.items().and_then(|s| s.field("ports")).unwrap();
        assert_eq!(
            ports.strategy_and_keys().1,
            vec!["containerPort", "protocol"]
        );
    }
}
