//! Backups end to end: create → verify → restore round trips on SQLite and PostgreSQL while a
//! writer keeps inserting, corrupted archives, the refusal to replace a live database, the
//! retention of `prune` on real files, and the real binary's output.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod corruption;
mod postgres;
mod sqlite;
mod support;
