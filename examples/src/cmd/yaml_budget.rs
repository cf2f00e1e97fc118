//! `--max-yaml-nodes` and `--max-yaml-bytes`: the YAML budget of one run.

use gitops_core::yaml::{Budget, BudgetLimits, Exhausted};

/// Flags that size the YAML budget of a run (every YAML file the command
/// reads counts against one budget).
#[derive(Debug, Clone, clap::Args)]
pub struct BudgetArgs {
    /// Most YAML nodes the run may read, over all its files (for the
    /// setters commands, in each file): documents, alias expansions and
    /// anchor copies count. Raise it for large trusted inputs (about 65
    /// nodes per Kubernetes object).
    #[arg(long, value_name = "N", default_value_t = BudgetLimits::DEFAULT_MAX_NODES)]
    pub max_yaml_nodes: usize,
    /// Most bytes of YAML the run may read, over all its files (for the
    /// setters commands, in each file).
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

impl BudgetArgs {
    /// The same limits for each file on its own (commands that keep
    /// nothing from one file to the next).
    pub fn per_file(&self) -> gitops_setters::RunBudget {
        gitops_setters::RunBudget::PerFile(BudgetLimits {
            max_nodes: self.max_yaml_nodes,
            max_bytes: self.max_yaml_bytes,
        })
    }
}

/// Say which flag raises the limit `budget` ran out of, when it ran out.
pub fn hint(err: anyhow::Error, budget: &Budget) -> anyhow::Error {
    let exhausted = budget.exhausted();
    with_hint(err, exhausted)
}

/// [`hint`] for a run whose budgets are per file: the exhausted limit is
/// read from the error itself.
pub fn hint_in_chain(err: anyhow::Error) -> anyhow::Error {
    let exhausted = err
        .chain()
        .find_map(|c| match c.downcast_ref::<gitops_core::yaml::Error>() {
            Some(gitops_core::yaml::Error::Budget { exhausted, .. }) => Some(*exhausted),
            _ => None,
        });
    with_hint(err, exhausted)
}

fn with_hint(err: anyhow::Error, exhausted: Option<Exhausted>) -> anyhow::Error {
    match exhausted {
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
