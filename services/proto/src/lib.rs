//! The Tether wire protocol, shared by ws-edge and every service.
//!
//! One place for each fact of the contract in `docs/protocol.md`: client commands, one type
//! each ([`commands`]), server messages ([`messages`]), error codes and the texts clients match on ([`errors`]), limits
//! ([`limits`]), distance maths ([`distance`]), mediums ([`mediums`]), the internal
//! envelope and HTTP-over-NATS shapes ([`envelope`], [`api`]), domain events ([`events`])
//! NATS subject names ([`subjects`]), the session timeline's chain rules ([`timeline`]),
//! protocol 1.1's arrival stages, trend and ETA ([`approach`]), presence
//! ([`presence`]) and the push webhook's body ([`push`]), and protocol 1.2's adaptive
//! location cadence ([`cadence`]). With the `sqlx` feature, the domain's enums are read
//! and written as PostgreSQL text ([`db`]).

pub mod api;
pub mod approach;
pub mod cadence;
pub mod commands;
#[cfg(feature = "sqlx")]
pub mod db;
pub mod distance;
pub mod envelope;
pub mod errors;
pub mod events;
pub mod limits;
pub mod mediums;
pub mod messages;
pub mod model;
pub mod presence;
pub mod push;
pub mod schema_rules;
pub mod subjects;
pub mod time;
pub mod timeline;
pub mod validate;

pub use commands::{ClientMessage, Command};
pub use errors::{ErrorCode, WireError};
pub use messages::{ServerFrame, ServerMessage};
pub use model::{ConnectionState, Role, WorkOrderStatus};
pub use time::Timestamp;
