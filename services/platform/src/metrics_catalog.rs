//! Every metric a Tether process emits, described in one place: name, kind, unit, labels
//! and the `# HELP` text `/metrics` shows. [`crate::telemetry::metrics_handle`] calls
//! [`describe`] once on the recorder it builds. The alerting rules and the dashboard in
//! `ops/` are written against this list (`scripts/check-ops` checks that they use no
//! other name), and a test here checks it against the `counter!`/`gauge!`/`histogram!`
//! calls in `services/`, so a new metric cannot go undescribed.
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

/// The PostgreSQL pool's connections by `state` (`idle`, `in_use`), sampled per scrape.
pub const DB_POOL_CONNECTIONS: &str = "tether_db_pool_connections";
/// The PostgreSQL pool's limit (`TETHER_DB_MAX_CONNECTIONS`), sampled per scrape.
pub const DB_POOL_MAX_CONNECTIONS: &str = "tether_db_pool_max_connections";
/// Dead row versions per `table` (`pg_stat_user_tables.n_dead_tup`).
pub const DB_DEAD_TUPLES: &str = "tether_db_dead_tuples";
/// Live rows per `table` (`pg_stat_user_tables.n_live_tup`).
pub const DB_LIVE_TUPLES: &str = "tether_db_live_tuples";

/// Every metric of every Tether binary.
pub const CATALOG: &[Metric] = &[
    // Serving (every service but the edge): tether_platform::serve, ops.
    metric(
        "tether_requests_total",
        Counter,
        Unit::Count,
        &["service", "kind", "outcome"],
        "Requests and events a service handled, by kind (client command, HTTP API operation, event, or ops for operator requests such as job triggers and ticks) and outcome (ok, or the error code answered: validation, not_found, conflict, unavailable, internal, ...).",
    ),
    metric(
        "tether_request_duration_seconds",
        Histogram,
        Unit::Seconds,
        &["service", "kind"],
        "Time a service spent on one request or event, from taking it up (after any wait for a slot) to its answer.",
    ),
    metric(
        "tether_admission_waiting",
        Gauge,
        Unit::Count,
        &["service"],
        "Requests waiting for a handling slot (the admission queue's depth), summed over the instance's serve loops; at most TETHER_BACKLOG per loop.",
    ),
    metric(
        "tether_requests_refused_total",
        Counter,
        Unit::Count,
        &["service"],
        "Requests refused at once by admission control (unavailable with retry_after_ms): TETHER_BACKLOG requests already waited, or the oldest had waited TETHER_MAX_QUEUE_MS.",
    ),
    metric(
        "tether_work_dropped_total",
        Counter,
        Unit::Count,
        &["service", "reason"],
        "Work skipped because nobody waits for it: reason=deadline (the edge's deadline passed while it waited; the client was told unavailable), reason=gone (its socket closed first).",
    ),
    metric(
        "tether_batch_size",
        Histogram,
        Unit::Count,
        &["batch"],
        "Requests written together by one batch (one transaction), by batch writer: chat_messages, chat_receipts, presence, location_positions.",
    ),
    metric(
        "tether_nats_slow_consumer_total",
        Counter,
        Unit::Count,
        &[],
        "NATS slow-consumer events: this process fell behind a subscription and the client dropped messages.",
    ),
    // PostgreSQL, sampled as /metrics is rendered ([`sample_pool`]).
    metric(
        DB_POOL_CONNECTIONS,
        Gauge,
        Unit::Count,
        &["state"],
        "Connections of this instance's PostgreSQL pool by state (idle, in_use), when /metrics was last rendered.",
    ),
    metric(
        DB_POOL_MAX_CONNECTIONS,
        Gauge,
        Unit::Count,
        &[],
        "The most connections this instance's PostgreSQL pool opens (TETHER_DB_MAX_CONNECTIONS).",
    ),
    metric(
        DB_DEAD_TUPLES,
        Gauge,
        Unit::Count,
        &["table"],
        "Dead row versions of each table of the database (pg_stat_user_tables.n_dead_tup), sampled at most every 30 s; the cleanup vacuum job reclaims them.",
    ),
    metric(
        DB_LIVE_TUPLES,
        Gauge,
        Unit::Count,
        &["table"],
        "Live rows of each table of the database (pg_stat_user_tables.n_live_tup), sampled with tether_db_dead_tuples.",
    ),
    // Push webhooks (cleanup's sender).
    metric(
        "tether_push_sent_total",
        Counter,
        Unit::Count,
        &[],
        "Push events POSTed to TETHER_PUSH_WEBHOOK_URL and answered 2xx.",
    ),
    metric(
        "tether_push_retried_total",
        Counter,
        Unit::Count,
        &[],
        "Push tries that failed (non-2xx, timeout, connect failed) and were scheduled again.",
    ),
    metric(
        "tether_push_given_up_total",
        Counter,
        Unit::Count,
        &[],
        "Push events given up after their 6th failed try: the offline user was never notified.",
    ),
    // ws-edge.
    metric(
        "tether_ws_connections",
        Gauge,
        Unit::Count,
        &["role"],
        "WebSockets open on this edge, by role (seeker, provider).",
    ),
    metric(
        "tether_ws_rejected_total",
        Counter,
        Unit::Count,
        &["reason"],
        "WebSocket upgrades refused, by reason (unauthorized, origin, too_many_sockets).",
    ),
    metric(
        "tether_ws_errors_total",
        Counter,
        Unit::Count,
        &["code"],
        "Errors the edge itself answered on a socket (rate_limited, invalid_json, unknown_type, ...) or closes for a too big message, by code.",
    ),
    metric(
        "tether_ws_frames_in_total",
        Counter,
        Unit::Count,
        &["type"],
        "Client messages taken from sockets, by message type.",
    ),
    metric(
        "tether_ws_frames_out_total",
        Counter,
        Unit::Count,
        &["type"],
        "Server messages written to sockets, by message type.",
    ),
    metric(
        "tether_ws_gap_closes_total",
        Counter,
        Unit::Count,
        &[],
        "Sockets closed with 1012 because the edge's NATS connection was lost or fell behind (clients reconnect; the re-send on connect recovers what was missed).",
    ),
    metric(
        "tether_ws_slow_consumer_closes_total",
        Counter,
        Unit::Count,
        &[],
        "Sockets closed (1013) because their outbound queue (TETHER_WS_OUTBOUND_QUEUE) was full.",
    ),
    metric(
        "tether_edge_relay_seconds",
        Histogram,
        Unit::Seconds,
        &["kind"],
        "Time from relaying a command or HTTP request to its service until the answer (or until it failed), by kind.",
    ),
    metric(
        "tether_edge_unavailable_total",
        Counter,
        Unit::Count,
        &["kind", "reason"],
        "Relayed requests answered unavailable by the edge because no service answered, by kind and reason (no_responders: no instance subscribed; timed_out: no answer within TETHER_REQUEST_TIMEOUT_MS; other).",
    ),
    // location.
    metric(
        "tether_location_updates_dropped_total",
        Counter,
        Unit::Count,
        &["reason"],
        "location_updates not applied, by reason (stale: waited longer than TETHER_LOCATION_MAX_AGE_MS, answered unavailable; shutdown: the writer stopped).",
    ),
    metric(
        "tether_location_fixes_implausible_total",
        Counter,
        Unit::Count,
        &[],
        "Precise location fixes ignored as implausible (v1.2): reaching them from the party's stored fix would take a speed above TETHER_MAX_SPEED_MPS; handled like a coarse fix (only last-seen changes), no error to the sender.",
    ),
    metric(
        "tether_location_batch_seconds",
        Histogram,
        Unit::Seconds,
        &[],
        "Time one location batch took: its transaction and the distance and peer_status fan-out.",
    ),
    metric(
        "tether_peer_status_total",
        Counter,
        Unit::Count,
        &["status"],
        "peer_status messages sent, by status (online, offline, stale).",
    ),
    metric(
        "tether_distance_updates_total",
        Counter,
        Unit::Count,
        &["cause"],
        "distance_updates sent, by cause (move, activation, tick).",
    ),
    // session.
    metric(
        "tether_session_transitions_total",
        Counter,
        Unit::Count,
        &["kind"],
        "Work order and session transitions committed, by kind (accepted, rejected, activated, cancelled, completed).",
    ),
    // cleanup.
    metric(
        "tether_cleanup_removed_total",
        Counter,
        Unit::Count,
        &["cleanup_job"],
        "Rows a cleanup job removed or cleared (for cleanup_job=vacuum: tables vacuumed), by job (not `job`: Prometheus keeps that label for its scrape job).",
    ),
    metric(
        "tether_cleanup_skipped_total",
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
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set((size - idle).max(0.0));
    metrics::gauge!(DB_POOL_MAX_CONNECTIONS).set(f64::from(pool.options().get_max_connections()));

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
                metrics::gauge!(DB_DEAD_TUPLES, "table" => table.clone()).set(dead as f64);
                metrics::gauge!(DB_LIVE_TUPLES, "table" => table).set(live as f64);
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
            metrics::counter!("tether_requests_refused_total", "service" => "chat").increment(2);
            metrics::counter!("tether_push_given_up_total").increment(1);
            metrics::gauge!("tether_ws_connections", "role" => "seeker").set(3.0);
            metrics::histogram!("tether_request_duration_seconds", "service" => "chat", "kind" => "chat_message")
                .record(0.004);
        });
        let text = handle.render();
        for (name, kind) in [
            ("tether_requests_refused_total", "counter"),
            ("tether_push_given_up_total", "counter"),
            ("tether_ws_connections", "gauge"),
            ("tether_request_duration_seconds", "summary"),
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
        metrics::counter!("tether_nats_slow_consumer_total").increment(0);
        let text = handle.render();
        assert!(
            text.contains("# HELP tether_nats_slow_consumer_total NATS slow-consumer events"),
            "{text}"
        );
        // Histograms are buckets (what the rules' histogram_quantile needs), not summaries.
        metrics::histogram!("tether_edge_relay_seconds", "kind" => "ping").record(0.001);
        let text = handle.render();
        assert!(
            text.contains("# TYPE tether_edge_relay_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("tether_edge_relay_seconds_bucket{kind=\"ping\",le=\"0.001\"} 1"));
    }

    /// Every `counter!`/`gauge!`/`histogram!` in `services/` names a metric of the
    /// catalog, of the same kind and with the same labels, and every metric of the
    /// catalog is emitted somewhere.
    #[test]
    fn the_catalog_matches_the_code() {
        let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        rust_files(&services, &mut files);
        let sources: Vec<(PathBuf, String)> = files
            .into_iter()
            .filter_map(|path| std::fs::read_to_string(&path).ok().map(|text| (path, text)))
            // Production code only: what a file's tests record is not emitted.
            .map(|(path, text)| match text.find("\n#[cfg(test)]") {
                Some(tests) => (path, text[..tests].to_string()),
                None => (path, text),
            })
            .collect();
        let emitted = emitted_metrics(&sources);
        let catalog: BTreeMap<&str, &Metric> = CATALOG.iter().map(|m| (m.name, m)).collect();
        for (name, (kind, labels, place)) in &emitted {
            let Some(metric) = catalog.get(name.as_str()) else {
                panic!("{name} ({place}) is not in metrics_catalog::CATALOG: describe it there");
            };
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

    /// The metrics the sources emit: name, kind, label names and where (first seen).
    fn emitted_metrics(sources: &[(PathBuf, String)]) -> Emitted {
        let mut emitted = Emitted::new();
        for (path, text) in sources {
            for (macro_name, kind) in [
                ("counter!(", Kind::Counter),
                ("gauge!(", Kind::Gauge),
                ("histogram!(", Kind::Histogram),
            ] {
                let mut from = 0;
                while let Some(found) = text[from..].find(macro_name) {
                    let start = from + found;
                    from = start + macro_name.len();
                    // describe_counter!( and the like are not emissions.
                    if text[..start].ends_with('_') {
                        continue;
                    }
                    let args = call_arguments(&text[from..]);
                    let first = args.split(',').next().unwrap_or_default().trim();
                    let name = if let Some(literal) = first.strip_prefix('"') {
                        literal.trim_end_matches('"').to_string()
                    } else {
                        let ident = first.rsplit("::").next().unwrap_or(first);
                        resolve_const(sources, ident)
                            .unwrap_or_else(|| panic!("cannot resolve {first} in {path:?}"))
                    };
                    let labels = label_names(args);
                    let place = format!("{}:{}", path.display(), text[..start].lines().count());
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

    /// The value of `const IDENT: &str = "...";` anywhere in the sources.
    fn resolve_const(sources: &[(PathBuf, String)], ident: &str) -> Option<String> {
        let needle = format!("const {ident}: &str = \"");
        sources.iter().find_map(|(_, text)| {
            let start = text.find(&needle)? + needle.len();
            let end = text[start..].find('"')?;
            Some(text[start..start + end].to_string())
        })
    }
}
