//! Users are created on first authenticated contact (any API request, any socket).

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgExecutor;
use uuid::Uuid;

/// Users this instance has written or confirmed, with the token name last stored.
const MAX_KNOWN: usize = 100_000;

/// The users this instance knows to exist with a given token name, so a request from a
/// known user with an unchanged name costs no round trip. Rows are never deleted, so
/// "exists" cannot go stale; the name can only if two instances see alternating names for
/// one user at the same time, and then the display-name fallback lags by one change.
#[derive(Debug, Default)]
pub struct KnownUsers {
    names: Mutex<HashMap<Uuid, Option<String>>>,
}

impl KnownUsers {
    /// Creates the user or refreshes the token name, unless nothing would change.
    pub async fn ensure<'e>(
        &self,
        db: impl PgExecutor<'e>,
        user_id: Uuid,
        token_name: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let known = self.lock().get(&user_id).cloned();
        // A token without a name never erases a known one.
        if let Some(stored) = known
            && (token_name.is_none() || stored.as_deref() == token_name)
        {
            return Ok(());
        }
        upsert(db, user_id, token_name).await?;
        let mut names = self.lock();
        if names.len() >= MAX_KNOWN {
            names.clear();
        }
        let entry = names.entry(user_id).or_insert(None);
        if token_name.is_some() {
            *entry = token_name.map(str::to_string);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Option<String>>> {
        // Every mutation is one insert or clear: a poisoned map is still consistent.
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The statement of [`upsert`]: $1 the user, $2 the token's name (may be null).
pub const UPSERT_USER: &str = "INSERT INTO users (id, token_name)
         SELECT $1, $2
         WHERE NOT EXISTS (
             SELECT 1 FROM users
             WHERE id = $1 AND ($2::text IS NULL OR token_name IS NOT DISTINCT FROM $2)
         )
         ON CONFLICT (id) DO UPDATE SET token_name = EXCLUDED.token_name, updated_at = now()
         WHERE EXCLUDED.token_name IS NOT NULL
           AND users.token_name IS DISTINCT FROM EXCLUDED.token_name";

/// Creates the user when missing and remembers the token's `name` claim (the display-name
/// fallback). A token without `name` never erases a known one. Runs on every API request
/// and connect, so the common case (known user, same name) must stay a read: the guard
/// skips the insert, because even a no-op `ON CONFLICT DO UPDATE` locks the row and makes
/// the commit wait for a WAL flush.
async fn upsert<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    token_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(UPSERT_USER)
        .bind(user_id)
        .bind(token_name)
        .execute(db)
        .await?;
    Ok(())
}
