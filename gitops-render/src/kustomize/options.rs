//! What a caller hands a build: [`Options`] with the output order, the
//! remote fetcher, the plugin executor and the YAML budget, and the traits
//! a caller implements to supply remote bases and non-builtin plugins.

use gitops_core::fs::FileTree;
use gitops_core::yaml::Budget;

/// Output order of the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Reorder {
    /// kustomize's legacy kind order (kubectl's default).
    #[default]
    Legacy,
    /// Keep the order in which resources were loaded (`--reorder none`).
    None,
}

/// Fetches remote bases (`https://…`, `github.com/…`, `git::…`).
///
/// A build never touches the network itself; callers that want remote
/// resources supply an implementation that returns the fetched directory as a
/// file tree whose root is the remote kustomization.
pub trait RemoteFetcher {
    /// Fetch `url` and return its content.
    fn fetch(
        &self,
        url: &str,
    ) -> Result<Box<dyn FileTree>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Build options.
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    /// Output order; a kustomization's `sortOptions` win over it.
    pub reorder: Reorder,
    /// Where remote resources come from; without one they are an error.
    pub fetcher: Option<&'a dyn RemoteFetcher>,
    /// Runs non-builtin plugins and Helm charts; without one they are an error.
    pub executor: Option<&'a dyn PluginExecutor>,
    /// The YAML budget of the whole build: every file of the kustomization
    /// tree counts against it. Without one, the build uses the budget of
    /// the enclosing [`budget::scope`](crate::budget::scope), else a fresh
    /// [`Budget::default`].
    pub budget: Option<&'a Budget>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("reorder", &self.reorder)
            .field("fetcher", &self.fetcher.is_some())
            .field("executor", &self.executor.is_some())
            .field("budget", &self.budget.map(Budget::limits))
            .finish()
    }
}

/// Error type an executor returns.
pub type ExecutorError = Box<dyn std::error::Error + Send + Sync>;

/// Runs plugins this crate does not implement itself: exec and Go plugins,
/// KRM functions (container, exec or starlark) and Helm chart inflation.
///
/// Configs and resources cross the boundary as YAML text; resource streams
/// are documents joined by `---\n`. Without an executor such plugins are an
/// [`Error::NeedsExecutor`](crate::Error::NeedsExecutor).
///
/// ```
/// use gitops_core::fs::{MemTree, RelPath};
/// use gitops_render::{ExecutorError, Options, PluginExecutor, render};
///
/// /// Generates one ConfigMap named after the plugin config's kind.
/// struct Echo;
/// impl PluginExecutor for Echo {
///     fn generate(&self, config: &str, _dir: &str) -> Result<String, ExecutorError> {
///         let kind = config.lines().find_map(|l| l.strip_prefix("kind: ")).unwrap_or("x");
///         Ok(format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n", kind.to_lowercase()))
///     }
///     fn transform(&self, _config: &str, resources: &str) -> Result<String, ExecutorError> {
///         Ok(resources.to_owned())
///     }
/// }
///
/// let mut tree = MemTree::new();
/// tree.insert("kustomization.yaml", "generators:\n- |\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: g\n")?;
/// let options = Options { executor: Some(&Echo), ..Options::default() };
/// let out = render(&tree, &RelPath::root(), &options)?;
/// assert_eq!(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gen\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait PluginExecutor {
    /// Run a generator: `config` is the plugin config (one YAML document),
    /// `dir` the kustomization directory it was listed in. Returns the
    /// generated resources as a YAML stream.
    fn generate(&self, config: &str, dir: &str) -> Result<String, ExecutorError>;

    /// Run a transformer (or validator) on `resources` (a YAML stream) and
    /// return the resulting stream.
    fn transform(&self, config: &str, resources: &str) -> Result<String, ExecutorError>;
}
