//! parse ∘ format = id for the core text formats.

use gitops_core::{ImageRef, ObjectId, Revision};
use proptest::prelude::*;

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}((\\.|_|__|-{1,2})[a-z0-9]{1,6}){0,2}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,8}\\.[a-z]{2,4}",
        "[a-z0-9]{1,8}\\.[a-z]{2,4}:[0-9]{2,5}",
        Just("localhost".to_owned()),
        "localhost:[0-9]{2,5}",
    ]
}

fn image_ref() -> impl Strategy<Value = String> {
    (
        proptest::option::of(host()),
        "[a-z0-9]{1,6}((_|__|-{1,2})[a-z0-9]{1,6}){0,2}",
        proptest::collection::vec(component(), 0..3),
        proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        proptest::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(host, first, rest, tag, digest)| {
            // Without a host, a first component with '.' would read as one.
            let path: Vec<String> = std::iter::once(first).chain(rest).collect();
            let mut s = String::new();
            if let Some(h) = host {
                s.push_str(&h);
                s.push('/');
            }
            s.push_str(&path.join("/"));
            if let Some(t) = tag {
                s.push(':');
                s.push_str(&t);
            }
            if let Some(d) = digest {
                s.push_str("@sha256:");
                s.push_str(&d);
            }
            s
        })
}

proptest! {
    #[test]
    fn image_ref_round_trips(s in image_ref()) {
        let parsed = ImageRef::parse(&s).unwrap();
        prop_assert_eq!(parsed.to_string(), s.clone());
        let again = ImageRef::parse(&parsed.to_string()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn image_ref_never_panics(s in "\\PC{0,80}") {
        if let Ok(r) = ImageRef::parse(&s) {
            prop_assert_eq!(ImageRef::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn revision_round_trips(
        name in proptest::option::of("[a-z][a-z0-9./-]{0,20}"),
        sha1 in "[0-9a-f]{40}",
        sha256 in "[0-9a-f]{64}",
        use256 in any::<bool>(),
    ) {
        let digest = if use256 { format!("sha256:{sha256}") } else { format!("sha1:{sha1}") };
        let s = match &name { Some(n) => format!("{n}@{digest}"), None => digest };
        let r = Revision::parse(&s).unwrap();
        prop_assert_eq!(r.to_string(), s);
    }

    #[test]
    fn legacy_revision_upgrades(name in "[a-z][a-z0-9./-]{0,20}[a-z0-9]", sha1 in "[0-9a-f]{40}") {
        let r = Revision::parse(&format!("{name}/{sha1}")).unwrap();
        prop_assert_eq!(r.to_string(), format!("{name}@sha1:{sha1}"));
    }

    #[test]
    fn inventory_id_round_trips(
        ns in proptest::option::of("[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?"),
        name in "[a-z0-9]([-.a-z0-9]{0,20}[a-z0-9])?",
        group in prop_oneof![Just(String::new()), Just("apps".to_owned()), "[a-z]{1,8}\\.example\\.com"],
        kind in "[A-Z][A-Za-z]{0,12}",
    ) {
        let id = ObjectId { group, version: "v1".into(), kind, namespace: ns, name };
        let inv = id.inventory_id();
        prop_assert_eq!(ObjectId::from_inventory_id(&inv, "v1").unwrap(), id);
    }

    #[test]
    fn rbac_inventory_id_round_trips(name in "[a-z]{1,6}(:[a-z]{1,6}){0,3}") {
        let id = ObjectId::new("rbac.authorization.k8s.io/v1", "ClusterRole", None, &name);
        let inv = id.inventory_id();
        prop_assert!(!inv[1..inv.len() - "_rbac.authorization.k8s.io_ClusterRole".len()].contains(':'));
        prop_assert_eq!(ObjectId::from_inventory_id(&inv, "v1").unwrap(), id);
    }
}
