//! A seeker's rating, validated once for `finish_service` and the rating endpoint.

use serde_json::Value;
use tether_proto::WireError;
use tether_proto::errors::{
    RATING_STARS_REQUIRED_WITH_DESCRIPTION, rating_description_invalid, rating_stars_invalid,
};
use tether_proto::limits::{RATING_DESCRIPTION_MAX_CHARS, RATING_MAX_STARS, RATING_MIN_STARS};
use tether_proto::validate::char_len;

/// Stars 1-5 and an optional text of at most 1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// 1-5.
    pub stars: i16,
    /// At most 1000 characters.
    pub description: Option<String>,
}

impl Rating {
    /// Validates optional rating fields: nothing given -> `Ok(None)`; `rating_stars` must
    /// be a JSON integer 1-5 (5.0 or "5" are refused); `rating_description` a string of
    /// at most 1000 characters or null, and only together with stars.
    pub fn parse(
        stars: Option<&Value>,
        description: Option<&Value>,
    ) -> Result<Option<Self>, WireError> {
        let description = match description {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if char_len(text) <= RATING_DESCRIPTION_MAX_CHARS => {
                Some(text.clone())
            }
            Some(_) => {
                return Err(WireError::validation(rating_description_invalid()));
            }
        };
        let stars = match stars {
            None | Some(Value::Null) if description.is_some() => {
                return Err(WireError::validation(
                    RATING_STARS_REQUIRED_WITH_DESCRIPTION,
                ));
            }
            None | Some(Value::Null) => return Ok(None),
            Some(value) => value
                .as_i64()
                .filter(|stars| (RATING_MIN_STARS..=RATING_MAX_STARS).contains(stars))
                .and_then(|stars| i16::try_from(stars).ok())
                .ok_or_else(|| WireError::validation(rating_stars_invalid()))?,
        };
        Ok(Some(Self { stars, description }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rating_rules() {
        assert_eq!(Rating::parse(None, None), Ok(None));
        assert_eq!(
            Rating::parse(Some(&json!(null)), Some(&json!(null))),
            Ok(None)
        );
        assert_eq!(
            Rating::parse(Some(&json!(5)), Some(&json!("great"))),
            Ok(Some(Rating {
                stars: 5,
                description: Some("great".into())
            }))
        );
        for bad in [
            json!(0),
            json!(6),
            json!(4.5),
            json!(5.0),
            json!("5"),
            json!(true),
        ] {
            assert!(Rating::parse(Some(&bad), None).is_err(), "{bad}");
        }
        assert!(Rating::parse(None, Some(&json!("text"))).is_err());
        assert!(Rating::parse(Some(&json!(3)), Some(&json!(3))).is_err());
        let long = "x".repeat(1001);
        assert!(Rating::parse(Some(&json!(3)), Some(&json!(long))).is_err());
        let max = "é".repeat(1000);
        assert!(Rating::parse(Some(&json!(3)), Some(&json!(max))).is_ok());
    }
}
