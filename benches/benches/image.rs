//! image benches (being written).
fn main() {}
