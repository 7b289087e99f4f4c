//! Gauges sampled when Prometheus scrapes `/metrics`, so they are fresh at every scrape without
//! a background task: database up, pool connections and waiters, chunk counts in the database
//! and the index, vector store and embedder up (through the `/health` probes), free space of the
//! data directory and the time of the newest backup.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::db::Db;
use crate::health::{ServiceProbe, probe_all};
use crate::index::VectorIndex;

use super::{disk, recent_backup};

/// What the gauges are read from (the parts of the application state they need).
pub struct Sources<'a> {
    pub settings: &'a Settings,
    pub db: &'a Db,
    pub index: &'a dyn VectorIndex,
    pub probes: &'a [Arc<dyn ServiceProbe>],
}

/// Samples every scrape-time gauge. Each probe runs under the health timeout, concurrently.
pub async fn sample(sources: Sources<'_>) {
    let timeout = Duration::from_millis(sources.settings.database.health_timeout_ms);
    tokio::join!(
        database(sources.db, sources.settings, timeout),
        index(sources.index, timeout),
        probe_all(sources.probes, timeout),
    );
    files(sources.settings);
}

async fn database(db: &Db, settings: &Settings, timeout: Duration) {
    let up = db.ping(timeout).await.is_ok();
    metrics::gauge!("docent_db_up").set(if up { 1.0 } else { 0.0 });
    let stats = db.pool_stats();
    let in_use = (stats.size as i64 - stats.idle as i64).max(0);
    for (state, value) in [
        ("size", f64::from(stats.size)),
        ("idle", stats.idle as f64),
        ("max", f64::from(settings.database.max_connections)),
    ] {
        metrics::gauge!("docent_db_pool_connections", "state" => state).set(value);
    }
    let waiting = (crate::db::operations_in_flight() - in_use).max(0);
    metrics::gauge!("docent_db_pool_waiting").set(waiting as f64);
    if up && let Ok(Ok(chunks)) = tokio::time::timeout(timeout, db.chunk_count()).await {
        metrics::gauge!("docent_db_chunks").set(chunks as f64);
    }
}

async fn index(index: &dyn VectorIndex, timeout: Duration) {
    if let Ok(Ok(stats)) = tokio::time::timeout(timeout, index.stats()).await {
        metrics::gauge!("docent_index_chunks").set(stats.chunks as f64);
        metrics::gauge!("docent_index_documents").set(stats.documents as f64);
    }
}

/// Disk space and the newest backup. A missing backup directory leaves the backup gauge unset
/// (absent), which the `DocentBackupMetricAbsent` alert reports; an empty one reports 0.
fn files(settings: &Settings) {
    match disk::disk_space(&settings.data_dir) {
        Ok(space) => {
            metrics::gauge!("docent_data_dir_free_bytes").set(space.free_bytes as f64);
            metrics::gauge!("docent_data_dir_total_bytes").set(space.total_bytes as f64);
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot measure the data directory"),
    }
    match recent_backup::newest_backup(&recent_backup::backup_dir(settings)) {
        Ok(newest) => {
            let at = newest.map_or(0.0, |b| recent_backup::unix_seconds(b.modified));
            metrics::gauge!("docent_backup_last_success_timestamp_seconds").set(at);
        }
        Err(recent_backup::RecentBackupError::NoDirectory(_)) => {}
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the backup directory"),
    }
}
