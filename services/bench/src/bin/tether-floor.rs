//! tether-floor
fn main() {}
