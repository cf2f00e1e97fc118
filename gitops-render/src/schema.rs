//! Strategic-merge metadata of the Kubernetes v1.21 API: which lists merge
//! by which keys. The data is the generated table in `schema_table.rs`.

use crate::resource::Gvk;
use crate::schema_table::{DEFS, GVKS};

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

/// A position in the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Schema {
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
}

impl Schema {
    /// The schema of a top-level object.
    pub(crate) fn for_gvk(gvk: &Gvk) -> Option<Schema> {
        GVKS.iter()
            .find(|(g, v, k, _)| *g == gvk.group && *v == gvk.version && *k == gvk.kind)
            .map(|&(_, _, _, d)| Schema::Object(d))
    }

    /// The schema of a field of this object.
    pub(crate) fn field(self, name: &str) -> Option<Schema> {
        let Schema::Object(d) = self else {
            return None;
        };
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

    /// The schema of list items.
    pub(crate) fn items(self) -> Option<Schema> {
        match self {
            Schema::List { items, .. } if items != NONE => Some(Schema::Object(items)),
            _ => None,
        }
    }

    /// Patch strategy and merge keys of a list.
    pub(crate) fn strategy_and_keys(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Schema::List { strategy, keys, .. } => (strategy, keys),
            _ => ("", &[]),
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
        assert_eq!(c.strategy_and_keys(), ("merge", &["name"][..]));
        let ports = c.items().and_then(|s| s.field("ports")).unwrap();
        assert_eq!(
            ports.strategy_and_keys().1,
            &["containerPort", "protocol"][..]
        );
    }
}
