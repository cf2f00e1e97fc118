//! The YAML budget of a run.
//!
//! Every YAML stream this crate reads during one run — the files of a
//! kustomization tree, patches, replacements, plugin output, the values of a
//! HelmRelease, the manifests of a Flux build — counts against one
//! [`Budget`] (nodes after alias expansion, counted before they are built,
//! and input bytes; see [`gitops_core::yaml::Budget`]). A kustomize build
//! takes it from [`Options::budget`](crate::Options::budget); other entry
//! points read under [`scope`]. Outside any scope each stream gets a fresh
//! default budget, which is as safe as one run of one file.
//!
//! ```
//! use gitops_core::yaml::{Budget, BudgetLimits};
//! use gitops_render::{budget, helm::values::read_values};
//!
//! let run = Budget::new(BudgetLimits { max_nodes: 8, ..BudgetLimits::default() });
//! let first = budget::scope(&run, || read_values("a: 1\nb: 2\n", "one.yaml"));
//! assert!(first.is_ok()); // 1 document, 1 mapping, 4 scalars
//! let second = budget::scope(&run, || read_values("c: 3\n", "two.yaml"));
//! assert!(second.unwrap_err().starts_with("two.yaml:1: more than 8 YAML nodes"));
//! ```

use std::cell::RefCell;

use gitops_core::yaml::{self, Budget, Document, ReadOptions};

thread_local! {
    static CURRENT: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Restores the previous budget when a scope ends, also on unwinding.
struct Restore(Option<Budget>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Run `f` with every YAML stream this crate reads on this thread counted
/// against `budget`. Scopes nest; the innermost wins.
pub fn scope<R>(budget: &Budget, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(budget.clone()));
    let _restore = Restore(previous);
    f()
}

/// The budget of the enclosing [`scope`], if any.
pub fn current() -> Option<Budget> {
    CURRENT.with(|c| c.borrow().clone())
}

/// [`yaml::parse_documents`] against the current budget (a fresh default
/// one outside a scope).
pub(crate) fn parse_documents(src: &str, origin: &str) -> Result<Vec<Document>, yaml::Error> {
    parse_documents_opts(src, origin, ReadOptions::default())
}

/// [`yaml::parse_documents_opts`] against the current budget.
pub(crate) fn parse_documents_opts(
    src: &str,
    origin: &str,
    options: ReadOptions,
) -> Result<Vec<Document>, yaml::Error> {
    let budget = current().unwrap_or_default();
    yaml::parse_documents_in(src, origin, options, &budget)
}
