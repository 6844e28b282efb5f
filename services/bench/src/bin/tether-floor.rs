//! `tether-floor`: the benchmark's floor, a bare in-memory WebSocket relay speaking the
//! subset of the client contract that `tether-bench` uses (see `tether_bench::floor`).

use std::net::SocketAddr;

use clap::Parser;

/// Command line.
#[derive(Parser)]
#[command(
    about = "Bare WebSocket relay with Tether's JSON, no NATS, no database: the benchmark floor"
)]
struct Args {
    /// Listen address.
    #[arg(long, env = "TETHER_FLOOR_ADDR", default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// HS256 secret of client tokens.
    #[arg(
        long,
        env = "TETHER_JWT_SECRET",
        default_value = "tether-dev-secret-change-me",
        hide_env_values = true
    )]
    jwt_secret: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    tether_bench::floor::Floor::new(&args.jwt_secret)
        .serve(&args.addr)
        .await
}
