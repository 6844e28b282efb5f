//! The test process's one log subscriber, installed once for the whole binary (every test
//! shares the process under `cargo test`, so a test cannot install a subscriber of its own:
//! the first one installed wins and later ones fail silently).
//!
//! It has two layers:
//! - the scan layer: when `TETHER_TEST_LOG_DIR` is set (scripts/test sets it), every service
//!   of this process logs there as in production (JSON, `info,sqlx=warn` with the privacy
//!   floor), one file per process, for scripts/test's scan of the whole suite;
//! - the capture layer: off until a test asks for a [`Capture`], which turns it to the most
//!   verbose level an operator could ask for (`trace`, with the privacy floor) and keeps
//!   every line logged meanwhile, by any test of the process, in memory.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, reload};

/// What the capture layer has written while a [`Capture`] was held.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The capture layer's buffer and the switch of its filter.
struct CaptureLayer {
    buffer: Buffer,
    set_filter: Box<dyn Fn(&str) + Send + Sync>,
}

/// `None` when another subscriber was installed before ours (then nothing is captured).
static CAPTURE: OnceLock<Option<CaptureLayer>> = OnceLock::new();

/// Installs the process's subscriber (idempotent). Called by every stack start.
pub fn install() {
    CAPTURE.get_or_init(|| {
        let scan = scan_file().map(|file| {
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(Mutex::new(file))
                .with_filter(tether_platform::telemetry::env_filter("info,sqlx=warn"))
        });
        let buffer = Buffer::default();
        let (filter, handle) = reload::Layer::new(EnvFilter::new("off"));
        let capture = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(buffer.clone())
            .with_filter(filter);
        let installed = tracing_subscriber::registry()
            .with(scan)
            .with(capture)
            .try_init()
            .is_ok();
        installed.then(|| CaptureLayer {
            buffer,
            set_filter: Box::new(move |spec| {
                let _ = handle.reload(tether_platform::telemetry::env_filter(spec));
            }),
        })
    });
}

fn scan_file() -> Option<std::fs::File> {
    let dir = std::env::var("TETHER_TEST_LOG_DIR").ok()?;
    let path = std::path::Path::new(&dir).join(format!("{}.log", std::process::id()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
}

/// Every log line of the process, at `trace`, from [`Capture::start`] until it is dropped.
/// One capture at a time (a second waits for the first).
pub struct Capture {
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

impl Capture {
    /// Starts capturing. Panics when the process's subscriber is not this module's (a
    /// subscriber installed elsewhere first would leave the capture silently empty).
    pub async fn start() -> Capture {
        static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let guard = ONE.lock().await;
        install();
        let layer = CAPTURE
            .get()
            .and_then(Option::as_ref)
            .expect("another log subscriber was installed before tether_tests::logs");
        layer.buffer.lock().clear();
        (layer.set_filter)("trace");
        Capture {
            _one_at_a_time: guard,
        }
    }

    /// What has been captured so far.
    pub fn text(&self) -> String {
        CAPTURE
            .get()
            .and_then(Option::as_ref)
            .map(|layer| String::from_utf8_lossy(&layer.buffer.lock()).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(layer) = CAPTURE.get().and_then(Option::as_ref) {
            (layer.set_filter)("off");
            layer.buffer.lock().clear();
        }
    }
}
