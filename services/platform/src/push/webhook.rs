//! The webhook client: one signed POST per try, with the contract's 5 s limit on the
//! answer. Redirects are not followed (a 3xx is not a 2xx, so it is a failed try).

use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config::Secret;
use super::{SIGNATURE_HEADER, TIMEOUT, signature};

/// Parses the webhook URL: http or https, with a host.
pub fn parse_url(url: &str) -> anyhow::Result<Uri> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("TETHER_PUSH_WEBHOOK_URL is not a URL"))?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
        "TETHER_PUSH_WEBHOOK_URL must be an http:// or https:// URL with a host"
    );
    Ok(uri)
}

/// How one try ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer, with its status.
    Delivered(u16),
    /// Anything else; the reason is for logs and `last_failure` (never the body, the URL
    /// or the secret).
    Failed(String),
}

/// POSTs signed bodies to the webhook.
#[derive(Clone)]
pub struct Webhook {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: Uri,
    secret: Secret,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a token of the receiver's: not printed.
        f.debug_struct("Webhook").finish_non_exhaustive()
    }
}

impl Webhook {
    /// A client for `url` signing with `secret`. An https URL needs the system's root
    /// certificates (fails here, at start, when there are none).
    pub fn new(url: &str, secret: Secret) -> anyhow::Result<Self> {
        let uri = parse_url(url)?;
        // Explicitly ring: the provider async-nats already links, whatever else is built.
        let provider = rustls::crypto::ring::default_provider();
        let tls = if uri.scheme_str() == Some("https") {
            HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(provider)
                .map_err(|err| anyhow::anyhow!("loading root certificates for push: {err}"))?
        } else {
            // Plain http: no certificate is ever checked, so no roots are needed.
            let config = rustls::ClientConfig::builder_with_provider(provider.into())
                .with_safe_default_protocol_versions()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            HttpsConnectorBuilder::new().with_tls_config(config)
        };
        let connector = tls.https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            uri,
            secret,
        })
    }

    /// One try: POSTs `body` with its signature and waits at most [`TIMEOUT`] for the
    /// answer's status.
    pub async fn post(&self, body: &str) -> Outcome {
        let request = hyper::Request::post(self.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "tether-push/1")
            .header(
                SIGNATURE_HEADER,
                signature::sign(self.secret.expose(), body.as_bytes()),
            )
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())));
        let request = match request {
            Ok(request) => request,
            Err(err) => return Outcome::Failed(format!("request not built: {err}")),
        };
        match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Err(_) => Outcome::Failed("timeout".to_string()),
            Ok(Err(err)) if err.is_connect() => Outcome::Failed("connect failed".to_string()),
            Ok(Err(_)) => Outcome::Failed("no answer".to_string()),
            Ok(Ok(response)) if response.status().is_success() => {
                Outcome::Delivered(response.status().as_u16())
            }
            Ok(Ok(response)) => Outcome::Failed(format!("status {}", response.status().as_u16())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(parse_url("https://hooks.example/tether?k=1").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/push").is_ok());
        assert!(parse_url("ftp://hooks.example/").is_err());
        assert!(parse_url("/relative").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
