//! `docent backup create`: snapshot, inspect, hash and pack into one archive, written
//! atomically into the backup folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use super::archive::{hash_file, write_archive};
use super::error::blocking;
use super::manifest::{FORMAT, FORMAT_VERSION, POSTGRES_FILE, SQLITE_FILE};
use super::postgres::{self, PgTools};
use super::sqlite::{self, Inspection};
use super::{BackupError, FileEntry, IndexRecord, Manifest};
use crate::config::{Settings, redact_url};
use crate::db::Dialect;

/// What `create` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct CreateReport {
    pub path: PathBuf,
    pub file: String,
    /// Size of the compressed archive.
    pub bytes: u64,
    pub duration_ms: u64,
    pub manifest: Manifest,
}

/// Takes a consistent snapshot of the configured database while it keeps serving and writes it
/// as a new archive in `dir`.
pub async fn create(settings: &Settings, dir: &Path) -> Result<CreateReport, BackupError> {
    // No metrics here: this runs as a one-shot command with no scrape endpoint. Every server
    // replica exports the newest archive's time from the backup folder at each scrape.
    create_archive(settings, dir, Instant::now()).await
}

async fn create_archive(settings: &Settings, dir: &Path, started: Instant) -> Result<CreateReport, BackupError> {
    std::fs::create_dir_all(dir).map_err(|e| BackupError::io("create the backup folder", dir, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".docent-staging-")
        .tempdir_in(dir)
        .map_err(|e| BackupError::io("create a staging folder in", dir, e))?;
    let url = settings.database_url();
    let (dialect, name) =
        if url.starts_with("sqlite:") { (Dialect::Sqlite, SQLITE_FILE) } else { (Dialect::Postgres, POSTGRES_FILE) };
    let snapshot = staging.path().join(name);
    let created_at = Utc::now();
    let inspection = match dialect {
        Dialect::Sqlite => {
            sqlite::snapshot(&url, &snapshot).await?;
            sqlite::inspect(&snapshot).await?
        }
        Dialect::Postgres => postgres::dump(&url, &PgTools::find(settings)?, &snapshot).await?,
    };
    let hashed = snapshot.clone();
    let (bytes, sha256) = blocking(move || hash_file(&hashed)).await?;
    let manifest = manifest(dialect, &url, created_at, inspection, FileEntry { name: name.into(), bytes, sha256 });
    let (out_dir, staged, packed) = (dir.to_path_buf(), staging.path().to_path_buf(), manifest.clone());
    let path = blocking(move || write_archive(&out_dir, &packed, &staged)).await?;
    let bytes = std::fs::metadata(&path).map_err(|e| BackupError::io("read the size of", &path, e))?.len();
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(archive = %path.display(), bytes, duration_ms, "backup written");
    Ok(CreateReport { path, file, bytes, duration_ms, manifest })
}

fn manifest(
    dialect: Dialect,
    url: &str,
    created_at: chrono::DateTime<Utc>,
    inspection: Inspection,
    file: FileEntry,
) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        docent_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        dialect,
        schema_version: inspection.migrations.last().copied().unwrap_or(0),
        migrations: inspection.migrations,
        source: redact_url(url),
        files: vec![file],
        tables: inspection.tables,
        index: IndexRecord::rebuilt(),
    }
}
