//! The web console at `/console/`: static files compiled into ws-edge, served with a
//! strict same-origin policy, carrying no token or secret (the console takes tokens
//! minted elsewhere; see services/ws-edge/src/console.rs). Its behaviour in a browser is
//! tested by clients/typescript/test/browser/ (scripts/test runs it).

use tether_tests::Stack;

async fn get(stack: &Stack, path: &str) -> reqwest::Response {
    stack
        .http_client()
        .get(format!("{}{path}", stack.http_base))
        .send()
        .await
        .expect("get")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_are_served_with_a_strict_policy() {
    let stack = Stack::shared().await;
    for (path, content_type) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/index.html", "text/html; charset=utf-8"),
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let response = get(stack, path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let policy = headers["content-security-policy"].to_str().expect("ascii");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
    }
    let index = get(stack, "/console/").await.text().await.expect("body");
    assert!(index.contains(r#"<script type="module" src="console.js">"#));

    let unknown = get(stack, "/console/secrets.json").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<serde_json::Value>().await.expect("json")["code"],
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_without_slash_redirects() {
    let stack = Stack::shared().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .get(format!("{}/console", stack.http_base))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/console/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_carries_no_token_or_secret() {
    let stack = Stack::shared().await;
    let script = get(stack, "/console/console.js")
        .await
        .text()
        .await
        .expect("body");
    assert!(!script.contains(&stack.options.edge.jwt_secret));
    assert!(!script.contains(tether_ws_edge::config::DEV_JWT_SECRET));
    // A JWT's header always starts with `eyJ` (`{"` in base64url).
    assert!(!script.contains("eyJ"), "a token is baked into the console");
}
