//! Operator trigger: a NATS request on `<p>.ops.cleanup.<job>` runs that job now and
//! answers `{"job", "removed", "skipped"}`; an unknown job answers
//! `{"error", "code": "not_found"}`.

use std::sync::Arc;

use serde_json::Value;
use tether_proto::WireError;
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
        return WireError::not_found("Unknown cleanup job").body();
    };
    match jobs::run(&context, job).await {
        Ok(outcome) => {
            serde_json::to_value(outcome).unwrap_or_else(|_| WireError::internal().body())
        }
        Err(err) => {
            tracing::error!(job = job.name(), error = %err, "triggered cleanup job failed");
            WireError::internal().body()
        }
    }
}
