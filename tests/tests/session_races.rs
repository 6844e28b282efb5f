//! Races between the parties (two ends at once, two accepts for one seeker) and an
//! instance of the session service stopping mid-session.

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::client::Closed;
use tether_tests::{OpenSession, Role, Service, Stack, StackOptions};
use uuid::Uuid;

/// Races per test: 20, or 200 in the long runs of scripts/faults (`TETHER_FAULTS_LONG`).
fn iterations() -> usize {
    if std::env::var_os("TETHER_FAULTS_LONG").is_some() {
        200
    } else {
        20
    }
}
const NOT_OPEN: &str = "Session is not waiting or active";

#[derive(Debug, sqlx::FromRow)]
struct Outcome {
    connection_state: String,
    cancelled_by: Option<String>,
    completed_by: Option<String>,
    order_status: String,
    is_active: bool,
    is_searching: bool,
    expired_chat: bool,
}

async fn outcome(stack: &Stack, session: &OpenSession) -> Outcome {
    sqlx::query_as(
        "SELECT s.connection_state, s.cancelled_by, s.completed_by, o.status AS order_status,
                p.is_active, q.is_searching,
                EXISTS (SELECT 1 FROM chat_messages m WHERE m.session_id = s.id
                        AND m.expires_at = coalesce(s.cancelled_at, s.completed_at) + interval '24 hours')
                    AS expired_chat
         FROM work_sessions s
         JOIN work_orders o ON o.id = s.work_id
         JOIN provider_active_status p ON p.provider_id = s.provider_id
         JOIN seeker_search_preference q ON q.seeker_id = s.seeker_id
         WHERE s.id = $1",
    )
    .bind(session.session_id)
    .fetch_one(&stack.db)
    .await
    .expect("outcome")
}

async fn chat_row(stack: &Stack, session: &OpenSession) {
    sqlx::query(
        "INSERT INTO chat_messages (id, session_id, sender_id, sender_type, message)
         VALUES ($1, $2, $3, 'provider', 'on my way')",
    )
    .bind(Uuid::new_v4())
    .bind(session.session_id)
    .bind(session.provider.id)
    .execute(&stack.db)
    .await
    .expect("chat row");
}

fn without_timestamp(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("timestamp");
    }
    value
}

/// What the winner's own socket and the loser's socket must have seen.
fn expected(kind: &str, session_id: Uuid, winner: Role, request_id: &str) -> (Value, Value) {
    match kind {
        "cancel_connection" => (
            json!({"type": "connection_cancelled", "session_id": session_id, "message": "Connection cancelled successfully", "request_id": request_id}),
            json!({"type": "connection_cancelled", "session_id": session_id, "cancelled_by": winner.as_str(), "message": format!("{} cancelled the connection", title(winner))}),
        ),
        _ => (
            json!({"type": "service_finished", "session_id": session_id, "message": "Service marked as finished successfully", "request_id": request_id}),
            json!({"type": "service_finished", "session_id": session_id, "finished_by": winner.as_str(), "message": format!("{} marked the service as finished", title(winner))}),
        ),
    }
}

fn title(role: Role) -> &'static str {
    match role {
        Role::Seeker => "Seeker",
        Role::Provider => "Provider",
    }
}

/// How one race ended.
struct Race {
    winner: Role,
    /// The loser's command reached the service and its `conflict` came before the close.
    loser_answered: bool,
}

/// Both parties send their end command at once; exactly one wins, every socket closes
/// with 1000 after the winner's messages, and the rows agree. The loser's command is
/// answered `conflict` before its close whenever the edge read it; when the winner's
/// close reached the loser's connection first, the edge closes without reading the
/// command (it crossed the close on the wire) and only the winner's message arrives.
async fn race_once(stack: &Stack, seeker_kind: &str, provider_kind: &str) -> Race {
    let mut session = stack.active_session().await;
    chat_row(stack, &session).await;
    let id = session.session_id;
    let seeker_command =
        json!({"type": seeker_kind, "session_id": id, "request_id": "from-seeker"});
    let provider_command =
        json!({"type": provider_kind, "session_id": id, "request_id": "from-provider"});
    {
        let OpenSession {
            seeker_ws,
            provider_ws,
            ..
        } = &mut session;
        tokio::join!(
            seeker_ws.send(seeker_command),
            provider_ws.send(provider_command)
        );
    }
    let ((seeker_seen, seeker_closed), (provider_seen, provider_closed)) = {
        let OpenSession {
            seeker_ws,
            provider_ws,
            ..
        } = &mut session;
        tokio::join!(
            seeker_ws.drain_until_close(),
            provider_ws.drain_until_close()
        )
    };
    assert_eq!(
        (seeker_closed, provider_closed),
        (Closed::Code(1000), Closed::Code(1000))
    );

    let row = outcome(stack, &session).await;
    let (winner, kind) = match (&row.cancelled_by, &row.completed_by) {
        (Some(by), None) => (by.clone(), "cancel_connection"),
        (None, Some(by)) => (by.clone(), "finish_service"),
        other => panic!("not exactly one transition: {other:?} {row:?}"),
    };
    let winner = Role::parse(&winner).expect("role");
    let (state, order, reenabled) = if kind == "cancel_connection" {
        ("cancelled", "cancelled", true)
    } else {
        ("completed", "completed", false)
    };
    assert_eq!(
        (
            row.connection_state.as_str(),
            row.order_status.as_str(),
            row.is_active,
            row.is_searching,
            row.expired_chat
        ),
        (state, order, reenabled, reenabled, true),
        "{row:?}"
    );

    let (winner_seen, loser_seen, winner_rid, loser_rid) = match winner {
        Role::Seeker => (seeker_seen, provider_seen, "from-seeker", "from-provider"),
        Role::Provider => (provider_seen, seeker_seen, "from-provider", "from-seeker"),
    };
    let (own, other) = expected(kind, id, winner, winner_rid);
    let winner_seen: Vec<Value> = winner_seen.into_iter().map(without_timestamp).collect();
    assert_eq!(winner_seen, vec![own]);
    let mut loser_seen: Vec<Value> = loser_seen.into_iter().map(without_timestamp).collect();
    let conflict =
        json!({"type": "error", "code": "conflict", "error": NOT_OPEN, "request_id": loser_rid});
    let loser_answered = loser_seen.contains(&conflict);
    loser_seen.retain(|m| *m != conflict);
    assert_eq!(loser_seen, vec![other]);
    Race {
        winner,
        loser_answered,
    }
}

/// Runs [`iterations`] races; most losers must see their `conflict` (the rest crossed
/// the close on the wire, see [`race_once`]).
async fn races(stack: &Stack, name: &str, kinds: impl Fn(usize) -> (&'static str, &'static str)) {
    let mut wins = [0usize; 2];
    let mut answered = 0;
    let iterations = iterations();
    for round in 0..iterations {
        let (seeker_kind, provider_kind) = kinds(round);
        let race = race_once(stack, seeker_kind, provider_kind).await;
        match race.winner {
            Role::Seeker => wins[0] += 1,
            Role::Provider => wins[1] += 1,
        }
        answered += usize::from(race.loser_answered);
    }
    eprintln!(
        "{name}: seeker won {}, provider won {}, loser answered conflict {answered} of {iterations}",
        wins[0], wins[1]
    );
    assert!(
        answered * 2 >= iterations,
        "the loser's conflict arrived in only {answered} of {iterations} races"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_finishes_at_once_have_exactly_one_winner() {
    let stack = Stack::shared().await;
    races(stack, "finish vs finish", |_| {
        ("finish_service", "finish_service")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_against_finish_has_exactly_one_winner() {
    let stack = Stack::shared().await;
    // Alternate who cancels and who finishes.
    races(stack, "cancel vs finish", |round| {
        if round % 2 == 0 {
            ("cancel_connection", "finish_service")
        } else {
            ("finish_service", "cancel_connection")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_accepting_one_seeker_open_one_session() {
    let stack = Stack::shared().await;
    for _ in 0..10 {
        let seeker = stack.user();
        let providers = [stack.user(), stack.user()];
        let mut sockets = Vec::new();
        let mut orders = Vec::new();
        for provider in &providers {
            stack.make_active_provider(provider, 52.5, 13.4).await;
            let mut ws = stack.connect(provider, Role::Provider).await;
            let order = stack.create_order(&seeker, provider).await;
            ws.recv_type("work_assigned").await;
            orders.push(order["work_id"].as_i64().expect("work_id"));
            sockets.push(ws);
        }
        let [first, second] = &mut sockets[..] else {
            unreachable!()
        };
        tokio::join!(
            first.send(json!({"type": "work_response", "work_id": orders[0], "accepted": true, "request_id": "a"})),
            second.send(json!({"type": "work_response", "work_id": orders[1], "accepted": true, "request_id": "b"})),
        );
        let (a, b) = tokio::join!(first.recv(), second.recv());
        let answers = [a, b];
        let winners: Vec<usize> = (0..2)
            .filter(|&i| answers[i]["type"] == "work_accepted")
            .collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let loser = 1 - winners[0];
        assert_eq!(answers[loser]["code"], "conflict", "{answers:?}");
        assert_eq!(
            answers[loser]["error"],
            "Seeker already has a waiting or active session"
        );

        let open: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT provider_id, work_id FROM work_sessions
             WHERE seeker_id = $1 AND connection_state IN ('waiting', 'active')",
        )
        .bind(seeker.id)
        .fetch_all(&stack.db)
        .await
        .expect("sessions");
        assert_eq!(open, vec![(providers[winners[0]].id, orders[winners[0]])]);
        let statuses: Vec<String> =
            sqlx::query_scalar("SELECT status FROM work_orders WHERE id = ANY($1) ORDER BY id")
                .bind(orders.to_vec())
                .fetch_all(&stack.db)
                .await
                .expect("orders");
        let mut expected = vec!["pending".to_string(), "pending".to_string()];
        expected[winners[0]] = "accepted".into();
        assert_eq!(statuses, expected);
        // The loser is still available for other work.
        let (_, status) = stack
            .get(&providers[loser], "/api/v1/provider/status")
            .await;
        assert_eq!(status["is_active"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_one_session_instance_mid_session_changes_nothing() {
    // Its own stack: stopping an instance must not disturb other tests.
    let stack = Stack::start(StackOptions::default()).await;
    let mut session = stack.open_session().await;
    let id = session.session_id;

    // Stop one of the two instances while requests keep coming. The contract for a
    // stopping instance (docs/architecture.md) is "processed, or `unavailable` to retry":
    // a request NATS routed to it in the instant it unsubscribed can get the latter.
    let path = format!("/api/v1/sessions/{id}");
    let requests = async {
        let mut outcomes = Vec::new();
        for _ in 0..15 {
            let burst = (0..6).map(|_| stack.get(&session.seeker, &path));
            outcomes.extend(futures::future::join_all(burst).await);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        outcomes
    };
    let (outcomes, left) = tokio::join!(requests, stack.stop_one_instance(Service::Session));
    assert_eq!(left, 1);
    let unavailable = json!({"error": "Service unavailable, please retry", "code": "unavailable"});
    let mut retried = 0;
    for (status, body) in outcomes {
        if status == 200 {
            assert_eq!(body["session_id"], json!(id));
            continue;
        }
        assert_eq!(
            (status, &body),
            (503, &unavailable),
            "neither served nor retriable"
        );
        retried += 1;
        let (status, body) = stack.get(&session.seeker, &path).await;
        assert_eq!(status, 200, "retry after unavailable: {body}");
    }
    eprintln!("requests answered unavailable while an instance stopped: {retried} of 90");

    // From now on nothing fails: everything goes to the remaining instance.
    // The rest of the session runs on the remaining instance exactly as before.
    let select = json!({"type": "medium_selection", "session_id": id, "mediums": {"call": "+15550001111"}, "request_id": "m"});
    let (own, _) = session
        .exchange(
            Role::Seeker,
            select,
            "mediums_selected",
            "seeker_mediums_selected",
        )
        .await;
    assert_eq!(
        (own["connection_state"].as_str(), own["request_id"].as_str()),
        (Some("active"), Some("m"))
    );
    session.share_mediums(json!({"call": "+15550002222"})).await;
    for _ in 0..10 {
        let (status, body) = stack
            .get(&session.provider, &format!("/api/v1/sessions/{id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["seeker_mediums"], json!({"call": "+15550001111"}));
    }
    session
        .seeker_ws
        .send(json!({"type": "finish_service", "session_id": id, "rating_stars": 5}))
        .await;
    let (own, closed) = session.seeker_ws.drain_until_close().await;
    assert_eq!(
        (own.len(), own[0]["type"].as_str(), closed),
        (1, Some("service_finished"), Closed::Code(1000))
    );
    let (told, closed) = session.provider_ws.drain_until_close().await;
    assert_eq!(
        (told.len(), told[0]["finished_by"].as_str(), closed),
        (1, Some("seeker"), Closed::Code(1000))
    );
    let (state, stars): (String, Option<i16>) =
        sqlx::query_as("SELECT connection_state, rating_stars FROM work_sessions WHERE id = $1")
            .bind(id)
            .fetch_one(&stack.db)
            .await
            .expect("row");
    assert_eq!((state.as_str(), stars), ("completed", Some(5)));

    // A new order and accept also go through the remaining instance.
    let next = stack.open_session().await;
    assert_ne!(next.session_id, id);
    stack.stop().await;
}
