//! Distance maths of the contract: Haversine with R = 6371 km, 0.1 m rounding, the coarse
//! distances shown outside a session, and the "meters away" / "km away" texts.

use crate::limits::EARTH_RADIUS_M;

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude in degrees, [-90, 90].
    pub latitude: f64,
    /// Longitude in degrees, [-180, 180].
    pub longitude: f64,
}

impl Point {
    /// A point from latitude and longitude in degrees.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        Self {
            latitude,
            longitude,
        }
    }
}

/// Great-circle distance in metres (Haversine, Earth radius 6371 km), unrounded.
pub fn haversine_m(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = (b.latitude - a.latitude).to_radians();
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// `distance_meters` as sent to clients: rounded to 0.1 m.
pub fn round_meters(distance_m: f64) -> f64 {
    (distance_m * 10.0).round() / 10.0
}

/// The distance between two points as sent to clients (rounded to 0.1 m).
pub fn distance_meters(a: Point, b: Point) -> f64 {
    round_meters(haversine_m(a, b))
}

/// The step coarse distances are rounded to.
pub const COARSE_STEP_M: f64 = 100.0;

/// A distance as shown outside a session (`providers/nearby`, `work_assigned`): rounded to
/// the nearest 100 m, halves up, and at least 100 m: `max(100, round(d/100)*100)`. So no
/// one can recover a position by measuring from several points. Written as
/// `floor(d/100 + 0.5)` so that PostgreSQL's mirror of it in `providers/nearby`
/// (`greatest(100, floor(d / 100 + 0.5) * 100)`) gives the same value for the same input.
pub fn coarse_meters(distance_m: f64) -> f64 {
    let steps = (distance_m / COARSE_STEP_M + 0.5).floor();
    (steps * COARSE_STEP_M).max(COARSE_STEP_M)
}

/// `"450 meters"` / `"2.5 km"`: the work-assignment form, without "away".
pub fn format_short(distance_m: f64) -> String {
    let meters = distance_m.round();
    if meters < 1000.0 {
        format!("{meters:.0} meters")
    } else {
        format!("{:.1} km", round_one_decimal(distance_m / 1000.0))
    }
}

/// `"450 meters away"` / `"1.3 km away"`: the `distance_formatted` form.
pub fn format_away(distance_m: f64) -> String {
    format!("{} away", format_short(distance_m))
}

/// Half-away-from-zero rounding to one decimal, so 1.25 -> 1.3 as the contract's
/// examples expect (plain `{:.1}` would round half to even on the binary value).
fn round_one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_examples_format() {
        assert_eq!(format_away(450.4), "450 meters away");
        assert_eq!(format_away(1250.5), "1.3 km away");
        assert_eq!(format_away(12000.0), "12.0 km away");
        assert_eq!(format_short(2500.0), "2.5 km");
        assert_eq!(format_short(450.0), "450 meters");
    }

    #[test]
    fn rounding_edges() {
        assert_eq!(format_away(999.4), "999 meters away");
        // round(999.6) = 1000, so it is shown in km.
        assert_eq!(format_away(999.6), "1.0 km away");
        assert_eq!(format_away(0.0), "0 meters away");
        assert_eq!(format_away(1049.9), "1.0 km away");
        assert_eq!(format_away(1050.0), "1.1 km away");
        assert_eq!(round_meters(123.456), 123.5);
        assert_eq!(round_meters(123.44), 123.4);
    }

    #[test]
    fn coarse_distances() {
        assert_eq!(coarse_meters(0.0), 100.0);
        assert_eq!(coarse_meters(49.9), 100.0);
        assert_eq!(coarse_meters(50.0), 100.0);
        assert_eq!(coarse_meters(149.9), 100.0);
        assert_eq!(coarse_meters(150.0), 200.0);
        assert_eq!(coarse_meters(249.99), 200.0);
        assert_eq!(coarse_meters(250.0), 300.0);
        assert_eq!(coarse_meters(1249.9), 1200.0);
        assert_eq!(coarse_meters(1250.0), 1300.0);
        assert_eq!(coarse_meters(10_040.0), 10_000.0);
        assert_eq!(coarse_meters(10_050.0), 10_100.0);
        assert_eq!(format_short(coarse_meters(1250.0)), "1.3 km");
        assert_eq!(format_short(coarse_meters(449.0)), "400 meters");
        assert_eq!(format_short(coarse_meters(30.0)), "100 meters");
        assert_eq!(format_short(coarse_meters(999.0)), "1.0 km");
        // Always a multiple of 100.
        for tenth in 0..200_000 {
            let coarse = coarse_meters(f64::from(tenth) / 10.0);
            assert_eq!(coarse % 100.0, 0.0);
            assert!(coarse >= 100.0);
        }
    }

    #[test]
    fn haversine_known_values() {
        // One degree of latitude on a 6371 km sphere: 2 * pi * R / 360.
        let one_degree = haversine_m(Point::new(0.0, 0.0), Point::new(1.0, 0.0));
        assert!((one_degree - 111_194.93).abs() < 0.01, "{one_degree}");
        // Paris (48.8566, 2.3522) to London (51.5074, -0.1278): about 343.5 km.
        let paris_london = haversine_m(Point::new(48.8566, 2.3522), Point::new(51.5074, -0.1278));
        assert!((paris_london - 343_556.0).abs() < 100.0, "{paris_london}");
        assert_eq!(
            haversine_m(Point::new(10.0, 10.0), Point::new(10.0, 10.0)),
            0.0
        );
        // Antipodes: half the circumference.
        let antipodes = haversine_m(Point::new(0.0, 0.0), Point::new(0.0, 180.0));
        assert!((antipodes - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 0.001);
    }

    #[test]
    fn small_offsets_match_expected_metres() {
        // 450 m north of the equator is 450 / 111194.93 degrees.
        let north = |m: f64| Point::new(m / 111_194.926_644_558_7, 0.0);
        let origin = Point::new(0.0, 0.0);
        assert_eq!(distance_meters(origin, north(450.0)), 450.0);
        assert_eq!(
            format_away(haversine_m(origin, north(1250.5))),
            "1.3 km away"
        );
    }
}
