//! `tether-session`: see the crate docs. Settings: `tether-session --help`.

use clap::Parser;
use tether_session::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tether_platform::telemetry::init_logging(config.common.log_format);
    let shutdown = tether_platform::shutdown::on_signal();
    let app = App::build(config).await?;
    tracing::info!(admin = %app.admin_addr(), "session service started");
    app.run(shutdown).await
}
