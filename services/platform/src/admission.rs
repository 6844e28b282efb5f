//! Admission control for a serve loop: at most `concurrency` requests are handled at once,
//! at most `backlog` more wait for a slot, and none waits longer than `max_wait`. A request
//! past either bound is refused at once (`unavailable` with a retry hint) instead of
//! queueing until its sender has given up: under overload the service keeps completing
//! work at its capacity, and the refused learn it in microseconds, not at the edge's
//! timeout. Events (no reply expected) are never refused: they wait for a slot, which
//! holds the subscription back (NATS buffers them).

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics_catalog::names;

/// The least retry hint given with a refusal.
const MIN_RETRY_AFTER: Duration = Duration::from_millis(100);
/// The largest retry hint given with a refusal.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// One serve loop's slots and waiting line.
#[derive(Debug)]
pub struct Admission {
    /// Requests waiting for a slot, summed over the service's serve loops.
    waiting_gauge: metrics::Gauge,
    slots: Arc<Semaphore>,
    backlog: usize,
    max_wait: Duration,
    /// Arrival times of the requests waiting for a slot, oldest first (the semaphore
    /// serves waiters in arrival order, so the front is always the next one served).
    waiting: Mutex<VecDeque<Instant>>,
}

/// What happens to a request that just arrived.
pub enum Admit {
    /// A slot is free: handle it now.
    Now(OwnedSemaphorePermit),
    /// Wait for a slot with [`Admission::wait`].
    Wait,
    /// Refuse it: the sender may try again after this long.
    Refuse(Duration),
}

impl Admission {
    /// `concurrency` slots, `backlog` waiting places, `max_wait` in line;
    /// `service` labels the waiting-line gauge.
    pub fn new(
        service: &'static str,
        concurrency: NonZeroUsize,
        backlog: usize,
        max_wait: Duration,
    ) -> Self {
        Self {
            waiting_gauge: metrics::gauge!(names::ADMISSION_WAITING, "service" => service),
            slots: Arc::new(Semaphore::new(concurrency.get())),
            backlog,
            max_wait,
            waiting: Mutex::new(VecDeque::new()),
        }
    }

    /// Decides for a request (a message with a reply subject) that arrived now.
    pub fn admit(&self) -> Admit {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.is_empty()
            && let Ok(permit) = self.slots.clone().try_acquire_owned()
        {
            return Admit::Now(permit);
        }
        let oldest = waiting.front().map_or(Duration::ZERO, Instant::elapsed);
        if waiting.len() >= self.backlog || oldest >= self.max_wait {
            // The line drains in about as long as its oldest has waited so far.
            return Admit::Refuse(oldest.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER));
        }
        waiting.push_back(Instant::now());
        self.waiting_gauge.increment(1.0);
        Admit::Wait
    }

    /// Waits for a slot after [`Admit::Wait`]; `None` once the service is stopping.
    pub async fn wait(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.slots.clone().acquire_owned().await.ok();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        self.waiting_gauge.decrement(1.0);
        permit
    }

    /// A slot for an event (never refused; waits as long as it takes).
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_past_the_backlog_and_admits_again_when_slots_free() {
        let admission = Arc::new(Admission::new(
            "test",
            NonZeroUsize::MIN,
            2,
            Duration::from_secs(60),
        ));
        let Admit::Now(first) = admission.admit() else {
            panic!("a free slot admits at once");
        };
        assert!(matches!(admission.admit(), Admit::Wait));
        assert!(matches!(admission.admit(), Admit::Wait));
        match admission.admit() {
            Admit::Refuse(after) => assert_eq!(after, MIN_RETRY_AFTER),
            _ => panic!("past the backlog a request is refused"),
        }
        let waiter = tokio::spawn({
            let admission = admission.clone();
            async move { admission.wait().await.is_some() }
        });
        drop(first);
        assert!(waiter.await.expect("waiter"));
    }

    #[tokio::test]
    async fn refuses_when_the_oldest_waited_too_long() {
        let admission = Admission::new("test", NonZeroUsize::MIN, 100, Duration::from_millis(20));
        let Admit::Now(_slot) = admission.admit() else {
            panic!("a free slot admits at once");
        };
        assert!(matches!(admission.admit(), Admit::Wait));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(matches!(admission.admit(), Admit::Refuse(_)));
    }
}
