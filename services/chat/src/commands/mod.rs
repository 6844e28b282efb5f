//! Client commands owned by chat: one module per message family, dispatched by one
//! `match`. Each handler parses its typed request (bad input changes nothing), runs one
//! atomic SQL statement, publishes what other sockets must see and returns the direct
//! answer for the sending connection.

pub mod chat_message;
pub mod receipts;
pub mod start_chat;
pub mod typing;

use tether_platform::Reply;
use tether_proto::WireError;
use tether_proto::commands::{ChatCommand, MessageDelivered, MessageRead, Routed, not_routed};
use tether_proto::envelope::CommandEnvelope;
use tether_proto::errors::{MESSAGE_ID_REQUIRED, MESSAGE_NOT_FOUND};
use uuid::Uuid;

use crate::context::Chat;
use tether_platform::HandlerError;

/// Handles one command from the edge and returns the answer for its connection.
pub async fn handle(chat: &Chat, envelope: CommandEnvelope) -> Reply {
    let CommandEnvelope { meta, command } = envelope;
    let kind = command.type_name();
    let result = match command.routed() {
        // Exhaustive: a command registered for this service does not compile until it is
        // handled here.
        Routed::Chat(command) => match command {
            ChatCommand::StartChat(command) => start_chat::handle(chat, &meta, command).await,
            ChatCommand::ChatMessage(command) => chat_message::handle(chat, &meta, command).await,
            ChatCommand::MessageDelivered(MessageDelivered { message_id }) => {
                receipts::handle(chat, &meta, receipts::Receipt::Delivered, message_id).await
            }
            ChatCommand::MessageRead(MessageRead { message_id }) => {
                receipts::handle(chat, &meta, receipts::Receipt::Read, message_id).await
            }
            ChatCommand::TypingIndicator(command) => typing::handle(chat, &meta, command).await,
        },
        _ => Err(not_routed(kind).into()),
    };
    match result {
        Ok(reply) => reply,
        Err(err) => Reply::error(&meta, &err.into_wire(kind)),
    }
}

/// A `message_id` from a client: missing -> validation; malformed -> `not_found`, the
/// same answer as a message that is not the caller's (never reveal which).
pub fn message_id(value: Option<&str>) -> Result<Uuid, HandlerError> {
    let text = value.ok_or_else(|| WireError::validation(MESSAGE_ID_REQUIRED))?;
    Ok(Uuid::parse_str(text).map_err(|_| WireError::not_found(MESSAGE_NOT_FOUND))?)
}
