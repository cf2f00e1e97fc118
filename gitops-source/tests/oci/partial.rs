//! A refused or failed extraction leaves its destination as it was: layers
//! (and archives) are unpacked beside the destination and moved into place
//! only when complete.

use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use gitops_core::flux::BucketSpec;
use gitops_source::archive::{self, Limits};
use gitops_source::bucket::{self, BucketCredentials};
use gitops_source::oci::{self, Error, FLUX_CONTENT_MEDIA_TYPE, PullSpec};
use gitops_source::registry::{Client, Keychain, Options};

use crate::support::registry::{Registry, Seeder};

type Tar = tar::Builder<GzEncoder<Vec<u8>>>;

fn targz(build: impl FnOnce(&mut Tar)) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    build(&mut b);
    b.into_inner().unwrap().finish().unwrap()
}

/// An entry with a raw name (`tar` refuses to write `..` itself).
fn entry(b: &mut Tar, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// Good entries first, then `last`.
fn layer(last: impl FnOnce(&mut Tar)) -> Vec<u8> {
    targz(|b| {
        entry(b, "deploy/app.yaml", b"kind: Deployment\n");
        entry(b, "deploy/svc.yaml", b"kind: Service\n");
        entry(b, "kustomization.yaml", b"resources: [deploy]\n");
        last(b);
    })
}

/// 64 MiB of zeros after the good entries: about 64 KiB compressed.
fn bomb() -> Vec<u8> {
    let bytes = layer(|b| entry(b, "zeros", &vec![0u8; 64 << 20]));
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    bytes
}

fn small_limits() -> Limits {
    Limits {
        max_total: 8 << 20,
        max_file: 1 << 30,
        max_entries: 100,
    }
}

/// Push `layer` as a Flux artifact `repo:tag`.
fn push_layer(reg: &Registry, repo: &str, tag: &str, layer: &[u8]) {
    let seed = Seeder::new(&reg.host());
    let layer_digest = seed.blob(repo, layer);
    let config = b"{}";
    let config_digest = seed.blob(repo, config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::OCI_MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": oci::FLUX_CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [{
            "mediaType": FLUX_CONTENT_MEDIA_TYPE,
            "digest": layer_digest,
            "size": layer.len(),
        }],
    });
    seed.manifest(
        repo,
        tag,
        oci::OCI_MANIFEST_MEDIA_TYPE,
        &serde_json::to_vec(&manifest).unwrap(),
    );
}

fn client() -> Client {
    Client::new(Keychain::anonymous(), Options::default()).expect("client")
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn archive_bomb_leaves_no_partial_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let err = archive::extract(&bomb()[..], &dest, &small_limits()).unwrap_err();
    assert!(
        matches!(err, archive::Error::TooLarge { limit } if limit == 8 << 20),
        "{err:?}"
    );
    assert!(!dest.exists(), "partial tree left: {:?}", names(&dest));
    assert_eq!(names(tmp.path()), Vec::<String>::new(), "staging removed");
    // An existing empty destination stays, empty, with its permissions.
    std::fs::create_dir(&dest).unwrap();
    std::fs::set_permissions(&dest, std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    let refused = layer(|b| entry(b, "../escape.yaml", b"x"));
    let err = archive::extract(&refused[..], &dest, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsafe path \"../escape.yaml\" in archive: contains `..`"
    );
    assert_eq!(names(&dest), Vec::<String>::new());
    assert_eq!(names(tmp.path()), ["out"]);
    // A good archive replaces the empty destination, keeping its mode.
    let good = layer(|_| {});
    let out = archive::extract(&good[..], &dest, &Limits::default()).unwrap();
    assert_eq!(out.files, 3);
    assert_eq!(names(&dest), ["deploy", "kustomization.yaml"]);
    assert_eq!(names(tmp.path()), ["out"]);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dest).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o711);
    // Not empty any more: refused before anything is written.
    let err = archive::extract(&good[..], &dest, &Limits::default()).unwrap_err();
    assert!(matches!(err, archive::Error::Destination { .. }), "{err:?}");
    assert_eq!(names(tmp.path()), ["out"]);
}

#[test]
fn refused_layer_leaves_destination_as_it_was() {
    let reg = Registry::start();
    push_layer(
        &reg,
        "manifests/evil",
        "dotdot",
        &layer(|b| entry(b, "../escape.yaml", b"x")),
    );
    let c = client();
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("artifacts");
    let dest = parent.join("app");
    let spec = PullSpec::tag(&format!("oci://{}/manifests/evil", reg.host()), "dotdot").unwrap();
    let err = oci::pull(&c, &spec, &dest).unwrap_err();
    let Error::Archive { source, .. } = &err else {
        panic!("expected an archive error, got {err:?}");
    };
    assert_eq!(
        source.to_string(),
        "unsafe path \"../escape.yaml\" in archive: contains `..`"
    );
    assert!(!dest.exists(), "partial tree left: {:?}", names(&dest));
    assert_eq!(names(&parent), Vec::<String>::new(), "staging removed");
    assert!(!tmp.path().join("escape.yaml").exists());
    assert!(!parent.join("escape.yaml").exists());
    // An existing, empty destination stays empty.
    std::fs::create_dir(&dest).unwrap();
    oci::pull(&c, &spec, &dest).unwrap_err();
    assert_eq!(names(&dest), Vec::<String>::new());
    assert_eq!(names(&parent), ["app"]);
}

#[test]
fn gzip_bomb_layer_leaves_nothing_and_a_good_pull_still_lands() {
    let reg = Registry::start();
    push_layer(&reg, "manifests/bomb", "v1", &bomb());
    push_layer(&reg, "manifests/bomb", "good", &layer(|_| {}));
    let c = client();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("app");
    let url = format!("oci://{}/manifests/bomb", reg.host());
    let spec = PullSpec::tag(&url, "v1").unwrap();
    let err = oci::pull_with_limits(&c, &spec, &dest, &small_limits()).unwrap_err();
    let Error::Archive { source, .. } = &err else {
        panic!("expected an archive error, got {err:?}");
    };
    assert_eq!(
        source.to_string(),
        format!("archive expands beyond {} bytes", 8 << 20)
    );
    assert!(!dest.exists(), "partial tree left: {:?}", names(&dest));
    assert_eq!(names(tmp.path()), Vec::<String>::new(), "staging removed");

    let good = PullSpec::tag(&url, "good").unwrap();
    let pulled = oci::pull_with_limits(&c, &good, &dest, &small_limits()).expect("pull");
    assert_eq!(names(&dest), ["deploy", "kustomization.yaml"]);
    assert_eq!(names(tmp.path()), ["app"]);
    assert_eq!(
        std::fs::read_to_string(dest.join("deploy/svc.yaml")).unwrap(),
        "kind: Service\n"
    );
    // The artifact is the destination, re-packed.
    let mut again = Vec::new();
    archive::write(&dest, &archive::Options::default(), &mut again).unwrap();
    assert_eq!(
        pulled.artifact.digest,
        archive::digest_of(&again[..]).unwrap()
    );
}

/// Create `bucket` on `s3` and upload `objects`.
fn seed_bucket(s3: &crate::support::s3::S3, spec: &BucketSpec, objects: &[(&str, &str)]) {
    use object_store::ObjectStoreExt as _;
    // reqwest is built without a default TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // moto creates a bucket on PUT /<bucket>.
        let url = format!("http://{}/{}", s3.endpoint(), spec.bucket_name);
        let resp = reqwest::Client::new()
            .put(&url)
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
            .send()
            .await
            .expect("create bucket");
        assert!(resp.status().is_success(), "create bucket: {}", resp.status());
        let store = bucket::store(spec, Some(&bucket_creds()), &Options::default()).expect("store");
        for (k, v) in objects {
            store
                .put(
                    &object_store::path::Path::from(*k),
                    v.as_bytes().to_vec().into(),
                )
                .await
                .expect("put");
        }
    });
}

fn bucket_creds() -> BucketCredentials {
    BucketCredentials::new("testing", "testing-secret")
}

#[test]
fn failed_bucket_fetch_leaves_destination_as_it_was() {
    let s3 = crate::support::s3::S3::start();
    let spec: BucketSpec = serde_json::from_value(serde_json::json!({
        "bucketName": "clash", "endpoint": s3.endpoint(), "interval": "1m", "provider": "generic"
    }))
    .unwrap();
    // `app` is a file, then `app/svc.yaml` needs it to be a directory: the
    // fetch fails after `a.yaml` and `app` were written.
    seed_bucket(
        &s3,
        &spec,
        &[
            ("a.yaml", "kind: Deployment\n"),
            ("app", "a file"),
            ("app/svc.yaml", "kind: Service\n"),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("bucket");
    let err = bucket::fetch(&spec, Some(&bucket_creds()), &Options::default(), &dest).unwrap_err();
    assert!(matches!(err, bucket::Error::Io { .. }), "{err:?}");
    assert!(!dest.exists(), "partial tree left: {:?}", names(&dest));
    assert_eq!(names(tmp.path()), Vec::<String>::new(), "staging removed");
}
