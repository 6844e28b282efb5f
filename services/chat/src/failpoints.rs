//! Failpoints for fault tests, compiled only with the `failpoints` feature: the test
//! suite turns it on through a dev-dependency, so release and `cargo build --bins`
//! binaries never contain them.

use std::sync::Arc;

/// A hook: `true` means "crash here".
pub type Hook = Arc<dyn Fn() -> bool + Send + Sync>;

/// Hooks a test installs in an instance's [`crate::Config`].
#[derive(Clone, Default)]
pub struct Failpoints {
    /// Asked after a message's row committed, before the message is published to the
    /// recipient or `message_sent` answered; on `true` the handler stops there for good,
    /// as if the process died (the test then kills the instance's runtime).
    pub after_commit: Option<Hook>,
}

impl Failpoints {
    /// Whether the `after_commit` hook asks for a crash now.
    pub fn crash_after_commit(&self) -> bool {
        self.after_commit.as_ref().is_some_and(|hook| hook())
    }
}

impl std::fmt::Debug for Failpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Failpoints")
            .field("after_commit", &self.after_commit.is_some())
            .finish()
    }
}
