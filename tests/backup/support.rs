//! A small ingested book, a writer that keeps inserting conversations and messages through the
//! db layer, and row counting.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use docent::components::Components;
use docent::config::Settings;
use docent::db::Db;
use docent::db::conversations::{NewMessage, Owner};
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use docent::on_pool;

/// Components over `settings` with the two HTML fixture pages ingested (migrations applied).
pub async fn with_book(settings: &Settings) -> Components {
    let components = Components::open(settings).await.expect("components open");
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books/html");
    let options = SyncOptions::from_settings(settings, false);
    sync_paths(&components, &[book], &options, &NoProgress).await.expect("book ingested");
    components
}

/// Inserts a conversation with two messages, again and again, until stopped.
pub struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    pub fn start(db: Db) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), written.clone());
        let task = tokio::spawn(async move {
            let owner = Owner::anonymous("backup-writer");
            while !flag.load(Ordering::SeqCst) {
                let conversation = db.create_conversation(&owner, "during the backup").await.expect("insert");
                for role in ["user", "assistant"] {
                    let id = uuid::Uuid::now_v7().to_string();
                    let message = NewMessage {
                        id: &id,
                        conversation_id: &conversation.id,
                        role,
                        content: "a message written while the backup runs",
                        citations: serde_json::json!([]),
                        status: None,
                        provider: None,
                        latency_ms: None,
                    };
                    db.append_message(message).await.expect("insert");
                }
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self { stop, written, task }
    }

    /// Waits until the writer has committed at least `n` conversations.
    pub async fn wait_for(&self, n: u64) {
        while self.written.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Stops the writer and returns how many conversations it committed.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("writer task");
        self.written.load(Ordering::SeqCst)
    }
}

/// Rows of `table` in the database.
pub async fn count(db: &Db, table: &str) -> u64 {
    let sql = format!("SELECT count(*) FROM {table}");
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await.expect("count"));
    n as u64
}

/// The settings for a second, empty data directory (SQLite) to restore into.
pub fn fresh_sqlite_settings(data: &Path) -> Settings {
    crate::common::test_settings(data)
}

/// The backup folder of these settings.
pub fn backup_dir(settings: &Settings) -> PathBuf {
    settings.backup_dir()
}
