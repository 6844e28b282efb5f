//! Contact mediums: a subset of telegram / whatsapp / call, each with a phone number.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::{INVALID_MEDIUMS, WireError, medium_number_invalid};
use crate::validate::is_phone_number;

/// A contact channel a party can offer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MediumKind {
    /// Telegram.
    Telegram,
    /// WhatsApp.
    Whatsapp,
    /// A phone call.
    Call,
}

impl MediumKind {
    /// The wire name (`telegram`, `whatsapp`, `call`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Whatsapp => "whatsapp",
            Self::Call => "call",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        match key {
            "telegram" => Some(Self::Telegram),
            "whatsapp" => Some(Self::Whatsapp),
            "call" => Some(Self::Call),
            _ => None,
        }
    }
}

/// 0 to 3 mediums, each mapped to a phone number (`+` optional, 7-15 digits).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Mediums(pub BTreeMap<MediumKind, String>);

impl Mediums {
    /// Validates a client-supplied `mediums` value. Anything that is not an object of known
    /// keys gets the seed's exact text; a bad phone number says which medium.
    pub fn parse(value: Option<&Value>) -> Result<Self, WireError> {
        let Some(Value::Object(map)) = value else {
            return Err(WireError::validation(INVALID_MEDIUMS));
        };
        let mut mediums = BTreeMap::new();
        for (key, number) in map {
            let kind =
                MediumKind::parse(key).ok_or_else(|| WireError::validation(INVALID_MEDIUMS))?;
            let Value::String(number) = number else {
                return Err(WireError::validation(medium_number_invalid(key)));
            };
            if !is_phone_number(number) {
                return Err(WireError::validation(medium_number_invalid(key)));
            }
            mediums.insert(kind, number.clone());
        }
        Ok(Self(mediums))
    }

    /// As a JSON value for storage.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_zero_to_three_known_keys() {
        assert_eq!(Mediums::parse(Some(&json!({}))).map(|m| m.0.len()), Ok(0));
        let all = json!({"telegram": "+15551234567", "whatsapp": "5551234567", "call": "+1234567"});
        assert_eq!(Mediums::parse(Some(&all)).map(|m| m.0.len()), Ok(3));
    }

    #[test]
    fn rejects_unknown_keys_and_shapes_with_seed_text() {
        for bad in [
            json!({"signal": "+15551234567"}),
            json!(["telegram"]),
            json!("call"),
            json!(null),
        ] {
            assert_eq!(
                Mediums::parse(Some(&bad)),
                Err(WireError::validation(INVALID_MEDIUMS))
            );
        }
        assert_eq!(
            Mediums::parse(None),
            Err(WireError::validation(INVALID_MEDIUMS))
        );
    }

    #[test]
    fn rejects_bad_numbers() {
        for bad in [
            "123456",
            "+1234567890123456",
            "12-34567",
            "++1234567",
            "",
            "abcdefgh",
        ] {
            let value = json!({"call": bad});
            assert!(Mediums::parse(Some(&value)).is_err(), "{bad}");
        }
        assert!(Mediums::parse(Some(&json!({"call": 1234567}))).is_err());
    }
}
