//! PostgreSQL: `pg_dump` pinned to one snapshot while a writer inserts, verified in a scratch
//! database, restored into a fresh database; a live database is not replaced without --force.

use docent::config::Settings;
use docent::db::Db;
use docent::ops::backup::{self, IndexOutcome, RestoreOptions};

use crate::common::{fresh_postgres_database, set_database_url, test_settings};
use crate::support::{Writer, backup_dir, count, with_book};

fn postgres_settings(data: &std::path::Path, url: &str) -> Settings {
    let mut settings = test_settings(data);
    set_database_url(&mut settings, url);
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_taken_while_a_writer_inserts_restores_to_exactly_its_manifest() {
    // Arrange
    let (live, spare) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let settings = postgres_settings(live.path(), &fresh_postgres_database().await);
    let components = with_book(&settings).await;
    let writer = Writer::start(components.db.clone());
    writer.wait_for(3).await;
    let before = writer.written();

    // Act
    let created = backup::create(&settings, &backup_dir(&settings)).await.expect("backup created");
    writer.wait_for(writer.written() + 2).await;
    let after = writer.stop().await;
    let verified = backup::verify(&settings, &created.path).await.expect("backup verifies");
    let target = postgres_settings(spare.path(), &fresh_postgres_database().await);
    let restored = backup::restore(&target, &created.path, RestoreOptions::default()).await.expect("restored");

    // Assert
    let manifest = &created.manifest;
    assert_eq!(manifest.files[0].name, "docent.pgdump");
    let in_backup = manifest.tables["conversations"];
    assert!(in_backup >= before && in_backup < after, "{before} ≤ {in_backup} < {after}");
    assert_eq!(verified.files[0].sha256, manifest.files[0].sha256);
    assert_eq!(verified.tables, manifest.tables);
    assert_eq!(restored.tables, manifest.tables);
    let db = Db::connect(&target).await.unwrap();
    for (table, rows) in &manifest.tables {
        assert_eq!(count(&db, table).await, *rows, "{table}");
    }
    assert!(matches!(
        restored.index,
        IndexOutcome::Rebuilt { chunks, documents: 2, .. } if chunks as u64 == manifest.tables["chunks"]
    ));
    assert!(restored.migrations.pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_to_replace_a_postgres_database_that_holds_data_without_force() {
    // Arrange: a backup, then rows written after it.
    let data = tempfile::tempdir().unwrap();
    let settings = postgres_settings(data.path(), &fresh_postgres_database().await);
    let components = with_book(&settings).await;
    let created = backup::create(&settings, &backup_dir(&settings)).await.unwrap();
    let writer = Writer::start(components.db.clone());
    writer.wait_for(2).await;
    writer.stop().await;
    components.db.close().await;

    // Act
    let refused = backup::restore(&settings, &created.path, RestoreOptions { force: false }).await;
    let forced = backup::restore(&settings, &created.path, RestoreOptions { force: true }).await;

    // Assert
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("holds data") && message.contains("--force"), "{message}");
    assert_eq!(forced.expect("restored with --force").tables, created.manifest.tables);
    let db = Db::connect(&settings).await.unwrap();
    assert_eq!(count(&db, "conversations").await, 0);
}
