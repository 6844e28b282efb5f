//! A tiny HTTP/1.0 GET for container health checks (`tether-healthcheck URL`), so the
//! runtime image needs no curl or wget. Plain `http://` only: the admin listeners and the
//! edge's `/healthz` are plain HTTP inside the container.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// Where to send the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address (without brackets for IPv6).
    pub host: String,
    /// TCP port (80 when the URL names none).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// URLs are supported: {url}"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("the URL has no host: {url}");
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| anyhow!("unclosed [ in {url}"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().with_context(|| format!("bad port in {url}"))?,
            None => 80,
        };
        Ok(Self {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// GETs `url` and returns the HTTP status code. Each of connect, write and read is
/// bounded by `timeout`.
pub fn probe(url: &str, timeout: Duration) -> anyhow::Result<u16> {
    let target = Target::parse(url)?;
    let addresses: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", target.host))?
        .collect();
    let mut last_error = anyhow!("{} resolved to no address", target.host);
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return request(stream, &target, timeout),
            Err(err) => last_error = anyhow!(err).context(format!("connecting to {address}")),
        }
    }
    Err(last_error)
}

fn request(mut stream: TcpStream, target: &Target, timeout: Duration) -> anyhow::Result<u16> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let head = format!(
        "GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: tether-healthcheck\r\nConnection: close\r\n\r\n",
        target.path, host, target.port
    );
    stream.write_all(head.as_bytes()).context("sending")?;
    // The status line is all we need; 64 bytes hold "HTTP/1.1 200 OK" many times over.
    let mut buffer = [0u8; 64];
    let mut filled = 0;
    while filled < buffer.len() {
        let read = stream.read(&mut buffer[filled..]).context("reading")?;
        if read == 0 {
            break;
        }
        filled += read;
        if buffer[..filled].contains(&b'\n') {
            break;
        }
    }
    parse_status(&buffer[..filled])
}

/// The status code of an HTTP status line (`HTTP/1.1 200 OK`).
pub fn parse_status(head: &[u8]) -> anyhow::Result<u16> {
    let text = String::from_utf8_lossy(head);
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code
            .parse()
            .with_context(|| format!("bad status code {code:?}")),
        _ => bail!("not an HTTP response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            Target::parse("http://127.0.0.1:9101/healthz").expect("url"),
            Target {
                host: "127.0.0.1".into(),
                port: 9101,
                path: "/healthz".into()
            }
        );
        assert_eq!(
            Target::parse("http://edge").expect("url"),
            Target {
                host: "edge".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            Target::parse("http://[::1]:8080/readyz?x=1")
                .expect("url")
                .host,
            "::1"
        );
        assert!(Target::parse("https://edge/healthz").is_err());
        assert!(Target::parse("http://edge:port/").is_err());
        assert!(Target::parse("http:///healthz").is_err());
    }

    /// Serves one connection with `answer`, returning the request it read.
    fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/readyz", listener.local_addr().expect("addr"));
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 1024];
            let read = stream.read(&mut request).expect("read");
            stream.write_all(answer.as_bytes()).expect("write");
            String::from_utf8_lossy(&request[..read]).into_owned()
        });
        (url, handle)
    }

    #[test]
    fn probes_a_real_listener() {
        let (url, server) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nready");
        assert_eq!(probe(&url, Duration::from_secs(2)).expect("probe"), 200);
        assert!(
            server
                .join()
                .expect("server")
                .starts_with("GET /readyz HTTP/1.0\r\n")
        );
        let (url, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(probe(&url, Duration::from_secs(2)).expect("probe"), 503);
        server.join().expect("server");
        // Nothing listens on port 1.
        assert!(probe("http://127.0.0.1:1/healthz", Duration::from_secs(2)).is_err());
    }

    #[test]
    fn parses_status_lines() {
        assert_eq!(
            parse_status(b"HTTP/1.1 503 Service Unavailable\r\n").ok(),
            Some(503)
        );
        assert!(parse_status(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_status(b"").is_err());
    }
}
