//! Every metric a Tether process emits, described in one place: name, kind, unit, labels
//! and the `# HELP` text `/metrics` shows. [`crate::telemetry::metrics_handle`] calls
//! [`describe`] once on the recorder it builds. The alerting rules and the dashboard in
//! `ops/` are written against this list (`scripts/check-ops` checks that they use no
//! other name). Each name is a const of [`names`], the only place it is written; a test
//! here checks that every `counter!`/`gauge!`/`histogram!` call in `services/` names its
//! metric through one, and that every one is in the catalog, so a new metric cannot go
//! undescribed.
//!
//! It also samples the gauges no request path updates: the PostgreSQL pool's use and
//! limit, and the dead and live row versions of this database's tables ([`sample_pool`],
//! called by the admin listener as it renders `/metrics`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use metrics::{Recorder, Unit};

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; read with `rate()`.
    Counter,
    /// A current value.
    Gauge,
    /// Buckets, `_sum` and `_count`; read with `histogram_quantile()`.
    Histogram,
}

/// One metric: what `/metrics` says about it.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The exposed name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// What one unit of the value is.
    pub unit: Unit,
    /// The labels it carries (fixed sets of names, never ids or payloads).
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
}

const fn metric(
    name: &'static str,
    kind: Kind,
    unit: Unit,
    labels: &'static [&'static str],
    help: &'static str,
) -> Metric {
    Metric {
        name,
        kind,
        unit,
        labels,
        help,
    }
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric's name, written once: the const is the name without its `tether_` prefix,
/// in upper case. Call sites in every crate pass the const (`names::REQUESTS_TOTAL`), never
/// the name written out; what it means is its [`CATALOG`] entry.
pub mod names {
    /// Requests and events handled.
    pub const REQUESTS_TOTAL: &str = "tether_requests_total";
    /// Time spent on one request or event.
    pub const REQUEST_DURATION_SECONDS: &str = "tether_request_duration_seconds";
    /// Requests waiting for a handling slot.
    pub const ADMISSION_WAITING: &str = "tether_admission_waiting";
    /// Requests refused at once by admission control.
    pub const REQUESTS_REFUSED_TOTAL: &str = "tether_requests_refused_total";
    /// Work skipped because nobody waits for it.
    pub const WORK_DROPPED_TOTAL: &str = "tether_work_dropped_total";
    /// Requests written together by one batch.
    pub const BATCH_SIZE: &str = "tether_batch_size";
    /// NATS slow-consumer events.
    pub const NATS_SLOW_CONSUMER_TOTAL: &str = "tether_nats_slow_consumer_total";
    /// The PostgreSQL pool's connections by `state`, sampled per scrape.
    pub const DB_POOL_CONNECTIONS: &str = "tether_db_pool_connections";
    /// The PostgreSQL pool's limit, sampled per scrape.
    pub const DB_POOL_MAX_CONNECTIONS: &str = "tether_db_pool_max_connections";
    /// Dead row versions per `table`.
    pub const DB_DEAD_TUPLES: &str = "tether_db_dead_tuples";
    /// Live rows per `table`.
    pub const DB_LIVE_TUPLES: &str = "tether_db_live_tuples";
    /// Push events delivered.
    pub const PUSH_SENT_TOTAL: &str = "tether_push_sent_total";
    /// Push tries failed and scheduled again.
    pub const PUSH_RETRIED_TOTAL: &str = "tether_push_retried_total";
    /// Push events given up.
    pub const PUSH_GIVEN_UP_TOTAL: &str = "tether_push_given_up_total";
    /// WebSockets open on this edge.
    pub const WS_CONNECTIONS: &str = "tether_ws_connections";
    /// WebSocket upgrades refused.
    pub const WS_REJECTED_TOTAL: &str = "tether_ws_rejected_total";
    /// Errors the edge itself answered on a socket.
    pub const WS_ERRORS_TOTAL: &str = "tether_ws_errors_total";
    /// Client messages taken from sockets.
    pub const WS_FRAMES_IN_TOTAL: &str = "tether_ws_frames_in_total";
    /// Server messages written to sockets.
    pub const WS_FRAMES_OUT_TOTAL: &str = "tether_ws_frames_out_total";
    /// Sockets closed because the edge's NATS connection was lost or behind.
    pub const WS_GAP_CLOSES_TOTAL: &str = "tether_ws_gap_closes_total";
    /// Sockets closed because their outbound queue was full.
    pub const WS_SLOW_CONSUMER_CLOSES_TOTAL: &str = "tether_ws_slow_consumer_closes_total";
    /// Time from relaying a request to its answer.
    pub const EDGE_RELAY_SECONDS: &str = "tether_edge_relay_seconds";
    /// Relayed requests the edge answered unavailable.
    pub const EDGE_UNAVAILABLE_TOTAL: &str = "tether_edge_unavailable_total";
    /// `location_update`s not applied.
    pub const LOCATION_UPDATES_DROPPED_TOTAL: &str = "tether_location_updates_dropped_total";
    /// Precise location fixes ignored as implausible.
    pub const LOCATION_FIXES_IMPLAUSIBLE_TOTAL: &str = "tether_location_fixes_implausible_total";
    /// Time one location batch took.
    pub const LOCATION_BATCH_SECONDS: &str = "tether_location_batch_seconds";
    /// `peer_status` messages sent.
    pub const PEER_STATUS_TOTAL: &str = "tether_peer_status_total";
    /// `distance_update`s sent.
    pub const DISTANCE_UPDATES_TOTAL: &str = "tether_distance_updates_total";
    /// Work order and session transitions committed.
    pub const SESSION_TRANSITIONS_TOTAL: &str = "tether_session_transitions_total";
    /// Rows a cleanup job removed or cleared.
    pub const CLEANUP_REMOVED_TOTAL: &str = "tether_cleanup_removed_total";
    /// Cleanup job runs skipped (lock held elsewhere).
    pub const CLEANUP_SKIPPED_TOTAL: &str = "tether_cleanup_skipped_total";
}

/// Every metric of every Tether binary.
pub const CATALOG: &[Metric] = &[
    // Serving (every service but the edge): tether_platform::serve, ops.
    metric(
        names::REQUESTS_TOTAL,
        Counter,
        Unit::Count,
        &["service", "kind", "outcome"],
        "Requests and events a service handled, by kind (client command, HTTP API operation, event, or ops for operator requests such as job triggers and ticks) and outcome (ok, or the error code answered: validation, not_found, conflict, unavailable, internal, ...).",
    ),
    metric(
        names::REQUEST_DURATION_SECONDS,
        Histogram,
        Unit::Seconds,
        &["service", "kind"],
        "Time a service spent on one request or event, from taking it up (after any wait for a slot) to its answer.",
    ),
    metric(
        names::ADMISSION_WAITING,
        Gauge,
        Unit::Count,
        &["service"],
        "Requests waiting for a handling slot (the admission queue's depth), summed over the instance's serve loops; at most TETHER_BACKLOG per loop.",
    ),
    metric(
        names::REQUESTS_REFUSED_TOTAL,
        Counter,
        Unit::Count,
        &["service"],
        "Requests refused at once by admission control (unavailable with retry_after_ms): TETHER_BACKLOG requests already waited, or the oldest had waited TETHER_MAX_QUEUE_MS.",
    ),
    metric(
        names::WORK_DROPPED_TOTAL,
        Counter,
        Unit::Count,
        &["service", "reason"],
        "Work skipped because nobody waits for it: reason=deadline (the edge's deadline passed while it waited; the client was told unavailable), reason=gone (its socket closed first).",
    ),
    metric(
        names::BATCH_SIZE,
        Histogram,
        Unit::Count,
        &["batch"],
        "Requests written together by one batch (one transaction), by batch writer: chat_messages, chat_receipts, presence, location_positions.",
    ),
    metric(
        names::NATS_SLOW_CONSUMER_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "NATS slow-consumer events: this process fell behind a subscription and the client dropped messages.",
    ),
    // PostgreSQL, sampled as /metrics is rendered ([`sample_pool`]).
    metric(
        names::DB_POOL_CONNECTIONS,
        Gauge,
        Unit::Count,
        &["state"],
        "Connections of this instance's PostgreSQL pool by state (idle, in_use), when /metrics was last rendered.",
    ),
    metric(
        names::DB_POOL_MAX_CONNECTIONS,
        Gauge,
        Unit::Count,
        &[],
        "The most connections this instance's PostgreSQL pool opens (TETHER_DB_MAX_CONNECTIONS).",
    ),
    metric(
        names::DB_DEAD_TUPLES,
        Gauge,
        Unit::Count,
        &["table"],
        "Dead row versions of each table of the database (pg_stat_user_tables.n_dead_tup), sampled at most every 30 s; the cleanup vacuum job reclaims them.",
    ),
    metric(
        names::DB_LIVE_TUPLES,
        Gauge,
        Unit::Count,
        &["table"],
        "Live rows of each table of the database (pg_stat_user_tables.n_live_tup), sampled with tether_db_dead_tuples.",
    ),
    // Push webhooks (cleanup's sender).
    metric(
        names::PUSH_SENT_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Push events POSTed to TETHER_PUSH_WEBHOOK_URL and answered 2xx.",
    ),
    metric(
        names::PUSH_RETRIED_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Push tries that failed (non-2xx, timeout, connect failed) and were scheduled again.",
    ),
    metric(
        names::PUSH_GIVEN_UP_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Push events given up after their 6th failed try: the offline user was never notified.",
    ),
    // ws-edge.
    metric(
        names::WS_CONNECTIONS,
        Gauge,
        Unit::Count,
        &["role"],
        "WebSockets open on this edge, by role (seeker, provider).",
    ),
    metric(
        names::WS_REJECTED_TOTAL,
        Counter,
        Unit::Count,
        &["reason"],
        "WebSocket upgrades refused, by reason (unauthorized, origin, too_many_sockets).",
    ),
    metric(
        names::WS_ERRORS_TOTAL,
        Counter,
        Unit::Count,
        &["code"],
        "Errors the edge itself answered on a socket (rate_limited, invalid_json, unknown_type, ...) or closes for a too big message, by code.",
    ),
    metric(
        names::WS_FRAMES_IN_TOTAL,
        Counter,
        Unit::Count,
        &["type"],
        "Client messages taken from sockets, by message type.",
    ),
    metric(
        names::WS_FRAMES_OUT_TOTAL,
        Counter,
        Unit::Count,
        &["type"],
        "Server messages written to sockets, by message type.",
    ),
    metric(
        names::WS_GAP_CLOSES_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Sockets closed with 1012 because the edge's NATS connection was lost or fell behind (clients reconnect; the re-send on connect recovers what was missed).",
    ),
    metric(
        names::WS_SLOW_CONSUMER_CLOSES_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Sockets closed (1013) because their outbound queue (TETHER_WS_OUTBOUND_QUEUE) was full.",
    ),
    metric(
        names::EDGE_RELAY_SECONDS,
        Histogram,
        Unit::Seconds,
        &["kind"],
        "Time from relaying a command or HTTP request to its service until the answer (or until it failed), by kind.",
    ),
    metric(
        names::EDGE_UNAVAILABLE_TOTAL,
        Counter,
        Unit::Count,
        &["kind", "reason"],
        "Relayed requests answered unavailable by the edge because no service answered, by kind and reason (no_responders: no instance subscribed; timed_out: no answer within TETHER_REQUEST_TIMEOUT_MS; other).",
    ),
    // location.
    metric(
        names::LOCATION_UPDATES_DROPPED_TOTAL,
        Counter,
        Unit::Count,
        &["reason"],
        "location_updates not applied, by reason (stale: waited longer than TETHER_LOCATION_MAX_AGE_MS, answered unavailable; shutdown: the writer stopped).",
    ),
    metric(
        names::LOCATION_FIXES_IMPLAUSIBLE_TOTAL,
        Counter,
        Unit::Count,
        &[],
        "Precise location fixes ignored as implausible (v1.2): reaching them from the party's stored fix would take a speed above TETHER_MAX_SPEED_MPS; handled like a coarse fix (only last-seen changes), no error to the sender.",
    ),
    metric(
        names::LOCATION_BATCH_SECONDS,
        Histogram,
        Unit::Seconds,
        &[],
        "Time one location batch took: its transaction and the distance and peer_status fan-out.",
    ),
    metric(
        names::PEER_STATUS_TOTAL,
        Counter,
        Unit::Count,
        &["status"],
        "peer_status messages sent, by status (online, offline, stale).",
    ),
    metric(
        names::DISTANCE_UPDATES_TOTAL,
        Counter,
        Unit::Count,
        &["cause"],
        "distance_updates sent, by cause (move, activation, tick).",
    ),
    // session.
    metric(
        names::SESSION_TRANSITIONS_TOTAL,
        Counter,
        Unit::Count,
        &["kind"],
        "Work order and session transitions committed, by kind (accepted, rejected, activated, cancelled, completed).",
    ),
    // cleanup.
    metric(
        names::CLEANUP_REMOVED_TOTAL,
        Counter,
        Unit::Count,
        &["cleanup_job"],
        "Rows a cleanup job removed or cleared (for cleanup_job=vacuum: tables vacuumed), by job (not `job`: Prometheus keeps that label for its scrape job).",
    ),
    metric(
        names::CLEANUP_SKIPPED_TOTAL,
        Counter,
        Unit::Count,
        &["cleanup_job"],
        "Cleanup job runs skipped because another instance held the job's lock, by job.",
    ),
];

/// Describes every metric of [`CATALOG`] to `recorder` (HELP text and unit). Metrics show
/// in `/metrics` once they have a value; their HELP line comes with them.
pub fn describe(recorder: &dyn Recorder) {
    metrics::with_local_recorder(recorder, || {
        for metric in CATALOG {
            let (name, unit, help) = (metric.name, metric.unit, metric.help);
            match metric.kind {
                Kind::Counter => metrics::describe_counter!(name, unit, help),
                Kind::Gauge => metrics::describe_gauge!(name, unit, help),
                Kind::Histogram => metrics::describe_histogram!(name, unit, help),
            }
        }
    });
}

/// How often the table statistics are read at most (per process).
const TABLE_STATS_EVERY: Duration = Duration::from_secs(30);
/// How long reading them may take.
const TABLE_STATS_TIMEOUT: Duration = Duration::from_secs(2);

/// Dead and live row versions of this database's tables (the schema the services use).
const TABLE_STATS: &str = "
SELECT relname::text, n_dead_tup, n_live_tup
FROM pg_stat_user_tables
WHERE schemaname = current_schema()";

/// Sets the pool gauges from `pool`, and (at most every 30 s, only on a connection that is
/// idle right now, never waiting for one or opening one) the table gauges. Called before
/// `/metrics` is rendered.
pub async fn sample_pool(pool: &sqlx::PgPool) {
    let idle = pool.num_idle() as f64;
    let size = f64::from(pool.size());
    metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use").set((size - idle).max(0.0));
    metrics::gauge!(names::DB_POOL_MAX_CONNECTIONS)
        .set(f64::from(pool.options().get_max_connections()));

    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < TABLE_STATS_EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    let Some(mut conn) = pool.try_acquire() else {
        return;
    };
    let read = sqlx::query_as::<_, (String, i64, i64)>(TABLE_STATS).fetch_all(&mut *conn);
    match tokio::time::timeout(TABLE_STATS_TIMEOUT, read).await {
        Ok(Ok(tables)) => {
            for (table, dead, live) in tables {
                metrics::gauge!(names::DB_DEAD_TUPLES, "table" => table.clone()).set(dead as f64);
                metrics::gauge!(names::DB_LIVE_TUPLES, "table" => table).set(live as f64);
            }
        }
        Ok(Err(err)) => tracing::debug!(error = %err, "reading table statistics failed"),
        Err(_) => tracing::debug!("reading table statistics timed out"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn names_are_unique_and_follow_the_conventions() {
        let mut seen = BTreeSet::new();
        for metric in CATALOG {
            assert!(seen.insert(metric.name), "{} listed twice", metric.name);
            assert!(metric.name.starts_with("tether_"), "{}", metric.name);
            assert!(!metric.help.is_empty(), "{} has no help", metric.name);
            match metric.kind {
                Kind::Counter => assert!(metric.name.ends_with("_total"), "{}", metric.name),
                _ => assert!(!metric.name.ends_with("_total"), "{}", metric.name),
            }
            if metric.unit == Unit::Seconds {
                assert!(metric.name.ends_with("_seconds"), "{}", metric.name);
            }
        }
    }

    #[test]
    fn described_metrics_render_with_help_and_type() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!(names::REQUESTS_REFUSED_TOTAL, "service" => "chat").increment(2);
            metrics::counter!(names::PUSH_GIVEN_UP_TOTAL).increment(1);
            metrics::gauge!(names::WS_CONNECTIONS, "role" => "seeker").set(3.0);
            metrics::histogram!(names::REQUEST_DURATION_SECONDS, "service" => "chat", "kind" => "chat_message")
                .record(0.004);
        });
        let text = handle.render();
        for (name, kind) in [
            (names::REQUESTS_REFUSED_TOTAL, "counter"),
            (names::PUSH_GIVEN_UP_TOTAL, "counter"),
            (names::WS_CONNECTIONS, "gauge"),
            (names::REQUEST_DURATION_SECONDS, "summary"),
        ] {
            let help = CATALOG
                .iter()
                .find(|metric| metric.name == name)
                .map(|metric| metric.help)
                .unwrap_or_default();
            assert!(
                text.contains(&format!("# HELP {name} {help}\n")),
                "no HELP for {name}:\n{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "no TYPE for {name}:\n{text}"
            );
        }
        assert!(text.contains(r#"tether_requests_refused_total{service="chat"} 2"#));
    }

    /// The recorder every process installs describes the catalog (this test binary has
    /// no other recorder, so it is the global one).
    #[test]
    fn the_process_recorder_is_described() {
        let handle = crate::telemetry::metrics_handle();
        metrics::counter!(names::NATS_SLOW_CONSUMER_TOTAL).increment(0);
        let text = handle.render();
        assert!(
            text.contains("# HELP tether_nats_slow_consumer_total NATS slow-consumer events"),
            "{text}"
        );
        // Histograms are buckets (what the rules' histogram_quantile needs), not summaries.
        metrics::histogram!(names::EDGE_RELAY_SECONDS, "kind" => "ping").record(0.001);
        let text = handle.render();
        assert!(
            text.contains("# TYPE tether_edge_relay_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("tether_edge_relay_seconds_bucket{kind=\"ping\",le=\"0.001\"} 1"));
    }

    /// Every `counter!`/`gauge!`/`histogram!` in `services/` (tests too) names its metric
    /// through a const of [`names`], never a string literal or a const of its own; every
    /// const is a metric of the catalog, named after it, and its name is written nowhere
    /// else; what production code emits has the catalog's kind and labels, and every
    /// metric of the catalog is emitted somewhere.
    #[test]
    fn the_catalog_matches_the_code() {
        let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        rust_files(&services, &mut files);
        let sources: Vec<(PathBuf, String)> = files
            .into_iter()
            .filter_map(|path| std::fs::read_to_string(&path).ok().map(|text| (path, text)))
            .collect();
        let (_, catalog_source) = sources
            .iter()
            .find(|(path, _)| path.ends_with("platform/src/metrics_catalog.rs"))
            .expect("metrics_catalog.rs among the sources");
        let consts = name_consts(catalog_source);

        let catalog: BTreeMap<&str, &Metric> = CATALOG.iter().map(|m| (m.name, m)).collect();
        assert_eq!(
            consts.len(),
            CATALOG.len(),
            "one const of `names` per metric"
        );
        for (ident, name) in &consts {
            assert!(
                catalog.contains_key(name.as_str()),
                "names::{ident} ({name}) is not in metrics_catalog::CATALOG: describe it there"
            );
            let expected = name.trim_start_matches("tether_").to_uppercase();
            assert_eq!(ident, &expected, "the const of {name} is named after it");
            // The name is written once: in its const (CATALOG and call sites use the const).
            let quoted = format!("\"{name}\"");
            let written: usize = sources
                .iter()
                .map(|(_, text)| text.matches(&quoted).count())
                .sum();
            assert_eq!(
                written, 1,
                "{name} is written out {written} times; use names::{ident}"
            );
        }

        // Every call site, tests included, goes through a const of `names`.
        for (path, text) in &sources {
            for call in calls(text) {
                let place = format!("{}:{}", path.display(), text[..call.at].lines().count());
                resolve(&consts, &call.first, &place);
            }
        }

        // Production code only: what a file's tests record is not emitted.
        let production: Vec<(PathBuf, String)> = sources
            .iter()
            .map(|(path, text)| match text.find("\n#[cfg(test)]") {
                Some(tests) => (path.clone(), text[..tests].to_string()),
                None => (path.clone(), text.clone()),
            })
            .collect();
        let emitted = emitted_metrics(&production, &consts);
        for (name, (kind, labels, place)) in &emitted {
            let metric = catalog[name.as_str()];
            assert_eq!(metric.kind, *kind, "{name} ({place}) is a {kind:?}");
            let listed: BTreeSet<String> = metric.labels.iter().map(|l| l.to_string()).collect();
            assert_eq!(&listed, labels, "labels of {name} ({place})");
        }
        for metric in CATALOG {
            assert!(
                emitted.contains_key(metric.name),
                "{} is described but nothing emits it",
                metric.name
            );
        }
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "node_modules" && name != "tests" {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }

    type Emitted = BTreeMap<String, (Kind, BTreeSet<String>, String)>;

    /// One `counter!`/`gauge!`/`histogram!` call: its kind, first argument (the name),
    /// label names and where it starts.
    struct Call {
        kind: Kind,
        first: String,
        labels: BTreeSet<String>,
        at: usize,
    }

    /// The metric calls in `text`.
    fn calls(text: &str) -> Vec<Call> {
        let mut calls = Vec::new();
        for (macro_name, kind) in [
            ("counter", Kind::Counter),
            ("gauge", Kind::Gauge),
            ("histogram", Kind::Histogram),
        ] {
            // Built here so this scanner's own source holds no call.
            let opening = format!("{macro_name}!(");
            let mut from = 0;
            while let Some(found) = text[from..].find(&opening) {
                let start = from + found;
                from = start + opening.len();
                // describe_counter!( and the like are not emissions.
                if text[..start].ends_with('_') {
                    continue;
                }
                let args = call_arguments(&text[from..]);
                let first = args.split(',').next().unwrap_or_default().trim();
                calls.push(Call {
                    kind,
                    first: first.to_string(),
                    labels: label_names(args),
                    at: start,
                });
            }
        }
        calls
    }

    /// The name a call's first argument stands for: it must be a const of [`names`]
    /// (`names::IDENT`, or a longer path ending so).
    fn resolve(consts: &BTreeMap<String, String>, first: &str, place: &str) -> String {
        assert!(
            !first.starts_with('"'),
            "{place}: metric name {first} written out; use its const of metrics_catalog::names \
             (add it there, with its CATALOG entry, if it is new)"
        );
        let mut path = first.rsplit("::");
        let ident = path.next().unwrap_or_default();
        let module = path.next();
        match consts.get(ident) {
            Some(name) if module == Some("names") => name.clone(),
            _ => panic!(
                "{place}: metric name {first} is not a const of metrics_catalog::names \
                 (call it as names::IDENT; add a new metric there, with its CATALOG entry)"
            ),
        }
    }

    /// The metrics the sources emit: name, kind, label names and where (first seen).
    fn emitted_metrics(
        sources: &[(PathBuf, String)],
        consts: &BTreeMap<String, String>,
    ) -> Emitted {
        let mut emitted = Emitted::new();
        for (path, text) in sources {
            for Call {
                kind,
                first,
                labels,
                at,
            } in calls(text)
            {
                let place = format!("{}:{}", path.display(), text[..at].lines().count());
                let name = resolve(consts, &first, &place);
                if let Some((first_kind, first_labels, first_place)) = emitted.get(&name) {
                    assert!(
                        (first_kind, first_labels) == (&kind, &labels),
                        "{name}: {kind:?} {labels:?} at {place}, \
                         but {first_kind:?} {first_labels:?} at {first_place}"
                    );
                } else {
                    emitted.insert(name, (kind, labels, place));
                }
            }
        }
        emitted
    }

    /// The text of a macro call's arguments, up to its closing parenthesis.
    fn call_arguments(text: &str) -> &str {
        let mut depth = 1usize;
        for (index, ch) in text.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return &text[..index];
                    }
                }
                _ => {}
            }
        }
        text
    }

    /// Label names: the string literals followed by `=>`.
    fn label_names(args: &str) -> BTreeSet<String> {
        let mut labels = BTreeSet::new();
        let mut rest = args;
        while let Some(arrow) = rest.find("=>") {
            let before = rest[..arrow].trim_end();
            if let Some(literal) = before.strip_suffix('"')
                && let Some(open) = literal.rfind('"')
            {
                labels.insert(literal[open + 1..].to_string());
            }
            rest = &rest[arrow + 2..];
        }
        labels
    }

    /// The consts of `pub mod names { ... }` in the catalog's source: ident to name.
    fn name_consts(source: &str) -> BTreeMap<String, String> {
        let start = source.find("pub mod names {").expect("pub mod names");
        let end = start + source[start..].find("\n}").expect("end of mod names");
        let mut consts = BTreeMap::new();
        for line in source[start..end].lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let (ident, value) = rest
                .split_once(": &str = \"")
                .expect("pub const X: &str = \"...\";");
            let value = value.strip_suffix("\";").expect("one line per const");
            assert!(
                consts
                    .insert(ident.to_string(), value.to_string())
                    .is_none(),
                "names::{ident} declared twice"
            );
        }
        consts
    }
}
