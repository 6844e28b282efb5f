//! `tether-ws-edge`: see the crate docs. Settings: `tether-ws-edge --help`.

use clap::Parser;
use tether_ws_edge::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tether_platform::telemetry::init_logging(config.common.log_format);
    let shutdown = tether_platform::shutdown::on_signal();
    let app = App::build(config).await?;
    tracing::info!(addr = %app.http_addr(), "ws-edge listening");
    app.run(shutdown).await
}
