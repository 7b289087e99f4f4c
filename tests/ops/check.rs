//! `docent check` run as the real binary: it passes on a healthy deployment and fails, naming
//! the item, on each broken one (database down, pending migration, index and database out of
//! step, unsafe production settings, stale backup).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use docent::components::Components;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use serde_json::Value;

use crate::common::test_settings;

/// A data directory holding an ingested two-file book and a fresh backup file.
async fn healthy_data_dir() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let book = data.path().join("book");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::write(book.join("tides.md"), "# Tides\n\nSpring tides happen at new and full moon.\n").unwrap();
    std::fs::write(book.join("winds.md"), "# Winds\n\nTrade winds blow from the east in the tropics.\n").unwrap();
    let settings = test_settings(data.path());
    let components = Components::open(&settings).await.expect("components open");
    let options = SyncOptions::from_settings(&settings, false);
    sync_paths(&components, &[book], &options, &NoProgress).await.expect("book ingested");
    components.db.close().await;
    let backups = data.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::write(backups.join("docent-20260101T031700Z.tar.zst"), b"backup").unwrap();
    data
}

/// The free-space threshold of the tests: the machine's own disk may be fuller than the 10 %
/// default, which is not what these tests are about (the disk test raises it to 100 %).
const TEST_MIN_FREE: &str = "0.01";

/// Runs `docent check --json` with a safe production profile plus `env`; returns (exit ok, report).
fn check(data: &Path, env: &[(&str, &str)]) -> (bool, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(["check", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data)
        .env("DOCENT_ENV", "production")
        .env("CORS_ORIGINS", "https://book.example.com")
        .env("LOG_LEVEL", "error")
        .env("DOCENT_CHECK__MIN_FREE_DISK_PERCENT", TEST_MIN_FREE)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("docent runs");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)));
    assert_eq!(report["ok"], output.status.success(), "exit code and report disagree: {report}");
    (output.status.success(), report)
}

/// (status, detail) of one item.
fn item<'a>(report: &'a Value, name: &str) -> (&'a str, &'a str) {
    let item = report["items"].as_array().unwrap().iter().find(|i| i["name"] == name);
    let item = item.unwrap_or_else(|| panic!("no item {name} in {report}"));
    (item["status"].as_str().unwrap(), item["detail"].as_str().unwrap())
}

fn failed(report: &Value) -> Vec<&str> {
    let items = report["items"].as_array().unwrap();
    items.iter().filter(|i| i["status"] == "fail").map(|i| i["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_healthy_production_deployment_passes_every_item() {
    let data = healthy_data_dir().await;
    let (ok, report) = check(data.path(), &[]);
    assert!(ok, "{report:#}");
    for name in ["config", "production_safety", "database", "migrations", "embedder", "index", "disk", "backup"] {
        assert_eq!(item(&report, name).0, "pass", "{name}: {report:#}");
    }
    assert!(item(&report, "index").1.starts_with("2 chunks in 2 documents"), "{report:#}");
    assert_eq!(item(&report, "providers").0, "pass");
}

#[tokio::test]
async fn the_text_report_has_one_marked_line_per_item_and_a_summary() {
    let data = healthy_data_dir().await;
    let output = Command::new(env!("CARGO_BIN_EXE_docent"))
        .arg("check")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data.path())
        .env("LOG_LEVEL", "error")
        .env("DOCENT_CHECK__MAX_BACKUP_AGE_HOURS", "0")
        .env("DOCENT_CHECK__MIN_FREE_DISK_PERCENT", TEST_MIN_FREE)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("✓ database ")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("– backup ") && l.contains("switched off")), "{text}");
    assert!(lines.last().unwrap().ends_with("passed, 0 failed"), "{text}");
}

#[tokio::test]
async fn an_unreachable_database_fails_the_database_item() {
    let data = healthy_data_dir().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://docent:secret@127.0.0.1:{closed}/docent");
    let (ok, report) = check(data.path(), &[("DATABASE_URL", &url), ("DOCENT_CHECK__TIMEOUT_MS", "2000")]);
    assert!(!ok);
    let (status, detail) = item(&report, "database");
    assert_eq!(status, "fail");
    assert!(!detail.contains("secret"), "the password leaked: {detail}");
    assert_eq!(item(&report, "migrations").0, "skip");
    assert_eq!(item(&report, "index").0, "skip");
}

#[tokio::test]
async fn a_missing_sqlite_database_fails_without_being_created() {
    let data = tempfile::tempdir().unwrap();
    let (ok, report) = check(data.path(), &[]);
    assert!(!ok);
    assert!(item(&report, "database").1.contains("does not exist"), "{report:#}");
    assert!(!data.path().join("docent.db").exists(), "docent check created the database");
}

/// A database one migration behind the binary: the newest migration's record is removed, as if
/// the binary were one release ahead of the database.
#[tokio::test]
async fn a_pending_migration_fails_the_migrations_item() {
    let data = healthy_data_dir().await;
    let mut db = sqlite(data.path()).await;
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::Connection::close(db).await.unwrap();
    let (ok, report) = check(data.path(), &[]);
    assert!(!ok);
    let (status, detail) = item(&report, "migrations");
    assert_eq!(status, "fail");
    assert!(detail.starts_with("1 pending (") && detail.contains("docent migrate up"), "{detail}");
    assert_eq!(failed(&report), ["migrations"], "{report:#}");
}

async fn sqlite(data: &Path) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", data.join("docent.db").display());
    <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap()
}

#[tokio::test]
async fn an_index_out_of_step_with_the_database_fails_the_index_item() {
    let data = healthy_data_dir().await;
    let mut db = sqlite(data.path()).await;
    sqlx::query("DELETE FROM chunks WHERE id = (SELECT MIN(id) FROM chunks)").execute(&mut db).await.unwrap();
    sqlx::Connection::close(db).await.unwrap();
    let (ok, report) = check(data.path(), &[]);
    assert!(!ok);
    let (status, detail) = item(&report, "index");
    assert_eq!(status, "fail");
    assert!(detail.contains("the index holds 2 chunks but the database 1"), "{detail}");
    assert_eq!(failed(&report), ["index"], "{report:#}");
}

#[tokio::test]
async fn unsafe_production_settings_fail_config_and_production_safety() {
    let data = healthy_data_dir().await;
    let (ok, report) = check(data.path(), &[("CORS_ORIGINS", "*"), ("SECURE_COOKIES", "false"), ("DEBUG", "true")]);
    assert!(!ok);
    let (status, detail) = item(&report, "config");
    assert_eq!(status, "fail");
    assert!(detail.contains("refuses to start in production"), "{detail}");
    let (status, detail) = item(&report, "production_safety");
    assert_eq!(status, "fail");
    for needle in ["CORS_ORIGINS=*", "SECURE_COOKIES=false", "DEBUG=true"] {
        assert!(detail.contains(needle), "{needle} not in {detail}");
    }
    assert_eq!(item(&report, "database").0, "pass", "the rest still runs: {report:#}");
}

#[tokio::test]
async fn an_invalid_configuration_fails_config_and_skips_the_rest() {
    let data = healthy_data_dir().await;
    let (ok, report) = check(data.path(), &[("PORT", "not-a-port")]);
    assert!(!ok);
    assert!(item(&report, "config").1.contains("PORT"), "{report:#}");
    assert_eq!(item(&report, "database").0, "skip");
}

#[tokio::test]
async fn a_stale_or_missing_backup_fails_the_backup_item() {
    let data = healthy_data_dir().await;
    let backup = data.path().join("backups/docent-20260101T031700Z.tar.zst");
    let three_days_ago = SystemTime::now() - Duration::from_secs(3 * 86_400);
    std::fs::File::options().write(true).open(&backup).unwrap().set_modified(three_days_ago).unwrap();
    let (ok, report) = check(data.path(), &[]);
    assert!(!ok);
    let (status, detail) = item(&report, "backup");
    assert_eq!(status, "fail");
    assert!(detail.contains("72.0 h old (limit 26 h)"), "{detail}");
    std::fs::remove_dir_all(data.path().join("backups")).unwrap();
    let (_, report) = check(data.path(), &[]);
    assert!(item(&report, "backup").1.contains("no backup directory"), "{report:#}");
}

#[tokio::test]
async fn a_data_directory_below_the_free_space_threshold_fails_the_disk_item() {
    let data = healthy_data_dir().await;
    let (ok, report) = check(data.path(), &[("DOCENT_CHECK__MIN_FREE_DISK_PERCENT", "100")]);
    assert!(!ok);
    assert_eq!(failed(&report), ["disk"], "{report:#}");
}
