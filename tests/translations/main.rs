//! Chapter translations end to end, over real HTTP with a stub translator speaking the
//! OpenAI-compatible wire format: the chapters API, Markdown preserved byte for byte outside
//! the prose, sections within the budget, one payment per chapter version shared by readers,
//! access rules and problems, verification failures, expiry, the prompt snapshot, PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "../access/support.rs"]
mod access_support;

mod access;
mod cache;
mod chapters;
mod failures;
mod markdown;
mod observability;
mod postgres;
mod prompts;
mod replicas;
mod stub;
mod support;
