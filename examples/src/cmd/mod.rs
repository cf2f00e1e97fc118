//! One module per command noun.

pub mod version;
