//! `tether-token`: mints a development HS256 JWT that ws-edge accepts.
//!
//! ```text
//! tether-token --name "Demo Seeker"          # prints the token only
//! tether-token --sub <uuid> --ttl-s 600 --json
//! ```

use std::process::ExitCode;

use clap::Parser;
use tether_cli::token::{DEFAULT_TTL_S, SigningArgs, TokenRequest, mint};
use uuid::Uuid;

/// Mint a development JWT for Tether (HS256, `sub` = user id).
#[derive(Debug, Parser)]
#[command(name = "tether-token", version)]
struct Args {
    /// User id (`sub`); a new random UUID when left out.
    #[arg(long)]
    sub: Option<Uuid>,
    /// Display-name fallback (`name` claim).
    #[arg(long)]
    name: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL_S, value_parser = clap::value_parser!(u64).range(1..))]
    ttl_s: u64,
    #[command(flatten)]
    signing: SigningArgs,
    /// Print `{"user_id", "token", "expires_at"}` instead of the bare token.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tether-token: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let signing = args.signing.normalized();
    let request = TokenRequest {
        user_id: args.sub.unwrap_or_else(Uuid::new_v4),
        name: args.name,
        ttl_s: args.ttl_s,
        audience: signing.audience,
        issuer: signing.issuer,
    };
    let minted = mint(&request, &signing.secret)?;
    if args.json {
        println!("{}", serde_json::to_string(&minted)?);
    } else {
        println!("{}", minted.token);
    }
    Ok(())
}
