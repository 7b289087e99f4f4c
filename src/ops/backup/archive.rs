//! Writing and reading the archive: a gzip-compressed tar whose first member is
//! `manifest.json`. Writing is atomic (hidden temporary name in the destination folder, fsync,
//! rename, fsync of the folder); reading checks every member's size and SHA-256 against the
//! manifest and reads the gzip stream to its end so its CRC is checked too.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::manifest::{MANIFEST_NAME, archive_name};
use super::{BackupError, Manifest};

/// Level 3 of 9: on vectors and SQLite pages the higher levels shrink the archive by a few
/// percent at two to three times the CPU time.
const LEVEL: u32 = 3;
/// A manifest larger than this is not ours.
const MANIFEST_LIMIT: u64 = 16 * 1024 * 1024;

/// One archive member as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Writes `manifest` and the files it lists (taken from `staged`) as a new archive in `dir`,
/// named after `manifest.created_at`; returns its path. Refuses to overwrite an archive.
pub fn write_archive(dir: &Path, manifest: &Manifest, staged: &Path) -> Result<PathBuf, BackupError> {
    std::fs::create_dir_all(dir).map_err(|e| BackupError::io("create the backup folder", dir, e))?;
    let name = archive_name(manifest.created_at);
    let path = dir.join(&name);
    if path.exists() {
        return Err(BackupError::Exists(path));
    }
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| BackupError::io("create a temporary file in", dir, e))?;
    let file = temp.reopen().map_err(|e| BackupError::io("open", temp.path(), e))?;
    let file = write_members(file, manifest, staged, temp.path())?;
    file.sync_all().map_err(|e| BackupError::io("fsync", temp.path(), e))?;
    temp.persist_noclobber(&path).map_err(|e| BackupError::io("rename the finished archive to", &path, e.error))?;
    sync_dir(dir)?;
    Ok(path)
}

fn write_members(file: File, manifest: &Manifest, staged: &Path, temp: &Path) -> Result<File, BackupError> {
    let write_err = |e| BackupError::io("write", temp, e);
    let gzip = GzEncoder::new(BufWriter::with_capacity(1 << 20, file), Compression::new(LEVEL));
    let mut tar = tar::Builder::new(gzip);
    let mtime = manifest.created_at.timestamp().max(0) as u64;
    let json = serde_json::to_vec_pretty(manifest).expect("manifests serialize");
    tar.append(&header(json.len() as u64, mtime, MANIFEST_NAME)?, json.as_slice()).map_err(write_err)?;
    for entry in &manifest.files {
        let source = staged.join(&entry.name);
        let data = File::open(&source).map_err(|e| BackupError::io("open", &source, e))?;
        tar.append(&header(entry.bytes, mtime, &entry.name)?, data.take(entry.bytes)).map_err(write_err)?;
    }
    let gzip = tar.into_inner().map_err(write_err)?;
    let buffered = gzip.finish().map_err(write_err)?;
    buffered.into_inner().map_err(|e| BackupError::io("write", temp, e.into_error()))
}

fn header(size: u64, mtime: u64, name: &str) -> Result<tar::Header, BackupError> {
    let mut header = tar::Header::new_ustar();
    header.set_path(name).map_err(|e| BackupError::io("name an archive member", Path::new(name), e))?;
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    Ok(header)
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| BackupError::io("fsync the folder", dir, e))
}

/// SHA-256 and size of a file.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = BufReader::new(File::open(path).map_err(|e| BackupError::io("open", path, e))?);
    let mut hasher = HashingWriter::new(std::io::sink());
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| BackupError::io("read", path, e))?;
    Ok((bytes, hasher.hex()))
}

/// The manifest of an archive, reading only the archive's first member.
pub fn read_manifest(path: &Path) -> Result<Manifest, BackupError> {
    let file = File::open(path).map_err(|e| BackupError::io("open", path, e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let corrupt = |reason: String| BackupError::Corrupt { archive: path.into(), file: MANIFEST_NAME.into(), reason };
    let mut entries = archive.entries().map_err(|e| corrupt(e.to_string()))?;
    let first = entries
        .next()
        .ok_or_else(|| BackupError::NotABackup { path: path.into(), reason: "the archive is empty".into() })?;
    let mut first = first.map_err(|e| corrupt(e.to_string()))?;
    let name = first.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    if name != MANIFEST_NAME {
        return Err(BackupError::NotABackup { path: path.into(), reason: format!("first member is {name:?}") });
    }
    let mut text = String::new();
    first.by_ref().take(MANIFEST_LIMIT).read_to_string(&mut text).map_err(|e| corrupt(e.to_string()))?;
    Manifest::parse(path, &text)
}

/// Extracts every member listed in the manifest into `dest`, checking size and SHA-256 of each,
/// that none is missing or extra, and the gzip CRC. Returns the manifest and the checked files.
pub(crate) fn extract(path: &Path, dest: &Path) -> Result<(Manifest, Vec<CheckedFile>), BackupError> {
    let manifest = read_manifest(path)?;
    let file = File::open(path).map_err(|e| BackupError::io("open", path, e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let corrupt = |file: &str, reason: String| BackupError::Corrupt { archive: path.into(), file: file.into(), reason };
    let mut checked = Vec::new();
    let entries = archive.entries().map_err(|e| corrupt("the archive", e.to_string()))?;
    for entry in entries.skip(1) {
        let mut entry = entry.map_err(|e| corrupt("a tar header", e.to_string()))?;
        let name = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(expected) = manifest.files.iter().find(|f| f.name == name) else {
            return Err(corrupt(&name, "not listed in the manifest".into()));
        };
        let target = dest.join(&expected.name);
        let out = File::create(&target).map_err(|e| BackupError::io("create", &target, e))?;
        let mut hasher = HashingWriter::new(BufWriter::with_capacity(1 << 20, out));
        let bytes = std::io::copy(&mut entry, &mut hasher).map_err(|e| corrupt(&name, e.to_string()))?;
        hasher.inner.flush().map_err(|e| BackupError::io("write", &target, e))?;
        let sha256 = hasher.hex();
        if bytes != expected.bytes || sha256 != expected.sha256 {
            let reason = format!(
                "{bytes} bytes with SHA-256 {sha256}, the manifest records {} bytes with SHA-256 {}",
                expected.bytes, expected.sha256
            );
            return Err(corrupt(&name, reason));
        }
        checked.push(CheckedFile { name, bytes, sha256 });
    }
    if let Some(missing) = manifest.files.iter().find(|f| !checked.iter().any(|c| c.name == f.name)) {
        return Err(corrupt(&missing.name, "missing from the archive".into()));
    }
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| corrupt("the compressed stream", e.to_string()))?;
    Ok((manifest, checked))
}

/// A writer that hashes what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new() }
    }

    fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
