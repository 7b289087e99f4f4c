//! Calibration of the extractive generator on squad-dev (slow; run explicitly):
//! `cargo test --test answers calibration -- --ignored --nocapture`.
//! Full book: does the answer contain a gold answer? Each chapter held out in turn: are its
//! questions refused? Prints the trade-off table for a range of refusal thresholds.

use std::path::{Path, PathBuf};

use docent::answer::{AnswerRequest, AnswerService, AnswerStatus, ExtractiveParams};
use docent::components::Components;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};

use crate::common::test_settings;

#[derive(serde::Deserialize)]
struct Question {
    question: String,
    answers: Vec<String>,
    answerable: bool,
    chapter: String,
}

pub fn squad_dir() -> PathBuf {
    std::env::var("DOCENT_SQUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/squad-dev"))
}

/// Components over a fresh data directory holding only `chapters` of the squad-dev book.
pub async fn book_with(chapters: &[&str], data: &Path) -> Components {
    let book = data.join("book");
    std::fs::create_dir_all(&book).unwrap();
    for chapter in chapters {
        let name = format!("{chapter}.md");
        std::fs::copy(squad_dir().join("book").join(&name), book.join(&name)).unwrap();
    }
    let settings = test_settings(data);
    let components = Components::open(&settings).await.expect("components open");
    let options = SyncOptions::from_settings(&settings, false);
    sync_paths(&components, &[book], &options, &NoProgress).await.expect("book ingested");
    components
}

struct Row {
    support: f32,
    contains_gold: bool,
    in_book: bool,
    answerable: bool,
}

async fn run(chapters: &[&str], questions: &[Question], out_of_book: bool) -> Vec<Row> {
    let data = tempfile::tempdir().unwrap();
    let c = book_with(chapters, data.path()).await;
    let params = ExtractiveParams { refuse_below: 0.0, ..ExtractiveParams::default() };
    let service = AnswerService::new(c.retriever.clone(), c.db.clone(), params);
    let mut rows = Vec::new();
    for q in questions {
        let in_book = chapters.contains(&q.chapter.as_str());
        if in_book == out_of_book || (!out_of_book && !q.answerable) {
            continue;
        }
        let request = AnswerRequest { message: q.question.clone(), ..Default::default() };
        let answer = service.answer(request).await.expect("answers");
        assert_eq!(answer.status, AnswerStatus::Answered);
        let text = answer.answer.to_lowercase();
        let contains_gold = q.answers.iter().any(|g| text.contains(&g.to_lowercase()));
        rows.push(Row { support: answer.signals.support, contains_gold, in_book, answerable: q.answerable });
    }
    rows
}

#[tokio::test]
#[ignore = "slow: the calibration run over squad-dev"]
async fn calibration_reports_the_refusal_trade_off() {
    let text = std::fs::read_to_string(squad_dir().join("questions.jsonl")).expect("squad-dev questions");
    let questions: Vec<Question> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let all = ["normans", "computational-complexity-theory", "southern-california"];
    let mut rows = run(&all, &questions, false).await;
    for held_out in all {
        let kept: Vec<&str> = all.iter().copied().filter(|c| *c != held_out).collect();
        rows.extend(run(&kept, &questions, true).await);
    }
    println!("threshold  contains_gold  refused_out_of_book  false_refusal");
    for step in 20..=60 {
        let t = step as f32 / 100.0;
        let answerable: Vec<&Row> = rows.iter().filter(|r| r.in_book && r.answerable).collect();
        let outside: Vec<&Row> = rows.iter().filter(|r| !r.in_book).collect();
        let gold = answerable.iter().filter(|r| r.support >= t && r.contains_gold).count() as f32;
        let false_refusals = answerable.iter().filter(|r| r.support < t).count() as f32;
        let refused = outside.iter().filter(|r| r.support < t).count() as f32;
        println!(
            "{t:.2}       {:.3}          {:.3}                {:.3}",
            gold / answerable.len() as f32,
            refused / outside.len() as f32,
            false_refusals / answerable.len() as f32
        );
    }
    let dump: Vec<String> =
        rows.iter().map(|r| format!("{} {} {} {}", r.support, r.contains_gold, r.in_book, r.answerable)).collect();
    std::fs::write(std::env::temp_dir().join("docent-calibration.txt"), dump.join("\n")).unwrap();
}
