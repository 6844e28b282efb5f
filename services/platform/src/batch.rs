//! Group commit: many concurrent requests written by one statement (one transaction).
//!
//! Handlers [`Batcher::submit`] a request and await its own answer. A few writer tasks
//! take turns: a writer waits for the first queued request, takes everything else already
//! queued (up to `max_batch`), writes them together and answers each. No timer: a request
//! that arrives while a writer is free is written at once, so an unloaded request waits
//! for nothing; under load the queue fills while the writers are busy, and each write
//! carries more requests, which is what lets PostgreSQL keep up (one commit, one WAL
//! flush, one round trip for the whole batch). [`Batcher::spawn_sharded`] keeps each
//! key's requests in order (one writer per shard); [`all_or_each`] is the fallback a
//! writer uses so one bad item never fails its batch.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::metrics_catalog::names;
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
    /// One queue (shared by every writer), or one per shard (each with its own writer).
    queues: Arc<[mpsc::UnboundedSender<Job<Req, Resp>>]>,
    /// Which shard a request belongs to (`None`: one shared queue).
    shard_of: Option<fn(&Req) -> u64>,
}

impl<Req, Resp> Clone for Batcher<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            queues: self.queues.clone(),
            shard_of: self.shard_of,
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Starts the writers. `write` gets a non-empty batch in arrival order and must return
    /// exactly one answer per request, in the same order. The queue is unbounded on
    /// purpose: what bounds it is the serve loop's concurrency (each queued request is a
    /// handler awaiting its answer). The writers stop once every handle is dropped and
    /// the queue is empty (every request answered).
    pub fn spawn<F, Fut>(settings: BatchSettings, write: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let (queue, receiver) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        let receiver = Arc::new(Mutex::new(receiver));
        let write = Arc::new(write);
        for _ in 0..settings.writers.get() {
            tokio::spawn(run_writer(settings, receiver.clone(), write.clone()));
        }
        Self {
            queues: Arc::new([queue]),
            shard_of: None,
        }
    }

    /// Like [`Batcher::spawn`], with one queue and one writer per shard (`settings.writers`
    /// shards): requests with the same `shard_of` key are written one batch at a time, in
    /// the order they were submitted, so a later one never overtakes an earlier one (the
    /// location writer's per-session order).
    pub fn spawn_sharded<F, Fut>(
        settings: BatchSettings,
        shard_of: fn(&Req) -> u64,
        write: F,
    ) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let write = Arc::new(write);
        let queues: Vec<_> = (0..settings.writers.get())
            .map(|_| {
                let (queue, receiver) = mpsc::unbounded_channel::<Job<Req, Resp>>();
                let receiver = Arc::new(Mutex::new(receiver));
                tokio::spawn(run_writer(settings, receiver, write.clone()));
                queue
            })
            .collect();
        Self {
            queues: queues.into(),
            shard_of: Some(shard_of),
        }
    }

    /// Queues `request` and waits for its answer.
    pub async fn submit(&self, request: Req) -> Result<Resp, WriterGone> {
        let shard = self.shard_of.map_or(0, |shard_of| {
            (shard_of(&request) % self.queues.len() as u64) as usize
        });
        let (answer_to, answer) = oneshot::channel();
        self.queues[shard]
            .send((request, answer_to, crate::trace::current()))
            .map_err(|_| WriterGone)?;
        answer.await.map_err(|_| WriterGone)
    }
}

/// One writer: waits for the first queued request, takes everything else already queued
/// (up to `max_batch`), writes them together and answers each; until the queue closes.
async fn run_writer<Req, Resp, F, Fut>(
    settings: BatchSettings,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job<Req, Resp>>>>,
    write: Arc<F>,
) where
    F: Fn(Vec<Req>) -> Fut,
    Fut: Future<Output = Vec<Resp>>,
{
    let batch_sizes = metrics::histogram!(names::BATCH_SIZE, "batch" => settings.name);
    let max_batch = settings.max_batch.get();
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
}

/// The fallback of a group write: one statement for the whole group, and if it fails,
/// one statement per item, so one bad item (or a deadlock with another instance) never
/// fails the others.
///
/// Writes `items` with one call of `write`, which must answer one row per item in order;
/// if it fails or answers a wrong count, writes each item on its own. `what` names the
/// writer in logs.
pub async fn all_or_each<'a, T, R, F, Fut>(
    what: &'static str,
    items: &'a [T],
    write: F,
) -> Vec<Result<R, crate::HandlerError>>
where
    F: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = sqlx::Result<Vec<R>>>,
{
    let count = items.len();
    match write(items).await {
        Ok(rows) if rows.len() == count => return rows.into_iter().map(Ok).collect(),
        Ok(_) => tracing::error!(
            what,
            count,
            "group write answered a wrong row count; writing one by one"
        ),
        Err(err) => {
            tracing::warn!(what, count, error = %err, "group write failed; writing one by one")
        }
    }
    let mut answers = Vec::with_capacity(count);
    for item in items {
        answers.push(match write(std::slice::from_ref(item)).await {
            Ok(mut rows) if rows.len() == 1 => Ok(rows.remove(0)),
            Ok(_) => Err(crate::HandlerError::invariant("group write row count")),
            Err(err) => Err(err.into()),
        });
    }
    answers
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

    #[tokio::test]
    async fn a_shard_writes_its_requests_in_submission_order() {
        // (key, sequence number within the key); the writer records what it wrote.
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = written.clone();
        let batcher = Batcher::spawn_sharded(
            BatchSettings {
                name: "test",
                max_batch: NonZeroUsize::new(8).expect("not zero"),
                writers: NonZeroUsize::new(4).expect("not zero"),
            },
            |request: &(u64, u32)| request.0,
            move |requests: Vec<(u64, u32)>| {
                let log = log.clone();
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    log.lock().expect("log").extend(requests.iter().copied());
                    requests.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
                }
            },
        );
        // Each key's requests are submitted one after another by one task, all keys at once.
        let tasks: Vec<_> = (0..10u64)
            .map(|key| {
                let batcher = batcher.clone();
                tokio::spawn(async move {
                    let answers: Vec<_> = (0..20u32).map(|n| batcher.submit((key, n))).collect();
                    futures::future::join_all(answers).await
                })
            })
            .collect();
        for task in tasks {
            let answers = task.await.expect("task");
            assert_eq!(answers, (0..20).map(Ok).collect::<Vec<_>>());
        }
        let written = written.lock().expect("log").clone();
        for key in 0..10u64 {
            let order: Vec<u32> = written
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, n)| *n)
                .collect();
            assert_eq!(order, (0..20).collect::<Vec<_>>(), "key {key}");
        }
    }
}
