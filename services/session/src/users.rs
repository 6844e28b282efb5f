//! Users are created on first authenticated contact (any API request, any socket).

use sqlx::PgExecutor;
use uuid::Uuid;

/// Creates the user when missing and remembers the token's `name` claim (the display-name
/// fallback). A token without `name` never erases a known one. Runs on every API request
/// and connect, so the common case (known user, same name) must stay a read: the guard
/// skips the insert, because even a no-op `ON CONFLICT DO UPDATE` locks the row and makes
/// the commit wait for a WAL flush.
pub async fn upsert<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    token_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, token_name)
         SELECT $1, $2
         WHERE NOT EXISTS (
             SELECT 1 FROM users
             WHERE id = $1 AND ($2::text IS NULL OR token_name IS NOT DISTINCT FROM $2)
         )
         ON CONFLICT (id) DO UPDATE SET token_name = EXCLUDED.token_name, updated_at = now()
         WHERE EXCLUDED.token_name IS NOT NULL
           AND users.token_name IS DISTINCT FROM EXCLUDED.token_name",
    )
    .bind(user_id)
    .bind(token_name)
    .execute(db)
    .await?;
    Ok(())
}
