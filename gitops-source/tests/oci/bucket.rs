//! S3-compatible buckets against moto's server.

use gitops_core::flux::BucketSpec;
use gitops_source::bucket::{self, BucketCredentials, Error};
use gitops_source::registry::Options;
use object_store::ObjectStoreExt as _;
use object_store::path::Path as ObjectPath;

use crate::support::s3::S3;

pub(crate) fn spec(
    endpoint: &str,
    bucket: &str,
    prefix: Option<&str>,
    ignore: Option<&str>,
) -> BucketSpec {
    let mut v = serde_json::json!({
        "bucketName": bucket, "endpoint": endpoint, "interval": "1m", "provider": "generic"
    });
    if let Some(p) = prefix {
        v["prefix"] = p.into();
    }
    if let Some(i) = ignore {
        v["ignore"] = i.into();
    }
    serde_json::from_value(v).expect("spec")
}

pub(crate) fn creds() -> BucketCredentials {
    BucketCredentials::new("testing", "testing-secret")
}

/// Create `bucket` and upload `objects` with plain S3 calls.
pub(crate) fn seed(s3: &S3, bucket: &str, objects: &[(&str, &str)]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // moto creates a bucket on PUT /<bucket>.
        let url = format!("http://{}/{bucket}", s3.endpoint());
        let resp = reqwest::Client::new()
            .put(&url)
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
            .send()
            .await
            .expect("create bucket");
        assert!(resp.status().is_success(), "create bucket: {}", resp.status());
        let store = bucket::store(
            &spec(&s3.endpoint(), bucket, None, None),
            Some(&creds()),
            &Options::default(),
        )
        .expect("store");
        for (k, v) in objects {
            store
                .put(&ObjectPath::from(*k), v.as_bytes().to_vec().into())
                .await
                .expect("put");
        }
    });
}

#[test]
fn fetch_with_prefix_and_sourceignore() {
    let s3 = S3::start();
    seed(
        &s3,
        "manifests",
        &[
            (".sourceignore", "*.md\n"),
            ("prod/app.yaml", "kind: Deployment\n"),
            ("prod/README.md", "ignored by .sourceignore"),
            ("prod/sub/svc.yaml", "kind: Service\n"),
            (
                "prod/logo.png",
                "kept: a user pattern replaces the defaults",
            ),
            ("production-old/x.yaml", "outside the prefix"),
            ("staging/app.yaml", "outside the prefix"),
        ],
    );
    let out = tempfile::tempdir().expect("tmp");
    let s = spec(
        &s3.endpoint(),
        "manifests",
        Some("prod/"),
        Some("sub/skip.yaml\n"),
    );
    let f = bucket::fetch(
        &s,
        Some(&creds()),
        &Options::default(),
        &out.path().join("a"),
    )
    .expect("fetch");
    assert_eq!(f.objects, 3, "app.yaml, sub/svc.yaml, logo.png");
    assert_eq!(f.ignored, 1);
    assert_eq!(
        std::fs::read_to_string(out.path().join("a/prod/sub/svc.yaml")).expect("file"),
        "kind: Service\n"
    );
    assert!(!out.path().join("a/prod/README.md").exists());
    assert!(!out.path().join("a/staging").exists());
    assert!(f.revision.to_string().starts_with("sha256:"));
    // Same bucket, same revision and artifact digest.
    let g = bucket::fetch(
        &s,
        Some(&creds()),
        &Options::default(),
        &out.path().join("b"),
    )
    .expect("fetch");
    assert_eq!(g.revision, f.revision);
    assert_eq!(g.artifact.digest, f.artifact.digest);
    // A plain string prefix (not a directory) works like S3's.
    let s = spec(&s3.endpoint(), "manifests", Some("prod"), None);
    let h = bucket::fetch(
        &s,
        Some(&creds()),
        &Options::default(),
        &out.path().join("c"),
    )
    .expect("fetch");
    assert_eq!(h.objects, 4, "prod/* (3 kept) + production-old/x.yaml");
}

#[test]
fn missing_bucket_and_busy_destination_are_errors() {
    let s3 = S3::start();
    let out = tempfile::tempdir().expect("tmp");
    let s = spec(&s3.endpoint(), "does-not-exist", None, None);
    let err = bucket::fetch(
        &s,
        Some(&creds()),
        &Options::default(),
        &out.path().join("a"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("bucket does-not-exist: cannot"),
        "{err}"
    );
    std::fs::write(out.path().join("file"), "x").expect("write");
    let err = bucket::fetch(&s, Some(&creds()), &Options::default(), out.path()).unwrap_err();
    assert!(matches!(err, Error::Destination(_)), "{err:?}");
}
