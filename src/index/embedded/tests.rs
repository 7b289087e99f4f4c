//! Behavioural tests of [`EmbeddedIndex`]: schema, search modes, filters,
//! model checks, persistence, and atomic replacement under concurrency (crash
//! safety is in `tests_crash`, BM25 quality in `tests_eval`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::EmbeddedIndex;
use crate::index::{FusionParams, IndexChunk, IndexError, IndexFilter, IndexQuery, SearchMode, VectorIndex};

pub(super) fn chunk(doc: &str, id: &str, chapter: &str, text: &str, vector: Vec<f32>) -> IndexChunk {
    IndexChunk {
        id: id.into(),
        document_id: doc.into(),
        chapter: Some(chapter.into()),
        text: text.into(),
        payload: json!({"title": "Book", "heading_path": [chapter], "page": 1}),
        vector,
    }
}

pub(super) fn query(text: &str, vector: Option<Vec<f32>>, mode: SearchMode) -> IndexQuery {
    IndexQuery { text: text.into(), vector, k: 10, mode, ..IndexQuery::default() }
}

async fn open(dir: &tempfile::TempDir) -> EmbeddedIndex {
    EmbeddedIndex::open(&dir.path().join("index.db")).await.expect("open index")
}

/// Three documents on distinct topics with axis-aligned vectors.
async fn sample() -> (tempfile::TempDir, EmbeddedIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = open(&dir).await;
    index.ensure_model("test-model", 3).await.unwrap();
    let a = vec![
        chunk("a", "a1", "ch1", "The Normans conquered England in 1066.", vec![1.0, 0.0, 0.0]),
        chunk("a", "a2", "ch2", "Norman castles were built of stone.", vec![0.9, 0.1, 0.0]),
    ];
    let b = vec![chunk("b", "b1", "ch1", "Complexity classes such as P and NP.", vec![0.0, 1.0, 0.0])];
    let c = vec![chunk("c", "c1", "ch1", "Southern California has beaches.", vec![0.0, 0.0, 2.0])];
    index.replace_document("a", "v1", a).await.unwrap();
    index.replace_document("b", "v1", b).await.unwrap();
    index.replace_document("c", "v1", c).await.unwrap();
    (dir, index)
}

#[tokio::test]
async fn bm25_stems_and_survives_hostile_text() {
    let (_dir, index) = sample().await;
    let hits = index.search(&query("conquering normans", None, SearchMode::Bm25)).await.unwrap();
    assert_eq!(hits[0].chunk_id, "a1");
    assert!(hits[0].bm25.unwrap() > 0.0 && hits[0].bm25_rank == Some(1) && hits[0].cosine.is_none());
    assert_eq!(hits[0].payload["page"], 1);
    for hostile in [r#"C++ "foo" AND NOT -x *"#, "NEAR(", "\"", "^*:", ")))", ""] {
        index.search(&query(hostile, None, SearchMode::Hybrid)).await.unwrap();
    }
    let headings = index.search(&query("ch2", None, SearchMode::Bm25)).await.unwrap();
    assert_eq!(headings[0].chunk_id, "a2", "heading_path is indexed");
}

#[tokio::test]
async fn dense_and_hybrid_report_both_sides() {
    let (_dir, index) = sample().await;
    let dense = index.search(&query("", Some(vec![0.0, 0.0, 5.0]), SearchMode::Dense)).await.unwrap();
    assert_eq!(dense[0].chunk_id, "c1");
    assert!((dense[0].cosine.unwrap() - 1.0).abs() < 1e-5, "vectors are normalised");
    assert_eq!(dense.len(), 4);
    let hybrid = index.search(&query("stone castles", Some(vec![0.0, 1.0, 0.0]), SearchMode::Hybrid)).await.unwrap();
    let a2 = hybrid.iter().find(|h| h.chunk_id == "a2").unwrap();
    assert_eq!(a2.bm25_rank, Some(1));
    assert!(a2.cosine.is_some() && a2.dense_rank.is_some());
    assert!(hybrid.windows(2).all(|w| w[0].score >= w[1].score));
    let bm25 = query("castles", Some(vec![1.0, 0.0, 0.0]), SearchMode::Bm25);
    let bm25 = index.search(&bm25).await.unwrap();
    assert!(bm25[0].cosine.is_some_and(|c| c > 0.9) && bm25[0].dense_rank.is_none());
    let err = index.search(&query("x", None, SearchMode::Dense)).await.unwrap_err();
    assert!(matches!(err, IndexError::InvalidQuery(_)));
    let err = index.search(&query("x", Some(vec![1.0]), SearchMode::Dense)).await.unwrap_err();
    assert!(matches!(err, IndexError::Dimension { .. }));
}

/// 50 strongly matching chunks in `big`, one weak match in `small`.
async fn big_and_small() -> (tempfile::TempDir, EmbeddedIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = open(&dir).await;
    index.ensure_model("m", 2).await.unwrap();
    let many: Vec<_> =
        (0..50).map(|i| chunk("big", &format!("big{i}"), "x", "castle castle castle", vec![1.0, 0.0])).collect();
    index.replace_document("big", "1", many).await.unwrap();
    let one = vec![chunk("small", "s1", "y", "a castle and many other words here", vec![0.6, 0.8])];
    index.replace_document("small", "1", one).await.unwrap();
    (dir, index)
}

#[tokio::test]
async fn filters_apply_before_truncation() {
    let (_dir, index) = big_and_small().await;
    let fusion = FusionParams { candidates: 5, ..FusionParams::default() };
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        for filter in [
            IndexFilter { document_id: Some("small".into()), chapter: None },
            IndexFilter { document_id: None, chapter: Some("y".into()) },
            IndexFilter { document_id: Some("small".into()), chapter: Some("y".into()) },
        ] {
            let q = IndexQuery { k: 3, filter, fusion, ..query("castle", Some(vec![1.0, 0.0]), mode) };
            let hits = index.search(&q).await.unwrap();
            assert_eq!(hits.len(), 1, "{mode:?}");
            assert_eq!(hits[0].chunk_id, "s1");
        }
    }
    let none = IndexFilter { document_id: Some("nope".into()), chapter: None };
    let q = IndexQuery { filter: none, ..query("castle", Some(vec![1.0, 0.0]), SearchMode::Hybrid) };
    assert!(index.search(&q).await.unwrap().is_empty());
}

#[tokio::test]
async fn model_mismatch_asks_for_rebuild_and_clear_resets() {
    let (dir, index) = sample().await;
    index.ensure_model("test-model", 3).await.unwrap();
    let err = index.ensure_model("other-model", 768).await.unwrap_err();
    assert!(err.to_string().contains("docent index rebuild"), "{err}");
    let err = index.replace_document("a", "v2", vec![chunk("a", "a1", "c", "t", vec![1.0])]).await.unwrap_err();
    assert!(matches!(err, IndexError::Dimension { .. }));
    let err = index.replace_document("a", "v2", vec![chunk("b", "zz", "c", "t", vec![1.0; 3])]).await.unwrap_err();
    assert!(matches!(err, IndexError::InvalidChunk { .. }));
    index.clear().await.unwrap();
    let stats = index.stats().await.unwrap();
    assert_eq!((stats.chunks, stats.documents, stats.model), (0, 0, None));
    index.ensure_model("other-model", 2).await.unwrap();
    drop(index);
    let reopened = open(&dir).await;
    assert_eq!(reopened.stats().await.unwrap().dimension, Some(2));
    let err = EmbeddedIndex::open(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
}

#[tokio::test]
async fn replace_delete_versions_and_reopen() {
    let (dir, index) = sample().await;
    let new_a = vec![chunk("a", "a1", "ch9", "Rewritten Norman text.", vec![0.0, 0.0, 1.0])];
    index.replace_document("a", "v2", new_a).await.unwrap();
    index.delete_document("b").await.unwrap();
    index.delete_document("never-indexed").await.unwrap();
    let versions = index.versions().await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions["a"], "v2");
    let stats = index.stats().await.unwrap();
    assert_eq!((stats.chunks, stats.documents), (2, 2));
    drop(index);
    let index = open(&dir).await;
    let hits = index.search(&query("norman", Some(vec![0.0, 0.0, 1.0]), SearchMode::Hybrid)).await.unwrap();
    assert_eq!(hits.len(), 2, "reloaded state matches the database: {hits:?}");
    assert_eq!(hits[0].chunk_id, "a1");
    assert_eq!(hits[0].chapter.as_deref(), Some("ch9"));
    index.health().await.unwrap();
}

#[tokio::test]
async fn a_version_one_file_loses_its_fts_table_and_ranks_the_same_after_reopening() {
    let (dir, index) = sample().await;
    let bm25 = query("norman castles stone", None, SearchMode::Bm25);
    let before = index.search(&bm25).await.unwrap();
    drop(index);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("index.db").display())).await.unwrap();
    sqlx::query("CREATE VIRTUAL TABLE chunks_fts USING fts5 (text, heading)").execute(&pool).await.unwrap();
    sqlx::query("UPDATE meta SET value = '1' WHERE key = 'schema_version'").execute(&pool).await.unwrap();
    pool.close().await;

    let index = open(&dir).await;
    let after = index.search(&bm25).await.unwrap();

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("index.db").display())).await.unwrap();
    let fts: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'chunks_fts'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let version: String =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema_version'").fetch_one(&pool).await.unwrap();
    assert_eq!((fts, version.as_str()), (0, "2"));
    let ranked =
        |hits: &[crate::index::IndexHit]| hits.iter().map(|h| (h.chunk_id.clone(), h.score)).collect::<Vec<_>>();
    assert_eq!(ranked(&after), ranked(&before), "postings rebuilt at open rank exactly as the live ones");
    assert_eq!(after[0].chunk_id, "a2");
}

/// Chunks of document `d` at version `v`: `3 + v % 5` chunks, all matching "common".
pub(super) fn versioned(doc: &str, v: usize) -> Vec<IndexChunk> {
    (0..3 + v % 5)
        .map(|i| {
            let text = format!("common words version{v} part{i}");
            let mut c = chunk(doc, &format!("{doc}-{i}"), "ch", &text, vec![1.0, v as f32, i as f32]);
            c.payload = json!({"version": v});
            c
        })
        .collect()
}

/// Asserts every document in `hits` has one version and the full chunk count.
pub(super) fn assert_consistent(hits: &[crate::index::IndexHit]) {
    let mut by_doc: std::collections::HashMap<&str, Vec<u64>> = Default::default();
    let mut ids = std::collections::HashSet::new();
    for h in hits {
        assert!(ids.insert(h.chunk_id.as_str()), "duplicate chunk {}", h.chunk_id);
        by_doc.entry(&h.document_id).or_default().push(h.payload["version"].as_u64().unwrap());
    }
    for (doc, versions) in by_doc {
        let v = versions[0];
        assert!(versions.iter().all(|&x| x == v), "{doc} mixes versions {versions:?}");
        assert_eq!(versions.len(), 3 + (v as usize) % 5, "{doc} v{v} has a partial chunk set");
    }
}

/// Searches in a loop until `stop`, checking every result; returns the count.
fn spawn_reader(
    index: Arc<EmbeddedIndex>,
    stop: Arc<AtomicBool>,
    mode: SearchMode,
    document_id: Option<&'static str>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut searches = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let filter = IndexFilter { document_id: document_id.map(Into::into), chapter: None };
            let base = query("common", Some(vec![1.0, 0.5, 0.5]), mode);
            let q = IndexQuery { k: 100, filter, ..base };
            assert_consistent(&index.search(&q).await.unwrap());
            searches += 1;
        }
        searches
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_never_see_mixed_versions() {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(open(&dir).await);
    index.ensure_model("m", 3).await.unwrap();
    for doc in ["d1", "d2"] {
        index.replace_document(doc, "0", versioned(doc, 0)).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let modes = [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid];
    let mut readers: Vec<_> =
        modes.into_iter().map(|mode| spawn_reader(index.clone(), stop.clone(), mode, None)).collect();
    readers.push(spawn_reader(index.clone(), stop.clone(), SearchMode::Hybrid, Some("d1")));
    for v in 1..=150 {
        let doc = if v % 2 == 0 { "d1" } else { "d2" };
        index.replace_document(doc, &v.to_string(), versioned(doc, v)).await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for reader in readers {
        total += reader.await.unwrap();
    }
    assert!(total > 50, "readers actually ran concurrently ({total} searches)");
    let versions = index.versions().await.unwrap();
    assert_eq!((versions["d1"].as_str(), versions["d2"].as_str()), ("150", "149"));
}

#[tokio::test]
async fn a_changed_chunk_is_never_served_from_the_hot_rows_of_its_old_version() {
    // Arrange: c1 (the last rowid) is searched once, so its row is hot.
    let (dir, index) = sample().await;
    let beach = || query("", Some(vec![0.0, 0.0, 1.0]), SearchMode::Dense);
    assert_eq!(index.search(&beach()).await.unwrap()[0].text, "Southern California has beaches.");

    // Act: delete it and add another chunk, which SQLite gives the freed rowid.
    index.delete_document("c").await.unwrap();
    let d = vec![chunk("d", "d1", "ch3", "Northern lights glow.", vec![0.0, 0.0, 1.0])];
    index.replace_document("d", "v1", d).await.unwrap();

    // Assert: the new row, in this index and after a write by another process.
    let hit = index.search(&beach()).await.unwrap().remove(0);
    assert_eq!((hit.chunk_id.as_str(), hit.text.as_str()), ("d1", "Northern lights glow."));
    let other = open(&dir).await;
    let d = vec![chunk("d", "d1", "ch3", "Aurora, rewritten elsewhere.", vec![0.0, 0.0, 1.0])];
    other.replace_document("d", "v2", d).await.unwrap();
    let hit = index.search(&beach()).await.unwrap().remove(0);
    assert_eq!(hit.text, "Aurora, rewritten elsewhere.");
}
