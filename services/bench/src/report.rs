//! Results of one scenario: latency histogram, counts, CPU; markdown and JSON output.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::procstat::CpuSnapshot;

/// A latency histogram in microseconds (1 µs to 1 hour, 3 significant digits).
pub struct Latency(Mutex<Histogram<u64>>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Self {
        Self(Mutex::new(
            Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
        ))
    }

    /// Records one latency in microseconds (clamped to the histogram's range).
    pub fn record_us(&self, us: u64) {
        self.0
            .lock()
            .expect("histogram lock")
            .saturating_record(us.max(1));
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.0.lock().expect("histogram lock").len()
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// p50/p90/p99/p99.9/max in milliseconds.
    pub fn percentiles(&self) -> Percentiles {
        let h = self.0.lock().expect("histogram lock");
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

/// CPU microseconds per delivered unit (message, update, lifecycle) by process group, and
/// the traffic between the parts per unit where it was measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CpuPerUnit {
    /// Tether processes (or the floor).
    pub app_us: f64,
    /// nats-server.
    pub nats_us: f64,
    /// PostgreSQL.
    pub pg_us: f64,
    /// The load generator itself.
    pub bench_us: f64,
    /// The application per process (`tether-ws-edge` → µs), for the notes.
    #[serde(default)]
    pub procs_us: BTreeMap<String, f64>,
    /// Messages published to NATS per unit.
    #[serde(default)]
    pub nats_msgs: Option<f64>,
    /// Statements sent to PostgreSQL per unit (round trips).
    #[serde(default)]
    pub pg_round_trips: Option<f64>,
}

impl CpuPerUnit {
    /// CPU per unit from a CPU delta and a count of delivered units.
    pub fn from_delta(delta: &CpuSnapshot, units: u64) -> Self {
        if units == 0 {
            return Self::default();
        }
        let per = |s: f64| s * 1e6 / units as f64;
        Self {
            app_us: per(delta.app),
            nats_us: per(delta.nats),
            pg_us: per(delta.pg),
            bench_us: per(delta.bench),
            procs_us: delta
                .procs
                .iter()
                .map(|(k, v)| (k.clone(), per(*v)))
                .collect(),
            nats_msgs: delta.traffic.nats_msgs.map(|n| n as f64 / units as f64),
            pg_round_trips: delta.traffic.pg_statements.map(|n| n as f64 / units as f64),
        }
    }

    /// The per-process CPU and the traffic per unit, for a row's notes (empty when
    /// neither was measured): `NATS msgs/unit 9.00`, `PG round trips/unit 2.50`,
    /// `app µs/unit chat 200, ws-edge 100`.
    pub fn breakdown(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = self.nats_msgs {
            out.push(format!("NATS msgs/unit {n:.2}"));
        }
        if let Some(n) = self.pg_round_trips {
            out.push(format!("PG round trips/unit {n:.2}"));
        }
        if self.procs_us.len() > 1 {
            let procs: Vec<String> = self
                .procs_us
                .iter()
                .map(|(name, us)| format!("{} {us:.0}", name.trim_start_matches("tether-")))
                .collect();
            out.push(format!("app µs/unit {}", procs.join(", ")));
        }
        out
    }

    /// Application + NATS + PostgreSQL.
    pub fn total_us(&self) -> f64 {
        self.app_us + self.nats_us + self.pg_us
    }
}

/// One row of results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Scenario name, e.g. `chat` or `chat-max`.
    pub scenario: String,
    /// What was measured: `tether` or `floor` (free text).
    pub target: String,
    /// The shape: rate, sessions, duration.
    pub shape: String,
    /// Offered rate per second (0 when not rate-driven).
    pub offered: f64,
    /// Delivered units per second.
    pub achieved: f64,
    /// Units sent (messages, updates, lifecycles, sockets).
    pub sent: u64,
    /// Units delivered (counted once).
    pub delivered: u64,
    /// Latency percentiles.
    pub latency: Percentiles,
    /// Acknowledged (or expected) but never delivered.
    pub lost: u64,
    /// Delivered more than once (or unexpected deliveries).
    pub duplicated: u64,
    /// Error answers, failed connects, closed sockets, timeouts.
    pub errors: u64,
    /// CPU per delivered unit.
    pub cpu: CpuPerUnit,
    /// Scenario-specific figures (KiB per socket, connects/s, ...).
    pub extra: BTreeMap<String, f64>,
    /// Free-form remark.
    pub note: String,
}

impl Outcome {
    /// The markdown table header matching [`Outcome::markdown_row`].
    pub fn markdown_header() -> &'static str {
        "| scenario | target | shape | offered/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | lost | dup | errors | CPU µs/unit app | NATS | PG | bench | notes |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    }

    /// This outcome as a markdown table row.
    pub fn markdown_row(&self) -> String {
        let l = &self.latency;
        let mut notes: Vec<String> = self
            .extra
            .iter()
            .map(|(k, v)| format!("{k} {}", fmt_num(*v)))
            .collect();
        notes.extend(self.cpu.breakdown());
        if !self.note.is_empty() {
            notes.push(self.note.clone());
        }
        format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
            self.scenario,
            self.target,
            self.shape,
            fmt_num(self.offered),
            fmt_num(self.achieved),
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.lost,
            self.duplicated,
            self.errors,
            self.cpu.app_us,
            self.cpu.nats_us,
            self.cpu.pg_us,
            self.cpu.bench_us,
            notes.join("; ")
        )
    }
}

/// A number for a table: thousands separated, one decimal below 100.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    if v.abs() < 100.0 {
        return format!("{v:.1}");
    }
    let int = v.round() as i64;
    let digits = int.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if int < 0 {
        out.insert(0, '-');
    }
    out
}

/// Builds the comparison table of `scripts/bench` from JSON outcomes: one row per
/// scenario and target, then the ratio of each Tether row to the floor row of the same
/// scenario and shape (of the same search, whatever rate each reached).
pub fn comparison(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    out.push_str(Outcome::markdown_header());
    out.push('\n');
    for o in outcomes {
        out.push_str(&o.markdown_row());
        out.push('\n');
    }
    out.push_str(
        "\nRatio to the floor (same scenario and shape, same run; the floor's CPU is its own \
         process only, as it uses neither NATS nor PostgreSQL):\n\n",
    );
    out.push_str("| scenario | shape | Tether / floor |\n|---|---|---|\n");
    for t in outcomes.iter().filter(|o| o.target != "floor") {
        // A search's shape names the rate it reached, which differs by target.
        let search = t.scenario.ends_with("-max");
        let Some(f) = outcomes.iter().find(|f| {
            f.target == "floor" && f.scenario == t.scenario && (search || f.shape == t.shape)
        }) else {
            continue;
        };
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}×", a / b)
            } else {
                "-".to_owned()
            }
        };
        let text = if t.scenario == "idle" {
            format!(
                "KiB per socket {}, connects/s {}",
                ratio(
                    t.extra.get("KiB/socket").copied().unwrap_or(0.0),
                    f.extra.get("KiB/socket").copied().unwrap_or(0.0)
                ),
                ratio(
                    t.extra.get("connects/s").copied().unwrap_or(0.0),
                    f.extra.get("connects/s").copied().unwrap_or(0.0)
                )
            )
        } else if search {
            format!(
                "highest passing rate {} ({} vs {}/s), CPU/unit {}",
                ratio(t.offered, f.offered),
                fmt_num(t.offered),
                fmt_num(f.offered),
                ratio(t.cpu.total_us(), f.cpu.app_us)
            )
        } else {
            format!(
                "p50 {}, p99 {}, achieved {}, CPU/unit (Tether app+NATS+PG vs floor) {} ({:.0} vs {:.0} µs)",
                ratio(t.latency.p50, f.latency.p50),
                ratio(t.latency.p99, f.latency.p99),
                ratio(t.achieved, f.achieved),
                ratio(t.cpu.total_us(), f.cpu.app_us),
                t.cpu.total_us(),
                f.cpu.app_us
            )
        };
        out.push_str(&format!("| {} | {} | {} |\n", t.scenario, t.shape, text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Traffic;

    #[test]
    fn traffic_and_processes_are_per_unit_and_absent_when_not_measured() {
        let delta = CpuSnapshot {
            app: 0.003,
            procs: BTreeMap::from([
                ("tether-chat".to_owned(), 0.002),
                ("tether-ws-edge".to_owned(), 0.001),
            ]),
            traffic: Traffic {
                nats_msgs: Some(90),
                pg_statements: Some(25),
            },
            ..CpuSnapshot::default()
        };
        let cpu = CpuPerUnit::from_delta(&delta, 10);
        assert_eq!(cpu.nats_msgs, Some(9.0));
        assert_eq!(cpu.pg_round_trips, Some(2.5));
        assert_eq!(
            cpu.breakdown(),
            [
                "NATS msgs/unit 9.00",
                "PG round trips/unit 2.50",
                "app µs/unit chat 200, ws-edge 100",
            ]
        );
        let unmeasured = CpuPerUnit::from_delta(&CpuSnapshot::default(), 10);
        assert!(unmeasured.breakdown().is_empty());
        // Results written before these fields existed still read.
        let old: CpuPerUnit =
            serde_json::from_str(r#"{"app_us":1,"nats_us":2,"pg_us":3,"bench_us":4}"#)
                .expect("old results");
        assert_eq!(old.nats_msgs, None);
    }

    #[test]
    fn traffic_deltas_need_both_ends() {
        let later = Traffic {
            nats_msgs: Some(15),
            pg_statements: None,
        };
        let earlier = Traffic {
            nats_msgs: Some(5),
            pg_statements: Some(3),
        };
        let delta = later.since(&earlier);
        assert_eq!(delta.nats_msgs, Some(10));
        assert_eq!(delta.pg_statements, None);
    }
}
