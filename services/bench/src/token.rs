//! HS256 client tokens (the contract's `sub` = user id, `exp` required).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The claims the bench mints and the floor checks.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Mints a token for `sub`, valid for `ttl_s` seconds.
pub fn mint(key: &EncodingKey, sub: Uuid, ttl_s: u64) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = Claims {
        sub: sub.to_string(),
        exp: now + ttl_s,
        name: Some("Bench User".to_owned()),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        key,
    )?)
}

/// Checks a token (HS256 only, `exp` required, 5 s leeway) and returns its user id.
pub fn verify(key: &DecodingKey, token: &str) -> Option<Uuid> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).ok()?;
    Uuid::parse_str(&data.claims.sub).ok()
}
