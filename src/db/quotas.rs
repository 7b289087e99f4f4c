//! The token-usage ledger behind the daily LLM quotas: tokens spent per subject per UTC day, in
//! the database so every replica counts against the same budget. Charging is one atomic upsert.

use chrono::{NaiveDate, Utc};

use super::{Db, DbError};
use crate::on_pool;

impl Db {
    /// Tokens `kind`/`id` has spent on `day` (0 when nothing was charged).
    pub async fn tokens_spent(&self, kind: &str, id: &str, day: NaiveDate) -> Result<u64, DbError> {
        let row: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT tokens FROM token_usage WHERE subject_kind = $1 AND subject_id = $2 AND day = $3",
        )
        .bind(kind).bind(id).bind(day)
        .fetch_optional(pool).await)?;
        Ok(row.map_or(0, |(tokens,)| tokens.max(0) as u64))
    }

    /// Adds `tokens` to what `kind`/`id` spent on `day`; returns the new total.
    pub async fn charge_tokens(&self, kind: &str, id: &str, day: NaiveDate, tokens: u64) -> Result<u64, DbError> {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        let (total,): (i64,) = on_pool!(self, write, pool => sqlx::query_as(
            "INSERT INTO token_usage (subject_kind, subject_id, day, tokens, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject_kind, subject_id, day) \
             DO UPDATE SET tokens = token_usage.tokens + excluded.tokens, updated_at = excluded.updated_at \
             RETURNING tokens",
        )
        .bind(kind).bind(id).bind(day).bind(tokens).bind(Utc::now())
        .fetch_one(pool).await)?;
        Ok(total.max(0) as u64)
    }

    /// Deletes the ledger rows of days before `day`; returns how many went.
    pub async fn prune_token_usage(&self, before: NaiveDate) -> Result<u64, DbError> {
        let done = on_pool!(self, write, pool => sqlx::query("DELETE FROM token_usage WHERE day < $1")
            .bind(before).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
