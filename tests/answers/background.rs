//! The refusal threshold follows the book: measured from the background questions, kept in
//! the data directory under the index's fingerprint, measured again when the book changes.

use std::path::Path;

use docent::answer::background::Calibration;
use docent::answer::{AnswerService, ExtractiveParams};
use docent::components::Components;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};

use crate::calibration::book_with;
use crate::common::test_settings;

const FLOOR: f32 = 0.36;

fn service(c: &Components) -> AnswerService {
    AnswerService::new(c.retriever.clone(), c.db.clone(), ExtractiveParams::default())
}

async fn ingest(c: &Components, data: &Path, path: &Path) {
    let options = SyncOptions::from_settings(&test_settings(data), false);
    sync_paths(c, &[path.to_path_buf()], &options, &NoProgress).await.expect("ingested");
}

fn kept(data: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data.join("answer-background.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_book_about_everyday_things_raises_the_refusal_threshold_above_the_floor() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let c = Components::open(&test_settings(data.path())).await.unwrap();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books/everyday");
    ingest(&c, data.path(), &book).await;

    // Act
    let calibration = service(&c).calibrate_kept(data.path()).await.unwrap();

    // Assert
    assert_eq!(calibration.probes, 64);
    assert!(calibration.threshold > FLOOR + 0.05, "{calibration:?}");
    assert_eq!(kept(data.path())["calibration"]["threshold"].as_f64().unwrap() as f32, calibration.threshold);
}

#[tokio::test]
async fn the_development_book_keeps_the_floor() {
    let data = tempfile::tempdir().unwrap();
    let c = book_with(&["normans"], data.path()).await;

    let calibration = service(&c).calibrate_kept(data.path()).await.unwrap();

    assert_eq!(calibration.threshold, FLOOR, "{calibration:?}");
    assert!(calibration.background > 0.0 && calibration.background + 0.15 <= FLOOR, "{calibration:?}");
}

#[tokio::test]
async fn a_kept_measure_is_reused_until_the_book_changes() {
    // Arrange: a measure kept, then doctored so that a reuse shows.
    let data = tempfile::tempdir().unwrap();
    let c = book_with(&["normans"], data.path()).await;
    service(&c).calibrate_kept(data.path()).await.unwrap();
    let mut doctored = kept(data.path());
    doctored["calibration"]["threshold"] = serde_json::json!(0.9);
    std::fs::write(data.path().join("answer-background.json"), doctored.to_string()).unwrap();

    // Act
    let reused = service(&c).calibrate_kept(data.path()).await.unwrap();
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("extra.md"), "# Extra\n\nA new chapter about the Norman kings of Sicily.\n")
        .unwrap();
    ingest(&c, data.path(), extra.path()).await;
    let measured = service(&c).calibrate_kept(data.path()).await.unwrap();

    // Assert
    assert_eq!(reused.threshold, 0.9);
    assert_eq!(measured.threshold, FLOOR, "a changed book is measured again: {measured:?}");
}

#[tokio::test]
async fn an_empty_book_keeps_the_floor_without_asking_anything() {
    let data = tempfile::tempdir().unwrap();
    let c = Components::open(&test_settings(data.path())).await.unwrap();

    let calibration = service(&c).calibrate().await.unwrap();

    assert_eq!(calibration, Calibration { background: 0.0, threshold: FLOOR, probes: 0 });
}

#[tokio::test]
async fn a_damaged_kept_file_is_measured_again_and_replaced() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let c = book_with(&["normans"], data.path()).await;
    std::fs::write(data.path().join("answer-background.json"), "{\"fingerprint\": tru").unwrap();

    // Act
    let calibration = service(&c).calibrate_kept(data.path()).await.unwrap();

    // Assert
    assert_eq!(calibration.probes, 64, "measured, not read");
    assert_eq!(kept(data.path())["calibration"]["probes"], 64);
}

/// Polls the kept measure until `done` holds for it (at most 60 s).
async fn kept_once(data: &Path, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(data.join("answer-background.json"))
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
            && done(&value)
        {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no kept measure met the condition within 60 s");
}

#[tokio::test]
async fn the_servers_loop_measures_at_start_and_again_once_a_changed_book_has_settled() {
    // Arrange: the loop over a book with nothing kept, checking every 200 ms.
    let data = tempfile::tempdir().unwrap();
    let c = book_with(&["normans"], data.path()).await;
    let service = service(&c);
    let task = service.spawn_calibration(data.path().to_path_buf(), std::time::Duration::from_millis(200));

    // Act / Assert: measured at start; the everyday book added, measured again.
    let first = kept_once(data.path(), |v| v["calibration"]["probes"] == 64).await;
    assert_eq!(first["calibration"]["threshold"].as_f64().unwrap() as f32, FLOOR);
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books/everyday");
    ingest(&c, data.path(), &book).await;
    let second = kept_once(data.path(), |v| v["fingerprint"] != first["fingerprint"]).await;
    assert!(second["calibration"]["threshold"].as_f64().unwrap() as f32 > FLOOR + 0.05, "{second}");
    task.abort();
}
