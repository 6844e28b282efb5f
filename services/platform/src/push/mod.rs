//! Push webhooks for users with no open socket (protocol 1.1, "Push for offline users"),
//! through an outbox in PostgreSQL.
//!
//! - Enqueue: the statement that stores what an event announces (a chat message, a work
//!   order) also inserts its row into `push_events`, when push is on ([`PushSwitch`]) and
//!   the addressee has no open socket for that role (`user_presence`). The body is built
//!   by the SQL function `push_event_body` at that moment and never changes, so every try
//!   signs and sends the same bytes.
//! - Send: [`sender::Sender`] (run by the cleanup service) claims due rows, POSTs each
//!   with its [`signature`], and records the outcome. A recorded 2xx is final; a failure
//!   is retried after [`retry_delay`] until [`MAX_TRIES`] tries have failed.
//!
//! Logs carry event ids and failure reasons, never bodies, the URL or the secret.

pub mod config;
pub mod events;
pub mod sender;
pub mod signature;
pub mod webhook;

use std::time::Duration;

pub use config::{PushSwitch, SenderConfig};
pub use sender::Sender;

/// An answer must arrive within this long, or the try failed (the contract's 5 s).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Tries per event at most, the first included (the contract's 6).
pub const MAX_TRIES: i32 = 6;

/// The wait after the first failed try; each later failure doubles it (the contract's
/// 1 s, 2 s, 4 s, ...).
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Tether-Signature";

/// How long after its `failed_tries`-th failure (1-based) an event is tried again, with
/// `first` after the first failure: `first`, `2 first`, `4 first`, ...
pub fn retry_delay(first: Duration, failed_tries: i32) -> Duration {
    let doublings = u32::try_from(failed_tries.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    first.saturating_mul(1 << doublings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second() {
        let delays: Vec<u64> = (1..MAX_TRIES)
            .map(|tries| retry_delay(FIRST_RETRY, tries).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16]);
    }
}
