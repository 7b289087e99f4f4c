//! The errors of the backup commands: each names the file, folder, table or command involved.

use std::path::{Path, PathBuf};

use crate::db::DbError;
use crate::db::migrate::MigrateError;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file-system operation failed.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Docent backup: {reason}")]
    NotABackup { path: PathBuf, reason: String },
    #[error("{path} uses backup format version {found}; this docent reads up to {supported}: use a newer docent")]
    UnsupportedFormat { path: PathBuf, found: u32, supported: u32 },
    /// A file inside the archive (or the archive's compressed stream) does not match the manifest.
    #[error("{archive}: {file} is corrupt: {reason}")]
    Corrupt { archive: PathBuf, file: String, reason: String },
    #[error(
        "{tool} not found (looked in {searched}); install the PostgreSQL client tools (Debian: \
         postgresql-client, at least the server's major version) or set DOCENT_BACKUP__PG_BIN_DIR"
    )]
    ToolMissing { tool: &'static str, searched: String },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command { command: String, status: String, stderr: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// A query of the backup itself failed; `context` says which.
    #[error("{context}")]
    Sql {
        context: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("no SQLite database at {0}: nothing to back up")]
    NoDatabase(PathBuf),
    #[error("{archive}: the integrity check of {file} failed: {details}")]
    Integrity { archive: PathBuf, file: String, details: String },
    #[error("{archive}: row counts differ from the manifest: {details}")]
    Counts { archive: PathBuf, details: String },
    #[error(
        "{archive} is a {backup} backup but DATABASE_URL points at {configured}: verify and restore need a \
         database of the same kind"
    )]
    DialectMismatch { archive: PathBuf, backup: String, configured: String },
    #[error("refusing to replace {target}: {reason}. Stop every docent using it, then pass --force to replace it")]
    LiveTarget { target: String, reason: String },
    #[error("{0} already exists (a backup was already written in this second)")]
    Exists(PathBuf),
    #[error("refusing to prune with keep-daily, keep-weekly and keep-monthly all 0: that would delete every backup")]
    KeepNothing,
    #[error("the database was restored but the index could not be rebuilt; run `docent index rebuild`")]
    Index(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl BackupError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        BackupError::Io { action, path: path.to_path_buf(), source }
    }

    pub(crate) fn sql(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| BackupError::Sql { context, source }
    }
}

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| BackupError::Task(e.to_string()))?
}
