//! One router per feature.

pub mod chat;
pub mod conversations;
pub mod documents;
pub mod health;
pub mod metrics;
pub mod search;
