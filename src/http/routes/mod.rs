//! One router per feature.

pub mod health;
