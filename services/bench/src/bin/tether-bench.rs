//! `tether-bench`: open-loop load generator for a running Tether stack (or the floor),
//! through the client contract only. One scenario per invocation; prints progress on
//! stderr and a markdown row per result on stdout; `--json-out` appends JSON lines that
//! `tether-bench report` turns into the comparison table.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tether_bench::client::Target;
use tether_bench::drive;
use tether_bench::overload::{self, OverloadShape};
use tether_bench::procstat::{self, AppFilter};
use tether_bench::report::{Outcome, comparison};
use tether_bench::scenarios::{self, Ctx, PairLoad, SoakShape};
use tether_bench::seed;
use tether_bench::traffic::TrafficSource;

/// Command line.
#[derive(Parser)]
#[command(about = "Open-loop benchmark of Tether's client contract (HTTP + WebSockets)")]
struct Args {
    /// Base URL of the edge (loopback only).
    #[arg(
        long,
        env = "TETHER_BENCH_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// HS256 secret the tokens are minted with.
    #[arg(
        long,
        env = "TETHER_JWT_SECRET",
        default_value = "tether-dev-secret-change-me",
        hide_env_values = true,
        global = true
    )]
    jwt_secret: String,
    /// Label of the target in the results (`tether`, `floor`).
    #[arg(long, default_value = "tether", global = true)]
    label: String,
    /// Process ids of the application (comma-separated); default: every `tether-*`
    /// process except the bench and the floor.
    #[arg(long, value_delimiter = ',', global = true)]
    app_pids: Vec<u32>,
    /// Process ids whose RSS counts as the edge's (idle); default: the app pids.
    #[arg(long, value_delimiter = ',', global = true)]
    edge_pids: Vec<u32>,
    /// Loopback source addresses to spread sockets over (127.0.0.1 .. 127.0.0.N).
    #[arg(long, default_value_t = 1, global = true)]
    source_addrs: usize,
    /// Longest wait, in seconds, for stragglers after a run's last send.
    #[arg(long, default_value_t = 10, global = true)]
    drain_s: u64,
    /// Pairs set up concurrently.
    #[arg(long, default_value_t = 32, global = true)]
    setup_concurrency: usize,
    /// NATS monitoring endpoint (`http://127.0.0.1:18222`): messages per unit from `/varz`.
    #[arg(long, global = true)]
    nats_monitor: Option<String>,
    /// Database whose `pg_stat_statements` counts the stack's round trips per unit.
    #[arg(long, global = true)]
    stats_db: Option<String>,
    /// Appends each outcome as a JSON line to this file.
    #[arg(long, global = true)]
    json_out: Option<PathBuf>,
    /// Prints each outcome as JSON on stdout too.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open sockets, hold them; connects/s and RSS growth per socket.
    Idle {
        #[arg(long, default_value_t = 2000)]
        sockets: usize,
        #[arg(long, default_value_t = 10)]
        hold_s: u64,
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
    },
    /// Chat at a fixed rate with receipts.
    Chat {
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[command(flatten)]
        run: FixedArgs,
        /// No message_delivered/message_read.
        #[arg(long)]
        no_receipts: bool,
    },
    /// Highest chat rate with receipts at p99 ≤ --p99-ms, nothing lost.
    ChatMax {
        #[command(flatten)]
        max: MaxArgs,
        #[arg(long, default_value_t = 50.0)]
        p99_ms: f64,
    },
    /// Typing indicators at a fixed rate.
    Typing {
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[command(flatten)]
        run: FixedArgs,
    },
    /// Highest typing rate at p99 ≤ --p99-ms.
    TypingMax {
        #[command(flatten)]
        max: MaxArgs,
        #[arg(long, default_value_t = 20.0)]
        p99_ms: f64,
    },
    /// Location updates (≥ 50 m moves) at a fixed rate.
    Location {
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        #[command(flatten)]
        run: FixedArgs,
    },
    /// Highest location rate at p99 ≤ --p99-ms, every move announced.
    LocationMax {
        #[command(flatten)]
        max: MaxArgs,
        #[arg(long, default_value_t = 20.0)]
        p99_ms: f64,
    },
    /// Whole lifecycles at a fixed rate.
    Lifecycle {
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        #[arg(long, default_value_t = 10)]
        duration_s: u64,
        #[arg(long, default_value_t = 2000)]
        max_inflight: usize,
    },
    /// Highest lifecycle rate at p99 ≤ --p99-ms, no error.
    LifecycleMax {
        #[command(flatten)]
        max: MaxArgs,
        #[arg(long, default_value_t = 50.0)]
        p99_ms: f64,
        #[arg(long, default_value_t = 2000)]
        max_inflight: usize,
    },
    /// G14: one kind of work at --factor × its --capacity for --overload-s, between a
    /// baseline and a recovery at --comfort × the capacity; goodput, refusals (how many,
    /// how fast, with or without a retry hint) and the time back to normal p99.
    Overload {
        /// The work overloaded.
        #[arg(long, value_enum)]
        kind: overload::Kind,
        /// Its capacity (lifecycles/s, msg/s, updates/s or connects/s), e.g. from the
        /// same run's *-max search or idle's connects/s.
        #[arg(long)]
        capacity: f64,
        /// The overload as a multiple of the capacity.
        #[arg(long, default_value_t = 10.0)]
        factor: f64,
        /// Baseline and recovery rate as a fraction of the capacity.
        #[arg(long, default_value_t = 0.5)]
        comfort: f64,
        #[arg(long, default_value_t = 10)]
        baseline_s: u64,
        #[arg(long, default_value_t = 30)]
        overload_s: u64,
        #[arg(long, default_value_t = 20)]
        recovery_s: u64,
        /// Sessions the load is spread over (chat, location).
        #[arg(long, default_value_t = 200)]
        sessions: usize,
        /// Units in flight at most (more are shed by the generator and counted);
        /// default 2,000 lifecycles or connects, 50,000 messages or updates.
        #[arg(long)]
        max_inflight: Option<usize>,
        /// A unit completing later than this after its scheduled time is late, not
        /// goodput; default 30,000 for lifecycles, 5,000 (the edge's timeout) otherwise.
        #[arg(long)]
        deadline_ms: Option<u64>,
        /// A recovery window is normal at p99 ≤ this × the baseline p99.
        #[arg(long, default_value_t = 1.5)]
        normal_factor: f64,
        /// A refusal within this many ms is fast (G14: 100).
        #[arg(long, default_value_t = 100)]
        fast_ms: u64,
        /// Lifecycles: send a refused step again after its retry_after_ms, while the
        /// lifecycle's deadline allows (as an app would).
        #[arg(long)]
        retry: bool,
        /// Chat: no message_delivered/message_read.
        #[arg(long)]
        no_receipts: bool,
    },
    /// Protocol 1.2's cadence: fixes a session's apps send for a sample drive, every
    /// second and as `location_cadence` advises (see `drive.rs`).
    Drive {
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// The provider's distance from the seeker at the start (m).
        #[arg(long, default_value_t = 8000.0)]
        distance_m: f64,
        /// The provider's speed (m per simulated second).
        #[arg(long, default_value_t = 10.0)]
        speed_mps: f64,
        /// Simulated seconds per real second (the server sees speed × this: keep it
        /// under its TETHER_MAX_SPEED_MPS).
        #[arg(long, default_value_t = 5.0)]
        time_scale: f64,
        /// One mode only (default: every-second, then cadence).
        #[arg(long, value_enum)]
        mode: Option<drive::Mode>,
    },
    /// G11: chat probe, mixed traffic with per-interval p99 and dead tuples, probe again.
    Soak {
        #[arg(long, default_value_t = 30)]
        duration_min: u64,
        #[arg(long, default_value_t = 60)]
        interval_s: u64,
        #[arg(long, default_value_t = 500.0)]
        chat_rate: f64,
        #[arg(long, default_value_t = 200)]
        chat_sessions: usize,
        #[arg(long, default_value_t = 2000.0)]
        location_rate: f64,
        #[arg(long, default_value_t = 200)]
        location_sessions: usize,
        #[arg(long, default_value_t = 20.0)]
        lifecycle_rate: f64,
        #[arg(long, default_value_t = 1000.0)]
        probe_rate: f64,
        #[arg(long, default_value_t = 20)]
        probe_s: u64,
        /// PostgreSQL of the stack, for pg_stat_user_tables.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Fills a database with months of plausible history (production size by default:
    /// 200,000 users, 300,000 sessions, 5,000,000 chat messages; see bench/README.md).
    /// Creates and migrates the database when needed; never deletes anything.
    Seed {
        /// PostgreSQL URL of the database to fill.
        #[arg(
            long,
            env = "DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/tether"
        )]
        database_url: String,
        /// Size relative to production (0.01: a hundredth).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Seed of every random choice: the same seed gives the same rows.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Prints the machine (CPU model, cores, memory) for the results file.
    Machine,
    /// Builds the comparison table from JSON-lines files of outcomes.
    Report {
        /// JSON-lines files written with --json-out.
        files: Vec<PathBuf>,
    },
}

/// A fixed-rate run over open pairs (besides its rate).
#[derive(clap::Args, Clone)]
struct FixedArgs {
    /// Sessions the load is spread over.
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    duration_s: u64,
}

/// The stepping of a `*-max` search.
#[derive(clap::Args, Clone)]
struct MaxArgs {
    /// Sessions the load is spread over (not used by lifecycles).
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// First rate tried.
    #[arg(long, default_value_t = 500.0)]
    start: f64,
    /// Highest rate tried.
    #[arg(long, default_value_t = 200_000.0)]
    cap: f64,
    /// Bisection steps after the first failure.
    #[arg(long, default_value_t = 3)]
    bisect: u32,
    /// Seconds per step.
    #[arg(long, default_value_t = 8)]
    step_s: u64,
    /// Seconds of rest between steps.
    #[arg(long, default_value_t = 2)]
    pause_s: u64,
}

impl MaxArgs {
    /// [`scenarios::find_max`] with this stepping: `step` runs one rate for `step_s`.
    async fn search<F, Fut>(&self, name: &str, p99_ms: f64, step: F) -> Outcome
    where
        F: FnMut(f64) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        scenarios::find_max(
            name,
            self.start,
            self.cap,
            self.bisect,
            p99_ms,
            Duration::from_secs(self.pause_s),
            step,
        )
        .await
    }
}

/// How a load over open pairs runs: once at a fixed rate, or as a search for the highest
/// rate that passes.
enum Pace<'a> {
    Fixed { rate: f64, run: &'a FixedArgs },
    Max { max: &'a MaxArgs, p99_ms: f64 },
}

/// The load and pace of a scenario over open pairs; None for the others.
fn pair_load(scenario: &Scenario) -> Option<(PairLoad, Pace<'_>)> {
    let fixed = |rate: &f64, run| Pace::Fixed { rate: *rate, run };
    let max = |max, p99_ms: &f64| Pace::Max {
        max,
        p99_ms: *p99_ms,
    };
    match scenario {
        Scenario::Chat {
            rate,
            run,
            no_receipts,
        } => Some((
            PairLoad::Chat {
                receipts: !no_receipts,
            },
            fixed(rate, run),
        )),
        Scenario::ChatMax { max: m, p99_ms } => {
            Some((PairLoad::Chat { receipts: true }, max(m, p99_ms)))
        }
        Scenario::Typing { rate, run } => Some((PairLoad::Typing, fixed(rate, run))),
        Scenario::TypingMax { max: m, p99_ms } => Some((PairLoad::Typing, max(m, p99_ms))),
        Scenario::Location { rate, run } => Some((PairLoad::Location, fixed(rate, run))),
        Scenario::LocationMax { max: m, p99_ms } => Some((PairLoad::Location, max(m, p99_ms))),
        Scenario::Idle { .. }
        | Scenario::Lifecycle { .. }
        | Scenario::LifecycleMax { .. }
        | Scenario::Soak { .. }
        | Scenario::Drive { .. }
        | Scenario::Overload { .. }
        | Scenario::Seed { .. }
        | Scenario::Machine
        | Scenario::Report { .. } => None,
    }
}

/// Opens the pairs `load` needs (`concurrency` at a time) and runs it at `pace`.
async fn run_pairs(
    ctx: &Ctx,
    load: PairLoad,
    pace: Pace<'_>,
    concurrency: usize,
) -> anyhow::Result<Outcome> {
    let sessions = match &pace {
        Pace::Fixed { run, .. } => run.sessions,
        Pace::Max { max, .. } => max.sessions,
    };
    let pairs = load.open(&ctx.target, sessions, concurrency).await?;
    let pairs = &pairs;
    Ok(match pace {
        Pace::Fixed { rate, run } => {
            let duration = Duration::from_secs(run.duration_s);
            load.run(ctx, pairs, rate, duration).await
        }
        Pace::Max { max, p99_ms } => {
            let step = Duration::from_secs(max.step_s);
            max.search(load.name(), p99_ms, move |rate| {
                load.run(ctx, pairs, rate, step)
            })
            .await
        }
    })
}

/// `tether-bench seed`: progress on stderr; the report and the tables' sizes on stdout.
async fn seed_command(database_url: &str, scale: f64, seed: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        scale.is_finite() && scale > 0.0,
        "--scale must be a positive number"
    );
    let size = seed::SeedSize::scaled(scale);
    let report = seed::seed_url(database_url, &size, seed).await?;
    print!("{report}");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await
        .context("connecting to DATABASE_URL")?;
    println!("\n| table | rows (whole table) | size (pg_total_relation_size) |\n|---|---:|---:|");
    let mut total = 0;
    for (table, rows, bytes) in seed::table_sizes(&pool).await? {
        total += bytes;
        println!(
            "| {table} | {} | {} |",
            seed::group(rows.max(0) as u64),
            seed::human_bytes(bytes)
        );
    }
    println!("| all | | {} |", seed::human_bytes(total));
    pool.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The file limit is per process; use all of the hard limit for sockets.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Scenario::Machine = &args.scenario {
        println!("{}", procstat::machine());
        return Ok(());
    }
    if let Scenario::Seed {
        database_url,
        scale,
        seed,
    } = &args.scenario
    {
        return seed_command(database_url, *scale, *seed).await;
    }
    if let Scenario::Report { files } = &args.scenario {
        let mut outcomes = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                outcomes.push(serde_json::from_str::<Outcome>(line)?);
            }
        }
        print!("{}", comparison(&outcomes));
        return Ok(());
    }
    let target = Target::new(&args.url, &args.jwt_secret, args.source_addrs)?;
    let app_pids = if args.app_pids.is_empty() && args.label == "floor" {
        procstat::pids_named("tether-floor")
    } else {
        args.app_pids.clone()
    };
    let apps = AppFilter {
        pids: app_pids.clone(),
    };
    let ctx = Arc::new(Ctx::new(
        target,
        args.label.clone(),
        apps,
        Duration::from_secs(args.drain_s),
        TrafficSource::new(args.nats_monitor.as_deref(), args.stats_db.as_deref()).await,
    ));
    let secs = Duration::from_secs;
    let outcomes: Vec<Outcome> = match &args.scenario {
        Scenario::Idle {
            sockets,
            hold_s,
            concurrency,
        } => {
            let edge = if args.edge_pids.is_empty() {
                app_pids.clone()
            } else {
                args.edge_pids.clone()
            };
            let nats = if args.label == "floor" {
                Vec::new()
            } else {
                procstat::pids_named("nats-server")
            };
            vec![scenarios::idle(&ctx, *sockets, secs(*hold_s), *concurrency, &edge, &nats).await]
        }
        Scenario::Lifecycle {
            rate,
            duration_s,
            max_inflight,
        } => vec![scenarios::lifecycle(&ctx, *rate, secs(*duration_s), *max_inflight).await],
        Scenario::LifecycleMax {
            max,
            p99_ms,
            max_inflight,
        } => {
            let (ctx, step, max_inflight) = (&ctx, secs(max.step_s), *max_inflight);
            vec![
                max.search("lifecycle", *p99_ms, move |rate| {
                    scenarios::lifecycle(ctx, rate, step, max_inflight)
                })
                .await,
            ]
        }
        Scenario::Overload {
            kind,
            capacity,
            factor,
            comfort,
            baseline_s,
            overload_s,
            recovery_s,
            sessions,
            max_inflight,
            deadline_ms,
            normal_factor,
            fast_ms,
            retry,
            no_receipts,
        } => {
            let shape = OverloadShape {
                kind: *kind,
                capacity: *capacity,
                factor: *factor,
                comfort: *comfort,
                baseline: secs(*baseline_s),
                overload: secs(*overload_s),
                recovery: secs(*recovery_s),
                sessions: *sessions,
                max_inflight: max_inflight.unwrap_or_else(|| kind.default_max_inflight()),
                deadline: deadline_ms
                    .map_or_else(|| kind.default_deadline(), Duration::from_millis),
                normal_factor: *normal_factor,
                fast: Duration::from_millis(*fast_ms),
                retry: *retry,
                receipts: !no_receipts,
            };
            vec![overload::run(&ctx, &shape, args.setup_concurrency).await?]
        }
        Scenario::Drive {
            sessions,
            distance_m,
            speed_mps,
            time_scale,
            mode,
        } => {
            anyhow::ensure!(
                *distance_m > 0.0 && *speed_mps > 0.0 && *time_scale > 0.0,
                "--distance-m, --speed-mps and --time-scale must be above 0"
            );
            let shape = drive::DriveShape {
                sessions: *sessions,
                distance_m: *distance_m,
                speed_mps: *speed_mps,
                time_scale: *time_scale,
                modes: mode.map_or_else(
                    || vec![drive::Mode::EverySecond, drive::Mode::Cadence],
                    |m| vec![m],
                ),
            };
            drive::run(&ctx, &shape, args.setup_concurrency).await?
        }
        Scenario::Soak {
            duration_min,
            interval_s,
            chat_rate,
            chat_sessions,
            location_rate,
            location_sessions,
            lifecycle_rate,
            probe_rate,
            probe_s,
            database_url,
        } => {
            let pool = match database_url {
                Some(url) if args.label != "floor" => Some(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect(url)
                        .await
                        .context("connecting to DATABASE_URL")?,
                ),
                _ => None,
            };
            let shape = SoakShape {
                chat_rate: *chat_rate,
                chat_sessions: *chat_sessions,
                location_rate: *location_rate,
                location_sessions: *location_sessions,
                lifecycle_rate: *lifecycle_rate,
                duration: secs(duration_min * 60),
                interval: secs(*interval_s),
                probe_rate: *probe_rate,
                probe_duration: secs(*probe_s),
            };
            scenarios::soak(&ctx, &shape, pool.as_ref()).await?
        }
        Scenario::Report { .. } | Scenario::Machine | Scenario::Seed { .. } => Vec::new(),
        scenario => match pair_load(scenario) {
            Some((load, pace)) => vec![run_pairs(&ctx, load, pace, args.setup_concurrency).await?],
            None => Vec::new(),
        },
    };
    println!("{}", Outcome::markdown_header());
    for o in &outcomes {
        println!("{}", o.markdown_row());
        if args.json {
            println!("{}", serde_json::to_string(o)?);
        }
    }
    if let Some(path) = &args.json_out {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        for o in &outcomes {
            writeln!(file, "{}", serde_json::to_string(o)?)?;
        }
    }
    Ok(())
}
