//! One router per feature.

pub mod admin;
pub mod auth;
pub mod chapters;
pub mod chat;
pub mod conversations;
pub mod documents;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod search;
