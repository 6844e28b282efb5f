//! Facts of docs/protocol.md that the Rust types leave to the handlers, added to the generated
//! schemas so client developers (and code generators) see them.
//!
//! The wire types keep fields `Option` so a handler, not serde, words the error for a
//! missing value (`session_id is required`); a schema that said every field was optional
//! would mislead. Every rule names an existing property: a renamed field fails generation
//! (and so CI) instead of leaving a stale rule behind.

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use tether_proto::limits::{PHONE_MAX_DIGITS, PHONE_MIN_DIGITS};
use tether_proto::mediums::MediumKind;

use super::generator::{Direction, root_schema};

/// A refinement of one property.
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// The property.
    pub field: &'static str,
    /// Whether a message without it (or with `null`) is rejected.
    pub required: bool,
    /// JSON Schema keywords merged into the property (`minimum`, `maxLength`, ...).
    pub constraints: Value,
}

impl FieldRule {
    /// A required property with extra constraints.
    pub fn required(field: &'static str, constraints: Value) -> Self {
        Self {
            field,
            required: true,
            constraints,
        }
    }

    /// An optional property with extra constraints.
    pub fn optional(field: &'static str, constraints: Value) -> Self {
        Self {
            field,
            required: false,
            constraints,
        }
    }
}

/// `^\+?[0-9]{7,15}$`, from the limits every validator uses.
pub fn phone_pattern() -> String {
    format!(r"^\+?[0-9]{{{PHONE_MIN_DIGITS},{PHONE_MAX_DIGITS}}}$")
}

/// A string that is a UUID.
pub fn uuid() -> Value {
    json!({"format": "uuid"})
}

/// Applies `rules` to the object schema `schema` (its `properties` and `required`).
pub fn apply(schema: &mut Value, rules: &[FieldRule]) -> anyhow::Result<()> {
    let title = schema
        .get("title")
        .or_else(|| schema.pointer("/properties/type/const"))
        .and_then(Value::as_str)
        .unwrap_or("schema")
        .to_string();
    for rule in rules {
        let Some(property) = schema.pointer_mut(&format!("/properties/{}", rule.field)) else {
            bail!("{title}: no property {:?} to refine", rule.field);
        };
        if rule.required {
            strip_null(property);
        }
        if let (Value::Object(target), Value::Object(extra)) = (property, &rule.constraints) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        if rule.required {
            let required = schema
                .as_object_mut()
                .context("schema is not an object")?
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(names) = required
                && !names.iter().any(|name| name == rule.field)
            {
                names.push(Value::String(rule.field.to_string()));
            }
        }
    }
    Ok(())
}

/// Removes `null` from what a property accepts: `type: [T, "null"]` becomes `T`,
/// `anyOf: [X, {type: null}]` becomes `allOf: [X]` (draft-07 ignores siblings of `$ref`,
/// hence the `allOf` wrapper schemars uses too).
fn strip_null(property: &mut Value) {
    let Value::Object(fields) = property else {
        return;
    };
    if let Some(Value::Array(types)) = fields.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            fields.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(options)) = fields.get_mut("anyOf") {
        options.retain(|option| option != &json!({"type": "null"}));
        if options.len() == 1 {
            let only = options.remove(0);
            fields.remove("anyOf");
            fields.insert("allOf".into(), Value::Array(vec![only]));
        }
    }
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
    fn required_rules_strip_null_and_list_the_field() {
        let mut schema = json!({
            "title": "x",
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"anyOf": [{"$ref": "#/definitions/M"}, {"type": "null"}]},
                "c": {"type": ["integer", "null"]}
            },
            "required": ["type"]
        });
        apply(
            &mut schema,
            &[
                FieldRule::required("a", uuid()),
                FieldRule::required("b", json!({})),
                FieldRule::optional("c", json!({"minimum": 1})),
            ],
        )
        .expect("rules apply");
        assert_eq!(
            schema,
            json!({
                "title": "x",
                "properties": {
                    "a": {"type": "string", "format": "uuid"},
                    "b": {"allOf": [{"$ref": "#/definitions/M"}]},
                    "c": {"type": ["integer", "null"], "minimum": 1}
                },
                "required": ["type", "a", "b"]
            })
        );
        assert!(apply(&mut schema, &[FieldRule::required("gone", json!({}))]).is_err());
    }

    #[test]
    fn phone_pattern_matches_the_validator_limits() {
        assert_eq!(phone_pattern(), r"^\+?[0-9]{7,15}$");
    }
}
