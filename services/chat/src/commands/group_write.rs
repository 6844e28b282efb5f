//! The fallback both group-commit writers (messages, receipts) share: one statement for
//! the whole group, and if it fails, one statement per item, so one bad item (or a
//! deadlock with another instance) never fails the others.

use std::future::Future;

use tether_platform::HandlerError;

/// Writes `items` with one call of `write`, which must answer one row per item in order;
/// if it fails or answers a wrong count, writes each item on its own. `what` names the
/// writer in logs.
pub(crate) async fn all_or_each<'a, T, R, F, Fut>(
    what: &'static str,
    items: &'a [T],
    write: F,
) -> Vec<Result<R, HandlerError>>
where
    F: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = sqlx::Result<Vec<R>>>,
{
    let count = items.len();
    match write(items).await {
        Ok(rows) if rows.len() == count => return rows.into_iter().map(Ok).collect(),
        Ok(_) => tracing::error!(
            what,
            count,
            "group write answered a wrong row count; writing one by one"
        ),
        Err(err) => {
            tracing::warn!(what, count, error = %err, "group write failed; writing one by one")
        }
    }
    let mut answers = Vec::with_capacity(count);
    for item in items {
        answers.push(match write(std::slice::from_ref(item)).await {
            Ok(mut rows) if rows.len() == 1 => Ok(rows.remove(0)),
            Ok(_) => Err(HandlerError::invariant("group write row count")),
            Err(err) => Err(err.into()),
        });
    }
    answers
}
