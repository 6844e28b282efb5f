//! Background tasks a process owns: spawned here instead of detached, so that shutdown can
//! tell them to stop and wait for them, in the order the process chooses (for the edge:
//! sockets first, then the tasks that publish what their closing caused, then the NATS
//! flush). Services' loops have the same shape in [`crate::runner::Loops`].

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A set of owned background tasks and the token that tells them to stop.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `run(stop)` in the background; it must return soon after `stop` is cancelled
    /// (finishing what it holds first, if that is its job).
    pub fn spawn<F, Fut>(&self, run: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(run(self.stop.clone()));
    }

    /// Tells every task to stop and waits up to `grace` for all of them; false (and a
    /// warning naming `owner`) when some did not stop in time.
    pub async fn stop(&self, owner: &'static str, grace: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        let stopped = tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok();
        if !stopped {
            tracing::warn!(
                owner,
                left = self.tracker.len(),
                "background tasks did not stop in time"
            );
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn stop_waits_for_each_task_to_finish_its_work() {
        let tasks = Tasks::new();
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let finished = finished.clone();
            tasks.spawn(|stop| async move {
                stop.cancelled().await;
                // Work done after the signal (a drain) still completes before stop returns.
                tokio::time::sleep(Duration::from_millis(20)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert!(tasks.stop("test", Duration::from_secs(5)).await);
        assert_eq!(finished.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stop_gives_up_on_a_task_that_ignores_it() {
        let tasks = Tasks::new();
        tasks.spawn(|_| std::future::pending::<()>());
        assert!(!tasks.stop("test", Duration::from_millis(50)).await);
    }
}
