//! Publishing to users' sockets, and building direct answers.
//!
//! A user's sockets of one role all listen on `<p>.out.<role>.<user_id>`; headers narrow
//! delivery to one connection or to all but one, and may ask the edge to close the
//! socket(s) after writing. One publisher connection keeps the order of what it publishes
//! to one subject, which is what makes "message, then close" safe.

use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use tether_proto::envelope::{CommandMeta, HEADER_CLOSE, HEADER_EXCEPT_CONN, HEADER_ONLY_CONN};
use tether_proto::subjects::Subjects;
use tether_proto::{Role, ServerMessage, WireError};
use uuid::Uuid;

/// Which of a user's connections get an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every socket of the user on that endpoint.
    All,
    /// Only this connection (re-sends on connect).
    Only(Uuid),
    /// Every socket but this one (its own copy went in the direct answer).
    Except(Uuid),
}

/// Publishes server messages to users.
#[derive(Debug, Clone)]
pub struct Outbox {
    client: Client,
    subjects: Subjects,
}

impl Outbox {
    /// An outbox publishing through `client` under `subjects`.
    pub fn new(client: Client, subjects: Subjects) -> Self {
        Self { client, subjects }
    }

    /// Sends `message` to `user_id`'s sockets on the `role` endpoint.
    pub async fn send(&self, role: Role, user_id: Uuid, target: Target, message: ServerMessage) {
        let payload = Bytes::from(message.frame(None).to_json());
        self.publish(role, user_id, target, None, payload).await;
    }

    /// Sends `message`, then closes the targeted sockets with `code`.
    pub async fn send_and_close(
        &self,
        role: Role,
        user_id: Uuid,
        target: Target,
        message: ServerMessage,
        code: u16,
    ) {
        let payload = Bytes::from(message.frame(None).to_json());
        self.publish(role, user_id, target, Some(code), payload)
            .await;
    }

    async fn publish(
        &self,
        role: Role,
        user_id: Uuid,
        target: Target,
        close: Option<u16>,
        payload: Bytes,
    ) {
        let mut headers = HeaderMap::new();
        match target {
            Target::All => {}
            Target::Only(conn) => headers.insert(HEADER_ONLY_CONN, conn.to_string().as_str()),
            Target::Except(conn) => headers.insert(HEADER_EXCEPT_CONN, conn.to_string().as_str()),
        }
        if let Some(code) = close {
            headers.insert(HEADER_CLOSE, code.to_string().as_str());
        }
        // The edge's delivery span continues the trace of whatever sent this.
        crate::trace::inject_current(&mut headers);
        let subject = self.subjects.outbound(role, user_id);
        if let Err(err) = self
            .client
            .publish_with_headers(subject, headers, payload)
            .await
        {
            tracing::warn!(role = role.as_str(), %user_id, error = %err, "outbound publish failed");
        }
    }
}

/// The direct answer to a command, for the connection that sent it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The answer (with the client's `request_id`), or nothing.
    pub frame: Option<tether_proto::ServerFrame>,
    /// Close the sender's socket with this code after writing the answer.
    pub close: Option<u16>,
}

impl Reply {
    /// No answer (e.g. `typing_indicator`, a repeated receipt).
    pub fn none() -> Self {
        Self::default()
    }

    /// `message` to the sender, echoing its `request_id`.
    pub fn answer(meta: &CommandMeta, message: ServerMessage) -> Self {
        Self {
            frame: Some(message.frame(meta.request_id.clone())),
            close: None,
        }
    }

    /// An `error` to the sender, echoing its `request_id`.
    pub fn error(meta: &CommandMeta, err: &WireError) -> Self {
        Self::answer(meta, ServerMessage::error(err))
    }

    /// Close the sender's socket with `code` after the answer.
    pub fn then_close(mut self, code: u16) -> Self {
        self.close = Some(code);
        self
    }

    /// The error code carried, if the answer is an error (for metrics).
    pub fn error_code(&self) -> Option<tether_proto::ErrorCode> {
        match &self.frame {
            Some(tether_proto::ServerFrame {
                message: ServerMessage::Error { code, .. },
                ..
            }) => Some(*code),
            _ => None,
        }
    }

    /// Headers and body for the NATS reply.
    pub fn into_nats(self) -> (HeaderMap, Bytes) {
        let mut headers = HeaderMap::new();
        if let Some(code) = self.close {
            headers.insert(HEADER_CLOSE, code.to_string().as_str());
        }
        let body = self
            .frame
            .map(|frame| Bytes::from(frame.to_json()))
            .unwrap_or_default();
        (headers, body)
    }
}
