//! Places for tests that need coordinates of their own.

use uuid::Uuid;

/// Metres per degree of latitude on the contract's 6371 km sphere.
pub const M_PER_DEG: f64 = 111_194.926_644_558_7;

/// The latitude `metres` north of `base` along a meridian.
pub fn north(base: f64, metres: f64) -> f64 {
    base + metres / M_PER_DEG
}

/// A point no other test uses (derived from a fresh UUID), away from the poles: searches
/// around it see only the test's own providers, even on the shared database.
pub fn lonely_point() -> (f64, f64) {
    let bits = Uuid::new_v4().as_u128();
    let latitude = -50.0 + ((bits & 0xffff_ffff) as f64 / u32::MAX as f64) * 100.0;
    let longitude = -170.0 + (((bits >> 32) & 0xffff_ffff) as f64 / u32::MAX as f64) * 340.0;
    (latitude, longitude)
}
