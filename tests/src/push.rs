//! A webhook receiver for push tests: an HTTP server on a free port that records every
//! POST (body bytes, signature, arrival time) and answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::task::JoinHandle;

use crate::timing::eventually;

/// How the receiver answers one POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// At once, with this status.
    Status(u16),
    /// 200, but only after this long (longer than the sender's 5 s: no answer in time).
    After(Duration),
}

/// One POST as it arrived.
#[derive(Debug, Clone)]
pub struct Post {
    /// The exact body bytes.
    pub body: Bytes,
    /// `X-Tether-Signature`, if sent.
    pub signature: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

impl Post {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("push body is JSON")
    }

    /// Whether the signature is `sha256=` + hex HMAC-SHA256 of the body with `secret`,
    /// checked with an HMAC of the tests' own.
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(hex_mac) = self
            .signature
            .as_deref()
            .and_then(|s| s.strip_prefix("sha256="))
        else {
            return false;
        };
        let Ok(mac_bytes) = hex::decode(hex_mac) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(&self.body);
        hex_mac == hex_mac.to_lowercase() && mac.verify_slice(&mac_bytes).is_ok()
    }
}

#[derive(Default)]
struct Inner {
    posts: Mutex<Vec<Post>>,
    script: Mutex<VecDeque<Answer>>,
    otherwise: Mutex<Option<Answer>>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/push`
    pub url: String,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    inner.posts.lock().expect("posts").push(Post {
        body,
        signature: header("x-tether-signature"),
        content_type: header("content-type"),
        at: Instant::now(),
    });
    let scripted = inner.script.lock().expect("script").pop_front();
    let answer = scripted
        .or_else(|| *inner.otherwise.lock().expect("otherwise"))
        .unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).expect("status"),
        Answer::After(wait) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Starts a receiver that answers `otherwise` to every POST the script does not
    /// cover.
    pub async fn start(otherwise: Answer) -> Receiver {
        let inner = Arc::new(Inner::default());
        *inner.otherwise.lock().expect("otherwise") = Some(otherwise);
        let app = axum::Router::new()
            .route("/push", axum::routing::post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/push", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, inner, server }
    }

    /// The next POSTs get these answers, in order (then `otherwise` again).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.script.lock().expect("script").extend(answers);
    }

    /// Every POST so far.
    pub fn posts(&self) -> Vec<Post> {
        self.inner.posts.lock().expect("posts").clone()
    }

    /// POSTs so far whose body matches `filter`.
    pub fn posts_where(&self, filter: impl Fn(&Value) -> bool) -> Vec<Post> {
        self.posts()
            .into_iter()
            .filter(|post| filter(&post.json()))
            .collect()
    }

    /// Waits ([`eventually`]) until at least `count` POSTs match `filter`; returns them.
    pub async fn wait_for(&self, count: usize, filter: impl Fn(&Value) -> bool) -> Vec<Post> {
        eventually(format!("{count} matching POSTs"), async || {
            let posts = self.posts_where(&filter);
            (posts.len() >= count).then_some(posts)
        })
        .await
    }
}
