//! The chat service's commands.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Command, Endpoints};
use crate::limits::{CHAT_MESSAGE_MAX_CHARS, CHAT_MESSAGE_MIN_CHARS, MAX_CLIENT_MESSAGE_ID_CHARS};
use crate::messages::Owner;
use crate::schema_rules::{self, FieldRule};

/// Opens the session's chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StartChat {
    /// The session.
    pub session_id: Option<String>,
}

impl Command for StartChat {
    const TYPE: &'static str = "start_chat";
    const OWNER: Owner = Owner::Chat;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![schema_rules::session_id()]
    }
}

/// Sends a chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    /// The session.
    pub session_id: Option<String>,
    /// 1-2000 characters after trimming.
    pub message: Option<String>,
    /// Client's idempotency key; a retry with the same key stores nothing new.
    pub client_message_id: Option<String>,
}

impl Command for ChatMessage {
    const TYPE: &'static str = "chat_message";
    const OWNER: Owner = Owner::Chat;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![
            schema_rules::session_id(),
            FieldRule::required(
                "message",
                json!({
                    "minLength": CHAT_MESSAGE_MIN_CHARS,
                    "maxLength": CHAT_MESSAGE_MAX_CHARS,
                    "$comment": "Length counted in characters after trimming whitespace."
                }),
            ),
            FieldRule::optional(
                "client_message_id",
                json!({"maxLength": MAX_CLIENT_MESSAGE_ID_CHARS}),
            ),
        ]
    }
}

/// Recipient's device has the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDelivered {
    /// The message.
    pub message_id: Option<String>,
}

impl Command for MessageDelivered {
    const TYPE: &'static str = "message_delivered";
    const OWNER: Owner = Owner::Chat;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![FieldRule::required("message_id", schema_rules::uuid())]
    }
}

/// Recipient has read the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageRead {
    /// The message.
    pub message_id: Option<String>,
}

impl Command for MessageRead {
    const TYPE: &'static str = "message_read";
    const OWNER: Owner = Owner::Chat;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![FieldRule::required("message_id", schema_rules::uuid())]
    }
}

/// Typing started or stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TypingIndicator {
    /// The session.
    pub session_id: Option<String>,
    /// true while typing.
    pub is_typing: Option<bool>,
}

impl Command for TypingIndicator {
    const TYPE: &'static str = "typing_indicator";
    const OWNER: Owner = Owner::Chat;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![
            schema_rules::session_id(),
            FieldRule::required("is_typing", json!({})),
        ]
    }
}
