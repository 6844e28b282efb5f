//! The location service's command.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Command, Endpoints, present};
use crate::messages::Owner;
use crate::schema_rules::{self, FieldRule};

/// Either party reports where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LocationUpdate {
    /// The session.
    pub session_id: Option<String>,
    /// Degrees, [-90, 90].
    pub latitude: Option<f64>,
    /// Degrees, [-180, 180].
    pub longitude: Option<f64>,
    /// v1.1: the fix's accuracy radius in metres, a finite number ≥ 0. Absent: a
    /// precise fix. Above `TETHER_MAX_ACCURACY_M`: a coarse fix (only the last-seen
    /// time is kept). `null` is refused like any other non-number.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<f64>")]
    pub accuracy_m: Option<Value>,
}

impl Command for LocationUpdate {
    const TYPE: &'static str = "location_update";
    const OWNER: Owner = Owner::Location;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![
            schema_rules::session_id(),
            FieldRule::required("latitude", schema_rules::latitude()),
            FieldRule::required("longitude", schema_rules::longitude()),
            // v1.1: a number >= 0 when present; null is refused (`validation`).
            FieldRule::optional("accuracy_m", json!({"type": "number", "minimum": 0})),
        ]
    }
}
