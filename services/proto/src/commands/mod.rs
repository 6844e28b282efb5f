//! Client commands: each one is a type.
//!
//! A command is a struct of the fields an app sends, implementing [`Command`] (its wire
//! `type`, the service that owns it, the endpoints that accept it, and the schema rules
//! serde cannot express). [`register!`] at the bottom of this file lists every command under
//! its owner once; from that list come [`ClientMessage`] (what services parse), one enum
//! per owner ([`EdgeCommand`], [`SessionCommand`], [`ChatCommand`], [`LocationCommand`],
//! which the owner's dispatcher matches exhaustively, so a new command does not compile
//! until its handler exists), the routing table ([`ClientMessage::route`]) and the type
//! names ([`ClientMessage::TYPES`]).
//!
//! Fields are `Option` where the contract prescribes a specific error for a missing value
//! (e.g. `session_id is required`), so the owning service, not serde, words the answer.

mod chat;
mod edge;
mod location;
mod session;

pub use chat::{ChatMessage, MessageDelivered, MessageRead, StartChat, TypingIndicator};
pub use edge::Ping;
pub use location::LocationUpdate;
pub use session::{CancelConnection, FinishService, MediumSelection, MediumShare, WorkResponse};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::{
    ErrorCode, MESSAGE_NOT_JSON, NUL_IN_TEXT, WireError, invalid_command, unknown_type,
};
use crate::messages::Owner;
use crate::model::Role;
use crate::schema_rules::FieldRule;

/// Deserialises a field that is present, `null` included, as `Some` (absent stays `None`
/// through `#[serde(default)]`), so a validator can refuse an explicit `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Which endpoints (`/ws/work/seeker/`, `/ws/work/provider/`) accept a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// Both.
    Both,
    /// Only the seeker's.
    Seeker,
    /// Only the provider's.
    Provider,
}

impl Endpoints {
    /// Whether `role`'s endpoint accepts the command.
    pub const fn accept(self, role: Role) -> bool {
        match self {
            Self::Both => true,
            Self::Seeker => matches!(role, Role::Seeker),
            Self::Provider => matches!(role, Role::Provider),
        }
    }
}

/// One client command of the contract.
pub trait Command:
    Serialize + DeserializeOwned + JsonSchema + Clone + std::fmt::Debug + Into<ClientMessage>
{
    /// Its `type` on the wire.
    const TYPE: &'static str;
    /// The service that handles it.
    const OWNER: Owner;
    /// The endpoints that accept it; others answer `unknown_type`.
    const ENDPOINTS: Endpoints;

    /// What the contract requires of its fields beyond their JSON types (ranges, lengths,
    /// fields that are `Option` here so the service words the error but that a valid
    /// message must carry). The generated schemas apply them.
    fn field_rules() -> Vec<FieldRule> {
        Vec::new()
    }
}

/// What [`ClientMessage::TYPES`] and the routing table know of each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    /// [`Command::TYPE`].
    pub type_name: &'static str,
    /// [`Command::OWNER`].
    pub owner: Owner,
    /// [`Command::ENDPOINTS`].
    pub endpoints: Endpoints,
}

impl CommandInfo {
    const fn of<C: Command>() -> Self {
        Self {
            type_name: C::TYPE,
            owner: C::OWNER,
            endpoints: C::ENDPOINTS,
        }
    }
}

/// The schema of one command as a variant of the client union: `C`'s object schema with
/// its `type` constant (first in `required`) and its field rules.
fn variant_schema<C: Command>(generator: &mut SchemaGenerator) -> Value {
    let mut schema = C::json_schema(generator).to_value();
    if let Value::Object(fields) = &mut schema {
        fields.remove("title");
        let properties = fields
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object schema's properties");
        properties.insert("type".into(), json!({"type": "string", "const": C::TYPE}));
        let mut required = vec![Value::String("type".into())];
        if let Some(Value::Array(listed)) = fields.remove("required") {
            required.extend(listed);
        }
        fields.insert("required".into(), Value::Array(required));
    }
    crate::schema_rules::apply(&mut schema, C::TYPE, &C::field_rules())
        .unwrap_or_else(|err| panic!("{err}"));
    schema
}

/// Declares every command under its owner: the one registration a new command needs.
macro_rules! register {
    ($($owner:ident / $per_owner:ident: [$($command:ident),+ $(,)?]),+ $(,)?) => {
        /// A message from a client, as a service parses it. `request_id` travels beside
        /// it in the envelope.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum ClientMessage {
            $($(
                #[doc = concat!("`", stringify!($command), "`")]
                $command($command),
            )+)+
        }

        $(
            #[doc = concat!("The commands the ", stringify!($owner), " service handles.")]
            #[derive(Debug, Clone, PartialEq)]
            pub enum $per_owner {
                $(
                    #[doc = concat!("`", stringify!($command), "`")]
                    $command($command),
                )+
            }

            $(
                impl From<$command> for ClientMessage {
                    fn from(command: $command) -> Self {
                        Self::$command(command)
                    }
                }
            )+
        )+

        /// A parsed command sorted by its owner.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Routed {
            $(
                #[doc = concat!("For the ", stringify!($owner), " service.")]
                $owner($per_owner),
            )+
        }

        impl ClientMessage {
            /// Every command, in registration order.
            pub const COMMANDS: &'static [CommandInfo] = &[$($(CommandInfo::of::<$command>()),+),+];

            /// Sorts the command by its owner.
            pub fn routed(self) -> Routed {
                match self {
                    $($(Self::$command(command) => Routed::$owner($per_owner::$command(command)),)+)+
                }
            }

            /// What the registry knows of this command.
            pub fn info(&self) -> CommandInfo {
                match self {
                    $($(Self::$command(_) => CommandInfo::of::<$command>(),)+)+
                }
            }
        }

        impl JsonSchema for ClientMessage {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "ClientMessage".into()
            }

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                let variants = vec![$($(variant_schema::<$command>(generator)),+),+];
                let schema = json!({
                    "description": "A message from a client. `request_id` travels beside it in the envelope.",
                    "oneOf": variants,
                });
                Schema::try_from(schema).expect("an object schema")
            }
        }
    };
}

register! {
    Edge / EdgeCommand: [Ping],
    Session / SessionCommand: [WorkResponse, MediumSelection, MediumShare, CancelConnection, FinishService],
    Chat / ChatCommand: [StartChat, ChatMessage, MessageDelivered, MessageRead, TypingIndicator],
    Location / LocationCommand: [LocationUpdate],
}

impl ClientMessage {
    /// Every client type name, for parsing, metrics labels and schemas.
    pub const TYPES: [&'static str; Self::COMMANDS.len()] = {
        let mut names = [""; Self::COMMANDS.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::COMMANDS[i].type_name;
            i += 1;
        }
        names
    };

    /// Parses a client's frame as ws-edge forwarded it (the edge checked that it is a JSON
    /// object of a known type for the sender's endpoint, and its `request_id`). Errors
    /// are the `validation` answers the sender gets.
    pub fn from_frame(frame: &[u8]) -> Result<Self, WireError> {
        // U+0000 can only arrive escaped; the exact check runs only when the escape is there.
        let maybe_nul = frame.windows(6).any(|window| window == br"\u0000");
        if !maybe_nul && let Ok(command) = serde_json::from_slice(frame) {
            return Ok(command);
        }
        // The slow path, on failures only, words the answer from the parsed object, as the
        // edge did when it parsed commands itself (no line and column in the text).
        let mut value: Value = serde_json::from_slice(frame)
            .map_err(|_| WireError::new(ErrorCode::InvalidJson, MESSAGE_NOT_JSON))?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("request_id");
        }
        if crate::validate::json_has_nul(&value) {
            return Err(WireError::validation(NUL_IN_TEXT));
        }
        let type_name = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let type_name = Self::TYPES
            .into_iter()
            .find(|known| *known == type_name)
            .unwrap_or("message");
        serde_json::from_value(value)
            .map_err(|err| WireError::validation(invalid_command(type_name, err)))
    }

    /// The `type` of this message.
    pub fn type_name(&self) -> &'static str {
        self.info().type_name
    }

    /// Which service handles a type, and whether `role`'s endpoint accepts it.
    /// `None` means the endpoint does not accept it (`unknown_type`).
    pub fn route(type_name: &str, role: Role) -> Option<Owner> {
        Self::COMMANDS
            .iter()
            .find(|info| info.type_name == type_name && info.endpoints.accept(role))
            .map(|info| info.owner)
    }
}

/// The answer of a service handed a command of type `type_name` that it does not own, or
/// from an endpoint that does not accept it: ws-edge routes by type and endpoint, so this
/// is a routing bug upstream, answered the same way everywhere.
pub fn not_routed(type_name: &str) -> WireError {
    WireError::new(ErrorCode::UnknownType, unknown_type(type_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_registered_types() {
        for info in ClientMessage::COMMANDS {
            let message: ClientMessage =
                serde_json::from_value(json!({ "type": info.type_name })).expect(info.type_name);
            assert_eq!(message.info(), *info);
            let back = serde_json::to_value(&message).expect("serialise");
            assert_eq!(back["type"], info.type_name);
        }
        let mut names = ClientMessage::TYPES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            ClientMessage::TYPES.len(),
            "a type registered twice"
        );
    }

    #[test]
    fn parses_client_messages_and_routes() {
        let msg: ClientMessage =
            serde_json::from_value(json!({"type": "start_chat", "session_id": "x", "extra": 1}))
                .expect("parse");
        assert_eq!(msg.type_name(), "start_chat");
        assert!(matches!(
            msg.routed(),
            Routed::Chat(ChatCommand::StartChat(_))
        ));
        assert_eq!(ClientMessage::route("work_response", Role::Seeker), None);
        assert_eq!(
            ClientMessage::route("medium_selection", Role::Provider),
            None
        );
        assert_eq!(ClientMessage::route("medium_share", Role::Seeker), None);
        assert_eq!(
            ClientMessage::route("finish_service", Role::Seeker),
            Some(Owner::Session)
        );
        assert_eq!(
            ClientMessage::route("ping", Role::Provider),
            Some(Owner::Edge)
        );
        assert_eq!(ClientMessage::route("nope", Role::Seeker), None);
    }

    #[test]
    fn wrong_field_types_are_worded_per_type() {
        let err = ClientMessage::from_frame(br#"{"type":"work_response","work_id":"x"}"#)
            .expect_err("a string work_id");
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(
            err.error.starts_with("Invalid work_response: "),
            "{}",
            err.error
        );
    }
}
