//! Access control: who is calling and what they may do. The HTTP edge resolves every request to one
//! [`Principal`] (a signed-in user, an API key, or an anonymous reader) and stores it in the
//! request extensions; ownership checks, scope checks, rate limits and quotas all key on it.
//! Rate limits ([`ratelimit`]) and token quotas ([`quota`]) count against a [`Subject`]: the
//! user or key, or an anonymous client's network.

pub mod principal;
pub mod quota;
pub mod ratelimit;
pub mod subject;

pub use principal::{Principal, Role, Scope};
pub use quota::{QuotaError, QuotaService};
pub use ratelimit::{Decision, InProcessRateLimiter, RateLimitError, RateLimiter, Rule};
pub use subject::{Subject, SubjectKind};
