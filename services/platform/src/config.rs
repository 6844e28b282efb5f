//! Settings every service shares. Each field reads a `TETHER_*` / `DATABASE_URL`
//! environment variable, so `--help` of any binary is its settings reference.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Args, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The value parser of a setting that must be at least 1, for a field typed
/// `NonZeroU32`/`NonZeroU64`/`NonZeroUsize` (`T`): the code that uses it needs no clamp,
/// and a 0 stops the start with a message that names the environment variable (clap's
/// own names only the flag, while settings mostly come from the environment).
pub fn non_zero<T>() -> NonZero<T> {
    NonZero(PhantomData)
}

/// See [`non_zero`].
#[derive(Debug, Clone, Copy)]
pub struct NonZero<T>(PhantomData<T>);

impl<T> TypedValueParser for NonZero<T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Display,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        text.parse().map_err(|err: T::Err| {
            let name = match (arg.and_then(clap::Arg::get_env), arg) {
                (Some(env), Some(arg)) => format!("{} ({arg})", env.to_string_lossy()),
                (None, Some(arg)) => arg.to_string(),
                (_, None) => "a setting".to_string(),
            };
            cmd.clone().error(
                ErrorKind::ValueValidation,
                format!("invalid value '{text}' for {name}: a whole number of at least 1 is required ({err})"),
            )
        })
    }
}

/// NATS and logging settings (every process).
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// NATS server URL.
    #[arg(long, env = "TETHER_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Prefix of every NATS subject (lets several stacks share one NATS server).
    #[arg(long, env = "TETHER_SUBJECT_PREFIX", default_value = "tether")]
    pub subject_prefix: String,
    /// Log format: text or json.
    #[arg(long, env = "TETHER_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// How many requests one instance handles at once (the rest wait in NATS).
    #[arg(long, env = "TETHER_CONCURRENCY", default_value = "256",
          value_parser = non_zero::<NonZeroUsize>())]
    pub concurrency: NonZeroUsize,
    /// How many requests may wait for a slot beyond TETHER_CONCURRENCY before new ones are
    /// refused at once with `unavailable` and a retry hint (admission control).
    #[arg(long, env = "TETHER_BACKLOG", default_value_t = 1024)]
    pub backlog: usize,
    /// Milliseconds a request may wait for a slot: once the oldest waiting request has
    /// waited this long, new ones are refused at once. Keep it well under the edge's
    /// TETHER_REQUEST_TIMEOUT_MS, so admitted work is answered before the client gives up.
    #[arg(long, env = "TETHER_MAX_QUEUE_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_queue_ms: u64,
}

/// PostgreSQL settings (every service but ws-edge).
#[derive(Debug, Clone, Args)]
pub struct DbConfig {
    /// PostgreSQL URL; the database is created when missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tether"
    )]
    pub database_url: String,
    /// Largest number of pooled PostgreSQL connections per instance.
    #[arg(long, env = "TETHER_DB_MAX_CONNECTIONS", default_value_t = 6)]
    pub db_max_connections: u32,
}

impl CommonConfig {
    /// Defaults, with the environment applied (for tests and tools).
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            inner: CommonConfig,
        }
        <Wrapper as clap::Parser>::parse_from(["tether"]).inner
    }
}

impl DbConfig {
    /// Defaults, with the environment applied (for tests and tools).
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            inner: DbConfig,
        }
        <Wrapper as clap::Parser>::parse_from(["tether"]).inner
    }
}

/// The admin listener (/healthz, /readyz, /metrics) of one service: each has its own
/// variable and default port, listed once in [`admin`].
pub trait AdminListener: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Environment variable of its address.
    const ENV: &'static str;
    /// Its default address.
    const DEFAULT: &'static str;
}

/// The admin listener of every service with a database.
pub mod admin {
    macro_rules! listener {
        ($service:ident, $env:literal, $default:literal) => {
            #[doc = concat!("`", $env, "`, default `", $default, "`.")]
            #[derive(Debug, Clone)]
            pub struct $service;
            impl super::AdminListener for $service {
                const ENV: &'static str = $env;
                const DEFAULT: &'static str = $default;
            }
        };
    }
    listener!(Session, "TETHER_SESSION_ADMIN_ADDR", "127.0.0.1:9101");
    listener!(Chat, "TETHER_CHAT_ADMIN_ADDR", "127.0.0.1:9102");
    listener!(Location, "TETHER_LOCATION_ADMIN_ADDR", "127.0.0.1:9103");
    listener!(Cleanup, "TETHER_CLEANUP_ADMIN_ADDR", "127.0.0.1:9104");
}

/// The settings every service with a database shares: NATS and logging, PostgreSQL and
/// its admin listener.
#[derive(Debug, Clone, Args)]
pub struct ServiceConfig<A: AdminListener> {
    /// NATS and logging.
    #[command(flatten)]
    pub common: CommonConfig,
    /// PostgreSQL.
    #[command(flatten)]
    pub db: DbConfig,
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long, env = A::ENV, default_value = A::DEFAULT)]
    pub admin_addr: SocketAddr,
    #[arg(skip)]
    listener: PhantomData<A>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        common: CommonConfig,
    }

    #[test]
    fn a_zero_is_refused_naming_its_variable() {
        let refused = Wrapper::try_parse_from(["tether", "--concurrency", "0"])
            .err()
            .expect("0 is refused");
        assert!(
            refused.to_string().contains("TETHER_CONCURRENCY"),
            "{refused}"
        );
        let parsed = Wrapper::try_parse_from(["tether", "--concurrency", "3"]).expect("3 parses");
        assert_eq!(parsed.common.concurrency.get(), 3);
    }
}
