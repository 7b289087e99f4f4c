//! `docent backup verify`: checksums first, then a restore into a scratch location (a temporary
//! SQLite file; a temporary PostgreSQL database) with integrity checks and row counts compared
//! with the manifest. Any difference is an error naming the file or the tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::archive::{CheckedFile, extract};
use super::error::blocking;
use super::postgres::{self, PgTools};
use super::{BackupError, Manifest, sqlite};
use crate::config::Settings;
use crate::db::Dialect;

/// A verified archive.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub archive: PathBuf,
    /// Every file with the size and SHA-256 that matched the manifest.
    pub files: Vec<CheckedFile>,
    /// What the scratch restore proved.
    pub integrity: String,
    /// Rows per table after the scratch restore (equal to the manifest's).
    pub tables: BTreeMap<String, u64>,
    pub duration_ms: u64,
    pub manifest: Manifest,
}

/// Verifies `archive` without touching the configured database (PostgreSQL backups are restored
/// into a scratch database on the configured server, then dropped).
pub async fn verify(settings: &Settings, archive: &Path) -> Result<VerifyReport, BackupError> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("docent-verify-")
        .tempdir()
        .map_err(|e| BackupError::io("create a scratch folder in", &std::env::temp_dir(), e))?;
    let (source, dest) = (archive.to_path_buf(), scratch.path().to_path_buf());
    let (manifest, files) = blocking(move || extract(&source, &dest)).await?;
    let snapshot = scratch.path().join(manifest.snapshot_file());
    let (integrity, tables) = match manifest.dialect {
        Dialect::Sqlite => check_sqlite(archive, &snapshot).await?,
        Dialect::Postgres => check_postgres(settings, archive, &snapshot).await?,
    };
    compare_counts(archive, &manifest.tables, &tables)?;
    let duration_ms = started.elapsed().as_millis() as u64;
    Ok(VerifyReport { archive: archive.to_path_buf(), files, integrity, tables, duration_ms, manifest })
}

async fn check_sqlite(archive: &Path, snapshot: &Path) -> Result<(String, BTreeMap<String, u64>), BackupError> {
    let problems = sqlite::integrity_problems(snapshot).await?;
    if !problems.is_empty() {
        return Err(BackupError::Integrity {
            archive: archive.into(),
            file: "docent.db".into(),
            details: problems.join("; "),
        });
    }
    let inspection = sqlite::inspect(snapshot).await?;
    Ok(("PRAGMA integrity_check and foreign_key_check passed".into(), inspection.tables))
}

async fn check_postgres(
    settings: &Settings,
    archive: &Path,
    dump: &Path,
) -> Result<(String, BTreeMap<String, u64>), BackupError> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        return Err(BackupError::DialectMismatch {
            archive: archive.into(),
            backup: "PostgreSQL".into(),
            configured: "SQLite".into(),
        });
    }
    let inspection = postgres::restore_into_scratch(&url, &PgTools::find(settings)?, dump).await?;
    Ok((
        "pg_restore into a scratch database succeeded (constraints checked); database dropped".into(),
        inspection.tables,
    ))
}

/// Fails unless every table of the manifest holds the recorded number of rows and no table was
/// added or lost.
pub(super) fn compare_counts(
    archive: &Path,
    expected: &BTreeMap<String, u64>,
    found: &BTreeMap<String, u64>,
) -> Result<(), BackupError> {
    let mut differences = Vec::new();
    for (table, rows) in expected {
        match found.get(table) {
            Some(n) if n == rows => {}
            Some(n) => differences.push(format!("{table}: {n} rows, the manifest records {rows}")),
            None => differences.push(format!("{table}: missing")),
        }
    }
    differences
        .extend(found.keys().filter(|t| !expected.contains_key(*t)).map(|t| format!("{t}: not in the manifest")));
    if differences.is_empty() {
        Ok(())
    } else {
        Err(BackupError::Counts { archive: archive.into(), details: differences.join("; ") })
    }
}
