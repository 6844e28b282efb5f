//! What the stack under test sends between its parts: messages published to NATS and
//! statements sent to PostgreSQL, counted by the servers themselves so the application
//! cannot miscount.
//!
//! - **NATS messages** are `in_msgs` of the server's monitoring endpoint (`/varz`): every
//!   publish, request and reply a client sent. `scripts/bench` runs a NATS of its own for
//!   the stack so nothing else is counted.
//! - **PostgreSQL round trips** are the sum of `calls` in `pg_stat_statements` for the
//!   bench database: one per statement sent, `BEGIN` and `COMMIT` included (utility
//!   statements are tracked by default). The extension must be in
//!   `shared_preload_libraries`; without it the figure is simply absent.
//!
//! Either source is optional: a missing one reads as `None` and the reports leave the
//! figure out rather than print a zero.

use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Counters at one moment; `None` where the source is not configured or did not answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Traffic {
    /// Messages published to NATS so far.
    pub nats_msgs: Option<u64>,
    /// Statements executed in the bench database so far.
    pub pg_statements: Option<u64>,
}

impl Traffic {
    /// The traffic between `earlier` and `self`.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        let delta = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_sub(b?));
        Traffic {
            nats_msgs: delta(self.nats_msgs, earlier.nats_msgs),
            pg_statements: delta(self.pg_statements, earlier.pg_statements),
        }
    }
}

/// Where the counters are read.
#[derive(Clone, Default)]
pub struct TrafficSource {
    varz: Option<String>,
    http: reqwest::Client,
    db: Option<PgPool>,
}

#[derive(Deserialize)]
struct Varz {
    in_msgs: u64,
}

/// The statements of the connected database: the query itself is one of them, which is
/// noise next to the thousands a scenario sends.
const STATEMENTS: &str = "SELECT sum(calls)::int8 FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";

impl TrafficSource {
    /// A source reading NATS's monitoring endpoint at `nats_monitor` (e.g.
    /// `http://127.0.0.1:18222`) and `pg_stat_statements` through `database_url`.
    /// A source that cannot be used is left out, with a warning on stderr.
    pub async fn new(nats_monitor: Option<&str>, database_url: Option<&str>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        let mut source = TrafficSource {
            varz: nats_monitor.map(|base| format!("{}/varz", base.trim_end_matches('/'))),
            http,
            db: None,
        };
        if let Some(url) = database_url {
            match PgPoolOptions::new().max_connections(1).connect_lazy(url) {
                Ok(pool) => match sqlx::query_scalar::<_, Option<i64>>(STATEMENTS)
                    .fetch_one(&pool)
                    .await
                {
                    Ok(_) => source.db = Some(pool),
                    Err(e) => eprintln!(
                        "    no PostgreSQL round trips: pg_stat_statements is not readable ({e}); \
                         add it to shared_preload_libraries and CREATE EXTENSION pg_stat_statements"
                    ),
                },
                Err(e) => eprintln!("    no PostgreSQL round trips: {e}"),
            }
        }
        if source.varz.is_some() && source.nats().await.is_none() {
            eprintln!("    no NATS message counts: {nats_monitor:?} did not answer /varz");
            source.varz = None;
        }
        source
    }

    async fn nats(&self) -> Option<u64> {
        let url = self.varz.as_ref()?;
        let varz: Varz = self.http.get(url).send().await.ok()?.json().await.ok()?;
        Some(varz.in_msgs)
    }

    async fn pg(&self) -> Option<u64> {
        let pool = self.db.as_ref()?;
        let calls: Option<i64> = sqlx::query_scalar(STATEMENTS).fetch_one(pool).await.ok()?;
        Some(calls.unwrap_or(0).max(0) as u64)
    }

    /// The counters now.
    pub async fn snapshot(&self) -> Traffic {
        let (nats_msgs, pg_statements) = tokio::join!(self.nats(), self.pg());
        Traffic {
            nats_msgs,
            pg_statements,
        }
    }
}
