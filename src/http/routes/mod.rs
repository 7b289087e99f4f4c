//! One router per feature.

pub mod chat;
pub mod conversations;
pub mod health;
