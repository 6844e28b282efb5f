//! The two fields ws-edge reads of a client frame: `type` (to route it) and `request_id`
//! (to echo it). The rest belongs to the owning service, which parses the client's bytes
//! once; the edge forwards them as they arrived.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// `type` and `request_id` of a frame that is a JSON object (absent fields `None`; like
/// a full parse, a repeated key counts with its last value).
#[derive(Debug, Default, PartialEq)]
pub struct Head {
    pub kind: Option<Value>,
    pub request_id: Option<Value>,
}

/// Why a frame has no head.
#[derive(Debug, PartialEq)]
pub enum HeadError {
    NotJson,
    NotObject,
}

/// Reads the head of `text`, checking that the whole text is JSON.
pub fn read(text: &str) -> Result<Head, HeadError> {
    serde_json::from_str::<Head>(text).map_err(|err| {
        // A non-object is refused before the rest is read; tell it apart from broken JSON.
        if err.is_data() && serde_json::from_str::<IgnoredAny>(text).is_ok() {
            HeadError::NotObject
        } else {
            HeadError::NotJson
        }
    })
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Type,
    RequestId,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Head {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadVisitor;
        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
                let mut head = Head::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Type => head.kind = Some(map.next_value()?),
                        Field::RequestId => head.request_id = Some(map.next_value()?),
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }
        deserializer.deserialize_map(HeadVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_type_and_request_id_only() {
        let head = read(r#"{"type":"chat_message","message":{"deep":[1,2]},"request_id":"r1"}"#);
        assert_eq!(
            head,
            Ok(Head {
                kind: Some(json!("chat_message")),
                request_id: Some(json!("r1")),
            })
        );
        assert_eq!(read("{}"), Ok(Head::default()));
        assert_eq!(
            read(r#"{"type":"a","type":"b"}"#).map(|h| h.kind),
            Ok(Some(json!("b")))
        );
    }

    #[test]
    fn tells_broken_json_from_non_objects() {
        for text in ["[1]", "1", "\"x\"", "null", "true"] {
            assert_eq!(read(text), Err(HeadError::NotObject), "{text}");
        }
        for text in ["", "{", "[1,", "{\"type\":}", "{} x", "nope"] {
            assert_eq!(read(text), Err(HeadError::NotJson), "{text}");
        }
    }
}
