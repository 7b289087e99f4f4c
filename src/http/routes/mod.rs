//! One router per feature.

pub mod documents;
pub mod health;
pub mod search;
