//! tether-bench
fn main() {}
