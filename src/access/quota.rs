//! Daily LLM token quotas: each [`Subject`] may spend a budget of tokens (prompt + completion)
//! per UTC day, set per kind of caller (0 = unlimited). Every LLM user calls
//! [`QuotaService::ensure_available`] before generating and [`QuotaService::charge`] with the
//! provider's [`Usage`] after; the ledger lives in the database (`token_usage`), so replicas
//! share it. A check is not a reservation: answers already in flight when the budget runs out
//! still finish and are charged, so a budget can be overshot by at most the concurrent answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

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

/// Checks and charges the daily token budgets; cheap to clone.
#[derive(Clone)]
pub struct QuotaService {
    db: Db,
    budgets: QuotaSettings,
    clock: Clock,
    /// The day (days since the Common Era) whose older ledger rows were last pruned.
    pruned: Arc<AtomicI32>,
}

impl std::fmt::Debug for QuotaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaService").field("budgets", &self.budgets).finish_non_exhaustive()
    }
}

impl QuotaService {
    pub fn new(db: Db, budgets: QuotaSettings) -> Self {
        Self { db, budgets, clock: Arc::new(Utc::now), pruned: Arc::new(AtomicI32::new(0)) }
    }

    /// The same service reading the time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
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

    /// What `subject` spent today against its budget.
    pub async fn allowance(&self, subject: &Subject) -> Result<Allowance, QuotaError> {
        let today = (self.clock)().date_naive();
        let spent = self.db.tokens_spent(subject.kind.as_str(), &subject.id, today).await?;
        Ok(Allowance { budget: self.budget(subject.kind), spent })
    }

    /// Refuses when `subject` has spent its budget for today; call before generating.
    pub async fn ensure_available(&self, subject: &Subject) -> Result<Allowance, QuotaError> {
        let Some(budget) = self.budget(subject.kind) else {
            return Ok(Allowance { budget: None, spent: 0 });
        };
        let allowance = self.allowance(subject).await?;
        if allowance.spent < budget {
            return Ok(allowance);
        }
        metrics::counter!("docent_rate_limited_total", "reason" => "quota").increment(1);
        Err(QuotaError::Exceeded { budget, retry_after: until_midnight((self.clock)()) })
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
