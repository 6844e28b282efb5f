//! Running the jobs on their cron schedules (tokio-cron-scheduler; six fields, seconds
//! first). Every instance schedules every job; the job's advisory lock lets one run it.

use std::sync::Arc;

use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Context;
use crate::jobs::{self, Job};

/// Checks that a cron string parses, so a bad setting fails at start, not at run time.
pub fn validate(job: Job, cron: &str) -> anyhow::Result<()> {
    CronJob::new_async(cron, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|err| {
            anyhow::anyhow!(
                "invalid cron string {cron:?} for the {} job (six fields, seconds first): {err:?}",
                job.name()
            )
        })
}

/// Starts a scheduler running each `(job, cron)`. Runs are tracked by `runs`, so
/// shutdown can wait for one in progress; none starts once `shutdown` is cancelled.
pub async fn start(
    context: Arc<Context>,
    schedules: &[(Job, String)],
    runs: TaskTracker,
    shutdown: CancellationToken,
) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new()
        .await
        .map_err(|err| anyhow::anyhow!("starting the job scheduler: {err:?}"))?;
    for (job, cron) in schedules {
        let (job, context, runs, shutdown) =
            (*job, context.clone(), runs.clone(), shutdown.clone());
        let cron_job = CronJob::new_async(cron.as_str(), move |_, _| {
            let (context, runs, shutdown) = (context.clone(), runs.clone(), shutdown.clone());
            Box::pin(async move {
                if shutdown.is_cancelled() {
                    return;
                }
                runs.track_future(run_logged(context, job)).await;
            })
        })
        .map_err(|err| anyhow::anyhow!("{}: invalid cron string: {err:?}", job.name()))?;
        scheduler
            .add(cron_job)
            .await
            .map_err(|err| anyhow::anyhow!("scheduling {}: {err:?}", job.name()))?;
    }
    scheduler
        .start()
        .await
        .map_err(|err| anyhow::anyhow!("starting the job scheduler: {err:?}"))?;
    Ok(scheduler)
}

async fn run_logged(context: Arc<Context>, job: Job) {
    if let Err(err) = jobs::run(&context, job).await {
        tracing::error!(job = job.name(), error = %err, "cleanup job failed");
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Config;

    #[test]
    fn default_schedules_parse_and_bad_ones_do_not() {
        let config = Config::parse_from(["tether-cleanup"]);
        for (job, cron) in config.schedules() {
            assert!(validate(job, &cron).is_ok(), "{cron}");
        }
        assert!(validate(Job::Vacuum, "*/5 * * * *").is_err(), "five fields");
        assert!(validate(Job::Vacuum, "every minute").is_err());
    }
}
