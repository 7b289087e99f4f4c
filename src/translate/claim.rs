//! One translation per key across replicas. In-process, [`super::flight`] makes concurrent
//! requests share one translation; across replicas, a replica first leases the key in the
//! database (`translation_claims`, one atomic upsert) and only the holder pays for the
//! translation. It renews the lease while it works and releases it when done. Any other replica
//! waits, reading the cache every [`POLL`], and serves the holder's result when it appears; it
//! takes the lease over when the holder gave up without a result or died (its lease ran out).

use std::time::Duration;

use chrono::Utc;

use super::flight::CacheKey;
use crate::db::translations::TranslationRecord;
use crate::db::{Db, DbError};

/// How long a lease lasts unless renewed; the holder renews it every third of that.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a waiting replica looks for the holder's result.
pub const POLL: Duration = Duration::from_millis(500);

/// What waiting for a key's lease ended with.
pub enum Turn {
    /// This replica holds the lease: it translates.
    Ours,
    /// Another replica's translation of the key is cached.
    Cached(TranslationRecord),
}

/// This replica's leases on translation keys. Cheap to clone.
#[derive(Clone)]
pub struct Claims {
    db: Db,
    /// This replica's name in the lease table (random per process).
    replica: String,
}

impl Claims {
    pub fn new(db: Db) -> Self {
        Self { db, replica: uuid::Uuid::now_v7().to_string() }
    }

    /// Waits until this replica holds the lease on `key` or the key's translation is cached.
    pub async fn acquire(&self, key: &CacheKey) -> Result<Turn, DbError> {
        let key = parts(key);
        loop {
            if self.renew(key).await? {
                // The previous holder may have cached its result just before letting go.
                let Some(done) = self.db.cached_translation(key.0, key.1, key.2).await? else {
                    return Ok(Turn::Ours);
                };
                self.db.release_translation(key, &self.replica, Utc::now()).await?;
                return Ok(Turn::Cached(done));
            }
            tracing::debug!(replica = %self.replica, "another replica is translating this chapter; waiting");
            tokio::time::sleep(POLL).await;
            if let Some(done) = self.db.cached_translation(key.0, key.1, key.2).await? {
                return Ok(Turn::Cached(done));
            }
        }
    }

    /// Runs `work` under the lease on `key`, renewing it meanwhile, and releases it after.
    pub async fn hold<T>(&self, key: &CacheKey, work: impl Future<Output = T>) -> T {
        let key = parts(key);
        let mut renewal = tokio::time::interval(LEASE / 3);
        renewal.tick().await; // the first tick is immediate: the lease was just taken
        tokio::pin!(work);
        let out = loop {
            tokio::select! {
                out = &mut work => break out,
                _ = renewal.tick() => match self.renew(key).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("another replica took over this translation's lease"),
                    Err(err) => tracing::warn!(error = %err, "renewing this translation's lease failed"),
                },
            }
        };
        if let Err(err) = self.db.release_translation(key, &self.replica, Utc::now()).await {
            tracing::warn!(error = %err, "releasing this translation's lease failed; it runs out by itself");
        }
        out
    }

    /// Takes or extends the lease on `key` for [`LEASE`] from now.
    async fn renew(&self, key: (&str, &str, &str)) -> Result<bool, DbError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
        self.db.claim_translation(key, &self.replica, until, now).await
    }
}

/// The key as the lease table's three columns.
pub fn parts(key: &CacheKey) -> (&str, &str, &str) {
    (&key.0, &key.1, &key.2)
}
