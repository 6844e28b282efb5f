//! ws-edge HTTP surface: auth, body limits, errors, health.

use serde_json::json;
use tether_tests::{Stack, TestUser, mint_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_need_no_auth() {
    let stack = Stack::shared().await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = stack
            .http_client()
            .get(format!("{}{path}", stack.http_base))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_auth_failures_are_401_json() {
    let stack = Stack::shared().await;
    let (status, body) = stack.http(None, "GET", "/api/v1/profile", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    let user = stack.user();
    let expired = TestUser {
        token: mint_token(user.id, None, -30),
        ..user.clone()
    };
    assert_eq!(stack.get(&expired, "/api/v1/profile").await.0, 401);
    // ?token= is for WebSocket upgrades only: the HTTP API wants the header.
    let query_token = format!("/api/v1/profile?token={}", user.token);
    assert_eq!(stack.http(None, "GET", &query_token, None).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_errors() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let url = format!("{}/api/v1/profile", stack.http_base);
    let response = stack
        .http_client()
        .put(&url)
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["code"], "invalid_json");

    let huge = json!({"display_name": "x".repeat(70 * 1024)});
    let response = stack
        .http_client()
        .put(&url)
        .bearer_auth(&user.token)
        .json(&huge)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_json_404() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let (status, body) = stack.get(&user, "/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
}
