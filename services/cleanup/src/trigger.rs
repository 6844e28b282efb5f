//! Operator trigger: a NATS request on `<p>.ops.cleanup.<job>` runs that job now and
//! answers `{"job", "removed", "skipped"}`; an unknown job answers
//! `{"error", "code": "not_found"}`.

use std::sync::Arc;

use serde_json::Value;
use tether_platform::HandlerError;
use tether_proto::WireError;
use tether_proto::errors::UNKNOWN_CLEANUP_JOB;
use tether_proto::subjects::Subjects;

use crate::Context;
use crate::jobs::{self, Job};

/// Handles one trigger request on `subject` (any payload).
pub async fn handle(context: Arc<Context>, subjects: Subjects, subject: String) -> Value {
    match run(&context, &subjects, &subject).await {
        Ok(outcome) => outcome,
        Err(err) => err.into_wire("cleanup_trigger").body(),
    }
}

/// Runs the job `subject` names.
async fn run(context: &Context, subjects: &Subjects, subject: &str) -> Result<Value, HandlerError> {
    let job = subject
        .rsplit_once('.')
        .map(|(_, name)| name)
        .and_then(Job::parse)
        .filter(|job| subjects.cleanup_trigger(job.name()) == subject)
        .ok_or_else(|| WireError::not_found(UNKNOWN_CLEANUP_JOB))?;
    let outcome = jobs::run(context, job).await?;
    Ok(serde_json::to_value(outcome).map_err(anyhow::Error::from)?)
}
