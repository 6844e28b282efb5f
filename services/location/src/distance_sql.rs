//! The contract's distance maths as SQL expressions, so a statement can decide, compute
//! and record a distance while it holds the session row: one statement per update instead
//! of a transaction of four (each UPDATE of `work_sessions` costs PostgreSQL its CHECK
//! constraints and eight index entries, which made the transaction 3x the cost).
//!
//! The expressions repeat the operations of `tether_proto::distance::haversine_m` and
//! `round_meters` in the same order on the same libm, so PostgreSQL computes the same
//! doubles as Rust (the integration tests compare them on random points).

/// Haversine distance in metres between two points given in degrees (SQL expressions),
/// with the Earth radius taken from parameter `$radius`.
macro_rules! haversine_sql {
    ($radius:literal, $lat1:literal, $lon1:literal, $lat2:literal, $lon2:literal) => {
        concat!(
            "(2::float8 * ",
            $radius,
            "::float8 * asin(least(sqrt(",
            "sin((",
            $lat2,
            " - ",
            $lat1,
            ") * (pi() / 180::float8) / 2::float8)",
            " * sin((",
            $lat2,
            " - ",
            $lat1,
            ") * (pi() / 180::float8) / 2::float8)",
            " + cos(",
            $lat1,
            " * (pi() / 180::float8)) * cos(",
            $lat2,
            " * (pi() / 180::float8))",
            " * (sin((",
            $lon2,
            " - ",
            $lon1,
            ") * (pi() / 180::float8) / 2::float8)",
            " * sin((",
            $lon2,
            " - ",
            $lon1,
            ") * (pi() / 180::float8) / 2::float8))",
            "), 1::float8)))"
        )
    };
}

/// `distance_meters` as sent: the Haversine distance rounded to 0.1 m, half away from
/// zero like `f64::round`.
macro_rules! rounded_distance_sql {
    ($radius:literal, $lat1:literal, $lon1:literal, $lat2:literal, $lon2:literal) => {
        concat!(
            "(round((",
            haversine_sql!($radius, $lat1, $lon1, $lat2, $lon2),
            " * 10::float8)::numeric)::float8 / 10::float8)"
        )
    };
}
