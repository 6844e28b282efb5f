//! The tests' two timings: how long a party must hear nothing to prove nothing was sent
//! ([`SILENCE`]), and how to wait for what happens asynchronously ([`eventually`]).
//!
//! Neither is an upper bound on how fast the stack must be: [`SILENCE`] only waits (a
//! late message makes it prove less, never fail), and [`eventually`] gives a loaded
//! 2-core machine [`EVENTUALLY`] before it calls a thing that did not happen a failure.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;

/// How long a party must hear nothing to prove nothing was sent.
pub const SILENCE: Duration = Duration::from_millis(400);

/// How long [`eventually`] waits before it fails: generous, because what it waits for
/// takes milliseconds unless the machine is busy.
pub const EVENTUALLY: Duration = Duration::from_secs(30);

/// How often [`eventually`] asks again.
const POLL: Duration = Duration::from_millis(20);

/// What a check of [`eventually`] returns: `true`, or `Some` of what was waited for.
pub trait Outcome {
    /// What [`eventually`] returns once the check holds.
    type Value;
    /// `Some` once the check holds.
    fn holds(self) -> Option<Self::Value>;
}

impl Outcome for bool {
    type Value = ();
    fn holds(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn holds(self) -> Option<T> {
        self
    }
}

/// Asks `check` every 20 ms until it holds (returns `true` or `Some`) and returns what it
/// gave; panics naming `what` once [`EVENTUALLY`] has passed without it.
pub async fn eventually<R: Outcome>(
    what: impl Display,
    mut check: impl AsyncFnMut() -> R,
) -> R::Value {
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        if let Some(value) = check().await.holds() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still not so after {EVENTUALLY:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
