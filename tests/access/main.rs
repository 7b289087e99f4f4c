//! Accounts, sessions, CSRF, API keys and scopes, object-level authorization, the audit log and
//! secret-free logs, over real HTTP (SQLite, and PostgreSQL for the stores).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod csrf;
mod keys;
mod logs;
mod ownership;
mod postgres;
mod scopes;
mod sessions;
mod support;
