//! A socket opened: make sure the user exists, and re-send a provider every order still
//! waiting for their answer, to that socket only.

use chrono::{DateTime, Utc};
use tether_platform::Target;
use tether_proto::Role;
use tether_proto::envelope::ConnectedEvent;

use crate::assignment::pending_for_provider;
use crate::context::Ctx;
use tether_platform::HandlerError;

/// Handles one `ConnectedEvent` (the `session` queue group gets each once).
///
/// The edge subscribes the socket before it publishes the event, so whatever is
/// published after the event arrives here reaches the socket live. Only orders created
/// before that moment can have been missed: those are re-sent, and later ones are not
/// (else an order created while this runs would arrive twice). An order whose creation
/// straddles the moment may still arrive twice; clients deduplicate `work_assigned` by
/// `work_id`. The cut-off compares this host's clock with PostgreSQL's `created_at`, so
/// hosts must keep their clocks synchronised (NTP).
pub async fn handle(ctx: &Ctx, event: ConnectedEvent) {
    let received_at = Utc::now();
    if let Err(err) = resend(ctx, &event, received_at).await {
        err.log("connected");
    }
}

async fn resend(
    ctx: &Ctx,
    event: &ConnectedEvent,
    received_at: DateTime<Utc>,
) -> Result<(), HandlerError> {
    if event.role == Role::Provider {
        let pending = pending_for_provider(
            &ctx.pool,
            event.user_id,
            ctx.settings.order_ttl_secs(),
            received_at,
            ctx.settings.max_pending_per_provider,
        )
        .await?;
        for assignment in pending {
            ctx.outbox
                .send(
                    Role::Provider,
                    event.user_id,
                    Target::Only(event.conn_id),
                    assignment.message(),
                )
                .await;
        }
    }
    ctx.known_users
        .ensure(&ctx.pool, event.user_id, event.token_name.as_deref())
        .await?;
    Ok(())
}
