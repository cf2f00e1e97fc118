//! The data of a kustomization file's entries: patches and their targets,
//! images, replicas, field specs, labels, generators, sort options,
//! replacements and vars, as [`Kustomization`](crate::kustomize::kustomization::Kustomization)
//! holds them.

use crate::resource::Gvk;
use crate::value::Value;

/// Which resources an entry applies to: group/version/kind, name,
/// namespace and label/annotation selectors (a patch `target`, a
/// replacement `select`/`reject`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

/// A `patches` or `patchesJson6902` entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

/// An `images` entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

/// A `replicas` entry.
#[derive(Debug, Clone)]
pub(crate) struct Replica {
    pub name: String,
    pub count: Value,
}

/// A field spec: the field at `path` of objects of the (possibly partly
/// empty) group/version/kind, and whether to create it when missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

/// A `labels` entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Label {
    pub pairs: Vec<(String, String)>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpec>,
}

/// `generatorOptions`, or the `options` of one generator.
#[derive(Debug, Clone, Default)]
pub(crate) struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: Option<GeneratorOptions>,
    pub secret_type: String,
}

/// `sortOptions`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SortOptions {
    pub order: String,
    pub order_first: Option<Vec<String>>,
    pub order_last: Option<Vec<String>>,
}

impl FieldSpec {
    /// The group/version/kind the spec selects (empty parts match any).
    pub(crate) fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.as_str().into(),
            version: self.version.as_str().into(),
            kind: self.kind.as_str().into(),
        }
    }

    /// True when the spec applies to an object of `gvk`.
    pub(crate) fn matches(&self, gvk: &Gvk) -> bool {
        (self.group.is_empty() || self.group == gvk.group)
            && (self.version.is_empty() || self.version == gvk.version)
            && (self.kind.is_empty() || self.kind == gvk.kind)
    }
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldOptions {
    /// Split (source) or join (target) the scalar on this string.
    pub delimiter: String,
    /// Which part; on targets `< 0` prepends and `>= len` appends.
    pub index: i64,
    /// Create missing target fields.
    pub create: bool,
}

/// Where a replacement's value comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceSelector {
    /// Group, version, kind, name and namespace of the one source resource.
    pub id: Selector,
    /// Dotted path of the field (default `metadata.name`).
    pub field_path: String,
    /// Delimiter and index.
    pub options: Option<FieldOptions>,
}

/// Which resources and fields receive the value.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetSelector {
    /// Resources to include (required).
    pub select: Option<Selector>,
    /// Resources to leave out.
    pub reject: Vec<Selector>,
    /// Dotted field paths (default `metadata.name`).
    pub field_paths: Vec<String>,
    /// Delimiter, index and create.
    pub options: Option<FieldOptions>,
}

/// One replacement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replacement {
    /// A resource field to copy.
    pub source: Option<SourceSelector>,
    /// Or a literal value.
    pub source_value: Option<String>,
    /// Where to write it; `None` when the field is absent.
    pub targets: Option<Vec<TargetSelector>>,
}

/// An entry of a `replacements` list: inline, or a file holding one or more.
#[derive(Debug, Clone)]
pub(crate) enum ReplacementField {
    /// Written in the kustomization.
    Inline(Box<Replacement>),
    /// `path:` of a file relative to the kustomization.
    Path(String),
}

/// One `vars` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Var {
    /// The name used in `$(NAME)`.
    pub name: String,
    /// `objref.apiVersion`.
    pub api_version: String,
    /// `objref` group, version and kind (`apiVersion` fills group and version).
    pub gvk: Gvk,
    /// `objref.name`.
    pub obj_name: String,
    /// `objref.namespace`.
    pub obj_namespace: String,
    /// `fieldref.fieldPath` (default `metadata.name`).
    pub field_path: String,
}

impl Var {
    /// Go's `%v` of kustomize's `types.Var`, for error messages.
    pub(crate) fn go_string(&self) -> String {
        format!(
            "{{{} {{{} {{{} {} {}}} {} {}}} {{{}}}}}",
            self.name,
            self.api_version,
            self.gvk.group,
            self.gvk.version,
            self.gvk.kind,
            self.obj_name,
            self.obj_namespace,
            self.field_path
        )
    }
}
