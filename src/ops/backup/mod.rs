//! `docent backup`: consistent online snapshots of the database packed into one compressed
//! archive with a manifest, and the commands that list, verify, restore and prune them.
//!
//! * **Snapshot.** SQLite through `VACUUM INTO` (a transactionally consistent copy taken while the
//!   server keeps writing; never a file copy). PostgreSQL through `pg_dump -Fc` pinned to a
//!   snapshot exported by a `REPEATABLE READ` transaction, in which the per-table row counts of
//!   the manifest are taken too, so the counts describe exactly the dumped data.
//! * **The embedded index is not archived.** It is derived from the database (chunks and their
//!   vectors live there), a copy of `index.db` could not be taken atomically with the database
//!   snapshot, every replica of a scaled-out deployment holds its own, and it would double the
//!   archive with a second copy of every vector. The manifest records that it is rebuilt, and
//!   `restore` rebuilds it with the `docent index rebuild` function (no re-embedding).
//! * **Archive.** `docent-YYYYMMDDTHHMMSSZ.tar.gz`: `manifest.json` first (so `list` reads only
//!   the first few kilobytes), then the snapshot file. gzip through `flate2` on its pure-Rust
//!   `miniz_oxide` backend: already in the dependency tree (no C toolchain, nothing new to
//!   compile) and readable with any `tar -xzf`. Written under a hidden temporary name in the
//!   same folder, fsynced, renamed, and the folder fsynced.
//! * **Verify** checks every file's size and SHA-256 and the gzip CRC, restores into a scratch
//!   location (a temporary SQLite file; a temporary PostgreSQL database, dropped afterwards),
//!   runs the integrity checks and compares each table's row count with the manifest.

mod archive;
mod create;
mod error;
mod manifest;
mod postgres;
mod prune;
mod restore;
pub mod retention;
mod sqlite;
mod verify;

pub use archive::{CheckedFile, read_manifest, write_archive};
pub use create::{CreateReport, create};
pub use error::BackupError;
pub use manifest::{ARCHIVE_SUFFIX, FORMAT, FORMAT_VERSION, FileEntry, IndexRecord, Manifest, archive_name};
pub use prune::{PruneOptions, PruneReport, PrunedBackup, prune};
pub use restore::{IndexOutcome, RestoreOptions, RestoreReport, restore};
pub use verify::{VerifyReport, verify};

use std::path::{Path, PathBuf};

/// One archive found in a backup folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupEntry {
    pub path: PathBuf,
    pub file: String,
    /// Size of the archive on disk.
    pub bytes: u64,
    pub manifest: Manifest,
}

/// What `list` found: the backups, newest first, and the files that look like backups but whose
/// manifest cannot be read (never deleted by `prune`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackupListing {
    pub backups: Vec<BackupEntry>,
    pub unreadable: Vec<Unreadable>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Unreadable {
    pub path: PathBuf,
    pub error: String,
}

impl BackupListing {
    /// The newest backup, by the `created_at` of its manifest.
    pub fn newest(&self) -> Option<&BackupEntry> {
        self.backups.first()
    }
}

/// The backups in `dir` (files named `docent-*.tar.gz`), newest first by their manifest's
/// `created_at`. A missing folder is an empty listing; temporary files of a backup in progress
/// (hidden names) are ignored. Reads only the manifest at the start of each archive.
pub fn list(dir: &Path) -> Result<BackupListing, BackupError> {
    let mut listing = BackupListing::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
        Err(source) => return Err(BackupError::io("read the backup folder", dir, source)),
    };
    for entry in entries {
        let entry = entry.map_err(|source| BackupError::io("read the backup folder", dir, source))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if !manifest::looks_like_archive(&file) {
            continue;
        }
        let path = entry.path();
        match read_manifest(&path) {
            Ok(manifest) => {
                let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
                listing.backups.push(BackupEntry { path, file, bytes, manifest });
            }
            Err(err) => listing.unreadable.push(Unreadable { path, error: error_chain(&err) }),
        }
    }
    listing.backups.sort_by(|a, b| b.manifest.created_at.cmp(&a.manifest.created_at).then(b.file.cmp(&a.file)));
    Ok(listing)
}

/// An error and its causes on one line, for reports.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
