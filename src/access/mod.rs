//! Access control: who is calling and what they may do. The HTTP edge resolves every request to one
//! [`Principal`] (a signed-in user, an API key, or an anonymous reader) and stores it in the
//! request extensions; ownership checks, scope checks, rate limits and quotas all key on it.

pub mod principal;

pub use principal::{Principal, Role, Scope};
