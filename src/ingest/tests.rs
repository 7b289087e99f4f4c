//! Tests for the shared loading entry points of `ingest`.

use super::*;

#[test]
fn humanize_names() {
    assert_eq!(humanize("02-getting_started"), "Getting started");
    assert_eq!(humanize("intro.md"), "Intro");
}

#[test]
fn rejects_binary_and_large_files() {
    let dir = std::env::temp_dir().join(format!("docent-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("bin.md");
    std::fs::write(&bin, b"abc\0def").unwrap();
    let file = DiscoveredFile::single(bin.clone());
    let err = load_file(&file, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Binary { .. }));
    assert!(err.to_string().contains("bin.md"));
    std::fs::write(&bin, b"caf\xe9 latin-1").unwrap();
    let err = load_file(&file, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Binary { .. }));
    std::fs::write(&bin, vec![b'a'; 100]).unwrap();
    let small = LoadOptions { max_file_bytes: 10 };
    let err = load_file(&file, &small).unwrap_err();
    assert!(matches!(err, IngestError::TooLarge { .. }));
    let png = DiscoveredFile::single(dir.join("x.png"));
    let err = load_file(&png, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Unsupported { .. }));
    let missing = DiscoveredFile::single(dir.join("missing.md"));
    let err = load_file(&missing, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}
