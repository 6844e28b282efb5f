//! Faults survived: sessions chat through simulated apps (reconnect with backoff, retry
//! with the same `client_message_id`, dedupe by id) while a process is killed, stopped,
//! or its NATS or PostgreSQL goes away; then the history checker joins what the apps saw
//! with what PostgreSQL holds. Each test passes only when nothing is lost, duplicated,
//! unexpected or out of order, every message was acknowledged, and no service panicked.
//!
//! The processes are real (`cargo build --bins`), on NATS servers of the test's own; the
//! crash between commit and publish runs in-process on a failpoint compiled only for
//! tests. `TETHER_FAULTS_LONG=1` runs the long versions (scripts/faults); with
//! `TETHER_FAULTS_REPORT=<file>` each test appends its row of the checker's table.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tether_proto::messages::Owner;
use tether_tests::app::{AppSettings, Finished, Party, run_party};
use tether_tests::history::{Recorder, Verdict, check, load_stored};
use tether_tests::procs::{ProcStack, ProcStackOptions};
use tether_tests::{Role, Stack, StackOptions, TestUser};
use uuid::Uuid;

/// Sessions, messages per party, and how many times the fault strikes.
struct Scale {
    sessions: usize,
    messages: usize,
    strikes: usize,
}

fn scale() -> Scale {
    if std::env::var_os("TETHER_FAULTS_LONG").is_some() {
        Scale {
            sessions: 12,
            messages: 150,
            strikes: 3,
        }
    } else {
        Scale {
            sessions: 4,
            messages: 20,
            strikes: 1,
        }
    }
}

/// A run of simulated apps over `sessions` fresh sessions.
struct Run {
    recorder: Recorder,
    sessions: Vec<Uuid>,
    parties: Vec<tokio::task::JoinHandle<()>>,
    total: usize,
    strikes: usize,
}

impl Run {
    /// Opens the sessions (through the stack's edge) and starts both apps of each, with
    /// their reconnects going round `edges`.
    async fn start(stack: &Stack, edges: &[String]) -> Run {
        let scale = scale();
        let settings = AppSettings {
            messages: scale.messages,
            ..AppSettings::default()
        };
        let mut users: Vec<(Uuid, TestUser, TestUser)> = Vec::new();
        for _ in 0..scale.sessions {
            let session = stack.active_session().await;
            let (seeker_ws, provider_ws) = (session.seeker_ws, session.provider_ws);
            seeker_ws.close().await;
            provider_ws.close().await;
            users.push((session.session_id, session.seeker, session.provider));
        }
        let recorder = Recorder::new();
        let finished = Finished::new(users.len() * 2);
        let mut parties = Vec::new();
        for (n, (session_id, seeker, provider)) in users.iter().enumerate() {
            for (k, (role, user)) in [(Role::Seeker, seeker), (Role::Provider, provider)]
                .into_iter()
                .enumerate()
            {
                // Parties start on different edges when there are several.
                let mut rotated = edges.to_vec();
                rotated.rotate_left((n * 2 + k) % edges.len());
                let party = Party {
                    session_id: *session_id,
                    role,
                    token: user.token.clone(),
                    edges: rotated,
                };
                parties.push(tokio::spawn(run_party(
                    party,
                    settings.clone(),
                    recorder.clone(),
                    finished.clone(),
                )));
            }
        }
        Run {
            recorder,
            sessions: users.iter().map(|(id, _, _)| *id).collect(),
            parties,
            total: scale.sessions * 2 * scale.messages,
            strikes: scale.strikes,
        }
    }

    /// Waits until the `strike`-th fault is due (evenly spread over the middle of the run).
    async fn until_strike(&self, strike: usize) {
        let due = self.total * (strike + 1) / (self.strikes + 2);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.recorder.acknowledged() < due {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the run stalled before the fault at {due} acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for every app, checks the history against PostgreSQL, reports and asserts.
    async fn finish(self, fault: &str, stack: &Stack) -> Verdict {
        for party in self.parties {
            party.await.expect("simulated app");
        }
        let stored = load_stored(&stack.db, &self.sessions).await;
        let verdict = check(&self.recorder.entries(), &stored, &self.sessions);
        let row = verdict.table_row(fault);
        println!("{}\n{row}", Verdict::TABLE_HEADER);
        if let Some(path) = std::env::var_os("TETHER_FAULTS_REPORT") {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("fault report");
            let _ = writeln!(file, "{row}");
        }
        assert_eq!(verdict.total.operations, self.total, "{fault}: {row}");
        assert!(
            verdict.total.is_clean(),
            "{fault}: {row}\n{}",
            verdict.findings.join("\n")
        );
        verdict
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_sigkill_with_a_second_instance() {
    let mut procs = ProcStack::start(ProcStackOptions::default()).await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        procs.chats[0].kill();
        // Its orchestrator restarts it; the other instance serves meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
        procs.chats[0].start();
    }
    run.finish("chat SIGKILL (two instances)", &procs.stack)
        .await;
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_sigkill_alone() {
    let mut procs = ProcStack::start(ProcStackOptions {
        chats: 1,
        ..ProcStackOptions::default()
    })
    .await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        let retried = run.recorder.retried();
        procs.chats[0].kill();
        // No chat at all for a while: every chat command answers `unavailable`. The
        // outage lasts until a command has met it (at least 700 ms, at most 10 s), so a
        // slow machine cannot let it pass unseen.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while run.recorder.retried() == retried && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        procs.chats[0].start();
    }
    let verdict = run
        .finish("chat SIGKILL (one instance)", &procs.stack)
        .await;
    assert!(verdict.retries > 0, "no command met the outage");
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_sigkill_with_sockets_open() {
    let mut procs = ProcStack::start(ProcStackOptions::default()).await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        procs.edges[0].kill();
        tokio::time::sleep(Duration::from_millis(300)).await;
        procs.edges[0].start();
    }
    let parties = run.sessions.len() * 2;
    let verdict = run.finish("ws-edge SIGKILL", &procs.stack).await;
    assert!(verdict.disconnects >= parties, "every socket was cut");
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_mid_stream() {
    let mut procs = ProcStack::start(ProcStackOptions::default()).await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        procs.nats[0].kill();
        tokio::time::sleep(Duration::from_secs(1)).await;
        procs.nats[0].restart().await;
    }
    let parties = run.sessions.len() * 2;
    let verdict = run
        .finish("NATS restart (SIGKILL, 1 s down)", &procs.stack)
        .await;
    // The edge lost NATS: it closed every socket with 1012.
    assert!(
        verdict.disconnects >= parties,
        "every socket was told to reconnect"
    );
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_mid_stream() {
    let mut procs = ProcStack::start(ProcStackOptions {
        db_proxy: true,
        ..ProcStackOptions::default()
    })
    .await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        let proxy = procs.db_proxy.as_ref().expect("db proxy");
        // Every connection reset, none accepted for 2 s: a restart as the services see it.
        proxy.restart(Duration::from_secs(2)).await;
    }
    let verdict = run
        .finish("PostgreSQL restart (2 s down)", &procs.stack)
        .await;
    assert!(verdict.retries > 0, "no command met the outage");
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_sigstop_past_the_request_timeout() {
    let options = ProcStackOptions::default();
    let stopped_for = Duration::from_millis(options.request_timeout_ms * 2 + 500);
    let mut procs = ProcStack::start(options).await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        // Frozen with commands in hand: the edge answers them `unavailable`, the apps
        // retry (on the other instance, or here once it thaws), and when it thaws it
        // finishes the stale attempts, which must store nothing twice.
        procs.chats[0].signal("STOP");
        tokio::time::sleep(stopped_for).await;
        procs.chats[0].signal("CONT");
    }
    let verdict = run
        .finish("chat SIGSTOP 2.5 s, then SIGCONT", &procs.stack)
        .await;
    assert!(verdict.retries > 0, "no command met the frozen instance");
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_a_three_node_nats_cluster_killed() {
    let mut procs = ProcStack::start(ProcStackOptions {
        nats_nodes: 3,
        edges: 2,
        ..ProcStackOptions::default()
    })
    .await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        // Node 0 carries edge-0 and chat-1: both fail over to the other nodes; edge-0
        // closes its sockets with 1012 and those apps reconnect (round the edges).
        let node = strike % procs.nats.len();
        procs.nats[node].kill();
        tokio::time::sleep(Duration::from_secs(1)).await;
        procs.nats[node].restart().await;
    }
    let verdict = run
        .finish("NATS cluster: one of three nodes killed", &procs.stack)
        .await;
    assert!(
        verdict.disconnects > 0,
        "edge-0's sockets were told to reconnect"
    );
    procs.assert_no_panics();
    procs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_commands_mid_stream() {
    let mut procs = ProcStack::start(ProcStackOptions::default()).await;
    let run = Run::start(&procs.stack, &procs.edge_urls).await;
    let stack = &procs.stack;
    let victim = run.sessions[0];
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        // A stranger aims at a session that is not theirs, and sends what no app sends.
        let stranger = stack.user();
        let mut ws = stack.connect(&stranger, Role::Seeker).await;
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let frames = [
            json!({"type": "chat_message", "session_id": victim, "message": "seeker-0", "client_message_id": "seeker-0"}).to_string(),
            json!({"type": "message_delivered", "message_id": Uuid::now_v7()}).to_string(),
            json!({"type": "chat_message", "session_id": victim, "message": "x\u{0}y"}).to_string(),
            json!({"type": "chat_message", "session_id": "not-a-uuid", "message": 7}).to_string(),
            json!({"type": "chat_message", "session_id": victim, "message": "a".repeat(2001)}).to_string(),
            json!({"type": "chat_message", "session_id": victim, "message": "x", "client_message_id": "k".repeat(129)}).to_string(),
            json!({"type": "typing_indicator", "session_id": victim, "is_typing": "yes"}).to_string(),
            json!({"type": "chat_message", "session_id": [victim], "message": {"a": 1}}).to_string(),
            r#"{"type":"chat_message","session_id":1e999}"#.to_string(),
            deep,
            "{not json".to_string(),
        ];
        for frame in &frames {
            ws.send_text(frame).await;
        }
        for _ in &frames {
            let answer = ws.recv().await;
            assert_eq!(answer["type"], "error", "{answer}");
            assert!(
                ["not_found", "validation", "invalid_json", "forbidden"]
                    .contains(&answer["code"].as_str().unwrap_or_default()),
                "{answer}"
            );
        }
        ws.close().await;
        // And straight onto the services' subjects, past the edge: bytes that are no
        // envelope at all, and envelopes with fields of the wrong kind.
        let subjects = [
            stack.subjects.command(Owner::Chat, "chat_message"),
            stack.subjects.command(Owner::Chat, "message_delivered"),
            stack.subjects.connected(),
            stack.subjects.api(Owner::Chat),
        ];
        let payloads: [&[u8]; 5] = [
            b"",
            b"\xff\xfe\x00garbage",
            br#"{"user_id":"nope","role":"admin","payload":null}"#,
            br#"{"user_id":"6f1c1f9e-1d3c-4a57-9b53-0b7b0f0e8a11","role":"seeker","conn_id":"x","payload":{"type":"chat_message","session_id":[]}}"#,
            br#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        ];
        for subject in &subjects {
            for payload in payloads {
                let _ = tokio::time::timeout(
                    Duration::from_millis(300),
                    stack.nats.request(subject.clone(), payload.to_vec().into()),
                )
                .await;
            }
        }
    }
    run.finish("poison commands", &procs.stack).await;
    // Every instance still answers after the poison.
    let probe = procs.stack.active_session().await;
    let mut probe = probe;
    probe.chat(Role::Seeker, "after the poison").await;
    procs.assert_no_panics();
    procs.stop().await;
}

/// Panics in this test process (the in-process services run on its threads).
fn count_panics() -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_publish() {
    let panics = count_panics();
    let mut options = StackOptions {
        chat_instances: 1,
        // The shared test database may hold other branches' migrations.
        own_database: true,
        ..StackOptions::default()
    };
    options.edge.request_timeout_ms = 1000;
    options.edge.ws_rate = NonZeroU32::new(2000).expect("not zero");
    options.edge.ws_burst = NonZeroU32::new(4000).expect("not zero");
    options.edge.ws_user_rate = NonZeroU32::new(4000).expect("not zero");
    let stack = Stack::start(options).await;

    let run = Run::start(&stack, std::slice::from_ref(&stack.ws_base)).await;
    for strike in 0..run.strikes {
        run.until_strike(strike).await;
        // A second instance that dies right after committing its fifth message: that
        // message is stored but neither published to the recipient nor answered to the
        // sender, whose retry reaches the surviving instance.
        let stores = AtomicUsize::new(0);
        let (tell, mut told) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut config = stack.options.chat.clone();
        config.failpoints.after_commit = Some(Arc::new(move || {
            let crash = stores.fetch_add(1, Ordering::SeqCst) + 1 == 5;
            if crash {
                let _ = tell.send(());
            }
            crash
        }));
        let doomed = stack.start_killable_chat_with(config).await;
        tokio::time::timeout(Duration::from_secs(60), told.recv())
            .await
            .expect("the failpoint never fired")
            .expect("failpoint channel");
        tokio::task::spawn_blocking(move || doomed.kill())
            .await
            .expect("kill");
    }
    let verdict = run.finish("crash between commit and publish", &stack).await;
    // At least the message committed by the crashed instance was retried.
    assert!(verdict.retries > 0, "the crashed message was never retried");
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a service panicked");
    stack.stop().await;
}
