//! Access control: who is calling and what they may do. The HTTP edge resolves every request to one
//! [`Principal`] (a signed-in user, an API key, or an anonymous reader) and stores it in the
//! request extensions; ownership checks, scope checks, rate limits and quotas all key on it.
//!
//! [`AccessService`] owns accounts ([`accounts`]), sessions ([`sessions`]), API keys ([`keys`]),
//! per-key usage ([`usage`]), the sign-in throttle ([`throttle`]) and the audit log ([`audit`]).
//! Rate limits ([`ratelimit`]) and token quotas ([`quota`]) count against a [`Subject`]: the
//! user or key, or an anonymous client's network.

pub mod accounts;
pub mod audit;
pub mod keys;
pub mod passwords;
pub mod principal;
pub mod quota;
pub mod ratelimit;
pub mod sessions;
pub mod subject;
pub mod throttle;
pub mod usage;

use std::sync::Arc;

pub use audit::{Actor, AuditContext};
pub use principal::{Principal, Role, Scope};
pub use quota::{QuotaError, QuotaService};
pub use ratelimit::{Decision, InProcessRateLimiter, RateLimitError, RateLimiter, Rule};
pub use subject::{Subject, SubjectKind};

use crate::config::AccessSettings;
use crate::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Unknown e-mail address or wrong password: deliberately one error for both.
    #[error("the e-mail address or password is incorrect")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the API key is malformed, unknown, expired or revoked")]
    InvalidKey,
    #[error("no API key {0}")]
    KeyNotFound(String),
    #[error("no account with the e-mail address {0}")]
    UserNotFound(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] DbError),
}

impl AccessError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

/// Accounts, sessions, keys, usage and audit over the database. Cheap to clone.
#[derive(Clone)]
pub struct AccessService {
    db: Db,
    settings: Arc<AccessSettings>,
    throttle: Arc<throttle::SigninThrottle>,
    usage: Arc<usage::UsageRecorder>,
}

impl AccessService {
    pub fn new(db: Db, settings: AccessSettings) -> Self {
        let throttle = Arc::new(throttle::SigninThrottle::new(&settings));
        Self { db, settings: Arc::new(settings), throttle, usage: Arc::new(usage::UsageRecorder::default()) }
    }

    pub fn settings(&self) -> &AccessSettings {
        &self.settings
    }

    /// Adds `tokens` LLM tokens to the usage of the calling API key (no-op for other callers).
    pub fn record_tokens(&self, principal: &Principal, tokens: u64) {
        if let Principal::ApiKey { id, .. } = principal {
            self.usage.record_tokens(id, tokens);
        }
    }

    /// Writes pending usage counters now (the periodic flusher and shutdown call this).
    pub async fn flush_usage(&self) -> Result<(), DbError> {
        self.usage.flush(&self.db).await
    }

    /// Flushes usage every `usage_flush_secs` until the process ends.
    pub fn spawn_usage_flusher(&self) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        let every = std::time::Duration::from_secs(self.settings.usage_flush_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(err) = service.flush_usage().await {
                    tracing::warn!(error = %err, "api key usage not written yet; kept for the next flush");
                }
            }
        })
    }
}
