//! Users are created on first authenticated contact (any API request, any socket).

use sqlx::PgExecutor;
use uuid::Uuid;

/// Creates the user when missing and remembers the token's `name` claim (the display-name
/// fallback). A token without `name` never erases a known one, and an unchanged name
/// writes nothing, so the common case is a read.
pub async fn upsert<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    token_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, token_name) VALUES ($1, $2)
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
