//! NATS connection bootstrap.

use anyhow::Context;
use async_nats::{Client, ConnectOptions, Event};

/// Connects to NATS, retrying until the server is up, and logs connection events
/// (a slow consumer means dropped messages, so it is a warning).
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Client> {
    Ok(connect_observed(url, name).await?.0)
}

/// [`connect`], plus a counter of *gaps*: moments after which messages published to this
/// client may have been lost (a reconnect after a disconnect, a slow consumer). Whoever
/// holds state that depends on every message arriving (the edge's sockets) watches it.
pub async fn connect_observed(
    url: &str,
    name: &str,
) -> anyhow::Result<(Client, tokio::sync::watch::Receiver<u64>)> {
    let service = name.to_string();
    let (gaps, observed) = tokio::sync::watch::channel(0u64);
    let gaps = std::sync::Arc::new(gaps);
    let disconnected = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .event_callback(move |event| {
            let (service, gaps, disconnected) =
                (service.clone(), gaps.clone(), disconnected.clone());
            async move {
                use std::sync::atomic::Ordering;
                let gap = match event {
                    Event::SlowConsumer(sid) => {
                        tracing::warn!(%service, sid, "nats slow consumer: messages dropped");
                        metrics::counter!("tether_nats_slow_consumer_total").increment(1);
                        true
                    }
                    Event::Disconnected => {
                        tracing::warn!(%service, "nats disconnected");
                        disconnected.store(true, Ordering::SeqCst);
                        false
                    }
                    Event::Connected => {
                        tracing::info!(%service, "nats connected");
                        disconnected.swap(false, Ordering::SeqCst)
                    }
                    other => {
                        tracing::info!(%service, event = %other, "nats event");
                        false
                    }
                };
                if gap {
                    gaps.send_modify(|count| *count += 1);
                }
            }
        })
        .connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {}", redact_url(url)))?;
    Ok((client, observed))
}

/// Whether the client is connected right now (for readiness).
pub fn is_connected(client: &Client) -> bool {
    matches!(
        client.connection_state(),
        async_nats::connection::State::Connected
    )
}

/// A URL without its userinfo, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Announces this process on the NATS service API (`$SRV.PING`, `$SRV.INFO`,
/// `$SRV.STATS`), so `nats micro ls` style tooling lists every running instance. The
/// returned handle keeps answering until it is stopped or dropped with its [`Announcement`].
pub async fn announce(
    client: &Client,
    service: &str,
    prefix: &str,
) -> anyhow::Result<Announcement> {
    use async_nats::service::ServiceExt;
    let metadata =
        std::collections::HashMap::from([("subject_prefix".to_string(), prefix.to_string())]);
    let handle = client
        .service_builder()
        .description(format!("Tether {service} service"))
        .metadata(metadata)
        .start(format!("tether-{service}"), env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|err| anyhow::anyhow!("announcing on the NATS service API: {err}"))?;
    Ok(Announcement(Some(handle)))
}

/// A running NATS service-API responder; stops when dropped.
pub struct Announcement(Option<async_nats::service::Service>);

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Announcement")
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        if let (Some(service), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(service.stop());
        }
    }
}
