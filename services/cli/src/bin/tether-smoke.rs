//! `tether-smoke`: one whole session through a running edge, as a seeker's and a
//! provider's apps would have it (connect both, order, accept, select a medium, one chat
//! message each way, finish). Exits non-zero, naming the step, when any step fails.
//!
//! ```text
//! TETHER_JWT_SECRET=... tether-smoke --url http://127.0.0.1:8080
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tether_cli::smoke::{Options, run};
use tether_cli::token::SigningArgs;

/// Run a smoke session (both roles, order, accept, chat, finish) through a Tether edge.
#[derive(Debug, Parser)]
#[command(name = "tether-smoke", version)]
struct Args {
    /// The edge's base URL (plain http; its WebSockets are derived from it).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[command(flatten)]
    signing: SigningArgs,
    /// Seconds any one step may take.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    step_timeout_s: u64,
    /// Seconds to wait for the edge's /readyz at the start.
    #[arg(long, default_value_t = 30)]
    ready_timeout_s: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let signing = args.signing.normalized();
    let options = Options {
        url: args.url,
        secret: signing.secret,
        audience: signing.audience,
        issuer: signing.issuer,
        step_timeout: Duration::from_secs(args.step_timeout_s),
        ready_timeout: Duration::from_secs(args.ready_timeout_s),
    };
    match run(&options).await {
        Ok(()) => {
            println!("==> smoke session passed");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("==> ERROR: smoke session failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}
