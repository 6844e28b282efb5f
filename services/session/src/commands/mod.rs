//! Client commands relayed by ws-edge: one module per message family, one `match`.
//!
//! Each handler answers the sending connection through the returned [`Reply`] and tells
//! everyone else (the sender's other devices, the other party) through the outbox, only
//! after its transaction committed.

pub mod end_session;
pub mod mediums;
pub mod work_response;

use sqlx::{Postgres, Transaction};
use tether_platform::{Reply, Target};
use tether_proto::commands::{Routed, SessionCommand, not_routed};
use tether_proto::envelope::{CommandEnvelope, CommandMeta};
use tether_proto::{ClientMessage, ServerMessage};
use uuid::Uuid;

use crate::context::Ctx;
use crate::sessions::explain_miss;
use tether_platform::HandlerError;

/// What a command handler returns.
pub type CommandResult = Result<Reply, HandlerError>;

/// A command's transaction.
type Tx = Transaction<'static, Postgres>;

/// The row a guarded session update returned, with its still open transaction; when the
/// update matched nothing, the transaction is rolled back and a read says why (the
/// actor's session is unknown, someone else's, or no longer open).
async fn updated_or_explain<T>(
    ctx: &Ctx,
    meta: &CommandMeta,
    session_id: Uuid,
    tx: Tx,
    row: Option<T>,
) -> Result<(Tx, T), HandlerError> {
    match row {
        Some(row) => Ok((tx, row)),
        None => {
            drop(tx);
            Err(explain_miss(&ctx.pool, session_id, meta.user_id, meta.role)
                .await?
                .into())
        }
    }
}

/// After a commit: `own` to the actor's other devices, `other` to every device of the
/// other party (`other_id`).
async fn tell_both(
    ctx: &Ctx,
    meta: &CommandMeta,
    other_id: Uuid,
    own: &ServerMessage,
    other: ServerMessage,
) {
    ctx.outbox
        .send(
            meta.role,
            meta.user_id,
            Target::Except(meta.conn_id),
            own.clone(),
        )
        .await;
    ctx.outbox
        .send(meta.role.other(), other_id, Target::All, other)
        .await;
}

/// Handles one command; every failure becomes an `error` for the sender only.
pub async fn handle(ctx: &Ctx, envelope: CommandEnvelope) -> Reply {
    let CommandEnvelope { meta, command } = envelope;
    let name = command.type_name();
    match dispatch(ctx, &meta, command).await {
        Ok(reply) => reply,
        Err(err) => Reply::error(&meta, &err.into_wire(name)),
    }
}

async fn dispatch(ctx: &Ctx, meta: &CommandMeta, command: ClientMessage) -> CommandResult {
    // The edge already routes by endpoint; checking again keeps a misrouted command
    // (or a bug in a future edge) from acting in the wrong role.
    let info = command.info();
    let command = match command.routed() {
        Routed::Session(command) if info.endpoints.accept(meta.role) => command,
        _ => return Err(not_routed(info.type_name).into()),
    };
    // Exhaustive: a command registered for this service does not compile until it is
    // handled here.
    match command {
        SessionCommand::WorkResponse(command) => work_response::handle(ctx, meta, command).await,
        SessionCommand::MediumSelection(command) => mediums::select(ctx, meta, command).await,
        SessionCommand::MediumShare(command) => mediums::share(ctx, meta, command).await,
        SessionCommand::CancelConnection(command) => end_session::cancel(ctx, meta, command).await,
        SessionCommand::FinishService(command) => end_session::finish(ctx, meta, command).await,
    }
}
