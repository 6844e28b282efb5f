//! Plumbing every Tether service shares, so each service crate holds only its domain:
//! configuration ([`config`]), logs and metrics ([`telemetry`]), NATS and PostgreSQL
//! bootstrap ([`nats`], [`db`]), the admin HTTP listener ([`admin`]), shutdown
//! ([`shutdown`]), serving requests from NATS queue groups ([`serve`]), publishing to
//! users' sockets ([`outbox`]) and push webhooks for offline users ([`push`]).

pub mod admin;
pub mod batch;
pub mod config;
pub mod db;
pub mod nats;
pub mod ops;
pub mod outbox;
pub mod push;
pub mod runtime;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
pub mod timeline;

pub use config::{CommonConfig, DbConfig};
pub use outbox::{Outbox, Reply, Target};
