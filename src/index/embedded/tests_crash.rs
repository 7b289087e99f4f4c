//! Crash safety: a child process (this test binary, running the ignored
//! `crash_child_writer`) replaces documents in a loop and is killed with
//! SIGKILL mid-write; the reopened index must hold a consistent last commit.

use super::EmbeddedIndex;
use super::tests::{assert_consistent, query, versioned};
use crate::index::{IndexQuery, SearchMode, VectorIndex};

/// Child side of the crash test: replaces documents forever until killed.
#[tokio::test]
#[ignore = "spawned by crash_mid_write_keeps_last_commit"]
async fn crash_child_writer() {
    let Ok(path) = std::env::var("DOCENT_INDEX_CRASH_DB") else {
        return;
    };
    let index = EmbeddedIndex::open(std::path::Path::new(&path)).await.unwrap();
    index.ensure_model("m", 3).await.unwrap();
    for v in 0.. {
        let doc = format!("d{}", v % 3);
        index.replace_document(&doc, &v.to_string(), versioned(&doc, v)).await.unwrap();
    }
}

#[tokio::test]
async fn crash_mid_write_keeps_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "index::embedded::tests_crash::crash_child_writer", "--ignored", "--nocapture"])
        .env("DOCENT_INDEX_CRASH_DB", &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let index = EmbeddedIndex::open(&path).await.unwrap();
    let versions = index.versions().await.unwrap();
    assert!(!versions.is_empty(), "child committed something before being killed");
    let q = IndexQuery { k: 1000, ..query("common", Some(vec![1.0, 0.0, 0.0]), SearchMode::Hybrid) };
    let hits = index.search(&q).await.unwrap();
    assert_consistent(&hits);
    for (doc, version) in versions {
        let v: u64 = version.parse().unwrap();
        assert!(hits.iter().filter(|h| h.document_id == doc).all(|h| h.payload["version"] == v));
    }
}
