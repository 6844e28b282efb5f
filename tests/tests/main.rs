//! The end-to-end suite: one test binary, one module per topic. Each module starts
//! its own stack (or shares one per module) against real NATS and PostgreSQL.

mod chat_durability;
mod chat_history;
mod chat_lifecycle;
mod chat_masking;
mod chat_messages;
mod chat_offline;
mod chat_ordering;
mod chat_receipts;
mod chat_typing;
mod cleanup_jobs;
mod edge_console;
mod edge_http;
mod edge_limits;
mod edge_ws;
mod faults;
mod hardening;
mod location_tick;
mod location_updates;
mod ops_database;
mod ops_deadlines;
mod ops_plans;
mod ops_privacy;
mod ops_shutdown;
mod ops_traces;
mod protocol_v11;
mod protocol_v12;
mod push;
mod push_online;
mod schemas_transcript;
mod session_http;
mod session_lifecycle;
mod session_limits;
mod session_orders;
mod session_races;
mod session_timeline;
