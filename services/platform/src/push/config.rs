//! Push settings: [`PushSwitch`] for the services that enqueue events (chat, session),
//! [`SenderConfig`] for the one that sends them (cleanup). Both read
//! `TETHER_PUSH_WEBHOOK_URL`; set it on all of them alike (an enqueuing service with it and
//! no sender leaves events waiting; a sender without enqueuers has nothing to send).

use std::time::Duration;

use clap::Args;

/// Whether push is on, for the services that enqueue events.
#[derive(Debug, Clone, Default, Args)]
pub struct PushSwitch {
    /// Webhook URL push events are POSTed to (http or https); empty: push is off and
    /// nothing is enqueued.
    #[arg(
        long = "push-webhook-url",
        env = "TETHER_PUSH_WEBHOOK_URL",
        default_value = ""
    )]
    pub webhook_url: String,
}

impl PushSwitch {
    /// Whether events are enqueued.
    pub fn enabled(&self) -> bool {
        !self.webhook_url.trim().is_empty()
    }
}

/// A secret that never shows in `Debug` output (configs may be logged whole).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret's bytes, for signing.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether none was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(unset)"
        } else {
            "Secret(..)"
        })
    }
}

/// Settings of the push sender.
#[derive(Debug, Clone, Args)]
pub struct SenderConfig {
    /// Whether to send, and where.
    #[command(flatten)]
    pub switch: PushSwitch,
    /// Key of the HMAC-SHA256 signature in `X-Tether-Signature`; required when
    /// TETHER_PUSH_WEBHOOK_URL is set.
    #[arg(
        long = "push-secret",
        env = "TETHER_PUSH_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub secret: Secret,
    /// Milliseconds an idle sender waits before looking for due events again (the
    /// latency of a push, and the precision of its retry delays).
    #[arg(long = "push-poll-ms", env = "TETHER_PUSH_POLL_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_ms: u64,
    /// Events one sender instance POSTs at once at most (and claims per query).
    #[arg(long = "push-in-flight", env = "TETHER_PUSH_IN_FLIGHT", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub in_flight: u32,
    /// The wait after the first failed try, doubling after each later one. The contract
    /// fixes it at 1 s; not a setting, a seam for tests of the give-up path.
    #[arg(skip = super::FIRST_RETRY)]
    pub first_retry: Duration,
}

impl SenderConfig {
    /// Refuses a URL without a secret, and a URL that is not http(s).
    pub fn validate(&self) -> anyhow::Result<()> {
        if !self.switch.enabled() {
            return Ok(());
        }
        anyhow::ensure!(
            !self.secret.is_empty(),
            "TETHER_PUSH_SECRET is required when TETHER_PUSH_WEBHOOK_URL is set"
        );
        super::webhook::parse_url(&self.switch.webhook_url)?;
        Ok(())
    }

    /// How long an idle sender waits.
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        sender: SenderConfig,
    }

    fn parse(args: &[&str]) -> SenderConfig {
        let mut argv = vec!["tether"];
        argv.extend_from_slice(args);
        Wrapper::parse_from(argv).sender
    }

    #[test]
    fn off_by_default_and_secret_required_when_on() {
        let off = parse(&[]);
        assert!(!off.switch.enabled());
        assert!(off.validate().is_ok());
        let no_secret = parse(&["--push-webhook-url", "https://hooks.example/x"]);
        let err = no_secret.validate().expect_err("secret required");
        assert!(err.to_string().contains("TETHER_PUSH_SECRET"));
        let on = parse(&[
            "--push-webhook-url",
            "https://hooks.example/x",
            "--push-secret",
            "s3cret-value",
        ]);
        assert!(on.validate().is_ok());
        assert!(!format!("{on:?}").contains("s3cret-value"));
        let bad_scheme = parse(&["--push-webhook-url", "ftp://x/", "--push-secret", "k"]);
        assert!(bad_scheme.validate().is_err());
    }
}
