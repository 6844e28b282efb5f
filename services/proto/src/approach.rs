//! Protocol 1.1's reading of a session's distances: arrival stages, and the trend and ETA
//! computed from the distances of the last two minutes. Pure functions, so the location
//! service, the tests and the documentation share one definition.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How long computed distances are kept for the trend (seconds): the contract's window.
pub const TREND_WINDOW_S: f64 = 120.0;
/// The trend is null until the distances kept span at least this long (seconds): the
/// contract's.
pub const TREND_MIN_SPAN_S: f64 = 20.0;
/// A change of at least this much over the window is a trend (metres).
pub const TREND_THRESHOLD_M: f64 = 30.0;
/// Slowest approach that still gives an ETA (metres per second).
pub const ETA_MIN_SPEED_M_S: f64 = 0.3;
/// At most this many distances are kept per session, however often they are computed
/// (the oldest go first): bounds the row, and at one a second it still covers the window.
pub const TREND_MAX_SAMPLES: usize = 128;

/// An arrival stage, from farthest to closest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalStage {
    /// Within 500 m.
    #[serde(rename = "approaching_500")]
    Approaching500,
    /// Within 100 m.
    #[serde(rename = "approaching_100")]
    Approaching100,
    /// Within 40 m.
    Arrived,
}

impl ArrivalStage {
    /// Each stage with its radius (metres), closest first.
    const BY_RADIUS: [(Self, f64); 3] = [
        (Self::Arrived, 40.0),
        (Self::Approaching100, 100.0),
        (Self::Approaching500, 500.0),
    ];

    /// The wire name, also stored in `session_positions.arrival_stage` and the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approaching500 => "approaching_500",
            Self::Approaching100 => "approaching_100",
            Self::Arrived => "arrived",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Approaching500, Self::Approaching100, Self::Arrived]
            .into_iter()
            .find(|stage| stage.as_str() == name)
    }

    /// The closest stage `distance_m` reaches (the boundary included), if any.
    pub fn reached(distance_m: f64) -> Option<Self> {
        Self::BY_RADIUS
            .iter()
            .find(|(_, radius)| distance_m <= *radius)
            .map(|(stage, _)| *stage)
    }

    /// The stage to announce for a distance when `announced` is the closest announced so
    /// far: only a stage closer than it (stages passed over are not announced).
    pub fn to_announce(distance_m: f64, announced: Option<Self>) -> Option<Self> {
        let reached = Self::reached(distance_m)?;
        announced
            .is_none_or(|last| reached > last)
            .then_some(reached)
    }
}

/// Whether the distance is shrinking, growing or steady over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Δ ≤ −30 m.
    Approaching,
    /// Δ ≥ +30 m.
    MovingAway,
    /// Otherwise.
    Stationary,
}

/// The trend's two windows: how long computed distances are kept, and how long the kept
/// ones must span before there is a trend. The contract's are [`TrendWindows::CONTRACT`]
/// (the default); the location service takes them from its settings, so that a test can
/// shorten them instead of waiting 20 s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendWindows {
    /// Distances older than this (seconds) are forgotten.
    pub keep_s: f64,
    /// No trend until the kept distances span this long (seconds).
    pub min_span_s: f64,
}

impl TrendWindows {
    /// [`TREND_WINDOW_S`] and [`TREND_MIN_SPAN_S`].
    pub const CONTRACT: Self = Self {
        keep_s: TREND_WINDOW_S,
        min_span_s: TREND_MIN_SPAN_S,
    };
}

impl Default for TrendWindows {
    fn default() -> Self {
        Self::CONTRACT
    }
}

/// The distances computed in the last [`TrendWindows::keep_s`], as `(time in seconds,
/// metres)` pairs, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentDistances {
    /// Times (seconds, any fixed origin), ascending.
    pub at: Vec<f64>,
    /// The distances, as sent.
    pub meters: Vec<f64>,
}

impl RecentDistances {
    /// Records a distance computed at `now` and forgets those older than the window (and
    /// the oldest beyond [`TREND_MAX_SAMPLES`]). Returns the trend and ETA of this one.
    pub fn record(
        &mut self,
        windows: TrendWindows,
        now: f64,
        meters: f64,
    ) -> (Option<Trend>, Option<u64>) {
        // Mismatched lengths can only come from a hand-edited row: start again.
        if self.at.len() != self.meters.len() {
            self.at.clear();
            self.meters.clear();
        }
        self.at.push(now);
        self.meters.push(meters);
        let keep_from = self
            .at
            .iter()
            .position(|&at| now - at <= windows.keep_s)
            .unwrap_or(self.at.len() - 1)
            .max(self.at.len().saturating_sub(TREND_MAX_SAMPLES));
        self.at.drain(..keep_from);
        self.meters.drain(..keep_from);
        trend_and_eta(windows, self.at[0], self.meters[0], now, meters)
    }
}

/// The contract's trend and ETA from the oldest kept distance `(t0, d0)` and this one
/// `(t1, d1)`, null under `windows.min_span_s`.
pub fn trend_and_eta(
    windows: TrendWindows,
    t0: f64,
    d0: f64,
    t1: f64,
    d1: f64,
) -> (Option<Trend>, Option<u64>) {
    let span = t1 - t0;
    if span < windows.min_span_s {
        return (None, None);
    }
    let change = d1 - d0;
    let trend = if change <= -TREND_THRESHOLD_M {
        Trend::Approaching
    } else if change >= TREND_THRESHOLD_M {
        Trend::MovingAway
    } else {
        Trend::Stationary
    };
    let speed = -change / span;
    let eta = (trend == Trend::Approaching && speed >= ETA_MIN_SPEED_M_S)
        // Half up; `as` saturates, and d1 / v is finite and non-negative here.
        .then(|| (d1 / speed + 0.5).floor() as u64);
    (Some(trend), eta)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: TrendWindows = TrendWindows::CONTRACT;

    #[test]
    fn stages_are_reached_at_their_boundaries() {
        assert_eq!(ArrivalStage::reached(500.1), None);
        assert_eq!(
            ArrivalStage::reached(500.0),
            Some(ArrivalStage::Approaching500)
        );
        assert_eq!(
            ArrivalStage::reached(100.0),
            Some(ArrivalStage::Approaching100)
        );
        assert_eq!(ArrivalStage::reached(40.0), Some(ArrivalStage::Arrived));
        assert_eq!(ArrivalStage::reached(0.0), Some(ArrivalStage::Arrived));
    }

    #[test]
    fn only_a_closer_stage_is_announced_and_passed_ones_are_skipped() {
        use ArrivalStage::*;
        assert_eq!(ArrivalStage::to_announce(30.0, None), Some(Arrived));
        assert_eq!(ArrivalStage::to_announce(450.0, None), Some(Approaching500));
        assert_eq!(ArrivalStage::to_announce(499.0, Some(Approaching500)), None);
        assert_eq!(ArrivalStage::to_announce(600.0, Some(Approaching100)), None);
        assert_eq!(ArrivalStage::to_announce(450.0, Some(Approaching100)), None);
        assert_eq!(
            ArrivalStage::to_announce(90.0, Some(Approaching500)),
            Some(Approaching100)
        );
        assert_eq!(ArrivalStage::to_announce(10.0, Some(Arrived)), None);
        for stage in [Approaching500, Approaching100, Arrived] {
            assert_eq!(ArrivalStage::parse(stage.as_str()), Some(stage));
        }
    }

    #[test]
    fn trend_needs_twenty_seconds_and_thirty_metres() {
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 19.9, 100.0),
            (None, None)
        );
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 20.0, 971.0),
            (Some(Trend::Stationary), None)
        );
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 20.0, 1030.0),
            (Some(Trend::MovingAway), None)
        );
        // 600 m in 60 s: 10 m/s, 400 m left: 40 s.
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 60.0, 400.0),
            (Some(Trend::Approaching), Some(40))
        );
        // 30 m in 100 s: 0.3 m/s exactly still gives an ETA; 970 / 0.3 = 3233.33 -> 3233.
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 100.0, 970.0),
            (Some(Trend::Approaching), Some(3233))
        );
        // 30 m in 101 s is slower than 0.3 m/s: approaching, no ETA.
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 1000.0, 101.0, 970.0),
            (Some(Trend::Approaching), None)
        );
        // Half up: 250 m at 100 m per 40 s (2.5 m/s) -> 100 s; 25 m at 2.5 -> 10 s;
        // 101.25 m at 2.5 m/s = 40.5 s -> 41.
        assert_eq!(
            trend_and_eta(CONTRACT, 0.0, 201.25, 40.0, 101.25),
            (Some(Trend::Approaching), Some(41))
        );
    }

    #[test]
    fn the_window_keeps_two_minutes_and_the_oldest_is_compared() {
        let mut recent = RecentDistances::default();
        assert_eq!(recent.record(CONTRACT, 0.0, 2000.0), (None, None));
        assert_eq!(recent.record(CONTRACT, 10.0, 1900.0), (None, None));
        assert_eq!(
            recent.record(CONTRACT, 30.0, 1700.0),
            (Some(Trend::Approaching), Some(170))
        );
        // At 130 s the sample at 0 s is out (130 > 120) and 10 s is the oldest.
        let (trend, eta) = recent.record(CONTRACT, 130.0, 1700.0);
        assert_eq!(recent.at, vec![10.0, 30.0, 130.0]);
        assert_eq!((trend, eta), (Some(Trend::Approaching), Some(1020)));
        // A long gap: only this one is left, no trend.
        assert_eq!(recent.record(CONTRACT, 400.0, 1000.0), (None, None));
        assert_eq!(recent.at, vec![400.0]);
    }

    #[test]
    fn shorter_windows_shorten_the_wait_and_the_memory_alike() {
        let windows = TrendWindows {
            keep_s: 6.0,
            min_span_s: 2.0,
        };
        let mut recent = RecentDistances::default();
        assert_eq!(recent.record(windows, 0.0, 2000.0), (None, None));
        assert_eq!(recent.record(windows, 1.9, 1900.0), (None, None));
        // 600 m in 3 s: 200 m/s, 1400 m left: 7 s.
        assert_eq!(
            recent.record(windows, 3.0, 1400.0),
            (Some(Trend::Approaching), Some(7))
        );
        // At 8 s the samples at 0 s and 1.9 s are out (8 - 1.9 > 6); 3 s is the oldest.
        assert_eq!(
            recent.record(windows, 8.0, 1420.0),
            (Some(Trend::Stationary), None)
        );
        assert_eq!(recent.at, vec![3.0, 8.0]);
    }

    #[test]
    fn at_most_the_newest_samples_are_kept() {
        let mut recent = RecentDistances::default();
        for second in 0..(TREND_MAX_SAMPLES + 10) {
            recent.record(CONTRACT, second as f64 * 0.5, 100.0);
        }
        assert_eq!(recent.at.len(), TREND_MAX_SAMPLES);
        assert_eq!(recent.meters.len(), TREND_MAX_SAMPLES);
    }
}
