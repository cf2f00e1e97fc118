//! What the Helm unit tests share: the chart corpus and a seeded source of
//! pseudo-random numbers for mutation tests.

use std::path::PathBuf;

/// `$GITOPS_CONFORMANCE_DIR/helm-charts` (default
/// `../shared/conformance/helm-charts` beside the repository), or `None`
/// with a line saying the corpus checks did not run; under `CI=true` a
/// missing corpus fails the test.
pub(crate) fn corpus() -> Option<PathBuf> {
    gitops_test_support::conformance_dir("helm chart corpus", "helm-charts")
        .map(|d| d.join("helm-charts"))
}

/// A xorshift generator: the same numbers for the same seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
