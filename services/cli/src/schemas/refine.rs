//! Facts of docs/protocol.md that the Rust types leave to the handlers, added to the generated
//! schemas so client developers (and code generators) see them.
//!
//! The wire types keep fields `Option` so a handler, not serde, words the error for a
//! missing value (`session_id is required`); a schema that said every field was optional
//! would mislead. Every rule names an existing property: a renamed field fails generation
//! (and so CI) instead of leaving a stale rule behind.

use serde_json::{Map, Value, json};
use tether_proto::limits::{PHONE_MAX_DIGITS, PHONE_MIN_DIGITS};
use tether_proto::mediums::MediumKind;

use super::generator::{Direction, root_schema};

pub use tether_proto::schema_rules::{FieldRule, uuid};

/// `^\+?[0-9]{7,15}$`, from the limits every validator uses.
pub fn phone_pattern() -> String {
    format!(r"^\+?[0-9]{{{PHONE_MIN_DIGITS},{PHONE_MAX_DIGITS}}}$")
}

/// Applies `rules` to the object schema `schema` (its `properties` and `required`).
pub fn apply(schema: &mut Value, rules: &[FieldRule]) -> anyhow::Result<()> {
    let title = schema
        .get("title")
        .or_else(|| schema.pointer("/properties/type/const"))
        .and_then(Value::as_str)
        .unwrap_or("schema")
        .to_string();
    tether_proto::schema_rules::apply(schema, &title, rules).map_err(anyhow::Error::msg)
}

/// Tightens shared definitions wherever a schema carries them: `Mediums` keys are medium
/// kinds (at most one each) and its values phone numbers.
pub fn definitions(schema: &mut Value) {
    let Some(Value::Object(mediums)) = schema.pointer_mut("/definitions/Mediums") else {
        return;
    };
    let kinds = enum_values(&root_schema::<MediumKind>(Direction::Write));
    mediums.insert("maxProperties".into(), json!(kinds.len()));
    mediums.insert("propertyNames".into(), json!({"enum": kinds}));
    mediums.insert(
        "additionalProperties".into(),
        json!({"type": "string", "pattern": phone_pattern()}),
    );
}

/// The values a string enum schema allows (`enum`, or `oneOf` of `const`/`enum`).
pub fn enum_values(schema: &Value) -> Vec<Value> {
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.clone();
    }
    let mut values = Vec::new();
    if let Some(Value::Array(options)) = schema.get("oneOf") {
        for option in options {
            if let Some(value) = option.get("const") {
                values.push(value.clone());
            } else {
                values.extend(enum_values(option));
            }
        }
    }
    values
}

/// Adds a property to an object schema (e.g. `request_id`, which travels beside the
/// message rather than inside the Rust type).
pub fn add_property(schema: &mut Value, name: &str, property: Value) {
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.insert(name.to_string(), property);
    } else if let Value::Object(fields) = schema {
        let mut properties = Map::new();
        properties.insert(name.to_string(), property);
        fields.insert("properties".into(), Value::Object(properties));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_pattern_matches_the_validator_limits() {
        assert_eq!(phone_pattern(), r"^\+?[0-9]{7,15}$");
    }
}
