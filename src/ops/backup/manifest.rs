//! The manifest stored first in every archive, and the archive naming scheme
//! (`docent-YYYYMMDDTHHMMSSZ.tar.gz`, so names sort by time).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::BackupError;
use crate::db::Dialect;

pub const FORMAT: &str = "docent-backup";
/// Bumped on any change a reader of the previous version could misread.
pub const FORMAT_VERSION: u32 = 1;
pub const ARCHIVE_SUFFIX: &str = ".tar.gz";
pub(crate) const MANIFEST_NAME: &str = "manifest.json";
/// The snapshot file's name inside the archive, per dialect.
pub(crate) const SQLITE_FILE: &str = "docent.db";
pub(crate) const POSTGRES_FILE: &str = "docent.pgdump";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `docent-backup`.
    pub format: String,
    pub format_version: u32,
    /// The docent that wrote it.
    pub docent_version: String,
    /// The moment of the snapshot (UTC).
    pub created_at: DateTime<Utc>,
    pub dialect: Dialect,
    /// The newest migration applied in the snapshot (0 when none).
    pub schema_version: i64,
    /// Every migration applied in the snapshot, oldest first.
    pub migrations: Vec<i64>,
    /// The database it was taken from, password redacted.
    pub source: String,
    pub files: Vec<FileEntry>,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, u64>,
    pub index: IndexRecord,
}

/// One file of the archive besides the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the file's contents.
    pub sha256: String,
}

/// How the embedded index comes back after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRecord {
    pub included: bool,
    pub restore: String,
}

impl IndexRecord {
    pub fn rebuilt() -> Self {
        Self { included: false, restore: "rebuilt from the database (docent index rebuild)".into() }
    }
}

impl Manifest {
    /// Checks the header fields of a parsed manifest read from `path`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Manifest, BackupError> {
        let not_backup = |reason: String| BackupError::NotABackup { path: path.into(), reason };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| not_backup(format!("manifest.json is not JSON: {e}")))?;
        if value["format"] != FORMAT {
            return Err(not_backup(format!("manifest format is {}, expected {FORMAT}", value["format"])));
        }
        let found = value["format_version"].as_u64().unwrap_or(0) as u32;
        if found > FORMAT_VERSION {
            return Err(BackupError::UnsupportedFormat { path: path.into(), found, supported: FORMAT_VERSION });
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| not_backup(format!("manifest.json: {e}")))?;
        let unsafe_name = |n: &str| n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\']);
        if let Some(bad) = manifest.files.iter().find(|f| unsafe_name(&f.name)) {
            return Err(not_backup(format!("manifest lists a file named {:?}", bad.name)));
        }
        Ok(manifest)
    }

    /// The snapshot file this dialect stores.
    pub(crate) fn snapshot_file(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => SQLITE_FILE,
            Dialect::Postgres => POSTGRES_FILE,
        }
    }
}

/// The archive file name for a snapshot taken at `created_at`.
pub fn archive_name(created_at: DateTime<Utc>) -> String {
    format!("docent-{}{ARCHIVE_SUFFIX}", created_at.format("%Y%m%dT%H%M%SZ"))
}

/// Whether a file name is one of ours (temporary files start with a dot and never match).
pub(crate) fn looks_like_archive(name: &str) -> bool {
    name.starts_with("docent-") && name.ends_with(ARCHIVE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_sort_in_time_order() {
        let early = "2026-01-09T23:59:59Z".parse().unwrap();
        let late = "2026-11-25T05:15:00Z".parse().unwrap();
        assert_eq!(archive_name(late), "docent-20261125T051500Z.tar.gz");
        assert!(archive_name(early) < archive_name(late));
        assert!(looks_like_archive(&archive_name(late)));
        assert!(!looks_like_archive(".docent-20261125T051500Z.tar.gz.tmp-1"));
    }

    #[test]
    fn a_manifest_from_a_newer_format_is_refused_by_name() {
        let text = r#"{"format": "docent-backup", "format_version": 99}"#;
        let err = Manifest::parse(Path::new("b.tar.gz"), text).unwrap_err();
        assert!(matches!(err, BackupError::UnsupportedFormat { found: 99, .. }), "{err}");
    }
}
