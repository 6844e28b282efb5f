//! NATS connection bootstrap.

use anyhow::Context;
use async_nats::{Client, ConnectOptions, Event, ServerAddr};

use crate::metrics_catalog::names;

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
    let servers = server_addrs(url)?;
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
                        metrics::counter!(names::NATS_SLOW_CONSUMER_TOTAL).increment(1);
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
        .connect(servers)
        .await
        .with_context(|| format!("connecting to NATS at {}", redact_urls(url)))?;
    Ok((client, observed))
}

/// The servers of a NATS URL setting: one URL, or several separated by commas (seeds of a
/// cluster: the client connects to one of them, learns the other nodes from it, and
/// fails over to any of them).
pub fn server_addrs(url: &str) -> anyhow::Result<Vec<ServerAddr>> {
    url.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ServerAddr>()
                .with_context(|| format!("invalid NATS URL {}", redact_url(part)))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .and_then(|servers| {
            anyhow::ensure!(!servers.is_empty(), "TETHER_NATS_URL is empty");
            Ok(servers)
        })
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

/// A list of URLs (see [`server_addrs`]) without their userinfo, for logs.
pub fn redact_urls(urls: &str) -> String {
    urls.split(',')
        .map(|url| redact_url(url.trim()))
        .collect::<Vec<_>>()
        .join(",")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_or_a_comma_separated_list() {
        assert_eq!(server_addrs("nats://127.0.0.1:4222").expect("one").len(), 1);
        let cluster = server_addrs("nats://a:4222, nats://b:4222,nats://c:4222").expect("three");
        assert_eq!(cluster.len(), 3);
        assert_eq!(cluster[1].host(), "b");
        assert!(server_addrs("").is_err());
        assert!(server_addrs("nats://a:notaport").is_err());
    }

    #[test]
    fn lists_are_redacted_url_by_url() {
        assert_eq!(
            redact_urls("nats://u:p@a:4222,nats://b:4222"),
            "nats://***@a:4222,nats://b:4222"
        );
    }
}
