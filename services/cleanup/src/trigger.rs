//! Operator trigger: a NATS request on `<p>.ops.cleanup.<job>` runs that job now and
//! answers `{"job", "removed", "skipped"}`; an unknown job answers
//! `{"error", "code": "not_found"}`.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_proto::subjects::Subjects;

use crate::Context;
use crate::jobs::{self, Job};

/// Handles one trigger request on `subject` (any payload).
pub async fn handle(context: Arc<Context>, subjects: Subjects, subject: String) -> Value {
    let job = subject
        .rsplit_once('.')
        .map(|(_, name)| name)
        .and_then(Job::parse)
        .filter(|job| subjects.cleanup_trigger(job.name()) == subject);
    let Some(job) = job else {
        return json!({"error": "Unknown cleanup job", "code": "not_found"});
    };
    match jobs::run(&context, job).await {
        Ok(outcome) => serde_json::to_value(outcome)
            .unwrap_or_else(|_| json!({"error": "Internal error", "code": "internal"})),
        Err(err) => {
            tracing::error!(job = job.name(), error = %err, "triggered cleanup job failed");
            json!({"error": "Internal error", "code": "internal"})
        }
    }
}
