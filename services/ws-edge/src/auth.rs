//! JWT authentication: HS256 (pinned), `exp` required, 5 s leeway, optional `aud`/`iss`.
//! The `name` claim is cleaned before anyone stores it ([`clean_token_name`]).

use std::collections::HashMap;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

/// Clock leeway for `exp` / `nbf`, per the contract.
pub const LEEWAY_S: u64 = 5;

/// The `name` claim is cut to this many characters (the profile's `display_name` limit).
pub const TOKEN_NAME_MAX_CHARS: usize = 100;

/// The `name` claim as it may be stored and shown: control characters (C0, DEL, C1,
/// U+0000 included) and the bidirectional formatting characters (U+061C, U+200E/F,
/// U+202A-U+202E, U+2066-U+2069, which can make a name display as something else) removed,
/// surrounding whitespace trimmed, at most [`TOKEN_NAME_MAX_CHARS`] characters; `None`
/// when nothing is left.
pub fn clean_token_name(name: &str) -> Option<String> {
    let is_bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let kept: String = name
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi(c))
        .collect();
    let cut: String = kept.trim().chars().take(TOKEN_NAME_MAX_CHARS).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_string())
}

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
        let token_name = data.claims.name.as_deref().and_then(clean_token_name);
        Some(AuthUser {
            user_id,
            token_name,
            valid_until: data.claims.exp.saturating_add(LEEWAY_S),
        })
    }

    /// For WebSocket upgrades: finds the token in `Authorization: Bearer` or `?token=`
    /// (browsers cannot set headers on a WebSocket) and verifies it.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Option<AuthUser> {
        let token = bearer(headers).or_else(|| query.get("token").map(String::as_str))?;
        self.verify(token)
    }

    /// For the HTTP API: only the `Authorization: Bearer` header counts; a `?token=`
    /// there is not accepted (it would end up in proxy and access logs and browser
    /// history, and only WebSockets need it).
    pub fn authenticate_header(&self, headers: &HeaderMap) -> Option<AuthUser> {
        self.verify(bearer(headers)?)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
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

    #[test]
    fn token_names_are_cleaned() {
        assert_eq!(clean_token_name("Ann").as_deref(), Some("Ann"));
        assert_eq!(clean_token_name("  Ann Lee ").as_deref(), Some("Ann Lee"));
        assert_eq!(clean_token_name("   "), None);
        assert_eq!(clean_token_name("\u{0}\u{7}\n"), None);
        assert_eq!(
            clean_token_name("Ann\u{0}\u{202E}evil\u{2066}\u{1b}[31m\u{85}").as_deref(),
            Some("Annevil[31m")
        );
        let long = "é".repeat(300);
        assert_eq!(
            clean_token_name(&long).map(|n| n.chars().count()),
            Some(100)
        );
        // Accents, emoji and scripts stay.
        assert_eq!(
            clean_token_name("Zoë 🚀 ليلى").as_deref(),
            Some("Zoë 🚀 ليلى")
        );
        let auth = Authenticator::new("s3cret", None, None);
        let id = Uuid::new_v4();
        let token = sign(
            json!({"sub": id, "exp": now() + 60, "name": "\u{202E}Mallory\u{0}"}),
            Algorithm::HS256,
            "s3cret",
        );
        assert_eq!(
            auth.verify(&token).and_then(|u| u.token_name).as_deref(),
            Some("Mallory")
        );
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
