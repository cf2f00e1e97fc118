//! PASS/FAIL/SKIP per Kustomization and HelmRelease, and JUnit XML.

use std::fmt::Write as _;

use crate::{Cluster, Outcome};

/// The result of one Kustomization or HelmRelease.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Case {
    /// `Kustomization` or `HelmRelease`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub id: String,
    /// `PASS`, `FAIL` or `SKIP`.
    pub label: &'static str,
    /// The error or the reason for skipping (empty on PASS).
    pub message: String,
}

/// One case per Kustomization, then per HelmRelease, in the cluster's order.
pub fn cases(cluster: &Cluster) -> Vec<Case> {
    let ks = cluster
        .kustomizations
        .iter()
        .map(|k| ("Kustomization", k.id(), &k.outcome));
    let hr = cluster
        .helm_releases
        .iter()
        .map(|h| ("HelmRelease", h.id(), &h.outcome));
    ks.chain(hr)
        .map(|(kind, id, o)| Case {
            kind,
            id,
            label: o.label(),
            message: match o {
                Outcome::Rendered(_) => String::new(),
                Outcome::Failed(m) | Outcome::Skipped(m) => m.clone(),
            },
        })
        .collect()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows tab, newline and carriage return among the
            // control characters, nothing else.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The cases as a JUnit XML report (one `testsuite` named `suite`; a
/// test case per object, classname its kind; `<failure>` and `<skipped>`
/// carry the message), as CI systems read it.
///
/// ```
/// use gitops_cluster::report::{Case, junit_xml};
/// let xml = junit_xml("cluster", &[]);
/// assert!(xml.contains(r#"<testsuite name="cluster" tests="0" failures="0" skipped="0">"#));
/// ```
pub fn junit_xml(suite: &str, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.label == "FAIL").count();
    let skipped = cases.iter().filter(|c| c.label == "SKIP").count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        cases.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        escape(suite),
        cases.len()
    );
    for c in cases {
        let head = format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            c.kind,
            escape(&c.id)
        );
        match c.label {
            "FAIL" => {
                let first = c.message.lines().next().unwrap_or_default();
                let _ = writeln!(
                    x,
                    "{head}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(first),
                    escape(&c.message)
                );
            }
            "SKIP" => {
                let _ = writeln!(
                    x,
                    "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&c.message)
                );
            }
            _ => {
                let _ = writeln!(x, "{head}/>");
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts() {
        let cases = vec![
            Case {
                kind: "Kustomization",
                id: "flux-system/apps".into(),
                label: "PASS",
                message: String::new(),
            },
            Case {
                kind: "HelmRelease",
                id: "a/b".into(),
                label: "FAIL",
                message: "bad <value> & \"x\"\u{1}\nline 2".into(),
            },
            Case {
                kind: "HelmRelease",
                id: "a/c".into(),
                label: "SKIP",
                message: "offline".into(),
            },
        ];
        let x = junit_xml("t", &cases);
        assert!(x.contains(r#"tests="3" failures="1" skipped="1""#), "{x}");
        assert!(x.contains(r#"<testcase classname="Kustomization" name="flux-system/apps"/>"#));
        assert!(
            x.contains("bad &lt;value&gt; &amp; &quot;x&quot;\u{FFFD}\nline 2</failure>"),
            "{x}"
        );
        assert!(x.contains(r#"<skipped message="offline"/>"#));
    }
}
