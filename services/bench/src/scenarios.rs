//! The scenarios: open-loop drivers, their handlers, and the searches for the highest
//! rate that still meets a latency bound.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Conn, ConnShared, Handler, PROVIDER_LAT, PROVIDER_LON, Pair, Role, Target};
use crate::procstat::{self, AppFilter, CpuSnapshot};
use crate::report::{CpuPerUnit, Latency, Outcome, fmt_num};
use crate::traffic::TrafficSource;

/// What every scenario needs: the target, its label and which processes to account.
pub struct Ctx {
    /// The stack under test.
    pub target: Target,
    /// `tether` or `floor`.
    pub label: String,
    /// Processes that count as the application.
    pub apps: AppFilter,
    /// Longest wait for stragglers after a run's last send.
    pub drain: Duration,
    /// NATS and PostgreSQL counters read with the CPU.
    pub traffic: TrafficSource,
    runs: AtomicU64,
}

impl Ctx {
    /// A context.
    pub fn new(
        target: Target,
        label: String,
        apps: AppFilter,
        drain: Duration,
        traffic: TrafficSource,
    ) -> Self {
        Self {
            target,
            label,
            apps,
            drain,
            traffic,
            runs: AtomicU64::new(std::process::id() as u64 % 1000 * 1000),
        }
    }

    pub(crate) fn next_run(&self) -> u64 {
        self.runs.fetch_add(1, Ordering::Relaxed)
    }

    /// CPU so far, with the traffic counters read at the same moment.
    pub(crate) async fn cpu(&self) -> CpuSnapshot {
        let traffic = self.traffic.snapshot().await;
        CpuSnapshot {
            traffic,
            ..procstat::cpu_snapshot(&self.apps)
        }
    }

    pub(crate) fn outcome(&self, scenario: &str, shape: String) -> Outcome {
        Outcome {
            scenario: scenario.to_owned(),
            target: self.label.clone(),
            shape,
            ..Outcome::default()
        }
    }
}

/// The fields of a server frame the handlers look at (here and in [`crate::overload`]).
#[derive(Deserialize)]
pub(crate) struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) ty: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) request_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) message_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) distance_meters: Option<f64>,
    #[serde(borrow, default)]
    pub(crate) code: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) retry_after_ms: Option<u64>,
}

fn micros_since(t0: Instant) -> u64 {
    t0.elapsed().as_micros() as u64
}

/// Sends `total` units at `rate` per second from `t0`: unit `seq` is due at
/// `t0 + seq / rate`; the scheduler sleeps only when it is ahead, so a late start sends
/// the backlog at once and its latency still counts from the due time.
async fn open_loop(t0: Instant, rate: f64, total: u64, mut send: impl FnMut(u64, u64)) {
    for seq in 0..total {
        let due_us = (seq as f64 * 1e6 / rate) as u64;
        let due = t0 + Duration::from_micros(due_us);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        send(seq, due_us);
    }
}

/// How many units a run at `rate` per second for `duration` sends (at least one).
fn sends(rate: f64, duration: Duration) -> u64 {
    (rate * duration.as_secs_f64()).round().max(1.0) as u64
}

/// Polls `done` every 20 ms until it holds or `limit` has passed.
async fn wait_for(limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn max_index(pairs: &[Pair]) -> usize {
    pairs.iter().map(|p| p.index + 1).max().unwrap_or(0)
}

/// Per pair, per recipient role: a queue of what is in flight towards it.
fn fifos<T>(pairs: &[Pair]) -> Vec<[Mutex<VecDeque<T>>; 2]> {
    (0..max_index(pairs))
        .map(|_| [Mutex::new(VecDeque::new()), Mutex::new(VecDeque::new())])
        .collect()
}

/// Makes `handler` every pair's handler.
fn install(pairs: &[Pair], handler: Arc<dyn Handler>) {
    for p in pairs {
        p.set_handler(Some(handler.clone()));
    }
}

/// Removes every pair's handler.
fn uninstall(pairs: &[Pair]) {
    for p in pairs {
        p.set_handler(None);
    }
}

/// What a run whose recipients match each arrival to a send (typing, location) counts.
struct Tally {
    latency: Latency,
    received: AtomicU64,
    unmatched: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
    last_arrival_us: AtomicU64,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: Latency::new(),
            received: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            last_arrival_us: AtomicU64::new(0),
        }
    }

    /// An arrival at `now` matched to a send due at `due` (µs since the run's start).
    fn matched(&self, now: u64, due: u64) {
        self.latency.record_us(now.saturating_sub(due));
        self.received.fetch_add(1, Ordering::Relaxed);
        self.last_arrival_us.fetch_max(now, Ordering::Relaxed);
    }

    /// An arrival that matches no send.
    fn unmatched(&self) {
        self.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn closed(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Fills `o` for `total` sends at `rate` over `duration`, each expected to arrive
    /// `fanout` times; CPU (`cpu`) is per arrival.
    fn fill(
        &self,
        o: &mut Outcome,
        (rate, total, fanout): (f64, u64, u64),
        duration: Duration,
        cpu: &CpuSnapshot,
    ) {
        let received = self.received();
        let window =
            (self.last_arrival_us.load(Ordering::Relaxed) as f64 / 1e6).max(duration.as_secs_f64());
        o.offered = rate;
        o.sent = total;
        o.delivered = received;
        o.achieved = received as f64 / fanout as f64 / window;
        o.latency = self.latency.percentiles();
        o.lost = (total * fanout).saturating_sub(received);
        o.duplicated = self.unmatched.load(Ordering::Relaxed);
        o.errors = self.errors.load(Ordering::Relaxed) + self.closed.load(Ordering::Relaxed);
        o.cpu = CpuPerUnit::from_delta(cpu, received);
    }
}

/// How a run's recipients match what arrives to what was sent.
trait Matcher: Send + Sync + 'static {
    /// The type of the frames that answer a send.
    const ARRIVAL: &'static str;

    /// `frame` (of type [`Matcher::ARRIVAL`]) arrived on `conn` at `now` (µs since the
    /// run's start): match it to a send in flight and count it in `tally`.
    fn arrived(&self, conn: &ConnShared, frame: &Frame, now: u64, tally: &Tally);
}

/// A run of a [`Matcher`]: every pair's handler while it lasts.
struct MatchedRun<M> {
    t0: Instant,
    matcher: M,
    tally: Tally,
}

impl<M: Matcher> Handler for MatchedRun<M> {
    fn on_text(&self, conn: &ConnShared, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        if frame.ty == M::ARRIVAL {
            let now = micros_since(self.t0);
            self.matcher.arrived(conn, &frame, now, &self.tally);
        } else if frame.ty == "error" {
            self.tally.error();
        }
    }

    fn on_closed(&self, _conn: &ConnShared) {
        self.tally.closed();
    }
}

impl<M: Matcher> MatchedRun<M> {
    /// Starts the run's clock and installs it on `pairs`; sends at `rate` for `duration`
    /// to the pairs in turn (`send(run, pair, round, due µs)`, `round` counting the turns
    /// before); waits up to the drain until `done(run, sends)`; removes it again. Returns
    /// the run, its number of sends and the CPU used from the first send to the end of the
    /// wait.
    async fn drive(
        ctx: &Ctx,
        pairs: &[Pair],
        matcher: M,
        (rate, duration): (f64, Duration),
        mut send: impl FnMut(&Self, &Pair, u64, u64),
        done: impl Fn(&Self, u64) -> bool,
    ) -> (Arc<Self>, u64, CpuSnapshot) {
        let total = sends(rate, duration);
        let t0 = Instant::now();
        let run = Arc::new(Self {
            t0,
            matcher,
            tally: Tally::new(),
        });
        install(pairs, run.clone());
        let cpu0 = ctx.cpu().await;
        let n = pairs.len() as u64;
        open_loop(t0, rate, total, |seq, due_us| {
            send(&run, &pairs[(seq % n) as usize], seq / n, due_us);
        })
        .await;
        wait_for(ctx.drain, || done(&run, total)).await;
        let cpu = ctx.cpu().await.since(&cpu0);
        uninstall(pairs);
        (run, total, cpu)
    }
}

// ---------------------------------------------------------------------------------------
// chat

/// State of one chat run, shared by every connection's reader.
struct ChatRun {
    run: u64,
    t0: Instant,
    receipts: bool,
    /// Per message: bit 0 `message_sent` seen, bit 1 an error answered it.
    answers: Vec<AtomicU8>,
    arrivals: Vec<AtomicU8>,
    latency: Latency,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    closed: AtomicU64,
    status_updates: AtomicU64,
    delivered: AtomicU64,
    duplicated: AtomicU64,
    last_arrival_us: AtomicU64,
}

impl ChatRun {
    fn parse_text(&self, text: &str) -> Option<(usize, u64)> {
        let mut parts = text.split(' ');
        if parts.next()? != "bench" || parts.next()?.parse::<u64>().ok()? != self.run {
            return None;
        }
        let seq = parts.next()?.parse().ok()?;
        let due = parts.next()?.parse().ok()?;
        Some((seq, due))
    }

    fn seq_of_request(&self, request_id: &str) -> Option<usize> {
        let (run, seq) = request_id.split_once(':')?;
        (run.parse::<u64>().ok()? == self.run)
            .then(|| seq.parse().ok())
            .flatten()
    }
}

impl Handler for ChatRun {
    fn on_text(&self, conn: &ConnShared, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.ty.as_ref() {
            "chat_message" => {
                let now = micros_since(self.t0);
                let Some((seq, due)) = frame.message.as_deref().and_then(|m| self.parse_text(m))
                else {
                    return;
                };
                let Some(slot) = self.arrivals.get(seq) else {
                    return;
                };
                if slot.fetch_add(1, Ordering::Relaxed) == 0 {
                    self.latency.record_us(now.saturating_sub(due));
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                    self.last_arrival_us.fetch_max(now, Ordering::Relaxed);
                } else {
                    self.duplicated.fetch_add(1, Ordering::Relaxed);
                }
                if self.receipts
                    && let Some(id) = frame.message_id.as_deref()
                {
                    conn.send_receipts(id);
                }
            }
            "message_sent" => {
                if let Some(seq) = frame
                    .request_id
                    .as_deref()
                    .and_then(|r| self.seq_of_request(r))
                    && let Some(a) = self.answers.get(seq)
                {
                    a.fetch_or(1, Ordering::Relaxed);
                }
            }
            "message_status_update" => {
                self.status_updates.fetch_add(1, Ordering::Relaxed);
            }
            "error" => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Some(seq) = frame
                    .request_id
                    .as_deref()
                    .and_then(|r| self.seq_of_request(r))
                    && let Some(a) = self.answers.get(seq)
                {
                    a.fetch_or(2, Ordering::Relaxed);
                }
                let mut first = self.first_error.lock().expect("error lock");
                if first.is_none() {
                    *first = Some(format!(
                        "{}: {}",
                        frame.code.as_deref().unwrap_or("?"),
                        text.chars().take(160).collect::<String>()
                    ));
                }
            }
            _ => {}
        }
    }

    fn on_closed(&self, _conn: &ConnShared) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Chat at a fixed rate over the pairs' sessions, directions alternating, with
/// `message_delivered` + `message_read` from each recipient when `receipts`.
pub async fn chat(
    ctx: &Ctx,
    pairs: &[Pair],
    rate: f64,
    duration: Duration,
    receipts: bool,
) -> Outcome {
    let total = sends(rate, duration);
    let run = Arc::new(ChatRun {
        run: ctx.next_run(),
        t0: Instant::now(),
        receipts,
        answers: (0..total).map(|_| AtomicU8::new(0)).collect(),
        arrivals: (0..total).map(|_| AtomicU8::new(0)).collect(),
        latency: Latency::new(),
        errors: AtomicU64::new(0),
        first_error: Mutex::new(None),
        closed: AtomicU64::new(0),
        status_updates: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        duplicated: AtomicU64::new(0),
        last_arrival_us: AtomicU64::new(0),
    });
    install(pairs, run.clone());
    let cpu0 = ctx.cpu().await;
    let t0 = Instant::now();
    // Re-base the run's clock on the send clock.
    let run_t0_offset = t0.duration_since(run.t0).as_micros() as u64;
    let n = pairs.len() as u64;
    open_loop(t0, rate, total, |seq, due_us| {
        let pair = &pairs[(seq % n) as usize];
        let conn = if (seq / n).is_multiple_of(2) {
            &pair.seeker
        } else {
            &pair.provider
        };
        conn.shared.send_text(format!(
            r#"{{"type":"chat_message","session_id":"{}","message":"bench {} {seq} {}","request_id":"{}:{seq}"}}"#,
            pair.session_id,
            run.run,
            due_us + run_t0_offset,
            run.run
        ));
    })
    .await;
    let all_in = || {
        run.answers.iter().zip(&run.arrivals).all(|(a, r)| {
            let a = a.load(Ordering::Relaxed);
            a & 2 != 0 || (a & 1 != 0 && r.load(Ordering::Relaxed) > 0)
        })
    };
    wait_for(ctx.drain, all_in).await;
    if receipts {
        // Let the last receipts land inside the CPU window.
        let want = run.delivered.load(Ordering::Relaxed) * 2;
        wait_for(Duration::from_secs(2), || {
            run.status_updates.load(Ordering::Relaxed) >= want
        })
        .await;
    }
    let cpu = ctx.cpu().await.since(&cpu0);
    let mut lost = 0;
    let mut unanswered = 0;
    let mut errored = 0;
    for (a, r) in run.answers.iter().zip(&run.arrivals) {
        let a = a.load(Ordering::Relaxed);
        let r = r.load(Ordering::Relaxed);
        if a & 1 != 0 && r == 0 {
            lost += 1;
        }
        if a & 2 != 0 {
            errored += 1;
        } else if a == 0 {
            unanswered += 1;
        }
    }
    let delivered = run.delivered.load(Ordering::Relaxed);
    let window = (run
        .last_arrival_us
        .load(Ordering::Relaxed)
        .saturating_sub(run_t0_offset) as f64
        / 1e6)
        .max(duration.as_secs_f64());
    let mut o = ctx.outcome(
        "chat",
        format!(
            "{} msg/s, {} sessions, {} s{}",
            fmt_num(rate),
            pairs.len(),
            duration.as_secs(),
            if receipts { ", receipts" } else { "" }
        ),
    );
    o.offered = rate;
    o.sent = total;
    o.delivered = delivered;
    o.achieved = delivered as f64 / window;
    o.latency = run.latency.percentiles();
    o.lost = lost;
    o.duplicated = run.duplicated.load(Ordering::Relaxed);
    o.errors = run.errors.load(Ordering::Relaxed) + run.closed.load(Ordering::Relaxed) + unanswered;
    o.cpu = CpuPerUnit::from_delta(&cpu, delivered);
    if unanswered > 0 {
        o.extra.insert("unanswered".into(), unanswered as f64);
    }
    if errored > 0 {
        o.extra.insert("refused".into(), errored as f64);
    }
    if receipts {
        o.extra.insert(
            "receipt updates".into(),
            run.status_updates.load(Ordering::Relaxed) as f64,
        );
    }
    if let Some(e) = run.first_error.lock().expect("error lock").take() {
        o.note = format!("first error {e}");
    }
    o
}

// ---------------------------------------------------------------------------------------
// typing

/// Typing: the recipient pairs each indicator with the oldest unmatched send of that
/// direction (the contract carries no id on it; the order within a session is kept).
struct TypingMatcher {
    /// Per pair, per recipient role: due times (µs) of indicators in flight.
    fifos: Vec<[Mutex<VecDeque<u64>>; 2]>,
}

impl Matcher for TypingMatcher {
    const ARRIVAL: &'static str = "typing_indicator";

    fn arrived(&self, conn: &ConnShared, _frame: &Frame, now: u64, tally: &Tally) {
        let due = self.fifos[conn.index][conn.role.index()]
            .lock()
            .expect("fifo lock")
            .pop_front();
        match due {
            Some(due) => tally.matched(now, due),
            None => tally.unmatched(),
        }
    }
}

/// `typing_indicator` at a fixed rate, alternating direction and `is_typing`.
pub async fn typing(ctx: &Ctx, pairs: &[Pair], rate: f64, duration: Duration) -> Outcome {
    let matcher = TypingMatcher {
        fifos: fifos(pairs),
    };
    let send = |run: &MatchedRun<TypingMatcher>, pair: &Pair, round: u64, due_us: u64| {
        let (from, to) = if round.is_multiple_of(2) {
            (&pair.seeker, Role::Provider)
        } else {
            (&pair.provider, Role::Seeker)
        };
        run.matcher.fifos[pair.index][to.index()]
            .lock()
            .expect("fifo lock")
            .push_back(due_us);
        from.shared.send_text(format!(
            r#"{{"type":"typing_indicator","session_id":"{}","is_typing":{}}}"#,
            pair.session_id,
            (round / 2).is_multiple_of(2)
        ));
    };
    let done = |run: &MatchedRun<TypingMatcher>, total| run.tally.received() >= total;
    let (run, total, cpu) =
        MatchedRun::drive(ctx, pairs, matcher, (rate, duration), send, done).await;
    let mut o = ctx.outcome(
        "typing",
        format!(
            "{}/s, {} sessions, {} s",
            fmt_num(rate),
            pairs.len(),
            duration.as_secs()
        ),
    );
    run.tally.fill(&mut o, (rate, total, 1), duration, &cpu);
    o
}

// ---------------------------------------------------------------------------------------
// location

const EARTH_RADIUS_M: f64 = 6_371_000.0;
const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
/// Moves before a seeker's walk starts again. The jump back to the start is a move the
/// server must refuse since protocol 1.2 (faster than `TETHER_MAX_SPEED_MPS`: no
/// `distance_update`, counted lost), so no run should reach it: 20,000 moves per session
/// (1,200 km north, still far from the pole) are more than any scenario sends.
const PATH_STEPS: u32 = 20_000;

/// Haversine distance in metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// The seeker's position after `k` moves: 1 km north of the provider, walking away in
/// 60 m steps for [`PATH_STEPS`] steps, then back to the start (every move ≥ 50 m and
/// plausible, every distance of a cycle distinct, never within 500 m so no arrival stage
/// fires).
pub(crate) fn seeker_position(k: u32) -> (f64, f64) {
    let metres = 1000.0 + 60.0 * f64::from(k % PATH_STEPS);
    (PROVIDER_LAT + metres / METRES_PER_DEGREE, PROVIDER_LON)
}

pub(crate) fn expected_distance(k: u32) -> f64 {
    let (lat, lon) = seeker_position(k);
    (haversine_m(lat, lon, PROVIDER_LAT, PROVIDER_LON) * 10.0).round() / 10.0
}

/// Sends both parties' first positions so that the session has a distance; waits for the
/// first `distance_update` on both sockets. Call before any handler is installed.
pub async fn prepare_locations(target: &Target, pairs: &mut [Pair]) -> anyhow::Result<()> {
    let t = target.timeout;
    let mut stream = futures::stream::iter(pairs.iter_mut())
        .map(|p| async move {
            p.provider.send(
                &json!({"type": "location_update", "session_id": p.session_id,
                "latitude": PROVIDER_LAT, "longitude": PROVIDER_LON}),
            );
            let (lat, lon) = seeker_position(0);
            p.seeker.send(
                &json!({"type": "location_update", "session_id": p.session_id,
                "latitude": lat, "longitude": lon}),
            );
            let Pair {
                seeker, provider, ..
            } = p;
            tokio::try_join!(
                seeker.recv_type("distance_update", t),
                provider.recv_type("distance_update", t)
            )
        })
        .buffer_unordered(64);
    while let Some(result) = stream.next().await {
        result?;
    }
    Ok(())
}

/// Moves in flight towards one recipient: (due µs, expected distance).
type MoveQueue = Mutex<VecDeque<(u64, f64)>>;

/// Location: the seeker moves; each move is expected as a `distance_update` with the
/// distance it implies at both parties.
struct LocationMatcher {
    /// Per pair, per recipient role: (due µs, expected distance) of moves in flight.
    fifos: Vec<[MoveQueue; 2]>,
    /// Moves passed over by a later one's update (latest-wins).
    skipped: AtomicU64,
}

impl Matcher for LocationMatcher {
    const ARRIVAL: &'static str = "distance_update";

    fn arrived(&self, conn: &ConnShared, frame: &Frame, now: u64, tally: &Tally) {
        let Some(d) = frame.distance_meters else {
            return;
        };
        let mut fifo = self.fifos[conn.index][conn.role.index()]
            .lock()
            .expect("fifo lock");
        match fifo.iter().position(|&(_, e)| (e - d).abs() < 0.15) {
            Some(k) => {
                let mut due = 0;
                for _ in 0..=k {
                    if let Some((u, _)) = fifo.pop_front() {
                        due = u;
                    }
                }
                drop(fifo);
                self.skipped.fetch_add(k as u64, Ordering::Relaxed);
                tally.matched(now, due);
            }
            // A periodic tick, or a distance no move implied.
            None => tally.unmatched(),
        }
    }
}

/// `location_update`s of the seekers at a fixed rate (≥ 50 m moves).
pub async fn location(ctx: &Ctx, pairs: &[Pair], rate: f64, duration: Duration) -> Outcome {
    let matcher = LocationMatcher {
        fifos: fifos(pairs),
        skipped: AtomicU64::new(0),
    };
    let send = |run: &MatchedRun<LocationMatcher>, pair: &Pair, _round: u64, due_us: u64| {
        let k = pair.moves.fetch_add(1, Ordering::Relaxed) + 1;
        let expected = expected_distance(k);
        for fifo in &run.matcher.fifos[pair.index] {
            fifo.lock()
                .expect("fifo lock")
                .push_back((due_us, expected));
        }
        let (lat, lon) = seeker_position(k);
        pair.seeker.shared.send_text(format!(
            r#"{{"type":"location_update","session_id":"{}","latitude":{lat},"longitude":{lon}}}"#,
            pair.session_id
        ));
    };
    // Each update yields two distance_updates.
    let done = |run: &MatchedRun<LocationMatcher>, total: u64| {
        run.tally.received() + run.matcher.skipped.load(Ordering::Relaxed) >= total * 2
    };
    let (run, total, cpu) =
        MatchedRun::drive(ctx, pairs, matcher, (rate, duration), send, done).await;
    let mut o = ctx.outcome(
        "location",
        format!(
            "{} updates/s, {} sessions, {} s",
            fmt_num(rate),
            pairs.len(),
            duration.as_secs()
        ),
    );
    // Rate in updates/s.
    run.tally.fill(&mut o, (rate, total, 2), duration, &cpu);
    o.extra.insert(
        "skipped moves".into(),
        run.matcher.skipped.load(Ordering::Relaxed) as f64,
    );
    o.note = "lost = distance_updates expected at either party and not received; dup = updates matching no move (periodic ticks included); CPU per distance_update".into();
    o
}

// ---------------------------------------------------------------------------------------
// the loads over open pairs

/// The scenarios that load the sessions of open pairs at a rate.
#[derive(Clone, Copy, Debug)]
pub enum PairLoad {
    /// [`chat`], with receipts or without.
    Chat {
        /// `message_delivered` + `message_read` from each recipient.
        receipts: bool,
    },
    /// [`typing`].
    Typing,
    /// [`location`].
    Location,
}

impl PairLoad {
    /// The scenario's name in the results.
    pub fn name(self) -> &'static str {
        match self {
            PairLoad::Chat { .. } => "chat",
            PairLoad::Typing => "typing",
            PairLoad::Location => "location",
        }
    }

    /// Opens `sessions` pairs for this load, `concurrency` at a time (for location, with
    /// their first distance: [`prepare_locations`]).
    pub async fn open(
        self,
        target: &Target,
        sessions: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<Pair>> {
        let mut pairs = crate::client::open_pairs(target, sessions, concurrency).await?;
        if let PairLoad::Location = self {
            prepare_locations(target, &mut pairs).await?;
        }
        Ok(pairs)
    }

    /// One run over `pairs` at `rate` for `duration`.
    pub async fn run(self, ctx: &Ctx, pairs: &[Pair], rate: f64, duration: Duration) -> Outcome {
        match self {
            PairLoad::Chat { receipts } => chat(ctx, pairs, rate, duration, receipts).await,
            PairLoad::Typing => typing(ctx, pairs, rate, duration).await,
            PairLoad::Location => location(ctx, pairs, rate, duration).await,
        }
    }
}

// ---------------------------------------------------------------------------------------
// lifecycle

/// One whole lifecycle through the contract: provider active, both sockets, order,
/// acceptance, mediums, one chat message delivered, `finish_service` seen by both.
pub async fn one_lifecycle(target: &Target, index: usize) -> anyhow::Result<()> {
    let t = target.timeout;
    let mut pair = crate::client::open_pair(target, index).await?;
    pair.seeker.send(
        &json!({"type": "chat_message", "session_id": pair.session_id,
        "message": "hello from the bench", "request_id": "lifecycle"}),
    );
    {
        let Pair {
            seeker, provider, ..
        } = &mut pair;
        tokio::try_join!(
            seeker.recv_type("message_sent", t),
            provider.recv_type("chat_message", t)
        )?;
    }
    pair.seeker
        .send(&json!({"type": "finish_service", "session_id": pair.session_id, "rating_stars": 5}));
    let Pair {
        seeker, provider, ..
    } = &mut pair;
    tokio::try_join!(
        seeker.recv_type("service_finished", t),
        provider.recv_type("service_finished", t)
    )?;
    Ok(())
}

/// Lifecycles started at a fixed rate (each one its own task, at most `max_inflight` at
/// once: a start above that counts as an error).
pub async fn lifecycle(
    ctx: &Arc<Ctx>,
    rate: f64,
    duration: Duration,
    max_inflight: usize,
) -> Outcome {
    let total = sends(rate, duration);
    let latency = Arc::new(Latency::new());
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let inflight = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let last_us = Arc::new(AtomicU64::new(0));
    let cpu0 = ctx.cpu().await;
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut refused = 0u64;
    open_loop(t0, rate, total, |seq, due_us| {
        if inflight.load(Ordering::Relaxed) >= max_inflight {
            refused += 1;
            return;
        }
        inflight.fetch_add(1, Ordering::Relaxed);
        let (ctx, latency, errors, first_error, inflight, done, last_us) = (
            ctx.clone(),
            latency.clone(),
            errors.clone(),
            first_error.clone(),
            inflight.clone(),
            done.clone(),
            last_us.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let result = tokio::time::timeout(
                Duration::from_secs(30),
                one_lifecycle(&ctx.target, seq as usize),
            )
            .await;
            let now = micros_since(t0);
            match result {
                Ok(Ok(())) => {
                    latency.record_us(now.saturating_sub(due_us));
                    done.fetch_add(1, Ordering::Relaxed);
                    last_us.fetch_max(now, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error
                        .lock()
                        .expect("error lock")
                        .get_or_insert_with(|| format!("{e:#}"));
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error
                        .lock()
                        .expect("error lock")
                        .get_or_insert_with(|| "lifecycle timed out (30 s)".into());
                }
            }
            inflight.fetch_sub(1, Ordering::Relaxed);
        }));
    })
    .await;
    for task in tasks {
        let _ = task.await;
    }
    let cpu = ctx.cpu().await.since(&cpu0);
    let completed = done.load(Ordering::Relaxed);
    let window = (last_us.load(Ordering::Relaxed) as f64 / 1e6).max(duration.as_secs_f64());
    let mut o = ctx.outcome(
        "lifecycle",
        format!("{}/s, {} s", fmt_num(rate), duration.as_secs()),
    );
    o.offered = rate;
    o.sent = total;
    o.delivered = completed;
    o.achieved = completed as f64 / window;
    o.latency = latency.percentiles();
    o.errors = errors.load(Ordering::Relaxed) + refused;
    o.cpu = CpuPerUnit::from_delta(&cpu, completed);
    if refused > 0 {
        o.extra
            .insert("not started (in flight cap)".into(), refused as f64);
    }
    if let Some(e) = first_error.lock().expect("error lock").take() {
        o.note = format!("first error: {e}");
    }
    o
}

// ---------------------------------------------------------------------------------------
// idle

/// Opens `sockets` sockets (fresh users, alternating endpoints), `concurrency` handshakes
/// at a time, holds them for `hold`, and reports connects/s and the RSS growth of the
/// edge (and NATS) per socket.
pub async fn idle(
    ctx: &Ctx,
    sockets: usize,
    hold: Duration,
    concurrency: usize,
    edge_pids: &[u32],
    nats_pids: &[u32],
) -> Outcome {
    let edge0 = procstat::rss_sum_kib(edge_pids);
    let nats0 = procstat::rss_sum_kib(nats_pids);
    let latency = Latency::new();
    let cpu0 = ctx.cpu().await;
    let t0 = Instant::now();
    let mut conns: Vec<Conn> = Vec::with_capacity(sockets);
    let mut failures = 0u64;
    let mut first_error = None;
    {
        let target = &ctx.target;
        let latency = &latency;
        let mut stream = futures::stream::iter(0..sockets)
            .map(|i| async move {
                let started = Instant::now();
                let role = if i % 2 == 0 {
                    Role::Seeker
                } else {
                    Role::Provider
                };
                let result = async { target.connect(&target.user()?, role, i).await }.await;
                if result.is_ok() {
                    latency.record_us(started.elapsed().as_micros() as u64);
                }
                result
            })
            .buffer_unordered(concurrency.max(1));
        let step = (sockets / 10).max(1);
        while let Some(result) = stream.next().await {
            match result {
                Ok(c) => conns.push(c),
                Err(e) => {
                    failures += 1;
                    first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
            let n = conns.len() + failures as usize;
            if n.is_multiple_of(step) {
                eprintln!("    idle: {n}/{sockets} sockets");
            }
        }
    }
    let connect_s = t0.elapsed().as_secs_f64();
    let ok = conns.len() as u64;
    let cpu = ctx.cpu().await.since(&cpu0);
    // Let per-socket state settle (connect-time work, first messages).
    tokio::time::sleep(Duration::from_secs(2).min(hold)).await;
    let edge1 = procstat::rss_sum_kib(edge_pids);
    let nats1 = procstat::rss_sum_kib(nats_pids);
    tokio::time::sleep(hold.saturating_sub(Duration::from_secs(2))).await;
    let closed = conns.iter().filter(|c| c.shared.is_closed()).count() as u64;
    let edge_end = procstat::rss_sum_kib(edge_pids);
    drop(conns);
    let per = |a: u64, b: u64| {
        if ok == 0 {
            0.0
        } else {
            b.saturating_sub(a) as f64 / ok as f64
        }
    };
    let mut o = ctx.outcome(
        "idle",
        format!("{sockets} sockets, hold {} s", hold.as_secs()),
    );
    o.sent = sockets as u64;
    o.delivered = ok;
    o.achieved = ok as f64 / connect_s;
    o.latency = latency.percentiles();
    o.errors = failures + closed;
    o.cpu = CpuPerUnit::from_delta(&cpu, ok);
    o.extra
        .insert("KiB/socket".into(), per(edge0, edge1) + per(nats0, nats1));
    o.extra.insert("edge KiB/socket".into(), per(edge0, edge1));
    o.extra.insert("NATS KiB/socket".into(), per(nats0, nats1));
    o.extra.insert("connects/s".into(), o.achieved);
    o.extra
        .insert("edge RSS MiB at end".into(), edge_end as f64 / 1024.0);
    if closed > 0 {
        o.extra.insert("closed while idle".into(), closed as f64);
    }
    let mut note = "latency = handshake time (TCP + upgrade); CPU per socket opened".to_owned();
    if let Some(e) = first_error {
        note.push_str(&format!("; first error: {e}"));
    }
    o.note = note;
    o
}

// ---------------------------------------------------------------------------------------
// searches for the highest passing rate

/// Whether a step passes: p99 within `p99_ms`, nothing lost, duplicated or refused, and
/// at least 90 % of the offered rate delivered.
pub fn passes(o: &Outcome, p99_ms: f64) -> bool {
    o.delivered > 0
        && o.latency.p99 <= p99_ms
        && o.lost == 0
        && o.duplicated == 0
        && o.errors == 0
        && o.achieved >= 0.9 * o.offered
}

/// Doubles the rate from `start` while steps pass (up to `cap`), then bisects `bisect`
/// times between the last passing and the first failing rate. Returns the best passing
/// step renamed `<scenario>-max` (or the first step, marked, when none passed).
pub async fn find_max<F, Fut>(
    name: &str,
    start: f64,
    cap: f64,
    bisect: u32,
    p99_ms: f64,
    pause: Duration,
    mut step: F,
) -> Outcome
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut best: Option<Outcome> = None;
    let mut first: Option<Outcome> = None;
    let mut failed_at: Option<(f64, String)> = None;
    let mut rate = start;
    let mut halvings = 0;
    let mut tried = Vec::new();
    let describe = |o: &Outcome| {
        format!(
            "{}/s: achieved {}/s, p99 {:.1} ms, lost {}, dup {}, errors {}",
            fmt_num(o.offered),
            fmt_num(o.achieved),
            o.latency.p99,
            o.lost,
            o.duplicated,
            o.errors
        )
    };
    // One step: run it, judge it, log it, rest.
    let mut attempt = async |rate: f64| {
        let o = step(rate).await;
        let ok = passes(&o, p99_ms);
        eprintln!(
            "    {name}: {} -> {}",
            describe(&o),
            if ok { "pass" } else { "FAIL" }
        );
        tried.push(format!("{}{}", fmt_num(rate), if ok { "✓" } else { "✗" }));
        tokio::time::sleep(pause).await;
        (o, ok)
    };
    loop {
        let (o, ok) = attempt(rate).await;
        first.get_or_insert_with(|| o.clone());
        if ok {
            best = Some(o);
            if rate * 2.0 > cap || failed_at.is_some() {
                break;
            }
            rate *= 2.0;
        } else {
            failed_at = Some((rate, describe(&o)));
            // Nothing passed yet: halve (a few times) to find a passing floor first.
            if best.is_none() && halvings < 3 {
                halvings += 1;
                rate = (rate / 2.0).round();
                continue;
            }
            break;
        }
    }
    let bounds = best
        .as_ref()
        .zip(failed_at.as_ref())
        .map(|(b, (f, _))| (b.offered, *f));
    if let Some((mut pass, mut fail)) = bounds {
        for _ in 0..bisect {
            let mid = ((pass + fail) / 2.0).round();
            if mid <= pass || mid >= fail {
                break;
            }
            let (o, ok) = attempt(mid).await;
            if ok {
                pass = mid;
                best = Some(o);
            } else {
                fail = mid;
                failed_at = Some((mid, describe(&o)));
            }
        }
    }
    let mut result = match best {
        Some(b) => b,
        None => {
            let mut f = first.unwrap_or_default();
            f.offered = 0.0;
            f.note = "no rate passed".into();
            f
        }
    };
    result.scenario = format!("{name}-max");
    let mut note = format!("p99 ≤ {p99_ms} ms; steps {}", tried.join(" "));
    if let Some((_, why)) = failed_at {
        note.push_str(&format!("; first failing step {why}"));
    }
    if result.note.starts_with("no rate") {
        note.push_str("; no rate passed");
    }
    result.note = note;
    result
}

// ---------------------------------------------------------------------------------------
// soak

/// Live and dead tuples of the most-dead user tables.
pub async fn dead_tuples(pool: &sqlx::PgPool) -> String {
    let rows: Result<Vec<(String, i64, i64)>, _> = sqlx::query_as(
        "SELECT relname::text, n_live_tup, n_dead_tup FROM pg_stat_user_tables \
         ORDER BY n_dead_tup DESC, relname LIMIT 6",
    )
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => rows
            .iter()
            .map(|(t, live, dead)| format!("{t} {live} live/{dead} dead"))
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("(pg_stat_user_tables: {e})"),
    }
}

/// Shape of the soak.
pub struct SoakShape {
    /// Chat rate with receipts.
    pub chat_rate: f64,
    /// Chat sessions.
    pub chat_sessions: usize,
    /// Location updates per second.
    pub location_rate: f64,
    /// Location sessions.
    pub location_sessions: usize,
    /// Lifecycles per second.
    pub lifecycle_rate: f64,
    /// Whole mixed phase.
    pub duration: Duration,
    /// Report interval.
    pub interval: Duration,
    /// Chat rate of the probes before and after.
    pub probe_rate: f64,
    /// Length of each probe.
    pub probe_duration: Duration,
}

/// G11: chat probe, then mixed traffic (chat with receipts, location, lifecycles) printing
/// per-interval p99s and dead tuples, then the same chat probe again.
pub async fn soak(
    ctx: &Arc<Ctx>,
    shape: &SoakShape,
    pool: Option<&sqlx::PgPool>,
) -> anyhow::Result<Vec<Outcome>> {
    let chat_pairs = crate::client::open_pairs(&ctx.target, shape.chat_sessions, 32).await?;
    let loc_pairs = PairLoad::Location
        .open(&ctx.target, shape.location_sessions, 32)
        .await?;
    // The same chat probe before and after the mixed traffic.
    let probe = async |scenario: &str| {
        let mut o = chat(
            ctx,
            &chat_pairs,
            shape.probe_rate,
            shape.probe_duration,
            true,
        )
        .await;
        o.scenario = scenario.into();
        o
    };
    let before = probe("soak-probe-before").await;
    eprintln!(
        "    soak: probe before: p99 {:.2} ms, lost {}",
        before.latency.p99, before.lost
    );
    if let Some(pool) = pool {
        eprintln!("    soak: tables at start: {}", dead_tuples(pool).await);
    }
    let started = Instant::now();
    let mut minute = 0;
    let mut chat_sum = Vec::new();
    while started.elapsed() < shape.duration {
        minute += 1;
        let (c, l, lc) = tokio::join!(
            chat(ctx, &chat_pairs, shape.chat_rate, shape.interval, true),
            location(ctx, &loc_pairs, shape.location_rate, shape.interval),
            lifecycle(ctx, shape.lifecycle_rate, shape.interval, 1000),
        );
        let tables = match pool {
            Some(pool) => dead_tuples(pool).await,
            None => "(no database)".into(),
        };
        eprintln!(
            "    soak {:>3.0} min: chat p99 {:.1} ms (lost {}, errors {}), location p99 {:.1} ms (lost {}), lifecycle p99 {:.1} ms ({} ok, {} errors); {tables}",
            started.elapsed().as_secs_f64() / 60.0,
            c.latency.p99,
            c.lost,
            c.errors,
            l.latency.p99,
            l.lost,
            lc.latency.p99,
            lc.delivered,
            lc.errors
        );
        println!(
            "| soak interval {minute} | chat p99 {:.1} ms | location p99 {:.1} ms | lifecycle p99 {:.1} ms | {tables} |",
            c.latency.p99, l.latency.p99, lc.latency.p99
        );
        chat_sum.push(c.latency.p99);
    }
    let mut after = probe("soak-probe-after").await;
    let ratio = if before.latency.p99 > 0.0 {
        after.latency.p99 / before.latency.p99
    } else {
        0.0
    };
    after.note = format!(
        "after {:.0} min of mixed traffic (chat {}/s, location {}/s, {} lifecycles/s): p99 {:.2}× the probe before; interval chat p99s {:?}",
        shape.duration.as_secs_f64() / 60.0,
        fmt_num(shape.chat_rate),
        fmt_num(shape.location_rate),
        fmt_num(shape.lifecycle_rate),
        ratio,
        chat_sum
    );
    if let Some(pool) = pool {
        after
            .note
            .push_str(&format!("; tables at end: {}", dead_tuples(pool).await));
    }
    let mut extra = BTreeMap::new();
    extra.insert("p99 after/before".into(), ratio);
    after.extra.extend(extra);
    Ok(vec![before, after])
}
