//! SQLite: the online snapshot (`VACUUM INTO`, a transactionally consistent copy that does not
//! block the server's writers in WAL mode), inspection of a snapshot (tables, row counts,
//! migrations, integrity) and the atomic replacement of the live file on restore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use super::BackupError;
use super::archive::sync_dir;
use crate::config::redact_url;
use crate::db::DbError;

/// What a snapshot holds: rows per table and the applied migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Inspection {
    pub tables: BTreeMap<String, u64>,
    pub migrations: Vec<i64>,
}

/// The database file a `sqlite:` URL names.
pub(super) fn database_path(url: &str) -> Result<PathBuf, BackupError> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|source| DbError::BadUrl { url: redact_url(url), source })?;
    Ok(options.get_filename().to_path_buf())
}

/// Writes a consistent copy of the live database to `dest` (which must not exist).
pub(super) async fn snapshot(url: &str, dest: &Path) -> Result<(), BackupError> {
    let path = database_path(url)?;
    if !path.is_file() {
        return Err(BackupError::NoDatabase(path));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| DbError::BadUrl { url: redact_url(url), source })?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|source| DbError::Connect { url: redact_url(url), source })?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .map_err(BackupError::sql(format!("VACUUM INTO {} failed", dest.display())))?;
    conn.close().await.map_err(BackupError::sql("closing the SQLite connection failed"))
}

async fn open(path: &Path) -> Result<SqliteConnection, BackupError> {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(false);
    SqliteConnection::connect_with(&options)
        .await
        .map_err(BackupError::sql(format!("cannot open the SQLite snapshot {}", path.display())))
}

/// Tables, row counts and applied migrations of a database file.
pub(super) async fn inspect(path: &Path) -> Result<Inspection, BackupError> {
    let mut conn = open(path).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(BackupError::sql(format!("listing the tables of {} failed", path.display())))?;
    let mut inspection = Inspection::default();
    for name in names {
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let count: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut conn)
            .await
            .map_err(BackupError::sql(format!("counting the rows of {name} in {} failed", path.display())))?;
        inspection.tables.insert(name, count as u64);
    }
    if inspection.tables.contains_key("_sqlx_migrations") {
        inspection.migrations =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .map_err(BackupError::sql("reading _sqlx_migrations failed"))?;
    }
    let _ = conn.close().await;
    Ok(inspection)
}

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: the problems found (empty if none).
pub(super) async fn integrity_problems(path: &Path) -> Result<Vec<String>, BackupError> {
    let mut conn = open(path).await?;
    let context = format!("the integrity check of {} failed to run", path.display());
    let rows: Vec<String> =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.map_err(BackupError::sql(&context))?;
    let mut problems: Vec<String> = rows.into_iter().filter(|r| r != "ok").collect();
    let violations =
        sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await.map_err(BackupError::sql(context))?;
    for row in violations {
        let table: String = row.try_get(0).unwrap_or_default();
        let rowid: Option<i64> = row.try_get(1).unwrap_or_default();
        let parent: String = row.try_get(2).unwrap_or_default();
        problems.push(format!("foreign key violation: {table} row {rowid:?} references a missing {parent} row"));
    }
    let _ = conn.close().await;
    Ok(problems)
}

/// Moves the verified snapshot `staged` (in the same folder as `target`) over the live file.
/// Without `force` an existing non-empty file is refused. The replaced database is kept next to
/// it as `NAME.pre-restore-TIMESTAMP` (with its WAL); returns that path.
pub(super) fn replace(staged: &Path, target: &Path, force: bool) -> Result<Option<PathBuf>, BackupError> {
    let exists = target.metadata().map(|m| m.len() > 0).unwrap_or(false);
    if exists && !force {
        let reason = "the SQLite database file already exists".into();
        return Err(BackupError::LiveTarget { target: target.display().to_string(), reason });
    }
    let previous = if target.exists() { Some(set_aside(target)?) } else { None };
    std::fs::rename(staged, target).map_err(|e| BackupError::io("move the restored database to", target, e))?;
    sync_dir(target.parent().unwrap_or(Path::new(".")))?;
    Ok(previous)
}

/// Keeps the current database under a new name: a hard link (the live name then moves
/// atomically to the restored file), with its rollback journal or WAL renamed along with it so
/// neither is ever applied to the restored file.
fn set_aside(target: &Path) -> Result<PathBuf, BackupError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let keep = with_suffix(target, &format!(".pre-restore-{stamp}"));
    if std::fs::hard_link(target, &keep).is_err() {
        std::fs::rename(target, &keep).map_err(|e| BackupError::io("set aside the current database", target, e))?;
    }
    for suffix in ["-wal", "-journal"] {
        let side = with_suffix(target, suffix);
        if side.exists() {
            let moved = with_suffix(&keep, suffix);
            std::fs::rename(&side, &moved).map_err(|e| BackupError::io("set aside", &side, e))?;
        }
    }
    let shm = with_suffix(target, "-shm");
    if shm.exists() {
        std::fs::remove_file(&shm).map_err(|e| BackupError::io("remove", &shm, e))?;
    }
    Ok(keep)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
