//! BM25 retrieval quality on the squad-dev book (ignored by default; needs the
//! data set). Run with
//! `DOCENT_SQUAD_DIR=/work/shared/eval/squad-dev cargo test squad_bm25 -- --ignored --nocapture`.
//!
//! Every paragraph of `book/*.md` is one chunk (chapter = file stem, payload
//! title = the `# ` heading); for each answerable question, a hit is a top-k
//! chunk whose text contains a gold answer (case-insensitive).

use std::path::Path;

use serde_json::json;

use super::EmbeddedIndex;
use crate::index::{IndexChunk, IndexQuery, SearchMode, VectorIndex};

/// Chunks of one markdown chapter: a `# ` heading, then blank-line-separated paragraphs.
fn chapter_chunks(path: &Path) -> Vec<IndexChunk> {
    let text = std::fs::read_to_string(path).unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut title = String::new();
    let mut chunks = Vec::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        if let Some(heading) = block.strip_prefix("# ") {
            title = heading.to_owned();
            continue;
        }
        chunks.push(IndexChunk {
            id: format!("{stem}-{}", chunks.len()),
            document_id: "squad".into(),
            chapter: Some(stem.clone()),
            text: block.to_owned(),
            payload: json!({"title": title, "heading_path": [title]}),
            vector: vec![1.0],
        });
    }
    chunks
}

/// `(answerable questions, hits at 1, hits at 5)` for BM25 top-5 search.
async fn score_questions(index: &EmbeddedIndex, questions: &str) -> (usize, usize, usize) {
    let (mut total, mut hit1, mut hit5) = (0usize, 0usize, 0usize);
    for line in questions.lines() {
        let q: serde_json::Value = serde_json::from_str(line).unwrap();
        if q["answerable"] != true {
            continue;
        }
        let answers: Vec<String> =
            q["answers"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_lowercase()).collect();
        let query = IndexQuery {
            text: q["question"].as_str().unwrap().into(),
            k: 5,
            mode: SearchMode::Bm25,
            ..IndexQuery::default()
        };
        let hits = index.search(&query).await.unwrap();
        let found = |h: &crate::index::IndexHit| {
            let text = h.text.to_lowercase();
            answers.iter().any(|a| text.contains(a.as_str()))
        };
        total += 1;
        hit1 += usize::from(hits.first().is_some_and(found));
        hit5 += usize::from(hits.iter().any(found));
    }
    (total, hit1, hit5)
}

#[tokio::test]
#[ignore = "needs DOCENT_SQUAD_DIR"]
async fn squad_bm25_hit_rates() {
    let Ok(root) = std::env::var("DOCENT_SQUAD_DIR") else {
        return;
    };
    let root = Path::new(&root);
    let dir = tempfile::tempdir().unwrap();
    let index = EmbeddedIndex::open(&dir.path().join("index.db")).await.unwrap();
    index.ensure_model("none", 1).await.unwrap();
    let mut files: Vec<_> = std::fs::read_dir(root.join("book")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let chunks: Vec<IndexChunk> = files.iter().flat_map(|f| chapter_chunks(f)).collect();
    let chunk_count = chunks.len();
    index.replace_document("squad", "1", chunks).await.unwrap();
    let questions = std::fs::read_to_string(root.join("questions.jsonl")).unwrap();
    let started = std::time::Instant::now();
    let (total, hit1, hit5) = score_questions(&index, &questions).await;
    let per_query_us = started.elapsed().as_micros() / total.max(1) as u128;
    println!(
        "squad-dev BM25: {chunk_count} chunks, {total} answerable questions, hit@1 {:.3}, hit@5 {:.3}, {per_query_us} us/query",
        hit1 as f64 / total as f64,
        hit5 as f64 / total as f64
    );
    assert!(hit5 as f64 / total as f64 > 0.9);
}
