//! `http/*.json`: the HTTP API's request bodies, answers and error body.

use schemars::JsonSchema;
use serde_json::{Value, json};
use tether_proto::api::{
    CreateWorkOrderBody, PutProfileBody, PutProviderStatusBody, PutSeekerSearchBody, RatingBody,
};
use tether_proto::limits::{
    DISPLAY_NAME_MAX_CHARS, PROFILE_PIC_URL_MAX_CHARS, RATING_DESCRIPTION_MAX_CHARS,
    RATING_MAX_STARS, RATING_MIN_STARS, SERVICE_TYPE_MAX_CHARS, SERVICE_TYPES_MAX,
    WORK_ORDER_MESSAGE_MAX_CHARS,
};
use tether_proto::model::{
    HttpErrorBody, MessagePage, NearbyProviders, Profile, ProviderStatus, RatingSaved,
    SeekerSearch, SessionSnapshot, WorkOrder, WorkOrderCreated,
};

use tether_proto::push::PushEvent;
use tether_proto::timeline::SessionTimeline;

use super::Artefacts;
use super::generator::{Direction, root_schema};
use super::refine::{self, FieldRule, phone_pattern, uuid};
use tether_proto::schema_rules::{latitude, longitude};

/// One HTTP schema file.
struct Entry {
    file: &'static str,
    endpoints: &'static str,
    schema: Value,
    rules: Vec<FieldRule>,
}

fn request<T: JsonSchema>(
    file: &'static str,
    endpoints: &'static str,
    rules: Vec<FieldRule>,
) -> Entry {
    Entry {
        file,
        endpoints,
        schema: root_schema::<T>(Direction::Read),
        rules,
    }
}

fn answer<T: JsonSchema>(file: &'static str, endpoints: &'static str) -> Entry {
    Entry {
        file,
        endpoints,
        schema: root_schema::<T>(Direction::Write),
        rules: Vec::new(),
    }
}

fn entries() -> Vec<Entry> {
    let service_types = json!({
        "maxItems": SERVICE_TYPES_MAX,
        "items": {"type": "string", "minLength": 1, "maxLength": SERVICE_TYPE_MAX_CHARS}
    });
    vec![
        request::<PutProfileBody>(
            "put_profile_body.json",
            "PUT /api/v1/profile (request body)",
            vec![
                FieldRule::required(
                    "display_name",
                    json!({"minLength": 1, "maxLength": DISPLAY_NAME_MAX_CHARS}),
                ),
                FieldRule::optional("mobile", json!({"pattern": phone_pattern()})),
                FieldRule::optional(
                    "profile_pic_url",
                    json!({"format": "uri", "maxLength": PROFILE_PIC_URL_MAX_CHARS}),
                ),
            ],
        ),
        request::<PutProviderStatusBody>(
            "put_provider_status_body.json",
            "PUT /api/v1/provider/status (request body)",
            vec![
                FieldRule::required("is_active", json!({})),
                FieldRule::optional("service_types", service_types),
                FieldRule::optional("latitude", latitude()),
                FieldRule::optional("longitude", longitude()),
            ],
        ),
        request::<PutSeekerSearchBody>(
            "put_seeker_search_body.json",
            "PUT /api/v1/seeker/search (request body)",
            vec![FieldRule::required("is_searching", json!({}))],
        ),
        request::<CreateWorkOrderBody>(
            "create_work_order_body.json",
            "POST /api/v1/work-orders (request body)",
            vec![
                FieldRule::required("provider_id", uuid()),
                FieldRule::required(
                    "service_type",
                    json!({"minLength": 1, "maxLength": SERVICE_TYPE_MAX_CHARS}),
                ),
                FieldRule::required(
                    "message",
                    json!({"maxLength": WORK_ORDER_MESSAGE_MAX_CHARS}),
                ),
                FieldRule::required("latitude", latitude()),
                FieldRule::required("longitude", longitude()),
            ],
        ),
        request::<RatingBody>(
            "rating_body.json",
            "POST /api/v1/sessions/{session_id}/rating (request body)",
            vec![
                FieldRule::required(
                    "rating_stars",
                    json!({"minimum": RATING_MIN_STARS, "maximum": RATING_MAX_STARS}),
                ),
                FieldRule::optional(
                    "rating_description",
                    json!({"maxLength": RATING_DESCRIPTION_MAX_CHARS}),
                ),
            ],
        ),
        answer::<Profile>("profile.json", "GET, PUT /api/v1/profile (200)"),
        answer::<ProviderStatus>(
            "provider_status.json",
            "GET, PUT /api/v1/provider/status (200)",
        ),
        answer::<SeekerSearch>("seeker_search.json", "GET, PUT /api/v1/seeker/search (200)"),
        answer::<NearbyProviders>(
            "nearby_providers.json",
            "GET /api/v1/providers/nearby (200)",
        ),
        answer::<WorkOrderCreated>("work_order_created.json", "POST /api/v1/work-orders (201)"),
        answer::<WorkOrder>("work_order.json", "GET /api/v1/work-orders/{work_id} (200)"),
        answer::<SessionSnapshot>(
            "session_snapshot.json",
            "GET /api/v1/sessions/active, GET /api/v1/sessions/{session_id} (200)",
        ),
        answer::<MessagePage>(
            "message_page.json",
            "GET /api/v1/sessions/{session_id}/messages (200)",
        ),
        answer::<RatingSaved>(
            "rating_saved.json",
            "POST /api/v1/sessions/{session_id}/rating (200)",
        ),
        answer::<SessionTimeline>(
            "session_timeline.json",
            "GET /api/v1/sessions/{session_id}/timeline (200)",
        ),
        answer::<HttpErrorBody>("error.json", "every error answer (4xx, 5xx)"),
        answer::<PushEvent>(
            "push_event.json",
            "POST to TETHER_PUSH_WEBHOOK_URL (request body the server sends, signed in X-Tether-Signature)",
        ),
    ]
}

/// Adds `http/*.json`; each schema names its endpoints in `x-tether-endpoints`.
pub fn add(artefacts: &mut Artefacts) -> anyhow::Result<()> {
    for mut entry in entries() {
        refine::apply(&mut entry.schema, &entry.rules)?;
        refine::definitions(&mut entry.schema);
        if let Value::Object(fields) = &mut entry.schema {
            fields.insert("x-tether-endpoints".into(), json!(entry.endpoints));
        }
        artefacts.insert_json(&format!("http/{}", entry.file), &entry.schema)?;
    }
    Ok(())
}
