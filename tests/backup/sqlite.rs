//! SQLite: an online snapshot while a writer inserts, verified and restored.

use docent::db::{Db, migrate};
use docent::ops::backup::{self, IndexOutcome, RestoreOptions};

use crate::common::test_settings;
use crate::support::{Writer, backup_dir, count, fresh_sqlite_settings, with_book};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_while_a_writer_inserts_restores_to_exactly_its_manifest() {
    // Arrange: a book, and a writer that keeps inserting conversations during the backup.
    let (live, spare) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let settings = test_settings(live.path());
    let components = with_book(&settings).await;
    let writer = Writer::start(components.db.clone());
    writer.wait_for(3).await;
    let before = writer.written();

    // Act
    let created = backup::create(&settings, &backup_dir(&settings)).await.expect("backup created");
    writer.wait_for(writer.written() + 2).await;
    let after = writer.stop().await;
    let verified = backup::verify(&settings, &created.path).await.expect("backup verifies");
    let target = fresh_sqlite_settings(spare.path());
    let restored = backup::restore(&target, &created.path, RestoreOptions::default()).await.expect("restored");

    // Assert: the snapshot holds a moment between the writer's first and last commits…
    let manifest = &created.manifest;
    let in_backup = manifest.tables["conversations"];
    assert!(in_backup >= before && in_backup < after, "{before} ≤ {in_backup} < {after}");
    assert!((2 * before..2 * after).contains(&manifest.tables["messages"]));
    let known: Vec<i64> = migrate::status(&components.db).await.unwrap().iter().map(|m| m.version).collect();
    assert_eq!((&manifest.migrations, manifest.schema_version), (&known, *known.last().unwrap()));
    // …its checksums and counts verify, and the restored database holds exactly those rows.
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
    assert!(restored.migrations.pending.is_empty() && restored.previous_kept_as.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_to_replace_an_existing_sqlite_database_without_force() {
    // Arrange: a backup, then more writes to the live database.
    let live = tempfile::tempdir().unwrap();
    let settings = test_settings(live.path());
    let components = with_book(&settings).await;
    let created = backup::create(&settings, &backup_dir(&settings)).await.unwrap();
    let writer = Writer::start(components.db.clone());
    writer.wait_for(2).await;
    writer.stop().await;
    components.db.close().await;

    // Act
    let refused = backup::restore(&settings, &created.path, RestoreOptions { force: false }).await;
    let forced = backup::restore(&settings, &created.path, RestoreOptions { force: true }).await.expect("restored");

    // Assert: refused naming the file and the flag; forced, the database is the snapshot again
    // and the replaced one is kept aside with the rows written after the backup.
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("docent.db") && message.contains("--force"), "{message}");
    let db = Db::connect(&settings).await.unwrap();
    assert_eq!(count(&db, "conversations").await, 0);
    let kept = forced.previous_kept_as.expect("the replaced database is kept");
    let old = Db::connect(&test_settings_for_file(&kept)).await.unwrap();
    assert!(count(&old, "conversations").await >= 2);
}

fn test_settings_for_file(path: &std::path::Path) -> docent::config::Settings {
    let mut settings = test_settings(path.parent().unwrap());
    crate::common::set_database_url(&mut settings, &format!("sqlite://{}", path.display()));
    settings
}
