//! Revisions and inventory ids: parsing never panics and what parses prints
//! back to a form that parses to the same value.
#![no_main]

use gitops_core::{ObjectId, Revision};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(rev) = Revision::parse(text) {
        let shown = rev.to_string();
        let again = Revision::parse(&shown).expect("a displayed revision parses");
        assert_eq!(again, rev, "{text:?} -> {shown:?}");
    }
    if let Ok(id) = ObjectId::from_inventory_id(text, "v1") {
        let again = ObjectId::from_inventory_id(&id.inventory_id(), "v1")
            .expect("an inventory id parses back");
        assert_eq!(again, id);
    }
});
