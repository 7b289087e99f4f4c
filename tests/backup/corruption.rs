//! Damaged archives fail verification, naming the archive and the damaged file.

use std::path::Path;

use docent::ops::backup::{self, BackupError, FileEntry, Manifest, write_archive};

use crate::common::test_settings;
use crate::support::{backup_dir, with_book};

async fn one_backup(data: &Path) -> (docent::config::Settings, backup::CreateReport) {
    let settings = test_settings(data);
    let components = with_book(&settings).await;
    let created = backup::create(&settings, &backup_dir(&settings)).await.unwrap();
    components.db.close().await;
    (settings, created)
}

#[tokio::test]
async fn an_archive_with_one_flipped_byte_fails_verification_naming_it() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let (settings, created) = one_backup(data.path()).await;
    let mut bytes = std::fs::read(&created.path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&created.path, bytes).unwrap();

    // Act
    let result = backup::verify(&settings, &created.path).await;

    // Assert
    let err = result.expect_err("a corrupted archive must not verify");
    assert!(matches!(err, BackupError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&created.file), "{err}");
}

#[tokio::test]
async fn a_database_that_does_not_match_its_recorded_checksum_fails_verification_naming_it() {
    // Arrange: a well-formed archive whose docent.db differs from what the manifest records.
    let data = tempfile::tempdir().unwrap();
    let (settings, created) = one_backup(data.path()).await;
    let staged = tempfile::tempdir().unwrap();
    let mut database = vec![0u8; created.manifest.files[0].bytes as usize];
    database[..16].copy_from_slice(b"SQLite format 3\0");
    std::fs::write(staged.path().join("docent.db"), &database).unwrap();
    let manifest = Manifest {
        created_at: created.manifest.created_at + chrono::Duration::seconds(1),
        files: vec![FileEntry { name: "docent.db".into(), ..created.manifest.files[0].clone() }],
        ..created.manifest.clone()
    };
    let tampered = write_archive(&backup_dir(&settings), &manifest, staged.path()).unwrap();

    // Act
    let err = backup::verify(&settings, &tampered).await.expect_err("a mismatching file must not verify");

    // Assert
    let message = err.to_string();
    assert!(matches!(err, BackupError::Corrupt { ref file, .. } if file == "docent.db"), "{message}");
    assert!(message.contains("SHA-256") && message.contains(tampered.file_name().unwrap().to_str().unwrap()));
}
