//! `docent ask` and `docent eval answers` against a book ingested by the test.

use std::process::Command;

use crate::calibration::book_with;

fn docent(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data)
        .env("LOG_LEVEL", "error")
        .output()
        .expect("docent runs")
}

#[tokio::test]
async fn docent_ask_answers_from_the_ingested_book_as_json() {
    let data = tempfile::tempdir().unwrap();
    let components = book_with(&["normans"], data.path()).await;
    components.db.close().await;
    let output = docent(data.path(), &["ask", "Who was the Norse leader?", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["status"], "answered");
    assert!(answer["answer"].as_str().unwrap().contains("Rollo"));
}

#[tokio::test]
async fn docent_eval_answers_reports_the_rates() {
    let data = tempfile::tempdir().unwrap();
    let components = book_with(&["normans"], data.path()).await;
    components.db.close().await;
    let questions = data.path().join("questions.jsonl");
    let lines = [
        r#"{"question": "Who was the Norse leader?", "answers": ["Rollo"], "answerable": true}"#,
        r#"{"question": "How do I bake sourdough bread?", "answers": [], "answerable": false}"#,
    ];
    std::fs::write(&questions, lines.join("\n")).unwrap();
    let output = docent(data.path(), &["eval", "answers", "--questions", questions.to_str().unwrap(), "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["contains_gold"], 1.0);
    assert_eq!(report["refused_unanswerable"], 1.0);
    assert!(report["p50_latency_ms"].as_f64().unwrap() > 0.0);
    let background = report["background_support"].as_f64().expect("measured from the book") as f32;
    let threshold = report["refusal_threshold"].as_f64().unwrap() as f32;
    assert!(background > 0.0, "{report}");
    assert_eq!(threshold, 0.36_f32.max(background + 0.15), "the threshold the eval ran with is the measured one");
    assert!(data.path().join("answer-background.json").exists(), "the measure is kept for the next run");
}
