//! Pending work orders are capped per seeker and per provider, so one account cannot
//! flood a provider (or the re-send on every provider connect).

use serde_json::json;
use tether_tests::{Role, Stack, StackOptions, TestUser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_orders_are_capped_per_seeker_and_per_provider() {
    let mut options = StackOptions::default();
    options.session.max_pending_per_seeker = 2;
    options.session.max_pending_per_provider = 3;
    let stack = Stack::start(options).await;

    // One seeker: two pending orders, the third is refused and stores nothing.
    let seeker = stack.user();
    let providers: Vec<TestUser> = (0..3).map(|_| stack.user()).collect();
    for provider in &providers {
        stack.make_active_provider(provider, 52.5, 13.4).await;
    }
    for provider in &providers[..2] {
        assert_eq!(stack.post_order(&seeker, provider).await.0, 201);
    }
    assert_eq!(
        stack.post_order(&seeker, &providers[2]).await,
        (
            409,
            json!({"error": "You have too many pending work orders", "code": "conflict"})
        )
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM work_orders WHERE seeker_id = $1")
        .bind(seeker.id)
        .fetch_one(&stack.db)
        .await
        .expect("count");
    assert_eq!(count, 2);

    // One provider: three pending orders from three seekers, the fourth is refused.
    let provider = &providers[2];
    for _ in 0..3 {
        assert_eq!(stack.post_order(&stack.user(), provider).await.0, 201);
    }
    assert_eq!(
        stack.post_order(&stack.user(), provider).await,
        (
            409,
            json!({"error": "Provider has too many pending work orders", "code": "conflict"})
        )
    );
    // The provider's socket is re-sent exactly the pending ones.
    let mut ws = stack.connect(provider, Role::Provider).await;
    let mut work_ids = Vec::new();
    for _ in 0..3 {
        work_ids.push(ws.recv_type("work_assigned").await["work_id"].clone());
    }
    ws.expect_silence(std::time::Duration::from_millis(300))
        .await;

    // Answering one frees a place.
    ws.send(json!({"type": "work_response", "work_id": work_ids[0], "accepted": false}))
        .await;
    ws.recv_type("work_rejected").await;
    assert_eq!(stack.post_order(&stack.user(), provider).await.0, 201);
    stack.stop().await;
}
