//! A cheap "has anyone written to `index.db` since I last looked?" test, so that a search does
//! not query the stored write generation (a round trip through the SQLite pool's worker
//! thread) when nothing changed.
//!
//! Every commit in WAL mode writes the `-wal` file, and checkpoints write the main file, so
//! their sizes and modification times (with inode numbers, in case a file is replaced) change
//! with every write from any process. Two `stat` calls compare them with the stamp taken at
//! the last real check. File times are kernel ticks (a few milliseconds), so in the corner case
//! of a WAL reset and a same-sized rewrite inside one tick the stamp could repeat; the real
//! check therefore still runs at least every [`MAX_TRUST`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Longest time an unchanged stamp is trusted without the real check.
const MAX_TRUST: Duration = Duration::from_millis(500);

/// Size, modification time and inode of one file (`None` when it does not exist).
type FileStamp = Option<(u64, SystemTime, u64)>;

/// The files' stamps at the last real check.
#[derive(Debug)]
pub struct Freshness {
    files: [PathBuf; 2],
    last: Mutex<Option<([FileStamp; 2], Instant)>>,
}

impl Freshness {
    /// Watches `path` (the database) and its `-wal` file.
    pub fn new(path: &Path) -> Self {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Self { files: [path.to_owned(), PathBuf::from(wal)], last: Mutex::new(None) }
    }

    /// The current stamps of the watched files.
    pub fn stamp(&self) -> [FileStamp; 2] {
        self.files.each_ref().map(|file| stamp(file))
    }

    /// True when the files are unchanged since [`Freshness::checked`] recorded `stamp`, and
    /// that was recently enough to trust.
    pub fn unchanged(&self, now: &[FileStamp; 2]) -> bool {
        let last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.as_ref().is_some_and(|(stamp, at)| stamp == now && at.elapsed() < MAX_TRUST)
    }

    /// Records that the state was verified current when the files had `stamp` (taken *before*
    /// the verification, so a write racing it changes the stamp and is seen next time).
    pub fn checked(&self, stamp: [FileStamp; 2]) {
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((stamp, Instant::now()));
    }
}

fn stamp(file: &Path) -> FileStamp {
    let meta = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok()?, inode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_changes_the_stamp_and_an_unchanged_stamp_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        std::fs::write(&path, b"one").unwrap();
        let freshness = Freshness::new(&path);
        let before = freshness.stamp();
        assert!(!freshness.unchanged(&before), "never checked yet");
        freshness.checked(before);
        assert!(freshness.unchanged(&freshness.stamp()));
        std::fs::write(dir.path().join("index.db-wal"), b"frame").unwrap();
        assert!(!freshness.unchanged(&freshness.stamp()), "a new WAL file is a change");
    }
}
