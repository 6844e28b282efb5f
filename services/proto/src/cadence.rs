//! Protocol 1.2's adaptive location cadence: how often the apps of an active session
//! should send precise fixes, by the last distance computed (the true distance, before
//! rounding), with hysteresis so that jitter at a boundary does not flap. Pure rules, so
//! the location service, the session snapshot and the tests share one definition.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `near` starts above this distance and `close` ends at it (metres).
pub const CLOSE_BOUND_M: f64 = 500.0;
/// `far` starts above this distance and `near` ends at it (metres).
pub const NEAR_BOUND_M: f64 = 5_000.0;
/// A session moves back to a farther band only when the distance exceeds the bound by
/// this fraction (20 %: `close` → `near` above 600 m, `near` → `far` above 6,000 m).
pub const HYSTERESIS: f64 = 0.2;

/// A cadence band, from farthest to closest (`arrived` is final).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CadenceBand {
    /// d > 5,000 m: every 60 s, or after 200 m.
    Far,
    /// 500 m < d ≤ 5,000 m (and before any distance): every 15 s, or after 50 m.
    Near,
    /// d ≤ 500 m: every 5 s, or after 10 m.
    Close,
    /// The `arrived` stage was announced: stop sending (final).
    Arrived,
}

impl CadenceBand {
    /// The band before any distance is known.
    pub const INITIAL: Self = Self::Near;

    /// The wire name, also stored in `session_positions.cadence_band`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Far => "far",
            Self::Near => "near",
            Self::Close => "close",
            Self::Arrived => "arrived",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Far, Self::Near, Self::Close, Self::Arrived]
            .into_iter()
            .find(|band| band.as_str() == name)
    }

    /// Seconds between fixes the apps should keep (0: stop sending until told otherwise).
    pub fn interval_s(self) -> u32 {
        match self {
            Self::Far => 60,
            Self::Near => 15,
            Self::Close => 5,
            Self::Arrived => 0,
        }
    }

    /// The smallest move (metres) worth a fix before the interval is up.
    pub fn min_move_m(self) -> u32 {
        match self {
            Self::Far => 200,
            Self::Near => 50,
            Self::Close => 10,
            Self::Arrived => 0,
        }
    }

    /// The band of `distance_m` without hysteresis (the bound belongs to the closer band).
    pub fn of_distance(distance_m: f64) -> Self {
        if distance_m <= CLOSE_BOUND_M {
            Self::Close
        } else if distance_m <= NEAR_BOUND_M {
            Self::Near
        } else {
            Self::Far
        }
    }

    /// The band a session in `current` (`None`: no band yet, i.e. `near`) moves to when a
    /// distance of `distance_m` (true, unrounded) is computed; `arrived` is whether the
    /// `arrived` stage has been announced in the session (this computation included).
    /// Closer as soon as the distance reaches a closer band's bound; farther only when it
    /// exceeds the bound by [`HYSTERESIS`]; `arrived` never changes.
    pub fn next(current: Option<Self>, distance_m: f64, arrived: bool) -> Self {
        let current = current.unwrap_or(Self::INITIAL);
        if arrived || current == Self::Arrived {
            return Self::Arrived;
        }
        let reached = Self::of_distance(distance_m);
        if reached > current {
            return reached;
        }
        let widened = if distance_m > NEAR_BOUND_M * (1.0 + HYSTERESIS) {
            Self::Far
        } else if distance_m > CLOSE_BOUND_M * (1.0 + HYSTERESIS) {
            Self::Near
        } else {
            Self::Close
        };
        widened.min(current)
    }

    /// The cadence object of this band.
    pub fn cadence(self) -> Cadence {
        Cadence {
            band: self,
            interval_s: self.interval_s(),
            min_move_m: self.min_move_m(),
        }
    }
}

/// A band with its advice, as the session snapshot carries it (`location_cadence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cadence {
    /// `far`, `near`, `close` or `arrived`.
    pub band: CadenceBand,
    /// Seconds between precise fixes (0: stop sending until told otherwise).
    pub interval_s: u32,
    /// Metres of movement worth a fix before the interval is up.
    pub min_move_m: u32,
}

#[cfg(test)]
mod tests {
    use super::CadenceBand::{self, Arrived, Close, Far, Near};

    fn next(current: CadenceBand, distance_m: f64) -> CadenceBand {
        CadenceBand::next(Some(current), distance_m, false)
    }

    #[test]
    fn the_advice_of_each_band_is_the_contracts() {
        let table: Vec<_> = [Far, Near, Close, Arrived]
            .into_iter()
            .map(|b| (b.as_str(), b.interval_s(), b.min_move_m()))
            .collect();
        assert_eq!(
            table,
            [
                ("far", 60, 200),
                ("near", 15, 50),
                ("close", 5, 10),
                ("arrived", 0, 0)
            ]
        );
        for band in [Far, Near, Close, Arrived] {
            assert_eq!(CadenceBand::parse(band.as_str()), Some(band));
            assert_eq!(serde_json::to_value(band).expect("json"), band.as_str());
        }
        assert_eq!(CadenceBand::parse("nope"), None);
    }

    #[test]
    fn before_any_distance_the_band_is_near() {
        assert_eq!(CadenceBand::INITIAL, Near);
        assert_eq!(CadenceBand::next(None, 3_000.0, false), Near);
        assert_eq!(CadenceBand::next(None, 5_500.0, false), Near, "hysteresis");
        assert_eq!(CadenceBand::next(None, 6_000.1, false), Far);
        assert_eq!(CadenceBand::next(None, 500.0, false), Close);
        assert_eq!(CadenceBand::next(None, 30.0, true), Arrived);
    }

    #[test]
    fn moving_closer_changes_band_as_soon_as_the_bound_is_reached() {
        assert_eq!(next(Far, 5_000.1), Far);
        assert_eq!(next(Far, 5_000.0), Near);
        assert_eq!(next(Far, 500.0), Close, "bands passed over");
        assert_eq!(next(Near, 500.1), Near);
        assert_eq!(next(Near, 500.0), Close);
        assert_eq!(next(Near, 0.0), Close);
    }

    #[test]
    fn moving_away_changes_band_only_20_percent_past_the_bound() {
        assert_eq!(next(Near, 5_000.1), Near);
        assert_eq!(next(Near, 6_000.0), Near);
        assert_eq!(next(Near, 6_000.1), Far);
        assert_eq!(next(Close, 500.1), Close);
        assert_eq!(next(Close, 600.0), Close);
        assert_eq!(next(Close, 600.1), Near);
        assert_eq!(next(Close, 6_000.0), Near);
        assert_eq!(next(Close, 6_000.1), Far, "bands passed over");
        // Back and forth at a boundary does not flap.
        let mut band = Near;
        for d in [499.0, 550.0, 480.0, 599.0, 505.0] {
            band = next(band, d);
            assert_eq!(band, Close, "{d}");
        }
    }

    #[test]
    fn arrived_is_final() {
        assert_eq!(CadenceBand::next(Some(Close), 40.0, true), Arrived);
        assert_eq!(CadenceBand::next(Some(Far), 9_000.0, true), Arrived);
        assert_eq!(next(Arrived, 10_000.0), Arrived);
        assert_eq!(next(Arrived, 700.0), Arrived);
    }

    #[test]
    fn the_snapshot_object_carries_the_advice() {
        assert_eq!(
            serde_json::to_value(Close.cadence()).expect("json"),
            serde_json::json!({"band": "close", "interval_s": 5, "min_move_m": 10})
        );
    }
}
