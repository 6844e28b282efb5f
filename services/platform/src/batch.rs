//! Group commit: many concurrent requests written by one statement (one transaction).
//!
//! Handlers [`Batcher::submit`] a request and await its own answer. A few writer tasks
//! take turns: a writer waits for the first queued request, takes everything else already
//! queued (up to `max_batch`), writes them together and answers each. No timer: a request
//! that arrives while a writer is free is written at once, so an unloaded request waits
//! for nothing; under load the queue fills while the writers are busy, and each write
//! carries more requests, which is what lets PostgreSQL keep up (one commit, one WAL
//! flush, one round trip for the whole batch).

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};
use tracing::Instrument as _;

/// One queued request, where its answer goes, and the span of whoever submitted it (the
/// batch's trace span joins them; disabled when traces are off).
type Job<Req, Resp> = (Req, oneshot::Sender<Resp>, tracing::Span);

/// The writer stopped (it panicked, or the service is gone) before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batch writer stopped before answering")]
pub struct WriterGone;

/// How a [`Batcher`] writes.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Metrics label.
    pub name: &'static str,
    /// Most requests one write carries.
    pub max_batch: NonZeroUsize,
    /// Writes in flight at once (each on its own connection). Two keep PostgreSQL busy
    /// while the other batch's answers go out.
    pub writers: NonZeroUsize,
}

/// A handle to submit requests; cheap to clone.
#[derive(Debug)]
pub struct Batcher<Req, Resp> {
    queue: mpsc::UnboundedSender<Job<Req, Resp>>,
}

impl<Req, Resp> Clone for Batcher<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Starts the writers. `write` gets a non-empty batch in arrival order and must return
    /// exactly one answer per request, in the same order. The queue is unbounded on
    /// purpose: what bounds it is the serve loop's concurrency (each queued request is a
    /// handler awaiting its answer).
    pub fn spawn<F, Fut>(settings: BatchSettings, write: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let (queue, receiver) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        let receiver = Arc::new(Mutex::new(receiver));
        let write = Arc::new(write);
        let batch_sizes = metrics::histogram!("tether_batch_size", "batch" => settings.name);
        for _ in 0..settings.writers.get() {
            let receiver = receiver.clone();
            let write = write.clone();
            let batch_sizes = batch_sizes.clone();
            let max_batch = settings.max_batch.get();
            tokio::spawn(async move {
                loop {
                    let jobs = {
                        let mut receiver = receiver.lock().await;
                        let Some(first) = receiver.recv().await else {
                            return;
                        };
                        let mut jobs = vec![first];
                        while jobs.len() < max_batch {
                            match receiver.try_recv() {
                                Ok(job) => jobs.push(job),
                                Err(_) => break,
                            }
                        }
                        jobs
                    };
                    batch_sizes.record(jobs.len() as f64);
                    let span = tracing::info_span!(
                        target: crate::trace::TARGET,
                        "batch",
                        otel.name = %format_args!("batch {}", settings.name),
                        batch = settings.name,
                        size = jobs.len(),
                    );
                    let mut requests = Vec::with_capacity(jobs.len());
                    let mut answer_to = Vec::with_capacity(jobs.len());
                    let mut submitters = Vec::with_capacity(jobs.len());
                    for (request, to, submitter) in jobs {
                        requests.push(request);
                        answer_to.push(to);
                        submitters.push(submitter);
                    }
                    crate::trace::join(&span, &submitters);
                    let answers = write(requests).instrument(span).await;
                    debug_assert_eq!(answers.len(), answer_to.len());
                    for (answer, to) in answers.into_iter().zip(answer_to) {
                        // The handler may have stopped waiting (its caller went away).
                        let _ = to.send(answer);
                    }
                }
            });
        }
        Self { queue }
    }

    /// Queues `request` and waits for its answer.
    pub async fn submit(&self, request: Req) -> Result<Resp, WriterGone> {
        let (answer_to, answer) = oneshot::channel();
        self.queue
            .send((request, answer_to, crate::trace::current()))
            .map_err(|_| WriterGone)?;
        answer.await.map_err(|_| WriterGone)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn answers_each_request_and_batches_what_is_queued() {
        let writes = Arc::new(AtomicUsize::new(0));
        let counted = writes.clone();
        let batcher = Batcher::spawn(
            BatchSettings {
                name: "test",
                max_batch: NonZeroUsize::new(64).expect("not zero"),
                writers: NonZeroUsize::MIN,
            },
            move |requests: Vec<u32>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    requests.into_iter().map(|n| n * 2).collect::<Vec<_>>()
                }
            },
        );
        let handles: Vec<_> = (0..100u32)
            .map(|n| {
                let batcher = batcher.clone();
                tokio::spawn(async move { (n, batcher.submit(n).await) })
            })
            .collect();
        for handle in handles {
            let (n, answer) = handle.await.expect("task");
            assert_eq!(answer, Ok(n * 2));
        }
        assert!(
            writes.load(Ordering::SeqCst) < 100,
            "queued requests share writes"
        );
    }
}
