//! schemars plumbing: draft-07 root schemas (the JSON Schema dialect AsyncAPI 3 embeds
//! without a `schemaFormat`), splitting a tagged union into one schema per `type`, and
//! keeping only the definitions a schema uses.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// Which side of serde the schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What Tether reads (client -> server): `Option` fields may be left out.
    Read,
    /// What Tether writes (server -> client): every field it always writes is required,
    /// `null` included; fields it skips when empty are optional.
    Write,
}

/// The draft-07 root schema of `T` as JSON.
pub fn root_schema<T: JsonSchema>(direction: Direction) -> Value {
    let settings = match direction {
        Direction::Read => SchemaSettings::draft07().for_deserialize(),
        Direction::Write => SchemaSettings::draft07().for_serialize(),
    };
    settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The `oneOf` variants of a union tagged by `type`, with their `type` value.
pub fn variants(union: &Value) -> Vec<(String, Value)> {
    union
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|variants| {
            variants
                .iter()
                .filter_map(|variant| Some((type_const(variant)?.to_string(), variant.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `type` tag's constant of one union variant.
pub fn type_const(variant: &Value) -> Option<&str> {
    variant.pointer("/properties/type/const")?.as_str()
}

/// A standalone schema for one variant of `union`: titled, with the `$schema` dialect and
/// only the definitions it references.
pub fn standalone(union: &Value, variant: &Value, title: &str) -> Value {
    let mut schema = Map::new();
    if let Some(dialect) = union.get("$schema") {
        schema.insert("$schema".into(), dialect.clone());
    }
    schema.insert("title".into(), Value::String(title.to_string()));
    if let Value::Object(fields) = variant {
        for (key, value) in fields {
            schema.insert(key.clone(), value.clone());
        }
    }
    let mut schema = Value::Object(schema);
    let definitions = union.get("definitions").cloned().unwrap_or(Value::Null);
    retain_used_definitions(&mut schema, &definitions);
    schema
}

/// Sets `schema.definitions` to the definitions of `all` that `schema` uses, directly or
/// through other definitions; none when it uses none.
pub fn retain_used_definitions(schema: &mut Value, all: &Value) {
    let mut used = BTreeSet::new();
    let mut pending = Vec::new();
    collect_refs(schema, &mut pending);
    while let Some(name) = pending.pop() {
        if used.insert(name.clone())
            && let Some(definition) = all.get(&name)
        {
            collect_refs(definition, &mut pending);
        }
    }
    let kept: Map<String, Value> = used
        .into_iter()
        .filter_map(|name| Some((name.clone(), all.get(&name)?.clone())))
        .collect();
    if let Value::Object(fields) = schema {
        if kept.is_empty() {
            fields.remove("definitions");
        } else {
            fields.insert("definitions".into(), Value::Object(kept));
        }
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                if key == "$ref"
                    && let Some(name) = child
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/definitions/"))
                {
                    into.push(name.to_string());
                } else if key != "definitions" {
                    collect_refs(child, into);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_transitively_used_definitions() {
        let union = json!({
            "$schema": "d7",
            "oneOf": [],
            "definitions": {
                "A": {"$ref": "#/definitions/B"},
                "B": {"type": "string"},
                "C": {"type": "integer"}
            }
        });
        let variant = json!({"properties": {"a": {"$ref": "#/definitions/A"}}});
        let schema = standalone(&union, &variant, "t");
        assert_eq!(
            schema,
            json!({
                "$schema": "d7",
                "title": "t",
                "properties": {"a": {"$ref": "#/definitions/A"}},
                "definitions": {"A": {"$ref": "#/definitions/B"}, "B": {"type": "string"}}
            })
        );
    }
}
