//! Helm release records (`sh.helm.release.v1.*` Secret data): decoding
//! never panics, stays within its size limit, and a decoded record encodes
//! to data that decodes to the same release.
#![no_main]

use gitops_reconcile::helm::release;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(rls) = release::decode_with_limit(text, 1 << 20) {
        let again = release::decode(&release::encode(&rls)).expect("an encoded release decodes");
        assert_eq!(again, rls);
    }
});
