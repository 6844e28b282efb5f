//! Protocol 1.2's adaptive cadence, measured: a sample drive. In each session the seeker
//! stands still and the provider drives straight to them (by default 8 km at 10 m/s),
//! and both apps send fixes either every second (what apps did before 1.2) or as the
//! server's `location_cadence` advises (at most every `interval_s`, earlier only after
//! `min_move_m`, nothing after `arrived`). The figure is the fixes each session's apps
//! send for the drive, with what they got back: `distance_update`s, `location_cadence`s,
//! and when `arrived` was announced compared with when the provider really came within
//! the contract's 40 m.
//!
//! The drive runs `time_scale` times faster than real time (5 by default: 8 km in 160 s);
//! the cadence's intervals are scaled the same way, distances are not. The speed the
//! server sees is the simulated speed × `time_scale`, so keep it under its
//! `TETHER_MAX_SPEED_MPS` (70 m/s by default; 10 m/s × 5 = 50) or every fix is implausible.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{ConnShared, Handler, PROVIDER_LAT, PROVIDER_LON, Pair, Role, open_pairs};
use crate::report::{CpuPerUnit, Outcome};
use crate::scenarios::Ctx;

/// The contract's `arrived` stage: within this many metres.
const ARRIVED_M: f64 = 40.0;
/// Metres per degree of latitude (the drive runs along a meridian).
const M_PER_DEG_LAT: f64 = 111_195.0;
/// Where every seeker stands: where the bench's orders are placed.
const SEEKER_LAT: f64 = PROVIDER_LAT + 0.01;
/// How often the drive's clock ticks (real time).
const TICK: Duration = Duration::from_millis(20);
/// How long the cadence-following apps keep going after the provider reached the seeker
/// (simulated seconds), for an `arrived` the last fixes have not announced yet.
const GRACE_S: f64 = 60.0;

/// How the apps decide when to send a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Every second while the provider drives (what apps did before protocol 1.2).
    EverySecond,
    /// As the server's `location_cadence` advises.
    Cadence,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::EverySecond => "every-second",
            Mode::Cadence => "cadence",
        }
    }
}

/// The sample drive.
#[derive(Debug, Clone)]
pub struct DriveShape {
    /// Sessions driven at once.
    pub sessions: usize,
    /// The provider's distance from the seeker at the start (metres).
    pub distance_m: f64,
    /// The provider's speed (metres per simulated second).
    pub speed_mps: f64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// The apps' modes, each driven in turn with fresh sessions.
    pub modes: Vec<Mode>,
}

/// The advice a party last got (`interval_s`, `min_move_m`).
type Advice = Option<(f64, f64)>;

/// What one party's app knows and did.
#[derive(Default)]
struct Party {
    advice: RwLock<Advice>,
    /// (simulated time, distance from the seeker) of the last fix sent.
    last_sent: Mutex<Option<(f64, f64)>>,
    fixes: AtomicU64,
    distance_updates: AtomicU64,
    cadences: AtomicU64,
}

/// One session's two apps.
#[derive(Default)]
struct Session {
    parties: [Party; 2],
    /// Simulated time at which `arrived` was announced (ms + 1; 0: not yet).
    arrived_at_ms: AtomicU64,
}

/// Reads what the server sends: cadence advice, distances, the arrival.
struct Listener {
    sessions: Arc<Vec<Session>>,
    started: Instant,
    time_scale: f64,
    errors: AtomicU64,
}

impl Listener {
    fn now_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.time_scale
    }
}

impl Handler for Listener {
    fn on_text(&self, conn: &ConnShared, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let Some(session) = self.sessions.get(conn.index) else {
            return;
        };
        let party = &session.parties[conn.role.index()];
        match frame["type"].as_str() {
            Some("location_cadence") => {
                party.cadences.fetch_add(1, Ordering::Relaxed);
                *party.advice.write().expect("advice lock") = advice_of(&frame);
            }
            Some("distance_update") => {
                party.distance_updates.fetch_add(1, Ordering::Relaxed);
            }
            Some("arrival_update") if frame["stage"] == "arrived" => {
                let at_ms = (self.now_s() * 1000.0) as u64 + 1;
                let _ = session.arrived_at_ms.compare_exchange(
                    0,
                    at_ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            Some("error") => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

fn advice_of(frame: &Value) -> Advice {
    Some((frame["interval_s"].as_f64()?, frame["min_move_m"].as_f64()?))
}

/// Drives every mode of `shape` in turn.
pub async fn run(
    ctx: &Ctx,
    shape: &DriveShape,
    setup_concurrency: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for mode in &shape.modes {
        outcomes.push(drive(ctx, shape, *mode, setup_concurrency).await?);
    }
    Ok(outcomes)
}

/// The provider's distance from the seeker at simulated time `t`.
fn provider_distance(shape: &DriveShape, t: f64) -> f64 {
    (shape.distance_m - shape.speed_mps * t).max(0.0)
}

/// Whether `party`'s app sends a fix now, at simulated time `t` and `distance` from the
/// seeker (the seeker's own fix never moves; only the provider's does).
fn due(mode: Mode, party: &Party, t: f64, distance: f64, drive_s: f64) -> bool {
    let last = *party.last_sent.lock().expect("last-sent lock");
    match mode {
        Mode::EverySecond => t <= drive_s && last.is_none_or(|(at, _)| t - at >= 1.0),
        Mode::Cadence => match *party.advice.read().expect("advice lock") {
            // `interval_s: 0`: stop until told otherwise.
            Some((interval, _)) if interval <= 0.0 => false,
            Some((interval, min_move)) => last
                .is_none_or(|(at, from)| t - at >= interval || (from - distance).abs() >= min_move),
            // No advice yet: the band before any distance is `near`.
            None => last.is_none_or(|(at, _)| t - at >= 15.0),
        },
    }
}

async fn drive(
    ctx: &Ctx,
    shape: &DriveShape,
    mode: Mode,
    setup_concurrency: usize,
) -> anyhow::Result<Outcome> {
    let mut pairs = open_pairs(&ctx.target, shape.sessions, setup_concurrency).await?;
    let sessions: Arc<Vec<Session>> =
        Arc::new((0..pairs.len()).map(|_| Session::default()).collect());
    // The activation's `location_cadence` arrived during the setup, before any handler.
    for (pair, session) in pairs.iter_mut().zip(sessions.iter()) {
        for role in [Role::Seeker, Role::Provider] {
            let conn = match role {
                Role::Seeker => &mut pair.seeker,
                Role::Provider => &mut pair.provider,
            };
            if let Ok(frame) = conn
                .recv_type("location_cadence", Duration::from_secs(2))
                .await
            {
                let party = &session.parties[role.index()];
                party.cadences.fetch_add(1, Ordering::Relaxed);
                *party.advice.write().expect("advice lock") = advice_of(&frame);
            }
        }
    }
    let drive_s = shape.distance_m / shape.speed_mps;
    let end_s = match mode {
        Mode::EverySecond => drive_s + 1.0,
        Mode::Cadence => drive_s + GRACE_S,
    };
    eprintln!(
        "    drive ({}): {} sessions, {:.0} m at {} m/s, {}× real time: {:.0} s",
        mode.name(),
        pairs.len(),
        shape.distance_m,
        shape.speed_mps,
        shape.time_scale,
        end_s / shape.time_scale
    );
    let listener = Arc::new(Listener {
        sessions: sessions.clone(),
        started: Instant::now(),
        time_scale: shape.time_scale,
        errors: AtomicU64::new(0),
    });
    for pair in &pairs {
        pair.set_handler(Some(listener.clone() as Arc<dyn Handler>));
    }
    let cpu_before = ctx.cpu().await;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_progress = drive_s / 4.0;
    loop {
        ticker.tick().await;
        let t = listener.now_s();
        if t > end_s {
            break;
        }
        if t >= next_progress && t < drive_s {
            eprintln!(
                "    drive ({}): {:.0} m to go",
                mode.name(),
                provider_distance(shape, t)
            );
            next_progress += drive_s / 4.0;
        }
        let provider_at = provider_distance(shape, t);
        for (pair, session) in pairs.iter().zip(sessions.iter()) {
            for (role, distance) in [(Role::Seeker, 0.0), (Role::Provider, provider_at)] {
                let party = &session.parties[role.index()];
                // The seeker stands still: its "distance" is its own (nil) movement.
                let moved = if role == Role::Seeker { 0.0 } else { distance };
                if due(mode, party, t, moved, drive_s) {
                    send_fix(pair, role, distance);
                    *party.last_sent.lock().expect("last-sent lock") = Some((t, moved));
                    party.fixes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    // The last fixes' answers.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = ctx.cpu().await.since(&cpu_before);
    for pair in &pairs {
        pair.set_handler(None);
    }
    Ok(report(shape, mode, &sessions, &listener, &cpu))
}

fn send_fix(pair: &Pair, role: Role, distance_from_seeker: f64) {
    let latitude = match role {
        Role::Seeker => SEEKER_LAT,
        Role::Provider => SEEKER_LAT - distance_from_seeker / M_PER_DEG_LAT,
    };
    pair.conn(role).send(&json!({
        "type": "location_update",
        "session_id": pair.session_id,
        "latitude": latitude,
        "longitude": PROVIDER_LON,
    }));
}

fn report(
    shape: &DriveShape,
    mode: Mode,
    sessions: &[Session],
    listener: &Listener,
    cpu: &crate::procstat::CpuSnapshot,
) -> Outcome {
    let n = sessions.len().max(1) as f64;
    let sum = |f: &dyn Fn(&Party) -> u64| -> u64 {
        sessions.iter().flat_map(|s| s.parties.iter()).map(f).sum()
    };
    let fixes = sum(&|p| p.fixes.load(Ordering::Relaxed));
    let distance_updates = sum(&|p| p.distance_updates.load(Ordering::Relaxed));
    let cadences = sum(&|p| p.cadences.load(Ordering::Relaxed));
    let provider_fixes: u64 = sessions
        .iter()
        .map(|s| {
            s.parties[Role::Provider.index()]
                .fixes
                .load(Ordering::Relaxed)
        })
        .sum();
    // How late `arrived` came after the provider was really within 40 m (simulated s).
    let really_arrived_s = (shape.distance_m - ARRIVED_M) / shape.speed_mps;
    let mut late_s: Vec<f64> = sessions
        .iter()
        .map(|session| session.arrived_at_ms.load(Ordering::Relaxed))
        .filter(|at_ms| *at_ms > 0)
        .map(|at_ms| ((at_ms - 1) as f64 / 1000.0 - really_arrived_s).max(0.0))
        .collect();
    late_s.sort_by(f64::total_cmp);
    let arrived = late_s.len() as u64;
    let late_p50 = late_s.get(late_s.len() / 2).copied().unwrap_or(0.0);
    let late_max = late_s.last().copied().unwrap_or(0.0);
    let mut outcome = Outcome {
        scenario: format!("drive-{}", mode.name()),
        shape: format!(
            "{} sessions; provider drives {:.0} m at {} m/s to a seeker standing still ({}× real time); fixes {}",
            sessions.len(),
            shape.distance_m,
            shape.speed_mps,
            shape.time_scale,
            match mode {
                Mode::EverySecond => "every second from both apps",
                Mode::Cadence => "as location_cadence advises",
            }
        ),
        sent: fixes,
        delivered: distance_updates,
        errors: listener.errors.load(Ordering::Relaxed),
        cpu: CpuPerUnit::from_delta(cpu, sessions.len() as u64),
        ..Outcome::default()
    };
    let mut put = |k: &str, v: f64| {
        outcome.extra.insert(k.into(), v);
    };
    put("fixes per session", fixes as f64 / n);
    put("provider fixes per session", provider_fixes as f64 / n);
    put(
        "seeker fixes per session",
        (fixes - provider_fixes) as f64 / n,
    );
    put("distance_updates per session", distance_updates as f64 / n);
    put("location_cadence per session", cadences as f64 / n);
    put("sessions told arrived", arrived as f64);
    put("arrived late s p50", late_p50);
    put("arrived late s max", late_max);
    eprintln!(
        "    drive ({}): {:.1} fixes per session ({:.1} provider, {:.1} seeker), {:.1} distance_updates, {:.1} location_cadence; arrived told in {arrived} of {} sessions, {:.1} s (p50) / {:.1} s (max) after the provider was within {ARRIVED_M} m; CPU per session {:.0} µs",
        mode.name(),
        fixes as f64 / n,
        provider_fixes as f64 / n,
        (fixes - provider_fixes) as f64 / n,
        distance_updates as f64 / n,
        cadences as f64 / n,
        sessions.len(),
        late_p50,
        late_max,
        outcome.cpu.total_us(),
    );
    outcome
}
