//! Tether benchmark harness.
//!
//! `tether-bench` drives a running stack only through the client contract
//! (`docs/protocol.md`): HTTP API plus WebSockets, tokens minted from the HS256
//! secret. Load is open loop: every message has a scheduled send time and latency is
//! measured from that time, so a slow server cannot slow the generator down and hide its
//! own queueing (no coordinated omission). `tether-floor` is a bare in-memory relay that
//! speaks the same subset of the contract, so every figure comes with a floor measured
//! on the same machine in the same run. `tether-bench seed` ([`seed`]) fills a database
//! with months of plausible history, so the stack can be measured at production size.
//! [`drive`] measures what protocol 1.2's cadence saves in a sample drive.

pub mod client;
pub mod drive;
pub mod floor;
pub mod overload;
pub mod procstat;
pub mod report;
pub mod scenarios;
pub mod seed;
pub mod token;
pub mod traffic;
