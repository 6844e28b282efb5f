//! Tether chat service: anonymous session chat with receipts, typing indicators, offline
//! delivery and history.
//!
//! What it serves (all in the queue group `chat`, so any number of instances share the work):
//! - client commands on `<p>.cmd.chat.>`: `start_chat`, `chat_message`, `message_delivered`,
//!   `message_read`, `typing_indicator` ([`commands`]);
//! - `GET /api/v1/sessions/{id}/messages` on `<p>.api.chat` ([`history`]);
//! - session lifecycle events, to set the chat expiry when a session ends ([`lifecycle`]);
//! - socket-opened events, to re-send what a user missed ([`reconnect`]).
//!
//! With `TETHER_PUSH_WEBHOOK_URL` set, storing a message also enqueues a push event when
//! its recipient has no open socket for that role (same statement; see
//! [`tether_platform::push`]); the cleanup service sends it.
//!
//! # Durability
//! Commands are NATS request/reply, not a JetStream work queue. `message_sent` is answered
//! only after the message's row is committed in PostgreSQL. When no chat instance answers
//! (none running, or a timeout) the edge tells the client `unavailable`; the client retries
//! with the same `client_message_id`, and the unique key `chat_messages_client_id` makes the
//! retry store nothing new and answer the original `message_sent` (same id and timestamp).
//! A retry whose original is still `sent` while the session is open re-sends the
//! `chat_message` to the recipient (it may have been lost if an instance died between
//! commit and publish); recipients dedupe by `message_id`. A message stored once is
//! delivered at least once: live, and again on every connect while it is still `sent`.
//! On shutdown an instance stops taking commands, finishes those in flight and waits until
//! NATS has processed its unsubscribe; a command NATS had already handed it but it had not
//! started is dropped, and that client gets `unavailable` after the edge's timeout.
//!
//! # Order
//! Within a session, history and re-sends follow `seq`, the order PostgreSQL assigned.
//! The edge handles one command per connection at a time, so a sender's next message is
//! inserted only after the previous one committed and its `message_sent` came back: one
//! sender's messages get increasing `seq`, whichever instance stored them. The live copy
//! to the recipient is published before the reply, on the same NATS connection as the
//! reply, so it reaches the recipient's edge before the sender's next command can even be
//! sent: live delivery keeps each sender's order across instances too. (That argument
//! holds on one NATS server; across a cluster the two publishes may take different routes,
//! so clients should order by history / arrival and dedupe by `message_id`.)
//!
//! # Decisions where the contract is silent
//! - The sender's other devices get nothing for a `chat_message` (history has it); the
//!   recipient gets it on every device.
//! - Sending a message starts the chat implicitly (`chat_started_at` set once) without a
//!   `chat_ready`; `start_chat` answers `chat_ready` to both parties every time it is sent.
//! - A retry (same `client_message_id`) answers the original `message_sent` even when the
//!   session has ended since, because the message *was* stored; the text of the retry is
//!   ignored. A new message after the end answers `conflict`.
//! - Receipts (`message_delivered`, `message_read`) answer the caller nothing; errors still
//!   go to the caller. Receipts for a session that ended answer `conflict`.
//! - History `limit` outside 1..=200 or not an integer is rejected with 400 (not clamped);
//!   a `before` that is not a UUID is 400, one that is not a message of this session 404.
//!   Messages past their expiry are never served, even before the cleanup job deletes them.

pub mod commands;
pub mod context;
#[cfg(feature = "failpoints")]
pub mod failpoints;
pub mod history;
pub mod lifecycle;
pub mod masking;
pub mod reconnect;
pub mod rows;
pub mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tether_platform::ServiceConfig;
use tether_platform::config::admin;
use tether_platform::runner::Loops;
use tether_platform::runtime::{Runtime, Subscribed};
use tether_platform::serve::confirm_subscriptions;
use tether_proto::messages::Owner;
use tokio_util::sync::CancellationToken;

use crate::context::Chat;

/// Connections of the asynchronous-commit pool the receipt writers use (one each).
const RECEIPT_CONNECTIONS: u32 = 2;

/// Settings of the chat service (each also from its environment variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-chat",
    version,
    about = "Tether chat service: anonymous session chat with receipts, typing indicators, offline delivery and history"
)]
pub struct Config {
    /// NATS, logging, PostgreSQL and the admin listener.
    #[command(flatten)]
    pub service: ServiceConfig<admin::Chat>,
    /// Unacknowledged messages re-sent to a socket when it connects, at most (oldest
    /// first; the rest follow on later connects once these are acknowledged, and history
    /// has them all).
    #[arg(long, env = "TETHER_CHAT_RESEND_LIMIT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub resend_limit: u32,
    /// Messages one session's chat may hold; one more answers `conflict` (a retry of a
    /// stored message still answers its `message_sent`).
    #[arg(long, env = "TETHER_CHAT_MAX_MESSAGES_PER_SESSION", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_messages_per_session: u32,
    /// Push for offline recipients (the sender runs in the cleanup service).
    #[command(flatten)]
    pub push: tether_platform::push::PushSwitch,
    /// Test-only crash points (see [`failpoints`]).
    #[cfg(feature = "failpoints")]
    #[arg(skip)]
    pub failpoints: failpoints::Failpoints,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-chat"])
    }
}

/// A built chat service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    chat: Arc<Chat>,
    commands: Subscribed,
    api: Subscribed,
    session_events: Subscribed,
    session_view: Subscribed,
    connected: Subscribed,
}

impl App {
    /// Connects to NATS and PostgreSQL, binds the admin listener and subscribes, so the
    /// service answers as soon as this returns.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let runtime = Runtime::connect("chat", &config.service).await?;
        let subjects = runtime.subjects.clone();
        let commands = Subscribed::new(&runtime, subjects.commands_of(Owner::Chat)).await?;
        let api = Subscribed::new(&runtime, subjects.api(Owner::Chat)).await?;
        let session_events = Subscribed::new(&runtime, subjects.session_events()).await?;
        // Every instance keeps its own session view, so every instance sees every event.
        let session_view = Subscribed::fan_out(&runtime, subjects.session_events()).await?;
        let connected = Subscribed::new(&runtime, subjects.connected()).await?;
        confirm_subscriptions(&runtime.client).await?;
        let receipts_pool =
            tether_platform::db::connect_async_commit(&config.service.db, RECEIPT_CONNECTIONS)
                .await?;
        #[allow(unused_mut)]
        let mut chat = Chat::new(
            runtime.pool.clone(),
            receipts_pool,
            runtime.outbox.clone(),
            config.resend_limit,
            config.max_messages_per_session,
            config.push.enabled(),
        );
        #[cfg(feature = "failpoints")]
        {
            chat.failpoints = config.failpoints.clone();
        }
        let chat = Arc::new(chat);
        Ok(Self {
            runtime,
            chat,
            commands,
            api,
            session_events,
            session_view,
            connected,
        })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then drains in-flight work.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut loops = Loops::start(&mut self.runtime, &shutdown);
        loops.serve(self.commands, &self.chat, |chat, envelope| async move {
            commands::handle(&chat, envelope).await
        });
        loops.serve(self.api, &self.chat, |chat, request| async move {
            history::handle(&chat, request).await
        });
        loops.serve(self.session_events, &self.chat, |chat, event| async move {
            lifecycle::handle(&chat, event).await
        });
        loops.serve(self.session_view, &self.chat, |chat, event| async move {
            chat.sessions.apply(&event)
        });
        loops.serve(self.connected, &self.chat, |chat, event| async move {
            reconnect::handle(&chat, event).await
        });
        loops.join().await
    }
}
