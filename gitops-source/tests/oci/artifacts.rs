//! Flux OCI artifacts: push, pull by tag / semver / digest, layer selection.

use std::time::{Duration, SystemTime};

use gitops_core::artifact::Content;
use gitops_core::{Digest, ImageRef};
use gitops_source::oci::{
    self, Error, FLUX_CONTENT_MEDIA_TYPE, LayerSelector, Metadata, OciRef, Operation, PullSpec,
    Reference,
};
use gitops_source::registry::{self, Client, Keychain, Options};

use crate::support::registry::{Fault, Proxy, Registry};
use crate::support::write_tree;

fn client() -> Client {
    Client::new(
        Keychain::anonymous(),
        Options::default().with_retries(2, Duration::from_millis(5), Duration::from_millis(20)),
    )
    .expect("client")
}

fn meta() -> Metadata {
    Metadata::new(
        "https://git.example/org/repo",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

fn source_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    write_tree(
        d.path(),
        &[
            ("deploy/app.yaml", "kind: Deployment\n"),
            ("deploy/svc.yaml", "kind: Service\n"),
            ("kustomization.yaml", "resources: [deploy/app.yaml]\n"),
            ("logo.png", "not packed: default ignore"),
        ],
    );
    d
}

#[test]
fn push_then_pull_by_tag_round_trips() {
    let reg = Registry::start();
    let c = client();
    let src = source_dir();
    let target = OciRef::parse(&format!("oci://{}/manifests/app:v1.0.0", reg.host())).expect("ref");
    let pushed = oci::push(&c, src.path(), &target, &meta()).expect("push");
    assert_eq!(
        pushed.revision.to_string(),
        format!("v1.0.0@{}", pushed.digest)
    );
    // Deterministic: pushing the same tree again gives the same manifest.
    let again = oci::push(&c, src.path(), &target, &meta()).expect("push again");
    assert_eq!(again.digest, pushed.digest);

    let out = tempfile::tempdir().expect("tmp");
    let dest = out.path().join("x");
    let spec =
        PullSpec::tag(&format!("oci://{}/manifests/app", reg.host()), "v1.0.0").expect("spec");
    let pulled = oci::pull(&c, &spec, &dest).expect("pull");
    assert_eq!(pulled.revision, pushed.revision);
    assert_eq!(pulled.layer_media_type, FLUX_CONTENT_MEDIA_TYPE);
    assert_eq!(pulled.layer_digest, pushed.layer_digest);
    assert_eq!(
        pulled
            .annotations
            .get(oci::ANNOTATION_CREATED)
            .map(String::as_str),
        Some("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        pulled
            .annotations
            .get(oci::ANNOTATION_SOURCE)
            .map(String::as_str),
        Some("https://git.example/org/repo")
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("deploy/svc.yaml")).expect("file"),
        "kind: Service\n"
    );
    assert!(!dest.join("logo.png").exists());
    // The manifest and config carry Flux's media types.
    let img = ImageRef::parse(&format!("{}/manifests/app", reg.host())).expect("img");
    assert_eq!(
        c.manifest_digest(&img, "v1.0.0").expect("digest"),
        pushed.digest
    );
    let body = crate::support::http::forward(
        &reg.host(),
        &crate::support::http::Request {
            method: "GET".into(),
            target: format!("/v2/manifests/app/manifests/{}", pushed.digest),
            headers: vec![(
                "Accept".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            )],
            body: vec![],
        },
    )
    .body;
    let m: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(m["config"]["mediaType"], oci::FLUX_CONFIG_MEDIA_TYPE);
    assert_eq!(m["layers"][0]["mediaType"], FLUX_CONTENT_MEDIA_TYPE);
    assert_eq!(
        m["annotations"][oci::ANNOTATION_REVISION],
        "main@sha1:0123456789abcdef0123456789abcdef01234567"
    );
}

#[test]
fn pull_by_semver_range_and_by_digest() {
    let reg = Registry::start();
    let c = client();
    let src = source_dir();
    let url = format!("oci://{}/manifests/app", reg.host());
    let mut digests = Vec::new();
    for tag in ["v1.0.0", "v1.1.0", "v2.0.0-rc.1", "latest"] {
        std::fs::write(src.path().join("version.txt"), tag).expect("write");
        let p = oci::push(
            &c,
            src.path(),
            &OciRef::parse(&format!("{url}:{tag}")).expect("ref"),
            &meta(),
        )
        .expect("push");
        digests.push(p.digest);
    }
    let out = tempfile::tempdir().expect("tmp");
    let mut spec = PullSpec::tag(&url, "unused").expect("spec");
    spec.reference = Reference::Semver {
        range: ">=1.0.0 <2".into(),
        filter: None,
    };
    let pulled = oci::pull(&c, &spec, &out.path().join("a")).expect("semver pull");
    assert_eq!(pulled.tag.as_deref(), Some("v1.1.0"));
    assert_eq!(
        pulled.revision.to_string(),
        format!("v1.1.0@{}", digests[1])
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("a/version.txt")).expect("file"),
        "v1.1.0"
    );
    // Prereleases only when the range asks for them; the filter narrows.
    spec.reference = Reference::Semver {
        range: ">=1.0.0-0".into(),
        filter: Some("rc".into()),
    };
    let pulled = oci::pull(&c, &spec, &out.path().join("b")).expect("rc pull");
    assert_eq!(pulled.tag.as_deref(), Some("v2.0.0-rc.1"));
    spec.reference = Reference::Semver {
        range: ">=3".into(),
        filter: None,
    };
    let err = oci::pull(&c, &spec, &out.path().join("c")).unwrap_err();
    assert!(matches!(err, Error::NoMatchingTag { .. }), "{err:?}");

    spec.reference = Reference::Digest(digests[0].clone());
    let pulled = oci::pull(&c, &spec, &out.path().join("d")).expect("digest pull");
    assert_eq!(pulled.revision.to_string(), digests[0].to_string());
    assert_eq!(pulled.tag, None);
}

#[test]
fn layer_selector_copy_and_missing_media_type() {
    let reg = Registry::start();
    let c = client();
    let src = source_dir();
    let url = format!("oci://{}/manifests/app", reg.host());
    let pushed = oci::push(
        &c,
        src.path(),
        &OciRef::parse(&format!("{url}:v1")).expect("ref"),
        &meta(),
    )
    .expect("push");
    let mut spec = PullSpec::tag(&url, "v1").expect("spec");
    spec.layer_selector = LayerSelector {
        media_type: Some(FLUX_CONTENT_MEDIA_TYPE.into()),
        operation: Operation::Copy,
    };
    let out = tempfile::tempdir().expect("tmp");
    let pulled = oci::pull(&c, &spec, &out.path().join("unused")).expect("copy");
    assert_eq!(pulled.artifact.digest, pushed.layer_digest);
    match &pulled.artifact.content {
        Content::Bytes(b) => assert_eq!(b.len() as u64, pushed.layer_size),
        other => panic!("expected bytes, got {other:?}"),
    }
    spec.layer_selector.media_type = Some("application/x-nope".into());
    let err = oci::pull(&c, &spec, &out.path().join("unused2")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}/manifests/app: no layer with media type \"application/x-nope\" (layers: {FLUX_CONTENT_MEDIA_TYPE})",
            reg.host()
        )
    );
}

#[test]
fn corrupted_blob_and_missing_tag_are_clear_errors() {
    let reg = Registry::start();
    let c = client();
    let src = source_dir();
    let pushed = oci::push(
        &c,
        src.path(),
        &OciRef::parse(&format!("oci://{}/manifests/app:v1", reg.host())).expect("ref"),
        &meta(),
    )
    .expect("push");
    let proxy = Proxy::start(&reg.host());
    proxy.add(
        &format!("/blobs/{}", pushed.layer_digest),
        Fault::Corrupt,
        usize::MAX,
    );
    let out = tempfile::tempdir().expect("tmp");
    let spec = PullSpec::tag(&format!("oci://{}/manifests/app", proxy.host()), "v1").expect("spec");
    let err = oci::pull(&c, &spec, &out.path().join("a")).unwrap_err();
    let Error::Registry { source, .. } = &err else {
        panic!("expected a registry error, got {err:?}");
    };
    assert!(
        matches!(source, registry::Error::DigestMismatch { .. }),
        "{source:?}"
    );
    assert!(
        source
            .to_string()
            .contains(&format!("expected {}", pushed.layer_digest)),
        "{source}"
    );
    let spec = PullSpec::tag(&format!("oci://{}/manifests/app", reg.host()), "v9").expect("spec");
    let err = oci::pull(&c, &spec, &out.path().join("b")).unwrap_err();
    let Error::Registry { source, .. } = &err else {
        panic!("expected a registry error, got {err:?}");
    };
    assert_eq!(
        source.to_string(),
        format!("manifest v9 not found in {}/manifests/app", reg.host())
    );
    // A digest that does not exist.
    let mut spec = spec;
    spec.reference = Reference::Digest(Digest::from_sha256_bytes(&[1; 32]));
    assert!(oci::pull(&c, &spec, &out.path().join("c")).is_err());
}
