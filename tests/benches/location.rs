//! Location benchmark: one location instance, 1,000 active sessions, sustained
//! `location_update` load (every update a move of 60 m, so every update is sent to both
//! parties) from 2,000 WebSockets through the real ws-edge, NATS and PostgreSQL.
//!
//! Prints, for each offered rate, the updates/s handled (both parties got the resulting
//! `distance_update`) and the latency from sending the `location_update` to the later of
//! the two `distance_update` arrivals (p50/p90/p99/max).
//!
//! Run: `cargo bench -p tether-tests --bench location` (release). Settings by environment:
//! `BENCH_RATES` (comma-separated updates/s, default `2000,5000,10000,15000,20000`),
//! `BENCH_SECS` (seconds per rate, default 10), `BENCH_SESSIONS` (default 1000),
//! `BENCH_DB_CONNECTIONS` (location's pool, default 16).
//!
//! Set-up shortcut (documented, on purpose): the sessions, their users and orders are
//! inserted with SQL in one statement each (already `active`, both positions known and
//! a distance already sent), because 1,000 full lifecycles would dominate the run time
//! and are measured by the lifecycle benchmark. Everything measured goes through the
//! client path. The edge's per-socket rate limit is raised so the generator, not the
//! limiter, sets the rate (each socket sends at most 10/s at 20,000/s anyway). The
//! distance tick interval is an hour, so only moves are measured.
//!
//! At the end it prints, for `session_positions` and `work_sessions`, the updates, HOT
//! updates and live/dead tuples PostgreSQL counted over the whole run (autovacuum as the
//! server is configured).

use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tether_tests::{Role, Stack, StackOptions, mint_token, ws_path};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Metres per degree of latitude on the contract's 6371 km sphere.
const METRES_PER_DEGREE: f64 = 111_194.926_644_558_7;
/// Distance between the parties before the first step.
const START_DISTANCE_M: f64 = 1000.0;
/// Every step moves one party this far apart from the other (>= 50 m: always sent).
const STEP_M: f64 = 60.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Per-session bookkeeping shared by its sender and its two readers.
#[derive(Default)]
struct Track {
    /// Next step number.
    next_step: u64,
    /// Steps sent and not yet seen by both parties: send time and arrivals so far.
    pending: HashMap<u64, (Instant, u8)>,
}

#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    completed: AtomicU64,
    unmatched: AtomicU64,
    errors: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

struct BenchSession {
    session_id: Uuid,
    start_latitude: f64,
    track: Mutex<Track>,
}

impl BenchSession {
    /// Where the mover of `step` goes: even steps move the seeker south, odd steps the
    /// provider north, so after step k the distance is START + STEP * (k + 1): each
    /// distance names its step exactly.
    fn step_position(&self, step: u64) -> (Role, f64) {
        if step.is_multiple_of(2) {
            let moves = step / 2 + 1;
            (
                Role::Seeker,
                self.start_latitude - (moves as f64 * STEP_M) / METRES_PER_DEGREE,
            )
        } else {
            let moves = step.div_ceil(2);
            (
                Role::Provider,
                self.start_latitude
                    + (START_DISTANCE_M + moves as f64 * STEP_M) / METRES_PER_DEGREE,
            )
        }
    }

    fn step_of_distance(distance: f64) -> Option<u64> {
        let steps = ((distance - START_DISTANCE_M) / STEP_M).round() as i64 - 1;
        u64::try_from(steps).ok()
    }
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    distance_meters: Option<f64>,
}

async fn read_socket(
    mut stream: SplitStream<Socket>,
    session: Arc<BenchSession>,
    totals: Arc<Totals>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let arrived = Instant::now();
        let Ok(incoming) = serde_json::from_str::<Incoming>(&text) else {
            continue;
        };
        if incoming.kind != "distance_update" {
            totals.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let Some(step) = incoming
            .distance_meters
            .and_then(BenchSession::step_of_distance)
        else {
            totals.unmatched.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let finished = {
            let mut track = session.track.lock().expect("track");
            match track.pending.get_mut(&step) {
                Some((_, seen)) if *seen == 0 => {
                    *seen = 1;
                    None
                }
                Some((sent_at, _)) => {
                    let latency = arrived.duration_since(*sent_at);
                    track.pending.remove(&step);
                    Some(latency)
                }
                None => {
                    totals.unmatched.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        };
        if let Some(latency) = finished {
            totals.completed.fetch_add(1, Ordering::Relaxed);
            let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
            totals.latencies_us.lock().expect("latencies").push(micros);
        }
    }
}

/// Sends this session's steps at `per_session_rate` until `stop`.
async fn drive(
    session: Arc<BenchSession>,
    seeker: Arc<tokio::sync::Mutex<SplitSink<Socket, Message>>>,
    provider: Arc<tokio::sync::Mutex<SplitSink<Socket, Message>>>,
    per_session_rate: f64,
    offset: Duration,
    stop: CancellationToken,
    totals: Arc<Totals>,
) {
    tokio::time::sleep(offset).await;
    let mut timer = tokio::time::interval(Duration::from_secs_f64(1.0 / per_session_rate));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = timer.tick() => {}
        }
        let step = {
            let mut track = session.track.lock().expect("track");
            let step = track.next_step;
            track.next_step += 1;
            track.pending.insert(step, (Instant::now(), 0));
            step
        };
        let (role, latitude) = session.step_position(step);
        let text = serde_json::json!({
            "type": "location_update",
            "session_id": session.session_id,
            "latitude": latitude,
            "longitude": 0.0,
        })
        .to_string();
        let sink = match role {
            Role::Seeker => &seeker,
            Role::Provider => &provider,
        };
        if sink.lock().await.send(Message::text(text)).await.is_err() {
            totals.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        totals.sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Inserts `count` active sessions with both positions known; returns (session, seeker,
/// provider, start latitude) per session.
async fn seed(stack: &Stack, count: usize) -> Vec<(Uuid, Uuid, Uuid, f64)> {
    let rows: Vec<(Uuid, Uuid, Uuid, f64)> = (0..count)
        .map(|i| {
            (
                Uuid::now_v7(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                -10.0 + 20.0 * i as f64 / count as f64,
            )
        })
        .collect();
    let sessions: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let seekers: Vec<Uuid> = rows.iter().map(|r| r.1).collect();
    let providers: Vec<Uuid> = rows.iter().map(|r| r.2).collect();
    let seeker_lat: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let provider_lat: Vec<f64> = rows
        .iter()
        .map(|r| r.3 + START_DISTANCE_M / METRES_PER_DEGREE)
        .collect();
    let users: Vec<Uuid> = seekers.iter().chain(&providers).copied().collect();
    sqlx::query(
        "INSERT INTO users (id, token_name) SELECT id, 'bench' FROM UNNEST($1::uuid[]) AS u (id)",
    )
    .bind(&users)
    .execute(&stack.db)
    .await
    .expect("users");
    sqlx::query(
        "WITH orders AS (
             INSERT INTO work_orders (seeker_id, provider_id, service_type, message, latitude,
                                      longitude, status, responded_at)
             SELECT s, p, 'plumbing', 'bench', 0, 0, 'accepted', now()
             FROM UNNEST($2::uuid[], $3::uuid[]) AS x (s, p)
             RETURNING id, seeker_id
         )
         INSERT INTO work_sessions (id, work_id, seeker_id, provider_id, connection_state,
                                    seeker_mediums, seeker_mediums_selected_at)
         SELECT x.id, o.id, x.s, x.p, 'active', '{}'::jsonb, now()
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS x (id, s, p)
         JOIN orders o ON o.seeker_id = x.s",
    )
    .bind(&sessions)
    .bind(&seekers)
    .bind(&providers)
    .execute(&stack.db)
    .await
    .expect("sessions");
    sqlx::query(
        "INSERT INTO session_positions (session_id, seeker_latitude, seeker_longitude,
                                        seeker_location_at, provider_latitude,
                                        provider_longitude, provider_location_at,
                                        seeker_anchor_latitude, seeker_anchor_longitude,
                                        provider_anchor_latitude, provider_anchor_longitude,
                                        current_distance_meters, last_distance_update, tick_at)
         SELECT x.id, x.slat, 0, now(), x.plat, 0, now(), x.slat, 0, x.plat, 0, $4, now(),
                now() + interval '1 hour'
         FROM UNNEST($1::uuid[], $2::float8[], $3::float8[]) AS x (id, slat, plat)",
    )
    .bind(&sessions)
    .bind(&seeker_lat)
    .bind(&provider_lat)
    .bind(START_DISTANCE_M)
    .execute(&stack.db)
    .await
    .expect("positions");
    sqlx::query(
        "UPDATE work_orders o SET session_id = s.id FROM work_sessions s WHERE s.work_id = o.id",
    )
    .execute(&stack.db)
    .await
    .expect("order sessions");
    rows
}

async fn connect(stack: &Stack, user: Uuid, role: Role) -> Socket {
    let token = mint_token(user, Some("bench"), 3600);
    let url = format!("{}{}?token={}", stack.ws_base, ws_path(role), token);
    for _ in 0..50 {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(&url).await {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("could not connect {role:?}");
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[index]) / 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let rates: Vec<f64> = std::env::var("BENCH_RATES")
        .unwrap_or_else(|_| "2000,5000,10000,15000,20000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let seconds: u64 = env_or("BENCH_SECS", 10);
    let session_count: usize = env_or("BENCH_SESSIONS", 1000);
    let db_connections: u32 = env_or("BENCH_DB_CONNECTIONS", 16);

    let mut options = StackOptions {
        own_database: true,
        session_instances: 1,
        chat_instances: 1,
        location_instances: 0,
        cleanup_instances: 0,
        ..StackOptions::default()
    };
    options.edge.ws_rate = NonZeroU32::new(10_000).expect("not zero");
    options.edge.ws_burst = NonZeroU32::new(10_000).expect("not zero");
    options.edge.ws_outbound_queue = NonZeroUsize::new(1024).expect("not zero");
    let stack = Stack::start(options).await;

    // The one location instance, with its own pool size (the harness fixes 8).
    let mut location = stack.options.location.clone();
    location.distance_interval_s = NonZeroU64::new(3600).expect("not zero");
    location.service.db.db_max_connections = db_connections;
    let app = tether_location::App::build(location)
        .await
        .expect("location build");
    let location_shutdown = CancellationToken::new();
    let location_task = tokio::spawn(app.run(location_shutdown.clone()));

    let started = Instant::now();
    let rows = seed(&stack, session_count).await;
    println!(
        "seeded {session_count} active sessions in {:.2?}",
        started.elapsed()
    );

    let totals = Arc::new(Totals::default());
    let started = Instant::now();
    let mut sessions = Vec::new();
    for (session_id, seeker, provider, start_latitude) in rows {
        let session = Arc::new(BenchSession {
            session_id,
            start_latitude,
            track: Mutex::new(Track::default()),
        });
        let (seeker_sink, seeker_stream) = connect(&stack, seeker, Role::Seeker).await.split();
        let (provider_sink, provider_stream) =
            connect(&stack, provider, Role::Provider).await.split();
        tokio::spawn(read_socket(seeker_stream, session.clone(), totals.clone()));
        tokio::spawn(read_socket(
            provider_stream,
            session.clone(),
            totals.clone(),
        ));
        sessions.push((
            session,
            Arc::new(tokio::sync::Mutex::new(seeker_sink)),
            Arc::new(tokio::sync::Mutex::new(provider_sink)),
        ));
    }
    println!(
        "connected {} sockets in {:.2?}",
        sessions.len() * 2,
        started.elapsed()
    );

    println!(
        "{:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "offered/s",
        "sent/s",
        "handled/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "unmatched",
        "errors"
    );
    for rate in rates {
        for (session, _, _) in &sessions {
            session.track.lock().expect("track").pending.clear();
        }
        totals.latencies_us.lock().expect("latencies").clear();
        let before_sent = totals.sent.load(Ordering::Relaxed);
        let before_done = totals.completed.load(Ordering::Relaxed);
        let before_unmatched = totals.unmatched.load(Ordering::Relaxed);
        let before_errors = totals.errors.load(Ordering::Relaxed);

        let stop = CancellationToken::new();
        let per_session = rate / sessions.len() as f64;
        let period = Duration::from_secs_f64(1.0 / per_session);
        let mut drivers = Vec::new();
        for (i, (session, seeker, provider)) in sessions.iter().enumerate() {
            // Spread the sessions' sends evenly over one period.
            let offset = period.mul_f64(i as f64 / sessions.len() as f64);
            drivers.push(tokio::spawn(drive(
                session.clone(),
                seeker.clone(),
                provider.clone(),
                per_session,
                offset,
                stop.clone(),
                totals.clone(),
            )));
        }
        let phase_started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.cancel();
        for driver in drivers {
            let _ = driver.await;
        }
        let sending_time = phase_started.elapsed().as_secs_f64();
        // Let the last answers arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;

        let sent = totals.sent.load(Ordering::Relaxed) - before_sent;
        let done = totals.completed.load(Ordering::Relaxed) - before_done;
        let mut latencies = totals.latencies_us.lock().expect("latencies").clone();
        latencies.sort_unstable();
        println!(
            "{:>10.0} {:>10.0} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9} {:>9}",
            rate,
            sent as f64 / sending_time,
            done as f64 / sending_time,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.90),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
            totals.unmatched.load(Ordering::Relaxed) - before_unmatched,
            totals.errors.load(Ordering::Relaxed) - before_errors,
        );
        if sent > done {
            println!(
                "           ({} sent updates not seen by both parties)",
                sent - done
            );
        }
    }

    location_shutdown.cancel();
    let _ = location_task.await;
    print_table_stats(&stack).await;
    stack.stop().await;
}

/// Updates, HOT updates and live/dead tuples of the tables location writes, once every
/// backend has reported its counters (they do when idle, within about ten seconds).
async fn print_table_stats(stack: &Stack) {
    tokio::time::sleep(Duration::from_secs(12)).await;
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT relname::text, n_tup_upd, n_tup_hot_upd, n_live_tup, n_dead_tup
         FROM pg_stat_user_tables
         WHERE relname IN ('session_positions', 'work_sessions') ORDER BY relname",
    )
    .fetch_all(&stack.db)
    .await
    .expect("table stats");
    for (table, updates, hot, live, dead) in rows {
        println!(
            "{table}: {updates} updates, {hot} HOT ({:.1}%), {live} live / {dead} dead tuples",
            if updates > 0 {
                100.0 * hot as f64 / updates as f64
            } else {
                0.0
            }
        );
    }
}
