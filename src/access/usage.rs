//! Per-key usage: every authenticated request and every LLM token is counted in memory at once
//! (and in the `docent_api_key_requests_total` / `docent_api_key_tokens_total` metrics) and
//! written to the database in batches. A failed write puts the counts back for the next flush,
//! so nothing is lost silently; a crash loses at most one flush interval.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::db::{Db, DbError};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub requests: i64,
    pub tokens: i64,
    pub last_used: Option<DateTime<Utc>>,
}

impl Pending {
    fn merge(&mut self, other: Pending) {
        self.requests += other.requests;
        self.tokens += other.tokens;
        self.last_used = self.last_used.max(other.last_used);
    }
}

#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<String, Pending>>,
    /// Held while a flush writes, so a reader of stored + pending counts never sees a batch
    /// twice or not at all.
    flushing: tokio::sync::Mutex<()>,
}

impl UsageRecorder {
    pub fn record_request(&self, key_id: &str) {
        metrics::counter!("docent_api_key_requests_total", "key_id" => key_id.to_owned()).increment(1);
        self.add(key_id, Pending { requests: 1, tokens: 0, last_used: Some(Utc::now()) });
    }

    pub fn record_tokens(&self, key_id: &str, tokens: u64) {
        metrics::counter!("docent_api_key_tokens_total", "key_id" => key_id.to_owned()).increment(tokens);
        self.add(key_id, Pending { requests: 0, tokens: i64::try_from(tokens).unwrap_or(i64::MAX), last_used: None });
    }

    /// Waits for a running flush and blocks new ones while the guard lives.
    pub async fn hold_flushes(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.flushing.lock().await
    }

    /// Counts not yet written for a key.
    pub fn pending(&self, key_id: &str) -> Pending {
        self.lock().get(key_id).copied().unwrap_or_default()
    }

    /// Writes every pending count; what could not be written is kept for the next flush.
    pub async fn flush(&self, db: &Db) -> Result<(), DbError> {
        let _flushing = self.flushing.lock().await;
        let batch: Vec<(String, Pending)> = self.lock().drain().collect();
        let mut failed = None;
        let mut unwritten = Vec::new();
        for (id, p) in batch {
            if failed.is_some() {
                unwritten.push((id, p));
                continue;
            }
            if let Err(err) = db.add_api_key_usage(&id, p.requests, p.tokens, p.last_used).await {
                failed = Some(err);
                unwritten.push((id, p));
            }
        }
        for (id, p) in unwritten {
            self.add(&id, p);
        }
        failed.map_or(Ok(()), Err)
    }

    fn add(&self, key_id: &str, p: Pending) {
        self.lock().entry(key_id.to_owned()).or_default().merge(p);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_tokens_accumulate_per_key() {
        let usage = UsageRecorder::default();
        usage.record_request("k1");
        usage.record_request("k1");
        usage.record_tokens("k1", 40);
        usage.record_request("k2");
        let k1 = usage.pending("k1");
        assert_eq!((k1.requests, k1.tokens), (2, 40));
        assert!(k1.last_used.is_some());
        assert_eq!(usage.pending("k2").requests, 1);
        assert_eq!(usage.pending("k3"), Pending::default());
    }
}
