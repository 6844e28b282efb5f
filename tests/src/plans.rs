//! Running the [`crate::hot_statements`] catalogue under `EXPLAIN (ANALYZE, BUFFERS)` the
//! way the services run it, and checking that each statement touches rows and buffers in
//! proportion to what it returns, never to a table's size.
//!
//! How a statement runs here: sqlx prepares every statement once per connection, and the
//! pools' sessions force generic plans (`tether_platform::db`), so the plan that matters is
//! the generic one, made from whatever statistics the tables have when a connection first
//! executes the statement. Each statement is `PREPARE`d with the parameter types sqlx
//! binds, on a connection with the pools' settings, and each sample case runs as
//! `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE`, in a transaction that is rolled back.
//!
//! The bound, per case, with `R` = the rows it returns or changes, or the elements of its
//! largest array parameter (a batch's size), whichever is largest, and `A` the rows of the
//! statement's declared allowance (0 for most; the re-send and the chat expiry may walk
//! the session's own chat, capped per session; a nearby search measures the active
//! providers inside its bounding box):
//! - every plan node touches at most `ROWS_BASE + ROWS_PER_ROW * R + A` rows: actual rows
//!   times loops, plus the rows its filter, join filter or index recheck removed;
//! - the statement reads at most `BUFFERS_BASE + BUFFERS_PER_ROW * R +
//!   BUFFERS_PER_ALLOWED_ROW * A` shared buffers, hit or read (the root node's count plus
//!   that of data-modifying CTEs, which run after it).

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection, Row};

use crate::hot_statements::{Case, HotStatement};

/// Rows any node may touch whatever the statement returns.
pub const ROWS_BASE: f64 = 50.0;
/// Rows a node may touch per row returned or changed.
pub const ROWS_PER_ROW: f64 = 10.0;
/// Shared buffers a statement may read whatever it returns.
pub const BUFFERS_BASE: f64 = 150.0;
/// Shared buffers per row returned or changed (a changed `chat_messages` row that is not
/// a HOT update writes five index entries: about 20).
pub const BUFFERS_PER_ROW: f64 = 30.0;

/// Shared buffers per row of a statement's allowance: a row walked costs its heap page (a
/// long chat's messages lie on pages of their own) and its share of the index's.
pub const BUFFERS_PER_ALLOWED_ROW: f64 = 2.0;

/// What one case did.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The statement's name.
    pub statement: &'static str,
    /// The case's label.
    pub case: &'static str,
    /// Rows returned.
    pub returned: f64,
    /// Rows inserted, updated or deleted (the modifying nodes' input).
    pub changed: f64,
    /// Elements of the largest array parameter.
    pub input: f64,
    /// The allowance's rows (0 without one).
    pub allowance: f64,
    /// Rows touched by the busiest node.
    pub max_node_rows: f64,
    /// That node.
    pub max_node: String,
    /// Shared buffers hit or read.
    pub buffers: f64,
    /// Execution time.
    pub ms: f64,
    /// Planning time (0 once a generic plan is cached).
    pub planning_ms: f64,
    /// Time spent compiling with JIT (0 without).
    pub jit_ms: f64,
    /// Sequential scans in the plan.
    pub seq_scans: usize,
    /// The plan, rendered.
    pub plan: String,
    /// The tables the statement changed (vacuumed after the case, index cleanup forced, so
    /// the dead index entries a rolled-back change leaves do not weigh on the next cases:
    /// a bitmap scan counts them, and VACUUM skips the indexes when few pages have any).
    pub modified: Vec<String>,
}

impl Figures {
    /// `R`: what the statement's cost may follow.
    pub fn scale(&self) -> f64 {
        self.returned.max(self.changed).max(self.input)
    }

    /// The most rows a node may touch.
    pub fn rows_bound(&self) -> f64 {
        ROWS_BASE + ROWS_PER_ROW * self.scale() + self.allowance
    }

    /// The most buffers the statement may read.
    pub fn buffers_bound(&self) -> f64 {
        BUFFERS_BASE + BUFFERS_PER_ROW * self.scale() + BUFFERS_PER_ALLOWED_ROW * self.allowance
    }

    /// Whether both bounds hold.
    pub fn within(&self) -> bool {
        self.max_node_rows <= self.rows_bound() && self.buffers <= self.buffers_bound()
    }
}

/// A database of a test's own, on the server the tests use: `tether_plans_<random>`.
pub fn scratch_database_url(prefix: &str) -> String {
    let name = format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    crate::with_database_name(&crate::test_database_url(), &name)
}

/// Drops a database made with [`scratch_database_url`] (its connections are closed).
pub async fn drop_database(url: &str) {
    use sqlx::migrate::MigrateDatabase;
    let _ = sqlx::Postgres::force_drop_database(url).await;
}

/// The tables the services own (for statistics and sizes): those the seeding fills.
pub const TABLES: [&str; 13] = tether_bench::seed::SEEDED_TABLES;

/// Makes the tables look never analyzed (no column statistics, no row or page counts), as
/// on a deployment whose tables grew with autovacuum off: the next generic plan is made
/// from the planner's defaults. Needs a superuser.
pub async fn clear_statistics(conn: &mut PgConnection) -> sqlx::Result<()> {
    let tables: Vec<&str> = TABLES.to_vec();
    let mut tx = conn.begin().await?;
    sqlx::query(
        "DELETE FROM pg_statistic WHERE starelid IN (
             SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t)",
    )
    .bind(&tables)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0
         WHERE oid IN (SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t
                       UNION ALL
                       SELECT indexrelid FROM pg_index
                       WHERE indrelid IN (SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t))",
    )
    .bind(&tables)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Runs every case of every statement on `conn` (settings as the caller made them).
/// `repeat` runs each case that many times (each in its own rolled-back transaction) and
/// keeps the last: 1 under forced generic plans; 6 shows what `plan_cache_mode = auto`
/// settles on after its five custom plans. After a case that changed rows, the tables it
/// changed are vacuumed (and with `no_statistics`, their statistics cleared again).
pub async fn measure_all(
    conn: &mut PgConnection,
    catalogue: &[HotStatement],
    repeat: usize,
    no_statistics: bool,
) -> anyhow::Result<Vec<Figures>> {
    conn.execute("SET statement_timeout = '30s'").await?;
    let mut all = Vec::new();
    for statement in catalogue {
        let prepare = format!(
            "PREPARE hot_statement{} AS {}",
            if statement.params.is_empty() {
                String::new()
            } else {
                format!("({})", statement.params.join(", "))
            },
            statement.sql
        );
        conn.execute(sqlx::AssertSqlSafe(prepare))
            .await
            .with_context(|| format!("preparing {:?}", statement.name))?;
        for case in statement.cases {
            let mut last = None;
            for _ in 0..repeat.max(1) {
                let figures = measure(conn, statement, case)
                    .await
                    .with_context(|| format!("{:?}, case {:?}", statement.name, case.label))?;
                let mut vacuum = figures.modified.clone();
                // A setup's changes leave dead index entries too.
                vacuum.extend(
                    TABLES
                        .iter()
                        .filter(|table| case.setup.contains(*table))
                        .filter(|table| !figures.modified.iter().any(|known| known == *table))
                        .map(|table| table.to_string()),
                );
                if !vacuum.is_empty() {
                    let tables = vacuum.join(", ");
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "VACUUM (INDEX_CLEANUP ON) {tables}"
                    )))
                    .await?;
                    if no_statistics {
                        clear_statistics(conn).await?;
                    }
                }
                last = Some(figures);
            }
            all.extend(last);
        }
        conn.execute("DEALLOCATE hot_statement").await?;
    }
    Ok(all)
}

async fn measure(
    conn: &mut PgConnection,
    statement: &HotStatement,
    case: &Case,
) -> anyhow::Result<Figures> {
    let mut tx = conn.begin().await?;
    if !case.setup.is_empty() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(case.setup))
            .execute(&mut *tx)
            .await
            .context("setup")?;
    }
    let n = statement.params.len();
    let columns: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let mut aliases = columns.clone();
    if statement.allowance.is_some() {
        aliases.push("allowance".into());
    }
    let literals = if n == 0 {
        "ARRAY[]::text[]".to_string()
    } else {
        format!(
            "ARRAY[{}]",
            columns
                .iter()
                .map(|c| format!("quote_nullable(a.{c}::text)"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let cardinalities = statement
        .params
        .iter()
        .zip(&columns)
        .filter(|(kind, _)| kind.ends_with("[]"))
        .map(|(_, c)| format!("coalesce(cardinality(a.{c}), 0)"))
        .chain(["0".to_string()])
        .collect::<Vec<_>>()
        .join(", ");
    let allowance = if statement.allowance.is_some() {
        "a.allowance::float8"
    } else {
        "0::float8"
    };
    let alias_list = if aliases.is_empty() {
        String::new()
    } else {
        format!("({})", aliases.join(", "))
    };
    let args_sql = format!(
        "SELECT {literals}, greatest({cardinalities})::float8, {allowance}
         FROM ({}) AS a{alias_list}",
        case.args
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(args_sql))
        .fetch_one(&mut *tx)
        .await
        .context("sample parameters")?;
    let values: Vec<Option<String>> = row.try_get(0)?;
    let input: f64 = row.try_get(1)?;
    let allowance: f64 = row.try_get(2)?;
    let arguments = values
        .iter()
        .zip(statement.params)
        .map(|(value, kind)| match value {
            Some(literal) => format!("{literal}::{kind}"),
            None => format!("NULL::{kind}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let execute = if n == 0 {
        "EXECUTE hot_statement".to_string()
    } else {
        format!("EXECUTE hot_statement({arguments})")
    };
    let explain: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}"
    )))
    .fetch_one(&mut *tx)
    .await
    .context("EXPLAIN ANALYZE")?;
    tx.rollback().await?;
    let top = explain.get(0).context("an EXPLAIN without a plan")?.clone();
    let plan = top.get("Plan").context("no Plan")?;
    let mut walk = Walk::default();
    walk.node(plan, 0, true);
    Ok(Figures {
        statement: statement.name,
        case: case.label,
        returned: number(plan, "Actual Rows") * number(plan, "Actual Loops"),
        changed: walk.changed,
        input,
        allowance,
        max_node_rows: walk.max_rows,
        max_node: walk.max_node,
        buffers: walk.buffers,
        ms: number(&top, "Execution Time"),
        planning_ms: number(&top, "Planning Time"),
        jit_ms: top
            .get("JIT")
            .and_then(|jit| jit.get("Timing"))
            .map_or(0.0, |timing| number(timing, "Total")),
        seq_scans: walk.seq_scans,
        plan: walk.text,
        modified: walk.modified,
    })
}

fn number(node: &Value, key: &str) -> f64 {
    node.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn blocks(node: &Value) -> f64 {
    number(node, "Shared Hit Blocks") + number(node, "Shared Read Blocks")
}

/// What a walk over a plan found.
#[derive(Debug, Default)]
struct Walk {
    max_rows: f64,
    max_node: String,
    buffers: f64,
    changed: f64,
    text: String,
    modified: Vec<String>,
    seq_scans: usize,
}

impl Walk {
    fn node(&mut self, node: &Value, depth: usize, root: bool) {
        let loops = number(node, "Actual Loops");
        let rows = number(node, "Actual Rows") * loops;
        let removed = (number(node, "Rows Removed by Filter")
            + number(node, "Rows Removed by Join Filter")
            + number(node, "Rows Removed by Index Recheck"))
            * loops;
        let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("?");
        if kind == "Seq Scan" {
            self.seq_scans += 1;
        }
        let mut label = kind.to_string();
        if let Some(operation) = node.get("Operation").and_then(Value::as_str)
            && kind == "ModifyTable"
        {
            label = operation.to_string();
        }
        if let Some(index) = node.get("Index Name").and_then(Value::as_str) {
            let _ = write!(label, " using {index}");
        }
        if let Some(relation) = node.get("Relation Name").and_then(Value::as_str) {
            let _ = write!(label, " on {relation}");
        }
        if let Some(name) = node.get("Subplan Name").and_then(Value::as_str) {
            label = format!("{name}: {label}");
        }
        if rows + removed > self.max_rows {
            self.max_rows = rows + removed;
            self.max_node = label.clone();
        }
        // The root's buffers include its children's; a data-modifying CTE's run after the
        // root finished are not included, so they are added (counted twice at worst).
        let cte_modify = kind == "ModifyTable"
            && node
                .get("Subplan Name")
                .and_then(Value::as_str)
                .is_some_and(|name| name.starts_with("CTE"));
        if root || cte_modify {
            self.buffers += blocks(node);
        }
        let children = node.get("Plans").and_then(Value::as_array);
        if kind == "ModifyTable"
            && let Some(input) = children.and_then(|plans| {
                plans.iter().find(|plan| {
                    plan.get("Parent Relationship").and_then(Value::as_str) != Some("InitPlan")
                })
            })
        {
            self.changed += number(input, "Actual Rows") * number(input, "Actual Loops");
        }
        if kind == "ModifyTable"
            && let Some(relation) = node.get("Relation Name").and_then(Value::as_str)
            && !self.modified.iter().any(|known| known == relation)
        {
            self.modified.push(relation.to_string());
        }
        let mut line = format!(
            "{:indent$}{label}  rows={rows} loops={loops}",
            "",
            indent = depth * 2
        );
        if removed > 0.0 {
            let _ = write!(line, " removed={removed}");
        }
        for key in ["Index Cond", "Filter", "Join Filter", "Hash Cond"] {
            if let Some(cond) = node.get(key).and_then(Value::as_str) {
                let _ = write!(line, " [{key}: {cond}]");
            }
        }
        let _ = writeln!(line, " buffers={}", blocks(node));
        self.text.push_str(&line);
        for child in children.into_iter().flatten() {
            self.node(child, depth + 1, false);
        }
    }
}

/// The figures as a Markdown table.
pub fn table(title: &str, figures: &[Figures]) -> String {
    let mut out = format!(
        "\n{title}\n| statement | case | R | max node rows (bound) | busiest node | buffers (bound) | ms |\n|---|---|---:|---:|---|---:|---:|\n"
    );
    for f in figures {
        let mark = if f.within() { "" } else { " **over**" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({}) | {} | {} ({}) | {:.3}{mark} |",
            f.statement,
            f.case,
            f.scale(),
            f.max_node_rows,
            f.rows_bound(),
            f.max_node,
            f.buffers,
            f.buffers_bound(),
            f.ms
        );
    }
    out
}

/// A pass's totals as a Markdown table row: cases, cases over the bound, buffers,
/// execution, planning and JIT milliseconds, sequential scans.
pub fn summary_row(title: &str, figures: &[Figures]) -> String {
    let (buffers, ms, planning_ms) = totals(figures);
    let jit: f64 = figures.iter().map(|f| f.jit_ms).sum();
    let seq: usize = figures.iter().map(|f| f.seq_scans).sum();
    let over = figures.iter().filter(|f| !f.within()).count();
    format!(
        "| {title} | {} | {over} | {buffers} | {ms:.1} | {planning_ms:.1} | {jit:.1} | {seq} |",
        figures.len()
    )
}

/// Totals of a pass: buffers, execution and planning milliseconds.
pub fn totals(figures: &[Figures]) -> (f64, f64, f64) {
    figures.iter().fold((0.0, 0.0, 0.0), |(b, e, p), f| {
        (b + f.buffers, e + f.ms, p + f.planning_ms)
    })
}

/// The cases over their bounds, each with its plan.
pub fn failures(figures: &[Figures]) -> Vec<String> {
    figures
        .iter()
        .filter(|f| !f.within())
        .map(|f| {
            format!(
                "{} ({}): R = {}, busiest node {} touched {} rows (bound {}), {} buffers (bound {})\n{}",
                f.statement,
                f.case,
                f.scale(),
                f.max_node,
                f.max_node_rows,
                f.rows_bound(),
                f.buffers,
                f.buffers_bound(),
                f.plan
            )
        })
        .collect()
}

/// Seconds since `started`, for progress lines.
pub fn since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}
