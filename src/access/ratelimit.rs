//! Request rate limiting behind the [`RateLimiter`] trait: one atomic check-and-count of
//! `cost` units against `limit` units per `window` for a key, answering a [`Decision`] that
//! carries what the `X-RateLimit-*` headers and `Retry-After` report.
//!
//! The trait is shaped for a shared store (a Redis implementation, one round trip running a
//! GCRA or sliding-window script, so every replica sees the same counts): the caller passes the
//! whole rule with each call instead of registering limits up front, and the call is async and
//! fallible. [`InProcessRateLimiter`] is the single-replica implementation, on `governor`'s keyed
//! GCRA limiters: `limit` units per `window` with bursts up to `limit`, refilled continuously
//! (one unit every `window / limit`), so a refused client waits seconds, not a whole window.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Governor};

/// Every this many checks, keys whose state equals a fresh one are dropped from every limiter.
const SWEEP_EVERY: u64 = 4096;

/// One limit: at most `limit` units per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub limit: u32,
    pub window: Duration,
}

impl Rule {
    pub fn per_minute(limit: u32) -> Self {
        Self { limit, window: Duration::from_secs(60) }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The rule's limit (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Units still available after this check (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Until the key's full allowance is available again (`X-RateLimit-Reset`).
    pub reset_after: Duration,
    /// Until this request would be allowed (`Retry-After`); zero when allowed.
    pub retry_after: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// The rule itself is unusable (a zero limit or window, or a cost above the limit).
    #[error("invalid rate-limit rule: {0}")]
    InvalidRule(String),
    /// The shared store did not answer (remote implementations).
    #[error("the rate-limit store failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An atomic check-and-count: counts `cost` against `key` under `rule` when allowed, counts
/// nothing when refused.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    async fn check(&self, key: &str, rule: Rule, cost: u32) -> Result<Decision, RateLimitError>;
}

type Keyed<C> = Governor<String, DashMapStateStore<String>, C, StateInformationMiddleware>;

/// The in-process limiter: one `governor` keyed limiter per distinct rule, created on first use.
pub struct InProcessRateLimiter<C: Clock + Clone = DefaultClock> {
    clock: C,
    limiters: Mutex<HashMap<Rule, Arc<Keyed<C>>>>,
    checks: std::sync::atomic::AtomicU64,
}

impl InProcessRateLimiter {
    pub fn new() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl Default for InProcessRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock + Clone> std::fmt::Debug for InProcessRateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rules = self.limiters.lock().map(|l| l.len()).unwrap_or(0);
        f.debug_struct("InProcessRateLimiter").field("rules", &rules).finish()
    }
}

impl<C: Clock + Clone + Send + Sync> InProcessRateLimiter<C> {
    /// A limiter on `clock` (tests pass `governor::clock::FakeRelativeClock`).
    pub fn with_clock(clock: C) -> Self {
        Self { clock, limiters: Mutex::new(HashMap::new()), checks: Default::default() }
    }

    fn limiter(&self, rule: Rule) -> Result<Arc<Keyed<C>>, RateLimitError> {
        let invalid = || RateLimitError::InvalidRule(format!("{} per {:?}", rule.limit, rule.window));
        let burst = NonZeroU32::new(rule.limit).ok_or_else(invalid)?;
        let period = rule.window.checked_div(rule.limit).filter(|p| !p.is_zero()).ok_or_else(invalid)?;
        let quota = Quota::with_period(period).ok_or_else(invalid)?.allow_burst(burst);
        let mut limiters = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let limiter = limiters
            .entry(rule)
            .or_insert_with(|| Arc::new(Keyed::new(quota, DashMapStateStore::default(), self.clock.clone())));
        Ok(limiter.clone())
    }

    /// Drops keys whose state equals a fresh one, so idle clients cost no memory.
    fn sweep_now_and_then(&self) {
        let n = self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % SWEEP_EVERY != SWEEP_EVERY - 1 {
            return;
        }
        let limiters: Vec<_> =
            self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect();
        for limiter in limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[async_trait::async_trait]
impl<C> RateLimiter for InProcessRateLimiter<C>
where
    C: Clock + Clone + Send + Sync,
    C::Instant: Send + Sync,
{
    async fn check(&self, key: &str, rule: Rule, cost: u32) -> Result<Decision, RateLimitError> {
        self.sweep_now_and_then();
        let limiter = self.limiter(rule)?;
        let cost = NonZeroU32::new(cost).ok_or_else(|| RateLimitError::InvalidRule("a zero cost".into()))?;
        let per_unit = rule.window / rule.limit;
        let key = key.to_owned();
        match limiter.check_key_n(&key, cost) {
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset_after = per_unit * (rule.limit - remaining);
                Ok(Decision { allowed: true, limit: rule.limit, remaining, reset_after, retry_after: Duration::ZERO })
            }
            Ok(Err(not_until)) => {
                let retry_after = not_until.wait_time_from(self.clock.now());
                let reset_after = retry_after + per_unit * (rule.limit - cost.get());
                Ok(Decision { allowed: false, limit: rule.limit, remaining: 0, reset_after, retry_after })
            }
            Err(insufficient) => Err(RateLimitError::InvalidRule(insufficient.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter() -> (InProcessRateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (InProcessRateLimiter::with_clock(clock.clone()), clock)
    }

    #[tokio::test]
    async fn the_limit_plus_first_request_is_refused_with_the_wait_until_one_unit_refills() {
        let (limiter, _clock) = limiter();
        let rule = Rule::per_minute(20);
        for expected_remaining in (0..20).rev() {
            let decision = limiter.check("ip:192.0.2.1", rule, 1).await.unwrap();
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
        }
        let refused = limiter.check("ip:192.0.2.1", rule, 1).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(3));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
    }

    #[tokio::test]
    async fn units_refill_over_the_window_and_keys_never_share_a_budget() {
        let (limiter, clock) = limiter();
        let rule = Rule::per_minute(2);
        limiter.check("a", rule, 2).await.unwrap();
        assert!(!limiter.check("a", rule, 1).await.unwrap().allowed);
        assert!(limiter.check("b", rule, 1).await.unwrap().allowed);
        clock.advance(Duration::from_secs(30));
        let after = limiter.check("a", rule, 1).await.unwrap();
        assert!(after.allowed);
        assert_eq!(after.reset_after, Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_zero_limit_or_a_cost_above_the_limit_is_an_invalid_rule() {
        let (limiter, _clock) = limiter();
        assert!(limiter.check("a", Rule::per_minute(0), 1).await.is_err());
        assert!(limiter.check("a", Rule::per_minute(2), 3).await.is_err());
    }
}
