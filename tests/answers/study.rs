//! Refusal study over several books (slow; run explicitly):
//! `cargo test --release --test answers study -- --ignored --nocapture`.
//! For each question, in its own book and in books that do not cover it, dumps the support
//! signals and the question's content terms with their document frequency, to study refusal
//! rules offline (`$TMPDIR/docent-refusal-study.jsonl`). `DOCENT_STUDY_PY_DIR` names a data directory
//! holding the Python documentation (the bench's); without it that book is left out.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use docent::answer::text::content_terms;
use docent::answer::{AnswerRequest, AnswerService, ExtractiveParams};
use docent::components::Components;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use docent::retrieve::SearchRequest;
use serde_json::json;

use crate::calibration::{book_with, squad_dir};
use crate::common::test_settings;

#[derive(serde::Deserialize, Clone)]
struct Question {
    id: Option<String>,
    question: String,
    answers: Vec<String>,
    answerable: bool,
    chapter: String,
}

fn questions(path: &Path) -> Vec<Question> {
    let text = std::fs::read_to_string(path).expect("questions");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Document frequency of every content term over the book's chunks.
async fn document_frequencies(data: &Path) -> (HashMap<String, u32>, u32) {
    let url = format!("sqlite://{}?mode=ro", data.join("docent.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("db");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT heading_path, text FROM chunks").fetch_all(&pool).await.expect("chunks");
    let mut df = HashMap::new();
    for (heading, text) in &rows {
        for term in content_terms(&format!("{heading}\n{text}")) {
            *df.entry(term).or_insert(0) += 1;
        }
    }
    (df, rows.len() as u32)
}

async fn probe(book: &str, c: &Components, data: &Path, asked: &[(bool, Question)], out: &mut std::fs::File) {
    let (df, n) = document_frequencies(data).await;
    let params = ExtractiveParams { refuse_below: 0.0, ..ExtractiveParams::default() };
    let service = AnswerService::new(c.retriever.clone(), c.db.clone(), params);
    for (in_book, q) in asked {
        let answer = service.answer(AnswerRequest { message: q.question.clone(), ..Default::default() }).await;
        let answer = answer.expect("answers");
        let request = SearchRequest { query: q.question.clone(), k: Some(params.chunks), ..Default::default() };
        let hits = c.retriever.search(request).await.expect("search").results;
        let chunk_terms: Vec<_> =
            hits.iter().map(|h| content_terms(&format!("{}\n{}", h.heading_path, h.text))).collect();
        let terms: Vec<_> = content_terms(&q.question)
            .into_iter()
            .map(|t| {
                let found = chunk_terms.iter().any(|s| s.contains(&t));
                json!([t, df.get(&t).copied().unwrap_or(0), found])
            })
            .collect();
        let text = answer.answer.to_lowercase();
        let gold = q.answers.iter().any(|g| text.contains(&g.to_lowercase()));
        let s = answer.signals;
        let row = json!({"book": book, "id": q.id, "in_book": in_book, "answerable": q.answerable, "gold": gold,
            "top": s.top_cosine, "sentence": s.sentence_cosine, "coverage": s.coverage, "n": n, "terms": terms});
        writeln!(out, "{row}").unwrap();
    }
}

fn tagged(qs: &[Question], in_book: bool) -> Vec<(bool, Question)> {
    qs.iter().cloned().map(|q| (in_book, q)).collect()
}

#[tokio::test]
#[ignore = "slow: a study of refusal over several books"]
async fn study_dumps_refusal_signals_over_several_books() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let squad = questions(&squad_dir().join("questions.jsonl"));
    let guide = questions(&root.join("eval/guide/questions.jsonl"));
    let python = questions(&root.join("eval/python-docs/questions.jsonl"));
    let sample: Vec<Question> = squad.iter().step_by(4).cloned().collect();
    let mut out = std::fs::File::create(std::env::temp_dir().join("docent-refusal-study.jsonl")).unwrap();

    let all = ["normans", "computational-complexity-theory", "southern-california"];
    let data = tempfile::tempdir().unwrap();
    let c = book_with(&all, data.path()).await;
    let mut asked = tagged(&squad, true);
    asked.extend(tagged(&guide, false));
    asked.extend(tagged(&python, false));
    probe("squad", &c, data.path(), &asked, &mut out).await;
    for held_out in all {
        let kept: Vec<&str> = all.iter().copied().filter(|c| *c != held_out).collect();
        let data = tempfile::tempdir().unwrap();
        let c = book_with(&kept, data.path()).await;
        let asked: Vec<_> = squad.iter().filter(|q| q.chapter == held_out).cloned().map(|q| (false, q)).collect();
        probe(&format!("squad-without-{held_out}"), &c, data.path(), &asked, &mut out).await;
    }

    let data = tempfile::tempdir().unwrap();
    let settings = test_settings(data.path());
    let c = Components::open(&settings).await.expect("components");
    let options = SyncOptions::from_settings(&settings, false);
    sync_paths(&c, &[root.join("docs")], &options, &NoProgress).await.expect("guide ingested");
    let mut asked = tagged(&guide, true);
    asked.extend(tagged(&sample, false));
    asked.extend(tagged(&python, false));
    probe("guide", &c, data.path(), &asked, &mut out).await;

    if let Ok(dir) = std::env::var("DOCENT_STUDY_PY_DIR") {
        let settings = test_settings(&PathBuf::from(&dir));
        let c = Components::open(&settings).await.expect("python docs");
        let mut asked = tagged(&python, true);
        asked.extend(tagged(&sample, false));
        asked.extend(tagged(&guide, false));
        probe("python", &c, Path::new(&dir), &asked, &mut out).await;
    }
}
