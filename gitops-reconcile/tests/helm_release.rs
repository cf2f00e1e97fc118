//! Helm release records against a record written by the real Helm v4.1.4:
//! `tests/helm/install-dry-run.json` is `helm install demo ./tiny
//! --dry-run=client -o json -n apps --set replicas=3` on the chart in
//! `tests/helm/tiny` (Helm prints the release with the same Go JSON
//! encoder its storage driver uses, plus a newline).

use gitops_reconcile::helm::release::{self, DecodeError, Stamp, Status};

const REAL: &str = include_str!("helm/install-dry-run.json");

#[test]
fn real_record_reencodes_byte_for_byte() {
    let rls: release::Release = serde_json::from_str(REAL).unwrap();
    assert_eq!(rls.name, "demo");
    assert_eq!(rls.namespace, "apps");
    assert_eq!(rls.version, 1);
    assert_eq!(rls.status(), Status::PendingInstall);
    let meta = rls.chart_metadata().unwrap();
    assert_eq!(
        (meta.name(), meta.version(), meta.app_version()),
        ("tiny", "0.1.0", "1.2.3")
    );
    assert_eq!(rls.config.as_ref().unwrap()["replicas"], 3);
    assert_eq!(rls.hooks.len(), 1);
    assert!(rls.hooks[0].runs_on("test"));
    assert!(
        rls.info
            .as_ref()
            .unwrap()
            .notes
            .contains("hello <world> & friends")
    );
    // Our JSON is Helm's JSON, byte for byte.
    assert_eq!(
        String::from_utf8(release::to_json(&rls)).unwrap(),
        REAL.trim_end()
    );
    // And the storage layers round-trip.
    let data = release::encode(&rls);
    assert_eq!(release::decode(&data).unwrap(), rls);
    let secret = release::to_secret(&rls, Stamp::Modified(1_767_225_600));
    assert_eq!(secret["metadata"]["name"], "sh.helm.release.v1.demo.v1");
    assert_eq!(secret["metadata"]["labels"]["status"], "pending-install");
    assert_eq!(secret["metadata"]["labels"]["version"], "1");
    assert_eq!(secret["metadata"]["labels"]["modifiedAt"], "1767225600");
    assert_eq!(release::from_secret(&secret).unwrap(), rls);
}

#[test]
fn bad_layers_are_named() {
    assert!(matches!(
        release::decode("%%%"),
        Err(DecodeError::Base64(_))
    ));
    // gzip magic, then garbage
    let data = base64_of(&[0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4]);
    assert!(matches!(release::decode(&data), Err(DecodeError::Gzip(_))));
    let data = base64_of(b"[1,2]");
    assert!(matches!(release::decode(&data), Err(DecodeError::Json(_))));
    let missing = serde_json::json!({"metadata": {"name": "x"}, "data": {}});
    assert!(release::from_secret(&missing).is_err());
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `"config": {}` and no config are the same record (Helm omits an empty
/// config when it writes): decoding either and encoding again is stable.
/// Found by the `helm_release` fuzz target.
#[test]
fn empty_config_is_no_config() {
    use base64::Engine as _;
    let with = r#"{"name":"demo","config":{},"version":1,"namespace":"apps"}"#;
    let data = base64::engine::general_purpose::STANDARD.encode(with);
    let rls = gitops_reconcile::helm::release::decode(&data).unwrap();
    assert_eq!(rls.config, None);
    let again =
        gitops_reconcile::helm::release::decode(&gitops_reconcile::helm::release::encode(&rls))
            .unwrap();
    assert_eq!(again, rls);
}
