//! Helm values the way helm-controller and Helm v4 compose them.
//!
//! - [`strvals`]: the `--set`, `--set-string`, `--set-literal` and
//!   `--set-json` expression parser, and Flux's `targetPath` setters.
//! - [`values`]: HelmRelease `valuesFrom` (ConfigMaps/Secrets from a
//!   [`Resources`] store) merged with inline `values`.
//! - [`chart`]: Helm chart loading and rendering (`helm template`).
//! - [`release`]: a HelmRelease rendered as helm-controller installs it
//!   (release name and namespace, CRD policy, hooks, post-renderers).
//! - [`coalesce`]: user values coalesced with chart defaults and subcharts
//!   (`null` deletes, `global` flows down), i.e. what templates see as `.Values`.
//!
//! ```
//! use gitops_render::helm::{coalesce::{Chart, coalesce_values}, strvals, values};
//! use gitops_render::flux::Resources;
//! use serde_json::json;
//!
//! // HelmRelease values, then a `--set` on top, then the chart's defaults.
//! let mut user = values::compose("apps", &[], json!({"replicas": 2}).as_object(), &Resources::new())?;
//! strvals::parse_into("image.tag=v2", &mut user)?;
//! let chart = Chart::new("web", json!({"replicas": 1, "image": {"repository": "nginx", "tag": "v1"}}));
//! let out = coalesce_values(&chart, &user)?;
//! assert_eq!(serde_json::Value::Object(out.values),
//!            json!({"replicas": 2, "image": {"repository": "nginx", "tag": "v2"}}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chart;
pub mod coalesce;
mod goval;
pub mod release;
pub mod schema;
pub mod strvals;
#[cfg(test)]
mod testkit;
pub mod values;

pub use crate::flux::Resources;
