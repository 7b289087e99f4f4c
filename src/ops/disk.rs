//! Free and total space of the file system holding a path (`statvfs`), for the
//! `docent_data_dir_*_bytes` gauges and the disk item of `docent check`.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot read the free space of {path}")]
    Statvfs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Space on one file system, as seen by an unprivileged process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes available to unprivileged users (`f_bavail`), the space Docent can really use.
    pub free_bytes: u64,
    pub total_bytes: u64,
}

impl DiskSpace {
    /// Free share in percent (0 for an empty file system report).
    pub fn free_percent(&self) -> f64 {
        if self.total_bytes == 0 { 0.0 } else { self.free_bytes as f64 * 100.0 / self.total_bytes as f64 }
    }
}

/// The space of the file system that holds `path`.
pub fn disk_space(path: &Path) -> Result<DiskSpace, DiskError> {
    statvfs(path).map_err(|source| DiskError::Statvfs { path: path.to_path_buf(), source })
}

#[cfg(unix)]
// The statvfs fields are 32-bit on some Unix targets and 64-bit on others; the casts are no-ops here.
#[allow(clippy::unnecessary_cast)]
fn statvfs(path: &Path) -> std::io::Result<DiskSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to writable memory of
    // the right type, which statvfs fills completely when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    let fragment = stat.f_frsize as u64;
    Ok(DiskSpace { free_bytes: stat.f_bavail as u64 * fragment, total_bytes: stat.f_blocks as u64 * fragment })
}

#[cfg(not(unix))]
fn statvfs(_path: &Path) -> std::io::Result<DiskSpace> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "free space is only measured on Unix"))
}

/// Bytes as a short human figure (`12.3 GiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_system_of_a_temporary_directory_has_space_and_a_size() {
        let dir = tempfile::tempdir().unwrap();
        let space = disk_space(dir.path()).unwrap();
        assert!(space.total_bytes > 0 && space.free_bytes <= space.total_bytes, "{space:?}");
        assert!((0.0..=100.0).contains(&space.free_percent()));
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let err = disk_space(Path::new("/nonexistent/docent/data")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/docent/data"));
    }

    #[test]
    fn bytes_read_as_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }
}
