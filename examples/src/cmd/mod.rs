//! One module per command noun.

pub mod automate;
pub mod bootstrap;
pub mod build;
pub mod cluster;
pub mod create;
pub mod demo;
pub mod flux_build;
pub mod git_rev_tree;
pub mod helm;
pub mod image;
pub mod policy;
pub mod setters;
pub mod setters_flux_yaml;
pub mod source;
pub mod source_oci;
pub mod v1;
pub mod v1_identity;
pub mod values;
pub mod version;
pub mod yaml_budget;
