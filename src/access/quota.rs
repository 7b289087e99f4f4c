//! Daily LLM token quotas: each [`Subject`] may spend a budget of tokens (prompt + completion)
//! per UTC day, set per kind of caller (0 = unlimited). Every LLM user calls
//! [`QuotaService::ensure_available`] before generating and [`QuotaService::charge`] with the
//! provider's [`Usage`] after; the ledger lives in the database (`token_usage`), so replicas
//! share it. A check is not a reservation: answers already in flight when the budget runs out
//! still finish and are charged, so a budget can be overshot by at most the concurrent answers.
//!
//! The check reads what a subject spent through a small per-replica cache (`quick_cache`):
//! this replica's own charges update it at once, and a figure read from the database is
//! trusted for [`FRESH_FOR`], so another replica's charges are seen within that time. A
//! burst of fifty questions from one subject thus makes one database read, not fifty; on a
//! busy two-core machine each read was a hop to a database thread costing milliseconds of
//! scheduling delay before the first word of every answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use super::{Subject, SubjectKind};
use crate::config::QuotaSettings;
use crate::db::{Db, DbError};
use crate::llm::Usage;

/// The current time; tests substitute a fixed or moving one to cross midnight.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// The subject's budget for today is spent. → 429 `quota_exceeded` with `Retry-After`.
    #[error("the daily budget of {budget} LLM tokens is spent; it renews at 00:00 UTC")]
    Exceeded { budget: u64, retry_after: Duration },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a subject has left today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// `None` when the subject's kind has no budget.
    pub budget: Option<u64>,
    /// Tokens spent today (not looked up, so 0, when the budget is unlimited).
    pub spent: u64,
}

/// How long a spent figure read from the database is trusted before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Subjects whose spending is remembered at once (the least used are forgotten first).
const REMEMBERED: usize = 10_000;

/// What a subject had spent on a day, and when that was known.
#[derive(Debug, Clone, Copy)]
struct Spent {
    tokens: u64,
    at: Instant,
}

type SpentCache = quick_cache::sync::Cache<(Subject, NaiveDate), Spent>;

/// Checks and charges the daily token budgets; cheap to clone.
#[derive(Clone)]
pub struct QuotaService {
    db: Db,
    budgets: QuotaSettings,
    clock: Clock,
    /// The day (days since the Common Era) whose older ledger rows were last pruned.
    pruned: Arc<AtomicI32>,
    spent: Arc<SpentCache>,
    fresh_for: Duration,
}

impl std::fmt::Debug for QuotaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaService").field("budgets", &self.budgets).finish_non_exhaustive()
    }
}

impl QuotaService {
    pub fn new(db: Db, budgets: QuotaSettings) -> Self {
        Self {
            db,
            budgets,
            clock: Arc::new(Utc::now),
            pruned: Arc::new(AtomicI32::new(0)),
            spent: Arc::new(SpentCache::new(REMEMBERED)),
            fresh_for: FRESH_FOR,
        }
    }

    /// The same service reading the time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The same service trusting a spent figure from the database for `fresh_for`.
    pub fn with_freshness(self, fresh_for: Duration) -> Self {
        Self { fresh_for, ..self }
    }

    /// The daily budget of `kind`; `None` when unlimited.
    pub fn budget(&self, kind: SubjectKind) -> Option<u64> {
        let budget = match kind {
            SubjectKind::User => self.budgets.user_daily_tokens,
            SubjectKind::Key => self.budgets.key_daily_tokens,
            SubjectKind::Anonymous => self.budgets.anonymous_daily_tokens,
        };
        (budget > 0).then_some(budget)
    }

    /// What `subject` spent today against its budget, read from the database.
    pub async fn allowance(&self, subject: &Subject) -> Result<Allowance, QuotaError> {
        let today = (self.clock)().date_naive();
        let spent = self.db.tokens_spent(subject.kind.as_str(), &subject.id, today).await?;
        self.spent.insert((subject.clone(), today), Spent { tokens: spent, at: Instant::now() });
        Ok(Allowance { budget: self.budget(subject.kind), spent })
    }

    /// Refuses when `subject` has spent its budget for today; call before generating.
    pub async fn ensure_available(&self, subject: &Subject) -> Result<Allowance, QuotaError> {
        let Some(budget) = self.budget(subject.kind) else {
            return Ok(Allowance { budget: None, spent: 0 });
        };
        let spent = self.spent_today(subject).await?;
        if spent < budget {
            return Ok(Allowance { budget: Some(budget), spent });
        }
        metrics::counter!("docent_rate_limited_total", "reason" => "quota").increment(1);
        Err(QuotaError::Exceeded { budget, retry_after: until_midnight((self.clock)()) })
    }

    /// What `subject` spent today: the remembered figure while fresh, else one read that
    /// concurrent callers for the same subject wait for and share.
    async fn spent_today(&self, subject: &Subject) -> Result<u64, QuotaError> {
        let key = (subject.clone(), (self.clock)().date_naive());
        loop {
            match self.spent.get_value_or_guard_async(&key).await {
                Ok(known) if known.at.elapsed() < self.fresh_for => return Ok(known.tokens),
                Ok(_) => {
                    self.spent.remove(&key);
                }
                Err(guard) => {
                    let tokens = self.db.tokens_spent(subject.kind.as_str(), &subject.id, key.1).await?;
                    let _ = guard.insert(Spent { tokens, at: Instant::now() });
                    return Ok(tokens);
                }
            }
        }
    }

    /// Charges `usage` to `subject` for today; returns today's total. Nothing is written for
    /// zero tokens.
    pub async fn charge(&self, subject: &Subject, usage: Usage) -> Result<u64, QuotaError> {
        let now = (self.clock)();
        let tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        self.prune_once_a_day(now.date_naive()).await;
        if tokens == 0 {
            return Ok(self.allowance(subject).await?.spent);
        }
        let kind = subject.kind.as_str();
        let total = self.db.charge_tokens(kind, &subject.id, now.date_naive(), tokens).await?;
        self.spent.insert((subject.clone(), now.date_naive()), Spent { tokens: total, at: Instant::now() });
        metrics::counter!("docent_quota_tokens_total", "kind" => kind).increment(tokens);
        Ok(total)
    }

    /// Charges what an answer spent (`None`: an extractive answer, nothing to charge). A failure
    /// is logged, not returned: the answer is already written and should reach the caller.
    pub async fn settle(&self, subject: &Subject, usage: Option<Usage>) {
        let Some(usage) = usage else { return };
        if let Err(err) = self.charge(subject, usage).await {
            tracing::error!(error = %err, kind = subject.kind.as_str(), "charging LLM tokens to the quota failed");
        }
    }

    /// Drops ledger rows older than yesterday, the first time a day is seen by this replica.
    async fn prune_once_a_day(&self, today: NaiveDate) {
        let day = today.num_days_from_ce();
        if self.pruned.swap(day, Ordering::Relaxed) == day {
            return;
        }
        let before = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        if let Err(err) = self.db.prune_token_usage(before).await {
            tracing::warn!(error = %err, "pruning the token-usage ledger failed");
        }
    }
}

/// Time from `now` to the next 00:00 UTC, at least one second.
pub fn until_midnight(now: DateTime<Utc>) -> Duration {
    let tomorrow = now.date_naive().succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    let left = tomorrow.map_or(Duration::from_secs(86_400), |t| (t - now).to_std().unwrap_or_default());
    left.max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_runs_to_the_next_utc_midnight() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(until_midnight(at("2026-03-01T23:59:30Z")), Duration::from_secs(30));
        assert_eq!(until_midnight(at("2026-03-01T00:00:00Z")), Duration::from_secs(86_400));
        assert_eq!(until_midnight(at("2026-03-01T23:59:59.900Z")), Duration::from_secs(1));
    }
}
