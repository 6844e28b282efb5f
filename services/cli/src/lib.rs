//! Tether operator and developer tools.
//!
//! - [`token`]: mints development JWTs the way ws-edge checks them (`tether-token`).
//! - [`schemas`]: generates `proto-schemas/` (JSON Schemas and the AsyncAPI document) from
//!   the shared `tether-proto` types, and checks the committed files are current
//!   (`tether-schemas`, `tether-schemas --check`).
//! - [`timeline`]: checks a saved session timeline against the protocol's chain and order
//!   rules (`tether-timeline verify <file.json>`).
//! - [`healthcheck`]: a dependency-free HTTP probe for container health checks
//!   (`tether-healthcheck`), so the runtime image needs no curl.
//! - [`smoke`]: one whole session through a running edge, both roles, over the real HTTP
//!   API and WebSockets (`tether-smoke`).

pub mod healthcheck;
pub mod schemas;
pub mod smoke;
pub mod timeline;
pub mod token;
