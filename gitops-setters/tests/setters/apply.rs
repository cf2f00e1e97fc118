//! Computing and splicing new values.

use gitops_core::fs::RelPath;
use gitops_setters::apply::{Policies, apply_str, value_for};
use gitops_setters::marker::Field;
use gitops_setters::scan::WarningKind;

use crate::{policies, rel};

const DIGEST: &str = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be";

fn apply(src: &str, p: &Policies) -> String {
    apply_str(&rel("f.yaml"), src, p)
        .contents
        .unwrap_or_else(|| src.to_owned())
}

fn m(suffix: &str) -> String {
    format!("# {{\"$imagepolicy\": \"ns:app{suffix}\"}}")
}

#[test]
fn values_for_each_suffix() {
    let with = gitops_core::ImageRef::parse(&format!("ghcr.io/org/app:v2@{DIGEST}")).unwrap();
    let without = gitops_core::ImageRef::parse("ghcr.io/org/app:v2").unwrap();
    assert_eq!(
        value_for(Field::Image, &with).unwrap(),
        format!("ghcr.io/org/app:v2@{DIGEST}")
    );
    assert_eq!(
        value_for(Field::Image, &without).unwrap(),
        "ghcr.io/org/app:v2"
    );
    assert_eq!(value_for(Field::Tag, &with).unwrap(), "v2");
    assert_eq!(value_for(Field::Name, &with).unwrap(), "ghcr.io/org/app");
    assert_eq!(value_for(Field::Digest, &with).unwrap(), DIGEST);
    assert_eq!(value_for(Field::Digest, &without), Err("digest"));
}

#[test]
fn quoting_styles_are_kept_or_added() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:1.10")]);
    let cases = [
        // (before, after) for the tag
        ("t: 1.9", "t: \"1.10\""),
        ("t: v1.9", "t: \"1.10\""),
        ("t: '1.9'", "t: '1.10'"),
        ("t: \"1.9\"", "t: \"1.10\""),
        ("t: [1.9, # M\n  x]", "t: [\"1.10\", # M\n  x]"),
    ];
    for (before, after) in cases {
        let src = if before.contains("# M") {
            before.replace("# M", &m(":tag"))
        } else {
            format!("{before} {}\n", m(":tag"))
        };
        let want = if after.contains("# M") {
            after.replace("# M", &m(":tag"))
        } else {
            format!("{after} {}\n", m(":tag"))
        };
        assert_eq!(apply(&src, &p), want, "{before}");
    }
    // A plain tag that stays a string stays plain.
    let p = policies(&[("ns:app", "ghcr.io/org/app:1.10.0")]);
    assert_eq!(
        apply(&format!("t: 1.9.0 {}\n", m(":tag")), &p),
        format!("t: 1.10.0 {}\n", m(":tag"))
    );
    // Booleans and dates under YAML 1.1 are quoted too.
    for tag in ["yes", "2024-01-02", "0755"] {
        let p = policies(&[("ns:app", &format!("app:{tag}"))]);
        assert_eq!(
            apply(&format!("t: x {}\n", m(":tag")), &p),
            format!("t: \"{tag}\" {}\n", m(":tag")),
            "{tag}"
        );
    }
}

#[test]
fn flow_context_values() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:2")]);
    let src = format!("c: {{name: x, image: 'app:1', # {}\n  }}\n", &m("")[2..]);
    assert_eq!(
        apply(&src, &p),
        src.replace("'app:1'", "'ghcr.io/org/app:2'")
    );
}

#[test]
fn crlf_is_preserved() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:2")]);
    let src = format!(
        "a: 1\r\nimage: app:1 {}\r\n# {{\"$imagepolicy\": \"ns:app:tag\"}}\r\ntag: \"1\"\r\nz: |\r\n  keep\r\n",
        m("")
    );
    let want = src
        .replace("image: app:1", "image: ghcr.io/org/app:2")
        .replace("tag: \"1\"", "tag: \"2\"");
    assert_eq!(apply(&src, &p), want);
}

#[test]
fn missing_digest_leaves_value_and_warns() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:2")]);
    let src = format!("digest: sha256:00 {}\n", m(":digest"));
    let out = apply_str(&rel("k.yaml"), &src, &p);
    assert_eq!(out.contents, None);
    assert!(out.changes.is_empty());
    assert_eq!(
        out.warnings[0].to_string(),
        "k.yaml:1: policy ns:app:digest has no digest to write; value left unchanged"
    );
    assert!(matches!(
        out.warnings[0].kind,
        WarningKind::MissingPart { part: "digest", .. }
    ));
}

#[test]
fn digest_is_written_when_known() {
    let p = policies(&[("ns:app", &format!("ghcr.io/org/app:2@{DIGEST}"))]);
    let src = format!("image: app:1 {}\ndigest: \"\" {}\n", m(""), m(":digest"));
    assert_eq!(
        apply(&src, &p),
        format!(
            "image: ghcr.io/org/app:2@{DIGEST} {}\ndigest: \"{DIGEST}\" {}\n",
            m(""),
            m(":digest")
        )
    );
}

#[test]
fn special_characters_in_surrounding_text_are_untouched() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:2")]);
    let src = format!(
        "# ünïcödé ☺ {{\"$imagepolicy\" mention in a header}}\nkey with spaces: \"é\\u263A\"\nimage:   app:1    {}   \n\t\n",
        m("")
    );
    let out = apply_str(&rel("f.yaml"), &src, &p);
    assert_eq!(
        out.contents.unwrap(),
        src.replace("app:1 ", "ghcr.io/org/app:2 ")
    );
    // The header comment mentions the key without being a marker.
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn changes_name_line_old_new_and_object() {
    let p = policies(&[("ns:app", "ghcr.io/org/app:2")]);
    let src = format!(
        "kind: Deployment\nmetadata:\n  name: web\nspec:\n  image: app:1 {}\n",
        m("")
    );
    let out = apply_str(&RelPath::new("d.yaml").unwrap(), &src, &p);
    let c = &out.changes[0];
    assert_eq!(
        (
            c.file.as_str(),
            c.line,
            c.old_value.as_str(),
            c.new_value.as_str(),
            c.setter.to_string(),
            c.object.to_string()
        ),
        (
            "d.yaml",
            5,
            "app:1",
            "ghcr.io/org/app:2",
            "ns:app".to_owned(),
            "Deployment/web".to_owned()
        )
    );
    let json = serde_json::to_value(c).unwrap();
    assert_eq!(json["setter"], "ns:app");
    assert_eq!(json["object"]["kind"], "Deployment");
}

#[test]
fn policy_assignments_parse() {
    let (id, img) =
        Policies::parse_assignment(&format!("flux-system:app=ghcr.io/org/app:1.0@{DIGEST}"))
            .unwrap();
    assert_eq!(id.to_string(), "flux-system:app");
    assert_eq!(img.digest().unwrap().as_str(), DIGEST);
    let e = Policies::parse_assignment("flux-system:app=Not An Image").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid policy assignment \"flux-system:app=Not An Image\""),
        "{e}"
    );
    assert!(Policies::parse_assignment("nope").is_err());
}
