//! `docent backup prune`: applies the [`retention`](super::retention) rule to the backups of a
//! folder (by their manifest's `created_at`) and deletes the rest, or only reports with
//! `dry_run`. Files whose manifest cannot be read are never deleted. Leftovers of a `create` or
//! `restore` that was killed (hidden `.docent-*` staging folders and temporary archives) older
//! than a day are removed too.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::archive::sync_dir;
use super::retention::{Policy, Rule, decide};
use super::{BackupError, Unreadable, list};

#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    pub policy: Policy,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrunedBackup {
    pub file: String,
    pub path: PathBuf,
    pub created_at: DateTime<Utc>,
    /// The rules that keep it (empty for a deleted backup).
    pub kept_by: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub dir: PathBuf,
    pub policy: Policy,
    pub dry_run: bool,
    /// Newest first.
    pub kept: Vec<PrunedBackup>,
    /// Newest first; deleted unless `dry_run`.
    pub deleted: Vec<PrunedBackup>,
    pub unreadable: Vec<Unreadable>,
    /// Temporary files and folders of interrupted runs, older than a day (removed unless `dry_run`).
    pub stale_temporaries: Vec<PathBuf>,
}

/// A temporary file is stale once nothing can still be writing it.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Keeps what the policy keeps in `dir` and deletes the other backups.
pub fn prune(dir: &Path, options: PruneOptions) -> Result<PruneReport, BackupError> {
    if options.policy.keeps_nothing() {
        return Err(BackupError::KeepNothing);
    }
    let listing = list(dir)?;
    let times: Vec<DateTime<Utc>> = listing.backups.iter().map(|b| b.manifest.created_at).collect();
    let decisions = decide(&times, options.policy);
    let (mut kept, mut deleted) = (Vec::new(), Vec::new());
    for (backup, kept_by) in listing.backups.iter().zip(decisions) {
        let entry = PrunedBackup {
            file: backup.file.clone(),
            path: backup.path.clone(),
            created_at: backup.manifest.created_at,
            kept_by,
        };
        if entry.kept_by.is_empty() { deleted.push(entry) } else { kept.push(entry) }
    }
    let stale_temporaries = stale_temporaries(dir)?;
    if !options.dry_run {
        for backup in &deleted {
            std::fs::remove_file(&backup.path).map_err(|e| BackupError::io("delete", &backup.path, e))?;
        }
        for path in &stale_temporaries {
            let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
            removed.map_err(|e| BackupError::io("delete", path, e))?;
        }
        if !deleted.is_empty() || !stale_temporaries.is_empty() {
            sync_dir(dir)?;
        }
    }
    let (policy, dry_run, unreadable) = (options.policy, options.dry_run, listing.unreadable);
    Ok(PruneReport { dir: dir.to_path_buf(), policy, dry_run, kept, deleted, unreadable, stale_temporaries })
}

/// Hidden `.docent-*` entries (staging folders, temporary archives) last modified over a day ago.
fn stale_temporaries(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BackupError::io("read the backup folder", dir, source)),
    };
    let cutoff = SystemTime::now() - STALE_AFTER;
    let mut stale: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".docent-"))
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|modified| modified < cutoff))
        .map(|e| e.path())
        .collect();
    stale.sort();
    Ok(stale)
}
