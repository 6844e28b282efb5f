//! Facts of the contract that a Rust type leaves to its handler, applied to its generated
//! JSON Schema so client developers (and code generators) see them.
//!
//! Wire types keep fields `Option` so a handler, not serde, words the error for a missing
//! value (`session_id is required`); a schema that said every field was optional would
//! mislead. Every rule names an existing property: a renamed field fails generation (and
//! so CI) instead of leaving a stale rule behind.

use serde_json::{Value, json};

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

/// A string that is a UUID.
pub fn uuid() -> Value {
    json!({"format": "uuid"})
}

/// A required, well-formed `session_id`.
pub fn session_id() -> FieldRule {
    FieldRule::required("session_id", uuid())
}

/// Latitude in degrees.
pub fn latitude() -> Value {
    json!({"minimum": -90.0, "maximum": 90.0})
}

/// Longitude in degrees.
pub fn longitude() -> Value {
    json!({"minimum": -180.0, "maximum": 180.0})
}

/// Applies `rules` to the object schema `schema` (its `properties` and `required`);
/// `name` words the error when a rule names no property.
pub fn apply(schema: &mut Value, name: &str, rules: &[FieldRule]) -> Result<(), String> {
    for rule in rules {
        let Some(property) = schema.pointer_mut(&format!("/properties/{}", rule.field)) else {
            return Err(format!("{name}: no property {:?} to refine", rule.field));
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
            let Value::Object(fields) = schema else {
                return Err(format!("{name}: schema is not an object"));
            };
            let required = fields
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(names) = required
                && !names.iter().any(|listed| listed == rule.field)
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
            }
        });
        apply(
            &mut schema,
            "x",
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
                "required": ["a", "b"]
            })
        );
        assert!(apply(&mut schema, "x", &[FieldRule::required("gone", json!({}))]).is_err());
    }
}
