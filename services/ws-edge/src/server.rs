//! The HTTP/1.1 server loop of the edge, with the limits plain `axum::serve` lacks.
//!
//! - A cap on open connections (HTTP and upgraded WebSockets alike): each holds a permit
//!   until its socket is closed; at the cap the loop stops accepting, so new connections
//!   wait in the kernel's listen backlog.
//! - A header-read timeout: a new connection must deliver a complete request head within
//!   `header_timeout`; a kept-alive connection may sit idle for `idle_timeout`, and once
//!   the first byte of its next request arrives, the head must be complete within
//!   `header_timeout`. A connection that misses either is closed without an answer.
//!   hyper's own header timer (it starts when hyper begins waiting, idle time included)
//!   is set to `idle_timeout + header_timeout` as a backstop.
//! - Lingering close: when hyper closes a connection after answering (for example a 413
//!   to a body it will not read), the socket's write side is shut down and what the client
//!   still sends is read and dropped for up to [`LINGER`], so the client reads the answer
//!   instead of a connection reset (closing a socket with unread data sends RST, which
//!   makes the client's TCP stack drop the answer it had not read yet).
//!
//! TCP_NODELAY is set on every connection, WebSocket upgrades work (`with_upgrades`), and
//! on shutdown the loop stops accepting, asks every connection to finish its request in
//! flight and close, and waits (bounded) for them.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// How long a closed connection keeps reading (and dropping) what its client still sends.
pub const LINGER: Duration = Duration::from_secs(5);

/// How long shutdown waits for connections to finish their requests before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to deliver a complete request head.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown`, then stops accepting and waits (at most
/// [`SHUTDOWN_GRACE`]) for the open HTTP connections to finish; the rest are dropped.
/// Upgraded WebSockets are not waited for here (they hold their own shutdown).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let connections = TaskTracker::new();
    let force = CancellationToken::new();
    let mut at_cap = false;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                at_cap = false;
                permit
            }
            Err(_) => {
                if !at_cap {
                    at_cap = true;
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection cap reached (TETHER_HTTP_MAX_CONNECTIONS); not accepting until one closes"
                    );
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        let tcp = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _remote)) => tcp,
                Err(err) => {
                    // Per-connection errors (the peer gave up) need nothing; running out
                    // of file descriptors does: pause instead of spinning.
                    if !is_connection_error(&err) {
                        tracing::warn!(error = %err, "accept failed; retrying in 1 s");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                    continue;
                }
            },
        };
        // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm holds a
        // chat message behind an unacknowledged previous write for up to ~40 ms.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        connections.spawn(serve_connection(
            tcp,
            permit,
            app.clone(),
            limits,
            shutdown.clone(),
            force.clone(),
        ));
    }
    // Stop accepting: the listening socket closes here.
    drop(listener);
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP connections did not finish in time; dropping them");
        force.cancel();
        connections.wait().await;
    }
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection: hyper plus the watchdog of [`Activity`].
async fn serve_connection(
    tcp: TcpStream,
    permit: OwnedSemaphorePermit,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    force: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(ConnIo {
        tcp: Some(tcp),
        permit: Some(permit),
        activity: activity.clone(),
        shut_down: false,
        read_eof: false,
    });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |request: hyper::Request<Incoming>| {
            let in_flight = InFlight::begin(activity.clone());
            let mut router = app.clone();
            async move {
                // A Router is always ready: no need to poll_ready first.
                let response = router.call(request.map(Body::new)).await;
                drop(in_flight);
                response
            }
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(limits.idle_timeout + limits.header_timeout);
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::trace!(error = %err, "HTTP connection ended with an error");
                }
                break;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            () = force.cancelled() => break,
            () = tokio::time::sleep_until(deadline) => {
                if activity.expired(&limits, Instant::now()) {
                    tracing::debug!("closing an HTTP connection that was idle or slow to send its request head");
                    break;
                }
            }
        }
    }
}

/// Where a connection is between requests, for the header and idle timeouts.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Just accepted: the first head is due `header_timeout` after this.
    Fresh(Instant),
    /// No request in progress since then, and no byte of the next one yet.
    Idle(Instant),
    /// The first byte of the next request head arrived then.
    Head(Instant),
    /// This many requests are being answered (no timeout of ours applies).
    Busy(usize),
}

/// Shared by the connection's IO (bytes read), its service (requests begun and done) and
/// its watchdog (deadlines).
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Fresh(Instant::now())),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Phase) -> T) -> T {
        f(&mut self.phase.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Bytes arrived: on an idle connection they start the next request head.
    fn on_read(&self) {
        self.with(|phase| {
            if let Phase::Idle(_) = phase {
                *phase = Phase::Head(Instant::now());
            }
        });
    }

    /// When the connection should be looked at again.
    fn deadline(&self, limits: &Limits) -> Instant {
        match self.with(|phase| *phase) {
            Phase::Fresh(since) | Phase::Head(since) => since + limits.header_timeout,
            Phase::Idle(since) => since + limits.idle_timeout,
            // Re-checked now and then; a request's end moves the deadline later anyway.
            Phase::Busy(_) => Instant::now() + limits.header_timeout.min(limits.idle_timeout),
        }
    }

    fn expired(&self, limits: &Limits, now: Instant) -> bool {
        match self.with(|phase| *phase) {
            Phase::Busy(_) => false,
            _ => now >= self.deadline(limits),
        }
    }
}

/// A request being answered; its end makes the connection idle (when it was the last).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.with(|phase| {
            *phase = match *phase {
                Phase::Busy(n) => Phase::Busy(n + 1),
                _ => Phase::Busy(1),
            };
        });
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.with(|phase| {
            *phase = match *phase {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            };
        });
    }
}

/// The connection's socket: reports reads to [`Activity`], holds the connection's permit
/// until the socket is closed (also after a WebSocket upgrade), and lingers on close.
struct ConnIo {
    /// Always `Some` until dropped.
    tcp: Option<TcpStream>,
    permit: Option<OwnedSemaphorePermit>,
    activity: Arc<Activity>,
    /// hyper shut the write side down: it closed the connection after an answer.
    shut_down: bool,
    /// The client closed its side.
    read_eof: bool,
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(tcp) = this.tcp.as_mut() else {
            return Poll::Ready(Err(gone()));
        };
        let before = buf.filled().len();
        let had_room = buf.remaining() > 0;
        let result = Pin::new(tcp).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            if buf.filled().len() > before {
                this.activity.on_read();
            } else if had_room {
                this.read_eof = true;
            }
        }
        result
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.tcp.as_mut() {
            Some(tcp) => Pin::new(tcp).poll_write(cx, data),
            None => Poll::Ready(Err(gone())),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.tcp.as_mut() {
            Some(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(gone())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|tcp| tcp.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.tcp.as_mut() {
            Some(tcp) => Pin::new(tcp).poll_flush(cx),
            None => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(tcp) = this.tcp.as_mut() else {
            return Poll::Ready(Err(gone()));
        };
        let result = Pin::new(tcp).poll_shutdown(cx);
        if let Poll::Ready(Ok(())) = result {
            this.shut_down = true;
        }
        result
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if !self.shut_down || self.read_eof {
            return;
        }
        let (Some(tcp), Some(permit)) = (self.tcp.take(), self.permit.take()) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(tcp, permit));
        }
    }
}

/// Reads and drops what the client still sends, until it closes or [`LINGER`] passes;
/// the socket (and its permit) go after that.
async fn linger(mut tcp: TcpStream, _permit: OwnedSemaphorePermit) {
    let mut sink = vec![0_u8; 16 * 1024];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(read) = tcp.read(&mut sink).await {
            if read == 0 {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn phases_and_deadlines() {
        let limits = limits();
        let activity = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(activity.deadline(&limits), start + limits.header_timeout);
        // Bytes of the first head do not extend its deadline.
        activity.on_read();
        assert_eq!(activity.deadline(&limits), start + limits.header_timeout);
        assert!(!activity.expired(&limits, start + Duration::from_secs(9)));
        assert!(activity.expired(&limits, start + limits.header_timeout));

        let request = InFlight::begin(activity.clone());
        assert!(!activity.expired(&limits, start + Duration::from_secs(1000)));
        let second = InFlight::begin(activity.clone());
        drop(request);
        assert!(!activity.expired(&limits, start + Duration::from_secs(1000)));
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(second);
        let idle_since = Instant::now();
        assert_eq!(activity.deadline(&limits), idle_since + limits.idle_timeout);

        tokio::time::advance(Duration::from_secs(30)).await;
        activity.on_read();
        let head_since = Instant::now();
        assert_eq!(
            activity.deadline(&limits),
            head_since + limits.header_timeout
        );
        // Further bytes change nothing.
        activity.on_read();
        assert_eq!(
            activity.deadline(&limits),
            head_since + limits.header_timeout
        );
    }
}
