//! Development JWTs: HS256 tokens with the claims ws-edge checks (`sub`, `exp`, optional
//! `name`, `aud`, `iss`). For local stacks and demos; production tokens come from the
//! operator's identity provider signed with the same secret or key.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use uuid::Uuid;

/// The development secret ws-edge uses when `TETHER_JWT_SECRET` is not set.
pub const DEV_SECRET: &str = "tether-dev-secret-change-me";

/// Default token lifetime: 24 hours.
pub const DEFAULT_TTL_S: u64 = 86_400;

/// The signing settings every tool that mints tokens takes: `--secret` (or
/// `TETHER_JWT_SECRET`), `--audience`, `--issuer`, as ws-edge is configured.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningArgs {
    /// HS256 secret; must equal ws-edge's.
    #[arg(long, env = "TETHER_JWT_SECRET", default_value = DEV_SECRET, hide_env_values = true)]
    pub secret: String,
    /// `aud` claim (set when ws-edge has TETHER_JWT_AUDIENCE).
    #[arg(long, env = "TETHER_JWT_AUDIENCE")]
    pub audience: Option<String>,
    /// `iss` claim (set when ws-edge has TETHER_JWT_ISSUER).
    #[arg(long, env = "TETHER_JWT_ISSUER")]
    pub issuer: Option<String>,
}

impl SigningArgs {
    /// The same with an empty audience or issuer (e.g. `TETHER_JWT_AUDIENCE=` in a shell
    /// profile) taken as unset.
    pub fn normalized(self) -> Self {
        let non_empty = |value: Option<String>| value.filter(|text| !text.is_empty());
        Self {
            secret: self.secret,
            audience: non_empty(self.audience),
            issuer: non_empty(self.issuer),
        }
    }
}

/// What to put in a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The user id (`sub`).
    pub user_id: Uuid,
    /// Display-name fallback (`name`).
    pub name: Option<String>,
    /// Seconds until `exp`.
    pub ttl_s: u64,
    /// `aud`, when the edge is configured with `TETHER_JWT_AUDIENCE`.
    pub audience: Option<String>,
    /// `iss`, when the edge is configured with `TETHER_JWT_ISSUER`.
    pub issuer: Option<String>,
}

/// The claims of a minted token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// Display-name fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// A minted token and what a caller needs beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Minted {
    /// The user id the token speaks for.
    pub user_id: Uuid,
    /// The JWT.
    pub token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
}

/// Signs `request` with HS256 and `secret`, issued at `now_s` (Unix seconds).
pub fn mint_at(request: &TokenRequest, secret: &str, now_s: u64) -> anyhow::Result<Minted> {
    if secret.is_empty() {
        bail!("the JWT secret is empty (set TETHER_JWT_SECRET or --secret)");
    }
    if request.ttl_s == 0 {
        bail!("--ttl-s must be at least 1");
    }
    let expires_at = now_s.saturating_add(request.ttl_s);
    let claims = Claims {
        sub: request.user_id.to_string(),
        iat: now_s,
        exp: expires_at,
        name: request.name.clone(),
        aud: request.audience.clone(),
        iss: request.issuer.clone(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("signing the token")?;
    Ok(Minted {
        user_id: request.user_id,
        token,
        expires_at,
    })
}

/// Signs `request` with HS256 and `secret`, issued now.
pub fn mint(request: &TokenRequest, secret: &str) -> anyhow::Result<Minted> {
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    mint_at(request, secret, now_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn minted_token_verifies_with_the_same_secret_and_audience() {
        let user_id = Uuid::new_v4();
        let request = TokenRequest {
            user_id,
            name: Some("Demo".into()),
            ttl_s: 60,
            audience: Some("tether".into()),
            issuer: Some("dev".into()),
        };
        let minted = mint(&request, "s3cret").expect("mint");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["tether"]);
        validation.set_issuer(&["dev"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &minted.token,
            &DecodingKey::from_secret(b"s3cret"),
            &validation,
        )
        .expect("valid token");
        assert_eq!(data.claims["sub"], user_id.to_string());
        assert_eq!(data.claims["name"], "Demo");
        assert_eq!(
            data.claims["exp"].as_u64().expect("exp"),
            data.claims["iat"].as_u64().expect("iat") + 60
        );
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &minted.token,
                &DecodingKey::from_secret(b"other"),
                &validation,
            )
            .is_err()
        );
    }

    #[test]
    fn omits_unset_claims_and_rejects_bad_input() {
        let request = TokenRequest {
            user_id: Uuid::nil(),
            name: None,
            ttl_s: 10,
            audience: None,
            issuer: None,
        };
        let minted = mint_at(&request, "k", 1_000).expect("mint");
        assert_eq!(minted.expires_at, 1_010);
        let claims: serde_json::Value =
            jsonwebtoken::dangerous::insecure_decode_claims(&minted.token).expect("claims");
        assert_eq!(
            claims,
            serde_json::json!({"sub": Uuid::nil().to_string(), "iat": 1_000, "exp": 1_010})
        );
        assert!(mint_at(&request, "", 1_000).is_err());
        let zero = TokenRequest {
            ttl_s: 0,
            ..request
        };
        assert!(mint_at(&zero, "k", 1_000).is_err());
    }
}
