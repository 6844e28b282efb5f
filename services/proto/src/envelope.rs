//! What ws-edge sends to a service for each client command, and the headers of what
//! services send back.
//!
//! Commands travel as NATS request/reply: the request body is the client's frame as it
//! arrived (ws-edge only reads its `type` and `request_id`), the sender in headers; the
//! reply body is the direct answer for the
//! connection that sent the command (a [`crate::ServerFrame`] as JSON, or empty when the
//! contract sends the sender nothing). Everything else a user must see is published on the
//! per-user outbound subject (see [`crate::subjects`]) with the headers below.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::commands::ClientMessage;
use crate::model::Role;
use crate::time::Timestamp;

/// Who sent a command. Filled in by ws-edge from the verified token and the endpoint;
/// services never take a user id from the client payload. It travels in NATS headers
/// ([`CommandMeta::headers`]) beside the client's own bytes, so the edge never re-encodes
/// a command and the owning service parses it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandMeta {
    /// Authenticated user id (the JWT `sub`).
    pub user_id: Uuid,
    /// Role from the WebSocket path.
    pub role: Role,
    /// The edge connection that sent it (for answers to this device only).
    pub conn_id: Uuid,
    /// The client's `request_id`, echoed by the direct answer.
    pub request_id: Option<String>,
    /// When the edge received the frame.
    pub received_at: Timestamp,
}

/// Command header: the sender's user id.
pub const HEADER_USER: &str = "Tether-User";
/// Command header: the sender's role (`seeker` or `provider`).
pub const HEADER_ROLE: &str = "Tether-Role";
/// Command header: the sending connection.
pub const HEADER_SENDER_CONN: &str = "Tether-Sender-Conn";
/// Command header: the client's `request_id`, percent-encoded (a header value is one
/// line of ASCII; a `request_id` may be any text).
pub const HEADER_REQUEST_ID: &str = "Tether-Request-Id";
/// Command header: when the edge received the frame (RFC 3339).
pub const HEADER_RECEIVED_AT: &str = "Tether-Received-At";

impl CommandMeta {
    /// The headers that carry this meta beside a command's bytes.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (HEADER_USER, self.user_id.to_string()),
            (HEADER_ROLE, self.role.as_str().to_owned()),
            (HEADER_SENDER_CONN, self.conn_id.to_string()),
            (HEADER_RECEIVED_AT, self.received_at.to_string()),
        ];
        if let Some(request_id) = &self.request_id {
            headers.push((HEADER_REQUEST_ID, percent_encode(request_id)));
        }
        headers
    }

    /// The meta back from headers (`header` looks one up by name); `None` when one is
    /// missing or malformed, which only a sender other than ws-edge can cause.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        let role = match header(HEADER_ROLE)? {
            "seeker" => Role::Seeker,
            "provider" => Role::Provider,
            _ => return None,
        };
        let received_at = chrono::DateTime::parse_from_rfc3339(header(HEADER_RECEIVED_AT)?)
            .ok()?
            .with_timezone(&chrono::Utc);
        Some(Self {
            user_id: header(HEADER_USER)?.parse().ok()?,
            role,
            conn_id: header(HEADER_SENDER_CONN)?.parse().ok()?,
            request_id: match header(HEADER_REQUEST_ID) {
                None => None,
                Some(encoded) => Some(percent_decode(encoded)?),
            },
            received_at: Timestamp(received_at),
        })
    }
}

/// `%XX` for every byte but ASCII letters, digits and `-_.~`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Header on every command and HTTP request the edge relays: the time (Unix milliseconds)
/// after which nobody waits for the answer (the edge has told its client `unavailable`).
/// A service does no work for a request whose deadline has passed.
pub const HEADER_DEADLINE: &str = "Tether-Deadline";

/// When the sender stops waiting for an answer (see [`HEADER_DEADLINE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    unix_ms: i64,
}

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: std::time::Duration) -> Self {
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        Self {
            unix_ms: chrono::Utc::now()
                .timestamp_millis()
                .saturating_add(timeout_ms),
        }
    }
    /// The header value.
    pub fn header_value(&self) -> String {
        self.unix_ms.to_string()
    }
    /// From a header value; `None` when malformed.
    pub fn parse(value: &str) -> Option<Self> {
        value.parse().ok().map(|unix_ms| Self { unix_ms })
    }
    /// Time left (zero once passed).
    pub fn remaining(&self) -> std::time::Duration {
        let left = self.unix_ms - chrono::Utc::now().timestamp_millis();
        std::time::Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }
    /// Whether nobody waits any more.
    pub fn passed(&self) -> bool {
        self.remaining().is_zero()
    }
}

/// A client command as the owning service sees it: the sender and the parsed message.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandEnvelope {
    /// Sender, as authenticated by the edge.
    pub meta: CommandMeta,
    /// The parsed client message.
    pub command: ClientMessage,
}

/// Header on a command reply or an outbound message: after writing the payload (if any),
/// close the socket(s) with this WebSocket close code.
pub const HEADER_CLOSE: &str = "Tether-Close";
/// Header on an outbound message: deliver only to this connection id.
pub const HEADER_ONLY_CONN: &str = "Tether-Conn";
/// Header on an outbound message: deliver to every connection but this one (the sender's
/// own device already got the direct answer).
pub const HEADER_EXCEPT_CONN: &str = "Tether-Except";

/// WebSocket close codes the system uses.
pub mod close_code {
    /// Normal end (session cancelled or finished, idle timeout).
    pub const NORMAL: u16 = 1000;
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation: kept exceeding the rate limit.
    pub const POLICY: u16 = 1008;
    /// Frame or message larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// The edge may have missed messages for this socket (its NATS connection was lost
    /// and came back, or fell behind): reconnect at once, and the re-send on connect
    /// recovers what was missed.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The socket could not keep up with its outbound messages.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The token expired while the socket was open.
    pub const TOKEN_EXPIRED: u16 = 4401;
}

/// Published by ws-edge when a socket opens, after it subscribed to the user's outbound
/// subject, so services can re-send what the user missed to exactly that connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectedEvent {
    /// The user.
    pub user_id: Uuid,
    /// The endpoint's role.
    pub role: Role,
    /// The new connection.
    pub conn_id: Uuid,
    /// The token's `name` claim, used as display-name fallback.
    pub token_name: Option<String>,
    /// The edge's "online" transition of this user and role (absent from older edges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<crate::presence::PresenceMark>,
}

/// Published by ws-edge when a socket closed (`<p>.evt.edge.closed`), so that work queued
/// for that connection alone (the re-send on connect) is skipped instead of done for
/// nobody. Every instance of each service gets it (fan-out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionClosed {
    /// The closed connection.
    pub conn_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_survives_headers_with_any_request_id() {
        let received_at: Timestamp =
            serde_json::from_str(r#""2026-11-30T16:31:38.123Z""#).expect("timestamp");
        for request_id in [None, Some("r-1"), Some("a b\r\n%ü\u{0}😀")] {
            let meta = CommandMeta {
                user_id: Uuid::new_v4(),
                role: Role::Provider,
                conn_id: Uuid::new_v4(),
                request_id: request_id.map(str::to_owned),
                received_at,
            };
            let headers = meta.headers();
            assert!(
                headers
                    .iter()
                    .all(|(_, value)| value.bytes().all(|b| b.is_ascii_graphic()))
            );
            let lookup = |name: &str| {
                headers
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.as_str())
            };
            assert_eq!(CommandMeta::from_headers(lookup), Some(meta));
        }
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert_eq!(CommandMeta::from_headers(|_| None), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%FF"), None);
    }
}
