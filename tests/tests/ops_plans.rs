//! G13, checked in CI: every hot statement ([`tether_tests::hot_statements::CATALOGUE`]),
//! run with the pools' own settings on a seeded database, touches rows and buffers in
//! proportion to what it returns, never to a table's size (bound: [`tether_tests::plans`]).
//!
//! The database is the test's own (`tether_plans_<random>`, dropped at the end), seeded
//! with `tether_bench::seed` at a small scale so CI stays fast: 2 % of production by
//! default (`TETHER_PLANS_SCALE`), 100,000 chat messages. Two passes, each on a fresh
//! connection (so each makes its generic plans anew): with the statistics the seeding's
//! ANALYZE left, then with none at all, as tables that grew while nobody analyzed them.
//!
//! `plans_with_postgres_defaults` (ignored; run it by name) measures the same catalogue
//! on a larger seed with the pools' settings and with PostgreSQL's defaults, for the
//! decision on those settings.

use std::time::Instant;

use sqlx::{Connection, Executor, PgConnection};
use tether_bench::seed::{SeedSize, seed_database, table_sizes};
use tether_platform::DbConfig;
use tether_tests::hot_statements::{CATALOGUE, SAMPLES};
use tether_tests::plans::{self, Figures};

fn scale(default: f64) -> f64 {
    std::env::var("TETHER_PLANS_SCALE")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Creates, migrates (with the pools' settings) and seeds a database of the test's own;
/// returns its URL and a pool whose connections have the pools' settings.
async fn seeded(scale: f64) -> anyhow::Result<(String, sqlx::PgPool)> {
    let url = plans::scratch_database_url("tether_plans");
    let pool = tether_platform::db::connect(&DbConfig {
        database_url: url.clone(),
        db_max_connections: 2,
    })
    .await?;
    let report = seed_database(&pool, &SeedSize::scaled(scale), 20).await?;
    println!("{report}");
    for (table, rows, bytes) in table_sizes(&pool).await? {
        println!(
            "{table}: {rows} rows, {}",
            tether_bench::seed::human_bytes(bytes)
        );
    }
    pool.execute(SAMPLES).await?;
    Ok((url, pool))
}

async fn pass(
    pool: &sqlx::PgPool,
    title: &str,
    no_statistics: bool,
) -> anyhow::Result<Vec<Figures>> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?.detach();
    let figures = plans::measure_all(&mut conn, CATALOGUE, 1, no_statistics).await?;
    let _ = conn.close().await;
    println!("{}", plans::table(title, &figures));
    if std::env::var_os("TETHER_PLANS_VERBOSE").is_some() {
        for f in &figures {
            println!("{} ({}):\n{}", f.statement, f.case, f.plan);
        }
    }
    let (buffers, ms, planning_ms) = plans::totals(&figures);
    println!(
        "{title}: {} cases, {buffers} buffers, {ms:.1} ms executing, {planning_ms:.1} ms planning ({:.1} s)",
        figures.len(),
        plans::since(started)
    );
    Ok(figures)
}

async fn check(scale: f64) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let (url, pool) = seeded(scale).await?;
    println!("seeded in {:.1} s", plans::since(started));
    let outcome = async {
        let mut failures = Vec::new();
        let analyzed = pass(&pool, "analyzed statistics, pool settings", false).await?;
        failures.extend(plans::failures(&analyzed));
        let mut conn = pool.acquire().await?.detach();
        plans::clear_statistics(&mut conn).await?;
        let _ = conn.close().await;
        let cleared = pass(&pool, "no statistics, pool settings", true).await?;
        failures.extend(plans::failures(&cleared));
        anyhow::Ok(failures)
    }
    .await;
    pool.close().await;
    plans::drop_database(&url).await;
    println!("ops_plans took {:.1} s", plans::since(started));
    outcome
}

#[tokio::test]
async fn every_hot_statement_touches_rows_in_proportion_to_what_it_returns() {
    let failures = check(scale(0.02)).await.expect("plans measured");
    assert!(
        failures.is_empty(),
        "{} cases over the bound:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Session settings of a measuring pass: `plan_cache_mode`, `enable_seqscan`, `jit`.
type Settings = (&'static str, &'static str, &'static str);

/// The pools' settings (`tether_platform::db`).
const POOL: Settings = ("force_generic_plan", "off", "off");
/// PostgreSQL's defaults.
const DEFAULTS: Settings = ("auto", "on", "on");
/// Generic plans as the pools force them, with sequential scans allowed.
const GENERIC_WITH_SEQSCAN: Settings = ("force_generic_plan", "on", "off");
/// The pools' settings with JIT on.
const POOL_WITH_JIT: Settings = ("force_generic_plan", "off", "on");

async fn measure_with(
    url: &str,
    settings: Settings,
    repeat: usize,
    no_statistics: bool,
) -> anyhow::Result<Vec<Figures>> {
    let mut conn = PgConnection::connect(url).await?;
    let (plan_cache_mode, enable_seqscan, jit) = settings;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "SET plan_cache_mode = {plan_cache_mode}; SET enable_seqscan = {enable_seqscan}; SET jit = {jit}"
    )))
    .await?;
    let figures = plans::measure_all(&mut conn, CATALOGUE, repeat, no_statistics).await?;
    let _ = conn.close().await;
    Ok(figures)
}

fn compare(title: &str, ours: &[Figures], theirs: &[Figures]) {
    println!(
        "\n{title}\n| statement | case | ms pool | ms other (planning, JIT) | buffers pool | buffers other | seq scans other |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for (a, b) in ours.iter().zip(theirs) {
        println!(
            "| {} | {} | {:.3} | {:.3} ({:.3}, {:.3}) | {} | {} | {} |",
            a.statement,
            a.case,
            a.ms + a.planning_ms,
            b.ms + b.planning_ms,
            b.planning_ms,
            b.jit_ms,
            a.buffers,
            b.buffers,
            b.seq_scans
        );
    }
}

/// The settings decision: the same catalogue on a larger seed (`TETHER_PLANS_SCALE`,
/// default 0.2) with the pools' settings, with PostgreSQL's defaults (`plan_cache_mode =
/// auto`, `enable_seqscan = on`, `jit = on`), with generic plans but sequential scans
/// allowed, and with the pools' settings but JIT on; first with the seeding's statistics,
/// then with none. Each case runs twice
/// under forced generic plans (the second run uses the cached plan, as a pooled
/// connection does) and six times under `auto` (after five custom plans PostgreSQL
/// settles on the generic plan or keeps planning each execution); the last run counts.
/// Prints every pass's table, comparisons and a summary; asserts the pools' bound only.
#[tokio::test]
#[ignore = "minutes of seeding; run by name for the settings decision"]
async fn plans_with_postgres_defaults() {
    let scale = scale(0.2);
    let started = Instant::now();
    let (url, pool) = seeded(scale).await.expect("seeded");
    pool.close().await;
    println!("seeded in {:.1} s", plans::since(started));
    let outcome = async {
        let mut summary = vec![
            "| pass | cases | over the bound | buffers | ms executing | ms planning | ms JIT | sequential scans |".to_string(),
            "|---|---:|---:|---:|---:|---:|---:|---:|".to_string(),
        ];
        let mut failures = Vec::new();
        let mut runs = Vec::new();
        for no_statistics in [false, true] {
            if no_statistics {
                let mut conn = PgConnection::connect(&url).await?;
                plans::clear_statistics(&mut conn).await?;
                let _ = conn.close().await;
            }
            let statistics = if no_statistics { "no statistics" } else { "analyzed" };
            for (name, settings, repeat) in [
                ("pool settings", POOL, 2),
                ("PostgreSQL defaults", DEFAULTS, 6),
                ("generic plans, sequential scans on", GENERIC_WITH_SEQSCAN, 2),
                ("pool settings, JIT on", POOL_WITH_JIT, 2),
            ] {
                let title = format!("{name}, {statistics}");
                let figures = measure_with(&url, settings, repeat, no_statistics).await?;
                println!("{}", plans::table(&title, &figures));
                if std::env::var_os("TETHER_PLANS_VERBOSE").is_some() {
                    for f in &figures {
                        println!("{title}: {} ({}):\n{}", f.statement, f.case, f.plan);
                    }
                }
                summary.push(plans::summary_row(&title, &figures));
                if settings == POOL {
                    failures.extend(plans::failures(&figures));
                }
                runs.push((title, figures));
            }
        }
        for pair in [(0, 1), (0, 2), (0, 3), (4, 5), (4, 6), (4, 7)] {
            let (ours, theirs) = (&runs[pair.0], &runs[pair.1]);
            compare(&format!("{} against {}", ours.0, theirs.0), &ours.1, &theirs.1);
        }
        println!("\nscale {scale}\n{}", summary.join("\n"));
        anyhow::Ok(failures)
    }
    .await;
    plans::drop_database(&url).await;
    let failures = outcome.expect("plans measured");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
