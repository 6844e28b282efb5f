//! G14: overload. One kind of work — whole lifecycles, chat messages, location updates or
//! socket connects — is offered open loop in three phases on one clock:
//!
//! 1. *baseline*: `comfort` × the given capacity (0.5 by default) for `baseline` (10 s),
//!    whose second half (the first warms up) gives the normal p99;
//! 2. *overload*: `factor` × the capacity (10 by default) for `overload` (30 s);
//! 3. *recovery*: the comfortable rate again for `recovery` (20 s).
//!
//! Every unit (lifecycle, message, update, socket) ends in exactly one state: completed
//! (within its deadline), late (completed after it), refused with a retry hint
//! (`unavailable` + `retry_after_ms`, or HTTP 503 with the hint), refused without one (the
//! edge's `unavailable` after its request timeout, an upgrade answered with an HTTP error
//! or a socket closed under it), failed (other errors, timeouts, never answered), shed (not
//! sent: the generator's own in-flight cap was reached, so it survives) or, for location,
//! superseded (a later move of the same session announced first: latest wins).
//!
//! *Goodput* is what completed within its deadline while the overload lasted, by
//! completion time, per second (for location, `distance_update`s ÷ 2, in updates/s like
//! the capacity). Latency is from the scheduled send time. Refusal latency is from the
//! moment the refused request left (for a lifecycle, its refused step) to its answer. The
//! recovery is judged in 1-s windows by scheduled send time: a window's p99 counts its
//! refused, failed and shed units as infinitely slow; the time back to normal is the
//! start of the first recovery window from which on every window's p99 is at most
//! `normal_factor` × the baseline's p99.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;

use crate::client::{Conn, ConnShared, Handler, PROVIDER_LAT, PROVIDER_LON, Pair, Role, Target};
use crate::procstat::CpuSnapshot;
use crate::report::{CpuPerUnit, Latency, Outcome, fmt_num};
use crate::scenarios::{Ctx, Frame, PairLoad, expected_distance, seeker_position};

/// The work that is overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Whole lifecycles (provider active … `service_finished` at both).
    Lifecycle,
    /// Chat messages over open sessions (with receipts unless told otherwise).
    Chat,
    /// Location updates over open sessions; goodput in `distance_update`s ÷ 2.
    Location,
    /// Sockets of fresh users: upgrade, `ping` answered with `pong`, close.
    Connect,
}

impl Kind {
    /// The name in scenario names and shapes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lifecycle => "lifecycle",
            Kind::Chat => "chat",
            Kind::Location => "location",
            Kind::Connect => "connect",
        }
    }

    /// The unit of the capacity.
    fn unit(self) -> &'static str {
        match self {
            Kind::Lifecycle => "lifecycles/s",
            Kind::Chat => "msg/s",
            Kind::Location => "updates/s",
            Kind::Connect => "connects/s",
        }
    }

    /// The deadline of one unit when none is given: a lifecycle has 30 s (as in the
    /// `lifecycle` scenario), anything else the edge's request timeout (5 s).
    pub fn default_deadline(self) -> Duration {
        match self {
            Kind::Lifecycle => Duration::from_secs(30),
            _ => Duration::from_secs(5),
        }
    }

    /// The generator's in-flight cap when none is given.
    pub fn default_max_inflight(self) -> usize {
        match self {
            Kind::Lifecycle | Kind::Connect => 2000,
            Kind::Chat | Kind::Location => 50_000,
        }
    }
}

/// What one overload run offers.
#[derive(Debug, Clone)]
pub struct OverloadShape {
    /// The work.
    pub kind: Kind,
    /// The capacity the rates are multiples of (units per second).
    pub capacity: f64,
    /// The overload as a multiple of the capacity.
    pub factor: f64,
    /// The baseline and recovery rate as a fraction of the capacity.
    pub comfort: f64,
    /// Length of the baseline.
    pub baseline: Duration,
    /// Length of the overload.
    pub overload: Duration,
    /// Length of the recovery.
    pub recovery: Duration,
    /// Sessions the load is spread over (chat, location).
    pub sessions: usize,
    /// Units in flight at most; above it a unit is not sent (shed).
    pub max_inflight: usize,
    /// A unit completing later than this after its scheduled time is late, not goodput.
    pub deadline: Duration,
    /// A recovery window is normal when its p99 is at most this × the baseline's p99.
    pub normal_factor: f64,
    /// A refusal within this is fast (G14: 100 ms).
    pub fast: Duration,
    /// Lifecycles: a refused step is sent again after its `retry_after_ms`, while the
    /// lifecycle's deadline allows.
    pub retry: bool,
    /// Chat: the recipient sends `message_delivered` + `message_read`.
    pub receipts: bool,
}

impl OverloadShape {
    /// The scenario's name in the results: `overload-<kind>` (`-retry` with retries).
    pub fn scenario(&self) -> String {
        format!(
            "overload-{}{}",
            self.kind.name(),
            if self.retry { "-retry" } else { "" }
        )
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "capacity {} {}, {}× = {}/s for {} s; {}/s for {} s before, {} s after",
            fmt_num(self.capacity),
            self.kind.unit(),
            fmt_num(self.factor),
            fmt_num(self.factor * self.capacity),
            self.overload.as_secs(),
            fmt_num(self.comfort * self.capacity),
            self.baseline.as_secs(),
            self.recovery.as_secs()
        );
        match self.kind {
            Kind::Chat => {
                s.push_str(&format!(", {} sessions", self.sessions));
                if self.receipts {
                    s.push_str(", receipts");
                }
            }
            Kind::Location => s.push_str(&format!(", {} sessions", self.sessions)),
            Kind::Lifecycle if self.retry => s.push_str(", retry after hint"),
            Kind::Lifecycle | Kind::Connect => {}
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// the schedule and the per-unit bookkeeping

const PENDING: u8 = 0;
const DONE: u8 = 1;
const LATE: u8 = 2;
const REFUSED_HINTED: u8 = 3;
const REFUSED_BARE: u8 = 4;
const FAILED: u8 = 5;
const SHED: u8 = 6;
const SUPERSEDED: u8 = 7;
const STATES: usize = 8;

const BASELINE: usize = 0;
const OVERLOAD: usize = 1;
const RECOVERY: usize = 2;

/// What a refused, failed or shed unit counts as in its window's p99: an hour.
const BAD_US: u64 = 3_600_000_000;

#[derive(Debug, Clone, Copy)]
struct Phase {
    rate: f64,
    start_us: u64,
    end_us: u64,
    first: u64,
    count: u64,
}

/// Three phases on one clock; unit `seq` of a phase at rate R is due at
/// `start + (seq - first) / R`.
struct Schedule {
    phases: [Phase; 3],
}

impl Schedule {
    fn new(parts: [(f64, Duration); 3]) -> Self {
        let mut start_us = 0;
        let mut first = 0;
        let phases = parts.map(|(rate, d)| {
            let count = if rate > 0.0 {
                (rate * d.as_secs_f64()).round() as u64
            } else {
                0
            };
            let phase = Phase {
                rate,
                start_us,
                end_us: start_us + d.as_micros() as u64,
                first,
                count,
            };
            start_us = phase.end_us;
            first += count;
            phase
        });
        Self { phases }
    }

    fn total(&self) -> u64 {
        self.phases[RECOVERY].first + self.phases[RECOVERY].count
    }

    fn phase(&self, seq: u64) -> usize {
        if seq < self.phases[OVERLOAD].first {
            BASELINE
        } else if seq < self.phases[RECOVERY].first {
            OVERLOAD
        } else {
            RECOVERY
        }
    }

    fn due_us(&self, seq: u64) -> u64 {
        let p = &self.phases[self.phase(seq)];
        p.start_us + ((seq - p.first) as f64 * 1e6 / p.rate) as u64
    }
}

/// One second of scheduled send times.
struct Window {
    /// Latency of what arrived, plus [`BAD_US`] per refused/failed/shed unit.
    latency: Latency,
    /// Refused, failed or shed units.
    bad: AtomicU64,
    /// Units scheduled in it.
    units: AtomicU64,
    /// The generator's largest lag behind the schedule (µs).
    lag_us: AtomicU64,
}

/// Everything a run counts, shared by the scheduler, the readers and the tasks.
struct Tracker {
    t0: Instant,
    sched: Schedule,
    deadline_us: u64,
    fast_us: u64,
    /// Arrivals that complete a unit (2 for location: both parties).
    fanout: u8,
    max_inflight: usize,
    state: Vec<AtomicU8>,
    /// Per unit: arrivals (low 4 bits) and skips (high 4 bits).
    seen: Vec<AtomicU8>,
    /// Per unit: when it was sent (µs since `t0`).
    sent_us: Vec<AtomicU64>,
    /// Per phase, per state.
    counts: [[AtomicU64; STATES]; 3],
    /// Per phase: latency of each arrival from the scheduled time.
    latency: [Latency; 3],
    /// The same for the second half of the baseline (the first warms up connections,
    /// pools and caches): the normal p99.
    settled: Latency,
    /// Per phase, hinted (0) and unhinted (1): refusal latency of each refused request.
    refusals: [[Latency; 2]; 3],
    /// Per phase: hinted refusals within `fast_us`.
    fast_refusals: [AtomicU64; 3],
    windows: Vec<Window>,
    /// Arrivals within the deadline, by arrival second.
    goodput_by_s: Vec<AtomicU64>,
    inflight: AtomicUsize,
    lag_max_us: AtomicU64,
    duplicates: AtomicU64,
    /// Error frames that answer no unit (receipts, periodic frames).
    stray_errors: AtomicU64,
    closed: AtomicU64,
    retries: AtomicU64,
    /// Lifecycles: refused requests per step.
    refused_at: Mutex<BTreeMap<String, u64>>,
    first_error: Mutex<Option<String>>,
}

fn count(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

impl Tracker {
    fn new(shape: &OverloadShape, fanout: u8) -> Self {
        let low = shape.comfort * shape.capacity;
        let sched = Schedule::new([
            (low, shape.baseline),
            (shape.factor * shape.capacity, shape.overload),
            (low, shape.recovery),
        ]);
        let total = sched.total() as usize;
        let seconds = (sched.phases[RECOVERY].end_us / 1_000_000) as usize + 1;
        let tail = (shape.deadline.as_secs() as usize + 60).max(seconds);
        Self {
            t0: Instant::now(),
            deadline_us: shape.deadline.as_micros() as u64,
            fast_us: shape.fast.as_micros() as u64,
            fanout,
            max_inflight: shape.max_inflight.max(1),
            state: (0..total).map(|_| AtomicU8::new(PENDING)).collect(),
            seen: (0..total).map(|_| AtomicU8::new(0)).collect(),
            sent_us: (0..total).map(|_| AtomicU64::new(0)).collect(),
            counts: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| Latency::new()),
            settled: Latency::new(),
            refusals: std::array::from_fn(|_| std::array::from_fn(|_| Latency::new())),
            fast_refusals: std::array::from_fn(|_| AtomicU64::new(0)),
            windows: (0..seconds)
                .map(|_| Window {
                    latency: Latency::new(),
                    bad: AtomicU64::new(0),
                    units: AtomicU64::new(0),
                    lag_us: AtomicU64::new(0),
                })
                .collect(),
            goodput_by_s: (0..seconds + tail).map(|_| AtomicU64::new(0)).collect(),
            inflight: AtomicUsize::new(0),
            lag_max_us: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            stray_errors: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            refused_at: Mutex::new(BTreeMap::new()),
            first_error: Mutex::new(None),
            sched,
        }
    }

    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    fn at(&self, us: u64) -> Instant {
        self.t0 + Duration::from_micros(us)
    }

    fn window(&self, due_us: u64) -> &Window {
        let i = ((due_us / 1_000_000) as usize).min(self.windows.len() - 1);
        &self.windows[i]
    }

    fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Unit `seq` is due now: true when it may be sent (counted in flight), false when
    /// the generator's cap is reached (shed).
    fn start(&self, seq: u64, due_us: u64) -> bool {
        let window = self.window(due_us);
        window.units.fetch_add(1, Ordering::Relaxed);
        if self.inflight() >= self.max_inflight {
            self.resolve(seq, SHED);
            return false;
        }
        self.inflight.fetch_add(1, Ordering::Relaxed);
        let now = self.now_us();
        if let Some(s) = self.sent_us.get(seq as usize) {
            s.store(now, Ordering::Relaxed);
        }
        let lag = now.saturating_sub(due_us);
        self.lag_max_us.fetch_max(lag, Ordering::Relaxed);
        window.lag_us.fetch_max(lag, Ordering::Relaxed);
        true
    }

    /// Gives unit `seq` its final state (once: false when it had one already).
    fn resolve(&self, seq: u64, state: u8) -> bool {
        let Some(slot) = self.state.get(seq as usize) else {
            return false;
        };
        if slot
            .compare_exchange(PENDING, state, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.counts[self.sched.phase(seq)][state as usize].fetch_add(1, Ordering::Relaxed);
        if state != SHED {
            self.inflight.fetch_sub(1, Ordering::Relaxed);
        }
        if matches!(state, REFUSED_HINTED | REFUSED_BARE | FAILED | SHED) {
            let window = self.window(self.sched.due_us(seq));
            window.latency.record_us(BAD_US);
            window.bad.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// One arrival for unit `seq` at `now` (µs): its latency counts; the unit completes
    /// with its `fanout`-th arrival (or skip).
    fn arrival(&self, seq: u64, now: u64) {
        let Some(seen) = self.seen.get(seq as usize) else {
            return;
        };
        let old = seen.fetch_add(1, Ordering::Relaxed);
        let had = (old & 15) + (old >> 4);
        if had >= self.fanout {
            seen.fetch_sub(1, Ordering::Relaxed);
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let due = self.sched.due_us(seq);
        let latency = now.saturating_sub(due);
        let phase = self.sched.phase(seq);
        self.latency[phase].record_us(latency);
        if phase == BASELINE && due >= self.sched.phases[BASELINE].end_us / 2 {
            self.settled.record_us(latency);
        }
        self.window(due).latency.record_us(latency);
        let timely = latency <= self.deadline_us;
        if timely {
            let i = ((now / 1_000_000) as usize).min(self.goodput_by_s.len() - 1);
            self.goodput_by_s[i].fetch_add(1, Ordering::Relaxed);
        }
        if had + 1 == self.fanout {
            self.resolve(seq, if timely { DONE } else { LATE });
        }
    }

    /// Unit `seq` will not arrive at one recipient: a later one was announced instead.
    fn skipped(&self, seq: u64) {
        let Some(seen) = self.seen.get(seq as usize) else {
            return;
        };
        let old = seen.fetch_add(16, Ordering::Relaxed);
        let (arrivals, skips) = (old & 15, (old >> 4) + 1);
        if arrivals + skips == self.fanout {
            self.resolve(seq, if arrivals > 0 { DONE } else { SUPERSEDED });
        }
    }

    /// One refused request of `phase`, answered `latency_us` after it left.
    fn refusal(&self, phase: usize, hinted: bool, latency_us: u64) {
        self.refusals[phase][usize::from(!hinted)].record_us(latency_us);
        if hinted && latency_us <= self.fast_us {
            self.fast_refusals[phase].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Unit `seq` (one request) was refused at `now`.
    fn refused(&self, seq: u64, hinted: bool, now: u64) {
        let sent = self
            .sent_us
            .get(seq as usize)
            .map_or(now, |s| s.load(Ordering::Relaxed));
        if self.resolve(seq, if hinted { REFUSED_HINTED } else { REFUSED_BARE }) {
            self.refusal(self.sched.phase(seq), hinted, now.saturating_sub(sent));
        }
    }

    fn failed(&self, seq: u64, why: impl FnOnce() -> String) {
        if self.resolve(seq, FAILED) {
            self.note_error(why);
        }
    }

    fn note_error(&self, why: impl FnOnce() -> String) {
        let mut first = self.first_error.lock().expect("error lock");
        if first.is_none() {
            *first = Some(why());
        }
    }

    /// An error frame of run `run`: the unit its `request_id` names, else a stray one.
    fn any_error_frame(&self, run: u64, frame: &Frame, text: &str) {
        match seq_of(run, frame.request_id.as_deref()) {
            Some(seq) => self.error_frame(seq, frame, text, self.now_us()),
            None => {
                self.stray_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// An error frame answering unit `seq`.
    fn error_frame(&self, seq: u64, frame: &Frame, text: &str, now: u64) {
        if frame.code.as_deref() == Some("unavailable") {
            self.refused(seq, frame.retry_after_ms.is_some(), now);
        } else {
            self.failed(seq, || text.chars().take(200).collect());
        }
    }

    /// Waits (up to `limit`) until nothing is in flight.
    async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.inflight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Fails every unit still pending, labelled by `label`; returns the overload phase's
    /// counts per label.
    fn settle(&self, label: impl Fn(u64) -> &'static str) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for (seq, state) in self.state.iter().enumerate() {
            let seq = seq as u64;
            if state.load(Ordering::Relaxed) != PENDING {
                continue;
            }
            let what = label(seq);
            if self.resolve(seq, FAILED) && self.sched.phase(seq) == OVERLOAD {
                *out.entry(what).or_insert(0) += 1;
            }
            self.note_error(|| format!("{what} (nothing within the drain)"));
        }
        out
    }
}

/// `<run>:<seq>` of this run → seq.
fn seq_of(run: u64, request_id: Option<&str>) -> Option<u64> {
    let (r, seq) = request_id?.split_once(':')?;
    (r.parse::<u64>().ok()? == run)
        .then(|| seq.parse().ok())
        .flatten()
}

/// Sends every unit at its scheduled time (never waiting for answers) unless the
/// in-flight cap sheds it; `send(seq)` sends one.
async fn open_loop(tracker: &Tracker, mut send: impl FnMut(u64)) {
    for seq in 0..tracker.sched.total() {
        let due_us = tracker.sched.due_us(seq);
        let due = tracker.at(due_us);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        if tracker.start(seq, due_us) {
            send(seq);
        }
    }
}

/// CPU used during the overload phase (and progress lines at its start and end).
async fn overload_cpu(ctx: &Ctx, tracker: &Tracker) -> CpuSnapshot {
    let ov = tracker.sched.phases[OVERLOAD];
    tokio::time::sleep_until(tracker.at(ov.start_us).into()).await;
    eprintln!(
        "    overload: {}/s for {:.0} s (baseline p99 {:.2} ms)",
        fmt_num(ov.rate),
        (ov.end_us - ov.start_us) as f64 / 1e6,
        tracker.settled.percentiles().p99
    );
    let cpu0 = ctx.cpu().await;
    tokio::time::sleep_until(tracker.at(ov.end_us).into()).await;
    let cpu = ctx.cpu().await.since(&cpu0);
    eprintln!(
        "    recovery: {}/s (in flight {})",
        fmt_num(tracker.sched.phases[RECOVERY].rate),
        tracker.inflight()
    );
    cpu
}

// ---------------------------------------------------------------------------------------
// chat

struct ChatLoad {
    run: u64,
    tracker: Arc<Tracker>,
    receipts: bool,
    /// Per message: `message_sent` seen.
    acked: Vec<AtomicBool>,
}

impl Handler for ChatLoad {
    fn on_text(&self, conn: &ConnShared, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.ty.as_ref() {
            "chat_message" => {
                let now = self.tracker.now_us();
                let Some(seq) = frame.message.as_deref().and_then(|m| {
                    let mut parts = m.split(' ');
                    (parts.next()? == "bench" && parts.next()?.parse::<u64>().ok()? == self.run)
                        .then(|| parts.next()?.parse::<u64>().ok())
                        .flatten()
                }) else {
                    return;
                };
                self.tracker.arrival(seq, now);
                if self.receipts
                    && let Some(id) = frame.message_id.as_deref()
                {
                    conn.send_receipts(id);
                }
            }
            "message_sent" => {
                if let Some(a) = seq_of(self.run, frame.request_id.as_deref())
                    .and_then(|seq| self.acked.get(seq as usize))
                {
                    a.store(true, Ordering::Relaxed);
                }
            }
            "error" => self.tracker.any_error_frame(self.run, &frame, text),
            _ => {}
        }
    }

    fn on_closed(&self, _conn: &ConnShared) {
        self.tracker.closed.fetch_add(1, Ordering::Relaxed);
    }
}

async fn chat(ctx: &Ctx, shape: &OverloadShape, pairs: &[Pair]) -> Outcome {
    let tracker = Arc::new(Tracker::new(shape, 1));
    let total = tracker.sched.total() as usize;
    let load = Arc::new(ChatLoad {
        run: ctx.next_run(),
        tracker: tracker.clone(),
        receipts: shape.receipts,
        acked: (0..total).map(|_| AtomicBool::new(false)).collect(),
    });
    for p in pairs {
        p.set_handler(Some(load.clone()));
    }
    let n = pairs.len() as u64;
    let run = load.run;
    let send = |seq: u64| {
        let pair = &pairs[(seq % n) as usize];
        let from = if (seq / n).is_multiple_of(2) {
            &pair.seeker
        } else {
            &pair.provider
        };
        from.shared.send_text(format!(
            r#"{{"type":"chat_message","session_id":"{}","message":"bench {run} {seq}","request_id":"{run}:{seq}"}}"#,
            pair.session_id
        ));
    };
    let ((), cpu) = tokio::join!(open_loop(&tracker, send), overload_cpu(ctx, &tracker));
    tracker.drain(ctx.drain.max(shape.deadline)).await;
    for p in pairs {
        p.set_handler(None);
    }
    let settled = tracker.settle(|seq| {
        if load.acked[seq as usize].load(Ordering::Relaxed) {
            "undelivered (acknowledged)"
        } else {
            "unanswered"
        }
    });
    let mut o = report(ctx, shape, &tracker, &cpu);
    o.lost = settled
        .get("undelivered (acknowledged)")
        .copied()
        .unwrap_or(0);
    for (k, v) in settled {
        o.extra.insert(k.into(), v as f64);
    }
    o
}

// ---------------------------------------------------------------------------------------
// location

/// Moves in flight towards one recipient: (expected distance, unit).
type MoveQueue = Mutex<VecDeque<(f64, u64)>>;

struct LocationLoad {
    run: u64,
    tracker: Arc<Tracker>,
    /// Per pair, per recipient role.
    fifos: Vec<[MoveQueue; 2]>,
    ticks: AtomicU64,
}

impl Handler for LocationLoad {
    fn on_text(&self, conn: &ConnShared, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.ty.as_ref() {
            "distance_update" => {
                let now = self.tracker.now_us();
                let Some(d) = frame.distance_meters else {
                    return;
                };
                let Some(fifos) = self.fifos.get(conn.index) else {
                    return;
                };
                let mut fifo = fifos[conn.role.index()].lock().expect("fifo lock");
                match fifo.iter().position(|&(e, _)| (e - d).abs() < 0.15) {
                    Some(k) => {
                        let passed: Vec<u64> = fifo.drain(..k).map(|(_, seq)| seq).collect();
                        let matched = fifo.pop_front().map(|(_, seq)| seq);
                        drop(fifo);
                        for seq in passed {
                            self.tracker.skipped(seq);
                        }
                        if let Some(seq) = matched {
                            self.tracker.arrival(seq, now);
                        }
                    }
                    // A periodic tick, or a distance no move implied.
                    None => {
                        self.ticks.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            "error" => self.tracker.any_error_frame(self.run, &frame, text),
            _ => {}
        }
    }

    fn on_closed(&self, _conn: &ConnShared) {
        self.tracker.closed.fetch_add(1, Ordering::Relaxed);
    }
}

async fn location(ctx: &Ctx, shape: &OverloadShape, pairs: &[Pair]) -> Outcome {
    let tracker = Arc::new(Tracker::new(shape, 2));
    let slots = pairs.iter().map(|p| p.index + 1).max().unwrap_or(0);
    let load = Arc::new(LocationLoad {
        run: ctx.next_run(),
        tracker: tracker.clone(),
        fifos: (0..slots)
            .map(|_| [Mutex::new(VecDeque::new()), Mutex::new(VecDeque::new())])
            .collect(),
        ticks: AtomicU64::new(0),
    });
    for p in pairs {
        p.set_handler(Some(load.clone()));
    }
    let n = pairs.len() as u64;
    let run = load.run;
    let send = |seq: u64| {
        let pair = &pairs[(seq % n) as usize];
        let k = pair.moves.fetch_add(1, Ordering::Relaxed) + 1;
        let expected = expected_distance(k);
        for fifo in &load.fifos[pair.index] {
            fifo.lock().expect("fifo lock").push_back((expected, seq));
        }
        let (lat, lon) = seeker_position(k);
        pair.seeker.shared.send_text(format!(
            r#"{{"type":"location_update","session_id":"{}","latitude":{lat},"longitude":{lon},"request_id":"{run}:{seq}"}}"#,
            pair.session_id
        ));
    };
    let ((), cpu) = tokio::join!(open_loop(&tracker, send), overload_cpu(ctx, &tracker));
    tracker.drain(ctx.drain.max(shape.deadline)).await;
    for p in pairs {
        p.set_handler(None);
    }
    let settled = tracker.settle(|seq| {
        if tracker.seen[seq as usize].load(Ordering::Relaxed) == 0 {
            "undelivered"
        } else {
            "undelivered at one party"
        }
    });
    let mut o = report(ctx, shape, &tracker, &cpu);
    o.lost = settled.values().sum();
    for (k, v) in settled {
        o.extra.insert(k.into(), v as f64);
    }
    o.extra.insert(
        "superseded".into(),
        count(&tracker.counts[OVERLOAD][SUPERSEDED as usize]) as f64,
    );
    o.extra.insert(
        "distance_updates/s".into(),
        o.achieved * f64::from(tracker.fanout),
    );
    o.duplicated += count(&load.ticks);
    o
}

// ---------------------------------------------------------------------------------------
// lifecycles and connects: one task per unit

/// Why a step did not succeed.
enum StepErr {
    /// Refused: `unavailable`, an HTTP 503, an upgrade answered with an HTTP error.
    Refused {
        hinted: bool,
        after: Option<Duration>,
        latency_us: u64,
        what: String,
    },
    /// Anything else.
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> StepErr {
    StepErr::Failed(e.to_string())
}

/// An answered HTTP request: the body when its status is `ok` (any 2xx when None).
async fn http_call(request: reqwest::RequestBuilder, ok: Option<u16>) -> Result<Value, StepErr> {
    let started = Instant::now();
    let response = request.send().await.map_err(failed)?;
    let latency_us = started.elapsed().as_micros() as u64;
    let status = response.status();
    let header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if ok.map_or_else(|| status.is_success(), |ok| status.as_u16() == ok) {
        return Ok(body);
    }
    if status.as_u16() == 503 {
        let after = body["retry_after_ms"]
            .as_u64()
            .map(Duration::from_millis)
            .or(header);
        return Err(StepErr::Refused {
            hinted: after.is_some(),
            after,
            latency_us,
            what: format!("HTTP 503 {body}"),
        });
    }
    Err(StepErr::Failed(format!("HTTP {status}: {body}")))
}

/// A failed WebSocket connect: an upgrade answered with an HTTP status is a refusal
/// (hinted when it carries `Retry-After` or `retry_after_ms`), anything else a failure.
fn connect_error(e: &anyhow::Error, started: Instant) -> StepErr {
    if let Some(tungstenite::Error::Http(response)) = e.downcast_ref::<tungstenite::Error>() {
        let header = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Value = response
            .body()
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let after = body["retry_after_ms"]
            .as_u64()
            .map(Duration::from_millis)
            .or(header);
        return StepErr::Refused {
            hinted: after.is_some(),
            after,
            latency_us: started.elapsed().as_micros() as u64,
            what: format!("upgrade answered HTTP {} {body}", response.status()),
        };
    }
    StepErr::Failed(format!("{e:#}"))
}

/// The next frame of `conn` within `left`; an error once the socket has closed (and its
/// queued frames are read) or the time is up.
async fn recv_live(conn: &mut Conn, left: Duration) -> Result<Value, StepErr> {
    let deadline = Instant::now() + left;
    loop {
        let slice = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(250));
        if slice.is_zero() {
            return Err(StepErr::Failed("timed out".into()));
        }
        if let Ok(v) = conn.recv(slice).await {
            return Ok(v);
        }
        if conn.shared.is_closed() {
            return Err(StepErr::Failed("socket closed".into()));
        }
    }
}

/// Waits on `conn` for a frame of type `ty`. An error frame answering `request_id` (any
/// error frame when None) is a refusal (`unavailable`, timed from `sent`) or a failure.
async fn await_frame(
    conn: &mut Conn,
    ty: &str,
    request_id: Option<&str>,
    sent: Instant,
    left: Duration,
) -> Result<Value, StepErr> {
    let deadline = Instant::now() + left;
    loop {
        let v = recv_live(conn, deadline.saturating_duration_since(Instant::now()))
            .await
            .map_err(|e| match e {
                StepErr::Failed(m) => StepErr::Failed(format!("waiting for {ty}: {m}")),
                e => e,
            })?;
        match v["type"].as_str() {
            Some(t) if t == ty => return Ok(v),
            Some("error") => {
                if request_id.is_some() && v["request_id"].as_str() != request_id {
                    continue;
                }
                if v["code"] == "unavailable" {
                    let after = v["retry_after_ms"].as_u64().map(Duration::from_millis);
                    return Err(StepErr::Refused {
                        hinted: after.is_some(),
                        after,
                        latency_us: sent.elapsed().as_micros() as u64,
                        what: v.to_string(),
                    });
                }
                return Err(StepErr::Failed(format!("waiting for {ty}: {v}")));
            }
            _ => {}
        }
    }
}

/// The steps of one unit: each refused step counts as a refused request; with `retry`
/// it is tried again after its hint while the deadline allows.
struct Steps<'a> {
    tracker: &'a Tracker,
    phase: usize,
    deadline: Instant,
    retry: bool,
}

impl Steps<'_> {
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// What becomes of one attempt of step `name`: its result, or (with `retry`, for a
    /// hinted refusal the deadline leaves time for) a wait before the next attempt.
    fn judge<T>(
        &self,
        name: &'static str,
        result: Result<T, StepErr>,
    ) -> Result<Result<T, StepErr>, Duration> {
        match result {
            Ok(v) => Ok(Ok(v)),
            Err(StepErr::Refused {
                hinted,
                after,
                latency_us,
                what,
            }) => {
                self.tracker.refusal(self.phase, hinted, latency_us);
                if self.phase == OVERLOAD {
                    *self
                        .tracker
                        .refused_at
                        .lock()
                        .expect("refused lock")
                        .entry(name.to_owned())
                        .or_insert(0) += 1;
                }
                if self.retry
                    && let Some(after) = after
                    && Instant::now() + after < self.deadline
                {
                    if self.phase == OVERLOAD {
                        self.tracker.retries.fetch_add(1, Ordering::Relaxed);
                    }
                    return Err(after);
                }
                Ok(Err(StepErr::Refused {
                    hinted,
                    after,
                    latency_us,
                    what: format!("{name}: {what}"),
                }))
            }
            Err(StepErr::Failed(m)) => Ok(Err(StepErr::Failed(format!("{name}: {m}")))),
        }
    }
}

/// `step!(steps, name, |n| body)`: runs `body` (an expression whose value is a
/// `Result<T, StepErr>`, awaited inside an async block; `n` counts the attempts) within
/// the deadline, as [`Steps::judge`] says: once, or again after a hinted refusal. (A macro,
/// not an async closure: the futures of the latter are not `Send` for `tokio::spawn`.)
macro_rules! step {
    ($s:expr, $name:expr, |$n:ident| $body:expr) => {{
        let mut $n = 0u32;
        loop {
            let result = tokio::time::timeout($s.left(), async { $body })
                .await
                .unwrap_or_else(|_| Err(StepErr::Failed("no answer within the deadline".into())));
            match $s.judge($name, result) {
                Ok(result) => break result,
                Err(after) => {
                    tokio::time::sleep(after).await;
                    $n += 1;
                }
            }
        }
    }};
}

/// One lifecycle as `scenarios::one_lifecycle` does it, each request its own step.
async fn lifecycle_unit(target: &Target, s: &Steps<'_>, index: usize) -> Result<(), StepErr> {
    let seeker = target.user().map_err(failed)?;
    let provider = target.user().map_err(failed)?;
    let base = &target.http_base;
    let status = json!({"is_active": true, "service_types": ["plumbing"],
        "latitude": PROVIDER_LAT, "longitude": PROVIDER_LON});
    step!(s, "provider status", |_n| {
        let request = target
            .http
            .put(format!("{base}/api/v1/provider/status"))
            .bearer_auth(&provider.token)
            .json(&status);
        http_call(request, None).await.map(drop)
    })?;
    let (mut pc, mut sc) = step!(s, "connect", |_n| {
        let started = Instant::now();
        match tokio::join!(
            target.connect(&provider, Role::Provider, index),
            target.connect(&seeker, Role::Seeker, index)
        ) {
            (Ok(p), Ok(k)) => Ok((p, k)),
            (Err(e), _) | (_, Err(e)) => Err(connect_error(&e, started)),
        }
    })?;
    let order = json!({"provider_id": provider.id, "service_type": "plumbing",
        "message": "bench order", "latitude": PROVIDER_LAT + 0.01, "longitude": PROVIDER_LON});
    let created = step!(s, "work order", |_n| {
        let request = target
            .http
            .post(format!("{base}/api/v1/work-orders"))
            .bearer_auth(&seeker.token)
            .json(&order);
        http_call(request, Some(201)).await
    })?;
    let work_id = created["work_id"]
        .as_i64()
        .ok_or_else(|| StepErr::Failed(format!("work order without work_id: {created}")))?;
    loop {
        let v = await_frame(&mut pc, "work_assigned", None, Instant::now(), s.left()).await?;
        if v["work_id"].as_i64() == Some(work_id) {
            break;
        }
    }
    let accepted = step!(s, "work_response", |n| {
        let rid = format!("wr{n}");
        let sent = Instant::now();
        pc.send(
            &json!({"type": "work_response", "work_id": work_id, "accepted": true,
                "request_id": rid}),
        );
        await_frame(&mut pc, "work_accepted", Some(&rid), sent, s.left()).await
    })?;
    await_frame(&mut sc, "work_accepted", None, Instant::now(), s.left()).await?;
    let session_id = accepted["session_id"]
        .as_str()
        .ok_or_else(|| StepErr::Failed(format!("work_accepted without session_id: {accepted}")))?
        .to_owned();
    step!(s, "medium_selection", |n| {
        let rid = format!("ms{n}");
        let sent = Instant::now();
        sc.send(
            &json!({"type": "medium_selection", "session_id": session_id,
            "mediums": {"call": "+15550001111"}, "request_id": rid}),
        );
        await_frame(&mut sc, "mediums_selected", Some(&rid), sent, s.left()).await
    })?;
    await_frame(
        &mut pc,
        "seeker_mediums_selected",
        None,
        Instant::now(),
        s.left(),
    )
    .await?;
    step!(s, "chat_message", |n| {
        let rid = format!("cm{n}");
        let sent = Instant::now();
        sc.send(&json!({"type": "chat_message", "session_id": session_id,
            "message": "hello from the bench", "request_id": rid}));
        await_frame(&mut sc, "message_sent", Some(&rid), sent, s.left()).await
    })?;
    await_frame(&mut pc, "chat_message", None, Instant::now(), s.left()).await?;
    step!(s, "finish_service", |n| {
        let rid = format!("fs{n}");
        let sent = Instant::now();
        sc.send(&json!({"type": "finish_service", "session_id": session_id,
            "rating_stars": 5, "request_id": rid}));
        await_frame(&mut sc, "service_finished", Some(&rid), sent, s.left()).await
    })?;
    await_frame(&mut pc, "service_finished", None, Instant::now(), s.left()).await?;
    Ok(())
}

/// One socket of a fresh user: upgrade, `ping` answered with `pong`, close. An upgrade
/// answered with an HTTP error, or a socket closed before its `pong`, is a refusal.
async fn connect_unit(target: &Target, s: &Steps<'_>, index: usize) -> Result<(), StepErr> {
    let user = target.user().map_err(failed)?;
    let role = if index.is_multiple_of(2) {
        Role::Seeker
    } else {
        Role::Provider
    };
    let mut conn = step!(s, "upgrade", |_n| {
        let started = Instant::now();
        target
            .connect(&user, role, index)
            .await
            .map_err(|e| connect_error(&e, started))
    })?;
    let sent = Instant::now();
    conn.send(&json!({"type": "ping", "request_id": "p"}));
    match await_frame(&mut conn, "pong", Some("p"), sent, s.left()).await {
        Ok(_) => Ok(()),
        Err(StepErr::Failed(_)) if conn.shared.is_closed() => {
            let latency_us = sent.elapsed().as_micros() as u64;
            s.tracker.refusal(s.phase, false, latency_us);
            Err(StepErr::Refused {
                hinted: false,
                after: None,
                latency_us,
                what: "socket closed before its pong".into(),
            })
        }
        Err(e) => Err(e),
    }
}

async fn tasks(ctx: &Arc<Ctx>, shape: &OverloadShape) -> Outcome {
    let tracker = Arc::new(Tracker::new(shape, 1));
    let (kind, retry) = (shape.kind, shape.retry);
    let deadline_us = tracker.deadline_us;
    let send = |seq: u64| {
        let (ctx, tracker) = (ctx.clone(), tracker.clone());
        tokio::spawn(async move {
            let deadline = tracker.at(tracker.sched.due_us(seq) + deadline_us);
            let steps = Steps {
                tracker: &tracker,
                phase: tracker.sched.phase(seq),
                deadline,
                retry,
            };
            let unit = async {
                match kind {
                    Kind::Connect => connect_unit(&ctx.target, &steps, seq as usize).await,
                    _ => lifecycle_unit(&ctx.target, &steps, seq as usize).await,
                }
            };
            let result = tokio::time::timeout_at(deadline.into(), unit)
                .await
                .unwrap_or_else(|_| Err(StepErr::Failed("deadline passed".into())));
            match result {
                Ok(()) => tracker.arrival(seq, tracker.now_us()),
                Err(StepErr::Refused { hinted, .. }) => {
                    tracker.resolve(seq, if hinted { REFUSED_HINTED } else { REFUSED_BARE });
                }
                Err(StepErr::Failed(m)) => tracker.failed(seq, || m),
            }
        });
    };
    let ((), cpu) = tokio::join!(open_loop(&tracker, send), overload_cpu(ctx, &tracker));
    // Every task ends by its deadline.
    tracker.drain(shape.deadline + Duration::from_secs(2)).await;
    tracker.settle(|_| "still running");
    report(ctx, shape, &tracker, &cpu)
}

// ---------------------------------------------------------------------------------------
// the report

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn p99_text(p99_ms: f64) -> String {
    if p99_ms >= ms(BAD_US) * 0.99 {
        "✗".into()
    } else {
        format!("{p99_ms:.0}")
    }
}

fn report(ctx: &Ctx, shape: &OverloadShape, t: &Tracker, cpu: &CpuSnapshot) -> Outcome {
    let ov = t.sched.phases[OVERLOAD];
    let c = |phase: usize, state: u8| count(&t.counts[phase][state as usize]);
    let overload_s = shape.overload.as_secs_f64().max(1e-9);
    let (ov_first_s, ov_end_s) = (
        (ov.start_us / 1_000_000) as usize,
        (ov.end_us / 1_000_000) as usize,
    );
    let fanout = f64::from(t.fanout);
    let per_s: Vec<f64> = t.goodput_by_s[ov_first_s..ov_end_s]
        .iter()
        .map(|a| count(a) as f64 / fanout)
        .collect();
    let good_units = per_s.iter().sum::<f64>();
    let goodput = good_units / overload_s;
    let pct = 100.0 * goodput / shape.capacity;
    let shed = c(OVERLOAD, SHED);
    let (hinted, bare) = (c(OVERLOAD, REFUSED_HINTED), c(OVERLOAD, REFUSED_BARE));
    let (failed, late) = (c(OVERLOAD, FAILED), c(OVERLOAD, LATE));
    let refusals = &t.refusals[OVERLOAD];
    let hint_p = refusals[0].percentiles();
    let bare_p = refusals[1].percentiles();
    let refusal_events = refusals[0].len() + refusals[1].len();

    // Recovery: 1-s windows of scheduled send time after the overload.
    let baseline_p99 = t.settled.percentiles().p99;
    let bound = shape.normal_factor * baseline_p99;
    let rec = t.sched.phases[RECOVERY];
    let rec_first = (rec.start_us / 1_000_000) as usize;
    let rec_n = (shape.recovery.as_secs() as usize).min(t.windows.len().saturating_sub(rec_first));
    let rec_p99: Vec<Option<f64>> = (0..rec_n)
        .map(|w| {
            let win = &t.windows[rec_first + w];
            (!win.latency.is_empty()).then(|| win.latency.percentiles().p99)
        })
        .collect();
    let normal = |p: &Option<f64>| p.is_none_or(|v| v <= bound);
    let back = if baseline_p99 > 0.0 && rec_p99.last().is_some_and(normal) {
        (0..rec_n).find(|&w| rec_p99[w..].iter().all(normal))
    } else {
        None
    };

    // Per second on stderr: what was scheduled, how it fared, what completed.
    eprintln!(
        "    {:>4} {:>9} {:>7} {:>6} {:>9} {:>8} {:>10}",
        "s", "phase", "units", "bad", "p99 ms", "lag ms", "goodput"
    );
    for (i, w) in t.windows.iter().enumerate() {
        let units = count(&w.units);
        if units == 0 && i >= (rec.end_us / 1_000_000) as usize {
            continue;
        }
        let at_us = i as u64 * 1_000_000;
        let name = if at_us < ov.start_us {
            "baseline"
        } else if at_us < ov.end_us {
            "overload"
        } else {
            "recovery"
        };
        eprintln!(
            "    {:>4} {:>9} {:>7} {:>6} {:>9} {:>8.0} {:>10}",
            i,
            name,
            units,
            count(&w.bad),
            if w.latency.is_empty() {
                "-".into()
            } else {
                p99_text(w.latency.percentiles().p99)
            },
            ms(count(&w.lag_us)),
            fmt_num(count(&t.goodput_by_s[i]) as f64 / fanout)
        );
    }

    let mut o = ctx.outcome(&shape.scenario(), shape.describe());
    o.offered = ov.rate;
    o.achieved = goodput;
    o.sent = ov.count - shed;
    o.delivered = good_units.round() as u64;
    o.latency = t.latency[OVERLOAD].percentiles();
    o.duplicated = count(&t.duplicates);
    o.errors = failed + late + bare;
    o.cpu = CpuPerUnit::from_delta(cpu, good_units.round() as u64);
    let mut put = |k: &str, v: f64| {
        o.extra.insert(k.to_owned(), v);
    };
    put("capacity/s", shape.capacity);
    put("goodput % of capacity", pct);
    put("sent/s", (ov.count - shed) as f64 / overload_s);
    put("refused (hinted)", hinted as f64);
    put("refused (no hint)", bare as f64);
    if hinted + bare > 0 || refusal_events > 0 {
        put("refusal p50 ms", hint_p.p50);
        put("refusal p99 ms", hint_p.p99);
        if !refusals[0].is_empty() {
            put(
                &format!("refusals ≤ {} ms %", shape.fast.as_millis()),
                100.0 * count(&t.fast_refusals[OVERLOAD]) as f64 / refusals[0].len() as f64,
            );
        }
    }
    if !refusals[1].is_empty() {
        put("no-hint refusal p50 ms", bare_p.p50);
        put("no-hint refusal p99 ms", bare_p.p99);
    }
    if refusal_events != hinted + bare {
        put("refused requests", refusal_events as f64);
    }
    put("failed", failed as f64);
    put("late", late as f64);
    put("shed (generator cap)", shed as f64);
    put("baseline p99 ms", baseline_p99);
    put("normal p99 bound ms", bound);
    put("back to normal s", back.map_or(-1.0, |b| b as f64));
    put("generator lag max ms", ms(count(&t.lag_max_us)));
    put(
        "goodput min 1-s",
        per_s
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(1e12),
    );
    if shape.retry {
        put("retries", count(&t.retries) as f64);
    }
    if count(&t.closed) > 0 {
        put("sockets closed", count(&t.closed) as f64);
    }
    if count(&t.stray_errors) > 0 {
        put("other error frames", count(&t.stray_errors) as f64);
    }
    let baseline_bad = c(BASELINE, REFUSED_HINTED)
        + c(BASELINE, REFUSED_BARE)
        + c(BASELINE, FAILED)
        + c(BASELINE, SHED)
        + c(BASELINE, LATE);
    if baseline_bad > 0 {
        put("baseline not completed", baseline_bad as f64);
    }

    // The verdict on G14 and the figures behind it.
    let check = |ok: bool| if ok { "✓" } else { "✗" };
    // Judged on refused requests (a lifecycle with --retry may complete after some).
    let refusals_ok = refusals[1].is_empty() && hint_p.p99 <= ms(t.fast_us);
    let mut note = format!(
        "G14: goodput {:.0} % of capacity {}; refusals {} ({} with hint, p99 {:.1} ms; {} without, p99 {:.1} ms); back to normal {} {}",
        pct,
        check(pct >= 90.0),
        check(refusals_ok),
        refusals[0].len(),
        hint_p.p99,
        refusals[1].len(),
        bare_p.p99,
        back.map_or_else(
            || format!("not within {rec_n} s"),
            |b| format!("after {b} s")
        ),
        check(back.is_some_and(|b| b <= 10)),
    );
    note.push_str(&format!(
        " | recovery p99 ms per s (bound {bound:.1}): {}",
        rec_p99
            .iter()
            .map(|p| p.map_or_else(|| "-".into(), p99_text))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    note.push_str(&format!(
        " | goodput per s: {}",
        per_s
            .iter()
            .map(|v| fmt_num(*v))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let refused_at = t.refused_at.lock().expect("refused lock");
    if !refused_at.is_empty() {
        note.push_str(&format!(
            " | refused at: {}",
            refused_at
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(e) = t.first_error.lock().expect("error lock").as_deref() {
        note.push_str(&format!(" | first error: {e}"));
    }
    o.note = note;
    o
}

/// One overload run of `shape.kind` (chat and location first open their sessions,
/// `setup_concurrency` at a time).
pub async fn run(
    ctx: &Arc<Ctx>,
    shape: &OverloadShape,
    setup_concurrency: usize,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        shape.capacity.is_finite() && shape.capacity > 0.0,
        "--capacity must be a positive number"
    );
    anyhow::ensure!(
        shape.factor > 0.0 && shape.comfort > 0.0,
        "--factor and --comfort must be positive"
    );
    anyhow::ensure!(
        !shape.overload.is_zero() && !shape.baseline.is_zero() && !shape.recovery.is_zero(),
        "every phase needs a duration"
    );
    eprintln!("    {}: {}", shape.scenario(), shape.describe());
    Ok(match shape.kind {
        Kind::Chat => {
            let load = PairLoad::Chat {
                receipts: shape.receipts,
            };
            let pairs = load
                .open(&ctx.target, shape.sessions, setup_concurrency)
                .await?;
            chat(ctx, shape, &pairs).await
        }
        Kind::Location => {
            let pairs = PairLoad::Location
                .open(&ctx.target, shape.sessions, setup_concurrency)
                .await?;
            location(ctx, shape, &pairs).await
        }
        Kind::Lifecycle | Kind::Connect => tasks(ctx, shape).await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_has_three_phases_on_one_clock() {
        let s = Schedule::new([
            (5.0, Duration::from_secs(2)),
            (100.0, Duration::from_secs(3)),
            (5.0, Duration::from_secs(4)),
        ]);
        assert_eq!(s.total(), 10 + 300 + 20);
        assert_eq!(s.phase(9), BASELINE);
        assert_eq!(s.phase(10), OVERLOAD);
        assert_eq!(s.due_us(10), 2_000_000);
        assert_eq!(s.due_us(11), 2_010_000);
        assert_eq!(s.phase(310), RECOVERY);
        assert_eq!(s.due_us(310), 5_000_000);
        assert_eq!(s.due_us(329), 5_000_000 + 19 * 200_000);
    }

    #[test]
    fn request_ids_belong_to_their_run() {
        assert_eq!(seq_of(7, Some("7:42")), Some(42));
        assert_eq!(seq_of(7, Some("8:42")), None);
        assert_eq!(seq_of(7, Some("lifecycle")), None);
        assert_eq!(seq_of(7, None), None);
    }
}
