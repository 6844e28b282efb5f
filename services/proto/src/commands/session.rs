//! The session service's commands: the order's answer, mediums, and the two ends.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Command, Endpoints};
use crate::limits::{RATING_DESCRIPTION_MAX_CHARS, RATING_MAX_STARS, RATING_MIN_STARS};
use crate::mediums::Mediums;
use crate::messages::Owner;
use crate::schema_rules::{self, FieldRule};

/// Provider accepts or rejects a pending work order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkResponse {
    /// The order.
    pub work_id: Option<i64>,
    /// true to accept.
    pub accepted: Option<bool>,
}

impl Command for WorkResponse {
    const TYPE: &'static str = "work_response";
    const OWNER: Owner = Owner::Session;
    const ENDPOINTS: Endpoints = Endpoints::Provider;

    fn field_rules() -> Vec<FieldRule> {
        vec![
            FieldRule::required("work_id", json!({})),
            FieldRule::required("accepted", json!({})),
        ]
    }
}

/// Seeker selects mediums; activates a waiting session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MediumSelection {
    /// The session.
    pub session_id: Option<String>,
    /// Object with 0-3 keys of telegram/whatsapp/call, each a phone number.
    #[schemars(with = "Option<Mediums>")]
    pub mediums: Option<Value>,
}

impl Command for MediumSelection {
    const TYPE: &'static str = "medium_selection";
    const OWNER: Owner = Owner::Session;
    const ENDPOINTS: Endpoints = Endpoints::Seeker;

    fn field_rules() -> Vec<FieldRule> {
        mediums_rules()
    }
}

/// Provider shares mediums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MediumShare {
    /// The session.
    pub session_id: Option<String>,
    /// Object with 0-3 keys of telegram/whatsapp/call, each a phone number.
    #[schemars(with = "Option<Mediums>")]
    pub mediums: Option<Value>,
}

impl Command for MediumShare {
    const TYPE: &'static str = "medium_share";
    const OWNER: Owner = Owner::Session;
    const ENDPOINTS: Endpoints = Endpoints::Provider;

    fn field_rules() -> Vec<FieldRule> {
        mediums_rules()
    }
}

fn mediums_rules() -> Vec<FieldRule> {
    vec![
        schema_rules::session_id(),
        FieldRule::required("mediums", json!({})),
    ]
}

/// Ends the session as cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelConnection {
    /// The session.
    pub session_id: Option<String>,
}

impl Command for CancelConnection {
    const TYPE: &'static str = "cancel_connection";
    const OWNER: Owner = Owner::Session;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![schema_rules::session_id()]
    }
}

/// Ends the session as completed, optionally rating it (seeker only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FinishService {
    /// The session.
    pub session_id: Option<String>,
    /// Integer 1-5, seeker only.
    #[schemars(with = "Option<i64>")]
    pub rating_stars: Option<Value>,
    /// At most 1000 characters, seeker only.
    #[schemars(with = "Option<String>")]
    pub rating_description: Option<Value>,
}

impl Command for FinishService {
    const TYPE: &'static str = "finish_service";
    const OWNER: Owner = Owner::Session;
    const ENDPOINTS: Endpoints = Endpoints::Both;

    fn field_rules() -> Vec<FieldRule> {
        vec![
            schema_rules::session_id(),
            FieldRule::optional(
                "rating_stars",
                json!({"minimum": RATING_MIN_STARS, "maximum": RATING_MAX_STARS}),
            ),
            FieldRule::optional(
                "rating_description",
                json!({"maxLength": RATING_DESCRIPTION_MAX_CHARS}),
            ),
        ]
    }
}
