//! Chat round trip, unloaded: the sender's `chat_message` frame leaves the client ->
//! the recipient's socket delivers the `chat_message` (row committed first), over a stack
//! started in-process (ws-edge, two instances of every service, real NATS and PostgreSQL).
//!
//! One message in flight at a time, 1,000 measured after a warm-up; prints p50/p90/p99/max
//! of the round trip and of the sender's `message_sent`. A second run sends the same
//! command straight to the chat service over NATS (no edge, no sockets) and times the
//! recipient's outbound message and the reply: the chat service's own share (PostgreSQL
//! commit included). Run in release: `cargo bench -p tether-tests --bench chat_rtt`.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tether_proto::envelope::CommandMeta;
use tether_proto::messages::Owner;
use tether_proto::{Role, Timestamp};
use tether_tests::{OpenSession, Stack, StackOptions, WsClient};

const WARM_UP: usize = 200;
const MEASURED: usize = 1_000;

/// Sends one message and returns (recipient delivery, sender acknowledgement) latencies.
async fn one(
    sender: &mut WsClient,
    recipient: &mut WsClient,
    session_id: uuid::Uuid,
    i: usize,
) -> (Duration, Duration) {
    let frame = json!({"type": "chat_message", "session_id": session_id, "message": format!("benchmark message {i}")});
    let started = Instant::now();
    sender.send(frame).await;
    let (delivered, acknowledged) = tokio::join!(
        async {
            let message = recipient.recv().await;
            assert_eq!(message["type"], "chat_message", "{message}");
            started.elapsed()
        },
        async {
            let message = sender.recv().await;
            assert_eq!(message["type"], "message_sent", "{message}");
            started.elapsed()
        },
    );
    (delivered, acknowledged)
}

/// The same message sent straight to chat over NATS; returns (recipient's outbound
/// message, reply) latencies.
async fn one_over_nats(
    stack: &Stack,
    outbound: &mut async_nats::Subscriber,
    seeker_id: uuid::Uuid,
    session_id: uuid::Uuid,
    i: usize,
) -> (Duration, Duration) {
    let meta = CommandMeta {
        user_id: seeker_id,
        role: Role::Seeker,
        conn_id: uuid::Uuid::new_v4(),
        request_id: None,
        received_at: Timestamp::now(),
    };
    let headers = tether_platform::serve::command_headers(&meta);
    let frame = json!({"type": "chat_message", "session_id": session_id, "message": format!("nats benchmark message {i}")});
    let payload = serde_json::to_vec(&frame).expect("frame json");
    let subject = stack.subjects.command(Owner::Chat, "chat_message");
    let started = Instant::now();
    let (delivered, replied) = tokio::join!(
        async {
            outbound.next().await.expect("outbound message");
            started.elapsed()
        },
        async {
            let reply = stack
                .nats
                .request_with_headers(subject, headers, payload.into())
                .await
                .expect("chat reply");
            assert!(
                reply.payload.starts_with(b"{\"type\":\"message_sent\""),
                "{:?}",
                reply.payload
            );
            started.elapsed()
        },
    );
    (delivered, replied)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name:<34} n={:<5} p50={:>7.3} ms  p90={:>7.3} ms  p99={:>7.3} ms  max={:>7.3} ms  mean={:>7.3} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.90)),
        ms(percentile(&samples, 0.99)),
        ms(samples[samples.len() - 1]),
        ms(mean),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut options = StackOptions::default();
    // One message at a time is far above the default 20/s per connection.
    options.edge.ws_rate = NonZeroU32::new(100_000).expect("not zero");
    options.edge.ws_burst = NonZeroU32::new(100_000).expect("not zero");
    let stack = Stack::start(options).await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;

    for i in 0..WARM_UP {
        one(
            &mut session.seeker_ws,
            &mut session.provider_ws,
            session_id,
            i,
        )
        .await;
    }
    let mut delivered = Vec::with_capacity(MEASURED);
    let mut acknowledged = Vec::with_capacity(MEASURED);
    let started = Instant::now();
    for i in 0..MEASURED {
        // Alternate directions, as a conversation does.
        let (d, a) = if i % 2 == 0 {
            one(
                &mut session.seeker_ws,
                &mut session.provider_ws,
                session_id,
                i,
            )
            .await
        } else {
            one(
                &mut session.provider_ws,
                &mut session.seeker_ws,
                session_id,
                i,
            )
            .await
        };
        delivered.push(d);
        acknowledged.push(a);
    }
    let elapsed = started.elapsed();

    println!(
        "chat_rtt: {MEASURED} messages one at a time (after {WARM_UP} warm-up), 2 chat instances, {:.0} msg/s",
        MEASURED as f64 / elapsed.as_secs_f64()
    );
    report("send -> recipient chat_message", delivered);
    report("send -> sender message_sent", acknowledged);

    // The chat service alone: NATS request in, outbound publish and reply out. The
    // sockets are closed so nothing but this subscriber consumes the outbound messages.
    let OpenSession {
        seeker,
        provider,
        seeker_ws,
        provider_ws,
        ..
    } = session;
    seeker_ws.close().await;
    provider_ws.close().await;
    let mut outbound = stack.watch_outbound(Role::Provider, provider.id).await;
    for i in 0..WARM_UP {
        one_over_nats(&stack, &mut outbound, seeker.id, session_id, i).await;
    }
    let mut delivered = Vec::with_capacity(MEASURED);
    let mut replied = Vec::with_capacity(MEASURED);
    for i in 0..MEASURED {
        let (d, r) = one_over_nats(&stack, &mut outbound, seeker.id, session_id, i).await;
        delivered.push(d);
        replied.push(r);
    }
    println!("chat service over NATS (no edge, no sockets), {MEASURED} messages one at a time");
    report("command -> recipient outbound", delivered);
    report("command -> reply (message_sent)", replied);
    stack.stop().await;
}
