//! Small validators shared by the services, so each rule is written once.

use uuid::Uuid;

use crate::errors::{
    ACCURACY_INVALID, LATITUDE_INVALID, LATITUDE_REQUIRED, LONGITUDE_INVALID, LONGITUDE_REQUIRED,
    SESSION_ID_REQUIRED, WireError,
};
use crate::limits::{PHONE_MAX_DIGITS, PHONE_MIN_DIGITS};

/// Optional leading `+`, then 7 to 15 ASCII digits.
pub fn is_phone_number(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    (PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A session id from a client message: missing -> `validation: session_id is required`;
/// not a UUID -> `not_found` (the same answer as a session that is not the caller's).
pub fn session_id(value: Option<&str>) -> Result<Uuid, WireError> {
    let text = value.ok_or_else(|| WireError::validation(SESSION_ID_REQUIRED))?;
    Uuid::parse_str(text).map_err(|_| WireError::session_not_found())
}

/// A latitude/longitude pair: both present, finite and in range.
pub fn coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Result<(f64, f64), WireError> {
    let latitude = latitude.ok_or_else(|| WireError::validation(LATITUDE_REQUIRED))?;
    let longitude = longitude.ok_or_else(|| WireError::validation(LONGITUDE_REQUIRED))?;
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(WireError::validation(LATITUDE_INVALID));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
        return Err(WireError::validation(LONGITUDE_INVALID));
    }
    Ok((latitude, longitude))
}

/// v1.1 `accuracy_m`: absent is `None` (a precise fix); present, it must be a finite
/// number of at least 0 (`null`, strings and negatives are refused).
pub fn accuracy(accuracy_m: Option<&serde_json::Value>) -> Result<Option<f64>, WireError> {
    let Some(value) = accuracy_m else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(metres) if metres.is_finite() && metres >= 0.0 => Ok(Some(metres)),
        _ => Err(WireError::validation(ACCURACY_INVALID)),
    }
}

/// Counts characters (Unicode scalar values), the unit every text limit uses.
///
/// A text containing U+0000 counts as `usize::MAX`, longer than any limit: PostgreSQL
/// cannot store that character in `text`, so every length rule built on this function
/// refuses it as `validation` (400) instead of failing later as `internal` (500).
pub fn char_len(text: &str) -> usize {
    if has_nul(text) {
        return usize::MAX;
    }
    text.chars().count()
}

/// Whether `text` contains U+0000, which PostgreSQL cannot store in `text` or `jsonb`.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// Whether any string in `value` (object keys included) contains U+0000: the edge
/// refuses such a client body as `validation` before any service sees it.
pub fn json_has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => has_nul(text),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| has_nul(key) || json_has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_is_absent_or_a_finite_non_negative_number() {
        use serde_json::json;
        assert_eq!(accuracy(None), Ok(None));
        assert_eq!(accuracy(Some(&json!(0))), Ok(Some(0.0)));
        assert_eq!(accuracy(Some(&json!(12.5))), Ok(Some(12.5)));
        for bad in [
            json!(null),
            json!(-0.1),
            json!("5"),
            json!(true),
            json!([1]),
        ] {
            assert_eq!(
                accuracy(Some(&bad)).map_err(|e| e.code),
                Err(crate::ErrorCode::Validation),
                "{bad}"
            );
        }
    }

    #[test]
    fn phone_numbers() {
        assert!(is_phone_number("+1234567"));
        assert!(is_phone_number("123456789012345"));
        assert!(!is_phone_number("1234567890123456"));
        assert!(!is_phone_number("+"));
        assert!(!is_phone_number("+12 34567"));
    }

    #[test]
    fn session_ids() {
        assert_eq!(
            session_id(None),
            Err(WireError::validation(SESSION_ID_REQUIRED))
        );
        assert_eq!(
            session_id(Some("nope")),
            Err(WireError::session_not_found())
        );
        assert!(session_id(Some("6f1c1f9e-1d3c-4a57-9b53-0b7b0f0e8a11")).is_ok());
    }

    #[test]
    fn nul_characters() {
        assert_eq!(char_len("héllo"), 5);
        assert_eq!(char_len(""), 0);
        assert_eq!(char_len("a\0b"), usize::MAX);
        assert!(!(1..=2000).contains(&char_len("\0")));
        assert!(json_has_nul(
            &serde_json::json!({"a": [1, {"b": "x\u{0}"}]})
        ));
        assert!(json_has_nul(&serde_json::json!({"k\u{0}": 1})));
        assert!(!json_has_nul(
            &serde_json::json!({"a": [1, null, true, {"b": "x"}]})
        ));
    }

    #[test]
    fn coordinate_ranges() {
        assert!(coordinates(Some(90.0), Some(-180.0)).is_ok());
        assert!(coordinates(Some(90.1), Some(0.0)).is_err());
        assert!(coordinates(Some(0.0), Some(180.5)).is_err());
        assert!(coordinates(Some(f64::NAN), Some(0.0)).is_err());
        assert!(coordinates(None, Some(0.0)).is_err());
    }
}
