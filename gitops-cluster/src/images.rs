//! The container images rendered objects run.

use serde_json::Value;

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The images of a Kubernetes object: the `image` of every item of a
/// `containers`, `initContainers` or `ephemeralContainers` list at any
/// depth (Pods, workload templates, CronJob job templates, custom
/// resources embedding a pod spec), in document order, each once.
///
/// ```
/// let deploy = serde_json::json!({
///     "kind": "Deployment",
///     "spec": {"template": {"spec": {
///         "initContainers": [{"name": "init", "image": "busybox:1.36"}],
///         "containers": [{"name": "app", "image": "ghcr.io/stefanprodan/podinfo:6.5.0"}],
///     }}},
/// });
/// assert_eq!(
///     gitops_cluster::images::of_object(&deploy),
///     ["busybox:1.36", "ghcr.io/stefanprodan/podinfo:6.5.0"]
/// );
/// ```
pub fn of_object(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(obj, &mut out, 0);
    out
}

/// The images of many objects, each once, in order of first use.
pub fn of_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut out = Vec::new();
    for o in objects {
        walk(o, &mut out, 0);
    }
    out
}

// Rendered objects are bounded by the render budgets; the depth bound only
// keeps a hand-built value from recursing without end.
const MAX_DEPTH: usize = 64;

fn walk(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if CONTAINER_LISTS.contains(&k.as_str())
                    && let Value::Array(items) = child
                {
                    for item in items {
                        if let Some(img) = item.get("image").and_then(Value::as_str)
                            && !img.is_empty()
                            && !out.iter().any(|i| i == img)
                        {
                            out.push(img.to_owned());
                        }
                    }
                }
                walk(child, out, depth + 1);
            }
        }
        Value::Array(items) => {
            for i in items {
                walk(i, out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cronjob_and_pods_and_duplicates() {
        let cj = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"image": "a:1"}, {"image": "b:2"}, {"image": "a:1"}]}}}}}});
        assert_eq!(of_object(&cj), ["a:1", "b:2"]);
        let pod = json!({"spec": {"ephemeralContainers": [{"image": "dbg"}], "containers": "no"}});
        assert_eq!(of_object(&pod), ["dbg"]);
        assert_eq!(of_objects([&cj, &pod]), ["a:1", "b:2", "dbg"]);
    }
}
