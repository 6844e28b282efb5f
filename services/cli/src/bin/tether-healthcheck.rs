//! `tether-healthcheck URL`: exit 0 when `URL` answers 2xx, 1 otherwise. For container
//! health checks (`tether-healthcheck http://127.0.0.1:9101/healthz`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tether_cli::healthcheck::probe;

/// Probe an HTTP URL; exit 0 on a 2xx answer.
#[derive(Debug, Parser)]
#[command(name = "tether-healthcheck", version)]
struct Args {
    /// `http://host:port/path`.
    url: String,
    /// Seconds for each of connect, send and receive.
    #[arg(long, default_value_t = 3)]
    timeout_s: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match probe(&args.url, Duration::from_secs(args.timeout_s)) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{}: HTTP {status}", args.url);
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("{}: {err:#}", args.url);
            ExitCode::FAILURE
        }
    }
}
