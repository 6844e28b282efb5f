//! `GET/PUT /api/v1/profile`.

use tether_proto::WireError;
use tether_proto::api::{ApiReply, ApiRequest, PutProfileBody, parse_body};
use tether_proto::errors::{
    DISPLAY_NAME_REQUIRED, MOBILE_INVALID, display_name_invalid, profile_pic_url_invalid,
};
use tether_proto::limits::{DISPLAY_NAME_MAX_CHARS, PROFILE_PIC_URL_MAX_CHARS};
use tether_proto::model::Profile;
use tether_proto::validate::{char_len, is_phone_number};
use uuid::Uuid;

use super::{ApiResult, body_has};
use crate::context::Ctx;

#[derive(Debug, sqlx::FromRow)]
struct ProfileRow {
    id: Uuid,
    display_name: Option<String>,
    mobile: Option<String>,
    profile_pic_url: Option<String>,
}

impl From<ProfileRow> for Profile {
    fn from(row: ProfileRow) -> Self {
        Profile {
            user_id: row.id,
            display_name: row.display_name,
            mobile: row.mobile,
            profile_pic_url: row.profile_pic_url,
        }
    }
}

/// An optional profile field in a PUT: absent keeps it, `null` clears it, a value sets it.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    Keep,
    Set(Option<String>),
}

impl Change {
    fn replaces(&self) -> bool {
        matches!(self, Self::Set(_))
    }
    fn value(&self) -> Option<&str> {
        match self {
            Self::Set(value) => value.as_deref(),
            Self::Keep => None,
        }
    }
}

/// A validated profile update.
#[derive(Debug, Clone, PartialEq)]
struct ProfileUpdate {
    display_name: String,
    mobile: Change,
    profile_pic_url: Change,
}

impl ProfileUpdate {
    /// Validation choices: `display_name` is required, 1-100 characters after trimming
    /// (stored trimmed). `mobile` and `profile_pic_url` are optional: a field left out
    /// keeps its value, `null` clears it; a mobile is an optional `+` and 7-15 digits, a
    /// picture an `http://` or `https://` URL of at most 2048 characters.
    fn parse(request: &ApiRequest) -> Result<Self, WireError> {
        let body: PutProfileBody = parse_body(request.body.as_ref())?;
        let display_name = body
            .display_name
            .ok_or_else(|| WireError::validation(DISPLAY_NAME_REQUIRED))?;
        let display_name = display_name.trim();
        if !(1..=DISPLAY_NAME_MAX_CHARS).contains(&char_len(display_name)) {
            return Err(WireError::validation(display_name_invalid()));
        }
        let mobile = match body.mobile {
            Some(mobile) if !is_phone_number(mobile.trim()) => {
                return Err(WireError::validation(MOBILE_INVALID));
            }
            Some(mobile) => Change::Set(Some(mobile.trim().to_string())),
            None if body_has(request, "mobile") => Change::Set(None),
            None => Change::Keep,
        };
        let profile_pic_url = match body.profile_pic_url {
            Some(url) if !is_http_url(url.trim()) => {
                return Err(WireError::validation(profile_pic_url_invalid()));
            }
            Some(url) => Change::Set(Some(url.trim().to_string())),
            None if body_has(request, "profile_pic_url") => Change::Set(None),
            None => Change::Keep,
        };
        Ok(Self {
            display_name: display_name.to_string(),
            mobile,
            profile_pic_url,
        })
    }
}

/// An absolute `http(s)://host...` URL without whitespace or control characters.
fn is_http_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    char_len(text) <= PROFILE_PIC_URL_MAX_CHARS
        && !host.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// User $1's profile update: display name $2; mobile $4 when $3; picture $6 when $5.
pub const PUT_PROFILE: &str = "UPDATE users SET display_name = $2,
                mobile = CASE WHEN $3 THEN $4 ELSE mobile END,
                profile_pic_url = CASE WHEN $5 THEN $6 ELSE profile_pic_url END,
                updated_at = now()
         WHERE id = $1
         RETURNING id, COALESCE(display_name, token_name) AS display_name, mobile, profile_pic_url";

/// User $1's profile.
pub const GET_PROFILE: &str =
    "SELECT id, COALESCE(display_name, token_name) AS display_name, mobile, profile_pic_url
         FROM users WHERE id = $1";

/// `PUT /api/v1/profile`: answers the profile as `GET` would.
pub async fn put(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let update = ProfileUpdate::parse(request)?;
    let row: ProfileRow = sqlx::query_as(PUT_PROFILE)
        .bind(request.user_id)
        .bind(&update.display_name)
        .bind(update.mobile.replaces())
        .bind(update.mobile.value())
        .bind(update.profile_pic_url.replaces())
        .bind(update.profile_pic_url.value())
        .fetch_one(&ctx.pool)
        .await?;
    Ok(ApiReply::ok(&Profile::from(row)))
}

/// `GET /api/v1/profile`: `display_name` falls back to the token's `name` claim.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let row: ProfileRow = sqlx::query_as(GET_PROFILE)
        .bind(request.user_id)
        .fetch_one(&ctx.pool)
        .await?;
    Ok(ApiReply::ok(&Profile::from(row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        assert!(is_http_url("https://cdn.example.com/a.png"));
        assert!(is_http_url("HTTP://example.com"));
        assert!(!is_http_url("ftp://example.com/a.png"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///path"));
        assert!(!is_http_url("https://exa mple.com"));
        assert!(!is_http_url("javascript:alert(1)"));
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(!is_http_url(&long));
    }
}
