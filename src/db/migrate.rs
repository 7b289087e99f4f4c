//! Reversible migrations for both dialects, embedded in the binary from `migrations/sqlite` and
//! `migrations/postgres`. Applying and reverting go through sqlx's `Migrator`, which records each
//! version with its checksum and, on PostgreSQL, holds an advisory lock so two replicas starting
//! at once cannot both migrate. `new` writes the up/down pair for both dialects.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sqlx::migrate::{Migrate, MigrateError as SqlxMigrateError, Migrator};

use super::{Db, DbError};
use crate::on_pool;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration failed")]
    Migrate(#[from] SqlxMigrateError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("invalid migration name {0:?}: use letters, digits, spaces, dashes or underscores")]
    BadName(String),
    #[error("cannot write migration file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One known migration and whether this database has it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite(..) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    }
}

async fn applied_versions(db: &Db) -> Result<HashSet<i64>, MigrateError> {
    on_pool!(db, pool => {
        let mut conn = pool.acquire().await.map_err(DbError::from)?;
        locked(&mut *conn, async |conn| applied_on(conn).await).await
    })
}

/// Every migration the binary knows, oldest first, with its state in this database.
pub async fn status(db: &Db) -> Result<Vec<MigrationState>, MigrateError> {
    let applied = applied_versions(db).await?;
    Ok(migrator(db)
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| MigrationState {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        })
        .collect())
}

/// The migrations not yet applied.
pub async fn pending(db: &Db) -> Result<Vec<MigrationState>, MigrateError> {
    Ok(status(db).await?.into_iter().filter(|m| !m.applied).collect())
}

/// Applies every pending migration in order; returns the versions this call applied.
pub async fn up(db: &Db) -> Result<Vec<i64>, MigrateError> {
    let migrator = migrator(db);
    on_pool!(db, pool => {
        let mut conn = pool.acquire().await.map_err(DbError::from)?;
        locked(&mut *conn, async |conn| {
            let before = applied_on(conn).await?;
            migrator.run(&mut *conn).await?;
            let after = applied_on(conn).await?;
            let mut done: Vec<i64> = after.difference(&before).copied().collect();
            done.sort_unstable();
            Ok(done)
        })
        .await
    })
}

/// Reverts the last `steps` applied migrations, newest first; returns the reverted versions.
pub async fn down(db: &Db, steps: usize) -> Result<Vec<i64>, MigrateError> {
    let migrator = migrator(db);
    on_pool!(db, pool => {
        let mut conn = pool.acquire().await.map_err(DbError::from)?;
        locked(&mut *conn, async |conn| {
            let mut applied: Vec<i64> = applied_on(conn).await?.into_iter().collect();
            applied.sort_unstable_by(|a, b| b.cmp(a));
            let reverted: Vec<i64> = applied.iter().take(steps).copied().collect();
            if !reverted.is_empty() {
                migrator.undo(&mut *conn, applied.get(steps).copied().unwrap_or(0)).await?;
            }
            Ok(reverted)
        })
        .await
    })
}

/// Runs `work` holding the migration lock (a PostgreSQL advisory lock; re-entrant, so the
/// `Migrator` may take it again on the same connection).
async fn locked<C, T>(
    conn: &mut C,
    work: impl AsyncFnOnce(&mut C) -> Result<T, MigrateError>,
) -> Result<T, MigrateError>
where
    C: Migrate + Send,
{
    conn.lock().await?;
    let result = work(conn).await;
    conn.unlock().await?;
    result
}

async fn applied_on<C: Migrate + Send>(conn: &mut C) -> Result<HashSet<i64>, MigrateError> {
    conn.ensure_migrations_table().await?;
    Ok(conn.list_applied_migrations().await?.into_iter().map(|m| m.version).collect())
}

/// Creates `NNNN_name.up.sql` and `NNNN_name.down.sql` for both dialects under `dir`.
pub fn new_migration(dir: &Path, name: &str) -> Result<Vec<PathBuf>, MigrateError> {
    let slug = migration_slug(name).ok_or_else(|| MigrateError::BadName(name.into()))?;
    let version = next_version(dir);
    let mut written = Vec::new();
    for dialect in ["sqlite", "postgres"] {
        let folder = dir.join(dialect);
        std::fs::create_dir_all(&folder).map_err(|source| MigrateError::Write { path: folder.clone(), source })?;
        for (suffix, body) in
            [("up", "-- Write the change here.\n"), ("down", "-- Undo the change made by the up script.\n")]
        {
            let path = folder.join(format!("{version:04}_{slug}.{suffix}.sql"));
            let header = format!("-- {dialect}: {name} ({suffix})\n{body}");
            std::fs::write(&path, header).map_err(|source| MigrateError::Write { path: path.clone(), source })?;
            written.push(path);
        }
    }
    Ok(written)
}

fn migration_slug(name: &str) -> Option<String> {
    let slug: String =
        name.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect();
    let valid = !slug.is_empty() && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(slug)
}

fn next_version(dir: &Path) -> i64 {
    let versions = ["sqlite", "postgres"].into_iter().flat_map(|d| {
        std::fs::read_dir(dir.join(d))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.split('_').next()?.parse::<i64>().ok())
    });
    versions.max().unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_migration_numbers_after_the_highest_existing_version_for_both_dialects() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sqlite")).unwrap();
        std::fs::write(dir.path().join("sqlite/0007_x.up.sql"), "").unwrap();
        let files = new_migration(dir.path(), "Add user-avatars").unwrap();
        let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["0008_add_user_avatars.up.sql", "0008_add_user_avatars.down.sql"].repeat(2));
        assert!(files[2].starts_with(dir.path().join("postgres")));
    }

    #[test]
    fn migration_names_with_punctuation_are_refused() {
        assert!(migration_slug("drop; table").is_none());
        assert!(migration_slug("  ").is_none());
    }
}
