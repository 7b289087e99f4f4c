//! Databases and migrations: up → down → up on SQLite and PostgreSQL, concurrent runners,
//! the pending-migration guard, and the schema's constraints.

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;

use docent::Application;
use docent::config::Settings;
use docent::db::{Db, migrate};
use docent::on_pool;

const TABLES: [&str; 12] = [
    "users",
    "sessions",
    "api_keys",
    "documents",
    "chunks",
    "conversations",
    "messages",
    "translations",
    "user_chapter_translations",
    "ingest_jobs",
    "audit_log",
    "token_usage",
];

async fn sqlite_db(dir: &std::path::Path) -> (Db, Settings) {
    let settings = common::test_settings(dir);
    (Db::connect(&settings).await.unwrap(), settings)
}

async fn postgres_db() -> (Db, Settings, String) {
    let url = common::fresh_postgres_database().await;
    let mut settings = Settings::default();
    common::set_database_url(&mut settings, &url);
    (Db::connect(&settings).await.unwrap(), settings, url)
}

async fn existing_tables(db: &Db) -> Vec<String> {
    let sql = match db.dialect() {
        docent::db::Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        docent::db::Dialect::Postgres => "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    };
    let names: Vec<(String,)> = on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await).unwrap();
    names.into_iter().map(|(n,)| n).filter(|n| TABLES.contains(&n.as_str())).collect()
}

async fn round_trip(db: &Db) {
    let applied = migrate::up(db).await.unwrap();
    assert!(!applied.is_empty());
    assert!(migrate::pending(db).await.unwrap().is_empty());
    assert_eq!(existing_tables(db).await.len(), TABLES.len());
    let total = migrate::status(db).await.unwrap().len();
    let reverted = migrate::down(db, total).await.unwrap();
    assert_eq!(reverted.len(), total);
    assert!(existing_tables(db).await.is_empty(), "down removes every table");
    assert_eq!(migrate::pending(db).await.unwrap().len(), total);
    migrate::up(db).await.unwrap();
    assert_eq!(existing_tables(db).await.len(), TABLES.len());
}

#[tokio::test]
async fn every_migration_goes_up_down_and_up_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sqlite_db(dir.path()).await;
    round_trip(&db).await;
}

#[tokio::test]
async fn every_migration_goes_up_down_and_up_again_on_postgres() {
    let (db, _, _) = postgres_db().await;
    round_trip(&db).await;
}

#[tokio::test]
async fn down_with_one_step_rolls_back_only_the_newest_migration() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sqlite_db(dir.path()).await;
    migrate::up(&db).await.unwrap();
    let newest = migrate::status(&db).await.unwrap().last().unwrap().version;
    assert_eq!(migrate::down(&db, 1).await.unwrap(), [newest]);
    let pending: Vec<i64> = migrate::pending(&db).await.unwrap().iter().map(|m| m.version).collect();
    assert_eq!(pending, [newest]);
}

#[tokio::test]
async fn two_processes_migrating_postgres_at_once_apply_each_migration_exactly_once() {
    let (db, _, url) = postgres_db().await;
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_docent"))
            .args(["migrate", "up"])
            .env("DATABASE_URL", &url)
            .env("LOG_LEVEL", "warn")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let said: String = [a.stdout, b.stdout].iter().map(|o| String::from_utf8_lossy(o).into_owned()).collect();
    assert_eq!(said.matches("applied 0001").count(), 1, "exactly one runner applied it: {said}");
    let rows: Vec<(i64,)> =
        on_pool!(&db, pool => sqlx::query_as("SELECT version FROM _sqlx_migrations").fetch_all(pool).await).unwrap();
    assert_eq!(rows.len(), migrate::status(&db).await.unwrap().len());
}

#[tokio::test]
async fn serve_refuses_to_start_with_pending_migrations_unless_auto_migrate_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::test_settings(dir.path());
    settings.database.auto_migrate = Some(false);
    let err = Application::build(settings.clone()).await.err().expect("refused").to_string();
    assert!(err.contains("docent migrate up"), "{err}");
    settings.database.auto_migrate = Some(true);
    assert!(Application::build(settings).await.is_ok());
}

#[tokio::test]
async fn migrate_status_lists_applied_and_pending_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_docent")).args(args).env("DOCENT_DATA_DIR", dir.path()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run(&["migrate", "status"]).contains("pending"));
    let applied = run(&["migrate", "up"]);
    assert!(applied.contains("applied 0001"));
    let newest = applied.lines().filter_map(|l| l.strip_prefix("applied ")).next_back().unwrap().to_owned();
    assert!(run(&["migrate", "status"]).contains("applied"));
    assert!(run(&["migrate", "down", "--steps", "1"]).contains(&format!("rolled back {newest}")));
}

#[tokio::test]
async fn sqlite_enforces_foreign_keys_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sqlite_db(dir.path()).await;
    migrate::up(&db).await.unwrap();
    let orphan = on_pool!(&db, pool => sqlx::query(
        "INSERT INTO chunks (id, document_id, ordinal, heading_path, text, start_offset, end_offset, token_count, created_at) \
         VALUES ('c', 'missing', 0, '', 't', 0, 1, 1, '2026-01-01T00:00:00Z')"
    ).execute(pool).await.map(|_| ()));
    assert!(orphan.is_err(), "a chunk of a missing document is refused");
    let (mode,): (String,) =
        on_pool!(&db, pool => sqlx::query_as("PRAGMA journal_mode").fetch_one(pool).await).unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_user_has_one_translation_record_per_chapter_and_language_on_postgres() {
    let (db, _, _) = postgres_db().await;
    migrate::up(&db).await.unwrap();
    let now = chrono::Utc::now();
    on_pool!(&db, pool => sqlx::query("INSERT INTO users (id, email, password_hash, created_at, updated_at, password_changed_at) VALUES ('u', 'a@b.c', 'h', $1, $1, $1)").bind(now).execute(pool).await.map(|_| ())).unwrap();
    let insert = |id: &'static str| {
        let db = db.clone();
        async move {
            on_pool!(&db, pool => sqlx::query(
                "INSERT INTO user_chapter_translations (id, user_id, chapter_id, language, content_hash, created_at, expires_at) \
                 VALUES ($1, 'u', 'ch1', 'ur', 'h', $2, $2)"
            ).bind(id).bind(now).execute(pool).await.map(|_| ()))
        }
    };
    assert!(insert("t1").await.is_ok());
    assert!(insert("t2").await.is_err(), "unique on user + chapter + language");
}

mod turns;
