//! A TCP proxy the fault tests put between the services and PostgreSQL (or NATS): it
//! forwards bytes until told to reset every connection or refuse new ones for a while. A
//! reset followed by refusals is what a
//! database restart looks like from the services' side, without touching the shared
//! server everyone's tests use.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

/// A running proxy; stops (with its connections) when dropped.
pub struct TcpProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    connections: Arc<Mutex<JoinSet<()>>>,
    refusing: Arc<AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let upstream = upstream.to_string();
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let (tasks, refuse) = (connections.clone(), refusing.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if refuse.load(Ordering::SeqCst) {
                    // Accepted and closed at once: a server that is down or starting up.
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tasks.lock().await.spawn(forward(client, upstream));
            }
        });
        Self {
            addr,
            connections,
            refusing,
            accept,
        }
    }

    /// Closes every proxied connection at once.
    pub async fn reset(&self) {
        self.connections.lock().await.abort_all();
    }

    /// Refuses (accepts and closes) new connections while `on`.
    pub fn refuse(&self, on: bool) {
        self.refusing.store(on, Ordering::SeqCst);
    }

    /// A restart: every connection reset, none accepted for `down`.
    pub async fn restart(&self, down: Duration) {
        self.refuse(true);
        self.reset().await;
        tokio::time::sleep(down).await;
        self.refuse(false);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut connections) = self.connections.try_lock() {
            connections.abort_all();
        }
    }
}

async fn forward(mut client: TcpStream, upstream: String) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
