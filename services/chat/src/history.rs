//! `GET /api/v1/sessions/{session_id}/messages`: chat history, newest page first, each
//! page oldest first.
//!
//! - Either party may read it (any role), also after the session ended, until expiry;
//!   anyone else gets 404, as for an unknown or malformed session id.
//! - `limit`: default 50; an integer in 1..=200, else 400 (not clamped, so a client bug
//!   shows instead of silently getting a different page size).
//! - `before`: a `message_id` of this session; the page holds the `limit` messages just
//!   older than it. Not a UUID: 400. Not a message of this session (or expired): 404.
//! - `has_more`: whether messages older than the page's first exist.
//! - Order is `seq`, the order PostgreSQL assigned.

use std::collections::BTreeMap;

use tether_proto::WireError;
use tether_proto::api::{ApiOp, ApiReply, ApiRequest};
use tether_proto::errors::{BEFORE_INVALID, MESSAGE_NOT_FOUND, NOT_FOUND, limit_invalid};
use tether_proto::limits::{HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT};
use tether_proto::model::MessagePage;
use uuid::Uuid;

use crate::context::Chat;
use crate::rows::MessageRow;
use tether_platform::HandlerError;

/// Whether the user is a party of the session (either role).
pub const IS_PARTY: &str = "
SELECT EXISTS (
    SELECT 1 FROM work_sessions WHERE id = $1 AND (seeker_id = $2 OR provider_id = $2)
)";

/// The `seq` of the `before` message, if it is a live message of this session.
pub const BEFORE_SEQ: &str = "
SELECT seq FROM chat_messages
WHERE id = $1 AND session_id = $2 AND (expires_at IS NULL OR expires_at > now())";

/// One page, newest first, one row more than asked to learn `has_more`. The upper bound
/// is an index condition (`coalesce`, not `$2 IS NULL OR ...`), so a page deep in a long
/// chat starts at `before` instead of walking down to it from the newest message.
pub const PAGE: &str = "
SELECT id, session_id, sender_type, message, delivery_status, created_at, delivered_at, read_at,
       redacted
FROM chat_messages
WHERE session_id = $1
  AND seq < coalesce($2::bigint, 9223372036854775807)
  AND (expires_at IS NULL OR expires_at > now())
ORDER BY seq DESC
LIMIT $3";

/// The session id from the path: malformed answers 404 like an unknown session.
pub fn path_session_id(request: &ApiRequest) -> Result<Uuid, WireError> {
    request
        .path_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(WireError::session_not_found)
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Page older than this message.
    pub before: Option<Uuid>,
    /// Page size, 1..=200.
    pub limit: i64,
}

impl PageQuery {
    /// Parses `before` and `limit` from the query string.
    pub fn parse(query: &BTreeMap<String, String>) -> Result<Self, WireError> {
        let limit = match query.get("limit") {
            None => HISTORY_DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=HISTORY_MAX_LIMIT).contains(limit))
                .ok_or_else(|| WireError::validation(limit_invalid(HISTORY_MAX_LIMIT)))?,
        };
        let before = match query.get("before") {
            None => None,
            Some(text) => {
                Some(Uuid::parse_str(text).map_err(|_| WireError::validation(BEFORE_INVALID))?)
            }
        };
        Ok(Self { before, limit })
    }
}

/// Answers one API request addressed to chat.
pub async fn handle(chat: &Chat, request: ApiRequest) -> ApiReply {
    if request.op != ApiOp::SessionMessages {
        return ApiReply::error(&WireError::not_found(NOT_FOUND));
    }
    let kind = request.op.as_str();
    match page(chat, &request).await {
        Ok(page) => ApiReply::ok(&page),
        Err(err) => ApiReply::error(&err.into_wire(kind)),
    }
}

async fn page(chat: &Chat, request: &ApiRequest) -> Result<MessagePage, HandlerError> {
    // The session is checked before the query string, so a stranger learns nothing from
    // which error a bad query gets.
    let session_id = path_session_id(request)?;
    let is_party: bool = sqlx::query_scalar(IS_PARTY)
        .bind(session_id)
        .bind(request.user_id)
        .fetch_one(&chat.pool)
        .await?;
    if !is_party {
        return Err(WireError::session_not_found().into());
    }
    let query = PageQuery::parse(&request.query)?;
    let before_seq = match query.before {
        None => None,
        Some(before) => {
            let seq: Option<i64> = sqlx::query_scalar(BEFORE_SEQ)
                .bind(before)
                .bind(session_id)
                .fetch_optional(&chat.pool)
                .await?;
            Some(seq.ok_or_else(|| WireError::not_found(MESSAGE_NOT_FOUND))?)
        }
    };
    let mut rows: Vec<MessageRow> = sqlx::query_as(PAGE)
        .bind(session_id)
        .bind(before_seq)
        .bind(query.limit + 1)
        .fetch_all(&chat.pool)
        .await?;
    let has_more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    rows.reverse();
    let messages = rows.into_iter().map(MessageRow::view).collect();
    Ok(MessagePage { messages, has_more })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<PageQuery, WireError> {
        PageQuery::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(query(&[]).expect("default").limit, 50);
        assert_eq!(query(&[("limit", "200")]).expect("max").limit, 200);
        assert_eq!(query(&[("limit", "1")]).expect("min").limit, 1);
        for bad in ["0", "-1", "201", "abc", "", "1.5"] {
            assert!(query(&[("limit", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn before_must_be_uuid() {
        assert!(query(&[("before", "nope")]).is_err());
        let id = Uuid::new_v4().to_string();
        assert!(
            query(&[("before", id.as_str())])
                .expect("uuid")
                .before
                .is_some()
        );
    }
}
