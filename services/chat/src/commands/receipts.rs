//! `message_delivered` / `message_read`: the recipient's receipts, forwarded to the sender.

use std::num::NonZeroUsize;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tether_platform::batch::{BatchSettings, Batcher};
use tether_platform::{Reply, Target};
use tether_proto::ConnectionState;
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::{MESSAGE_NOT_FOUND, SESSION_NOT_OPEN};
use tether_proto::model::{DeliveryStatus, Parties, Role};
use tether_proto::{ServerMessage, WireError};
use uuid::Uuid;

use crate::context::Chat;
use tether_platform::HandlerError;
use tether_platform::batch::all_or_each;

/// Which receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// `message_delivered`: `sent -> delivered`.
    Delivered,
    /// `message_read`: `sent|delivered -> read`.
    Read,
}

impl Receipt {
    fn status(self) -> DeliveryStatus {
        match self {
            Self::Delivered => DeliveryStatus::Delivered,
            Self::Read => DeliveryStatus::Read,
        }
    }
}

/// Receipts for a whole batch, in one statement: each `(message, user, role, read)` finds
/// the message if the caller is its recipient (the party of the other role in its
/// session), and moves its status forward while the session is open. The UPDATE's own
/// WHERE on the current status is what makes two instances (or two devices) unable to
/// both change it: the second waits for the first, re-checks and changes nothing. A
/// message appears at most once per statement (see [`rounds`]); none of the columns a
/// receipt changes is indexed, so each update is HOT.
pub const MARK_RECEIPTS: &str = "
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bool[])
        WITH ORDINALITY AS t(message_id, user_id, role, is_read, ord)
), target AS (
    SELECT input.ord, input.is_read, m.id, m.sender_type, s.seeker_id, s.provider_id,
           s.connection_state
    FROM input
    JOIN chat_messages m ON m.id = input.message_id AND m.sender_type <> input.role
    JOIN work_sessions s ON s.id = m.session_id
     AND CASE input.role WHEN 'seeker' THEN s.seeker_id ELSE s.provider_id END = input.user_id
), changed AS (
    UPDATE chat_messages m
    SET delivery_status = CASE WHEN target.is_read THEN 'read' ELSE 'delivered' END,
        delivered_at = COALESCE(m.delivered_at, now()),
        read_at = CASE WHEN target.is_read THEN now() ELSE m.read_at END
    FROM target
    WHERE m.id = target.id
      AND target.connection_state IN ('waiting', 'active')
      AND CASE WHEN target.is_read THEN m.delivery_status <> 'read'
               ELSE m.delivery_status = 'sent' END
    RETURNING m.id, CASE WHEN target.is_read THEN m.read_at ELSE m.delivered_at END AS changed_at
)
SELECT input.ord, target.sender_type, target.seeker_id, target.provider_id,
       target.connection_state, changed.changed_at
FROM input
LEFT JOIN target ON target.ord = input.ord
LEFT JOIN changed ON changed.id = target.id
ORDER BY input.ord";

/// One receipt on its way into the group commit.
#[derive(Debug)]
pub struct PendingReceipt {
    message_id: Uuid,
    user_id: Uuid,
    role: Role,
    receipt: Receipt,
}

/// What the store found for one receipt of a batch.
#[derive(Debug, sqlx::FromRow)]
pub struct ReceiptRow {
    ord: i64,
    sender_type: Option<Role>,
    seeker_id: Option<Uuid>,
    provider_id: Option<Uuid>,
    connection_state: Option<ConnectionState>,
    changed_at: Option<DateTime<Utc>>,
}

/// The group-commit writer of receipts.
pub type ReceiptStore = Batcher<PendingReceipt, Result<ReceiptRow, HandlerError>>;

/// Starts the writers of [`ReceiptStore`]. `pool` commits asynchronously
/// (`synchronous_commit = off`): a receipt lost in a PostgreSQL crash leaves its message
/// `sent` (or `delivered`), so it is re-sent on the next connect, deduplicated by id, and
/// acknowledged again. No message is lost that way; only a status update may repeat.
pub fn receipt_store(pool: PgPool) -> ReceiptStore {
    Batcher::spawn(
        BatchSettings {
            name: "chat_receipts",
            max_batch: NonZeroUsize::new(256).expect("not zero"),
            writers: NonZeroUsize::new(2).expect("not zero"),
        },
        move |batch| {
            let pool = pool.clone();
            async move { store_batch(&pool, batch).await }
        },
    )
}

/// Splits a batch into rounds in which each message appears once (an UPDATE changes a row
/// once per statement), keeping each message's receipts in arrival order.
fn rounds(batch: &[PendingReceipt]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for (index, receipt) in batch.iter().enumerate() {
        let round = seen
            .entry(receipt.message_id)
            .and_modify(|round| *round += 1)
            .or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(index);
    }
    rounds
}

/// Writes each round with one statement (see [`all_or_each`] for the fallback).
async fn store_batch(
    pool: &PgPool,
    batch: Vec<PendingReceipt>,
) -> Vec<Result<ReceiptRow, HandlerError>> {
    let mut answers: Vec<Option<Result<ReceiptRow, HandlerError>>> =
        (0..batch.len()).map(|_| None).collect();
    for round in rounds(&batch) {
        let items: Vec<&PendingReceipt> = round.iter().map(|&i| &batch[i]).collect();
        let written = all_or_each("chat_receipts", &items, |group| store(pool, group)).await;
        for (&index, answer) in round.iter().zip(written) {
            answers[index] = Some(answer);
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| Err(HandlerError::invariant("receipt not answered")))
        })
        .collect()
}

async fn store(pool: &PgPool, items: &[&PendingReceipt]) -> sqlx::Result<Vec<ReceiptRow>> {
    let ids: Vec<Uuid> = items.iter().map(|r| r.message_id).collect();
    let users: Vec<Uuid> = items.iter().map(|r| r.user_id).collect();
    let roles: Vec<&str> = items.iter().map(|r| r.role.as_str()).collect();
    let reads: Vec<bool> = items.iter().map(|r| r.receipt == Receipt::Read).collect();
    sqlx::query_as(MARK_RECEIPTS)
        .bind(ids)
        .bind(users)
        .bind(roles)
        .bind(reads)
        .fetch_all(pool)
        .await
}

/// Handles a receipt. The caller gets no answer on success (the contract names none);
/// the sender's sockets get `message_status_update` once per forward step. A repeat, or a
/// `delivered` after `read`, changes nothing and sends nothing.
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    receipt: Receipt,
    message_id: Option<String>,
) -> Result<Reply, HandlerError> {
    let message_id = super::message_id(message_id.as_deref())?;
    let row = chat
        .receipts
        .submit(PendingReceipt {
            message_id,
            user_id: meta.user_id,
            role: meta.role,
            receipt,
        })
        .await
        .map_err(|_| HandlerError::invariant("receipt writer stopped"))??;
    let (Some(sender), Some(seeker_id), Some(provider_id), Some(state)) = (
        row.sender_type,
        row.seeker_id,
        row.provider_id,
        row.connection_state,
    ) else {
        return Err(WireError::not_found(MESSAGE_NOT_FOUND).into());
    };
    debug_assert!(row.ord >= 1);
    if !state.is_open() {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    }
    let Some(changed_at) = row.changed_at else {
        return Ok(Reply::none());
    };
    let parties = Parties {
        seeker_id,
        provider_id,
    };
    chat.outbox
        .send(
            sender,
            parties.user(sender),
            Target::All,
            ServerMessage::MessageStatusUpdate {
                message_id,
                status: receipt.status(),
                timestamp: changed_at.into(),
            },
        )
        .await;
    Ok(Reply::none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(message_id: Uuid) -> PendingReceipt {
        PendingReceipt {
            message_id,
            user_id: Uuid::nil(),
            role: Role::Seeker,
            receipt: Receipt::Delivered,
        }
    }

    #[test]
    fn a_message_appears_once_per_round_in_arrival_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let batch = [receipt(a), receipt(b), receipt(a), receipt(a), receipt(b)];
        assert_eq!(rounds(&batch), vec![vec![0, 1], vec![2, 4], vec![3]]);
    }
}
