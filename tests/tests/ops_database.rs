//! The session settings every service connection runs with (see
//! `tether_platform::db::connect_options`): plans made once per connection, never a
//! sequential scan where an index serves, no JIT, and receipts' pool committing asynchronously.

use tether_platform::config::DbConfig;
use tether_tests::test_database_url;

async fn settings(pool: &sqlx::PgPool) -> (String, String, String, String) {
    sqlx::query_as(
        "SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan'),
                current_setting('jit'), current_setting('synchronous_commit')",
    )
    .fetch_one(pool)
    .await
    .expect("settings")
}

#[tokio::test]
async fn every_pool_plans_once_and_never_falls_back_to_a_sequential_scan() {
    let db = DbConfig {
        database_url: test_database_url(),
        db_max_connections: 1,
    };
    let safe = tether_platform::db::connect(&db).await.expect("pool");
    let (plans, seqscan, jit, commit) = settings(&safe).await;
    assert_eq!(
        (plans.as_str(), seqscan.as_str(), jit.as_str()),
        ("force_generic_plan", "off", "off")
    );
    // The server's own setting (on, or stronger with standbys): acknowledgements wait
    // for the WAL flush.
    assert_ne!(commit, "off", "the safe pool must commit synchronously");
    safe.close().await;

    let fast = tether_platform::db::connect_async_commit(&db, 1)
        .await
        .expect("async-commit pool");
    assert_eq!(
        settings(&fast).await,
        (
            "force_generic_plan".into(),
            "off".into(),
            "off".into(),
            "off".into()
        )
    );
    fast.close().await;
}
