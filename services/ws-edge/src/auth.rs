//! JWT authentication: HS256 (pinned), `exp` required, 5 s leeway, optional `aud`/`iss`.

use std::collections::HashMap;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

/// Clock leeway for `exp` / `nbf`, per the contract.
pub const LEEWAY_S: u64 = 5;

/// The claims Tether reads.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    name: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The `sub` claim.
    pub user_id: Uuid,
    /// The `name` claim (display-name fallback).
    pub token_name: Option<String>,
    /// When the token stops being valid (Unix seconds, leeway included).
    pub valid_until: u64,
}

/// Verifies tokens with one fixed key and algorithm.
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for HS256 with `secret`, checking `aud`/`iss` when given.
    pub fn new(secret: &str, audience: Option<&str>, issuer: Option<&str>) -> Self {
        // Only the configured algorithm: a token claiming `none` or RS256 is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_S;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Self {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Verifies `token`; `None` for anything missing, malformed, expired or badly signed.
    pub fn verify(&self, token: &str) -> Option<AuthUser> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).ok()?;
        let user_id = Uuid::parse_str(&data.claims.sub).ok()?;
        let token_name = data.claims.name.filter(|n| !n.trim().is_empty());
        Some(AuthUser {
            user_id,
            token_name,
            valid_until: data.claims.exp.saturating_add(LEEWAY_S),
        })
    }

    /// Finds the token in `Authorization: Bearer` or `?token=` and verifies it.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Option<AuthUser> {
        let from_header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim);
        let token = from_header.or_else(|| query.get("token").map(String::as_str))?;
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    fn sign(claims: serde_json::Value, alg: Algorithm, secret: &str) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("sign")
    }

    fn now() -> u64 {
        chrono::Utc::now().timestamp() as u64
    }

    #[test]
    fn accepts_valid_and_rejects_bad_tokens() {
        let auth = Authenticator::new("s3cret", None, None);
        let id = Uuid::new_v4();
        let good = sign(
            json!({"sub": id, "exp": now() + 60, "name": "Ann"}),
            Algorithm::HS256,
            "s3cret",
        );
        let user = auth.verify(&good).expect("valid");
        assert_eq!(user.user_id, id);
        assert_eq!(user.token_name.as_deref(), Some("Ann"));
        assert!(
            auth.verify(&sign(
                json!({"sub": id, "exp": now() + 60}),
                Algorithm::HS256,
                "other"
            ))
            .is_none()
        );
        assert!(
            auth.verify(&sign(
                json!({"sub": id, "exp": now() - 60}),
                Algorithm::HS256,
                "s3cret"
            ))
            .is_none()
        );
        assert!(
            auth.verify(&sign(json!({"sub": id}), Algorithm::HS256, "s3cret"))
                .is_none()
        );
        assert!(
            auth.verify(&sign(
                json!({"sub": "nope", "exp": now() + 60}),
                Algorithm::HS256,
                "s3cret"
            ))
            .is_none()
        );
        assert!(
            auth.verify(&sign(
                json!({"sub": id, "exp": now() + 60}),
                Algorithm::HS384,
                "s3cret"
            ))
            .is_none()
        );
        assert!(auth.verify("not.a.jwt").is_none());
        // Within the 5 s leeway still valid.
        assert!(
            auth.verify(&sign(
                json!({"sub": id, "exp": now() - 2}),
                Algorithm::HS256,
                "s3cret"
            ))
            .is_some()
        );
        // alg=none, unsigned.
        let none = format!(
            "{}.{}.",
            base64url(br#"{"alg":"none","typ":"JWT"}"#),
            base64url(json!({"sub": id, "exp": now() + 60}).to_string().as_bytes())
        );
        assert!(auth.verify(&none).is_none());
    }

    #[test]
    fn audience_and_issuer_enforced_when_set() {
        let auth = Authenticator::new("k", Some("tether"), Some("idp"));
        let id = Uuid::new_v4();
        let ok = sign(
            json!({"sub": id, "exp": now() + 60, "aud": "tether", "iss": "idp"}),
            Algorithm::HS256,
            "k",
        );
        assert!(auth.verify(&ok).is_some());
        let wrong_aud = sign(
            json!({"sub": id, "exp": now() + 60, "aud": "x", "iss": "idp"}),
            Algorithm::HS256,
            "k",
        );
        assert!(auth.verify(&wrong_aud).is_none());
        let no_iss = sign(
            json!({"sub": id, "exp": now() + 60, "aud": "tether"}),
            Algorithm::HS256,
            "k",
        );
        assert!(auth.verify(&no_iss).is_none());
    }

    fn base64url(bytes: &[u8]) -> String {
        const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
