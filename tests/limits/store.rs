//! The token-usage ledger on both databases.

use chrono::NaiveDate;
use docent::config::Settings;
use docent::db::{Db, migrate};

use crate::common::{fresh_postgres_database, set_database_url, test_settings};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn charges_accumulate_per_subject_and_day_and_old_days_are_pruned(db: &Db) {
    migrate::up(db).await.unwrap();
    assert_eq!(db.tokens_spent("user", "u1", day("2026-03-01")).await.unwrap(), 0);
    assert_eq!(db.charge_tokens("user", "u1", day("2026-03-01"), 300).await.unwrap(), 300);
    assert_eq!(db.charge_tokens("user", "u1", day("2026-03-01"), 200).await.unwrap(), 500);
    db.charge_tokens("user", "u1", day("2026-03-02"), 7).await.unwrap();
    db.charge_tokens("key", "u1", day("2026-03-01"), 11).await.unwrap();
    db.charge_tokens("anonymous", "2001:db8::/64", day("2026-03-01"), 13).await.unwrap();
    assert_eq!(db.tokens_spent("user", "u1", day("2026-03-01")).await.unwrap(), 500);
    assert_eq!(db.tokens_spent("user", "u1", day("2026-03-02")).await.unwrap(), 7);
    assert_eq!(db.tokens_spent("key", "u1", day("2026-03-01")).await.unwrap(), 11);
    assert_eq!(db.prune_token_usage(day("2026-03-02")).await.unwrap(), 3);
    assert_eq!(db.tokens_spent("user", "u1", day("2026-03-01")).await.unwrap(), 0);
    assert_eq!(db.tokens_spent("user", "u1", day("2026-03-02")).await.unwrap(), 7);
}

async fn concurrent_charges_are_never_lost(db: &Db) {
    let charges = (0..20).map(|_| db.charge_tokens("user", "busy", day("2026-03-03"), 5));
    futures::future::join_all(charges).await.into_iter().for_each(|r| {
        r.unwrap();
    });
    assert_eq!(db.tokens_spent("user", "busy", day("2026-03-03")).await.unwrap(), 100);
}

#[tokio::test]
async fn the_token_ledger_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&test_settings(dir.path())).await.unwrap();
    charges_accumulate_per_subject_and_day_and_old_days_are_pruned(&db).await;
    concurrent_charges_are_never_lost(&db).await;
}

#[tokio::test]
async fn the_token_ledger_works_on_postgres() {
    let mut settings = Settings::default();
    set_database_url(&mut settings, &fresh_postgres_database().await);
    let db = Db::connect(&settings).await.unwrap();
    charges_accumulate_per_subject_and_day_and_old_days_are_pruned(&db).await;
    concurrent_charges_are_never_lost(&db).await;
}
