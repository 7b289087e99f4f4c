//! The newest backup in the backup directory, for the `docent_backup_last_success_timestamp_seconds`
//! gauge and the backup item of `docent check`.
//!
//! `docent backup create` writes `docent-YYYYMMDDTHHMMSSZ.tar.gz` into the backup folder
//! (`DOCENT_BACKUP__DIR`) under a hidden temporary name and renames it when complete, so the
//! newest modification time of a `docent-*` file is the time of the last successful backup.
//! Reading modification times keeps a scrape cheap (the manifests are inside the archives, see
//! `ops::backup::list` for the full read); hidden files and names ending in `.tmp`, `.part` or
//! `.partial` are unfinished and ignored.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum RecentBackupError {
    #[error("there is no backup directory at {0}")]
    NoDirectory(PathBuf),
    #[error("cannot list the backup directory {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One finished backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub path: PathBuf,
    pub modified: SystemTime,
}

/// Where backups are looked for: `<DOCENT_DATA_DIR>/backups`.
pub fn backup_dir(settings: &Settings) -> PathBuf {
    settings.backup_dir()
}

/// The most recently finished backup in `dir`, `None` when the directory holds none.
pub fn newest_backup(dir: &Path) -> Result<Option<BackupFile>, RecentBackupError> {
    let read_err = |source| RecentBackupError::Read { path: dir.to_path_buf(), source };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RecentBackupError::NoDirectory(dir.to_path_buf()));
        }
        Err(e) => return Err(read_err(e)),
    };
    let mut newest: Option<BackupFile> = None;
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_finished_backup(&name) {
            continue;
        }
        let meta = entry.metadata().map_err(read_err)?;
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().map_err(read_err)?;
        if newest.as_ref().is_none_or(|n| modified > n.modified) {
            newest = Some(BackupFile { path: entry.path(), modified });
        }
    }
    Ok(newest)
}

fn is_finished_backup(name: &str) -> bool {
    name.starts_with("docent-") && ![".tmp", ".part", ".partial"].iter().any(|suffix| name.ends_with(suffix))
}

/// Seconds since the Unix epoch of a file time.
pub fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_finished_backup_wins_and_unfinished_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("docent-20260101.tar.zst");
        std::fs::write(&old, b"old").unwrap();
        let past = SystemTime::now() - std::time::Duration::from_secs(86_400);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(past).unwrap();
        let new = dir.path().join("docent-20260102.tar.zst");
        std::fs::write(&new, b"new").unwrap();
        std::fs::write(dir.path().join("docent-20260103.tar.zst.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not a backup").unwrap();
        let found = newest_backup(dir.path()).unwrap().unwrap();
        assert_eq!(found.path, new);
    }

    #[test]
    fn an_empty_directory_has_no_backup_and_a_missing_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), None);
        let missing = dir.path().join("backups");
        assert!(matches!(newest_backup(&missing), Err(RecentBackupError::NoDirectory(p)) if p == missing));
    }
}
