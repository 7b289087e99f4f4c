//! The relational store: one pool for either SQLite (the embedded default) or PostgreSQL
//! (scale-out), chosen from `DATABASE_URL`. Queries are runtime-checked (`query_as` + `FromRow`)
//! and written once in SQL both dialects accept; [`on_pool!`] runs them on whichever pool is live.
//! Only where the dialects really differ (migrations, backups) is there per-dialect code.

pub mod api_keys;
pub mod audit;
pub mod chapters;
pub mod conversations;
pub mod documents;
pub mod jobs;
pub mod migrate;
pub mod quotas;
pub mod sessions;
pub mod translations;
pub mod turns;
pub mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use tokio::sync::{Mutex, MutexGuard};

use crate::config::{Settings, redact_url};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid database URL {url}")]
    BadUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to the database at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A pool on one of the two supported databases. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    /// The pool, and the gate its writers queue at (see [`Db::write_gate`]).
    Sqlite(SqlitePool, Arc<Mutex<()>>),
    Postgres(PgPool),
}

/// Runs the same expression on whichever pool is live:
/// `on_pool!(db, pool => sqlx::query("…").execute(pool).await)`. With an operation name,
/// `on_pool!(db, "documents.chunk_count", pool => …)`, the body is also timed into
/// `docent_db_query_duration_seconds{operation}` (early returns through `?` included).
/// Statements that write say so, `on_pool!(db, write "…", pool => …)` or
/// `on_pool!(db, write, pool => …)`: on SQLite they first pass [`Db::write_gate`].
#[macro_export]
macro_rules! on_pool {
    ($db:expr, write $operation:literal, $pool:ident => $body:expr) => {{
        let _timer = $crate::db::OperationTimer::start($operation);
        $crate::on_pool!($db, write, $pool => $body)
    }};
    ($db:expr, write, $pool:ident => $body:expr) => {{
        let _gate = $db.write_gate().await;
        $crate::on_pool!($db, $pool => $body)
    }};
    ($db:expr, $operation:literal, $pool:ident => $body:expr) => {{
        let _timer = $crate::db::OperationTimer::start($operation);
        $crate::on_pool!($db, $pool => $body)
    }};
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

static OPERATIONS_IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

/// Times one database operation into `docent_db_query_duration_seconds` and counts it as in
/// flight meanwhile (for the pool's waiting gauge). Records when dropped.
#[derive(Debug)]
pub struct OperationTimer {
    operation: &'static str,
    started: Instant,
}

impl OperationTimer {
    pub fn start(operation: &'static str) -> Self {
        OPERATIONS_IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        Self { operation, started: Instant::now() }
    }
}

impl Drop for OperationTimer {
    fn drop(&mut self) {
        OPERATIONS_IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
        metrics::histogram!("docent_db_query_duration_seconds", "operation" => self.operation)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// Timed database operations running now in this process (waiting for a connection or using one).
pub fn operations_in_flight() -> i64 {
    OPERATIONS_IN_FLIGHT.load(Ordering::Relaxed)
}

/// Pool statistics for health and metrics.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
}

impl Db {
    /// Opens the pool described by the settings and checks that the database answers.
    pub async fn connect(settings: &Settings) -> Result<Db, DbError> {
        let url = settings.database_url();
        let shown = redact_url(&url);
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(connect_sqlite(settings, &url, &shown).await?, Arc::default())
        } else {
            Db::Postgres(connect_postgres(settings, &url, &shown).await?)
        };
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(..) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// `SELECT 1` within the timeout: the liveness of the database itself.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let probe =
            async { on_pool!(self, "health.ping", pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        match tokio::time::timeout(timeout, probe).await {
            Ok(result) => result.map_err(DbError::from),
            Err(_) => Err(DbError::Timeout(timeout)),
        }
    }

    /// On SQLite, the turn of one writer of this process. SQLite admits one writer at a time;
    /// left to itself, a second connection's write fails with `SQLITE_BUSY` and its busy
    /// handler sleeps (1, 2, 5, 10… ms) before trying again, so a burst of concurrent writes
    /// (chat turns, quota settlements) pays sleeps that add up to tens of milliseconds, and a
    /// deferred transaction that read before writing can fail outright. Writers of this process
    /// queue here instead, in arrival order and without sleeping; readers never wait (WAL).
    /// Writers in other processes (`docent ingest`) still meet the busy timeout. PostgreSQL
    /// locks rows, not the database: no gate.
    pub async fn write_gate(&self) -> Option<MutexGuard<'_, ()>> {
        match self {
            Db::Sqlite(_, gate) => Some(gate.lock().await),
            Db::Postgres(_) => None,
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        on_pool!(self, pool => PoolStats { size: pool.size(), idle: pool.num_idle() })
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

async fn connect_sqlite(settings: &Settings, url: &str, shown: &str) -> Result<SqlitePool, DbError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| DbError::BadUrl { url: shown.into(), source })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir { path: dir.display().to_string(), source })?;
    }
    let db = &settings.database;
    SqlitePoolOptions::new()
        // A local file cannot drop a connection the way a network server can, so the health
        // ping before every checkout would only add a round trip to the connection's thread.
        .test_before_acquire(false)
        .max_connections(db.max_connections)
        .min_connections(db.min_connections)
        .acquire_timeout(Duration::from_secs(db.acquire_timeout_secs))
        .idle_timeout(Duration::from_secs(db.idle_timeout_secs))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { url: shown.into(), source })
}

async fn connect_postgres(settings: &Settings, url: &str, shown: &str) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|source| DbError::BadUrl { url: shown.into(), source })?
        .application_name("docent");
    let db = &settings.database;
    PgPoolOptions::new()
        .max_connections(db.max_connections)
        .min_connections(db.min_connections)
        .acquire_timeout(Duration::from_secs(db.acquire_timeout_secs))
        .idle_timeout(Duration::from_secs(db.idle_timeout_secs))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { url: shown.into(), source })
}
