//! `location_update`: validate, then hand to the session's batch writer ([`crate::batch`]),
//! which stores the sender's position and, while the session is active, sends both
//! parties a `distance_update` when the contract says one is due.

use tether_platform::{HandlerError, Reply};
use tether_proto::commands::LocationUpdate;
use tether_proto::distance::Point;
use tether_proto::envelope::CommandMeta;
use tether_proto::validate;

use crate::Context;
use crate::batch::Update;

/// Handles one `location_update`. On success the sender gets no direct answer (see the
/// crate docs); errors are answered to the sending connection: `not_found` when the sender
/// is not this session's party in this role (never revealing that the session exists),
/// `conflict` when the session has ended, `unavailable` when the update was refused without
/// being applied (see the crate docs on overload).
pub(super) async fn handle(
    context: &Context,
    meta: &CommandMeta,
    LocationUpdate {
        session_id,
        latitude,
        longitude,
        accuracy_m,
    }: LocationUpdate,
) -> Result<Reply, HandlerError> {
    let session_id = validate::session_id(session_id.as_deref())?;
    let (latitude, longitude) = validate::coordinates(latitude, longitude)?;
    let accuracy = validate::accuracy(accuracy_m.as_ref())?;
    context
        .writer
        .submit(Update {
            session_id,
            role: meta.role,
            user_id: meta.user_id,
            position: Point::new(latitude, longitude),
            coarse: accuracy.is_some_and(|metres| metres > context.max_accuracy_m),
            received_at: meta.received_at.as_datetime(),
        })
        .await?;
    Ok(Reply::none())
}
