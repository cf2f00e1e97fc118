//! `--max-yaml-nodes` and `--max-yaml-bytes`: the YAML budget of one run.

use gitops_core::yaml::{Budget, BudgetLimits, Exhausted};

/// Flags that size the YAML budget of a run (every YAML file the command
/// reads counts against one budget).
#[derive(Debug, Clone, clap::Args)]
pub struct BudgetArgs {
    /// Most YAML nodes the run may read, over all its files: documents,
    /// alias expansions and anchor copies count. Raise it for large trusted
    /// inputs (about 65 nodes per Kubernetes object).
    #[arg(long, value_name = "N", default_value_t = BudgetLimits::DEFAULT_MAX_NODES)]
    pub max_yaml_nodes: usize,
    /// Most bytes of YAML the run may read, over all its files.
    #[arg(long, value_name = "BYTES", default_value_t = BudgetLimits::DEFAULT_MAX_BYTES)]
    pub max_yaml_bytes: usize,
}

impl BudgetArgs {
    /// The run's budget.
    pub fn budget(&self) -> Budget {
        Budget::new(BudgetLimits {
            max_nodes: self.max_yaml_nodes,
            max_bytes: self.max_yaml_bytes,
        })
    }
}

/// Say which flag raises the limit `budget` ran out of, when it ran out.
pub fn hint(err: anyhow::Error, budget: &Budget) -> anyhow::Error {
    match budget.exhausted() {
        Some(Exhausted::Nodes { limit }) => err.context(format!(
            "the YAML node budget of {limit} is exhausted (--max-yaml-nodes raises it for trusted input)"
        )),
        Some(Exhausted::Bytes { limit }) => err.context(format!(
            "the YAML byte budget of {limit} is exhausted (--max-yaml-bytes raises it for trusted input)"
        )),
        Some(_) => err.context("excessive YAML aliasing (refused whatever the budget)"),
        None => err,
    }
}
