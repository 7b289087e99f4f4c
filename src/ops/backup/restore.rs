//! `docent backup restore`: checks the archive, refuses to replace a live database without
//! `--force`, replaces it (SQLite: verified file renamed over the old one, which is kept aside;
//! PostgreSQL: `pg_restore --clean` in one transaction), confirms the row counts, reports the
//! migration status and rebuilds the embedded index from the restored database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::archive::{extract, read_manifest};
use super::error::blocking;
use super::postgres::{self, PgTools};
use super::{BackupError, Manifest, sqlite};
use crate::components::Components;
use crate::config::{Settings, redact_url};
use crate::db::migrate;
use crate::db::{Db, Dialect};
use crate::ingest::rebuild::rebuild_index;

#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Replace a database that exists (SQLite) or holds data (PostgreSQL).
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub archive: PathBuf,
    pub dialect: Dialect,
    /// The restored database, password redacted.
    pub target: String,
    /// SQLite: where the replaced database was kept.
    pub previous_kept_as: Option<PathBuf>,
    /// Rows per table after the restore (equal to the manifest's).
    pub tables: BTreeMap<String, u64>,
    /// Tables of the target that the backup does not have (left in place).
    pub leftover_tables: Vec<String>,
    pub migrations: MigrationOutcome,
    pub index: IndexOutcome,
    /// What the operator still has to do.
    pub next_steps: Vec<String>,
    pub duration_ms: u64,
    pub manifest: Manifest,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationOutcome {
    /// The newest migration in the backup.
    pub backup_schema_version: i64,
    /// Migrations this docent has that the restored database lacks (still pending).
    pub pending: Vec<i64>,
    /// Pending migrations applied while rebuilding the index (DOCENT_AUTO_MIGRATE).
    pub applied: Vec<i64>,
    /// Migrations in the backup that this docent does not know (a newer docent made it).
    pub unknown: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum IndexOutcome {
    Rebuilt { documents: usize, chunks: usize, reembedded: usize },
    Deferred { reason: String },
}

/// Restores `archive` into the configured database and rebuilds the index.
pub async fn restore(
    settings: &Settings,
    archive: &Path,
    options: RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let source = archive.to_path_buf();
    let manifest = blocking(move || read_manifest(&source)).await?;
    let url = settings.database_url();
    let configured = if url.starts_with("sqlite:") { Dialect::Sqlite } else { Dialect::Postgres };
    if manifest.dialect != configured {
        let [backup, configured] = [manifest.dialect, configured].map(|d| dialect_name(d).to_owned());
        return Err(BackupError::DialectMismatch { archive: archive.into(), backup, configured });
    }
    let previous_kept_as = match configured {
        Dialect::Sqlite => restore_sqlite(&url, archive, options).await?,
        Dialect::Postgres => restore_postgres(settings, &url, archive, options).await?,
    };
    let restored = restored_tables(&url).await?;
    let leftover_tables = check_restored(archive, &manifest, &restored)?;
    let mut migrations = migration_outcome(settings, &manifest).await?;
    let index = index_after_restore(settings, &mut migrations).await?;
    let mut report = RestoreReport {
        archive: archive.to_path_buf(),
        dialect: configured,
        target: redact_url(&url),
        previous_kept_as,
        tables: restored,
        leftover_tables,
        migrations,
        index,
        next_steps: Vec::new(),
        duration_ms: started.elapsed().as_millis() as u64,
        manifest,
    };
    report.next_steps = next_steps(&report);
    Ok(report)
}

async fn restore_sqlite(url: &str, archive: &Path, options: RestoreOptions) -> Result<Option<PathBuf>, BackupError> {
    let target = sqlite::database_path(url)?;
    if !options.force && target.metadata().is_ok_and(|m| m.len() > 0) {
        let reason = "the SQLite database file already exists".into();
        return Err(BackupError::LiveTarget { target: target.display().to_string(), reason });
    }
    let folder = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&folder).map_err(|e| BackupError::io("create the database folder", &folder, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".docent-restore-")
        .tempdir_in(&folder)
        .map_err(|e| BackupError::io("create a staging folder in", &folder, e))?;
    let (source, dest) = (archive.to_path_buf(), staging.path().to_path_buf());
    blocking(move || extract(&source, &dest)).await?;
    let staged = staging.path().join(super::manifest::SQLITE_FILE);
    let problems = sqlite::integrity_problems(&staged).await?;
    if !problems.is_empty() {
        let details = problems.join("; ");
        return Err(BackupError::Integrity { archive: archive.into(), file: "docent.db".into(), details });
    }
    blocking(move || sqlite::replace(&staged, &target, options.force)).await
}

async fn restore_postgres(
    settings: &Settings,
    url: &str,
    archive: &Path,
    options: RestoreOptions,
) -> Result<Option<PathBuf>, BackupError> {
    let tools = PgTools::find(settings)?;
    if !options.force
        && let Some(reason) = postgres::live_reason(url).await?
    {
        return Err(BackupError::LiveTarget { target: redact_url(url), reason });
    }
    let staging = tempfile::Builder::new()
        .prefix("docent-restore-")
        .tempdir()
        .map_err(|e| BackupError::io("create a staging folder in", &std::env::temp_dir(), e))?;
    let (source, dest) = (archive.to_path_buf(), staging.path().to_path_buf());
    blocking(move || extract(&source, &dest)).await?;
    postgres::restore(url, &tools, &staging.path().join(super::manifest::POSTGRES_FILE)).await?;
    Ok(None)
}

async fn restored_tables(url: &str) -> Result<BTreeMap<String, u64>, BackupError> {
    if url.starts_with("sqlite:") {
        return Ok(sqlite::inspect(&sqlite::database_path(url)?).await?.tables);
    }
    Ok(postgres::inspect_url(url).await?.tables)
}

/// The restored counts must equal the manifest's; tables the backup lacks are returned.
fn check_restored(
    archive: &Path,
    manifest: &Manifest,
    restored: &BTreeMap<String, u64>,
) -> Result<Vec<String>, BackupError> {
    let leftover: Vec<String> = restored.keys().filter(|t| !manifest.tables.contains_key(*t)).cloned().collect();
    let comparable: BTreeMap<String, u64> =
        restored.iter().filter(|(t, _)| manifest.tables.contains_key(*t)).map(|(t, n)| (t.clone(), *n)).collect();
    super::verify::compare_counts(archive, &manifest.tables, &comparable)?;
    Ok(leftover)
}

async fn migration_outcome(settings: &Settings, manifest: &Manifest) -> Result<MigrationOutcome, BackupError> {
    let db = Db::connect(settings).await?;
    let states = migrate::status(&db).await;
    db.close().await;
    let states = states?;
    let pending = states.iter().filter(|m| !m.applied).map(|m| m.version).collect();
    let unknown = manifest.migrations.iter().copied().filter(|v| !states.iter().any(|m| m.version == *v)).collect();
    Ok(MigrationOutcome { backup_schema_version: manifest.schema_version, pending, applied: Vec::new(), unknown })
}

/// Rebuilds the index unless migrations are pending and will not be applied automatically (the
/// rebuild reads the current schema).
async fn index_after_restore(
    settings: &Settings,
    migrations: &mut MigrationOutcome,
) -> Result<IndexOutcome, BackupError> {
    if !migrations.pending.is_empty() && !settings.auto_migrate() {
        let reason =
            "the restored database has pending migrations; run `docent migrate up`, then `docent index rebuild`";
        return Ok(IndexOutcome::Deferred { reason: reason.into() });
    }
    let components = Components::open_unchecked(settings).await.map_err(|e| BackupError::Index(Box::new(e)))?;
    migrations.applied = std::mem::take(&mut migrations.pending);
    let rebuilt = rebuild_index(&components).await;
    components.db.close().await;
    let report = rebuilt.map_err(|e| BackupError::Index(Box::new(e)))?;
    Ok(IndexOutcome::Rebuilt { documents: report.documents, chunks: report.chunks, reembedded: report.reembedded })
}

fn next_steps(report: &RestoreReport) -> Vec<String> {
    let mut steps = Vec::new();
    let m = &report.migrations;
    if !m.unknown.is_empty() {
        steps.push(format!(
            "the backup has migrations this docent does not know ({:?}): it was made by a newer docent; run that version",
            m.unknown
        ));
    }
    if !m.pending.is_empty() {
        steps.push(format!(
            "the backup predates migrations {:?}: run `docent migrate up`, then `docent index rebuild`",
            m.pending
        ));
    }
    if !report.leftover_tables.is_empty() {
        steps.push(format!("tables not in the backup were left in place: {}", report.leftover_tables.join(", ")));
    }
    if let Some(previous) = &report.previous_kept_as {
        steps.push(format!(
            "the replaced database is kept as {}; delete it once the restore is confirmed",
            previous.display()
        ));
    }
    steps.push("start docent (or restart every replica: each brings its own index in line at start-up)".into());
    steps
}

pub(super) fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    }
}
