//! The real `docent` binary: the shape of `backup create --json`, `backup restore` refusing a
//! live database without --force, and `backup prune` keeping exactly the expected files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use docent::db::conversations::Owner;
use docent::db::{Db, Dialect, migrate};
use docent::ops::backup::{FORMAT, FORMAT_VERSION, IndexRecord, Manifest, write_archive};

use crate::common::test_settings;

fn docent(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data)
        .env("LOG_LEVEL", "error")
        .env_remove("DATABASE_URL")
        .env_remove("DOCENT_BACKUP__DIR")
        .output()
        .expect("docent runs")
}

/// Returns the versions of every migration this docent knows (all applied).
async fn database_with_one_conversation(data: &Path) -> Vec<i64> {
    let db = Db::connect(&test_settings(data)).await.unwrap();
    migrate::up(&db).await.unwrap();
    db.create_conversation(&Owner::anonymous("cli"), "kept in the backup").await.unwrap();
    let versions = migrate::status(&db).await.unwrap().iter().map(|m| m.version).collect();
    db.close().await;
    versions
}

#[tokio::test]
async fn backup_create_json_reports_the_archive_and_its_manifest() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let migrations = database_with_one_conversation(data.path()).await;

    // Act
    let output = docent(data.path(), &["backup", "create", "--json"]);

    // Assert
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let path = Path::new(report["path"].as_str().unwrap());
    assert_eq!(path.parent().unwrap(), data.path().join("backups"));
    let file = report["file"].as_str().unwrap();
    assert!(file.len() == "docent-20261125T051500Z.tar.gz".len() && file.starts_with("docent-2"), "{file}");
    assert_eq!(report["bytes"].as_u64().unwrap(), std::fs::metadata(path).unwrap().len());
    assert!(report["duration_ms"].is_u64());
    let manifest = &report["manifest"];
    assert_eq!(manifest["format"], "docent-backup");
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["dialect"], "sqlite");
    assert_eq!(manifest["schema_version"], *migrations.last().unwrap());
    assert_eq!(manifest["migrations"], serde_json::json!(migrations));
    assert!(chrono::DateTime::parse_from_rfc3339(manifest["created_at"].as_str().unwrap()).is_ok());
    assert_eq!(manifest["files"][0]["name"], "docent.db");
    let sha = manifest["files"][0]["sha256"].as_str().unwrap();
    assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{sha}");
    assert_eq!(manifest["tables"]["conversations"], 1);
    assert_eq!(manifest["index"]["included"], false);
}

#[tokio::test]
async fn backup_restore_refuses_the_live_database_without_force_and_exits_non_zero() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    database_with_one_conversation(data.path()).await;
    let created = docent(data.path(), &["backup", "create", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();

    // Act
    let output = docent(data.path(), &["backup", "restore", report["path"].as_str().unwrap()]);

    // Assert
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to replace") && stderr.contains("--force"), "{stderr}");
}

fn manifest_at(created_at: &str) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        docent_version: "0.1.0".into(),
        created_at: created_at.parse().unwrap(),
        dialect: Dialect::Sqlite,
        schema_version: 1,
        migrations: vec![1],
        source: "sqlite://docent.db".into(),
        files: Vec::new(),
        tables: BTreeMap::new(),
        index: IndexRecord::rebuilt(),
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn backup_prune_keeps_exactly_what_daily_weekly_and_monthly_retention_select() {
    // Arrange: archives with chosen creation times, a stray file, an unreadable archive, and the
    // staging folders of a run killed a day ago and of one still running.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("backups");
    let empty = tempfile::tempdir().unwrap();
    let times = [
        "2026-11-25T03:00:00Z",
        "2026-11-25T15:00:00Z",
        "2026-11-24T03:00:00Z",
        "2026-11-23T03:00:00Z",
        "2026-11-22T03:00:00Z",
        "2026-11-15T03:00:00Z",
        "2026-10-31T03:00:00Z",
        "2026-09-30T03:00:00Z",
    ];
    for time in times {
        write_archive(&dir, &manifest_at(time), empty.path()).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not a backup").unwrap();
    std::fs::write(dir.join("docent-broken.tar.gz"), "not gzip").unwrap();
    let day_old = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
    for leftover in [".docent-staging-killed", ".docent-staging-running"] {
        std::fs::create_dir(dir.join(leftover)).unwrap();
        std::fs::write(dir.join(leftover).join("docent.db"), "partial").unwrap();
    }
    std::fs::File::open(dir.join(".docent-staging-killed")).unwrap().set_modified(day_old).unwrap();
    let all = names(&dir);
    let args = ["backup", "prune", "--keep-daily", "2", "--keep-weekly", "2", "--keep-monthly", "2", "--json"];

    // Act
    let dry = docent(data.path(), &[args.as_slice(), &["--dry-run"]].concat());
    let after_dry_run = names(&dir);
    let real = docent(data.path(), &args);

    // Assert
    assert!(dry.status.success() && real.status.success(), "{}", String::from_utf8_lossy(&real.stderr));
    assert_eq!(after_dry_run, all, "a dry run deletes nothing");
    let expected: BTreeSet<String> = [
        "docent-20261125T150000Z.tar.gz",
        "docent-20261124T030000Z.tar.gz",
        "docent-20261122T030000Z.tar.gz",
        "docent-20261031T030000Z.tar.gz",
        "notes.txt",
        "docent-broken.tar.gz",
        ".docent-staging-running",
    ]
    .map(String::from)
    .into();
    assert_eq!(names(&dir), expected);
    let report: serde_json::Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(report["deleted"].as_array().unwrap().len(), 4);
    assert_eq!(report["kept"][0]["kept_by"], serde_json::json!(["daily", "weekly", "monthly"]));
    assert_eq!(report["unreadable"].as_array().unwrap().len(), 1);
    assert_eq!(report["stale_temporaries"].as_array().unwrap().len(), 1, "only the day-old leftover");
}
