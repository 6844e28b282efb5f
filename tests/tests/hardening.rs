//! Hardening (issue 14), each attack performed through the public interface: coarse
//! distances outside a session, 413 without `Expect`, slow HTTP clients and the
//! connection cap, the default secret, `?token=` on the HTTP API, U+0000 in texts, the
//! token `name` claim, and no secret in `Debug`.

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::geo::{M_PER_DEG, lonely_point};
use tether_tests::timing::EVENTUALLY;
use tether_tests::{Role, Stack, StackOptions, TestUser, mint_token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

async fn post_order(stack: &Stack, seeker: &TestUser, provider: &TestUser, at: (f64, f64)) -> i64 {
    let (status, body) = stack
        .http(
            Some(seeker),
            "POST",
            "/api/v1/work-orders",
            Some(json!({"provider_id": provider.id, "service_type": "plumbing", "message": "Fix it", "latitude": at.0, "longitude": at.1})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["work_id"].as_i64().expect("work_id")
}

/// `(work_id, distance)` of every `work_assigned` a fresh provider socket gets on connect.
async fn resent(stack: &Stack, provider: &TestUser, count: usize) -> Vec<(i64, Value)> {
    let mut ws = stack.connect(provider, Role::Provider).await;
    let mut got = Vec::new();
    for _ in 0..count {
        let message = ws.recv_type("work_assigned").await;
        got.push((
            message["work_id"].as_i64().expect("work_id"),
            message["distance"].clone(),
        ));
    }
    ws.expect_silence(Duration::from_millis(300)).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_distances_are_coarse_and_the_radius_applies_to_them() {
    let stack = Stack::shared().await;
    let caller = stack.user();
    let (lat, lon) = lonely_point();
    let north = |m: f64| lat + m / M_PER_DEG;
    let mut at = Vec::new();
    for metres in [30.0, 149.9, 150.5, 1249.0, 10_040.0, 10_060.0] {
        let provider = stack.user();
        stack
            .make_active_provider(&provider, north(metres), lon)
            .await;
        at.push((metres, provider.id));
    }
    let id = |m: f64| {
        at.iter()
            .find(|(d, _)| *d == m)
            .map(|(_, id)| json!(id))
            .expect("made")
    };
    let query =
        |extra: &str| format!("/api/v1/providers/nearby?latitude={lat}&longitude={lon}{extra}");
    let listed = |body: &Value| -> Vec<(Value, Value, Value)> {
        body["providers"]
            .as_array()
            .expect("providers")
            .iter()
            .map(|p| {
                (
                    p["provider_id"].clone(),
                    p["distance_meters"].clone(),
                    p["distance"].clone(),
                )
            })
            .collect()
    };
    // The two at 100 m (30 m and 149.9 m) are in provider id order, not by exact distance.
    let mut hundreds = [id(30.0), id(149.9)];
    hundreds.sort_by_key(|v| v.as_str().map(str::to_string));
    let hundred = |id: &Value| (id.clone(), json!(100.0), json!("100 meters"));

    // Default radius 10 000: the one at 10 040 m is at 10 000 coarse, so it is in.
    let (status, body) = stack.get(&caller, &query("")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        listed(&body),
        vec![
            hundred(&hundreds[0]),
            hundred(&hundreds[1]),
            (id(150.5), json!(200.0), json!("200 meters")),
            (id(1249.0), json!(1200.0), json!("1.2 km")),
            (id(10_040.0), json!(10_000.0), json!("10.0 km")),
        ]
    );
    let (_, body) = stack.get(&caller, &query("&radius_m=10100")).await;
    assert_eq!(
        listed(&body).last(),
        Some(&(id(10_060.0), json!(10_100.0), json!("10.1 km")))
    );
    let (_, body) = stack.get(&caller, &query("&radius_m=100")).await;
    assert_eq!(
        listed(&body),
        vec![hundred(&hundreds[0]), hundred(&hundreds[1])]
    );
    let (_, body) = stack.get(&caller, &query("&radius_m=199.9")).await;
    assert_eq!(listed(&body).len(), 2);
    let (_, body) = stack.get(&caller, &query("&radius_m=200")).await;
    assert_eq!(listed(&body).len(), 3);
    let (status, body) = stack.get(&caller, &query("&radius_m=99")).await;
    assert_eq!((status, body), (200, json!({"providers": []})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_assigned_distance_is_coarse_and_a_later_move_does_not_change_it() {
    let stack = Stack::shared().await;
    let provider = stack.user();
    let (lat, lon) = lonely_point();
    stack.make_active_provider(&provider, lat, lon).await;

    // Created while the provider is offline: the re-send on connect has the coarse
    // distance from the status position of that moment (1 260 m -> 1.3 km).
    let first_point = (lat + 1260.0 / M_PER_DEG, lon);
    let first = post_order(stack, &stack.user(), &provider, first_point).await;
    assert_eq!(
        resent(stack, &provider, 1).await,
        vec![(first, json!("1.3 km"))]
    );

    // Live, coarse too: 449 m -> 400 meters.
    let mut live = stack.connect(&provider, Role::Provider).await;
    assert_eq!(live.recv_type("work_assigned").await["work_id"], first);
    let second = post_order(
        stack,
        &stack.user(),
        &provider,
        (lat + 449.0 / M_PER_DEG, lon),
    )
    .await;
    let assigned = live.recv_type("work_assigned").await;
    assert_eq!(
        (assigned["work_id"].as_i64(), assigned["distance"].clone()),
        (Some(second), json!("400 meters"))
    );

    // The provider moves its status onto the first order's point and reconnects: the
    // re-sent distances must not be measured from there (it would say "100 meters").
    stack
        .make_active_provider(&provider, first_point.0, first_point.1)
        .await;
    assert_eq!(
        resent(stack, &provider, 2).await,
        vec![(first, Value::Null), (second, Value::Null)]
    );
    // Moving around again reveals nothing either.
    stack
        .make_active_provider(&provider, lat - 0.01, lon + 0.01)
        .await;
    assert_eq!(
        resent(stack, &provider, 2).await,
        vec![(first, Value::Null), (second, Value::Null)]
    );
    // An order created after the move is measured from the new position.
    let third_point = (lat - 0.01 + 2040.0 / M_PER_DEG, lon + 0.01);
    let third = post_order(stack, &stack.user(), &provider, third_point).await;
    assert_eq!(
        resent(stack, &provider, 3).await,
        vec![
            (first, Value::Null),
            (second, Value::Null),
            (third, json!("2.0 km"))
        ]
    );
}

/// Sends `head` and `body` on a raw connection the way most clients do without
/// `Expect: 100-continue` (httpx, OkHttp, fetch): the whole request first, then the
/// answer is read up to the close.
async fn raw_exchange(stack: &Stack, head: String, body: Vec<u8>) -> String {
    let addr = stack.http_base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.flush().await
    })
    .await
    .expect("the request was sent in time");
    if let Err(err) = sent {
        panic!("sending the request failed: {err}");
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answered and closed in time");
    read.unwrap_or_else(|err| {
        panic!(
            "reading the answer failed ({err}); got so far: {}",
            String::from_utf8_lossy(&answer)
        )
    });
    String::from_utf8(answer).expect("utf-8 answer")
}

fn status_and_json(answer: &str) -> (u16, Value) {
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let (_, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no body: {answer}"));
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_without_expect_gets_the_413_json_not_a_reset() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let too_large =
        json!({"error": "Request body too large (max 64 KiB)", "code": "payload_too_large"});
    // 16 MiB (more than the socket buffers hold) with Content-Length and no
    // `Expect: 100-continue`.
    let body = format!("{{\"display_name\": \"{}\"}}", "x".repeat(16 * 1024 * 1024));
    let head = format!(
        "PUT /api/v1/profile HTTP/1.1\r\nHost: tether\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        user.token,
        body.len()
    );
    let answer = raw_exchange(stack, head, body.into_bytes()).await;
    assert_eq!(
        status_and_json(&answer),
        (413, too_large.clone()),
        "{answer}"
    );

    // Chunked, no length announced: the limit is found while reading.
    let mut chunked = Vec::new();
    for _ in 0..256 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b'x', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "PUT /api/v1/profile HTTP/1.1\r\nHost: tether\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        user.token
    );
    let answer = raw_exchange(stack, head, chunked).await;
    assert_eq!(status_and_json(&answer), (413, too_large), "{answer}");

    // Nothing was stored, and the edge still answers.
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!((status, &body["display_name"]), (200, &json!(user.name)));
}

/// Reads until the server closes; `Err` when it is still open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return Err(got),
            Ok(Ok(0) | Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn raw_connect(stack: &Stack) -> TcpStream {
    TcpStream::connect(stack.http_base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_http_clients_are_cut_off_and_connections_are_capped() {
    // Only the edge is needed.
    let mut options = StackOptions::sessions_only(0);
    options.edge.http_header_timeout_s = 1;
    options.edge.http_idle_timeout_s = 2;
    options.edge.http_body_timeout_s = 1;
    options.edge.http_max_connections = Some(3);
    let stack = Stack::start(options).await;
    let healthz = b"GET /healthz HTTP/1.1\r\nHost: tether\r\n\r\n";

    // A head that never ends: closed after the 1 s header timeout, with no answer.
    let started = std::time::Instant::now();
    let mut slow = raw_connect(&stack).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tether\r\n")
        .await
        .expect("write");
    assert_eq!(closed_within(&mut slow, EVENTUALLY).await, Ok(Vec::new()));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    drop(slow);

    // Trickling the head byte by byte does not extend it: the edge closes the connection
    // while the head is still arriving (a byte every 100 ms for 12 s; a head timeout that
    // each byte restarted would never close it before the last byte).
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: tether\r\nX-Slow: {}",
        "a".repeat(80)
    );
    let mut trickle = raw_connect(&stack).await;
    let mut written = 0;
    for byte in head.as_bytes() {
        if trickle.write_all(&[*byte]).await.is_err() {
            break;
        }
        written += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written < head.len(), "the trickled head was never cut off");
    assert_eq!(
        closed_within(&mut trickle, EVENTUALLY).await,
        Ok(Vec::new())
    );

    // A kept-alive connection is answered, then closed after 2 s idle (not after the
    // 1 s header timeout: idle time is not head time).
    let mut idle = raw_connect(&stack).await;
    idle.write_all(healthz).await.expect("write");
    let mut buf = [0_u8; 1024];
    let n = tokio::time::timeout(EVENTUALLY, idle.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let answered = std::time::Instant::now();
    assert_eq!(
        closed_within(&mut idle, Duration::from_millis(1400)).await,
        Err(Vec::new()),
        "closed before the idle timeout"
    );
    // Still usable, and the idle clock restarts after this answer.
    idle.write_all(healthz).await.expect("write");
    let n = tokio::time::timeout(EVENTUALLY, idle.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert_eq!(closed_within(&mut idle, EVENTUALLY).await, Ok(Vec::new()));
    assert!(answered.elapsed() >= Duration::from_secs(3));
    drop(idle);

    // A body that stops arriving: 408 after the 1 s body timeout, then closed.
    let user = stack.user();
    let mut body_slow = raw_connect(&stack).await;
    body_slow
        .write_all(
            format!(
                "PUT /api/v1/profile HTTP/1.1\r\nHost: tether\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"display_",
                user.token
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let answer = closed_within(&mut body_slow, EVENTUALLY)
        .await
        .expect("closed after answering");
    let answer = String::from_utf8(answer).expect("utf-8");
    assert_eq!(
        status_and_json(&answer),
        (
            408,
            json!({"error": "Request body not received in time", "code": "invalid_json"})
        ),
        "{answer}"
    );
    drop(body_slow);
    // Let the edge see those closes.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The cap (3): three silent connections hold every slot, so a fourth is not served
    // until the header timeout frees them.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(raw_connect(&stack).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let opened = std::time::Instant::now();
    let mut fourth = raw_connect(&stack).await;
    fourth.write_all(healthz).await.expect("write");
    let n = tokio::time::timeout(EVENTUALLY, fourth.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let waited = opened.elapsed();
    assert!(
        waited >= Duration::from_millis(600),
        "served while the cap was full ({waited:?})"
    );
    for mut stream in silent {
        assert_eq!(closed_within(&mut stream, EVENTUALLY).await, Ok(Vec::new()));
    }
    drop(fourth);

    // WebSockets still upgrade through the same server.
    let ws = stack.connect(&user, Role::Seeker).await;
    ws.close().await;
    stack.stop().await;
}

fn edge_config(addr: &str, secret: &str) -> tether_ws_edge::Config {
    let mut config = tether_ws_edge::Config::from_env();
    config.common.subject_prefix = format!("t{}", Uuid::new_v4().simple());
    config.http_addr = addr.parse().expect("addr");
    config.jwt_secret = secret.to_string();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_empty_and_short_secrets_are_refused_off_loopback() {
    let error = |config| async move {
        match tether_ws_edge::App::build(config).await {
            Ok(_) => panic!("built with a guessable secret"),
            Err(err) => err.to_string(),
        }
    };
    let message = error(edge_config("0.0.0.0:0", "tether-dev-secret-change-me")).await;
    assert!(
        message.contains("TETHER_JWT_SECRET is the public development default")
            && message.contains("loopback"),
        "{message}"
    );
    let message = error(edge_config("0.0.0.0:0", "0123456789abcdef0123456789abcde")).await;
    assert!(
        message.contains("TETHER_JWT_SECRET is 31 bytes; at least 32 are required"),
        "{message}"
    );
    let message = error(edge_config("127.0.0.1:0", "")).await;
    assert!(message.contains("TETHER_JWT_SECRET is empty"), "{message}");

    // On loopback the development default still works (local development).
    let app = tether_ws_edge::App::build(edge_config("127.0.0.1:0", "tether-dev-secret-change-me"))
        .await
        .expect("loopback with the default");
    drop(app);
    // Anywhere with a long secret; and no `{:?}` ever shows it.
    let secret = "a-long-random-secret-0123456789-abcdefghij";
    let app = tether_ws_edge::App::build(edge_config("0.0.0.0:0", secret))
        .await
        .expect("long secret");
    let shown = format!("{app:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_token_is_refused_on_the_http_api_but_works_on_websockets() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let query_token = format!("/api/v1/profile?token={}", user.token);
    assert_eq!(
        stack.http(None, "GET", &query_token, None).await,
        (
            401,
            json!({"error": "Missing or invalid token", "code": "unauthorized"})
        )
    );
    // With the header it works (and a stray ?token= next to it is ignored).
    let (status, _) = stack.get(&user, "/api/v1/profile?token=garbage").await;
    assert_eq!(status, 200);
    let ws = stack.connect(&user, Role::Provider).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_a_validation_error_not_a_500() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let nul =
        json!({"error": "Text must not contain the NUL character (U+0000)", "code": "validation"});
    let (status, body) = stack
        .put(
            &user,
            "/api/v1/profile",
            json!({"display_name": "Ann\u{0}Lee"}),
        )
        .await;
    assert_eq!((status, body), (400, nul.clone()));
    let (status, body) = stack.put(&user,
        "/api/v1/provider/status",
        json!({"is_active": true, "service_types": ["plumb\u{0}"], "latitude": 1.0, "longitude": 2.0}),
    )
    .await;
    assert_eq!((status, body), (400, nul.clone()));
    let (status, body) = stack
        .get(
            &user,
            "/api/v1/providers/nearby?latitude=1&longitude=2&service_type=a%00b",
        )
        .await;
    assert_eq!((status, body), (400, nul.clone()));
    // Nothing changed.
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!((status, &body["display_name"]), (200, &json!(user.name)));

    // Over the WebSocket (the edge refuses it before any service), and the chat
    // keeps working.
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let answer = session
        .seeker_ws
        .request(json!({"type": "chat_message", "session_id": session_id, "message": "hi\u{0}there", "request_id": "r1"}))
        .await;
    assert_eq!(
        answer,
        json!({"type": "error", "code": "validation", "error": "Text must not contain the NUL character (U+0000)", "request_id": "r1"})
    );
    let stored = stack.count_messages(session_id).await;
    assert_eq!(stored, 0);
    let answer = session
        .seeker_ws
        .request(json!({"type": "chat_message", "session_id": session_id, "message": "hi there", "request_id": "r2"}))
        .await;
    assert_eq!(answer["type"], "message_sent", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_names_are_cut_and_cleaned_before_they_are_stored() {
    let stack = Stack::shared().await;
    let id = Uuid::new_v4();
    let long = format!("\u{202E}Mallory\u{0}\u{1b}[2J{}", "é".repeat(300));
    let user = TestUser {
        id,
        name: long.clone(),
        token: mint_token(id, Some(&long), 3600),
    };
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!(status, 200, "{body}");
    let expected: String = format!("Mallory[2J{}", "é".repeat(300))
        .chars()
        .take(100)
        .collect();
    assert_eq!(body["display_name"], json!(expected));
    let stored: Option<String> = sqlx::query_scalar("SELECT token_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&stack.db)
        .await
        .expect("user row");
    assert_eq!(stored.as_deref(), Some(expected.as_str()));

    // A name of nothing but control and bidi characters is no name at all.
    let id = Uuid::new_v4();
    let user = TestUser {
        id,
        name: String::new(),
        token: mint_token(id, Some("\u{202E}\u{0}\u{7}\u{2066}"), 3600),
    };
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!(
        (status, &body["display_name"]),
        (200, &Value::Null),
        "{body}"
    );
}
