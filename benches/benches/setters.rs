//! setters benches (being written).
fn main() {}
