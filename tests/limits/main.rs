//! Rate limits and token quotas end to end: per-client request limits with their headers and
//! 429s, trusted proxies, per-route overrides, exemptions, daily LLM token budgets over HTTP,
//! and the token ledger on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod quota;
mod rate;
mod store;
mod support;
