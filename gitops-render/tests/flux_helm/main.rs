//! Flux and Helm layers of gitops-render: conformance tables, Helm as an
//! oracle, envsubst properties and the Flux build/apply plan.

mod conformance;
mod flux;
mod helm_oracle;
mod helm_values;

use std::path::PathBuf;

use serde_json::Value;

/// The shared conformance directory, or `None` (after printing one line)
/// when it is absent outside CI. Under `CI=true` an absent directory panics.
pub fn conformance_dir(suite: &str) -> Option<PathBuf> {
    gitops_test_support::conformance_dir(suite, "")
}

/// JSON equality where numbers compare by value (`3.0 == 3`).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}
